"""One entry point for both engines: train the seeds of one cell, get one record per seed."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqmem.config import RunConfig, check_cell
from seqmem.records import RunRecord
from seqmem.reference import train_reference


def train_cell(configs: Sequence[RunConfig], *, device: str | torch.device = "cpu",
               trace_steps: int = 0) -> list[RunRecord]:
    """Train runs that differ only in seed; records come back in the order of `configs`.

    The engine is the configs' `engine` field: "population" trains all seeds as one
    batched computation, "reference" trains them one after another with nn.LSTM.
    """
    configs = list(configs)
    if not configs:
        return []
    check_cell(configs)
    if configs[0].engine == "reference":
        return [train_reference(c, trace_steps=trace_steps) for c in configs]
    from seqmem.population import train_population

    return train_population(configs, device=device, trace_steps=trace_steps)
