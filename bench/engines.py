"""Do the two engines agree on the notebook's cases? Log-rank test per case.

    python -m bench.engines [--population results/cases.csv] [--reference results/cases_reference.csv]

For each case stored in both tables (matched by case and seed), it prints both engines'
success rates and medians, the log-rank p-value of their epochs-to-memorize
(right-censored at max_epochs), and the fraction of seeds with identical epochs. The
engines agree step by step to float32 rounding. Over hundreds of epochs, online
training amplifies rounding differences, so whole runs are compared by distribution.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import CensoredData, logrank

from bench.cases import CASES, case_configs


def compare(population: Path, reference: Path) -> list[dict]:
    from seqmem.store import load_results

    tables = {"population": load_results(population).set_index("run_id"),
              "reference": load_results(reference).set_index("run_id")}
    rows = []
    for number, case in CASES.items():
        seeds = range(100)
        got = {}
        for engine, table in tables.items():
            by_seed = {}
            for cfg in case_configs(case, list(seeds), engine):
                if cfg.run_id in table.index and table.loc[cfg.run_id, "status"] != "error":
                    r = table.loc[cfg.run_id]
                    by_seed[cfg.seed] = (int(r["epochs_trained"]), bool(r["memorized"]))
            got[engine] = by_seed
        common = sorted(set(got["population"]) & set(got["reference"]))
        if not common:
            continue
        pop = [got["population"][s] for s in common]
        ref = [got["reference"][s] for s in common]

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
        })
    return rows


def _median(xs):
    done = [t for t, m in xs if m]
    return float(np.median(done)) if done else None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--population", type=Path, default=Path("results/cases.csv"))
    p.add_argument("--reference", type=Path, default=Path("results/cases_reference.csv"))
    args = p.parse_args(argv)
    for path in (args.population, args.reference):
        if not path.is_file():
            p.error(f"results file not found: {path}")
    rows = compare(args.population, args.reference)
    cols = ["case", "seeds", "memorized (population / reference)", "median epochs", "log-rank p",
            "identical epochs"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print(f"| {r['case']} | {r['seeds']} | "
              f"{r['population_memorized']:.0%} / {r['reference_memorized']:.0%} | "
              f"{r['population_median']} / {r['reference_median']} | {r['logrank_p']:.2f} | "
              f"{r['identical_epochs']:.0%} |")


if __name__ == "__main__":
    main()
