"""The findings (fit.json's list, analysis.findings) in words: the README's findings block
and the report's brief, from the same list by one function. Formatting only."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from analysis.fmt import ci, loss_name, pct

AMB, DEP = "1 + ambiguous transitions", "context depth"
ANSWER_WORDS = {"no": "no detectable effect", "yes": "yes", "mixed": "not in general"}
FAILURES_COME_WITH = {"depth": "failures come with depth",
                      "ambiguity": "failures come with ambiguity",
                      "alike": "depth and ambiguity cost alike"}


def render(findings: list[dict[str, Any]], form: str) -> str:
    """The findings as the README's list (form "readme": one line per finding) or as the
    report's brief (form "brief": numbered answers)."""
    by_id = {f["id"]: _numbers(f) for f in findings}
    if form == "readme":
        return "\n".join(line for f in findings if f["id"] in README
                         for line in README[f["id"]](by_id[f["id"]]))
    if form == "brief":
        return "\n\n".join(p for p in (_brief_difficulty(by_id), _brief_width(by_id),
                                        _brief_capacity(by_id), _brief_scaling(by_id)) if p)
    raise ValueError(f"form is 'readme' or 'brief', got {form!r}")


def _numbers(obj: Any) -> Any:
    """fit.json's "inf"/"nan" strings back to floats."""
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    return float(obj) if obj in ("inf", "-inf", "nan") else obj


def _times(r: dict) -> str:
    return f"×{ci(r['doubling'], r['doubling_lo'], r['doubling_hi'])}"


def _effects(f: dict, loss: str) -> dict[str, dict]:
    """metric -> effect row of `loss`."""
    return {r["metric"]: r for r in f["effects"] if r["loss"] == loss}


# -- the README: one function per finding, each a list of lines ------------------------------

def _readme_depth_ambiguity(f: dict) -> list[str]:
    out = []
    for loss, name in (("softmax", "the notebook's loss"), ("logits", "the loss on logits")):
        e = _effects(f, loss)
        if e:
            d, a = e[DEP], e[AMB]
            out.append(f"- **Depth and ambiguity, each at a fixed value of the other** ({name}; "
                       f"forks design): doubling the context depth multiplies the steps to "
                       f"memorize by {_times(d)}, doubling 1 + ambiguous transitions by "
                       f"{_times(a)} (95% CIs over sequences).")
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
            f"{ci(r['difference'], r['lo'], r['hi'], '{:+.2f}')}" for r in worse)
            + " (change in share, 95% CI over sequences).")
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


def _readme_capacity(f: dict) -> list[str]:
    out = []
    if f["headline"]:
        def bpp(r: dict, m: str) -> str:
            bound = " (still rising: a lower bound)" if r[f"{m}_rising"] else ""
            return f"{ci(r[m], r[f'{m}_lo'], r[f'{m}_hi'])}{bound}"
        out.append("- **Capacity, measured** (`capacity`: bits stored per parameter, the most "
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
                       f"(tested {r['below']:.0f}-{r['above']:.0f}; interval [{r['lo']:.0f}, "
                       f"{r['hi']:.0f}]; {r['bits_per_param']:.2f} bits per parameter after "
                       f"{r['exposures_at_lstar']:.0f} exposures)" for r in f["lstar"])
                   + ". The fixed budget in steps is fewer exposures at a longer L*.")
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
                f"{c.upper()} {_times(r)}" for c, r in sorted(dep.items()))
            + "; doubling 1 + ambiguous transitions costs " + ", ".join(
                f"{c.upper()} {_times(r)}" for c, r in sorted(amb.items())) + "."]


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
                          for r in v.get("by_loss", [])) + "."]
    return lines


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
    "width_lr_between": _readme_between, "options": _readme_options}


# -- the report's brief: one numbered answer per question ---------------------------------

def _brief_difficulty(by_id: dict[str, dict]) -> str:
    da = by_id.get("depth_ambiguity")
    if da is None:
        return ""
    sm, lg = _effects(da, "softmax"), _effects(da, "logits")
    text = (f"1. **Why some strings are harder.** With depth and ambiguity set "
            f"independently (the forks design, lr {'/'.join(f'{x:g}' for x in da['lrs'])}), "
            f"doubling 1 + ambiguous "
            f"transitions multiplies the LSTM's steps by {_times(sm[AMB])} "
            f"under the notebook's loss ({_times(lg[AMB])} "
            f"on logits) and doubling the depth by "
            f"{_times(sm[DEP])} ({_times(lg[DEP])}). ")
    parts = [f"at {r['units']} units {FAILURES_COME_WITH[r['which']]} (share "
             f"{pct(r['shallow_share'])} at depth {r['shallow_depth']} and "
             f"{pct(r['deep_share'])} at depth {r['deep_depth']}; {pct(r['ambiguity_low'])}-"
             f"{pct(r['ambiguity_high'])} over the ambiguity levels)"
             for r in by_id.get("failures", {}).get("rows", []) if r["loss"] == "softmax"]
    if parts:
        text += "Under the notebook's loss, " + "; ".join(parts) + ". "
    h = by_id.get("entropy_term")
    if h is not None:
        text += (f"Across all {h['sequences']} sequences the chosen law adds the "
                 f"next-letter entropy H(next | letter): {ci(h['estimate'], h['lo'], h['hi'])} on "
                 "ln T per bit under the notebook's loss, beside the counts. That is a "
                 "model-selection result, chosen after a first look at the held-out runs "
                 "(§Out of sample), and no design varies H independently of the "
                 f"ambiguity count (r = {h['rho']:.2f} with ln(1 + ambiguous transitions) "
                 "over these sequences). ")
    cd = by_id.get("cells_difficulty")
    if cd is not None and cd["effects"]:
        ce = {(r["cell"], r["metric"]): r for r in cd["effects"] if r["loss"] == "logits"}
        cells = [c for c in ("gru", "rnn") if (c, DEP) in ce]
        if cells:
            lrs = "/".join(f"{x:g}" for x in cd["lrs"])
            text += ("For the GRU and the tanh RNN at the same parameter counts depth "
                     f"costs more (loss on logits, lr {lrs}, per doubling: " + ", ".join(
                         f"{c.upper()} {_times(ce[(c, DEP)])}"
                         for c in [*cells, "lstm"] if (c, DEP) in ce)
                     + ") and ambiguity at fixed depth " + ", ".join(
                         f"{c.upper()} {_times(ce[(c, AMB)])}"
                         for c in [*cells, "lstm"] if (c, AMB) in ce) + ". ")
    return text + ("What one-step training cannot learn at all: with the state reset before "
                   "every letter, any string with a letter of two successors (§1).")


def _brief_width(by_id: dict[str, dict]) -> str:
    w = by_id.get("width")
    if w is None:
        return ""
    lg, sm = w["by_loss"]["logits"], w["by_loss"]["softmax"]
    lo_share, hi_share = pct(lg["lowest"]), pct(lg["top"])
    shares = lo_share if lo_share == hi_share else f"{lo_share}-{hi_share}"
    edge = lg["edge_units"]
    text = (f"2. **Why a larger network helps: trainability and room, separately.** Within "
            f"1000 epochs on width_lr's {w['n_sequences']} sequences, at each width's best grid "
            f"lr, the loss on logits memorizes {shares} of runs at every width "
            f"{lg['units'][0]}-{lg['units'][1]}"
            + (f" (at {edge[0]}-{edge[1]} units the best lr is the grid's top)" if edge else "")
            + f"; under the notebook's loss the share peaks at {sm['peaks'][0]} units "
              f"({pct(sm['top'])}) and is {pct(sm['widest_share'])} at {sm['widest_units']}")
    for r in sm["widest_step"]:
        text += (f" ({r['narrow']}→{r['wide']} units: "
                 f"{ci(r['difference'], r['lo'], r['hi'], '{:+.2f}')} in share, CI over sequences)")
    text += " (§2). "
    for r in sm["late"]:
        text += (f"Part of that is the budget: at lr {r['lr']:g}, {sm['widest_units']} units "
                 f"memorize {pct(r['share_short'])} by 1000 epochs and {pct(r['share_long'])} "
                 f"by {r['budget']:,.0f} (`long_budgets`). ")
    f = by_id.get("frontier")
    if f is None:
        return text
    le = f.get("lr_effect")
    if le:
        low, steps = le["lr_to"], le["budget_steps"]
        text += (f"On random sequences, at lr {low:g} and {steps // 1000:,}k steps the "
                 f"LSTM's L* lies between these tested lengths: "
                 + _per_alphabet(le["brackets"], ", ",
                                 lambda r: f"{r['units']}u {r['L_below']:.0f}-{r['L_above']:.0f}")
                 + ". ")
        span = _per_alphabet(le["higher"], "/", lambda r: f"{r['L_star']:.0f}")
        widths = "/".join(map(str, le["widths"]))
        text += (f"On the same sequences at lr {le['lr_from']:g}, L* was {span} at {widths} units; "
                 f"lr {low:g} reaches further (CI above ×1) for {le['longer']} of "
                 f"{len(le['rows'])} (width, alphabet) pairs"
                 + (f", all at {le['longer_from_units']} units or more: there the stall was "
                    "the higher lr's, not the network's. " if le["longer"] else ". "))
        be = f.get("budget_effect")
        if be:
            text += (f"At lr {low:g}, {be['budget_steps_to'] // 1000:,}k "
                     f"instead of {be['budget_steps_from'] // 1000:,}k steps leave "
                     f"{be['unresolved']} of {len(be['rows'])} L* in the same bracket ("
                     + ", ".join(f"{r['units']} units, {r['alphabet_size']} letters"
                                 for r in be["rows"])
                     + "); the doubling lengths cannot resolve a change under ×2. ")
    top = f["most_shown"]
    text += (f"The most any network was shown to regenerate exactly is {top['bits_shown']:.2g} bits "
             f"per parameter ({top['cell'].upper()} {top['units']} units, at the longest tested "
             "length half its runs memorized), at one lr and budget and under a pass/fail "
             "criterion; the graded measure of what networks store is 2b below. ")
    c = f.get("cells")
    if c:
        more = [r for r in c["rows"] if r["verdict"] == "more"]
        fewer = [r for r in c["rows"] if r["verdict"] == "fewer"]
        text += (f"At lr {'/'.join(f'{x:g}' for x in c['lrs'])} the GRU and the RNN store more "
                 f"bits per parameter than the LSTM of their size in {c['counts']['more']} of "
                 f"{len(c['rows'])} pairs (" + ", ".join(_cell_ratio(r) for r in more)
                 + f"), fewer in {c['counts']['fewer']} (" + ", ".join(_cell_ratio(r) for r in fewer)
                 + f") and as many within the grid's resolution in {c['counts']['same']}: at one "
                   "lr this compares what online training reaches, not capacity (§2).")
    return text


def _per_alphabet(rows: list[dict], sep: str, item: Callable[[dict], str]) -> str:
    """'4 letters a, b; 26 letters c, d' over rows sorted by alphabet."""
    sizes = list(dict.fromkeys(r["alphabet_size"] for r in rows))
    return "; ".join(f"{a} letters " + sep.join(item(r) for r in rows if r["alphabet_size"] == a)
                     for a in sizes)


def _cell_ratio(r: dict) -> str:
    return f"{r['cell'].upper()} {r['units']} ×{ci(r['ratio'], r['lo'], r['hi'])}"


def _brief_capacity(by_id: dict[str, dict]) -> str:
    cap = by_id.get("capacity")
    if cap is None or not cap["headline"]:
        return ""

    def bpp(r: dict, m: str) -> str:
        return (f"{_ci_or_point(r[m], r[m + '_lo'], r[m + '_hi'])}"
                + (" (still rising)" if r[m + "_rising"] else ""))

    items = "; ".join(f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters, "
                      f"{r['exposures']} exposures: online {bpp(r, 'online')}, offline "
                      f"{bpp(r, 'offline')} (online x"
                      f"{_ci_or_point(r['ratio'], r['ratio_lo'], r['ratio_hi'])})"
                      for r in cap["headline"])
    return ("2b. **How much a network stores, and what online training costs** (§Capacity, "
            "measured). Bits stored per parameter, the most stored over the lengths tried, each "
            "width at the lr chosen on other sequences, online and offline at the same lengths "
            "and exposures: " + items + ". A value still rising at the longest length tried is "
            "a lower bound on capacity.")


def _ci_or_point(v: float, lo: float, hi: float) -> str:
    """'1.60 [0.78, 2.42]', or the point alone where the interval is unknown."""
    if any(math.isnan(x) for x in (lo, hi)):
        return f"{v:.2f}"
    return ci(v, lo, hi)


def _brief_scaling(by_id: dict[str, dict]) -> str:
    s = by_id["scaling"]
    ex = {(r["loss"], r["covariate"]): r for r in s["exponents"]}

    def power(loss: str, cov: str) -> str:
        r = ex[(loss, cov)]
        return f"{cov}^{r['exponent']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]"

    text = ("3. **The scaling factors** (the law, locally at 32 units and lr 1e-3; 95% CIs "
            "cluster-robust over sequences; §3): "
            + "; ".join(f"{loss_name(loss)}: T_steps ∝ {power(loss, 'units')} "
                        f"{power(loss, 'lr')} {power(loss, 'length')}"
                        for loss in ("softmax", "logits")))
    text += " (one length term for both losses). " if s["shared_length"] else ". "
    r = ex.get(("softmax", "best lr vs units"))
    if r is not None:
        grid = ("" if not s["grid_best_lrs"] else " The grid's own best lrs: " + ", ".join(
            f"{g['lr']:g} at {g['units']}" for g in s["grid_best_lrs"]) + ".")
        text += (f"Under the notebook's loss the quadratic law's fastest lr moves as "
                 f"units^{r['exponent']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}] (muP for Adam: -1); "
                 f"the slope is the quadratic form's.{grid} ")
    cost = s["step_costs"]
    if cost:
        text += (f"A model-step costs {cost[0]['median']:.0f} µs at {cost[0]['units']} "
                 f"units and {cost[-1]['median']:.0f} µs at {cost[-1]['units']} on this CPU. ")
    for key, name in (("validation", "held-out sequences"),
                      ("predict_check", "`predict_check` (runs that chose nothing)")):
        v = by_id.get(key)
        if v is None:
            continue
        per = "; ".join(f"{loss_name(r['loss'])} ×{r['median_factor']:.2f}, Brier {r['brier']:.3f} "
                        f"against {r['brier_no_skill']:.3f}" for r in v["by_loss"])
        text += (f"On {name} the law is off by a median factor of {v['median_factor']:.2f} "
                 f"(Brier {v['brier']:.3f} against {v['brier_no_skill']:.3f} for no skill): {per}. ")
    return text.rstrip()
