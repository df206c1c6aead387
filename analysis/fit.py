"""From a results table to fitted objects: Kaplan-Meier summaries, the AFT law and its
bootstrap, model comparison, the capacity check, the speed law and the notebook cases.

Every function here is pure (tables in, tables or dataclasses out); `analyse` wires
them together and `fit_document` turns the outcome into fit.json.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.cases import case_summary
from analysis.law import (
    DISTS,
    TERMS,
    AFTFit,
    design,
    fit_aft,
    median_factor,
    term_formula,
    term_values,
)
from analysis.load import NOTEBOOK_OPTIONS, cell_ids, is_notebook, outcomes, split_errors
from analysis.survival import KM, kaplan_meier, km_curves, km_table  # noqa: F401 (re-exported)

MIN_EVENTS = 5  # an option level with fewer memorized runs gets no AFT term (reported apart)
ALPHABET_SIZE = 26
# Difficulty metric sets compared by AIC; each model also has ln(units) and the option terms.
CANDIDATES: dict[str, list[str]] = {
    "length": ["log_length"],
    "depth": ["log_depth"],
    "ambiguous": ["log1p_ambiguous"],
    "length + depth": ["log_length", "log_depth"],
    "length + ambiguous": ["log_length", "log1p_ambiguous"],
    "length + repeats": ["log_length", "log1p_repeats"],
    "length + context bits": ["log_length", "log1p_bits"],
    "length + depth + ambiguous": ["log_length", "log_depth", "log1p_ambiguous"],
    "all metrics": ["log_length", "log_depth", "log1p_ambiguous", "log1p_repeats", "log1p_bits"],
}
OPTION_TERMS = ["logits", "onehot", "window", "short_window", "reset_char", "log_lr"]
AIC_MARGIN = 2.0  # an interaction is kept only if it lowers AIC by more than this
# The headline law: at most this many difficulty metrics and one units x difficulty term.
# Length, repeats, ambiguous transitions and context bits all grow together, so a model
# with all of them wins on AIC but its coefficients trade off against each other (signs
# flip) and stop being readable as exponents. The AIC table still lists the larger models.
HEADLINE_MAX_METRICS = 2


def balanced_grid(runs: pd.DataFrame, min_share: float = 0.5) -> pd.DataFrame:
    """The main difficulty grid: units levels run on at least `min_share` of the most
    sequences any level has, restricted to the sequences common to all of them.

    Comparing units levels on the same sequences keeps a per-units summary from mixing
    in different lengths (a slice that adds units levels on a few sequences is left out).
    """
    if runs.empty:
        return runs
    per = runs.groupby("units")["sequence"].agg(set)
    most = max(map(len, per))
    levels = [u for u, seqs in per.items() if len(seqs) >= min_share * most]
    common = set.intersection(*(per[u] for u in levels))
    return runs[runs["units"].isin(levels) & runs["sequence"].isin(common)]


def across_units(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs of the sequences tried at every units level: epochs vs units at fixed sequences.

    Falls back to `balanced_grid` when no sequence was run at every level.
    """
    if runs.empty:
        return runs
    per = runs.groupby("units")["sequence"].agg(set)
    common = set.intersection(*per)
    if not common:
        return balanced_grid(runs)
    return runs[runs["sequence"].isin(common)]


# -- the AFT law ----------------------------------------------------------------------

@dataclass
class Prepared:
    """Rows the AFT is fitted on, and what was left out of it."""

    data: pd.DataFrame
    option_terms: list[str]
    difficulty_terms: list[str]
    excluded: list[dict[str, Any]]  # option levels with too few memorized runs


def prepare(runs: pd.DataFrame) -> Prepared:
    """Choose the option terms (those that vary) and drop option levels that never memorize.

    A level such as "BPTT window < depth" whose runs (almost) never memorize has no
    finite time ratio: its rows leave the AFT fit and are reported as counts.
    """
    data = runs.copy()
    excluded = []
    terms = []
    for name in OPTION_TERMS:
        x = TERMS[name].compute(data).astype(float)
        if np.ptp(x) == 0:
            continue
        if name != "log_lr":
            on = x > 0
            events = int(data.loc[on, "event"].sum())
            if events < MIN_EVENTS:
                excluded.append(dict(term=name, formula=term_formula(name), runs=int(on.sum()),
                                     memorized=events))
                data = data[~on].reset_index(drop=True)
                continue
        terms.append(name)
    # a term may have lost its variation with the rows dropped after it was chosen
    terms = [t for t in terms if np.ptp(TERMS[t].compute(data).astype(float)) > 0]
    difficulty = [t for t in dict.fromkeys(sum(CANDIDATES.values(), []))
                  if np.ptp(TERMS[t].compute(data).astype(float)) > 0]
    return Prepared(data=data, option_terms=terms, difficulty_terms=difficulty, excluded=excluded)


def fit_terms(data: pd.DataFrame, terms: Sequence[str], dist: str, **kw: Any) -> AFTFit:
    return fit_aft(design(data, terms), data["lower"].to_numpy(), data["upper"].to_numpy(),
                   dist, terms, **kw)


def capacity_terms(data: pd.DataFrame) -> list[str]:
    """["log_units"] when units vary in the data, else [] (one units level: no exponent)."""
    return ["log_units"] if data["units"].nunique() > 1 else []


def compare_models(prep: Prepared) -> pd.DataFrame:
    """AIC of every candidate difficulty set x distribution (all with ln units + options)."""
    rows = []
    cap = capacity_terms(prep.data)
    sets: dict[str, list[str]] = {"units only" if cap else "no metric": []}
    for name, ts in CANDIDATES.items():
        ts = [t for t in ts if t in prep.difficulty_terms]
        if ts and ts not in sets.values():
            sets[name] = ts
    for name, ts in sets.items():
        for dist in DISTS:
            f = fit_terms(prep.data, [*cap, *ts, *prep.option_terms], dist, hessian=False)
            rows.append(dict(model=name, dist=dist, terms=" + ".join(ts) or "-", k=f.k,
                             loglik=f.loglik, aic=f.aic))
    out = pd.DataFrame(rows).sort_values("aic").reset_index(drop=True)
    out["delta_aic"] = out["aic"] - out["aic"].min()
    return out


def headline_model(comparison: pd.DataFrame) -> pd.Series:
    """The lowest-AIC model with at most HEADLINE_MAX_METRICS difficulty metrics."""
    small = comparison[comparison["terms"].map(lambda t: len(t.split(" + "))) <= HEADLINE_MAX_METRICS]
    return small.iloc[0] if len(small) else comparison.iloc[0]


def compare_interactions(prep: Prepared, difficulty: Sequence[str], dist: str) -> pd.DataFrame:
    """Does capacity interact with difficulty? AIC with ln(units) x each difficulty term."""
    cap = capacity_terms(prep.data)
    base = [*cap, *difficulty, *prep.option_terms]
    options: dict[str, list[str]] = {"no interaction": []}
    for t in difficulty if cap else []:
        options[f"units x {t}"] = [f"log_units:{t}"]
    if cap and len(difficulty) > 1:
        options["units x all"] = [f"log_units:{t}" for t in difficulty]
    rows = []
    for name, extra in options.items():
        f = fit_terms(prep.data, [*base, *extra], dist)
        coef, se = f.coef(), f.stderr()
        rows.append(dict(model=name, terms=extra, k=f.k, loglik=f.loglik, aic=f.aic,
                         coefficients={t: coef[t] for t in extra},
                         stderr={t: se[t] for t in extra}))
    out = pd.DataFrame(rows)
    out["delta_aic"] = out["aic"] - out.loc[0, "aic"]
    return out


def bootstrap(data: pd.DataFrame, fit: AFTFit, n: int, rng: np.random.Generator,
              by: str = "cell") -> tuple[pd.DataFrame, int]:
    """Refit on `n` resamples; returns (one row of coefficients per resample, failures).

    by="cell": resample seeds within each cell (every cell keeps its run count), the
    variance of training for fixed sequences. by="sequence": resample whole sequences
    (all their runs), which adds sequence-to-sequence variation.
    """
    X = design(data, fit.terms)
    lo, hi = data["lower"].to_numpy(), data["upper"].to_numpy()
    groups = cell_ids(data) if by == "cell" else pd.factorize(data["sequence"])[0]
    order = np.argsort(groups, kind="stable")
    sizes = np.bincount(groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    init = np.concatenate([fit.beta, [fit.log_sigma]])
    draws, failures = [], 0
    for _ in range(n):
        if by == "cell":
            g = groups[order]
            idx = order[starts[g] + (rng.random(len(g)) * sizes[g]).astype(int)]
        else:
            pick = rng.integers(0, len(sizes), len(sizes))
            idx = np.concatenate([order[starts[k]:starts[k] + sizes[k]] for k in pick])
        if not np.isfinite(hi[idx]).any() or np.any(np.ptp(X[idx, 1:], axis=0) == 0):
            failures += 1  # nothing memorized, or a term without variation in the resample
            continue
        f = fit_aft(X[idx], lo[idx], hi[idx], fit.dist, fit.terms, init=init, hessian=False)
        if not f.converged:
            failures += 1
            continue
        draws.append({**f.coef(), "sigma": f.sigma})
    return pd.DataFrame(draws), failures


def coefficient_table(fit: AFTFit, draws: pd.DataFrame, seq_draws: pd.DataFrame | None,
                      data: pd.DataFrame | None = None, level: float = 0.95) -> pd.DataFrame:
    """Estimate, Wald SE, bootstrap percentile CIs (seeds within cells; sequences).

    The sequence-level CI is left out (NaN) for a term that is non-zero on fewer than
    3 sequences (an option slice on one or two sequences): resampling sequences cannot
    show its variation.
    """
    a = (1 - level) / 2
    se = fit.stderr()
    rows = []
    for name, est in fit.coef().items():
        row = dict(term=name, formula="1" if name == "Intercept" else term_formula(name),
                   estimate=est, wald_se=se[name])
        few = False
        if data is not None and name != "Intercept" and ":" not in name \
                and TERMS[name].kind == "option":
            few = data.loc[term_values(data, name) != 0, "sequence"].nunique() < 3
        for tag, d in (("", draws), ("seq_", None if few else seq_draws)):
            if d is not None and len(d) and name in d:
                row[f"{tag}ci_lo"], row[f"{tag}ci_hi"] = np.quantile(d[name], [a, 1 - a])
            else:
                row[f"{tag}ci_lo"] = row[f"{tag}ci_hi"] = math.nan
        rows.append(row)
    return pd.DataFrame(rows)


# -- capacity: bits to memorize per parameter ---------------------------------------------

def lstm_parameters(units: np.ndarray | float, alphabet: int = ALPHABET_SIZE) -> np.ndarray:
    """Weights of the notebook's model: nn.LSTM(A, H) (two bias vectors) + nn.Linear(H, A)."""
    h = np.asarray(units, dtype=float)
    return 4 * h * (alphabet + h) + 8 * h + h * alphabet + alphabet


def sequence_bits(length: np.ndarray | float, alphabet: int = ALPHABET_SIZE) -> np.ndarray:
    """An upper bound on the information in a sequence: length * log2(alphabet)."""
    return np.asarray(length, dtype=float) * math.log2(alphabet)


def capacity_check(data: pd.DataFrame, fit: AFTFit, threshold: float = 0.05) -> dict[str, Any]:
    """Refit the law on runs whose bits-per-parameter is far below any capacity limit.

    If the units exponent stays as negative there, more units speed up learning for a
    reason other than room to store the sequence.
    """
    bpp = sequence_bits(data["length"]) / lstm_parameters(data["units"])
    low = data[bpp < threshold]
    out: dict[str, Any] = dict(threshold=threshold, bits_per_param_min=float(bpp.min()),
                               bits_per_param_max=float(bpp.max()), runs_below=len(low))
    usable = [t for t in fit.terms if np.ptp(term_values(low, t))] if len(low) else []
    if len(low) < 30 or "log_units" not in usable or low["event"].sum() < 10:
        out["units_exponent"] = None
        return out
    f = fit_terms(low, usable, fit.dist)
    se = f.stderr()["log_units"]
    out.update(units_exponent=f.coef()["log_units"],
               units_exponent_lo=f.coef()["log_units"] - 1.96 * se,
               units_exponent_hi=f.coef()["log_units"] + 1.96 * se,
               units_range=[float(low["units"].min()), float(low["units"].max())])
    return out


# -- speed ---------------------------------------------------------------------------------

BENCH_LENGTH = 26  # bench/test_steptime.py times epochs of the alphabet (n = 26)


@dataclass
class StepCost:
    """Per-model training-step cost in microseconds, as a function of units and length.

    us: cost of a full-epoch-BPTT step averaged over an epoch of `ref_length` letters, per
    benchmarked units; a power law in units through these points (exact for two).
    base_us: cost of a one-step (bptt 1) step per units, when benchmarked. With full-epoch
    BPTT the step at position t backpropagates through t + 1 steps, so a sequence of length
    L costs base + (us - base) * ((L + 1)/2 - 1) / ((ref_length + 1)/2 - 1) per step;
    without base_us the cost does not depend on length.
    """

    units: np.ndarray
    us: np.ndarray
    source: str
    base_us: np.ndarray | None = None
    ref_length: float = BENCH_LENGTH

    @staticmethod
    def _power(h: np.ndarray, y: np.ndarray, units: np.ndarray) -> np.ndarray:
        lu = np.log(np.asarray(units, dtype=float))
        if len(h) < 2:
            return np.full_like(lu, float(y[0]))
        slope, icpt = np.polyfit(np.log(h), np.log(y), 1)
        return np.exp(icpt + slope * lu)

    def __call__(self, units: np.ndarray | float, length: np.ndarray | float | None = None
                 ) -> np.ndarray:
        c = self._power(self.units, self.us, units)
        if length is None or self.base_us is None:
            return c
        b = np.minimum(self._power(self.units, self.base_us, units), c)
        depth = (np.asarray(length, dtype=float) + 1) / 2
        ref = (self.ref_length + 1) / 2
        return b + (c - b) * (depth - 1) / (ref - 1)

    @property
    def exponent(self) -> float:
        """Slope of ln cost on ln units (at the benchmark's length)."""
        if len(self.units) < 2:
            return math.nan
        return float(np.polyfit(np.log(self.units), np.log(self.us), 1)[0])


def step_cost(runs: pd.DataFrame, steptime: pd.DataFrame | None) -> StepCost | None:
    """Per-step cost: from the benchmark table when present, else from the sweep's wall times.

    Benchmark: rows of the implementation the runs used (their `engine`, else
    "population"), the benchmarked population size nearest the runs' own, bptt "epoch"
    (and bptt "1" for the length dependence); a power law in units through the
    benchmarked units (extrapolated outside them).
    Fallback: wall_time_s / (steps * population) per run, the amortised per-model step
    of the batched engine with evaluation and any machine contention included; median
    per units, no separate length dependence.
    """
    if steptime is not None and len(steptime):
        st = steptime.copy()
        engines = set(runs.get("engine", pd.Series(dtype=str)).dropna())
        impl = next((e for e in sorted(engines) if e in set(st["impl"])), None)
        if impl is None and "population" in set(st["impl"]):
            impl = "population"
        if impl is not None:
            st = st[st["impl"] == impl]
        pop = float(np.nanmedian(runs["population"])) if "population" in runs else 1.0
        p = st["P"].iloc[int(np.argmin(np.abs(np.log(st["P"]) - math.log(max(pop, 1)))))]
        st = st[st["P"] == p]
        full = st[st["bptt"] == "epoch"] if (st["bptt"] == "epoch").any() else st
        full = full.groupby("H")["per_model_step_us"].min()
        one = st[st["bptt"] == "1"].groupby("H")["per_model_step_us"].min()
        one = one.reindex(full.index)
        base = one.to_numpy(float) if one.notna().all() and len(one) else None
        ref = float(st["length"].iloc[0]) if "length" in st.columns else BENCH_LENGTH
        label = impl or "all implementations"
        return StepCost(full.index.to_numpy(float), full.to_numpy(float),
                        f"benchmark steptime.csv: {label}, P={int(p)}, bptt epoch"
                        + (" and 1 (length-dependent)" if base is not None else ""),
                        base_us=base, ref_length=ref)
    ok = runs[(runs["steps"] > 0) & runs["wall_time_s"].notna()]
    if ok.empty:
        return None
    us = ok["wall_time_s"] * 1e6 / (ok["steps"] * ok["population"].fillna(1))
    per = us.groupby(ok["units"]).median()
    return StepCost(per.index.to_numpy(float), per.to_numpy(float),
                    "fallback: median over runs of wall_time_s / (steps x population), "
                    "amortised over the batched seeds, evaluation included")


# -- the notebook's choices -----------------------------------------------------------

def variants(df: pd.DataFrame) -> pd.Series:
    """'notebook' for rows with the notebook's options, else what differs ('loss=logits')."""
    def one(r: pd.Series) -> str:
        diff = [f"{c}={r[c]}" for c, v in NOTEBOOK_OPTIONS.items() if str(r[c]) != v]
        if str(r["bptt"]) != "epoch":
            short = float(r["bptt"]) < float(r["context_depth"])
            diff[diff.index(f"bptt={r['bptt']}")] += " < depth" if short else " >= depth"
        if not math.isclose(float(r["lr"]), 1e-3):
            diff.append(f"lr={float(r['lr']):g}")
        return ", ".join(diff) or "notebook"
    return df.apply(one, axis=1) if len(df) else pd.Series(dtype=str)


def options_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Each option variant against the notebook runs on the same (sequence, units) cells."""
    runs = runs.assign(variant=variants(runs))
    nb_all = runs[runs["variant"] == "notebook"]
    rows = []
    for v, g in runs[runs["variant"] != "notebook"].groupby("variant", sort=True):
        cells = set(zip(g["sequence"], g["units"], strict=True))
        nb = nb_all[[c in cells for c in zip(nb_all["sequence"], nb_all["units"], strict=True)]]
        km_v = kaplan_meier(g["observed"], g["event"], float(g["max_epochs"].min()))
        row = dict(variant=v, runs=km_v.n, memorized=km_v.events, p=km_v.p_budget,
                   median=km_v.median, median_lo=km_v.median_lo, median_hi=km_v.median_hi,
                   cells=len(cells), depth_min=int(g["context_depth"].min()),
                   depth_max=int(g["context_depth"].max()))
        if len(nb):
            km_n = kaplan_meier(nb["observed"], nb["event"], float(nb["max_epochs"].min()))
            row.update(nb_runs=km_n.n, nb_memorized=km_n.events, nb_p=km_n.p_budget,
                       nb_median=km_n.median)
        rows.append(row)
    return pd.DataFrame(rows)


# -- everything ------------------------------------------------------------------------

@dataclass
class Analysis:
    runs: pd.DataFrame  # non-error runs with outcomes
    errors: pd.DataFrame
    prep: Prepared
    comparison: pd.DataFrame
    interactions: pd.DataFrame
    fit: AFTFit
    coefficients: pd.DataFrame
    bootstrap_n: int  # resamples of seeds within cells kept
    bootstrap_seq_n: int  # resamples of whole sequences kept
    bootstrap_failures: dict[str, int]  # resamples dropped, per scheme
    grid: pd.DataFrame  # notebook runs, the same sequences at every units level kept
    across: pd.DataFrame  # notebook runs of the sequences run at every units level
    km_units_depth: pd.DataFrame  # KM per (units, depth) of `grid`
    km_across_units: pd.DataFrame  # KM per (units, depth) of `across`
    options: pd.DataFrame
    capacity: dict[str, Any]
    cost: StepCost | None
    time_table: pd.DataFrame | None
    cases: pd.DataFrame | None  # non-error case runs with outcomes
    cases_table: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def analyse(results: pd.DataFrame, cases: pd.DataFrame | None = None,
            steptime: pd.DataFrame | None = None, n_boot: int = 200,
            seed: int = 0) -> Analysis:
    """The whole analysis of a study table (and the optional cases and step-time tables)."""
    ok, errors = split_errors(results)
    if ok.empty:
        raise ValueError("the results table has no run with an outcome")
    runs = outcomes(ok)
    runs["notebook"] = is_notebook(runs)
    notes: list[str] = []
    prep = prepare(runs)
    comparison = compare_models(prep)
    best = headline_model(comparison)
    difficulty = [t for t in best["terms"].split(" + ") if t != "-"]
    inter = compare_interactions(prep, difficulty, best["dist"])
    single = inter[inter["terms"].map(len) <= 1]
    pick = single.iloc[int(np.argmin(single["aic"]))]
    extra = list(pick["terms"]) if pick["delta_aic"] < -AIC_MARGIN else []
    terms = [*capacity_terms(prep.data), *difficulty, *extra, *prep.option_terms]
    fit = fit_terms(prep.data, terms, best["dist"])
    rng = np.random.default_rng(seed)
    draws, f_cell = bootstrap(prep.data, fit, n_boot, rng, by="cell")
    failures = {"cell": f_cell}
    seq_draws = None
    if prep.data["sequence"].nunique() >= 5:
        seq_draws, failures["sequence"] = bootstrap(prep.data, fit, max(n_boot // 2, 1), rng,
                                                    by="sequence")
    coefs = coefficient_table(fit, draws, seq_draws, prep.data)

    nb = runs[runs["notebook"]]
    grid, across = balanced_grid(nb), across_units(nb)
    km_ud = km_table(grid, ["units", "context_depth"]) if len(grid) else pd.DataFrame()
    km_across = km_table(across, ["units", "context_depth"]) if len(across) else pd.DataFrame()
    capacity = capacity_check(prep.data, fit)

    cost = step_cost(runs, steptime)
    time_table = None
    if cost is None:
        notes.append("No per-step cost (no steptime.csv and no wall times): speed skipped.")
    else:
        if steptime is None:
            notes.append("No step-time table: per-step cost estimated from the "
                         "sweep's wall times (" + cost.source + ").")
        nbt = across.copy()
        nbt["time_s"] = (nbt["observed"] * nbt["length"]
                         * cost(nbt["units"], nbt["length"]) * 1e-6)
        time_table = km_table(nbt, ["units", "context_depth"], value="time_s")

    cases_runs = cases_table = None
    if cases is None:
        notes.append("No cases table: the notebook's seven cases are not compared.")
    else:
        cok, cerr = split_errors(cases)
        if len(cerr):
            notes.append(f"{len(cerr)} case runs ended in an error and are excluded.")
        cases_runs = outcomes(cok)
        cases_table = case_summary(cases)
    return Analysis(runs=runs, errors=errors, prep=prep, comparison=comparison,
                    interactions=inter, fit=fit, coefficients=coefs, bootstrap_n=len(draws),
                    bootstrap_seq_n=0 if seq_draws is None else len(seq_draws),
                    bootstrap_failures=failures, grid=grid, across=across,
                    km_units_depth=km_ud, km_across_units=km_across,
                    options=options_table(runs), capacity=capacity,
                    cost=cost, time_table=time_table, cases=cases_runs,
                    cases_table=cases_table, notes=notes)


def formula_text(fit: AFTFit, digits: int = 3) -> str:
    """The fitted law written out, e.g. 'ln T = 2.1 - 0.48 ln(units) + ... + 0.51 W'."""
    parts = [f"{fit.beta[0]:.{digits}g}"]
    for name, b in zip(fit.terms, fit.beta[1:], strict=True):
        sign = "-" if b < 0 else "+"
        parts.append(f"{sign} {abs(b):.{digits}g} {term_formula(name)}")
    w = "W, W ~ Normal(0, 1)" if fit.dist == "lognormal" else \
        "W, W ~ standard minimum extreme value (Weibull T)"
    return "ln T = " + " ".join(parts) + f" + {fit.sigma:.{digits}g} {w}"


def fit_document(a: Analysis) -> dict[str, Any]:
    """Everything `predict` needs, with the formula and its provenance written out."""
    fit = a.fit
    coefs = a.coefficients.set_index("term")
    ranges = {c: [float(a.prep.data[c].min()), float(a.prep.data[c].max())]
              for c in ("units", "length", "context_depth", "ambiguous_transitions",
                        "repeat_count", "context_bits")}
    opts = {c: sorted(map(str, a.prep.data[c].unique())) for c in ("reset", "bptt", "loss",
                                                                   "feedback")}
    opts["lr"] = sorted(float(v) for v in a.prep.data["lr"].unique())
    return {
        "model": "accelerated failure time (AFT) regression of epochs-to-memorize T",
        "formula": formula_text(fit, digits=4),
        "response": ("T = training epochs until the network first generates the sequence; "
                     "interval-censored (e - eval_every, e] at the first successful evaluation "
                     "epoch e > 0, (0, 1] for e = 0, right-censored (epochs_trained, inf) when "
                     "never memorized"),
        **fit.to_dict(),
        "median": ("exp(eta)" if fit.dist == "lognormal" else "exp(eta) * ln(2)^sigma")
        + ", eta = Intercept + sum(coefficient * term)",
        "median_factor": median_factor(fit.dist, fit.sigma),
        "probability_within_budget": (
            "Phi((ln budget - eta) / sigma)" if fit.dist == "lognormal"
            else "1 - exp(-exp((ln budget - eta) / sigma))"),
        "term_formulas": {t: term_formula(t) for t in fit.terms},
        "confidence_intervals": {
            r.Index: dict(estimate=r.estimate, wald_se=r.wald_se, lo=r.ci_lo, hi=r.ci_hi,
                          seq_lo=r.seq_ci_lo, seq_hi=r.seq_ci_hi)
            for r in coefs.itertuples()},
        "bootstrap": dict(resamples=a.bootstrap_n, sequence_resamples=a.bootstrap_seq_n,
                          dropped=a.bootstrap_failures,
                          scheme="percentile 95% CI; seeds resampled within cells (lo, hi); "
                                 "whole sequences resampled (seq_lo, seq_hi)"),
        "excluded_option_levels": a.prep.excluded,
        "fitted_options": opts,
        "valid_ranges": ranges,
        "model_comparison": a.comparison.to_dict(orient="records"),
        "interactions": [
            {k: v for k, v in r.items() if k in ("model", "k", "loglik", "aic", "delta_aic",
                                                  "coefficients", "stderr")}
            for r in a.interactions.to_dict(orient="records")],
        "step_cost": None if a.cost is None else dict(
            source=a.cost.source, units=a.cost.units.tolist(),
            per_model_step_us=a.cost.us.tolist(),
            one_step_us=None if a.cost.base_us is None else a.cost.base_us.tolist(),
            reference_length=a.cost.ref_length, exponent=a.cost.exponent),
    }
