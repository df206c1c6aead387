"""The README's findings on capacity (issue 17), rendered from fit.json's capacity entry
(analysis.findings): the numbers are computed there, only worded here."""

from __future__ import annotations

from analysis.capacity_budget import ratio_cell
from analysis.capacity_failed import failed_sentence
from analysis.capacity_online_lr import BETWEEN
from analysis.capacity_replicate import replication_sentence
from analysis.code_length import LOWER_BOUND
from analysis.divergence import FAR_LC
from analysis.fmt import ci, specs_named


def _network(r: dict) -> str:
    return f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters"


def _failed(r: dict) -> str:
    """How many lengths beyond the peak failed to train (capacity_checks.last_doubling)."""
    n = r.get("lengths_failed") or 0
    return f", {int(n)} longer length{'s' if n > 1 else ''} failed" if n == n and n else ""


def _measure(r: dict) -> str:
    """'exact', 'proxy', or 'exact at the peak; exact at 4096, 8192, proxy at ...'."""
    if not (r["proxy_lengths"] and r["exact_lengths"]):
        return "proxy" if r["proxy_lengths"] else "exact"
    return (f"{r['measure']} at the peak; exact at {', '.join(map(str, r['exact_lengths']))}, "
            f"proxy at the shorter lengths, where it is {r['proxy_status']} on the proxy alone")


def _lr(r: dict, reach: bool = False) -> str:
    """', lr 0.003 (not the lr chosen now)' for a curve whose lr the choice no longer picks;
    with `reach`, how far its lengths went (its curve need not span the chosen lr's)."""
    if r.get("lr_as_chosen") is None or r["lr_as_chosen"]:
        return ""
    far = f", lengths to {int(r['last_length']):,}" if reach and r.get("last_length") else ""
    return f", lr {r['lr']:g} (not the lr chosen now{far})"


def _exact_sentence(ratios: list[dict]) -> str:
    """The ratios' exact check (analysis.capacity_paired): which rest on enough sequences
    paired past online's peak for a finite sign-flip interval, and how many do not."""
    ratios = [r for r in ratios if "sequences" in r]
    if not ratios:
        return ""
    exact = [r for r in ratios if r["paired_lo"] == r["paired_lo"]]
    few = [r for r in ratios if r["paired_lo"] != r["paired_lo"]]
    listed = "; ".join(f"{_network(r)}, {r['exposures']} exposures, offline lr {r['offline_lr']:g}:"
                       f" ×{ci(r['paired_ratio'], r['paired_lo'], r['paired_hi'])} over "
                       f"{r['sequences']} sequences (online less on {r['less_on']}, p "
                       f"{r['p']:.2g})" for r in exact)
    return (" An exact test over sequences, of the direction only (paired by sequence at the "
            "lengths from online's peak on where neither side failed, pooled, so not the "
            "plateau ratio's size; geometric mean with an inverted two-sided sign-flip "
            "interval; each sequence an independent draw): "
            + (listed + "; " if listed else "")
            + f"the other {len(few)} rest on {max((r['sequences'] for r in few), default=0)} "
            "paired sequences or fewer, too few for any exact test to reach 5% (3 give a "
            "smallest p of 0.25): their intervals above are the bootstrap's alone.")


def readme_capacity(f: dict) -> list[str]:
    """The README's capacity findings: the unclipped capacities, the proxy's bias, online
    over offline, the lower bounds, the lr extensions, the clipped headline, L* and the
    width between the grid's."""
    out = []
    saved = [r for r in f.get("saved", []) if r["exposures"] == r["max_epochs"]]
    tables = ["capacity", "capacity_plateau",  # sorted: fit.json sorts its keys
              *sorted(n for n in f.get("joined", {}) if not n.startswith("capacity_lr_"))]
    if saved:
        out.append("- **Capacity, on the code-length saving** ("
                   + " + ".join(f"`{n}`" for n in tables) + ": the unclipped saving n log2 A - the code "
                   "length in bits, exact (teacher-forced, weights frozen at the evaluation: "
                   "`bits_saved`) where the run recorded it, else the last training pass's proxy; "
                   "its plateau over lengths, bits per parameter with a t interval over the sequences at "
                   "the peak, 3 unless said): "
                   + "; ".join(f"{_network(r)}, {r['mode']}{_lr(r, reach=True)}, {r['max_epochs']} "
                               f"exposures: {ci(r['bits_per_param'], r['bpp_lo'], r['bpp_hi'])} "
                               f"({r['status']}{_failed(r)}; {_measure(r)}"
                               + (f"; {r['peak_sequences']} sequences at the peak"
                                  if r.get("peak_sequences", 3) != 3 else "")
                               + (f"; {r['unreplicated']}" if r.get("unreplicated") else "")
                               + ")"
                               for r in saved)
                   + ". "
                   "Bits stored as the issue defined it clips each position at zero, which "
                   "credits even an untrained network with its lucky positions, more the longer "
                   "the sequence: its values below are biased upwards at long lengths, and where "
                   "they fall below that credit (LSTM 4 units at 4 letters) they mean nothing.")
    if f.get("saved_bias"):
        nets = [k for r in f["saved_bias"] for k in r["by_network"]]
        out.append("- **The proxy's bias** (runs that record both measures): the last-pass proxy "
                   "over the exact saving, median per network: " + "; ".join(
                       f"{k} {v:.2f}" for r in f["saved_bias"] for k, v in r["by_network"].items())
                   + ". Offline the proxy is exact; online it varies by network and window"
                   + ("" if any(k.startswith("LSTM") and k.endswith("k=16") for k in nets) else
                      ", and no LSTM run with the 16-step window records both: the proxy's bias "
                      "on the LSTM online capacities is not measured") + ".")
    if f.get("saved_ratio"):
        out.append("- **Online as a fraction of offline, unclipped** (window 16 against "
                   "char-RNN training, same exposures, offline at the end of its schedule; "
                   "percentile bootstrap over the sequences of every length (3, more at the peaks), "
                   "paired where both "
                   "trained the same ones: with so few clusters anti-conservative, so "
                   "indicative): "
                   + "; ".join(f"{_network(r)}, {r['exposures']} exposures, offline lr "
                               f"{r['offline_lr']:g}: ×{ci(r['ratio'], r['lo'], r['hi'])} "
                               f"(online {r['online_measure']}"
                               f" {r['online_status']}, offline {r['offline_measure']} "
                               f"{r['offline_status']}: {r['reads_as']})"
                               for r in f["saved_ratio"]) + "." + _exact_sentence(f["saved_ratio"]))
    rising = [r for r in saved if r["status"] in LOWER_BOUND]
    if rising:
        out.append(f"- **Lower bounds**: {len(saved) - len(rising)} of {len(saved)} unclipped "
                   "curves peak within the lengths tried; level or still rising at their "
                   "longest length (their largest mean there), or collapsed there (training "
                   "failed), so their capacity above is a lower bound: " + ", ".join(
                       f"{_network(r)} {r['mode']}{_lr(r)} ({r['status']}, to "
                       f"{r['last_length']:,} letters)" for r in rising) + ". Over length only: "
                   "each capacity is also what its own budget and lr reached, so where a "
                   "longer budget stores more (the offline budget below, and the online "
                   "budget reasons) it is a lower bound on what the network holds under that "
                   "protocol, and a curve never trained for longer is untested there.")
    for r in f.get("lr_extended", []):
        out.append(f"- **The lr of {r['slice']}** (`capacity_lr` + `capacity_lr_more`): "
                   f"{r['lr_before']:g}" + (" at the grid's edge" if r["edge_before"] else "")
                   + f", then {r['lr_first']:g} with {', '.join(f'{x:g}' for x in r['added_lr'])} "
                   "added, "
                   + ("still at the edge" if r["edge_first"] else "inside the grid")
                   + ("" if r["trained_at_choice"] or not r["trained_lr"] else
                      "; the capacity runs trained at "
                      + ", ".join(f"{x:g}" for x in r["trained_lr"]) + ", not the lr chosen now")
                   + ".")
    moved = [r for r in f.get("lr_long", []) if r["lr"] != r["lr_short"]]
    if f.get("lr_long"):
        out.append("- **The lrs chosen again near each capacity curve's peak length, on the "
                   "unclipped saving** "
                   f"(`capacity_lr_long`, one new sequence per slice): {len(moved)} of "
                   f"{len(f['lr_long'])} slices choose another lr there" + ("" if not moved else ": "
                   + ", ".join(f"{r['slice']} {r['lr_short']:g} at {int(r['length_short']):,} letters, "
                               f"{r['lr']:g} at {r['length']:,}" for r in moved))
                   + ("; the capacities above are read at the lr chosen there." if all(
                       r["trained_at_choice"] is not False for r in f["lr_long"]) else
                      "; a curve not yet trained at the lr chosen there says so above."))
    if f["headline"]:
        def bpp(r: dict, m: str) -> str:
            bound = " (still rising)" if r[f"{m}_rising"] else ""
            return f"{ci(r[m], r[f'{m}_lo'], r[f'{m}_hi'])}{bound}"
        out.append("- **Bits stored as the issue defined it: clipped, biased upwards at long "
                   "lengths, neither capacities nor bounds** (`capacity`: bits stored per "
                   "parameter, the most "
                   "stored over the lengths tried, 3 independent sequences per length (more at "
                   "some peaks); online "
                   "with a 16-step window against offline char-RNN training at the same lengths "
                   "and exposures, offline at the end of its cosine schedule, each at the lr "
                   "chosen on other sequences): " + "; ".join(
                       f"{r['cell'].upper()} {r['units']} units ({r['params']:,} parameters, "
                       f"{r['alphabet_size']} letters, {r['exposures']} exposures): online "
                       f"{bpp(r, 'online')}, offline {bpp(r, 'offline')}, online "
                       f"×{ci(r['ratio'], r['ratio_lo'], r['ratio_hi'])} of offline"
                       for r in f["headline"]) + ".")
    if f["lstar"]:
        out.append("- **L* between tested lengths 2^(1/4) apart** (`capacity_lstar`: the doubling "
                   "brackets bisected at quarter powers of two, 5 new sequences per length, lr "
                   "1e-3, 200,000 steps): " + ", ".join(
                       f"{r['cell'].upper()} {r['units']} units {r['bound']}{r['L_star']:.0f} letters "
                       f"(tested {r['below']:.0f}-{r['above']:.0f}; interval "
                       f"[{'<' if r.get('lo_open') else ''}{r['lo']:.0f}, "
                       f"{r['hi']:.0f}]; {r['bits_per_param']:.2f} bits per parameter after "
                       f"{r['exposures_at_lstar']:.0f} exposures)" for r in f["lstar"])
                   + ". The fixed budget in steps is fewer exposures at a longer L*.")
    if f.get("status"):
        level = len([r for r in saved if r["status"] != "rising"])
        out.append("- **The clipped curves keep rising** (the same runs: "
                   + " + ".join(f"`{n}`" for n in tables) + "): at its longest "
                   "length and largest exposure, each clipped curve is "
                   + ", ".join(f"{k} in {n}" for k, n in f["status"].items())
                   + " (level: the last doubling's interval includes no change), a rise largely "
                   f"due to the clip; the unclipped saving above levels off or peaks in {level} "
                   f"of {len(saved)} curves.")
    if f.get("budget_curves"):
        out.append("- **The offline budget** (`capacity_offline_budget`, `capacity_offline_long`, "
                   "`capacity_offline_short`, `capacity_offline_shorter`: the offline networks "
                   "that trained 300 exposures, again at 1000 and 3000 from their 300-exposure "
                   "peak length upwards (and one or two lengths below it where "
                   "`capacity_offline_short` and `capacity_offline_shorter` trained them), on the "
                   "same sequences where "
                   "those exist; each budget's plateau, its status, and its ratio to the "
                   "300-exposure capacity): "
                   + "; ".join(budget_item(r) for r in f["budget_curves"])
                   + ". Where a longer budget's plateau exceeds the 300-exposure one, the "
                   "300-exposure capacity was limited by its budget and is only a lower bound; "
                   "offline kept the lr chosen at 300 exposures, so each online ratio is an "
                   "upper bound."
                   + (" At the next lr down and up on the grid (a third and three times the "
                      "budget's own; `capacity_offline_long_lr`, `capacity_offline_long_lr_up`, "
                      "at the peak length when they were made, on the same sequences; a "
                      "sensitivity check, not a choice): " + "; ".join(
                          f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters, "
                          f"{r['max_epochs']} at lr {r['lr_other']:g} "
                          f"×{ci(r['ratio'], r['lo'], r['hi'])}"
                          for r in f.get("budget_lr", [])) + "." if f.get("budget_lr") else "")
                   + (" Online's own lr at its peak length, a third and three times it"
                      + (" and the half-steps between" if BETWEEN in (f.get("online_lr_specs")
                                                                      or []) else "") + " "
                      f"({specs_named(f.get('online_lr_specs'), 'capacity_online_lr_peak')}, on "
                      "the curve's own sequences; a sensitivity check): " + "; ".join(
                          f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters, "
                          f"{r['max_epochs']} at {r['length']:,} letters"
                          + (f" (its peak now at {int(r['curve_peak']):,})"
                             if r.get("curve_peak") == r.get("curve_peak")
                             and r.get("curve_peak") is not None
                             and int(r["curve_peak"]) != r["length"] else "")
                          + f", lr {r['lr_other']:g} "
                          f"{ratio_cell(r).replace('x', '×', 1)} of lr {r['lr_own']:g}"
                          for r in f["online_lr"])
                      + (": no neighbour is shown to store more (geometric means over 3 "
                         "sequences with log-scale t intervals, arithmetic where marked; some "
                         "wide), so online is at its best lr on the grid there as far as "
                         "3 sequences show"
                         + (" (lrs between the grid's half-steps untested)." if BETWEEN in
                            (f.get("online_lr_specs") or []) else
                            " (lrs between grid points untested).")
                         if all(r["lo"] <= 1 for r in f["online_lr"]) else
                         ": a neighbouring lr stores more, so online is not at its best lr there.")
                      if f.get("online_lr") else ""))
    if f.get("failed"):
        out.append(failed_sentence(f["failed"]))
    if f.get("replication"):
        out.append(replication_sentence(f["replication"]))
    lb = f.get("lstar_between")
    if lb:
        ratios = ", ".join(f"{r['mode']} {r['length']:,} letters ×{ci(r['ratio'], r['lo'], r['hi'])}"
                           for r in f["between"])
        out.append(f"- **A width between the grid's, on fresh sequences** (`capacity_fresh`, LSTM "
                   f"{lb['units']} units): L* {lb['L_star']:.0f} [{lb['lo']:.0f}, {lb['hi']:.0f}]"
                   f" against {lb['predicted']:.0f} interpolated from 16 and 32 units ("
                   + ("inside" if lb["predicted_inside"] else "outside") + " the interval, "
                   f"{lb['predicted_lo']:.0f}-{lb['predicted_hi']:.0f} with the neighbours' own "
                   "intervals: " + ("consistent" if lb.get("consistent") else "inconsistent")
                   + "; "
                   + ("between" if lb["between"] else "not between") + " its neighbours); bits "
                   f"stored at 300 exposures against the interpolation: {ratios}.")
    div = [r for r in f.get("divergence", []) if r["chosen"] == "divergence"
           and r.get("divergence_identified", True)
           and isinstance(r["divergence_g"], int | float) and r["divergence_g"] >= 0.1
           and r["divergence_lc"] <= 8 * r["longest_memorized"]]
    if div:
        out.append("- **Time to memorize rises faster than a power law as L nears L*** (every "
                   "frontier-protocol run, censored ML, LSTM at 26 letters): steps ~ L^b "
                   "(1 - L/Lc)^-g beats a power law for " + ", ".join(
                       f"{r['units']} units (ΔAIC {r['delta_aic']:.0f}, g {r['divergence_g']:.2f}, "
                       f"Lc {r['divergence_lc']:,.0f} {_lc_interval(r)}, "
                       f"{r['divergence_lc'] / r['longest_memorized']:.1f}"
                       "× the longest length memorized)" for r in div)
                   + f". Where Lc's profile interval reaches its grid's end ({FAR_LC:g}× the longest "
                   "length memorized) Lc is only a lower bound. The choice rests on in-sample "
                   "AIC with every run counted as independent, though the runs come from "
                   + ", ".join(f"{r['sequences']} sequences in {r['families']} families "
                               f"({r['units']} units)" for r in div if "families" in r)
                   + " (a generator seed drawn at several lengths gives prefixes of one "
                   "sequence), so the ΔAIC overstates the evidence. "
                   + _fresh_words(f.get("divergence_fresh", [])))
    return out


def _fresh_words(fresh: list[dict]) -> str:
    """The forms fitted without the fresh sequences, predicting them (a sentence)."""
    scored = [r for r in fresh if r.get("loglik_gain") is not None
              and r["loglik_gain"] == r["loglik_gain"]]
    if not scored:
        return "No fresh-sequence check tests it."

    def one(r: dict) -> str:
        n = int(r["median_lengths"])
        s = "s" if n != 1 else ""
        return (f"{r['units']} units {r['loglik_gain']:+.1f} nats (per family "
                + ", ".join(f"{x:+.1f}" for x in r["family_gains"])
                + f"; Brier {r['divergence_brier']:.3f} against {r['power_brier']:.3f}; median "
                f"steps to x{r['divergence_factor']:.2f} against x{r['power_factor']:.2f} at "
                f"{n} length{s})")

    families = int(max(r["fresh_families"] for r in scored))
    smallest = min(r["smallest_p"] for r in scored)
    shown = [r for r in scored if r["sign_flip_p"] <= 0.05]
    return ("Fitted without the fresh sequences (`frontier_fresh`) and scored on them, the "
            "divergence's held-out log-likelihood over the power law's: "
            + ", ".join(map(one, scored)) + ". "
            + (f"The exact test over the generator families shows it at 5% for "
               f"{', '.join(str(r['units']) for r in shown)} units." if shown
               else f"The {families} generator families per network (one seed's sequences are "
               f"prefixes of each other) allow no exact test below p {smallest:.2g}: a "
               "direction, not a demonstration."))


def _lc_interval(r: dict) -> str:
    """'[781, 2,312]' or '[265, beyond 2,048]' (the profile grid's end: a lower bound)."""
    if r.get("lc_open"):
        return f"[{r['lc_lo']:,.0f}, beyond {FAR_LC * r['longest_memorized']:,.0f}]"
    return f"[{r['lc_lo']:,.0f}, {r['lc_hi']:,.0f}]"


def _given(r: dict, key: str) -> bool:
    return r.get(key) is not None and r[key] == r[key]  # absent, None or NaN: not given


def budget_item(r: dict) -> str:
    """One longer offline budget's curve, for the README's line on the offline budget."""
    head = f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters, {r['max_epochs']}"
    prev = (f", ×{ci(r['over_prev'], r['over_prev_lo'], r['over_prev_hi'])} of "
            f"{int(r['prev_budget'])}" if _given(r, "over_prev") else "")
    if r["failed"]:
        return (f"{head}: ×{r['over_short']:.2f} of 300{prev} (stores less than a shorter "
                "budget at that lr: not read as a capacity; why is untested)")
    online = (f", online at {r['max_epochs']} at most "
              f"×{ci(r['online_ratio'], r['online_lo'], r['online_hi'])} of it"
              if _given(r, "online_ratio") else "")
    failures = "; ".join(f"{k} of {n} runs failed at {int(length):,}"  # fit.json's keys are text
                         for length, (k, n) in sorted(r.get("failed_runs", {}).items(),
                                                      key=lambda item: int(item[0])) if k)
    return (f"{head}: {ci(r['bits_per_param'], r['bpp_lo'], r['bpp_hi'])} bits per parameter "
            f"({r['status']}, {', '.join(f'{n:,}' for n in r['lengths'])} letters"
            + (f"; beyond the peak {failures}" if failures else "") + "), "
            f"×{ci(r['over_short'], r['over_short_lo'], r['over_short_hi'])} of 300{prev}{online}")
