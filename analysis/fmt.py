"""Formatting for the report and the README: numbers, shares, CIs and tables as text."""

from __future__ import annotations

import math

import pandas as pd


def loss_name(loss: str) -> str:
    return "notebook loss" if loss == "softmax" else "loss on logits"


def num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}g}"


def steps_text(x: float) -> str:
    return "not reached" if math.isinf(x) else f"{x:,.0f}"


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def ci(x: float, lo: float, hi: float, fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(x)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def ci_or_point(x: float, lo: float, hi: float, fmt: str = ".2f") -> str:
    """'1.60 [0.78, 2.42]', or the point alone where the interval is unknown (NaN).

    >>> ci_or_point(1.6, 0.78, 2.42), ci_or_point(1.6, float("nan"), float("nan"), ".1f")
    ('1.60 [0.78, 2.42]', '1.6')
    """
    if any(math.isnan(v) for v in (lo, hi)):
        return f"{x:{fmt}}"
    return f"{x:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def ci_or_grid(x: float, lo: float, hi: float) -> str:
    """'1.68 [1.19, 1.94]', or where the interval collapses to its point (every sequence moved
    by the same grid step), '2.00 (the same on every sequence: no finer than the lengths
    tried)'."""
    if lo == lo and hi == hi and round(lo, 2) == round(hi, 2):
        return f"{x:.2f} (the same on every sequence: no finer than the lengths tried)"
    return f"{x:.2f} [{lo:.2f}, {hi:.2f}]"


def family(r) -> str:
    """'LSTM 8, 26 letters': a row's cell, width and alphabet."""
    return f"{r['cell'].upper()} {int(r['units'])}, {int(r['alphabet_size'])} letters"


def specs_named(specs: list[str] | None, default: str) -> str:
    """'`a`, `b`': the specs a table was read from (`default` where none is recorded)."""
    return ", ".join(f"`{name}`" for name in (specs or [default]))


def last_step(r) -> str:
    """'last doubling', or 'last step, x1.41 in length' where a curve's two longest lengths
    are not a doubling apart (half-doublings added between them)."""
    step = r.get("last_step", 2.0)
    if step != step or abs(step - 2.0) < 0.01:
        return "last doubling"
    return f"last step, x{step:.2f} in length"


def doubling(r) -> str:
    """'×1.53 [1.38, 1.70]': an effect row's time ratio per doubling with its CI."""
    return f"×{ci(r['doubling'], r['doubling_lo'], r['doubling_hi'])}"


def typical_factor(sigma: float | None) -> float | None:
    """Median of exp |sigma Z|: the typical factor that a spread sigma on ln T makes."""
    return None if sigma is None or not math.isfinite(sigma) else math.exp(0.6745 * sigma)


def spread_factor(sigma: float | None) -> float | None:
    return None if sigma is None else math.exp(1.2816 * sigma)


def frontier_cell(r: pd.Series, prefix: str = "") -> str:
    """'L* (tested lengths either side) [CI]' of a frontier row; its columns may carry a
    prefix (fresh_check's first_ and fresh_). '?': no tested length on that side."""
    def get(c: str):
        return r[prefix + c]

    lo = "?" if math.isnan(get("L_below")) else f"{get('L_below'):.0f}"
    hi = "?" if math.isnan(get("L_above")) else f"{get('L_above'):.0f}"
    return f"{get('bound')}{get('L_star'):.0f} ({lo}-{hi}) [{get('L_lo'):.0f}, {get('L_hi'):.0f}]"
