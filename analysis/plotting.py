"""What every figure shares: the theme, the file format, the colours of the widths, error
bars and ratio axes. Drawing only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

DPI = 110
LOSSES = {"softmax": "Softmax then CrossEntropy (notebook)", "logits": "CrossEntropy on logits"}


def theme() -> None:
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def units_palette(units) -> dict:
    """One clearly different colour per width (a sequential map made 32/64 and 128/256 look
    alike); ordered from dark to light within the qualitative set."""
    units = sorted(set(int(u) for u in units))
    colors = sns.color_palette("tab10" if len(units) <= 10 else "husl", len(units))
    return dict(zip(units, colors, strict=True))


def err(est, lo, hi) -> np.ndarray:
    """Error bar lengths below and above `est` for the interval [lo, hi]."""
    est, lo, hi = (np.asarray(v, dtype=float) for v in (est, lo, hi))
    return np.clip(np.vstack([est - lo, hi - est]), 0, None)


def ratio_axis(ax: plt.Axes, lo: float, hi: float) -> None:
    """A log axis of time ratios with plain labels (x0.2, x0.5, x1, x2)."""
    ax.set_xscale("log")
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if lo / 1.5 <= t <= hi * 1.5]
    ax.set_xticks(ticks, [f"×{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
