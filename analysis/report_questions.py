"""REPORT.md's question 1 (why some sequences are harder), the cells, question 4 (the
law) and the notebook's cases, formatted from the Analysis."""

from __future__ import annotations

import pandas as pd

from analysis.cases import CASES, cases_markdown
from analysis.design import ALIAS_RHO
from analysis.engines import engines_markdown
from analysis.fmt import (
    loss_name,
    num,
    pct,
    steps_text,
    table,
)
from analysis.options import SOFTMAX_FLOOR
from analysis.pipeline import Analysis


def question1(a: Analysis) -> str:
    lines = ["## 1. Why are some strings much harder to memorize?"]
    if a.design is not None:
        ds = a.design
        w = ds.within_v1_range
        v1 = ("" if w is None else
              f"Within each (length, distinct letters) group of the v1 study's generated "
              f"sequences of depth > 1, deeper sequences have fewer ambiguous letters "
              f"(Spearman ρ(depth, context bits) from {w[0]:.2f} to "
              f"{w[1]:.2f} over {len(ds.within_v1)} groups), so no fit on them can separate "
              "the two. ")
        r_new = ds.correlation.loc["context_depth", "ambiguous_transitions"]
        lines.append(
            f"**The design.** {v1}The forks design sets them independently: "
            f"{ds.n_sequences} sequences, five per (depth, forks) cell, ρ(depth, ambiguous "
            f"transitions) = {num(r_new, 2)} (`correlation.png`). Repeats are depth - 1 + forks "
            "by construction, so a repeats effect is not separable from the other two there.")
        rows = [dict(loss=r.loss, metric=r.metric,
                     **{"steps x per doubling [95% CI, sequences]":
                        f"×{r.doubling:.2f} [{r.doubling_lo:.2f}, {r.doubling_hi:.2f}]"})
                for r in ds.effects.itertuples()]
        lines += ["", "Each at a fixed value of the other (log-normal AFT on the design's runs, "
                      "width as a covariate, CIs cluster-robust by sequence):", "",
                  table(pd.DataFrame(rows)), ""]
        for loss in ("softmax", "logits"):
            e = ds.effects[ds.effects["loss"] == loss].set_index("metric")
            dep, amb = e.loc["context depth"], e.loc["1 + ambiguous transitions"]
            lines.append(f"- {loss_name(loss).capitalize()}: "
                         f"doubling the depth at fixed ambiguity multiplies the steps by "
                         f"×{dep.doubling:.2f} [{dep.doubling_lo:.2f}, {dep.doubling_hi:.2f}]; "
                         f"doubling 1 + ambiguous transitions at fixed depth by "
                         f"×{amb.doubling:.2f} [{amb.doubling_lo:.2f}, {amb.doubling_hi:.2f}]."
                         + _which(dep, amb))
        if ds.effects_by_width is not None and len(ds.effects_by_width):
            rows = [{"units": r.units, "loss": loss_name(r.loss), "metric": r.metric,
                     "steps x per doubling [95% CI, sequences]":
                     f"×{r.doubling:.2f} [{r.doubling_lo:.2f}, {r.doubling_hi:.2f}]"}
                    for r in ds.effects_by_width.itertuples()]
            lines += ["", "The same fitted at each width alone (a pooled effect can hide one "
                          "that differs with width):", "", table(pd.DataFrame(rows)), ""]
        if ds.aliases is not None and len(ds.aliases):
            names = {f: ", ".join(f"{r.alias} (ρ {r.rho:+.2f})"
                                  for r in ds.aliases[ds.aliases["factor"] == f].itertuples())
                     for f in ds.aliases["factor"].unique()}
            lines.append("**Aliases.** Over the design's sequences these metrics move with a "
                         f"design factor (Spearman |ρ| ≥ {ALIAS_RHO}), so an effect called by the "
                         "factor's name may be any of them: "
                         + "; ".join(f"{f}: {a}" for f, a in names.items()) + ".")
    if a.design is not None:
        m = a.design.margins
        for loss, units in sorted(set(zip(m["loss"], m["units"], strict=True))):
            g = m[(m["loss"] == loss) & (m["units"] == units)]
            by = {f: ", ".join(f"{r.level}: {pct(r.share)} [{pct(r.lo)}, {pct(r.hi)}]"
                               for r in g[g["factor"] == f].itertuples())
                  for f in ("depth", "ambiguous")}
            lines.append(f"- Memorized within the budget, {loss} loss, {units} units: by depth "
                         f"{by['depth']}; by ambiguous transitions {by['ambiguous']}.")
        lines.append("The time ratios above describe how long a typical run takes; the shares "
                     "describe the runs that do not finish at all. Where the two disagree (one "
                     "factor lengthens the typical run, the other adds failures), both are "
                     "reported: neither number alone is the difficulty.")
    coef = a.law.coefficients.set_index("term")
    diff = [t for t in coef.index if any(t.endswith(x) for x in ("log_length", "log_depth",
                                                              "log1p_ambiguous",
                                                              "log1p_memory_bits", "log1p_bits"))]
    if diff:
        lines += ["", f"In the law fitted on all {a.law.n_sequences} sequences (below), the "
                  "difficulty terms are: " + "; ".join(
                      f"{coef.loc[t, 'formula']} {num(coef.loc[t, 'estimate'])} "
                      f"[{num(coef.loc[t, 'lo'])}, {num(coef.loc[t, 'hi'])}]" for t in diff) + "."]
    lines.append(
        "\n**What one-step training cannot learn** (a fact of the construction, not a "
        "measurement): with the state reset before every letter the output is a function of "
        "the current letter alone, so a sequence with a letter followed by two different "
        "letters (depth > 1) can never be generated whole, whatever the training time.")
    if a.cases is not None:
        c = a.cases.set_index("case")
        if {1, 3} <= set(c.index):
            lines.append(f"Measured: case 3 (repeatone, reset per letter) memorized "
                         f"{c.loc[3, 'memorized']} of {c.loc[3, 'runs']} seeds; case 1 "
                         f"(the alphabet, depth 1, the same training) "
                         f"{c.loc[1, 'memorized']} of {c.loc[1, 'runs']}.")
    return "\n".join(lines)


def _which(dep: pd.Series, amb: pd.Series) -> str:
    """design.effects' `resolved` of the depth and the ambiguity effect, in words."""
    dep_in, amb_in = not dep.resolved, not amb.resolved
    if dep_in and not amb_in:
        return " Ambiguity orders difficulty; depth, at fixed ambiguity, is not distinguishable " \
               "from no effect."
    if amb_in and not dep_in:
        return " Depth orders difficulty; ambiguity, at fixed depth, is not distinguishable " \
               "from no effect."
    if not dep_in and not amb_in:
        return " Both order difficulty, each at a fixed value of the other."
    return " Neither is distinguishable from no effect here."


# -- Q2 ----------------------------------------------------------------------------------

def cells_section(a: Analysis) -> str:
    c = a.cells
    if c is None:
        return ""
    best = c.best.sort_values(["lstm_units", "loss", "cell"])
    rows = [{"parameters of": f"LSTM {r.lstm_units}", "loss": loss_name(r.loss),
             "cell": f"{r.cell} {r.units}", "parameters": f"{r.parameters:,}",
             "best lr": f"{r.lr:g}", "memorized": pct(r.share),
             "median epochs [95% CI]": f"{steps_text(r.median_epochs)} "
                                       f"[{steps_text(r.median_lo)}, {steps_text(r.median_hi)}]"}
            for r in best.itertuples()]
    eff = c.effects.sort_values(["loss", "metric", "cell"])
    erows = [{"loss": loss_name(r.loss), "doubling": r.metric, "cell": r.cell,
              "steps × [95% CI, sequences]":
              f"×{r.doubling:.2f} [{r.doubling_lo:.2f}, {r.doubling_hi:.2f}]"}
             for r in eff.itertuples()]
    m = c.margins
    deep = m[(m["factor"] == "depth")]
    mrows = []
    for (loss, lstm_units, cell), g in deep.groupby(["loss", "lstm_units", "cell"], sort=True):
        g = g.sort_values("level")
        mrows.append({"loss": loss_name(loss), "parameters of": f"LSTM {lstm_units}",
                      "cell": cell, **{f"depth {r.level}": f"{pct(r.share)} "
                                       f"[{pct(r.lo)}, {pct(r.hi)}]" for r in g.itertuples()}})
    sp = c.speed.sort_values(["parameters", "cell"])
    speed = ", ".join(f"{r.cell} {r.units} ({r.parameters:,} parameters) {r.us_per_step:.0f}"
                      for r in sp.itertuples())
    lines = [
        "## 5. The GRU and the tanh RNN beside the LSTM, at matched parameters",
        "Each width is paired with the LSTM width of the same parameter count (within "
        "10%); the LSTM's runs are the same sequences, learning rates and seeds from "
        "`width_lr` and `depth_ambiguity` (`analysis/cells.py`).",
        "", f"**Learning-rate scan** ({c.n_sequences_scan} sequences of depth 2-4, 6 seeds "
            "each, lr 1e-3 to 3e-2), each cell at its best lr:", "",
        table(pd.DataFrame(rows)), "",
        f"**Difficulty** (the forks design at depth 2, 4, 6 x forks 0, 3; "
        f"{c.n_sequences_difficulty} sequences, lr 1e-3): the time ratio of doubling each "
        "property at a fixed value of the other, per cell (log-normal AFT on the cell's runs, "
        "width as a covariate, CIs cluster-robust by sequence):", "",
        table(pd.DataFrame(erows)), "",
        "Memorized share by depth (pooled over the forks; CIs resample sequences):", "",
        table(pd.DataFrame(mrows)), "",
        f"- Cost of a model-step in these sweeps (median µs, the sweep's own populations, "
        f"two workers sharing two cores): {speed}. The pytest-benchmark per-cell table is in "
        "the README.",
    ]
    return "\n".join(lines)


# -- Q4 ----------------------------------------------------------------------------------

def question4(a: Analysis) -> str:
    lines = ["## 4. How much of this is the notebook's own choices?",
             f"- **Softmax before CrossEntropyLoss** (arithmetic, not a measurement): the loss "
             f"applies log-softmax to probabilities in [0, 1], so it cannot fall below "
             f"ln(25 + e) - 1 = {SOFTMAX_FLOOR:.3f} nats, and the gradient passes the Softmax's "
             "Jacobian twice."]
    if a.case_final_loss is not None:
        lines.append(f"  Measured: the notebook's cases end at a median epoch loss of "
                     f"{a.case_final_loss:.3f}.")
    o = a.options
    if o is not None and not o.empty:
        rows = [{"variant": r.variant, "depth": r.depth, "sequences": r.sequences,
                 "variant memorized": f"{r.memorized}/{r.runs}",
                 "notebook memorized": f"{r.nb_memorized}/{r.nb_runs}",
                 "time ratio [95% CI, seeds]": f"×{r.ratio:.2f} [{r.lo:.2f}, {r.hi:.2f}]"}
                for r in o.itertuples()]
        lines += ["", "Each choice changed alone, on the same cells, per context depth (v1 "
                      "study, one sequence per depth: seed-level CIs):", "",
                  table(pd.DataFrame(rows))]
    lb = a.long_budgets
    if lb is not None and not lb.empty:
        rows = [{"loss": r.loss, "units": r.units, "lr": f"{r.lr:g}", "runs": r.runs,
                 "memorized by 1000 epochs": pct(r.share_short),
                 f"by {r.budget:.0f}": pct(r.share_long),
                 "memorized only after 1000": f"{r.late} of {r.censored_short}"}
                for r in lb.itertuples()]
        lines += ["", "**Slow or never?** Censored cells run on to a longer budget (the first "
                      "1000 epochs of a run are the run at 1000):", "",
                  table(pd.DataFrame(rows))]
    return "\n".join(lines)


def _law_says(p: pd.Series) -> str:
    """A row of cases.predictions in words."""
    if p.outside:
        return "outside the law"
    if p.structural:
        return "never (structural)"
    return f"{p.median_epochs:.0f} epochs, P = {p.p_within_budget:.2f}" + (
        " (extrapolated)" if p.extrapolated else "")


def cases_section(a: Analysis) -> str:
    if a.cases is None:
        return ""
    said = a.case_predictions.set_index("case")
    law = pd.DataFrame([{"case": c.number, "setting": c.title.split(": ", 1)[1],
                         "the law predicts (median, P within 1000 epochs)":
                         _law_says(said.loc[c.number])}
                        for c in CASES])
    lines = ["## The notebook's seven cases",
             "Kaplan-Meier medians (censored seeds count as beyond 1000 epochs); a range claim "
             "holds when the median is in it and is not excluded when only its CI overlaps it.",
             "", cases_markdown(a.cases), "",
             "The law on these sequences (none of them is in its fitting data):", "",
             table(law)]
    if a.engines is not None:
        lines += ["", "The population engine against the reference trainer (log-rank per case):",
                  "", engines_markdown(a.engines)]
    return "\n".join(lines)
