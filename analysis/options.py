"""The notebook's own choices, one at a time and per context depth (the study spec).

Each option slice of the v1 study (loss on the logits, one-hot feedback at evaluation,
both, a BPTT window of 1, 2, 4 or 8 steps) was run on some (sequence, units) cells that
the notebook-options slice also ran. For each variant and each depth, on those cells
only: both arms' memorized share and Kaplan-Meier median epochs, and the time ratio of
the variant from a censored log-normal AFT with one intercept per cell (so the ratio is
within cells). The design has one sequence per depth, so these CIs are seed-level
(Wald); a window is also reported against the depth (shorter than it, or not).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.law import fit_aft
from analysis.lawfit import CI_Z
from analysis.load import NOTEBOOK_OPTIONS, outcomes, split_errors
from analysis.survival import kaplan_meier

# The lowest loss Softmax-then-CrossEntropy allows over 26 letters: the loss of
# probabilities p is ln(sum exp p_i) - p_y, least at p one-hot on the right letter.
SOFTMAX_FLOOR = math.log(25 + math.e) - 1


def variant(row: pd.Series) -> str:
    """'notebook' for the notebook's options, else what differs ('loss=logits')."""
    diff = [f"{c}={row[c]}" for c, v in NOTEBOOK_OPTIONS.items() if str(row[c]) != v]
    if not math.isclose(float(row["lr"]), 1e-3):
        diff.append(f"lr={float(row['lr']):g}")
    return ", ".join(diff) or "notebook"


def options_by_depth(study: pd.DataFrame) -> pd.DataFrame:
    ok, _ = split_errors(study)
    runs = outcomes(ok)
    runs = runs.assign(variant=runs.apply(variant, axis=1),
                       cell=list(zip(runs["sequence"], runs["units"], strict=True)))
    nb = runs[runs["variant"] == "notebook"]
    rows = []
    for (v, depth), g in runs[runs["variant"] != "notebook"].groupby(["variant",
                                                                       "context_depth"]):
        cells = set(g["cell"])
        base = nb[nb["cell"].isin(cells)]
        if base.empty:
            continue
        both = pd.concat([base, g], ignore_index=True)
        codes = pd.factorize(both["cell"])[0]
        dummies = np.eye(codes.max() + 1)[codes]
        X = np.column_stack([dummies[:, :1] * 0 + 1, dummies[:, 1:],
                             (both["variant"] != "notebook").to_numpy(dtype=float)])
        fit = fit_aft(X, both["lower"].to_numpy(), both["upper"].to_numpy(), "lognormal",
                      [f"cell{i}" for i in range(1, codes.max() + 1)] + ["variant"])
        est, se = fit.beta[-1], fit.stderr()["variant"]
        km_v = kaplan_meier(g["observed"], g["event"], float(g["max_epochs"].min()))
        km_n = kaplan_meier(base["observed"], base["event"], float(base["max_epochs"].min()))
        window = _window_vs_depth(v, depth)
        rows.append(dict(variant=v + window, depth=int(depth), cells=len(cells),
                         sequences=int(g["sequence"].nunique()), runs=km_v.n,
                         memorized=km_v.events, median=km_v.median, nb_runs=km_n.n,
                         nb_memorized=km_n.events, nb_median=km_n.median,
                         ratio=math.exp(est), lo=math.exp(est - CI_Z * se),
                         hi=math.exp(est + CI_Z * se)))
    return pd.DataFrame(rows)


def _window_vs_depth(v: str, depth: int) -> str:
    if not v.startswith("bptt="):
        return ""
    k = int(v.split(",")[0].split("=")[1])
    return " (< depth)" if k < depth else " (>= depth)"
