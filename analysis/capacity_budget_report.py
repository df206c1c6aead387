"""The offline budget's section of REPORT.md (analysis.capacity_budget): formatting only."""

from __future__ import annotations

import math

import pandas as pd

from analysis.capacity_budget import RATIO_MEAN, ratio_cell
from analysis.capacity_checks import COLLAPSE
from analysis.fmt import ci_or_point, family, last_step


def _lengths(lengths: list[int]) -> str:
    return ", ".join(f"{n:,}" for n in lengths)


def ratio_lines(budget: pd.DataFrame) -> list[str]:
    """Per network, length and longer budget: bits saved over the short budget's, paired."""
    lines = ["| network | parameters | length | lr | budget | bits saved after 300 | "
             "after the budget | budget / 300 | bits per parameter after 300 | after the budget |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in budget.sort_values(["cell", "alphabet_size", "units", "long", "length"]).iterrows():
        capped = " (the whole sequence: capped)" if r.get("capped") else ""
        lines.append(f"| {family(r)} | {r['params']:,} | {r['length']:,}{capped} | {r['lr']:g} | "
                     f"{r['long']} | {r['saved_short']:.0f} | {r['saved_long']:.0f} | "
                     f"{ratio_cell(r)} | {r['bpp_short']:.2f} | "
                     f"{r['bpp_long']:.2f} |")
    return lines


def curve_lines(curves: pd.DataFrame) -> list[str]:
    """Per network and longer budget: its plateau, status, and the ratios beside it."""
    lines = ["| network | parameters | budget | lengths tried | plateau (bits saved) | at length "
             "| bits per parameter | status | 300-exposure capacity (bits per parameter, status)"
             " | plateau over the 300-exposure one | over the next shorter budget's | online "
             "(window 16) at this budget over it |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in curves.sort_values(["cell", "alphabet_size", "units", "max_epochs"]).iterrows():
        gain = ("" if math.isnan(r["last_gain"]) else
                f" ({last_step(r)} x{ci_or_point(r['last_gain'], r['gain_lo'], r['gain_hi'])})")
        over = (f"x{ci_or_point(r['over_short'], r['over_short_lo'], r['over_short_hi'])}"
                if not pd.isna(r.get("over_short")) else "-")
        failures = "; ".join(f"{k} of {n} runs at {length:,}"
                             for length, (k, n) in r["failed_runs"].items() if k)
        status = (f"{r['status']}{gain}" + (f"; failed beyond the peak: {failures}" if failures
                                            else "")
                  + (" (**stores less than a shorter budget at this lr: not read as a capacity**)"
                     if r["failed"] else ""))
        online = ("-" if pd.isna(r.get("online_ratio")) or r["failed"] else
                  f"{r['online_bpp']:.2f} ({r['online_status']}, lr {r['online_lr']:g}): "
                  f"x{ci_or_point(r['online_ratio'], r['online_lo'], r['online_hi'])}")
        prev = (f"x{ci_or_point(r['over_prev'], r['over_prev_lo'], r['over_prev_hi'])} (of "
                f"{int(r['prev_budget'])})" if not pd.isna(r.get("over_prev")) else "-")
        lines.append(f"| {family(r)} | {int(r['params']):,} | {int(r['max_epochs'])} | "
                     f"{_lengths(r['lengths'])} | "
                     f"{ci_or_point(r['capacity'], r['lo'], r['hi'], '.0f')} | "
                     f"{int(r['peak_length']):,} | "
                     f"{ci_or_point(r['bits_per_param'], r['bpp_lo'], r['bpp_hi'])} | "
                     f"{status} | {r['short_bpp']:.2f} ({r['short_status']}) | "
                     f"{over} | {prev} | {online} |")
    return lines


def lr_lines(lr: pd.DataFrame) -> list[str]:
    """capacity_offline_long_lr: each longer budget at another lr, paired by sequence."""
    if lr.empty:
        return []
    lines = ["", "Is the longer budgets' lr the limit? (`capacity_offline_long_lr` and "
             "`capacity_offline_long_lr_up`, a sensitivity check on the reported sequences, not "
             "an lr choice.) Each budget again at the next lr down and up on the lr grid (a "
             "third of its lr and three times it) at its curve's peak length when the check was "
             "made (before `capacity_offline_short` added shorter lengths; where the peak has "
             "moved since, the length column says where it is now), on the same sequences: the "
             "bits saved at that lr over those at the budget's own per sequence, summarized by "
             f"{RATIO_MEAN}; 3 sequences.", "",
             "| network | parameters | budget | length | own lr | other lr | bits per parameter "
             "at the own lr | at the other | other / own |", "|---|---|---|---|---|---|---|---|---|"]
    for _, r in lr.sort_values(["cell", "alphabet_size", "units", "max_epochs",
                                "lr_other"]).iterrows():
        peak = r.get("curve_peak")
        moved = (f" (the curve's peak is now at {int(peak):,})"
                 if peak is not None and not pd.isna(peak) and int(peak) != r["length"] else "")
        lines.append(f"| {family(r)} | {r['params']:,} | {r['max_epochs']} | {r['length']:,}"
                     f"{moved} | "
                     f"{r['lr_own']:g} | {r['lr_other']:g} | {r['bpp_own']:.2f} | "
                     f"{r['bpp_other']:.2f} | {ratio_cell(r)} |")
    return lines


def offline_budget_lines(budget: pd.DataFrame, curves: pd.DataFrame,
                         lr: pd.DataFrame | None = None) -> list[str]:
    """capacity_offline_budget and capacity_offline_long: the offline curves' budget."""
    if budget.empty:
        return []
    lines = ["### The offline budget: 1000 and 3000 against 300 exposures "
             "(`capacity_offline_budget`, `capacity_offline_long`, `capacity_offline_short`, "
             "`capacity_offline_shorter`)", "",
             "The offline curves that trained 300 exposures, trained again for longer budgets at "
             "their chosen lr, each with its cosine schedule stretched over the whole budget: "
             "1000 exposures at the length where the 300-exposure curve peaks "
             "(`capacity_offline_budget`) and at longer lengths, 3000 exposures where affordable "
             "(`capacity_offline_long`), one length below where each began "
             "(`capacity_offline_short`) and one more where a curve still peaked at its "
             "shortest length (`capacity_offline_shorter`), on the 300-exposure curves' own "
             "sequences wherever those exist (new draws at lengths the 300-exposure curve did "
             "not try). Each budget is a curve of its own, never joined to the 300-exposure "
             "one.", "",
             "Per length, on the same sequences: each sequence's bits saved after the budget over "
             f"those after 300, summarized by {RATIO_MEAN} (3 sequences, so indicative). Where it "
             "exceeds 1, the 300-exposure capacity was limited by its "
             "budget and is only a lower bound on what the network holds under this protocol. "
             "A length marked capped is one where the budget saves 99% or more of all the "
             "sequence holds (n log2 A): the length, not the network, limits it there.",
             "",
             *ratio_lines(budget)]
    if curves.empty:
        return lines
    lines += ["", "Each budget's curve over the lengths it tried: its plateau (the largest mean "
              "over lengths, t interval over 3 sequences) and status as for the curves above "
              "(one length: no status), over the 300-exposure capacity (the ratio of the two "
              "plateaus, a percentile interval resampling the sequences of every length, "
              "paired where both budgets trained the same sequences; with 3 sequences the "
              "resampled maximum is biased, so the point can sit at the interval's edge), over "
              "the next shorter budget's plateau, and, where an online curve trained the same "
              "budget, online over it at equal exposures. That ratio is an upper bound: offline "
              "kept the lr chosen at 300 exposures, and online takes one Adam step per letter, "
              "64 per offline step. Where a curve peaks at the shortest length it tried, a "
              f"plateau at a shorter length is not measured ({int(curves['at_shortest'].sum())}"
              f" of {len(curves)} do). Beyond the peak, runs "
              f"that saved under {COLLAPSE:g} of the plateau are counted as failed: where a curve falls "
              "there, training failed rather than the network filling up. Where a budget "
              "stores less than a shorter budget at the same lr (the interval below 1), that row "
              "is not read as a capacity; why is untested (an unstable stretched schedule is a "
              "hypothesis).", "",
              *curve_lines(curves)]
    return lines + lr_lines(lr if lr is not None else pd.DataFrame())
