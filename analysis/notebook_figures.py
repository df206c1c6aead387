"""Figures of the notebook: its choices one at a time (analysis.options) and its seven
cases over seeds (analysis.cases). Drawing only."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from analysis.cases import CASES, case_rows  # noqa: E402
from analysis.options import SOFTMAX_FLOOR  # noqa: E402
from analysis.pipeline import Analysis  # noqa: E402
from analysis.plotting import err, ratio_axis, save, theme  # noqa: E402


def options_plot(a: Analysis, path: Path) -> Path | None:
    """Each notebook choice changed alone: time ratio (within cells) per depth, 95% CI."""
    o = a.options
    if o is None or o.empty:
        return None
    theme()
    o = o.sort_values(["variant", "depth"])
    labels = [f"{r.variant}, depth {r.depth}" for r in o.itertuples()]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(o) + 1.5))
    y = np.arange(len(o))[::-1]
    ax.errorbar(o["ratio"], y, xerr=err(o["ratio"], o["lo"], o["hi"]), fmt="o", color="C0",
                capsize=3)
    ax.axvline(1, color="black", lw=0.8)
    ratio_axis(ax, o["lo"].min(), o["hi"].max())
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("time ratio vs the notebook's choice on the same cells (log-normal AFT, "
                  "seed-level 95% CI)")
    ax.set_title("The notebook's own choices, one at a time, per context depth (v1 study)",
                 fontsize=10)
    return save(fig, path)



def cases(a: Analysis, path: Path) -> Path | None:
    """The seven notebook cases: each run's epochs, the KM median, the notebook's claim."""
    if a.case_runs is None:
        return None
    theme()
    runs = a.case_runs
    budget = float(runs["max_epochs"].max())
    fig, ax = plt.subplots(figsize=(9, 5.2))
    rng = np.random.default_rng(0)
    summary = a.cases.set_index("case")
    names = []
    for i, case in enumerate(CASES):
        y = len(CASES) - 1 - i
        names.append((y, f"{case.title}\nclaim: {case.claim_text}"))
        g = case_rows(runs, case)
        if case.claim is None:
            ax.add_patch(plt.Rectangle((budget * 0.97, y - 0.4), budget * 0.09, 0.8,
                                       color="C2", alpha=0.25, lw=0))
        else:
            ax.add_patch(plt.Rectangle((case.claim[0], y - 0.4), case.claim[1] - case.claim[0],
                                       0.8, color="C2", alpha=0.25, lw=0))
        if g.empty:
            continue
        jit = rng.uniform(-0.25, 0.25, len(g))
        ev = g["event"].to_numpy()
        ax.scatter(g["observed"].to_numpy()[ev], y + jit[ev], s=16, color="C0", alpha=0.8, zorder=3)
        ax.scatter(np.full((~ev).sum(), budget * 1.015), y + jit[~ev], s=22, marker="x",
                   color="C3", zorder=3)
        km = summary.loc[case.number]  # the case's Kaplan-Meier median (cases.case_summary)
        med, lo = km["median"], km["median_lo"]
        if math.isfinite(med):
            hi = km["median_hi"] if math.isfinite(km["median_hi"]) else budget
            ax.errorbar(med, y + 0.42, xerr=err([med], [lo], [hi]),
                        fmt="D", color="black", ms=5, capsize=3, zorder=4)
        ax.text(budget * 1.08, y, f"{km['memorized']}/{km['runs']}", va="center", fontsize=9)
    ax.set_yticks([n[0] for n in names], [n[1] for n in names], fontsize=8)
    ax.set_ylim(-0.7, len(CASES) - 0.3)
    ax.set_xlim(0, budget * 1.15)
    ax.axvline(budget, color="grey", ls=":", lw=1)
    ax.set_xlabel("epochs to memorize (x: not memorized within the budget)")
    handles = [Line2D([], [], marker="o", ls="", color="C0", label="run memorized at epoch"),
               Line2D([], [], marker="x", ls="", color="C3", label="run not memorized"),
               Line2D([], [], marker="D", ls="-", color="black",
                      label="Kaplan-Meier median, 95% CI"),
               Patch(color="C2", alpha=0.25, label="the notebook's claim")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4,
              fontsize=8, frameon=False)
    ax.set_title("The notebook's seven cases: measured over seeds vs what the notebook says "
                 "(right: memorized / runs)", fontsize=10)
    return save(fig, path)


def case_losses(a: Analysis, path: Path) -> Path | None:
    """Training loss of every seed of each case: one mean per evaluation interval."""
    if a.case_runs is None:
        return None
    theme()
    fig, axes = plt.subplots(2, 4, figsize=(16, 7), sharey=True)
    flat = axes.ravel()
    summary, medians = a.cases.set_index("case"), a.case_loss_curves
    for ax, case in zip(flat, CASES, strict=False):
        g = case_rows(a.case_runs, case)
        step = int(g["eval_every"].iloc[0]) if len(g) else 1
        keep = [v is not None and len(v) > 0 for v in g["loss_curve"]]
        curves = [np.asarray(v) for v, k in zip(g["loss_curve"], keep, strict=True) if k]
        segs = [np.column_stack([step * np.arange(1, len(v) + 1), v]) for v in curves]
        colors = ["C0" if ev else "C3" for ev, k in zip(g["event"], keep, strict=True) if k]
        ax.add_collection(LineCollection(segs, colors=colors, lw=0.8, alpha=0.5))
        ax.autoscale_view()
        m = medians[medians["case"] == case.number]
        if len(m):
            ax.plot(m["epoch"].to_numpy(), m["loss"].to_numpy(), color="black", lw=2)
        ax.axhline(SOFTMAX_FLOOR, color="grey", ls=":", lw=1.2)
        done = (f"{summary.loc[case.number, 'memorized']}/{summary.loc[case.number, 'runs']}"
                if case.number in summary.index else "0/0")
        ax.set_title(f"case {case.number}: {case.preset}, reset {case.reset}, {case.units} units"
                     f"\n{done} memorized; notebook: {case.claim_short}", fontsize=9)
        ax.set_xlabel("epoch")
    flat[0].set_ylabel("mean training loss per evaluation interval")
    flat[4].set_ylabel("mean training loss per evaluation interval")
    flat[-1].axis("off")
    flat[-1].legend(handles=[
        Line2D([], [], color="C0", label="a seed that memorized (curve ends there)"),
        Line2D([], [], color="C3", label="a seed that never memorized"),
        Line2D([], [], color="black", lw=2, label="median over seeds still training"),
        Line2D([], [], color="grey", ls=":",
               label=f"floor of Softmax + CrossEntropy: ln(25+e)-1 = {SOFTMAX_FLOOR:.2f}")],
        loc="center", fontsize=9, frameon=False)
    fig.suptitle("Training loss of the notebook's cases over seeds", y=1.0)
    fig.tight_layout()
    return save(fig, path)

