"""seqmem: how hard is it for an LSTM to memorize a letter sequence online?"""

from seqmem.config import RunConfig, preset
from seqmem.difficulty import (
    ambiguous_transitions,
    context_bits,
    context_depth,
    metrics,
    repeat_count,
)
from seqmem.generate import feasible, generate
from seqmem.records import RunRecord
from seqmem.sequences import ALPHABET, PRESETS, encode, resolve, validate

__version__ = "0.1.0"


def __getattr__(name: str):
    # train_group needs torch; the pure modules (sequences, difficulty, generate, forks,
    # config) import without it.
    if name == "train_group":
        from seqmem.train import train_group

        return train_group
    raise AttributeError(f"module 'seqmem' has no attribute {name!r}")

__all__ = [
    "ALPHABET",
    "PRESETS",
    "RunConfig",
    "RunRecord",
    "ambiguous_transitions",
    "context_bits",
    "context_depth",
    "encode",
    "feasible",
    "generate",
    "metrics",
    "preset",
    "repeat_count",
    "resolve",
    "train_group",
    "validate",
]
