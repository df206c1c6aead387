"""The fitted law: covariate terms, the censored AFT likelihood, and the saved model.

An accelerated-failure-time (AFT) model of a time to memorize T (steps or epochs):

    ln T = b0 + sum_j b_j * x_j + sigma * W

with W standard normal (log-normal AFT) or standard minimum-extreme-value (Weibull
AFT, shape 1/sigma). The x_j are named `TERMS` (ln units, ln lr, ln length, the loss
indicator, ...) or products of them ("lu:lr"), so a coefficient on a ln-covariate is a
scaling exponent (T ~ units^b) and one on an indicator is a log time ratio.

Memorization is only seen at evaluation epochs, so a run first seen memorized at
epoch e is interval-censored: T in (e - eval_every, e]. A run never memorized is
right-censored: T > epochs_trained. A success at epoch 0 (the untrained network
already generates the string) is left-censored at one epoch: T in (0, 1].

Why the likelihood is written here rather than taken from lifelines: lifelines'
`fit_interval_censoring` gives the same estimates (tests/test_analysis.py checks it)
but takes ~1 s per fit on a few thousand rows and sometimes stops with a precision-loss
ConvergenceError, and the analysis fits a few dozen candidate models in seconds.
The likelihood below is the textbook interval-censored location-scale likelihood on
ln T, with its analytic gradient, minimised by scipy's BFGS (pure numpy: L-BFGS-B's
Fortran BLAS calls ran 5x slower with the default thread pool on a busy machine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

DISTS = ("lognormal", "weibull")
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Term:
    """One covariate: its formula as written in fit.json, and how to compute it from rows."""

    formula: str
    compute: Callable[[pd.DataFrame], np.ndarray]
    kind: str  # "difficulty", "length", "capacity" or "option"


def _col(name: str) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda d: d[name].to_numpy(dtype=float)


TERMS: dict[str, Term] = {
    # Width and lr around the notebook's 32 units and 1e-3, so that the squares and the
    # product are nearly uncorrelated with the linear terms.
    "lu": Term("ln(units / 32)", lambda d: np.log(_col("units")(d) / 32), "capacity"),
    "lu2": Term("ln(units / 32)^2", lambda d: np.log(_col("units")(d) / 32) ** 2, "capacity"),
    "lr": Term("ln(lr / 0.001)", lambda d: np.log(_col("lr")(d) / 1e-3), "capacity"),
    "lr2": Term("ln(lr / 0.001)^2", lambda d: np.log(_col("lr")(d) / 1e-3) ** 2, "capacity"),
    "logits": Term("1[loss = logits]",
                   lambda d: (d["loss"] == "logits").to_numpy(dtype=float), "option"),
    "log_length": Term("ln(length)", lambda d: np.log(_col("length")(d)), "difficulty"),
    # the bend of ln T in ln length (the one law across length, analysis.lengthlaw); centred
    # on 64 letters so that it is nearly uncorrelated with ln(length) over 8-4096
    "log_length2": Term("ln(length / 64)^2", lambda d: np.log(_col("length")(d) / 64) ** 2,
                        "length"),
    "log_depth": Term("ln(context_depth)", lambda d: np.log(_col("context_depth")(d)),
                      "difficulty"),
    "log1p_ambiguous": Term("ln(1 + ambiguous_transitions)",
                            lambda d: np.log1p(_col("ambiguous_transitions")(d)), "difficulty"),
    "log1p_bits": Term("ln(1 + context_bits)",
                       lambda d: np.log1p(_col("context_bits")(d)), "difficulty"),
    # H(next | last k letters) in bits per letter (seqmem.difficulty.cond_entropy)
    **{f"h{k}": Term(f"cond_entropy_{k}", _col(f"cond_entropy_{k}"), "difficulty")
       for k in (1, 2, 3)},
    "log1p_memory_bits": Term("ln(1 + memory_bits)",
                              lambda d: np.log1p(_col("memory_bits")(d)), "difficulty"),
}


def term_formula(name: str) -> str:
    """'log_units:log_depth' -> 'ln(units) * ln(context_depth)'."""
    return " * ".join(TERMS[part].formula for part in name.split(":"))


def term_values(df: pd.DataFrame, name: str) -> np.ndarray:
    """Values of a term (or an interaction 'a:b', the product of its parts) for each row."""
    out = np.ones(len(df))
    for part in name.split(":"):
        out = out * np.asarray(TERMS[part].compute(df), dtype=float)
    return out


def design(df: pd.DataFrame, terms: Sequence[str]) -> np.ndarray:
    """(n, 1 + len(terms)) design matrix: an intercept column, then each term."""
    cols = [np.ones(len(df))] + [term_values(df, t) for t in terms]
    return np.column_stack(cols)


# -- the distribution of W --------------------------------------------------------------

def _log_parts(dist: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log F(z), log S(z), log f(z) of the standard error distribution, exact at +-inf."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if dist == "lognormal":
            logf = np.where(np.isfinite(z), -0.5 * z * z - _LOG_SQRT_2PI, -np.inf)
            return special.log_ndtr(z), special.log_ndtr(-z), logf
        if dist == "weibull":  # W = ln of a unit exponential: S(w) = exp(-e^w)
            ew = np.exp(z)
            logS = -ew
            logF = np.log(-np.expm1(-ew))
            logf = np.where(np.isfinite(z), z - ew, -np.inf)
            return logF, logS, logf
    raise ValueError(f"dist must be one of {DISTS}, got {dist!r}")


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - e^x) for x <= 0, accurately (Maechler's recipe)."""
    with np.errstate(divide="ignore"):
        return np.where(x > -math.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def interval_cdf(dist: str, z: np.ndarray) -> np.ndarray:
    return np.exp(_log_parts(dist, z)[0])


def _rows(eta: np.ndarray, log_lo: np.ndarray, log_hi: np.ndarray, sigma: float, dist: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: log P(lo < T <= hi), and its derivatives in eta and in ln sigma."""
    z_lo = (log_lo - eta) / sigma
    z_hi = (log_hi - eta) / sigma
    lF_lo, lS_lo, lf_lo = _log_parts(dist, z_lo)
    lF_hi, lS_hi, lf_hi = _log_parts(dist, z_hi)
    # log P(lo < T <= hi), taking the difference on whichever side of the median is safer.
    upper_side = z_lo > 0
    with np.errstate(invalid="ignore"):
        logp = np.where(
            upper_side,
            lS_lo + _log1mexp(np.minimum(lS_hi - lS_lo, 0.0)),
            lF_hi + _log1mexp(np.minimum(lF_lo - lF_hi, 0.0)),
        )
    r_lo = np.exp(lf_lo - logp)  # f(z_lo) / P, 0 where z_lo = -inf
    r_hi = np.exp(lf_hi - logp)
    zr_lo = np.where(np.isfinite(z_lo), z_lo, 0.0) * r_lo
    zr_hi = np.where(np.isfinite(z_hi), z_hi, 0.0) * r_hi
    return logp, (r_lo - r_hi) / sigma, zr_lo - zr_hi


def _negloglik(theta: np.ndarray, X: np.ndarray, log_lo: np.ndarray, log_hi: np.ndarray,
               dist: str, S: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """-log L and its gradient in theta = (beta, gamma), ln sigma_i = S_i gamma (S None:
    one sigma, gamma = ln sigma)."""
    p = X.shape[1]
    beta, gamma = theta[:p], theta[p:]
    sigma = math.exp(gamma[0]) if S is None else np.exp(S @ gamma)
    logp, g_eta, g_s = _rows(X @ beta, log_lo, log_hi, sigma, dist)
    nll = -float(np.sum(logp))
    grad_s = [np.sum(g_s)] if S is None else S.T @ g_s
    grad = -np.concatenate([X.T @ g_eta, grad_s])
    if not math.isfinite(nll):
        return 1e300, np.zeros_like(theta)
    return nll, grad


@dataclass
class AFTFit:
    """A fitted AFT model. `terms` excludes the intercept; `beta` includes it first."""

    dist: str
    terms: tuple[str, ...]
    beta: np.ndarray
    log_sigma: float
    loglik: float
    n: int
    n_events: int
    cov: np.ndarray | None = field(default=None, repr=False)
    converged: bool = True
    # ln sigma_i = log_sigma + sum_j gamma_j * scale term j (none: one sigma for every row)
    scale_terms: tuple[str, ...] = ()
    gamma: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def sigma(self) -> float:
        """sigma at the reference level of the scale terms (all zero)."""
        return math.exp(self.log_sigma)

    def sigma_rows(self, df: pd.DataFrame) -> np.ndarray:
        if not self.scale_terms:
            return np.full(len(df), self.sigma)
        return np.exp(self.log_sigma + design(df, self.scale_terms)[:, 1:] @ self.gamma)

    @property
    def k(self) -> int:
        return len(self.beta) + 1 + len(self.scale_terms)

    @property
    def aic(self) -> float:
        return 2 * self.k - 2 * self.loglik

    @property
    def names(self) -> list[str]:
        return ["Intercept", *self.terms]

    def coef(self) -> dict[str, float]:
        return dict(zip(self.names, map(float, self.beta), strict=True))

    def stderr(self) -> dict[str, float]:
        if self.cov is None:
            return {n: math.nan for n in self.names}
        se = np.sqrt(np.clip(np.diag(self.cov)[:len(self.beta)], 0, None))
        return dict(zip(self.names, map(float, se), strict=True))

    def eta(self, df: pd.DataFrame) -> np.ndarray:
        return design(df, self.terms) @ self.beta

    def median(self, df: pd.DataFrame) -> np.ndarray:
        """Median T of each row."""
        if self.dist == "lognormal":
            return np.exp(self.eta(df))
        return np.exp(self.eta(df)) * math.log(2) ** self.sigma_rows(df)

    def prob_within(self, df: pd.DataFrame, budget: float | np.ndarray) -> np.ndarray:
        """P(T <= budget) for each row."""
        z = (np.log(budget) - self.eta(df)) / self.sigma_rows(df)
        return interval_cdf(self.dist, z)

    def to_dict(self) -> dict[str, Any]:
        return dict(
            distribution=self.dist,
            terms=list(self.terms),
            coefficients=self.coef(),
            sigma=self.sigma,
            log_likelihood=self.loglik,
            aic=self.aic,
            n_runs=self.n,
            n_memorized=self.n_events,
            scale_terms=list(self.scale_terms),
            scale_coefficients=dict(zip(self.scale_terms, map(float, self.gamma), strict=True)),
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AFTFit:
        terms = tuple(d["terms"])
        beta = np.array([d["coefficients"][n] for n in ("Intercept", *terms)], dtype=float)
        scale = tuple(d.get("scale_terms", ()))
        gamma = np.array([d["scale_coefficients"][t] for t in scale], dtype=float)
        return cls(dist=d["distribution"], terms=terms, beta=beta,
                   log_sigma=math.log(d["sigma"]), loglik=d["log_likelihood"],
                   n=d["n_runs"], n_events=d["n_memorized"], scale_terms=scale, gamma=gamma)


def fit_aft(X: np.ndarray, lower: np.ndarray, upper: np.ndarray, dist: str,
            terms: Sequence[str], init: np.ndarray | None = None,
            hessian: bool = True, scale: np.ndarray | None = None,
            scale_terms: Sequence[str] = ()) -> AFTFit:
    """Maximum likelihood fit of the interval-censored AFT model.

    X: design matrix with the intercept first; lower/upper: bounds of T per row
    (lower may be 0, upper may be inf). init: (beta, ln sigma) to start from.
    scale, scale_terms: a design (intercept first) for ln sigma, so that the spread may
    differ between rows (a heteroscedastic AFT); None: one sigma.
    The location covariates are standardised for the optimiser and mapped back.
    """
    if dist not in DISTS:
        raise ValueError(f"dist must be one of {DISTS}, got {dist!r}")
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if np.any(~(upper > lower)) or np.any(lower < 0):
        raise ValueError("every interval needs 0 <= lower < upper")
    with np.errstate(divide="ignore"):
        log_lo, log_hi = np.log(lower), np.log(upper)
    m = X[:, 1:].mean(axis=0)
    s = X[:, 1:].std(axis=0)
    s[s == 0] = 1.0
    Z = np.column_stack([np.ones(len(X)), (X[:, 1:] - m) / s])
    # A maps standardised coefficients to raw ones: beta = A @ beta_std.
    p = X.shape[1]
    A = np.eye(p)
    A[1:, 1:] = np.diag(1 / s)
    A[0, 1:] = -m / s
    q = 1 if scale is None else scale.shape[1]
    if init is None:
        mid = np.where(np.isfinite(log_hi), log_hi, log_lo)
        mid = np.where(np.isfinite(mid), mid, 0.0)
        b_std, *_ = np.linalg.lstsq(Z, mid, rcond=None)
        s0 = math.log(max(float(np.std(mid - Z @ b_std)), 0.1))
        theta0 = np.concatenate([b_std, [s0], np.zeros(q - 1)])
    else:
        theta0 = np.concatenate([np.linalg.solve(A, init[:p]), init[p:], np.zeros(q - len(init[p:]))])
    args = (Z, log_lo, log_hi, dist, scale)
    res = optimize.minimize(_negloglik, theta0, args=args, jac=True, method="BFGS",
                            options=dict(maxiter=1000, gtol=1e-6))
    theta = res.x
    cov = None
    if hessian:
        H = _numeric_hessian(lambda t: _negloglik(t, *args)[1], theta)
        try:
            cov_std = np.linalg.inv(H)
            B = np.eye(p + q)
            B[:p, :p] = A
            cov = B @ cov_std @ B.T
        except np.linalg.LinAlgError:
            cov = None
    is_event = np.isfinite(upper)
    return AFTFit(dist=dist, terms=tuple(terms), beta=A @ theta[:p], log_sigma=float(theta[p]),
                  loglik=-float(res.fun), n=len(X), n_events=int(is_event.sum()), cov=cov,
                  converged=bool(res.success) or np.max(np.abs(res.jac)) < 1e-3,
                  scale_terms=tuple(scale_terms), gamma=np.asarray(theta[p + 1:], dtype=float))


def cluster_parts(fit: AFTFit, X: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  groups: np.ndarray, scale: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(H, J): the observed information of (beta, ln sigma, gamma) and the outer product of
    the clusters' summed scores, sum over clusters of s_g s_g^T, times G / (G - 1).
    scale: the fit's scale design (when it has scale terms)."""
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    with np.errstate(divide="ignore"):
        log_lo, log_hi = np.log(lower), np.log(upper)
    theta = np.concatenate([fit.beta, [fit.log_sigma], fit.gamma])
    S = scale if fit.scale_terms else None
    sigma = fit.sigma if S is None else np.exp(S @ theta[len(fit.beta):])
    _, g_eta, g_s = _rows(X @ fit.beta, log_lo, log_hi, sigma, fit.dist)
    scores = np.column_stack([X * g_eta[:, None], g_s[:, None] if S is None else S * g_s[:, None]])
    codes, uniq = pd.factorize(pd.Series(groups))
    per = np.zeros((len(uniq), scores.shape[1]))
    np.add.at(per, codes, scores)
    H = _numeric_hessian(lambda t: _negloglik(t, X, log_lo, log_hi, fit.dist, S)[1], theta)
    g = len(uniq)
    return H, (per.T @ per) * (g / max(g - 1, 1))


def cluster_cov(fit: AFTFit, X: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                groups: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """Cluster-robust (sandwich) covariance of (beta, ln sigma, gamma), clusters = `groups`:
    H^-1 J H^-1 (`cluster_parts`). With the sequences as clusters the seeds of one sequence
    count as one piece of evidence about a sequence-level effect, which the model-based
    (Wald) covariance treats as independent."""
    H, J = cluster_parts(fit, X, lower, upper, groups, scale)
    bread = np.linalg.pinv(H)
    return bread @ J @ bread


def tic_penalty(H: np.ndarray, J: np.ndarray) -> float:
    """tr(J H^-1): Takeuchi's effective number of parameters. It equals the parameter count
    when the runs are independent and the model is right; with clusters (the seeds of a
    sequence) it grows with how much each cluster's runs move together."""
    return float(np.trace(J @ np.linalg.pinv(H)))


def _numeric_hessian(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised."""
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    H = np.empty((len(x), len(x)))
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h[i]
        H[i] = (grad(x + e) - grad(x - e)) / (2 * h[i])
    return (H + H.T) / 2
