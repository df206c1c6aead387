"""analysis.capacity_failed: a failed length trained again at a third of the lr."""

import pandas as pd
import pytest

from analysis.capacity_failed import failed_check, failed_lines, failed_sentence


def _rows(mode: str, lr: float, length: int, saved: list[float]) -> list[dict]:
    return [dict(cell="rnn", units=19, alphabet_size=26, mode=mode, max_epochs=300, length=length,
                 gen_seed=100 + i, lr=lr, saved_end=v) for i, v in enumerate(saved)]


def test_a_failed_length_that_holds_at_a_lower_lr_failed_to_train():
    """Plateau 1000: at 32,768 the curve's lr saves 50-70 (failed); at a third of it the
    same sequences save 900, 950 and 1000 (held on 3 of 3), so training failed at its lr.
    At 65,536 a third of the lr saves 100-300: it fails at both. The online curve of the same
    network is another curve: its rows never pair with the offline ones."""
    saved = pd.DataFrame([dict(cell="rnn", units=19, alphabet_size=26, mode="offline",
                               max_epochs=300, exposures=300, lr=0.01, capacity=1000.0,
                               lr_as_chosen=True)])
    seqs = pd.DataFrame(_rows("offline", 0.01, 32768, [50, 60, 70])
                        + _rows("offline", 0.01, 65536, [40, 40, 40])
                        + _rows("online k=16", 3e-4, 32768, [500, 500, 500]))
    check = pd.DataFrame(_rows("offline", 0.003, 32768, [900, 950, 1000])
                         + _rows("offline", 0.003, 65536, [100, 200, 300]))
    out = failed_check(seqs, check, saved).set_index("length")
    assert out.loc[32768, "own_share"] == pytest.approx(0.06)
    assert out.loc[32768, "other_share"] == pytest.approx(0.95)
    assert out.loc[32768, "other_lo"] < 0.95 < out.loc[32768, "other_hi"]
    assert out.loc[32768, "held_on"] == 3 and out.loc[32768, "held"]
    assert out.loc[65536, "other_share"] == pytest.approx(0.2) and not out.loc[65536, "held"]
    assert set(out["mode"]) == {"offline"} and set(out["sequences"]) == {3}
    text = "\n".join(failed_lines(out.reset_index()))
    assert "At the lower lr 1 of 2 failed lengths hold 0.6 of the plateau" in text
    assert "| RNN 19, 26 letters | offline | 300 | 32,768 | 0.01 -> 0.003 | 0.06 | 0.95 [" in text
    assert "| 3 of 3 | holds the plateau: training failed at its lr, no decline shown |" in text
    assert "| 0 of 3 | fails at both lrs |" in text
    assert "; 1 of them hold the plateau within their interval" in text
    line = failed_sentence(out.reset_index().to_dict(orient="records"))
    assert "RNN 19 units, 26 letters, offline at 32,768: 0.06 -> 0.95 [" in line
    assert "1 of 2 hold 0.6 of the plateau or more" in line and "why is untested" in line


def test_a_lower_lr_that_stores_more_than_the_plateau_makes_the_capacity_a_lower_bound():
    from analysis.capacity_failed import (
        NO_DECLINE,
        SOME_DECLINE,
        failed_reason,
        reading,
        with_failed,
    )

    assert reading(1.2, 1.05, 1.35).startswith("stores more than the plateau")
    assert reading(1.1, 0.95, 1.25) == NO_DECLINE  # its interval reaches 1
    assert reading(0.9, 0.85, 0.95) == SOME_DECLINE
    assert reading(0.5, 0.3, 0.7) == "fails at both lrs"
    saved = pd.DataFrame([dict(cell="rnn", units=19, alphabet_size=26, mode="online k=16",
                               max_epochs=300, exposures=300, lr=1e-3, capacity=400.0,
                               lr_as_chosen=True)])
    seqs = pd.DataFrame(_rows("online k=16", 1e-3, 32768, [140, 150, 160]))
    check = pd.DataFrame(_rows("online k=16", 3e-4, 32768, [470, 480, 490]))
    out = failed_check(seqs, check, saved)
    (row,) = out.to_dict(orient="records")
    assert row["other_share"] == pytest.approx(1.2) and row["other_lo"] > 1
    line = failed_sentence([row])
    assert "(RNN 19 units, 26 letters, online k=16 at 32,768), the curve's lr limits its " \
        "capacity: that capacity is a lower bound." in line
    verdicts = with_failed([dict(cell="rnn", units=19, alphabet_size=26, reasons=[]),
                            dict(cell="lstm", units=8, alphabet_size=26, reasons=[])], out)
    assert verdicts[0]["reasons"] == [failed_reason(out)] and verdicts[1]["reasons"] == []
    assert "online k=16 at 32,768 letters: 0.38 of the plateau at lr 0.001, 1.20 [" \
        in verdicts[0]["reasons"][0]

def test_paired_ratio_is_geometric_where_every_ratio_is_positive_else_arithmetic():
    import math

    from analysis.capacity_budget import paired_ratio

    m, lo, hi, geometric = paired_ratio(pd.Series([2.0, 0.5, 1.0]), pd.Series([1.0, 1.0, 1.0]))
    assert geometric and m == pytest.approx(1.0)  # x2 and x0.5 cancel on the log scale
    assert 0 < lo < 1 < hi and lo * hi == pytest.approx(1.0)  # symmetric on the log scale
    m, lo, hi, geometric = paired_ratio(pd.Series([0.6, 0.3, -0.1]), pd.Series([1.0, 1.0, 1.0]))
    assert not geometric and m == pytest.approx(0.8 / 3)  # a negative saving: arithmetic
    assert lo < 0 < m < hi
    # two negative savings make a positive ratio, but not a geometric mean
    assert not paired_ratio(pd.Series([-2.0, 1.0]), pd.Series([-1.0, 1.0])).geometric
    m, lo, hi, geometric = paired_ratio(pd.Series([3.0]), pd.Series([2.0]))
    assert m == pytest.approx(1.5) and math.isnan(lo) and math.isnan(hi)


def test_an_arithmetic_ratio_is_marked_where_it_is_written():
    from analysis.capacity_budget import ratio_cell

    assert ratio_cell(dict(ratio=1.2, lo=1.1, hi=1.3, geometric=True)) == "x1.20 [1.10, 1.30]"
    assert ratio_cell(dict(ratio=0.27, lo=-0.05, hi=0.58, geometric=False)) == \
        "x0.27 [-0.05, 0.58] (arithmetic)"


def test_the_online_lr_check_names_half_steps_by_their_factor():
    from analysis.capacity_online_lr import lr_step, online_lr_reason

    assert lr_step(1e-3, 3e-4) == "a third" and lr_step(1e-3, 3e-3) == "three times"
    assert lr_step(1e-3, 0.000577) == "x0.58" and lr_step(3e-4, 0.00052) == "x1.73"
    rows = pd.DataFrame([dict(cell="lstm", units=8, alphabet_size=26, max_epochs=1000,
                              length=2048, sequences=3, lr_own=1e-3, lr_other=lr,
                              ratio=r, lo=r - 0.05, hi=r + 0.05, geometric=True,
                              curve_peak=2048)
                         for lr, r in ((3e-4, 0.95), (0.000577, 0.99), (0.00173, 0.97),
                                       (3e-3, 0.9))])
    text = online_lr_reason(rows)
    assert "a third (lr 0.0003: x0.95 [0.90, 1.00]), x0.58 (lr 0.000577: x0.99 " in text
    assert "and three times (lr 0.003: x0.90 [0.85, 0.95]) of its lr 0.001" in text
    assert text.endswith(": none stores more (paired intervals over the sequences)")
