"""Checks of the capacity curves (issue 17): where each curve stands at its longest length
(still rising, level, or past a peak); a width between the grid's points re-measured on
fresh sequences (spec capacity_fresh: LSTM 24 units) against the interpolation of its
neighbours (16 and 32 units), for the bits stored and for L*; L* bisected between lengths
2^(1/4) apart (capacity_lstar); and whether each lr choice holds once capacity_lr_more
extends its grid, and whether the capacity runs trained at it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.load import group_rng

BETWEEN = dict(units=24, lower=16, upper=32)  # capacity_fresh's width and its grid neighbours
BETWEEN_EXPOSURES = 300
N_BOOT = 2000
CEILING = 0.99  # all three widths within 1% of n log2 A: the comparison is uninformative
LEVEL = 1.0  # a last doubling whose interval reaches no change: not shown to rise, level
# A curve that loses this much at its longest length, right after its peak, failed to train
# there (a network that held its peak can hold as much of a longer sequence): a lower bound.
COLLAPSE = 0.6


def _resampled_means(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = x[~np.isnan(x)]
    return x[rng.integers(0, len(x), size=(N_BOOT, len(x)))].mean(axis=1)


def last_doubling(part: pd.DataFrame, col: str, rng: np.random.Generator) -> dict | None:
    """One curve's `col` at its longest length over the length before (`last_step`: how
    many times longer; a doubling unless half-doublings were added) (means over
    sequences, a percentile interval resampling the sequences of each), how many lengths
    lie beyond its peak, and its status there: 'peaked' (2 or more lengths beyond the peak
    that hold COLLAPSE of it), 'past a peak (1 length beyond)' (one such length), 'level'
    (the gain's interval reaches LEVEL, no change), 'rising' (a lower bound) or 'collapsed
    at the longest length' (every length beyond the peak below COLLAPSE of it: training
    failed there, so a lower bound too). A length beyond the peak below COLLAPSE of it is a
    failed length (`lengths_failed`): it shows no decline of what the network holds. None
    with fewer than two lengths."""
    means = part.groupby("length")[col].mean().dropna().sort_index()
    if len(means) < 2:
        return None
    last, prev = means.index[-1], means.index[-2]
    boot = (_resampled_means(part.loc[part["length"] == last, col].to_numpy(float), rng)
            / _resampled_means(part.loc[part["length"] == prev, col].to_numpy(float), rng))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    peak = int(np.argmax(means.to_numpy()))
    after = means.iloc[peak + 1:]
    failed = int((after < COLLAPSE * means.iloc[peak]).sum())
    beyond, held = len(after), len(after) - failed
    gain = means.iloc[-1] / means.iloc[-2]
    status = ("collapsed at the longest length" if beyond and not held
              else "peaked" if held >= 2 else "past a peak (1 length beyond)" if held == 1
              else "level" if lo <= LEVEL else "rising")
    return dict(last_length=int(last), last_step=float(last / prev), last_gain=float(gain),
                gain_lo=float(lo), gain_hi=float(hi), lengths_beyond=held,
                lengths_failed=failed, status=status)


def end_gain(seqs: pd.DataFrame, keys: list[str], exposures: tuple[int, ...],
             seed: int = 0) -> pd.DataFrame:
    """Per curve (keys) and exposure: `last_doubling` of the clipped bits stored."""
    rows = []
    for key, part in seqs.groupby(keys, sort=True, dropna=False):
        for e in exposures:
            d = last_doubling(part, f"bits_{e}", group_rng(seed, (*key, e)))
            if d is not None:
                d.pop("lengths_beyond")
                d.pop("lengths_failed")
                rows.append({**dict(zip(keys, key, strict=True)), "exposures": e, **d})
    out = pd.DataFrame(rows)
    if len(out):  # each curve's row at its largest exposure: what the curve reached
        out["final"] = out["exposures"] == out.groupby(keys)["exposures"].transform("max")
    return out


def status_counts(gain: pd.DataFrame) -> dict[str, int]:
    """How many curves, at their largest exposure, end in each status."""
    if gain.empty:
        return {}
    return {str(k): int(v) for k, v in gain[gain["final"]]["status"].value_counts()
            .sort_index().items()}


def between_widths(seqs: pd.DataFrame, fresh: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The 24-unit LSTM's bits at 300 exposures per length and training, against the
    log-log interpolation of 16 and 32 units at the same length (the prediction made
    before the runs, in capacity_fresh's header): ratio measured / predicted with a
    percentile interval (every width's sequences resampled), and whether it lies between."""
    w = math.log(BETWEEN["units"] / BETWEEN["lower"]) / math.log(BETWEEN["upper"] / BETWEEN["lower"])
    col = f"bits_{BETWEEN_EXPOSURES}"
    rows = []
    grid = seqs[(seqs["cell"] == "lstm") & (seqs["alphabet_size"] == 26)]
    for (mode, length), part in fresh.groupby(["mode", "length"], sort=True):
        sel = (grid["mode"] == mode) & (grid["length"] == length)
        lo_w = grid[sel & (grid["units"] == BETWEEN["lower"])][col].to_numpy(float)
        hi_w = grid[sel & (grid["units"] == BETWEEN["upper"])][col].to_numpy(float)
        mid = part[col].to_numpy(float)
        if np.isnan(lo_w).all() or np.isnan(hi_w).all() or np.isnan(mid).all():
            continue
        b_lo, b_hi, b_mid = np.nanmean(lo_w), np.nanmean(hi_w), np.nanmean(mid)
        rng = group_rng(seed, (mode, length))
        predicted = b_lo ** (1 - w) * b_hi ** w
        boot = _resampled_means(mid, rng) / (_resampled_means(lo_w, rng) ** (1 - w)
                                             * _resampled_means(hi_w, rng) ** w)
        r_lo, r_hi = np.percentile(boot, [2.5, 97.5])
        params = int(part["params"].iloc[0])
        ceiling = length * math.log2(26)  # the whole sequence: nothing to tell widths apart
        rows.append(dict(mode=mode, length=int(length), bits_lower=b_lo, bits_upper=b_hi,
                         at_ceiling=bool(min(b_lo, b_hi, b_mid) >= CEILING * ceiling),
                         bits=b_mid, predicted=predicted, ratio=b_mid / predicted,
                         lo=float(r_lo), hi=float(r_hi),
                         between=bool(min(b_lo, b_hi) <= b_mid <= max(b_lo, b_hi)),
                         bits_per_param=b_mid / params))
    return pd.DataFrame(rows)


def lstar_between(lstar: pd.DataFrame) -> dict | None:
    """L* of the between width against the log-log interpolation of its neighbours'."""
    lstm = lstar[(lstar["cell"] == "lstm") & (lstar["alphabet_size"] == 26)].set_index("units")
    if not {BETWEEN["units"], BETWEEN["lower"], BETWEEN["upper"]} <= set(lstm.index):
        return None
    w = math.log(BETWEEN["units"] / BETWEEN["lower"]) / math.log(BETWEEN["upper"] / BETWEEN["lower"])
    lo_l, hi_l = lstm.loc[BETWEEN["lower"], "L_star"], lstm.loc[BETWEEN["upper"], "L_star"]
    def interp(a: float, b: float) -> float:
        return math.exp((1 - w) * math.log(a) + w * math.log(b))

    predicted = interp(lo_l, hi_l)
    # the neighbours' own intervals carried through the interpolation
    p_lo = interp(lstm.loc[BETWEEN["lower"], "lo"], lstm.loc[BETWEEN["upper"], "lo"])
    p_hi = interp(lstm.loc[BETWEEN["lower"], "hi"], lstm.loc[BETWEEN["upper"], "hi"])
    r = lstm.loc[BETWEEN["units"]]
    return dict(units=BETWEEN["units"], L_star=float(r["L_star"]), lo=float(r["lo"]),
                hi=float(r["hi"]), below=float(r["below"]), above=float(r["above"]),
                predicted=predicted, L_lower=float(lo_l), L_upper=float(hi_l),
                predicted_lo=p_lo, predicted_hi=p_hi,
                predicted_inside=bool(r["lo"] <= predicted <= r["hi"]),
                consistent=bool(p_lo <= r["hi"] and r["lo"] <= p_hi),
                between=bool(lo_l <= r["L_star"] <= hi_l),
                bits_per_param=float(r["bits_per_param"]))


def lstar_bisection(table: pd.DataFrame) -> pd.DataFrame:
    """capacity_lstar: L* per width from lengths at quarter powers of two, each with its own
    sequences. The point is analysis.frontier's (isotonic crossing of 1/2); its interval is
    the bootstrap's widened to the tested lengths either side, so it is never finer than
    the grid; `resolution` is the ratio of those two lengths."""
    from analysis.frontier import frontier as fit_frontier

    f = fit_frontier(table).frontier
    shortest = (table.assign(units=table["units"].astype(int)).sort_values("length")
                .groupby("units").apply(lambda g: g[g["length"] == g["length"].min()]
                                        ["memorized"].mean(), include_groups=False))
    rows = []
    for _, r in f.iterrows():
        below = r["L_below"] if not pd.isna(r["L_below"]) else r["L_star"]
        above = r["L_above"] if not pd.isna(r["L_above"]) else r["L_star"]
        lo = min(float(r["L_lo"]), float(below))
        hi = max(float(r["L_hi"]), float(above))
        rows.append(dict(cell=r["cell"], units=int(r["units"]), alphabet_size=int(r["alphabet_size"]),
                         lr=float(r["lr"]), budget_steps=int(r["budget_steps"]),
                         params=int(r["parameters"]), L_star=float(r["L_star"]), lo=lo, hi=hi,
                         bound=r["bound"], below=float(below), above=float(above),
                         # not all memorized at the shortest length tested: L* may lie below
                         lo_open=bool(lo == table["length"][table["units"] == r["units"]].min()
                                      and shortest.get(int(r["units"]), 1.0) < 1.0),
                         resolution=float(above / below) if below else math.nan,
                         exposures_at_lstar=float(r["budget_steps"]) / float(r["L_star"]),
                         bits_per_param=float(r["L_star"]) * math.log2(r["alphabet_size"])
                         / float(r["parameters"])))
    return pd.DataFrame(rows)


def lr_check(before: pd.DataFrame, after: pd.DataFrame, extra: pd.DataFrame | None,
             table: pd.DataFrame | None, short: pd.DataFrame | None = None) -> pd.DataFrame:
    """The lr choice after capacity_lr_more joined capacity_lr (`after`), beside the choice
    before it (`lr_before`, `edge_before`) for the slices the extension touched
    (`extended`, with the lrs `extra` added to its grid: `added_lr`), and the lrs the
    capacity runs of each slice trained at (`trained_lr`;
    `trained_at_choice` False where none of them is the lr chosen now, None where no
    capacity run has the slice's name). `short`: the choice at the selection's first length
    (capacity_lr and capacity_lr_more), given as `lr_short` and `length_short` where the
    choice now is made at a longer one (capacity_lr_long)."""
    prev = before.set_index("slice")
    out = after.copy()
    added = ({} if extra is None else
             {s: sorted({float(x) for x in g}) for s, g in extra.groupby("slice")["lr"]})
    out["extended"] = out["slice"].isin(set(added))
    out["added_lr"] = [added.get(s, []) for s in out["slice"]]
    out["lr_before"] = out["slice"].map(prev["lr"])
    out["edge_before"] = out["slice"].map(prev["at_edge"]).astype(bool)
    trained = ({} if table is None else
               {s: sorted({float(x) for x in g}) for s, g in table.groupby("slice")["lr"]})
    out["trained_lr"] = [trained.get(s, []) for s in out["slice"]]
    budgets = ({} if table is None or "max_epochs" not in table else
               {s: sorted({int(x) for x in g}) for s, g in table.groupby("slice")["max_epochs"]})
    out["capacity_budgets"] = [budgets.get(s, []) for s in out["slice"]]
    first = (short if short is not None else before).set_index("slice")
    longer = out["length"].to_numpy() > out["slice"].map(first["length"]).to_numpy()
    out["lr_first"] = out["slice"].map(first["lr"])
    out["edge_first"] = out["slice"].map(first["at_edge"]).astype(bool)
    out["lr_short"] = out["slice"].map(first["lr"]).where(longer)
    out["length_short"] = out["slice"].map(first["length"]).where(longer)
    out["trained_at_choice"] = pd.Series(
        [any(math.isclose(x, lr) for x in t) if t else None
         for t, lr in zip(out["trained_lr"], out["lr"], strict=True)], index=out.index,
        dtype=object)
    return out


def rerun_agreement(old: pd.DataFrame | None, new: pd.DataFrame | None) -> dict | None:
    """The runs of `new` that re-ran runs of `old` (same run id): how many, how many kept
    the same bits stored to the bit, the ratio new / old of bits stored (median and range),
    and the CPUs and kernels that made each (records are tied to both: training turns a
    rounding difference into a different trajectory)."""
    if old is None or new is None:
        return None
    a, b = old.set_index("run_id"), new.set_index("run_id")
    ids = sorted(set(a.index) & set(b.index))
    if not ids:
        return None
    x = a.loc[ids, "bits_stored"].to_numpy(dtype=float)
    y = b.loc[ids, "bits_stored"].to_numpy(dtype=float)
    r = y / x
    return dict(runs=len(ids), identical=int((x == y).sum()), median=float(np.median(r)),
                slices=sorted(str(c) for c in b.loc[ids, "slice"].unique()) if "slice" in b else [],
                min=float(r.min()), max=float(r.max()),
                cpus_old=sorted(str(c) for c in a.loc[ids, "cpu"].dropna().unique()),
                cpus_new=sorted(str(c) for c in b.loc[ids, "cpu"].dropna().unique()),
                **{f"kernels_{side}": sorted(str(k) for k in t.loc[ids, "kernel"].dropna().unique())
                   if "kernel" in t.columns else [] for side, t in (("old", a), ("new", b))})


def split_by_lr(table: pd.DataFrame, choice: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the runs each curve is read from, the rest): where a slice's capacity runs trained at
    several lrs, its curve is the one at the lr chosen for the slice (capacity_lr), or the
    nearest to it on a log scale where none is; the runs at its other lrs are set apart.

    >>> t = pd.DataFrame(dict(slice=["a", "a", "b"], lr=[3e-3, 1e-2, 1e-3]))
    >>> main, rest = split_by_lr(t, pd.DataFrame(dict(slice=["a"], lr=[3e-2])))
    >>> main["lr"].tolist(), rest["lr"].tolist()
    ([0.01, 0.001], [0.003])
    """
    chosen = dict(zip(choice["slice"], choice["lr"], strict=True))
    keep = np.ones(len(table), dtype=bool)
    for sl, part in table.groupby("slice", sort=False):
        lrs = sorted(set(part["lr"]))
        if len(lrs) < 2 or sl not in chosen:
            continue
        best = min(lrs, key=lambda x: abs(math.log(x / chosen[sl])))
        keep[(table["slice"] == sl).to_numpy() & ~np.isclose(table["lr"], best)] = False
    return table[keep].reset_index(drop=True), table[~keep].reset_index(drop=True)


def window_ratios(pts: pd.DataFrame) -> pd.DataFrame:
    """The online windows of one network against window 16, per exposure, on the clipped bits
    stored: each window's largest mean over the lengths that every window tried (the clip's
    credit grows with the length, so a window tried to longer lengths would gain from it
    alone), and its ratio to window 16's."""
    rows = []
    online = pts[pts["mode"].str.startswith("online k=")]
    for key, part in online.groupby(["cell", "units", "alphabet_size", "exposures"], sort=True):
        if part["mode"].nunique() < 2 or "online k=16" not in set(part["mode"]):
            continue
        sets = [set(g["length"]) for _, g in part.groupby("mode")]
        common = sorted(set.intersection(*sets))
        if not common:
            continue
        best = part[part["length"].isin(common)].groupby("mode")["bits"].max()
        for m, b in best.items():
            rows.append(dict(zip(["cell", "units", "alphabet_size", "exposures"], key,
                                 strict=True), window=int(m.split("=")[1]), bits=float(b),
                             ratio=float(b / best["online k=16"]), shortest=int(common[0]),
                             longest=int(common[-1])))
    return pd.DataFrame(rows)
