"""Online over offline, paired by sequence, with an exact test (issue 17, item 4).

The ratio of the two plateaus carries a percentile bootstrap over 3 sequences per length:
with so few clusters it is anti-conservative. Here the same comparison rests on every
sequence both updates trained where online has stopped gaining: the lengths from the online
curve's peak on, less those where either side failed to train (its mean below COLLAPSE of
its own plateau), and less each sequence that failed on either side (its saving below
COLLAPSE of that side's plateau). Per sequence the log of online's bits saved over offline's; their mean
(a geometric-mean ratio), an exact two-sided sign-flip test of no difference, and the
interval that inverts it: every ratio r whose test of log(online / offline) - log r is not
rejected at 5%. Each sequence is an independent draw (lengths never share one), so it is a
cluster of its own; with n of them the smallest p is 2 / 2^n, so fewer than 6 cannot reject
at 5% and give no finite interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.capacity_checks import COLLAPSE
from analysis.code_length import ONLINE, at_chosen_lr
from analysis.exact import sign_flip_interval, sign_flip_p, sign_patterns
from analysis.load import group_rng

PAIRED_COLUMNS = ["sequences", "lengths_used", "less_on", "paired_ratio", "paired_lo",
                  "paired_hi", "p"]


def _held(means: pd.Series) -> pd.Series:
    """A curve's lengths that did not fail to train (mean at least COLLAPSE of its peak)."""
    return means[means >= COLLAPSE * means.max()]


def paired_ratio_exact(saved: pd.DataFrame, reads: pd.DataFrame, ratio: pd.DataFrame,
                       seed: int = 0) -> pd.DataFrame:
    """Per online/offline ratio (code_length.online_offline's rows): the geometric-mean
    ratio over the sequences both trained from the online peak on, its exact sign-flip
    interval and p, how many sequences, on how many online stored less, and the lengths."""
    base = ["cell", "units", "alphabet_size"]
    curves = at_chosen_lr(saved)
    rows = []
    for _, r in ratio.iterrows():
        on_curve = curves[(curves[base] == r[base]).all(axis=1) & (curves["mode"] == ONLINE)
                          & (curves["exposures"] == r["exposures"])]
        if on_curve.empty:
            continue
        on_curve = on_curve.iloc[0]
        pick = (reads[base] == r[base]).all(axis=1) & (reads["exposures"] == r["exposures"])
        on = reads[pick & (reads["mode"] == ONLINE) & np.isclose(reads["lr"], on_curve["lr"])]
        off = reads[pick & (reads["mode"] == "offline")
                    & np.isclose(reads["lr"], r["offline_lr"])]
        held = (set(_held(on.groupby("length")["saved"].mean()).index)
                & set(_held(off.groupby("length")["saved"].mean()).index))
        lengths = sorted(n for n in held if n >= on_curve["peak_length"])
        pairs = on[on["length"].isin(lengths)].merge(
            off[off["length"].isin(lengths)], on=["length", "gen_seed"], suffixes=("_on", "_off"))
        # a sequence that failed to train on either side is no pair either
        floor_on = COLLAPSE * on.groupby("length")["saved"].mean().max()
        floor_off = COLLAPSE * off.groupby("length")["saved"].mean().max()
        pairs = pairs[(pairs["saved_on"] >= floor_on) & (pairs["saved_off"] >= floor_off)
                      & (pairs["saved_on"] > 0) & (pairs["saved_off"] > 0)]
        x = np.log(pairs["saved_on"].to_numpy(float) / pairs["saved_off"].to_numpy(float))
        row = {**{k: r[k] for k in base}, "exposures": int(r["exposures"]),
               "offline_lr": float(r["offline_lr"]),
               **dict(zip(PAIRED_COLUMNS, (len(x), sorted({int(n) for n in pairs["length"]}),
                                           int((x < 0).sum()), *[math.nan] * 4), strict=True))}
        if len(x):
            patterns = sign_patterns(len(x), group_rng(seed, (*r[base], r["exposures"],
                                                          r["offline_lr"])))
            lo, hi = sign_flip_interval(x, patterns)
            row.update(paired_ratio=float(np.exp(x.mean())), paired_lo=float(np.exp(lo)),
                       paired_hi=float(np.exp(hi)), p=sign_flip_p(x, patterns))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*base, "exposures", "offline_lr", *PAIRED_COLUMNS])


def paired_cell(r) -> str:
    """'x0.59 [0.55, 0.67], 6 sequences at 32,768, 65,536 (online less on 6; p 0.031)', or
    without a finite interval, 'x0.79, 3 sequences at 32,768 (online less on 3; p 0.25: no
    exact interval)'."""
    n = r.get("sequences")
    if n is None or n != n or not n:
        return "no sequence both trained past online's peak"
    bounded = r["paired_lo"] == r["paired_lo"]
    head = f"x{r['paired_ratio']:.2f}" + (f" [{r['paired_lo']:.2f}, {r['paired_hi']:.2f}]"
                                          if bounded else "")
    at = ", ".join(f"{int(x):,}" for x in r["lengths_used"])
    return (f"{head}, {int(n)} sequences at {at} (online less on {int(r['less_on'])}; "
            f"p {r['p']:.2g}{'' if bounded else ': no exact interval'})")
