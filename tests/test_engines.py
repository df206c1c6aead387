"""analysis.engines: the per-case comparison of the two engines' stored runs."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.engines import compare, engines_markdown
from seqmem.cases import NOTEBOOK_CASES as CASES
from seqmem.schema import conform, typed
from seqmem.store import write_csv


def _table(case, engine, epochs, memorized, wall, population=None):
    configs = [CASES[case].config(seed, engine) for seed in range(len(epochs))]
    return typed(pd.DataFrame([conform({
        **c.to_dict(), "run_id": c.run_id, "status": "memorized" if m else "censored",
        "memorized": m, "epochs_to_memorize": e if m else None, "epochs_trained": e,
        "wall_time_s": w, "population": population or len(epochs)})
        for c, e, m, w in zip(configs, epochs, memorized, wall, strict=True)]))


def test_identical_runs_agree_and_compute_is_counted_per_engine():
    epochs, done = [50, 60, 70, 1000], [True, True, True, False]
    pop = _table(1, "population", epochs, done, [1.0, 2.0, 3.0, 4.0])
    ref = _table(1, "reference", epochs, done, [10.0, 20.0, 30.0, 40.0], population=1)
    [row] = compare(pop, ref).to_dict(orient="records")
    assert row["case"] == 1 and row["seeds"] == 4
    assert row["logrank_p"] == pytest.approx(1.0)
    assert row["identical_epochs"] == 1.0
    assert row["population_median"] == row["reference_median"] == 60.0  # Kaplan-Meier: S = 1/2
    # The four seeds are one population (one chunk): it costs its slowest run.
    assert row["population_compute_s"] == 4.0
    assert row["reference_compute_s"] == 100.0
    assert "| 1 | 4 | 75% / 75% | 60 / 60 | 1.00 | 100% | 4 / 100 |" in engines_markdown(
        compare(pop, ref))


def test_two_populations_cost_the_sum_of_their_slowest_runs():
    epochs, done = [50] * 6, [True] * 6
    pop = _table(2, "population", epochs, done, [1.0, 5.0, 2.0, 3.0, 1.0, 1.0], population=3)
    ref = _table(2, "reference", epochs, done, [1.0] * 6, population=1)
    assert compare(pop, ref).loc[0, "population_compute_s"] == 5.0 + 3.0


def test_different_distributions_are_detected():
    n = 12
    pop = _table(2, "population", [40 + i for i in range(n)], [True] * n, [1.0] * n)
    ref = _table(2, "reference", [1000] * n, [False] * n, [1.0] * n)
    [row] = compare(pop, ref).to_dict(orient="records")
    assert row["logrank_p"] < 0.001
    assert row["identical_epochs"] == 0.0
    assert row["reference_memorized"] == 0.0 and row["reference_median"] == float("inf")


def test_only_cases_and_seeds_in_both_tables_are_compared():
    pop = pd.concat([_table(1, "population", [50, 60, 70], [True] * 3, [1.0] * 3),
                     _table(4, "population", [100], [True], [1.0])], ignore_index=True)
    ref = _table(1, "reference", [50, 61], [True, True], [1.0, 1.0])
    [row] = compare(pop, ref).to_dict(orient="records")
    assert (row["case"], row["seeds"]) == (1, 2)
    assert row["identical_epochs"] == 0.5


def test_the_command_prints_the_table_of_two_stored_tables(tmp_path):
    epochs, done = [50, 60, 70, 1000], [True, True, True, False]
    pop = write_csv(_table(1, "population", epochs, done, [1.0] * 4), tmp_path / "pop.csv")
    ref = write_csv(_table(1, "reference", epochs, done, [10.0] * 4, population=1),
                    tmp_path / "ref.csv")
    out = subprocess.run([sys.executable, "-m", "analysis.engines", "--population", str(pop),
                          "--reference", str(ref)], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr
    assert "| 1 | 4 | 75% / 75% | 60 / 60 | 1.00 | 100% | 1 / 40 |" in out.stdout
    assert "Compute for these cases: population 1 s, reference 40 s (40x)." in out.stdout
