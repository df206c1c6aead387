"""The law against sequences it never saw (the held-out spec).

Per held-out cell (one sequence at one width, lr and loss, its seeds): the measured
Kaplan-Meier median of steps-to-memorize and memorized share within the budget, beside
the law's median and P(memorized within the budget). Reported:

* the median prediction factor, exp |ln predicted - ln measured|, over the cells whose
  measured median is within the budget (its median and 90th percentile), and how many
  cells the law puts on the wrong side of the budget;
* the Brier score of P(memorized within the budget) over runs, against the no-skill
  forecast that says the memorized share of the fitting data for every run, and against
  a baseline that knows the design (`design_baseline`: the fitting runs' share at the
  test run's loss, inside the test set's lr and width ranges, within its budget);
* calibration: runs binned by predicted probability, observed share per bin.

Targets (issue 12): a median factor of at most MEDIAN_FACTOR_TARGET, and a Brier score
at most BRIER_TARGET_SHARE of the no-skill one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from analysis.cure import CureFit
from analysis.law import AFTFit
from analysis.load import outcomes, split_errors
from analysis.predict import predict
from analysis.skill import FORECASTS, Skill, design_forecast, skill
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
    calibration_by_loss: pd.DataFrame  # the same per loss (column loss)
    brier_floor: float  # a forecast that knew each cell's share (unbiased per cell)
    brier_design: float  # the baseline that knows the design (design_baseline)
    by_setting: pd.DataFrame  # per loss, units and lr: the law's bias and its P against the share
    by_loss: pd.DataFrame  # per loss: cells compared, median factor, Brier, no-skill Brier
    skill: Skill | None = None  # against the design and the law without difficulty terms
    refused: pd.DataFrame | None = None  # cells analysis.predict refused (outside its design)

    @property
    def meets_median_target(self) -> bool:
        return self.median_factor <= MEDIAN_FACTOR_TARGET

    @property
    def brier_vs_design(self) -> float:
        """The law's Brier score as a share of the design baseline's."""
        return self.brier / self.brier_design if self.brier_design > 0 else math.nan

    @property
    def meets_brier_target(self) -> bool:
        return self.brier <= BRIER_TARGET_SHARE * self.brier_no_skill


def validate(fit: AFTFit, heldout: pd.DataFrame, fitted: pd.DataFrame,
             rivals: Rivals | None = None) -> Validation:
    """`fit` (a law on steps) against the held-out table; `fitted`: the law's own rows;
    `rivals`: the law without its difficulty terms and the cure model, scored beside it."""
    ok, _ = split_errors(heldout)
    runs = outcomes(ok)
    runs = runs.assign(p=fit.prob_within(runs, runs["budget_in_steps"].to_numpy()))
    median = pd.Series(fit.median(runs), index=runs.index)  # equal within a cell
    rows = []
    for key, g in runs.groupby(CELL, sort=True):
        km = kaplan_meier(g["observed_steps"], g["event"], float(g["budget_in_steps"].min()))
        rows.append(_cell_row(key, g, km, float(median[g.index[0]])))
    cells = pd.DataFrame(rows)
    out = _score(runs, cells, fitted)
    if rivals is not None:
        out.skill = _skill(rivals.forecast(runs, 1), cells, fitted, "observed_steps")
    return out


def _option(value: Any) -> Any:
    """A stored option as RunConfig takes it (the CSV's NaN for an unset one: None)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


@dataclass
class Rivals:
    """The forecasts scored beside the law: without its difficulty terms, and with a cure
    fraction under the notebook's loss."""

    no_difficulty: AFTFit
    cure: CureFit | None  # None: no cure model (the law across length has none); NaN scores

    def forecast(self, runs: pd.DataFrame, per: float | np.ndarray) -> pd.DataFrame:
        """runs with p_<rival> within each run's budget and median_<rival> in steps / per
        (1: steps; the length: epochs)."""
        budget = runs["budget_in_steps"].to_numpy()
        none = np.full(len(runs), np.nan)
        return runs.assign(
            p_no_difficulty=self.no_difficulty.prob_within(runs, budget),
            median_no_difficulty=self.no_difficulty.median(runs) / per,
            p_cure=none if self.cure is None else self.cure.prob_within(runs, budget),
            median_cure=none if self.cure is None else self.cure.median(runs) / per)


def _skill(runs: pd.DataFrame, cells: pd.DataFrame, fitted: pd.DataFrame, unit: str) -> Skill:
    """The three forecasts side by side (analysis.skill); runs carry the law's p and the
    law without difficulty terms' p and median, cells the law's median_pred."""
    runs = runs.join(design_forecast(runs, fitted, unit)).rename(columns={"p": "p_law"})
    per_cell = runs.groupby(CELL, sort=True)[[f"median_{f}" for f in FORECASTS
                                              if f != "law"]].first()
    cells = cells.join(per_cell, on=CELL).rename(columns={"median_pred": "median_law"})
    return skill(runs, cells)


def check_predict(doc: dict[str, Any], table: pd.DataFrame, fitted: pd.DataFrame,
                  rivals: Rivals | None = None) -> Validation:
    """The saved law through `analysis.predict`, cell by cell, against the measured epochs
    of `table`: medians and budgets in epochs, P(memorized within the run's max_epochs)."""
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    rows, p, refused = [], pd.Series(np.nan, index=runs.index), []
    options = [k for k in doc["training"] if k != "loss"]  # the loss is passed as itself
    for key, g in runs.groupby(CELL, sort=True):
        first = g.iloc[0]
        try:
            r = predict(first["sequence"], int(first["units"]), lr=float(first["lr"]),
                        loss=first["loss"], budget=int(first["max_epochs"]), fit=doc,
                        alphabet=first["alphabet"], **{k: _option(first[k]) for k in options})
        except ValueError as e:  # outside the law's design: predict refuses, as it must
            refused.append(dict(zip(CELL, key, strict=True), runs=len(g), reason=str(e)))
            runs = runs.drop(g.index)
            continue
        p[g.index] = r["p_within_budget"]
        km = kaplan_meier(g["observed"], g["event"], float(g["max_epochs"].min()))
        rows.append(_cell_row(key, g.assign(p=r["p_within_budget"]), km, r["median_epochs"])
                    | dict(extrapolated=r["extrapolated"]))
    cells = pd.DataFrame(rows)
    runs = runs.assign(p=p.loc[runs.index])
    out = _score(runs, cells, fitted)
    out.refused = pd.DataFrame(refused, columns=[*CELL, "runs", "reason"])
    if rivals is not None:
        out.skill = _skill(rivals.forecast(runs, runs["length"].to_numpy()), cells, fitted,
                           "observed")
    return out


def _cell_row(key: tuple, g: pd.DataFrame, km: Any, median_pred: float) -> dict[str, Any]:
    return dict(zip(CELL, key, strict=True), depth=int(g["context_depth"].iloc[0]),
                length=int(g["length"].iloc[0]), runs=km.n, memorized=km.events,
                share=km.events / km.n, p_pred=float(g["p"].mean()), median=km.median,
                median_pred=median_pred, budget=km.budget)


def _score(runs: pd.DataFrame, cells: pd.DataFrame, fitted: pd.DataFrame) -> Validation:
    """Runs with the law's P(memorized within the budget) in `p`; cells with measured and
    predicted medians on one scale (steps or epochs) and their budgets on it."""
    finite = cells[np.isfinite(cells["median"])]
    factors = np.exp(np.abs(np.log(finite["median_pred"] / finite["median"])))
    wrong = int(((~np.isfinite(cells["median"])) & (cells["median_pred"] <= cells["budget"])).sum()
                + ((np.isfinite(cells["median"])) & (cells["median_pred"] > cells["budget"])).sum())
    y = runs["event"].to_numpy(dtype=float)
    base = float(fitted["event"].mean())
    runs = runs.assign(p_design=design_baseline(runs, fitted))
    return Validation(
        cells=cells, runs=len(runs), sequences=int(runs["sequence"].nunique()),
        overlap=len(set(runs["sequence"]) & set(fitted["sequence"])),
        median_factor=float(np.median(factors)) if len(factors) else math.nan,
        factor_p90=float(np.quantile(factors, 0.9)) if len(factors) else math.nan,
        cells_compared=len(finite), wrong_side=wrong,
        brier=float(np.mean((runs["p"].to_numpy() - y) ** 2)),
        brier_no_skill=float(np.mean((base - y) ** 2)), base_rate=base,
        calibration=calibration(runs),
        calibration_by_loss=pd.concat([calibration(g).assign(loss=loss)
                                       for loss, g in runs.groupby("loss", sort=True)],
                                      ignore_index=True),
        brier_floor=_brier_floor(cells),
        brier_design=float(np.mean((runs["p_design"].to_numpy() - y) ** 2)),
        by_setting=_by_setting(cells), by_loss=_by_loss(cells, runs, base))


def design_baseline(runs: pd.DataFrame, fitted: pd.DataFrame) -> np.ndarray:
    """A forecast that knows the design and nothing of the sequence (issue 18): for each test
    run, the share of the fitting runs at its loss, with an lr and a width inside the test
    set's ranges of lr and width (known before the test), that memorized within the run's
    budget in epochs. No difficulty metric enters it."""
    lr_lo, lr_hi = runs["lr"].min(), runs["lr"].max()
    u_lo, u_hi = runs["units"].min(), runs["units"].max()
    fit = fitted.assign(t=np.where(fitted["event"], fitted["observed"], np.inf))
    inside = fit[fit["lr"].between(lr_lo, lr_hi) & fit["units"].between(u_lo, u_hi)]
    out = np.full(len(runs), np.nan)
    for i, (loss, budget) in enumerate(zip(runs["loss"], runs["max_epochs"], strict=True)):
        same = inside[inside["loss"] == loss]
        if same.empty:
            same = fit[fit["loss"] == loss]
        out[i] = float((same["t"] <= budget).mean())
    return out


def calibration(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs binned by the law's P (CALIBRATION_BINS): mean P, observed share, Wilson CI."""
    y = runs["event"].to_numpy(dtype=float)
    p = runs["p"].to_numpy(dtype=float)
    edges = np.array(CALIBRATION_BINS)
    bins = np.clip(np.digitize(p, edges[1:-1]), 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = bins == b
        if m.any():
            k, n = float(y[m].sum()), int(m.sum())
            lo, hi = wilson(k, n)
            rows.append(dict(lo_edge=edges[b], hi_edge=edges[b + 1], runs=n,
                             predicted=float(p[m].mean()), observed=k / n, obs_lo=lo,
                             obs_hi=hi))
    return pd.DataFrame(rows)


def _by_loss(cells: pd.DataFrame, runs: pd.DataFrame, base: float) -> pd.DataFrame:
    rows = []
    for loss, g in cells.groupby("loss", sort=True):
        f = g[np.isfinite(g["median"])]
        r = runs[runs["loss"] == loss]
        y = r["event"].to_numpy(dtype=float)
        rows.append(dict(loss=loss, cells=len(g), cells_compared=len(f),
                         median_factor=float(np.exp(np.median(np.abs(np.log(
                             f["median_pred"] / f["median"]))))) if len(f) else math.nan,
                         brier=float(np.mean((r["p"].to_numpy() - y) ** 2)),
                         brier_no_skill=float(np.mean((base - y) ** 2)),
                         brier_design=float(np.mean((r["p_design"].to_numpy() - y) ** 2)),
                         brier_floor=_brier_floor(g)))
    return pd.DataFrame(rows)


def _brier_floor(cells: pd.DataFrame) -> float:
    """The Brier score of a forecast that knew each cell's memorized share: its binomial
    variance share (1 - share), times n / (n - 1) so that it is not flattered in sample."""
    n = cells["runs"].to_numpy(dtype=float)
    var = cells["share"] * (1 - cells["share"]) * n / np.maximum(n - 1, 1)
    return float((var * n).sum() / n.sum())


def _by_setting(cells: pd.DataFrame) -> pd.DataFrame:
    """Where the misses are: per (loss, units, lr), the geometric mean of predicted over
    measured median (cells with a finite measured median) and the mean P against the share."""
    rows = []
    for (loss, units, lr), g in cells.groupby(["loss", "units", "lr"], sort=True):
        f = g[np.isfinite(g["median"])]
        ratio = np.log(f["median_pred"] / f["median"])
        rows.append(dict(loss=loss, units=int(units), lr=float(lr), cells=len(g),
                         cells_compared=len(f),
                         median_ratio=float(np.exp(ratio.mean())) if len(f) else math.nan,
                         p_pred=float((g["p_pred"] * g["runs"]).sum() / g["runs"].sum()),
                         share=float((g["share"] * g["runs"]).sum() / g["runs"].sum())))
    return pd.DataFrame(rows)


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score 95% interval of a share k/n (scipy's)."""
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)
