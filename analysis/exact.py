"""Exact tests over few clusters (SCIENCE.md: with a handful of sequences a percentile
bootstrap is anti-conservative; an exact sign-flip test says what they can show)."""

from __future__ import annotations

import itertools
import math

import numpy as np

ALPHA = 0.05
ENUMERATE = 16  # every sign pattern up to this many clusters, else a seeded sample
SAMPLED = 1 << 16


def sign_patterns(n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Every one of the 2^n sign patterns, or beyond ENUMERATE a sample from `rng` that
    holds the observed (all +1) pattern."""
    if n <= ENUMERATE:
        return np.array(list(itertools.product((-1.0, 1.0), repeat=n)))
    if rng is None:
        raise ValueError(f"{n} clusters: more than {ENUMERATE} need an rng to sample patterns")
    draws = rng.choice((-1.0, 1.0), size=(SAMPLED, n))
    draws[0] = 1.0
    return draws


def sign_flip_p(d: np.ndarray, patterns: np.ndarray | None = None, mu: float = 0.0) -> float:
    """Two-sided sign-flip p of mean(d) = mu: the share of sign patterns whose |mean| is at
    least the observed one (all 2^n patterns unless `patterns` are given).

    >>> sign_flip_p(np.array([1.0, 2.0, 3.0]))
    0.25
    """
    d = np.asarray(d, dtype=float) - mu
    signs = sign_patterns(len(d)) if patterns is None else patterns
    means = np.abs(signs @ np.abs(d)) / len(d)
    return float(np.mean(means >= abs(d.mean()) - 1e-12))


def sign_flip_interval(x: np.ndarray, patterns: np.ndarray) -> tuple[float, float]:
    """The mu the test does not reject at ALPHA (bisection from the mean outwards); (nan,
    nan) where no mu can be rejected (too few clusters: the smallest p is 2 / 2^n)."""
    m = float(x.mean())
    spread = float(x.max() - x.min()) + 1.0
    if sign_flip_p(x, patterns, m + 10 * spread) > ALPHA:
        return math.nan, math.nan

    def edge(outer: float) -> float:
        inner = m
        for _ in range(60):
            mid = (inner + outer) / 2
            inner, outer = (mid, outer) if sign_flip_p(x, patterns, mid) > ALPHA else (inner, mid)
        return inner

    return edge(m - 10 * spread), edge(m + 10 * spread)
