"""Figures of width x learning rate (analysis.widthlr) and of speed (analysis.speed):
share memorized per lr, each width at its best lr, Kaplan-Meier curves, time to memorize.
Drawing only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from analysis.pipeline import Analysis  # noqa: E402
from analysis.plotting import LOSSES, err, save, theme, units_palette  # noqa: E402


def width_lr_grid(a: Analysis, path: Path) -> Path | None:
    """Share memorized vs lr, one line per width, one panel per loss; the muP rule's points."""
    if a.width is None:
        return None
    theme()
    cells = a.width.cells
    pal = units_palette(cells["units"])
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6), sharey=True)
    for ax, (loss, label) in zip(axes, LOSSES.items(), strict=True):
        g = cells[cells["loss"] == loss]
        for u, h in g[g["rule"].isna()].groupby("units"):
            h = h.sort_values("lr")
            ax.plot(h["lr"], h["share"], "o-", color=pal[u], lw=1.6, ms=5, label=f"{u}")
        rule = g[g["rule"].notna()]
        for u, h in rule.groupby("units"):
            ax.scatter(h["lr"], h["share"], marker="*", s=90, color=pal[u], edgecolor="black",
                       lw=0.5, zorder=4)
        ax.set_xscale("log")
        ax.set_xlabel("Adam learning rate")
        ax.set_title(label)
        ax.set_ylim(-0.03, 1.03)
    axes[0].set_ylabel(f"share memorized within {a.width.max_epochs} epochs")
    handles = [Line2D([], [], color=pal[u], marker="o", label=f"{u} units") for u in pal]
    handles.append(Line2D([], [], marker="*", ls="", color="grey", markeredgecolor="black",
                          ms=10, label="lr = c x 32 / units (muP-style rule)"))
    axes[1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False,
                   fontsize=8)
    fig.suptitle(f"Width x learning rate: share of runs memorized, {a.width.n_sequences} "
                 "sequences of depth 2-4 x 6 seeds per point", y=1.02)
    fig.tight_layout()
    return save(fig, path)


def best_lr(a: Analysis, path: Path) -> Path | None:
    """Each width at its best grid lr: share memorized (sequence-level 95% CI) and median
    steps; and at the notebook's lr 1e-3, to show what the choice of lr does at each end."""
    if a.width is None:
        return None
    theme()
    best, nb = a.width.best, a.width.at_notebook_lr
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12.5, 4.6))
    for i, (loss, label) in enumerate(LOSSES.items()):
        b = best[best["loss"] == loss].sort_values("units")
        n = nb[nb["loss"] == loss].sort_values("units")
        color = f"C{i}"
        ax0.errorbar(b["units"] * (1.04 if i else 0.96), b["share"],
                     yerr=err(b["share"], b["share_lo"], b["share_hi"]), fmt="o-", color=color,
                     capsize=3, label=f"{label}: best lr of the grid")
        ax0.plot(n["units"], n["share"], "s--", color=color, alpha=0.6, ms=4,
                 label=f"{label}: lr 1e-3")
        for r in b.itertuples():
            ax0.annotate(f"{r.lr:g}", (r.units * (1.04 if i else 0.96), r.share),
                         textcoords="offset points", xytext=(0, 7 if i else -13), fontsize=7,
                         ha="center", color=color)
        fin = b[np.isfinite(b["median_steps"])]
        hi = np.where(np.isfinite(fin["median_hi"]), fin["median_hi"], fin["median_steps"])
        ax1.errorbar(fin["units"], fin["median_steps"], yerr=err(fin["median_steps"],
                     fin["median_lo"], hi), fmt="o-", color=color, capsize=3, label=label)
    for ax in (ax0, ax1):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("LSTM units")
    ax0.set_ylim(-0.03, 1.05)
    ax0.set_ylabel("share memorized within 1000 epochs")
    ax0.set_title("At each width's best lr (labels), sequence-bootstrap 95% CI;\n"
                  "dashed: the notebook's lr 1e-3", fontsize=10)
    ax0.legend(fontsize=7, loc="lower center")
    ax1.set_yscale("log")
    ax1.set_ylabel("median steps to memorize (Kaplan-Meier, 95% CI)")
    ax1.set_title("Speed at each width's best lr", fontsize=10)
    ax1.legend(fontsize=8)
    fig.suptitle("Is wider ever worse at its best learning rate?", y=1.02)
    fig.tight_layout()
    return save(fig, path)


def survival_by_units(a: Analysis, path: Path) -> Path | None:
    """KM curves of steps to memorize, one line per width (every width), at its best lr."""
    if a.width is None:
        return None
    theme()
    best, curves = a.width.best, a.width.curves
    pal = units_palette(best["units"])
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.4), sharey=True)
    for ax, (loss, label) in zip(axes, LOSSES.items(), strict=True):
        for r in best[best["loss"] == loss].itertuples():
            c = curves[(curves["loss"] == loss) & (curves["units"] == r.units)]
            ax.step(c["t"], c["s"], where="post",
                    color=pal[r.units], lw=1.6, label=f"{r.units} (lr {r.lr:g})")
        ax.set_xscale("log")
        ax.set_xlabel("optimizer steps")
        ax.set_title(label)
        ax.legend(title="units (best lr)", fontsize=7)
    axes[0].set_ylabel("share not yet memorized (Kaplan-Meier)")
    fig.suptitle("Steps to memorize by width, each at its best learning rate", y=1.02)
    return save(fig, path)


def time_vs_units(a: Analysis, path: Path) -> Path | None:
    """Measured cost per model-step at every width, and wall-clock time to memorize at each
    width's best lr (median steps x that cost). Measured points only."""
    if a.speed is None or a.width is None:
        return None
    theme()
    s = a.speed
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.6))
    ax0.errorbar(s["units"], s["median"], yerr=err(s["median"], s["q25"], s["q75"]), fmt="o-",
                 color="C4", capsize=3, label="sweep runs (median, quartiles)")
    if a.bench_cost is not None:  # LSTMs, as the sweep runs beside it
        st = a.bench_cost
        ax0.plot(st.index, st.to_numpy(), "D", color="C1", label="benchmark, idle core, length 26")
    ax0.set_xscale("log", base=2)
    ax0.set_yscale("log")
    ax0.set_xlabel("LSTM units")
    ax0.set_ylabel("microseconds per model-step")
    ax0.set_title("Cost of one step (width_lr runs: full-epoch BPTT, length 16,\n"
                  "2 workers; evaluation included)", fontsize=9)
    ax0.legend(fontsize=8)
    t = a.time_to_memorize
    for i, (loss, label) in enumerate(LOSSES.items()):
        b = t[t["loss"] == loss]
        ax1.plot(b["units"], b["seconds"], "o-", color=f"C{i}", label=label)
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("LSTM units")
    ax1.set_ylabel("seconds to memorize per model (median)")
    ax1.set_title("Wall-clock time to memorize at each width's best lr\n"
                  "= Kaplan-Meier median steps x measured cost per step", fontsize=9)
    ax1.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)

