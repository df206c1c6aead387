"""The GRU and the tanh RNN beside the LSTM, at matched parameter counts (issue 13).

Each GRU or RNN width of the `cells` spec is paired with the LSTM width whose parameter
count it matches (seqmem.model.parameter_count, within MATCH_TOLERANCE), and the LSTM's
runs are taken from the tables that hold them on the same sequences, learning rates and
seeds: `width_lr` for the lr scan, `depth_ambiguity` for the difficulty slice. So every
comparison is paired: same sequences, same seeds, same budget; only the cell differs.

* lr scan: per (cell, parameters, loss, lr) the memorized share and the Kaplan-Meier
  median epochs, and each one's best lr (most memorized, then the lowest median);
* difficulty: the memorized share by depth and by ambiguity (`design.margins`) and the
  time ratios of doubling each at a fixed value of the other (`design.effects`), per
  cell: does the cell change which property makes a sequence hard?
* speed: the measured cost of a model-step per cell and width, from the sweep's own
  populations (`speed.step_costs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.design import effects, margins
from analysis.load import outcomes, split_errors
from analysis.speed import step_costs
from analysis.survival import kaplan_meier
from seqmem.model import parameter_count

MATCH_TOLERANCE = 0.1  # relative difference in parameters that still counts as matched


@dataclass
class Cells:
    lr_scan: pd.DataFrame  # cell, units, parameters, lstm_units, loss, lr: share, median
    best: pd.DataFrame  # each (cell, lstm_units, loss) at its best lr: median steps, seconds
    margins: pd.DataFrame  # cell, lstm_units, loss, factor, level: share with CI
    effects: pd.DataFrame  # cell, loss, metric: time ratio per doubling with CI
    speed: pd.DataFrame  # cell, units, parameters: median us per model-step (sweep populations)
    n_sequences_scan: int
    n_sequences_difficulty: int
    difficulty_lrs: list[float]  # the learning rates of the difficulty slice


def matched_lstm(cell: str, units: int, alphabet: int, widths: list[int]) -> int | None:
    """The LSTM width among `widths` whose parameter count is nearest, if within tolerance."""
    p = parameter_count(cell, units, alphabet)
    best = min(widths, key=lambda h: abs(parameter_count("lstm", h, alphabet) - p))
    q = parameter_count("lstm", best, alphabet)
    return best if abs(q - p) <= MATCH_TOLERANCE * q else None


def _with_lstm(runs: pd.DataFrame, lstm: pd.DataFrame) -> pd.DataFrame:
    """`runs` (GRU and RNN) with each row's matched LSTM width, plus the LSTM's own runs on
    the same sequences, lrs, losses and seeds at those widths."""
    a = int(runs["alphabet"].str.len().iloc[0])
    widths = sorted(lstm["units"].unique())
    match = {(c, u): matched_lstm(c, u, a, widths)
             for c, u in runs[["cell", "units"]].drop_duplicates().itertuples(index=False)}
    runs = runs.assign(lstm_units=[match[(c, u)] for c, u in zip(runs["cell"], runs["units"],
                                                                 strict=True)])
    runs = runs[runs["lstm_units"].notna()]
    keep = (lstm["units"].isin(runs["lstm_units"].unique())
            & lstm["sequence"].isin(runs["sequence"].unique())
            & lstm["lr"].isin(runs["lr"].unique()) & lstm["loss"].isin(runs["loss"].unique())
            & lstm["seed"].isin(runs["seed"].unique()))
    both = pd.concat([runs, lstm[keep].assign(lstm_units=lstm.loc[keep, "units"])],
                     ignore_index=True)
    both["lstm_units"] = both["lstm_units"].astype(int)
    both["parameters"] = [parameter_count(c, int(u), a)
                          for c, u in zip(both["cell"], both["units"], strict=True)]
    return both


def _scan_cells(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    keys = ["cell", "units", "parameters", "lstm_units", "loss", "lr"]
    for key, g in runs.groupby(keys, sort=True):
        km = kaplan_meier(g["observed"], g["event"], float(g["max_epochs"].min()))
        rows.append(dict(zip(keys, key, strict=True), runs=km.n, memorized=km.events,
                         share=km.events / km.n, median_epochs=km.median,
                         median_lo=km.median_lo, median_hi=km.median_hi))
    return pd.DataFrame(rows)


def cells(table: pd.DataFrame, width_lr: pd.DataFrame | None,
          depth: pd.DataFrame | None) -> Cells:
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    scan = runs[runs["slice"].str.startswith("lr_scan")]
    diff = runs[runs["slice"].str.startswith("difficulty")]
    lstm_scan = outcomes(split_errors(width_lr)[0]) if width_lr is not None else scan.iloc[:0]
    lstm_diff = outcomes(split_errors(depth)[0]) if depth is not None else diff.iloc[:0]
    scan = _with_lstm(scan, lstm_scan)
    diff = _with_lstm(diff, lstm_diff)
    scan_cells = _scan_cells(scan)
    best = (scan_cells.sort_values(["cell", "lstm_units", "loss", "share", "median_epochs"],
                                   ascending=[True, True, True, False, True])
            .groupby(["cell", "lstm_units", "loss"], sort=True).head(1).reset_index(drop=True))
    marg, eff = [], []
    for cell, g in diff.groupby("cell", sort=True):
        m = margins(g.assign(units=g["lstm_units"]))
        marg.append(m.rename(columns={"units": "lstm_units"}).assign(cell=cell))
        eff.append(effects(g).assign(cell=cell))
    costs = step_costs(table)
    if width_lr is not None:  # the LSTM's own step costs, from the runs it is compared on
        lstm_costs = step_costs(width_lr)
        costs = pd.concat([costs, lstm_costs[lstm_costs["units"].isin(best["lstm_units"])]],
                          ignore_index=True)
    a = int(runs["alphabet"].str.len().iloc[0])
    speed = (costs.groupby(["cell", "units"])["us_per_step"].median().rename("us_per_step")
             .reset_index())
    speed["parameters"] = [parameter_count(c, int(u), a)
                           for c, u in zip(speed["cell"], speed["units"], strict=True)]
    # per step and per second: the best lr's median steps, times the measured step cost
    length = scan.groupby("cell")["length"].first()
    best = best.merge(speed[["cell", "units", "us_per_step"]], on=["cell", "units"], how="left")
    best["median_steps"] = best["median_epochs"] * best["cell"].map(length)
    best["seconds"] = best["median_steps"] * best["us_per_step"] * 1e-6
    return Cells(lr_scan=scan_cells, best=best,
                 margins=pd.concat(marg, ignore_index=True) if marg else pd.DataFrame(),
                 effects=pd.concat(eff, ignore_index=True) if eff else pd.DataFrame(),
                 speed=speed, n_sequences_scan=int(scan["sequence"].nunique()),
                 n_sequences_difficulty=int(diff["sequence"].nunique()),
                 difficulty_lrs=sorted(float(x) for x in diff["lr"].unique()))


def lstm_share_gap(c: Cells) -> pd.DataFrame:
    """Per (cell, lstm_units, loss): the best-lr share and median against the LSTM's."""
    b = c.best.set_index(["lstm_units", "loss"])
    lstm = b[b["cell"] == "lstm"]
    rows = []
    for r in c.best[c.best["cell"] != "lstm"].itertuples():
        if (r.lstm_units, r.loss) in lstm.index:
            m = lstm.loc[(r.lstm_units, r.loss)]
            rows.append(dict(cell=r.cell, units=r.units, lstm_units=r.lstm_units, loss=r.loss,
                             share=r.share, lstm_share=float(m["share"]),
                             median_ratio=float(r.median_epochs / m["median_epochs"])
                             if np.isfinite(m["median_epochs"]) else np.nan))
    return pd.DataFrame(rows)
