"""REPORT.md's questions 2 and 3 (why width helps; the frontier; the scaling factors),
formatted from the Analysis."""

from __future__ import annotations

import math

import pandas as pd

from analysis.fmt import (
    ci,
    ci_or_grid,
    frontier_cell,
    loss_name,
    num,
    pct,
    spread_factor,
    steps_text,
    table,
)
from analysis.frontier import HALF, LITERATURE_BITS
from analysis.pipeline import Analysis


def question2(a: Analysis) -> str:
    lines = ["## 2. Why does a larger network help? Capacity or trainability"]
    if a.cases is not None:
        c = a.cases.set_index("case")
        if {6, 7} <= set(c.index):
            lines.append(f"Measured (the notebook's cases): random30 memorized in "
                         f"{c.loc[6, 'memorized']} of {c.loc[6, 'runs']} seeds at 32 units and "
                         f"{c.loc[7, 'memorized']} of {c.loc[7, 'runs']} at 128, at the "
                         "notebook's lr 1e-3.")
    w = a.width
    if w is not None:
        rows = []
        for r in w.best.sort_values(["loss", "units"]).itertuples():
            nb = w.at_notebook_lr[(w.at_notebook_lr["loss"] == r.loss)
                                  & (w.at_notebook_lr["units"] == r.units)]
            rows.append({"loss": r.loss, "units": r.units,
                         "best lr": f"{r.lr:g}" + (f" (grid's {r.edge})" if r.edge else ""),
                         "memorized at best lr [95% CI]":
                         f"{pct(r.share)} [{pct(r.share_lo)}, {pct(r.share_hi)}]",
                         "median steps": steps_text(r.median_steps),
                         "memorized at lr 1e-3": pct(nb["share"].iloc[0]) if len(nb) else "-"})
        lines += ["", f"**Width x learning rate** ({w.n_sequences} sequences of depth 2-4, 6 "
                      "seeds each, the best of the grid's lrs at every width (the µP-rule lrs, "
                      "stars in `width_lr.png`, are not chosen from); CIs resample sequences; "
                      "a best lr at the grid's top or bottom may lie beyond it):",
                  "", table(pd.DataFrame(rows)), ""]
    if w is not None and not w.steps.empty:
        worse = w.steps[w.steps["verdict"] == "worse"]
        better = w.steps[w.steps["verdict"] == "better"]
        steps_txt = "; ".join(f"{r.narrow}→{r.wide} units ({r.loss}): {r.difference:+.2f} "
                              f"[{r.lo:+.2f}, {r.hi:+.2f}], lower in {r.sequences_lower} and "
                              f"higher in {r.sequences_higher} of {w.n_sequences} sequences, "
                              f"exact p {r.p_exact:.3f}" for r in w.steps.itertuples())
        lines.append(f"Doubling the width, each at its best lr, changes the memorized share by "
                     f"(bootstrap interval over sequences; exact two-sided sign-flip test over "
                     f"the {w.n_sequences} sequences, the evidence for a change): {steps_txt}.")
        if len(worse):
            lines.append("**Wider is worse at its best lr** where the exact test rejects no "
                         "change (p < 0.05): "
                         + ", ".join(f"{r.narrow}→{r.wide} ({r.loss})" for r in worse.itertuples())
                         + ".")
        else:
            lines.append("No doubling of the width is worse at its best lr by the exact test "
                         f"(p < 0.05; with {w.n_sequences} sequences the smallest possible p is "
                         f"{2 / 2 ** w.n_sequences:.3f}).")
        if len(better):
            lines.append("Wider is better at its best lr (exact p < 0.05) for "
                         + ", ".join(f"{r.narrow}→{r.wide} ({r.loss})" for r in better.itertuples())
                         + ".")
    lines += _frontier_lines(a)
    lines.append(
        "\n*Hypothesis, not tested here:* at a fixed Adam lr a wider network moves its "
        "function further per step, so part of what width buys online is a larger effective "
        "step; the width x lr grid measures the net effect, not this mechanism.")
    return "\n".join(lines)


def _setting(r: object) -> str:
    return f"lr {r.lr:g}, {r.budget_steps // 1000:,}k steps"


def _effect_list(effects: pd.DataFrame) -> str:
    """'lstm 8 units, 4 letters: ×1.68 [1.19, 1.94]; ...' for an lr or budget effect table."""
    return "; ".join(f"{r.cell} {r.units} units, {r.alphabet_size} letters: "
                     f"×{ci_or_grid(r.L_ratio, r.lo, r.hi)}"
                     + (" (an end of the tested lengths)" if r.censored else "")
                     for r in effects.itertuples())


def _stall_lines(stalls: pd.DataFrame) -> list[str]:
    """frontier.Frontier.stalls in words."""
    out = []
    for r in stalls.itertuples():
        time = ("" if math.isnan(r.budget_factor) else
                f", and {r.budget_factor:.0f}x the steps change it by ×{ci(r.L_ratio, r.lo, r.hi)}")
        out.append(f"At {r.alphabet_size} letters and lr {r.lr:g} the {r.wide_units}-unit LSTM "
                   f"holds no longer a sequence than the {r.narrow_units}-unit one (both "
                   f"between {r.L_below:.0f} and {r.L_above:.0f} letters) with "
                   f"{r.parameter_ratio:.1f}x the parameters{time}: there "
                   "neither more parameters nor more time buy length that the doubling lengths "
                   "can detect (a change under ×2). *Hypothesis, not tested "
                   "here:* the lr, whose best value falls with width (§3).")
    return out


def _frontier_lines(a: Analysis) -> list[str]:
    f = a.frontier
    if f is None or f.frontier.empty:
        return []
    fr = f.frontier.set_index(["alphabet_size", "cell", "units", "lr", "budget_steps"])
    columns = f.settings.sort_values(["lr", "budget_steps"], ascending=[False, True])
    rows = []
    for best in f.best.itertuples():
        row = {"letters": best.alphabet_size, "cell": best.cell, "units": best.units,
               "parameters": f"{int(best.parameters):,}"}
        for st in columns.itertuples():
            key = (best.alphabet_size, best.cell, best.units, st.lr, st.budget_steps)
            row[f"L* {_setting(st)}"] = frontier_cell(fr.loc[key]) if key in fr.index else "-"
        row["bits per parameter, best"] = (f"{best.bits_per_param:.3g} [{best.bits_lo:.3g}, "
                                           f"{best.bits_hi:.3g}]")
        rows.append(row)
    per = "; ".join(f"{_setting(st)}: {st.sequences}" for st in f.settings.itertuples())
    lines = ["", f"**The capacity frontier** (i.i.d. random sequences per length: {per}; 4 "
                 f"seeds each; L* = the length where the memorized share crosses {HALF}, "
                 "(the tested lengths on either side of it), [bootstrap 95% CI over sequences "
                 "and seeds]; > / <: beyond the tested lengths; `frontier.png`). The lengths "
                 "double, so where every sequence flips between two of them the bootstrap CI "
                 "is a point and the bracket is the real uncertainty. Across lengths the "
                 "sequences are not independent: a generator seed is drawn at every length, "
                 "and one seed's sequences are prefixes of one another, so a bootstrap that "
                 "resamples each length on its own understates the uncertainty (the capacity "
                 "study's L*, `capacity_lstar`, uses independent draws per length):", "",
                 table(pd.DataFrame(rows)), ""]
    be = f.budget_effect
    for lr in be["lr"].unique():
        g = be[be["lr"] == lr]
        eff = _effect_list(g)
        moved = g[g["verdict"] == "longer"]
        lines.append(f"At lr {lr:g}, {g['budget_steps_to'].iloc[0]:,} instead of "
                     f"{g['budget_steps_from'].iloc[0]:,} steps changes L* by: {eff}. It moves "
                     f"(CI above ×1) for {len(moved)} of {len(g)}"
                     + (": there, training time limits the frontier. " if len(moved) else ". ")
                     + f"For the other {len(g) - len(moved)}, no change is detectable (CI "
                       "including ×1, at a resolution the doubling lengths set).")
    le = f.lr_effect
    if not le.empty:
        eff = _effect_list(le)
        further = le[le["verdict"] == "longer"]
        lines.append(f"At {le['budget_steps'].iloc[0]:,} steps, lr {le['lr_to'].iloc[0]:g} "
                     f"instead of {le['lr_from'].iloc[0]:g} changes L* by: {eff}. The lower lr "
                     f"reaches further (CI above ×1) for {len(further)} of {len(le)}: there the "
                     "frontier at the higher lr was the learning rate's, not the network's.")
        lines += _stall_lines(f.stalls)
    pr = a.probe
    if pr is not None and not pr.empty:
        rows = [{"letters": r.alphabet_size, "units": r.units, "length": r.length,
                 "lr": f"{r.lr:g}", "memorized": pct(r.share),
                 "median final loss": f"{r.final_loss:.3f}"} for r in pr.itertuples()]
        lines += ["", "The probe that found it (`frontier_probe`: the sequences just beyond the "
                      "lr-1e-2 L*, 200k steps):", "", table(pd.DataFrame(rows)), ""]
        if a.probe_agreement is not None:
            same, shared = a.probe_agreement
            lines.append(f"The probe's runs that `frontier_lr` also made (same run id) have "
                         f"identical outcomes and steps in {same} of {shared}.")
    fc = f.cells
    if not fc.empty:
        rows = [{"parameters of": f"LSTM {r.lstm_units} ({r.lstm_parameters:,})",
                 "cell": f"{r.cell} {r.units} ({r.parameters:,})",
                 "setting": f"{r.alphabet_size} letters, lr {r.lr:g}, {r.budget_steps // 1000}k",
                 "bits/parameter": f"{r.bits_per_param:.3g}",
                 "LSTM bits/parameter": f"{r.lstm_bits_per_param:.3g}",
                 "ratio [95% CI]": f"×{r.ratio:.2f} [{r.lo:.2f}, {r.hi:.2f}]",
                 "L* in the LSTM's bracket": "yes" if r.same_bracket else "no",
                 "verdict": r.verdict}
                for r in fc.sort_values(["lstm_units", "cell"]).itertuples()]
        counts = f.cell_verdicts
        lines += ["", "**Bits per parameter by cell**, each GRU or RNN beside the LSTM of its "
                      "parameter count (`frontier_cells`; all at one lr):", "",
                  table(pd.DataFrame(rows)), "",
                  "Verdict: `more` or `fewer` where the ratio's CI excludes ×1, `same` where "
                  "it includes it or where both L* are one point inside a shared bracket (the "
                  "ratio is then only the parameter counts'): "
                  + ", ".join(f"{counts.get(v, 0)} {v}" for v in ("more", "same", "fewer"))
                  + f" of {len(fc)}. At one lr and budget this compares what online training "
                    "reaches, not capacity."]
    top = f.most_shown
    lines.append(f"The most any measured network was shown to regenerate exactly is "
                 f"{top.bits_shown:.3g} bits per parameter, at the longest tested length half its "
                 f"runs memorized ({top.cell} {top.units} units, {top.alphabet_size} letters, "
                 f"{_setting(top)}; L* interpolated inside the bracket: {top.bits_per_param:.3g}). "
                 "Beside it, as context and not as evidence about these "
                 f"runs: Collins, Sohl-Dickstein & Sussillo (2017) report about "
                 f"{LITERATURE_BITS:g} bits per parameter for tuned, offline training.")
    return lines


# -- Q3 ----------------------------------------------------------------------------------

def question3(a: Analysis) -> str:
    law = a.law
    fit = law.fit
    coef = law.coefficients
    rows = [{"term": r.term, "covariate": r.formula, "estimate": num(r.estimate),
             "95% CI, sequences (cluster)": f"[{num(r.lo)}, {num(r.hi)}]",
             "95% CI, runs (Wald)": f"[{num(r.wald_lo)}, {num(r.wald_hi)}]"}
            for r in coef.itertuples()]
    comp = law.comparison.head(8)
    comp = pd.DataFrame({"model": comp["model"], "k": comp["k"],
                         "effective k (TIC)": comp["effective_k"].map(lambda v: f"{v:.0f}"),
                         "ΔTIC": comp["delta_tic"].map(lambda v: f"{v:.1f}"),
                         "ΔAIC": comp["delta_aic"].map(lambda v: f"{v:.1f}")})
    rng = "; ".join(f"{k} {num(v[0])}-{num(v[1])}" for k, v in law.ranges.items())
    lines = [
        "## 3. The scaling factors between difficulty, capacity and speed",
        f"**The law** (chosen by a cluster-robust TIC among {len(law.comparison)} declared "
        f"models; "
        f"`fit.json`): a censored log-normal AFT of steps-to-memorize T on {fit.n:,} runs "
        f"({fit.n_events:,} memorized) of {law.n_sequences} sequences:",
        f"\n    {law.name}\n",
        "", table(pd.DataFrame(rows)), "",
        "Models compared (lower is better). AIC counts every run as independent; the seeds "
        "of a sequence share its sequence-level terms, so AIC over-rewards them. Takeuchi's "
        "criterion (TIC) charges each model its effective number of parameters, tr(J H⁻¹) "
        "with J from the sequences' summed scores, and chooses:", "", table(comp), "",
        "How the spread may vary (same location, lower TIC is better):", "",
        table(pd.DataFrame({"spread": law.scale_comparison["model"],
                             "k": law.scale_comparison["k"],
                             "ΔTIC": law.scale_comparison["delta_tic"].map(
                                 lambda v: f"{v:.1f}")})), "",
        table(pd.DataFrame([{"ln σ term": r.term, "covariate": r.formula,
                              "estimate": num(r.estimate),
                              "95% CI, sequences": f"[{num(r.lo)}, {num(r.hi)}]"}
                             for r in law.scale_coefficients.itertuples()])), "",
        f"- Spread: σ = {law.sigma_total:.2f} on ln T over the fitted rows (root mean "
        f"square); seed to seed alone (one intercept per cell) σ = {num(law.sigma_seed, 2)}, "
        f"a factor {num(spread_factor(law.sigma_seed), 3)} either way (10th-90th percentile); the "
        f"rest, {num(law.sigma_sequence, 2)}, is between sequences and misfit. By loss: "
        + "; ".join(f"{loss_name(r.loss)} σ {r.sigma:.2f} (seed {num(r.sigma_seed, 2)}, rest "
                    f"{num(r.sigma_sequence, 2)}, {r.runs:,} runs)"
                    for r in law.spread.itertuples()) + ".",
        "**Scaling exponents** of the law, d ln T_steps / d ln x where x changes alone, at "
        f"{a.elasticities['at'].iloc[0]} (the fitted rows' medians; cluster 95% CIs, "
        "delta method). The law is quadratic in ln units and ln lr, so these are local: "
        "they hold near that point and change along the surface.", "",
        table(pd.DataFrame([{"loss": loss_name(r.loss), "x": r.covariate,
                              "exponent [95% CI]": f"{r.exponent:.2f} [{r.lo:.2f}, {r.hi:.2f}]",
                              "note": _exponent_note(r)}
                             for r in a.elasticities.itertuples()])), "",
        f"- Range of validity (the fitted rows): {rng}. Outside it `predict` warns. Inside it "
        "the data are not spread evenly: the fitted sequences by length are "
        + ", ".join(f"{n} of {length}" for length, n in a.sequence_lengths.items())
        + " letters, so the length term rests mostly on the shorter ones.",
        "- In epochs: T_epochs = T_steps / length, so a length exponent b in steps is b - 1 "
        "in epochs.",
    ]
    if a.speed is not None:
        s = a.speed.sort_values("units")
        lines.append("- Cost of one step, measured in the width x lr runs (median µs per "
                     "model-step): " + ", ".join(f"{r.units} units {r.median:.0f}"
                                                 for r in s.itertuples()) + ".")
    if a.time_to_memorize is not None:
        b = a.time_to_memorize[a.time_to_memorize["loss"] == "logits"]
        if len(b):
            secs = ", ".join(f"{r.units} units {r.seconds:.2g} s"
                             for r in b.sort_values("units").itertuples())
            lines.append(f"- Wall-clock time to memorize per model at each width's best lr "
                         f"(loss on logits; median steps x measured cost): {secs} "
                         "(`time_vs_units.png`).")
    return "\n".join(lines)


def _exponent_note(r: object) -> str:
    if r.covariate == "length":
        return f"in epochs {r.exponent - 1:.2f}"
    if r.covariate == "best lr vs units":
        where = "inside" if r.inside else "outside"
        return (f"lr* at 32 units {r.best_lr:.2g}, {where} the fitted lrs; muP for Adam: -1"
                + ("" if r.inside else " (an extrapolation: no best lr in the data)"))
    return ""


# -- cells -------------------------------------------------------------------------------
