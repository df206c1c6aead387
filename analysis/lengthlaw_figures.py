"""The figure of the one law across length (analysis.lengthcheck): it draws, it computes
nothing."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.lengthcheck import CURVE_LR  # noqa: E402
from analysis.plotting import save  # noqa: E402
from analysis.validate import MEDIAN_FACTOR_TARGET  # noqa: E402

CHECK_STYLE = {"frontier_fresh": dict(marker="s", color="#1f77b4"),
               "capacity_fresh": dict(marker="D", color="#2ca02c"),
               "length_check": dict(marker="o", color="#d62728")}


def length_law(ll, path: Path) -> Path | None:
    """Left: steps to memorize against length per width on the fitted random strings (lr
    1e-3): Kaplan-Meier medians (hollow at the budget: not reached) and the law's medians.
    Right: each check's cells, the law's median against the measured one."""
    if ll is None or ll.curves.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    widths = sorted(ll.curves["units"].unique())
    colors = sns.color_palette("viridis", len(widths))
    for units, color in zip(widths, colors, strict=True):
        c = ll.curves[ll.curves["units"] == units].sort_values("length")
        left.plot(c["length"], c["law"], color=color, lw=1.5, label=f"{units} units: law")
        reached = np.isfinite(c["median"])
        left.scatter(c["length"][reached], c["median"][reached], color=color, s=22, zorder=3)
        left.scatter(c["length"][~reached], c["budget"][~reached], facecolors="none",
                     edgecolors=color, s=30, zorder=3)
    left.set(xscale="log", yscale="log", xlabel="length (letters)",
             ylabel="steps to memorize (median)",
             title=f"Fitted random strings, lr {CURVE_LR:g}: dots measured (hollow: not reached "
                   "in the budget), lines the law")
    left.title.set_fontsize(9)
    left.legend(fontsize=7, ncol=2)
    lo, hi = math.inf, 0.0
    for name, v in ll.checks.items():
        cells = v.cells[np.isfinite(v.cells["median"])]
        if cells.empty:
            continue
        right.scatter(cells["median"], cells["median_pred"], s=18, alpha=0.7,
                      label=f"{name} ({len(cells)} cells)", **CHECK_STYLE.get(name, {}))
        lo = min(lo, cells["median"].min(), cells["median_pred"].min())
        hi = max(hi, cells["median"].max(), cells["median_pred"].max())
    if hi > 0:
        grid = np.array([lo / 2, hi * 2])
        right.plot(grid, grid, color="black", lw=1)
        for f in (MEDIAN_FACTOR_TARGET, 1 / MEDIAN_FACTOR_TARGET):
            right.plot(grid, grid * f, color="grey", ls="--", lw=0.8)
    right.set(xscale="log", yscale="log", xlabel="measured median epochs (Kaplan-Meier)",
              ylabel="predicted median epochs (analysis.predict)",
              title=f"Checks never fitted; dashed: ×{MEDIAN_FACTOR_TARGET} either way")
    right.title.set_fontsize(9)
    right.legend(fontsize=7)
    return save(fig, path)


FIGURES = {"length_law": length_law}
