import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cases import (
    FASTER,
    HOLDS,
    NOT_EXCLUDED,
    SLOWER,
    case_summary,
    cases_markdown,
    verdict,
)
from bench.cases import parse_args, run_cases
from bench.reproduce import differences
from bench.worker import FAIL_ENV
from seqmem.cases import NOTEBOOK_CASES as CASES
from seqmem.config import RunConfig
from seqmem.schema import conform, typed
from seqmem.store import load_results, write_csv
from tests.notebook import run_notebook

FIXTURES = Path(__file__).parent / "fixtures" / "results"
COMMITTED = Path(__file__).parents[1] / "results" / "cases.csv"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "bench.cases", *args], capture_output=True,
                          text=True)


@pytest.mark.slow
def test_json_records_match_the_notebook_code():
    out = _cli("--cases", "1", "--seed-list", "0", "1", "--format", "json", "--jobs", "1")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["case"], r["seed"]) for r in rows] == [(1, 0), (1, 1)]
    for r in rows:
        expected = run_notebook(r["sequence"], True, 32, r["seed"], max_epochs=1000)
        assert r["epochs_to_memorize"] == expected


def test_the_cases_train_as_the_sweep_trained_them_record_for_record(tmp_path):
    """bench.cases runs the sweep's chunks, backend and worker: case 1's first two seeds
    are the committed rows of `python -m bench.sweep cases`, config and outcome. (Their
    origin and population are the sweep's; bits_stored and later columns postdate them.)"""
    table = run_cases([1], [0, 1], jobs=1)
    rounded = load_results(write_csv(table, tmp_path / "cases.csv"))  # as the CSV rounds
    record = ["run_id", *RunConfig.__dataclass_fields__, "memorized", "epochs_to_memorize",
              "steps", "final_prefix", "longest_substring", "final_loss", "loss_curve"]
    assert len(rounded) == 2 and differences(load_results(COMMITTED), rounded[record]) == []


def test_a_failed_run_stops_bench_cases_in_one_line(monkeypatch):
    monkeypatch.setenv(FAIL_ENV, CASES[1].config().sequence)  # the worker's failure hook
    with pytest.raises(SystemExit, match=r"^2 of 2 runs failed, e.g. case1 seed 0: "
                                         r"RuntimeError: .*injected failure"):
        run_cases([1], [0, 1], jobs=1)


def test_the_table_from_stored_runs_is_the_one_summary():
    out = _cli("--from", str(FIXTURES / "cases.csv"), "--seeds", "8")
    assert out.returncode == 0, out.stderr
    from seqmem.store import load_results

    assert out.stdout.strip() == cases_markdown(case_summary(load_results(FIXTURES / "cases.csv")))


@pytest.mark.parametrize("args, message", [
    (["--cases", "8"], "unknown case 8"),
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["--seed-list", "1", "1"], "distinct"),
    (["--format", "yaml"], "invalid choice"),
    (["--engine", "jax"], "invalid choice"),
    (["--jobs", "0"], "--jobs must be non-zero"),
    (["--from", "nosuch.csv"], "--from nosuch.csv: no such file"),
])
def test_bad_arguments_are_rejected(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_argument_exits_2_through_the_real_cli():
    out = _cli("--cases", "9")
    assert out.returncode == 2 and "unknown case 9" in out.stderr and out.stdout == ""


def test_case_definitions_follow_the_notebook():
    assert [c.reset for c in CASES.values()] == ["char", "epoch", "char", "epoch", "epoch", "epoch", "epoch"]
    assert CASES[7].units == 128 and all(c.units == 32 for n, c in CASES.items() if n != 7)
    cfg = CASES[5].config(seed=3)
    assert len(cfg.sequence) == 31 and cfg.max_epochs == 1000 and cfg.loss == "softmax"


def test_the_verdict_rule():
    four, six = CASES[4], CASES[6]  # claims: 100-200 epochs; never converges
    assert verdict(four, 3, 3, 150, 120, 400) == HOLDS
    assert verdict(four, 3, 3, 250, 180, 400) == NOT_EXCLUDED  # median out, CI overlaps
    assert verdict(four, 3, 3, 400, 300, 500) == SLOWER
    assert verdict(four, 3, 3, 60, 50, 80) == FASTER
    assert verdict(four, 1, 3, math.inf, 400, math.inf) == SLOWER  # not reached
    assert verdict(six, 0, 20, math.inf, math.inf, math.inf) == HOLDS
    assert verdict(six, 4, 20, math.inf, 900, math.inf) == "no: 4 of 20 memorize"


def _rows(case, epochs):
    """Stored rows of `case`, one per seed; None: not memorized within the budget."""
    rows = []
    for seed, e in enumerate(epochs):
        cfg = case.config(seed)
        rows.append(conform({**cfg.to_dict(), "run_id": cfg.run_id, "status": "memorized"
                             if e is not None else "censored", "memorized": e is not None,
                             "epochs_to_memorize": e, "epochs_trained": e or 1000}))
    return rows


def test_the_summary_counts_censored_runs_in_the_median():
    # 3 of 5 memorized: the median of the memorized (140) would say "holds";
    # counting the two censored runs the Kaplan-Meier median is 500.
    table = typed(pd.DataFrame(_rows(CASES[4], [120, 140, 500, None, None])
                               + _rows(CASES[6], [None] * 4)))
    s = case_summary(table).set_index("case")
    assert list(s.index) == [4, 6]
    assert (s.loc[4, "memorized"], s.loc[4, "runs"], s.loc[4, "median"]) == (3, 5, 500)
    assert s.loc[4, "verdict"] == NOT_EXCLUDED and s.loc[6, "verdict"] == HOLDS
    assert "| 4 | repeatone | epoch | 32 | 3/5 | 500 [" in cases_markdown(s.reset_index())
