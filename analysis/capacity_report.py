"""The capacity section of REPORT.md (analysis.capacity): formatting only."""

from __future__ import annotations

import math

import pandas as pd

from analysis.capacity import EXPOSURES, LITERATURE, Capacity
from analysis.capacity_budget import RATIO_MEAN, ratio_cell
from analysis.capacity_budget_report import offline_budget_lines
from analysis.capacity_checks import status_counts
from analysis.capacity_failed import failed_lines
from analysis.capacity_online_lr import BETWEEN, where_checked
from analysis.capacity_replicate import replication_lines
from analysis.code_length_report import saved_section
from analysis.divergence import CLIFF_G, DELTA_AIC, FAR_LC, FIT_DIGITS, IDENTIFIED, TIE
from analysis.divergence import TABLES as TABLES_READ
from analysis.divergence_check import FRESH, NO_FIT, SAME
from analysis.exact import ALPHA
from analysis.fmt import ci_or_point, family, last_step, specs_named


def lr_table(choice: pd.DataFrame) -> str:
    lines = ["| slice | length | exposures | bits saved, unclipped, by lr (median over its runs there) | "
             "bits stored, clipped, by lr | chosen lr | chosen on | the other measure would "
             "choose | margin over the next-best lr | capacity runs trained at |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in choice.iterrows():
        saved = ", ".join(f"{k}: {v:g}" for k, v in r["saved_by_lr"].items()) or "-"
        by = ", ".join(f"{k}: {v:g}" for k, v in r["bits_by_lr"].items())
        edge = " (grid edge)" if r["at_edge"] else ""
        trained = (", ".join(f"{x:g}" for x in r["trained_lr"]) if r["trained_lr"] else "-")
        if r["trained_at_choice"] is not None and not r["trained_at_choice"]:
            trained += " (**not the lr chosen now**)"
        other_lr = r["lr_clipped"] if r["chosen_on"] == "unclipped" else r["lr_unclipped"]
        other = ("-" if math.isnan(other_lr) else "the same"
                 if math.isclose(other_lr, r["lr"]) else f"**{other_lr:g}**")
        lines.append(f"| {r['slice']} | {r['length']} | {r['exposures']} | {saved} | {by} | "
                     f"{r['lr']:g}{edge} | {r['chosen_on']} | {other} | x{r['margin']:.3f} | "
                     f"{trained} |")
    return "\n".join(lines)


def lr_extension_lines(choice: pd.DataFrame) -> list[str]:
    """capacity_lr_more: the choice before and after the next lr up joined the grid."""
    ext = choice[choice["extended"]]
    if ext.empty:
        return []
    items = []
    for _, r in ext.iterrows():
        where = "still at the grid's edge" if r["edge_first"] else "now inside the grid"
        items.append(f"{r['slice']}: {r['lr_before']:g}"
                     + (" (at the edge)" if r["edge_before"] else "")
                     + f" before, {r['lr_first']:g} with "
                     + ", ".join(f"{x:g}" for x in r["added_lr"]) + f" added, {where}"
                     + ("; its capacity runs trained at the lr chosen now" if r["trained_at_choice"]
                        else "; its capacity runs trained at "
                        + ", ".join(f"{x:g}" for x in r["trained_lr"])
                        + ", not the lr chosen now" if r["trained_lr"] else ""))
    return ["`capacity_lr_more` added lrs beyond the grid's edge where the choice lay there "
            "(same sequences and settings, joined to `capacity_lr` before choosing; the choice "
            "at that length): "
            + "; ".join(items) + "."]


def lr_long_lines(choice: pd.DataFrame) -> list[str]:
    """capacity_lr_long: where the choice at the capacity's own length differs from the one
    at the selection's first length, and whether the capacity runs trained at it."""
    again = choice[choice["lr_short"].notna()] if "lr_short" in choice else choice.iloc[:0]
    if again.empty:
        return []
    items = []
    for _, r in again.iterrows():
        same = math.isclose(r["lr_short"], r["lr"])
        items.append(f"{r['slice']}: {r['lr_short']:g} at {int(r['length_short']):,} letters, "
                     + (f"{r['lr']:g} again" if same else f"**{r['lr']:g}**")
                     + f" at {int(r['length']):,}"
                     + ("" if r["trained_at_choice"] or r["trained_at_choice"] is None else
                        " (its capacity curve trained at "
                        + ", ".join(f"{x:g}" for x in r["trained_lr"]) + ": not the lr chosen now)"))
    return ["`capacity_lr_long` tried each slice's lrs again near its capacity curve's peak "
            "length (the length column; the capacity table below gives each curve's peak, up to "
            "two doublings away) and at its budget (one new sequence per slice, 2 seeds), where the "
            "choice is now made, "
            "on the unclipped saving (the measure the capacity is read on): "
            + "; ".join(items) + ". The rows above show the choice at the longer length."]


def budget_lines(choice: pd.DataFrame) -> list[str]:
    """Where a slice's capacity runs train another budget than its lr was chosen at."""
    other = [r for _, r in choice.iterrows()
             if r["capacity_budgets"] and r["capacity_budgets"] != [r["exposures"]]]
    if not other:
        return ["Each lr was chosen at the budget its capacity runs train (the exposures "
                "column)."]
    return ["Each lr was chosen at the selection run's budget (the exposures column); these "
            "slices' capacity runs train another: "
            + "; ".join(f"{r['slice']} at {', '.join(map(str, r['capacity_budgets']))}"
                        for r in other)
            + ". Under cosine decay the best lr can depend on the budget, so those rows may "
            "understate the tuned value."]


def margin_lines(choice: pd.DataFrame) -> list[str]:
    """The choices the next-best lr comes within 5% of: one sequence cannot settle them."""
    close = choice[choice["margin"] < 1.05]
    if close.empty:
        return []
    return ["", f"In {len(close)} of {len(choice)} slices the next-best lr comes within 5% of "
            "the chosen one on the selection's runs (one sequence, two where `capacity_lr` "
            "and `capacity_lr_long` tried the same length; 2 seeds each), so the choice is not "
            "settled: " + ", ".join(f"{r['slice']} x{r['margin']:.3f}"
                                          for _, r in close.iterrows()) + "."]


def capacity_table(caps: pd.DataFrame) -> str:
    lines = ["| network | parameters | training | exposures | capacity (bits) | at length | "
             "bits per parameter | plateau |", "|---|---|---|---|---|---|---|---|"]
    for _, r in caps.sort_values(["cell", "alphabet_size", "units", "mode",
                                  "exposures"]).iterrows():
        plateau = ("largest at the longest length tried" if r["rising"] else
                   f"peak, {int(r['lengths_beyond'])} longer length(s) below it")
        lines.append(f"| {family(r)} | {int(r['params']):,} | {r['mode']} | {int(r['exposures'])} | "
                     f"{ci_or_point(r['capacity'], r['lo'], r['hi'], '.0f')} | {int(r['peak_length'])} | "
                     f"{ci_or_point(r['bits_per_param'], r['bpp_lo'], r['bpp_hi'])} | {plateau} |")
    return "\n".join(lines)


def ratio_table(ratio: pd.DataFrame) -> str:
    lines = ["| network | exposures | online (bits) | offline (bits) | online / offline |",
             "|---|---|---|---|---|"]
    for _, r in ratio.iterrows():
        flag = " (a bound still rising)" if r["online_rising"] or r["offline_rising"] else ""
        lines.append(f"| {family(r)} | {int(r['exposures'])} | {r['online']:.0f} | "
                     f"{r['offline']:.0f} | {ci_or_point(r['ratio'], r['lo'], r['hi'])}{flag} |")
    return "\n".join(lines)


def window_lines(windows: pd.DataFrame) -> list[str]:
    """The windows against window 16 over the lengths every window tried (clipped bits)."""
    out: list[str] = []
    if windows.empty:
        return out
    for key, part in windows.groupby(["cell", "units", "alphabet_size", "exposures"]):
        items = [f"{r['window']}: {r['bits']:.0f} bits (x{r['ratio']:.2f})"
                 for _, r in part.sort_values("window").iterrows()]
        out.append(f"- {key[0].upper()} {key[1]} units, {key[2]} letters, {key[3]} exposures, "
                   f"the most clipped bits stored over the lengths every window tried "
                   f"({part['shortest'].iloc[0]:,}-{part['longest'].iloc[0]:,}), by window: "
                   + "; ".join(items) + " (ratios against window 16).")
    return out


def unclipped_window_lines(windows: pd.DataFrame) -> list[str]:
    """The windows against window 16 on the exact unclipped saving, like for like."""
    out: list[str] = []
    for key, part in (windows.groupby(["cell", "units", "alphabet_size", "lr", "exposures"])
                      if len(windows) else []):
        items = [f"{r['window']}: {r['saved']:.0f} [{r['lo']:.0f}, {r['hi']:.0f}] bits at "
                 f"{r['peak_length']:,} letters"
                 + ("" if r["window"] == 16 else
                    f" (x{ci_or_point(r['ratio'], r['ratio_lo'], r['ratio_hi'])}, "
                    f"{r['paired']} lengths paired)")
                 for _, r in part.sort_values("window").iterrows()]
        out.append(f"- {key[0].upper()} {key[1]} units, {key[2]} letters, lr {key[3]:g}, "
                   f"{key[4]} exposures, the most bits saved (exact, unclipped; mean over 3 "
                   f"sequences, t interval) over the lengths every window tried "
                   f"({part['shortest'].iloc[0]:,}-{part['longest'].iloc[0]:,}), by window: "
                   + "; ".join(items) + " (ratios against window 16, percentile interval "
                   "resampling the sequences of every length).")
    return out


def saved_window_lines(saved: pd.DataFrame, windows: pd.DataFrame) -> list[str]:
    """Each window's unclipped capacity at its budget, with the exposures and measure, for
    the networks whose windows are compared above."""
    nets = set(zip(windows["cell"], windows["units"], windows["alphabet_size"], strict=True))
    win = [r for _, r in saved.sort_values(["units", "max_epochs"]).iterrows()
           if r["mode"].startswith("online k=") and r["exposures"] == r["max_epochs"]
           and (r["cell"], r["units"], r["alphabet_size"]) in nets]
    if not win:
        return []
    return ["- On the unclipped saving (each window at the end of its own budget; not like for "
            "like where the exposures differ): " + "; ".join(
                f"{r['cell'].upper()} {r['units']} window {r['bptt']}: {r['bits_per_param']:.2f} "
                f"bits per parameter after {r['max_epochs']} exposures ({r['status']}, "
                f"{r['measure']})" for r in win) + "."]


def frontier_lines(front: pd.DataFrame) -> list[str]:
    out = []
    for _, r in front.iterrows():
        low, high = r["lstar_low"], r["lstar_high"]
        if low is None or (isinstance(low, float) and math.isnan(low)):
            where = f"below {int(high)} letters (the shortest length tried)"
        elif high is None or (isinstance(high, float) and math.isnan(high)):
            where = f"at least {int(low)} letters (the longest length tried)"
        else:
            where = f"in [{int(low)}, {int(high)}) letters"
        out.append(f"- {family(r)}, {r['mode']}, within {int(r['max_epochs'])} exposures: "
                   f"L* {where}; share memorized by length "
                   + ", ".join(f"{k}: {v:.2f}" for k, v in r["share"].items()) + ".")
    return out


def time_lines(time: pd.DataFrame) -> list[str]:
    out = []
    for _, r in time.iterrows():
        if r["chosen"] == "divergence":
            form = (f"chosen by AIC: a divergence, steps ~ L / (1 - L/{r['divergence_lc']:.0f})"
                    f"^{r['divergence_g']:.2f} (AIC {r['aic_divergence']:.1f} against the power "
                    f"law's {r['aic_power']:.1f})")
        elif r["chosen"] == "power":
            form = (f"chosen by AIC: a power law, steps ~ L^{r['power_exponent']:.2f} (AIC "
                    f"{r['aic_power']:.1f} against the divergence's {r['aic_divergence']:.1f})")
        else:
            form = (f"steps ~ L^{r['power_exponent']:.2f}; {len(r['lengths'])} lengths cannot "
                    "tell a divergence at L* from a power law (a 3-parameter form fits 3 points "
                    "exactly): the fit on every frontier-protocol run, below, tests it")
        out.append(f"- {family(r)}: median steps to the first exact regeneration "
                   + ", ".join(f"{n}: {s:,.0f}" for n, s in zip(r["lengths"], r["median_steps"],
                                                                 strict=True))
                   + f"; {form}.")
    return out


def _step_note(r) -> str:
    """' (last step, x1.41 in length)' where the two longest lengths are not a doubling apart."""
    label = last_step(r)
    return "" if label == "last doubling" else f" ({label})"


def end_gain_lines(gain: pd.DataFrame) -> list[str]:
    """Each curve at its longest length and largest exposure: the last doubling's gain."""
    if gain.empty:
        return []
    last = gain[gain["final"]]
    counts = status_counts(gain)
    rows = "\n".join(
        f"| {family(r)} | {r['mode']} | {r['exposures']} | {r['last_length']:,} | "
        f"x{ci_or_point(r['last_gain'], r['gain_lo'], r['gain_hi'])}{_step_note(r)} | "
        f"{r['status']} |"
        for _, r in last.sort_values(["cell", "alphabet_size", "units", "mode"]).iterrows())
    return ["Where each curve stands at its longest length on the clipped bits stored "
            "(biased upwards at long lengths: not the capacity table's statuses; the last "
            "doubling of length: bits "
            "at the longest over bits at the one before, percentile interval over the "
            "sequences of both; 'level' when that interval includes no change): "
            + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ".", "",
            "| network | training | exposures | longest length | last doubling | status |",
            "|---|---|---|---|---|---|", rows]


def between_lines(cap: Capacity) -> list[str]:
    """capacity_fresh: 24 units against the interpolation of 16 and 32, made beforehand."""
    out = []
    if not cap.between.empty:
        out += ["Bits stored at 300 exposures by the 24-unit LSTM, on fresh sequences, against "
                "the log-log interpolation of the 16- and 32-unit curves at the same length "
                "(the prediction fixed in capacity_fresh's header before any run); interval: "
                "every width's sequences resampled.", "",
                "| training | length | 16 units | 32 units | 24 predicted | 24 measured | "
                "measured / predicted | between 16 and 32 | bits per parameter |",
                "|---|---|---|---|---|---|---|---|---|"]
        for _, r in cap.between.iterrows():
            out.append(f"| {r['mode']} | {r['length']:,} | {r['bits_lower']:,.0f} | "
                       f"{r['bits_upper']:,.0f} | {r['predicted']:,.0f} | {r['bits']:,.0f} | "
                       f"x{ci_or_point(r['ratio'], r['lo'], r['hi'])} | "
                       f"{'at ceiling' if r['at_ceiling'] else 'yes' if r['between'] else '**no**'}"
                       f" | {r['bits_per_param']:.2f} |")
    lb = cap.lstar_between
    if lb is not None:
        out += ["", f"L* of the 24-unit LSTM (frontier protocol, 5 fresh sequences per length "
                f"x 4 seeds): **{lb['L_star']:.0f}** [{lb['lo']:.0f}, {lb['hi']:.0f}], tested "
                f"lengths {lb['below']:.0f}-{lb['above']:.0f}; "
                + ("between" if lb["between"] else "**not between**")
                + f" its neighbours' {lb['L_lower']:.0f} (16 units) and {lb['L_upper']:.0f} "
                f"(32 units). The log-log interpolation, {lb['predicted']:.0f}, lies "
                + ("inside" if lb["predicted_inside"] else "just outside" if lb["consistent"]
                   else "**outside**")
                + f" the measured interval ({lb['L_star'] / lb['predicted']:.2f}x); with the "
                f"neighbours' own intervals it spans {lb['predicted_lo']:.0f}-"
                f"{lb['predicted_hi']:.0f}, "
                + ("which overlaps it. " if lb["consistent"] else "**which does not overlap it**. ")
                + f"Bits per parameter at L*: {lb['bits_per_param']:.2f}."]
    return out


def _lc_cell(r) -> str:
    """Lc with its profile interval, no finer than the lengths tried; 'beyond X' where the
    profile reaches its grid's end (a lower bound), 'not identified' on a ridge."""
    grid_end = FAR_LC * r["longest_memorized"]
    if r["lc_lo"] != r["lc_lo"]:
        interval = f"beyond {grid_end:,.0f} (the profile grid's end)"
    elif r["lc_open"]:
        interval = f"[{r['lc_lo']:,.0f}, beyond {grid_end:,.0f}]"
    else:
        interval = f"[{r['lc_lo']:,.0f}, {r['lc_hi']:,.0f}]"
    if not r["divergence_identified"]:
        return f"not identified; profile {interval}"
    if r["divergence_lc"] != r["divergence_lc"]:
        return f"far beyond the data; profile {interval}"
    return f"{r['divergence_lc']:,.0f} {interval}"


def divergence_lines(cap: Capacity) -> list[str]:
    """T(L) towards what the network holds, on all the frontier-protocol runs."""
    d = cap.divergence
    if d is None or d.fits.empty:
        return []
    out = [f"All runs of the frontier's protocol (lr 1e-3, window 16, 200k steps; "
           f"{', '.join(TABLES_READ)}), memorized or not, per network: the steps to the first "
           "exact regeneration fitted by censored maximum likelihood as a power law, ln T = a "
           "+ b ln L, and as a divergence, ln T = a + b ln L - g ln(1 - L/Lc) with T = inf "
           f"beyond Lc. The divergence is called when its AIC is lower by more than "
           f"{DELTA_AIC:g} (seeds of a sequence are clustered, so the likelihood overstates "
           "the evidence); Lc's interval is the profile likelihood's (chi-square, too narrow "
           "for the same reason; its grid ends at 8x the longest memorized length). Where "
           "lengths double, a wall at Lc (g near 0) cannot be told from a pole: only the "
           "LSTM at 26 letters and 8-32 units has lengths 2^(1/4) apart near L*. The "
           "divergence is searched from 10 starts; fits within "
           f"{TIE:g} nats of the best are equally likely, and where they differ in Lc or g "
           f"by more than x{IDENTIFIED:g}, its b, g and Lc are not identified (a ridge of the "
           "likelihood: which point of it a search ends on is decided by rounding, and "
           "differs between CPUs), so only Lc's profile interval is given. Identified "
           f"values are written to {FIT_DIGITS} significant digits (Lc in whole letters); a "
           f"wall's g (its point estimate below {CLIFF_G:g}) and a far Lc are not placed by "
           "the data and are not written. Lc's interval is never narrower than the lengths "
           "tried: it runs at least from the longest length memorized to the next length "
           "tried. The choice rests on in-sample AIC with every run counted as independent, "
           "though a generator seed drawn at several lengths gives prefixes of one sequence "
           "(the families column: sequences in families), so the ΔAIC overstates the "
           "evidence; the check on fresh sequences below tests it where a network has fresh "
           "runs.", "",
           "| network | lengths | sequences (families) | longest memorized | power law b | "
           "divergence: b, g | Lc [profile 95%] | ΔAIC (power - divergence) | chosen | shape |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in d.fits.iterrows():
        point = r["divergence_identified"]
        lc = "-" if r["chosen"] != "divergence" else _lc_cell(r)
        g = (f"{r['divergence_g']:.2f}" if r["divergence_g"] == r["divergence_g"]
             else f"below {CLIFF_G:g} (a wall)" if r["shape"].startswith("a wall")
             else "not placed (Lc far)")
        bg = f"{r['divergence_b']:.2f}, {g}" if point else "not identified"
        out.append(f"| {family(r)} | {r['lengths']} | {r['sequences']} ({r['families']}) | "
                   f"{r['longest_memorized']:,} | "
                   f"{r['power_b']:.2f} | {bg} | "
                   f"{lc} | {r['delta_aic']:.1f} | {r['chosen']} | "
                   f"{r['shape'] if r['chosen'] == 'divergence' else '-'} |")
    return out + divergence_fresh_lines(d.fresh)


def divergence_fresh_lines(fresh: pd.DataFrame | None) -> list[str]:
    """The forms fitted without the fresh runs and scored on them (analysis.divergence_check)."""
    if fresh is None or fresh.empty:
        return []
    out = ["", f"**On fresh sequences** ({', '.join(FRESH)}: generator seeds the fit never "
           "used). Both forms are fitted again without the fresh runs and predict them: each "
           "fresh run's censored log-likelihood (a memorized run beyond the divergence's Lc is "
           "impossible under it) and the Brier score of its probability of memorizing within "
           "the budget; the median factor between predicted and measured (Kaplan-Meier) "
           "median steps at the fresh lengths where half the runs memorized. The cluster is "
           "the generator seed: frontier_fresh draws each seed at every length, and one seed's "
           "sequences are prefixes of each other, so its lengths are one family. Per family "
           "the log-likelihood difference is summed over its lengths (a length where the two "
           f"differ by less than {SAME:g} nats counts none: both forms say its runs never "
           "memorize), and the exact two-sided sign-flip test runs over the families.", "",
           "| network | fitted without them: runs, chosen (ΔAIC) | fresh runs (families; "
           "sequences; lengths) | held-out log-likelihood per run: power, divergence | "
           "divergence - power per family (nats) | families favouring the divergence / the "
           "power law | exact p (smallest possible) | Brier: power, divergence (share "
           "memorized) | median factor: power, divergence (lengths) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for _, r in fresh.iterrows():
        lengths = ", ".join(f"{x:,}" for x in r["fresh_lengths"])
        runs = (f"{int(r['fresh_runs'])} ({int(r['fresh_families'])}; "
                f"{int(r['fresh_sequences'])}; {lengths})")
        if r["chosen_without_fresh"] == NO_FIT:
            out.append(f"| {family(r)} | {NO_FIT} | {runs} | - | - | - | - | - | - |")
            continue
        p = (f"{r['sign_flip_p']:.2g} ({r['smallest_p']:.2g})"
             if r["sign_flip_p"] == r["sign_flip_p"]
             else f"- ({int(r['ruled_out'])} runs ruled out by the divergence)")
        gains = ", ".join(f"{x:+.1f}" for x in r["family_gains"])
        out.append(f"| {family(r)} | {int(r['fit_runs'])}, {r['chosen_without_fresh']} "
                   f"({r['delta_aic_without_fresh']:.0f}) | {runs} | "
                   f"{r['power_loglik_per_run']:.2f}, {r['divergence_loglik_per_run']:.2f} | "
                   f"{gains} (sum {r['loglik_gain']:+.1f}) | {int(r['favour_divergence'])} / "
                   f"{int(r['favour_power'])} | {p} | {r['power_brier']:.3f}, "
                   f"{r['divergence_brier']:.3f} ({r['fresh_memorized']:.2f}) | "
                   f"x{r['power_factor']:.2f}, x{r['divergence_factor']:.2f} "
                   f"({int(r['median_lengths'])}) |")
    scored = fresh[fresh["chosen_without_fresh"] != NO_FIT]
    if scored.empty:
        return out
    likelier = int((scored["loglik_gain"] > 0).sum())
    brier = int((scored["divergence_brier"] < scored["power_brier"]).sum())
    factor = int((scored["divergence_factor"] < scored["power_factor"]).sum())
    shown = scored[scored["sign_flip_p"] <= ALPHA]
    out += ["", f"Out of sample the divergence gives the fresh runs the higher likelihood for "
            f"{likelier} of {len(scored)} networks, the lower Brier score for {brier} and the "
            f"smaller median factor for {factor}. "
            + (f"The exact test over families shows it at 5% for {len(shown)}. " if len(shown)
               else f"No exact test reaches 5%: with {int(scored['fresh_families'].max())} "
               "families per network the smallest possible p is "
               f"{scored['smallest_p'].min():.2g}, so this is a direction, not a "
               "demonstration. ")
            + "The median factors rest on the few fresh lengths where half the runs memorized "
            "(the count beside them)."]
    return out


def online_lr_lines(check: pd.DataFrame, specs: list[str]) -> list[str]:
    """The report's table of the check (`specs`: the specs that made it)."""
    if check.empty:
        return []
    named = specs_named(specs, "capacity_online_lr_peak")
    lines = ["", f"### The online lr at the curve's peak ({named})", "",
             "An online curve chose its lr on one other sequence (the GRU 10 and RNN 19 at a "
             "shorter length than where they now peak). Each checked curve trains again at a "
             "third and three times its lr at its peak length, on its own sequences there"
             + (f" (and, where `{BETWEEN}` trained them, at the half-steps between: its lr "
                "/ sqrt(3) and x sqrt(3))" if BETWEEN in specs else "")
             + " (a sensitivity check, not an lr choice): the bits saved at that lr over those at the "
             f"curve's own per sequence, summarized by {RATIO_MEAN} (3 sequences, so "
             "indicative). Online over offline is an upper bound only where neither stores "
             "more.", "",
             "| network | parameters | budget | length | own lr | other lr | bits per parameter "
             "at the own lr | at the other | other / own |", "|---|---|---|---|---|---|---|---|---|"]
    for _, r in check.sort_values(["cell", "units", "alphabet_size", "max_epochs", "lr_other"]).iterrows():
        lines.append(f"| {family(r)} | {r['params']:,} | {r['max_epochs']} | {where_checked(r)} | "
                     f"{r['lr_own']:g} | {r['lr_other']:g} | {r['bpp_own']:.2f} | "
                     f"{r['bpp_other']:.2f} | {ratio_cell(r)} |")
    return lines


def capacity_section(cap: Capacity | None) -> str:
    if cap is None:
        return ""
    lines = ["## Capacity, measured: bits stored per parameter, online against offline", "",
             "Every run below trained its whole budget and recorded, every 50 exposures, what "
             "it holds about its sequence, teacher-forced with the weights frozen (`seqmem.bits`): "
             "the bits stored, per position max(0, log2 A - the cross-entropy in bits) summed "
             "over one period (clipped, as the issue defined it), and, in the runs made since "
             "the column existed (`capacity_more`), the same sum unclipped (`bits_saved`). "
             "Capacity is the plateau over lengths of the unclipped saving (Morris et al.'s "
             "protocol); a peak at the longest length tried is a lower bound and says so. Where "
             "a curve falls well below its peak at longer lengths, training fails there rather "
             "than the network filling up: the peak is the most stored under this protocol "
             "and budget, which a longer budget or another lr may raise. "
             "Sequences are independent uniform draws, 3 per length (never prefixes of each "
             "other), 2 seeds each, and 6 or 9 at the peak lengths where new ones were added "
             "(the capacity table says where); intervals are over sequences and rest on those "
             "few clusters.", "",
             "### Each width's learning rate, chosen on other sequences (`capacity_lr`, "
             "extended by `capacity_lr_more` and `capacity_lr_long`"
             + (", the LSTM 64 online by `capacity_lr_online64`"
                if "capacity_lr_online64" in cap.joined else "") + ")", "",
             lr_table(cap.lr_choice), "", *lr_extension_lines(cap.lr_choice), "",
             *lr_long_lines(cap.lr_choice), "",
             *budget_lines(cap.lr_choice), *margin_lines(cap.lr_choice)]
    if cap.capacity.empty:
        lines += ["", "The capacity curves (`capacity`) are not in results/ yet."]
        return "\n".join(lines)
    rising = int(cap.capacity["rising"].sum())
    plateau = (f"In all {rising} of {len(cap.capacity)} (network, training, exposures) rows "
               "the most clipped bits were stored at the longest length tried, a rise the "
               "measure's bias produces on its own: these values are neither capacities nor "
               "lower bounds on them." if rising == len(cap.capacity) else
               f"In {rising} of {len(cap.capacity)} rows the most clipped bits were stored at "
               "the longest length tried, a rise the measure's bias can produce on its own; "
               "the others peaked inside the lengths tried.")
    lines += ["", "### Capacity per network (`capacity`, continued by "
              + ", ".join(f"`{name}`" for name in ("capacity_plateau", *cap.joined)
                          if not name.startswith("capacity_lr_"))
              + ")", "", *saved_section(cap), "",
              "On the clipped measure the issue defined (bits stored), read from the curves at "
              "each exposure; its values at long lengths include the bias above:", "",
              plateau, "", capacity_table(cap.capacity), "", *end_gain_lines(cap.end_gain), "",
              "### Online as a fraction of offline, on the clipped bits stored (biased "
              "upwards; the unclipped ratio is in the capacity section above)", "",
              "Offline is char-RNN training (chunks of 64 letters, cosine decay, clipping at 1); "
              "online is the notebook's setting with a 16-step window. Interval: percentile "
              "bootstrap over the sequences of every length (3 each, more at the peaks: "
              "indicative), both "
              "maxima from the same resample, so it can be narrower than either capacity's "
              "t-interval. Offline read before the end of its "
              "budget is mid-schedule (its lr has not yet decayed): the like-for-like row of each "
              "network is the one at the end of its offline budget (1000 exposures at 4 and 8 "
              "units and 26 letters, 300 elsewhere), which the brief and the README quote.", "",
              ratio_table(cap.online_offline)]
    win = window_lines(cap.windows)
    if win:
        lines += ["", "### The window (truncated BPTT) at one width", "", *win,
                  *unclipped_window_lines(cap.saved_windows),
                  *saved_window_lines(cap.saved, cap.windows)]
    lines += ["", "### Exact regeneration within the budget (the frontier on these runs)", "",
              *frontier_lines(cap.frontier)]
    if not cap.lstar.empty:
        lines += ["", "### L* between tested lengths 2^(1/4) apart (`capacity_lstar`)", "",
                  "The frontier's doubling brackets bisected at quarter powers of two, 5 "
                  "independent sequences per length x 4 seeds, under the frontier's protocol. "
                  "The tested lengths either side of the 1/2 crossing are x1.19 apart; the "
                  "interval is the bootstrap's, widened to those lengths, so it can be wider. "
                  "A fixed budget in steps is fewer exposures at a longer L*: the fall of bits "
                  "per parameter with width is partly the budget's.", "",
                  "| network | lr, budget | L* | interval | tested lengths either side | "
                  "exposures at L* | bits per parameter |", "|---|---|---|---|---|---|---|"]
        for _, r in cap.lstar.iterrows():
            lines.append(f"| {family(r)} | {r['lr']:g}, {r['budget_steps']:,} steps | "
                         f"{r['bound']}{r['L_star']:.0f} | [{'<' if r['lo_open'] else ''}{r['lo']:.0f}, "
                         f"{r['hi']:.0f}] | "
                         f"{r['below']:.0f}-{r['above']:.0f} (x{r['resolution']:.2f}) | "
                         f"{r['exposures_at_lstar']:.0f} | {r['bits_per_param']:.2f} |")
    between = between_lines(cap)
    if between:
        lines += ["", "### A width between the grid's, on fresh sequences (`capacity_fresh`)",
                  "", *between]
    if not cap.time.empty:
        lines += ["", "### Capacity and speed: steps to memorize as L nears L*", "",
                  "On the capacity runs themselves (3 lengths per width):", "",
                  *time_lines(cap.time)]
    div = divergence_lines(cap)
    if div:
        lines += ["", "On every run of the frontier's protocol:", "", *div]
    budget = offline_budget_lines(cap.offline_budget, cap.budget_curves, cap.budget_lr)
    if budget:
        lines += ["", *budget]
    lines += online_lr_lines(cap.online_lr, cap.online_lr_specs)
    lines += failed_lines(cap.failed)
    lines += replication_lines(cap.replication)
    lines += ["", "### What limits what online training stores (each reason names the "
              "measure its comparison rests on: unclipped wherever the runs allow)", ""]
    for v in cap.verdicts:
        lines.append(f"- {v['cell'].upper()} {v['units']} units, {v['alphabet_size']} letters: "
                     + "; ".join(v["reasons"]) + ".")
    lines += ["", "For context only (not evidence, other protocols): "
              + ", ".join(f"{name} {value:g}" for name, value in LITERATURE)
              + f" bits per parameter; read here at {', '.join(map(str, EXPOSURES))} exposures"
              + (", and offline at the end of longer budgets ("
                 + ", ".join(str(e) for e in sorted(set(cap.budget_curves["max_epochs"])))
                 + " exposures, §The offline budget)" if len(cap.budget_curves) else "") + "."]
    return "\n".join(lines)
