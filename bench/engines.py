"""Do the two engines agree on the notebook's cases? Log-rank test per case.

    python -m bench.engines [--population results/cases.csv] [--reference results/cases_reference.csv]

For each case stored in both tables (matched by case and seed), it prints both engines'
success rates and medians, the log-rank p-value of their epochs-to-memorize
(right-censored at max_epochs), the fraction of seeds with identical epochs, and the
seconds of compute each engine spent on those seeds (as recorded by the runs). The
engines agree step by step to float32 rounding. Over hundreds of epochs, online
training amplifies rounding differences, so whole runs are compared by distribution.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import CensoredData, logrank

from bench.cases import CASES, case_configs


def compare(population: pd.DataFrame, reference: pd.DataFrame) -> list[dict]:
    """One row per notebook case stored in both results tables (matched by seed)."""
    tables = {"population": population.set_index("run_id"),
              "reference": reference.set_index("run_id")}
    rows = []
    for number, case in CASES.items():
        got, configs = {}, {}
        for engine, table in tables.items():
            by_seed = {}
            for cfg in case_configs(case, list(range(100)), engine):
                if cfg.run_id in table.index and table.loc[cfg.run_id, "status"] != "error":
                    r = table.loc[cfg.run_id]
                    by_seed[cfg.seed] = (int(r["epochs_trained"]), bool(r["memorized"]),
                                         float(r["wall_time_s"]))
                    configs.setdefault(engine, {})[cfg.seed] = cfg
            got[engine] = by_seed
        common = sorted(set(got["population"]) & set(got["reference"]))
        if not common:
            continue
        pop = [got["population"][s][:2] for s in common]
        ref = [got["reference"][s][:2] for s in common]

        def data(xs):
            return CensoredData.right_censored([t for t, _ in xs], [not m for _, m in xs])

        both_censored = not any(m for _, m in pop + ref)
        p = 1.0 if both_censored else float(logrank(data(pop), data(ref)).pvalue)
        rows.append({
            "case": number, "seeds": len(common),
            "population_memorized": np.mean([m for _, m in pop]),
            "reference_memorized": np.mean([m for _, m in ref]),
            "population_median": _median(pop), "reference_median": _median(ref),
            "logrank_p": p,
            "identical_epochs": np.mean([a == b for a, b in zip(pop, ref, strict=True)]),
            "population_compute_s": _population_compute(
                [configs["population"][s] for s in common], got["population"]),
            "reference_compute_s": sum(got["reference"][s][2] for s in common),
        })
    return rows


def _population_compute(configs, by_seed) -> float:
    """Seconds of compute: a chunk's seeds train together, so a chunk costs its slowest run.

    The chunks are the sweep's (plan_chunks over the case's seeds), as stored.
    """
    from bench.spec import Run
    from bench.sweep import plan_chunks

    chunks = plan_chunks([Run(c, "", "") for c in configs])
    return sum(max(by_seed[c.seed][2] for c in chunk) for chunk in chunks)


def _median(xs):
    done = [t for t, m in xs if m]
    return float(np.median(done)) if done else None


def _fmt(median: float | None) -> str:
    return "-" if median is None else f"{median:g}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--population", type=Path, default=Path("results/cases.csv"))
    p.add_argument("--reference", type=Path, default=Path("results/cases_reference.csv"))
    args = p.parse_args(argv)
    for path in (args.population, args.reference):
        if not path.is_file():
            p.error(f"results file not found: {path}")
    from seqmem.store import load_results

    rows = compare(load_results(args.population), load_results(args.reference))
    cols = ["case", "seeds", "memorized (population / reference)", "median epochs", "log-rank p",
            "identical epochs", "compute s (population / reference)"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print(f"| {r['case']} | {r['seeds']} | "
              f"{r['population_memorized']:.0%} / {r['reference_memorized']:.0%} | "
              f"{_fmt(r['population_median'])} / {_fmt(r['reference_median'])} | "
              f"{r['logrank_p']:.2f} | "
              f"{r['identical_epochs']:.0%} | "
              f"{r['population_compute_s']:.0f} / {r['reference_compute_s']:.0f} |")
    pop_s = sum(r["population_compute_s"] for r in rows)
    ref_s = sum(r["reference_compute_s"] for r in rows)
    print(f"\nCompute for these cases: population {pop_s:.0f} s, reference {ref_s:.0f} s "
          f"({ref_s / pop_s:.0f}x).")


if __name__ == "__main__":
    main()
