"""The analysis: censored fits recover known laws, every part on a synthetic study drawn
from a known law (tests/fixtures/make_fixture.py), the CLI end to end, predict."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.between import between
from analysis.frontier import crossing
from analysis.law import cluster_cov, cluster_parts, fit_aft, tic_penalty
from analysis.lawfit import candidates, fit_candidate, law_data
from analysis.load import load_tables, outcomes
from analysis.pipeline import analyse
from analysis.predict import predict
from analysis.survival import kaplan_meier
from seqmem.schema import typed
from tests.fixtures.make_fixture import SEED_SD, SEQ_SD, TRUE_LAW

pytestmark = pytest.mark.slow  # the fast subset is pytest -m "not slow"

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "results"
FIGURES = {"width_lr", "best_lr", "survival_by_units", "frontier", "calibration", "residuals",
           "depth_forks", "correlation", "time_vs_units", "cases", "case_loss_curves"}


def _simulate(dist: str, n: int, rng: np.random.Generator, beta: np.ndarray, sigma: float):
    """Design matrix and (lower, upper] bounds observed on a 10-epoch grid, budget 1000."""
    X = np.column_stack([np.ones(n), np.log(rng.choice([4, 16, 64, 256], n)),
                         np.log(rng.choice([8, 16, 32, 64], n)), np.log(rng.integers(1, 7, n))])
    w = rng.standard_normal(n) if dist == "lognormal" else np.log(rng.exponential(size=n))
    t = np.exp(X @ beta + sigma * w)
    e = np.ceil(t / 10) * 10
    cens = e > 1000
    return X, np.where(cens, 1000.0, e - 10), np.where(cens, np.inf, e)


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


def test_cluster_robust_intervals_cover_a_sequence_level_effect():
    """A covariate that varies between sequences only: runs of one sequence share its
    effect, so the model-based SE is far too small and the clustered one is right."""
    rng = np.random.default_rng(4)
    hits = []
    for _ in range(20):
        g = np.repeat(np.arange(40), 25)
        x1 = np.repeat(rng.normal(size=40), 25)
        X = np.column_stack([np.ones(len(g)), x1])
        t = np.exp(5 + 0.5 * x1 + 0.6 * rng.normal(size=40)[g] + 0.4 * rng.normal(size=len(g)))
        e = np.ceil(t / 10) * 10
        lo, hi = np.where(e > 1000, 1000.0, e - 10), np.where(e > 1000, np.inf, e)
        fit = fit_aft(X, lo, hi, "lognormal", ["x1"])
        se = math.sqrt(cluster_cov(fit, X, lo, hi, g)[1, 1])
        assert se > 3 * fit.stderr()["x1"]
        hits.append(abs(fit.beta[1] - 0.5) < 1.96 * se)
    assert np.mean(hits) >= 0.8


def test_tic_penalty_counts_parameters_for_independent_runs_and_more_for_clustered_ones():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(40), 25)
    x1 = np.repeat(rng.normal(size=40), 25)
    X = np.column_stack([np.ones(len(g)), x1])

    def penalty(cluster_sd: float, groups: np.ndarray) -> float:
        t = np.exp(5 + 0.5 * x1 + cluster_sd * rng.normal(size=40)[g]
                   + 0.4 * rng.normal(size=len(g)))
        lo, hi = t * 0.999, t * 1.001  # (nearly) exact times
        fit = fit_aft(X, lo, hi, "lognormal", ["x1"])
        return tic_penalty(*cluster_parts(fit, X, lo, hi, groups))

    # a right model and independent runs: Takeuchi's penalty is the parameter count, 3
    assert penalty(0.0, np.arange(len(g))) == pytest.approx(3, abs=0.8)
    # seeds of a sequence moving together: the intercept and x1 cost far more than 1 each
    assert penalty(0.6, g) > 10


def test_outcome_intervals_handle_grid_epoch_zero_and_censoring():
    df = typed(pd.DataFrame(dict(run_id=list("abc"), status=["memorized", "memorized", "censored"],
                                 memorized=[True] * 2 + [False], epochs_to_memorize=[30, 0, None],
                                 epochs_trained=[30, 0, 400], eval_every=[10] * 3,
                                 max_epochs=[400] * 3, length=[5] * 3)))
    out = outcomes(df)
    assert out["lower"].tolist() == [20, 0, 400]
    assert out["upper"].tolist() == [30, 1, math.inf]
    assert out["observed"].tolist() == [30, 0, 400]
    assert out["upper_steps"].tolist() == [150, 5, math.inf]
    assert out["budget_in_steps"].tolist() == [2000] * 3


def test_kaplan_meier_median_and_budget():
    km = kaplan_meier(np.array([10, 20, 30, 40, 400, 400]), np.array([1, 1, 1, 1, 0, 0]), 400)
    assert km.median == 30 and km.p_budget == pytest.approx(4 / 6)
    none = kaplan_meier(np.array([400, 400]), np.array([0, 0]), 400)
    assert math.isinf(none.median) and none.p_budget == 0


def test_the_frontier_crossing_and_its_bounds():
    lengths = np.array([16, 32, 64, 128])
    assert crossing(lengths, np.array([8, 8, 4, 0]), np.array([8] * 4)) == (64.0, "")
    est, bound = crossing(lengths, np.array([8, 6, 2, 0]), np.array([8] * 4))
    assert bound == "" and 32 < est < 64
    # a noisy rise is smoothed away (isotonic), not read as a second crossing
    assert crossing(lengths, np.array([8, 3, 5, 0]), np.array([8] * 4))[1] == ""
    assert crossing(lengths, np.array([1, 0, 0, 0]), np.array([8] * 4)) == (16.0, "<")
    assert crossing(lengths, np.array([8, 8, 8, 8]), np.array([8] * 4)) == (128.0, ">")


@pytest.fixture(scope="module")
def fixture_analysis():
    tables, _ = load_tables(FIXTURE)
    return analyse(tables)


TRUE_MODEL = "quadratic in ln units and ln lr; loss shifts; length + depth + ambiguity"


def test_selection_keeps_the_true_law_among_the_best_and_rejects_the_power_law(fixture_analysis):
    comp = fixture_analysis.law.comparison.set_index("model")
    assert len(comp) == len(candidates()) and comp["delta_tic"].min() == 0
    # the fixture has few sequences: supersets of the truth may tie with it, but not beat it
    assert comp.loc[TRUE_MODEL, "delta_tic"] <= 2
    power = comp[comp.index.str.startswith("power law")]
    assert (power["delta_tic"] > 10).all()  # the law is quadratic in ln units and ln lr
    # AIC treats the seeds of a sequence as independent, so it charges fewer parameters
    assert (comp["effective_k"] > comp["k"]).all()


def test_the_law_recovers_the_synthetic_law_and_its_spreads(fixture_analysis):
    law = fixture_analysis.law
    _, coef = fit_candidate(law_data(load_tables(FIXTURE)[0]), TRUE_MODEL)
    c = coef.set_index("term")
    for term in ("lu", "lu2", "lr", "lr2", "lu:lr", "logits", "log1p_ambiguous"):
        # within 2.5 cluster SEs: the fixture has few sequences
        assert abs(c.loc[term, "estimate"] - TRUE_LAW[term]) < 2.5 * c.loc[term, "cluster_se"], term
    # a sequence-level covariate: its clustered SE is wider than the model-based one
    assert c.loc["log1p_ambiguous", "cluster_se"] > c.loc["log1p_ambiguous", "wald_se"]
    assert law.sigma_seed == pytest.approx(SEED_SD, abs=0.06)
    assert law.sigma_sequence == pytest.approx(SEQ_SD, abs=0.12)


def test_width_lr_finds_each_widths_best_lr(fixture_analysis):
    w = fixture_analysis.width
    best = w.best.set_index(["loss", "units"])
    # under the synthetic law ln T has its minimum in lr at ln(lr/1e-3) = (0.3 - 0.1 lu) / 0.5
    for (loss, units), r in best.iterrows():
        cells = w.cells[(w.cells["loss"] == loss) & (w.cells["units"] == units)]
        assert r["share"] == cells["share"].max()
        assert r["share_lo"] <= r["share"] <= r["share_hi"]
    assert set(w.steps["wide"]) == {16, 64, 256}


def test_cells_between_the_grid_are_set_beside_their_four_grid_neighbours(fixture_analysis):
    b = fixture_analysis.between.cells.set_index(["loss", "units"])
    assert (b["neighbours"] == 4).all()
    assert set(b["lr_around"]) == {"0.001-0.003"}
    assert b.xs(8, level="units")["units_around"].eq("4-16").all()
    assert b.xs(32, level="units")["units_around"].eq("16-64").all()
    # the same synthetic law made both tables: between the grid points nothing new happens
    assert fixture_analysis.between.inside == len(b)
    v = fixture_analysis.between_check
    assert v.overlap == v.sequences == 6 and v.runs == 96


def test_a_share_outside_its_neighbours_range_is_flagged():
    grid = pd.DataFrame([dict(loss="logits", units=u, lr=lr, share=0.1, rule=None)
                         for u in (16, 64) for lr in (1e-3, 3e-3)])
    runs = pd.read_csv(FIXTURE / "width_lr_between.csv")
    runs = runs[(runs["units"] == 32) & (runs["loss"] == "logits")]
    b = between(typed(runs.assign(status="memorized", memorized=True,
                                  epochs_to_memorize=100, steps_to_memorize=1600)), grid)
    (r,) = b.cells.itertuples()
    assert r.share == 1.0 and r.share_lo > 0.1 and not r.inside


def test_the_frontier_on_fresh_sequences_agrees_under_one_law(fixture_analysis):
    f = fixture_analysis.frontier_fresh
    assert sorted(f["units"]) == [2, 8] and set(f["budget_steps"]) == {4000}
    assert ((f["lo"] <= 1) & (f["hi"] >= 1)).all()
    assert (f["first_L_star"] != f["fresh_L_star"]).any()  # other sequences, other runs


def test_validation_on_the_held_out_sequences(fixture_analysis):
    v = fixture_analysis.validation
    assert v.overlap == 0 and v.sequences == 5
    assert v.brier < 0.5 * v.brier_no_skill  # the synthetic law is the truth
    assert 1.0 <= v.median_factor < 1.6
    assert v.calibration["runs"].sum() == v.runs


def test_the_design_separates_depth_from_ambiguity(fixture_analysis):
    d = fixture_analysis.design
    assert abs(d.correlation.loc["context_depth", "ambiguous_transitions"]) < 0.2
    e = d.effects.set_index(["loss", "metric"])
    amb = e.loc[("softmax", "1 + ambiguous transitions")]
    assert amb["lo"] < TRUE_LAW["log1p_ambiguous"] < amb["hi"]
    assert set(d.cells["depth"]) == {2, 3, 4, 6}


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("analysis")
    proc = subprocess.run([sys.executable, "-m", "analysis", "--results", str(FIXTURE), "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_cli_end_to_end_writes_fit_figures_and_report(cli_out):
    for name in FIGURES:
        assert (cli_out / f"{name}.png").stat().st_size > 10_000, name
    doc = json.loads((cli_out / "fit.json").read_text())
    assert doc["formula"].startswith("ln T_steps = ")
    assert doc["validation"]["runs"] > 0
    report = (cli_out / "REPORT.md").read_text()
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "Out of sample", "seven cases"):
        assert heading in report
    assert f"{doc['validation']['median_factor']:.2f}" in report  # numbers come from the fit


def test_the_same_results_give_the_same_bytes(cli_out, tmp_path):
    again = tmp_path / "again"
    proc = subprocess.run([sys.executable, "-m", "analysis", "--results", str(FIXTURE), "--out",
                           str(again)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for path in sorted(cli_out.iterdir()):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_predict_uses_the_saved_law_and_refuses_what_it_does_not_cover(cli_out):
    fit = cli_out / "fit.json"
    ps = [predict("random30", 32, fit=fit, budget=b)["p_within_budget"] for b in (10, 100, 1000)]
    assert 0 <= ps[0] < ps[1] < ps[2] <= 1
    fast = predict("random30", 32, loss="logits", fit=fit)
    slow = predict("random30", 32, fit=fit)
    assert fast["median_steps"] < slow["median_steps"]
    assert slow["median_epochs"] == pytest.approx(slow["median_steps"] / 30)
    stuck = predict("repeatone", 32, fit=fit, reset="char")
    assert math.isinf(stuck["median_steps"]) and stuck["p_within_budget"] == 0
    with pytest.raises(ValueError, match="the law covers bptt='epoch' only"):
        predict("alphabet", 32, fit=fit, bptt=4)
    with pytest.warns(UserWarning, match="outside the fitted range"):
        far = predict("ABCDEFGH" * 40, 32, fit=fit)
    assert far["extrapolated"] and any("no fitted run near length 320" in w for w in far["why"])
    # an interval beside each point, and the inputs and metrics it used
    lo, hi = slow["median_steps_ci"]
    assert lo < slow["median_steps"] < hi
    a, b = slow["steps_80"]
    assert a < slow["median_steps"] < b and b - a > hi - lo  # one run spreads more than the median
    assert slow["inputs"]["length"] == 30 and slow["metrics"]["length"] == 30
    assert not slow["extrapolated"] and slow["why"] == []
    # options no fitted run had are refused, not answered with the LSTM's numbers
    with pytest.raises(ValueError, match="fitted on cell='lstm' only, got cell='gru'"):
        predict("random30", 32, fit=fit, cell="gru")
    with pytest.raises(ValueError, match="fitted on alphabet="):
        predict("ACGTACGA", 32, fit=fit, alphabet="ACGT")
    with pytest.raises(ValueError, match="fitted on update='step' only"):
        predict("random30", 32, fit=fit, update="chunk")
    # the frontier's protocol is answered by the law across length, with its own budget
    front = predict("random30", 32, lr=3e-3, fit=fit, protocol="frontier")
    assert "across length" in front["law"] and "across length" not in slow["law"]
    assert front["inputs"]["protocol"] == "frontier" and front["inputs"]["loss"] == "logits"
    assert front["budget"] == 200_000 // 30 and 0 < front["p_within_budget"] <= 1
    with pytest.raises(ValueError, match=r"\(notebook options\);.*\(frontier protocol"):
        predict("random30", 32, fit=fit, bptt=16)  # probability feedback: neither law's runs
    with pytest.raises(ValueError, match="protocol must be one of notebook, frontier"):
        predict("random30", 32, fit=fit, protocol="mine")


def test_a_missing_table_is_skipped_with_a_note(tmp_path):
    part = tmp_path / "results"
    part.mkdir()
    for name in ("width_lr.csv", "depth_ambiguity.csv"):
        shutil.copy(FIXTURE / name, part / name)
    tables, sources = load_tables(part)
    a = analyse(tables)
    assert a.validation is None and a.frontier is None and a.cases is None
    assert any("heldout" in n and "frontier" in n for n in a.notes)
    assert set(sources) == {"width_lr", "depth_ambiguity"}


def test_an_effect_compares_two_settings_on_the_sequences_both_were_run_on():
    from analysis.frontier import _shared

    rows = [dict(cell="lstm", units=8, alphabet_size=4, lr=lr, budget=2e5, gen_seed=g,
                 length=length)
            for lr, seeds, lengths in ((1e-3, range(5), (16, 32, 64)), (1e-2, range(3), (16, 32)))
            for g in seeds for length in lengths]
    kept = _shared(pd.DataFrame(rows), "lr")
    assert set(kept["gen_seed"]) == {0, 1, 2}
    # the lengths only one setting tested stay: they are where its L* may lie
    assert set(kept[kept["lr"] == 1e-3]["length"]) == {16, 32, 64}


def test_the_design_baseline_knows_loss_lr_width_and_budget_but_not_the_sequence():
    from analysis.validate import design_baseline

    fitted = pd.DataFrame(dict(
        loss=["logits"] * 4 + ["softmax"] * 2, lr=[1e-3, 1e-3, 1e-2, 1e-3, 1e-3, 1e-3],
        units=[32, 32, 32, 128, 32, 32], event=[True, False, True, True, False, False],
        observed=[100.0, 1000.0, 50.0, 10.0, 1000.0, 1000.0]))
    runs = pd.DataFrame(dict(loss=["logits", "logits", "softmax"], lr=[1e-3, 2e-3, 1e-3],
                             units=[24, 40, 32], max_epochs=[1000, 50, 1000]))
    got = design_baseline(runs, fitted)
    # the test set spans lr 1e-3-2e-3 and 24-40 units: the fitting runs at 1e-3 and 32 units;
    # under the loss on logits one of two within 1000 epochs, none within 50; softmax none
    np.testing.assert_allclose(got, [0.5, 0.0, 0.0])
