"""The capacity analysis (analysis.capacity): its estimators on made-up tables with known
answers, and a miniature capacity sweep through the real CLI, the analysis and its figures."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.capacity import (
    analyse_capacity,
    bits_at,
    capacity,
    capacity_document,
    choose_lr,
    frontier,
    time_to_memorize,
)
from analysis.capacity_figures import FIGURES
from analysis.capacity_report import capacity_section
from bench.sweep import main
from seqmem.store import load_results

FIXTURE = Path(__file__).parent / "fixtures" / "capacity_tiny.toml"


def test_bits_at_reads_the_curve_at_the_evaluation_of_that_exposure():
    df = pd.DataFrame({"bits_curve": [(0.0, 5.0, 9.0), (1.0, 2.0)], "eval_every": [50, 100]})
    np.testing.assert_array_equal(bits_at(df, 100), [9.0, 2.0])
    assert np.isnan(bits_at(df, 50)[1])  # not an evaluation of the second run
    assert np.isnan(bits_at(df, 300)).all()  # past both budgets


def _points(bits_by_length: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame([dict(slice="s", cell="lstm", units=4, alphabet_size=26, update="step",
                              bptt="16", mode="online k=16", params=642, length=n,
                              max_epochs=1000, exposures=1000, bits=b, lo=b - 1, hi=b + 1)
                         for n, b in bits_by_length.items()])


def test_capacity_is_the_plateau_and_a_peak_at_the_longest_length_is_a_bound():
    peaked = capacity(_points({64: 300.0, 128: 500.0, 256: 480.0, 512: 470.0})).iloc[0]
    assert peaked["capacity"] == 500.0 and peaked["peak_length"] == 128
    assert peaked["lengths_beyond"] == 2 and not peaked["rising"]
    assert peaked["bits_per_param"] == pytest.approx(500 / 642)
    rising = capacity(_points({64: 300.0, 128: 500.0})).iloc[0]
    assert rising["rising"] and rising["lengths_beyond"] == 0


def test_the_frontier_is_bracketed_by_the_lengths_tried():
    seqs = pd.DataFrame(dict(slice="s", cell="lstm", units=4, alphabet_size=26, update="step",
                             bptt="16", mode="online k=16", params=642, max_epochs=1000,
                             length=[32, 32, 64, 64, 128, 128], memorized=[1, 1, 1, 0.5, 0, 0.5],
                             runs=2))
    row = frontier(seqs).iloc[0]
    assert (row["lstar_low"], row["lstar_high"]) == (64, 128)  # 64: 3 of 4 runs; 128: 1 of 4
    assert row["share"] == {32: 1.0, 64: 0.75, 128: 0.25}


def _time_table(steps_of) -> pd.DataFrame:
    lengths = [32, 64, 128, 256, 512]
    return pd.DataFrame(dict(cell="lstm", units=8, alphabet_size=26, params=1386,
                             mode="online k=16", length=lengths, memorized=1.0,
                             steps_first=[steps_of(n) for n in lengths]))


def test_time_to_memorize_tells_a_power_law_from_a_divergence():
    power = time_to_memorize(_time_table(lambda n: 50.0 * n ** 1.5)).iloc[0]
    assert power["chosen"] == "power" and power["power_exponent"] == pytest.approx(1.5)
    diverging = time_to_memorize(_time_table(lambda n: 40.0 * n / (1 - n / 600) ** 2)).iloc[0]
    assert diverging["chosen"] == "divergence"
    assert diverging["divergence_lc"] == pytest.approx(600, rel=0.05)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("capacity") / "capacity_tiny.sqlite"
    assert main([str(FIXTURE), "--out", str(out), "--backend", "sequential", "--quiet"]) == 0
    return load_results(out.with_suffix(".csv"))


@pytest.mark.slow
def test_a_miniature_capacity_sweep_analyses_end_to_end(tiny, tmp_path):
    assert len(tiny) == 36 and tiny["bits_curve"].map(len).eq(3).all()  # before 0, 50, 100
    cap = analyse_capacity(tiny, tiny)
    online = cap.lr_choice[cap.lr_choice["slice"] == "lstm3_online"].iloc[0]
    runs = tiny[tiny["slice"] == "lstm3_online"]
    runs = runs[runs["length"] == runs["length"].max()]  # chosen at the longest length
    medians = runs.groupby("lr")["bits_stored"].median()
    assert online["lr"] == medians.idxmax() and online["bits"] == pytest.approx(medians.max())
    # each point is the mean over its sequences of the seeds' mean bits after 100 exposures
    got = cap.points.set_index(["mode", "length"]).loc[("offline", 16), "bits"]
    off = tiny[(tiny["update"] == "chunk") & (tiny["length"] == 16)]
    assert got == pytest.approx(off.groupby("gen_seed")["bits_stored"].mean().mean())
    assert set(cap.capacity["mode"]) == {"online k=16", "offline"}
    ratio = cap.online_offline.iloc[0]
    assert ratio["lo"] <= ratio["ratio"] <= ratio["hi"]
    assert all(v["reasons"] for v in cap.verdicts)
    doc = capacity_document(cap)
    assert {"lr_choice", "capacity", "online_offline", "frontier", "time", "verdicts"} <= set(doc)
    text = capacity_section(cap)
    assert "## Capacity, measured" in text and "| lstm3_offline |" in text
    from analysis.findings import at_chosen, headline
    from analysis.findings_brief import _capacity
    from analysis.load import records

    summary = at_chosen(cap)
    brief = _capacity({"capacity": {
        "headline": headline(cap), "at_chosen": summary,
        "saved": records(cap.saved, list(cap.saved.columns)),
        "saved_ratio": records(cap.saved_ratio, list(cap.saved_ratio.columns))}})
    off, on = summary["offline"], summary["online"]
    assert off["curves"] >= 1 and off["lo"] <= off["hi"] and on["lo"] <= on["hi"]
    assert (f"offline char-RNN training stores {off['lo']:.2f}-{off['hi']:.2f} bits per "
            "parameter") in brief
    assert "LSTM 3 units, 26 letters, 100 exposures, offline: " in brief
    assert "Bits stored as the issue defined it clip each position at zero" in brief
    assert set(cap.end_gain["status"]) <= {"rising", "level", "peaked",
                                            "past a peak (1 length beyond)"}
    for name in ("capacity_curves", "capacity_exposures"):
        path = FIGURES[name](cap, tmp_path / f"{name}.png")
        assert path is not None and path.stat().st_size > 10_000
    assert not math.isnan(cap.capacity["capacity"].max())


def test_without_the_tables_there_is_no_capacity_section():
    assert analyse_capacity(None, None) is None and capacity_section(None) == ""


def test_lr_choice_marks_a_best_lr_at_the_grid_edge():
    rows = []
    for lr, bits in ((1e-3, 10.0), (3e-3, 30.0), (1e-2, 20.0)):
        for seed in (0, 1):
            rows.append(dict(slice="a", status="memorized", alphabet="ABCD", bptt="16", cell="lstm",
                             units=4, update="step", lr=lr, seed=seed, bits_stored=bits + seed,
                             length=64, max_epochs=1000))
    got = choose_lr(pd.DataFrame(rows)).iloc[0]
    assert got["lr"] == 3e-3 and not got["at_edge"] and got["bits"] == 30.5
    edge = choose_lr(pd.DataFrame(rows[:4])).iloc[0]
    assert edge["lr"] == 3e-3 and edge["at_edge"]


@pytest.mark.slow
def test_lstar_bisection_is_never_finer_than_the_tested_lengths(tiny):
    from analysis.capacity import lstar_bisection

    online = tiny[tiny["update"] == "step"].copy()
    online["budget_steps"] = 3200  # one budget in steps for every length, as the frontier states it
    got = lstar_bisection(online)
    assert len(got) == 2  # one per lr of the online slice
    for _, r in got.iterrows():
        assert r["lo"] <= r["below"] <= r["above"] <= r["hi"]
        assert r["lo"] <= r["L_star"] <= r["hi"]
        assert r["resolution"] == pytest.approx(r["above"] / r["below"])
