"""A spec's committed table, exported by its spec's rule; and re-exporting a committed one.

    python -m bench.export cases width_lr     # re-export these specs' results/<name>.csv
    python -m bench.export --all              # every shipped spec with a committed table

The rule: a spec's CSV holds every column of the results contract, except `loss_curve`
unless the spec says `export_loss_curve = true` (the cases specs, whose curves the
analysis draws). The SQLite store always keeps the whole record. The sweep exports by
this rule at its end (`export_table`); `python -m bench.export` applies it to a committed
table again: from its store (`results/<name>.sqlite`) where there is one, else by taking
the column out of the CSV's own text (a table made before later columns existed keeps
the columns it has). Either way every other cell must come back exactly as it was, or
the table is left as it was.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from bench.spec import Spec, SpecError, available, load_spec
from seqmem.store import export


def export_table(spec: Spec, store: Path, csv: Path) -> Path:
    """The spec's runs in `store` as the CSV `csv`, by the spec's rule."""
    return export(store, csv, run_ids=[r.run_id for r in spec.runs],
                  loss_curve=spec.export_loss_curve)


def reexport(spec: Spec, csv: Path, store: Path | None = None) -> str:
    """Rewrite the committed table `csv` by the spec's rule, from `store` if given (and
    there), else from the CSV's text; returns what changed, in words. Raises ValueError,
    leaving `csv` as it was, if any cell but a dropped loss_curve would change, or if the
    spec keeps loss_curve and only a CSV without it is there."""
    before = _raw(csv)
    if "loss_curve" not in before and spec.export_loss_curve and not (store and store.exists()):
        raise ValueError(f"{csv}: spec {spec.name!r} keeps loss_curve, which the CSV lacks; "
                         "only its store could restore it")
    tmp = csv.with_name(f".{csv.name}.reexport")
    try:
        if store is not None and store.exists():
            export_table(spec, store, tmp)
        else:  # as pandas wrote it: the same quoting, so every other byte is kept
            keep = before if spec.export_loss_curve else before.drop(columns="loss_curve",
                                                                     errors="ignore")
            keep.to_csv(tmp, index=False, lineterminator="\n")
        after = _raw(tmp)
        kept = [c for c in before.columns if c in after.columns]
        if list(after.columns) != kept or not before[kept].equals(after):
            raise ValueError(f"{csv}: re-exporting would change values besides loss_curve; "
                             "left as it was")
        tmp.replace(csv)
    finally:
        tmp.unlink(missing_ok=True)
    dropped = sorted(set(before.columns) - set(after.columns))
    return f"dropped {', '.join(dropped)}" if dropped else "unchanged"


def _raw(csv: Path) -> pd.DataFrame:
    """The CSV's text, cell by cell (nothing parsed, nothing typed)."""
    return pd.read_csv(csv, dtype=str, keep_default_na=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("specs", nargs="*", metavar="SPEC", help="names of shipped specs")
    p.add_argument("--all", action="store_true",
                   help="every shipped spec with a committed table in --results")
    p.add_argument("--results", type=Path, default=Path("results"),
                   help="the folder of the committed tables and stores (default: results)")
    args = p.parse_args(argv)
    if args.all == bool(args.specs):
        p.error("give spec names or --all")
    try:
        specs = [load_spec(name) for name in (available() if args.all else args.specs)]
    except SpecError as e:
        p.error(str(e))
    status = 0
    for spec in specs:
        csv = args.results / f"{spec.name}.csv"
        if not csv.is_file():
            if not args.all:
                print(f"{spec.name}: no committed table {csv}", file=sys.stderr)
                status = 2
            continue
        store = csv.with_suffix(".sqlite")
        try:
            what = reexport(spec, csv, store)
        except ValueError as e:
            print(f"{spec.name}: error: {e}", file=sys.stderr)
            status = 1
            continue
        source = f"from {store}" if store.exists() else "from the CSV (no store)"
        print(f"{spec.name}: {csv} {what} ({source})")
    return status


if __name__ == "__main__":
    sys.exit(main())
