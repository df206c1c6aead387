"""What a sweep worker runs: one chunk of seeds of one cell -> one result row per run.

It lives in an importable module (not `__main__`) so that loky and Dask workers can
unpickle it. Each worker uses one torch thread: the sweep's parallelism is across
processes, and intra-op threads only fight over the same cores.

A chunk that raises does not stop the sweep: the worker catches the exception and
returns an error row for every run of the chunk (`seqmem.schema.error_row`: config,
difficulty metrics and provenance filled, outcome columns null, `error` = the message
and where it was raised).

Test hook: if the environment variable SEQMEM_FAIL_SEQUENCE is set (e.g. to "ABCA"),
a chunk whose sequence equals it raises inside the worker, before training. It is read
here only, so it exercises the real failure path of every backend.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Sequence
from typing import Any

FAIL_ENV = "SEQMEM_FAIL_SEQUENCE"


def run_chunk(configs: Sequence[Any]) -> list[dict[str, Any]]:
    """Train the runs of `configs` (RunConfigs that differ only in seed); one row per run.

    Rows are RunRecord.to_row() (the results contract, provenance included); on an
    exception, error rows (see the module docstring). Never raises an Exception.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from seqmem.provenance import provenance
    from seqmem.schema import error_row
    from seqmem.train import numerics, train_group

    configs = list(configs)
    try:
        fail = os.environ.get(FAIL_ENV)
        if fail and configs and configs[0].sequence == fail:
            raise RuntimeError(f"{FAIL_ENV}={fail}: injected failure (test hook)")
        records = train_group(configs)
        if [r.config.run_id for r in records] != [c.run_id for c in configs]:
            raise RuntimeError("train_group returned records that do not match its configs")
        return [r.to_row() for r in records]
    except Exception as e:  # noqa: BLE001 - any failure becomes error rows, the sweep goes on
        try:
            made_by = provenance(*numerics(configs[0])) if configs else None
        except Exception:  # noqa: BLE001 - the error row matters more than its provenance
            made_by = None
        return [error_row(c, describe(e), made_by) for c in configs]


def describe(exc: BaseException, limit: int = 500) -> str:
    """'Type: message (at file:line in function)', one line."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        text += f" (at {os.path.basename(f.filename)}:{f.lineno} in {f.name})"
    return text if len(text) <= limit else text[: limit - 3] + "..."
