"""Where a sweep's chunks run: loky processes on this machine, a Dask cluster, or this
process, one after another. Each chunk is trained by `bench.worker.run_chunk`; rows come
back as each chunk finishes, in any order.

    with Backend("loky", jobs=2) as backend:
        for rows in backend.map(chunks):
            ...
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

BACKENDS = ("loky", "dask", "sequential")


class BackendError(RuntimeError):
    """The backend cannot start (e.g. no Dask scheduler there); nothing has run."""


class Backend:
    """Runs chunks with bench.worker.run_chunk on one backend; yields rows as they finish."""

    def __init__(self, name: str, jobs: int, scheduler: str | None = None):
        self.name, self.jobs, self.scheduler = name, jobs, scheduler
        self._stack = ExitStack()

    def __enter__(self) -> Backend:
        if self.name == "dask":
            from distributed import Client, LocalCluster

            if self.scheduler:
                try:
                    client = Client(self.scheduler, timeout="30s")
                except (OSError, TimeoutError, ValueError) as e:
                    raise BackendError(f"cannot connect to the Dask scheduler at "
                                       f"{self.scheduler!r}: {one_line(e)}") from None
            else:
                # Worker processes start with SIGINT ignored, so that Ctrl-C in a terminal
                # (sent to the whole process group) reaches only this process, which then
                # shuts the cluster down; otherwise each worker prints a traceback.
                with _sigint_ignored():
                    cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1,
                                           processes=True, dashboard_address=None,
                                           silence_logs=logging.ERROR)
                self._stack.enter_context(cluster)
                client = Client(cluster)
            self._stack.enter_context(client)
            try:
                _check_dask_imports(client)
            except BackendError:
                self._stack.close()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self.name == "loky":
            _shutdown_loky()

    def map(self, chunks: Sequence[list[Any]]) -> Iterator[list[dict[str, Any]]]:
        from bench.worker import run_chunk

        if self.name == "sequential":
            for chunk in chunks:
                yield run_chunk(chunk)
            return
        from joblib import Parallel, delayed, parallel_config

        if self.name == "loky":
            config = parallel_config(backend="loky", inner_max_num_threads=1)
            n_jobs = self.jobs
        else:
            config = parallel_config(backend="dask")
            n_jobs = -1
        with config:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1,
                                pre_dispatch="all" if self.name == "dask" else "2*n_jobs")
            yield from parallel(delayed(run_chunk)(chunk) for chunk in chunks)


def _check_dask_imports(client: Any) -> None:
    """The scheduler unpickles the tasks and the workers run them: both must import the
    worker module (a remote cluster needs this checkout installed: pip install -e .).
    Checked up front because a scheduler that cannot unpickle a task leaves it pending."""
    try:
        client.wait_for_workers(1, timeout=60)
    except (TimeoutError, OSError) as e:
        raise BackendError(f"no Dask worker connected within 60 s ({one_line(e)})") from None
    # A lambda is pickled by value, so this check itself needs nothing installed there.
    check = lambda: __import__("importlib").import_module("bench.worker").__name__  # noqa: E731
    for where, run in (("scheduler", client.run_on_scheduler), ("workers", client.run)):
        try:
            run(check)
        except Exception as e:  # noqa: BLE001 - whatever failed there, report it in one line
            raise BackendError(f"the Dask {where} cannot import bench.worker "
                               f"({one_line(e)}); install this checkout there "
                               "(pip install -e .)") from None


def one_line(e: BaseException) -> str:
    """'Type: message' on one line, for error messages that must stay one line."""
    return " ".join(f"{type(e).__name__}: {e}".split())


def _shutdown_loky() -> None:
    """Stop joblib's reusable loky workers now: they would otherwise idle on and delay
    the interpreter's exit by seconds. (joblib has no public call for this.)"""
    try:
        from joblib.externals.loky import reusable_executor
    except ImportError:
        return
    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def cpu_count() -> int:
    """The cores joblib sees (what --jobs -1 means)."""
    import joblib

    return max(1, joblib.cpu_count())
