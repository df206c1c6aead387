"""Where sweep results live: an SQLite store, `load_results`, and the committed CSV export.

The store is one SQLite database per sweep (`results/<spec>.sqlite`), table `runs`,
one row per run keyed by `run_id` (the hash of the whole RunConfig). It is opened in
WAL mode with `synchronous=FULL` and written only by the sweep's parent process, one
transaction per finished chunk of seeds: a `kill -9` (or a power cut) at any moment
leaves every committed chunk intact and nothing half-written, since an unfinished
transaction is rolled back when the file is next opened. Columns have no declared type,
so ints, floats and strings come back as they went in; `epoch_loss` is a JSON list.
New record fields (a new metric, a new config option) become new columns on the fly.

The export is CSV, not Parquet, because it is committed under `results/` and reviewed in
git: rows sorted by `run_id` and a fixed column order make a resumed or extended sweep
show up as added lines, a changed run as a changed line, and the table opens anywhere
without pyarrow. Its two costs are handled here: types are restored by `load_results`
(the `COLUMN_TYPES` below, `keep_default_na=False` so that a sequence such as "NA" stays
a string), and size is kept down by writing `epoch_loss` with 6 significant digits (the
losses are float32 quantities averaged per epoch) and `wall_time_s` to the millisecond.
Every other value is written exactly (Python's shortest round-trip float repr).

>>> import tempfile, pathlib
>>> db = pathlib.Path(tempfile.mkdtemp()) / "demo.sqlite"
>>> with Store(db) as store:
...     store.write([{"run_id": "ab12", "units": 8, "memorized": True, "epoch_loss": [1.5, 0.25]}])
1
>>> load_results(db).loc[0, "epoch_loss"]
[1.5, 0.25]
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from seqmem.config import RunConfig
from seqmem.difficulty import metrics

SQLITE_MAGIC = b"SQLite format 3\x00"

# The column order of every table this module writes; columns it does not know
# (fields added to the record later) follow in alphabetical order.
ID_COLUMNS = ["run_id", "spec", "slice", "label"]
CONFIG_COLUMNS = [f.name for f in fields(RunConfig)]
GEN_COLUMNS = ["gen_length", "gen_repeats", "gen_depth", "gen_alphabet_size", "gen_seed"]
METRIC_COLUMNS = list(metrics("AB"))
OUTCOME_COLUMNS = [
    "status", "error", "memorized", "epochs_to_memorize", "epochs_trained", "steps",
    "final_prefix", "longest_substring", "wall_time_s", "population", "epoch_loss",
]
VERSION_COLUMNS = ["seqmem_version", "torch_version", "numpy_version", "python_version"]
COLUMNS = ID_COLUMNS + CONFIG_COLUMNS + GEN_COLUMNS + METRIC_COLUMNS + OUTCOME_COLUMNS \
    + VERSION_COLUMNS
STATUSES = ("memorized", "censored", "error")

_INT = [
    "units", "seed", "eval_every", "max_epochs", *GEN_COLUMNS, "length", "distinct",
    "repeat_count", "context_depth", "ambiguous_transitions", "epochs_to_memorize",
    "epochs_trained", "steps", "final_prefix", "longest_substring", "population",
]
_FLOAT = ["lr", "context_bits", "wall_time_s"]
_STR = ["run_id", "spec", "slice", "label", "sequence", "reset", "bptt", "loss", "feedback",
        "engine", "alphabet", "status", "error", *VERSION_COLUMNS]
# dtypes of the loaded DataFrame: nullable ints and booleans, since an error row has
# no outcome; strings are object columns holding None where null.
COLUMN_TYPES: dict[str, str] = {
    **{c: "Int64" for c in _INT}, **{c: "float64" for c in _FLOAT},
    **{c: "object" for c in _STR}, "memorized": "boolean", "epoch_loss": "object",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Store:
    """The SQLite store of one sweep. Use as a context manager; only one process writes.

    readonly: open an existing database without creating or changing anything
    (for --dry-run and for reading while a sweep writes).
    """

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        self.path = Path(path)
        if readonly:
            self._con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                        isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.path, isolation_level=None, timeout=60)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=FULL")
            self._con.execute('CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY)')
        self._columns = [r[1] for r in self._con.execute("PRAGMA table_info(runs)")]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def statuses(self) -> dict[str, str]:
        """run_id -> status of every stored run."""
        if "status" not in self._columns:
            return {}
        return dict(self._con.execute("SELECT run_id, status FROM runs"))

    def write(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert or replace rows (keyed by run_id) in one transaction; returns how many."""
        rows = list(rows)
        if not rows:
            return 0
        keys = list(dict.fromkeys(k for row in rows for k in row))
        bad = [k for k in keys if not _NAME.match(k)]
        if bad or "run_id" not in keys:
            raise ValueError(f"bad column names {bad} (or no run_id) in {keys}")
        self._con.execute("BEGIN IMMEDIATE")
        try:
            for key in keys:
                if key not in self._columns:
                    self._con.execute(f'ALTER TABLE runs ADD COLUMN "{key}"')
                    self._columns.append(key)
            cols = ", ".join(f'"{k}"' for k in keys)
            marks = ", ".join("?" for _ in keys)
            self._con.executemany(
                f"INSERT OR REPLACE INTO runs ({cols}) VALUES ({marks})",
                [[_to_sql(row.get(k)) for k in keys] for row in rows],
            )
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        return len(rows)

    def frame(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Stored rows (all, or those of `run_ids`) as a typed DataFrame, sorted by run_id."""
        cur = self._con.execute("SELECT * FROM runs ORDER BY run_id")
        names = [d[0] for d in cur.description]
        df = pd.DataFrame.from_records(cur.fetchall(), columns=names)
        if run_ids is not None:
            df = df[df["run_id"].isin(set(run_ids))].reset_index(drop=True)
        return _typed(df)


def load_results(path: str | os.PathLike) -> pd.DataFrame:
    """One tidy row per run, from a sweep's .sqlite store or its exported CSV.

    Columns in `COLUMNS` order (then any newer ones), rows sorted by run_id, nullable
    dtypes (`COLUMN_TYPES`), `epoch_loss` a list of floats (None for an error row).
    """
    path = Path(path)
    if _is_sqlite(path):
        with Store(path, readonly=True) as store:
            return store.frame()
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return _typed(df)


def export(db_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Write the store's table as the committed CSV (atomically: a temp file, then rename)."""
    df = load_results(db_path)
    df["epoch_loss"] = [
        None if v is None else json.dumps([_round(x, 6) for x in v]) for v in df["epoch_loss"]
    ]
    df["wall_time_s"] = df["wall_time_s"].round(3)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            df.to_csv(fh, index=False, lineterminator="\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _to_sql(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _round(x: float, digits: int) -> float:
    return x if not math.isfinite(x) else float(f"{x:.{digits}g}")


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Column order and dtypes of COLUMN_TYPES; epoch_loss parsed from JSON."""
    known = [c for c in COLUMNS if c in df.columns]
    df = df[known + sorted(set(df.columns) - set(known))].copy()
    for col in df.columns:
        kind = COLUMN_TYPES.get(col)
        values = df[col]
        if col == "epoch_loss":  # a list of floats, or None
            df[col] = pd.Series([_loads(v) for v in values], index=df.index, dtype=object)
        elif kind == "Int64":
            df[col] = pd.to_numeric(values).astype("Int64")
        elif kind == "float64":
            df[col] = pd.to_numeric(values).astype("float64")
        elif kind == "boolean":
            df[col] = pd.Series([_bool(v) for v in values], index=df.index, dtype="boolean")
        else:
            df[col] = pd.Series([None if _isnull(v) else _str_or_raw(v, kind) for v in values],
                                index=df.index, dtype=object)
    return df.reset_index(drop=True)


def _isnull(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _str_or_raw(v: Any, kind: str | None) -> Any:
    return str(v) if kind == "object" else v


def _loads(v: Any) -> list[float] | None:
    if _isnull(v):
        return None
    return json.loads(v) if isinstance(v, str) else list(v)


def _bool(v: Any) -> bool | None:
    if _isnull(v):
        return None
    if isinstance(v, str):
        return {"true": True, "false": False, "1": True, "0": False}[v.strip().lower()]
    return bool(v)
