"""Random sequences with an exact length, repeat count and context depth.

`generate(length, repeats, depth, alphabet_size, rng=...)` returns a string over
the first `alphabet_size` letters of A..Z whose `len`, `repeat_count` and
`context_depth` (seqmem.difficulty, exact definitions) are the requested values.
All randomness comes from the `rng` argument (a `numpy.random.Generator`).

Feasibility
-----------
Write n = length, r = repeats, d = depth, m = n - r (the number of distinct
letters). `feasible` is exact; a combination is possible iff

* 1 <= m <= alphabet_size, i.e. n - alphabet_size <= r <= n - 1, and
* d == 1: m divides n. At depth 1 every letter has one successor (cyclically),
  so the sequence is one cycle of its m letters repeated; this includes m == 1
  (one letter) and r == 0 (all letters distinct), which both force depth 1.
* d >= 2: m >= 2 and r >= d - 1. Necessity: depth d needs a (d-1)-gram read at
  two positions with different successors; the union of the two occurrences is
  periodic with period their offset, so it holds at least d - 1 repeated
  letters. Sufficiency: "A"*a + (m-1 distinct letters) + "A"*b with a + b = r + 1
  has depth 1 + max(min(a, b), a - 1), and a = d - 1 (when r >= 2d - 3) or a = d
  (when r <= 2d - 2) gives exactly d.

Alphabet size only enters through m <= alphabet_size: depth and repeats depend on
the sequence up to renaming of letters. The rule was checked against a
brute-force enumeration of all sequences up to renaming for length <= 12 (all m),
m = 2 up to length 22 and m = 3 up to length 15; tests repeat this for length <= 8.

How it works
------------
A sequence has context depth <= d iff its d-grams (contexts at positions
i >= d - 1, the earlier ones being prefix-marked and unique) map consistently to
their successors, the last position's successor being s[0]. Such a sequence is a
walk in the space of d-grams: all d-grams distinct until some d-gram recurs,
after which the sequence is forced to repeat the cycle it closed (period = the
offset of the recurrence) up to the end, and the letter after the end must then
be s[0].

For d >= 2, each attempt:

1. picks the m letters (a random subset of the alphabet, in random order);
2. plants the depth: a random (d-1)-gram w at two random positions p1 < p2,
   followed by different letters x != y, with different letters before the two
   copies (or p1 == 0, where the first copy's d-context is prefix-marked).
   Overlapping copies are allowed (w is then periodic with period p2 - p1: a
   periodic run broken by one letter). This gives depth >= d. When d-grams are
   scarce (m**d small) the plant is kept within the first m**d positions;
3. fills the other positions left to right by a depth-first search with a step
   budget (4 * length), keeping the map d-gram -> successor. A free position
   takes a letter not used yet with the probability needed to end with exactly
   m distinct letters (so the r repeats fall at random places, and which letters
   repeat is random). Letters making a new d-gram are tried first, and no letter
   may make early a d-gram that the planted letters will make later. A letter
   recreating a known d-gram closes a cycle; it is accepted only if the forced
   periodic tail agrees with every planted letter after it, needs no new letter
   and predicts s[0] after the last position. Closing is tried on purpose now and
   then (5% of free positions once all letters are in) and whenever nothing new
   is left, which is the rule for small alphabets with long sequences. Dead ends
   backtrack. A consistent map gives depth <= d.

Each result is checked with `repeat_count` and `context_depth` before it is
returned. After 60 failed attempts (not seen in exhaustive runs for length <= 30
or in sampled runs up to 256) the construction from the sufficiency proof is
used, with random letters and a random valid (a, b) split, so every feasible
combination succeeds. Depth 1 sequences are a random cycle of m random letters
repeated (the only shape, up to renaming); r == 0 is a random permutation.
RuntimeError is raised only if a final check fails, which would be a bug.

Speed: one attempt is O(length * (alphabet + depth)); a call for length 256 and
depth <= 16 typically takes 1-15 ms, most of it the final `context_depth`
check for large depths.
"""

from __future__ import annotations

import operator
import random
from itertools import chain

import numpy as np

from seqmem.difficulty import context_depth, repeat_count
from seqmem.sequences import ALPHABET

__all__ = ["KnobTypeError", "feasible", "generate", "uniform"]

_ATTEMPTS = 60
_PLANT_TRIES = 20
_CLOSE_ON_PURPOSE = 0.05
_STEPS_PER_LETTER = 4


class KnobTypeError(TypeError, ValueError):
    """A knob or the rng has the wrong type (also a ValueError, like every other bad knob)."""


def _type_reason(**knobs) -> str | None:
    for name, value in knobs.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            return f"{name} must be an int, got {value!r} ({type(value).__name__})"
    return None


def feasible(length: int, repeats: int, depth: int, alphabet_size: int = 26) -> str | None:
    """None if `generate` can make such a sequence (i.e. one exists), else a one-line reason.

    >>> feasible(26, 1, 2)
    >>> feasible(26, 1, 3)
    'depth=3 needs repeats >= depth-1 = 2, got repeats=1'
    >>> feasible(10, 6, 1, 26)
    'depth=1 with repeats=6 needs the 4 distinct letters to divide length=10 (one cycle repeated)'
    """
    reason = _type_reason(length=length, repeats=repeats, depth=depth, alphabet_size=alphabet_size)
    if reason:
        return reason
    n, r, d, a = (operator.index(v) for v in (length, repeats, depth, alphabet_size))
    if n < 2:
        return f"length={n} must be >= 2"
    if not 2 <= a <= len(ALPHABET):
        return f"alphabet_size={a} must be in 2..{len(ALPHABET)}"
    if r < 0:
        return f"repeats={r} must be >= 0"
    if d < 1:
        return f"depth={d} must be >= 1"
    if r > n - 1:
        return f"repeats={r} must be <= length-1 = {n - 1} (at least one distinct letter)"
    m = n - r
    if m > a:
        return (
            f"repeats={r} too small: length={n} over alphabet_size={a} "
            f"needs repeats >= length-alphabet_size = {n - a}"
        )
    if d == 1:
        if n % m:
            return (
                f"depth=1 with repeats={r} needs the {m} distinct letters to divide "
                f"length={n} (one cycle repeated)"
            )
        return None
    if m == 1:
        return f"depth={d} needs >= 2 distinct letters, got length-repeats = {m} (one letter)"
    if r < d - 1:
        return f"depth={d} needs repeats >= depth-1 = {d - 1}, got repeats={r}"
    return None


def generate(
    length: int,
    repeats: int,
    depth: int,
    alphabet_size: int = 26,
    *,
    rng: np.random.Generator,
) -> str:
    """A random sequence with exactly this length, repeat_count and context_depth.

    Letters are drawn from the first `alphabet_size` letters of A..Z. Raises
    ValueError (KnobTypeError, also a TypeError, for wrong types) naming the bad
    value when `feasible` rejects the combination, before any work.

    Example: 12 letters, 3 of them repeats (so 9 distinct), depth 3.

    >>> s = generate(12, 3, 3, rng=np.random.default_rng(1))
    >>> s
    'UVZUQHRVZPBY'
    >>> len(s), repeat_count(s), context_depth(s)
    (12, 3, 3)

    The planted 2-gram "VZ" is read at positions 2 and 8 and followed by U and by
    P, so 2 letters of context are not enough; the 3-grams there, "UVZ" and
    "RVZ", differ, and every other 3-gram (including "PBY", which predicts the
    first letter U after the wrap) occurs once, so 3 letters are. U, V and Z
    each occur twice: 3 repeats. The same seed gives the same sequence:

    >>> s == generate(12, 3, 3, rng=np.random.default_rng(1))
    True
    >>> generate(12, 1, 3, rng=np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    ValueError: depth=3 needs repeats >= depth-1 = 2, got repeats=1
    """
    reason = _type_reason(length=length, repeats=repeats, depth=depth, alphabet_size=alphabet_size)
    if reason:
        raise KnobTypeError(reason)
    if not isinstance(rng, np.random.Generator):
        raise KnobTypeError(
            f"rng must be a numpy.random.Generator, got {rng!r} ({type(rng).__name__})"
        )
    reason = feasible(length, repeats, depth, alphabet_size)
    if reason:
        raise ValueError(reason)
    n, r, d, a = (int(v) for v in (length, repeats, depth, alphabet_size))
    m = n - r

    if d == 1:
        letters = rng.permutation(a)[:m]
        seq = _letters(np.resize(letters, n))
        return _verified(seq, n, r, d, a)

    for _ in range(_ATTEMPTS):
        codes = _Walk(n, m, d, a, rng).run()
        if codes is not None and _ok(seq := _letters(codes), n, r, d, a):
            return seq
    return _verified(_fallback(n, m, d, a, rng), n, r, d, a)


def uniform(length: int, alphabet_size: int = 26, *, rng: np.random.Generator) -> str:
    """`length` letters drawn independently and uniformly from the first `alphabet_size`
    letters of A..Z: the random sequences of the capacity frontier (like the notebook's
    random30, which has 26 letters).

    >>> uniform(8, 4, rng=np.random.default_rng(0))
    'DCCBBAAA'
    """
    reason = _type_reason(length=length, alphabet_size=alphabet_size)
    if reason:
        raise KnobTypeError(reason)
    if not isinstance(rng, np.random.Generator):
        raise KnobTypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
    if length < 2:
        raise ValueError(f"length={length} must be >= 2")
    if not 2 <= alphabet_size <= len(ALPHABET):
        raise ValueError(f"alphabet_size={alphabet_size} must be in 2..{len(ALPHABET)}")
    return _letters(rng.integers(0, int(alphabet_size), int(length)))


def _letters(codes) -> str:
    return "".join(ALPHABET[int(c)] for c in codes)


def _ok(seq: str, n: int, r: int, d: int, a: int) -> bool:
    """The final check, with the real metrics."""
    return (
        len(seq) == n
        and set(seq) <= set(ALPHABET[:a])
        and repeat_count(seq) == r
        and context_depth(seq) == d
    )


def _verified(seq: str, n: int, r: int, d: int, a: int) -> str:
    if not _ok(seq, n, r, d, a):
        raise RuntimeError(
            f"generate(length={n}, repeats={r}, depth={d}, alphabet_size={a}) failed: {seq!r}"
        )
    return seq


def _fallback(n: int, m: int, d: int, a: int, rng: np.random.Generator) -> str:
    """'A'*x + (m-1 distinct letters) + 'A'*y with depth 1 + max(min(x, y), x - 1) = d."""
    r = n - m
    splits = []
    if r >= 2 * d - 3:
        splits.append((d - 1, r + 2 - d))
    if r <= 2 * d - 2:
        splits.append((d, r + 1 - d))
    x, y = splits[int(rng.integers(len(splits)))]
    letters = rng.permutation(a)[:m]
    return _letters([letters[0]] * x + list(letters[1:]) + [letters[0]] * y)


def _shuffled(pool: list[int], rnd: random.Random):
    """The items of pool in random order, drawn lazily (usually only the first is needed)."""
    pool = list(pool)
    while pool:
        i = rnd.randrange(len(pool))
        pool[i], pool[-1] = pool[-1], pool[i]
        yield pool.pop()


class _Walk:
    """One randomized attempt: plant a (d-1)-context conflict, then a budgeted left-to-right DFS."""

    def __init__(self, n: int, m: int, d: int, a: int, rng: np.random.Generator):
        self.n, self.m, self.d, self.rng = n, m, d, rng
        self.letters = [int(c) for c in rng.permutation(a)[:m]]
        # Cheap scalar draws for the search, seeded from rng (not the global random state).
        self.rnd = random.Random(int(rng.integers(2**63)))
        # Number of distinct d-grams over m letters (capped): bounds the non-periodic part.
        self.gram_cap = m**d if d * np.log2(m) < 20 else 1 << 20
        # Where d-grams are scarce the tail is periodic and planted d-grams recur on purpose.
        self.p_risky = 0.2 if 2 * self.gram_cap < n else 0.0

    # -- planting ------------------------------------------------------------
    def _plant(self) -> dict[int, int] | None:
        """Positions -> letters: w at p1 and p2, then different letters x and y."""
        n, d, rng, L = self.n, self.d, self.rng, self.letters
        last = min(n - d, max(1, self.gram_cap))  # keep the plant early when d-grams run out
        p1, p2 = sorted(int(p) for p in rng.choice(last + 1, size=2, replace=False))
        period = min(p2 - p1, d - 1)  # overlapping words are periodic
        distinct = len(L) >= period and rng.random() < 0.5
        u = [int(c) for c in rng.choice(L, size=period, replace=not distinct)]
        plant: dict[int, int] = {}
        for t in range(d - 1):
            plant[p1 + t] = plant[p2 + t] = u[t % period]
        x = plant.setdefault(p1 + d - 1, L[int(rng.integers(self.m))])
        others = [c for c in L if c != x]
        plant[p2 + d - 1] = others[int(rng.integers(len(others)))]
        self.pre = (p1 - 1, p2 - 1) if p1 >= 1 else None
        if self.pre and all(p in plant for p in self.pre):
            if plant[p1 - 1] == plant[p2 - 1]:
                return None
        # Planted repeats must fit in r (equivalently, the rest can cover the other letters).
        if len(plant) - len(set(plant.values())) > n - self.m:
            return None
        return plant

    # -- search --------------------------------------------------------------
    def run(self) -> list[int] | None:
        for _ in range(_PLANT_TRIES):
            plant = self._plant()
            if plant is not None:
                break
        else:
            return None
        n, d = self.n, self.d
        self.plant = plant
        self.planted_letters = set(plant.values())
        self.last_plant = max(plant)
        # d-grams lying wholly inside planted letters: the free walk must not make them earlier.
        self.reserved = {
            bytes(plant[i] for i in range(k - d + 1, k + 1))
            for k in plant
            if k >= d - 1 and all(i in plant for i in range(k - d + 1, k))
        }
        self.free_from = [0] * (n + 1)  # free (unplanted) positions >= j
        for j in range(n - 1, -1, -1):
            self.free_from[j] = self.free_from[j + 1] + (j not in plant)
        self.s = s = bytearray(n)
        self.grams: dict[bytes, int] = {}  # d-gram -> the position where it ends
        self.count = [0] * len(ALPHABET)
        self.distinct = 0
        budget = _STEPS_PER_LETTER * n
        stack = [self._candidates(0)]
        while stack and budget > 0:
            budget -= 1
            j = len(stack) - 1
            nxt = next(stack[-1], None)
            if nxt is None:  # exhausted: undo position j-1
                stack.pop()
                if stack:
                    self._unset(j - 1)
                continue
            c, t = nxt
            if t is not None:  # closes a cycle: the rest is forced and was checked
                return self._close(j, c, t)
            self._set(j, c)
            if j == n - 1:  # last d-gram new: its successor s[0] is free
                return list(s)
            stack.append(self._candidates(j + 1))
        return None

    def _set(self, j: int, c: int) -> None:
        self.s[j] = c
        self.count[c] += 1
        self.distinct += self.count[c] == 1
        if j >= self.d - 1:
            self.grams[bytes(self.s[j - self.d + 1 : j + 1])] = j

    def _unset(self, j: int) -> None:
        c = self.s[j]
        if j >= self.d - 1:
            del self.grams[bytes(self.s[j - self.d + 1 : j + 1])]
        self.count[c] -= 1
        self.distinct -= self.count[c] == 0

    def _candidates(self, j: int):
        """Letters for position j, best first: (c, None) extends, (c, t) closes a cycle."""
        d, s, grams, rnd, count = self.d, self.s, self.grams, self.rnd, self.count
        if j in self.plant:
            c = self.plant[j]
            t = grams.get(bytes(s[j - d + 1 : j]) + bytes((c,))) if j >= d - 1 else None
            if t is None:
                yield c, None
            elif self._closure_ok(j, c, t):
                yield c, t
            return
        need = [c for c in self.letters if not count[c] and c not in self.planted_letters]
        free_left = self.free_from[j]
        if len(need) > free_left:
            return
        old = [c for c in self.letters if count[c] or c in self.planted_letters]
        horizon = free_left
        if j >= d - 1:
            horizon = min(horizon, max(1, self.gram_cap - len(grams)))
        if len(need) >= free_left:
            order = _shuffled(need, rnd)
        elif need and rnd.random() < len(need) / horizon:
            order = chain(_shuffled(need, rnd), _shuffled(old, rnd))
        else:
            order = chain(_shuffled(old, rnd), _shuffled(need, rnd))
        close_now = j > self.last_plant and not need and rnd.random() < _CLOSE_ON_PURPOSE
        excl = self._excluded(j)
        risky, closing = [], []
        for c in order:
            if c == excl:
                continue
            g = bytes(s[j - d + 1 : j]) + bytes((c,)) if j >= d - 1 else None
            t = grams.get(g) if g is not None else None
            if t is None:
                # A new d-gram that a planted run will make again later, or one that makes
                # such a run recur, is a closure in waiting: usually only tried last.
                risky_gram = g in self.reserved or self._collides_ahead(j, c)
                if risky_gram and rnd.random() >= self.p_risky:
                    risky.append(c)
                else:
                    yield c, None
            elif close_now:
                if self._closure_ok(j, c, t):
                    yield c, t
            else:
                closing.append((c, t))
        for c in risky:
            yield c, None
        for c, t in closing:
            if self._closure_ok(j, c, t):
                yield c, t

    def _excluded(self, j: int) -> int | None:
        """Letter forbidden at j: the planted words need different letters before them."""
        if self.pre is None or j not in self.pre:
            return None
        other = self.pre[1] if j == self.pre[0] else self.pre[0]
        return self.s[other] if other < j else self.plant.get(other)

    def _collides_ahead(self, j: int, c: int) -> bool:
        """With s[j] = c, would a d-gram ending in the planted run after j recur?"""
        d, plant, grams, reserved = self.d, self.plant, self.grams, self.reserved
        k = j + 1
        if k not in plant:
            return False
        window = self.s[max(0, j - d + 1) : j] + bytes((c,))
        while k in plant and k - d + 1 <= j:
            window += bytes((plant[k],))
            if k >= d - 1:
                g = bytes(window[-d:])
                if g in grams or g in reserved:
                    return True
            k += 1
        return False

    def _closure_ok(self, j: int, c: int, t: int) -> bool:
        """Would s[j] = c, whose d-gram already ended at t, give a valid periodic tail?

        The tail repeats s[t+1..j]; it brings no new letter, must agree with the
        planted letters after j and must predict s[0] after the last position.
        """
        if self.distinct + (self.count[c] == 0) != self.m:
            return False
        s, n, period = self.s, self.n, j - t

        def letter(k: int) -> int:
            i = t + (k - j - 1) % period + 1 if k > j else k
            return c if i == j else s[i]

        if letter(n) != s[0]:
            return False
        return all(letter(k) == v for k, v in self.plant.items() if k > j)

    def _close(self, j: int, c: int, t: int) -> list[int]:
        s, period = self.s, j - t
        s[j] = c
        for k in range(j + 1, self.n):
            s[k] = s[k - period]
        return list(s)
