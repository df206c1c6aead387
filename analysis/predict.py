"""Predict steps- and epochs-to-memorize of any sequence from the saved law (analysis/fit.json)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.law import AFTFit
from seqmem.config import RunConfig
from seqmem.difficulty import context_depth, metrics

DEFAULT_FIT = Path(__file__).parent / "fit.json"


def load_fit(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path) if path is not None else DEFAULT_FIT
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `python -m analysis` first")
    return json.loads(path.read_text())


def predict(sequence: str, units: int, *, lr: float = 1e-3, loss: str = "softmax",
            budget: int | None = None, fit: str | Path | dict[str, Any] | None = None,
            **options: Any) -> dict[str, Any]:
    """The law's median steps and epochs to memorize, and P(memorized within `budget`).

    sequence: letters or a preset name; units, lr, loss: as in RunConfig; budget: epochs
    (default: the config's max_epochs, 1000). Other RunConfig options must be the ones the
    law was fitted with (reset per epoch, full-epoch BPTT, probability feedback): another
    value raises ValueError, except a reset before every letter on a sequence of depth
    > 1, which can never memorize (median inf, probability 0, `structural` says why).
    Covariates outside the fitted ranges give a warning and `extrapolated: True`.

    >>> r = predict("random30", 64, lr=3e-3, loss="logits")       # doctest: +SKIP
    >>> sorted(r)                                                  # doctest: +SKIP
    ['budget', 'extrapolated', 'median_epochs', 'median_steps', 'p_within_budget', 'structural']
    """
    doc = fit if isinstance(fit, dict) else load_fit(fit)
    config = RunConfig(sequence=sequence, units=units, lr=lr, loss=loss, **options)
    budget = config.max_epochs if budget is None else budget
    if budget < 0:
        raise ValueError(f"budget must be >= 0 epochs, got {budget!r}")
    n = len(config.sequence)
    out: dict[str, Any] = dict(budget=budget, structural=None)
    if config.reset == "char" and context_depth(config.sequence, config.alphabet) > 1:
        out.update(structural="reset every character: the output depends on the current "
                              "letter only, and this sequence has a letter with two successors",
                   median_steps=math.inf, median_epochs=math.inf, p_within_budget=0.0,
                   extrapolated=False)
        return out
    for key, value in doc["training"].items():
        if str(getattr(config, key)) != str(value):
            raise ValueError(f"the law covers {key}={value!r} only, got {key}="
                             f"{getattr(config, key)!r}")
    row = {**metrics(config.sequence, config.alphabet), "units": config.units, "lr": config.lr,
           "loss": config.loss}
    law = AFTFit.from_dict(doc)
    frame = pd.DataFrame([row])
    extrapolated = False
    for col, (lo, hi) in doc["valid_ranges"].items():
        if not lo <= row[col] <= hi:
            extrapolated = True
            warnings.warn(f"{col}={row[col]} is outside the fitted range [{lo:g}, {hi:g}]: "
                          "extrapolating", stacklevel=2)
    steps = float(law.median(frame)[0])
    p = float(law.prob_within(frame, budget * n)[0]) if budget > 0 else 0.0
    out.update(median_steps=steps, median_epochs=steps / n, p_within_budget=p,
               extrapolated=extrapolated)
    return out
