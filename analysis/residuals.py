"""The law on its own fitting cells: each cell's measured Kaplan-Meier median and share
beside what the law says of it, and their residuals (the figure `residuals.png`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.lawfit import LawFit
from analysis.survival import kaplan_meier

CELL = ["sequence", "units", "lr", "loss", "max_epochs"]  # the runs of one cell differ by seed


def law_cells(data: pd.DataFrame, law: LawFit) -> pd.DataFrame:
    """One row per fitted cell: units, depth, the measured median steps and memorized share,
    the law's median (median_pred) and mean P(memorized within the budget) (p_pred);
    log2_ratio = log2(measured / law's median) and share_residual = share - p_pred."""
    d = data.assign(p=law.fit.prob_within(data, data["budget_in_steps"].to_numpy()))
    rows, firsts = [], []
    for _, g in d.groupby(CELL, sort=True):
        km = kaplan_meier(g["observed_steps"], g["event"], float(g["budget_in_steps"].min()))
        firsts.append(g.index[0])
        rows.append(dict(units=int(g["units"].iloc[0]), depth=int(g["context_depth"].iloc[0]),
                         median=km.median, share=km.events / km.n, p_pred=float(g["p"].mean())))
    # a cell's runs share its covariates: the law's median of its first run is the cell's
    cells = pd.DataFrame(rows).assign(median_pred=law.fit.median(d.loc[firsts]))
    return cells.assign(log2_ratio=np.log2(cells["median"] / cells["median_pred"]),
                        share_residual=cells["share"] - cells["p_pred"])
