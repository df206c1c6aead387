"""The RTRL analysis (analysis.rtrl): its estimators on made-up tables with known answers,
and a miniature rtrl sweep through the real CLI, the analysis, its figures and section."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.frontier import classify
from analysis.rtrl import analyse_rtrl, rtrl_document
from analysis.rtrl_figures import FIGURES
from analysis.rtrl_measures import bits, cases, paired, speed
from analysis.rtrl_report import rtrl_section
from bench.sweep import main
from seqmem.store import load_results

FIXTURE = Path(__file__).parent / "fixtures" / "rtrl_tiny.toml"
LENGTHS = (16, 32, 64, 128, 256)


def _table(longest: dict[str, int], steps_per_letter: dict[str, float] | None = None
           ) -> pd.DataFrame:
    """Made-up runs: under gradient g every run of a length <= longest[g] memorizes (after
    steps_per_letter[g] * length steps), every longer one fails; 3 sequences x 2 seeds.
    Bits stored: the whole sequence when memorized, else 2 * longest[g] * log2 26."""
    rows = []
    for grad, top in longest.items():
        for length in LENGTHS:
            for s in range(3):
                for seed in range(2):
                    ok = length <= top
                    steps = (steps_per_letter or {}).get(grad, 100.0) * length
                    epochs = int(steps // length)
                    rows.append(dict(
                        status="memorized" if ok else "not_memorized", error=None,
                        memorized=ok, epochs_to_memorize=epochs if ok else np.nan,
                        epochs_trained=epochs if ok else 1000, eval_every=1, max_epochs=1000,
                        length=length, sequence=f"seq{length}-{s}", gen_seed=100 * length + s,
                        seed=seed, bptt=grad, cell="lstm", units=4, lr=1e-3,
                        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", budget_steps=200_000,
                        final_loss=0.1, slice="lstm4", label="x",
                        bits_stored=(length if ok else 2 * top) * math.log2(26)))
    df = pd.DataFrame(rows)
    df["epochs_to_memorize"] = df["epochs_to_memorize"].astype("Float64")
    return df


def test_the_paired_ratio_of_lstar_recovers_a_known_doubling():
    got = paired(_table({"rtrl": 128, "16": 64, "4": 32}), boot=200).set_index("gradient")
    # every sequence of a length behaves alike, so each L* sits at the same interpolated
    # point of its bracket and the ratio is exact, with no spread in the bootstrap
    assert got.loc["rtrl", "ratio"] == pytest.approx(2.0)
    assert got.loc["4", "ratio"] == pytest.approx(0.5)
    assert got.loc["rtrl", "lo"] == pytest.approx(2.0) and got.loc["rtrl", "hi"] == pytest.approx(2.0)
    assert classify(got.loc["rtrl", "lo"], got.loc["rtrl", "hi"]) == "longer"
    assert classify(got.loc["4", "lo"], got.loc["4", "hi"]) == "shorter"
    assert classify(0.8, 1.3) == "unresolved"


def test_bits_are_paired_by_sequence_and_the_base_is_one():
    b = bits(_table({"rtrl": 128, "16": 64})).set_index(["length", "gradient"])
    # at 256 letters neither memorizes: 256 bits-units against 128
    assert b.loc[(256, "rtrl"), "ratio"] == pytest.approx(2.0)
    assert b.loc[(256, "16"), "ratio"] == 1.0
    assert b.loc[(16, "rtrl"), "of_sequence"] == pytest.approx(1.0)
    assert b.loc[(256, "rtrl"), "memorized"] == 0.0


def test_speed_counts_the_runs_both_memorized():
    s = speed(_table({"rtrl": 64, "16": 64}, {"rtrl": 50.0, "16": 100.0})).iloc[0]
    assert s["pairs"] == 3 * 2 * 3  # lengths 16, 32, 64 x 3 sequences x 2 seeds
    assert s["median_ratio"] == pytest.approx(0.5)
    assert (s["faster"], s["slower"]) == (18, 0) and s["sign_p"] < 1e-4


def test_cases_count_which_gradient_memorized_sooner():
    t = _table({"rtrl": 16, "epoch": 256}, {"rtrl": 50.0, "epoch": 100.0})
    t = t[t["length"] == 32].assign(slice="case5", label="repeatfive")
    got = cases(t).set_index("gradient")
    assert got.loc["rtrl", "memorized"] == 0 and got.loc["epoch", "memorized"] == 6
    assert got.loc["rtrl", "rtrl_later"] == 2 and got.loc["rtrl", "rtrl_sooner"] == 0
    assert math.isinf(got.loc["rtrl", "median_epochs"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("rtrl") / "rtrl_tiny.sqlite"
    assert main([str(FIXTURE), "--out", str(out), "--backend", "sequential", "--quiet"]) == 0
    return load_results(out.with_suffix(".csv"))


@pytest.mark.slow
def test_a_miniature_rtrl_sweep_analyses_end_to_end(tiny, tmp_path):
    assert len(tiny) == 3 * 3 * 2 * 2 and set(tiny["bptt"].astype(str)) == {"rtrl", "16", "4"}
    r = analyse_rtrl(tiny, None)
    assert set(r.lstar["gradient"]) == {"rtrl", "16", "4"}
    for _, row in r.lstar.iterrows():
        assert row["lo"] <= row["L_star"] <= row["hi"]
    assert set(r.paired["gradient"]) == {"rtrl", "4"}
    for _, row in r.paired.iterrows():
        assert row["lo"] <= row["ratio"] <= row["hi"]
    # a point of the bits table is the mean over sequences of the seeds' mean
    got = r.bits.set_index(["length", "gradient"]).loc[(32, "rtrl"), "bits"]
    runs = tiny[(tiny["length"] == 32) & (tiny["bptt"].astype(str) == "rtrl")]
    assert got == pytest.approx(runs.groupby("sequence")["bits_stored"].mean().mean())
    doc = rtrl_document(r)
    assert {"lstar", "paired", "bits_beyond", "speed", "verdicts"} <= set(doc)
    text = rtrl_section(r)
    assert "truncation of its gradient" in text and "| LSTM 3 |" in text
    for name, draw in FIGURES.items():
        path = draw(r, tmp_path / f"{name}.png")
        assert path is not None and path.stat().st_size > 10_000


def test_without_the_tables_there_is_no_rtrl_section():
    assert analyse_rtrl(None, None) is None and rtrl_section(None) == ""


def test_the_fresh_check_counts_sequences_where_a_gradient_memorized_more_seeds():
    from analysis.rtrl_measures import fresh

    t = _table({"rtrl": 256, "16": 128})
    got = fresh(t[t["length"] == 256]).set_index("gradient")
    assert (got.loc["rtrl", "memorized"], got.loc["16", "memorized"]) == (6, 0)
    assert (got.loc["rtrl", "more"], got.loc["rtrl", "fewer"]) == (3, 0)
    assert got.loc["rtrl", "sign_p"] == pytest.approx(0.25)


def test_discordant_pairs_take_an_exact_test_and_decide_the_answer():
    from analysis.rtrl import verdicts
    from analysis.rtrl_measures import discordant

    d = discordant(_table({"rtrl": 128, "16": 64})).set_index(["cell", "gradient"])
    row = d.loc[("lstm", "rtrl")]
    # at 128 letters RTRL memorized every pair the window did not: 3 sequences x 2 seeds
    assert (row["only_gradient"], row["only_base"]) == (6, 0)
    assert row["p"] == pytest.approx(2 * 0.5 ** 6)
    empty = pd.DataFrame(columns=["cell", "units", "gradient", "ratio", "p"])
    v = verdicts(discordant(_table({"rtrl": 128, "16": 64})),
                 pd.DataFrame([dict(cell="lstm", units=4, gradient="rtrl", ratio=1.1, p=0.5)]),
                 empty.iloc[0:0])
    assert v["lstar"]["rtrl"]["longer"] == 1 and v["answer"] == "yes"
    same = verdicts(discordant(_table({"rtrl": 64, "16": 64})),
                    pd.DataFrame([dict(cell="lstm", units=4, gradient="rtrl", ratio=0.97,
                                       p=0.5)]), empty.iloc[0:0])
    assert same["answer"] == "no" and same["lstar"]["rtrl"]["pooled_p"] == 1.0
