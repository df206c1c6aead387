"""The divergence's form, fitted without the fresh sequences and scored on them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.divergence import fit_network
from analysis.divergence_check import fresh_check, run_loglik
from tests.test_divergence import _runs


def _network(truth_lc: float | None, fresh_lc: float | None, seed: int) -> pd.DataFrame:
    """One network's runs: 'fitted' sequences drawn with a pole at truth_lc, and fresh ones
    (frontier_fresh, 3 generator seeds per length) drawn with a pole at fresh_lc."""
    rng = np.random.default_rng(seed)
    fit = _runs(rng, truth_lc).assign(spec="frontier_lr", gen_seed=0)
    fresh = [_runs(rng, fresh_lc, lengths=(128, 362, 512, 609), per=4)
             .assign(spec="frontier_fresh", gen_seed=s) for s in (10, 11, 12)]
    runs = pd.concat([fit, *fresh], ignore_index=True)
    return runs.assign(cell="lstm", units=16, alphabet_size=26, budget_in_steps=200_000.0)


def test_a_true_divergence_predicts_fresh_sequences_better_than_the_power_law():
    row = fresh_check(_network(700.0, 700.0, seed=3)).iloc[0]
    assert row["chosen_without_fresh"] == "divergence"
    assert row["fresh_sequences"] == 12 and row["fresh_runs"] == 48
    assert row["loglik_gain"] > 0
    assert row["favour_divergence"] > row["favour_power"]
    assert row["sign_flip_p"] < 0.05
    assert row["divergence_factor"] < row["power_factor"]


def test_fresh_sequences_without_a_pole_count_against_the_divergence():
    # fitted on a pole at 700, tested on fresh sequences that memorize at 609 and beyond the
    # fit's pole would: the held-out likelihood must turn against the divergence
    runs = _network(700.0, None, seed=4)
    fresh = runs[runs["spec"] == "frontier_fresh"]
    row = fresh_check(runs).iloc[0]
    assert row["loglik_gain"] < 0 or row["ruled_out"] > 0
    fit = fit_network(runs[runs["spec"] != "frontier_fresh"])
    ll = run_loglik(fit, "divergence", fresh)
    assert np.all(ll <= 0)


def test_a_memorized_run_beyond_the_pole_is_impossible_and_a_censored_one_certain():
    fit = dict(longest_memorized=500, divergence_params=[3.0, 1.0, math.log(0.2), 0.0, 0.0])
    # Lc = 500 (1 + e^0) = 1000
    runs = pd.DataFrame(dict(length=[1200, 1200], lower_steps=[1000.0, 200_000.0],
                             upper_steps=[1500.0, math.inf]))
    ll = run_loglik(fit, "divergence", runs)
    assert ll[0] == -math.inf and ll[1] == 0.0


def test_networks_without_fresh_runs_are_left_out():
    runs = _network(700.0, 700.0, seed=5)
    runs = runs[runs["spec"] != "frontier_fresh"]
    assert fresh_check(runs).empty


@pytest.mark.parametrize("column", ["power_factor", "divergence_factor", "loglik_gain"])
def test_written_to_three_significant_digits(column):
    value = fresh_check(_network(700.0, 700.0, seed=3)).iloc[0][column]
    digits = 3 - 1 - math.floor(math.log10(abs(value)))
    assert value == round(value, digits)
