"""Per-sequence ratios (analysis.capacity_budget.paired_ratio) and how the online lr check
names its neighbours (analysis.capacity_online_lr)."""

import pandas as pd
import pytest


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
