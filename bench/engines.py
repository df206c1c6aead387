"""Do the two engines agree on the notebook's cases? Log-rank test per case.

    python -m bench.engines [--population results/cases.csv] [--reference results/cases_reference.csv]

Prints `analysis.engines.compare` of the two stored tables (the README's table): both
engines' memorized shares and Kaplan-Meier medians, the log-rank p-value of their
epochs-to-memorize, the share of identical epochs, and each engine's compute.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.engines import compare, engines_markdown
from seqmem.store import load_results


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__,
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
