"""Figures of the RTRL study (analysis.rtrl): they draw, they compute nothing."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.rtrl import gradient_name  # noqa: E402

DPI = 110
STYLE = {"rtrl": dict(color="#d62728", ls="-", marker="o"),
         "16": dict(color="#1f77b4", ls="--", marker="s"),
         "4": dict(color="#9467bd", ls=":", marker="v")}
ORDER = ("rtrl", "16", "4")


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def _grid(bits):
    cells = [c for c in ("lstm", "gru", "rnn") if c in set(bits["cell"])]
    widths = sorted(bits["units"].unique())
    fig, axes = plt.subplots(len(cells), len(widths), figsize=(4.0 * len(widths),
                                                              3.2 * len(cells)), squeeze=False)
    return fig, axes, cells, widths


def frontier(r, path: Path) -> Path | None:
    """Share of runs memorized against length, one panel per cell and width, one line per
    gradient, L* marked where each line crosses one half."""
    if r is None or r.bits.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, axes, cells, widths = _grid(r.bits)
    for i, cell in enumerate(cells):
        for j, units in enumerate(widths):
            ax = axes[i, j]
            part = r.bits[(r.bits["cell"] == cell) & (r.bits["units"] == units)]
            for grad in ORDER:
                g = part[part["gradient"] == grad].sort_values("length")
                if g.empty:
                    continue
                ax.plot(g["length"], g["memorized"], label=gradient_name(grad), **STYLE[grad])
                row = r.lstar[(r.lstar["cell"] == cell) & (r.lstar["units"] == units)
                              & (r.lstar["gradient"] == grad)]
                if len(row) and not row["bound"].iloc[0]:
                    ax.axvline(row["L_star"].iloc[0], color=STYLE[grad]["color"], lw=0.8,
                               alpha=0.6)
            ax.axhline(0.5, color="0.6", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"{cell.upper()} {units} units", fontsize=10)
            ax.set_xlabel("length (letters, 26-letter alphabet)")
            ax.set_ylabel("share memorized in 200k steps")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.suptitle("Exact regeneration within the frontier's budget: the exact online gradient "
                 "(RTRL) against truncated windows\n(vertical lines: L*, where a share "
                 "crosses 1/2; 3 sequences x 2 seeds per point)", y=1.0)
    fig.tight_layout()
    return _save(fig, path)


def bits_stored(r, path: Path) -> Path | None:
    """Bits stored at the end of each run against length, per gradient, with the whole
    sequence's L log2 26 as the ceiling."""
    if r is None or r.bits.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, axes, cells, widths = _grid(r.bits)
    for i, cell in enumerate(cells):
        for j, units in enumerate(widths):
            ax = axes[i, j]
            part = r.bits[(r.bits["cell"] == cell) & (r.bits["units"] == units)]
            lengths = np.array(sorted(part["length"].unique()), dtype=float)
            ax.plot(lengths, lengths * math.log2(26), color="0.75", lw=1,
                    label="the whole sequence (L log2 26)")
            for grad in ORDER:
                g = part[part["gradient"] == grad].sort_values("length")
                if g.empty:
                    continue
                ax.plot(g["length"], g["bits"], label=gradient_name(grad), **STYLE[grad])
                ax.fill_between(g["length"], g["bits_lo"], g["bits_hi"],
                                color=STYLE[grad]["color"], alpha=0.15, lw=0)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log", base=2)
            ax.set_title(f"{cell.upper()} {units} units", fontsize=10)
            ax.set_xlabel("length (letters)")
            ax.set_ylabel("bits stored at the end")
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Bits stored at the end of the run (at memorization, or after 200k steps): "
                 "mean over 3 sequences with a 95% t band", y=1.0)
    fig.tight_layout()
    return _save(fig, path)


FIGURES = {"rtrl_frontier": frontier, "rtrl_bits": bits_stored}
