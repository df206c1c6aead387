"""Predict steps- and epochs-to-memorize of any sequence from the saved laws (analysis/fit.json).

Two laws, each for its protocol (`PROTOCOLS`):
* "notebook": the notebook's options (full-epoch BPTT, probability feedback, either loss),
  fitted on structured strings of 8-128 letters (analysis.lawfit);
* "frontier": the frontier's protocol (a 16-step window, one-hot feedback, the loss on the
  logits), fitted from 8 letters to the frontier, 4096 (analysis.lengthlaw), budget 200k
  steps by default.
The options decide which law answers; options no law was fitted on raise ValueError.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.law import AFTFit, design
from seqmem.config import RunConfig
from seqmem.difficulty import context_depth, metrics

DEFAULT_FIT = Path(__file__).parent / "fit.json"
# Each protocol's options; a user's own options override them.
PROTOCOLS: dict[str, dict[str, Any]] = {
    "notebook": dict(loss="softmax"),
    "frontier": dict(loss="logits", feedback="onehot", bptt=16),
}
FRONTIER_BUDGET_STEPS = 200_000  # the frontier's budget: the default for its law


def load_fit(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path) if path is not None else DEFAULT_FIT
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `python -m analysis` first")
    return json.loads(path.read_text())


def predict(sequence: str, units: int, *, lr: float = 1e-3, loss: str | None = None,
            budget: int | None = None, fit: str | Path | dict[str, Any] | None = None,
            protocol: str = "notebook", **options: Any) -> dict[str, Any]:
    """The law's median steps and epochs to memorize, and P(memorized within `budget`).

    sequence: letters or a preset name; units, lr, loss: as in RunConfig (loss: the
    protocol's by default); protocol: "notebook" or "frontier" (`PROTOCOLS`), which sets
    the options its law was fitted on; budget: epochs (default: the config's max_epochs,
    1000, under the notebook's options; 200k steps under the frontier's). Every other
    RunConfig option must be what every run of the answering law had (the LSTM, 26 letters,
    a reset per epoch, online Adam at a constant lr, and the protocol's gradient and
    feedback): another value raises ValueError, except a reset before every letter on a
    sequence of depth > 1, which can never memorize (median inf, probability 0,
    `structural` says why). `law` names the law that answered.

    A point is extrapolated (a warning, `extrapolated: True`, `why` names the reasons) when
    a covariate lies outside the fitted range, or when no fitted run of the same loss lies
    within a doubling of its length and of its units and half a decade of its lr.

    Besides the point predictions: `median_steps_ci`, the 95% interval of the median from
    the coefficients' cluster-robust covariance (delta method), and `steps_80`, where 80%
    of single runs end (the law's spread); `inputs` and `metrics` echo what was used.

    >>> r = predict("random30", 64, lr=3e-3, loss="logits")       # doctest: +SKIP
    >>> sorted(r)                                                  # doctest: +SKIP
    ['budget', 'extrapolated', 'inputs', 'law', 'median_epochs', 'median_steps',
     'median_steps_ci', 'metrics', 'p_within_budget', 'steps_80', 'structural', 'why']
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    doc = fit if isinstance(fit, dict) else load_fit(fit)
    given = {**PROTOCOLS[protocol], **({} if loss is None else {"loss": loss}), **options}
    config = RunConfig(sequence=sequence, units=units, lr=lr, **given)
    loss = config.loss
    n = len(config.sequence)
    if budget is None:
        budget = (max(1, FRONTIER_BUDGET_STEPS // n) if protocol == "frontier"
                  else config.max_epochs)
    if budget < 0:
        raise ValueError(f"budget must be >= 0 epochs, got {budget!r}")
    seq_metrics = metrics(config.sequence, config.alphabet)
    out: dict[str, Any] = dict(
        budget=budget, structural=None, law=None,
        inputs=dict(sequence=config.sequence, length=n, units=units, lr=lr, loss=loss,
                    protocol=protocol),
        metrics=seq_metrics)
    if config.reset == "char" and context_depth(config.sequence, config.alphabet) > 1:
        out.update(structural="reset every character: the output depends on the current "
                              "letter only, and this sequence has a letter with two successors",
                   median_steps=math.inf, median_epochs=math.inf, p_within_budget=0.0,
                   median_steps_ci=[math.inf, math.inf], steps_80=[math.inf, math.inf],
                   extrapolated=False, why=[])
        return out
    doc = _answering_law(doc, config)
    out["law"] = doc.get("model")
    row = {**seq_metrics, "units": config.units, "lr": config.lr, "loss": config.loss}
    law = AFTFit.from_dict(doc)
    frame = pd.DataFrame([row])
    why = []
    for col, (lo, hi) in doc["valid_ranges"].items():
        if not lo <= row[col] <= hi:
            why.append(f"{col}={row[col]} is outside the fitted range [{lo:g}, {hi:g}]")
    far = _far_from_the_fit(doc.get("design_points"), n, config.units, config.lr, config.loss)
    if far:
        why.append(far)
    for reason in why:
        warnings.warn(f"{reason}: extrapolating", stacklevel=2)
    steps = float(law.median(frame)[0])
    p = float(law.prob_within(frame, budget * n)[0]) if budget > 0 else 0.0
    out.update(median_steps=steps, median_epochs=steps / n, p_within_budget=p,
               median_steps_ci=_median_interval(doc, law, frame, steps),
               steps_80=_run_range(law, frame), extrapolated=bool(why), why=why)
    return out


def _refusal(doc: dict[str, Any], config: RunConfig) -> str | None:
    """Why `doc`'s law cannot answer for `config` (an option none of its runs had), or None."""
    for key, value in doc["training"].items():
        if str(getattr(config, key)) != str(value):
            return f"the law covers {key}={value!r} only, got {key}={getattr(config, key)!r}"
    for key, value in doc.get("design", {}).items():
        got = getattr(config, key)
        if (value is None and got is not None) or (value is not None and str(got) != value):
            return f"the law was fitted on {key}={value!r} only, got {key}={got!r}"
    return None


def _answering_law(doc: dict[str, Any], config: RunConfig) -> dict[str, Any]:
    """The saved law whose runs had `config`'s options: the notebook-option law (the
    document itself) or the one across length (its "length_law"); ValueError naming why
    each refuses when neither can answer."""
    laws = [doc, *([doc["length_law"]] if "length_law" in doc else [])]
    reasons = [_refusal(law, config) for law in laws]
    for law, reason in zip(laws, reasons, strict=True):
        if reason is None:
            return law
    if len(laws) == 1:
        raise ValueError(reasons[0])
    raise ValueError(f"{reasons[0]} (notebook options); {reasons[1]} (frontier protocol: "
                     "protocol='frontier')")


def _far_from_the_fit(points: list | None, length: int, units: int, lr: float,
                      loss: str) -> str | None:
    """A reason when no fitted (length, units, lr) of this loss is within a doubling of the
    length and of the units and half a decade of the lr; None when one is."""
    if not points:
        return None
    same = [p for p in points if p[3] == loss]
    near = [p for p in same if abs(math.log2(length / p[0])) <= 1
            and abs(math.log2(units / p[1])) <= 1 and abs(math.log10(lr / p[2])) <= 0.5]
    if near:
        return None
    closest = min(same, key=lambda p: abs(math.log2(length / p[0])) + abs(math.log2(units / p[1]))
                  + 2 * abs(math.log10(lr / p[2])))
    return (f"no fitted run near length {length}, {units} units, lr {lr:g} (the nearest: "
            f"length {closest[0]}, {closest[1]} units, lr {closest[2]:g})")


def _median_interval(doc: dict, law: AFTFit, frame: pd.DataFrame, median: float) -> list[float]:
    """95% interval of the median steps from the coefficients' covariance (delta method on
    the linear predictor); [nan, nan] for a fit saved without it."""
    cov = doc.get("covariance")
    if cov is None:
        return [math.nan, math.nan]
    x = design(frame, law.terms)[0]
    se = math.sqrt(max(float(x @ np.asarray(cov) @ x), 0.0))
    return [median * math.exp(-1.959964 * se), median * math.exp(1.959964 * se)]


def _run_range(law: AFTFit, frame: pd.DataFrame) -> list[float]:
    """Where the middle 80% of single runs end, in steps (the law's spread at this point)."""
    eta, sigma = float(law.eta(frame)[0]), float(law.sigma_rows(frame)[0])
    z = 1.281552  # the normal's 90% point
    if law.dist == "lognormal":
        return [math.exp(eta - z * sigma), math.exp(eta + z * sigma)]
    return [math.nan, math.nan]
