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
from analysis.fmt import ci, loss_name, pct
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
    if "cell" in steps.columns:
        steps = steps[steps["cell"] == "lstm"]

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
    """The capacity study's steps (window 16 online, chunks of 64 offline) with their roofline."""
    g = steps[steps["bptt"].astype(str).isin(["16", "chunk64"])]
    if g.empty or "floor_us" not in g.columns:
        return "(run `python -m bench.steptime` for the windowed and offline rows)"
    lines = ["| step | H | reference | population (P) | vs reference | floor | over the floor |",
             "|---|---|---|---|---|---|---|"]
    for (bptt, h), rows in g.groupby(["bptt", "H"], sort=True):
        ref = rows[rows["impl"] == "reference"]
        for _, r in rows[rows["impl"] == "population"].iterrows():
            name = "online, window 16" if str(bptt) == "16" else "offline, chunks of 64"
            ref_us = f"{ref['per_model_step_us'].iloc[0]:.1f} µs" if len(ref) else "-"
            lines.append(f"| {name} | {h} | {ref_us} | {r['per_model_step_us']:.1f} µs ({r['P']}) | "
                         f"{r['speedup_vs_reference']:.0f}× | {r['floor_us']:.1f} µs | "
                         f"{r['over_floor']:.1f}× |")
    return "\n".join(lines)


def _capacity_steps(results: Path) -> str:
    return capacity_step_table(pd.read_csv(results / "steptime.csv"))


ANSWER_WORDS = {"no": "no detectable effect", "yes": "yes", "mixed": "not in general"}


def findings(doc: dict) -> str:
    """The study's headline answers, every number taken from fit.json (python -m analysis)."""
    out = []
    for loss, name in (("softmax", "the notebook's loss"), ("logits", "the loss on logits")):
        e = {r["metric"]: r for r in doc.get("depth_ambiguity", []) if r["loss"] == loss}
        if e:
            d, a = e["context depth"], e["1 + ambiguous transitions"]
            out.append(f"- **Depth and ambiguity, each at a fixed value of the other** ({name}; "
                       f"forks design): doubling the context depth multiplies the steps to "
                       f"memorize by ×{ci(d['doubling'], d['doubling_lo'], d['doubling_hi'])}, "
                       f"doubling 1 + ambiguous transitions by "
                       f"×{ci(a['doubling'], a['doubling_lo'], a['doubling_hi'])} "
                       "(95% CIs over sequences).")
    best = doc.get("width_lr_best", [])
    for loss, name in (("logits", "With the loss on logits"), ("softmax", "With the notebook's loss")):
        b = sorted((r for r in best if r["loss"] == loss), key=lambda r: r["units"])
        if b:
            shares = ", ".join(f"{pct(r['share'])} at {r['units']} units (lr {r['lr']:g}"
                               + (f", the grid's {r['edge']}" if r.get("edge") else "") + ")"
                               for r in b)
            top = max(r["share"] for r in b)
            peaks = [r["units"] for r in b if r["share"] == top]
            where = (f"every width reaches {pct(top)}" if len(peaks) == len(b) else
                     f"the peak is at {', '.join(map(str, peaks))} units")
            out.append(f"- **Width at its best learning rate.** {name}, the share of runs "
                       f"memorized within 1000 epochs is {shares}: {where}.")
    worse = [r for r in doc.get("width_lr_doubling", []) if r["hi"] < 0]
    if worse:
        out.append("- **Wider is worse at its best lr** for " + "; ".join(
            f"{r['narrow']}→{r['wide']} units, {r['loss']} loss: "
            f"{ci(r['difference'], r['lo'], r['hi'], '{:+.2f}')}" for r in worse)
            + " (change in share, 95% CI over sequences).")
    front = doc.get("frontier", [])
    if front:
        shown = [r for r in front if r.get("bits_shown") == r.get("bits_shown")]  # not NaN
        top = max(shown or front, key=lambda r: r.get("bits_shown", r["bits_per_param"]))
        out.append(f"- **Exact regeneration at the frontier** (`frontier*`, one lr and budget "
                   "per setting): the most any network was shown to regenerate is "
                   f"{top.get('bits_shown', top['bits_per_param']):.2g} bits per parameter, at "
                   "the longest tested length half its runs memorized "
                   f"({top['cell'].upper()} {top['units']} units, {top['alphabet_size']} "
                   f"letters, lr {top['lr']:g}, {top['budget_steps']:,} steps; L* interpolated "
                   f"inside its doubling bracket gives {top['bits_per_param']:.2g}): a lower "
                   "bound, under a pass/fail criterion. The graded measure is the capacity "
                   "line below.")
        lr_eff = doc.get("frontier_lr", [])
        further = [r for r in lr_eff if r["lo"] > 1]
        if lr_eff:
            out.append(f"- **The frontier at lr 1e-2 was the learning rate's**: at "
                       f"{lr_eff[0]['budget_steps']:,} steps, lr {lr_eff[0]['lr_to']:g} reaches "
                       f"further (CI above ×1) for {len(further)} of {len(lr_eff)} (width, "
                       "alphabet) pairs, " + ", ".join(
                           f"×{ci(r['L_ratio'], r['lo'], r['hi'])} at {r['units']} units and "
                           f"{r['alphabet_size']} letters" for r in further)
                       + ". Where a network was limited by its lr or budget, L* is a lower "
                       "bound on what it can hold.")
        low = [r for r in doc.get("frontier_budget", []) if r["lr"] < 1e-2]
        for r in low:
            if r["lo"] > 1:
                out.append(f"- **More steps still move the widest frontier**: at lr {r['lr']:g}, "
                           f"{r['budget_steps_to']:,} instead of {r['budget_steps_from']:,} steps "
                           f"moves L* of {r['units']} units at {r['alphabet_size']} letters by "
                           f"×{ci(r['L_ratio'], r['lo'], r['hi'])}.")
        kept = [r for r in low if r["lo"] <= 1 <= r["hi"]]
        if kept:
            out.append(f"- **More steps leave the widest frontier where it was**: at lr "
                       f"{kept[0]['lr']:g}, {kept[0]['budget_steps_to']:,} instead of "
                       f"{kept[0]['budget_steps_from']:,} steps: " + ", ".join(
                           f"L* of {r['units']} units at {r['alphabet_size']} letters "
                           f"×{ci(r['L_ratio'], r['lo'], r['hi'])} ({r['L_from']:.0f} → "
                           f"{r['L_to']:.0f})" for r in kept) + ".")
    cap = doc.get("capacity", {}).get("headline", [])
    if cap:
        def bpp(r: dict, m: str) -> str:
            bound = " (still rising: a lower bound)" if r[f"{m}_rising"] else ""
            return f"{ci(r[m], r[f'{m}_lo'], r[f'{m}_hi'])}{bound}"
        out.append("- **Capacity, measured** (`capacity`: bits stored per parameter, the most "
                   "stored over the lengths tried, 3 independent sequences per length; online "
                   "with a 16-step window against offline char-RNN training at the same lengths "
                   "and exposures, offline at the end of its cosine schedule, each at the lr "
                   "chosen on other sequences): " + "; ".join(
                       f"{r['cell'].upper()} {r['units']} units ({r['params']:,} parameters, "
                       f"{r['alphabet_size']} letters, {r['exposures']} exposures): online "
                       f"{bpp(r, 'online')}, offline {bpp(r, 'offline')}, online "
                       f"×{ci(r['ratio'], r['ratio_lo'], r['ratio_hi'])} of offline"
                       for r in cap) + ".")
    bisect = doc.get("capacity", {}).get("lstar", [])
    if bisect:
        out.append("- **L* between tested lengths 2^(1/4) apart** (`capacity_lstar`: the doubling "
                   "brackets bisected at quarter powers of two, 5 new sequences per length, lr "
                   "1e-3, 200,000 steps): " + ", ".join(
                       f"{r['cell'].upper()} {r['units']} units {r['bound']}{r['L_star']:.0f} letters "
                       f"(tested {r['below']:.0f}-{r['above']:.0f}; interval [{r['lo']:.0f}, "
                       f"{r['hi']:.0f}]; {r['bits_per_param']:.2f} bits per parameter after "
                       f"{r['exposures_at_lstar']:.0f} exposures)" for r in bisect)
                   + ". The fixed budget in steps is fewer exposures at a longer L*.")
    rt = doc.get("rtrl", {}).get("verdicts", {})
    if rt.get("lstar", {}).get("rtrl"):
        k, b = rt["lstar"]["rtrl"], rt["bits"].get("rtrl")
        line = ("- **The exact online gradient** (`rtrl`: RTRL run online against the 16-step "
                "window, LSTM, GRU and RNN at 4, 8 and 16 units, 26 letters, 200k steps, the "
                f"same sequences and seeds): {ANSWER_WORDS[rt['answer']]}: run pairs memorized "
                f"by only one gradient differ significantly in {k['longer'] + k['shorter']} of "
                f"{k['networks']} networks (pooled {k['only_gradient']} only under RTRL, "
                f"{k['only_base']} only under the window, exact p = {k['pooled_p']:.2g})")
        if b:
            line += (f"; where neither memorized RTRL stores ×{b['median']:.2f} the window's "
                     f"bits (median over networks, below 1 in {b['below_one']} of "
                     f"{b['networks']})")
        for f in rt.get("fresh", []):
            line += (f"; on {f['sequences']} fresh sequences ({f['network']}, {f['length']} "
                     f"letters) RTRL memorized {f['rtrl']}/{f['runs']}, the window "
                     f"{f['window']}/{f['runs']}")
        cases = rt.get("cases", [])
        if cases:
            line += "; the notebook's cases " + ", ".join(
                f"{c['case']} {c['rtrl']}/{c['runs']} under RTRL and {c['epoch']}/{c['runs']} "
                "under its stale BPTT" for c in cases)
        out.append(line + ".")
    uc = doc.get("usercells", {}).get("capacity", [])
    if uc:
        out.append("- **Your own cell** (`usercells`: minGRU and minLSTM, Feng et al. 2024, "
                   "beside the built-in cells at matched parameters, bits stored after "
                   f"{uc[0]['exposures']} exposures): " + ", ".join(
                       f"{r['network']} ({r['params']:,} parameters) {r['bits_per_param']:.2f}"
                       + (" (still rising)" if r["rising"] else "") for r in uc)
                   + " bits per parameter.")
    fresh = doc.get("frontier_fresh", [])
    if fresh:
        agree = [r for r in fresh if r["same_bracket"] or r["lo"] <= 1 <= r["hi"]]
        out.append(f"- **L* on fresh sequences** (`frontier_fresh`, `frontier_cells_fresh`): "
                   f"agrees with the first sequences' (same bracket or a ratio CI holding ×1) "
                   f"for {len(agree)} of {len(fresh)} widths (" + ", ".join(
                       f"{r['cell'].upper()} {r['units']}: {r['first_L_star']:.0f} → "
                       f"{r['fresh_L_star']:.0f}" for r in fresh) + ").")
    cd = doc.get("cells_difficulty", [])
    if cd:
        dep = {r["cell"]: r for r in cd if r["loss"] == "logits" and r["metric"] == "context depth"}
        amb = {r["cell"]: r for r in cd if r["loss"] == "logits" and r["metric"] != "context depth"}
        out.append("- **Which property makes a sequence hard depends on the cell** (loss on "
                   "logits, forks slice, matched parameters): doubling the depth costs " + ", ".join(
                       f"{c.upper()} ×{ci(r['doubling'], r['doubling_lo'], r['doubling_hi'])}"
                       for c, r in sorted(dep.items()))
                   + "; doubling 1 + ambiguous transitions costs " + ", ".join(
                       f"{c.upper()} ×{ci(r['doubling'], r['doubling_lo'], r['doubling_hi'])}"
                       for c, r in sorted(amb.items())) + ".")
    for key, title, unit, scale in (
            ("validation", "The law out of sample", "held-out sequences", "steps"),
            ("predict_check", "`analysis.predict` on runs that chose nothing",
             "fresh sequences at widths and learning rates no analysed spec has", "epochs")):
        v = doc.get(key)
        if v:
            out.append(f"- **{title}** ({v['sequences']} {unit}, {v['runs']:,} runs): median "
                       f"prediction factor {v['median_factor']:.2f} in {scale} over {v['cells']} cells "
                       f"(90th percentile {v['factor_p90']:.2f}); Brier score {v['brier']:.3f} "
                       f"against {v['brier_no_skill']:.3f} for no skill"
                       + (f" and {v['brier_design']:.3f} for a baseline that knows the design"
                          if "brier_design" in v else "")
                       + "".join(f"; {loss_name(r['loss'])} ×{r['median_factor']:.2f}, Brier "
                                 f"{r['brier']:.3f} against {r['brier_no_skill']:.3f}"
                                 for r in v.get("by_loss", [])) + ".")
    wb = doc.get("width_lr_between")
    if wb:
        out.append(f"- **Between the width x lr grid points** (`width_lr_between`, fresh seeds, "
                   f"{wb['runs']:,} runs): {wb['inside']} of {wb['cells']} cells memorize a share "
                   "within the range of their four grid neighbours; `analysis.predict` there: "
                   f"median factor {wb['median_factor']:.2f}, Brier {wb['brier']:.3f} against "
                   f"{wb['brier_no_skill']:.3f}.")
    opts = {(r["variant"], r["depth"]): r for r in doc.get("options", [])}
    lg = [opts[k] for k in sorted(opts) if k[0] == "loss=logits"]
    if lg:
        out.append("- **The notebook's Softmax before the loss**: the loss on logits takes " + ", ".join(
            f"×{ci(r['ratio'], r['lo'], r['hi'])} the epochs at depth {r['depth']}" for r in lg)
            + " (v1 study, one sequence per depth: seed-level CIs).")
    return "\n".join(out)


def _findings(results: Path, doc: dict | None = None) -> str:
    if doc is None:
        path = results.parent / "analysis" / "fit.json"
        doc = json.loads(path.read_text())
    return findings(doc)


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
