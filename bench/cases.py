"""The notebook's seven cases, run with the `notebook` preset.

    python -m bench.cases                       # 7 cases x 10 seeds, a table
    python -m bench.cases --cases 5 7 --seeds 20
    python -m bench.cases --seed-list 0 1 2 --format json
    python -m bench.cases --engine reference    # the nn.LSTM oracle, for comparison
    python -m bench.cases --from results/cases.csv --seeds 20   # summarise stored runs

Each case is one cell. Its runs are trained as `python -m bench.sweep cases` trains them:
the same chunks of seeds (bench.plan), spread over the cores by the sweep's loky
backend (bench.backends) and trained by its worker (bench.worker), so both commands give
the same record for the same seed (on a CPU a seed's record does not even depend on its
chunk: see DEVELOPERS.md).

The table is `analysis.cases.case_summary`, the one summary of the cases that the README
and analysis/REPORT.md print too: Kaplan-Meier medians with their CI, censored runs
counted, and one verdict rule.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import pandas as pd

from analysis.cases import case_rows, case_summary, cases_markdown
from seqmem.cases import NOTEBOOK_CASES as CASES
from seqmem.cases import Case
from seqmem.config import ENGINES, RunConfig
from seqmem.records import Origin
from seqmem.schema import typed


def case_configs(case: Case, seeds: list[int], engine: str) -> list[RunConfig]:
    return [case.config(s, engine) for s in seeds]


def run_cases(numbers: list[int], seeds: list[int], engine: str = "population",
              jobs: int = -1, chunk: int | None = None) -> pd.DataFrame:
    """The cases' runs as a results table (one row per case and seed), trained as a sweep
    trains them: the same chunks (bench.plan), backend (bench.backends) and worker."""
    from bench.backends import Backend
    from bench.plan import plan_chunks
    from bench.spec import Run

    runs = [Run(config, Origin(slice=f"case{number}"))
            for number in numbers for config in case_configs(CASES[number], seeds, engine)]
    origin = {r.run_id: r.columns() for r in runs}
    with Backend("loky" if jobs != 1 else "sequential", jobs) as backend:
        rows = [{**row, **origin[row["run_id"]]}
                for chunk in backend.map(plan_chunks(runs, chunk_size=chunk)) for row in chunk]
    failed = [row for row in rows if row["status"] == "error"]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(rows)} runs failed, e.g. "
                         f"{origin[failed[0]['run_id']]['slice']} seed {failed[0]['seed']}: "
                         f"{failed[0]['error']}")
    return typed(pd.DataFrame(rows))


def load_cases(path: str, numbers: list[int], seeds: list[int], engine: str) -> pd.DataFrame:
    """The stored runs of the cases and seeds asked for; each must be there."""
    from seqmem.store import load_results

    table = load_results(path)
    stored = set(table["run_id"])
    for number in numbers:
        for cfg in case_configs(CASES[number], seeds, engine):
            if cfg.run_id not in stored:
                raise SystemExit(f"case {number} seed {cfg.seed} is not stored in {path}")
    wanted = {c.run_id for n in numbers for c in case_configs(CASES[n], seeds, engine)}
    return table[table["run_id"].isin(wanted)].reset_index(drop=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.cases", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, nargs="+", default=sorted(CASES), metavar="N",
                   help="case numbers 1-7 (default: all)")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default: 10)")
    seeds.add_argument("--seed-list", type=int, nargs="+", metavar="SEED", help="explicit seeds")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--engine", choices=ENGINES, default="population")
    p.add_argument("--jobs", type=int, default=-1, help="worker processes (default: all cores)")
    p.add_argument("--from", dest="stored", metavar="PATH",
                   help="summarise runs stored by `python -m bench.sweep cases` instead of training")
    args = p.parse_args(argv)
    bad = [c for c in args.cases if c not in CASES]
    if bad:
        p.error(f"unknown case {bad[0]} (cases are 1-7)")
    if args.seed_list is None and args.seeds < 1:
        p.error(f"--seeds must be >= 1, got {args.seeds}")
    listed = args.seed_list
    if listed is not None and (min(listed) < 0 or len(set(listed)) < len(listed)):
        p.error(f"--seed-list must be distinct non-negative integers, got {args.seed_list}")
    if args.jobs == 0:
        p.error("--jobs must be non-zero")
    if args.stored is not None and not os.path.isfile(args.stored):
        p.error(f"--from {args.stored}: no such file")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seeds = args.seed_list if args.seed_list is not None else list(range(args.seeds))
    start = time.perf_counter()
    if args.stored:
        table = load_cases(args.stored, args.cases, seeds, args.engine)
    else:
        table = run_cases(args.cases, seeds, args.engine, args.jobs)
    elapsed = time.perf_counter() - start
    if args.format == "json":
        for number in args.cases:
            rows = case_rows(table, CASES[number], args.engine).sort_values("seed")
            for r in rows.to_dict(orient="records"):
                print(json.dumps({"case": number, "seed": int(r["seed"]),
                                  "sequence": r["sequence"], "reset": r["reset"],
                                  "units": int(r["units"]), "engine": r["engine"],
                                  "memorized": bool(r["memorized"]),
                                  "epochs_to_memorize": None if pd.isna(r["epochs_to_memorize"])
                                  else int(r["epochs_to_memorize"]),
                                  "final_prefix": int(r["final_prefix"])}))
    else:
        print(cases_markdown(case_summary(table, args.engine)))
        source = f"read from {args.stored}" if args.stored else f"{elapsed:.1f} s"
        print(f"\n{len(args.cases)} cases x {len(seeds)} seeds, engine {args.engine}: {source}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
