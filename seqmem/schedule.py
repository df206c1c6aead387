"""The learning rate at each update of a run: constant, or cosine decay after a linear warm-up.

Updates are counted over the whole budget, `max_epochs * updates_per_epoch` (one per letter
online, one per chunk offline), so a schedule ends at the budget whatever the length.
"""

from __future__ import annotations

import math

from seqmem.config import RunConfig


def lr_at(config: RunConfig, update: int) -> float:
    """The learning rate of update number `update` (0 for the first).

    Warm-up: W = round(warmup * total) updates rise linearly, lr * (u + 1) / W. After it,
    "constant" keeps lr and "cosine" decays as lr * (1 + cos(pi * (u - W) / (total - W))) / 2,
    torch's CosineAnnealingLR with eta_min = 0.

    >>> c = RunConfig("ABCD", lr=1.0, schedule="cosine", max_epochs=2)  # 8 updates
    >>> [round(lr_at(c, u), 3) for u in (0, 4, 7)]
    [1.0, 0.5, 0.038]
    """
    total = config.max_epochs * config.updates_per_epoch
    warm = round(config.warmup * total)
    if update < warm:
        return config.lr * (update + 1) / warm
    if config.schedule == "constant" or total <= warm:
        return config.lr
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * (update - warm) / (total - warm)))
