"""T(L) towards capacity and the capacity curves' checks (issue 17)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.capacity_checks import between_widths, end_gain, lstar_between
from analysis.divergence import fit_network, predicted_median

BUDGET = 200_000.0
EVERY = 500.0


def _runs(rng: np.random.Generator, lc: float | None, lengths=(64, 128, 256, 362, 431, 512, 609),
          per: int = 40) -> pd.DataFrame:
    """Runs with ln T = 3 + ln L (- 1.5 ln(1 - L/lc)) + 0.2 Z, censored at the budget and
    read on an evaluation grid, as outcomes() gives them."""
    rows = []
    for length in lengths:
        eta = 3 + math.log(length)
        if lc is not None:
            eta = math.inf if length >= lc else eta - 1.5 * math.log1p(-length / lc)
        t = np.exp(eta + 0.2 * rng.standard_normal(per))
        for ti in t:
            event = ti <= BUDGET
            upper = math.ceil(ti / EVERY) * EVERY if event else math.inf
            rows.append(dict(length=length, event=event,
                             lower_steps=upper - EVERY if event else BUDGET, upper_steps=upper,
                             observed_steps=upper if event else BUDGET))
    return pd.DataFrame(rows)


def test_a_power_law_is_not_called_a_divergence():
    fit = fit_network(_runs(np.random.default_rng(0), lc=None))
    assert fit["chosen"] == "power"
    assert fit["power_b"] == pytest.approx(1.0, abs=0.05)


def test_a_divergence_is_found_with_its_pole_inside_the_profile_interval():
    from analysis.divergence import lc_interval

    runs = _runs(np.random.default_rng(1), lc=700.0)
    fit = fit_network(runs)
    assert fit["chosen"] == "divergence"
    assert fit["divergence_lc"] == pytest.approx(700, rel=0.15)
    lo, hi = lc_interval(runs, fit)
    assert lo <= 700 <= hi
    m = predicted_median(fit, "divergence", np.array([100.0, fit["divergence_lc"] * 1.01]))
    assert np.isfinite(m[0]) and math.isinf(m[1])


def _seqs(units: int, mode: str, bits_by_length: dict[int, list[float]]) -> pd.DataFrame:
    rows = [dict(slice=f"s{units}{mode}", cell="lstm", units=units, alphabet_size=26,
                 update="step", bptt="16", mode=mode, params=100 * units, length=length,
                 bits_300=b, bits_100=b / 2)
            for length, bs in bits_by_length.items() for b in bs]
    return pd.DataFrame(rows)


def test_end_gain_calls_a_curve_rising_level_or_peaked():
    keys = ["slice", "units", "mode"]
    rising = _seqs(8, "online k=16", {512: [100, 102, 98], 1024: [150, 152, 148]})
    level = _seqs(8, "offline", {512: [100, 110, 90], 1024: [101, 111, 91]})
    peaked = _seqs(4, "online k=16", {256: [50, 51, 49], 512: [70, 71, 69], 1024: [60, 61, 59],
                                      2048: [45, 46, 44]})
    # 40 at 2048 is under COLLAPSE (0.6) of the peak: a failed length, not a second beyond it
    failed = _seqs(2, "online k=16", {256: [50, 51, 49], 512: [70, 71, 69], 1024: [60, 61, 59],
                                      2048: [40, 41, 39]})
    g = end_gain(pd.concat([rising, level, peaked, failed]), keys, (300,)).set_index("slice")
    assert g.loc["s8online k=16", "status"] == "rising"
    assert g.loc["s8online k=16", "last_gain"] == pytest.approx(1.5)
    assert g.loc["s8offline", "status"] == "level"
    assert g.loc["s4online k=16", "status"] == "peaked"
    assert g.loc["s2online k=16", "status"] == "past a peak (1 length beyond)"


def test_between_widths_compares_with_the_log_log_interpolation():
    grid = pd.concat([_seqs(16, "online k=16", {1024: [1000, 1000]}),
                      _seqs(32, "online k=16", {1024: [4000, 4000]})])
    fresh = _seqs(24, "online k=16", {1024: [2000, 2000]})
    r = between_widths(grid, fresh).iloc[0]
    w = math.log(24 / 16) / math.log(2)
    assert r["predicted"] == pytest.approx(1000 ** (1 - w) * 4000 ** w)
    assert r["ratio"] == pytest.approx(2000 / r["predicted"])
    assert r["between"]


def test_lstar_between_flags_a_prediction_outside_the_measured_interval():
    lstar = pd.DataFrame(dict(cell="lstm", alphabet_size=26, units=[16, 24, 32],
                              L_star=[580.0, 935.0, 1117.0], lo=[512, 861, 1024],
                              hi=[619, 1024, 1218], below=[512, 861, 1024],
                              above=[609, 1024, 1218], bits_per_param=[0.84, 0.78, 0.61]))
    r = lstar_between(lstar)
    assert r["predicted"] == pytest.approx(math.exp(
        (1 - math.log(1.5, 2)) * math.log(580) + math.log(1.5, 2) * math.log(1117)))
    assert r["between"] and not r["predicted_inside"]


def test_the_code_length_saving_counts_a_bad_prediction_against():
    from analysis.code_length import saved_last_pass

    df = pd.DataFrame(dict(final_loss=[math.log(26), 0.0, 2 * math.log(26), 0.0],
                           alphabet=["ABCDEFGHIJKLMNOPQRSTUVWXYZ"] * 4, length=[100] * 4,
                           loss=["logits", "logits", "logits", "softmax"]))
    got = saved_last_pass(df)
    assert got[0] == pytest.approx(0.0, abs=1e-9)  # uniform: nothing saved
    assert got[1] == pytest.approx(100 * math.log2(26))  # every letter certain
    assert got[2] == pytest.approx(-100 * math.log2(26))  # worse than uniform: negative
    assert math.isnan(got[3])  # the notebook's loss is not a code length


def test_code_length_capacity_finds_a_peak_and_the_clipped_bias_beside_it():
    from analysis.code_length import code_length_capacity

    rows = []
    for length, saved in ((256, 500.0), (512, 800.0), (1024, 700.0), (2048, 600.0)):
        for s in range(3):
            rows.append(dict(slice="x", mode="online k=16", params=400, max_epochs=1000,
                             exposures=1000, length=length, gen_seed=s, saved=saved + s,
                             exact=0.0, proxy=saved + s, clipped=saved + 300 + s,
                             bits_start=length / 8))
    r = code_length_capacity(pd.DataFrame(rows), ["slice", "mode", "params", "max_epochs"])
    r = r.iloc[0]
    assert r["measure"] == "proxy" and r["exact_lengths"] == [] and r["proxy_status"] is None
    assert r["peak_length"] == 512 and r["lengths_beyond"] == 2 and r["status"] == "peaked"
    assert r["capacity"] == pytest.approx(801.0)
    assert r["bits_per_param"] == pytest.approx(801.0 / 400)
    assert r["untrained_clipped_at_last"] == pytest.approx(256.0)


def test_equally_likely_fits_that_disagree_are_a_ridge_not_a_fit():
    """_identified: the fits within TIE of the best must agree on Lc and g; a ridge (the
    same likelihood at Lc 130 and 165) writes no point estimate."""
    from analysis.divergence import IDENTIFIED, _identified

    def theta(lc, g, floor=100.0):
        return np.array([0.0, 1.0, 0.0, math.log(lc / floor - 1), math.log(g)])

    assert _identified([theta(700, 1.5), theta(700 * 1.01, 1.49)], 100.0)
    assert not _identified([theta(130, 0.2), theta(165, 0.94)], 100.0)
    assert not _identified([theta(700, 1.5), theta(700, 1.5 * IDENTIFIED * 1.01)], 100.0)


def test_the_written_fit_does_not_move_with_rounding_noise():
    """Another CPU sums in another order; a relative change of 1e-13 in every interval's
    ends stands in for it. The identified divergence's written digits stay the same."""
    runs = _runs(np.random.default_rng(1), lc=700.0)
    fit = fit_network(runs)
    assert fit["divergence_identified"] and fit["shape"] == "a divergence at Lc"
    nudged = runs.assign(lower_steps=runs["lower_steps"] * (1 + 1e-13),
                         upper_steps=runs["upper_steps"] * (1 - 1e-13))
    again = fit_network(nudged)
    for key in ("power_b", "divergence_b", "divergence_g", "divergence_lc", "shape"):
        assert again[key] == fit[key], key
    for key in ("divergence_b", "divergence_g", "divergence_lc"):
        assert fit[key] == float(f"{fit[key]:.3g}")  # three significant digits


def test_the_report_writes_a_ridge_as_not_identified_and_a_wall_s_g_as_a_bound():
    """Lc's interval never finer than the lengths tried, 'beyond' the profile grid's end;
    a ridge writes no point; a wall's g is not written, only that it lies below 0.1."""
    from types import SimpleNamespace

    from analysis.capacity_report import divergence_lines
    from analysis.divergence import Divergence

    base = dict(cell="lstm", alphabet_size=26, lengths=7, sequences=30, families=8,
                longest_memorized=512, power_b=1.2,
                delta_aic=30.0, chosen="divergence", lc_lo=520.0, lc_hi=1024.0, lc_open=False,
                next_length=1024)
    fits = pd.DataFrame([
        dict(base, units=8, divergence_identified=True, divergence_b=1.02, divergence_g=1.46,
             divergence_lc=700.0, shape="a divergence at Lc"),
        dict(base, units=12, divergence_identified=True, divergence_b=1.02, divergence_g=1.46,
             divergence_lc=700.0, lc_hi=math.nan, lc_open=True, shape="a divergence at Lc"),
        dict(base, units=16, divergence_identified=False, divergence_b=math.nan,
             divergence_g=math.nan, divergence_lc=math.nan,
             shape="not identified: equally likely fits differ in Lc and g (a ridge)"),
        dict(base, units=24, divergence_identified=False, divergence_b=math.nan,
             divergence_g=math.nan, divergence_lc=math.nan, lc_lo=math.nan, lc_hi=math.nan,
             lc_open=True, shape="not identified: equally likely fits differ in Lc and g (a ridge)"),
        dict(base, units=32, divergence_identified=True, divergence_b=1.13, divergence_g=math.nan,
             divergence_lc=513.0, lc_lo=512.0, shape="a wall: T follows the power law up to Lc, "
             "then never")])
    text = "\n".join(divergence_lines(SimpleNamespace(divergence=Divergence(fits, pd.DataFrame()))))
    assert "| LSTM 8, 26 letters | 7 | 30 (8) | 512 | 1.20 | 1.02, 1.46 | 700 [520, 1,024] |" in text
    assert "| LSTM 12, 26 letters | 7 | 30 (8) | 512 | 1.20 | 1.02, 1.46 | 700 [520, beyond 4,096] |" in text
    assert "| LSTM 16, 26 letters | 7 | 30 (8) | 512 | 1.20 | not identified | not identified; profile " \
        "[520, 1,024] |" in text and "| not identified: equally likely fits" in text
    assert "| not identified; profile beyond 4,096 (the profile grid's end) |" in text
    assert "| LSTM 32, 26 letters | 7 | 30 (8) | 512 | 1.20 | 1.13, below 0.1 (a wall) | 513 [512, 1,024] |" \
        in text


def test_lc_s_interval_is_no_finer_than_the_lengths_tried():
    """A wall's profile [1,025, 1,053] between tested lengths 1,024 and 2,048 is written as
    [1,024, 2,048]; a profile at the grid's end is open (Lc only a lower bound)."""
    from analysis.divergence import FAR_LC, lc_bracket

    fit = dict(longest_memorized=1024, next_length=2048, chosen="divergence")
    assert lc_bracket(fit, 1024.93, 1053.1) == dict(lc_lo=1024.0, lc_hi=2048.0, lc_open=False)
    assert lc_bracket(fit, 1100.0, 3000.4) == dict(lc_lo=1100.0, lc_hi=3000.0, lc_open=False)
    got = lc_bracket(fit, 900.0, FAR_LC * 1024)
    assert got["lc_lo"] == 1024.0 and got["lc_open"] and math.isnan(got["lc_hi"])
    none = lc_bracket(fit, math.nan, math.nan)
    assert none["lc_open"] and math.isnan(none["lc_lo"])
