"""The law against sequences it never saw (the held-out spec).

Per held-out cell (one sequence at one width, lr and loss, its seeds): the measured
Kaplan-Meier median of steps-to-memorize and memorized share within the budget, beside
the law's median and P(memorized within the budget). Reported:

* the median prediction factor, exp |ln predicted - ln measured|, over the cells whose
  measured median is within the budget (its median and 90th percentile), and how many
  cells the law puts on the wrong side of the budget;
* the Brier score of P(memorized within the budget) over runs, against the no-skill
  forecast that says the memorized share of the fitting data for every run;
* calibration: runs binned by predicted probability, observed share per bin.

Targets (issue 12): a median factor of at most MEDIAN_FACTOR_TARGET, and a Brier score
at most BRIER_TARGET_SHARE of the no-skill one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.law import AFTFit
from analysis.load import outcomes, split_errors
from analysis.survival import kaplan_meier

MEDIAN_FACTOR_TARGET = 1.3
BRIER_TARGET_SHARE = 0.5
CALIBRATION_BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
CELL = ["sequence", "units", "lr", "loss", "max_epochs"]


@dataclass
class Validation:
    cells: pd.DataFrame
    runs: int
    sequences: int
    overlap: int  # held-out sequences that the fitting data also holds (should be 0)
    median_factor: float  # median over cells with a finite measured median
    factor_p90: float
    cells_compared: int
    wrong_side: int  # cells whose measured and predicted medians fall on opposite sides of the budget
    brier: float
    brier_no_skill: float
    base_rate: float
    calibration: pd.DataFrame

    @property
    def meets_median_target(self) -> bool:
        return self.median_factor <= MEDIAN_FACTOR_TARGET

    @property
    def meets_brier_target(self) -> bool:
        return self.brier <= BRIER_TARGET_SHARE * self.brier_no_skill


def validate(fit: AFTFit, heldout: pd.DataFrame, fitted: pd.DataFrame) -> Validation:
    """`fit` (a law on steps) against the held-out table; `fitted`: the law's own rows."""
    ok, _ = split_errors(heldout)
    runs = outcomes(ok)
    runs = runs.assign(p=fit.prob_within(runs, runs["budget_in_steps"].to_numpy()))
    rows = []
    for key, g in runs.groupby(CELL, sort=True):
        km = kaplan_meier(g["observed_steps"], g["event"], float(g["budget_in_steps"].min()))
        pred = float(fit.median(g.iloc[:1])[0])
        rows.append(dict(zip(CELL, key, strict=True), depth=int(g["context_depth"].iloc[0]),
                         length=int(g["length"].iloc[0]), runs=km.n, memorized=km.events,
                         share=km.events / km.n, p_pred=float(g["p"].mean()),
                         median=km.median, median_pred=pred, budget=km.budget))
    cells = pd.DataFrame(rows)
    finite = cells[np.isfinite(cells["median"])]
    factors = np.exp(np.abs(np.log(finite["median_pred"] / finite["median"])))
    wrong = int(((~np.isfinite(cells["median"])) & (cells["median_pred"] <= cells["budget"])).sum()
                + ((np.isfinite(cells["median"])) & (cells["median_pred"] > cells["budget"])).sum())
    y = runs["event"].to_numpy(dtype=float)
    base = float(fitted["event"].mean())
    cal = []
    edges = np.array(CALIBRATION_BINS)
    bins = np.clip(np.digitize(runs["p"], edges[1:-1]), 0, len(edges) - 2)
    for b in range(len(edges) - 1):
        m = bins == b
        if m.any():
            k, n = float(y[m].sum()), int(m.sum())
            lo, hi = _wilson(k, n)
            cal.append(dict(lo_edge=edges[b], hi_edge=edges[b + 1], runs=n,
                            predicted=float(runs["p"][m].mean()), observed=k / n, obs_lo=lo,
                            obs_hi=hi))
    return Validation(
        cells=cells, runs=len(runs), sequences=int(runs["sequence"].nunique()),
        overlap=len(set(runs["sequence"]) & set(fitted["sequence"])),
        median_factor=float(np.median(factors)) if len(factors) else math.nan,
        factor_p90=float(np.quantile(factors, 0.9)) if len(factors) else math.nan,
        cells_compared=len(finite), wrong_side=wrong,
        brier=float(np.mean((runs["p"].to_numpy() - y) ** 2)),
        brier_no_skill=float(np.mean((base - y) ** 2)), base_rate=base,
        calibration=pd.DataFrame(cal))


def _wilson(k: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half
