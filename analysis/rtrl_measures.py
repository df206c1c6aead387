"""The RTRL study's measurements (analysis.rtrl asks the question), each a table.

The `rtrl` sweep trains every sequence and seed three times, with the exact online gradient
(RTRL) and with windows of 16 and 4 steps, all else equal. Here:

- `lstar`: L* per cell, width and gradient (analysis.frontier's isotonic crossing of 1/2),
  its interval widened to the tested lengths either side (capacity.lstar_bisection);
- `paired`: RTRL's L* over the window's, with a bootstrap that resamples the sequences of
  every length once for both gradients (the comparison is paired by sequence and seed);
- `discordant`: the run pairs only one gradient memorized, with an exact test;
- `bits`, `bits_beyond`: bits stored at the end of each run, per length and gradient, the
  mean over sequences with a t interval, and RTRL's over the window's from the same
  sequences (beyond the window's L*: where neither memorized);
- `speed`: steps to memorize, RTRL over the window, for runs both memorized (paired);
- `cases`: the notebook's cases under RTRL and under its stale-activation BPTT;
- `fresh`: the one L* the exact gradient moved, rerun on fresh sequences (`rtrl_fresh`);
- `step_costs`: the compiled kernel's RTRL step beside its 16-step window.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
from scipy import stats

from analysis.capacity import lstar_bisection
from analysis.exact import sign_flip_p
from analysis.frontier import crossing
from analysis.load import outcomes, split_errors
from analysis.survival import kaplan_meier

N_BOOT = 1000
SEED = 0
ORDER = ("rtrl", "4", "16", "epoch")  # how tables list the gradients


def in_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by gradient in ORDER (stable within a gradient)."""
    if df.empty:
        return df
    rank = {g: i for i, g in enumerate(ORDER)}
    return df.sort_values("gradient", key=lambda c: c.map(lambda g: rank.get(g, len(ORDER))),
                          kind="stable")


def _runs(table: pd.DataFrame) -> pd.DataFrame:
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    return runs.assign(gradient=runs["bptt"].astype(str),
                       alphabet_size=runs["alphabet"].str.len())


def lstar(table: pd.DataFrame) -> pd.DataFrame:
    """L* per cell, width and gradient, as capacity_lstar's (interval never finer than the
    tested lengths)."""
    runs = _runs(table)
    out = []
    for grad, g in runs.groupby("gradient", sort=False):
        f = lstar_bisection(g)
        out.append(f.assign(gradient=grad))
    cols = ["cell", "units", "params", "gradient", "lr", "L_star", "lo", "hi", "bound", "below",
            "above", "bits_per_param", "exposures_at_lstar"]
    return pd.concat(out, ignore_index=True)[cols].sort_values(["cell", "units", "gradient"],
                                                                ignore_index=True)


def _length_events(g: pd.DataFrame) -> dict[int, np.ndarray]:
    """Per length: (sequences, seeds) events, rows in sorted sequence order."""
    out = {}
    for length, h in g.groupby("length"):
        table = h.pivot_table(index="sequence", columns="seed", values="event", aggfunc="first")
        out[int(length)] = table.sort_index().to_numpy(dtype=float)
    return out


def _lstar_of(events: dict, lengths: list[int], pick: dict | None = None, i: int = 0
              ) -> float:
    """L* from per-length (sequences, seeds) events, or from replicate i of `pick`."""
    rows = [events[n][pick[n][i]] if pick else events[n] for n in lengths]
    return crossing(np.array(lengths, float), np.array([r.sum() for r in rows]),
                    np.array([r.size for r in rows], float))[0]


def paired(table: pd.DataFrame, base: str = "16", boot: int = N_BOOT, seed: int = SEED
           ) -> pd.DataFrame:
    """Per cell and width, each gradient's L* over `base`'s, with a paired bootstrap: the
    sequences of every length resampled once for every gradient."""
    runs = _runs(table)
    rows = []
    for (cell, units), g in runs.groupby(["cell", "units"], sort=True):
        by = {k: _length_events(h) for k, h in g.groupby("gradient")}
        if base not in by:
            continue
        lengths = sorted(by[base])
        rng = np.random.default_rng([seed, zlib.crc32(f"{cell}{units}".encode())])
        picks = {L: rng.integers(0, len(by[base][L]), (boot, len(by[base][L]))) for L in lengths}

        ref = _lstar_of(by[base], lengths)
        ref_boot = np.array([_lstar_of(by[base], lengths, picks, i) for i in range(boot)])
        for grad, ev in by.items():
            if grad == base or sorted(ev) != lengths:
                continue
            est = _lstar_of(ev, lengths) / ref
            draws = np.array([_lstar_of(ev, lengths, picks, i) for i in range(boot)]) / ref_boot
            lo, hi = np.quantile(draws, [0.025, 0.975])
            rows.append(dict(cell=cell, units=int(units), gradient=grad, base=base, ratio=est,
                             lo=float(lo), hi=float(hi),
                             share_above=float(np.mean(draws > 1.0))))
    return pd.DataFrame(rows)


def _pairs(runs: pd.DataFrame, values: str) -> pd.DataFrame:
    """One row per run pair (cell, units, length, sequence, seed), one column per gradient."""
    return runs.pivot_table(index=["cell", "units", "length", "sequence", "seed"],
                            columns="gradient", values=values, aggfunc="first")


def discordant(table: pd.DataFrame, base: str = "16") -> pd.DataFrame:
    """Per cell, width and gradient: the run pairs (same length, sequence and seed) that
    only one of the two gradients memorized, and an exact two-sided binomial (McNemar) test
    of them; pooled over the networks in rows with cell "all"."""
    runs = _runs(table)
    ev = _pairs(runs, "event").astype(float)
    rows = []
    for grad in ev.columns:
        if grad == base:
            continue
        both = ev[[grad, base]].dropna()
        only_g = (both[grad] > both[base])
        only_b = (both[grad] < both[base])
        for key, idx in list(both.groupby(level=["cell", "units"]).groups.items()) + [
                (("all", 0), both.index)]:
            a, b = int(only_g.loc[idx].sum()), int(only_b.loc[idx].sum())
            rows.append(dict(cell=key[0], units=int(key[1]), gradient=grad, base=base,
                             pairs=len(idx), only_gradient=a, only_base=b,
                             p=float(stats.binomtest(a, a + b).pvalue) if a + b else 1.0))
    return in_order(pd.DataFrame(rows))


def _sign_flip_finite(x: np.ndarray) -> float:
    """analysis.exact.sign_flip_p over the finite values (nan where there are none)."""
    x = x[np.isfinite(x)]
    return sign_flip_p(x) if len(x) else math.nan


def _t_interval(x: np.ndarray) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(np.mean(x))
    if len(x) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


def bits(table: pd.DataFrame, base: str = "16") -> pd.DataFrame:
    """Per cell, width, length and gradient: bits stored at the end (seeds' mean per
    sequence, then the mean over sequences with a t interval), its share of the
    sequence's L log2(A), and the ratio to `base` on the same sequences."""
    runs = _runs(table)
    per_seq = (runs.groupby(["cell", "units", "length", "gradient", "sequence"])
               .agg(bits=("bits_stored", "mean"), share=("event", "mean"),
                    a=("alphabet_size", "first")).reset_index())
    rows = []
    for (cell, units, length), g in per_seq.groupby(["cell", "units", "length"], sort=True):
        basis = g[g["gradient"] == base].set_index("sequence")["bits"]
        for grad, h in g.groupby("gradient", sort=False):
            h = h.set_index("sequence")
            m, lo, hi = _t_interval(h["bits"].to_numpy())
            common = h.index.intersection(basis.index)
            ratio = h.loc[common, "bits"] / basis.loc[common]
            r, rlo, rhi = _t_interval(ratio.to_numpy())
            rows.append(dict(cell=cell, units=int(units), length=int(length), gradient=grad,
                             sequences=len(h), memorized=float(h["share"].mean()), bits=m,
                             bits_lo=lo, bits_hi=hi,
                             of_sequence=m / (length * math.log2(h["a"].iloc[0])),
                             ratio=r if grad != base else 1.0,
                             ratio_lo=rlo if grad != base else 1.0,
                             ratio_hi=rhi if grad != base else 1.0))
    return pd.DataFrame(rows)


def bits_beyond(table: pd.DataFrame, lstar_table: pd.DataFrame, base: str = "16"
                ) -> pd.DataFrame:
    """Per cell, width and gradient: bits stored relative to `base` where neither memorized,
    at the lengths at and beyond base's L* bracket (so the ratio is what each holds, not the
    ceiling of L log2 A). Per run pair (same sequence and seed) both censored, the ratio;
    per sequence the geometric mean over its seeds; over sequences the geometric mean, a t
    interval and an exact sign-flip test (every length has its own sequences); and the
    lowest and highest per-length mean."""
    runs = _runs(table)
    bits_ = _pairs(runs, "bits_stored")
    ev = _pairs(runs, "event").astype(float)
    rows = []
    for (cell, units), g in bits_.groupby(level=["cell", "units"], sort=True):
        ref = lstar_table[(lstar_table["cell"] == cell) & (lstar_table["units"] == units)
                          & (lstar_table["gradient"] == base)]
        if ref.empty or base not in g.columns:
            continue
        g = g[g.index.get_level_values("length") >= float(ref["above"].iloc[0])]
        e = ev.loc[g.index]
        for grad in g.columns:
            if grad == base:
                continue
            censored = (e[grad] == 0) & (e[base] == 0)
            log_ratio = np.log(g.loc[censored, grad] / g.loc[censored, base]).dropna()
            if log_ratio.empty:
                continue
            per_seq = log_ratio.groupby(level=["length", "sequence"]).mean()
            m, lo, hi = _t_interval(per_seq.to_numpy())
            by_length = np.exp(per_seq.groupby(level="length").mean())
            rows.append(dict(cell=cell, units=int(units), gradient=grad, base=base,
                             lengths=len(by_length), from_length=int(by_length.index.min()),
                             sequences=len(per_seq), pairs=len(log_ratio), ratio=math.exp(m),
                             lo=math.exp(lo) if np.isfinite(lo) else math.nan,
                             hi=math.exp(hi) if np.isfinite(hi) else math.nan,
                             p=_sign_flip_finite(per_seq.to_numpy()),
                             lowest=float(by_length.min()), highest=float(by_length.max())))
    return pd.DataFrame(rows)


def speed(table: pd.DataFrame, base: str = "16") -> pd.DataFrame:
    """Per cell, width and gradient against `base`, paired by run (length, sequence, seed),
    censoring as data: a run that never memorized counts as later than any that did. The
    pairs where one was sooner, an exact sign test of them, and (descriptive) the median
    ratio of steps over the pairs where both memorized."""
    runs = _runs(table)
    t = _pairs(runs.assign(t=np.where(runs["event"], runs["observed_steps"], np.inf)), "t")
    rows = []
    for (cell, units), g in t.groupby(level=["cell", "units"], sort=True):
        for grad in g.columns:
            if grad == base:
                continue
            both = g[[grad, base]].dropna()
            both = both[np.isfinite(both[grad]) | np.isfinite(both[base])]
            sooner = int((both[grad] < both[base]).sum())
            later = int((both[grad] > both[base]).sum())
            memo = both[np.isfinite(both[grad]) & np.isfinite(both[base])]
            ratio = memo[grad] / memo[base]
            rows.append(dict(cell=cell, units=int(units), gradient=grad, base=base,
                             pairs=len(both), both_memorized=len(memo),
                             median_ratio=float(np.median(ratio)) if len(ratio) else math.nan,
                             q25=float(np.quantile(ratio, 0.25)) if len(ratio) else math.nan,
                             q75=float(np.quantile(ratio, 0.75)) if len(ratio) else math.nan,
                             faster=sooner, slower=later,
                             sign_p=float(stats.binomtest(sooner, sooner + later).pvalue)
                             if sooner + later else math.nan))
    return pd.DataFrame(rows)


def cases(table: pd.DataFrame) -> pd.DataFrame:
    """Per notebook case and gradient: runs, memorized within the budget, Kaplan-Meier
    median epochs (with its CI), and per seed how many memorized sooner under RTRL."""
    runs = _runs(table)
    rows = []
    for (case, grad), g in runs.groupby(["slice", "gradient"], sort=True):
        km = kaplan_meier(g["observed"], g["event"], float(g["max_epochs"].max()))
        rows.append(dict(case=case, sequence=g["label"].iloc[0], units=int(g["units"].iloc[0]),
                         gradient=grad, runs=len(g), memorized=int(g["event"].sum()),
                         median_epochs=km.median, median_lo=km.median_lo,
                         median_hi=km.median_hi,
                         final_loss=float(g["final_loss"].median())))
    out = pd.DataFrame(rows)
    sooner = []
    for case, g in runs.groupby("slice", sort=True):
        t = g.pivot_table(index="seed", columns="gradient", values="observed_steps",
                          aggfunc="first")
        e = g.pivot_table(index="seed", columns="gradient", values="event", aggfunc="first")
        if {"rtrl", "epoch"} <= set(t.columns):
            # a censored run counts as later than any success
            tr = np.where(e["rtrl"].astype(bool), t["rtrl"], np.inf)
            te = np.where(e["epoch"].astype(bool), t["epoch"], np.inf)
            sooner.append(dict(case=case, rtrl_sooner=int((tr < te).sum()),
                               rtrl_later=int((tr > te).sum())))
    return out.merge(pd.DataFrame(sooner), on="case", how="left") if sooner else out


def fresh(table: pd.DataFrame, base: str = "16") -> pd.DataFrame:
    """The check on fresh sequences: per cell, width, length and gradient, the runs
    memorized, and per sequence whether each gradient memorized more seeds than `base`
    (a sign test over the sequences that differ)."""
    runs = _runs(table)
    rows = []
    for (cell, units, length), g in runs.groupby(["cell", "units", "length"], sort=True):
        per_seq = g.pivot_table(index="sequence", columns="gradient", values="event",
                                aggfunc="sum")
        for grad, h in g.groupby("gradient", sort=False):
            row = dict(cell=cell, units=int(units), length=int(length), gradient=grad,
                       sequences=int(h["sequence"].nunique()), runs=len(h),
                       memorized=int(h["event"].sum()))
            if grad != base and base in per_seq.columns:
                more = int((per_seq[grad] > per_seq[base]).sum())
                fewer = int((per_seq[grad] < per_seq[base]).sum())
                row.update(more=more, fewer=fewer,
                           sign_p=float(stats.binomtest(more, more + fewer).pvalue)
                           if more + fewer else math.nan)
            rows.append(row)
    return in_order(pd.DataFrame(rows))


def step_costs(steptime: pd.DataFrame | None) -> pd.DataFrame:
    """The compiled kernel's RTRL step beside its 16-step window, per cell and width, from
    the step benchmark (one run times both)."""
    if steptime is None or "rtrl" not in set(steptime["bptt"].astype(str)):
        return pd.DataFrame()
    d = steptime[(steptime["impl"] == "population") & (steptime["n"] == 256)]
    d = d[d["bptt"].astype(str).isin(["rtrl", "16"])]
    t = d.pivot_table(index=["cell", "H"], columns="bptt", values="per_model_step_us",
                      aggfunc="min").dropna()
    return (t.rename(columns={"rtrl": "rtrl_us", "16": "window16_us"})
            .assign(ratio=lambda x: x["rtrl_us"] / x["window16_us"]).reset_index())

