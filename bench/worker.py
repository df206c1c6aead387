"""What a sweep worker runs: one chunk of seeds of one cell -> one result row per run.

It lives in an importable module (not `__main__`) so that loky and Dask workers can
unpickle it. Each worker uses one torch thread: the sweep's parallelism is across
processes, and intra-op threads only fight over the same cores.

A chunk that raises does not stop the sweep: the worker catches the exception and
returns an error row for every run of the chunk (config and difficulty metrics filled,
outcome columns null, `error` = the message and where it was raised).

Test hook: if the environment variable SEQMEM_FAIL_SEQUENCE is set (e.g. to "ABCA"),
a chunk whose sequence equals it raises inside the worker, before training. It is read
here only, so it exercises the real failure path of every backend.
"""

from __future__ import annotations

import os
import platform
import traceback
from collections.abc import Sequence
from typing import Any

FAIL_ENV = "SEQMEM_FAIL_SEQUENCE"


def versions() -> dict[str, str]:
    """Library versions of the process that trained the run (a Dask worker's own)."""
    import numpy
    import torch

    import seqmem

    return {"seqmem_version": seqmem.__version__, "torch_version": torch.__version__,
            "numpy_version": numpy.__version__, "python_version": platform.python_version()}


def run_chunk(configs: Sequence[Any]) -> list[dict[str, Any]]:
    """Train the runs of `configs` (RunConfigs that differ only in seed); one row per run.

    Rows are RunRecord.to_row() plus `error` (None) and the library versions; on an
    exception, error rows (see the module docstring). Never raises an Exception.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from seqmem.train import train_cell

    configs = list(configs)
    try:
        fail = os.environ.get(FAIL_ENV)
        if fail and configs and configs[0].sequence == fail:
            raise RuntimeError(f"{FAIL_ENV}={fail}: injected failure (test hook)")
        records = train_cell(configs)
        if [r.config.run_id for r in records] != [c.run_id for c in configs]:
            raise RuntimeError("train_cell returned records that do not match its configs")
        rows = [{**r.to_row(), "error": None} for r in records]
    except Exception as e:  # noqa: BLE001 - any failure becomes error rows, the sweep goes on
        rows = [error_row(c, e) for c in configs]
    info = versions()
    return [{**row, **info} for row in rows]


def error_row(config: Any, exc: BaseException) -> dict[str, Any]:
    """The row of a run whose chunk raised: what is known without training."""
    from seqmem.difficulty import metrics

    row: dict[str, Any] = {"run_id": config.run_id, **config.to_dict(), "bptt": str(config.bptt)}
    try:
        row.update(metrics(config.sequence, config.alphabet))
    except Exception:  # noqa: BLE001 - the metrics are a nicety here, the error is the point
        pass
    row.update(status="error", error=describe(exc), memorized=None, epochs_to_memorize=None,
               epochs_trained=None, steps=None, final_prefix=None, longest_substring=None,
               wall_time_s=None, population=None, epoch_loss=None)
    return row


def describe(exc: BaseException, limit: int = 500) -> str:
    """'Type: message (at file:line in function)', one line."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        text += f" (at {os.path.basename(f.filename)}:{f.lineno} in {f.name})"
    return text if len(text) <= limit else text[: limit - 3] + "..."
