"""The house rules, drawn from the imports: seqmem never imports bench or analysis, analysis
never imports bench, and the pure modules import without torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = ("seqmem.sequences", "seqmem.difficulty", "seqmem.generate", "seqmem.forks",
        "seqmem.config", "seqmem.cases", "seqmem.schedule", "seqmem.records", "seqmem.schema")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package,forbidden", [("seqmem", {"bench", "analysis"}),
                                               ("analysis", {"bench"})])
def test_no_import_runs_back_up_the_layers(package, forbidden):
    files = sorted((ROOT / package).glob("*.py"))
    assert files
    bad = {f.name: sorted(_imports(f) & forbidden) for f in files if _imports(f) & forbidden}
    assert not bad


def test_the_pure_modules_import_without_torch():
    code = f"import sys; import {', '.join(PURE)}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# What computes a statistic or calls the law; a renderer (a report, the README's blocks, a
# figure) only formats or draws what the analysis computed (issue 19, "renderers only render").
STATISTICS = {"median", "mean", "agg", "aggregate", "quantile", "percentile", "nanmedian",
              "nanmean", "nanquantile", "value_counts", "idxmax", "idxmin", "std", "var", "corr",
              "pivot_table", "kaplan_meier", "km_curves", "km_table", "predict", "prob_within",
              "binomtest", "crossing", "bracket"}
RENDERERS = ("report*.py", "*_report.py", "readme.py", "figures.py", "*_figures.py",
             "plotting.py", "fmt.py")


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


def test_renderers_compute_no_statistics():
    files = sorted({f for pattern in RENDERERS for f in (ROOT / "analysis").glob(pattern)})
    assert len(files) > 10
    bad = {f.name: sorted(_calls(f) & STATISTICS) for f in files if _calls(f) & STATISTICS}
    assert not bad
