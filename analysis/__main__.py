"""python -m analysis [--results PATH] [--cases PATH] [--steptime PATH] [--out DIR]

Regenerates fit.json, every figure and REPORT.md from stored result tables alone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from analysis.figures import all_figures
from analysis.fit import analyse, fit_document
from analysis.load import load_optional, load_results, load_steptime
from analysis.readme import update_readme
from analysis.report import write_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[2])
    p.add_argument("--results", default="results/study.csv",
                   help="the study's results table (CSV export or .sqlite store)")
    p.add_argument("--cases", default=None,
                   help="the notebook cases table (default: cases.csv beside --results)")
    p.add_argument("--steptime", default=None,
                   help="per-step benchmark table (default: steptime.csv beside --results)")
    p.add_argument("--out", default="analysis", help="where fit.json, PNGs and REPORT.md go")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's Generator")
    p.add_argument("--readme", default=None,
                   help="rewrite this README's generated tables from the results' folder "
                        "(default: README.md when the results are ./results/; '' to skip)")
    return p.parse_args(argv)


def _json_safe(obj):
    """inf/nan -> strings so that fit.json is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item"):
        return _json_safe(obj.item())
    return obj


def _existing(path: Path) -> Path:
    """`path`, or the sweep's SQLite store beside it when the CSV export is not there yet."""
    store = path.with_suffix(".sqlite")
    return store if not path.exists() and path.suffix == ".csv" and store.exists() else path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    results = _existing(Path(args.results))
    if not results.exists():
        print(f"error: {results} not found (run the study sweep and export it first)",
              file=sys.stderr)
        return 2
    here = results.parent
    cases_path = Path(args.cases) if args.cases else _existing(here / "cases.csv")
    step_path = Path(args.steptime) if args.steptime else here / "steptime.csv"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    table = load_results(results)
    cases = load_optional(cases_path)
    steptime = load_steptime(step_path)
    a = analyse(table, cases, steptime, n_boot=args.bootstrap, seed=args.seed)
    a.notes = [n + (f" (looked for {cases_path})" if n.startswith("No cases") else
                    f" (looked for {step_path})" if n.startswith("No step-time") else "")
               for n in a.notes]
    doc = _json_safe(fit_document(a))
    doc["source"] = dict(results=str(results), cases=str(cases_path) if cases is not None
                         else None, steptime=str(step_path) if steptime is not None else None)
    (out / "fit.json").write_text(json.dumps(doc, indent=2) + "\n")
    figures = all_figures(a, out)
    report = write_report(a, json.loads((out / "fit.json").read_text()), figures, out,
                          source=str(results))
    readme = args.readme
    if readme is None and here.resolve() == Path("results").resolve():
        readme = "README.md"
    if readme and Path(readme).is_file():
        changed = update_readme(readme, here)
        print(f"{readme}: {', '.join(changed) if changed else 'no'} generated tables changed")
    print(f"{len(table)} runs -> {out / 'fit.json'}, {len(figures)} figures, {report} "
          f"in {time.perf_counter() - t0:.1f} s")
    for note in a.notes:
        print("note:", note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
