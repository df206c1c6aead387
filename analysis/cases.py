"""The notebook's seven cases measured against its claims: the one summary of them.

`case_summary` is used by `python -m bench.cases`, by `analysis/REPORT.md` and by the
README's table (tests/test_readme.py checks it), so every place that says how a case
did says the same thing by the same rule.

Per case: the runs of its config (seqmem.cases), the memorized share within the budget,
the Kaplan-Meier median of epochs-to-memorize with its 95% CI (censored runs count as
"more than the budget"), and a verdict:

* a claim of a range of epochs (lo-hi) **holds** when the median lies in it; it is
  **not excluded** when the median lies outside but its CI overlaps the range; otherwise
  it is **faster** or **slower** than claimed (median and CI beyond the range);
* a claim that the case never converges **holds** when no run memorizes; otherwise it
  fails with the count of runs that did.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.load import outcomes, split_errors
from analysis.predict import predict
from analysis.survival import CI_LEVEL, kaplan_meier
from seqmem.cases import NOTEBOOK_CASES, Case
from seqmem.schema import config_of

CASES = list(NOTEBOOK_CASES.values())
HOLDS, NOT_EXCLUDED, FASTER, SLOWER = "holds", "not excluded", "faster", "slower"


def case_rows(table: pd.DataFrame, case: Case, engine: str = "population") -> pd.DataFrame:
    """Rows of `table` that are runs of `case` with `engine` (any seed)."""
    cell = case.config(engine=engine).without_seed
    if table.empty:
        return table
    mask = [config_of(r).without_seed == cell for r in table.to_dict(orient="records")]
    return table[mask]


def verdict(case: Case, memorized: int, runs: int, median: float, lo: float, hi: float) -> str:
    """The verdict on a case's claim (see the module docstring)."""
    if case.claim is None:
        return HOLDS if memorized == 0 else f"no: {memorized} of {runs} memorize"
    a, b = case.claim
    if a <= median <= b:
        return HOLDS
    if lo <= b and hi >= a:
        return NOT_EXCLUDED
    return FASTER if hi < a else SLOWER


def case_summary(table: pd.DataFrame, engine: str = "population") -> pd.DataFrame:
    """One row per notebook case with runs in `table` (a results table, typed).

    Columns: case, sequence, reset, units, runs, memorized, budget, median, median_lo,
    median_hi, claim, verdict. Error rows are counted apart (`errors`) and excluded.
    """
    rows = []
    for case in CASES:
        g = case_rows(table, case, engine)
        if g.empty:
            continue
        ok, err = split_errors(g)
        if ok.empty:
            continue
        o = outcomes(ok)
        km = kaplan_meier(o["observed"], o["event"], budget=float(o["max_epochs"].min()))
        rows.append(dict(
            case=case.number, sequence=case.preset, reset=case.reset, units=case.units,
            runs=km.n, memorized=km.events, errors=len(err), budget=km.budget,
            median=km.median, median_lo=km.median_lo, median_hi=km.median_hi,
            claim=case.claim_text,
            verdict=verdict(case, km.events, km.n, km.median, km.median_lo, km.median_hi)))
    return pd.DataFrame(rows)


def predictions(fit: dict) -> pd.DataFrame:
    """What the saved law (fit.json's, read by analysis.predict) says of each case: median
    epochs and P(memorized within the budget), `extrapolated`; `structural` where a reset
    per letter can never memorize it; `outside` where the law does not cover its options."""
    rows = []
    for case in CASES:
        try:
            p = predict(case.preset, case.units, reset=case.reset, fit=fit)
        except ValueError:
            rows.append(dict(case=case.number, outside=True, structural=False,
                             median_epochs=math.nan, p_within_budget=math.nan,
                             extrapolated=False))
            continue
        rows.append(dict(case=case.number, outside=False, structural=bool(p["structural"]),
                         median_epochs=p["median_epochs"], p_within_budget=p["p_within_budget"],
                         extrapolated=bool(p["extrapolated"])))
    return pd.DataFrame(rows)


def median_loss_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Per case: the median training loss over seeds at each evaluation interval (epoch =
    the interval's end), where at least half the seeds with a curve are still training."""
    parts = []
    for case in CASES:
        g = case_rows(runs, case)
        every = int(g["eval_every"].iloc[0]) if len(g) else 1
        curves = [np.asarray(v) for v in g["loss_curve"] if v is not None and len(v) > 0]
        if not curves:
            continue
        n = max(map(len, curves))
        mat = np.full((len(curves), n), np.nan)
        for i, v in enumerate(curves):
            mat[i, :len(v)] = v
        enough = np.sum(~np.isnan(mat), axis=0) >= max(len(curves) // 2, 1)
        parts.append(pd.DataFrame({"case": case.number,
                                   "epoch": every * np.arange(1, n + 1)[enough],
                                   "loss": np.nanmedian(mat[:, enough], axis=0)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["case", "epoch", "loss"])


def _epochs(x: float) -> str:
    return "not reached" if math.isinf(x) else f"{x:.0f}"


def cases_markdown(summary: pd.DataFrame) -> str:
    """The summary as the Markdown table the README, the report and bench.cases print."""
    level = f"{100 * CI_LEVEL:.0f}%"
    cols = ["case", "sequence", "reset", "units", "memorized", f"median epochs [{level} CI]",
            "notebook says", "verdict"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in summary.itertuples():
        med = (f"{_epochs(r.median)} [{_epochs(r.median_lo)}, {_epochs(r.median_hi)}]"
               if math.isfinite(r.median) else f"not reached in {r.budget:g}")
        lines.append(f"| {r.case} | {r.sequence} | {r.reset} | {r.units} | "
                     f"{r.memorized}/{r.runs} | {med} | {r.claim} | {r.verdict} |")
    return "\n".join(lines)
