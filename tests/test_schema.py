"""The results contract: columns and types come from the dataclasses, once."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from seqmem.config import RunConfig, preset
from seqmem.difficulty import Metrics
from seqmem.provenance import Provenance
from seqmem.records import Origin, RunRecord
from seqmem.schema import (
    COLUMNS,
    DTYPES,
    GROUPS,
    KINDS,
    NAMES,
    _columns,
    config_of,
    conform,
    error_row,
    typed,
)
from seqmem.store import load_results, write_csv
from seqmem.train import train_group


def test_columns_are_the_dataclass_fields_in_order():
    expected = (["run_id"] + [f.name for f in dataclasses.fields(Origin)]
                + [f.name for f in dataclasses.fields(RunConfig)]
                + [f.name for f in dataclasses.fields(Metrics)] + ["status", "error"]
                + [f.name for f in dataclasses.fields(RunRecord)
                   if f.name not in ("config", "metrics", "provenance", "step_loss")]
                + [f.name for f in dataclasses.fields(Provenance)])
    assert list(NAMES) == expected
    assert [c.group for c in COLUMNS][:2] == ["id", "origin"]
    assert "step_loss" not in NAMES  # a trace, never stored


def test_a_column_kind_follows_its_type_hint():
    @dataclasses.dataclass
    class Probe:
        a: int
        b: float
        c: bool
        d: str
        e: int | None
        f: int | str
        g: tuple[float, ...]
        h: bool | None = None

    kinds = {c.name: c.kind for c in _columns(Probe, "probe")}
    assert kinds == dict(a="int", b="float", c="bool", d="str", e="int", f="str", g="list",
                         h="bool")
    assert KINDS["bptt"] == "str" and KINDS["git_dirty"] == "bool" and KINDS["lr"] == "float"
    assert {DTYPES[k] for k in KINDS.values()} == {"Int64", "float64", "boolean", "object"}


def test_conform_fills_converts_and_refuses_unknown_columns():
    row = conform({"run_id": "x", "units": np.int64(8), "bptt": 3, "memorized": 1,
                   "loss_curve": (np.float32(0.5),)})
    assert list(row) == list(NAMES) and row["spec"] is None
    assert row["units"] == 8 and type(row["units"]) is int
    assert row["bptt"] == "3" and row["memorized"] is True and row["loss_curve"] == [0.5]
    with pytest.raises(ValueError, match="unknown result column 'epoch_loss'"):
        conform({"run_id": "x", "epoch_loss": [1.0]})
    with pytest.raises(ValueError, match="column memorized: not a boolean: 2"):
        conform({"run_id": "x", "memorized": 2})


def test_a_record_and_an_error_make_full_rows_that_type_alike(tmp_path):
    configs = [preset("notebook", "ABCA", units=4, seed=s, max_epochs=5, eval_every=2)
               for s in (0, 1)]
    rows = [r.to_row() for r in train_group(configs)]
    rows.append(error_row(configs[0].replace(seed=7), "RuntimeError: boom",
                          rows[0] and Provenance(**{k: rows[0][k] for k in GROUPS["provenance"]})))
    for row in rows:
        assert row["kernel"] == "numba" and row["numerics_version"] == 1
        assert row["context_depth"] == 2 and row["seqmem_version"]
    assert rows[0]["steps"] == 20 and len(rows[0]["loss_curve"]) == 3  # evals at 0, 2, 4, 5
    assert rows[2]["status"] == "error" and rows[2]["memorized"] is None
    assert all(rows[2][c] is None for c in GROUPS["outcome"] if c not in ("status", "error"))
    native = typed(pd.DataFrame(rows)).sort_values("run_id").reset_index(drop=True)
    as_text = load_results(write_csv(native, tmp_path / "t.csv"))  # the CSV's text, re-typed
    rounded = ["loss_curve", "final_loss", "wall_time_s"]
    pd.testing.assert_frame_equal(native.drop(columns=rounded), as_text.drop(columns=rounded))
    assert [config_of(r).run_id for r in native.to_dict(orient="records")] == \
        [r["run_id"] for r in rows]
