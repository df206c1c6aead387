"""REPORT.md, written from the fitted objects: every number below comes from the fit."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.cases import CASES, cases_markdown
from analysis.figures import SOFTMAX_FLOOR
from analysis.fit import (
    HEADLINE_MAX_METRICS,
    Analysis,
    headline_model,
    lstm_parameters,
    sequence_bits,
)
from analysis.law import TERM_LABELS, TERMS, term_formula
from analysis.predict import predict
from seqmem.sequences import PRESETS

FIGURE_CAPTIONS = {
    "survival_by_depth": "Share of runs not yet memorized vs epochs, one line per context depth, "
                         "panels by units (Kaplan-Meier, 95% bands).",
    "survival_by_units": "The same curves, one line per units, panels by context depth.",
    "epochs_vs_units": "Median epochs to memorize vs units per context depth, log axes: "
                       "Kaplan-Meier medians with 95% CIs, the fitted law as lines.",
    "p_memorize_heatmap": "Probability of memorizing within the budget over units x context "
                          "depth, measured and fitted.",
    "exponents": "The fitted exponents and option time ratios with 95% bootstrap CIs.",
    "options": "Each training option changed alone against the notebook's setting on the "
               "same cells.",
    "cases": "The notebook's seven cases: every seed's epochs, the median, and the claim.",
    "case_loss_curves": "Training loss of the seven cases over seeds.",
    "time_vs_units": "Per-step cost and wall-clock time to memorize vs units.",
}


VERDICT_RULE = ("Kaplan-Meier median, censored runs counted as beyond the budget; a range "
                "claim holds when the median is in it, is not excluded when only the CI "
                "overlaps it; a never-converges claim holds when no run memorizes")


def _f(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}g}"


def _ep(x: float) -> str:
    """Epochs: '>budget' style handled by callers; inf -> 'not reached'."""
    return "not reached" if math.isinf(x) else f"{x:.0f}"


def _ci(est: float, lo: float, hi: float, digits: int = 3) -> str:
    return f"{_f(est, digits)} [{_f(lo, digits)}, {_f(hi, digits)}]"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _coef(a: Analysis, term: str) -> dict[str, float] | None:
    c = a.coefficients.set_index("term")
    if term not in c.index:
        return None
    r = c.loc[term]
    return dict(est=r["estimate"], lo=r["ci_lo"], hi=r["ci_hi"], slo=r["seq_ci_lo"],
                shi=r["seq_ci_hi"], se=r["wald_se"])


def _doubling(c: dict[str, float]) -> str:
    """'x1.41 [1.38, 1.44]': the factor on T when the covariate doubles."""
    return f"×{2 ** c['est']:.2f} [{2 ** c['lo']:.2f}, {2 ** c['hi']:.2f}]"


def _ratio(c: dict[str, float]) -> str:
    return f"×{math.exp(c['est']):.2f} [{math.exp(c['lo']):.2f}, {math.exp(c['hi']):.2f}]"


def _quiet_predict(*args: Any, **kw: Any) -> dict[str, Any] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return predict(*args, **kw)
        except ValueError:
            return None


def write_report(a: Analysis, doc: dict[str, Any], figures: dict[str, Path], out: Path,
                 source: str) -> Path:
    parts = [_header(a, source), _law(a, doc), _q1(a), _q2(a, doc), _q3(a), _q4(a, doc),
             _cases(a, doc), _figures(figures, out), _methods(a)]
    path = out / "REPORT.md"
    path.write_text("\n\n".join(p for p in parts if p) + "\n")
    return path


def _header(a: Analysis, source: str) -> str:
    r = a.runs
    cells = r.groupby(["sequence", "units", "reset", "bptt", "loss", "feedback", "lr",
                       "max_epochs"]).size()
    cens = 1 - r["event"].mean()
    zero = int((r["event"] & (r["observed"] == 0)).sum())
    budgets = sorted(r["max_epochs"].unique())
    evals = sorted(r["eval_every"].unique())
    errs = ""
    if len(a.errors):
        top = a.errors["error"].fillna("").astype(str).str.split(":").str[0].value_counts()
        kinds = ", ".join(f"{k or 'unknown'} x{v}" for k, v in top.items())
        errs = f" {len(a.errors)} runs ended in an error and are excluded ({kinds})."
    vers = []
    for col in ("seqmem_version", "kernel", "numerics_version", "torch_version",
                "numpy_version", "numba_version", "python_version"):
        if col in r.columns:
            vals = sorted(set(map(str, r[col].dropna())))
            vers.append(f"{col.replace('_version', '')} {', '.join(vals)}")
    lines = [
        "# What makes a string hard for an online LSTM to memorize",
        f"*Generated by `python -m analysis` from `{source}`; every number is computed from "
        "the stored results. Do not edit by hand.*",
        "## Data",
        f"- {len(r)} runs with an outcome in {len(cells)} cells (sequence x units x options), "
        f"{cells.min()}-{cells.max()} seeds per cell, {r['sequence'].nunique()} sequences."
        + errs,
        f"- units {_f(r['units'].min())}-{_f(r['units'].max())}, length "
        f"{_f(r['length'].min())}-{_f(r['length'].max())}, context depth "
        f"{_f(r['context_depth'].min())}-{_f(r['context_depth'].max())}, repeats "
        f"{_f(r['repeat_count'].min())}-{_f(r['repeat_count'].max())}, ambiguous transitions "
        f"{_f(r['ambiguous_transitions'].min())}-{_f(r['ambiguous_transitions'].max())}.",
        f"- Budget {', '.join(f'{b:g}' for b in budgets)} epochs, evaluated every "
        f"{', '.join(f'{e:g}' for e in evals)} epochs; {_pct(cens)} of runs were not memorized within "
        f"the budget (right-censored, kept in every estimate). {zero} runs were already "
        "memorized at epoch 0.",
    ]
    if vers:
        lines.append(f"- Versions in the table: {'; '.join(vers)}.")
    if a.notes:
        lines.append("- Skipped: " + " ".join(a.notes))
    return "\n".join(lines)


def _law(a: Analysis, doc: dict[str, Any]) -> str:
    rows = []
    for r in a.coefficients.itertuples():
        rows.append(dict(term=r.term, covariate=r.formula, estimate=_f(r.estimate),
                         **{"95% CI, seeds in cells": f"[{_f(r.ci_lo)}, {_f(r.ci_hi)}]",
                            "95% CI, sequences": f"[{_f(r.seq_ci_lo)}, {_f(r.seq_ci_hi)}]",
                            "Wald SE": _f(r.wald_se, 2)}))
    comp = a.comparison.head(8).copy()
    comp = pd.DataFrame(dict(metrics=comp["model"], distribution=comp["dist"], k=comp["k"],
                             AIC=comp["aic"].map(lambda v: f"{v:.1f}"),
                             **{"ΔAIC": comp["delta_aic"].map(lambda v: f"{v:.1f}")}))
    inter = pd.DataFrame(dict(
        model=a.interactions["model"],
        **{"ΔAIC vs none": a.interactions["delta_aic"].map(lambda v: f"{v:.1f}")},
        coefficient=[", ".join(f"{_f(v)} ± {_f(1.96 * r['stderr'][k], 2)}"
                               for k, v in r["coefficients"].items()) or "-"
                     for r in a.interactions.to_dict(orient="records")]))
    excl = "".join(
        f"\n- Not in the law: {e['formula']} ({e['memorized']} of {e['runs']} runs memorized; "
        "no finite time ratio can be fitted)." for e in a.prep.excluded)
    return "\n".join([
        "## The fitted law",
        f"Censored {a.fit.dist} accelerated-failure-time regression of epochs-to-memorize T "
        f"on {a.fit.n} runs ({a.fit.n_events} memorized), saved with its formula in `fit.json`:",
        f"\n    {doc['formula']}\n",
        "A coefficient on ln(x) is a scaling exponent (T ∝ x^b at fixed other covariates); on "
        "an indicator it is a log time ratio. Median T = " + doc["median"] + ". "
        f"Confidence intervals: percentile bootstrap, {a.bootstrap_n} resamples of the seeds "
        "within each cell (training noise for these sequences), and resamples of whole "
        "sequences (adds sequence-to-sequence variation: the interval that matters for a new "
        "sequence).",
        "", _table(pd.DataFrame(rows)), "",
        "Which difficulty metrics explain T best (every model also has ln(units) and the "
        "option terms; lower AIC is better):", "", _table(comp), "",
        f"Does capacity interact with difficulty (distribution {a.fit.dist})? "
        "A negative ln(units) x difficulty coefficient means more units help more on harder "
        "sequences:", "", _table(inter), excl,
    ])


def _single_metric_note(a: Analysis) -> str:
    comp = a.comparison
    best = comp.iloc[0]
    out = []
    for name in ("length", "depth", "ambiguous"):
        r = comp[(comp["model"] == name) & (comp["dist"] == best["dist"])]
        if len(r):
            out.append(f"{name} alone ΔAIC {r['delta_aic'].iloc[0]:.0f}")
    return "; ".join(out)


def _q1(a: Analysis) -> str:
    best = headline_model(a.comparison)
    top = a.comparison.iloc[0]
    lines = ["## 1. Why are some strings much harder to memorize?"]
    lines.append(
        f"The difficulty metrics that explain epochs-to-memorize best are **{best['model']}** "
        f"(lowest AIC among models with at most {HEADLINE_MAX_METRICS} metrics; "
        f"{_single_metric_note(a)}).")
    if top["model"] != best["model"]:
        gap = float(best["aic"] - top["aic"])
        lines.append(
            f"A model with more metrics (**{top['model']}**) has an AIC lower by {gap:.0f}, but "
            "length, repeats, ambiguous transitions and context bits grow together, so its "
            "coefficients trade off against each other and are not readable as exponents; "
            "the law below keeps the best pair.")
    for term in a.fit.terms:
        if ":" in term or TERMS[term].kind != "difficulty":
            continue
        c = _coef(a, term)
        lines.append(
            f"- {TERM_LABELS[term]}: exponent {_ci(c['est'], c['lo'], c['hi'])} "
            f"(sequences resampled: [{_f(c['slo'])}, {_f(c['shi'])}]); doubling it multiplies "
            f"the median epochs by {_doubling(c)} at fixed units and other metrics.")
    t = a.km_units_depth
    if not t.empty:
        u = 32 if 32 in set(t["units"]) else t["units"].iloc[len(t) // 2]
        g = t[t["units"] == u].sort_values("context_depth")
        if len(g) > 1:
            first, last = g.iloc[0], g.iloc[-1]
            lines.append(
                f"- Measured at {u:g} units (notebook options): depth "
                f"{first['context_depth']:g} sequences are memorized within "
                f"{first['budget']:g} epochs with probability {first['p_budget']:.2f} "
                f"(median {_ep(first['median'])} epochs), depth {last['context_depth']:g} ones "
                f"with {last['p_budget']:.2f} (median {_ep(last['median'])}).")
    lines.append(
        "\nWhy depth: context depth d is the number of letters the network must hold to know "
        "what comes next. At depth 1 the next letter is a function of the current one, so a "
        "feed-forward map suffices and the recurrent state is not needed. At depth d > 1 some "
        "letter has two different successors (the `ambiguous_transitions` > 0 exactly when "
        "d > 1), and only a state carrying the last d letters disambiguates them; the "
        "gradient must reach back d - 1 steps to build that state.")
    lines.append(
        "One-step training (the notebook's `one_step=True`: state reset before every "
        "character, so backprop covers 1 step) makes the output a function of the current "
        "letter alone; for a sequence with a letter followed by two different letters no such "
        "function produces both transitions, whatever the training time: it cannot learn "
        "depth > 1, by construction.")
    if a.cases_table is not None and len(a.cases_table):
        c3 = a.cases_table[a.cases_table["case"] == 3]
        c1 = a.cases_table[a.cases_table["case"] == 1]
        if len(c3) and len(c1):
            lines.append(
                f"Measured: case 3 (repeatone, reset per character) memorized in "
                f"{int(c3['memorized'].iloc[0])} of {int(c3['runs'].iloc[0])} seeds, against "
                f"{int(c1['memorized'].iloc[0])} of {int(c1['runs'].iloc[0])} for case 1 "
                "(alphabet, depth 1, same training).")
    for e in a.prep.excluded:
        if e["term"] == "short_window":
            lines.append(
                f"The same holds for truncated backprop: runs with a BPTT window shorter than "
                f"the context depth memorized in {e['memorized']} of {e['runs']} runs.")
    sw = _coef(a, "short_window")
    if sw:
        lines.append(f"Runs with a BPTT window shorter than the depth took "
                     f"{_ratio(sw)} the epochs of full backprop.")
    return "\n".join(lines)


def _q2(a: Analysis, doc: dict[str, Any]) -> str:
    lines = ["## 2. Why does increasing the network size help in case 7?"]
    ct = a.cases_table
    if ct is not None and len(ct) and set(ct["case"]) >= {6, 7}:
        c6 = ct[ct["case"] == 6].iloc[0]
        c7 = ct[ct["case"] == 7].iloc[0]
        if c6["runs"] and c7["runs"]:
            lines.append(
                f"Measured: random30 at 32 units (case 6) memorized in {int(c6['memorized'])} "
                f"of {int(c6['runs'])} seeds within {c6['budget']:g} epochs (median "
                f"{_ep(c6['median'])}); at 128 units (case 7) in {int(c7['memorized'])} of "
                f"{int(c7['runs'])} (median {_ep(c7['median'])} epochs, 95% CI "
                f"[{_ep(c7['median_lo'])}, {_ep(c7['median_hi'])}]).")
    cu = _coef(a, "log_units")
    if cu:
        faster = cu["hi"] < 0
        lines.append(
            f"- Across the study, the units exponent is {_ci(cu['est'], cu['lo'], cu['hi'])}: "
            f"doubling the units multiplies the epochs needed by {_doubling(cu)} at fixed "
            "difficulty" + (" — more units learn faster." if faster else
                           " — no clear speed-up from more units in this study."))
    bits = float(sequence_bits(len(PRESETS["random30"])))
    p32, p128 = lstm_parameters(32), lstm_parameters(128)
    lines.append(
        f"- Capacity is not what 32 units lack: random30 holds at most {bits:.0f} bits "
        f"(30 letters x log2 26), while the notebook's model has {p32:,.0f} parameters at 32 "
        f"units ({bits / p32:.3f} bits per parameter) and {p128:,.0f} at 128 "
        f"({bits / p128:.4f}). Trained recurrent networks store several bits per parameter "
        f"(Collins, Sohl-Dickstein & Sussillo 2017: about 5), {5 * p32 / bits:.0f} times what "
        "random30 needs at 32 units.")
    cap = a.capacity
    if cap.get("units_exponent") is not None:
        lines.append(
            f"- The law refitted on the {cap['runs_below']} runs with under "
            f"{cap['threshold']} bits per parameter (units {cap['units_range'][0]:g}-"
            f"{cap['units_range'][1]:g}, where capacity cannot bind) gives a units exponent of "
            f"{_ci(cap['units_exponent'], cap['units_exponent_lo'], cap['units_exponent_hi'])} "
            "(Wald 95%), " + (
                "the same speed-up: more units help by making optimisation faster, not by "
                "making room." if cap["units_exponent_hi"] < 0 else
                "so where capacity cannot bind the speed-up is not clear."))
    else:
        lines.append(f"- Too few runs below {cap['threshold']} bits per parameter to refit "
                     "the law there.")
    chosen = [t for t in a.fit.terms if t.startswith("log_units:")]
    if chosen:
        d = a.prep.data
        for t in chosen:
            c = _coef(a, t)
            other = t.split(":")[1]
            col = {"log_length": "length", "log_depth": "context_depth",
                   "log1p_ambiguous": "ambiguous_transitions", "log1p_repeats": "repeat_count",
                   "log1p_bits": "context_bits"}[other]
            levels = sorted({float(d[col].min()), float(d[col].median()), float(d[col].max())})
            bu = a.fit.coef()["log_units"]
            at = ", ".join(
                f"{bu + c['est'] * float(TERMS[other].compute(pd.DataFrame({col: [v]}))[0]):.2f}"
                f" at {col.replace('_', ' ')} {v:g}" for v in levels)
            lines.append(
                f"- Capacity interacts with difficulty: the ln(units) x {term_formula(other)} "
                f"coefficient is {_ci(c['est'], c['lo'], c['hi'])}, so the units exponent is "
                f"{at}. " + ("More units help more on harder sequences." if c["hi"] < 0 else
                             "More units help less on harder sequences." if c["lo"] > 0 else
                             "AIC keeps it, but its bootstrap CI includes 0: weak evidence.")
            )
    elif len(a.interactions) > 1:
        lines.append("- No units x difficulty interaction lowers AIC by more than 2: in this "
                     "range more units speed learning by the same factor on easy and hard "
                     "sequences.")
    p = [_quiet_predict("random30", u, fit=doc) for u in (32, 128)]
    if all(p):
        lines.append(
            f"- The law predicts random30 at 32 units: median {_ep(p[0]['median_epochs'])} "
            f"epochs, P(within {p[0]['budget']}) = {p[0]['p_within_budget']:.2f}; at 128: "
            f"median {_ep(p[1]['median_epochs'])}, P = {p[1]['p_within_budget']:.2f}"
            + (" (extrapolated)." if p[0]["extrapolated"] or p[1]["extrapolated"] else "."))
    lines.append(
        "A likely mechanism (not tested by this study): online Adam takes one step per character, so what "
        "limits learning is how far each step moves the function. A wider LSTM starts with "
        "more random features, so the state already separates more contexts at "
        "initialisation and each step changes the output by more (the lazy/NTK view: the "
        "effective learning rate of the function grows with width at a fixed per-parameter "
        "rate).")
    return "\n".join(lines)


def _q3(a: Analysis) -> str:
    d = a.prep.data
    lines = ["## 3. The scaling factors between difficulty, capacity and speed"]
    factors = []
    for term in a.fit.terms:
        if ":" in term or TERMS[term].kind == "option":
            continue
        c = _coef(a, term)
        var = TERMS[term].formula.replace("ln(", "").rstrip(")").replace("1 + ", "(1 + ") \
            + (")" if term.startswith("log1p") else "")
        factors.append(f"{var}^{c['est']:.2f}")
    c0 = math.exp(a.fit.beta[0]) * (1.0 if a.fit.dist == "lognormal" else math.log(2)
                                    ** a.fit.sigma)
    lines.append(f"Median epochs-to-memorize (notebook options): **T ≈ {_f(c0, 3)} · "
                 + " · ".join(factors) + "**, with the exponents' CIs in the table above.")
    inter = [t for t in a.fit.terms if ":" in t]
    if inter:
        lines.append("  The law also has " + ", ".join(
            f"{term_formula(t)} ({_f(a.fit.coef()[t])})" for t in inter)
            + ": the units exponent above is the one at the reference level of the other "
            "factor (ln = 0), and it changes with difficulty as the interaction says.")
    spread = math.exp(1.2816 * a.fit.sigma) if a.fit.dist == "lognormal" else math.nan
    if a.fit.dist == "lognormal":
        lines.append(
            f"- Seed to seed, T varies by a factor {spread:.2f} either way around the median "
            f"(10th-90th percentile; σ = {a.fit.sigma:.2f} on ln T).")
    else:
        lines.append(f"- Seed-to-seed spread: Weibull shape {1 / a.fit.sigma:.2f} "
                     f"(σ = {a.fit.sigma:.2f} on ln T).")
    rng = ", ".join(f"{c} {_f(d[c].min())}-{_f(d[c].max())}" for c in
                    ("units", "length", "context_depth", "repeat_count"))
    lines.append(f"- Range of validity: the fitted runs cover {rng}; outside it the law is "
                 "an extrapolation (`predict` warns).")
    cu = _coef(a, "log_units")
    cl = _coef(a, "log_length")
    if a.cost is not None:
        c = a.cost.exponent
        lines.append(f"- Speed: the cost of one training step per model grows as units^"
                     f"{_f(c, 2)}, measured over units {_f(a.cost.units.min())}-"
                     f"{_f(a.cost.units.max())} ({a.cost.source}).")
        s_len = 0.0
        if a.cost.base_us is not None:
            lengths = np.array([d["length"].min(), d["length"].max()])
            s_len = float(np.polyfit(np.log(lengths), np.log(a.cost(32, lengths)), 1)[0])
            lines.append(
                f"  With full-epoch BPTT the step at position t backpropagates through t + 1 "
                f"steps, so the per-step cost also grows with length: as length^{s_len:.2f} "
                f"between lengths {_f(lengths[0])} and {_f(lengths[1])} at 32 units.")
        if cu:
            lo, hi = cu["lo"] + c, cu["hi"] + c
            lines.append(
                f"- Wall-clock time to memorize = epochs x length x step cost ∝ units^"
                f"{cu['est'] + c:.2f} [{lo:.2f}, {hi:.2f}]"
                + (f" · length^{cl['est'] + 1 + s_len:.2f}" if cl else "")
                + ": " + ("more units are also faster in wall-clock time." if hi < 0 else
                          "more units cost more wall-clock time than they save in epochs."
                          if lo > 0 else "the epoch savings and the step cost roughly cancel."))
        tt = a.time_table
        if tt is not None and len(tt):
            g = tt[np.isfinite(tt["median"])]
            if len(g):
                best = g.loc[g["median"].idxmin()]
                lines.append(f"- Fastest measured cell: depth {best['context_depth']:g} at "
                             f"{best['units']:g} units, median {best['median']:.3g} s.")
    return "\n".join(lines)


def _q4(a: Analysis, doc: dict[str, Any]) -> str:
    lines = ["## 4. How much of this is the notebook's own choices?"]
    lines.append(
        f"- **Softmax before CrossEntropyLoss.** The loss applies log-softmax to "
        f"probabilities in [0, 1], so it cannot fall below ln(25 + e) - 1 = "
        f"{SOFTMAX_FLOOR:.3f} nats (uniform output: ln 26 = {math.log(26):.3f}); the gradient "
        "through the extra Softmax is shrunk by its Jacobian, and a confident correct output "
        "still gets a loss of 2.3 instead of 0.")
    if a.cases is not None and a.cases["final_loss"].notna().any():
        lines.append(f"  Measured: the notebook cases end at a mean epoch loss of "
                     f"{a.cases['final_loss'].median():.3f} (median over seeds).")
    labels = {"logits": "Loss on the logits instead", "onehot": "One-hot (argmax) feedback at "
              "evaluation instead of probabilities", "window": "A BPTT window (≥ depth)",
              "short_window": "A BPTT window shorter than the depth",
              "reset_char": "Reset before every character", "log_lr": "Learning rate (per e-fold)"}
    any_opt = False
    for term, label in labels.items():
        c = _coef(a, term)
        if c:
            any_opt = True
            lines.append(f"- {label}: time ratio {_ratio(c)} vs the notebook's choice "
                         "(fitted at fixed sequence and units).")
    for e in a.prep.excluded:
        any_opt = True
        lines.append(f"- {TERM_LABELS[e['term']]}: {e['memorized']} of {e['runs']} runs "
                     "memorized — it breaks learning rather than slowing it.")
    if not any_opt:
        lines.append("- The study has no runs with other options: their effect is not "
                     "measured.")
    ot = a.options
    if len(ot):
        rows = [dict(variant=r.variant, runs=r.runs, memorized=f"{r.memorized} ({_pct(r.p)})",
                     median=_ep(r.median),
                     **{"notebook, same cells": (f"{int(r.nb_memorized)}/{int(r.nb_runs)} "
                                                 f"({_pct(r.nb_p)}), median {_ep(r.nb_median)}")
                        if "nb_runs" in ot.columns and not pd.isna(r.nb_runs) else "-"},
                     depth=f"{r.depth_min}" if r.depth_min == r.depth_max
                     else f"{r.depth_min}-{r.depth_max}")
                for r in ot.itertuples()]
        lines += ["", "Matched comparisons (Kaplan-Meier; same sequences and units):", "",
                  _table(pd.DataFrame(rows))]
    nb = _quiet_predict("random30", 32, fit=doc)
    clean = _quiet_predict("random30", 32, fit=doc, loss="logits", feedback="onehot")
    if nb and clean:
        lines.append(
            f"\nFor case 6 (random30, 32 units) the law predicts a median of "
            f"{_ep(nb['median_epochs'])} epochs with the notebook's choices "
            f"(P within {nb['budget']} = {nb['p_within_budget']:.2f}) and "
            f"{_ep(clean['median_epochs'])} with logits and one-hot feedback "
            f"(P = {clean['p_within_budget']:.2f}).")
    lines.append(
        "\nWhat is the task's, not the notebook's: the dependence on context depth and length "
        "(question 1) holds under every option; the per-character reset (cases 1 and 3) is "
        "the one choice that makes depth > 1 impossible rather than slow.")
    return "\n".join(lines)


def _law_says(doc: dict[str, Any], case: Any, budget: float) -> str:
    """The fitted law's prediction for a notebook case (a sequence the study never ran)."""
    p = _quiet_predict(case.preset, case.units, fit=doc, reset=case.reset, budget=int(budget))
    if p is None:
        return "outside the fit"
    if p["structural"]:
        return "never (structural)"
    return f"{_ep(p['median_epochs'])}, P = {p['p_within_budget']:.2f}" + (
        " (extrap.)" if p["extrapolated"] else "")


def _cases(a: Analysis, doc: dict[str, Any]) -> str:
    if a.cases_table is None:
        return "## The notebook's seven cases\nNo cases table was found: not compared."
    law = pd.DataFrame([{"case": r.case, "setting": CASES[r.case - 1].title.split(": ", 1)[1],
                         "the law predicts": _law_says(doc, CASES[r.case - 1], r.budget)}
                        for r in a.cases_table.itertuples()])
    return "\n".join([
        "## The notebook's seven cases",
        "Measured over seeds with the notebook's settings (" + VERDICT_RULE + ")", "",
        cases_markdown(a.cases_table), "",
        "The fitted law's median and P(memorized within the budget) for these sequences, "
        "which the study never ran:", "", _table(law)])


def _figures(figures: dict[str, Path], out: Path) -> str:
    lines = ["## Figures"]
    for name, path in figures.items():
        rel = Path(path).relative_to(out) if Path(path).is_relative_to(out) else path
        lines.append(f"- **{name}**: {FIGURE_CAPTIONS.get(name, '')}\n\n  ![{name}]({rel})")
    return "\n".join(lines)


def _methods(a: Analysis) -> str:
    return "\n".join([
        "## Method",
        "- Kaplan-Meier: `scipy.stats.ecdf` on right-censored epochs (memorization is only "
        "defined at evaluation epochs, so the estimate is exact on that grid); 95% log-log "
        "(exponential Greenwood) bands; a median's CI is where the bands cross 1/2. Medians "
        "beyond the budget are reported as not reached.",
        "- AFT law: maximum likelihood with interval censoring: a run first seen memorized at "
        "evaluation epoch e > 0 has T in (e - eval_every, e], one memorized at epoch 0 has T in "
        "(0, 1], one never memorized has T > epochs trained. The likelihood is evaluated by "
        "`analysis/law.py` (its estimates equal lifelines' `fit_interval_censoring`, checked "
        "in the tests) because the bootstrap refits it hundreds of times. Log-normal vs "
        "Weibull and the metric set are chosen by AIC; an interaction enters only if it "
        "lowers AIC by more than 2. The CIs are conditional on that choice (they do not "
        "count the selection among the candidate models).",
        f"- Bootstrap: {a.bootstrap_n} resamples of seeds within cells "
        f"({a.bootstrap_failures['cell']} dropped), percentile CIs; and "
        f"{a.bootstrap_seq_n} resamples of whole "
        f"sequences for the sequence-level CI ({a.bootstrap_failures.get('sequence', 0)} "
        "dropped). A resample is dropped when a term has no variation in it (e.g. an option "
        "slice's sequences all left out) or nothing is memorized; the sequence-level CI is "
        "not given for an option run on fewer than 3 sequences.",
        "- Option levels with fewer than 5 memorized runs (e.g. a BPTT window shorter than "
        "the depth) are left out of the AFT and reported as counts.",
        "- Capacity: parameters of nn.LSTM(26, H) + nn.Linear(H, 26) = 4H(26 + H) + 8H + "
        "26H + 26; the information in a sequence is at most length x log2 26 bits.",
    ])
