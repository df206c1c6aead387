"""New sequences at a curve's peak, against the ones that chose it (issue 17, item 3).

A capacity is the largest of a curve's means over lengths, so the length it is read at was
chosen on the same three sequences: the largest of several noisy means leans upwards.
`capacity_peak_pairs`, `capacity_peak_sequences` and `capacity_peak_moved` (REPLICATES)
trained new sequences, drawn after that choice, at chosen lengths. Per curve and length
where both old and new sequences were trained: the mean bits saved at the end of the budget
over the new sequences against the old, and whether the length was the curve's peak on the
old sequences alone or was declared as a chosen peak (`selected`). At a selected peak, new
below old is the choice's upward lean; at a length no choice singled out (offline trained
at online's peak) nothing leans, and the two should agree: a control. Across curves an
exact two-sided sign test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.fmt import family

REPLICATES = ("capacity_peak_pairs", "capacity_peak_sequences", "capacity_peak_moved")
# These add sequences only where a curve peaked when they were declared (capacity_peak_moved:
# on the old sequences and capacity_peak_pairs' together); capacity_peak_pairs also trains
# offline at online's peak, a length no choice of offline's singled out unless it peaked there.
AT_CHOSEN_PEAKS = ("capacity_peak_sequences", "capacity_peak_moved")
CURVE = ["slice", "cell", "units", "alphabet_size", "update", "bptt", "mode", "params",
         "max_epochs", "lr"]


def replication(seqs: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per curve and length holding both: old and new sequences' mean saving, their ratio
    (new / old), a Welch t interval of the difference as a share of the old mean, and
    `selected`. `seqs`: per_sequence rows of the curves at their chosen lr (new ones
    included); `new`: the REPLICATES' runs (their slice, length and gen_seed mark the new
    sequences, their spec whether the length was chosen: AT_CHOSEN_PEAKS)."""
    if seqs.empty or new is None or new.empty:
        return pd.DataFrame()
    fresh = set(zip(new["slice"], new["length"], new["gen_seed"], strict=True))
    chosen = set(zip(*[new.loc[new["spec"].isin(AT_CHOSEN_PEAKS), c] for c in ("slice", "length")],
                     strict=True))
    is_new = np.array([k in fresh for k in zip(seqs["slice"], seqs["length"], seqs["gen_seed"],
                                                 strict=True)], dtype=bool)
    seqs = seqs.assign(new=is_new)
    rows = []
    for key, curve in seqs.groupby(CURVE, sort=True, dropna=False):
        old = curve[~curve["new"]]
        if old.empty or not curve["new"].any():
            continue
        peak = int(old.groupby("length")["saved_end"].mean().idxmax())
        for length, part in curve.groupby("length", sort=True):
            a = part.loc[~part["new"], "saved_end"].to_numpy(float)
            b = part.loc[part["new"], "saved_end"].to_numpy(float)
            if len(a) < 2 or len(b) < 2:
                continue
            diff = b.mean() - a.mean()
            half = _welch_half(a, b)
            rows.append({**dict(zip(CURVE, key, strict=True)), "length": int(length),
                         "selected": bool(length == peak or (key[0], length) in chosen),
                         "old": len(a), "new": len(b),
                         "old_mean": float(a.mean()), "new_mean": float(b.mean()),
                         "ratio": float(b.mean() / a.mean()),
                         "lo": float(1 + (diff - half) / a.mean()),
                         "hi": float(1 + (diff + half) / a.mean())})
    return pd.DataFrame(rows)


def with_unreplicated(saved: pd.DataFrame, rep: pd.DataFrame) -> pd.DataFrame:
    """`saved` (the unclipped capacities) with `unreplicated`: where a curve's peak moved,
    after new sequences at a chosen length, to a length that rests only on the sequences
    that chose it, what the new ones showed at the chosen length ('' elsewhere)."""
    out = saved.copy()
    out["unreplicated"] = ""
    if rep.empty or saved.empty:
        return out
    chosen = rep[rep["selected"]]
    for i, r in out.iterrows():
        if r.get("peak_sequences", 3) > 3:
            continue
        mine = chosen[(chosen[CURVE] == r[CURVE]).all(axis=1)
                      & (chosen["length"] != r["peak_length"])]
        if len(mine):
            out.at[i, "unreplicated"] = (
                "peak on the sequences that chose it; new ones at " + ", ".join(
                    f"{int(m['length']):,} held x{m['ratio']:.2f} of the old there"
                    for _, m in mine.iterrows()))
    return out


def _welch_half(a: np.ndarray, b: np.ndarray) -> float:
    """Half the 95% Welch t interval of mean(b) - mean(a)."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return 0.0
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return float(stats.t.ppf(0.975, dof) * math.sqrt(va + vb))


def sign_test(rows: pd.DataFrame) -> dict:
    """How many comparisons have the new sequences below the old, and the exact two-sided
    sign test (binomial, p = 1/2) over them."""
    n, below = len(rows), int((rows["ratio"] < 1).sum()) if len(rows) else 0
    p = float(stats.binomtest(below, n).pvalue) if n else math.nan
    ratios = rows["ratio"].to_numpy(float) if n else np.array([])
    return dict(comparisons=n, below=below, p=p,
                median=float(np.median(ratios)) if n else math.nan,
                low=float(ratios.min()) if n else math.nan,
                high=float(ratios.max()) if n else math.nan)


def replication_lines(rep: pd.DataFrame) -> list[str]:
    """The report's subsection."""
    if rep.empty:
        return []
    names = ", ".join(f"`{n}`" for n in REPLICATES)
    out = ["", f"### New sequences at the peak, against those that chose it ({names})", "",
           "A capacity is read at the length where its curve's mean over three sequences is "
           "largest, a length those same sequences chose: the largest of several noisy means "
           "leans upwards. New sequences, drawn after the choice, were trained at chosen "
           "lengths. Per curve and length holding both: the mean bits saved at the end of the "
           "budget over the new sequences against the old (Welch t interval of the "
           "difference, as a share of the old mean); 'peak' where the length was the curve's "
           "peak on the old sequences alone, 'control' where no choice singled it out "
           "(offline trained at online's peak).", "",
           "| network | training | budget | length | chosen as | sequences (old, new) | bits "
           "saved: old | new | new / old |", "|---|---|---|---|---|---|---|---|---|"]
    for _, r in rep.sort_values(["cell", "alphabet_size", "units", "mode", "length"]).iterrows():
        out.append(f"| {family(r)} | {r['mode']}, lr {r['lr']:g} | {int(r['max_epochs'])} | "
                   f"{int(r['length']):,} | {'peak' if r['selected'] else 'control'} | "
                   f"{int(r['old'])}, {int(r['new'])} | {r['old_mean']:,.0f} | "
                   f"{r['new_mean']:,.0f} | x{r['ratio']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}] |")
    out += ["", replication_summary(rep)]
    return out


def replication_summary(rep: pd.DataFrame) -> str:
    """One sentence per kind of length: how many fell, the median ratio, the sign test."""
    parts = []
    for selected, words in ((True, "at the peaks the old sequences chose"),
                            (False, "at the controls")):
        s = sign_test(rep[rep["selected"] == selected])
        if not s["comparisons"]:
            continue
        parts.append(f"{words}, the new sequences saved less than the old in {s['below']} of "
                     f"{s['comparisons']} (median x{s['median']:.2f}, range x{s['low']:.2f}-"
                     f"x{s['high']:.2f}; exact sign test p {s['p']:.2g})")
    below = rep[rep["hi"] < 1]
    shown = ("; intervals wholly below 1: " + ", ".join(
        f"{family(r)} {r['mode']} at {int(r['length']):,} (x{r['ratio']:.2f})"
        for _, r in below.iterrows()) if len(below) else "; no interval wholly below 1")
    return ("New over old: " + "; ".join(parts) + shown + ". A capacity's size is the mean "
            "at its peak over all its sequences, old and new (the capacity table); how far "
            "the old three leaned is this comparison's measure.")


def replication_sentence(rows: list[dict]) -> str:
    """The README's line."""
    if not rows:
        return ""
    return (f"- **New sequences at the peak** ({', '.join(f'`{n}`' for n in REPLICATES)}: "
            "sequences drawn after a curve's peak was chosen, trained at it): "
            + replication_summary(pd.DataFrame(rows)))
