"""Depth and ambiguity, separated: the forks design (depth_ambiguity spec).

Context depth and ambiguity move together in seqmem.generate's sequences at a fixed
length and number of letters (deep ones spend their repeats on the depth), so no fit on
them can tell the two apart. seqmem.forks sets them independently: depth by one deep
fork, ambiguity by the number of shallow forks. Here:

* the correlation matrix of the metrics over each design's sequences (the forks design
  and the v1 study's generated sequences, for comparison);
* the memorized share and Kaplan-Meier median steps per (depth, forks) cell;
* the effect of each at a fixed value of the other: a censored log-normal AFT on the
  design's runs with ln depth and ln(1 + ambiguous transitions), each per loss, width as
  a covariate, CIs cluster-robust by sequence (`resolved`: the CI excludes no effect);
* which factor the failures come with, per loss and width (`attribution`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.law import cluster_cov, design, fit_aft
from analysis.lawfit import CI_Z
from analysis.load import outcomes, split_errors
from analysis.survival import kaplan_meier

METRICS = ["length", "distinct", "repeat_count", "context_depth", "ambiguous_transitions",
           "context_bits", "cond_entropy_1", "cond_entropy_2", "cond_entropy_3", "memory_bits"]
DESIGN_FACTORS = ("context_depth", "ambiguous_transitions")
ALIAS_RHO = 0.75  # the design's near-aliases of depth sit at 0.77-0.78
EFFECT_TERMS = ["lu", "logits", "log_depth", "log1p_ambiguous", "logits:log_depth",
                "logits:log1p_ambiguous"]


@dataclass
class Design:
    correlation: pd.DataFrame  # the forks design's sequences
    correlation_v1: pd.DataFrame | None  # the v1 study's generated sequences at depth > 1
    within_v1: pd.DataFrame | None  # per (length, distinct) group of v1: rho(depth, bits)
    cells: pd.DataFrame  # loss, units, depth, forks: runs, share, median steps
    effects: pd.DataFrame  # loss, metric: time ratio per doubling, CI (cluster)
    margins: pd.DataFrame  # loss, units, factor (depth | ambiguous), level: share with CI
    n_sequences: int
    lrs: list[float]  # the learning rates the design was run at
    attribution: pd.DataFrame | None = None  # per loss and width: what failures come with
    within_v1_range: tuple[float, float] | None = None  # the lowest and highest within_v1 rho
    effects_by_width: pd.DataFrame | None = None  # the same fitted at each width alone
    aliases: pd.DataFrame | None = None  # factor, alias, rho: metrics the design cannot tell apart


# A factor's failures dominate when its spread of memorized shares over its levels is more
# than this many times the other factor's.
DOMINANT = 2.0


def attribution(m: pd.DataFrame) -> pd.DataFrame:
    """Per loss and width: the memorized share at the shallowest and deepest depth, its range
    over the ambiguity levels, and which factor the failures come with ("depth",
    "ambiguity", or "alike" when neither spread is DOMINANT times the other)."""
    rows = []
    for (loss, units), g in m.groupby(["loss", "units"], sort=True):
        d = g[g["factor"] == "depth"].sort_values("level")
        amb = g[g["factor"] == "ambiguous"]
        if len(d) < 2 or amb.empty:
            continue
        d_spread = d["share"].max() - d["share"].min()
        a_spread = amb["share"].max() - amb["share"].min()
        which = ("depth" if d_spread > DOMINANT * a_spread else
                 "ambiguity" if a_spread > DOMINANT * d_spread else "alike")
        rows.append(dict(loss=loss, units=int(units), which=which,
                         shallow_depth=d["level"].iloc[0], shallow_share=d["share"].iloc[0],
                         deep_depth=d["level"].iloc[-1], deep_share=d["share"].iloc[-1],
                         ambiguity_low=amb["share"].min(), ambiguity_high=amb["share"].max()))
    return pd.DataFrame(rows)


def sequences(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop_duplicates("sequence")[["sequence", *METRICS]].reset_index(drop=True)


def correlation(table: pd.DataFrame) -> pd.DataFrame:
    seqs = sequences(table)[METRICS].astype(float)
    return seqs.loc[:, seqs.std() > 0].corr(method="spearman")


def within_groups(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho(depth, context bits) within each (length, distinct letters) group of
    sequences with at least 3 depths: the confound at a fixed length and alphabet."""
    seqs = sequences(table)
    rows = []
    for (n, m), g in seqs.groupby(["length", "distinct"]):
        if g["context_depth"].nunique() >= 3:
            rows.append(dict(length=int(n), distinct=int(m), sequences=len(g),
                             rho=float(g["context_depth"].corr(g["context_bits"],
                                                               method="spearman"))))
    return pd.DataFrame(rows)


def margins(runs: pd.DataFrame, boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The memorized share by depth (pooled over the forks) and by ambiguity (pooled over
    the depths), per loss and width: the tail of runs that never memorize, which a time
    ratio does not show. CIs resample the level's sequences."""
    rng = np.random.default_rng(seed)
    rows = []
    for (loss, units), g in runs.groupby(["loss", "units"]):
        for factor, col in (("depth", "context_depth"), ("ambiguous", "ambiguous_transitions")):
            for level, h in g.groupby(col):
                per = h.groupby("sequence")["event"].agg(["sum", "count"]).to_numpy()
                pick = rng.integers(0, len(per), size=(boot, len(per)))
                shares = per[:, 0][pick].sum(axis=1) / per[:, 1][pick].sum(axis=1)
                rows.append(dict(loss=loss, units=int(units), factor=factor, level=int(level),
                                 runs=int(per[:, 1].sum()), share=per[:, 0].sum() / per[:, 1].sum(),
                                 lo=float(np.quantile(shares, 0.025)),
                                 hi=float(np.quantile(shares, 0.975))))
    return pd.DataFrame(rows)


def effects(runs: pd.DataFrame) -> pd.DataFrame:
    """Per loss: the time ratio of doubling the depth at fixed ambiguity, and of doubling
    1 + ambiguous transitions at fixed depth, from one censored log-normal AFT on `runs`
    (EFFECT_TERMS; width as a covariate), CIs cluster-robust by sequence."""
    terms = [t for t in EFFECT_TERMS if np.ptp(design(runs, [t])[:, 1]) > 0]
    X = design(runs, terms)
    lo, hi = runs["lower_steps"].to_numpy(), runs["upper_steps"].to_numpy()
    fit = fit_aft(X, lo, hi, "lognormal", terms)
    cov = cluster_cov(fit, X, lo, hi, runs["sequence"].to_numpy())
    names = ["Intercept", *terms]
    rows = []
    for loss, on in (("softmax", 0.0), ("logits", 1.0)):
        if not (runs["loss"] == loss).any():
            continue
        for metric, term in (("context depth", "log_depth"),
                             ("1 + ambiguous transitions", "log1p_ambiguous")):
            w = np.zeros(len(names))
            w[names.index(term)] = 1.0
            if f"logits:{term}" in names:
                w[names.index(f"logits:{term}")] = on
            est = float(w @ fit.beta)
            se = float(np.sqrt(w @ cov[:-1, :-1] @ w))
            rows.append(dict(loss=loss, metric=metric, exponent=est, lo=est - CI_Z * se,
                             hi=est + CI_Z * se, doubling=2 ** est,
                             doubling_lo=2 ** (est - CI_Z * se),
                             doubling_hi=2 ** (est + CI_Z * se),
                             resolved=not est - CI_Z * se <= 0 <= est + CI_Z * se))
    return pd.DataFrame(rows)


def effects_by_width(runs: pd.DataFrame) -> pd.DataFrame:
    """`effects` at each width alone: a pooled effect can hide one that differs by width."""
    return pd.concat([effects(g).assign(units=int(u)) for u, g in runs.groupby("units")],
                     ignore_index=True)


def aliases(corr: pd.DataFrame, threshold: float = ALIAS_RHO) -> pd.DataFrame:
    """For each design factor, every other metric whose Spearman |rho| with it over the
    design's sequences is at least `threshold`: what an effect of the factor may also be."""
    rows = [dict(factor=f, alias=m, rho=float(corr.loc[f, m]))
            for f in DESIGN_FACTORS if f in corr.index for m in corr.columns
            if m != f and abs(corr.loc[f, m]) >= threshold]
    return pd.DataFrame(rows, columns=["factor", "alias", "rho"])


def depth_ambiguity(table: pd.DataFrame, study: pd.DataFrame | None = None) -> Design:
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    rows = []
    for (loss, units, d, f), g in runs.groupby(["loss", "units", "gen_depth", "gen_forks"]):
        km = kaplan_meier(g["observed_steps"], g["event"], float(g["budget_in_steps"].min()))
        rows.append(dict(loss=loss, units=int(units), depth=int(d), forks=int(f),
                         ambiguous=int(g["ambiguous_transitions"].iloc[0]), runs=km.n,
                         share=km.events / km.n, median_steps=km.median,
                         sequences=int(g["sequence"].nunique())))
    v1 = within = None
    if study is not None:
        gen = study[(study["generator"] == "generate") & (study["context_depth"] > 1)]
        if gen["sequence"].nunique() > 3:
            v1 = correlation(gen)
            within = within_groups(gen)
    corr = correlation(runs)
    return Design(correlation=corr, correlation_v1=v1, within_v1=within,
                  effects_by_width=effects_by_width(runs), aliases=aliases(corr),
                  cells=pd.DataFrame(rows), margins=(m := margins(runs)), attribution=attribution(m),
                  effects=effects(runs), n_sequences=int(runs["sequence"].nunique()),
                  lrs=sorted(float(x) for x in runs["lr"].unique()),
                  within_v1_range=None if within is None or within.empty
                  else (float(within["rho"].min()), float(within["rho"].max())))
