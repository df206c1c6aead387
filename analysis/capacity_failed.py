"""Is a failed length a failure of training? (issue 17, item 3)

A length beyond a curve's peak whose mean holds less than COLLAPSE of the peak is counted
as failed to train (capacity_checks.last_doubling): it is read as showing no decline of
what the network holds, and left out of the lengths past the peak. `capacity_failed_lr`
tests that reading: every failed length of a chosen-lr curve trains again at a third of the
curve's lr, on the very sequences it failed on. Where the lower lr holds COLLAPSE of the
plateau or more, the network can hold that much of the longer sequence and training failed
at the curve's lr; where it does not, the failure stays unexplained (the peak may then be
where the network's hold declines, and the reading is untested there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.capacity_budget import NETWORK, t_mean
from analysis.capacity_checks import COLLAPSE
from analysis.code_length import at_chosen_lr
from analysis.fmt import ci_or_point, family

KEYS = [*NETWORK, "mode", "max_epochs", "length", "gen_seed"]


def failed_check(seqs: pd.DataFrame, check: pd.DataFrame, saved: pd.DataFrame) -> pd.DataFrame:
    """Per curve, failed length and lower lr: bits saved at the curve's lr and at the lower
    one as shares of the curve's plateau (means over the same sequences, t intervals),
    `held_on`: on how many sequences the lower lr holds COLLAPSE of the plateau or more, and
    `held`: whether its mean does. A length that holds COLLAPSE of the current plateau at
    the curve's lr is no longer failed (the plateau has moved since) and is left out.
    `seqs`: per_sequence rows of the curves at their chosen
    lr; `check`: per_sequence rows of capacity_failed_lr; `saved`: the unclipped capacities."""
    curves = at_chosen_lr(saved)
    curves = curves[curves["exposures"] == curves["max_epochs"]]
    plateau = curves.set_index([*NETWORK, "mode", "max_epochs"])["capacity"]
    pairs = check.merge(seqs, on=KEYS, suffixes=("_other", "_own"))
    pairs = pairs[~np.isclose(pairs["lr_other"], pairs["lr_own"])]
    group = [*NETWORK, "mode", "max_epochs", "length", "lr_own", "lr_other"]
    rows = []
    for key, part in pairs.groupby(group, sort=True):
        row = dict(zip(group, key, strict=True))
        peak = plateau.get(tuple(row[k] for k in [*NETWORK, "mode", "max_epochs"]))
        if peak is None or not np.isfinite(peak):
            continue
        # shares of one number, the plateau (an arithmetic mean): their arithmetic mean is
        # the mean saving's share, which the plateau itself has at 1
        m_own, lo_own, hi_own = t_mean(part["saved_end_own"].to_numpy(float) / peak)
        if m_own >= COLLAPSE:  # sequences added since moved the plateau: no longer failed
            continue
        m, lo, hi = t_mean(part["saved_end_other"].to_numpy(float) / peak)
        other = part["saved_end_other"] / peak
        rows.append({**row, "sequences": len(part), "plateau": float(peak),
                     "own_share": m_own, "own_lo": lo_own, "own_hi": hi_own,
                     "other_share": m, "other_lo": lo, "other_hi": hi,
                     "held_on": int((other >= COLLAPSE).sum()), "held": bool(m >= COLLAPSE),
                     "reads_as": reading(m, lo, hi)})
    return pd.DataFrame(rows)


NO_DECLINE = "holds the plateau: training failed at its lr, no decline shown"
SOME_DECLINE = "holds more, below the plateau: training failed at its lr, and the hold declines"


def reading(share: float, lo: float, hi: float) -> str:
    """What a failed length at the lower lr says, from its share of the plateau and the
    share's interval."""
    if lo > 1:
        return "stores more than the plateau: the curve's lr limits its capacity (a lower bound)"
    if hi >= 1:
        return NO_DECLINE
    if share >= COLLAPSE:
        return SOME_DECLINE
    return "fails at both lrs"


def failed_reason(rows: pd.DataFrame) -> str | None:
    """One verdict's reason from a network's rows."""
    if rows.empty:
        return None
    parts = [f"{r['mode']} at {int(r['length']):,} letters: {r['own_share']:.2f} of the plateau "
             f"at lr {r['lr_own']:g}, {ci_or_point(r['other_share'], r['other_lo'], r['other_hi'])}"
             f" at {r['lr_other']:g} ({r['reads_as']})" for _, r in rows.iterrows()]
    return ("a failed length at a third of the lr (capacity_failed_lr, same sequences): "
            + "; ".join(parts))


def with_failed(verdicts: list[dict], check: pd.DataFrame) -> list[dict]:
    """Each verdict with its network's failed-length check as one more reason."""
    if check.empty:
        return verdicts
    for v in verdicts:
        reason = failed_reason(check[(check["cell"] == v["cell"]) & (check["units"] == v["units"])
                                     & (check["alphabet_size"] == v["alphabet_size"])])
        if reason:
            v["reasons"].append(reason)
    return verdicts


def failed_lines(check: pd.DataFrame) -> list[str]:
    """The report's table of the check."""
    if check.empty:
        return []
    held = int(check["held"].sum())
    whole = int((check["reads_as"] == NO_DECLINE).sum())
    lines = ["", "### Failed lengths at a third of the lr (`capacity_failed_lr`)", "",
             f"A length beyond the peak holding less than {COLLAPSE:g} of it is counted as failed "
             "to train and left out of the lengths past the peak (one that holds more of the "
             "plateau as it stands now is no longer failed and is left out here). Each failed length of a "
             "chosen-lr curve trained again at a third of the curve's lr, on the same "
             "sequences, all else as the curve: bits saved as a share of the curve's plateau "
             "(mean over the sequences, t interval). "
             f"At the lower lr {held} of {len(check)} failed lengths hold {COLLAPSE:g} of the "
             "plateau or more: there the network holds that much of the longer sequence, and "
             f"training failed at the curve's lr; {whole} of them hold the plateau within their "
             "interval (no decline shown), the others hold less than it (the hold declines "
             "there); where a length holds less than "
             f"{COLLAPSE:g} at both lrs, the reading is untested. Intervals over 3 sequences.",
             "", "| network | training | budget | length | lr | share of the plateau at the "
             f"curve's lr | at a third of it | sequences holding {COLLAPSE:g} of it | "
             "reads as |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in check.sort_values([*NETWORK, "mode", "length"]).iterrows():
        lines.append(
            f"| {family(r)} | {r['mode']} | {r['max_epochs']} | {int(r['length']):,} | "
            f"{r['lr_own']:g} -> {r['lr_other']:g} | "
            f"{r['own_share']:.2f} | "
            f"{ci_or_point(r['other_share'], r['other_lo'], r['other_hi'])} | "
            f"{r['held_on']} of {r['sequences']} | {r['reads_as']} |")
    return lines


def failed_sentence(check: list[dict]) -> str:
    """The README's line (from fit.json's rows)."""
    if not check:
        return ""
    held = [r for r in check if r["held"]]
    items = "; ".join(f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters, "
                      f"{r['mode']} at {r['length']:,}: {r['own_share']:.2f} -> "
                      f"{ci_or_point(r['other_share'], r['other_lo'], r['other_hi'])}"
                      for r in check)
    more = [r for r in check if r["other_lo"] > 1]
    return (f"- **Failed lengths at a third of the lr** (`capacity_failed_lr`: each length "
            f"beyond a peak that held less than {COLLAPSE:g} of the plateau, again at a third "
            "of the curve's lr on the same sequences; share of the plateau, t interval over "
            f"the sequences): {items}. {len(held)} of {len(check)} hold {COLLAPSE:g} of the "
            "plateau or more at the lower lr: there training failed at the curve's lr, not the "
            f"network's hold; {sum(r['reads_as'] == NO_DECLINE for r in check)} hold the plateau "
            "within their interval (no decline shown)"
            + ("; the others fail at both lrs, and why is untested" if
               len(held) < len(check) else "")
            + (". Where the lower lr stores more than the plateau ("
               + ", ".join(f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} "
                           f"letters, {r['mode']} at {r['length']:,}" for r in more)
               + "), the curve's lr limits its capacity: that capacity is a lower bound."
               if more else "."))
