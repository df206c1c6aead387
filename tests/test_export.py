"""bench.export: a spec's table keeps loss_curve only where its spec says so, the store
always; re-exporting a committed table changes nothing else."""

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from bench.export import export_table, main, reexport
from bench.spec import available, load_spec, parse_spec
from seqmem.config import RunConfig
from seqmem.store import Store, load_results, write_csv

ROOT = Path(__file__).resolve().parents[1]


def _spec(keep: bool):
    text = {"name": "t", "seeds": 2, "units": 4, "sequences": ["ABCA"], "max_epochs": 3}
    return parse_spec({**text, **({"export_loss_curve": True} if keep else {})}, name="t")


def _rows(spec) -> list[dict]:
    return [{**r.config.to_dict(), **r.columns(), "run_id": r.run_id, "status": "censored",
             "loss_curve": [1.25, 0.5 + r.config.seed], "final_loss": 0.125} for r in spec.runs]


@pytest.mark.parametrize("keep", [False, True])
def test_the_csv_keeps_loss_curve_by_the_spec_and_the_store_always(keep, tmp_path):
    spec = _spec(keep)
    with Store(tmp_path / "t.sqlite") as store:
        store.write(_rows(spec))
    csv = export_table(spec, tmp_path / "t.sqlite", tmp_path / "t.csv")
    assert ("loss_curve" in csv.read_text().splitlines()[0]) == keep
    table, stored = load_results(csv), load_results(tmp_path / "t.sqlite")
    assert list(stored["loss_curve"]) == [[1.25, 0.5], [1.25, 1.5]]
    assert list(table["loss_curve"]) == (list(stored["loss_curve"]) if keep else [None, None])
    pd.testing.assert_frame_equal(table.drop(columns="loss_curve"),
                                  stored.drop(columns="loss_curve"))


def test_reexporting_a_csv_drops_only_the_column_byte_for_byte(tmp_path):
    spec = _spec(False)
    csv = write_csv(pd.DataFrame(_rows(spec)), tmp_path / "t.csv")
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert reexport(spec, csv) == "dropped loss_curve"
    expected = tmp_path / "expected.csv"
    raw.drop(columns="loss_curve").to_csv(expected, index=False, lineterminator="\n")
    assert csv.read_bytes() == expected.read_bytes()
    assert reexport(spec, csv) == "unchanged"


def test_a_table_made_before_later_columns_keeps_the_columns_it_has(tmp_path):
    spec = _spec(False)
    csv = write_csv(pd.DataFrame(_rows(spec)), tmp_path / "t.csv")
    old = pd.read_csv(csv, dtype=str, keep_default_na=False).drop(columns=["bits_curve", "cell"])
    old.to_csv(csv, index=False, lineterminator="\n")
    reexport(spec, csv)
    header = csv.read_text().splitlines()[0].split(",")
    assert header == [c for c in old.columns if c != "loss_curve"]


def test_curves_the_spec_keeps_cannot_come_back_from_a_csv_without_them(tmp_path):
    csv = write_csv(pd.DataFrame(_rows(_spec(False))), tmp_path / "t.csv", loss_curve=False)
    before = csv.read_bytes()
    with pytest.raises(ValueError, match="only its store could restore it"):
        reexport(_spec(True), csv)
    assert csv.read_bytes() == before


def test_a_store_that_disagrees_with_the_table_leaves_the_table_as_it_was(tmp_path):
    spec = _spec(False)
    rows = _rows(spec)
    csv = write_csv(pd.DataFrame(rows), tmp_path / "t.csv")
    with Store(tmp_path / "t.sqlite") as store:
        store.write([{**rows[0], "final_loss": 0.25}, rows[1]])
    before = csv.read_bytes()
    with pytest.raises(ValueError, match="would change values besides loss_curve"):
        reexport(spec, csv, tmp_path / "t.sqlite")
    assert csv.read_bytes() == before


def test_the_command_reexports_named_tables_and_refuses_bad_input(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    rows = [{**RunConfig("ABCA", seed=s).to_dict(), "run_id": RunConfig("ABCA", seed=s).run_id,
             "loss_curve": [1.0]} for s in range(2)]
    write_csv(pd.DataFrame(rows), results / "quick.csv")
    assert main(["quick", "--results", str(results)]) == 0
    assert "quick: " in capsys.readouterr().out
    assert "loss_curve" not in (results / "quick.csv").read_text().splitlines()[0]
    assert main(["width_lr", "--results", str(results)]) == 2  # no committed table there
    with pytest.raises(SystemExit):
        main(["--all", "quick"])


def test_every_committed_table_follows_its_specs_rule():
    """A committed results/<spec>.csv has loss_curve exactly where its spec keeps it."""
    committed = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.split()
    checked = 0
    for name in available():
        path = ROOT / "results" / f"{name}.csv"
        if f"results/{name}.csv" not in committed:
            continue
        header = path.read_text().split("\n", 1)[0].split(",")
        assert ("loss_curve" in header) == load_spec(name).export_loss_curve, name
        checked += 1
    assert checked >= 20
