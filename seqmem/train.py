"""One entry point for every engine: train the seeds of one group (runs that differ only in
seed), get one record per seed."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqmem import reference
from seqmem.config import RunConfig, check_group, is_user_cell
from seqmem.records import RunRecord
from seqmem.reference import train_reference


def train_group(configs: Sequence[RunConfig], *, device: str | torch.device = "cpu",
                trace_steps: int = 0) -> list[RunRecord]:
    """Train a group (runs that differ only in seed); records come back in the order of
    `configs`.

    The engine is the configs' `engine` field: "population" trains all seeds as one
    batched computation, "reference" trains them one after another with nn.LSTM; a user's
    own cell (seqmem.usercell) trains in seqmem.user_engine.
    """
    configs = list(configs)
    if not configs:
        return []
    check_group(configs)
    if is_user_cell(configs[0].cell):
        from seqmem.user_engine import train_user_cell

        return train_user_cell(configs, device=device, trace_steps=trace_steps)
    if configs[0].engine == "reference":
        return [train_reference(c, trace_steps=trace_steps) for c in configs]
    from seqmem.population import train_population

    return train_population(configs, device=device, trace_steps=trace_steps)


def split_group(items: Sequence, size: int) -> list[list]:
    """A group's runs (in order) split into ceil(n / size) populations of near-equal size.

    The one partition rule: the sweep trains these populations, and the analysis reads
    a population's compute back from them. The batched torch kernel's rounding can depend
    on the batch, so the rule depends on nothing but n and size.

    >>> [len(p) for p in split_group(list(range(25)), 10)]
    [9, 8, 8]
    """
    k = -(-len(items) // size)
    q, r = divmod(len(items), k) if k else (0, 0)
    out, start = [], 0
    for i in range(k):
        end = start + q + (i < r)
        out.append(list(items[start:end]))
        start = end
    return out


def numerics(config: RunConfig, device: str | torch.device = "cpu") -> tuple[str, int]:
    """(kernel, numerics version) that `train_group` uses for `config` on `device`: a stored
    record made with another pair may differ from what this code would make."""
    if is_user_cell(config.cell):
        from seqmem import usercell

        batching = "loop" if config.engine == "reference" else usercell.check(
            config.cell, len(config.alphabet), config.units)
        return f"user-{batching}", usercell.numerics_version(config.cell)
    if config.engine == "reference":
        return reference.KERNEL, reference.NUMERICS_VERSION
    from seqmem import population

    kernel = population.default_kernel(device, config)
    return kernel, population.NUMERICS_VERSION[kernel]
