"""python -m analysis.summary PATH [--out DIR]: the first look at any sweep, a user's own included.

PATH is a sweep's store (.sqlite) or its exported CSV. Writes DIR/summary.md, one row per
group of runs (runs that differ only in seed): how many, the share that memorized with its
Wilson 95% interval, the Kaplan-Meier median epochs and steps to memorize with their 95%
intervals (censored runs count as "more than the budget"), and the median bits stored
where the runs carry it; and DIR/survival.png, the Kaplan-Meier curve of every group.
The estimators are the analysis' own (analysis.survival, analysis.validate.wilson).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.load import GROUP_COLUMNS, outcomes, split_errors  # noqa: E402
from analysis.survival import km_curves, km_table  # noqa: E402
from analysis.validate import wilson  # noqa: E402
from seqmem.store import load_results  # noqa: E402

PROG = "python -m analysis.summary"
MAX_CURVES = 24  # survival.png draws at most this many groups (the first, in table order)


def group_columns(df: pd.DataFrame) -> list[str]:
    """The config columns that vary in this table (a group is everything but the seed)."""
    return [c for c in GROUP_COLUMNS if df[c].astype(str).nunique() > 1] or ["sequence"]


def summarize(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str], int]:
    """(one row per group, the columns that name a group, error runs left out)."""
    ok, errors = split_errors(df)
    if ok.empty:
        raise ValueError("no run with an outcome (every run is an error)")
    runs = outcomes(ok)
    runs["group"] = runs.groupby(GROUP_COLUMNS, sort=False, dropna=False).ngroup()
    by = group_columns(runs)
    epochs = km_table(runs, ["group"])
    steps = km_table(runs, ["group"], value="observed_steps").set_index("group")
    rows = []
    for _, e in epochs.iterrows():
        g = runs[runs["group"] == e["group"]]
        lo, hi = wilson(int(e["memorized"]), int(e["n"]))
        s = steps.loc[e["group"]]
        bits = g["bits_stored"].dropna()
        rows.append({**{c: g[c].iloc[0] for c in by}, "runs": int(e["n"]),
                     "budget_steps": int(e["budget"]) * int(g["length"].iloc[0]),
                     "memorized": int(e["memorized"]), "share": e["memorized"] / e["n"],
                     "share_lo": lo, "share_hi": hi, "budget_epochs": int(e["budget"]),
                     "median_epochs": e["median"], "epochs_lo": e["median_lo"],
                     "epochs_hi": e["median_hi"], "median_steps": s["median"],
                     "steps_lo": s["median_lo"], "steps_hi": s["median_hi"],
                     "median_bits": float(bits.median()) if len(bits) else math.nan,
                     "group": int(e["group"])})
    return pd.DataFrame(rows), by, len(errors)


def _cell(value: object) -> str:
    """A group's value as text: '-' for none, a long sequence as its start, length and hash
    (two sequences that share a start stay apart)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    text = str(value)
    if len(text) <= 24:
        return text
    return f"{text[:10]}... ({len(text)}, #{hashlib.sha1(text.encode()).hexdigest()[:6]})"


def _median(v: float, lo: float, hi: float, budget: float) -> str:
    def one(x: float) -> str:
        return f">{budget:,.0f}" if math.isinf(x) else f"{x:,.0f}"
    return f"{one(v)} [{one(lo)}, {one(hi)}]"


def markdown(table: pd.DataFrame, by: list[str], errors: int, source: str) -> str:
    head = [*by, "runs", "memorized (Wilson 95%)", "KM median epochs [95%]",
            "KM median steps [95%]", "median bits stored"]
    lines = [f"# Summary of {source}", "",
             f"{int(table['runs'].sum())} runs in {len(table)} groups (runs that differ only in "
             "seed)" + (f"; {errors} error runs left out" if errors else "") + ". Censored runs "
             "count as more than their budget; a median shown as >budget means fewer than half "
             "memorized.", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        steps_budget = r["budget_steps"]
        bits = "-" if math.isnan(r["median_bits"]) else f"{r['median_bits']:,.1f}"
        cells = [_cell(r[c]) for c in by]
        lines.append("| " + " | ".join([
            *cells, str(r["runs"]),
            f"{r['share']:.0%} [{r['share_lo']:.0%}, {r['share_hi']:.0%}]",
            _median(r["median_epochs"], r["epochs_lo"], r["epochs_hi"], r["budget_epochs"]),
            _median(r["median_steps"], r["steps_lo"], r["steps_hi"], steps_budget), bits]) + " |")
    return "\n".join(lines) + "\n"


def survival_figure(df: pd.DataFrame, table: pd.DataFrame, by: list[str], path: Path) -> Path:
    runs = outcomes(split_errors(df)[0])
    runs["group"] = runs.groupby(GROUP_COLUMNS, sort=False, dropna=False).ngroup()
    shown = table.head(MAX_CURVES)
    curves = km_curves(runs[runs["group"].isin(shown["group"])], ["group"])
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.0)
    fig, ax = plt.subplots(figsize=(8, 5))
    palette = sns.color_palette("husl", len(shown))
    for color, (_, r) in zip(palette, shown.iterrows(), strict=True):
        c = curves[curves["group"] == r["group"]]
        label = ", ".join(f"{k}={_cell(r[k])}" for k in by)
        ax.step(c["t"], c["s"], where="post", color=color, label=label)
        ax.fill_between(c["t"], c["lo"], c["hi"], step="post", color=color, alpha=0.12, lw=0)
    ax.set_xlabel("epochs trained")
    ax.set_ylabel("share not yet memorized")
    ax.set_ylim(-0.02, 1.02)
    more = f" (first {MAX_CURVES} of {len(table)} groups)" if len(table) > MAX_CURVES else ""
    ax.set_title(f"Kaplan-Meier: runs not yet memorized, per group, 95% bands{more}", fontsize=10)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1),
              ncol=1 if len(shown) <= 12 else 2)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("path", help="a sweep's store (.sqlite) or exported CSV")
    p.add_argument("--out", default=None,
                   help="where summary.md and survival.png go (default: beside PATH, in "
                        "<PATH without suffix>_summary/)")
    args = p.parse_args(argv)
    path = Path(args.path)
    if not path.is_file():
        print(f"{PROG}: error: {str(path)!r} is not a file", file=sys.stderr)
        return 2
    try:
        df = load_results(path)
        table, by, errors = summarize(df)
    except (ValueError, OSError) as e:
        print(f"{PROG}: error: {str(path)!r}: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else path.with_name(path.stem + "_summary")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(markdown(table, by, errors, path.name))
    survival_figure(df, table, by, out / "survival.png")
    print(f"{len(table)} groups of {int(table['runs'].sum())} runs -> {out / 'summary.md'}, "
          f"{out / 'survival.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
