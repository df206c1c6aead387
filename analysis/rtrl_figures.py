"""Figures of the RTRL study (analysis.rtrl): they draw, they compute nothing."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.plotting import save  # noqa: E402
from analysis.rtrl import gradient_name  # noqa: E402

STYLE = {"rtrl": dict(color="#d62728", ls="-", marker="o"),
         "16": dict(color="#1f77b4", ls="--", marker="s"),
         "4": dict(color="#9467bd", ls=":", marker="v")}
ORDER = ("rtrl", "16", "4")


def _grid(bits):
    cells = [c for c in ("lstm", "gru", "rnn") if c in set(bits["cell"])]
    widths = sorted(bits["units"].unique())
    fig, axes = plt.subplots(len(cells), len(widths), figsize=(4.0 * len(widths),
                                                              3.2 * len(cells)), squeeze=False)
    return fig, axes, cells, widths


def frontier(r, path: Path) -> Path | None:
    """Share of runs memorized against length, one panel per cell and width, one line per
    gradient; RTRL hollow and on top, so that it shows where the lines coincide."""
    if r is None or r.bits.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, axes, cells, widths = _grid(r.bits)
    for i, cell in enumerate(cells):
        for j, units in enumerate(widths):
            ax = axes[i, j]
            part = r.bits[(r.bits["cell"] == cell) & (r.bits["units"] == units)]
            for grad in ("4", "16", "rtrl"):
                g = part[part["gradient"] == grad].sort_values("length")
                if g.empty:
                    continue
                style = dict(STYLE[grad])
                if grad == "rtrl":
                    style.update(markerfacecolor="none", markersize=9, lw=1.2, zorder=5)
                ax.plot(g["length"], g["memorized"], label=gradient_name(grad), **style)
            ax.axhline(0.5, color="0.6", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(f"{cell.upper()} {units} units", fontsize=10)
            ax.set_xlabel("length (letters, 26-letter alphabet)")
            ax.set_ylabel("share memorized in 200k steps")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.suptitle("Exact regeneration within the frontier's budget: RTRL run online against "
                 "truncated windows\n(share of 3 sequences x 2 seeds per point; L* is where a "
                 "share crosses 1/2, grey line; coinciding lines hide each other)", y=1.0)
    fig.tight_layout()
    return save(fig, path)


def bits_stored(r, path: Path) -> Path | None:
    """Bits stored at the end of each run relative to the 16-step window's on the same
    sequence, against length: RTRL and the 4-step window, with a t band over sequences."""
    if r is None or r.bits.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, axes, cells, widths = _grid(r.bits)
    for i, cell in enumerate(cells):
        for j, units in enumerate(widths):
            ax = axes[i, j]
            part = r.bits[(r.bits["cell"] == cell) & (r.bits["units"] == units)]
            ax.axhline(1.0, color=STYLE["16"]["color"], lw=1.2, ls="--", label="window 16")
            for grad in ("rtrl", "4"):
                g = part[part["gradient"] == grad].sort_values("length")
                if g.empty:
                    continue
                ax.plot(g["length"], g["ratio"], label=gradient_name(grad), **STYLE[grad])
                ax.fill_between(g["length"], g["ratio_lo"], g["ratio_hi"],
                                color=STYLE[grad]["color"], alpha=0.15, lw=0)
            front = r.lstar[(r.lstar["cell"] == cell) & (r.lstar["units"] == units)
                            & (r.lstar["gradient"] == "16")]
            if len(front):
                ax.axvspan(front["below"].iloc[0], front["above"].iloc[0], color="0.85",
                           alpha=0.6, lw=0, label="window 16's L* bracket")
            ax.set_xscale("log", base=2)
            ax.set_ylim(0.8, 1.15)
            ax.set_title(f"{cell.upper()} {units} units", fontsize=10)
            ax.set_xlabel("length (letters)")
            ax.set_ylabel("bits stored / window 16's")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Bits stored at the end of the run (at memorization, or after 200k steps) "
                 "relative to the 16-step window on the same sequences\n(mean over 3 sequences "
                 "of the seeds' ratio, 95% t band; below the grey bracket both memorize, so "
                 "both hold about the whole sequence)", y=1.0)
    fig.tight_layout()
    return save(fig, path)


FIGURES = {"rtrl_frontier": frontier, "rtrl_bits": bits_stored}
