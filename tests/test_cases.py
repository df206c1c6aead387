import json
import subprocess
import sys

import pytest

from bench.cases import CASES, case_configs, summary_row
from bench.notebook import run_notebook


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "bench.cases", *args], capture_output=True, text=True)


def test_json_records_match_the_notebook_code():
    out = _cli("--cases", "1", "--seed-list", "0", "1", "--format", "json", "--jobs", "1")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["case"], r["seed"]) for r in rows] == [(1, 0), (1, 1)]
    for r in rows:
        expected = run_notebook(r["sequence"], True, 32, r["seed"], max_epochs=1000)
        assert r["epochs_to_memorize"] == expected


@pytest.mark.parametrize("args, message", [
    (["--cases", "8"], "unknown case 8"),
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["--seed-list", "1", "1"], "distinct"),
    (["--format", "yaml"], "invalid choice"),
    (["--engine", "jax"], "invalid choice"),
    (["--jobs", "0"], "--jobs must be non-zero"),
])
def test_bad_arguments_are_rejected(args, message):
    out = _cli(*args)
    assert out.returncode == 2
    assert message in out.stderr


def test_case_definitions_follow_the_notebook():
    assert [c.reset for c in CASES.values()] == ["char", "epoch", "char", "epoch", "epoch", "epoch", "epoch"]
    assert CASES[7].units == 128 and all(c.units == 32 for n, c in CASES.items() if n != 7)
    cfg = case_configs(CASES[5], [3], "population")[0]
    assert len(cfg.sequence) == 31 and cfg.max_epochs == 1000 and cfg.loss == "softmax"


def test_summary_judges_claims():
    class R:
        def __init__(self, e):
            self.memorized, self.epochs_to_memorize = e is not None, e
            self.config = case_configs(CASES[4], [0], "population")[0]

    row = summary_row(CASES[4], [R(150), R(170), R(None)])
    assert row["success_rate"] == pytest.approx(2 / 3) and row["median"] == 160 and row["claim_holds"]
    assert not summary_row(CASES[4], [R(600), R(700)])["claim_holds"]
    assert summary_row(CASES[3], [R(None), R(None)])["claim_holds"]
