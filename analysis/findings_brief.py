"""The report's brief: one numbered answer per question, written from fit.json's findings
(analysis.findings) by analysis.findings_report.render. Formatting only."""

from __future__ import annotations

from collections.abc import Callable

from analysis.capacity_budget import ratio_cell
from analysis.fmt import ci, ci_or_point, doubling, loss_name, pct

AMB, DEP = "1 + ambiguous transitions", "context depth"
FAILURES_COME_WITH = {"depth": "failures come with depth",
                      "ambiguity": "failures come with ambiguity",
                      "alike": "depth and ambiguity cost alike"}


def brief(by_id: dict[str, dict]) -> str:
    """The numbered answers of the findings (id -> finding) that are there."""
    return "\n\n".join(p for p in (_difficulty(by_id), _width(by_id), _capacity(by_id),
                                    _scaling(by_id)) if p)


def effects(f: dict, loss: str) -> dict[str, dict]:
    """metric -> the effect row of `loss` in a finding's effects."""
    return {r["metric"]: r for r in f["effects"] if r["loss"] == loss}


def _difficulty(by_id: dict[str, dict]) -> str:
    da = by_id.get("depth_ambiguity")
    if da is None:
        return ""
    sm, lg = effects(da, "softmax"), effects(da, "logits")
    text = (f"1. **Why some strings are harder.** With depth and ambiguity set "
            f"independently (the forks design, lr {'/'.join(f'{x:g}' for x in da['lrs'])}), "
            f"doubling 1 + ambiguous "
            f"transitions multiplies the LSTM's steps by {doubling(sm[AMB])} "
            f"under the notebook's loss ({doubling(lg[AMB])} "
            f"on logits) and doubling the depth by "
            f"{doubling(sm[DEP])} ({doubling(lg[DEP])}). ")
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
                         f"{c.upper()} {doubling(ce[(c, DEP)])}"
                         for c in [*cells, "lstm"] if (c, DEP) in ce)
                     + ") and ambiguity at fixed depth " + ", ".join(
                         f"{c.upper()} {doubling(ce[(c, AMB)])}"
                         for c in [*cells, "lstm"] if (c, AMB) in ce) + ". ")
    return text + ("What one-step training cannot learn at all: with the state reset before "
                   "every letter, any string with a letter of two successors (§1).")


def _width(by_id: dict[str, dict]) -> str:
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
                 f"{ci(r['difference'], r['lo'], r['hi'], '{:+.2f}')} in share, interval over "
                 f"sequences; exact sign-flip p {r['p_exact']:.3f})")
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


def _capacity(by_id: dict[str, dict]) -> str:
    cap = by_id.get("capacity")
    if cap is None or not (cap["headline"] or cap.get("saved")):
        return ""
    text = ("2b. **How much a network stores, and what online training costs** (§Capacity, "
            "measured). ")
    def chosen(r: dict) -> bool:
        return r.get("lr_as_chosen") is None or bool(r["lr_as_chosen"])

    saved = [r for r in cap.get("saved", []) if r["exposures"] == r["max_epochs"] and chosen(r)
             and r["mode"] in ("online k=16", "offline")]
    summary = cap.get("at_chosen")
    if summary:
        off, on, ratio = summary["offline"], summary["online"], summary["ratio"]
        def bounds(n: int) -> str:
            return ("none still rising over length" if n == 0 else
                    f"{n} of them still rising over length (a lower bound)" if n == 1 else
                    f"{n} of them still rising over length (lower bounds)")

        def budgets(side: dict) -> str:
            return ", ".join(f"{n} trained {e} exposures" for e, n in side["budgets"].items())

        def longer(side: dict) -> str:
            budgets = side.get("longer_budget")
            if not budgets:
                return "no longer offline budget was tried"
            parts = []
            for b in budgets:
                text = (f"of the {b['networks']} trained again for {b['budget']} exposures, "
                        f"{b['more']} store more than at 300"
                        + (f" (plateaus x{b['lo']:.2f}-{b['hi']:.2f}, bootstrap intervals "
                           f"above 1; the paired t interval at the 300-exposure peak length "
                           f"excludes 1 in {b['peak_excludes']} of them)" if b["more"] else "")
                        + (f", {b['alike']} alike within the interval" if b["alike"] else "")
                        + f", {b['bpp_lo']:.2f}-{b['bpp_hi']:.2f} bits per parameter"
                        + (" (lower bounds: " + ", ".join(
                            f"the {r['cell'].upper()} {r['units']}, {r['alphabet_size']} "
                            f"letters, {r['status']}" for r in b["bound_names"]) + ")"
                           if b["bound_names"] else ""))
                if b.get("over_prev"):
                    text += (f", against {b['over_prev'][0]['prev']} exposures " + ", ".join(
                        f"x{ci_or_point(r['ratio'], r['lo'], r['hi'])} (the "
                        f"{r['cell'].upper()} {r['units']}, {r['alphabet_size']} letters)"
                        for r in b["over_prev"]))
                if b["at_shortest"]:
                    text += (f"; {b['at_shortest']} of them peak at the shortest length tried"
                             + (" (" + "; ".join(f"the {r['cell'].upper()} {r['units']}, "
                                                 f"{r['alphabet_size']} letters"
                                                 for r in b.get("shortest_names", []))
                                + ": a plateau at a shorter length is not measured)"
                                if b.get("shortest_names") else ""))
                for r in b["failed"]:
                    text += (f"; the {r['cell'].upper()} {r['units']} ({r['alphabet_size']} "
                             f"letters) stores x{r['prev_ratio']:.2f} of {r['prev']} (less than "
                             "a shorter budget at that lr: not read as a capacity; why is "
                             "untested)")
                unbounded = [r for r in b["equal_online"]
                             if (r.get("online_lr") or {}).get("more")]
                bounded = [r for r in b["equal_online"] if r not in unbounded]
                for r in unbounded:
                    m = max(r["online_lr"]["more"], key=lambda x: x["ratio"])
                    text += (f"; at equal exposures online keeps "
                             f"{ci_or_point(r['ratio'], r['lo'], r['hi'])} of offline (the "
                             f"{r['cell'].upper()} {r['units']}), no upper bound: at "
                             f"{m['length']:,} letters online at lr {m['lr']:g} stores "
                             f"{ratio_cell(m).replace('x', '×', 1)} of its own lr's bits")
                checked = [r for r in bounded if (r.get("online_lr") or {}).get("tried", 0) >= 2]
                if bounded:
                    text += ("; at equal exposures online keeps at most " + ", ".join(
                        f"{ci_or_point(r['ratio'], r['lo'], r['hi'])} (the {r['cell'].upper()} "
                        f"{r['units']}" + ("" if r.get("lr_bracketed") else
                                           ", offline's lr not checked at this budget") + ")"
                        for r in bounded) + " of offline (upper bounds: offline's lr "
                        "was chosen at 300 exposures"
                        + ("; at 1000, at the curve's peak length on the same sequences, neither "
                           "a third nor three times it stores more: lrs between grid points and "
                           "other settings untested"
                           if any(r.get("lr_bracketed") for r in bounded) else "")
                        + ("; nor does a third or three times online's lr at its peak, for the "
                           + ", ".join(f"{r['cell'].upper()} {r['units']}" for r in checked)
                           if checked else "")
                        + ")")
                parts.append(text)
            summary = side.get("longer_budget_lr_summary") or {}
            if summary:
                sides = [name for name in ("higher", "lower") if name in summary]
                none_more = not any(summary[name]["more_n"] for name in sides)
                names = ", ".join(f"the {r['cell'].upper()} {r['units']} ({r['alphabet_size']} "
                                  f"letters) at {r['max_epochs']}" for r in summary["budgets"])
                parts.append(f"the lr of {len(summary['budgets'])} of the "
                             f"{side.get('longer_budgets_n', '?')} longer budgets ({names}) "
                             "checked on the same sequences at one length each, the peak length "
                             "when the check was made: " + "; ".join(
                                 lr_direction(name, summary[name]) for name in sides)
                             + ("; none stores significantly more over 3 sequences"
                                if none_more else "")
                             + "".join(f"; the {r['cell'].upper()} {r['units']} "
                                       f"({r['alphabet_size']} letters, {r['max_epochs']}) "
                                       f"stores x{r['ratio']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}] "
                                       f"at {'a third of' if name == 'lower' else 'three times'}"
                                       f" its lr, checked at {r['length']:,} letters"
                                       + (f", past its peak at {r['curve_peak']:,}"
                                          if r.get("curve_peak") and r["curve_peak"] != r["length"]
                                          else "")
                                       + (f", more on {r['more_on']} of {r['sequences']} "
                                          "sequences" if "more_on" in r else "")
                                       + (f" (with {r['sequences']} sequences an exact sign-flip "
                                          "test's smallest two-sided p is "
                                          f"{2 / 2 ** r['sequences']:.2g}: no exact test can show it at 5%)"
                                          if r.get("more_on") == r.get("sequences")
                                          and 2 / 2 ** r.get("sequences", 9) > 0.05 else "")
                                       for name in sides for r in summary[name]["above_one"]))
            return ("where a longer budget stores more, the 300-exposure capacity was "
                    "limited by its budget and is a lower bound: " + "; ".join(parts))

        gains = on.get("budget_gains", [])
        text += (f"At 4 and 26 letters, offline char-RNN training stores {off['lo']:.2f}-"
                 f"{off['hi']:.2f} bits per parameter at its own budget ({off['curves']} networks, "
                 f"{bounds(off['bounds'])}; {budgets(off)}; {longer(off)})"
                 + (f", and {off['best_budget']['lo']:.2f}-{off['best_budget']['hi']:.2f} at the "
                    "budget that stored the most per network (a longer one for "
                    f"{off['best_budget']['raised']} of {off['best_budget']['networks']})"
                    if off.get("best_budget") else "") + ", online training "
                 f"with a 16-step window {on['lo']:.2f}-{on['hi']:.2f} "
                 f"({on['curves']} networks, {bounds(on['bounds'])}; {budgets(on)}"
                 + (f"; {len(gains)} still store x{gains[0]:.2f}-{gains[-1]:.2f} more at 1000 "
                    "than at 300 exposures (plateaus; the same runs' paired gain at the "
                    "1000-exposure peak has its interval above 1)" if gains else "") + ")"
                 + (f"; online keeps {ratio['lo']:.2f}-{ratio['hi']:.2f} of offline at the same "
                    f"exposures ({ratio['networks']} networks, neither side still rising over "
                    f"length in {ratio['plateaus']}; percentile bootstrap intervals over 3 "
                    "sequences per length, 6-9 at the peaks; of the direction only, paired by "
                    "sequence past "
                    f"online's peak, an exact sign-flip interval exists for {ratio.get('exact', 0)} of "
                    f"{ratio['networks']} and lies below 1 in {ratio.get('exact_below', 0)}, "
                    "the others resting on 3 sequences or fewer)" if ratio else "") + ". ")
    if saved:
        items = "; ".join(
            f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters, "
            f"{r['max_epochs']} exposures, {r['mode']}: "
            f"{ci_or_point(r['bits_per_param'], r['bpp_lo'], r['bpp_hi'])} ({r['status']}, "
            f"{r['measure']})" for r in saved)
        ratios = ", ".join(f"{r['cell'].upper()} {r['units']} units at {r['alphabet_size']} "
                           f"letters and {r['exposures']} exposures "
                           f"×{ci_or_point(r['ratio'], r['lo'], r['hi'])}"
                           for r in cap.get("saved_ratio", [])
                           if "not at the lr chosen" not in r["reads_as"])
        bias = "; ".join(f"{r['update']} {r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f})"
                         for r in cap.get("saved_bias", []))
        text += ("On the code-length saving (unclipped; exact where the run recorded it, else "
                 "the last training pass's proxy), capacity in bits per parameter at its "
                 "plateau over lengths, each curve at the lr chosen for it on other sequences "
                 "(the curves at other lrs are in §Capacity): "
                 + items + (f". Online as a fraction of offline at the same exposures: {ratios}"
                            if ratios else "")
                 + (f". The proxy over the exact saving, median (range): {bias}" if bias else "")
                 + ". ")
    if cap["headline"]:
        text += ("Bits stored as the issue defined it clip each position at zero, which credits "
                 "even an untrained network with its lucky positions: biased upwards at long "
                 "lengths, they are in §Capacity beside the unclipped measure.")
    return text


def _scaling(by_id: dict[str, dict]) -> str:
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
    ll = by_id.get("length_law")
    if ll is not None:
        checks = "; ".join(
            f"{c['table']} ×{c['law']['median_factor']:.2f}" for c in ll["checks"]
            if c["law"] and c["law"]["median_factor"] == c["law"]["median_factor"])
        text += (f"Under the frontier's protocol one law covers {ll['shortest']}-{ll['longest']} "
                 f"letters (`predict(..., protocol=\"frontier\")`; median factor on its checks: "
                 f"{checks}). ")
    return text.rstrip()


def lr_direction(name: str, d: dict) -> str:
    """One direction of the longer budgets' lr check (capacity_budget.lr_check_summary)."""
    def span(r: list) -> str:
        return f"x{r[0]:.2f}" if r[0] == r[1] else f"x{r[0]:.2f}-{r[1]:.2f}"
    groups = [f"{d[k + '_n']} {words} ({span(d[k + '_range'])})"
              for k, words in (("less", "store less"), ("more", "store more"),
                               ("same", "as much within their intervals"))
              if d[k + "_n"]]
    lr = "three times the lr" if name == "higher" else "a third of it"
    return f"at {lr}, of {d['checked']} budgets " + " and ".join(groups)
