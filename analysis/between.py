"""Width x lr between the grid points: is the width_lr result the runs' or the grid's?

`width_lr_between` trains widths and learning rates that lie between width_lr's grid
points, on the same sequences with fresh seeds. Each of its cells is set beside the four
grid cells around it (the widths and the lrs on either side): if the grid's result
holds between its points, the cell's share lies within the range its neighbours span,
up to its sampling error (Wilson 95% CI). The law's prediction for the same cells is
scored by `analysis.validate.check_predict`, elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.load import outcomes, split_errors
from analysis.validate import wilson


@dataclass
class Between:
    cells: pd.DataFrame  # loss, units, lr: share [Wilson CI] and the neighbours' range
    best: pd.DataFrame  # loss, units: the better of the cell's lrs, for the width trend

    @property
    def inside(self) -> int:
        return int(self.cells["inside"].sum())


def _neighbours(values: np.ndarray, x: float) -> tuple[float, float] | None:
    lower, upper = values[values < x], values[values > x]
    if len(lower) == 0 or len(upper) == 0:
        return None
    return float(lower.max()), float(upper.min())


def between(table: pd.DataFrame, grid_cells: pd.DataFrame) -> Between:
    """`table`: width_lr_between; `grid_cells`: `WidthLR.cells` of width_lr."""
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    grid = grid_cells[grid_cells["rule"].isna()]
    rows = []
    for (loss, units, lr), g in runs.groupby(["loss", "units", "lr"], sort=True):
        k, n = int(g["event"].sum()), len(g)
        lo, hi = wilson(k, n)
        at = grid[grid["loss"] == loss]
        w = _neighbours(np.sort(at["units"].unique()), units)
        r = _neighbours(np.sort(at["lr"].unique()), lr)
        row = dict(loss=loss, units=int(units), lr=float(lr), runs=n, memorized=k,
                   share=k / n, share_lo=lo, share_hi=hi, seeds=int(g["seed"].nunique()),
                   sequences=int(g["sequence"].nunique()))
        if w is not None and r is not None:
            corners = at[at["units"].isin(w) & np.isclose(at["lr"].to_numpy()[:, None],
                                                          np.array(r)).any(axis=1)]
            row.update(units_around=f"{int(w[0])}-{int(w[1])}", lr_around=f"{r[0]:g}-{r[1]:g}",
                       neighbours_min=float(corners["share"].min()),
                       neighbours_max=float(corners["share"].max()),
                       neighbours=len(corners))
            row["inside"] = bool(hi >= row["neighbours_min"] and lo <= row["neighbours_max"])
        else:
            row["inside"] = False
        rows.append(row)
    cells = pd.DataFrame(rows)
    best = (cells.sort_values(["loss", "units", "share"], ascending=[True, True, False])
            .groupby(["loss", "units"], sort=True).head(1).reset_index(drop=True))
    return Between(cells=cells, best=best)
