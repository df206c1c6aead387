"""Where sweep results live: an SQLite store, `load_results`, and the committed CSV export.

The store is one SQLite database per sweep (`results/<spec>.sqlite`), table `runs`,
one row per run keyed by `run_id` (the hash of the RunConfig), with exactly the columns
of the results contract (`seqmem.schema`). It is opened in WAL mode with
`synchronous=FULL` and written only by the sweep's parent process, one transaction per
finished chunk of seeds: a `kill -9` (or a power cut) at any moment leaves every
committed chunk intact and nothing half-written, since an unfinished transaction is
rolled back when the file is next opened. Every row goes in through `schema.conform`
(unknown columns are refused) and comes out through `schema.typed`, so a table is typed
in this one place; `loss_curve` is a JSON list.

The export is CSV, not Parquet, because it is committed under `results/` and reviewed in
git: rows sorted by `run_id` and the contract's column order make a resumed or extended
sweep show up as added lines, a changed run as a changed line, and the table opens
anywhere without pyarrow. Types are restored by `load_results` (`keep_default_na=False`
so that a sequence such as "NA" stays a string), and size is kept down by writing
`loss_curve`, `final_loss`, `bits_curve` and `saved_curve` with 6 significant digits (float32 losses
averaged; bits to a hundredth at a thousand bits) and `wall_time_s` to the millisecond.
Every other value is written exactly (Python's shortest round-trip float repr). An export
may leave `loss_curve` out (`loss_curve=False`): it is half the bytes of most tables and
few analyses read it, and the store keeps it. Such a CSV has every other column, and
`load_results` reads its `loss_curve` back empty, as a column the CSV never had.

>>> import tempfile, pathlib
>>> from seqmem.schema import conform
>>> db = pathlib.Path(tempfile.mkdtemp()) / "demo.sqlite"
>>> with Store(db) as store:
...     store.write([{"run_id": "ab12", "units": 8, "memorized": True, "loss_curve": [1.5, 0.25]}])
1
>>> load_results(db).loc[0, "loss_curve"]
[1.5, 0.25]
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from seqmem.schema import KINDS, NAMES, conform, typed

SQLITE_MAGIC = b"SQLite format 3\x00"
# Rounded in the CSV export (see the module docstring): column -> significant digits.
EXPORT_DIGITS = {"loss_curve": 6, "final_loss": 6, "bits_curve": 6, "saved_curve": 6}


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
            self._con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            have = {r[1] for r in self._con.execute("PRAGMA table_info(runs)")}
            for name in NAMES:  # a store made before a column existed gains it, empty
                if name not in have:
                    self._con.execute(f'ALTER TABLE runs ADD COLUMN "{name}"')

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def statuses(self) -> dict[str, str]:
        """run_id -> status of every stored run."""
        return {k: v[0] for k, v in self.made_by().items()}

    def made_by(self) -> dict[str, tuple[str, str | None, int | None, str | None]]:
        """run_id -> (status, kernel, numerics_version, cpu) of every stored run."""
        if not self._has("status"):
            return {}
        cols = [c if self._has(c) else "NULL" for c in ("kernel", "numerics_version", "cpu")]
        return {r[0]: tuple(r[1:]) for r in self._con.execute(
            f"SELECT run_id, status, {', '.join(cols)} FROM runs")}

    def owner(self) -> tuple[str, str] | None:
        """(spec name, spec hash) of the sweep that made this store; None if not recorded
        (a store made before the sweep recorded it, or made from Python)."""
        if not any(r[0] == "meta" for r in self._con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")):
            return None
        got = dict(self._con.execute("SELECT key, value FROM meta"))
        return (got["spec"], got.get("spec_hash", "")) if "spec" in got else None

    def claim(self, spec: str, spec_hash: str) -> None:
        """Record the spec that writes this store (its name and the hash of its file)."""
        self._con.execute("INSERT OR REPLACE INTO meta VALUES ('spec', ?), ('spec_hash', ?)",
                          (spec, spec_hash))

    def _has(self, column: str) -> bool:
        return any(r[1] == column for r in self._con.execute("PRAGMA table_info(runs)"))

    def write(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert or replace rows (keyed by run_id) in one transaction; returns how many.

        Each row is conformed to the results contract first: an unknown column is an error,
        a missing one is stored as null.
        """
        rows = [conform(row) for row in rows]
        if not rows:
            return 0
        if any(row["run_id"] is None for row in rows):
            raise ValueError("every row needs a run_id")
        self._con.execute("BEGIN IMMEDIATE")
        try:
            cols = ", ".join(f'"{k}"' for k in NAMES)
            marks = ", ".join("?" for _ in NAMES)
            self._con.executemany(
                f"INSERT OR REPLACE INTO runs ({cols}) VALUES ({marks})",
                [[_to_sql(row[k]) for k in NAMES] for row in rows],
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
        return typed(df)


def load_results(path: str | os.PathLike) -> pd.DataFrame:
    """One tidy row per run, from a sweep's .sqlite store or its exported CSV.

    The results contract's columns in order (`seqmem.schema`), rows sorted by run_id,
    nullable dtypes, `loss_curve` a list of floats (None for an error row).
    """
    path = Path(path)
    if _is_sqlite(path):
        with Store(path, readonly=True) as store:
            return store.frame()
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return typed(df).sort_values("run_id", kind="stable").reset_index(drop=True)


def export(db_path: str | os.PathLike, out_path: str | os.PathLike,
           run_ids: Iterable[str] | None = None, *, loss_curve: bool = True) -> Path:
    """Write the store's table (or its rows of `run_ids`) as the committed CSV, atomically:
    a temp file, then rename. loss_curve=False leaves that column out of the CSV."""
    with Store(db_path, readonly=True) as store:
        return write_csv(store.frame(run_ids), out_path, loss_curve=loss_curve)


def write_csv(df: pd.DataFrame, out_path: str | os.PathLike, *, loss_curve: bool = True
              ) -> Path:
    """A typed results table as the committed CSV, rounded as documented above;
    loss_curve=False leaves that column out.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> table = pd.DataFrame([{"run_id": "ab12", "loss_curve": [1.5, 0.25]}])
    >>> "loss_curve" in write_csv(table, path, loss_curve=False).read_text().splitlines()[0]
    False
    >>> load_results(path).loc[0, "loss_curve"] is None
    True
    """
    df = typed(df)
    for col, digits in EXPORT_DIGITS.items():
        if KINDS[col] == "list":
            df[col] = [None if v is None else json.dumps([_round(x, digits) for x in v],
                                                         separators=(",", ":"))
                       for v in df[col]]
        else:
            df[col] = [None if math.isnan(v) else _round(v, digits) for v in df[col]]
    for col in (c for c, kind in KINDS.items() if kind == "list" and c not in EXPORT_DIGITS):
        # JSON, as every list is stored: NaN where a run diverged (json's default separators
        # write any finite list exactly as Python's repr did)
        df[col] = [None if v is None else json.dumps(list(v)) for v in df[col]]
    df["wall_time_s"] = df["wall_time_s"].round(3)
    if not loss_curve:
        df = df.drop(columns="loss_curve")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            df.sort_values("run_id", kind="stable").to_csv(fh, index=False, lineterminator="\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the export is a shared table
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
    return value


def _round(x: float, digits: int) -> float:
    return x if not math.isfinite(x) else float(f"{x:.{digits}g}")
