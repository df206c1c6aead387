"""One law across length (issue 18, item 4): steps to memorize from 8 letters to the frontier.

The notebook-option law (analysis.lawfit) was fitted on strings of 8-128 letters, mostly
16-24, under full-epoch BPTT, whose cost grows with the length squared: it cannot reach the
frontier. The frontier is measured under another protocol (`LENGTH_OPTIONS`: the loss on
the logits, one-hot feedback, a 16-step window), on random strings of 8-4096 letters. This
law is fitted on every LSTM run of that protocol: the frontier's tables and the RTRL
study's window-16 runs (`FIT_TABLES`), and the structured strings of `length_law` (8-256
letters, depth and repeats varied at a fixed length), so that length and the difficulty
metrics are not aliased, and the protocol is not confounded with length.

    ln T_steps = b0 + f(units, lr) + g(length, units, lr) + h(difficulty, units) + sigma W

As steps grow faster than any power of the length near what a width can hold
(analysis.divergence), the length block may bend (a square in ln length) and the bend may
move with width and lr. The candidates are declared here (`candidates`), chosen by the
notebook law's own rule (lowest cluster-robust TIC, clusters = sequences, then the spread's
terms), and frozen before the pre-registered check (spec length_check) was made:
analysis.preregistration holds the freeze.

The ablation the check scores beside the law is the law without its structure terms
(`STRUCTURE_TERMS`: depth, ambiguity, entropies): length, width and lr alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.law import AFTFit, cluster_cov, design
from analysis.lawfit import (
    TRAINABILITY,
    LawFit,
    _fit,
    _ranked,
    _scored,
    coefficient_table,
    design_points,
    fixed_options,
    law_document,
    scale_table,
    seed_sigma,
    spread_by_loss,
    usable,
    valid_ranges,
)
from analysis.load import Tables, outcomes, split_errors

# The frontier's protocol; every other option is what every fitted run shares (the LSTM,
# 26 output letters, online Adam at a constant lr), recorded by `fixed_options`.
LENGTH_OPTIONS = dict(reset="epoch", bptt="16", feedback="onehot", loss="logits")
FIT_TABLES = ("frontier", "frontier_lr", "frontier_more", "frontier_long", "frontier_probe",
              "capacity_lstar", "rtrl", "length_law")
# Never fitted: checks made before the freeze, and the pre-registered one.
CHECK_TABLES = ("frontier_fresh", "capacity_fresh", "length_check")

LENGTH = {
    "power law in length": ["log_length"],
    "length bends": ["log_length", "log_length2"],
    "length bends, by width": ["log_length", "log_length2", "log_length:lu"],
    "length bends, by width and lr": ["log_length", "log_length2", "log_length:lu",
                                      "log_length:lr"],
}
STRUCTURE = {
    "no structure terms": [],
    "depth + ambiguity": ["log_depth", "log1p_ambiguous"],
    "depth + ambiguity + next-letter entropy": ["log_depth", "log1p_ambiguous", "h1"],
    "depth + ambiguity + next-letter entropy, by width": [
        "log_depth", "log1p_ambiguous", "h1", "lu:log_depth", "lu:log1p_ambiguous", "lu:h1"],
}
STRUCTURE_TERMS = frozenset({"log_depth", "log1p_ambiguous", "h1", "h2", "h3", "log1p_bits",
                             "log1p_memory_bits"})
SCALE = {
    "one sigma": [],
    "sigma by width": ["lu"],
    "sigma by width and length": ["lu", "log_length"],
}
SELECTION_RULE = ("Fit every candidate of lengthlaw.candidates() (one TRAINABILITY, one "
                  "LENGTH and one STRUCTURE block) by censored maximum likelihood on the "
                  "FIT_TABLES rows with LENGTH_OPTIONS (LSTM, 26 output letters, online); "
                  "keep the lowest cluster-robust TIC (clusters: sequences); then choose the "
                  "spread's terms among SCALE the same way.")


def candidates() -> dict[str, list[str]]:
    """Every declared model: one block of each kind."""
    out = {}
    for t_name, t in TRAINABILITY.items():
        for l_name, length in LENGTH.items():
            for s_name, structure in STRUCTURE.items():
                out[f"{t_name}; {l_name}; {s_name}"] = [*t, *length, *structure]
    return out


def independent(data: pd.DataFrame, terms: list[str]) -> list[str]:
    """The terms that vary in `data` and are not a combination of the intercept and the
    terms before them (a single lr makes ln(units) x ln(lr) a multiple of ln(units))."""
    kept: list[str] = []
    cols = [np.ones(len(data))]
    for term, col in zip(usable(data, terms), design(data, usable(data, terms))[:, 1:].T,
                         strict=True):
        trial = np.column_stack([*cols, (col - col.mean()) / col.std()])
        if np.linalg.matrix_rank(trial, tol=1e-8 * len(data)) == trial.shape[1]:
            kept.append(term)
            cols.append(trial[:, -1])
    return kept


def protocol_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The LSTM's online runs under LENGTH_OPTIONS on the 26-letter alphabet, errors removed,
    with their censored outcomes."""
    df, _ = split_errors(df)
    mask = np.ones(len(df), dtype=bool)
    for col, value in LENGTH_OPTIONS.items():
        mask &= (df[col].astype(str) == value).to_numpy(dtype=bool)
    for col, value in dict(cell="lstm", update="step").items():
        if col in df.columns:
            mask &= (df[col].fillna(value).astype(str) == value).to_numpy(dtype=bool)
    mask &= (df["alphabet"].str.len() == 26).to_numpy(dtype=bool)
    return outcomes(df[mask].reset_index(drop=True))


def length_data(tables: Tables) -> pd.DataFrame:
    """The rows the law is fitted on: FIT_TABLES under the protocol, each run once."""
    parts = [getattr(tables, name) for name in FIT_TABLES if getattr(tables, name) is not None]
    if not parts:
        raise ValueError(f"none of the fitting tables is there: {FIT_TABLES}")
    return protocol_rows(pd.concat(parts, ignore_index=True).drop_duplicates("run_id"))


def fit_length_law(data: pd.DataFrame) -> LawFit:
    """Every candidate scored as the notebook law's are (lawfit._scored: TIC with clusters
    = sequences), the lowest kept, then its spread terms chosen the same way."""
    rows, terms_of = [], {}
    for name, terms in candidates().items():
        terms_of[name] = independent(data, terms)
        rows.append(dict(model=name, **_scored(data, terms_of[name], [])))
    comparison = _ranked(rows)
    name = str(comparison.loc[0, "model"])
    terms = terms_of[name]
    scale_rows = []
    for s_name, s_terms in SCALE.items():
        s_terms = independent(data, s_terms)
        scale_rows.append(dict(model=s_name, terms=s_terms, **_scored(data, terms, s_terms)))
    scales = _ranked(scale_rows)
    scale_terms = list(scales.loc[0, "terms"])
    fit = _fit(data, terms, scale_terms=scale_terms)
    S = design(data, scale_terms) if scale_terms else None
    cov = cluster_cov(fit, design(data, terms), data["lower_steps"].to_numpy(),
                      data["upper_steps"].to_numpy(), data["sequence"].to_numpy(), S)
    return LawFit(name=f"{name}; {scales.loc[0, 'model']}", fit=fit, cov_cluster=cov,
                  n_sequences=int(data["sequence"].nunique()), comparison=comparison,
                  scale_comparison=scales.drop(columns="terms"),
                  coefficients=coefficient_table(fit, cov), scale_coefficients=scale_table(fit, cov),
                  ranges=valid_ranges(data),
                  sigma_total=float(np.sqrt(np.mean(fit.sigma_rows(data) ** 2))),
                  sigma_seed=seed_sigma(data), spread=spread_by_loss(fit, data),
                  design=fixed_options(data), points=design_points(data))


def without_structure(law: AFTFit, data: pd.DataFrame) -> AFTFit:
    """The law refitted on its own rows without any term naming a structure metric (its
    length, width, lr and spread terms kept): what length, width and lr alone predict."""
    keep = [t for t in law.terms if not set(t.split(":")) & STRUCTURE_TERMS]
    return _fit(data, keep, scale_terms=list(law.scale_terms))


def length_document(law: LawFit) -> dict[str, Any]:
    """What analysis.predict needs (the notebook law's document, with this protocol)."""
    doc = law_document(law)
    doc.update(model="log-normal AFT of steps-to-memorize, one law across length",
               training=dict(LENGTH_OPTIONS))
    return doc


def declarations() -> dict[str, Any]:
    """What the freeze fixes about this law (analysis.preregistration hashes it)."""
    return dict(trainability=TRAINABILITY, length=LENGTH, structure=STRUCTURE, scale=SCALE,
                options=LENGTH_OPTIONS, fit_tables=list(FIT_TABLES),
                check_tables=list(CHECK_TABLES), structure_terms=sorted(STRUCTURE_TERMS),
                rule=SELECTION_RULE)
