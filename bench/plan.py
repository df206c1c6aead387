"""What a sweep runs: the runs still to do, their chunks of seeds and each chunk's cost.

A spec's runs (bench/spec.py) minus those already stored (the store's `made_by`) are
what is left to run; a stored run made by another kernel or numerics version is stale
and is never counted as done. The runs of one cell (same config but the seed) are split
into chunks that a worker trains together (`plan_chunks`), costliest first by their
expected compute (`chunk_work`). `bench.sweep`, `bench.cases` and `bench.reproduce` all
train these chunks, so each trains the same models together.

A chunk holds at most `CHUNK_SIZE` seeds by default: 10 with the population engine, which
trains a chunk as one batch (small enough that a 20-seed cell keeps two cores busy), 4
with the reference engine.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from bench.spec import Run, Spec
from seqmem.config import GATES, is_user_cell
from seqmem.train import split_group

CHUNK_SIZE = {"population": 10, "reference": 4}


def runs_to_do(runs: Sequence[Run], made_by: dict[str, tuple], *, retry_errors: bool = False,
               rerun_stale: bool = False) -> list[Run]:
    """The runs of `runs` not stored yet; with retry_errors also those stored as errors
    (unless stale), with rerun_stale also the stale ones (see `stale_runs`)."""
    stale = {r.run_id for r in stale_runs(runs, made_by)}
    return [r for r in runs
            if r.run_id not in made_by or (rerun_stale and r.run_id in stale)
            or (retry_errors and made_by[r.run_id][0] == "error" and r.run_id not in stale)]


def stale_runs(runs: Sequence[Run], made_by: dict[str, tuple]) -> list[Run]:
    """Stored runs of `runs` whose kernel or numerics version is not what this code makes."""
    from seqmem.train import numerics

    out = []
    for run in runs:
        if run.run_id in made_by:
            _, kernel, version, _ = made_by[run.run_id]
            if (kernel, version) != numerics(run.config):
                out.append(run)
    return out


def stale_message(out: Path, spec: Spec, stale: list[Run], made_by: dict[str, tuple]) -> str:
    from seqmem.train import numerics

    found = sorted({f"{k or 'unknown kernel'} v{v if v is not None else '?'}"
                    for _, k, v, _ in (made_by[r.run_id] for r in stale)})
    now = sorted({"{} v{}".format(*numerics(r.config)) for r in stale})
    return (f"{out} holds {len(stale)} runs of spec {spec.name!r} made by {', '.join(found)}, "
            f"but this code makes {', '.join(now)}; rerun them with --rerun-stale (their rows "
            "are replaced) or give another --out")


def cpu_note(runs: Sequence[Run], made_by: dict[str, tuple]) -> str | None:
    from seqmem.provenance import provenance

    here = provenance("", 0).cpu
    other = sorted({c for s, k, v, c in (made_by[r.run_id] for r in runs if r.run_id in made_by)
                    if c is not None and c != here})
    if not other:
        return None
    return (f"the store holds runs made on another CPU ({', '.join(other)}; this one is {here}): "
            "the numba kernel compiles for the CPU it runs on, so their rounding may differ")


def plan_chunks(runs: Sequence[Run], todo: Collection[str] | None = None,
                chunk_size: int | None = None) -> list[list[Any]]:
    """The chunks (lists of RunConfigs of one cell) that hold runs of `todo`, costliest first.

    The partition depends on the spec and the chunk size only, never on the backend or
    the number of workers: a cell of n seeds is split into ceil(n / chunk_size) chunks of
    near-equal size in declaration order. The population engine batches a chunk's seeds;
    on a CPU (numba kernel) each model's arithmetic is its own, but the torch kernel's
    float32 rounding may differ in the last bits with the batch's make-up. A fixed
    partition makes every backend and every resume (a chunk is stored whole or not at
    all) produce the very same records with either kernel. Only the runs of `todo`
    (default: all) are kept.

    >>> from seqmem.config import RunConfig
    >>> from seqmem.records import Origin
    >>> runs = [Run(RunConfig("ABCA", seed=s), Origin(slice="main")) for s in range(40)]
    >>> [len(c) for c in plan_chunks(runs)]
    [10, 10, 10, 10]
    >>> [len(c) for c in plan_chunks(runs, todo={r.run_id for r in runs[:25]})]
    [10, 10, 5]
    """
    groups: dict[Any, list[Any]] = {}
    for run in runs:
        groups.setdefault(run.config.without_seed, []).append(run.config)
    chunks = []
    for group, configs in groups.items():
        for part in split_group(configs, chunk_size or CHUNK_SIZE.get(group.engine, 32)):
            chunk = [c for c in part if todo is None or c.run_id in todo]
            if chunk:
                chunks.append(chunk)
    return sorted(chunks, key=chunk_work, reverse=True)


# Offline training per model and letter on the compiled kernel (seqmem.kernel_offline):
# fixed + per G H (H + A) multiply-add, fitted to one core's pass at LSTM 16-64, GRU 10 and
# RNN 19 units (1.0-7.5 us in results/steptime.csv; within 20% of each).
OFFLINE_US = (1.1, 2.4e-4)
# A user cell's step (seqmem.user_engine), per model: fixed + per window step (us).
USER_US = (400.0, 150.0)


def chunk_work(chunk: Sequence[Any]) -> float:
    """Expected compute of a chunk in model-step microseconds, if no run memorizes early.

    It starts the costliest chunks first and weighs the progress bar, so that a sweep
    with mixed lengths and widths shows an honest time left. Per model and step, from
    the numba kernel's costs measured in the `cases` sweep on 2 busy cores (within a
    factor 1.5 there): about 6 us of fixed cost plus 2e-4 us x G H (H + A/4) x (1 + the mean
    backward window), G the cell's gate blocks (LSTM 4, GRU 3, RNN 1), the window 1 with a
    reset per letter, (n + 1) / 2 for
    full-epoch BPTT and about k for a window k; the reference trainer is about 1 ms +
    0.3 ms per window step; offline training (update="chunk") about 1.1 us + 2.4e-4 us x
    G H (H + A) per model and letter (OFFLINE_US);
    RTRL (bptt="rtrl") about 6 us + 6e-5 us per multiply-add of W_hh^T M_h, G H^2 |theta|
    (measured at 4-16 units; 1.4x more at 32, where M leaves the core's cache), and 2 ms
    per step in the reference trainer (autograd Jacobians).
    """
    c = chunk[0]
    n = len(c.sequence)
    if c.bptt == "rtrl" and c.update == "step" and c.reset == "epoch":
        gates = GATES[c.cell]
        theta = gates * c.units * (len(c.alphabet) + c.units + 2)
        step_us = (2000 if c.engine == "reference"
                   else 6 + 6e-5 * gates * c.units ** 2 * theta * (1.4 if c.units > 24 else 1))
        return step_us * n * c.max_epochs * len(chunk)
    if c.reset == "char" or c.bptt == "rtrl":
        window = 1.0
    elif c.bptt == "epoch" or int(c.bptt) >= n:
        window = (n + 1) / 2
    else:
        k = int(c.bptt)
        window = k - k * (k - 1) / (2 * n)  # the first k-1 steps of an epoch reach back less
    if is_user_cell(c.cell):  # torch.func.vmap + autograd, measured at 4-16 units
        step_us = USER_US[0] + USER_US[1] * window
    elif c.engine == "reference":
        step_us = 1000 + 300 * window
    elif c.update == "chunk":  # offline, the compiled kernel
        step_us = OFFLINE_US[0] + OFFLINE_US[1] * GATES[c.cell] * c.units * (
            c.units + len(c.alphabet))
    else:
        gates = GATES[c.cell]
        step_us = 6 + 2e-4 * gates * c.units * (c.units + len(c.alphabet) / 4) * (1 + window)
    return step_us * n * c.max_epochs * len(chunk)
