"""The findings (fit.json's list, analysis.findings) in words: the README's findings block
and the report's brief (analysis.findings_brief), from the same list by one function.
Formatting only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analysis.code_length import LOWER_BOUND
from analysis.findings_brief import AMB, DEP, brief, effects
from analysis.fmt import ci, doubling, loss_name, pct

ANSWER_WORDS = {"no": "no detectable effect", "yes": "yes", "mixed": "not in general"}


def render(findings: list[dict[str, Any]], form: str) -> str:
    """The findings as the README's list (form "readme": one line per finding) or as the
    report's brief (form "brief": numbered answers)."""
    by_id = {f["id"]: _numbers(f) for f in findings}
    if form == "readme":
        return "\n".join(line for f in findings if f["id"] in README
                         for line in README[f["id"]](by_id[f["id"]]))
    if form == "brief":
        return brief(by_id)
    raise ValueError(f"form is 'readme' or 'brief', got {form!r}")


def _numbers(obj: Any) -> Any:
    """fit.json's "inf"/"nan" strings back to floats."""
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    return float(obj) if obj in ("inf", "-inf", "nan") else obj


# -- the README: one function per finding, each a list of lines ------------------------------

def _readme_depth_ambiguity(f: dict) -> list[str]:
    out = []
    for loss, name in (("softmax", "the notebook's loss"), ("logits", "the loss on logits")):
        e = effects(f, loss)
        if e:
            d, a = e[DEP], e[AMB]
            out.append(f"- **Depth and ambiguity, each at a fixed value of the other** ({name}; "
                       f"forks design): doubling the context depth multiplies the steps to "
                       f"memorize by {doubling(d)}, doubling 1 + ambiguous transitions by "
                       f"{doubling(a)} (95% CIs over sequences).")
    return out


def _readme_width(f: dict) -> list[str]:
    out = []
    for loss, name in (("logits", "With the loss on logits"), ("softmax", "With the notebook's loss")):
        b = sorted((r for r in f["best"] if r["loss"] == loss), key=lambda r: r["units"])
        if b:
            s = f["by_loss"][loss]
            shares = ", ".join(f"{pct(r['share'])} at {r['units']} units (lr {r['lr']:g}"
                               + (f", the grid's {r['edge']}" if r.get("edge") else "") + ")"
                               for r in b)
            where = (f"every width reaches {pct(s['top'])}" if len(s["peaks"]) == len(b) else
                     f"the peak is at {', '.join(map(str, s['peaks']))} units")
            out.append(f"- **Width at its best learning rate.** {name}, the share of runs "
                       f"memorized within 1000 epochs is {shares}: {where}.")
    worse = [r for r in f["doublings"] if r["verdict"] == "worse"]
    if worse:
        out.append("- **Wider is worse at its best lr** for " + "; ".join(
            f"{r['narrow']}→{r['wide']} units, {r['loss']} loss: "
            f"{ci(r['difference'], r['lo'], r['hi'], '{:+.2f}')}, exact p {r['p_exact']:.3f}"
            for r in worse)
            + " (change in share, 95% interval over sequences; exact sign-flip test over "
            "sequences).")
    return out


def _readme_frontier(f: dict) -> list[str]:
    top = f["most_shown"]
    out = [f"- **Exact regeneration at the frontier** (`frontier*`, one lr and budget "
           "per setting): the most any network was shown to regenerate is "
           f"{top['bits_shown']:.2g} bits per parameter, at "
           "the longest tested length half its runs memorized "
           f"({top['cell'].upper()} {top['units']} units, {top['alphabet_size']} "
           f"letters, lr {top['lr']:g}, {top['budget_steps']:,} steps; L* interpolated "
           f"inside its doubling bracket gives {top['bits_per_param']:.2g}): a lower "
           "bound, under a pass/fail criterion. The graded measure is the capacity "
           "line below."]
    le = f.get("lr_effect")
    if le:
        further = [r for r in le["rows"] if r["verdict"] == "longer"]
        out.append(f"- **The frontier at lr 1e-2 was the learning rate's**: at "
                   f"{le['budget_steps']:,} steps, lr {le['lr_to']:g} reaches "
                   f"further (CI above ×1) for {le['longer']} of {len(le['rows'])} (width, "
                   "alphabet) pairs, " + ", ".join(
                       f"×{ci(r['L_ratio'], r['lo'], r['hi'])} at {r['units']} units and "
                       f"{r['alphabet_size']} letters" for r in further)
                   + ". Where a network was limited by its lr or budget, L* is a lower "
                   "bound on what it can hold.")
    be = f.get("budget_effect")
    if be:
        for r in be["rows"]:
            if r["verdict"] == "longer":
                out.append(f"- **More steps still move the widest frontier**: at lr {be['lr']:g}, "
                           f"{r['budget_steps_to']:,} instead of {r['budget_steps_from']:,} "
                           f"steps moves L* of {r['units']} units at {r['alphabet_size']} "
                           f"letters by ×{ci(r['L_ratio'], r['lo'], r['hi'])}.")
        kept = [r for r in be["rows"] if r["verdict"] == "unresolved"]
        if kept:
            out.append(f"- **More steps leave the widest frontier where it was**: at lr "
                       f"{be['lr']:g}, {kept[0]['budget_steps_to']:,} instead of "
                       f"{kept[0]['budget_steps_from']:,} steps: " + ", ".join(
                           f"L* of {r['units']} units at {r['alphabet_size']} letters "
                           f"×{ci(r['L_ratio'], r['lo'], r['hi'])} ({r['L_from']:.0f} → "
                           f"{r['L_to']:.0f})" for r in kept) + ".")
    return out


def _network(r: dict) -> str:
    return f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters"


def _measure(r: dict) -> str:
    """'exact', 'proxy', or 'exact at the peak; exact at 4096, 8192, proxy at ...'."""
    if not (r["proxy_lengths"] and r["exact_lengths"]):
        return "proxy" if r["proxy_lengths"] else "exact"
    return (f"{r['measure']} at the peak; exact at {', '.join(map(str, r['exact_lengths']))}, "
            f"proxy at the shorter lengths, where it is {r['proxy_status']} on the proxy alone")


def _lr(r: dict) -> str:
    """', lr 0.003 (not the lr chosen now)' for a curve whose lr the choice no longer picks."""
    return (f", lr {r['lr']:g} (not the lr chosen now)"
            if r.get("lr_as_chosen") is not None and not r["lr_as_chosen"] else "")


def _readme_capacity(f: dict) -> list[str]:
    out = []
    saved = [r for r in f.get("saved", []) if r["exposures"] == r["max_epochs"]]
    if saved:
        out.append("- **Capacity, on the code-length saving** (`capacity` + `capacity_plateau` + "
                   "`capacity_more`: the unclipped saving n log2 A - the code length in bits, "
                   "exact (teacher-forced, weights frozen at the evaluation: `bits_saved`) "
                   "where the run recorded it, else the last training pass's proxy; its plateau "
                   "over lengths, bits per parameter with a t interval over 3 sequences): "
                   + "; ".join(f"{_network(r)}, {r['mode']}{_lr(r)}, {r['max_epochs']} "
                               f"exposures: {ci(r['bits_per_param'], r['bpp_lo'], r['bpp_hi'])} "
                               f"({r['status']}; {_measure(r)})" for r in saved) + ". "
                   "Bits stored as the issue defined it clips each position at zero, which "
                   "credits even an untrained network with its lucky positions, more the longer "
                   "the sequence: its values below are biased upwards at long lengths, and where "
                   "they fall below that credit (LSTM 4 units at 4 letters) they mean nothing.")
    if f.get("saved_bias"):
        out.append("- **The proxy's bias** (runs that record both measures, `capacity_more`): "
                   "the last-pass proxy over the exact saving, median per network: " + "; ".join(
                       ", ".join(f"{k} {v:.2f}" for k, v in r["by_network"].items())
                       for r in f["saved_bias"]) + ". Offline the proxy is exact; online it "
                   "varies by network and window, and no LSTM run with the 16-step window records "
                   "both: the proxy's bias on the LSTM online capacities is not measured.")
    if f.get("saved_ratio"):
        out.append("- **Online as a fraction of offline, unclipped** (window 16 against "
                   "char-RNN training, same exposures, offline at the end of its schedule; "
                   "interval over sequences, paired where both trained the same ones): "
                   + "; ".join(f"{_network(r)}, {r['exposures']} exposures, offline lr "
                               f"{r['offline_lr']:g}: ×{ci(r['ratio'], r['lo'], r['hi'])} "
                               f"(online {r['online_measure']}"
                               f" {r['online_status']}, offline {r['offline_measure']} "
                               f"{r['offline_status']}: {r['reads_as']})"
                               for r in f["saved_ratio"]) + ".")
    rising = [r for r in saved if r["status"] in LOWER_BOUND]
    if rising:
        out.append(f"- **Lower bounds**: {len(saved) - len(rising)} of {len(saved)} unclipped "
                   "curves level off or peak within the lengths tried; still rising (or "
                   "collapsed, training failed) at their longest length, so their capacity "
                   "above is a lower bound: " + ", ".join(
                       f"{_network(r)} {r['mode']}{_lr(r)} ({r['status']}, to "
                       f"{r['last_length']:,} letters)" for r in rising) + ".")
    for r in f.get("lr_extended", []):
        out.append(f"- **The lr of {r['slice']}** (`capacity_lr` + `capacity_lr_more`): "
                   f"{r['lr_before']:g}" + (" at the grid's edge" if r["edge_before"] else "")
                   + f", now {r['lr']:g} with {', '.join(f'{x:g}' for x in r['added_lr'])} "
                   "added, "
                   + ("still at the edge" if r["at_edge"] else "inside the grid")
                   + ("" if r["trained_at_choice"] or not r["trained_lr"] else
                      "; the capacity runs trained at "
                      + ", ".join(f"{x:g}" for x in r["trained_lr"]) + ", not the lr chosen now")
                   + ".")
    if f["headline"]:
        def bpp(r: dict, m: str) -> str:
            bound = " (still rising)" if r[f"{m}_rising"] else ""
            return f"{ci(r[m], r[f'{m}_lo'], r[f'{m}_hi'])}{bound}"
        out.append("- **Bits stored as the issue defined it: clipped, biased upwards at long "
                   "lengths, neither capacities nor bounds** (`capacity`: bits stored per "
                   "parameter, the most "
                   "stored over the lengths tried, 3 independent sequences per length; online "
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
        out.append("- **The clipped curves keep rising** (`capacity` continued by "
                   "`capacity_plateau` and `capacity_more` to 4-16k letters): at its longest "
                   "length and largest exposure, each clipped curve is "
                   + ", ".join(f"{k} in {n}" for k, n in f["status"].items())
                   + " (level: the last doubling's interval includes no change), a rise largely "
                   f"due to the clip; the unclipped saving above levels off or peaks in {level} "
                   f"of {len(saved)} curves.")
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
           and r["divergence_g"] >= 0.1 and r["divergence_lc"] <= 8 * r["longest_memorized"]]
    if div:
        out.append("- **Time to memorize rises faster than a power law as L nears L*** (every "
                   "frontier-protocol run, censored ML, LSTM at 26 letters): steps ~ L^b "
                   "(1 - L/Lc)^-g beats a power law for " + ", ".join(
                       f"{r['units']} units (ΔAIC {r['delta_aic']:.0f}, g {r['divergence_g']:.2f}, "
                       f"Lc {r['divergence_lc']:,.0f}, {r['divergence_lc'] / r['longest_memorized']:.1f}"
                       "× the longest length memorized)" for r in div)
                   + ". Lc is not pinned down: its profile likelihood is flat out to an "
                   "exponential-like rise.")
    return out


def _readme_rtrl(rt: dict) -> list[str]:
    if not rt.get("lstar", {}).get("rtrl"):
        return []
    k, b = rt["lstar"]["rtrl"], rt["bits"].get("rtrl")
    line = ("- **The exact online gradient** (`rtrl`: RTRL run online against the 16-step "
            "window, LSTM, GRU and RNN at 4, 8 and 16 units, 26 letters, 200k steps, the "
            f"same sequences and seeds): {ANSWER_WORDS[rt['answer']]}: run pairs memorized "
            f"by only one gradient differ significantly in {k['longer'] + k['shorter']} of "
            f"{k['networks']} networks (pooled {k['only_gradient']} only under RTRL, "
            f"{k['only_base']} only under the window, exact p = {k['pooled_p']:.2g})")
    if b:
        line += (f"; where neither memorized RTRL stores ×{b['median']:.2f} the window's "
                 f"bits (median over networks, below 1 in {b['below_one']} of "
                 f"{b['networks']})")
    for f in rt.get("fresh", []):
        line += (f"; on {f['sequences']} fresh sequences ({f['network']}, {f['length']} "
                 f"letters) RTRL memorized {f['rtrl']}/{f['runs']}, the window "
                 f"{f['window']}/{f['runs']}")
    cases = rt.get("cases", [])
    if cases:
        line += "; the notebook's cases " + ", ".join(
            f"{c['case']} {c['rtrl']}/{c['runs']} under RTRL and {c['epoch']}/{c['runs']} "
            "under its stale BPTT" for c in cases)
    return [line + "."]


def _readme_usercells(f: dict) -> list[str]:
    uc = f["capacity"]
    if not uc:
        return []
    return ["- **Your own cell** (`usercells`: minGRU and minLSTM, Feng et al. 2024, "
            "beside the built-in cells at matched parameters, bits stored after "
            f"{uc[0]['exposures']} exposures): " + ", ".join(
                f"{r['network']} ({r['params']:,} parameters) {r['bits_per_param']:.2f}"
                + (" (still rising)" if r["rising"] else "") for r in uc)
            + " bits per parameter."]


def _readme_frontier_fresh(f: dict) -> list[str]:
    if not f["rows"]:
        return []
    return [f"- **L* on fresh sequences** (`frontier_fresh`, `frontier_cells_fresh`): "
            f"agrees with the first sequences' (same bracket or a ratio CI holding ×1) "
            f"for {f['agreeing']} of {len(f['rows'])} widths (" + ", ".join(
                f"{r['cell'].upper()} {r['units']}: {r['first_L_star']:.0f} → "
                f"{r['fresh_L_star']:.0f}" for r in f["rows"]) + ")."]


def _readme_cells_difficulty(f: dict) -> list[str]:
    if not f["effects"]:
        return []
    logits = [r for r in f["effects"] if r["loss"] == "logits"]
    dep = {r["cell"]: r for r in logits if r["metric"] == DEP}
    amb = {r["cell"]: r for r in logits if r["metric"] != DEP}
    return ["- **Which property makes a sequence hard depends on the cell** (loss on "
            "logits, forks slice, matched parameters): doubling the depth costs " + ", ".join(
                f"{c.upper()} {doubling(r)}" for c, r in sorted(dep.items()))
            + "; doubling 1 + ambiguous transitions costs " + ", ".join(
                f"{c.upper()} {doubling(r)}" for c, r in sorted(amb.items())) + "."]


def _readme_check(title: str, unit: str, scale: str) -> Callable[[dict], list[str]]:
    def lines(v: dict) -> list[str]:
        return [f"- **{title}** ({v['sequences']} {unit}, {v['runs']:,} runs): median "
                f"prediction factor {v['median_factor']:.2f} in {scale} over {v['cells']} cells "
                f"(90th percentile {v['factor_p90']:.2f}); Brier score {v['brier']:.3f} "
                f"against {v['brier_no_skill']:.3f} for no skill"
                + (f" and {v['brier_design']:.3f} for a baseline that knows the design"
                   if "brier_design" in v else "")
                + "".join(f"; {loss_name(r['loss'])} ×{r['median_factor']:.2f}, Brier "
                          f"{r['brier']:.3f} against {r['brier_no_skill']:.3f}"
                          for r in v.get("by_loss", [])) + "." + _skill_text(v)]
    return lines


def _skill_text(v: dict) -> str:
    """Per loss: the law's Brier against the design baseline's, and the difficulty terms'
    paired gain in median factor (analysis.skill)."""
    skill = v.get("skill") or {}
    if not skill.get("verdicts"):
        return ""
    gains = {g["loss"]: g for g in skill["gain"] if g["gain"] == "difficulty terms"}
    parts = []
    for r in skill["verdicts"]:
        g = gains[r["loss"]]
        brier = ("n/a (every run memorized)" if r["brier"] is None
                 else f"{r['brier_share_of_design']:.2f}× the design baseline's")
        parts.append(f"{loss_name(r['loss'])}: Brier {brier}, difficulty terms ×"
                     f"{ci(g['factor_gain'], g['factor_gain_lo'], g['factor_gain_hi'])} on the "
                     "median factor")
    return " Against forecasts that know the design: " + "; ".join(parts) + "."


def _readme_prereg(v: dict) -> list[str]:
    refused = sum(r["runs"] for r in v.get("refused", []))
    return [f"- **The pre-registered check** (`prereg_check`, made after the law's freeze in "
            f"`analysis/freeze.json`; {v['sequences']} sequences of 32-128 letters, {v['runs']:,} "
            f"runs predict accepted, {refused} it refused as outside its design): median factor "
            f"{v['median_factor']:.2f} in epochs" + "".join(
                f"; {r['length']} letters, {loss_name(r['loss'])} ×{r['median_factor']:.2f}"
                for r in v["by_length"] if r["median_factor"] == r["median_factor"])
            + "." + _skill_text(v)]


def _readme_length_law(f: dict) -> list[str]:
    parts = []
    for c in f["checks"]:
        law, gain = c["law"], c["gain"]
        text = f"`{c['table']}` ({c['verdict']}): median factor " + (
            ci(law["median_factor"], law["factor_lo"], law["factor_hi"])
            if law and law["median_factor"] == law["median_factor"] else "n/a")
        text += (f", Brier {c['brier_vs_design']:.2f}× the design baseline's"
                 if c["brier_vs_design"] == c["brier_vs_design"] else "")
        parts.append(text + (", structure terms ×" + ci(gain["factor_gain"], gain["factor_gain_lo"],
                                                        gain["factor_gain_hi"]) + " on the factor"
                             if gain else ""))
    met = [sum(bool(c[k]) for c in f["checks"]) for k in ("factor_met", "brier_met")]
    return [f"- **One law across length** (`predict(..., protocol=\"frontier\")`: {f['runs']:,} "
            f"runs of {f['sequences']} sequences of {f['shortest']}-{f['longest']} letters under "
            "the frontier's protocol; " + f["name"] + "): " + "; ".join(parts) + ". Targets: "
            f"median factor ≤ 1.3 met in {met[0]} of {len(f['checks'])} checks, Brier ≤ 0.5× the "
            f"design's in {met[1]}; checked to {f['longest_checked']} letters."]


def _readme_between(wb: dict) -> list[str]:
    return [f"- **Between the width x lr grid points** (`width_lr_between`, fresh seeds, "
            f"{wb['runs']:,} runs): {wb['inside']} of {wb['cells']} cells memorize a share "
            "within the range of their four grid neighbours; `analysis.predict` there: "
            f"median factor {wb['median_factor']:.2f}, Brier {wb['brier']:.3f} against "
            f"{wb['brier_no_skill']:.3f}."]


def _readme_options(f: dict) -> list[str]:
    if not f["logits"]:
        return []
    return ["- **The notebook's Softmax before the loss**: the loss on logits takes " + ", ".join(
        f"×{ci(r['ratio'], r['lo'], r['hi'])} the epochs at depth {r['depth']}"
        for r in f["logits"]) + " (v1 study, one sequence per depth: seed-level CIs)."]


README: dict[str, Callable[[dict], list[str]]] = {
    "depth_ambiguity": _readme_depth_ambiguity, "width": _readme_width,
    "frontier": _readme_frontier, "capacity": _readme_capacity, "rtrl": _readme_rtrl,
    "usercells": _readme_usercells, "frontier_fresh": _readme_frontier_fresh,
    "cells_difficulty": _readme_cells_difficulty,
    "validation": _readme_check("The law out of sample", "held-out sequences", "steps"),
    "predict_check": _readme_check("`analysis.predict` on runs that chose nothing",
                                   "fresh sequences at widths and learning rates no analysed "
                                   "spec has", "epochs"),
    "prereg_check": _readme_prereg, "width_lr_between": _readme_between,
    "length_law": _readme_length_law,
    "options": _readme_options}
