"""The offline budget (issue 17, items 3 and 4): the offline curves trained for more passes
than their own budget, beside them, on the unclipped saving.

Three tables hold the longer budgets: `capacity_offline_budget` (1000 exposures at each
300-exposure curve's peak length), `capacity_offline_long` (1000 exposures two doublings
past it, 3000 exposures at it for the smallest networks), `capacity_offline_short` (each
of those curves one length below where it began) and `capacity_offline_shorter` (one length
shorter again where a curve still peaked at its shortest), on the short curves' own sequences where
they exist. Each longer budget is a protocol of its own (the cosine schedule spans the
whole budget), so its runs form curves of their own and never join the short ones:
- `budget_ratios`: per network, length and budget, the bits saved after the longer budget
  over those after the short one on the same sequences (geometric mean of per-sequence
  ratios, t interval over sequences on the log scale: `paired_ratio`);
- `budget_capacity`: per network and budget, the plateau over the lengths it tried, its
  status there (analysis.capacity_checks.last_doubling), its ratio to the short curve's
  plateau, to the next shorter of the longer budgets where one was trained (3000 over
  1000: what the extra passes add) and, where an online curve trained the same budget,
  online over it (percentile intervals resampling the sequences of every length, paired
  where both sides trained the same sequences). A curve that peaks at the shortest length
  it tried (`at_shortest`) could hold more at a shorter one, which it does not measure. A
  longer budget whose plateau lies below a shorter budget's at the same lr (the
  interval below 1) is `failed`, not read as a capacity; an unstable stretched schedule at
  an lr chosen for 300 exposures is a hypothesis for why, untested.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from analysis import code_length
from analysis.capacity_checks import COLLAPSE
from analysis.code_length import ONLINE
from analysis.fmt import ci_or_point
from analysis.load import group_rng

NETWORK = ["cell", "units", "alphabet_size"]
CAPPED = 0.99  # a length whose mean saving reaches this share of n log2 A is capped by the sequence
CURVE = [*NETWORK, "mode", "params", "max_epochs", "lr"]


# How paired_ratio summarizes, for the report's method sentences.
RATIO_MEAN = ("the geometric mean over sequences, with a t interval on the log scale (marked "
              "'arithmetic' where a sequence saved nothing or less on either side: there the "
              "arithmetic mean, whose t interval can reach below zero)")
ARITHMETIC = " (arithmetic)"


class Ratio(NamedTuple):
    ratio: float
    lo: float
    hi: float
    geometric: bool


def t_mean(x: np.ndarray) -> tuple[float, float, float]:
    """The mean of x with a 95% t interval (NaN from one value)."""
    m = float(x.mean())
    half = (float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
            if len(x) > 1 else math.nan)
    return m, m - half, m + half


def paired_ratio(num: pd.Series, den: pd.Series) -> Ratio:
    """Per-sequence ratios num / den summarized: where every sequence saved something on
    both sides, their geometric mean with a t interval on the log scale (it stays positive,
    and x2 and x0.5 lie as far from 1); else (a network can predict worse than uniform) the
    arithmetic mean with its t interval, which can reach below zero (`geometric` False).

    >>> paired_ratio(pd.Series([2.0, 8.0]), pd.Series([1.0, 1.0])).ratio
    4.0
    """
    num, den = num.to_numpy(float), den.to_numpy(float)
    if bool(((num > 0) & (den > 0)).all()):
        m, lo, hi = t_mean(np.log(num / den))
        return Ratio(math.exp(m), math.exp(lo), math.exp(hi), True)
    return Ratio(*t_mean(num / den), False)


def ratio_cell(r, key: str = "ratio", lo: str = "lo", hi: str = "hi") -> str:
    """'x1.20 [1.05, 1.37]', marked where the mean is arithmetic (paired_ratio)."""
    return (f"x{ci_or_point(r[key], r[lo], r[hi])}"
            + ("" if r.get("geometric", True) in (True, 1.0) else ARITHMETIC))


def budget_ratios(seqs: pd.DataFrame, longer: pd.DataFrame) -> pd.DataFrame:
    """Per network, length, lr and longer budget: the bits saved after it over those after
    the short curve's budget on the same sequences (per_sequence rows of both: `seqs` the
    curves at their chosen lr, `longer` the longer budgets' runs). The ratio is the mean of
    the per-sequence ratios summarized by paired_ratio; bits per parameter beside.
    `capped`: the longer budget saves CAPPED of all the sequence holds (n log2 A) or more, so
    the length, not the network, limits what it stores there."""
    keys = [*NETWORK, "length", "gen_seed", "lr"]
    short = seqs[seqs["mode"] == "offline"]
    pairs = longer.merge(short, on=keys, suffixes=("_long", "_short"))
    pairs = pairs[pairs["max_epochs_short"] < pairs["max_epochs_long"]]
    group = [*NETWORK, "length", "lr", "max_epochs_long"]
    rows = []
    for key, part in pairs.groupby(group, sort=True):
        m, lo, hi, geometric = paired_ratio(part["saved_end_long"], part["saved_end_short"])
        params = int(part["params_long"].iloc[0])
        rows.append(dict(zip(group[:-1], key[:-1], strict=True),
                         params=params, sequences=len(part),
                         short=int(part["max_epochs_short"].iloc[0]), long=int(key[-1]),
                         saved_short=float(part["saved_end_short"].mean()),
                         saved_long=float(part["saved_end_long"].mean()),
                         bpp_short=float(part["saved_end_short"].mean()) / params,
                         bpp_long=float(part["saved_end_long"].mean()) / params,
                         ratio=m, lo=lo, hi=hi, geometric=geometric,
                         capped=bool(part["saved_end_long"].mean()
                                     >= CAPPED * key[3] * math.log2(key[2]))))
    return pd.DataFrame(rows)


def _ratio_ci(on: pd.DataFrame, off: pd.DataFrame, rng: np.random.Generator
              ) -> tuple[float, float, int]:
    reps, paired, _ = code_length.boot_ratio(on, off, rng)
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return float(lo), float(hi), paired


def _same(frame: pd.DataFrame, row: pd.Series, cols: list[str]) -> pd.Series:
    return (frame[cols] == row[cols]).all(axis=1)


def budget_capacity(longer: pd.DataFrame, saved: pd.DataFrame, reads: pd.DataFrame,
                    ratios: pd.DataFrame, runs: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per network and longer budget (`longer`: per_sequence rows of its runs): the plateau
    of the unclipped saving at the end of the budget over the lengths tried, its status, the
    short curve's plateau (`saved` at the chosen lr, read at the end of its own budget) and
    the ratio of the two, and online over it where an online window-16 curve reads the same
    exposures (`reads`: every curve's readings, as code_length.readings gives them). Also
    the paired ratio at the short curve's peak length (`ratios`: budget_ratios), whether the
    plateau lies at the shortest length tried, and per length beyond the peak how many runs
    (`runs`: the longer budgets' runs) saved less than COLLAPSE of the plateau: training
    failures there, not a network filled up."""
    if longer.empty:
        return pd.DataFrame()
    long_reads = code_length.readings(longer, CURVE, ())
    caps = code_length.code_length_capacity(long_reads, CURVE, seed=seed)
    chosen = code_length.at_chosen_lr(saved)
    end = chosen[chosen["exposures"] == chosen["max_epochs"]]
    rows = []
    for _, r in caps.iterrows():
        mine = long_reads[_same(long_reads, r, [*NETWORK, "max_epochs", "lr"])]
        rng = group_rng(seed, tuple(r[k] for k in [*NETWORK, "max_epochs", "lr"]))
        row = {**{k: r[k] for k in [*CURVE, "capacity", "lo", "hi", "bits_per_param", "bpp_lo",
                                    "bpp_hi", "peak_length", "last_length", "last_step", "last_gain",
                                    "gain_lo", "gain_hi", "status", "measure"]},
               "lengths": sorted(int(n) for n in mine["length"].unique())}
        short = end[_same(end, r, NETWORK) & (end["mode"] == "offline")
                    & np.isclose(end["lr"], r["lr"]) & (end["max_epochs"] < r["max_epochs"])]
        if len(short):
            s = short.sort_values("max_epochs").iloc[-1]
            lo, hi, paired = _ratio_ci(mine, reads[
                _same(reads, s, [*NETWORK, "mode", "max_epochs", "lr"])
                & (reads["exposures"] == s["max_epochs"])], rng)
            row.update(short_budget=int(s["max_epochs"]), short_bpp=float(s["bits_per_param"]),
                       short_status=s["status"], short_peak=int(s["peak_length"]),
                       over_short=float(r["capacity"] / s["capacity"]), over_short_lo=lo,
                       over_short_hi=hi, over_short_paired=paired)
        fewer = caps[_same(caps, r, [*NETWORK, "lr"]) & (caps["max_epochs"] < r["max_epochs"])]
        if len(fewer):  # the next shorter of the longer budgets: what the extra passes add
            p = fewer.sort_values("max_epochs").iloc[-1]
            lo, hi, paired = _ratio_ci(mine, long_reads[
                _same(long_reads, p, [*NETWORK, "max_epochs", "lr"])], rng)
            row.update(prev_budget=int(p["max_epochs"]),
                       over_prev=float(r["capacity"] / p["capacity"]), over_prev_lo=lo,
                       over_prev_hi=hi)
        online = end[_same(end, r, NETWORK) & (end["mode"] == ONLINE)
                     & (end["max_epochs"] == r["max_epochs"])]
        if len(online):
            o = online.iloc[0]
            lo, hi, paired = _ratio_ci(reads[
                _same(reads, o, [*NETWORK, "mode", "max_epochs", "lr"])
                & (reads["exposures"] == o["max_epochs"])], mine, rng)
            row.update(online_bpp=float(o["bits_per_param"]), online_status=o["status"],
                       online_measure=o["measure"],
                       online_lr=float(o["lr"]), online_ratio=float(o["capacity"] / r["capacity"]),
                       online_lo=lo, online_hi=hi, online_paired=paired)
        row["failed"] = bool(row.get("over_short_hi", 2.0) < 1 or row.get("over_prev_hi", 2.0) < 1)
        row["at_shortest"] = int(r["peak_length"]) == row["lengths"][0]
        peak = ratios[_same(ratios, r, NETWORK) & np.isclose(ratios["lr"], r["lr"])
                      & (ratios["long"] == r["max_epochs"])
                      & (ratios["length"] == row.get("short_peak", -1))]
        if len(peak):
            row.update(at_peak=float(peak["ratio"].iloc[0]), at_peak_lo=float(peak["lo"].iloc[0]),
                       at_peak_hi=float(peak["hi"].iloc[0]))
        row["failed_runs"] = _failed_runs(runs[_same(runs, r, [*NETWORK, "max_epochs"])
                                               & np.isclose(runs["lr"], r["lr"])],
                                          float(r["capacity"]), int(r["peak_length"]))
        rows.append(row)
    return pd.DataFrame(rows)


def _failed_runs(runs: pd.DataFrame, plateau: float, peak: int) -> dict[int, list[int]]:
    """Per length beyond the peak: [runs that saved under COLLAPSE of the plateau, runs]."""
    saved = pd.Series(code_length.saved_end(runs)[0], index=runs.index)
    out = {}
    for n, part in saved.groupby(runs["length"]):
        if n > peak:
            out[int(n)] = [int((part < COLLAPSE * plateau).sum()), len(part)]
    return out


def equal_budget_reasons(verdicts: list[dict], curves: pd.DataFrame,
                         online_lr: pd.DataFrame | None = None) -> list[dict]:
    """Each verdict with, where an offline curve trained the online curve's own budget,
    online over it at equal exposures as one more reason, stated as an upper bound since
    offline kept the lr chosen at its shorter budget (a failed budget gives none); where both
    neighbouring lrs were tried at that budget and neither stored more (with_lr_neighbours),
    the bound holds to the lr grid's resolution. Where online's own lr check at that budget
    (`online_lr`, analysis.capacity_online_lr) found a neighbouring lr that stores more, online
    is not at its best and the ratio is no upper bound."""
    if curves.empty or "online_ratio" not in curves:
        return verdicts
    for v in verdicts:
        same = curves[(curves["cell"] == v["cell"]) & (curves["units"] == v["units"])
                      & (curves["alphabet_size"] == v["alphabet_size"])
                      & curves["online_ratio"].notna() & ~curves["failed"].astype(bool)]
        for _, r in same.iterrows():
            bracketed = (r.get("lr_neighbours", 0) >= 2 and r.get("lr_neighbours_more", 0) == 0)
            where = ""
            if bracketed:
                at = int(r["lr_check_length"])
                where = (f"at {at:,} letters (" + ("the curve's peak" if at == r["peak_length"]
                                                   else f"its peak is at {int(r['peak_length']):,}")
                         + "), on the same sequences, neither a third (x"
                         + f"{r['lr_lower_ratio']:.2f} [{r['lr_lower_lo']:.2f}, "
                         f"{r['lr_lower_hi']:.2f}]) nor three times (x{r['lr_higher_ratio']:.2f} "
                         f"[{r['lr_higher_lo']:.2f}, {r['lr_higher_hi']:.2f}]) offline's lr "
                         "stores more; an lr between grid points, or another setting (chunk, "
                         "schedule, clipping) tuned at this budget, is untested)")
            better = online_lr_status(online_lr, r)["more"]
            bound = ("an upper bound within the lr grid's resolution: " + where if bracketed else
                     "an upper bound, since offline's lr was not chosen at this budget)")
            if better:
                b = max(better, key=lambda x: x["ratio"])
                bound = (f"not an upper bound: online at lr {b['lr']:g} stores "
                         f"x{b['ratio']:.2f} [{b['lo']:.2f}, {b['hi']:.2f}] of its own lr's bits "
                         f"at {b['length']:,} letters, so online is not at its best lr)")
            v["reasons"].append(
                f"at equal exposures, {int(r['max_epochs'])} each (offline retrained for "
                f"{int(r['max_epochs'])} at the lr chosen for {int(r['short_budget'])}, its curve measured "
                f"from {int(r['lengths'][0]):,} letters up): online {r['online_ratio']:.2f} "
                f"[{r['online_lo']:.2f}, {r['online_hi']:.2f}] of offline (unclipped, online "
                f"{r['online_measure']}, offline {r['measure']}; offline's curve {r['status']}; "
                + bound)
    return verdicts


def online_lr_status(online_lr: pd.DataFrame | None, curve) -> dict:
    """A budget's online lr check (analysis.capacity_online_lr's rows for the curve's network
    and budget): how many neighbouring lrs were `tried`, and those that store `more` (the
    interval above 1)."""
    if online_lr is None or online_lr.empty:
        return dict(tried=0, more=[])
    mine = online_lr[(online_lr["cell"] == curve["cell"]) & (online_lr["units"] == curve["units"])
                     & (online_lr["alphabet_size"] == curve["alphabet_size"])
                     & (online_lr["max_epochs"] == curve["max_epochs"])]
    return dict(tried=len(mine), more=[
        dict(lr=float(m["lr_other"]), length=int(m["length"]), ratio=float(m["ratio"]),
             lo=float(m["lo"]), hi=float(m["hi"])) for _, m in mine[mine["lo"] > 1].iterrows()])


def with_lr_neighbours(curves: pd.DataFrame, other_lr: pd.DataFrame) -> pd.DataFrame:
    """`curves` (budget_capacity's) with, per network and budget, how many neighbouring lrs
    were tried (`lr_neighbours`: lr_sensitivity's rows, one length per budget), how many of
    them stored more than the budget's own lr (`lr_neighbours_more`: the interval above 1),
    each side's ratio and interval (`lr_lower_*`, `lr_higher_*`) and the length the check
    ran at (`lr_check_length`)."""
    out = curves.copy()
    keys = [*NETWORK, "max_epochs"]
    index = list(out[keys].itertuples(index=False, name=None))
    side = np.where(other_lr["lr_other"] > other_lr["lr_own"], "higher", "lower")
    by_budget = other_lr.groupby(keys)
    tried, more = by_budget.size(), by_budget["lo"].agg(lambda lo: int((lo > 1).sum()))
    out["lr_neighbours"] = [int(tried.get(k, 0)) for k in index]
    out["lr_neighbours_more"] = [int(more.get(k, 0)) for k in index]
    for name in ("lower", "higher"):
        first = other_lr[side == name].groupby(keys)[["ratio", "lo", "hi"]].first()
        for col in ("ratio", "lo", "hi"):
            out[f"lr_{name}_{col}"] = [float(first[col].get(k, np.nan)) for k in index]
    lengths = by_budget["length"].min()
    out["lr_check_length"] = [float(lengths.get(k, np.nan)) for k in index]
    return out


def lr_check_summary(other_lr: pd.DataFrame) -> dict:
    """lr_sensitivity's rows per direction (`lower`, `higher` than the budget's own lr): how
    many budgets were checked, how many store less (interval below 1), more (above 1), and
    the range of the ratios in each of those groups; `above_one`: those whose interval
    includes 1 but whose ratio exceeds it. `budgets`: every budget checked."""
    out = {}
    if other_lr.empty:
        return out
    out["budgets"] = [dict(cell=k[0], units=int(k[1]), alphabet_size=int(k[2]),
                           max_epochs=int(k[3]))
                      for k in other_lr.groupby([*NETWORK, "max_epochs"]).groups]
    higher = other_lr["lr_other"] > other_lr["lr_own"]
    for name, part in (("lower", other_lr[~higher]), ("higher", other_lr[higher])):
        if part.empty:
            continue
        less, more = part[part["hi"] < 1], part[part["lo"] > 1]
        same = part[(part["hi"] >= 1) & (part["lo"] <= 1)]
        above = same[same["ratio"] > 1]
        out[name] = dict(
            above_one=[dict(cell=r["cell"], units=int(r["units"]),
                            alphabet_size=int(r["alphabet_size"]),
                            max_epochs=int(r["max_epochs"]), length=int(r["length"]),
                            curve_peak=(int(r["curve_peak"]) if "curve_peak" in r
                                        and r["curve_peak"] == r["curve_peak"] else None),
                            ratio=float(r["ratio"]), lo=float(r["lo"]), hi=float(r["hi"]),
                            more_on=int(r["more_on"]), sequences=int(r["sequences"]))
                       for _, r in above.iterrows()],
            checked=len(part), **{f"{k}_n": len(g) for k, g in
                                  (("less", less), ("more", more), ("same", same))},
            **{f"{k}_range": ([float(g["ratio"].min()), float(g["ratio"].max())]
                              if len(g) else []) for k, g in
               (("less", less), ("more", more), ("same", same))})
    return out


def lr_sensitivity(longer: pd.DataFrame, other_lr: pd.DataFrame,
                   curves: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per network, budget and length: the bits saved at another lr (`other_lr`:
    per_sequence rows of capacity_offline_long_lr) over those at the budget's own lr
    (`longer`: per_sequence rows of the longer budgets) on the same sequences, per-sequence
    ratios summarized by paired_ratio (`more_on`: on how many sequences
    the other lr stores more); bits per parameter beside, and
    `curve_peak`: the peak length of the budget's curve (`curves`, budget_capacity's), which
    lengths added after the check can move away from the length it was made at."""
    keys = [*NETWORK, "max_epochs", "length", "gen_seed"]
    pairs = other_lr.merge(longer, on=keys, suffixes=("_other", "_own"))
    pairs = pairs[~np.isclose(pairs["lr_other"], pairs["lr_own"])]
    group = [*NETWORK, "max_epochs", "length", "lr_own", "lr_other"]
    rows = []
    for key, part in pairs.groupby(group, sort=True):
        m, lo, hi, geometric = paired_ratio(part["saved_end_other"], part["saved_end_own"])
        params = int(part["params_own"].iloc[0])
        rows.append(dict(zip(group, key, strict=True), params=params, sequences=len(part),
                         more_on=int((part["saved_end_other"] > part["saved_end_own"]).sum()),
                         bpp_own=float(part["saved_end_own"].mean()) / params,
                         bpp_other=float(part["saved_end_other"].mean()) / params,
                         ratio=m, lo=lo, hi=hi, geometric=geometric))
    out = pd.DataFrame(rows)
    if curves is not None and len(out) and len(curves):
        peaks = curves.set_index([*NETWORK, "max_epochs"])["peak_length"]
        out["curve_peak"] = [peaks.get(k) for k in
                             out[[*NETWORK, "max_epochs"]].itertuples(index=False, name=None)]
    return out

