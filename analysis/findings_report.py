"""The findings (fit.json's list, analysis.findings) in words: the README's findings block
and the report's brief (analysis.findings_brief), from the same list by one function.
Formatting only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analysis.findings_brief import AMB, DEP, brief, effects
from analysis.findings_capacity_report import readme_capacity
from analysis.fmt import ci, ci_or_grid, doubling, loss_name, pct

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
                       f"×{ci_or_grid(r['L_ratio'], r['lo'], r['hi'])} at {r['units']} units and "
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
                           f"letters by ×{ci_or_grid(r['L_ratio'], r['lo'], r['hi'])}.")
        kept = [r for r in be["rows"] if r["verdict"] == "unresolved"]
        if kept:
            out.append(f"- **More steps leave the widest frontier where it was**: at lr "
                       f"{be['lr']:g}, {kept[0]['budget_steps_to']:,} instead of "
                       f"{kept[0]['budget_steps_from']:,} steps: " + ", ".join(
                           f"L* of {r['units']} units at {r['alphabet_size']} letters "
                           f"×{ci_or_grid(r['L_ratio'], r['lo'], r['hi'])} ({r['L_from']:.0f} → "
                           f"{r['L_to']:.0f})" for r in kept) + ".")
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
    "frontier": _readme_frontier, "capacity": readme_capacity, "rtrl": _readme_rtrl,
    "usercells": _readme_usercells, "frontier_fresh": _readme_frontier_fresh,
    "cells_difficulty": _readme_cells_difficulty,
    "validation": _readme_check("The law out of sample", "held-out sequences", "steps"),
    "predict_check": _readme_check("`analysis.predict` on runs that chose nothing",
                                   "fresh sequences at widths and learning rates no analysed "
                                   "spec has", "epochs"),
    "prereg_check": _readme_prereg, "width_lr_between": _readme_between,
    "length_law": _readme_length_law,
    "options": _readme_options}
