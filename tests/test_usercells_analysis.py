"""The users' cells analysis (analysis.usercells) on made-up tables with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.usercells import analyse_usercells, capacity, forks, network, usercells_document
from analysis.usercells_report import usercells_section
from seqmem.model import parameter_count

MINGRU = "examples/mingru.py:MinGRU"
A26 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _capacity_rows(cell, units, slice_, bits_of, params=None):
    rows = []
    for length in (64, 128):
        for s in range(2):
            for seed in range(2):
                b = bits_of(length) + seed  # the seeds' mean is bits_of + 0.5
                rows.append(dict(status="censored", stop="budget", slice=slice_, cell=cell,
                                 units=units, lr=1e-3, length=length, sequence=f"s{length}{s}",
                                 seed=seed, alphabet=A26, eval_every=50,
                                 bits_curve=(0.0, b / 2, b, b + 100, 0, 0, b), parameters=params))
    return pd.DataFrame(rows)


def test_capacity_reads_every_network_at_the_same_exposure():
    user = _capacity_rows(MINGRU, 17, "mingru17", lambda n: 0.5 * n, params=1386)
    builtin = _capacity_rows("lstm", 8, "lstm8_online", lambda n: n if n < 100 else 40.0)
    points, caps = capacity(user, builtin, exposures=100)  # the curve's third point
    got = points.set_index(["network", "length"])["bits"]
    assert got[("minGRU 17", 64)] == pytest.approx(32.5) and got[("LSTM 8", 128)] == 40.5
    caps = caps.set_index("network")
    assert caps.loc["LSTM 8", "at_length"] == 64 and not caps.loc["LSTM 8", "rising"]
    assert caps.loc["minGRU 17", "rising"]  # the most at the longest length: a bound
    assert caps.loc["LSTM 8", "bits_per_param"] == pytest.approx(64.5 / parameter_count("lstm", 8, 26))
    assert caps.loc["minGRU 17", "bits_per_param"] == pytest.approx(64.5 / 1386)


def _forks_rows(cell, units, epochs, params=None, budget=1000):
    rows = []
    for d in (2, 6):
        for s in range(2):
            e = epochs[d]
            rows.append(dict(status="memorized" if e is not None else "censored",
                             stop="memorized", cell=cell, units=units, gen_depth=d, gen_forks=0,
                             sequence=f"d{d}s{s}", loss="logits", lr=1e-3, seed=0,
                             alphabet=A26, max_epochs=budget, memorized=e is not None,
                             epochs_to_memorize=e, epochs_trained=e if e else budget,
                             parameters=params))
    return pd.DataFrame(rows)


def test_forks_censors_the_built_in_runs_at_the_user_cells_budget():
    user = _forks_rows(MINGRU, 40, {2: 100, 6: None}, params=3226, budget=500)
    lstm = _forks_rows("lstm", 16, {2: 50, 6: 700})  # 700 > 500: not within the budget
    got = forks(user, lstm, None).set_index(["network", "depth"])
    assert got.loc[("LSTM 16", 2), "memorized"] == 1.0
    assert got.loc[("LSTM 16", 6), "memorized"] == 0.0
    assert math.isinf(got.loc[("minGRU 40", 6), "median_epochs"])
    assert got.loc[("minGRU 40", 2), "median_epochs"] == 100


def test_the_section_renders_what_was_measured():
    user = pd.concat([_capacity_rows(MINGRU, 17, "mingru17", lambda n: 0.5 * n, params=1386),
                      _forks_rows(MINGRU, 40, {2: 100, 6: None}, params=3226, budget=500)],
                     ignore_index=True)
    u = analyse_usercells(None, user, None, _forks_rows("lstm", 16, {2: 50, 6: 700}), None)
    text = usercells_section(u)
    assert "| minGRU 17 | 1,386 |" in text and "| LSTM 16 | 3,258 | 100% (50) | 0% (-) |" in text
    assert set(usercells_document(u)) == {"lr_choice", "capacity", "forks", "costs"}
    assert network("lstm", 8) == "LSTM 8" and network("x.py:MinLSTM", 13) == "minLSTM 13"
    assert analyse_usercells(None, None) is None and usercells_section(None) == ""
    assert np.isfinite(u.capacity["bits_per_param"]).all()


def test_the_figure_draws_every_network(tmp_path):
    from analysis.usercells_figures import bits_stored

    u = analyse_usercells(None, _capacity_rows(MINGRU, 17, "mingru17", lambda n: 0.5 * n,
                                               params=1386),
                          _capacity_rows("lstm", 8, "lstm8_online", lambda n: n))
    path = bits_stored(u, tmp_path / "u.png")
    assert path is not None and path.stat().st_size > 10_000
    assert bits_stored(None, tmp_path / "none.png") is None
