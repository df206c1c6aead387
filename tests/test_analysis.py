"""The analysis: censored fits recover known laws, the CLI runs end to end, predict is sane."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.fit import (
    across_units,
    analyse,
    balanced_grid,
    bootstrap,
    fit_terms,
    kaplan_meier,
    prepare,
    step_cost,
)
from analysis.law import fit_aft
from analysis.load import load_results, normalize_steptime, outcomes, split_errors
from analysis.predict import predict
from seqmem.schema import typed
from tests.fixtures.make_fixture import (
    TRUE_LAW,
    per_step_us,
    synthetic_steptime,
    synthetic_study,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
FIGURES = ["survival_by_depth", "survival_by_units", "epochs_vs_units", "p_memorize_heatmap",
           "exponents", "options", "cases", "case_loss_curves", "time_vs_units"]


def _simulate(dist: str, n: int, rng: np.random.Generator, beta: np.ndarray, sigma: float):
    """Design matrix and (lower, upper] bounds observed on a 10-epoch grid, budget 1000."""
    X = np.column_stack([np.ones(n), np.log(rng.choice([4, 16, 64, 256], n)),
                         np.log(rng.choice([8, 16, 32, 64], n)), np.log(rng.integers(1, 7, n))])
    w = rng.standard_normal(n) if dist == "lognormal" else np.log(rng.exponential(size=n))
    t = np.exp(X @ beta + sigma * w)
    e = np.ceil(t / 10) * 10
    cens = e > 1000
    lower = np.where(cens, 1000.0, e - 10)
    upper = np.where(cens, np.inf, e)
    return X, lower, upper


@pytest.mark.parametrize("dist", ["lognormal", "weibull"])
def test_aft_recovers_a_known_law_from_censored_grid_data(dist):
    rng = np.random.default_rng(1)
    beta = np.array([2.8, -0.5, 1.0, 1.2])
    X, lower, upper = _simulate(dist, 2000, rng, beta, 0.5)
    assert 0.1 < np.mean(~np.isfinite(upper)) < 0.6  # really censored
    fit = fit_aft(X, lower, upper, dist, ["log_units", "log_length", "log_depth"])
    se = np.sqrt(np.diag(fit.cov)[:-1])
    assert np.all(np.abs(fit.beta - beta) < 3 * se), (fit.beta, se)
    assert abs(fit.sigma - 0.5) < 0.05
    other = "weibull" if dist == "lognormal" else "lognormal"
    assert fit.aic < fit_aft(X, lower, upper, other, ["a", "b", "c"], hessian=False).aic


def test_aft_likelihood_agrees_with_lifelines():
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(2)
    X, lower, upper = _simulate("lognormal", 600, rng, np.array([3.0, -0.4, 0.9, 0.8]), 0.6)
    lower = np.maximum(lower, 1.0)  # lifelines takes log(lower)
    ours = fit_aft(X, lower, upper, "lognormal", ["u", "l", "d"], hessian=False)
    df = pd.DataFrame(X[:, 1:], columns=["u", "l", "d"]).assign(lo=lower, hi=upper)
    ref = lifelines.LogNormalAFTFitter().fit_interval_censoring(df, "lo", "hi")
    mu = ref.params_["mu_"]
    np.testing.assert_allclose(ours.beta, [mu["Intercept"], mu["u"], mu["l"], mu["d"]],
                               atol=2e-3)
    assert ours.loglik == pytest.approx(ref.log_likelihood_, abs=1e-3)


def test_exponents_recovered_within_bootstrap_ci_from_a_synthetic_study():
    rng = np.random.default_rng(3)
    table = typed(synthetic_study(rng, seeds=8, units=(4, 32, 256), option_seeds=6))
    runs = outcomes(split_errors(table)[0])
    prep = prepare(runs)
    assert [e["term"] for e in prep.excluded] == ["short_window"]  # never memorizes
    terms = ["log_units", "log_length", "log_depth", "logits", "onehot"]
    fit = fit_terms(prep.data, terms, "lognormal")
    draws, failures = bootstrap(prep.data, fit, 200, np.random.default_rng(0))
    assert failures == 0
    # 99% per term: all five hold together with probability >= 95% (Bonferroni)
    lo, hi = draws.quantile(0.005), draws.quantile(0.995)
    truth = TRUE_LAW["coefficients"]
    for term in terms:
        assert lo[term] <= truth[term] <= hi[term], (term, lo[term], truth[term], hi[term])
        assert abs(fit.coef()[term] - truth[term]) < 0.3


def test_outcome_intervals_handle_grid_epoch_zero_and_censoring():
    df = typed(pd.DataFrame(dict(run_id=list("abc"), status=["memorized", "memorized", "censored"],
                                 memorized=[True] * 2 + [False], epochs_to_memorize=[30, 0, None],
                                 epochs_trained=[30, 0, 400], eval_every=[10] * 3,
                                 max_epochs=[400] * 3)))
    out = outcomes(df)
    assert out["lower"].tolist() == [20, 0, 400]
    assert out["upper"].tolist() == [30, 1, math.inf]
    assert out["observed"].tolist() == [30, 0, 400]


def test_units_summaries_compare_the_same_sequences():
    runs = pd.DataFrame(dict(units=[4] * 3 + [16] * 3 + [64] * 3 + [8],
                             sequence=list("ABC" * 3) + ["A"]))
    grid = balanced_grid(runs)  # units 8 has one sequence of the three: left out
    assert sorted(set(grid["units"])) == [4, 16, 64] and len(grid) == 9
    across = across_units(runs)  # "A" is the only sequence run at every units level
    assert set(across["sequence"]) == {"A"} and len(across) == 4


def test_kaplan_meier_median_and_budget():
    km = kaplan_meier(np.array([10, 20, 30, 40, 400, 400]), np.array([1, 1, 1, 1, 0, 0]), 400)
    assert km.median == 30 and km.p_budget == pytest.approx(4 / 6)
    none = kaplan_meier(np.array([400, 400]), np.array([0, 0]), 400)
    assert math.isinf(none.median) and none.p_budget == 0


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("analysis")
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "--results", str(FIXTURES / "study.csv"),
         "--out", str(out), "--bootstrap", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_cli_end_to_end_writes_fit_figures_and_report(cli_out):
    for name in FIGURES:
        assert (cli_out / f"{name}.png").stat().st_size > 10_000, name
    doc = json.loads((cli_out / "fit.json").read_text())
    assert doc["formula"].startswith("ln T = ")
    assert {"log_units", "log_length"} <= set(doc["terms"])
    assert doc["bootstrap"]["resamples"] == 20
    report = (cli_out / "REPORT.md").read_text()
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "seven cases"):
        assert heading in report
    assert f"{doc['coefficients']['log_units']:.3g}" in report  # numbers come from the fit


def test_predict_is_monotone_and_refuses_unseen_options(cli_out):
    fit = cli_out / "fit.json"
    small, big = predict("random30", 16, fit=fit), predict("random30", 128, fit=fit)
    assert big["median_epochs"] < small["median_epochs"]
    assert big["p_within_budget"] >= small["p_within_budget"]
    easy, hard = predict("alphabet", 32, fit=fit), predict("repeatfive", 32, fit=fit)
    assert easy["median_epochs"] < hard["median_epochs"]
    ps = [predict("random30", 32, fit=fit, budget=b)["p_within_budget"] for b in (10, 100, 1000)]
    assert 0 <= ps[0] < ps[1] < ps[2] <= 1
    assert predict("random30", 32, fit=fit, loss="logits")["median_epochs"] < \
        predict("random30", 32, fit=fit)["median_epochs"]
    stuck = predict("repeatone", 32, fit=fit, reset="char")
    assert math.isinf(stuck["median_epochs"]) and stuck["p_within_budget"] == 0
    with pytest.raises(ValueError, match="lr"):
        predict("alphabet", 32, fit=fit, lr=0.05)
    with pytest.warns(UserWarning, match="outside the fitted range"):
        assert predict("ABCDEFGH" * 40, 32, fit=fit)["extrapolated"]


def test_missing_cases_and_steptime_are_skipped_with_a_note():
    table = load_results(FIXTURES / "study.csv")
    a = analyse(table, cases=None, steptime=None, n_boot=2)
    assert a.cases_table is None
    assert any("cases" in n for n in a.notes)
    assert a.cost is not None and a.cost.source.startswith("fallback")
    # the synthetic wall times were built from the population engine's cost at P=10
    np.testing.assert_allclose(a.cost([16, 64]), [per_step_us(16), per_step_us(64)], rtol=0.05)


def test_step_cost_from_the_benchmark_grows_with_units_and_length():
    runs = pd.DataFrame(dict(engine=["population"], population=[10]))
    cost = step_cost(runs, normalize_steptime(synthetic_steptime()))
    assert "P=8" in cost.source and "length-dependent" in cost.source
    np.testing.assert_allclose(cost([32, 128], 26), [per_step_us(32), per_step_us(128)],
                               rtol=1e-4)
    np.testing.assert_allclose(cost(32, 1), per_step_us(32, bptt="1"), rtol=1e-4)
    assert cost.exponent == pytest.approx(0.8, abs=1e-4)
    assert cost(64, 128) > cost(64, 26) > cost(64, 8)
