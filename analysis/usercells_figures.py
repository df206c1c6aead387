"""Figures of the users' cells (analysis.usercells): they draw, they compute nothing."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.plotting import save  # noqa: E402


def bits_stored(u, path: Path) -> Path | None:
    """Bits stored after the same exposures against length, the example cells beside the
    built-in ones at matched parameters, with the whole sequence's bits as the ceiling."""
    if u is None or u.points.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    lengths = np.array(sorted(u.points["length"].unique()), dtype=float)
    ax.plot(lengths, lengths * math.log2(26), color="0.7", lw=1, label="the whole sequence")
    palette = sns.color_palette("tab10", n_colors=u.points["network"].nunique())
    for color, ((net, params, lr), g) in zip(
            palette, u.points.groupby(["network", "params", "lr"], sort=True), strict=False):
        g = g.sort_values("length")
        user = net.startswith("min")
        ax.plot(g["length"], g["bits"], marker="o" if user else "s", ls="-" if user else "--",
                color=color, label=f"{net} ({int(params):,} parameters, lr {lr:g})")
        ax.fill_between(g["length"], g["lo"], g["hi"], color=color, alpha=0.15, lw=0)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("length (letters, 26-letter alphabet)")
    ax.set_ylabel(f"bits stored after {int(u.capacity['exposures'].iloc[0])} exposures")
    ax.set_title("Your own cell beside the built-in ones at about 1,400 parameters: bits stored\n"
                 "(mean over sequences, 95% t band: the example cells trained 2 sequences per "
                 "length, the built-in 3;\nonline, a 16-step window)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return save(fig, path)


FIGURES = {"usercells_bits": bits_stored}
