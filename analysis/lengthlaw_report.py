"""The report's section on the one law across length (analysis.lengthcheck); it computes
nothing."""

from __future__ import annotations

import pandas as pd

from analysis.fmt import num, pct, table
from analysis.lengthcheck import LengthLaw
from analysis.lengthlaw import FIT_TABLES, LENGTH_OPTIONS
from analysis.report_checks import skill_lines

CHECKS = {
    "frontier_fresh": "the frontier's L* re-measured on fresh random sequences (8-32 units)",
    "capacity_fresh": "24 units, between the grid's widths, on fresh random sequences",
    "length_check": "the pre-registered check: structured 24-192 and random 96-1536 letters, "
                    "12/24/48 units, lr 1e-3 and 3e-3",
}
NAMES = dict(design="(a) the design", no_difficulty="(b) the law without its structure terms",
             law="(c) the law")
INTRO = ("- Against forecasts that know the design, with 95% CIs from a bootstrap over "
         "sequences: (a) the fitting runs' share and Kaplan-Meier median inside the check's lr "
         "and width ranges; (b) the law refitted without its structure terms (depth, "
         "ambiguity, entropy: length, width and lr kept); (c) the law.")


def length_law_section(ll: LengthLaw | None) -> str:
    if ll is None:
        return ("## One law across length\nNone of the frontier protocol's tables is in "
                "results/: no law across length.")
    law, doc = ll.law, ll.document
    top = law.comparison.head(5)
    lines = [
        "## One law across length: `predict(..., protocol=\"frontier\")`, fitted from 8 "
        f"letters to the frontier, checked to {ll.longest_checked or 'no'} letters",
        "The notebook-option law rests on strings of 8-128 letters and cannot reach the "
        "frontier: its full-epoch BPTT costs the length squared per epoch, and under the "
        "notebook's loss no run of 128 letters memorized within 1,000 epochs "
        "(`prereg_check`). The frontier is measured under another protocol (" + ", ".join(
            f"{k} {v}" for k, v in LENGTH_OPTIONS.items()) + ", LSTM, 26 output letters, "
        "200k steps). This law is fitted on every run of that protocol: the frontier's random "
        "strings and the structured strings of `length_law`, whose depth and repeats vary at "
        "a fixed length, so that length is not aliased with the difficulty metrics and the "
        "protocol is not confounded with length (`analysis/lengthlaw.py`).",
        f"- Fitted on {len(ll.data):,} runs of {law.n_sequences} sequences ("
        + ", ".join(FIT_TABLES) + "): " + "; ".join(
            f"{r.kind} strings of {r.shortest}-{r.longest} letters ({r.sequences} "
            "sequences)" for r in ll.spans.itertuples())
        + f". {pct(ll.censored_share)} of the runs were not memorized within "
        "their budget (right-censored).",
        f"- Chosen by the notebook law's rule (lowest cluster-robust TIC, then the spread): "
        f"**{law.name}**. The five best candidates:", "",
        table(pd.DataFrame([{"model": r.model, "k": r.k, "ΔTIC": num(r.delta_tic, 4),
                             "ΔAIC": num(r.delta_aic, 4)} for r in top.itertuples()])), "",
        "- " + doc["formula"] + ".",
        "- Coefficients, 95% CIs with sequences as clusters:", "",
        table(pd.DataFrame([{"term": r.formula, "estimate": num(r.estimate, 3),
                             "CI": f"[{num(r.lo, 3)}, {num(r.hi, 3)}]"}
                            for r in law.coefficients.itertuples()])), "",
    ]
    lines += _provenance(ll)
    for name, v in ll.checks.items():
        lines += [
            f"### {name}: {CHECKS.get(name, name)}",
            f"{v.sequences} sequences, {v.runs:,} runs"
            + (f" ({len(v.refused)} cells refused by predict)" if v.refused is not None
               and len(v.refused) else "") + f". Median prediction factor over the "
            f"{v.cells_compared} of {len(v.cells)} cells with a measured median within the "
            f"budget: **{num(v.median_factor, 3)}** (90th percentile {num(v.factor_p90, 3)}); "
            f"{v.wrong_side} cells on the wrong side of the budget; Brier "
            f"{v.brier:.3f} against the design baseline's {v.brier_design:.3f}; "
            f"{pct(ll.extrapolated_share[name])} of the cells flagged as extrapolated.", "",
            table(pd.DataFrame([{"length": r.length, "cells": r.cells,
                                 "with a median": r.cells_compared,
                                 "median factor": num(r.median_factor, 3),
                                 "flagged": pct(r.extrapolated)}
                                for r in ll.by_length[name].itertuples()])), "",
            "Where the misses are, per width and lr: the geometric mean of predicted over "
            "measured medians (above 1: the law too slow), and the mean predicted "
            "P(memorized) against the share memorized:", "",
            table(pd.DataFrame([{"units": r.units, "lr": f"{r.lr:g}", "cells": r.cells,
                                 "predicted / measured": num(r.median_ratio, 3),
                                 "P predicted": num(r.p_pred, 2), "share": num(r.share, 2)}
                                for r in v.by_setting.itertuples()])), "",
            *skill_lines(v.skill, ("design", "no_difficulty", "law"), NAMES, INTRO), ""]
    return "\n".join(lines)


def _provenance(ll: LengthLaw) -> list[str]:
    prov = ll.provenance
    if prov.freeze is None:
        return ["- No freeze is recorded for this law (`analysis/freeze_length.json`): no "
                "check is out of sample by provenance.", ""]
    status = ("holds: the candidates, the selection rule, its code and the fitting rows "
              "hash as frozen" if prov.frozen else "**broken**: the law changed since")
    return [f"- Frozen at commit `{str(prov.freeze.get('commit'))[:10]}` "
            "(`analysis/freeze_length.json`; `python -m analysis.preregistration check --law "
            "length`); the freeze " + status + ". Each check table by its rows' commits:", "",
            table(pd.DataFrame([{"table": r.table, "runs": r.rows,
                                 "made after the freeze, clean tree": r.after_freeze,
                                 "verdict": r.verdict} for r in prov.tables.itertuples()])), ""]

