"""The law's skill against design-aware baselines, the cure model and the pre-registration
(issue 18)."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pandas as pd
import pytest

from analysis.cure import STALL_LOSS, fit_cure
from analysis.law import design, fit_aft
from analysis.lawfit import DIFFICULTY_TERMS, refit
from analysis.preregistration import declarations, fitting_rows, provenance, sha256
from analysis.skill import FORECASTS, design_forecast, skill, without_difficulty


def _runs(rng: np.random.Generator, n_seq: int = 20, seeds: int = 20) -> pd.DataFrame:
    """Test runs whose true P(memorized) varies by sequence; `p_law` knows it, `p_design`
    knows only the average, the others are noisier."""
    rows = []
    for s in range(n_seq):
        p_true = 0.02 + 0.96 * s / (n_seq - 1)
        for _ in range(seeds):
            rows.append(dict(sequence=f"s{s}", loss="softmax", event=bool(rng.random() < p_true),
                             p_law=p_true, p_cure=p_true, p_no_difficulty=0.5, p_design=0.5))
    return pd.DataFrame(rows)


def _cells(runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    seqs = runs["sequence"].unique()
    median = rng.uniform(100, 1000, len(seqs))
    return pd.DataFrame(dict(sequence=seqs, loss="softmax", median=median,
                             median_law=median * 1.05, median_cure=median * 1.05,
                             median_no_difficulty=median * 2.0, median_design=median * 3.0))


def test_skill_scores_a_forecast_that_knows_each_sequence_above_one_that_does_not():
    rng = np.random.default_rng(0)
    runs = _runs(rng)
    s = skill(runs, _cells(runs, rng))
    scores = s.scores.set_index("forecast")
    assert scores.loc["law", "brier"] < scores.loc["design", "brier"]
    assert scores.loc["law", "median_factor"] == pytest.approx(1.05)
    assert scores.loc["no_difficulty", "median_factor"] == pytest.approx(2.0)
    gain = s.gain.set_index("gain").loc["difficulty terms"]
    assert gain["factor_gain"] == pytest.approx(2.0 / 1.05)
    assert gain["factor_met"] and gain["brier_met"]
    assert gain["brier_gain_lo"] > 0
    cure = s.gain.set_index("gain").loc["cure fraction"]  # the same forecast: no gain
    assert not cure["factor_met"] and not cure["brier_met"]
    verdict = s.verdicts.iloc[0]
    assert verdict["median_factor"]  # 1.05 <= 1.3
    assert set(s.scores["forecast"]) == set(FORECASTS)


def test_skill_says_n_a_for_brier_when_every_run_memorized():
    rng = np.random.default_rng(1)
    runs = _runs(rng).assign(event=True, p_design=1.0)
    s = skill(runs, _cells(runs, rng))
    assert s.verdicts.iloc[0]["brier"] is None
    assert math.isnan(s.verdicts.iloc[0]["brier_share_of_design"])
    assert all(g is None for g in s.gain["brier_met"])


def _law_rows(rng: np.random.Generator, n: int = 4000, never: float = 0.3) -> pd.DataFrame:
    """Runs whose log steps follow a lognormal AFT in width, lr and depth; under the
    notebook's loss a share `never` never memorizes. Budget: e^8 steps, evaluation every
    e^8/100 steps."""
    units = rng.choice([16, 64], n)
    lr = rng.choice([1e-3, 3e-3], n)
    loss = rng.choice(["softmax", "logits"], n)
    depth = rng.choice([2, 4], n)
    eta = 7.0 - 0.5 * np.log(units / 32) - 0.4 * np.log(lr / 1e-3) + 0.3 * np.log(depth)
    t = np.exp(eta + 0.4 * rng.standard_normal(n))
    t[(loss == STALL_LOSS) & (rng.random(n) < never)] = np.inf
    budget = math.exp(8.0)
    event = t <= budget
    step = budget / 100
    upper = np.where(event, np.ceil(t / step) * step, np.inf)
    lower = np.where(event, upper - step, budget)
    return pd.DataFrame(dict(units=units, lr=lr, loss=loss, context_depth=depth,
                             length=24, ambiguous_transitions=2, event=event,
                             lower_steps=lower, upper_steps=upper,
                             sequence=[f"s{i % 200}" for i in range(n)]))


def test_cure_model_recovers_the_stalled_share_and_fits_better_than_the_aft():
    rng = np.random.default_rng(2)
    data = _law_rows(rng)
    terms = ["lu", "lr", "log_depth", "logits"]
    aft = fit_aft(design(data, terms), data["lower_steps"], data["upper_steps"], "lognormal",
                  terms, hessian=False)
    cure = fit_cure(aft, data)
    assert cure.converged
    assert cure.loglik > aft.loglik + 50
    pi = cure.never(data)
    assert np.all(pi[data["loss"] == "logits"] == 0)
    assert pi[data["loss"] == STALL_LOSS].mean() == pytest.approx(0.3, abs=0.05)
    # the uncured part is the simulated AFT
    assert cure.aft.coef()["lu"] == pytest.approx(-0.5, abs=0.05)
    # P(within a budget) includes the stalled share: never above 1 - pi
    p = cure.prob_within(data, math.exp(20))
    assert np.allclose(p, 1 - pi, atol=1e-6)
    # half stalled or more: no finite median
    frame = data.iloc[:1].assign(loss=STALL_LOSS)
    cure.gamma = np.array([5.0] + [0.0] * (len(cure.gamma) - 1))
    assert math.isinf(cure.median(frame)[0])


def test_without_difficulty_drops_every_difficulty_term_and_keeps_the_rest():
    rng = np.random.default_rng(3)
    data = _law_rows(rng, n=1500, never=0.0)
    terms = ["lu", "lr", "log_depth", "logits", "logits:log_depth", "lu:log_depth"]
    law = refit(data, terms, [])
    nd = without_difficulty(law, data)
    assert set(nd.terms) == {"lu", "lr", "logits"}
    assert not any(set(t.split(":")) & DIFFICULTY_TERMS for t in nd.terms)
    assert nd.loglik < law.loglik


def test_design_forecast_uses_the_fitting_runs_inside_the_test_ranges():
    fitted = pd.DataFrame(dict(
        units=[16, 16, 64, 256], lr=[1e-3] * 4, loss=["softmax"] * 4,
        event=[True, False, True, True], observed=[100.0, 1000.0, 300.0, 10.0]))
    runs = pd.DataFrame(dict(units=[16, 64], lr=[1e-3, 1e-3], loss=["softmax"] * 2,
                             max_epochs=[1000, 200], budget_in_steps=[0, 0]))
    f = design_forecast(runs, fitted, "observed")
    # the 256-unit run is outside the test's widths: 2 of 3 memorized within 1000 epochs
    assert f["p_design"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert f["median_design"].iloc[0] == 300.0


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def git_history(repo, n: int) -> list[str]:
    """A new git repository at `repo` with n commits in a row; their hashes."""
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@t")
    _git(repo, "config", "user.name", "t")
    commits = []
    for i in range(n):
        (repo / "f").write_text(str(i))
        _git(repo, "add", "f")
        _git(repo, "commit", "-qm", f"c{i}")
        commits.append(_git(repo, "rev-parse", "HEAD"))
    return commits


def test_provenance_calls_rows_out_of_sample_only_after_the_freeze(tmp_path):
    repo = tmp_path / "repo"
    commits = git_history(repo, 3)
    data = _law_rows(np.random.default_rng(4), n=50).assign(run_id=[f"r{i}" for i in range(50)])
    freeze = dict(commit=commits[1], declarations_sha256=sha256(declarations()),
                  fitting_rows_sha256=fitting_rows(data))
    tables = {"before": pd.DataFrame(dict(git_commit=[commits[0]] * 3, git_dirty=False)),
              "after": pd.DataFrame(dict(git_commit=[commits[1], commits[2]], git_dirty=False)),
              "dirty": pd.DataFrame(dict(git_commit=[commits[2]], git_dirty=True)),
              "unknown": pd.DataFrame(dict(git_commit=["f" * 40], git_dirty=False))}
    v = provenance(tables, data, freeze, repo).tables.set_index("table")["verdict"]
    assert v["after"] == "out of sample"
    assert v["before"].startswith("made before the freeze")
    assert v["dirty"].startswith("made before the freeze")  # a dirty tree proves nothing
    assert v["unknown"].startswith("unverifiable")
    changed = dict(freeze, declarations_sha256="0" * 64)
    p = provenance({"after": tables["after"]}, data, changed, repo)
    assert not p.frozen
    assert p.tables["verdict"].iloc[0] == "made after the freeze, but the law changed since"
    moved = dict(freeze, fitting_rows_sha256=fitting_rows(data.iloc[1:]))
    assert not provenance({"after": tables["after"]}, data, moved, repo).frozen


def test_check_predict_lists_the_cells_predict_refuses_and_scores_the_rest():
    from analysis.load import load_results, outcomes
    from analysis.predict import load_fit
    from analysis.validate import check_predict

    table = load_results("results/predict_check.csv")
    cells = table.drop_duplicates(["sequence", "units", "lr", "loss"]).head(2)
    keep = table.merge(cells[["sequence", "units", "lr", "loss"]])
    clean = keep[keep["sequence"] == keep["sequence"].iloc[0]].assign(
        bptt="16", run_id=lambda d: d["run_id"] + "-clean", units=12)
    both = pd.concat([keep, clean], ignore_index=True)
    fitted = outcomes(keep)  # any fitting rows will do for the design forecast
    v = check_predict(load_fit(), both, fitted)
    assert len(v.refused) == 1
    assert v.refused["units"].iloc[0] == 12 and v.refused["runs"].iloc[0] == len(clean)
    assert "bptt" in v.refused["reason"].iloc[0]
    assert v.runs == len(keep) and len(v.cells) == 2
    assert v.cells["extrapolated"].dtype == bool


@pytest.mark.parametrize("factor, brier, replaces", [
    ((1.05, 1.2), (-0.001, 0.004), True),   # the factor gains, Brier shows no loss
    ((0.9, 1.1), (0.001, 0.01), True),      # Brier gains, the factor shows no loss
    ((1.05, 1.2), (-0.01, -0.001), False),  # a factor gain bought with a Brier loss
    ((0.95, 1.1), (-0.002, 0.003), False),  # no gain shown
])
def test_the_frozen_cure_rule(factor, brier, replaces):
    from types import SimpleNamespace

    from analysis.preregistered import cure_replaces
    from analysis.skill import STALL_GAIN

    gain = pd.DataFrame([dict(loss=STALL_GAIN[0], gain=STALL_GAIN[1],
                              factor_gain_lo=factor[0], factor_gain_hi=factor[1],
                              brier_gain_lo=brier[0], brier_gain_hi=brier[1])])
    assert cure_replaces(SimpleNamespace(skill=SimpleNamespace(gain=gain))) is replaces


def test_skill_resamples_families_of_nested_sequences_not_sequences():
    """A seed drawn at several lengths gives prefixes of one sequence: one family. Twenty
    sequences that are four families (five lengths each) resample four units."""
    rng = np.random.default_rng(3)
    runs = _runs(rng)
    cells = _cells(runs, rng)
    alone = {f"s{s}": f"<{s}>" for s in range(20)}  # no name a prefix of another
    independent = skill(runs.assign(sequence=runs["sequence"].map(alone)),
                        cells.assign(sequence=cells["sequence"].map(alone)))
    independent = independent.scores.set_index("forecast").loc["law"]
    base = {f"s{s}": "ACGT"[s % 4] * 2 + "B" * (s // 4) for s in range(20)}  # s0..s3 roots
    nested = skill(runs.assign(sequence=runs["sequence"].map(base)),
                   cells.assign(sequence=cells["sequence"].map(base)))
    law = nested.scores.set_index("forecast").loc["law"]
    assert (law["sequences"], law["families"]) == (20, 4)
    assert (independent["sequences"], independent["families"]) == (20, 20)
    assert law["brier"] == pytest.approx(independent["brier"])  # the same runs scored
    # four units resampled instead of twenty: another interval from the same runs
    assert (law["brier_lo"], law["brier_hi"]) != pytest.approx(
        (independent["brier_lo"], independent["brier_hi"]), rel=1e-3)


def test_the_report_names_the_families_and_warns_only_where_they_are_few():
    from analysis.report_checks import _families

    def scores(sequences, families):
        return pd.DataFrame(dict(loss=["logits"], sequences=[sequences], families=[families]))

    assert _families(scores(20, 20)) == ""  # nothing nested: nothing to say
    few = _families(scores(15, 3))
    assert "15 sequences in 3 families" in few and "indicative" in few
    many = _families(scores(48, 36))
    assert "48 sequences in 36 families" in many and "indicative" not in many
