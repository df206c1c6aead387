"""The results contract: every column of a results table, its type and its place.

Nothing here is typed by hand: the columns are the fields of the dataclasses, in this order,

    run_id | Origin (the sweep's) | RunConfig | Metrics | status, error, RunRecord's outcome | Provenance

and a column's kind comes from its field's type hint: int -> nullable "Int64", float ->
"float64", bool -> nullable "boolean", str -> object (a str or None), a tuple -> a list of
floats (JSON in storage). A field typed `int | str` (bptt: 3 or "epoch") is stored as its
str. Adding a field to one of the dataclasses adds its column everywhere.

`conform` is the one way a row enters a table: it refuses unknown columns, fills the
missing ones with None and converts each value to its kind. `typed` is the one way a
table comes out of storage (SQLite values or CSV strings) as a DataFrame.

>>> [c.name for c in COLUMNS][:4]
['run_id', 'spec', 'slice', 'label']
>>> KINDS["bptt"], KINDS["memorized"], KINDS["loss_curve"], DTYPES[KINDS["units"]]
('str', 'bool', 'list', 'Int64')
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from seqmem.config import BPTT_MODES, RunConfig
from seqmem.difficulty import Metrics, metrics
from seqmem.provenance import Provenance
from seqmem.records import Origin, RunRecord

DTYPES = {"int": "Int64", "float": "float64", "bool": "boolean", "str": "object",
          "list": "object"}
STATUSES = ("memorized", "censored", "error")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # a key of DTYPES
    group: str  # id, origin, config, metrics, outcome, provenance


def _kind(tp: Any) -> str:
    """The column kind of a type hint."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        kinds = {_kind(a) for a in args}
        return kinds.pop() if len(kinds) == 1 else "str"  # int | str: stored as text
    if typing.get_origin(tp) in (tuple, list):
        return "list"
    for py, kind in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str")):
        if tp is py:
            return kind
    raise TypeError(f"no column kind for type {tp!r}")


def _columns(cls: type, group: str) -> list[Column]:
    hints = typing.get_type_hints(cls)
    return [Column(f.name, _kind(hints[f.name]), group) for f in fields(cls)
            if not f.metadata.get("nested") and f.metadata.get("stored", True)]


COLUMNS: tuple[Column, ...] = (
    Column("run_id", "str", "id"),
    *_columns(Origin, "origin"),
    *_columns(RunConfig, "config"),
    *_columns(Metrics, "metrics"),
    Column("status", "str", "outcome"),
    Column("error", "str", "outcome"),
    *_columns(RunRecord, "outcome"),
    *_columns(Provenance, "provenance"),
)
NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
KINDS: dict[str, str] = {c.name: c.kind for c in COLUMNS}
GROUPS: dict[str, tuple[str, ...]] = {
    g: tuple(c.name for c in COLUMNS if c.group == g)
    for g in dict.fromkeys(c.group for c in COLUMNS)}
assert len(NAMES) == len(set(NAMES)), "two dataclasses define the same column"
# as stored: bptt's default "epoch" is a str either way
CONFIG_DEFAULTS = {f.name: f.default if f.default is not MISSING else f.default_factory()
                   for f in fields(RunConfig)
                   if f.default is not MISSING or f.default_factory is not MISSING}


def conform(row: Mapping[str, Any]) -> dict[str, Any]:
    """A full row in column order, every value converted to its column's kind.

    Unknown columns are an error (a misspelt column would otherwise be dropped silently).
    """
    unknown = sorted(set(row) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown result column {unknown[0]!r} (the columns are seqmem.schema's)")
    return {name: _value(row.get(name), kind, name) for name, kind in KINDS.items()}


def record_row(record: RunRecord) -> dict[str, Any]:
    """The row of a trained run; the origin columns stay None for the sweep to fill."""
    outcome = {name: getattr(record, name) for name in GROUPS["outcome"]
               if name not in ("status", "error")}
    return conform({"run_id": record.config.run_id, **record.config.to_dict(),
                    **record.metrics, "status": record.status, **outcome,
                    **record.provenance.to_dict()})


def error_row(config: RunConfig, error: str, provenance: Provenance | None = None
              ) -> dict[str, Any]:
    """The row of a run whose training raised: what is known without training."""
    row: dict[str, Any] = {"run_id": config.run_id, **config.to_dict(), "status": "error",
                           "error": error}
    try:
        row.update(metrics(config.sequence, config.alphabet))
    except ValueError:  # the metrics are a nicety here, the error is the point
        pass
    if provenance is not None:
        row.update(provenance.to_dict())
    return conform(row)


def config_of(row: Mapping[str, Any]) -> RunConfig:
    """The RunConfig a stored row was made with (its config columns; a null one takes the
    field's default, for a row stored before the field existed)."""
    hints = typing.get_type_hints(RunConfig)
    data = {}
    for name in GROUPS["config"]:
        v = row.get(name)
        if _isnull(v) or v == "":
            continue
        kind = _kind(hints[name])
        if name == "bptt":
            v = str(v) if str(v) in BPTT_MODES else int(v)
        elif kind == "int":
            v = int(v)
        elif kind == "float":
            v = float(v)
        data[name] = v
    return RunConfig.from_dict(data)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """A stored table (SQLite values or CSV strings) as a DataFrame in the contract's shape:
    the columns of COLUMNS in order, with their dtypes; lists parsed from JSON.

    A column the table lacks (a table written before the column existed) comes back empty,
    except a config column: a config value is never null, so a run stored before its field
    existed ran with the field's default, and says so. A column the contract does not know
    is an error.
    """
    unknown = [c for c in df.columns if c not in KINDS]
    if unknown:
        raise ValueError(f"results table has columns the contract does not know: {unknown}")
    out = {}
    for name, kind in KINDS.items():
        values = df[name] if name in df.columns else pd.Series([None] * len(df), index=df.index)
        parsed = _parse_column(values, kind, name)
        if name in CONFIG_DEFAULTS:
            parsed = [CONFIG_DEFAULTS[name] if v is None else v for v in parsed]
        out[name] = pd.Series(parsed, index=df.index, dtype=DTYPES[kind]) if kind != "float" \
            else pd.Series([math.nan if v is None else v for v in parsed], index=df.index,
                           dtype="float64")
    return pd.DataFrame(out).reset_index(drop=True)


def _parse_column(values: pd.Series, kind: str, name: str) -> list[Any]:
    """Each stored value as a value of `kind`. A column repeats few values (configs,
    provenance), so each distinct (type, value) is converted once; lists are parsed per
    row, so that no two rows share one."""
    if kind == "list":
        return [_value(_stored(v, kind), kind, name) for v in values]
    done: dict[tuple[type, Any], Any] = {}
    out = []
    for v in values:
        key = (type(v), v)
        try:
            out.append(done[key])
        except KeyError:
            out.append(done.setdefault(key, _value(_stored(v, kind), kind, name)))
        except TypeError:  # unhashable
            out.append(_value(_stored(v, kind), kind, name))
    return out


def _isnull(v: Any) -> bool:
    if v is None or v is pd.NA:
        return True
    return isinstance(v, float | np.floating) and math.isnan(v)


def _stored(v: Any, kind: str) -> Any:
    """Undo the storage encoding: '' and NaN are null, JSON text is a list, 'True' a bool."""
    if _isnull(v) or (isinstance(v, str) and v == "" and kind != "str"):
        return None
    if kind == "list" and isinstance(v, str):
        return json.loads(v)
    if kind == "bool" and isinstance(v, str):
        try:
            return {"true": True, "false": False, "1": True, "0": False}[v.strip().lower()]
        except KeyError:
            raise ValueError(f"not a boolean: {v!r}") from None
    return v


def _value(v: Any, kind: str, name: str) -> Any:
    """v as a value of `kind` (None stays None); a value that does not fit is an error that
    names the column."""
    if _isnull(v):
        return None
    if isinstance(v, np.ndarray):
        v = v.tolist()
    elif isinstance(v, np.generic):  # numpy scalars
        v = v.item()
    if kind == "str":
        return str(v)
    if kind == "list":
        if not isinstance(v, list | tuple):
            raise ValueError(f"column {name}: not a list: {v!r}")
        return [float(x) for x in v]
    if kind == "bool":
        if not isinstance(v, bool | int | float) or v not in (0, 1):  # SQLite stores 0 / 1
            raise ValueError(f"column {name}: not a boolean: {v!r}")
        return bool(v)
    if isinstance(v, bool):
        raise ValueError(f"column {name}: a boolean where a number belongs: {v!r}")
    if kind == "int":
        if isinstance(v, str):
            try:
                return int(v)  # exact, however large (a float would round 2**53 + 1)
            except ValueError:
                pass
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"column {name}: not an integer: {v!r}") from None
        if not math.isfinite(x) or x != int(x):
            raise ValueError(f"column {name}: not an integer: {v!r}")
        return int(v) if isinstance(v, int) else int(x)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"column {name}: not a number: {v!r}") from None


# The columns the contract adds itself (the others are documented where their field lives).
OWN_DOCS = {
    "run_id": "hash of the run's whole config (seqmem.config.RunConfig.run_id): the same "
              "config always has the same id.",
    "status": "memorized, censored (not memorized within the budget) or error.",
    "error": "for an error row, the exception the run raised; empty otherwise.",
}
_ENTRY = re.compile(r"^    ([A-Za-z_*][\w*]*(?:(?:, | and )[A-Za-z_*][\w*]*)*): (.*)$")


def field_docs(cls: type) -> dict[str, str]:
    """The per-field entries of a dataclass's docstring ("    name: text", continued on
    more deeply indented lines; "a, b: text" and "gen_*" document several fields).

    >>> field_docs(RunConfig)["units"]
    "the cell's hidden size (its state's width)."
    """
    names = [f.name for f in fields(cls)]
    docs: dict[str, str] = {}
    current: list[str] = []
    for line in (cls.__doc__ or "").splitlines():
        m = _ENTRY.match(line)
        if m:
            keys = re.split(r", | and ", m.group(1))
            current = [n for k in keys for n in names
                       if n == k or (k.endswith("*") and n.startswith(k[:-1]))]
            for n in current:
                docs[n] = m.group(2).strip()
        elif current and line.startswith("    ") and line.strip():
            for n in current:
                docs[n] += " " + line.strip()
        else:
            current = []
    return docs


def glossary() -> list[tuple[str, str, str, str]]:
    """(column, group, kind, what it means) for every column of a results table, in order,
    from the docstrings of the dataclasses the columns come from."""
    docs = {**OWN_DOCS}
    for cls in (Origin, RunConfig, Metrics, RunRecord, Provenance):
        docs.update(field_docs(cls))
    return [(c.name, c.group, c.kind, docs.get(c.name, "")) for c in COLUMNS]


def glossary_markdown() -> str:
    """The glossary as a Markdown table (results/README.md holds it between markers)."""
    lines = ["| column | group | type | meaning |", "|---|---|---|---|"]
    lines += [f"| `{n}` | {g} | {k} | {text.replace('|', '/')} |" for n, g, k, text in glossary()]
    return "\n".join(lines)
