"""Kaplan-Meier estimates of epochs-to-memorize (right-censored at the budget).

Censoring is data: a run that never memorized within its budget says "more than the
budget", and every median here counts it so. A median over the memorized runs only is
biased low and appears nowhere in seqmem.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CI_LEVEL = 0.95  # of every Kaplan-Meier band and median CI


@dataclass(frozen=True)
class KM:
    """A Kaplan-Meier estimate of one group: its curve and median with 95% CIs."""

    n: int
    events: int
    budget: float
    median: float  # inf when fewer than half memorized
    median_lo: float
    median_hi: float
    p_budget: float  # P(memorized by the budget) = 1 - S(budget)
    curve: pd.DataFrame  # columns t, s, lo, hi


def kaplan_meier(durations: np.ndarray, events: np.ndarray, budget: float | None = None) -> KM:
    """KM of epochs-to-memorize with 95% log-log (exponential Greenwood) bands.

    scipy.stats.ecdf on right-censored data. The estimate is exact on the evaluation
    grid: memorization is only defined at evaluation epochs. The median's CI is where
    the bands cross 1/2 (as lifelines' median_survival_times does).
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    budget = float(np.max(durations)) if budget is None else float(budget)
    if not events.any():
        curve = pd.DataFrame({"t": [0.0, budget], "s": [1.0, 1.0], "lo": [1.0, 1.0],
                              "hi": [1.0, 1.0]})
        return KM(n=len(durations), events=0, budget=budget, median=math.inf,
                  median_lo=math.inf, median_hi=math.inf, p_budget=0.0, curve=curve)
    res = stats.ecdf(stats.CensoredData.right_censored(durations, ~events))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # undefined where S = 0
        ci = res.sf.confidence_interval(CI_LEVEL, method="log-log")
    t = res.sf.quantiles
    s = res.sf.probabilities
    lo = np.nan_to_num(ci.low.probabilities, nan=0.0)
    hi = np.where(np.isnan(ci.high.probabilities), s, ci.high.probabilities)
    curve = pd.DataFrame({"t": np.r_[0.0, t], "s": np.r_[1.0, s], "lo": np.r_[1.0, lo],
                          "hi": np.r_[1.0, hi]})
    if t[0] == 0:  # an event at epoch 0: no separate starting point
        curve = curve.iloc[1:].reset_index(drop=True)
    return KM(n=len(durations), events=int(events.sum()), budget=budget,
              median=_crossing(t, s), median_lo=_crossing(t, lo), median_hi=_crossing(t, hi),
              p_budget=1.0 - float(res.sf.evaluate(budget)), curve=curve)


def _crossing(t: np.ndarray, s: np.ndarray) -> float:
    """First time at which a survival curve is at or below 1/2 (inf if never)."""
    below = np.flatnonzero(s <= 0.5)
    return float(t[below[0]]) if len(below) else math.inf


def km_table(df: pd.DataFrame, by: Sequence[str], value: str = "observed") -> pd.DataFrame:
    """One KM summary row per group of `by` (df must have `event` and `value` columns)."""
    rows = []
    for key, g in df.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        km = kaplan_meier(g[value], g["event"], budget=_budget(g, value))
        rows.append({**dict(zip(by, key, strict=True)), "n": km.n, "memorized": km.events,
                     "median": km.median, "median_lo": km.median_lo,
                     "median_hi": km.median_hi, "p_budget": km.p_budget, "budget": km.budget})
    return pd.DataFrame(rows)


def km_curves(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Tidy KM curves (t, s, lo, hi and the `by` columns) of each group."""
    parts = []
    for key, g in df.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        c = kaplan_meier(g["observed"], g["event"]).curve
        for col, v in zip(by, key, strict=True):
            c[col] = v
        parts.append(c)
    return pd.concat(parts, ignore_index=True)


def _budget(g: pd.DataFrame, value: str) -> float:
    """The budget common to a group: the smallest max_epochs (in `value` units if scaled)."""
    if value == "observed":
        return float(g["max_epochs"].min())
    return float(g.loc[~g["event"], value].min()) if (~g["event"]).any() else float(g[value].max())


