"""The law's local scaling exponents (question 3): d ln T_steps / d ln x for width, lr and
length, per loss, with cluster-robust CIs, and where the quadratic law puts the best lr."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.law import AFTFit, design
from analysis.lawfit import CI_Z, LawFit


def elasticities(law: LawFit, data: pd.DataFrame) -> pd.DataFrame:
    """The law's local scaling exponents d ln T_steps / d ln x for x = units, lr and
    length, per loss, at the notebook's 32 units and lr 1e-3 and the fitted rows' median
    difficulty (depth, ambiguous transitions, next-letter entropies), with cluster CIs
    (delta method). In epochs the length exponent is one less (T_epochs = T_steps / n)."""
    fit = law.fit
    p = len(fit.beta)
    cov = law.cov_cluster[:p, :p]
    ref = {c: float(data[c].median()) for c in ("context_depth", "ambiguous_transitions",
                                                "cond_entropy_1", "cond_entropy_2",
                                                "cond_entropy_3", "length", "context_bits",
                                                "memory_bits")}
    rows = []
    h = 1e-4
    for loss in ("softmax", "logits"):
        base = dict(ref, units=32.0, lr=1e-3, loss=loss)
        for col in ("units", "lr", "length"):
            up = pd.DataFrame([dict(base, **{col: base[col] * math.exp(h)})])
            down = pd.DataFrame([dict(base, **{col: base[col] * math.exp(-h)})])
            w = (design(up, fit.terms) - design(down, fit.terms))[0] / (2 * h)
            est, se = float(w @ fit.beta), float(math.sqrt(max(w @ cov @ w, 0.0)))
            rows.append(dict(loss=loss, covariate=col, exponent=est, lo=est - CI_Z * se,
                             hi=est + CI_Z * se))
        best = _best_lr_exponent(fit, cov, loss)
        if best is not None:
            lr_star = float(np.exp(_lr_vertex(fit, loss)) * 1e-3)
            lo, hi = law.ranges["lr"]
            rows.append(dict(loss=loss, covariate="best lr vs units", **best, best_lr=lr_star,
                             inside=bool(lo <= lr_star <= hi)))
    return pd.DataFrame(rows).assign(
        at=f"units 32, lr 1e-3, depth {ref['context_depth']:g}, ambiguous transitions "
           f"{ref['ambiguous_transitions']:g}, length {ref['length']:g}")


def _lr_vertex(fit: AFTFit, loss: str) -> float:
    """ln(lr* / 1e-3) at 32 units: where the law's ln T is lowest in lr."""
    b = fit.coef()
    on = 1.0 if loss == "logits" else 0.0
    slope = b.get("lr", 0.0) + on * b.get("logits:lr", 0.0)
    curve = b.get("lr2", 0.0) + on * b.get("logits:lr2", 0.0)
    return -slope / (2 * curve)


def _best_lr_exponent(fit: AFTFit, cov: np.ndarray, loss: str) -> dict[str, float] | None:
    """d ln lr* / d ln units, lr* the law's fastest lr at each width: -b(lu:lr) / 2 b(lr2),
    with the loss's own terms added (muP for Adam says -1). None without those terms."""
    names = ["Intercept", *fit.terms]
    on = 1.0 if loss == "logits" else 0.0

    def exponent(beta: np.ndarray) -> float:
        b = dict(zip(names, beta, strict=True))
        cross = b.get("lu:lr", 0.0) + on * b.get("logits:lu:lr", 0.0)
        curve = b.get("lr2", 0.0) + on * b.get("logits:lr2", 0.0)
        return -cross / (2 * curve)

    if "lu:lr" not in names or "lr2" not in names:
        return None
    est = exponent(fit.beta)
    grad = np.array([(exponent(fit.beta + e) - exponent(fit.beta - e)) / 2e-6
                     for e in np.eye(len(names)) * 1e-6])
    se = float(math.sqrt(max(grad @ cov @ grad, 0.0)))
    return dict(exponent=est, lo=est - CI_Z * se, hi=est + CI_Z * se)
