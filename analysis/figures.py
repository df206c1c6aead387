"""Figures (PNG, seaborn/matplotlib): each function draws one file from the Analysis.

Every title says what is shown and with which estimator; no figure leaves out a level
of the variable it is about.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from analysis.capacity_figures import FIGURES as CAPACITY_FIGURES  # noqa: E402
from analysis.cases import CASES, case_rows  # noqa: E402
from analysis.frontier import LITERATURE_BITS  # noqa: E402
from analysis.options import SOFTMAX_FLOOR  # noqa: E402
from analysis.pipeline import Analysis  # noqa: E402
from analysis.rtrl_figures import FIGURES as RTRL_FIGURES  # noqa: E402
from analysis.usercells_figures import FIGURES as USERCELLS_FIGURES  # noqa: E402

DPI = 110
LOSSES = {"softmax": "Softmax then CrossEntropy (notebook)", "logits": "CrossEntropy on logits"}


def _theme() -> None:
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def _units_palette(units) -> dict:
    """One clearly different colour per width (a sequential map made 32/64 and 128/256 look
    alike); ordered from dark to light within the qualitative set."""
    units = sorted(set(int(u) for u in units))
    colors = sns.color_palette("tab10" if len(units) <= 10 else "husl", len(units))
    return dict(zip(units, colors, strict=True))


def _err(est, lo, hi) -> np.ndarray:
    est, lo, hi = (np.asarray(v, dtype=float) for v in (est, lo, hi))
    return np.clip(np.vstack([est - lo, hi - est]), 0, None)


# -- width x learning rate -----------------------------------------------------------------

def width_lr_grid(a: Analysis, path: Path) -> Path | None:
    """Share memorized vs lr, one line per width, one panel per loss; the muP rule's points."""
    if a.width is None:
        return None
    _theme()
    cells = a.width.cells
    pal = _units_palette(cells["units"])
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
    return _save(fig, path)


def best_lr(a: Analysis, path: Path) -> Path | None:
    """Each width at its best grid lr: share memorized (sequence-level 95% CI) and median
    steps; and at the notebook's lr 1e-3, to show what the choice of lr does at each end."""
    if a.width is None:
        return None
    _theme()
    best, nb = a.width.best, a.width.at_notebook_lr
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12.5, 4.6))
    for i, (loss, label) in enumerate(LOSSES.items()):
        b = best[best["loss"] == loss].sort_values("units")
        n = nb[nb["loss"] == loss].sort_values("units")
        color = f"C{i}"
        ax0.errorbar(b["units"] * (1.04 if i else 0.96), b["share"],
                     yerr=_err(b["share"], b["share_lo"], b["share_hi"]), fmt="o-", color=color,
                     capsize=3, label=f"{label}: best lr of the grid")
        ax0.plot(n["units"], n["share"], "s--", color=color, alpha=0.6, ms=4,
                 label=f"{label}: lr 1e-3")
        for r in b.itertuples():
            ax0.annotate(f"{r.lr:g}", (r.units * (1.04 if i else 0.96), r.share),
                         textcoords="offset points", xytext=(0, 7 if i else -13), fontsize=7,
                         ha="center", color=color)
        fin = b[np.isfinite(b["median_steps"])]
        hi = np.where(np.isfinite(fin["median_hi"]), fin["median_hi"], fin["median_steps"])
        ax1.errorbar(fin["units"], fin["median_steps"], yerr=_err(fin["median_steps"],
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
    return _save(fig, path)


def survival_by_units(a: Analysis, path: Path) -> Path | None:
    """KM curves of steps to memorize, one line per width (every width), at its best lr."""
    if a.width is None:
        return None
    _theme()
    best, curves = a.width.best, a.width.curves
    pal = _units_palette(best["units"])
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
    return _save(fig, path)


# -- capacity ------------------------------------------------------------------------------

def frontier_plot(a: Analysis, path: Path) -> Path | None:
    """L* in bits vs parameters, one panel per alphabet, one line per (cell, lr, budget),
    with Collins et al.'s 5 bits per parameter as a (literature) reference line."""
    if a.frontier is None or a.frontier.frontier.empty:
        return None
    _theme()
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
            ax.errorbar(g["parameters"], y, yerr=_err(y, g["L_lo"] * bits, g["L_hi"] * bits),
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
    return _save(fig, path)


# -- the law -------------------------------------------------------------------------------

LOSS_LABEL = {"softmax": "notebook loss", "logits": "loss on logits"}


def calibration(a: Analysis, path: Path) -> Path | None:
    """Held-out: predicted P(memorized within the budget) vs observed, and predicted vs
    measured median steps per cell."""
    v = a.validation
    if v is None or v.calibration.empty:
        return None
    _theme()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 5))
    ax0.plot([0, 1], [0, 1], ":", color="grey")
    series = [(f"held-out, {LOSS_LABEL[loss]}", g, color, "o")
              for (loss, g), color in zip(v.calibration_by_loss.groupby("loss", sort=True),
                                          ("C0", "C1"), strict=False)]
    if a.predict_check is not None:
        series.append(("predict_check (untouched), both losses", a.predict_check.calibration,
                       "C2", "s"))
    for label, c, color, marker in series:
        ax0.errorbar(c["predicted"], c["observed"], yerr=_err(c["observed"], c["obs_lo"],
                     c["obs_hi"]), fmt=marker, color=color, capsize=3, label=label, ms=5)
        for r in c.itertuples():
            ax0.annotate(f"{r.runs}", (r.predicted, r.observed), xytext=(5, -3),
                         textcoords="offset points", fontsize=7, color=color)
    ax0.legend(fontsize=7, loc="upper left")
    ax0.set_xlim(-0.02, 1.02)
    ax0.set_ylim(-0.02, 1.02)
    ax0.set_xlabel("law's P(memorized within the budget), binned")
    ax0.set_ylabel("observed share (Wilson 95% CI; labels: runs)")
    ax0.set_title(f"Calibration on {v.sequences} held-out sequences, {v.runs} runs\n"
                  f"Brier score (mean squared error of the probability, lower is better) "
                  f"{v.brier:.3f},\nagainst {v.brier_no_skill:.3f} for always predicting the "
                  f"fitting data's share {v.base_rate:.2f}", fontsize=9)
    cells = v.cells
    fin = cells[np.isfinite(cells["median"])]
    out = cells[~np.isfinite(cells["median"])]
    lim = [min(cells["median_pred"].min(), fin["median"].min() if len(fin) else 1) * 0.7,
           max(cells["budget"].max(), cells["median_pred"].max()) * 1.4]
    ax1.plot(lim, lim, ":", color="grey")
    for f, ls in ((1.3, "--"), (2.0, "-.")):
        ax1.plot(lim, [x * f for x in lim], ls, color="0.7", lw=0.8)
        ax1.plot(lim, [x / f for x in lim], ls, color="0.7", lw=0.8)
    sc = ax1.scatter(fin["median_pred"], fin["median"], c=fin["depth"], cmap="viridis", s=22,
                     label="measured median within the budget")
    ax1.scatter(out["median_pred"], out["budget"] * 1.15, marker="^", color="C3", s=18,
                label="measured median beyond the budget")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlim(lim)
    ax1.set_ylim(lim[0], lim[1] * 1.3)
    ax1.set_xlabel("law's median steps")
    ax1.set_ylabel("measured median steps (Kaplan-Meier, 8 seeds)")
    ax1.set_title(f"Held-out cells: median factor {v.median_factor:.2f} over "
                  f"{v.cells_compared} cells (dashed: x1.3, dash-dot: x2)", fontsize=9)
    fig.colorbar(sc, ax=ax1, label="context depth")
    ax1.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


def residuals(a: Analysis, path: Path) -> Path | None:
    """The law on its own fitting cells: measured / predicted median steps and observed -
    predicted share memorized, by units and by depth."""
    _theme()
    cells = a.law_cells
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharey="row")
    for j, by in enumerate(["units", "depth"]):
        fin = cells[np.isfinite(cells["median"])]
        sns.boxplot(data=fin, x=by, y="log2_ratio", ax=axes[0, j], color="C0", fliersize=2)
        axes[0, j].axhline(0, color="black", lw=0.8)
        axes[0, j].set_ylabel("log2(measured / law median steps)")
        sns.boxplot(data=cells, x=by, y="share_residual", ax=axes[1, j], color="C1",
                    fliersize=2)
        axes[1, j].axhline(0, color="black", lw=0.8)
        axes[1, j].set_ylabel("observed share - law's P(memorized)")
        axes[1, j].set_xlabel("LSTM units" if by == "units" else "context depth")
    axes[0, 0].set_title("cells with a measured median within the budget", fontsize=9)
    axes[0, 1].set_title("(one box per level; every fitted cell)", fontsize=9)
    fig.suptitle(f"Residuals of the law on its {len(cells)} fitting cells", y=1.0)
    fig.tight_layout()
    return _save(fig, path)


# -- difficulty ----------------------------------------------------------------------------

def depth_forks(a: Analysis, path: Path) -> Path | None:
    """Depth x forks, per loss and width (the forks design): the share memorized (top) and
    the median steps to memorize (bottom), each with its colour scale."""
    if a.design is None:
        return None
    _theme()
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
    return _save(fig, path)


def correlation(a: Analysis, path: Path) -> Path | None:
    """Spearman correlation of the metrics over the sequences of each design."""
    if a.design is None:
        return None
    _theme()
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
    return _save(fig, path)


def options_plot(a: Analysis, path: Path) -> Path | None:
    """Each notebook choice changed alone: time ratio (within cells) per depth, 95% CI."""
    o = a.options
    if o is None or o.empty:
        return None
    _theme()
    o = o.sort_values(["variant", "depth"])
    labels = [f"{r.variant}, depth {r.depth}" for r in o.itertuples()]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(o) + 1.5))
    y = np.arange(len(o))[::-1]
    ax.errorbar(o["ratio"], y, xerr=_err(o["ratio"], o["lo"], o["hi"]), fmt="o", color="C0",
                capsize=3)
    ax.axvline(1, color="black", lw=0.8)
    _ratio_axis(ax, o["lo"].min(), o["hi"].max())
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("time ratio vs the notebook's choice on the same cells (log-normal AFT, "
                  "seed-level 95% CI)")
    ax.set_title("The notebook's own choices, one at a time, per context depth (v1 study)",
                 fontsize=10)
    return _save(fig, path)


def _ratio_axis(ax: plt.Axes, lo: float, hi: float) -> None:
    """A log axis of time ratios with plain labels (x0.2, x0.5, x1, x2)."""
    ax.set_xscale("log")
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if lo / 1.5 <= t <= hi * 1.5]
    ax.set_xticks(ticks, [f"×{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


# -- speed ---------------------------------------------------------------------------------

def time_vs_units(a: Analysis, path: Path) -> Path | None:
    """Measured cost per model-step at every width, and wall-clock time to memorize at each
    width's best lr (median steps x that cost). Measured points only."""
    if a.speed is None or a.width is None:
        return None
    _theme()
    s = a.speed
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.6))
    ax0.errorbar(s["units"], s["median"], yerr=_err(s["median"], s["q25"], s["q75"]), fmt="o-",
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
    return _save(fig, path)


# -- the notebook's cases --------------------------------------------------------------------

def cases(a: Analysis, path: Path) -> Path | None:
    """The seven notebook cases: each run's epochs, the KM median, the notebook's claim."""
    if a.case_runs is None:
        return None
    _theme()
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
            ax.errorbar(med, y + 0.42, xerr=_err([med], [lo], [hi]),
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
    return _save(fig, path)


def case_losses(a: Analysis, path: Path) -> Path | None:
    """Training loss of every seed of each case: one mean per evaluation interval."""
    if a.case_runs is None:
        return None
    _theme()
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
    return _save(fig, path)


FIGURES = {
    "width_lr": width_lr_grid, "best_lr": best_lr, "survival_by_units": survival_by_units,
    "frontier": frontier_plot, "calibration": calibration, "residuals": residuals,
    "depth_forks": depth_forks, "correlation": correlation, "options": options_plot,
    "time_vs_units": time_vs_units, "cases": cases, "case_loss_curves": case_losses,
    **{name: (lambda a, path, draw=draw: draw(a.capacity, path))
       for name, draw in CAPACITY_FIGURES.items()},
    **{name: (lambda a, path, draw=draw: draw(a.rtrl, path))
       for name, draw in RTRL_FIGURES.items()},
    **{name: (lambda a, path, draw=draw: draw(a.usercells, path))
       for name, draw in USERCELLS_FIGURES.items()},
}


def all_figures(a: Analysis, out: Path) -> dict[str, Path]:
    """Draw every figure the data allow; returns name -> path of those drawn. A figure the
    data no longer allow is removed, so that no stale picture outlives its tables."""
    drawn = {}
    for name, draw in FIGURES.items():
        p = draw(a, out / f"{name}.png")
        if p is not None:
            drawn[name] = p
        else:
            (out / f"{name}.png").unlink(missing_ok=True)
    return drawn
