"""The README's results tables, generated from `results/` so that text and data cannot drift.

A generated block in README.md sits between two markers:

    <!-- generated: cases -->
    ...
    <!-- end: cases -->

`python -m analysis` rewrites every block from the committed tables
(`update_readme`), and tests/test_readme.py fails when a block differs from what
`render` computes now (`stale_blocks`). Each block is made by the one function that
owns its numbers (the cases by `analysis.cases.case_summary`, the engine comparison by
`analysis.engines.compare`, the step times by `step_table` below).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.cases import case_summary, cases_markdown
from analysis.engines import compare, engines_markdown
from seqmem.store import load_results

_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end: \2 -->)", re.S)


def _cases(results: Path) -> str:
    return cases_markdown(case_summary(load_results(results / "cases.csv")))


def _engines(results: Path) -> str:
    return engines_markdown(compare(load_results(results / "cases.csv"),
                                    load_results(results / "cases_reference.csv")))


def step_table(steps: pd.DataFrame) -> str:
    """Per-model-step times (bench.steptime's table) with the speed-up over the
    notebook-style step measured in the same run, one row per (units, bptt)."""
    cols = ["H", "bptt", "notebook-style", "reference", "population P=1", "P=8", "P=64",
            "P=256", "torch kernel, best P"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    steps = steps.assign(bptt=steps["bptt"].astype(str))
    def cell(r: pd.Series | None, ratio: bool = True) -> str:
        if r is None:
            return "-"
        text = f"{r['per_model_step_us']:.1f} µs"
        return text + (f" ({r['speedup_vs_notebook']:.0f}×)" if ratio else "")

    for (bptt, h), g in steps.groupby(["bptt", "H"], sort=True):
        def us(impl: str, p: int = 1, g: pd.DataFrame = g) -> pd.Series | None:
            r = g[(g["impl"] == impl) & (g["P"] == p)]
            return None if r.empty else r.iloc[0]

        torch_rows = g[g["impl"] == "population_torch"]
        best = torch_rows.loc[torch_rows["per_model_step_us"].idxmin()] if len(torch_rows) else None
        label = "1 (reset per char)" if bptt == "1" else "epoch (mid-epoch average)"
        lines.append("| " + " | ".join([
            str(h), label, cell(us("notebook"), False), cell(us("reference"), False),
            *(cell(us("population", p)) for p in (1, 8, 64, 256)),
            "-" if best is None else f"{cell(best)[:-1]}, P={int(best['P'])})"]) + " |")
    return "\n".join(lines)


def _steps(results: Path) -> str:
    return step_table(pd.read_csv(results / "steptime.csv"))


RENDERERS: dict[str, Callable[[Path], str]] = {
    "cases": _cases, "engines": _engines, "steptime": _steps}


def render(results: str | Path, names: list[str] | None = None) -> dict[str, str]:
    """Each block's Markdown from the tables in `results` (default: all blocks)."""
    results = Path(results)
    return {name: RENDERERS[name](results) + "\n" for name in names or RENDERERS}


def blocks(text: str) -> dict[str, str]:
    """The generated blocks of a README's text: name -> content."""
    return {m.group(2): m.group(3) for m in _BLOCK.finditer(text)}


def update_readme(readme: str | Path, results: str | Path) -> list[str]:
    """Rewrite the README's generated blocks from `results`; returns the names changed.

    A block whose source table is missing is left as it is.
    """
    readme = Path(readme)
    text = readme.read_text()
    present = [n for n in blocks(text) if n in RENDERERS]
    fresh = {}
    for name in present:
        try:
            fresh[name] = render(results, [name])[name]
        except FileNotFoundError:
            continue
    changed = [n for n, body in fresh.items() if blocks(text)[n] != body]
    new = _BLOCK.sub(lambda m: m.group(1) + fresh.get(m.group(2), m.group(3)) + m.group(4), text)
    if new != text:
        readme.write_text(new)
    return changed


def stale_blocks(readme: str | Path, results: str | Path) -> list[str]:
    """Names of the README's generated blocks that differ from what `results` gives now."""
    have = blocks(Path(readme).read_text())
    unknown = [n for n in have if n not in RENDERERS]
    if unknown:
        raise ValueError(f"README has generated blocks nothing renders: {unknown}")
    now = render(results, list(have))
    return [n for n in have if have[n] != now[n]]
