"""bench.reproduce: a rerun of committed chunks matches them, and a changed value is caught."""

from pathlib import Path

import pandas as pd

from bench.reproduce import main as reproduce
from bench.sweep import main as sweep
from seqmem.store import load_results
from tests.test_sweep import TINY as SWEEP_TINY

TINY = SWEEP_TINY.replace('name = "tiny"', 'name = "tiny_reproduce"')


def test_reproduce_finds_the_committed_rows_identical_and_catches_a_changed_one(tmp_path, capsys):
    spec = tmp_path / "tiny_reproduce.toml"
    spec.write_text(TINY)
    store = tmp_path / "tiny.sqlite"
    assert sweep([str(spec), "--out", str(store), "--backend", "sequential", "-q"]) == 0
    csv = store.with_suffix(".csv")
    assert reproduce([str(spec), "--results", str(csv), "--chunks", "4"]) == 0
    assert "4 of 4 chunks" in (out := capsys.readouterr().out)  # 2 sequences x 2 widths
    assert "12 records: all identical to the committed rows." in out

    # change one stored outcome: the rerun must name the run and the column
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    victim = load_results(csv)["run_id"].iloc[0]
    raw.loc[raw["run_id"] == victim, "steps"] = "999999"
    raw.to_csv(csv, index=False)
    assert reproduce([str(spec), "--results", str(csv), "--chunks", "4"]) == 1
    out = capsys.readouterr().out
    assert f"{victim} steps: committed 999999" in out


def test_reproduce_rejects_bad_input_in_one_line(tmp_path, capsys):
    assert reproduce(["no_such_spec"]) == 2
    assert reproduce(["quick", "--chunks", "0"]) == 2
    assert reproduce(["quick", "--results", str(Path(tmp_path) / "missing.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "--chunks must be >= 1, got 0" in err[1] and "missing.csv" in err[2]
