"""Figures of the capacity study (analysis.capacity): they draw, they compute nothing."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.capacity import LITERATURE  # noqa: E402
from analysis.capacity_checks import status_counts  # noqa: E402
from analysis.code_length import LOWER_BOUND, at_chosen_lr  # noqa: E402

DPI = 110
MODE_STYLE = {"online k=16": dict(color="#1f77b4", ls="-", marker="o"),
              "offline": dict(color="#d62728", ls="--", marker="s"),
              "online k=4": dict(color="#9467bd", ls=":", marker="v"),
              "online k=64": dict(color="#2ca02c", ls="-.", marker="^")}
MODE_LABEL = {"online k=16": "online, window 16", "offline": "offline, chunks of 64",
              "online k=4": "online, window 4", "online k=64": "online, window 64"}


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def _family_title(cell: str, units: int, a: int, params: int) -> str:
    return f"{cell.upper()} {units} units ({params:,} parameters), {a} letters"


def curves(cap, path: Path) -> Path | None:
    """Bits stored against length at each family's final exposure, online beside offline."""
    if cap is None or cap.points.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    every = cap.points
    last = every.groupby(["cell", "units", "alphabet_size", "mode"])["exposures"].transform("max")
    pts = every[every["exposures"] == last]
    fams = pts.groupby(["cell", "units", "alphabet_size", "params"], sort=True)
    n = fams.ngroups
    cols = 4
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, ((cell, units, a, params), part) in zip(axes.flat, fams, strict=False):
        lengths = np.array(sorted(part["length"].unique()), dtype=float)
        ax.plot(lengths, lengths * math.log2(a), color="0.75", lw=1, label="all of it (n log2 A)")
        for m, g in part.groupby("mode", sort=False):
            g = g.sort_values("length")
            st = MODE_STYLE.get(m, dict(color="k", ls="-", marker="x"))
            ax.plot(g["length"], g["bits"], label=f"{MODE_LABEL.get(m, m)}, "
                    f"{int(g['exposures'].iloc[0])} exposures", **st)
            ax.fill_between(g["length"], g["lo"], g["hi"], color=st["color"], alpha=0.15, lw=0)
        # window 16 also at the exposures the other windows stopped at: the like-for-like line
        others = set(part.loc[part["mode"].str.startswith("online k="), "exposures"])
        base = every[(every["cell"] == cell) & (every["units"] == units)
                     & (every["alphabet_size"] == a) & (every["mode"] == "online k=16")]
        for e in sorted(others - set(part.loc[part["mode"] == "online k=16", "exposures"])):
            g = base[base["exposures"] == e].sort_values("length")
            ax.plot(g["length"], g["bits"], color=MODE_STYLE["online k=16"]["color"], lw=0.9,
                    ls=":", marker=".", label=f"online, window 16, {e} exposures")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_title(_family_title(cell, units, a, params), fontsize=9)
        ax.set_xlabel("sequence length (letters)")
        ax.set_ylabel("bits stored")
        ax.legend(fontsize=6.5, loc="upper left")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(status_counts(cap.end_gain).items()))
    fig.suptitle("Bits stored (clipped, biased upwards at long lengths) against sequence length "
                 f"at the end of each budget; at their longest length the curves are: {counts}"
                 "\n(mean over 3 independent sequences per length, more at peaks where new ones were "
                 "added, 2 seeds each; band: 95% "
                 "t-interval; grey: every bit of the sequence)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def exposures(cap, path: Path) -> Path | None:
    """Capacity per parameter on the unclipped saving at 100, 300 and 1000 exposures against
    parameters, online (window 16) and offline (at the end of its budget), each curve at the
    lr chosen for it, with the literature's figures as labelled context lines."""
    if cap is None or cap.saved.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    caps = at_chosen_lr(cap.saved)
    caps = caps[caps["mode"].isin(["online k=16", "offline"])]
    longer = cap.budget_curves
    if len(longer):  # the offline networks at longer budgets, each at the end of its budget
        longer = longer[~longer["failed"].astype(bool)]
        caps = pd.concat([caps, longer.assign(exposures=longer["max_epochs"])], ignore_index=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    colors = dict(zip((100, 300, 1000, 3000), sns.color_palette("viridis", 4), strict=True))
    marks = {"gru": "D", "rnn": "P", "lstm": "*"}
    for ax, m in zip(axes, ("online k=16", "offline"), strict=True):
        part = caps[caps["mode"] == m]
        lstm26 = part[(part["cell"] == "lstm") & (part["alphabet_size"] == 26)]
        # online at a constant lr, a reading before the budget is what a run of that budget
        # ends with, so one line per exposure whatever the budget
        for e, g in lstm26.groupby("exposures"):
            g = g.sort_values("params")
            ax.errorbar(g["params"], g["bits_per_param"],
                        yerr=np.clip([g["bits_per_param"] - g["bpp_lo"],
                                      g["bpp_hi"] - g["bits_per_param"]], 0, None),
                        color=colors[e], marker="o", capsize=3,
                        label=f"LSTM, 26 letters, {e} exposures")
            for _, r in g[g["status"].isin([*LOWER_BOUND, "one length"])].iterrows():
                ax.annotate("lower bound", (r["params"], r["bits_per_param"]), fontsize=7,
                            xytext=(4, 4), textcoords="offset points", color=colors[e])
        others = part[~((part["cell"] == "lstm") & (part["alphabet_size"] == 26))]
        for (cell, a, e), h in others.groupby(["cell", "alphabet_size", "exposures"]):
            ax.scatter(h["params"], h["bits_per_param"], color=colors[e], marker=marks[cell],
                       s=45, edgecolor="k", lw=0.4, label=f"{cell.upper()}, {a} letters, {e} exposures")
            for _, r in h[h["status"].isin([*LOWER_BOUND, "one length"])].iterrows():
                ax.annotate("lower bound", (r["params"], r["bits_per_param"]), fontsize=7,
                            xytext=(4, -9), textcoords="offset points", color=colors[e])
        for name, value in LITERATURE:
            ax.axhline(value, color="0.55", lw=0.8, ls=":")
            ax.text(0.01, value, f" {name}: {value:g}",
                    transform=ax.get_yaxis_transform(), fontsize=7, va="bottom", color="0.35")
        ax.set_xscale("log")
        ax.set_xlabel("parameters of the network")
        ax.set_title(f"{MODE_LABEL[m]}", fontsize=10)
        ax.legend(fontsize=6.5, loc="upper right")
    axes[0].set_ylabel("bits saved per parameter (unclipped code length)")
    fig.suptitle("Capacity per parameter after 100-3000 exposures: the plateau over "
                 "lengths of the unclipped code-length saving, each curve at the lr chosen for "
                 "it (bars: 95% t-interval over its sequences, 3 or more;\n'lower bound': largest "
                 "mean at the longest length (level or rising), collapsed or at one length). "
                 "Offline only at the end of its cosine schedule, "
                 "at its own budget and, where trained,\nat longer ones (capacity_offline_long, "
                 "_short and _shorter; a longer budget that stores less than a shorter one is "
                 "left out)."
                 " Dotted lines: published figures, other protocols, context only",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def time_to_memorize(cap, path: Path) -> Path | None:
    """Steps to the first exact regeneration against length, online, per width."""
    if cap is None or cap.time.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, ax = plt.subplots(figsize=(7, 4.6))
    pal = sns.color_palette("tab10", len(cap.time))
    for color, (_, r) in zip(pal, cap.time.iterrows(), strict=True):
        lengths = np.array(r["lengths"], dtype=float)
        ax.plot(lengths, r["median_steps"], "o", color=color,
                label=f"{r['cell'].upper()} {r['units']} units, {r['alphabet_size']} letters: "
                      f"steps ~ L^{r['power_exponent']:.2f}" if r["chosen"].startswith("power")
                else f"{r['cell'].upper()} {r['units']} units: divergence at "
                     f"{r['divergence_lc']:.0f}")
        grid = np.geomspace(lengths.min(), lengths.max(), 50)
        if r["chosen"].startswith("power"):
            ax.plot(grid, np.exp(r["power_a"]) * grid ** r["power_exponent"], color=color, lw=1)
        else:
            ax.plot(grid, np.exp(r["divergence_a"]) * grid
                    / (1 - grid / r["divergence_lc"]) ** r["divergence_g"], color=color, lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length (letters)")
    ax.set_ylabel("steps to first exact regeneration (median)")
    few = cap.time["chosen"].str.startswith("power (").all()
    lines = ("power-law fits; too few lengths per width to test a divergence at L*" if few
             else "the fitted form chosen by AIC")
    ax.set_title("Online (window 16): steps to the first exact regeneration as the length nears "
                 f"what the network holds\n(median over sequences whose runs all memorized; "
                 f"lines: {lines})", fontsize=9)
    ax.legend(fontsize=6.5)
    fig.tight_layout()
    return _save(fig, path)


def divergence(cap, path: Path) -> Path | None:
    """T(L) on the frontier's protocol for the LSTM at 26 letters: the Kaplan-Meier median
    steps per length, both fitted medians, and Lc where the divergence is chosen."""
    from analysis.divergence import PROTOCOL, predicted_median

    d = None if cap is None else cap.divergence
    if d is None or d.fits.empty:
        return None
    fits = d.fits[(d.fits["cell"] == "lstm") & (d.fits["alphabet_size"] == 26)
                  & (d.fits["units"] >= 8)]
    if fits.empty:
        return None
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    pal = sns.color_palette("viridis", len(fits))
    for color, (_, r) in zip(pal, fits.iterrows(), strict=True):
        m = d.medians[(d.medians["cell"] == "lstm") & (d.medians["alphabet_size"] == 26)
                      & (d.medians["units"] == r["units"])]
        done = m[np.isfinite(m["median_steps"])]
        ax.plot(done["length"], done["median_steps"], "o", color=color, ms=4,
                label=f"{r['units']} units: KM median (chosen: {r['chosen']}, "
                      f"ΔAIC {r['delta_aic']:.0f})")
        grid = np.geomspace(m["length"].min(), m["length"].max() * 1.5, 200)
        ax.plot(grid, predicted_median(r, "power", grid), color=color, ls="--", lw=0.9)
        if r.get("divergence_identified", True):  # a ridge has no one curve to draw
            ax.plot(grid, predicted_median(r, "divergence", grid), color=color, lw=1.3)
        if r["chosen"] == "divergence" and r["shape"] == "a divergence at Lc":
            ax.axvline(r["divergence_lc"], color=color, ls=":", lw=1)
    ax.axhline(PROTOCOL["budget_steps"], color="0.3", lw=0.8)
    ax.text(ax.get_xlim()[0] * 1.1, PROTOCOL["budget_steps"] * 1.1, "budget", fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(top=PROTOCOL["budget_steps"] * 20)
    ax.set_xlabel("sequence length (letters)")
    ax.set_ylabel("steps to the first exact regeneration")
    ax.set_title("LSTM, 26 letters, lr 1e-3, window 16: steps to memorize as the length nears "
                 "what the network holds\n(points: Kaplan-Meier medians where half memorized; "
                 "dashed: power law; solid: divergence; dotted: its Lc)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


def saved(cap, path: Path) -> Path | None:
    """The unclipped saving against length per network, every training at the end of its
    budget (and online at the offline budget where an exact reading exists before its own):
    filled markers exact, open markers the last-pass proxy; beside it the clipped bits
    stored (dotted) and what the clip credits an untrained network with (grey)."""
    if cap is None or cap.saved_points.empty:
        return None
    pts = cap.saved_points
    status = cap.saved.set_index(["slice", "exposures", "lr"])["status"]
    chosen = cap.saved.set_index(["slice", "lr"])["lr_as_chosen"].to_dict()
    fams = list(pts.groupby(["cell", "units", "alphabet_size", "params"], sort=True))
    sns.set_theme(style="whitegrid", context="paper", font_scale=0.9)
    cols = 4
    rows = math.ceil(len(fams) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 4.0 * rows), squeeze=False)
    for ax, ((cell, units, a, params), part) in zip(axes.flat, fams, strict=False):
        offline_budgets = set(part.loc[part["mode"] == "offline", "max_epochs"])
        shown = part[(part["exposures"] == part["max_epochs"])
                     | ((part["mode"] == "online k=16") & part["exposures"].isin(offline_budgets))]
        for (sl, m, e, lr), g in shown.groupby(["slice", "mode", "exposures", "lr"], sort=False):
            st = MODE_STYLE.get(m, dict(color="k", ls="-", marker="x"))
            end = e == g["max_epochs"].iloc[0]
            other = chosen.get((sl, lr)) in (False,)  # an lr the choice no longer picks
            y, lo, hi = g["saved"] / params, g["lo"] / params, g["hi"] / params
            label = (f"{MODE_LABEL.get(m, m)}, {e} exp." + ("" if end else
                     f" (of {int(g['max_epochs'].iloc[0])})")
                     + (f", lr {lr:g} (not chosen)" if other else "")
                     + f": {status.get((sl, e, lr), '')}")
            color = ("#7fb3d5" if not end else "#f1948a" if other  # read before its budget,
                     else st["color"])  # or at an lr the choice no longer picks
            ax.plot(g["length"], y, color=color, ls=st["ls"] if end else "-.",
                    lw=1.2 if end else 1.0, label=label)
            ax.errorbar(g["length"], y, yerr=[(y - lo).fillna(0), (hi - y).fillna(0)],
                        color=color, ls="none", capsize=2, lw=0.8)
            for exact, h in g.groupby("exact"):
                ax.plot(h["length"], h["saved"] / params, ls="none", marker=st["marker"],
                        ms=4.5, color=color, mfc=color if exact else "white")
            if end and not other and m in ("online k=16", "offline"):
                ax.plot(g["length"], g["clipped"] / params, color=st["color"], ls=":", lw=0.8,
                        alpha=0.7, label=f"clipped bits stored, {m.split()[0]}")
        first = part.drop_duplicates("length").sort_values("length")
        ax.plot(first["length"], first["untrained"] / params, color="0.5", ls="--", lw=0.9,
                label="clipped, untrained network")
        top = max(shown["clipped"].max(), shown["hi"].max(), shown["saved"].max()) / params
        ax.set_ylim(bottom=min(0, shown["lo"].min() / params), top=1.15 * top)
        ax.set_xscale("log", base=2)
        ax.set_title(_family_title(cell, units, a, params), fontsize=8)
        ax.set_xlabel("length (letters)")
        ax.set_ylabel("bits per parameter")
        ax.legend(fontsize=6, loc="best")
    for ax in list(axes.flat)[len(fams):]:
        ax.set_visible(False)
    fig.suptitle("Capacity on the code-length saving (unclipped) against length, mean over 3 "
                 "sequences (more at peaks where new ones were added) with t intervals; filled "
                 "markers: exact (frozen weights, "
                 "bits_saved), open: the last training pass's proxy.\nEach label gives the "
                 "curve's status at its longest length (level or rising: a lower bound). Dotted: the "
                 "clipped bits stored; grey dashed: what the clip credits an untrained network "
                 "with", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


FIGURES = {"capacity_saved": saved, "capacity_curves": curves, "capacity_exposures": exposures,
           "capacity_time": time_to_memorize, "capacity_divergence": divergence}
