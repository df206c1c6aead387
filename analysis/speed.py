"""Speed: the measured cost of a training step, and wall-clock time to memorize.

No extrapolation: the cost of one model-step at each width is read off the runs
themselves. The sweep trains each cell's seeds as populations (seqmem.train.split_group);
a population's compute is its slowest record's wall time, and it took the sum of its
runs' steps, so a population gives one measured cost per model-step (evaluation and the
contention of the sweep's two workers included). Per width, the median over the
populations of a table with one training setting (full-epoch BPTT on the same lengths)
is reported with its interquartile range; wall-clock time to memorize at a width is its
median steps times that cost. The pytest-benchmark table (results/steptime.csv) times
the bare step at 32 and 128 units on an idle core, for comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.load import GROUP_COLUMNS, outcomes, split_errors
from seqmem.train import split_group


def step_costs(table: pd.DataFrame) -> pd.DataFrame:
    """Per population: cell, units, model-steps, seconds, microseconds per model-step."""
    ok, _ = split_errors(table)
    runs = outcomes(ok).sort_values([*GROUP_COLUMNS, "seed"], kind="stable")
    steps = runs["steps"].to_numpy(dtype=float, na_value=0.0)
    wall = runs["wall_time_s"].to_numpy(dtype=float, na_value=np.nan)
    population = runs["population"].to_numpy(dtype=float, na_value=1.0)
    length = runs["length"].to_numpy()
    rows = []
    for key, idx in runs.groupby(GROUP_COLUMNS, sort=True, dropna=False).indices.items():
        for part in split_group(list(idx), int(population[idx].max())):
            total = float(steps[part].sum())
            if total > 0:
                seconds = float(np.nanmax(wall[part]))
                group = dict(zip(GROUP_COLUMNS, key, strict=True))
                rows.append(dict(cell=group["cell"], units=int(group["units"]), length=int(length[part[0]]),
                                 population=len(part), model_steps=total, seconds=seconds,
                                 us_per_step=seconds * 1e6 / total))
    return pd.DataFrame(rows)


def cost_by_units(table: pd.DataFrame) -> pd.DataFrame:
    """Per width: median and quartiles of the measured microseconds per model-step."""
    c = step_costs(table)
    q = c.groupby("units")["us_per_step"].quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = ["q25", "median", "q75"]
    return q.reset_index().assign(populations=c.groupby("units").size().to_numpy())


def time_to_memorize(best: pd.DataFrame, cost: pd.DataFrame) -> pd.DataFrame:
    """Per (loss, units) at its best lr with a median within the budget: the median steps,
    the measured cost of a step and their product in seconds (wall-clock time to memorize
    per model). best: widthlr's; cost: cost_by_units'."""
    us = dict(zip(cost["units"], cost["median"], strict=True))
    b = best[pd.notna(best["median_steps"]) & np.isfinite(best["median_steps"].astype(float))]
    b = b[["loss", "units", "lr", "median_steps"]].reset_index(drop=True)
    b["us_per_step"] = b["units"].map(us)
    return b.assign(seconds=b["median_steps"] * b["us_per_step"] * 1e-6)


def benchmark_cost(steptime: pd.DataFrame) -> pd.Series:
    """The step benchmark's fastest population (numba) LSTM step at full-epoch BPTT per
    width (µs per model-step, indexed by H): the idle-core figure beside the sweep's."""
    st = steptime[(steptime["impl"] == "population") & (steptime["bptt"] == "epoch")
                  & (steptime["cell"] == "lstm")]
    return st.groupby("H")["per_model_step_us"].min()


def fastest_torch(steps: pd.DataFrame) -> pd.DataFrame:
    """Per (bptt, H) of the step benchmark (results/steptime.csv): the torch kernel's row at
    its fastest population size P."""
    t = steps[steps["impl"] == "population_torch"]
    if t.empty:
        return t
    return t.loc[t.groupby(["bptt", "H"], sort=True)["per_model_step_us"].idxmin()]
