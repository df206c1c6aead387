"""Predict epochs-to-memorize of any sequence from the saved fit (analysis/fit.json)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.law import TERMS, AFTFit, term_values
from seqmem.config import RunConfig
from seqmem.difficulty import metrics

DEFAULT_FIT = Path(__file__).parent / "fit.json"


def load_fit(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path) if path is not None else DEFAULT_FIT
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `python -m analysis` first")
    return json.loads(path.read_text())


def predict(sequence: str, units: int, *, budget: int | None = None,
            fit: str | Path | dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    """Predicted median epochs-to-memorize and P(memorized within `budget` epochs).

    sequence: letters or a preset name; units: LSTM hidden size; options: any RunConfig
    option (loss, feedback, bptt, reset, lr, max_epochs, ...), defaulting to the
    notebook's; budget: epochs, default the config's max_epochs. fit: a fit.json path or
    its parsed dict (default analysis/fit.json).

    An option value the fit never saw raises ValueError; covariates outside the fitted
    ranges give a warning and `extrapolated: True`. A BPTT window shorter than the
    context depth, or a per-character reset on a sequence of depth > 1, gets the
    measured outcome of such runs (none memorized) when the fit excluded them: median
    inf and probability 0 (reset per character cannot, by construction: the output
    depends on the current letter only).

    >>> r = predict("alphabet", 32)                                 # doctest: +SKIP
    >>> sorted(r)                                                   # doctest: +SKIP
    ['budget', 'covariates', 'extrapolated', 'median_epochs', 'p_within_budget', 'structural']
    """
    doc = fit if isinstance(fit, dict) else load_fit(fit)
    config = RunConfig(sequence=sequence, units=units, **options)
    budget = config.max_epochs if budget is None else budget
    if budget < 0:
        raise ValueError(f"budget must be >= 0 epochs, got {budget!r}")
    row = {**metrics(config.sequence, config.alphabet), "units": config.units, "lr": config.lr,
           "reset": config.reset, "bptt": str(config.bptt), "loss": config.loss,
           "feedback": config.feedback}
    frame = pd.DataFrame([row])
    law = AFTFit.from_dict(doc)
    out: dict[str, Any] = dict(budget=budget, structural=None)

    if config.reset == "char" and row["context_depth"] > 1:
        out["structural"] = ("reset every character: the output depends on the current letter "
                             "only, and this sequence has a letter with two successors")
    for ex in doc.get("excluded_option_levels", []):
        if term_values(frame, ex["term"])[0] > 0 and out["structural"] is None:
            out["structural"] = (f"{ex['formula']}: {ex['memorized']} of {ex['runs']} such runs "
                                 "memorized in the study; no time law fitted")
    if out["structural"] is not None:
        out.update(median_epochs=math.inf, p_within_budget=0.0, extrapolated=False,
                   covariates={t: float(term_values(frame, t)[0]) for t in law.terms})
        return out

    for name, term in TERMS.items():
        if term.kind == "option" and name != "log_lr" and name not in law.terms \
                and term_values(frame, name)[0] > 0:
            raise ValueError(f"the fit has no runs with {term.formula}: cannot predict {name}")
    seen_lr = doc.get("fitted_options", {}).get("lr", [])
    if "log_lr" not in law.terms and seen_lr and not any(math.isclose(config.lr, v)
                                                          for v in seen_lr):
        raise ValueError(f"the fit has no runs with lr={config.lr!r} (fitted: {seen_lr})")

    extrapolated = False
    for col, (lo, hi) in doc.get("valid_ranges", {}).items():
        if not lo <= row[col] <= hi:
            extrapolated = True
            warnings.warn(f"{col}={row[col]} is outside the fitted range [{lo:g}, {hi:g}]: "
                          "extrapolating", stacklevel=2)
    median = float(law.median(frame)[0])
    p = float(law.prob_within(frame, budget)[0]) if budget > 0 else 0.0
    out.update(median_epochs=median, p_within_budget=p, extrapolated=extrapolated,
               covariates={t: float(term_values(frame, t)[0]) for t in law.terms})
    return out
