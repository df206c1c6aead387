"""The divergence's form on fresh sequences (SCIENCE.md: a law must predict what it has not
seen). analysis.divergence chooses between the power law and the divergence by in-sample AIC,
with seeds counted as independent. Here, per network that has fresh runs (FRESH: generator
seeds no other spec uses), both forms are fitted again without them and scored on them: each
fresh run's censored log-likelihood under each form, and its probability of memorizing within
the budget (Brier score). The cluster is the generator seed, not the sequence: a seed's
sequences at different lengths are prefixes of one another (frontier_fresh draws each seed
at every length), so a seed's lengths are one family. Per family the difference (divergence -
power) is summed over its lengths, a length whose two log-likelihoods differ by less than
SAME counting as none, and an exact sign-flip test runs over the families. Beside it, as for
the law's checks, the median factor between each form's predicted and the measured
(Kaplan-Meier) median steps, at the fresh lengths where half the runs memorized."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.divergence import (
    NETWORK,
    _arrays,
    _sig,
    fit_network,
    log_median,
    medians,
    predicted_median,
)
from analysis.exact import sign_flip_p
from analysis.law import _rows

NO_FIT = "no runs outside the fresh ones to fit"

FRESH = ("frontier_fresh", "capacity_fresh")
FAMILY = "gen_seed"  # one seed's sequences are prefixes of each other: a cluster
SAME = 1e-3  # nats: a sequence whose two log-likelihoods differ by less favours neither


def run_loglik(fit: dict, form: str, runs: pd.DataFrame) -> np.ndarray:
    """Each run's log P(its censored outcome) under the fitted `form`: beyond the
    divergence's Lc a run never memorizes (log P 0 if it did not, -inf if it did)."""
    _, length, log_lo, log_hi = _arrays(runs)
    eta, beyond = log_median(fit, form, length)
    out = np.zeros(len(runs))
    out[beyond] = np.where(np.isfinite(log_hi[beyond]), -np.inf, 0.0)
    if (~beyond).any():
        out[~beyond] = _rows(eta[~beyond], log_lo[~beyond], log_hi[~beyond],
                             math.exp(fit[f"{form}_params"][2]), "lognormal")[0]
    return out


def memorize_probability(fit: dict, form: str, runs: pd.DataFrame) -> np.ndarray:
    """Each run's probability under the fitted `form` of memorizing within its budget (0 at
    and beyond the divergence's Lc)."""
    eta, beyond = log_median(fit, form, runs["length"].to_numpy(float))
    sigma = math.exp(fit[f"{form}_params"][2])
    z = (np.log(runs["budget_in_steps"].to_numpy(float)) - eta) / sigma
    return np.where(beyond, 0.0, stats.norm.cdf(z))


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
    """Per network with fresh runs: the form a fit without them chooses, each form's held-out
    log-likelihood per fresh run, the difference (divergence - power) summed over the fresh
    families (lengths within SAME of each other counting none), how many families favour
    each form, the exact two-sided sign-flip p over families, each form's Brier score for
    memorizing within the budget (and the fresh runs' share memorized), and each form's
    median factor. A network whose every run is fresh gets a row saying so (NO_FIT).
    Written to FIT_DIGITS significant digits, as the fits are (their last digits differ
    between CPUs)."""
    fresh = runs["spec"].isin(FRESH)
    rows = []
    for key, g in runs.groupby(NETWORK, sort=True):
        train, test = g[~fresh[g.index]], g[fresh[g.index]]
        if test.empty:
            continue
        head = {**dict(zip(NETWORK, key, strict=True)), "fit_runs": len(train),
                "fresh_runs": len(test), "fresh_families": int(test[FAMILY].nunique()),
                "fresh_sequences": int(test.groupby([FAMILY, "length"]).ngroups),
                "fresh_lengths": sorted(int(x) for x in test["length"].unique())}
        if train.loc[train["event"], "length"].nunique() < 3 or train["event"].all():
            rows.append({**head, "chosen_without_fresh": NO_FIT})
            continue
        fit = fit_network(train)
        ll = {form: run_loglik(fit, form, test) for form in ("power", "divergence")}
        per_length = (test.assign(d=ll["divergence"] - ll["power"])
                      .groupby([FAMILY, "length"])["d"].sum())
        per_length[per_length.abs() < SAME] = 0.0  # the two forms agree there
        diff = per_length.groupby(level=FAMILY).sum().to_numpy()
        finite = np.isfinite(diff)
        measured = medians(test)
        memorized = test["event"].to_numpy(float)
        brier = {form: float(np.mean((memorize_probability(fit, form, test) - memorized) ** 2))
                 for form in ("power", "divergence")}
        rows.append({**head, "chosen_without_fresh": fit["chosen"],
                     "delta_aic_without_fresh": _sig(fit["delta_aic"]),
                     "power_loglik_per_run": _sig(float(ll["power"].mean())),
                     "divergence_loglik_per_run": _sig(float(ll["divergence"].mean())),
                     "loglik_gain": _sig(float(diff.sum())),
                     "family_gains": [_sig(float(x)) for x in diff],
                     "ruled_out": int((~np.isfinite(ll["divergence"])).sum()),
                     "favour_divergence": int((diff > SAME).sum()),
                     "favour_power": int((diff < -SAME).sum()),
                     "sign_flip_p": _sig(sign_flip_p(diff)) if finite.all() else math.nan,
                     "smallest_p": _sig(2 / 2 ** len(diff)),
                     "fresh_memorized": _sig(float(memorized.mean())),
                     "power_brier": _sig(brier["power"]),
                     "divergence_brier": _sig(brier["divergence"]),
                     "median_lengths": int(np.isfinite(measured["median_steps"]).sum()),
                     "power_factor": _sig(median_factor(fit, "power", measured)),
                     "divergence_factor": _sig(median_factor(fit, "divergence", measured))})
    return pd.DataFrame(rows)
