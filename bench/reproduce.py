"""Do the committed results reproduce? Rerun a sample of a spec's chunks, compare records.

    python -m bench.reproduce width_lr                 # 4 chunks of at most ~30 s each
    python -m bench.reproduce frontier --chunks 2 --max-chunk-s 120
    python -m bench.reproduce --all --chunks 2     # every shipped spec (results/reproduce.txt)

A chunk is what one sweep task trains: the seeds of one cell, partitioned exactly as the
sweep partitions them (`bench.plan.plan_chunks`), so the rerun batches the same models
together. The sample is drawn with a fixed seed among the chunks whose expected cost
(`chunk_work`, every run to its full budget) is at most --max-chunk-s, so that a check
of every shipped spec fits in minutes. Each rerun record goes through the CSV export's
rounding and is compared with the committed row of the same run id, column by column:
configuration, metrics and outcome. A table whose spec leaves `loss_curve` out of its CSV
(bench/export.py) has its curves compared with the store beside it
(results/<name>.sqlite), and where there is none they are not compared, which a note
says. Wall time is not compared, and provenance (commit, kernel, CPU, library versions)
is not the record's: where it differs from the committed rows', or they leave it empty,
a note says so. Records are tied to the CPU and the kernel (DEVELOPERS.md), so a
difference beside such a note may be the machine's.

Exit status 0 when every sampled record is identical, 1 when any differs, 2 on bad input.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from bench.backends import Backend
from bench.plan import chunk_work, plan_chunks
from bench.spec import SpecError, available, load_spec
from seqmem.provenance import Provenance
from seqmem.store import export, load_results, write_csv

NOT_COMPARED = ("wall_time_s", "git_commit", "git_dirty")
PROVENANCE = {f.name for f in fields(Provenance)}


def sample_chunks(spec_runs: Sequence[Any], n: int, max_chunk_s: float, seed: int
                  ) -> tuple[list[list[Any]], int, int]:
    """(sample, eligible, total): up to n chunks drawn among those expected to cost at
    most max_chunk_s seconds, in a fixed order for a given seed."""
    chunks = plan_chunks(spec_runs)
    eligible = [c for c in chunks if chunk_work(c) * 1e-6 <= max_chunk_s]
    eligible.sort(key=lambda c: c[0].run_id)  # independent of the cost order
    pick = random.Random(seed).sample(eligible, min(n, len(eligible)))
    return pick, len(eligible), len(chunks)


def differences(committed: pd.DataFrame, rerun: pd.DataFrame,
                stored: set[str] | None = None) -> list[str]:
    """'run_id column: committed != rerun' for every differing value (or missing row) of
    the record: its configuration, metrics and outcome. Provenance is not the record's
    (see `provenance_notes`). `stored`: the columns the committed table holds (None: all);
    a column added to the record after the table was made has nothing to compare with."""
    theirs = committed.set_index("run_id")
    out = []
    for _, row in rerun.set_index("run_id").iterrows():
        if row.name not in theirs.index:
            out.append(f"{row.name}: not in the committed table")
            continue
        old = theirs.loc[row.name]
        for col, new in row.items():
            if (col in NOT_COMPARED or col in PROVENANCE or col not in old.index
                    or (stored is not None and col not in stored)):
                continue
            if not _same(old[col], new):
                out.append(f"{row.name} {col}: committed {_short(old[col])} != rerun "
                           f"{_short(new)}")
    return out


def with_store_curves(committed: pd.DataFrame, table: Path) -> tuple[pd.DataFrame, str | None]:
    """The committed rows with the loss curves their CSV left out, from the store beside
    it (`table` with suffix .sqlite), rounded as the export rounds them; where there is
    no store, without the column (so not compared). Also a note on what was done; None
    when the CSV has the curves."""
    if "loss_curve" in pd.read_csv(table, nrows=0).columns:
        return committed, None
    store = table.with_suffix(".sqlite")
    if not store.is_file():
        return committed.drop(columns="loss_curve"), (
            f"loss_curve not compared: {table} leaves it out (its spec exports it to the "
            f"store only) and there is no store {store}")
    with tempfile.TemporaryDirectory() as tmp:
        stored = load_results(export(store, Path(tmp) / "curves.csv"))
    curves = dict(zip(stored["run_id"], stored["loss_curve"], strict=True))
    return (committed.assign(loss_curve=committed["run_id"].map(lambda r: curves.get(r))),
            f"loss_curve compared with {store} ({table} leaves it out)")


def provenance_notes(committed: pd.DataFrame, rerun: pd.DataFrame) -> list[str]:
    """How the rerun's provenance differs from the committed rows' of the same runs: a
    column they leave empty (not known when they were made) or hold other values in."""
    old = committed[committed["run_id"].isin(rerun["run_id"])]
    notes = []
    for col in sorted((PROVENANCE - set(NOT_COMPARED)) & set(old) & set(rerun)):
        theirs, here = (set(_plain(v) for v in t[col].dropna()) for t in (old, rerun))
        if not theirs and here:
            notes.append(f"{col}: not recorded in the committed rows (here {sorted(here)})")
        elif theirs != here:
            notes.append(f"{col}: committed {sorted(theirs)}, here {sorted(here)}")
    return notes


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _missing(v: Any) -> bool:
    return not isinstance(v, list) and bool(pd.isna(v))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return list(a or []) == list(b or [])
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return bool(a == b)


def _short(v: Any, limit: int = 60) -> str:
    text = repr(_plain(v))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def rerun(chunks: Sequence[Sequence[Any]], spec_runs: Sequence[Any]) -> pd.DataFrame:
    """The chunks' records with their spec columns, rounded as the committed CSV is."""
    origin = {r.run_id: r.columns() for r in spec_runs}
    with Backend("sequential", 1) as backend:  # the sweep's worker, in this process
        rows = [{**row, **origin[row["run_id"]]}
                for done in backend.map(chunks) for row in done]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(pd.DataFrame(rows), Path(tmp) / "rerun.csv")
        return load_results(path)


def check(spec: Any, table: Path, n_chunks: int, max_chunk_s: float, seed: int,
          cheapest: bool = False) -> int:
    """Rerun a sample of `spec`'s chunks against `table`, print the verdict; exit status.
    cheapest: where no chunk is expected under max_chunk_s, rerun the cheapest one."""
    committed, curves_note = with_store_curves(load_results(table), table)
    chunks, eligible, total = sample_chunks(spec.runs, n_chunks, max_chunk_s, seed)
    what = f"{len(chunks)} of {eligible} chunks expected under {max_chunk_s:g} s"
    if not chunks and cheapest:
        chunks = [min(plan_chunks(spec.runs), key=chunk_work)]
        total = len(plan_chunks(spec.runs))
        what = (f"none expected under {max_chunk_s:g} s, so the cheapest "
                f"(expected {chunk_work(chunks[0]) * 1e-6:.0f} s)")
    if not chunks:
        print(f"error: no chunk of {spec.name!r} is expected to take under "
              f"{max_chunk_s:g} s; raise --max-chunk-s", file=sys.stderr)
        return 2
    new = rerun(chunks, spec.runs)
    header = set(pd.read_csv(table, nrows=0).columns) | {"loss_curve"}
    mine = committed[committed["run_id"].isin(new["run_id"])]
    # a column the rows made here hold no value in was not recorded by the code that made them
    stored = {c for c in header if c not in mine or mine[c].notna().any()}
    diff = differences(committed, new, stored)
    newer = sorted(c for c in new.columns if c not in stored and c not in PROVENANCE
                   and c not in NOT_COMPARED)
    other_cpu = _made_on_another_cpu(mine, new)
    print(f"{spec.name}: reran {what} ({total} in all), {len(new)} records: "
          + ("all identical to the committed rows." if not diff else
             f"{len(diff)} differences, made on another CPU ({other_cpu}): records are tied "
             "to the CPU (DEVELOPERS.md), so they are listed, not counted as a failure:"
             if other_cpu else f"{len(diff)} differences:"))
    for line in diff[:20]:
        print("  " + line)
    if curves_note:
        print("  " + curves_note)
    if newer:
        print(f"  not compared, the committed table predates them: {', '.join(newer)}")
    notes = provenance_notes(committed, new)
    if notes:  # records are tied to the CPU and the kernel (DEVELOPERS.md)
        print("  made otherwise: " + "; ".join(notes))
    sys.stdout.flush()
    return 1 if diff and not other_cpu else 0


def _made_on_another_cpu(committed: pd.DataFrame, rerun: pd.DataFrame) -> str | None:
    """'znver3; here znver4' when every compared committed row records a CPU and none is
    this one's; None otherwise (then a difference is a failure)."""
    if "cpu" not in committed or committed["cpu"].isna().any():
        return None
    theirs, here = set(committed["cpu"].astype(str)), set(rerun["cpu"].astype(str))
    return None if theirs & here else f"{', '.join(sorted(theirs))}; here {', '.join(sorted(here))}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.reproduce", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", help="a spec file, or the name of one in bench/specs/")
    p.add_argument("--all", action="store_true",
                   help="every shipped spec with a committed table in results/ (where no "
                        "chunk is under --max-chunk-s, its cheapest chunk)")
    p.add_argument("--results", default=None,
                   help="the committed table (default: results/<spec name>.csv)")
    p.add_argument("--chunks", type=int, default=4, help="chunks to rerun (default 4)")
    p.add_argument("--max-chunk-s", type=float, default=30.0,
                   help="sample among chunks expected to take at most this (default 30 s)")
    p.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    args = p.parse_args(argv)
    if args.chunks < 1:
        print(f"error: --chunks must be >= 1, got {args.chunks}", file=sys.stderr)
        return 2
    if args.all == (args.spec is not None):
        print("error: give one spec or --all", file=sys.stderr)
        return 2
    if args.all and args.results is not None:
        print(f"error: --results {args.results} names one table; it does not go with --all",
              file=sys.stderr)
        return 2
    if args.all:
        named = [(load_spec(n), Path(f"results/{n}.csv")) for n in available()]
        todo = [(spec, table) for spec, table in named if table.is_file()]
        skipped = [spec.name for spec, table in named if not table.is_file()]
        if skipped:
            print("no committed table, not checked: " + ", ".join(skipped))
        return max(check(spec, table, args.chunks, args.max_chunk_s, args.seed, cheapest=True)
                   for spec, table in todo)
    try:
        spec = load_spec(args.spec)
    except SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table = Path(args.results or f"results/{spec.name}.csv")
    if not table.is_file():
        print(f"error: no committed table {table} for spec {spec.name!r}", file=sys.stderr)
        return 2
    return check(spec, table, args.chunks, args.max_chunk_s, args.seed)


if __name__ == "__main__":
    sys.exit(main())
