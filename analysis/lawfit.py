"""The law: a censored AFT of steps-to-memorize on width, learning rate, loss and difficulty,
chosen by AIC among declared candidates, with sequence-level (cluster-robust) CIs.

    ln T_steps = b0 + f(units, lr, loss) + g(difficulty, loss) + sigma W,  W ~ Normal(0, 1)

The response is optimizer steps (epochs x length): an epoch of a longer sequence holds
more steps. Width and learning rate enter jointly (a quadratic surface in ln units and
ln lr, so a best lr that moves with width, a peak and a collapse can all be fitted), and
the loss may change both. The fit covers one training setting (`LAW_OPTIONS`: state
reset per epoch, full-epoch BPTT, probability feedback at evaluation) and the rows of
the fitting tables (`FIT_TABLES`); the held-out table is never fitted.

Sequences, not seeds, are the units of evidence for a difficulty effect: the seeds of a
sequence share it. The headline CIs are therefore cluster-robust by sequence
(`law.cluster_cov`); the model-based (Wald) ones, which treat every run as independent,
stand beside them. sigma mixes seed-to-seed and sequence-to-sequence spread; a model
with its own intercept per cell (same sequence, units, lr and loss) measures the seed
part alone (`seed_sigma`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.law import AFTFit, _rows, cluster_cov, design, fit_aft, term_formula
from analysis.load import Tables, outcomes, split_errors

LAW_OPTIONS = dict(reset="epoch", bptt="epoch", feedback="probs")
FIT_TABLES = ("width_lr", "depth", "study")
CI_Z = 1.959964  # 95%
DIST = "lognormal"

TRAINABILITY = {
    "power law in units and lr": ["lu", "lr"],
    "quadratic in ln units and ln lr": ["lu", "lu2", "lr", "lr2", "lu:lr"],
}
LOSS = {
    "loss shifts": ["logits"],
    "loss reshapes the surface": ["logits", "logits:lu", "logits:lr", "logits:lr2",
                                  "logits:lu2", "logits:lu:lr"],
}
DIFFICULTY = {
    "length + context bits": ["log_length", "log1p_bits"],
    "length + depth + ambiguity": ["log_length", "log_depth", "log1p_ambiguous"],
    "length + memory bits": ["log_length", "log1p_memory_bits"],
    "length + depth + ambiguity, by loss": ["log_length", "log_depth", "log1p_ambiguous",
                                            "logits:log_depth", "logits:log1p_ambiguous"],
    "length + depth + ambiguity, by loss and width": [
        "log_length", "log_depth", "log1p_ambiguous", "logits:log_depth",
        "logits:log1p_ambiguous", "lu:log_depth", "lu:log1p_ambiguous"],
}
RANGE_COLUMNS = ("units", "lr", "length", "context_depth", "ambiguous_transitions",
                 "memory_bits")


def law_data(tables: Tables) -> pd.DataFrame:
    """The rows the law is fitted on: the FIT_TABLES' runs with LAW_OPTIONS, errors removed,
    with their censored outcomes (in epochs and in steps). Runs at depth 1 are kept."""
    parts = [getattr(tables, name) for name in FIT_TABLES if getattr(tables, name) is not None]
    if not parts:
        raise ValueError(f"none of the fitting tables is there: {FIT_TABLES}")
    df = pd.concat(parts, ignore_index=True).drop_duplicates("run_id")
    df, _ = split_errors(df)
    mask = np.ones(len(df), dtype=bool)
    for col, value in LAW_OPTIONS.items():
        mask &= (df[col] == value).to_numpy(dtype=bool)
    return outcomes(df[mask].reset_index(drop=True))


@dataclass
class LawFit:
    """The chosen law and what it rests on."""

    name: str
    fit: AFTFit
    cov_cluster: np.ndarray  # (beta, ln sigma), clusters = sequences
    n_sequences: int
    comparison: pd.DataFrame  # every candidate: terms, k, AIC, delta AIC
    coefficients: pd.DataFrame  # term, formula, estimate, Wald CI, cluster CI
    ranges: dict[str, list[float]]
    sigma_seed: float | None  # seed-to-seed sd of ln T (per-cell intercepts)
    notes: list[str] = field(default_factory=list)

    @property
    def sigma_sequence(self) -> float | None:
        """The part of sigma that is not seed noise (between sequences and misfit)."""
        if self.sigma_seed is None or self.sigma_seed >= self.fit.sigma:
            return None
        return math.sqrt(self.fit.sigma ** 2 - self.sigma_seed ** 2)


def candidates() -> dict[str, list[str]]:
    """Every declared model: one block of each kind."""
    out = {}
    for t_name, t in TRAINABILITY.items():
        for l_name, loss in LOSS.items():
            for d_name, diff in DIFFICULTY.items():
                out[f"{t_name}; {l_name}; {d_name}"] = [*t, *loss, *diff]
    return out


def _fit(data: pd.DataFrame, terms: list[str], hessian: bool = True) -> AFTFit:
    return fit_aft(design(data, terms), data["lower_steps"].to_numpy(),
                   data["upper_steps"].to_numpy(), DIST, terms, hessian=hessian)


def usable(data: pd.DataFrame, terms: list[str]) -> list[str]:
    """The terms that vary in `data` (a term without variation has no coefficient)."""
    X = design(data, terms)
    return [t for t, col in zip(terms, X[:, 1:].T, strict=True) if np.ptp(col) > 0]


def fit_law(data: pd.DataFrame) -> LawFit:
    """Fit every candidate, keep the lowest AIC, and give its CIs both ways."""
    rows, fits = [], {}
    for name, terms in candidates().items():
        terms = usable(data, terms)
        f = _fit(data, terms, hessian=False)
        fits[name] = terms
        rows.append(dict(model=name, k=f.k, loglik=f.loglik, aic=f.aic))
    comparison = pd.DataFrame(rows).sort_values(["aic", "model"]).reset_index(drop=True)
    comparison["delta_aic"] = comparison["aic"] - comparison["aic"].min()
    name = str(comparison.loc[0, "model"])
    terms = fits[name]
    fit = _fit(data, terms)
    X = design(data, terms)
    groups = data["sequence"].to_numpy()
    cov_c = cluster_cov(fit, X, data["lower_steps"].to_numpy(), data["upper_steps"].to_numpy(),
                        groups)
    return LawFit(name=name, fit=fit, cov_cluster=cov_c,
                  n_sequences=int(data["sequence"].nunique()), comparison=comparison,
                  coefficients=coefficient_table(fit, cov_c), ranges=valid_ranges(data),
                  sigma_seed=seed_sigma(data))


def coefficient_table(fit: AFTFit, cov_cluster: np.ndarray) -> pd.DataFrame:
    wald = fit.stderr()
    cl = np.sqrt(np.clip(np.diag(cov_cluster)[:-1], 0, None))
    rows = []
    for i, (name, est) in enumerate(fit.coef().items()):
        rows.append(dict(term=name, formula="1" if name == "Intercept" else term_formula(name),
                         estimate=est, wald_se=wald[name], cluster_se=float(cl[i]),
                         wald_lo=est - CI_Z * wald[name], wald_hi=est + CI_Z * wald[name],
                         lo=est - CI_Z * cl[i], hi=est + CI_Z * cl[i]))
    return pd.DataFrame(rows)


def valid_ranges(data: pd.DataFrame) -> dict[str, list[float]]:
    return {c: [float(data[c].min()), float(data[c].max())] for c in RANGE_COLUMNS}


def seed_sigma(data: pd.DataFrame) -> float | None:
    """sigma of a log-normal AFT with its own location per cell: the seed-to-seed spread.

    For each sigma the cells' locations are set to their maximum likelihood (bisection on
    each cell's score, all cells at once); sigma maximises the profile. Cells where no
    run memorized say nothing about the spread and are left out.
    """
    keys = data.groupby(["sequence", "units", "lr", "loss", "max_epochs"], sort=False).ngroup()
    has_event = data.groupby(keys)["event"].transform("any").to_numpy()
    d = data[has_event]
    if len(d) == 0:
        return None
    cells = keys[has_event].to_numpy()
    cells = pd.factorize(cells)[0]
    n_cells = cells.max() + 1
    with np.errstate(divide="ignore"):
        lo, hi = np.log(d["lower_steps"].to_numpy()), np.log(d["upper_steps"].to_numpy())
    finite = np.where(np.isfinite(hi), hi, lo)
    span = np.bincount(cells, finite) / np.bincount(cells)

    def profile(log_sigma: float) -> float:
        sigma = math.exp(log_sigma)
        a, b = span - 20 * sigma - 5, span + 20 * sigma + 5  # brackets of each cell's mu
        for _ in range(60):
            mid = (a + b) / 2
            _, g_eta, _ = _rows(mid[cells], lo, hi, sigma, DIST)
            score = np.bincount(cells, g_eta, minlength=n_cells)
            a, b = np.where(score > 0, mid, a), np.where(score > 0, b, mid)
        logp, _, _ = _rows(((a + b) / 2)[cells], lo, hi, sigma, DIST)
        return -float(logp.sum())

    res = optimize.minimize_scalar(profile, bounds=(math.log(0.02), math.log(5.0)),
                                   method="bounded", options=dict(xatol=1e-4))
    # Each cell's location is estimated from its own few seeds, which biases the maximum
    # likelihood sigma low by about sqrt((N - cells) / N): undo it, as REML would.
    return float(math.exp(res.x) * math.sqrt(len(d) / max(len(d) - n_cells, 1)))


def law_document(law: LawFit) -> dict[str, Any]:
    """What `analysis.predict` needs, and the law written out."""
    fit = law.fit
    return {
        "model": "log-normal AFT of steps-to-memorize (epochs x length)",
        "name": law.name,
        "formula": formula_text(fit),
        "training": {k: v for k, v in LAW_OPTIONS.items()},
        **fit.to_dict(),
        "sigma_seed": law.sigma_seed,
        "sigma_sequence": law.sigma_sequence,
        "n_sequences": law.n_sequences,
        "term_formulas": {t: term_formula(t) for t in fit.terms},
        "confidence_intervals": {
            r.term: dict(estimate=r.estimate, lo=r.lo, hi=r.hi, wald_lo=r.wald_lo,
                         wald_hi=r.wald_hi) for r in law.coefficients.itertuples()},
        "valid_ranges": law.ranges,
        "model_comparison": law.comparison.to_dict(orient="records"),
    }


def formula_text(fit: AFTFit, digits: int = 4) -> str:
    parts = [f"{fit.beta[0]:.{digits}g}"]
    for name, b in zip(fit.terms, fit.beta[1:], strict=True):
        parts.append(f"{'-' if b < 0 else '+'} {abs(b):.{digits}g} {term_formula(name)}")
    return "ln T_steps = " + " ".join(parts) + f" + {fit.sigma:.{digits}g} W, W ~ Normal(0, 1)"
