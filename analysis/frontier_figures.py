"""The capacity frontier's figure (analysis.frontier): L* in bits against parameters.
Drawing only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis.frontier import LITERATURE_BITS  # noqa: E402
from analysis.pipeline import Analysis  # noqa: E402
from analysis.plotting import err, save, theme  # noqa: E402


def frontier_plot(a: Analysis, path: Path) -> Path | None:
    """L* in bits vs parameters, one panel per alphabet, one line per (cell, lr, budget),
    with Collins et al.'s 5 bits per parameter as a (literature) reference line."""
    if a.frontier is None or a.frontier.frontier.empty:
        return None
    theme()
    f = a.frontier.frontier
    alphabets = sorted(f["alphabet_size"].unique())
    fig, axes = plt.subplots(1, len(alphabets), figsize=(6.5 * len(alphabets), 5.2),
                             squeeze=False)
    series = f[["cell", "lr", "budget_steps"]].drop_duplicates().sort_values(
        ["cell", "lr", "budget_steps"], ascending=[True, False, True])
    style = {}
    main_budget = series["budget_steps"].mode().max()  # solid; other budgets dashed
    lstm_colors = iter(["#9ecae1", "#1f77b4", "#e6550d", "#7f2704", "#8c564b"])
    other = {"gru": "#31a354", "rnn": "#756bb1"}
    for r in series.itertuples():
        color = next(lstm_colors) if r.cell == "lstm" else other.get(r.cell, "k")
        style[(r.cell, r.lr, r.budget_steps)] = dict(
            color=color, marker={"lstm": "o", "gru": "s", "rnn": "^"}.get(r.cell, "o"),
            ls="-" if r.budget_steps == main_budget else "--")
    for ax, a_size in zip(axes[0], alphabets, strict=True):
        g_a = f[f["alphabet_size"] == a_size]
        bits = np.log2(a_size)
        for (cell, lr, budget), g in g_a.groupby(["cell", "lr", "budget_steps"], sort=True):
            g = g.sort_values("parameters")
            st = style[(cell, lr, budget)]
            y = g["L_star"] * bits
            # the tested lengths either side of L*: what the doubling grid itself resolves
            ax.vlines(g["parameters"], g["L_below"].fillna(g["L_star"]) * bits,
                      g["L_above"].fillna(g["L_star"]) * bits, color=st["color"], lw=6,
                      alpha=0.18)
            ax.errorbar(g["parameters"], y, yerr=err(y, g["L_lo"] * bits, g["L_hi"] * bits),
                        color=st["color"], ls=st["ls"], marker=st["marker"], capsize=3, ms=6,
                        label=f"{cell.upper()}, lr {lr:g}, {budget // 1000:,}k steps")
            for r in g[g["bound"] != ""].itertuples():
                ax.annotate(r.bound, (r.parameters, r.L_star * bits), fontsize=11,
                            color=st["color"], xytext=(5, -4), textcoords="offset points")
            if st["ls"] == "-":  # each point's width, once per series
                for r in g.itertuples():
                    ax.annotate(f"{r.units}u", (r.parameters, r.L_star * bits), fontsize=7,
                                color=st["color"], xytext=(-6, 7), textcoords="offset points")
        span = np.geomspace(f["parameters"].min(), f["parameters"].max(), 10)
        ax.plot(span, LITERATURE_BITS * span, ":", color="lightgrey",
                label=f"{LITERATURE_BITS:g} bits/parameter (Collins et al. 2017, tuned\n"
                      "offline training; literature, context only)")
        ax.plot(span, span, ":", color="darkgrey", label="1 bit/parameter")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameters of the network (recurrent cell + readout); labels: units")
        ax.set_ylabel("bits in the longest sequence half the runs memorize\n(L* x log2 of the "
                      "alphabet size)")
        ax.set_title(f"{a_size} letters: the longest sequence that half the runs memorize "
                     "exactly\n(interpolated between the tested lengths; bars: 95% bootstrap "
                     "interval;\nshaded: the tested lengths either side; > / <: beyond the "
                     "lengths tested)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return save(fig, path)

