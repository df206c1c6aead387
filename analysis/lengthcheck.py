"""The one law across length, fitted and checked (issue 18, item 4).

The law (analysis.lengthlaw) is fitted on the frontier protocol's runs and checked, through
`analysis.predict` as a user calls it, on every table it never saw (`CHECK_TABLES`): the
frontier's and capacity's reruns on fresh sequences, made before its freeze, and
`length_check`, made after it. Each check is scored as the notebook law's are
(analysis.validate.check_predict): median factor and Brier score, against the design
baseline and against the law without its structure terms, with CIs over sequences, and
split by length. Only the rows under the law's protocol are checked (capacity_fresh's
offline runs are not the law's business); `analysis.preregistration` says which checks are
out of sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.lawfit import LawFit
from analysis.lengthlaw import (
    CHECK_TABLES,
    fit_length_law,
    length_data,
    length_document,
    protocol_rows,
    without_structure,
)
from analysis.load import Tables, records
from analysis.preregistered import by_length
from analysis.preregistration import Provenance, provenance
from analysis.survival import kaplan_meier
from analysis.validate import Rivals, Validation, check_predict

CURVE_LR = 1e-3  # the frontier's lr: the fitted curves are drawn at it


@dataclass
class LengthLaw:
    data: pd.DataFrame  # the fitted rows
    law: LawFit
    document: dict[str, Any]  # what predict reads from fit.json["length_law"]
    checks: dict[str, Validation]  # per check table present
    by_length: dict[str, pd.DataFrame]  # per check table: the law's factor per length
    provenance: Provenance
    curves: pd.DataFrame  # random strings at CURVE_LR: measured and law medians per width, length

    @property
    def lengths(self) -> pd.DataFrame:
        """Sequences and runs per length in the fit, structured (length_law) or random."""
        d = self.data.assign(kind=np.where(self.data["generator"] == "uniform", "random",
                                           "structured"))
        out = d.groupby(["length", "kind"]).agg(sequences=("sequence", "nunique"),
                                               runs=("run_id", "size"))
        return out.reset_index()

    @property
    def spans(self) -> pd.DataFrame:
        """Per kind of string (random, structured): the shortest and longest length and the
        number of sequences."""
        return self.lengths.groupby("kind").agg(shortest=("length", "min"),
                                                longest=("length", "max"),
                                                sequences=("sequences", "sum")).reset_index()

    @property
    def censored_share(self) -> float:
        """The share of the fitted runs not memorized within their budget."""
        return float(1 - self.data["event"].mean())

    @property
    def longest_checked(self) -> int | None:
        """The longest length at which a check cell has a measured median (memorized by
        half its runs within the budget): how far the checks reach toward the frontier."""
        lengths = [int(v.cells.loc[np.isfinite(v.cells["median"]), "length"].max())
                   for v in self.checks.values() if np.isfinite(v.cells["median"]).any()]
        return max(lengths) if lengths else None

    @property
    def extrapolated_share(self) -> dict[str, float]:
        """Per check: the share of its cells that predict flagged as extrapolated."""
        return {name: float(v.cells["extrapolated"].mean()) if len(v.cells) else float("nan")
                for name, v in self.checks.items()}


def analyse_length_law(t: Tables, rounded) -> LengthLaw | None:
    """None when no fitting table is there. `rounded`: how fit.json rounds (predict reads
    the rounded document, so the checks use it too)."""
    try:
        data = length_data(t)
    except ValueError:
        return None
    law = fit_length_law(data)
    doc = rounded(length_document(law))
    rivals = Rivals(no_difficulty=without_structure(law.fit, data), cure=None)
    checks, lengths, tables = {}, {}, {}
    for name in CHECK_TABLES:
        table = getattr(t, name)
        if table is None:
            continue
        rows = protocol_rows(table)
        if rows.empty:
            continue
        tables[name] = rows
        checks[name] = check_predict(doc, rows, data, rivals)
        lengths[name] = by_length(checks[name].cells)
    prov = provenance(tables, data, law_name="length")
    return LengthLaw(data=data, law=law, document=doc, checks=checks, by_length=lengths,
                     provenance=prov, curves=fitted_curves(law, data))


def fitted_curves(law: LawFit, data: pd.DataFrame) -> pd.DataFrame:
    """Per width and length, the fitted random strings at CURVE_LR: the Kaplan-Meier median
    steps (inf: not reached within the budget) and the law's median (the geometric mean over
    the cell's runs, whose sequences differ)."""
    d = data[(data["generator"] == "uniform") & np.isclose(data["lr"], CURVE_LR)]
    if d.empty:
        return pd.DataFrame(columns=["units", "length", "runs", "median", "law", "budget"])
    law_median = pd.Series(law.fit.median(d), index=d.index)
    rows = []
    for (units, length), g in d.groupby(["units", "length"], sort=True):
        budget = float(g["budget_in_steps"].min())
        km = kaplan_meier(g["observed_steps"], g["event"], budget)
        rows.append(dict(units=int(units), length=int(length), runs=len(g), median=km.median,
                         law=float(np.exp(np.log(law_median[g.index]).mean())), budget=budget))
    return pd.DataFrame(rows)


def length_law_document(ll: LengthLaw) -> dict[str, Any]:
    """fit.json["length_law"]: the law as predict reads it, and its checks."""
    doc = dict(ll.document)
    doc["lengths"] = records(ll.lengths, ["length", "kind", "sequences", "runs"])
    doc["longest_checked"] = ll.longest_checked
    doc["checks"] = {}
    for name, v in ll.checks.items():
        scores = v.skill.scores if v.skill is not None else pd.DataFrame()
        gain = v.skill.gain if v.skill is not None else pd.DataFrame()
        keep = scores[scores["forecast"] != "cure"] if len(scores) else scores
        doc["checks"][name] = dict(
            cells=v.cells_compared, cells_total=len(v.cells), runs=v.runs,
            sequences=v.sequences, overlap=v.overlap, median_factor=v.median_factor,
            factor_p90=v.factor_p90, wrong_side=v.wrong_side, brier=v.brier,
            brier_design=v.brier_design, brier_vs_design=v.brier_vs_design,
            extrapolated=float(v.cells["extrapolated"].mean()) if len(v.cells) else None,
            scores=records(keep, list(keep.columns)),
            structure_gain=records(gain[gain["gain"] == "difficulty terms"],
                                   list(gain.columns)) if len(gain) else [],
            verdicts=records(v.skill.verdicts, list(v.skill.verdicts.columns))
            if v.skill is not None else [],
            by_length=records(ll.by_length[name], list(ll.by_length[name].columns)))
    doc["preregistration"] = dict(
        freeze=ll.provenance.freeze, declarations_match=ll.provenance.declarations_match,
        fitting_rows_match=ll.provenance.fitting_rows_match,
        tables=records(ll.provenance.tables, list(ll.provenance.tables.columns)))
    return doc
