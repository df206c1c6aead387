"""Sequences with an exact context depth and an exact number of forks, chosen independently.

`forks(length, depth, n_forks, alphabet_size, rng=...)` separates the two things that
make a letter's successor ambiguous, which `seqmem.generate` ties together at a fixed
number of repeats (its deep sequences spend their repeats on the depth):

* one deep fork: a word w of depth-1 distinct letters that occurs twice, followed by two
  different letters and preceded by two different letters. The last letter of w has two
  successors, and only the letter before w tells them apart: depth exactly `depth`.
* `n_forks` shallow forks: letters that occur twice, each time between two letters that
  occur once, so the current letter leaves two successors and the one before it decides
  (depth 2 each).
* every other letter occurs once.

Each fork, deep or shallow, makes two positions ambiguous by one bit, so at a fixed
length:

    context_depth = depth,  ambiguous_transitions = context_bits = 2 + 2 * n_forks,
    repeat_count = (depth - 1) + n_forks

Depth and the number of ambiguous letters vary independently; repeats are their sum
(depth needs depth-1 repeated letters, seqmem.generate), so a repeats effect cannot be
told from the other two in this family. Depth 1 takes n_forks = 0 (all letters distinct).

Layout: the 2 + 2 n_forks blocks (the two copies of w, two of each fork letter) in a
random order, separated by runs of at least one once-only letter, with at least one
once-only letter first. `feasible_forks` is the exact rule for this construction:
length >= 2 * depth + 4 * n_forks and the distinct letters, length - repeats, fit the
alphabet. Every result is checked with the metrics of `seqmem.difficulty`.

>>> import numpy as np
>>> s = forks(12, 3, 1, rng=np.random.default_rng(0))
>>> from seqmem.difficulty import context_depth, ambiguous_transitions, repeat_count
>>> len(s), context_depth(s), ambiguous_transitions(s), repeat_count(s)
(12, 3, 4, 3)
"""

from __future__ import annotations

import numpy as np

from seqmem.difficulty import ambiguous_transitions, context_depth, repeat_count
from seqmem.generate import KnobTypeError, _letters, _type_reason
from seqmem.sequences import ALPHABET


def feasible_forks(length: int, depth: int, n_forks: int, alphabet_size: int = 26) -> str | None:
    """None if `forks` can make such a sequence, else a one-line reason.

    >>> feasible_forks(24, 6, 3)
    >>> feasible_forks(20, 6, 3)
    'length=20 must be >= 2*depth + 4*forks = 24 (every fork copy between once-only letters)'
    """
    reason = _type_reason(length=length, depth=depth, forks=n_forks, alphabet_size=alphabet_size)
    if reason:
        return reason
    if not 2 <= alphabet_size <= len(ALPHABET):
        return f"alphabet_size={alphabet_size} must be in 2..{len(ALPHABET)}"
    if depth < 1:
        return f"depth={depth} must be >= 1"
    if n_forks < 0:
        return f"forks={n_forks} must be >= 0"
    if depth == 1 and n_forks:
        return f"depth=1 has no fork (every letter has one successor); got forks={n_forks}"
    if length < 2:
        return f"length={length} must be >= 2"
    if depth > 1 and length < 2 * depth + 4 * n_forks:
        return (f"length={length} must be >= 2*depth + 4*forks = {2 * depth + 4 * n_forks} "
                "(every fork copy between once-only letters)")
    distinct = length - (depth - 1) - n_forks
    if distinct > alphabet_size:
        return (f"length={length} with depth={depth} and forks={n_forks} needs {distinct} "
                f"distinct letters, more than alphabet_size={alphabet_size}")
    return None


def forks(length: int, depth: int, n_forks: int, alphabet_size: int = 26, *,
          rng: np.random.Generator) -> str:
    """A random sequence with exactly this length, context depth and number of forks.

    Letters come from the first `alphabet_size` letters of A..Z. Raises ValueError
    (KnobTypeError for wrong types) naming the bad value before any work.
    """
    reason = _type_reason(length=length, depth=depth, forks=n_forks, alphabet_size=alphabet_size)
    if reason:
        raise KnobTypeError(reason)
    if not isinstance(rng, np.random.Generator):
        raise KnobTypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
    reason = feasible_forks(length, depth, n_forks, alphabet_size)
    if reason:
        raise ValueError(reason)
    n, d, f = int(length), int(depth), int(n_forks)
    letters = [int(c) for c in rng.permutation(alphabet_size)[: n - (d - 1) - f]]
    if d == 1:
        return _checked(_letters(letters), n, d, f)
    word, fork_letters, once = letters[: d - 1], letters[d - 1: d - 1 + f], letters[d - 1 + f:]
    blocks = [word, word] + [[c] for c in fork_letters for _ in range(2)]
    order = rng.permutation(len(blocks))
    # Once-only letters between blocks: >= 1 before each block, the rest spread at random
    # over the len(blocks) + 1 gaps (the last one may stay empty).
    spare = len(once) - len(blocks)
    extra = np.bincount(rng.integers(0, len(blocks) + 1, spare), minlength=len(blocks) + 1)
    gaps = [1 + int(extra[i]) for i in range(len(blocks))] + [int(extra[-1])]
    codes: list[int] = []
    pool = iter(once)
    for gap, b in zip(gaps, [*order, None], strict=True):
        codes += [next(pool) for _ in range(gap)]
        if b is not None:
            codes += blocks[int(b)]
    return _checked(_letters(codes), n, d, f)


def _checked(seq: str, n: int, d: int, f: int) -> str:
    got = (len(seq), context_depth(seq), ambiguous_transitions(seq), repeat_count(seq))
    want = (n, d, 0 if d == 1 else 2 + 2 * f, (d - 1) + f)
    if got != want:
        raise RuntimeError(f"forks(length={n}, depth={d}, forks={f}) made {seq!r}: "
                           f"(length, depth, ambiguous, repeats) = {got}, not {want}")
    return seq
