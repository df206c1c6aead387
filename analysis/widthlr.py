"""Width x learning rate: each width's outcome at its best learning rate.

At a fixed Adam lr a wider LSTM moves its function further per step, so an outcome at
one lr says how well that lr suits the width. Here every (units, loss) gets the lr of
the grid where the most runs memorize within the budget (ties: the lower Kaplan-Meier
median of steps), and the widths are compared there. The CIs resample the spec's
sequences (with all their runs): sequences, not seeds, are what a new user brings.
The best lr is chosen on the same runs it is reported on, which flatters every width
alike by at most the spread of the grid's neighbours (the table prints them all). A best
lr at the grid's top or bottom (`edge`) may lie beyond it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.exact import ALPHA, sign_flip_p
from analysis.load import outcomes, split_errors
from analysis.survival import kaplan_meier

N_BOOT = 1000
SEED = 0


def _cells(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (loss, units, lr): runs, memorized share, KM median steps with CI."""
    rows = []
    for (loss, units, lr), g in runs.groupby(["loss", "units", "lr"], sort=True):
        km = kaplan_meier(g["observed_steps"], g["event"], float(g["budget_in_steps"].min()))
        rule = g["lr_rule"].dropna()
        rows.append(dict(loss=loss, units=int(units), lr=float(lr), runs=km.n,
                         memorized=km.events, share=km.events / km.n, median_steps=km.median,
                         median_lo=km.median_lo, median_hi=km.median_hi,
                         rule=rule.iloc[0] if len(rule) else None))
    return pd.DataFrame(rows)


def step_verdict(difference: float, p_exact: float) -> str:
    """A change in share between two widths: "worse" or "better" where the exact sign-flip
    test over sequences rejects no change at ALPHA (with few sequences a percentile
    bootstrap is too narrow: its interval is not the evidence)."""
    if p_exact >= ALPHA:
        return ""
    return "worse" if difference < 0 else "better"


def _per_sequence_share(counts: pd.DataFrame, cell: tuple, seqs: list[str]) -> np.ndarray:
    c = counts.loc[cell].reindex(seqs).fillna(0).to_numpy()
    return c[:, 0] / np.maximum(c[:, 1], 1)


def _curves(runs: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier curve of steps to memorize at each (loss, units)'s best lr, held to the
    budget (its last point repeated there)."""
    parts = []
    for r in best.itertuples():
        g = runs[(runs["loss"] == r.loss) & (runs["units"] == r.units) & np.isclose(runs["lr"], r.lr)]
        c = kaplan_meier(g["observed_steps"], g["event"]).curve
        parts.append(pd.DataFrame({"loss": r.loss, "units": r.units, "lr": r.lr,
                                   "t": np.r_[c["t"].to_numpy(), g["budget_in_steps"].max()],
                                   "s": np.r_[c["s"].to_numpy(), c["s"].iloc[-1]]}))
    return pd.concat(parts, ignore_index=True)


def _summary(best: pd.DataFrame, steps: pd.DataFrame) -> dict:
    """Per loss over the widths at their best lr: the top share and the widths that reach
    it (peaks), the lowest share, the range of widths and of those whose best lr is the
    grid's edge, the widest width's share and its doubling step (or none)."""
    out = {}
    for loss, b in best.groupby("loss", sort=True):
        b = b.sort_values("units")
        top, widest = b["share"].max(), b.iloc[-1]
        edge = b.loc[b["edge"] != "", "units"]
        step = (steps[(steps["loss"] == loss) & (steps["wide"] == widest["units"])]
                if len(steps) else steps)
        out[loss] = dict(
            top=float(top), peaks=[int(u) for u in b.loc[b["share"] == top, "units"]],
            lowest=float(b["share"].min()), units=[int(b["units"].min()), int(b["units"].max())],
            edge_units=[int(edge.min()), int(edge.max())] if len(edge) else [],
            widest_units=int(widest["units"]), widest_share=float(widest["share"]),
            widest_step=step[["narrow", "wide", "difference", "lo", "hi", "p_exact"]].to_dict(
                "records")[:1]
            if len(step) else [])
    return out


def _best(cells: pd.DataFrame) -> pd.DataFrame:
    """The best grid lr of each (loss, units): most memorized, then the lowest median."""
    grid = cells[cells["rule"].isna()]
    order = grid.sort_values(["loss", "units", "share", "median_steps"],
                             ascending=[True, True, False, True])
    best = order.groupby(["loss", "units"], sort=True).head(1).reset_index(drop=True)
    # at the grid's lowest or highest lr the best may lie beyond it
    edge = np.where(np.isclose(best["lr"], grid["lr"].max()), "top",
                    np.where(np.isclose(best["lr"], grid["lr"].min()), "bottom", ""))
    return best.assign(edge=edge)


@dataclass
class WidthLR:
    cells: pd.DataFrame  # every (loss, units, lr), grid and rule
    best: pd.DataFrame  # each (loss, units) at its best grid lr, with sequence-level CIs
    steps: pd.DataFrame  # adjacent widths at their best lr: difference in share, CI, verdict
    at_notebook_lr: pd.DataFrame  # each (loss, units) at lr 1e-3, for the collapse
    n_sequences: int
    curves: pd.DataFrame | None = None  # loss, units, lr, t, s: Kaplan-Meier at the best lr
    max_epochs: int | None = None  # the longest budget of the runs, in epochs
    by_loss: dict | None = None  # loss -> summary (see _summary)


def width_lr(table: pd.DataFrame, boot: int = N_BOOT, seed: int = SEED) -> WidthLR:
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    # A run of the muP slice that equals a grid point is stored once, as a grid run.
    cells = _cells(runs)
    best = _best(cells)
    seqs = sorted(runs["sequence"].unique())
    rng = np.random.default_rng(seed)
    # Per (loss, units, lr, sequence): memorized and runs, to resample sequences fast.
    counts = runs.groupby(["loss", "units", "lr", "sequence"])["event"].agg(["sum", "count"])
    draws = rng.integers(0, len(seqs), size=(boot, len(seqs)))
    share_draws = {}
    for r in best.itertuples():
        c = counts.loc[(r.loss, r.units, r.lr)].reindex(seqs).fillna(0).to_numpy()
        mem, n = c[:, 0][draws].sum(axis=1), c[:, 1][draws].sum(axis=1)
        share_draws[(r.loss, r.units)] = mem / np.maximum(n, 1)
    best = best.assign(
        share_lo=[np.quantile(share_draws[(r.loss, r.units)], 0.025) for r in best.itertuples()],
        share_hi=[np.quantile(share_draws[(r.loss, r.units)], 0.975) for r in best.itertuples()])
    steps = []
    for loss, g in best.groupby("loss"):
        g = g.sort_values("units")
        for a, b in zip(g.itertuples(), list(g.itertuples())[1:], strict=False):
            d = share_draws[(loss, b.units)] - share_draws[(loss, a.units)]
            lo, hi = float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))
            per_seq = (_per_sequence_share(counts, (loss, b.units, b.lr), seqs)
                       - _per_sequence_share(counts, (loss, a.units, a.lr), seqs))
            p = sign_flip_p(per_seq)
            steps.append(dict(loss=loss, narrow=a.units, wide=b.units,
                              difference=b.share - a.share, lo=lo, hi=hi, p_exact=p,
                              sequences_lower=int((per_seq < 0).sum()),
                              sequences_higher=int((per_seq > 0).sum()),
                              median_ratio=b.median_steps / a.median_steps
                              if math.isfinite(a.median_steps) else math.nan,
                              verdict=step_verdict(b.share - a.share, p)))
    nb = cells[np.isclose(cells["lr"], 1e-3) & cells["rule"].isna()].reset_index(drop=True)
    steps = pd.DataFrame(steps)
    return WidthLR(cells=cells, best=best, steps=steps, at_notebook_lr=nb,
                   n_sequences=len(seqs), curves=_curves(runs, best),
                   max_epochs=int(runs["max_epochs"].max()), by_loss=_summary(best, steps))
