"""Every figure (PNG, seaborn/matplotlib) by name, and `all_figures`, which draws those the
data allow. Each drawing function takes the Analysis and a path; the drawing lives in the
module of the analysis it shows (widthlr_figures, frontier_figures, law_figures,
design_figures, notebook_figures, capacity_figures, rtrl_figures, usercells_figures,
lengthlaw_figures).

Every title says what is shown and with which estimator; no figure leaves out a level
of the variable it is about.
"""

from __future__ import annotations

from pathlib import Path

from analysis.capacity_figures import FIGURES as CAPACITY_FIGURES
from analysis.design_figures import correlation, depth_forks
from analysis.frontier_figures import frontier_plot
from analysis.law_figures import calibration, residuals
from analysis.lengthlaw_figures import FIGURES as LENGTH_LAW_FIGURES
from analysis.notebook_figures import case_losses, cases, options_plot
from analysis.pipeline import Analysis
from analysis.rtrl_figures import FIGURES as RTRL_FIGURES
from analysis.usercells_figures import FIGURES as USERCELLS_FIGURES
from analysis.widthlr_figures import best_lr, survival_by_units, time_vs_units, width_lr_grid

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
    **{name: (lambda a, path, draw=draw: draw(a.length_law, path))
       for name, draw in LENGTH_LAW_FIGURES.items()},
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
