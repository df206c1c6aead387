"""seqmem: how hard is it for an LSTM to memorize a letter sequence online?"""

from seqmem.difficulty import (
    ambiguous_transitions,
    context_bits,
    context_depth,
    metrics,
    repeat_count,
)
from seqmem.generate import generate
from seqmem.sequences import ALPHABET, PRESETS, encode, resolve, validate

__version__ = "0.1.0"

__all__ = [
    "ALPHABET",
    "PRESETS",
    "ambiguous_transitions",
    "context_bits",
    "context_depth",
    "encode",
    "generate",
    "metrics",
    "repeat_count",
    "resolve",
    "validate",
]
