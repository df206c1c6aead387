"""bench.reproduce: a rerun of committed chunks matches them, and a changed value is caught."""

from pathlib import Path

import pandas as pd

from bench.reproduce import differences, provenance_notes
from bench.reproduce import main as reproduce
from bench.sweep import main as sweep
from seqmem.store import Store, load_results
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


def test_curves_left_out_of_the_csv_are_compared_with_the_store_or_noted(tmp_path, capsys):
    spec = tmp_path / "tiny_reproduce.toml"
    spec.write_text(TINY)  # no export_loss_curve: the CSV leaves loss_curve out
    store = tmp_path / "tiny.sqlite"
    assert sweep([str(spec), "--out", str(store), "--backend", "sequential", "-q"]) == 0
    csv = store.with_suffix(".csv")
    assert "loss_curve" not in csv.read_text().splitlines()[0]
    capsys.readouterr()
    assert reproduce([str(spec), "--results", str(csv), "--chunks", "4"]) == 0
    assert f"loss_curve compared with {store}" in capsys.readouterr().out

    victim = load_results(store)["run_id"].iloc[0]  # a stored curve changed is caught
    with Store(store) as s:
        row = s.frame([victim]).iloc[0].to_dict()
        s.write([{**row, "loss_curve": [9.0]}])
    assert reproduce([str(spec), "--results", str(csv), "--chunks", "4"]) == 1
    assert f"{victim} loss_curve: committed [9.0] != rerun" in capsys.readouterr().out

    store.unlink()  # no store: every other field is still compared, the curves are noted
    assert reproduce([str(spec), "--results", str(csv), "--chunks", "4"]) == 0
    out = capsys.readouterr().out
    assert "12 records: all identical to the committed rows." in out
    assert f"loss_curve not compared: {csv} leaves it out" in out


def test_an_empty_committed_value_is_a_difference_and_provenance_only_a_note():
    base = {"run_id": "r1", "steps": 10, "epochs_to_memorize": 5, "cpu": "znver4",
            "numba_version": "0.61"}
    committed = pd.DataFrame([{**base, "epochs_to_memorize": pd.NA, "cpu": None}])
    rerun = pd.DataFrame([{**base, "numba_version": "0.62"}])
    assert differences(committed, rerun) == ["r1 epochs_to_memorize: committed <NA> != rerun 5"]
    assert provenance_notes(committed, rerun) == [
        "cpu: not recorded in the committed rows (here ['znver4'])",
        "numba_version: committed ['0.61'], here ['0.62']"]
    assert differences(pd.DataFrame([base]), rerun) == []


def test_reproduce_rejects_bad_input_in_one_line(tmp_path, capsys):
    assert reproduce(["no_such_spec"]) == 2
    assert reproduce(["quick", "--chunks", "0"]) == 2
    assert reproduce(["quick", "--results", str(Path(tmp_path) / "missing.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "--chunks must be >= 1, got 0" in err[1] and "missing.csv" in err[2]


def test_all_checks_every_spec_with_a_committed_table_and_falls_back_to_the_cheapest_chunk(
        tmp_path, capsys, monkeypatch):
    import bench.reproduce as module
    from bench.spec import load_spec

    (tmp_path / "tiny_reproduce.toml").write_text(TINY)
    (tmp_path / "untried.toml").write_text(TINY.replace("tiny_reproduce", "untried"))
    (tmp_path / "results").mkdir()
    store = tmp_path / "results" / "tiny_reproduce.sqlite"
    assert sweep([str(tmp_path / "tiny_reproduce.toml"), "--out", str(store), "--backend",
                  "sequential", "-q"]) == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(module, "available", lambda: ["tiny_reproduce", "untried"])
    monkeypatch.setattr(module, "load_spec", lambda n: load_spec(tmp_path / f"{n}.toml"))
    capsys.readouterr()
    assert reproduce(["--all", "--chunks", "1", "--max-chunk-s", "0"]) == 0
    out = capsys.readouterr().out
    assert "no committed table, not checked: untried" in out
    assert "tiny_reproduce: reran none expected under 0 s, so the cheapest" in out
    assert "all identical to the committed rows." in out


def test_all_and_a_spec_exclude_each_other(capsys):
    assert reproduce([]) == 2
    assert reproduce(["quick", "--all"]) == 2
    assert reproduce(["--all", "--results", "x.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[:2] == ["error: give one spec or --all"] * 2
    assert err[2] == "error: --results x.csv names one table; it does not go with --all"


def test_a_column_the_committed_table_never_had_is_not_a_difference():
    committed = pd.DataFrame({"run_id": ["a"], "units": [8], "bits_stored": [float("nan")]})
    rerun = pd.DataFrame({"run_id": ["a"], "units": [8], "bits_stored": [12.5]})
    assert differences(committed, rerun, stored={"run_id", "units"}) == []
    assert differences(committed, rerun) != []  # where the table had it, it is compared


def test_differences_on_another_cpu_are_listed_not_failed():
    from bench.reproduce import _made_on_another_cpu

    old = pd.DataFrame({"run_id": ["a"], "cpu": ["znver3"]})
    assert _made_on_another_cpu(old, pd.DataFrame({"run_id": ["a"], "cpu": ["znver4"]})) == \
        "znver3; here znver4"
    assert _made_on_another_cpu(old, pd.DataFrame({"run_id": ["a"], "cpu": ["znver3"]})) is None
    unknown = pd.DataFrame({"run_id": ["a"], "cpu": [None]})
    assert _made_on_another_cpu(unknown, pd.DataFrame({"run_id": ["a"], "cpu": ["x"]})) is None
