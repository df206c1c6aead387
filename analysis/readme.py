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

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.cases import case_summary, cases_markdown
from analysis.engines import compare, engines_markdown
from analysis.findings_report import render as render_findings
from analysis.speed import fastest_torch
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
    # the notebook's two steps only: the windowed and offline rows have their own table
    steps = steps[steps["bptt"].isin(["1", "epoch"])]
    if "cell" in steps.columns:
        steps = steps[steps["cell"] == "lstm"]

    def cell(r: pd.Series | None, ratio: bool = True) -> str:
        if r is None:
            return "-"
        text = f"{r['per_model_step_us']:.1f} µs"
        return text + (f" ({r['speedup_vs_notebook']:.0f}×)" if ratio else "")

    fastest = fastest_torch(steps).set_index(["bptt", "H"])
    for (bptt, h), g in steps.groupby(["bptt", "H"], sort=True):
        def us(impl: str, p: int = 1, g: pd.DataFrame = g) -> pd.Series | None:
            r = g[(g["impl"] == impl) & (g["P"] == p)]
            return None if r.empty else r.iloc[0]

        best = fastest.loc[(bptt, h)] if (bptt, h) in fastest.index else None
        label = "1 (reset per char)" if bptt == "1" else "epoch (mid-epoch average)"
        lines.append("| " + " | ".join([
            str(h), label, cell(us("notebook"), False), cell(us("reference"), False),
            *(cell(us("population", p)) for p in (1, 8, 64, 256)),
            "-" if best is None else f"{cell(best)[:-1]}, P={int(best['P'])})"]) + " |")
    return "\n".join(lines)


def _steps(results: Path) -> str:
    return step_table(pd.read_csv(results / "steptime.csv"))


def cells_step_table(steps: pd.DataFrame) -> str:
    """Per cell, full-epoch BPTT: the reference trainer and both kernels at P=8, with the
    speed-up over the same cell's reference measured in the same run."""
    cols = ["cell", "H", "reference", "population (numba) P=8", "torch kernel P=8"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    steps = steps[steps["bptt"].astype(str) == "epoch"]
    if "cell" not in steps.columns:  # a table from before the GRU and RNN were timed
        steps = steps.assign(cell="lstm")
    for (cell, h), g in steps.groupby(["cell", "H"], sort=True):
        def get(impl: str, p: int, g: pd.DataFrame = g) -> str:
            r = g[(g["impl"] == impl) & (g["P"] == p)]
            if r.empty:
                return "-"
            r = r.iloc[0]
            ratio = "" if impl == "reference" or "speedup_vs_reference" not in r else \
                f" ({r['speedup_vs_reference']:.0f}×)"
            return f"{r['per_model_step_us']:.1f} µs{ratio}"

        lines.append(f"| {cell} | {h} | {get('reference', 1)} | {get('population', 8)} | "
                     f"{get('population_torch', 8)} |")
    return "\n".join(lines)


def _cells_steps(results: Path) -> str:
    return cells_step_table(pd.read_csv(results / "steptime.csv"))


def capacity_step_table(steps: pd.DataFrame) -> str:
    """The capacity study's steps (window 16 online, chunks of 64 offline) with their roofline,
    the compiled kernels beside the torch kernel at the same P."""
    g = steps[steps["bptt"].astype(str).isin(["16", "chunk64"])]
    if g.empty or "floor_us" not in g.columns:
        return "(run `python -m bench.steptime` for the windowed and offline rows)"
    lines = ["| step | network | reference | population (P) | vs reference | torch kernel | "
             "floor | over the floor |", "|---|---|---|---|---|---|---|---|"]
    for (bptt, cell, h), rows in g.groupby(["bptt", "cell", "H"], sort=True):
        ref = rows[rows["impl"] == "reference"]
        torch_us = rows[rows["impl"] == "population_torch"].set_index("P")["per_model_step_us"]
        for _, r in rows[rows["impl"] == "population"].iterrows():
            name = "online, window 16" if str(bptt) == "16" else "offline, chunks of 64"
            ref_us = f"{ref['per_model_step_us'].iloc[0]:.1f} µs" if len(ref) else "-"
            other = f"{torch_us[r['P']]:.1f} µs" if r["P"] in torch_us.index else "-"
            lines.append(f"| {name} | {cell.upper()} {h} | {ref_us} | "
                         f"{r['per_model_step_us']:.1f} µs ({r['P']}) | "
                         f"{r['speedup_vs_reference']:.0f}× | {other} | {r['floor_us']:.1f} µs | "
                         f"{r['over_floor']:.1f}× |")
    return "\n".join(lines)


def _capacity_steps(results: Path) -> str:
    return capacity_step_table(pd.read_csv(results / "steptime.csv"))


def _findings(results: Path, doc: dict | None = None) -> str:
    """fit.json's findings (analysis.findings) as the README's list."""
    if doc is None:
        path = results.parent / "analysis" / "fit.json"
        doc = json.loads(path.read_text())
    return render_findings(doc.get("findings", []), "readme")


RENDERERS: dict[str, Callable[[Path], str]] = {
    "cases": _cases, "engines": _engines, "steptime": _steps, "cells_steptime": _cells_steps,
    "capacity_steptime": _capacity_steps, "findings": _findings}


def render(results: str | Path, names: list[str] | None = None, doc: dict | None = None
           ) -> dict[str, str]:
    """Each block's Markdown from the tables in `results` (default: all blocks); the
    findings from `doc` when given (the fit just made), else from results/../analysis/fit.json."""
    results = Path(results)
    return {name: (_findings(results, doc) if name == "findings" and doc is not None
                   else RENDERERS[name](results)) + "\n" for name in names or RENDERERS}


def blocks(text: str) -> dict[str, str]:
    """The generated blocks of a README's text: name -> content."""
    return {m.group(2): m.group(3) for m in _BLOCK.finditer(text)}


def update_readme(readme: str | Path, results: str | Path, doc: dict | None = None) -> list[str]:
    """Rewrite the README's generated blocks from `results` (the findings from `doc`, the
    fit this run made, when given); returns the names changed.

    A block whose source table is missing is left as it is.
    """
    readme = Path(readme)
    text = readme.read_text()
    present = [n for n in blocks(text) if n in RENDERERS]
    fresh = {}
    for name in present:
        try:
            fresh[name] = render(results, [name], doc)[name]
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


GLOSSARY_START, GLOSSARY_END = "<!-- glossary: start -->", "<!-- glossary: end -->"


def update_glossary(path: str | Path) -> bool:
    """Rewrite the column glossary of results/README.md from the schema; True if it changed."""
    from seqmem.schema import glossary_markdown

    path = Path(path)
    text = path.read_text()
    head, rest = text.split(GLOSSARY_START, 1)
    _, tail = rest.split(GLOSSARY_END, 1)
    new = f"{head}{GLOSSARY_START}\n{glossary_markdown()}\n{GLOSSARY_END}{tail}"
    if new != text:
        path.write_text(new)
    return new != text
