"""Read stored result tables for the analysis.

A results table comes typed from `seqmem.store.load_results` (the results contract,
`seqmem.schema`): this module does not re-type it. `outcomes` adds the censored outcome
of every run, `split_errors` separates runs that raised.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from seqmem.schema import GROUPS
from seqmem.store import load_results

# Every config column except the seed: runs that agree on these share a cell.
GROUP_COLUMNS = [c for c in GROUPS["config"] if c != "seed"]
NOTEBOOK_OPTIONS = dict(reset="epoch", bptt="epoch", loss="softmax", feedback="probs")

__all__ = ["Tables", "join_runs", "load_results", "load_optional", "load_steptime", "load_tables",
           "outcomes", "split_errors"]


def numbers(series: pd.Series) -> np.ndarray:
    """A nullable numeric column as float64, NaN where null."""
    return series.to_numpy(dtype=float, na_value=np.nan)


def split_errors(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs with an outcome, error runs)."""
    err = (df["status"] == "error").to_numpy(dtype=bool)
    return df[~err].reset_index(drop=True), df[err].reset_index(drop=True)


def outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Add the censored outcome of each run (errors must already be removed).

    observed: the evaluation epoch of first success, or the last epoch trained if censored
        (what Kaplan-Meier uses: success is only defined at evaluation epochs).
    event: memorized within the budget.
    lower, upper: interval of the latent epochs-to-memorize T used by the AFT fit:
        (e - eval_every, e] for a success at e > 0; (0, 1] for e = 0; (trained, inf) if censored.
    observed_steps, lower_steps, upper_steps, budget_in_steps: the same in optimizer steps
        (epochs x length), the response of the law. (The `budget_steps` column is the
        spec's stated budget, when it gave one in steps.)
    """
    if (df["status"] == "error").any():
        raise ValueError("remove error rows first (split_errors)")
    df = df.copy()
    event = df["memorized"].to_numpy(dtype=bool)
    e = numbers(df["epochs_to_memorize"])
    if np.isnan(e[event]).any():
        raise ValueError("a memorized run has no epochs_to_memorize")
    trained = numbers(df["epochs_trained"])
    step = numbers(df["eval_every"])
    df["event"] = event
    df["observed"] = np.where(event, e, trained)
    df["lower"] = np.where(event, np.maximum(e - step, 0.0), trained)
    df["upper"] = np.where(event, np.where(e > 0, e, 1.0), np.inf)
    n = numbers(df["length"])
    for col in ("observed", "lower", "upper"):
        df[f"{col}_steps"] = df[col] * n
    df["budget_in_steps"] = numbers(df["max_epochs"]) * n
    return df


def join_runs(*tables: pd.DataFrame | None) -> tuple[pd.DataFrame | None, int]:
    """The rows of every table, in order, one per run id: where a run id appears in more
    than one table, the row of the later table is kept (a re-run that records more, e.g.
    capacity_more's rows of capacity's runs). Returns the joined table (None if every
    table is None) and how many earlier rows were replaced.

    >>> a = pd.DataFrame(dict(run_id=["x", "y"], v=[1, 2]))
    >>> b = pd.DataFrame(dict(run_id=["y", "z"], v=[20, 30]))
    >>> joined, replaced = join_runs(a, None, b)
    >>> joined["v"].tolist(), replaced
    ([1, 20, 30], 1)
    """
    parts = [t for t in tables if t is not None]
    if not parts:
        return None, 0
    both = pd.concat(parts, ignore_index=True)
    later = both["run_id"].duplicated(keep="last")
    return both[~later].reset_index(drop=True), int(later.sum())


def prefix_families(sequences: pd.Series) -> pd.Series:
    """Each sequence's family: the shortest sequence it extends. A generator seed drawn at
    several lengths gives sequences that are prefixes of one another (uniform draws), which
    are one family, not independent draws (SCIENCE.md); a resampling unit is the family.

    >>> prefix_families(pd.Series(["AB", "ABCD", "BA", "ABC"])).tolist()
    ['AB', 'AB', 'BA', 'AB']
    """
    family: dict[str, str] = {}
    for s in sorted(set(sequences), key=len):
        family[s] = next((family[r] for r in family if s.startswith(r)), s)
    return sequences.map(family)


def group_rng(seed: int, key) -> np.random.Generator:
    """A random stream of its own for one group (`key`: its groupby key), so that a group's
    bootstrap interval depends on its own data alone, never on which other groups exist."""
    parts = key if isinstance(key, tuple) else (key,)
    return np.random.default_rng([seed, zlib.crc32(repr(tuple(map(str, parts))).encode())])


def records(df: pd.DataFrame, cols: list[str]) -> list[dict]:
    """Rows of `df` as dicts of `cols` (fit.json's entries); [] for an empty table."""
    return df[cols].to_dict(orient="records") if len(df) else []


def parameters(df: pd.DataFrame) -> np.ndarray:
    """Each row's parameter count: the recorded one (a user cell's own count), else the
    built-in cell's from its shape (rows stored before the column existed)."""
    from seqmem.model import parameter_count

    recorded = numbers(df["parameters"]) if "parameters" in df.columns else np.full(len(df), np.nan)
    return np.array([r if not np.isnan(r) else parameter_count(c, int(u), len(a))
                     for r, c, u, a in zip(recorded, df["cell"], df["units"], df["alphabet"],
                                           strict=True)], dtype=float)


def is_notebook(df: pd.DataFrame) -> pd.Series:
    """Rows trained with every option as the notebook sets it (any units, lr 1e-3)."""
    mask = pd.Series(True, index=df.index)
    for col, value in NOTEBOOK_OPTIONS.items():
        mask &= df[col] == value
    return mask & np.isclose(df["lr"], 1e-3)


def cell_ids(df: pd.DataFrame) -> np.ndarray:
    """An integer id per cell (runs that differ only in seed share it)."""
    return df.groupby(GROUP_COLUMNS, sort=True, dropna=False).ngroup().to_numpy()


@dataclass
class Tables:
    """The committed tables the analysis reads (None: not there), each field named as the
    spec that makes it (results/<field>.csv)."""

    study: pd.DataFrame | None = None  # the notebook-options baseline (v1 design)
    width_lr: pd.DataFrame | None = None
    depth_ambiguity: pd.DataFrame | None = None  # depth x ambiguity (forks) design
    frontier: pd.DataFrame | None = None  # lr 1e-2, 50k and 200k steps
    frontier_lr: pd.DataFrame | None = None  # lr 1e-3, 200k steps
    frontier_long: pd.DataFrame | None = None  # lr 1e-3, 800k steps, 64 units
    frontier_probe: pd.DataFrame | None = None  # beyond the lr-1e-2 L*, lr 1e-3 and 3e-3
    frontier_cells: pd.DataFrame | None = None  # GRU and RNN, lr 1e-3
    frontier_more: pd.DataFrame | None = None  # sequences 4-5 per length at lr 1e-3, pooled
    cells: pd.DataFrame | None = None  # GRU and RNN: lr scan and difficulty slice
    predict_check: pd.DataFrame | None = None  # never fitted nor used to choose: predict's test
    width_lr_between: pd.DataFrame | None = None  # widths and lrs between width_lr's grid
    frontier_fresh: pd.DataFrame | None = None  # frontier_lr's L* on fresh sequences
    frontier_cells_fresh: pd.DataFrame | None = None  # frontier_cells' L* on fresh sequences
    long_budgets: pd.DataFrame | None = None
    capacity_lr: pd.DataFrame | None = None  # each width's lr, on sequences capacity never uses
    capacity_lr_more: pd.DataFrame | None = None  # the next lr beyond capacity_lr's grid edges
    capacity_lr_long: pd.DataFrame | None = None  # the offline lrs again, at the capacity's lengths
    capacity_lr_online64: pd.DataFrame | None = None  # the LSTM 64's online lr, before its curve
    capacity: pd.DataFrame | None = None  # bits stored vs length and exposures, online/offline
    capacity_lstar: pd.DataFrame | None = None  # L* bisected at quarter powers of two
    capacity_plateau: pd.DataFrame | None = None  # capacity's small curves, continued
    capacity_more: pd.DataFrame | None = None  # rising curves continued, GRU/RNN offline, re-runs
    capacity_far: pd.DataFrame | None = None  # offline curves two doublings further (compiled)
    capacity_beyond: pd.DataFrame | None = None  # LSTM 64 offline; LSTM 8 offline past 32k
    capacity_online_lr: pd.DataFrame | None = None  # online curves at lrs chosen again
    capacity_online64: pd.DataFrame | None = None  # the LSTM 64's online curve
    capacity_past_peak: pd.DataFrame | None = None  # curves < 2 lengths past peak, continued
    capacity_far_online: pd.DataFrame | None = None  # online curves one doubling further again
    capacity_second_past_peak: pd.DataFrame | None = None  # a second length past five peaks
    capacity_peak_pairs: pd.DataFrame | None = None  # online and offline paired at online's peak
    capacity_peak_sequences: pd.DataFrame | None = None  # three more sequences at the peaks
    capacity_peak_moved: pd.DataFrame | None = None  # the peaks those sequences moved
    capacity_peak_moved_beyond: pd.DataFrame | None = None  # a second length past one
    capacity_offline_budget: pd.DataFrame | None = None  # offline at 1000 vs 300 exposures
    capacity_offline_long: pd.DataFrame | None = None  # offline 1000/3000 exposures, longer
    capacity_offline_short: pd.DataFrame | None = None  # those one length shorter
    capacity_offline_shorter: pd.DataFrame | None = None  # those still peaking there, shorter
    capacity_offline_long_lr: pd.DataFrame | None = None  # those at a third of their lr
    capacity_offline_long_lr_up: pd.DataFrame | None = None  # and at three times it
    capacity_online_lr_peak: pd.DataFrame | None = None  # online curves' lr checked at their peak
    capacity_online_lr_peak_lstm: pd.DataFrame | None = None  # the same, the LSTM curves
    capacity_online_lr_between: pd.DataFrame | None = None  # the same, at half-steps
    capacity_failed_lr: pd.DataFrame | None = None  # failed lengths at a third of the lr
    capacity_fresh: pd.DataFrame | None = None  # 24 units, between the grid, fresh sequences
    usercells_lr: pd.DataFrame | None = None  # the example user cells' lr scan
    usercells: pd.DataFrame | None = None  # minGRU, minLSTM: bits stored and difficulty
    rtrl: pd.DataFrame | None = None  # the frontier under RTRL and windows 16 and 4
    rtrl_cases: pd.DataFrame | None = None  # notebook cases 4-6: RTRL vs stale BPTT
    rtrl_fresh: pd.DataFrame | None = None  # the one L* RTRL moved, on fresh sequences
    heldout: pd.DataFrame | None = None  # never fitted: the law's validation
    prereg_check: pd.DataFrame | None = None  # made after the law's freeze (freeze.json)
    length_law: pd.DataFrame | None = None  # structured strings under the frontier's protocol
    length_check: pd.DataFrame | None = None  # made after the length law's freeze
    cases: pd.DataFrame | None = None
    cases_reference: pd.DataFrame | None = None  # the notebook cases by the reference trainer
    steptime: pd.DataFrame | None = None
    # RTRL and a user's cell against the windowed kernel, timed in one run of their own
    steptime_rtrl: pd.DataFrame | None = None


# Every table is named as the spec (or command) that makes it: <name>.csv in results/.
SOURCES = {f.name: f"{f.name}.csv" for f in fields(Tables)}


def load_tables(results: str | Path) -> tuple[Tables, dict[str, str]]:
    """Every table of SOURCES found in `results` (a CSV, or the sweep's store beside a
    missing CSV), and the path each was read from."""
    results = Path(results)
    got, paths = {}, {}
    for f in fields(Tables):
        path = results / SOURCES[f.name]
        store = path.with_suffix(".sqlite")
        if not path.exists() and store.exists():
            path = store
        if path.exists():
            got[f.name] = (load_steptime(path) if f.name.startswith("steptime")
                           else load_results(path))
            paths[f.name] = str(path)
    return Tables(**got), paths


def load_optional(path: str | Path | None) -> pd.DataFrame | None:
    """A results table if the file exists, else None (the caller notes the gap)."""
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
    if "cell" not in df.columns:  # tables from before the GRU and the RNN were benchmarked
        df["cell"] = "lstm"
    df["bptt"] = df["bptt"].astype(str)
    return df
