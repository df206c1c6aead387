"""The divergence's form on fresh sequences (SCIENCE.md: a law must predict what it has not
seen). analysis.divergence chooses between the power law and the divergence by in-sample AIC,
with seeds counted as independent. Here, per network that has fresh runs (FRESH: sequences
drawn with generator seeds no other spec uses), both forms are fitted again without them and
scored on them: each fresh run's censored log-likelihood under each form, summed per sequence
(the cluster), and an exact sign-flip test over the sequences of their difference. Beside it,
as for the law's checks, the median factor between each form's predicted and the measured
(Kaplan-Meier) median steps, at the fresh lengths where half the runs memorized."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.divergence import (
    NETWORK,
    _arrays,
    _sig,
    fit_network,
    medians,
    predicted_median,
)
from analysis.exact import sign_flip_p
from analysis.law import _rows

FRESH = ("frontier_fresh", "capacity_fresh")
SEQUENCE = ["gen_seed", "length"]  # a fresh sequence: one draw per generator seed and length
SAME = 1e-3  # nats: a sequence whose two log-likelihoods differ by less favours neither


def run_loglik(fit: dict, form: str, runs: pd.DataFrame) -> np.ndarray:
    """Each run's log P(its censored outcome) under the fitted `form`: beyond the
    divergence's Lc a run never memorizes (log P 0 if it did not, -inf if it did)."""
    log_len, length, log_lo, log_hi = _arrays(runs)
    p = fit[f"{form}_params"]
    eta = p[0] + p[1] * log_len
    beyond = np.zeros(len(runs), dtype=bool)
    if form == "divergence":
        lc = fit["longest_memorized"] * (1 + math.exp(p[3]))
        beyond = length >= lc
        eta = eta - math.exp(p[4]) * np.log1p(-np.minimum(length / lc, 1 - 1e-12))
    out = np.zeros(len(runs))
    out[beyond] = np.where(np.isfinite(log_hi[beyond]), -np.inf, 0.0)
    if (~beyond).any():
        out[~beyond] = _rows(eta[~beyond], log_lo[~beyond], log_hi[~beyond],
                             math.exp(p[2]), "lognormal")[0]
    return out


def median_factor(fit: dict, form: str, measured: pd.DataFrame) -> float:
    """The median over lengths of max(predicted / measured, measured / predicted) median
    steps, at lengths whose measured median is finite (nan where none is)."""
    known = measured[np.isfinite(measured["median_steps"])]
    if known.empty:
        return math.nan
    predicted = predicted_median(fit, form, known["length"].to_numpy(dtype=float))
    ratio = predicted / known["median_steps"].to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        return float(np.median(np.exp(np.abs(np.log(ratio)))))


def fresh_check(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network with fresh runs and a fit without them: the form the fit without them
    chooses, each form's held-out log-likelihood per fresh run, the difference (divergence
    - power) summed over the fresh sequences, how many of them favour each form, the exact
    two-sided sign-flip p over sequences, and each form's median factor. Written to
    FIT_DIGITS significant digits, as the fits are (their last digits differ between CPUs)."""
    fresh = runs["spec"].isin(FRESH)
    rows = []
    for key, g in runs.groupby(NETWORK, sort=True):
        train, test = g[~fresh[g.index]], g[fresh[g.index]]
        if test.empty or train.loc[train["event"], "length"].nunique() < 3 \
                or train["event"].all():
            continue
        fit = fit_network(train)
        ll = {form: run_loglik(fit, form, test) for form in ("power", "divergence")}
        per_seq = (test.assign(power=ll["power"], divergence=ll["divergence"])
                   .groupby(SEQUENCE)[["power", "divergence"]].sum())
        diff = (per_seq["divergence"] - per_seq["power"]).to_numpy()
        finite = np.isfinite(diff)
        measured = medians(test)
        known = int(np.isfinite(measured["median_steps"]).sum())
        rows.append({**dict(zip(NETWORK, key, strict=True)),
                     "fit_runs": len(train), "fresh_runs": len(test),
                     "fresh_sequences": len(per_seq),
                     "fresh_lengths": sorted(int(x) for x in test["length"].unique()),
                     "chosen_without_fresh": fit["chosen"],
                     "delta_aic_without_fresh": _sig(fit["delta_aic"]),
                     "power_loglik_per_run": _sig(float(ll["power"].mean())),
                     "divergence_loglik_per_run": _sig(float(ll["divergence"].mean())),
                     "loglik_gain": _sig(float(diff.sum())),
                     "ruled_out": int((~finite).sum()),
                     "favour_divergence": int((diff > SAME).sum()),
                     "favour_power": int((diff < -SAME).sum()),
                     "sign_flip_p": _sig(sign_flip_p(diff)) if finite.all() else math.nan,
                     "median_lengths": known,
                     "power_factor": _sig(median_factor(fit, "power", measured)),
                     "divergence_factor": _sig(median_factor(fit, "divergence", measured))})
    return pd.DataFrame(rows)
