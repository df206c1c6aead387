"""Read stored result tables into the one shape the analysis uses.

`load_results` is the only place that knows how a table is stored: it goes through
`seqmem.store.load_results` (SQLite store or exported CSV) and then makes plain
numpy dtypes. `outcomes` adds the censored outcome of every run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

# Every config column except the seed: runs that agree on these share a cell.
CELL_COLUMNS = ["sequence", "units", "lr", "reset", "bptt", "loss", "feedback", "eval_every",
                "max_epochs", "engine", "alphabet"]
NOTEBOOK_OPTIONS = dict(reset="epoch", bptt="epoch", loss="softmax", feedback="probs")
_REQUIRED = ["sequence", "units", "seed", "reset", "bptt", "loss", "feedback", "eval_every",
             "max_epochs", "length", "context_depth", "status", "memorized",
             "epochs_to_memorize", "epochs_trained"]


def load_results(path: str | Path) -> pd.DataFrame:
    """One row per run, error rows included, with float/int/bool/str columns.

    Uses `seqmem.store.load_results` when seqmem has it, else reads the CSV directly
    (epoch_loss parsed from its JSON list).
    """
    path = Path(path)
    try:
        from seqmem.store import load_results as _store_load
    except ImportError:  # before seqmem.store existed
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        df = _store_load(path)
    return normalize(df)


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Plain dtypes: numbers as float64 (NaN for missing), bptt and labels as str."""
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"results table lacks columns {missing}")
    df = df.copy()
    for col in ["units", "seed", "eval_every", "max_epochs", "length", "distinct",
                "repeat_count", "context_depth", "ambiguous_transitions", "context_bits",
                "epochs_to_memorize", "epochs_trained", "steps", "final_prefix",
                "longest_substring", "wall_time_s", "population", "lr"]:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ["sequence", "reset", "bptt", "loss", "feedback", "status", "engine", "label"]:
        if col in df.columns:
            df[col] = df[col].map(lambda v: "" if _isnull(v) else str(v))
    df["memorized"] = df["memorized"].map(_bool)
    if "epoch_loss" in df.columns:
        df["epoch_loss"] = df["epoch_loss"].map(_loss_list)
    else:
        df["epoch_loss"] = [[] for _ in range(len(df))]
    if "lr" not in df.columns:
        df["lr"] = 1e-3
    for col in ("engine", "alphabet"):
        if col not in df.columns:
            df[col] = ""
    return df


def split_errors(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs with an outcome, error runs)."""
    err = df["status"] == "error"
    return df[~err].reset_index(drop=True), df[err].reset_index(drop=True)


def outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Add the censored outcome of each run (errors must already be removed).

    observed: the evaluation epoch of first success, or the last epoch trained if censored
        (what Kaplan-Meier uses: success is only defined at evaluation epochs).
    event: memorized within the budget.
    lower, upper: interval of the latent epochs-to-memorize T used by the AFT fit:
        (e - eval_every, e] for a success at e > 0; (0, 1] for e = 0; (trained, inf) if censored.
    """
    if (df["status"] == "error").any():
        raise ValueError("remove error rows first (split_errors)")
    df = df.copy()
    event = df["memorized"].to_numpy(dtype=bool)
    e = df["epochs_to_memorize"].to_numpy(dtype=float)
    if np.isnan(e[event]).any():
        raise ValueError("a memorized run has no epochs_to_memorize")
    trained = df["epochs_trained"].to_numpy(dtype=float)
    step = df["eval_every"].to_numpy(dtype=float)
    df["event"] = event
    df["observed"] = np.where(event, e, trained)
    df["lower"] = np.where(event, np.maximum(e - step, 0.0), trained)
    df["upper"] = np.where(event, np.where(e > 0, e, 1.0), np.inf)
    return df


def is_notebook(df: pd.DataFrame) -> pd.Series:
    """Rows trained with every option as the notebook sets it (any units, lr 1e-3)."""
    mask = pd.Series(True, index=df.index)
    for col, value in NOTEBOOK_OPTIONS.items():
        mask &= df[col] == value
    return mask & np.isclose(df["lr"], 1e-3)


def cell_ids(df: pd.DataFrame) -> np.ndarray:
    """An integer id per cell (runs that differ only in seed share it)."""
    cols = [c for c in CELL_COLUMNS if c in df.columns]
    return df.groupby(cols, sort=True, dropna=False).ngroup().to_numpy()


def load_optional(path: str | Path | None) -> pd.DataFrame | None:
    """A results-shaped table if the file exists, else None (the caller notes the gap)."""
    if path is None or not Path(path).exists():
        return None
    return load_results(path)


def load_steptime(path: str | Path | None) -> pd.DataFrame | None:
    """The per-step benchmark table (impl, P, H, bptt, per_model_step_us), or None."""
    if path is None or not Path(path).exists():
        return None
    return normalize_steptime(pd.read_csv(path))


def normalize_steptime(df: pd.DataFrame) -> pd.DataFrame:
    need = {"impl", "P", "H", "per_model_step_us"}
    if not need <= set(df.columns):
        raise ValueError(f"step-time table lacks columns {sorted(need - set(df.columns))}")
    df = df.copy()
    if "bptt" not in df.columns:
        df["bptt"] = "epoch"
    df["bptt"] = df["bptt"].astype(str)
    return df


def _isnull(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _bool(v: object) -> bool:
    if _isnull(v):
        return False
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1")
    return bool(v)


def _loss_list(v: object) -> list[float]:
    if _isnull(v):
        return []
    if isinstance(v, str):
        return [float(x) for x in json.loads(v)] if v.strip() else []
    return [float(x) for x in v]
