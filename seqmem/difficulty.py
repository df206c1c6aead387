"""Difficulty metrics computed from the sequence alone.

Training transitions of a cyclic sequence `s` of length n, with the recurrent
state reset at position 0: position i (0..n-1) has read `s[0..i]` and must
predict `s[(i+1) mod n]`. The last position predicts the first letter again,
as the notebook's `get_data` does.

A k-context of position i is what the last k letters read say: `s[i-k+1..i]`;
when fewer than k letters have been read it is the whole prefix read so far,
marked as a prefix, so it never equals a k-gram read later.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from seqmem.sequences import ALPHABET, validate


def _contexts(seq: str, k: int) -> list[tuple[str, str]]:
    """(kind, letters) of every position's k-context; kind is 'prefix' or 'gram'."""
    return [
        ("prefix", seq[: i + 1]) if i + 1 < k else ("gram", seq[i - k + 1 : i + 1])
        for i in range(len(seq))
    ]


def _next(seq: str) -> list[str]:
    n = len(seq)
    return [seq[(i + 1) % n] for i in range(n)]


def _is_deterministic(seq: str, k: int) -> bool:
    seen: dict[tuple[str, str], str] = {}
    for ctx, nxt in zip(_contexts(seq, k), _next(seq), strict=True):
        if seen.setdefault(ctx, nxt) != nxt:
            return False
    return True


def context_depth(seq: str, alphabet: str = ALPHABET) -> int:
    """Smallest k >= 1 such that positions with equal k-contexts predict the same letter.

    It is the number of letters a model must remember to predict every transition:
    1 means the current letter is enough (a feed-forward map suffices).

    >>> context_depth("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    1
    >>> context_depth("ABCDEFGHIJKLMNOPHRSTUVWXYZ")  # G,H -> I but P,H -> R
    2
    >>> context_depth("AAAB")  # AA -> A at position 1, AA -> B at position 2
    3
    """
    validate(seq, alphabet)
    # k = n always works: every context is then a prefix of a distinct length or the whole string.
    return next(k for k in range(1, len(seq) + 1) if _is_deterministic(seq, k))


def repeat_count(seq: str, alphabet: str = ALPHABET) -> int:
    """Number of letters that are not the first occurrence of their kind: n - distinct.

    >>> repeat_count("ABCDETFGCHIJKLDMNOPFQRSTUJVWXYZ")
    5
    """
    validate(seq, alphabet)
    return len(seq) - len(set(seq))


def ambiguous_transitions(seq: str, alphabet: str = ALPHABET) -> int:
    """Positions whose current letter is shared with a position that predicts a different letter.

    These are the transitions a model without memory (one-step training) cannot all get right.

    >>> ambiguous_transitions("ABCDEFGHIJKLMNOPHRSTUVWXYZ")  # H->I and H->R
    2
    >>> ambiguous_transitions("ABAC")  # A->B, A->C; B and C are unique
    2
    """
    validate(seq, alphabet)
    successors: dict[str, set[str]] = defaultdict(set)
    for ch, nxt in zip(seq, _next(seq), strict=True):
        successors[ch].add(nxt)
    return sum(1 for ch in seq if len(successors[ch]) > 1)


def context_bits(seq: str, k: int = 1, alphabet: str = ALPHABET) -> float:
    """Bits needed to specify the sequence's transitions given their k-contexts.

    n * H(next letter | k-context), with the empirical distribution over the n
    positions. For k=1 it is the information the recurrent state must carry
    beyond the current letter; it is 0 exactly when k >= context_depth.

    >>> context_bits("ABAC")  # A is followed by B once and C once: 2 positions x 1 bit
    2.0
    >>> context_bits("ABAC", k=2)
    0.0
    """
    validate(seq, alphabet)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    pairs = Counter(zip(_contexts(seq, k), _next(seq), strict=True))
    ctx_counts = Counter(_contexts(seq, k))
    return float(-sum(c * math.log2(c / ctx_counts[ctx]) for (ctx, _), c in pairs.items()) + 0.0)


def cond_entropy(seq: str, k: int = 1, alphabet: str = ALPHABET) -> float:
    """Bits per letter still unknown about the next letter given the last k: H(next | k-context).

    context_bits(seq, k) / len(seq): the per-letter form, comparable across lengths.

    >>> cond_entropy("ABAC")  # two of four positions carry one bit each
    0.5
    """
    return context_bits(seq, k, alphabet) / len(seq)


def memory_bits(seq: str, alphabet: str = ALPHABET) -> float:
    """Sum over k = 1 .. depth-1 of context_bits(seq, k): bits the state must supply, counted
    once for every letter of context that is not yet enough.

    It grows with depth (one more term per letter of context needed) and with ambiguity
    (larger terms), so it is one number for both.

    >>> memory_bits("ABAC"), memory_bits("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    (2.0, 0.0)
    """
    return float(sum(context_bits(seq, k, alphabet) for k in range(1, context_depth(seq, alphabet))))


@dataclass(frozen=True)
class Metrics:
    """Every difficulty metric of a sequence: one result-table column each.

    length: letters in the sequence.
    distinct: distinct letters it uses.
    repeat_count: length - distinct, the letters that repeat an earlier one.
    context_depth: the letters of context needed to tell every next letter (cyclically).
    ambiguous_transitions: positions whose letter has more than one successor.
    context_bits: n * H(next letter | current letter), in bits.
    cond_entropy_1, cond_entropy_2, cond_entropy_3: H(next letter | the last k letters) in
        bits per letter, k = 1, 2, 3.
    memory_bits: the bits needed to store the sequence as its contexts (see `memory_bits`).
    """

    length: int
    distinct: int
    repeat_count: int
    context_depth: int
    ambiguous_transitions: int
    context_bits: float
    cond_entropy_1: float
    cond_entropy_2: float
    cond_entropy_3: float
    memory_bits: float


def metrics(seq: str, alphabet: str = ALPHABET) -> dict[str, float | int]:
    """Every difficulty metric of `seq` (the fields of `Metrics`), as result-table columns.

    >>> metrics("ABAC")["context_depth"]
    2
    """
    validate(seq, alphabet)
    return asdict(Metrics(
        length=len(seq),
        distinct=len(set(seq)),
        repeat_count=repeat_count(seq, alphabet),
        context_depth=context_depth(seq, alphabet),
        ambiguous_transitions=ambiguous_transitions(seq, alphabet),
        context_bits=context_bits(seq, 1, alphabet),
        cond_entropy_1=cond_entropy(seq, 1, alphabet),
        cond_entropy_2=cond_entropy(seq, 2, alphabet),
        cond_entropy_3=cond_entropy(seq, 3, alphabet),
        memory_bits=memory_bits(seq, alphabet),
    ))
