"""The online lr at an online curve's peak (issue 17, items 3 and 4).

An online curve's lr was chosen on another sequence, at a length its curve later passed
(capacity_lr, capacity_lr_long). `capacity_online_lr_peak` trains the curve again at a third
and three times its lr at its peak length, on the curve's own sequences there: a sensitivity
check, not an lr choice. Online over offline is an upper bound only while online is at its
best lr, so the check either keeps that bound (neither neighbour stores more) or removes it.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.capacity_budget import lr_sensitivity, ratio_cell
from analysis.code_length import ONLINE, at_chosen_lr


def online_lr_check(seqs: pd.DataFrame, other: pd.DataFrame, saved: pd.DataFrame) -> pd.DataFrame:
    """Per network, budget, length and other lr: bits saved at the other lr over those at the
    curve's own, per sequence (lr_sensitivity's rows). `seqs`: per_sequence rows of the curves
    at their chosen lr; `other`: per_sequence rows of the check; `saved`: the unclipped
    capacities, whose online peak at the full budget gives `curve_peak`."""
    own = seqs[seqs["mode"] == ONLINE]
    check = other[other["mode"] == ONLINE]
    if own.empty or check.empty:
        return pd.DataFrame()
    curves = at_chosen_lr(saved) if len(saved) else saved
    if len(curves):
        curves = curves[(curves["mode"] == ONLINE) & (curves["exposures"] == curves["max_epochs"])]
    return lr_sensitivity(own, check, curves if len(curves) else None)


def where_checked(r) -> str:
    """'16,384 letters (the curve's peak)', or where the peak lies now."""
    peak = r.get("curve_peak")
    if peak is None or pd.isna(peak):
        where = "no peak known"
    elif int(peak) == r["length"]:
        where = "the curve's peak"
    else:
        where = f"its peak is at {int(peak):,}"
    return f"{int(r['length']):,} letters ({where})"


BETWEEN = "capacity_online_lr_between"  # the half-steps of the lr grid


def lr_step(own: float, other: float) -> str:
    """How `other` lies from `own`: 'a third', 'three times', else the factor ('x0.58')."""
    factor = other / own
    if math.isclose(factor, 1 / 3, rel_tol=0.15):  # the grid: 1e-3 -> 3e-4 is x0.3
        return "a third"
    if math.isclose(factor, 3, rel_tol=0.15):
        return "three times"
    return f"x{factor:.2f}"


def online_lr_reason(rows: pd.DataFrame) -> str | None:
    """One verdict's reason from a network's check rows: which neighbour stores more, if any."""
    if rows.empty:
        return None
    r0 = rows.iloc[0]
    parts = [f"{lr_step(r['lr_own'], r['lr_other'])} (lr {r['lr_other']:g}: {ratio_cell(r)})"
             for _, r in rows.sort_values("lr_other").iterrows()]
    better = rows[rows["lo"] > 1]
    head = (f"online's lr at its peak, {int(r0['max_epochs'])} exposures: at {where_checked(r0)}, on the "
            f"curve's own {int(r0['sequences'])} sequences, {', '.join(parts[:-1])}"
            f"{' and ' if len(parts) > 1 else ''}{parts[-1]} of its lr "
            f"{r0['lr_own']:g}")
    if len(better):
        return (head + ": a neighbouring lr stores more, so online is not at its best lr there "
                "and online over offline may be understated")
    if len(rows) >= 2:
        return head + (": neither" if len(rows) == 2 else ": none") + \
            " stores more (paired intervals over the sequences)"
    return head + ": one neighbour tried, and it stores no more"


def with_online_lr(verdicts: list[dict], check: pd.DataFrame) -> list[dict]:
    """Each verdict with its network's online lr check as one more reason."""
    if check.empty:
        return verdicts
    for v in verdicts:
        mine = check[(check["cell"] == v["cell"]) & (check["units"] == v["units"])
                     & (check["alphabet_size"] == v["alphabet_size"])]
        reason = online_lr_reason(mine)
        if reason:
            v["reasons"].append(reason)
    return verdicts

