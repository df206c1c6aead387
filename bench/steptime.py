"""Per-model-step times of the three implementations, with ratios measured in the same run.

    python -m bench.steptime                  # runs the benchmarks, prints the table
    python -m bench.steptime --json FILE      # summarise an existing --benchmark-json file
    python -m bench.steptime -k "windowed or offline" --merge   # rerun some rows only

It runs `pytest bench/test_steptime.py --benchmark-only` on one thread, prints one row
per (impl, H, bptt, P) with the speed-up over the notebook-style step at the same H
and bptt and its roofline (bench.roofline: FLOPs and bytes per model-step from the shapes,
the floor this core's peaks measured in the same run set, and the time over it), and
writes the table to results/steptime.csv (read by the analysis). Where a JAX row times the
same step at the same P, `speedup_vs_jax` is its time over the row's. With --merge, the
rows of every (cell, bptt, H) the run timed replace those of the table, the rest stay:
the rows of one group always come from one run, so their ratios hold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from bench.roofline import add_roofline

# impl -> the kernel it times; the notebook-style loop is no engine of seqmem's.
KERNELS = {"notebook": None, "reference": "reference", "population": "numba",
           "population_torch": "torch", "user": "user-vmap", "jax_vmap": "jax-vmap"}
# A benchmark group: the rows whose ratios are taken against each other.
GROUP = ["cell", "bptt", "H"]


def made_by(impl: str) -> dict:
    """The provenance columns of a benchmark row: this process, and the kernel timed."""
    from seqmem import population, reference
    from seqmem.provenance import provenance

    kernel = KERNELS[impl]
    if kernel is None:
        return provenance("notebook", None).to_dict()
    if kernel == "reference":
        return provenance(reference.KERNEL, reference.NUMERICS_VERSION).to_dict()
    if kernel.startswith(("user", "jax")):  # no seqmem engine: no numerics version
        return provenance(kernel, None).to_dict()
    return provenance(kernel, population.NUMERICS_VERSION[kernel]).to_dict()


def table(benchmark_json: dict) -> pd.DataFrame:
    rows = [{"cell": "lstm", **b["extra_info"]} for b in benchmark_json["benchmarks"]]
    cols = ["cell", "impl", "H", "bptt", "reset", "P", "n", "per_model_step_us"]
    df = pd.DataFrame(rows)
    versions = [c for c in ("jax_version", "jaxlib_version") if c in df.columns]
    df = df[[c for c in cols if c in df.columns] + versions]
    if "impl" in df.columns and not df.empty:
        prov = pd.DataFrame([made_by(i) for i in df["impl"]], index=df.index)
        df = pd.concat([df, prov], axis=1)
    base = df[df.impl == "notebook"].set_index(["H", "bptt"])["per_model_step_us"]
    df["speedup_vs_notebook"] = [base.get((h, b), float("nan")) / t if c == "lstm" else float("nan")
                                 for c, h, b, t in zip(df.cell, df.H, df.bptt, df.per_model_step_us,
                                                       strict=True)]
    # two benchmarks may time the same reference row: the faster one stands for it
    ref = df[df.impl == "reference"].groupby(["cell", "H", "bptt"])["per_model_step_us"].min()
    df["speedup_vs_reference"] = [ref.get((c, h, b), float("nan")) / t for c, h, b, t in
                                  zip(df.cell, df.H, df.bptt, df.per_model_step_us, strict=True)]
    jax = df[df.impl == "jax_vmap"].set_index(["cell", "H", "bptt", "P"])["per_model_step_us"]
    df["speedup_vs_jax"] = [jax.get((c, h, b, p), float("nan")) / t for c, h, b, p, t in
                            zip(df.cell, df.H, df.bptt, df.P, df.per_model_step_us, strict=True)]
    return sort_rows(df)


ORDER = {"notebook": 0, "reference": 1, "user": 2, "jax_vmap": 3, "population_torch": 4, "population": 5}


def sort_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["cell", "bptt", "H", "impl", "P"],
                          key=lambda c: c.map(ORDER) if c.name == "impl" else c
                          ).reset_index(drop=True)


def merge(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """`new`'s rows in place of every row of `old` in a group (cell, bptt, H) that `new`
    timed; the other groups of `old` as they were."""
    old = old.assign(bptt=old["bptt"].astype(str))
    timed = set(new[GROUP].astype({"bptt": str}).itertuples(index=False, name=None))
    kept = old[[key not in timed for key in old[GROUP].itertuples(index=False, name=None)]]
    columns = [*new.columns, *(c for c in old.columns if c not in new.columns)]
    return sort_rows(pd.concat([kept, new], ignore_index=True)[columns])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.steptime", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", type=Path, help="an existing pytest-benchmark JSON file to summarise")
    p.add_argument("--out", type=Path, default=Path("results/steptime.csv"), help="where to write the table")
    p.add_argument("-k", default=None, help="pytest -k expression to run a subset")
    p.add_argument("--merge", action="store_true",
                   help="keep --out's rows of the groups (cell, bptt, H) this run did not time")
    args = p.parse_args(argv)
    if args.json is not None:
        if not args.json.is_file():
            p.error(f"--json file not found: {args.json}")
        data = json.loads(args.json.read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bench.json"
            # -n 0: one process (pytest-benchmark does not time under xdist workers)
            cmd = [sys.executable, "-m", "pytest", str(Path(__file__).with_name("test_steptime.py")),
                   "--benchmark-only", "-q", "-n", "0", "-p", "no:cacheprovider",
                   f"--benchmark-json={out}"]
            if args.k:
                cmd += ["-k", args.k]
            env = dict(os.environ, OMP_NUM_THREADS="1",
                       XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
            subprocess.run(cmd, check=True, env=env)
            data = json.loads(out.read_text())
    df = table(data)
    if "n" not in df.columns:  # a benchmark file from before rows recorded their length
        df["n"] = 26
    df = add_roofline(df, lambda r: int(r.n))
    written = merge(pd.read_csv(args.out), df) if args.merge and args.out.is_file() else df
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written.to_csv(args.out, index=False, float_format="%.3f")
    with pd.option_context("display.width", 120):
        print(df.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"\nwritten to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
