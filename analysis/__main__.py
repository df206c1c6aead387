"""python -m analysis [--results DIR] [--out DIR] [--readme PATH]

Regenerates fit.json, every figure and REPORT.md from the stored result tables alone
(and the README's generated tables, when the results are ./results/).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from analysis.figures import all_figures
from analysis.lawfit import FIT_TABLES
from analysis.load import load_tables
from analysis.pipeline import analyse, fit_document
from analysis.readme import update_glossary, update_readme
from analysis.report import write_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[2],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--results", default="results",
                   help="the folder of the result tables (CSV exports or .sqlite stores)")
    p.add_argument("--out", default="analysis", help="where fit.json, PNGs and REPORT.md go")
    p.add_argument("--readme", default=None,
                   help="rewrite this README's generated tables from --results "
                        "(default: README.md when the results are ./results/; '' to skip)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    results = Path(args.results)
    if not results.is_dir():
        print(f"error: --results {results} is not a folder", file=sys.stderr)
        return 2
    tables, sources = load_tables(results)
    if not any(getattr(tables, name) is not None for name in FIT_TABLES):
        print(f"error: no fitting table (width_lr, depth_ambiguity or study) in {results}",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    a = analyse(tables)
    doc = fit_document(a)
    doc["source"] = sources
    (out / "fit.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    figures = all_figures(a, out)
    report = write_report(a, doc, figures, out, sources)
    readme = args.readme
    if readme is None and results.resolve() == Path("results").resolve():
        readme = "README.md"
    if readme and Path(readme).is_file():
        changed = update_readme(readme, results, doc)
        print(f"{readme}: {', '.join(changed) if changed else 'no'} generated tables changed")
    if (results / "README.md").is_file() and update_glossary(results / "README.md"):
        print(f"{results / 'README.md'}: the column glossary changed")
    print(f"{len(a.law_data)} runs in the law -> {out / 'fit.json'}, {len(figures)} figures, "
          f"{report} in {time.perf_counter() - t0:.1f} s")
    for note in a.notes:
        print("note:", note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
