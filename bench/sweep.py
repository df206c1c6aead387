"""`python -m bench.sweep`: run a declared sweep, store every run, resume where it stopped.

The spec (bench/spec.py) expands into RunConfigs; runs already in the store are skipped;
the rest are grouped by cell (same config but the seed) and split into chunks of seeds,
costliest first (bench/plan.py). bench/backends.py fans them out with joblib: loky
processes on this machine (default), a Dask cluster (`--backend dask`), or this process
(`--backend sequential`). Each chunk is trained by `seqmem.train.train_group` in a
worker (bench/worker.py) and its rows are written by this process in one SQLite
transaction as soon as it comes back (seqmem/store.py), so Ctrl-C or `kill -9` loses
only the chunks still running; the same command resumes.
The sweep ends by exporting the store to the committed CSV by the spec's rule
(bench/export.py) and printing a per-cell summary.

This module is the command line: its options, the checks of every output place before
any work, the progress bar and the summary.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import signal
import sqlite3
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from bench import spec as spec_module
from bench.backends import BACKENDS, Backend, BackendError, cpu_count, one_line
from bench.export import export_table
from bench.plan import (
    CHUNK_SIZE,
    chunk_work,
    cpu_note,
    plan_chunks,
    runs_to_do,
    stale_message,
    stale_runs,
)
from bench.spec import Run, Spec, SpecError, available, load_spec
from seqmem.config import is_user_cell
from seqmem.store import SQLITE_MAGIC, Store

PROG = "python -m bench.sweep"
DEFAULT_SPEC = "quick"
spec_doc = spec_module.__doc__.split("\n\n", 1)[1].strip()

EPILOG = f"""\
specs in bench/specs/: {', '.join(available())}

spec format (bench/spec.py):
{textwrap.indent(spec_doc, "  ")}

results: --out (default results/<spec name>.sqlite) is an SQLite database written only
by this process, one transaction per finished chunk; it is exported at the end to
--export (default: --out with suffix .csv), the diff-friendly table that is committed;
the CSV leaves loss_curve out unless the spec sets export_loss_curve = true (the store
keeps it). Read either with seqmem.store.load_results(path).

resume: rerun the same command; stored runs (same run id = same full config) are
skipped. --retry-errors also reruns runs stored as errors.

stale runs: every row records the kernel and numerics version that made it
(seqmem.provenance). If the store holds runs of this spec made by another kernel or
numerics version (or by code too old to say), the sweep says so in one line and stops
before any work (exit 2): such rows may differ from what this code makes, and are never
counted as done. --rerun-stale reruns them instead, replacing their rows. A store made on
another CPU is only noted: numba compiles for the CPU it runs on.

exit status: 0 all runs stored without error, 1 some runs are stored as errors,
2 bad arguments or spec, or no backend (nothing was run), 130 interrupted (finished
runs are kept).
"""


# Test hook, not a user option: after this many runs are stored the parent says "paused" on
# stderr and waits, so that a test can kill it at a known point (tests/test_sweep.py).
PAUSE_ENV = "SEQMEM_PAUSE_AFTER_RUNS"


def _pause_hook(stored: int) -> None:
    after = os.environ.get(PAUSE_ENV)
    if after is not None and stored >= int(after):
        print("paused", file=sys.stderr, flush=True)
        time.sleep(3600)


class UsageError(ValueError):
    """A bad command line; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=__doc__.split("\n\n")[0],
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", default=DEFAULT_SPEC,
                   help="a spec file, or the name of one in bench/specs/ "
                        f"(default: {DEFAULT_SPEC})")
    p.add_argument("--out", metavar="PATH",
                   help="the SQLite store (default: results/<spec name>.sqlite)")
    p.add_argument("--export", metavar="PATH",
                   help="the exported CSV (default: --out with suffix .csv)")
    p.add_argument("--no-export", action="store_true", help="do not write the CSV at the end")
    p.add_argument("--mkdir", action="store_true",
                   help="create missing folders of --out and --export outside the current "
                        "folder too (inside it they are always created)")
    p.add_argument("--jobs", "-j", type=_jobs, default=-1, metavar="N",
                   help="worker processes: loky processes or LocalCluster workers "
                        "(default -1: all cores)")
    p.add_argument("--backend", choices=BACKENDS, default="loky",
                   help="loky: processes on this machine (default); dask: a Dask cluster; "
                        "sequential: in this process, one chunk after another")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --backend dask: connect to this scheduler (tcp://host:8786) "
                        "instead of starting a LocalCluster of --jobs workers; the scheduler "
                        "and workers need this checkout installed (pip install -e .)")
    p.add_argument("--chunk-size", type=_positive, metavar="N",
                   help="most seeds trained together in one task (default: "
                        + ", ".join(f"{v} for engine={k}" for k, v in CHUNK_SIZE.items()) + ")")
    p.add_argument("--retry-errors", action="store_true",
                   help="also rerun runs stored with status error")
    p.add_argument("--rerun-stale", action="store_true",
                   help="rerun stored runs made by another kernel or numerics version "
                        "(default: refuse to start while the store holds any)")
    p.add_argument("--dry-run", action="store_true",
                   help="print how many runs and groups the spec expands to and how many are "
                        "stored, then stop")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no summary")
    return p


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs must be an integer, got {text!r}") from None
    if n < 1 and n != -1:
        raise argparse.ArgumentTypeError(f"--jobs must be >= 1 or -1 (all cores), got {n}")
    return n


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        spec, out, export_path = _prepare(args)
        made_by = _stored(out, writable=not args.dry_run)
        check_ownership(spec, out, export_path)
        if not args.dry_run:
            check_writable(out, export_path, args.mkdir)
    except (SpecError, UsageError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    jobs = cpu_count() if args.jobs == -1 else args.jobs

    stored = {k: v[0] for k, v in made_by.items()}
    stale = stale_runs(spec.runs, made_by)
    if stale and not args.rerun_stale and not args.dry_run:
        print(f"{PROG}: error: {stale_message(out, spec, stale, made_by)}", file=sys.stderr)
        return 2
    todo = runs_to_do(spec.runs, made_by, retry_errors=args.retry_errors,
                      rerun_stale=args.rerun_stale)
    groups = spec.groups()
    if args.dry_run:
        _print_plan(spec, out, stored, todo, len(groups), jobs, args, stale)
        return 0
    note = cpu_note(spec.runs, made_by)
    if note:
        print(f"note: {note}", file=sys.stderr)

    done = failed = 0
    with ExitStack() as stack:
        _on_sigterm_interrupt(stack)
        try:
            backend = Backend(args.backend, jobs, args.scheduler)
            if todo:
                try:
                    stack.enter_context(backend)
                except BackendError as e:
                    print(f"{PROG}: error: {e}", file=sys.stderr)
                    return 2
            store = stack.enter_context(Store(out))
            store.claim(spec.name, spec_hash(spec))
            if todo:
                chunks = plan_chunks(spec.runs, {r.run_id for r in todo}, args.chunk_size)
                by_id = {r.run_id: r for r in todo}
                work = {c[0].run_id: chunk_work(c) for c in chunks}
                if not sum(work.values()):  # nothing to train (every budget 0): count chunks
                    work = dict.fromkeys(work, 1.0)
                bar = _progress(sum(work.values()), spec.name, args.quiet)
                bar.set_description_str(f"{spec.name} 0/{len(todo)} runs", refresh=False)
                stack.callback(bar.close)
                for rows in backend.map(chunks):
                    rows = [{**row, **by_id[row["run_id"]].columns()} for row in rows]
                    store.write(rows)
                    done += len(rows)
                    failed += sum(row["status"] == "error" for row in rows)
                    bar.set_description_str(f"{spec.name} {done}/{len(todo)} runs, {failed} failed",
                                            refresh=False)
                    bar.update(work[rows[0]["run_id"]])
                    _pause_hook(done)
        except KeyboardInterrupt:
            stack.close()
            now = _stored(out)
            kept = len({r.run_id for r in spec.runs if r.run_id in now}
                       - {r.run_id for r in stale_runs(spec.runs, now)})
            print(f"\ninterrupted: {done} runs stored this time, {kept} of {len(spec.runs)} "
                  f"in {out}; rerun the same command to resume", file=sys.stderr)
            return 130
        frame = store.frame(r.run_id for r in spec.runs)
    if export_path is not None:
        export_table(spec, out, export_path)
    errors = int((frame["status"] == "error").sum()) if len(frame) else 0
    if not args.quiet:
        print(summarize(spec, frame))
    where = f"{out}" + (f" (exported to {export_path})" if export_path else "")
    print(f"{len(frame)} of {len(spec.runs)} runs of spec {spec.name!r} stored in {where}; "
          f"{done} run now, {errors} errors"
          + (" (rerun with --retry-errors)" if errors else ""))
    return 1 if errors else 0


def _prepare(args: argparse.Namespace) -> tuple[Spec, Path, Path | None]:
    """Everything that can be wrong with the command line, checked before any run."""
    if args.scheduler is not None and args.backend != "dask":
        raise UsageError(f"--scheduler {args.scheduler!r} needs --backend dask")
    if args.no_export and args.export:
        raise UsageError("--export and --no-export contradict each other")
    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / f"{spec.name}.sqlite"
    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a directory; give the database file")
    if out.exists() and not _is_sqlite_or_empty(out):
        raise UsageError(f"--out {str(out)!r} exists and is not an SQLite database")
    if args.no_export:
        export_path = None
    else:
        export_path = Path(args.export) if args.export else out.with_suffix(".csv")
        if export_path.resolve() == out.resolve():
            raise UsageError(f"--export {str(export_path)!r} would overwrite the store")
        if export_path.is_dir():
            raise UsageError(f"--export {str(export_path)!r} is a directory")
    return spec, out, export_path


def spec_hash(spec: Spec) -> str:
    """A hash of the spec file's text (of its name where it has no file)."""
    path = Path(spec.path)
    blob = path.read_bytes() if path.is_file() else spec.name.encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def check_ownership(spec: Spec, out: Path, export_path: Path | None) -> None:
    """Refuse, before any work, to write into a store or over a CSV that another spec made
    or that holds runs this spec does not produce (a user's spec named like a shipped one
    would otherwise replace the committed table)."""
    ours = {r.run_id for r in spec.runs}
    if out.exists() and out.stat().st_size:
        try:
            with Store(out, readonly=True) as store:
                owner = store.owner()
                frame = store.frame()
                rows = frame[[c for c in ("run_id", "spec", "cell", "cell_source")
                              if c in frame.columns]]
        except sqlite3.Error:
            return  # _stored has already refused an unreadable store
        if owner is not None and owner[0] != spec.name:
            raise UsageError(f"--out {str(out)!r} belongs to spec {owner[0]!r}, not to "
                             f"{spec.name!r}; give another --out")
        _refuse_foreign("--out", out, spec, ours, rows)
    if export_path is not None and export_path.is_file() and export_path.stat().st_size:
        try:
            rows = pd.read_csv(export_path, usecols=lambda c: c in ("run_id", "spec"), dtype=str)
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
            raise UsageError(f"--export {str(export_path)!r} exists and is not a results table "
                             f"({one_line(e)}); give another --export") from None
        if "run_id" not in rows.columns:
            raise UsageError(f"--export {str(export_path)!r} exists and is not a results table "
                             "(no run_id column); give another --export")
        _refuse_foreign("--export", export_path, spec, ours, rows)


def _refuse_foreign(flag: str, path: Path, spec: Spec, ours: set[str], rows: pd.DataFrame
                    ) -> None:
    specs = set(rows["spec"].dropna()) - {spec.name} if "spec" in rows.columns else set()
    if specs:
        raise UsageError(f"{flag} {str(path)!r} holds runs of spec {sorted(specs)[0]!r}, not of "
                         f"{spec.name!r} ({spec.path}); give another --out")
    foreign = sorted(set(rows["run_id"].dropna()) - ours)
    if foreign and "cell_source" in rows.columns:
        now = {(r.config.cell, r.config.cell_source) for r in spec.runs if r.config.cell_source}
        then = rows[rows["run_id"].isin(foreign)].dropna(subset=["cell_source"])
        for cell, source in zip(then["cell"], then["cell_source"], strict=True):
            edited = [s for c, s in now if c == cell and s != source]
            if edited:
                raise UsageError(f"{flag} {str(path)!r} holds {len(foreign)} runs of cell "
                                 f"{cell!r} made by other code (source {source}, now "
                                 f"{edited[0]}): the cell was edited; give another --out")
    if foreign:
        raise UsageError(f"{flag} {str(path)!r} holds {len(foreign)} runs that spec {spec.name!r} "
                         f"({spec.path}) does not produce (e.g. {foreign[0]}): it was made by "
                         "another spec or another version of this one; give another --out")


def check_writable(out: Path, export_path: Path | None, mkdir: bool) -> None:
    """Every output place usable before any work: its folder exists (a missing one is made
    only inside the current folder, or with --mkdir), a file can be made there, and the
    store opens."""
    places = [(flag, path) for flag, path in (("--out", out), ("--export", export_path))
              if path is not None]
    for flag, path in places:  # nothing is created until every place passes
        folder = path.parent
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise UsageError(f"{flag} {str(path)!r}: {str(blocker)!r} is a file, not a folder")
        if not folder.exists() and not mkdir \
                and not folder.resolve().is_relative_to(Path.cwd().resolve()):
            raise UsageError(f"{flag} {str(path)!r}: folder {str(folder)!r} does not exist "
                             "(create it, or pass --mkdir)")
    for flag, path in sorted(places, key=lambda fp: not fp[1].parent.exists()):  # probe first
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".seqmem-check-"):
                pass
        except OSError as e:
            raise UsageError(f"{flag} {str(path)!r}: cannot write in {str(folder)!r} "
                             f"({e.strerror})") from None
    try:
        Store(out).close()
    except sqlite3.Error as e:
        raise UsageError(f"--out {str(out)!r} cannot be opened as a store ({one_line(e)})") from None


def _is_sqlite_or_empty(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    return head in (SQLITE_MAGIC, b"")


def _stored(out: Path, writable: bool = True) -> dict[str, tuple]:
    """run_id -> (status, kernel, numerics_version, cpu) of the runs in the store, after
    checking that every stored row reads back under the results contract (so that a
    store the sweep cannot use is refused before any work, not after it).

    writable: a read-only open that fails (a store that needs WAL recovery) may be retried
    writable; --dry-run never writes.
    """
    if not out.exists() or out.stat().st_size == 0:
        return {}
    try:
        try:
            with Store(out, readonly=True) as store:
                store.frame()
                return store.made_by()
        except sqlite3.OperationalError:  # e.g. a read-only open that needs WAL recovery
            if not writable:
                raise
            with Store(out) as store:
                store.frame()
                return store.made_by()
    except sqlite3.Error as e:
        raise UsageError(f"--out {str(out)!r} cannot be read as a results store "
                         f"({one_line(e)})") from None
    except ValueError as e:
        raise UsageError(f"--out {str(out)!r} holds rows the results contract cannot read "
                         f"({one_line(e)}); give another --out") from None


def _on_sigterm_interrupt(stack: ExitStack) -> None:
    """SIGTERM (a job scheduler's stop) stops the sweep like Ctrl-C, until `stack` closes."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    stack.callback(signal.signal, signal.SIGTERM, previous)


def _progress(total: float, name: str, quiet: bool):
    """A bar over expected compute (chunk_work), not over runs: chunks differ in cost by
    orders of magnitude. The run count is in its postfix."""
    from tqdm import tqdm

    return tqdm(total=total, desc=name, disable=quiet, file=sys.stderr, dynamic_ncols=True,
                smoothing=0.05, bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                "[{elapsed}<{remaining}]")


# ---------------------------------------------------------------- reporting


def _print_plan(spec: Spec, out: Path, stored: dict[str, str], todo: list[Run], n_groups: int,
                jobs: int, args: argparse.Namespace, stale: list[Run]) -> None:
    in_spec = [stored[r.run_id] for r in spec.runs if r.run_id in stored]
    errors = sum(s == "error" for s in in_spec)
    todo_groups = len({r.config.without_seed for r in todo})
    workers = 1 if args.backend == "sequential" else jobs
    chunks = plan_chunks(spec.runs, {r.run_id for r in todo}, args.chunk_size)
    print(f"spec {spec.name!r} ({spec.path}): {len(spec.runs)} runs in {n_groups} groups, "
          f"slices: {', '.join(spec.slices)}")
    if len(spec.slices) > 1:
        for name in spec.slices:
            runs = [r for r in spec.runs if r.slice == name]
            print(f"  slice {name}: {len(runs)} runs in {len({r.config.without_seed for r in runs})} groups")
    user = sorted({(r.config.cell, r.config.units, r.config.alphabet, r.config.cell_source)
                   for r in spec.runs if is_user_cell(r.config.cell)})
    if user:
        from seqmem import usercell

        for cell, units, alphabet, source in user:
            print(f"  cell {cell} at {units} units: dry step passed, "
                  f"{usercell.parameter_count(cell, units, len(alphabet)):,} parameters, seeds "
                  f"stepped by {usercell.check(cell, len(alphabet), units)}, source {source}")
    if spec.skipped or spec.duplicates:
        print(f"  infeasible grid points skipped: {spec.skipped}; "
              f"duplicate runs kept once: {spec.duplicates}")
    print(f"store {out}: {len(in_spec)} of these runs already stored ({errors} errors)"
          + (f", {len(stored) - len(in_spec)} runs of other specs" if len(stored) > len(in_spec)
             else ""))
    if stale:
        print(f"  stale: {len(stale)} stored runs were made by another kernel or numerics "
              "version" + ("; --rerun-stale reruns them" if not args.rerun_stale else
                           " and will be rerun"))
    hours = sum(map(chunk_work, chunks)) / 3.6e9
    cost = f"{hours:.2g} core-hours" if hours >= 1 else f"{hours * 60:.2g} core-minutes"
    print(f"to run: {len(todo)} runs in {todo_groups} groups, {len(chunks)} chunks "
          f"for {workers} workers; at most about {cost} (every run to its full budget)")
    if 0 < len(chunks) < workers:
        print("  note: fewer chunks than workers; a smaller --chunk-size keeps all busy")


def summarize(spec: Spec, frame: Any) -> str:
    """One line per group: runs, memorized fraction, median epochs-to-memorize, errors.

    The median counts censored runs as "more than max_epochs", so it is exact whenever
    at least half of the group's runs memorized, and shown as >max_epochs otherwise.
    """
    by_id = {row.run_id: row for row in frame.itertuples(index=False)} if len(frame) else {}
    groups = spec.groups()
    varying = [k for k in ("lr", "reset", "bptt", "loss", "feedback", "eval_every",
                           "max_epochs", "engine", "alphabet")
               if len({getattr(c, k) for c in groups}) > 1]
    header = ["slice", "label", "units", *varying, "runs", "memorized", "median epochs", "errors"]
    lines = []
    for group, runs in groups.items():
        rows = [by_id[r.run_id] for r in runs if r.run_id in by_id]
        ok = [r for r in rows if r.status != "error"]
        epochs = sorted(r.epochs_to_memorize if r.status == "memorized" else math.inf for r in ok)
        med = _median(epochs)
        med_text = "-" if med is None else (f">{group.max_epochs}" if math.isinf(med)
                                             else f"{med:g}")
        mem = sum(r.status == "memorized" for r in ok)
        label = runs[0].label if runs[0].label != "explicit" else _short(group.sequence, 24)
        lines.append([runs[0].slice, label, str(group.units),
                      *(str(getattr(group, k)) for k in varying),
                      f"{len(rows)}/{len(runs)}",
                      f"{mem / len(ok):.0%}" if ok else "-", med_text,
                      str(len(rows) - len(ok))])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), *(fmt.format(*line) for line in lines)])


def _short(text: str, limit: int) -> str:
    """The text, or its start, length and a hash: two sequences that share a start differ.

    >>> _short("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 24)
    'ABCDEFGH... (26, #80256f)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:8]}... ({len(text)}, #{hashlib.sha1(text.encode()).hexdigest()[:6]})"


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


if __name__ == "__main__":
    sys.exit(main())
