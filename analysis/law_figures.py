"""Figures of the law: calibration on held-out runs (analysis.validate) and the residuals
on its own fitting cells (analysis.residuals). Drawing only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.pipeline import Analysis  # noqa: E402
from analysis.plotting import err, save, theme  # noqa: E402

LOSS_LABEL = {"softmax": "notebook loss", "logits": "loss on logits"}


def calibration(a: Analysis, path: Path) -> Path | None:
    """Held-out: predicted P(memorized within the budget) vs observed, and predicted vs
    measured median steps per cell."""
    v = a.validation
    if v is None or v.calibration.empty:
        return None
    theme()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 5))
    ax0.plot([0, 1], [0, 1], ":", color="grey")
    series = [(f"held-out, {LOSS_LABEL[loss]}", g, color, "o")
              for (loss, g), color in zip(v.calibration_by_loss.groupby("loss", sort=True),
                                          ("C0", "C1"), strict=False)]
    if a.predict_check is not None:
        series.append(("predict_check (untouched), both losses", a.predict_check.calibration,
                       "C2", "s"))
    pre = a.preregistered.check if a.preregistered is not None else None
    if pre is not None and not pre.calibration_by_loss.empty:
        series += [(f"prereg_check (after the freeze), {LOSS_LABEL[loss]}", g, color, "D")
                   for (loss, g), color in zip(pre.calibration_by_loss.groupby("loss", sort=True),
                                               ("C3", "C4"), strict=False)]
    for label, c, color, marker in series:
        ax0.errorbar(c["predicted"], c["observed"], yerr=err(c["observed"], c["obs_lo"],
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
    return save(fig, path)


def residuals(a: Analysis, path: Path) -> Path | None:
    """The law on its own fitting cells: measured / predicted median steps and observed -
    predicted share memorized, by units and by depth."""
    theme()
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
    return save(fig, path)

