"""Figures (PNG, seaborn/matplotlib): each function draws one file from fitted tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from analysis.cases import CASES, case_rows  # noqa: E402
from analysis.fit import Analysis, StepCost, kaplan_meier, km_curves, variants  # noqa: E402
from analysis.law import TERM_LABELS, TERMS, interval_cdf  # noqa: E402

SOFTMAX_FLOOR = math.log(25 + math.e) - 1  # the lowest loss Softmax-then-CrossEntropy allows
DPI = 120


def _theme() -> None:
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.15)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def pick_levels(values: Sequence[float], k: int = 4, prefer: Sequence[float] = ()) -> list[float]:
    """Up to k levels spread over `values`: the ends, preferred ones, then evenly spaced."""
    vals = sorted(set(values))
    if len(vals) <= k:
        return vals
    chosen = {vals[0], vals[-1], *[p for p in prefer if p in vals]}
    for q in np.linspace(0, len(vals) - 1, k):
        if len(chosen) >= k:
            break
        chosen.add(vals[int(round(q))])
    return sorted(chosen)[:k] if len(chosen) > k else sorted(chosen)


def _err(est, lo, hi) -> np.ndarray:
    """Error-bar lengths (2, n) from an estimate and its interval, never negative."""
    est, lo, hi = (np.asarray(v, dtype=float) for v in (est, lo, hi))
    return np.clip(np.vstack([est - lo, hi - est]), 0, None)


def _fmt(v: float | str) -> str:
    return v if isinstance(v, str) else f"{v:g}"


def _step_curves(ax: plt.Axes, curves: pd.DataFrame, hue: str, palette: dict, budget: float):
    for level, c in curves.groupby(hue, sort=True):
        color = palette[level]
        t = np.r_[c["t"].to_numpy(), budget]
        ax.step(t, np.r_[c["s"].to_numpy(), c["s"].iloc[-1]], where="post", color=color, lw=1.8,
                label=_fmt(level))
        ax.fill_between(t, np.r_[c["lo"].to_numpy(), c["lo"].iloc[-1]],
                        np.r_[c["hi"].to_numpy(), c["hi"].iloc[-1]], step="post", color=color,
                        alpha=0.15, lw=0)
    ax.set_xlim(0, budget)
    ax.set_ylim(-0.02, 1.02)


def survival(a: Analysis, path: Path, hue: str, facet: str) -> Path | None:
    """KM curves of the notebook-option runs: one line per `hue` level, panels by `facet`.

    By units: the sequences run at every units level; by depth: the balanced grid.
    """
    _theme()
    nb = a.across if hue == "units" else a.grid
    if nb.empty or nb[hue].nunique() < 2:
        return None
    prefer = (32, 128) if facet == "units" else (1, 2)
    levels = pick_levels(nb[facet], 4, prefer)
    budget = float(nb["max_epochs"].max())
    hue_levels = pick_levels(nb[hue], 5, (1, 2, 4, 8) if hue == "context_depth" else (32, 128))
    nb = nb[nb[hue].isin(hue_levels)]
    cmap = "viridis_r" if hue == "context_depth" else "rocket_r"
    palette = dict(zip(hue_levels, sns.color_palette(cmap, len(hue_levels)), strict=True))
    fig, axes = plt.subplots(1, len(levels), figsize=(4.2 * len(levels), 3.8), sharey=True,
                             squeeze=False)
    for ax, level in zip(axes[0], levels, strict=True):
        g = nb[nb[facet] == level]
        _step_curves(ax, km_curves(g, [hue]), hue, palette, budget)
        ax.set_title(f"{facet.replace('_', ' ')} = {_fmt(level)}  ({len(g)} runs)")
        ax.set_xlabel("training epochs")
    axes[0, 0].set_ylabel("P(not yet memorized)")
    handles = [Line2D([], [], color=palette[h], lw=2, label=_fmt(h)) for h in hue_levels]
    fig.legend(handles=handles, title=hue.replace("_", " "), loc="center left",
               bbox_to_anchor=(1.0, 0.5), frameon=False)
    shown = ", ".join(_fmt(h) for h in hue_levels)
    fig.suptitle(f"Share of runs not yet memorized, by {hue.replace('_', ' ')} ({shown}) "
                 "- Kaplan-Meier, 95% log-log bands; notebook options", y=1.02)
    return _save(fig, path)


def pooled_median(a: Analysis, rows: pd.DataFrame, units: np.ndarray) -> np.ndarray:
    """Fitted median of the pooled runs `rows` (a mixture over their sequences) per units.

    The t where the mean over rows of the fitted P(T <= t) is 1/2: the quantity a
    Kaplan-Meier median of the same pooled runs estimates.
    """
    out = []
    for u in units:
        eta = a.fit.eta(rows.assign(units=u))
        lo, hi = eta.min() - 5 * a.fit.sigma, eta.max() + 5 * a.fit.sigma
        for _ in range(40):  # bisection on ln t; P is increasing in t
            mid = (lo + hi) / 2
            if np.mean(interval_cdf(a.fit.dist, (mid - eta) / a.fit.sigma)) < 0.5:
                lo = mid
            else:
                hi = mid
        out.append(float(np.exp((lo + hi) / 2)))
    return np.array(out)


def epochs_vs_units(a: Analysis, path: Path) -> Path | None:
    """KM median epochs (95% CI) vs units per context depth, with the fitted law."""
    _theme()
    t = a.km_across_units
    if t.empty or t["units"].nunique() < 2 or "log_units" not in a.fit.terms:
        return None
    nb = a.across
    depths = sorted(t["context_depth"].unique())
    palette = dict(zip(depths, sns.color_palette("viridis_r", len(depths)), strict=True))
    budget = float(t["budget"].max())
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    grid = np.geomspace(nb["units"].min(), nb["units"].max(), 25)
    dodge = dict(zip(depths, np.linspace(-0.06, 0.06, len(depths)), strict=True))
    for d in depths:
        g = t[t["context_depth"] == d].sort_values("units")
        color = palette[d]
        x = g["units"].to_numpy() * 2 ** dodge[d]
        med, mlo = g["median"].to_numpy(), g["median_lo"].to_numpy()
        fin = np.isfinite(med)
        hi = np.where(np.isfinite(g["median_hi"]), g["median_hi"], budget)
        ax.errorbar(x[fin], med[fin], yerr=_err(med[fin], mlo[fin], hi[fin]),
                    fmt="o", color=color, ms=6, capsize=3, lw=1.2)
        if (~fin).any():  # median not reached within the budget: a lower bound
            ax.scatter(x[~fin], np.full((~fin).sum(), budget), marker="^", s=60,
                       facecolors="white", edgecolors=color, linewidths=1.5, zorder=3)
        ax.plot(grid, pooled_median(a, nb[nb["context_depth"] == d], grid), color=color,
                lw=1.5, alpha=0.8)
    ax.axhline(budget, color="grey", ls=":", lw=1)
    ymin = np.nanmin(t["median_lo"].replace(0, np.nan)) if t["median_lo"].gt(0).any() else 1
    ax.set_ylim(max(ymin * 0.6, 0.5), budget * 4)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("LSTM units")
    ax.set_ylabel("epochs to memorize (median)")
    b = a.fit.coef()["log_units"]
    lengths = "/".join(_fmt(v) for v in sorted(nb["length"].unique()))
    ax.set_title(f"Epochs to memorize vs units, by context depth ({nb['sequence'].nunique()} "
                 f"sequences run at every units level; length {lengths})\n"
                 "points: Kaplan-Meier median of the pooled runs, 95% CI; "
                 "open triangles: median beyond the budget;\n"
                 f"lines: the fitted law's median of the same runs (units exponent {b:.2f}); "
                 "points lie on the evaluation grid, up to one interval above the law",
                 fontsize=10)
    handles = [Line2D([], [], color=palette[d], marker="o", label=_fmt(d)) for d in depths]
    handles.append(Line2D([], [], color="grey", ls=":", label=f"budget {budget:g}"))
    ax.legend(handles=handles, title="context depth", loc="center left",
              bbox_to_anchor=(1.0, 0.5), frameon=False)
    return _save(fig, path)


def heatmap(a: Analysis, path: Path) -> Path | None:
    """P(memorized within the budget) over units x depth: measured (KM) and fitted."""
    _theme()
    t = a.km_units_depth
    if t.empty:
        return None
    nb = a.grid.copy()
    budget = float(t["budget"].min())
    nb["p_fit"] = a.fit.prob_within(nb, budget)
    measured = t.pivot(index="units", columns="context_depth", values="p_budget")
    fitted = nb.groupby(["units", "context_depth"])["p_fit"].mean().unstack()
    for m in (measured, fitted):
        m.index = [_fmt(v) for v in m.index]
        m.columns = [_fmt(v) for v in m.columns]
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.1 * measured.shape[1] * 2, 4.6))
    for ax, m, title in ((axes[0], measured, "measured (Kaplan-Meier)"),
                         (axes[1], fitted, "fitted AFT law")):
        sns.heatmap(m.iloc[::-1], ax=ax, vmin=0, vmax=1, cmap="viridis",
                    annot=True, fmt=".2f", cbar=ax is axes[1], linewidths=0.5,
                    cbar_kws=dict(label="P(memorized)"))
        ax.set_title(title)
        ax.set_xlabel("context depth")
        ax.set_ylabel("units")
    fig.suptitle(f"Probability of memorizing within {budget:g} epochs (notebook options; "
                 f"{nb['sequence'].nunique()} sequences, each run at every units level shown)",
                 y=1.02)
    return _save(fig, path)


def exponents(a: Analysis, path: Path) -> Path:
    """Fitted exponents (ln-covariates) and time ratios (options), 95% bootstrap CIs."""
    _theme()
    c = a.coefficients[a.coefficients["term"] != "Intercept"].copy()
    is_opt = c["term"].map(lambda t: ":" not in t and TERMS[t].kind == "option"
                           and t != "log_lr")
    cont, opt = c[~is_opt], c[is_opt]
    ncols = 2 if len(opt) or a.prep.excluded else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6.2 * ncols, 0.6 * max(len(cont), len(opt), 3)
                                                 + 1.8), squeeze=False)
    ax = axes[0, 0]
    y = np.arange(len(cont))[::-1]
    labels = [_term_label(t) for t in cont["term"]]
    est = cont["estimate"].to_numpy()
    ax.errorbar(est, y + 0.12, xerr=_err(est, cont["ci_lo"], cont["ci_hi"]),
                fmt="o", color="C0", capsize=4, lw=2, label="seeds resampled within cells")
    if cont["seq_ci_lo"].notna().any():
        ax.errorbar(est, y - 0.12, xerr=_err(est, cont["seq_ci_lo"], cont["seq_ci_hi"]),
                    fmt="s", color="C1", capsize=4, lw=1.2, ms=4,
                    label="whole sequences resampled")
    for yi, est in zip(y, cont["estimate"], strict=True):
        ax.annotate(f"{est:+.2f}", (est, yi + 0.3), ha="center", fontsize=9)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.8, len(cont) - 0.2)
    ax.set_xlabel("exponent b in  T ~ x^b  (95% bootstrap CI)")
    ax.set_title("Scaling exponents of epochs-to-memorize")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8,
              frameon=False)
    if ncols == 2:
        ax = axes[0, 1]
        y2 = np.arange(len(opt))[::-1]
        ratio = np.exp(opt["estimate"].to_numpy())
        ax.errorbar(ratio, y2, xerr=_err(ratio, np.exp(opt["ci_lo"]), np.exp(opt["ci_hi"])),
                    fmt="o", color="C2", capsize=4, lw=2)
        for yi, r in zip(y2, ratio, strict=True):
            ax.annotate(f"x{r:.2f}", (r, yi + 0.25), ha="center", fontsize=9)
        ax.axvline(1, color="grey", lw=1)
        ax.set_xscale("log")
        lo, hi = ax.get_xlim()
        ticks = [v for v in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100)
                 if lo <= v <= hi]
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yticks(y2, [_term_label(t) for t in opt["term"]])
        ax.set_ylim(-1.3, max(len(opt), 1) - 0.2)
        ax.set_xlabel("time ratio vs the notebook's choice (95% bootstrap CI)")
        ax.set_title("Effect of the training options")
        note = "; ".join(f"{TERM_LABELS[e['term']]}: {e['memorized']}/{e['runs']} memorized "
                         "(no ratio)" for e in a.prep.excluded)
        if note:
            ax.text(0.5, 0.02, note, transform=ax.transAxes, ha="center", fontsize=9,
                    color="C3")
    fig.suptitle(f"Fitted {a.fit.dist} AFT law: ln T = b0 + sum b x + {a.fit.sigma:.2f} W "
                 f"({a.bootstrap_n} resamples)", y=1.02)
    fig.tight_layout()
    return _save(fig, path)


def _term_label(term: str) -> str:
    return " x ".join(TERM_LABELS[p] for p in term.split(":"))


def options(a: Analysis, path: Path) -> Path | None:
    """Each non-notebook option slice against the notebook runs on the same cells."""
    _theme()
    runs = a.runs.copy()
    runs["variant"] = variants(runs)
    others = [v for v in sorted(runs["variant"].unique()) if v != "notebook"]
    if not others:
        return None
    ncol = min(len(others), 4)
    nrow = math.ceil(len(others) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.9 * nrow), sharey=True,
                             squeeze=False)
    for ax in axes.ravel()[len(others):]:
        ax.axis("off")
    for ax, v in zip(axes.ravel(), others, strict=False):
        g = runs[runs["variant"] == v]
        cells = set(zip(g["sequence"], g["units"], strict=True))
        same = np.array([c in cells for c in zip(runs["sequence"], runs["units"], strict=True)])
        nb = runs[(runs["variant"] == "notebook").to_numpy() & same]
        budget = float(max(g["max_epochs"].max(), nb["max_epochs"].max() if len(nb) else 0))
        both = pd.concat([nb.assign(arm="notebook"), g.assign(arm=v)])
        palette = {"notebook": "0.35", v: "C3"}
        _step_curves(ax, km_curves(both, ["arm"]), "arm", palette, budget)
        ax.set_title(f"{v}\n({len(g)} vs {len(nb)} runs, same cells)", fontsize=10)
        ax.set_xlabel("training epochs")
        ax.legend(loc="center right", fontsize=8)
    for row in axes:
        row[0].set_ylabel("P(not yet memorized)")
    fig.suptitle("The notebook's choices: each option changed alone vs the notebook's setting,\n"
                 "on the same sequences and units (Kaplan-Meier, 95% bands)", y=1.0)
    fig.tight_layout()
    return _save(fig, path)


def cases(a: Analysis, path: Path) -> Path | None:
    """The seven notebook cases: each run's epochs, the KM median, the notebook's claim."""
    _theme()
    if a.cases is None or a.cases_table is None:
        return None
    budget = float(a.cases["max_epochs"].max())
    fig, ax = plt.subplots(figsize=(9, 5.2))
    rng = np.random.default_rng(0)
    names = []
    for i, case in enumerate(CASES):
        y = len(CASES) - 1 - i
        names.append((y, f"{case.title}\nclaim: {case.claim_text}"))
        g = case_rows(a.cases, case)
        if case.claim is None:
            ax.add_patch(plt.Rectangle((budget * 0.97, y - 0.4), budget * 0.09, 0.8,
                                       color="C2", alpha=0.25, lw=0))
        else:
            ax.add_patch(plt.Rectangle((case.claim[0], y - 0.4), case.claim[1] - case.claim[0],
                                       0.8, color="C2", alpha=0.25, lw=0))
        if g.empty:
            ax.text(budget / 2, y, "no runs", ha="center", va="center", color="grey")
            continue
        jit = rng.uniform(-0.25, 0.25, len(g))
        ev = g["event"].to_numpy()
        ax.scatter(g["observed"].to_numpy()[ev], y + jit[ev], s=16, color="C0", alpha=0.8, zorder=3)
        ax.scatter(np.full((~ev).sum(), budget * 1.015), y + jit[~ev], s=22, marker="x",
                   color="C3", zorder=3)
        km = kaplan_meier(g["observed"], g["event"], budget=budget)
        if math.isfinite(km.median):
            hi = km.median_hi if math.isfinite(km.median_hi) else budget
            ax.errorbar(km.median, y + 0.42, xerr=_err([km.median], [km.median_lo], [hi]),
                        fmt="D", color="black", ms=5, capsize=3, zorder=4)
        ax.text(budget * 1.08, y, f"{km.events}/{km.n}", va="center", fontsize=9)
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
    """Training loss of every seed of each case (the notebook's plot, over seeds): the
    recorded curve, one mean per evaluation interval, drawn at the interval's end."""
    _theme()
    if a.cases is None or not a.cases["loss_curve"].map(_curve_len).any():
        return None
    fig, axes = plt.subplots(2, 4, figsize=(16, 7), sharey=True)
    flat = axes.ravel()
    for ax, case in zip(flat, CASES, strict=False):
        g = case_rows(a.cases, case)
        step = int(g["eval_every"].iloc[0]) if len(g) else 1
        curves = [np.asarray(v) for v in g["loss_curve"] if _curve_len(v)]
        segs = [np.column_stack([step * np.arange(1, len(v) + 1), v]) for v in curves]
        colors = ["C0" if ev else "C3" for ev, v in zip(g["event"], g["loss_curve"],
                                                        strict=True) if _curve_len(v)]
        ax.add_collection(LineCollection(segs, colors=colors, lw=0.8, alpha=0.5))
        ax.autoscale_view()
        if curves:
            n = max(map(len, curves))
            mat = np.full((len(curves), n), np.nan)
            for i, v in enumerate(curves):
                mat[i, :len(v)] = v
            enough = np.sum(~np.isnan(mat), axis=0) >= max(len(curves) // 2, 1)
            ax.plot(step * np.arange(1, n + 1)[enough], np.nanmedian(mat[:, enough], axis=0),
                    color="black", lw=2)
        if (g["loss"] == "softmax").any():
            ax.axhline(SOFTMAX_FLOOR, color="grey", ls=":", lw=1.2)
        if g.empty:
            ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", color="grey")
        ax.set_title(f"case {case.number}: {case.preset}, reset {case.reset}, {case.units} units"
                     f"\n{int(g['event'].sum())}/{len(g)} memorized; notebook: "
                     f"{case.claim_short}", fontsize=9)
        ax.set_xlabel("epoch")
    flat[0].set_ylabel("mean training loss (per evaluation interval)")
    flat[4].set_ylabel("mean training loss (per evaluation interval)")
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


def _curve_len(v) -> int:
    return 0 if v is None else len(v)


def time_vs_units(a: Analysis, path: Path) -> Path | None:
    """Per-step cost and wall-clock time to memorize vs units."""
    _theme()
    if a.cost is None or a.time_table is None or a.time_table.empty:
        return None
    cost: StepCost = a.cost
    t = a.time_table
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.8),
                                   gridspec_kw=dict(width_ratios=[1, 1.6]))
    span = np.geomspace(min(t["units"].min(), cost.units.min()),
                        max(t["units"].max(), cost.units.max()), 30)
    ax0.plot(cost.units, cost.us, "o", color="C4", ms=7, label="measured")
    ax0.plot(span, cost(span), "--", color="C4", lw=1.2,
             label=f"power law, slope {cost.exponent:.2f}")
    if cost.base_us is not None:
        for n, ls in ((8, ":"), (128, "-.")):
            ax0.plot(span, cost(span, n), ls, color="0.4", lw=1, label=f"length {n}")
    ax0.set_xscale("log", base=2)
    ax0.set_yscale("log")
    ax0.set_xlabel("LSTM units")
    ax0.set_ylabel("cost per model per step (us)")
    ax0.legend(fontsize=8)
    ax0.set_title(f"Per-step cost at length {cost.ref_length:g}\n{_wrap(cost.source, 55)}",
                  fontsize=9)
    depths = sorted(t["context_depth"].unique())
    palette = dict(zip(depths, sns.color_palette("viridis_r", len(depths)), strict=True))
    for d in depths:
        g = t[(t["context_depth"] == d) & np.isfinite(t["median"])].sort_values("units")
        if g.empty:
            continue
        med = g["median"].to_numpy()
        hi = np.where(np.isfinite(g["median_hi"]), g["median_hi"], med)
        ax1.errorbar(g["units"].to_numpy(), med, yerr=_err(med, g["median_lo"], hi),
                     fmt="o-", color=palette[d], capsize=3, label=_fmt(d))
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("LSTM units")
    ax1.set_ylabel("wall-clock seconds to memorize (median)")
    ax1.set_title("Time to memorize = epochs x length x per-step cost (sequences run at "
                  "every units level)\n"
                  "Kaplan-Meier median over runs, 95% CI; cells whose median "
                  "exceeds the budget omitted", fontsize=9)
    ax1.legend(title="context depth", loc="center left", bbox_to_anchor=(1.0, 0.5),
               frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def all_figures(a: Analysis, out: Path) -> dict[str, Path]:
    """Draw every figure the data allow; returns name -> path of those drawn."""
    plan = {
        "survival_by_depth": lambda p: survival(a, p, hue="context_depth", facet="units"),
        "survival_by_units": lambda p: survival(a, p, hue="units", facet="context_depth"),
        "epochs_vs_units": lambda p: epochs_vs_units(a, p),
        "p_memorize_heatmap": lambda p: heatmap(a, p),
        "exponents": lambda p: exponents(a, p),
        "options": lambda p: options(a, p),
        "cases": lambda p: cases(a, p),
        "case_loss_curves": lambda p: case_losses(a, p),
        "time_vs_units": lambda p: time_vs_units(a, p),
    }
    drawn = {}
    for name, draw in plan.items():
        p = draw(out / f"{name}.png")
        if p is not None:
            drawn[name] = p
    return drawn
