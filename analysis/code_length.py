"""Capacity on an unclipped measure (issue 17): the code-length saving.

Bits stored (seqmem.bits) sums max(0, log2 A - cross-entropy) over positions, as the issue
defined it. The clip makes it biased upwards, more so the longer the sequence: a position
predicted worse than uniform counts zero instead of against, so a network that knows
nothing of its sequence is credited with its lucky positions (an untrained LSTM "stores"
about 0.06 bits per letter of a uniform 26-letter sequence: 525 bits at 8192 letters),
and the clipped curves keep rising where the network has stopped learning. The literature's
anchors count the unclipped saving (Morris et al.: H(X) - H(X | model); Collins et al.:
mutual information). This module computes it from the last pass's training loss, which
every record holds, and reads capacity as its plateau. That loss is the in-sample code
length of the last pass, and it does not charge for what was learned: offline, it is the
nearly frozen final model's (cosine decay ends near zero); online, the weights still move
at a constant lr within the pass, so an online saving can exceed a frozen model's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.capacity_checks import last_doubling
from analysis.load import numbers


def saved_last_pass(df: pd.DataFrame) -> np.ndarray:
    """The code-length saving of the last pass, in bits: n (log2 A - its mean training loss
    in bits), the unclipped counterpart of bits stored. Where a position's prediction is
    worse than uniform it counts against, not as zero, so a model that knows nothing of
    the sequence saves about nothing; bits stored (clipped) credits it with its lucky
    positions. Only for the loss on the logits (the notebook's loss is not a code length);
    it is the loss of a pass during which the weights still move (online: letter by letter)."""
    loss = numbers(df["final_loss"])
    a = df["alphabet"].str.len().to_numpy(dtype=float)
    n = numbers(df["length"])
    out = n * (np.log2(a) - loss / math.log(2))
    return np.where(df["loss"].to_numpy() == "logits", out, np.nan)


def code_length_capacity(seqs: pd.DataFrame, keys: list[str], seed: int = 0) -> pd.DataFrame:
    """Capacity on the unclipped measure (capacity.saved_last_pass) at each curve's budget:
    per length the mean over sequences (t interval); the plateau is the largest mean, with
    how many lengths lie beyond it and the status of `end_gain`; beside it the clipped bits
    at the same length and what the clipped measure credits an untrained network with at
    the longest length (bits_start: its bias, which grows with the length)."""
    from analysis.capacity import _mean_ci

    rng = np.random.default_rng(seed)
    rows = []
    for key, part in seqs.groupby(keys, sort=True, dropna=False):
        by_len = part.groupby("length")
        means = by_len["saved_end"].mean().dropna().sort_index()
        if means.empty:
            continue
        peak_len = int(means.idxmax())
        m, lo, hi = _mean_ci(part.loc[part["length"] == peak_len, "saved_end"].to_numpy(float))
        d = last_doubling(part, "saved_end", rng) or dict(
            last_length=int(means.index[-1]), last_gain=math.nan, gain_lo=math.nan,
            gain_hi=math.nan, lengths_beyond=0, status="one length")
        last = d["last_length"]
        params = float(part["params"].iloc[0])
        rows.append({**dict(zip(keys, key, strict=True)), "capacity": m, "lo": lo, "hi": hi,
                     "peak_length": peak_len, **d, "bits_per_param": m / params,
                     "bpp_lo": lo / params, "bpp_hi": hi / params,
                     "clipped_at_peak": float(by_len["bits_end"].mean()[peak_len]),
                     "untrained_clipped_at_last": float(by_len["bits_start"].mean()[last])})
    return pd.DataFrame(rows)


def online_offline(saved: pd.DataFrame) -> pd.DataFrame:
    """Online (window 16) capacity over offline on the unclipped measure, per network where
    both trained the same budget in exposures."""
    base = ["cell", "units", "alphabet_size", "max_epochs"]
    on = saved[saved["mode"] == "online k=16"].set_index(base)
    off = saved[saved["mode"] == "offline"].set_index(base)
    both = on.index.intersection(off.index)
    rows = [dict(zip(base, key, strict=True), params=int(on.loc[key, "params"]),
                 online=float(on.loc[key, "bits_per_param"]),
                 online_status=on.loc[key, "status"],
                 offline=float(off.loc[key, "bits_per_param"]),
                 offline_status=off.loc[key, "status"],
                 ratio=float(on.loc[key, "capacity"] / off.loc[key, "capacity"]))
            for key in both]
    return pd.DataFrame(rows, columns=[*base, "params", "online", "online_status", "offline",
                                       "offline_status", "ratio"])


def saved_points(seqs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per curve and length, at the budget: the mean over sequences of the unclipped saving
    (t interval), of the clipped bits stored, and of the clipped bits before training."""
    from analysis.capacity import _mean_ci

    rows = []
    for key, part in seqs.groupby([*keys, "length"], sort=True, dropna=False):
        m, lo, hi = _mean_ci(part["saved_end"].to_numpy(float))
        rows.append({**dict(zip([*keys, "length"], key, strict=True)), "saved": m,
                     "lo": lo, "hi": hi, "clipped": float(part["bits_end"].mean()),
                     "untrained": float(part["bits_start"].mean())})
    return pd.DataFrame(rows)
