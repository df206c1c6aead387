"""The divergence's form, fitted without the fresh sequences and scored on them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.divergence_check import NO_FIT, fresh_check, memorize_probability, run_loglik
from tests.test_divergence import _runs

FRESH_LENGTHS = (128, 362, 512, 609)


def _network(truth_lc: float | None, fresh_lc: float | None, seed: int, families: int = 3,
             units: int = 16) -> pd.DataFrame:
    """One network's runs: 'fitted' sequences drawn with a pole at truth_lc, and fresh ones
    (frontier_fresh: `families` generator seeds, each at every length, 4 runs per length)
    drawn with a pole at fresh_lc."""
    rng = np.random.default_rng(seed)
    fit = _runs(rng, truth_lc).assign(spec="frontier_lr", gen_seed=0)
    fresh = [_runs(rng, fresh_lc, lengths=FRESH_LENGTHS, per=4)
             .assign(spec="frontier_fresh", gen_seed=s) for s in range(10, 10 + families)]
    runs = pd.concat([fit, *fresh], ignore_index=True)
    return runs.assign(cell="lstm", units=units, alphabet_size=26, budget_in_steps=200_000.0)


def test_the_cluster_is_the_generator_family_not_the_sequence():
    # a seed's sequences at several lengths are prefixes of one another: 3 families, 12
    # sequences, and the exact test over 3 clusters cannot go below 2 / 2^3
    row = fresh_check(_network(700.0, 700.0, seed=3)).iloc[0]
    assert (row["fresh_families"], row["fresh_sequences"], row["fresh_runs"]) == (3, 12, 48)
    assert len(row["family_gains"]) == 3 and row["smallest_p"] == 0.25
    assert row["sign_flip_p"] >= 0.25


def test_a_true_divergence_predicts_fresh_families_better_than_the_power_law():
    row = fresh_check(_network(700.0, 700.0, seed=3, families=8)).iloc[0]
    assert row["chosen_without_fresh"] == "divergence"
    assert row["loglik_gain"] > 0 and row["favour_divergence"] == 8
    assert row["sign_flip_p"] < 0.05  # 8 families can show it
    assert row["divergence_brier"] < row["power_brier"]
    assert row["divergence_factor"] < row["power_factor"]


def test_fresh_sequences_without_a_pole_count_against_the_divergence():
    # fitted on a pole at 700, the fresh families memorize at 609 about as fast as a power law
    # says: their held-out likelihood must favour the power law
    row = fresh_check(_network(700.0, None, seed=4, families=6)).iloc[0]
    assert row["loglik_gain"] < 0
    assert row["favour_power"] > row["favour_divergence"]


def test_lengths_where_both_forms_agree_count_for_neither():
    """A family that differs only at a length where both forms say 'never' (differences of
    1e-6 nats) favours neither and leaves the test's p at 1."""
    runs = _network(700.0, 700.0, seed=6, families=3)
    fresh = runs["spec"] == "frontier_fresh"
    never = runs[fresh].assign(length=5000, event=False, lower_steps=200_000.0,
                               upper_steps=math.inf, observed_steps=200_000.0)
    row = fresh_check(pd.concat([runs[~fresh], never], ignore_index=True)).iloc[0]
    assert row["family_gains"] == [0.0, 0.0, 0.0]
    assert row["favour_divergence"] == row["favour_power"] == 0
    assert row["sign_flip_p"] == 1.0


def test_a_memorized_run_beyond_the_pole_is_impossible_and_a_censored_one_certain():
    fit = dict(longest_memorized=500, divergence_params=[3.0, 1.0, math.log(0.2), 0.0, 0.0])
    # Lc = 500 (1 + e^0) = 1000
    runs = pd.DataFrame(dict(length=[1200, 1200, 100], lower_steps=[1000.0, 200_000.0, 2000.0],
                             upper_steps=[1500.0, math.inf, 2500.0],
                             budget_in_steps=[200_000.0] * 3))
    ll = run_loglik(fit, "divergence", runs)
    assert ll[0] == -math.inf and ll[1] == 0.0 and -10 < ll[2] < 0
    p = memorize_probability(fit, "divergence", runs)
    assert p[0] == p[1] == 0.0 and 0 < p[2] <= 1


def test_a_network_whose_every_run_is_fresh_says_so():
    runs = _network(700.0, 700.0, seed=5)
    only_fresh = runs[runs["spec"] == "frontier_fresh"]
    (row,) = fresh_check(only_fresh).to_dict(orient="records")
    assert row["chosen_without_fresh"] == NO_FIT and row["fit_runs"] == 0
    assert fresh_check(runs[runs["spec"] != "frontier_fresh"]).empty  # no fresh runs: no row


@pytest.mark.parametrize("column", ["power_factor", "divergence_factor", "loglik_gain"])
def test_written_to_three_significant_digits(column):
    value = fresh_check(_network(700.0, 700.0, seed=3)).iloc[0][column]
    digits = 3 - 1 - math.floor(math.log10(abs(value)))
    assert value == round(value, digits)
