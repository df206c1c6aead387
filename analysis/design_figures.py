"""Figures of the depth x ambiguity design (analysis.design): the forks grid and the
correlation of the difficulty metrics. Drawing only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.pipeline import Analysis  # noqa: E402
from analysis.plotting import save, theme  # noqa: E402


def depth_forks(a: Analysis, path: Path) -> Path | None:
    """Depth x forks, per loss and width (the forks design): the share memorized (top) and
    the median steps to memorize (bottom), each with its colour scale."""
    if a.design is None:
        return None
    theme()
    c = a.design.cells
    panels = sorted(set(zip(c["loss"], c["units"], strict=True)), key=lambda x: (x[0] != "softmax", x[1]))
    fig, axes = plt.subplots(2, len(panels), figsize=(4.4 * len(panels), 7.4), squeeze=False)
    steps = c["median_steps"].replace([np.inf], np.nan)
    lo, hi = float(steps.min()), float(steps.max())
    for j, (loss, units) in enumerate(panels):
        g = c[(c["loss"] == loss) & (c["units"] == units)]
        name = f"{'notebook loss' if loss == 'softmax' else 'loss on logits'}, {units} units"
        for i, (col, fmt, kw, label) in enumerate((
                ("share", ".2f", dict(vmin=0, vmax=1, cmap="mako"), "share memorized"),
                ("median_steps", ".0f", dict(norm=matplotlib.colors.LogNorm(lo, hi),
                                             cmap="rocket_r"), "median steps (log scale)"))):
            ax = axes[i, j]
            grid = g.pivot(index="depth", columns="ambiguous", values=col).sort_index(ascending=False)
            sns.heatmap(grid.replace([np.inf], np.nan), annot=True, fmt=fmt, ax=ax,
                        annot_kws={"fontsize": 7}, cbar=j == len(panels) - 1,
                        cbar_kws={"label": label}, **kw)
            ax.set_title(f"{name}: {label.split(' (')[0]}", fontsize=9)
            ax.set_xlabel("ambiguous transitions (2 + 2 forks)")
            ax.set_ylabel("context depth")
    fig.suptitle(f"Depth and ambiguity set independently ({a.design.n_sequences} sequences, 5 per "
                 "cell x 6 seeds): share memorized within 1000 epochs (top) and Kaplan-Meier "
                 "median steps to memorize (bottom; blank: fewer than half memorized)", y=1.01,
                 fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def correlation(a: Analysis, path: Path) -> Path | None:
    """Spearman correlation of the metrics over the sequences of each design."""
    if a.design is None:
        return None
    theme()
    mats = [("forks design (depth_ambiguity)", a.design.correlation)]
    if a.design.correlation_v1 is not None:
        mats.insert(0, ("v1 study, generated sequences of depth > 1", a.design.correlation_v1))
    fig, axes = plt.subplots(1, len(mats), figsize=(7.5 * len(mats), 6.2), squeeze=False)
    for ax, (title, m) in zip(axes[0], mats, strict=True):
        sns.heatmap(m, annot=True, fmt=".2f", vmin=-1, vmax=1, cmap="vlag", ax=ax, cbar=False,
                    annot_kws=dict(fontsize=7))
        ax.set_title(title, fontsize=10)
    fig.suptitle("Spearman correlation of the difficulty metrics over each design's sequences",
                 y=1.0)
    fig.tight_layout()
    return save(fig, path)

