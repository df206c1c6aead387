"""The notebook's seven cases, run with the `notebook` preset.

    python -m bench.cases                       # 7 cases x 10 seeds, a table
    python -m bench.cases --cases 5 7 --seeds 20
    python -m bench.cases --seed-list 0 1 2 --format json
    python -m bench.cases --engine reference    # the nn.LSTM oracle, for comparison
    python -m bench.cases --from results/cases.csv --seeds 10   # summarise stored runs

Each case is one cell; its seeds are trained together by the population engine in
chunks of the same size as `python -m bench.sweep cases` uses, and joblib spreads the
chunks over the cores. Both commands give the same record for the same seed (on a CPU
a seed's record does not even depend on its chunk: see DEVELOPERS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqmem.cases import NOTEBOOK_CASES, Case
from seqmem.config import ENGINES, RunConfig, preset

CASES = NOTEBOOK_CASES


def case_configs(case: Case, seeds: list[int], engine: str) -> list[RunConfig]:
    return [preset("notebook", case.preset, reset=case.reset, units=case.units, seed=s,
                   engine=engine) for s in seeds]


def _run_chunk(number: int, configs: list[RunConfig]):
    import torch

    torch.set_num_threads(1)
    from seqmem.train import train_cell

    return number, train_cell(configs)


def run_cases(numbers: list[int], seeds: list[int], engine: str = "population",
              jobs: int = -1, chunk: int | None = None) -> dict[int, list]:
    """Records per case number, seeds in the given order."""
    from joblib import Parallel, delayed

    from bench.spec import Run
    from bench.sweep import plan_chunks

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = []
    for number in numbers:
        configs = case_configs(CASES[number], seeds, engine)
        runs = [Run(c, f"case{number}", "") for c in configs]
        work += [(number, c) for c in plan_chunks(runs, chunk_size=chunk)]
    # Longest first (stateful, many units) so the slow cells do not start last.
    work.sort(key=lambda w: -(w[1][0].units * (2 if w[1][0].reset == "epoch" else 1)))
    out: dict[int, list] = {n: [] for n in numbers}
    results = Parallel(n_jobs=jobs, backend="loky" if jobs != 1 else "sequential",
                       batch_size=1)(delayed(_run_chunk)(n, c) for n, c in work)
    for number, records in results:
        out[number] += records
    for number in numbers:
        out[number].sort(key=lambda r: seeds.index(r.seed))
    return out


@dataclass(frozen=True)
class Stored:
    """The fields of a RunRecord that the summaries use, read back from a results table."""

    config: RunConfig
    memorized: bool
    epochs_to_memorize: int | None
    final_prefix: int

    @property
    def seed(self) -> int:
        return self.config.seed


def load_cases(path: str, numbers: list[int], seeds: list[int], engine: str) -> dict[int, list]:
    """The stored runs of the cases, matched by run id (the hash of the full config)."""
    from seqmem.store import load_results

    table = load_results(path).set_index("run_id")
    out: dict[int, list] = {}
    for number in numbers:
        out[number] = []
        for cfg in case_configs(CASES[number], seeds, engine):
            if cfg.run_id not in table.index:
                raise SystemExit(f"case {number} seed {cfg.seed} is not stored in {path}")
            row = table.loc[cfg.run_id]
            if row["status"] == "error":
                raise SystemExit(f"case {number} seed {cfg.seed} is stored as an error in {path}")
            etm = row["epochs_to_memorize"]
            out[number].append(Stored(cfg, bool(row["memorized"]),
                                      None if etm is None or etm is pd.NA else int(etm),
                                      int(row["final_prefix"])))
    return out


def summary_row(case: Case, records: list) -> dict:
    epochs = [r.epochs_to_memorize for r in records if r.memorized]
    rate = len(epochs) / len(records)
    med = float(np.median(epochs)) if epochs else None
    if case.claim is None:
        holds = rate == 0
    else:
        holds = med is not None and rate >= 0.5 and case.claim[0] <= med <= case.claim[1]
    return {
        "case": case.number, "sequence": records[0].config.sequence, "mode": case.reset,
        "units": case.units, "seeds": len(records), "success_rate": rate,
        "median": med, "min": min(epochs) if epochs else None, "max": max(epochs) if epochs else None,
        "claim": case.claim_text, "claim_holds": holds,
    }


def format_table(rows: list[dict]) -> str:
    cols = ["case", "sequence", "reset", "units", "seeds", "memorized", "median epochs", "range",
            "notebook says", "holds"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        rng = f"{r['min']}-{r['max']}" if r["min"] is not None else "-"
        med = f"{r['median']:g}" if r["median"] is not None else "-"
        lines.append(
            f"| {r['case']} | {r['sequence']} | {r['mode']} | {r['units']} | {r['seeds']} | "
            f"{r['success_rate']:.0%} | {med} | {rng} | {r['claim']} | "
            f"{'yes' if r['claim_holds'] else 'no'} |")
    return "\n".join(lines)


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
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seeds = args.seed_list if args.seed_list is not None else list(range(args.seeds))
    start = time.perf_counter()
    if args.stored:
        results = load_cases(args.stored, args.cases, seeds, args.engine)
    else:
        results = run_cases(args.cases, seeds, args.engine, args.jobs)
    elapsed = time.perf_counter() - start
    if args.format == "json":
        for number in args.cases:
            for r in results[number]:
                print(json.dumps({"case": number, "seed": r.seed, "sequence": r.config.sequence,
                                  "reset": r.config.reset, "units": r.config.units,
                                  "engine": r.config.engine, "memorized": r.memorized,
                                  "epochs_to_memorize": r.epochs_to_memorize,
                                  "final_prefix": r.final_prefix}))
    else:
        print(format_table([summary_row(CASES[n], results[n]) for n in args.cases]))
        source = f"read from {args.stored}" if args.stored else f"{elapsed:.1f} s"
        print(f"\n{len(args.cases)} cases x {len(seeds)} seeds, engine {args.engine}: {source}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
