"""The law's skill against baselines that know the design (issue 18).

Three forecasts of every test run, each of a median time to memorize and of P(memorized
within the run's budget):

* design: what the design says before any sequence is drawn. The fitting runs at the
  test run's loss, with a width and an lr inside the test set's ranges (`design_rows`):
  their memorized share within the budget, and their Kaplan-Meier median.
* no difficulty: the law refitted without any difficulty term (`without_difficulty`):
  width, lr and loss only.
* law: the chosen law.
* cure: the law with a share that never memorizes under the notebook's loss
  (analysis.cure), scored beside it; the frozen rule (CURE_RULE) decides whether it
  replaces the law.

Each is scored per loss by its median factor (exp |ln predicted - ln measured| over the
cells whose measured median is within the budget) and its Brier score, with 95% CIs from
a bootstrap over sequence families: a sequence's seeds share it, and a generator seed drawn
at several lengths gives sequences that are prefixes of one another (analysis.load.
prefix_families), so the family is the unit. The
gain of the difficulty terms is paired: the same resampled sequences score both forecasts.

Targets per loss: a median factor of at most MEDIAN_FACTOR_TARGET, a Brier score at most
BRIER_TARGET_SHARE of the design baseline's, and a gain of the difficulty terms over the
law without them whose CI excludes zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.law import AFTFit
from analysis.lawfit import DIFFICULTY_TERMS, refit
from analysis.load import prefix_families
from analysis.survival import kaplan_meier

MEDIAN_FACTOR_TARGET = 1.3
BRIER_TARGET_SHARE = 0.5
FORECASTS = ("design", "no_difficulty", "law", "cure")
# (name, the forecast without it, the forecast with it): paired gains, per loss
GAINS = (("difficulty terms", "no_difficulty", "law"), ("cure fraction", "law", "cure"))
STALL_GAIN = ("softmax", "cure fraction")  # the loss and gain CURE_RULE reads
CURE_RULE = ("The cure model replaces the law in analysis.predict only if, on the rows made "
             "after the freeze and under the notebook's loss, its paired gain over the law "
             "excludes no gain in one score (median factor or Brier) and its CI in the other "
             "excludes a loss.")
BOOTSTRAP = 2000
BOOTSTRAP_SEED = 18


@dataclass
class Skill:
    scores: pd.DataFrame  # per loss and forecast: cells, runs, median factor, Brier, CIs
    gain: pd.DataFrame  # per loss and GAINS entry: the paired gain in Brier and factor, CIs
    verdicts: pd.DataFrame  # per loss: each target, met or not


def design_rows(runs: pd.DataFrame, fitted: pd.DataFrame) -> pd.DataFrame:
    """The fitting runs inside the test set's lr and width ranges (known before the test)."""
    inside = fitted["lr"].between(runs["lr"].min(), runs["lr"].max()) & \
        fitted["units"].between(runs["units"].min(), runs["units"].max())
    return fitted[inside]


def design_forecast(runs: pd.DataFrame, fitted: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Per test run, the design baseline's P(memorized within its budget) and median, in
    `unit` ("observed": epochs, or "observed_steps"): the fitting runs at its loss inside
    the test's ranges (all of that loss's runs if none is inside)."""
    pool = design_rows(runs, fitted)
    budget = runs["max_epochs"] if unit == "observed" else runs["budget_in_steps"]
    p, median = np.full(len(runs), np.nan), np.full(len(runs), np.nan)
    for loss, idx in runs.groupby("loss").indices.items():
        same = pool[pool["loss"] == loss]
        if same.empty:
            same = fitted[fitted["loss"] == loss]
        t = np.where(same["event"], same[unit], np.inf)
        p[idx] = [(t <= b).mean() for b in budget.to_numpy()[idx]]
        median[idx] = kaplan_meier(same[unit].to_numpy(), same["event"].to_numpy()).median
    return pd.DataFrame({"p_design": p, "median_design": median}, index=runs.index)


def without_difficulty(law: AFTFit, data: pd.DataFrame) -> AFTFit:
    """The law refitted on its own rows with every term that names a difficulty metric
    dropped, its spread terms kept: what width, lr and loss alone predict."""
    keep = [t for t in law.terms if not set(t.split(":")) & DIFFICULTY_TERMS]
    return refit(data, keep, list(law.scale_terms))


def skill(runs: pd.DataFrame, cells: pd.DataFrame) -> Skill:
    """`runs`: sequence, loss, event and p_<forecast>; `cells`: sequence, loss, the
    measured median and median_<forecast>, on one scale."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    every = pd.concat([runs["sequence"], cells["sequence"]]).drop_duplicates()
    family = dict(zip(every, prefix_families(every), strict=True))
    n_sequences = {loss: int(runs.loc[runs["loss"] == loss, "sequence"].nunique())
                   for loss in runs["loss"].unique()}
    runs = runs.assign(sequence=runs["sequence"].map(family))
    cells = cells.assign(sequence=cells["sequence"].map(family))
    scores, gains, verdicts = [], [], []
    for loss in sorted(runs["loss"].unique()):
        r, c = runs[runs["loss"] == loss], cells[cells["loss"] == loss]
        failures = not r["event"].all()  # with none, Brier only says how near to 1 p is
        parts = _Parts(r, c)
        n_seq = len(parts.sequences)
        point = parts.scores(np.ones(n_seq))
        draws = np.array([parts.scores(np.bincount(rng.integers(0, n_seq, n_seq),
                                                   minlength=n_seq))
                          for _ in range(BOOTSTRAP)])  # (draw, forecast, factor/brier)
        lo, hi = np.nanpercentile(draws, [2.5, 97.5], axis=0)
        for i, name in enumerate(FORECASTS):
            scores.append(dict(loss=loss, forecast=name, sequences=n_sequences[loss],
                               families=n_seq, runs=len(r),
                               cells=int(np.isfinite(c["median"]).sum()),
                               median_factor=point[i, 0], factor_lo=lo[i, 0],
                               factor_hi=hi[i, 0], brier=point[i, 1], brier_lo=lo[i, 1],
                               brier_hi=hi[i, 1]))
        for gain_name, without, with_ in GAINS:
            i, j = FORECASTS.index(without), FORECASTS.index(with_)
            d_brier = draws[:, i, 1] - draws[:, j, 1]
            d_factor = np.log(draws[:, i, 0]) - np.log(draws[:, j, 0])
            lo_b, hi_b = np.nanpercentile(d_brier, [2.5, 97.5])
            lo_f, hi_f = np.exp(np.nanpercentile(d_factor, [2.5, 97.5]))
            gains.append(dict(loss=loss, gain=gain_name, brier_gain=point[i, 1] - point[j, 1],
                              brier_gain_lo=float(lo_b), brier_gain_hi=float(hi_b),
                              factor_gain=float(point[i, 0] / point[j, 0]),
                              factor_gain_lo=float(lo_f), factor_gain_hi=float(hi_f),
                              factor_met=bool(lo_f > 1),
                              brier_met=bool(lo_b > 0) if failures else None))
        i_law, design_brier = FORECASTS.index("law"), point[FORECASTS.index("design"), 1]
        verdicts.append(dict(
            loss=loss, median_factor=(bool(point[i_law, 0] <= MEDIAN_FACTOR_TARGET)
                                      if np.isfinite(point[i_law, 0]) else None),
            brier=(bool(point[i_law, 1] <= BRIER_TARGET_SHARE * design_brier)
                   if failures and design_brier > 0 else None),
            brier_share_of_design=(point[i_law, 1] / design_brier
                                   if failures and design_brier > 0 else math.nan)))
    return Skill(scores=pd.DataFrame(scores), gain=pd.DataFrame(gains),
                 verdicts=pd.DataFrame(verdicts))


class _Parts:
    """Per-family sums (`sequence` holds the family), so that a bootstrap draw (a count per
    family) scores fast."""

    def __init__(self, runs: pd.DataFrame, cells: pd.DataFrame):
        self.sequences = np.array(sorted(runs["sequence"].unique()))
        index = {s: i for i, s in enumerate(self.sequences)}
        k = len(self.sequences)
        seq = runs["sequence"].map(index).to_numpy()
        y = runs["event"].to_numpy(dtype=float)
        self.n = np.bincount(seq, minlength=k).astype(float)
        self.sse = np.array([np.bincount(seq, (runs[f"p_{f}"].to_numpy(dtype=float) - y) ** 2,
                                         minlength=k) for f in FORECASTS])  # (forecast, seq)
        finite = cells[np.isfinite(cells["median"])]
        self.cell_seq = finite["sequence"].map(index).to_numpy()
        self.log_factor = np.array([np.abs(np.log(finite[f"median_{f}"].to_numpy(dtype=float)
                                                  / finite["median"].to_numpy(dtype=float)))
                                    for f in FORECASTS])  # (forecast, cell)

    def scores(self, counts: np.ndarray) -> np.ndarray:
        """(forecast, [median factor, Brier]) with sequence i counted counts[i] times."""
        out = np.full((len(FORECASTS), 2), math.nan)
        out[:, 1] = self.sse @ counts / (self.n @ counts)
        reps = counts[self.cell_seq].astype(int)
        if reps.sum():
            out[:, 0] = np.exp(np.median(np.repeat(self.log_factor, reps, axis=1), axis=1))
        return out
