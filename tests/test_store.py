import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from seqmem.config import RunConfig
from seqmem.schema import DTYPES, KINDS, NAMES
from seqmem.store import Store, export, load_results


def _row(run_id: str, **overrides):
    config = RunConfig("ABCA", units=8, seed=int(run_id[-1], 16), max_epochs=20)
    row = {"run_id": run_id, "spec": "t", "slice": "main", "label": "explicit",
           **config.to_dict(), "gen_length": None, "length": 4,
           "context_bits": 2.0, "status": "memorized", "error": None, "memorized": True,
           "epochs_to_memorize": 10, "wall_time_s": 0.123456, "population": 1,
           "final_loss": 0.1 + 0.2, "git_dirty": False, "numerics_version": 1,
           "loss_curve": [3.2592026591300964, 0.1 + 0.2, 1e-9]}
    row.update(overrides)
    return row


ERROR = dict(status="error", error='RuntimeError: boom, "quoted" (at x.py:3 in f)',
             memorized=None, epochs_to_memorize=None, wall_time_s=None, loss_curve=None,
             final_loss=None)


def test_round_trip_keeps_values_and_types(tmp_path):
    db = tmp_path / "r.sqlite"
    rows = [_row("b1"), _row("a2", **ERROR), _row("c3", sequence="NAN", label="NA")]
    with Store(db) as store:
        assert store.write(rows) == 3
        assert store.statuses() == {"b1": "memorized", "a2": "error", "c3": "memorized"}
    df = load_results(db)
    assert list(df["run_id"]) == ["a2", "b1", "c3"]  # sorted by run id
    assert list(df.columns) == list(NAMES)  # every column of the contract, in its order
    for col in df.columns:
        assert str(df[col].dtype) == DTYPES[KINDS[col]], col
    ok = df.set_index("run_id").loc["b1"]
    assert ok["loss_curve"] == [3.2592026591300964, 0.1 + 0.2, 1e-9]  # exact in SQLite
    assert ok["memorized"] and ok["units"] == 8 and ok["lr"] == 1e-3
    assert not ok["git_dirty"] and ok["bptt"] == "epoch" and ok["numerics_version"] == 1
    err = df.set_index("run_id").loc["a2"]
    assert err["loss_curve"] is None and pd.isna(err["memorized"])
    assert pd.isna(err["epochs_to_memorize"]) and err["error"].startswith("RuntimeError")
    assert df.set_index("run_id").loc["c3", "sequence"] == "NAN"


def test_csv_export_round_trip_is_exact_but_for_documented_rounding(tmp_path):
    db = tmp_path / "r.sqlite"
    rows = [_row("b1"), _row("a2", **ERROR), _row("c3", sequence="NAN", label="NA")]
    with Store(db) as store:
        store.write(rows)
    csv = export(db, tmp_path / "r.csv")
    exact, exported = load_results(db), load_results(csv)
    rounded = ["loss_curve", "final_loss", "wall_time_s"]
    pd.testing.assert_frame_equal(exact.drop(columns=rounded), exported.drop(columns=rounded))
    assert exported.loc[1, "loss_curve"] == [3.2592, 0.3, 1e-9]
    assert exported.loc[1, "final_loss"] == 0.3 and exported.loc[1, "wall_time_s"] == 0.123
    assert exported.loc[2, "label"] == "NA" and exported.loc[2, "sequence"] == "NAN"
    assert exported.loc[0, "loss_curve"] is None


def test_a_diverged_run_s_nan_curves_survive_the_csv(tmp_path):
    """A run whose loss became NaN (lr 1e30, or a user's cell) has NaN in its curves: the
    CSV writes every list as JSON, so it reads back."""
    nan = float("nan")
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        store.write([_row("b1", loss_curve=[1.5, nan], bits_curve=[1234.56789, nan, nan])])
    got = load_results(export(db, tmp_path / "r.csv")).loc[0]
    # 6 significant digits, as documented
    assert got["bits_curve"][0] == 1234.57 and all(x != x for x in got["bits_curve"][1:])
    assert got["loss_curve"][0] == 1.5 and got["loss_curve"][1] != got["loss_curve"][1]


def test_export_is_deterministic_and_a_new_run_is_one_added_line(tmp_path):
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        store.write([_row("b1"), _row("d4")])
    first = export(db, tmp_path / "r.csv").read_text()
    assert export(db, tmp_path / "again.csv").read_text() == first
    with Store(db) as store:
        store.write([_row("c3")])
    second = export(db, tmp_path / "r.csv").read_text()
    old, new = first.splitlines(), second.splitlines()
    assert len(new) == len(old) + 1 and set(old) < set(new)
    assert new.index(next(line for line in new if line.startswith("c3,"))) == 2  # sorted


def test_retry_replaces_a_row(tmp_path):
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        store.write([_row("a1", **ERROR)])
        store.write([_row("a1")])
        assert store.statuses() == {"a1": "memorized"}
    assert len(load_results(db)) == 1


def test_store_is_wal_with_full_sync_and_rejects_unknown_columns_and_bad_values(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        assert store._con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        with pytest.raises(ValueError, match="unknown result column 'new_metric'"):
            store.write([_row("a1", new_metric=7)])
        with pytest.raises(ValueError, match="column units: not an integer: 2.5"):
            store.write([_row("a1", units=2.5)])
        with pytest.raises(ValueError, match="run_id"):
            store.write([{**_row("a1"), "run_id": None}])
        assert store.statuses() == {}


def test_large_integers_survive_the_csv(tmp_path):
    db = tmp_path / "r.sqlite"
    big = 2**53 + 1  # a float would round it
    with Store(db) as store:
        store.write([_row("a1", seed=big)])
    exported = load_results(export(db, tmp_path / "r.csv"))
    assert exported.loc[0, "seed"] == big


def test_export_of_some_run_ids(tmp_path):
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        store.write([_row("a1"), _row("b2")])
    assert list(load_results(export(db, tmp_path / "r.csv", ["b2"]))["run_id"]) == ["b2"]


def test_a_store_made_before_a_column_existed_gains_it_empty(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as con:  # a store of an older contract: fewer columns
        con.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, status, units)")
        con.execute("INSERT INTO runs VALUES ('z9', 'censored', 16)")
    df = load_results(db)
    assert list(df.columns) == list(NAMES) and df.loc[0, "units"] == 16
    assert pd.isna(df.loc[0, "numerics_version"]) and df.loc[0, "kernel"] is None
    with Store(db) as store:
        assert store.made_by() == {"z9": ("censored", None, None, None)}
        store.write([_row("a1")])
    assert len(load_results(db)) == 2


def test_load_results_rejects_what_is_not_a_table(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("")
    with pytest.raises(pd.errors.EmptyDataError):
        load_results(bad)


WRITER = textwrap.dedent("""
    import sys
    from seqmem.store import Store
    with Store(sys.argv[1]) as store:
        chunk = 0
        while True:
            store.write([{"run_id": f"{chunk:06d}-{i}", "status": "censored", "seed": chunk,
                          "loss_curve": [float(i)] * 200} for i in range(7)])
            chunk += 1
""")


def test_kill_9_of_the_writer_leaves_only_whole_chunks(tmp_path):
    db = tmp_path / "k.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=os.getcwd())
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            time.sleep(0.05)
            try:
                n = sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0]
            except sqlite3.Error:
                continue
            if n >= 50 * 7:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    df = load_results(db)  # opens read-only despite the un-checkpointed WAL
    assert len(df) >= 50 * 7 and len(df) % 7 == 0
    assert (df.groupby("seed").size() == 7).all()
    assert all(json.dumps(v) == json.dumps([v[0]] * 200) for v in df["loss_curve"])
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
