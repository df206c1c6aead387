"""The unclipped capacity in REPORT.md (analysis.code_length): formatting only."""

from __future__ import annotations

import pandas as pd

from analysis.capacity_checks import COLLAPSE
from analysis.capacity_paired import paired_cell
from analysis.code_length import EXACT, curve_statuses, not_chosen
from analysis.fmt import ci_or_point, family, last_step


def lengths(ns: list[int]) -> str:
    """'4,096-16,384' for a run of doublings, else the lengths listed."""
    if len(ns) > 2 and all(b == 2 * a for a, b in zip(ns, ns[1:], strict=False)):
        return f"{ns[0]:,}-{ns[-1]:,}"
    return ", ".join(f"{n:,}" for n in ns)


def measure(r) -> str:
    """The measure a row rests on; where its curve mixes them, which lengths are which and
    where the curve stands on the proxy alone."""
    if not r["proxy_lengths"]:
        return "exact"
    if not r["exact_lengths"]:
        return "proxy"
    gain = "" if r["proxy_gain"] != r["proxy_gain"] else f", last doubling x{r['proxy_gain']:.2f}"
    return (f"{r['measure']} at the peak: exact at {lengths(r['exact_lengths'])}, proxy at "
            f"{lengths(r['proxy_lengths'])} (on the proxy alone: {r['proxy_status']}{gain})")


def bias_sentence(bias: pd.DataFrame, saved: pd.DataFrame) -> str:
    if bias.empty:
        return ""

    def trend(r) -> str:
        by = r["by_length"]
        if len(by) < 2:
            return ""
        first, last = min(by), max(by)
        return f"; median {by[first]:.2f} at {first:,} letters, {by[last]:.2f} at {last:,}"

    parts = [f"{r['update']} {r['median']:.3f} (range {r['min']:.3f}-{r['max']:.3f}, {r['runs']} "
             f"runs of {', '.join(r['networks'])}{trend(r)}"
             + (f"; {r['left_out']} with no positive exact saving left out" if r["left_out"] else "")
             + ")" for _, r in bias.iterrows()]
    way = "; ".join(f"{r['update']} the proxy {'under' if r['median'] < 1 else 'over'}states the "
                    f"frozen model's saving by a median {abs(1 - r['median']):.1%}"
                    if abs(1 - r["median"]) >= 0.005 else f"{r['update']} the two agree"
                    for _, r in bias.iterrows())
    nets = "; ".join(f"{k} {v:.2f}" for _, r in bias.iterrows()
                     for k, v in r["by_network"].items())
    return ("**How far the proxy can be trusted.** On the runs that record both measures at the "
            "end of their budget (at the lr chosen), the last-pass proxy over the exact saving "
            "is, median per update: " + "; ".join(parts) + f". So {way}. Per network and "
            f"window: {nets}. " + _on_proxy(saved))


def _on_proxy(saved: pd.DataFrame) -> str:
    """Which capacities below still rest on the proxy, by update."""
    if saved.empty:
        return ""
    proxy = saved[saved["proxy_lengths"].map(len) > 0]
    if proxy.empty:
        return "Every capacity below rests on the exact measure at every length."
    online = proxy[proxy["update"] == "step"]
    words = (f"{len(proxy)} capacities below rest on the proxy at some length, "
             f"{len(online)} of them online")
    return words + (": offline the proxy is exact, so those rows are as measured." if online.empty
                    else ": their bias is that of their network and window above, where "
                         "measured; a ratio of two proxies carries the ratio of their biases.")


def _sequences(r) -> str:
    """' (6 sequences)' where the peak rests on other than the curves' usual 3."""
    n = r.get("peak_sequences", 3)
    return "" if n != n or n == 3 else f" ({int(n)} sequences)"


def saved_table(saved: pd.DataFrame) -> list[str]:
    rows = []
    for _, r in saved.sort_values(["cell", "alphabet_size", "units", "mode",
                                   "exposures"]).iterrows():
        gain = ("-" if r["last_gain"] != r["last_gain"]
                else f"x{ci_or_point(r['last_gain'], r['gain_lo'], r['gain_hi'])}")
        before = ("" if r["exposures"] == r["max_epochs"]
                  else f" (read at {int(r['exposures'])} of {int(r['max_epochs'])})")
        lr = f", lr {r['lr']:g}" + (" (**not the lr chosen now**)" if not_chosen(r) else "")
        failed = r.get("lengths_failed", 0)
        failed = (f"; {int(failed)} longer length{'s' if failed > 1 else ''} failed"
                  if failed == failed and failed else "")
        if r.get("unreplicated"):
            failed += f"; {r['unreplicated']}"
        rows.append(f"| {family(r)} | {int(r['params']):,} | {r['mode']}{lr} | "
                    f"{int(r['exposures'])}{before} | {measure(r)} | "
                    f"{ci_or_point(r['capacity'], r['lo'], r['hi'], '.0f')} | {int(r['peak_length']):,}"
                    f"{_sequences(r)} | "
                    f"{ci_or_point(r['bits_per_param'], r['bpp_lo'], r['bpp_hi'])} | {r['status']} "
                    f"({last_step(r)} {gain}{failed}) | {r['clipped_at_peak']:,.0f} | "
                    f"{r['untrained_clipped_at_last']:,.0f} at {int(r['last_length']):,} |")
    return ["| network | parameters | training | exposures | measure | capacity (bits saved) | "
            "at length | bits per parameter | plateau | clipped bits at that length | clipped "
            "bits untrained |", "|---|---|---|---|---|---|---|---|---|---|---|", *rows]


def status_lines(saved: pd.DataFrame) -> list[str]:
    groups = curve_statuses(saved)
    if not any(groups.values()):
        return []

    def name(r) -> str:
        return f"{family(r)} {r['mode']} ({int(r['exposures'])} exposures, to {int(r['last_length']):,})"

    out = []
    if groups["plateau"]:
        out.append("Curves that peak within the lengths tried (peaked or past a peak): "
                   + "; ".join(name(r) for r in groups["plateau"]) + ".")
    if groups["bound"]:
        out.append("Curves whose largest mean lies at their longest length (level or rising "
                   "there) or that collapsed there, whose capacity is a lower bound: "
                   + "; ".join(f"{name(r)} ({r['status']})" for r in groups["bound"]) + ".")
    return out


def ratio_table(ratio: pd.DataFrame) -> list[str]:
    if ratio.empty:
        return []
    rows = [f"| {family(r)} | {int(r['params']):,} | {int(r['exposures'])} | "
            f"{r['online']:.2f} ({r['online_measure']}, {r['online_status']}) | "
            f"{r['offline']:.2f} (lr {r['offline_lr']:g}, {r['offline_measure']}, "
            f"{r['offline_status']}) | "
            f"{ci_or_point(r['ratio'], r['lo'], r['hi'])} | {r['reads_as']} | {r['paired']} of "
            f"{r['lengths']} | {paired_cell(r)} |"
            for _, r in ratio.iterrows()]
    return ["Online (window 16) as a fraction of offline on the unclipped capacity, at the end "
            "of the offline budget (its cosine schedule done) and the same exposures online "
            "(for the GRU and the RNN read at 300 of their 1000 online exposures: at a "
            "constant lr that is the model a 300-exposure run ends with). Interval: "
            "percentile bootstrap over the sequences of every length, both capacities from one "
            "resample, the same sequences drawn on both sides where the two updates trained "
            "the same ones (paired); 3 sequences per length (more at the peaks where new ones "
            "were added), so indicative: with so few "
            "clusters a percentile bootstrap is anti-conservative (with pairing its interval "
            "can be narrower than either side's own), and a maximum over lengths leans "
            "upwards on both sides. Where the offline "
            "curve is still rising the ratio is an upper bound, where the online one is, a "
            "lower bound; where a side rests on the proxy, it carries the proxy's bias. "
            "Beside it, an exact test over sequences (analysis.capacity_paired): at the lengths "
            "from online's peak on where both updates trained the same sequences and neither "
            f"failed to train (below {COLLAPSE:g} of its plateau: the length's mean, and each "
            "sequence on either side), the geometric mean over "
            "those sequences of online over offline, with the interval that inverts an exact "
            "two-sided sign-flip test (each sequence an independent draw, a cluster of its "
            "own; fewer than 6 give no finite interval at 95%). It compares the two on the "
            "same sequences at the same lengths, past online's peak, where online has stopped "
            "gaining: it tests the direction, not the plateau ratio's size (it pools lengths at "
            "which the ratio differs). With 6 sequences its interval is the range of the six "
            "ratios (coverage 62/64). Pairs where either side saved nothing are left out.", "",
            "| network | parameters | exposures | online, bits per parameter (measure, "
            "status) | offline (lr, measure, status) | online / offline | the ratio is | "
            "lengths paired | paired by sequence past online's peak: online / offline (exact) |",
            "|---|---|---|---|---|---|---|---|---|", *rows]


def joined_sentence(joined: dict) -> str:
    parts = []
    more, far = joined.get("capacity_more"), joined.get("capacity_far")
    if more:
        parts.append(f"`capacity_more` adds {more['rows']} runs to these curves (slices of the "
                     f"same name); {more['replaced']} of them re-ran runs of `capacity` and "
                     "`capacity_plateau` under the same run id, and their rows replace the older "
                     "ones, since they record the exact saving." + _rerun_words(more.get("rerun")))
    if far:
        parts.append(f"`capacity_far` continues every offline curve two doublings further on "
                     f"the compiled offline kernel ({far['rows']} runs); {far['replaced']} of them "
                     "re-made stored runs under the same run id"
                     + (f" ({', '.join(far['rerun']['slices'])})" if far.get("rerun") else "")
                     + ", and their rows replace the older ones." + _rerun_words(far.get("rerun")))
    beyond = joined.get("capacity_beyond")
    if beyond:
        parts.append(f"`capacity_beyond` adds the LSTM 64 units' offline curve and the LSTM 8's "
                     f"offline curve past 32,768 letters ({beyond['rows']} runs, on new "
                     "sequences).")
    online_lr = joined.get("capacity_online_lr")
    if online_lr:
        parts.append(f"`capacity_online_lr` trains the online curves whose lr was chosen again "
                     f"at their own lengths once more, at that lr ({online_lr['rows']} runs, on "
                     "the curves' own sequences and new ones beyond); the runs at the earlier lr "
                     "stay beside them.")
    online64 = joined.get("capacity_online64")
    if online64:
        parts.append(f"`capacity_online64` adds the LSTM 64 units' online curve (window 16, "
                     f"{online64['rows']} runs, at the lr `capacity_lr_online64` chose for it; "
                     "on the offline curve's own sequences where it tried the length, new ones "
                     "below).")
    past_peak = joined.get("capacity_past_peak")
    if past_peak:
        parts.append(f"`capacity_past_peak` takes every curve with fewer than two lengths "
                     f"beyond its peak one doubling further ({past_peak['rows']} runs; the LSTM "
                     "8 units with 4 letters online, still rising, three doublings), on another "
                     "curve's sequences of that length where one trained them, else new ones.")
    far_online = joined.get("capacity_far_online")
    if far_online:
        parts.append(f"`capacity_far_online` takes the LSTM 64 units online, still rising, to "
                     f"131,072 letters, and the LSTM 32 and RNN 19 online a second length past "
                     f"their peaks ({far_online['rows']} runs, on their offline curves' sequences "
                     "of that length).")
    second = joined.get("capacity_second_past_peak")
    if second:
        parts.append(f"`capacity_second_past_peak` gives the five curves still with one length "
                     f"beyond their peak a second ({second['rows']} runs): the GRU 10 online at "
                     "the next doubling, on its offline curve's sequences; the four whose next "
                     "doubling failed to train at half-doublings below it, on new sequences.")
    pairs = joined.get("capacity_peak_pairs")
    if pairs:
        parts.append(f"`capacity_peak_pairs` trains new sequences at online's peak length both "
                     f"online and offline ({pairs['rows']} runs: three where three pairs stood "
                     "past the peak, six for the LSTM 16, which had none), so that the exact "
                     "paired test below can pair six sequences per network (its column says how "
                     "many it pairs where the peak has moved).")
    peaks = joined.get("capacity_peak_sequences")
    if peaks:
        parts.append(f"`capacity_peak_sequences` adds three new sequences at the peak length of "
                     f"every other curve whose peak rested on three ({peaks['rows']} runs; not "
                     "the LSTM 64 online), drawn after the peak was chosen, so that each peak "
                     "that stays there rests on six (the length column gives the count).")
    moved = joined.get("capacity_peak_moved")
    if moved:
        parts.append(f"`capacity_peak_moved` follows the peaks those sequences moved "
                     f"({moved['rows']} runs): the LSTM 8 (26 letters) online curve, level at "
                     "its longest length, two doublings further on its offline curve's "
                     "sequences, and three new sequences at four peaks that moved.")
    second = joined.get("capacity_peak_moved_beyond")
    if second:
        parts.append(f"`capacity_peak_moved_beyond` gives that curve a second length past its "
                     f"moved peak, the half-doubling 23,170 letters ({second['rows']} runs, on "
                     "new sequences).")
    return " ".join(parts)


def _rerun_words(rr: dict | None) -> str:
    if not rr:
        return ""
    made = (f"on {', '.join(rr['cpus_new'])}, the rows they replace on {', '.join(rr['cpus_old'])}"
            if rr["cpus_new"] != rr["cpus_old"] else f"on the same CPU ({', '.join(rr['cpus_new'])})")
    if rr.get("kernels_new") and rr["kernels_new"] != rr.get("kernels_old"):
        made += (f"; by kernel {', '.join(rr['kernels_new'])} where the old ones were by "
                 f"{', '.join(rr['kernels_old'])}")
    return (f" The re-runs were made {made}; {rr['identical']} of {rr['runs']} kept the same "
            f"bits stored to the bit (new over old: median {rr['median']:.3f}, range "
            f"{rr['min']:.3f}-{rr['max']:.3f}), since training turns a rounding difference into "
            "another trajectory (records are tied to the CPU and the kernel).")


def saved_section(cap) -> list[str]:
    """The unclipped capacity: what it is, each row's measure, the proxy's bias, the
    statuses, and online over offline."""
    if cap.saved.empty:
        return []
    exact = int((cap.saved["measure"] == EXACT).sum())
    return ["**The clipped measure is biased upwards; capacity is read on the unclipped "
            "saving.** Bits stored clips each position's saving at zero, so a position "
            "predicted worse than uniform counts nothing instead of against: an untrained "
            "network is credited with its lucky positions, and more of them the longer the "
            "sequence (last column: the clipped bits of the same networks before any "
            "training, at the longest length). The unclipped measure is the code-length "
            "saving n log2 A - the sequence's code length in bits (`analysis.code_length`), "
            "on one of two measures: **exact**, the teacher-forced saving of the weights "
            "frozen at the evaluation (`bits_saved`, and `saved_curve` at every evaluation), "
            "recorded by every run since it existed; or the **proxy** for older rows, n (log2 "
            "A - the last training pass's mean loss in bits), a pass during which the weights "
            "still move (online at a constant lr; offline nearly frozen at the end of the "
            "cosine schedule). Each row says which; where a curve mixes them, its status on "
            "the proxy alone is beside (every run has the proxy). "
            f"{exact} of {len(cap.saved)} capacities below rest on the exact measure. "
            + joined_sentence(cap.joined), "", bias_sentence(cap.saved_bias, cap.saved), "",
            "Capacity is the plateau: the largest mean over lengths (t interval over the "
            "sequences at that length: 3, or as many as the length column says), with where "
            "the curve stands at its longest length ('peaked': 2 or "
            f"more longer lengths below the peak that hold {COLLAPSE:g} of it or more; 'past a "
            f"peak': one; a longer length below {COLLAPSE:g} of the peak failed to train, shows "
            "no decline of "
            "what the network holds and is counted apart ('failed': a reading that "
            "`capacity_failed_lr` tests below, where it trained), and a curve whose every "
            "longer length failed 'collapsed at the longest length', a lower bound; 'level' "
            "and 'rising': the largest mean lies at the longest length tried, and the last "
            "doubling's interval includes no change ('level') or does not ('rising'); either "
            "way the capacity is a lower bound). 'Peaked' and 'past a peak' say where the largest mean "
            "lies, not that the curve falls: the lengths beyond may be level with it within "
            "noise (the last doubling beside says which), and the largest of several noisy "
            "means leans upwards.",
            "", *saved_table(cap.saved), "", *status_lines(cap.saved), "",
            *ratio_table(cap.saved_ratio)]
