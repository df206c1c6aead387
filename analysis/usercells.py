"""Users' own cells beside the built-in ones (issue 22): the example minGRU and minLSTM.

Tables: `usercells_lr` (each example cell's lr, chosen as capacity_lr chose the built-in
cells'), `usercells` (bits stored vs length, and the forks difficulty slice), and for the
built-in cells at matched parameters the committed `capacity` (LSTM 8, GRU 10, RNN 19
online, window 16), `depth_ambiguity` (LSTM 16) and `cells` (GRU 19, RNN 36).

- `capacity`: bits stored after the same exposures, per network and length, the mean over
  sequences of the seeds' mean with a t interval; the network's most (its capacity at that
  budget, a lower bound where the longest length holds the most) and bits per parameter;
- `forks`: per network, depth and forks, the share memorized within the user cells' budget
  (the built-in runs censored at the same epoch) and the Kaplan-Meier median epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.capacity import bits_at, choose_lr
from analysis.load import numbers, parameters, records
from analysis.survival import kaplan_meier
from seqmem.config import is_user_cell

EXPOSURES = 300
# The built-in networks the examples are matched to: (cell, units) -> the capacity study's
# slice (window 16, online) and the forks slice's tables.
CAPACITY_PEERS = {"lstm8_online": ("lstm", 8), "gru10_online": ("gru", 10),
                  "rnn19_online": ("rnn", 19)}
FORKS_PEERS = {("lstm", 16): "depth", ("gru", 19): "cells", ("rnn", 36): "cells"}


def network(cell: str, units: int) -> str:
    """'minGRU 17' for examples/mingru.py:MinGRU at 17 units, 'LSTM 8' for the built-ins."""
    if is_user_cell(cell):
        return f"{cell.rpartition(':')[2].replace('Min', 'min')} {units}"
    return f"{cell.upper()} {units}"


def _t(x: np.ndarray) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    m = float(np.mean(x)) if len(x) else math.nan
    if len(x) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


def capacity(user: pd.DataFrame, builtin: pd.DataFrame | None, exposures: int = EXPOSURES
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, capacities): bits stored after `exposures` per network and length, and per
    network the most over lengths with bits per parameter."""
    parts = [user[user["stop"] == "budget"]]
    if builtin is not None:
        parts.append(builtin[builtin["slice"].isin(CAPACITY_PEERS)])
    df = pd.concat(parts, ignore_index=True)
    df = df[df["status"] != "error"].copy()
    df["bits"] = bits_at(df, exposures)
    df["params"] = parameters(df)
    df["network"] = [network(c, int(u)) for c, u in zip(df["cell"], df["units"], strict=True)]
    lengths = set(user.loc[user["stop"] == "budget", "length"])
    df = df[df["length"].isin(lengths)]
    per_seq = (df.groupby(["network", "params", "lr", "length", "sequence"])["bits"].mean()
               .reset_index().dropna(subset=["bits"]))  # a budget shorter than `exposures`
    rows = []
    for (net, params, lr, length), g in per_seq.groupby(["network", "params", "lr", "length"]):
        m, lo, hi = _t(g["bits"].to_numpy())
        rows.append(dict(network=net, params=int(params), lr=float(lr), length=int(length),
                         sequences=len(g), bits=m, lo=lo, hi=hi,
                         of_sequence=m / (length * math.log2(26))))
    points = pd.DataFrame(rows)
    caps = []
    for (net, params, lr), g in points.groupby(["network", "params", "lr"]):
        best = g.loc[g["bits"].idxmax()]
        caps.append(dict(network=net, params=int(params), lr=float(lr),
                         capacity=float(best["bits"]), lo=float(best["lo"]),
                         hi=float(best["hi"]), at_length=int(best["length"]),
                         rising=bool(best["length"] == g["length"].max()),
                         bits_per_param=float(best["bits"]) / params,
                         exposures=exposures))
    return points, pd.DataFrame(caps).sort_values("bits_per_param", ascending=False,
                                                  ignore_index=True)


def forks(user: pd.DataFrame, depth: pd.DataFrame | None, cells: pd.DataFrame | None
          ) -> pd.DataFrame:
    """Per network, depth and forks: share memorized within the user cells' budget and the
    Kaplan-Meier median epochs, on the sequences the user cells trained (built-in runs of
    the same loss and lr, censored at the same epoch)."""
    mine = user[(user["stop"] == "memorized") & (user["status"] != "error")]
    if mine.empty:
        return pd.DataFrame()
    budget = int(mine["max_epochs"].max())
    keys = set(zip(mine["sequence"], mine["loss"], mine["lr"], strict=True))
    parts = [mine]
    for (cell, units), source in FORKS_PEERS.items():
        table = depth if source == "depth" else cells
        if table is None:
            continue
        peer = table[(table["cell"] == cell) & (table["units"] == units)]
        peer = peer[[k in keys for k in zip(peer["sequence"], peer["loss"], peer["lr"],
                                            strict=True)]]
        parts.append(peer[peer["status"] != "error"])
    df = pd.concat(parts, ignore_index=True)
    first = numbers(df["epochs_to_memorize"])
    df["event"] = df["memorized"].astype(bool).to_numpy() & (first <= budget)
    df["observed"] = np.where(df["event"], first,
                              np.minimum(numbers(df["epochs_trained"]), budget))
    df["params"] = parameters(df)
    rows = []
    for (cell, units, d, f), g in df.groupby(["cell", "units", "gen_depth", "gen_forks"]):
        km = kaplan_meier(g["observed"], g["event"], budget)
        rows.append(dict(network=network(cell, int(units)), params=int(g["params"].iloc[0]),
                         depth=int(d), forks=int(f), runs=len(g),
                         sequences=int(g["sequence"].nunique()), memorized=float(g["event"].mean()),
                         median_epochs=km.median, budget=budget))
    return pd.DataFrame(rows)


def step_costs(steptime: pd.DataFrame | None) -> pd.DataFrame:
    """A user's cell (the LSTM's and GRU's equations written out, tests/fixtures) through the
    user engine against the compiled kernel and the reference trainer on the same cell, per
    model and letter, from one benchmark run (a 16-step window, 256 letters)."""
    if steptime is None or "user" not in set(steptime["impl"]):
        return pd.DataFrame()
    d = steptime[steptime["bptt"].astype(str) == "16"]
    t = d.pivot_table(index=["cell", "H"], columns="impl", values="per_model_step_us",
                      aggfunc="min")
    t = t.dropna(subset=["user"]).reset_index()
    return t.assign(over_kernel=t["user"] / t["population"],
                    reference_over=t["reference"] / t["user"])


@dataclass
class UserCells:
    lr_choice: pd.DataFrame = field(default_factory=pd.DataFrame)
    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)
    forks: pd.DataFrame = field(default_factory=pd.DataFrame)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)


def analyse_usercells(selection: pd.DataFrame | None, table: pd.DataFrame | None,
                      capacity_table: pd.DataFrame | None = None,
                      depth: pd.DataFrame | None = None, cells: pd.DataFrame | None = None,
                      steptime: pd.DataFrame | None = None) -> UserCells | None:
    if selection is None and table is None:
        return None
    out = UserCells(costs=step_costs(steptime))
    if selection is not None:
        out.lr_choice = choose_lr(selection, on="clipped")  # it reports the clipped bits
    if table is not None:
        out.points, out.capacity = capacity(table, capacity_table)
        out.forks = forks(table, depth, cells)
    return out


def usercells_document(u: UserCells) -> dict:
    return dict(lr_choice=records(u.lr_choice, ["slice", "lr", "at_edge", "bits"]),
                capacity=records(u.capacity, ["network", "params", "lr", "capacity", "lo", "hi",
                                          "at_length", "rising", "bits_per_param",
                                          "exposures"]),
                forks=records(u.forks, ["network", "depth", "forks", "memorized",
                                    "median_epochs"]),
                costs=records(u.costs, ["cell", "H", "user", "population", "reference",
                                    "over_kernel", "reference_over"]))
