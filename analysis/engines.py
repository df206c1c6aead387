"""Do the two engines agree on the notebook's cases? A log-rank test per case.

    python -m analysis.engines [--population results/cases.csv] [--reference results/cases_reference.csv]

For each case stored in both tables (matched by seed): both engines' memorized shares
and Kaplan-Meier medians, the log-rank p-value of their epochs-to-memorize
(right-censored at the budget), the share of seeds with identical epochs, and the
seconds of compute each engine spent (the README's table). The engines agree step by
step to float32 rounding; over hundreds of epochs online training amplifies rounding
differences, so whole runs are compared by distribution.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import CensoredData, logrank

from analysis.cases import CASES, case_rows
from analysis.load import outcomes, split_errors
from analysis.survival import kaplan_meier
from seqmem.store import load_results
from seqmem.train import split_group


def compare(population: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """One row per notebook case stored in both results tables (typed), seeds in common."""
    rows = []
    for case in CASES:
        pop = _by_seed(case_rows(population, case, "population"))
        ref = _by_seed(case_rows(reference, case, "reference"))
        common = sorted(set(pop.index) & set(ref.index))
        if not common:
            continue
        p, r = pop.loc[common], ref.loc[common]
        same = (sorted(zip(p["observed"], p["event"], strict=True))
                == sorted(zip(r["observed"], r["event"], strict=True)))
        if same:
            pvalue = 1.0  # identical samples (log-rank is undefined with one event time)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                pvalue = float(logrank(_censored(p), _censored(r)).pvalue)
        km_p, km_r = (kaplan_meier(t["observed"], t["event"], float(t["max_epochs"].min()))
                      for t in (p, r))
        rows.append(dict(
            case=case.number, seeds=len(common),
            population_memorized=km_p.events / km_p.n, reference_memorized=km_r.events / km_r.n,
            population_median=km_p.median, reference_median=km_r.median, logrank_p=pvalue,
            identical_epochs=float((p["observed"].to_numpy() == r["observed"].to_numpy()).mean()),
            population_compute_s=_population_compute(pop),
            reference_compute_s=float(r["wall_time_s"].sum())))
    return pd.DataFrame(rows)


def _by_seed(rows: pd.DataFrame) -> pd.DataFrame:
    ok, _ = split_errors(rows)
    return outcomes(ok).set_index("seed").sort_index() if len(ok) else ok.set_index("seed")


def _censored(t: pd.DataFrame) -> CensoredData:
    return CensoredData.right_censored(t["observed"].to_numpy(), ~t["event"].to_numpy())


def _population_compute(runs: pd.DataFrame) -> float:
    """Seconds of compute of a case's stored runs: the seeds of a population train together
    and it costs its slowest record's wall time. The populations are the sweep's
    (seqmem.train.split_group of the cell's seeds, in order, by the recorded population)."""
    size = int(runs["population"].max())
    return float(sum(runs.loc[part, "wall_time_s"].max()
                     for part in split_group(list(runs.index), size)))


def engines_markdown(table: pd.DataFrame) -> str:
    """The comparison as the Markdown table of the README and `python -m analysis.engines`."""
    cols = ["case", "seeds", "memorized (population / reference)", "median epochs",
            "log-rank p", "identical epochs", "compute s (population / reference)"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.itertuples():
        lines.append(
            f"| {r.case} | {r.seeds} | {r.population_memorized:.0%} / "
            f"{r.reference_memorized:.0%} | {_epochs(r.population_median)} / "
            f"{_epochs(r.reference_median)} | {r.logrank_p:.2f} | {r.identical_epochs:.0%} | "
            f"{r.population_compute_s:.0f} / {r.reference_compute_s:.0f} |")
    return "\n".join(lines)


def _epochs(x: float) -> str:
    return "not reached" if x == float("inf") else f"{x:.0f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m analysis.engines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--population", type=Path, default=Path("results/cases.csv"))
    p.add_argument("--reference", type=Path, default=Path("results/cases_reference.csv"))
    args = p.parse_args(argv)
    for path in (args.population, args.reference):
        if not path.is_file():
            p.error(f"results file not found: {path}")
    table = compare(load_results(args.population), load_results(args.reference))
    print(engines_markdown(table))
    pop, ref = table["population_compute_s"].sum(), table["reference_compute_s"].sum()
    print(f"\nCompute for these cases: population {pop:.0f} s, reference {ref:.0f} s "
          f"({ref / pop:.0f}x).")


if __name__ == "__main__":
    main()
