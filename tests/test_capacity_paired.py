"""analysis.capacity_paired: online over offline paired by sequence, with an exact test."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from analysis.capacity_paired import paired_cell, paired_ratio_exact
from analysis.exact import ALPHA, sign_flip_interval, sign_flip_p
from analysis.exact import sign_patterns as _patterns


def _brute_p(x: np.ndarray, mu: float) -> float:
    """The sign-flip p written out: every pattern's mean against the observed one."""
    d = x - mu
    observed = abs(d.mean())
    hits = sum(abs(np.mean(np.array(s) * np.abs(d))) >= observed - 1e-12
               for s in itertools.product((-1, 1), repeat=len(d)))
    return hits / 2 ** len(d)


def test_sign_flip_p_matches_every_pattern_written_out_and_its_floor():
    rng = np.random.default_rng(3)
    x = rng.normal(0.3, 1.0, size=7)
    pats = _patterns(7, rng)
    for mu in (-1.0, 0.0, 0.3, 1.5):
        assert sign_flip_p(x, pats, mu) == pytest.approx(_brute_p(x, mu))
    same_sign = np.array([-0.2, -0.5, -0.1, -0.4, -0.3, -0.6])
    assert sign_flip_p(same_sign, _patterns(6, rng)) == pytest.approx(2 / 64)


def test_the_interval_inverts_the_test_and_needs_six_sequences():
    rng = np.random.default_rng(0)
    x = np.log(np.array([0.52, 0.61, 0.55, 0.48, 0.66, 0.58]))
    pats = _patterns(6, rng)
    lo, hi = sign_flip_interval(x, pats)
    assert lo < x.mean() < hi < 0  # all six below 1: the interval excludes no change
    for edge, outside in ((lo, lo - 1e-6), (hi, hi + 1e-6)):
        assert sign_flip_p(x, pats, edge) > ALPHA >= sign_flip_p(x, pats, outside)
    lo3, hi3 = sign_flip_interval(x[:3], _patterns(3, rng))  # smallest p 0.25: no interval
    assert math.isnan(lo3) and math.isnan(hi3)


def _curves():
    """An online curve peaking at 256 letters and an offline one that fails at 1024; they
    share sequences at 256 and 512, not at 128; online holds half of offline on each."""
    base = dict(cell="lstm", units=8, alphabet_size=26, exposures=300)
    saved = pd.DataFrame([dict(base, mode="online k=16", lr=1e-3, peak_length=256,
                               lr_as_chosen=None),
                          dict(base, mode="offline", lr=1e-2, peak_length=512,
                               lr_as_chosen=None)])
    rows = []
    noise = iter(np.random.default_rng(1).uniform(0.9, 1.1, size=100))
    for n, seeds_on, seeds_off, off_bits in ((128, [1, 2, 3], [4, 5, 6], 500.0),
                                             (256, [7, 8, 9], [7, 8, 9], 900.0),
                                             (512, [10, 11, 12], [10, 11, 12], 1000.0),
                                             (1024, [13, 14, 15], [13, 14, 15], 20.0)):
        for s_on, s_off in zip(seeds_on, seeds_off, strict=True):
            on_bits = 400.0 if n == 128 else 450.0 if n < 1024 else 420.0
            rows.append(dict(base, mode="online k=16", lr=1e-3, length=n, gen_seed=s_on,
                             saved=on_bits * next(noise)))
            rows.append(dict(base, mode="offline", lr=1e-2, length=n, gen_seed=s_off,
                             saved=off_bits * next(noise)))
    ratio = pd.DataFrame([dict(cell="lstm", units=8, alphabet_size=26, exposures=300,
                               offline_lr=1e-2)])
    return saved, pd.DataFrame(rows), ratio


def test_paired_ratio_uses_shared_sequences_past_online_s_peak_where_neither_failed():
    saved, reads, ratio = _curves()
    (row,) = paired_ratio_exact(saved, reads, ratio).to_dict(orient="records")
    assert row["lengths_used"] == [256, 512]  # 128: before the peak, unpaired; 1024: failed
    assert row["sequences"] == 6 and row["less_on"] == 6
    on = reads[reads["mode"] == "online k=16"].set_index(["length", "gen_seed"])["saved"]
    off = reads[reads["mode"] == "offline"].set_index(["length", "gen_seed"])["saved"]
    used = [(n, s) for n in (256, 512) for s in on.loc[n].index]
    expected = math.exp(np.mean([math.log(on[k] / off[k]) for k in used]))
    assert row["paired_ratio"] == pytest.approx(expected)
    assert row["paired_lo"] < row["paired_ratio"] < row["paired_hi"] < 1
    assert row["p"] == pytest.approx(2 / 64)
    text = paired_cell(row)
    assert text.startswith(f"x{expected:.2f} [") and "6 sequences at 256, 512" in text
    assert "online less on 6; p 0.031" in text


def test_a_sequence_that_failed_on_one_side_is_no_pair():
    """At 512 one offline sequence saves 150 bits, below 0.6 of offline's plateau, while the
    length's mean holds: that sequence leaves the test, the other five stay."""
    saved, reads, ratio = _curves()
    fail = (reads["mode"] == "offline") & (reads["length"] == 512) & (reads["gen_seed"] == 11)
    reads.loc[fail, "saved"] = 150.0
    reads.loc[(reads["mode"] == "offline") & (reads["length"] == 512) & ~fail, "saved"] = 1400.0
    (row,) = paired_ratio_exact(saved, reads, ratio).to_dict(orient="records")
    assert row["lengths_used"] == [256, 512] and row["sequences"] == 5


def test_three_paired_sequences_give_a_point_and_say_why_there_is_no_interval():
    saved, reads, ratio = _curves()
    reads = reads[reads["length"] != 512]
    (row,) = paired_ratio_exact(saved, reads, ratio).to_dict(orient="records")
    assert row["sequences"] == 3 and math.isnan(row["paired_lo"])
    assert paired_cell(row).endswith("(online less on 3; p 0.25: no exact interval)")
    none = paired_ratio_exact(saved, reads[reads["length"] == 128], ratio)
    assert paired_cell(none.iloc[0]) == "no sequence both trained past online's peak"


def test_the_readme_names_the_exact_intervals_and_counts_the_rest():
    """The README's online/offline bullet lists the ratios with a finite exact interval and
    says the others rest on too few sequences for one."""
    from analysis.findings_capacity_report import _exact_sentence

    saved, reads, ratio = _curves()
    six = paired_ratio_exact(saved, reads, ratio).iloc[0].to_dict()
    three = paired_ratio_exact(saved, reads[reads["length"] != 512], ratio).iloc[0].to_dict()
    text = _exact_sentence([six, {**three, "units": 16}])
    assert f"LSTM 8 units, 26 letters, 300 exposures, offline lr 0.01: ×{six['paired_ratio']:.2f} " \
        "[" in text and "over 6 sequences (online less on 6, p 0.031)" in text
    assert "the other 1 rest on 3 paired sequences or fewer" in text
    assert _exact_sentence([]) == ""


def test_a_level_online_curve_whose_largest_mean_is_its_longest_length_is_named():
    from analysis.code_length import _level_at_end

    at_end = dict(status="level", peak_length=131072, last_length=131072)
    assert "its plateau may lie beyond" in _level_at_end(at_end)
    assert _level_at_end(dict(at_end, peak_length=65536)) == ""
    assert _level_at_end(dict(at_end, status="peaked")) == ""


def test_an_interval_that_collapses_to_its_point_is_written_as_the_grid_s():
    """SCIENCE.md: a bootstrap interval that collapses to a point means the grid is too
    coarse, not a precise result (the frontier's L* ratios between lrs)."""
    from analysis.fmt import ci_or_grid, last_step, specs_named

    assert ci_or_grid(2.0, 2.0, 2.0) == "2.00 (the same on every sequence: no finer than the " \
        "lengths tried)"
    assert ci_or_grid(1.68, 1.19, 1.94) == "1.68 [1.19, 1.94]"
    assert last_step({"last_step": 2.0}) == "last doubling"
    assert last_step({"last_step": 2 ** 0.5}) == "last step, x1.41 in length"
    assert specs_named(None, "a") == "`a`" and specs_named(["a", "b"], "c") == "`a`, `b`"
