"""Is online memorization limited by the truncation of its gradient? (issue 20)

The `rtrl` sweep trains every sequence and seed three times, with the exact online gradient
(RTRL) and with windows of 16 and 4 steps, all else equal. analysis.rtrl_measures makes
each comparison a table; here they are gathered (`Rtrl`, `analyse_rtrl`), answered in
numbers (`verdicts`) and written to fit.json (`rtrl_document`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from scipy import stats

from analysis.load import records
from analysis.rtrl_measures import (
    bits,
    bits_beyond,
    cases,
    discordant,
    fresh,
    in_order,
    lstar,
    paired,
    speed,
    step_costs,
)


def gradient_name(bptt: object) -> str:
    """'RTRL', 'window 16', 'full epoch (stale)'."""
    b = str(bptt)
    return {"rtrl": "RTRL", "epoch": "full epoch (stale)"}.get(b, f"window {b}")


def verdicts(discordant_table: pd.DataFrame, bits_beyond_table: pd.DataFrame,
             case_table: pd.DataFrame, speed_table: pd.DataFrame | None = None,
             fresh_table: pd.DataFrame | None = None) -> dict:
    """The answer in numbers, every count from an exact paired test (p < 0.05):
    - per gradient against the 16-step window, the networks whose run pairs (same length,
      sequence and seed) one gradient memorized and the other not lean significantly its
      way ("longer") or the window's ("shorter"), and the test pooled over networks;
    - where neither memorized, the networks storing significantly fewer or more bits
      (sign-flip over sequences) and how many point ratios lie below 1;
    - the networks memorizing significantly sooner or later (censored runs count as later);
    - per notebook case, runs memorized under RTRL and under stale BPTT;
    - the answer: "yes" (truncation limits) when RTRL memorizes more in most networks,
      "no" when in none (pooled too) and it stores more bits in none, else "mixed"."""
    out: dict = {"lstar": {}, "bits": {}, "speed": {}, "cases": [], "fresh": [],
                 "answer": None}
    if fresh_table is not None and not fresh_table.empty:
        for (cell, units, length), g in fresh_table.groupby(["cell", "units", "length"]):
            by = g.set_index("gradient")
            if {"rtrl", "16"} <= set(by.index):
                r, w = by.loc["rtrl"], by.loc["16"]
                out["fresh"].append(dict(
                    network=f"{cell.upper()} {units}", length=int(length),
                    sequences=int(r["sequences"]), runs=int(r["runs"]),
                    rtrl=int(r["memorized"]), window=int(w["memorized"]), more=int(r["more"]),
                    fewer=int(r["fewer"]), p=float(r["sign_p"]),
                    replicates=bool(r["memorized"] > w["memorized"] and r["sign_p"] < 0.05)))
    for grad, g in in_order(discordant_table).groupby("gradient", sort=False):
        nets, pooled = g[g["cell"] != "all"], g[g["cell"] == "all"].iloc[0]
        sig = nets["p"] < 0.05
        longer = nets[sig & (nets["only_gradient"] > nets["only_base"])]
        shorter = nets[sig & (nets["only_gradient"] < nets["only_base"])]
        out["lstar"][grad] = dict(
            networks=len(nets), longer=len(longer), shorter=len(shorter),
            unresolved=len(nets) - len(longer) - len(shorter),
            only_gradient=int(pooled["only_gradient"]), only_base=int(pooled["only_base"]),
            pooled_p=float(pooled["p"]),
            largest=[dict(network=f"{r['cell'].upper()} {r['units']}",
                          only_gradient=int(r["only_gradient"]), only_base=int(r["only_base"]),
                          p=float(r["p"]))
                     for _, r in nets.sort_values("p").head(2).iterrows()])
    for grad, g in in_order(bits_beyond_table).groupby("gradient", sort=False):
        sig = g["p"] < 0.05
        out["bits"][grad] = dict(median=float(g["ratio"].median()),
                                 low=float(g["ratio"].min()), high=float(g["ratio"].max()),
                                 below_one=int((g["ratio"] < 1).sum()), networks=len(g),
                                 fewer=int((sig & (g["ratio"] < 1)).sum()),
                                 more=int((sig & (g["ratio"] > 1)).sum()))
    k, b = out["lstar"].get("rtrl"), out["bits"].get("rtrl")
    if k and b:
        if k["longer"] > k["networks"] / 2:
            out["answer"] = "yes"
        elif k["longer"] == 0 and k["pooled_p"] >= 0.05 and b["more"] == 0:
            out["answer"] = "no"
        else:
            out["answer"] = "mixed"
    if speed_table is not None and not speed_table.empty:
        for grad, g in in_order(speed_table).groupby("gradient", sort=False):
            sig = g["sign_p"] < 0.05
            out["speed"][grad] = dict(
                networks=len(g), median=float(g["median_ratio"].median()),
                faster=int((sig & (g["faster"] > g["slower"])).sum()),
                slower=int((sig & (g["slower"] > g["faster"])).sum()))
    if not case_table.empty:
        for case, g in case_table.groupby("case", sort=True):
            by = g.set_index("gradient")
            if {"rtrl", "epoch"} <= set(by.index):
                out["cases"].append(dict(
                    case=case, rtrl=int(by.loc["rtrl", "memorized"]),
                    epoch=int(by.loc["epoch", "memorized"]), runs=int(by.loc["rtrl", "runs"]),
                    rtrl_median=float(by.loc["rtrl", "median_epochs"]),
                    epoch_median=float(by.loc["epoch", "median_epochs"]),
                    sooner=int(by.loc["rtrl", "rtrl_sooner"]),
                    later=int(by.loc["rtrl", "rtrl_later"]),
                    p=float(stats.binomtest(int(by.loc["rtrl", "rtrl_sooner"]),
                                            int(by.loc["rtrl", "rtrl_sooner"])
                                            + int(by.loc["rtrl", "rtrl_later"])).pvalue)
                    if by.loc["rtrl", "rtrl_sooner"] + by.loc["rtrl", "rtrl_later"] else 1.0))
    return out


@dataclass
class Rtrl:
    lstar: pd.DataFrame = field(default_factory=pd.DataFrame)
    paired: pd.DataFrame = field(default_factory=pd.DataFrame)
    discordant: pd.DataFrame = field(default_factory=pd.DataFrame)
    bits: pd.DataFrame = field(default_factory=pd.DataFrame)
    bits_beyond: pd.DataFrame = field(default_factory=pd.DataFrame)
    speed: pd.DataFrame = field(default_factory=pd.DataFrame)
    cases: pd.DataFrame = field(default_factory=pd.DataFrame)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    fresh: pd.DataFrame = field(default_factory=pd.DataFrame)
    verdicts: dict = field(default_factory=dict)


def analyse_rtrl(table: pd.DataFrame | None, case_table: pd.DataFrame | None,
                 steptime: pd.DataFrame | None = None,
                 fresh_table: pd.DataFrame | None = None) -> Rtrl | None:
    if table is None and case_table is None:
        return None
    out = Rtrl(costs=step_costs(steptime))
    if fresh_table is not None:
        out.fresh = fresh(fresh_table)
    if table is not None:
        out.lstar = lstar(table)
        out.paired = paired(table)
        out.discordant = discordant(table)
        out.bits = bits(table)
        out.bits_beyond = in_order(bits_beyond(table, out.lstar))
        out.speed = in_order(speed(table))
        out.paired = in_order(out.paired)
    if case_table is not None:
        out.cases = cases(case_table)
    out.verdicts = verdicts(out.discordant, out.bits_beyond, out.cases, out.speed, out.fresh)
    return out


def rtrl_document(r: Rtrl) -> dict:
    """fit.json's rtrl entry: the measured numbers the README's findings render from."""
    return dict(
        lstar=records(r.lstar, ["cell", "units", "params", "gradient", "lr", "L_star", "lo",
                                 "hi", "bound", "bits_per_param"]),
        paired=records(r.paired, ["cell", "units", "gradient", "base", "ratio", "lo", "hi"]),
        discordant=records(r.discordant, ["cell", "units", "gradient", "only_gradient",
                                           "only_base", "p"]),
        bits_beyond=records(r.bits_beyond, ["cell", "units", "gradient", "ratio", "lo", "hi",
                                             "p", "lowest", "highest"]),
        speed=records(r.speed, ["cell", "units", "gradient", "pairs", "faster", "slower",
                                 "sign_p", "median_ratio"]),
        cases=records(r.cases, ["case", "gradient", "runs", "memorized", "median_epochs"]),
        costs=records(r.costs, ["cell", "H", "rtrl_us", "window16_us", "ratio"]),
        fresh=records(r.fresh, ["cell", "units", "length", "gradient", "runs", "memorized"]),
        verdicts=r.verdicts)
