"""The notebook loss's stalls, modelled: a mixture ("cure") version of the law (issue 18).

Failing runs under the notebook's loss (Softmax before CrossEntropyLoss) sit on loss
plateaus, as if some would never memorize at any budget. The mixture says so: a run under
that loss never memorizes with probability

    pi = logistic(g0 + g . (ln units, ln lr, difficulty))          (CURE_TERMS)

and otherwise its time to memorize follows the law's AFT (same location and spread
terms, refitted jointly). Under the loss on the logits pi = 0: there the law is the AFT.

    P(memorized within B) = (1 - pi) F(B),   median = F^-1(1/2 / (1 - pi)), inf if pi >= 1/2

It is fitted by maximum likelihood on the law's own rows. Whether it replaces the AFT is
decided out of sample, by the rule frozen with the law (analysis.preregistration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from analysis.law import AFTFit, _log1mexp, _rows, design

STALL_LOSS = "softmax"
CURE_TERMS = ("lu", "lr", "log_length", "log_depth", "log1p_ambiguous")


@dataclass
class CureFit:
    aft: AFTFit  # the law's location and spread, refitted jointly with the cure part
    cure_terms: tuple[str, ...]
    gamma: np.ndarray  # intercept first
    loglik: float
    converged: bool

    def never(self, df: pd.DataFrame) -> np.ndarray:
        """P(never memorizes) per row: 0 off the stalling loss."""
        pi = special.expit(design(df, self.cure_terms) @ self.gamma)
        return np.where(df["loss"].to_numpy() == STALL_LOSS, pi, 0.0)

    def prob_within(self, df: pd.DataFrame, budget: float | np.ndarray) -> np.ndarray:
        return (1 - self.never(df)) * self.aft.prob_within(df, budget)

    def median(self, df: pd.DataFrame) -> np.ndarray:
        pi = self.never(df)
        q = np.where(pi < 0.5, 0.5 / np.maximum(1 - pi, 1e-300), np.nan)
        z = special.ndtri(np.clip(q, 0, 1))  # the lognormal AFT's quantile
        t = np.exp(self.aft.eta(df) + self.aft.sigma_rows(df) * z)
        return np.where(pi < 0.5, t, np.inf)


def fit_cure(law: AFTFit, data: pd.DataFrame) -> CureFit:
    """The mixture, started from the law's AFT and no stalls; steps as the law's response."""
    if law.dist != "lognormal":
        raise ValueError(f"the cure model takes a lognormal law, got {law.dist!r}")
    X = design(data, law.terms)
    S = design(data, law.scale_terms) if law.scale_terms else np.ones((len(data), 1))
    C = design(data, CURE_TERMS)
    stall = data["loss"].to_numpy() == STALL_LOSS
    with np.errstate(divide="ignore"):
        log_lo, log_hi = np.log(data["lower_steps"].to_numpy()), np.log(
            data["upper_steps"].to_numpy())
    censored = ~np.isfinite(log_hi)
    # standardised columns (the intercept kept) so that one step size suits every parameter
    scales = [_standardiser(M) for M in (X, S, C)]
    Xs, Ss, Cs = (M @ A for M, (A, _) in zip((X, S, C), scales, strict=True))
    p, q = X.shape[1], S.shape[1]

    def negloglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, gs, gc = theta[:p], theta[p:p + q], theta[p + q:]
        logp, d_eta, d_s = _rows(Xs @ beta, log_lo, log_hi, np.exp(Ss @ gs), "lognormal")
        eta_c = Cs @ gc
        log_pi, log_1m = -np.logaddexp(0, -eta_c), -np.logaddexp(0, eta_c)
        mixed = np.where(censored, np.logaddexp(log_pi, log_1m + logp), log_1m + logp)
        total = np.where(stall, mixed, logp).sum()
        if not math.isfinite(total):
            return 1e300, np.zeros_like(theta)
        # d/d(eta, ln sigma): the AFT's, weighed by the share of the mixture it explains
        w = np.where(stall & censored, np.exp(log_1m + logp - mixed), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_c = np.where(censored, np.exp(log_pi + log_1m + _log1mexp(logp) - mixed),
                           -np.exp(log_pi))
        d_c = np.where(stall, np.nan_to_num(d_c), 0.0)
        grad = np.concatenate([Xs.T @ (w * d_eta), Ss.T @ (w * d_s), Cs.T @ d_c])
        return -float(total), -grad

    start = np.concatenate([np.linalg.solve(scales[0][0], law.beta),
                            np.linalg.solve(scales[1][0], _scale_params(law, q)),
                            [-3.0], np.zeros(C.shape[1] - 1)])
    res = optimize.minimize(negloglik, start, jac=True, method="BFGS",
                            options=dict(maxiter=2000, gtol=1e-6))
    theta = res.x
    beta = scales[0][0] @ theta[:p]
    gs = scales[1][0] @ theta[p:p + q]
    aft = AFTFit(dist="lognormal", terms=law.terms, beta=beta, log_sigma=float(gs[0]),
                 loglik=-float(res.fun), n=len(data), n_events=int((~censored).sum()),
                 scale_terms=law.scale_terms, gamma=np.asarray(gs[1:], dtype=float))
    return CureFit(aft=aft, cure_terms=CURE_TERMS, gamma=scales[2][0] @ theta[p + q:],
                   loglik=-float(res.fun),
                   converged=bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-3)


def _scale_params(law: AFTFit, q: int) -> np.ndarray:
    return np.concatenate([[law.log_sigma], law.gamma])[:q]


def _standardiser(M: np.ndarray) -> tuple[np.ndarray, None]:
    """A with M @ A standardised (intercept column first, kept): raw = A @ standardised."""
    m, s = M[:, 1:].mean(axis=0), M[:, 1:].std(axis=0)
    s[s == 0] = 1.0
    A = np.eye(M.shape[1])
    A[1:, 1:] = np.diag(1 / s)
    A[0, 1:] = -m / s
    return A, None
