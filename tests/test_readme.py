"""The README's results tables are what the committed results give (analysis/readme.py)."""

from pathlib import Path

import pytest

from analysis.readme import RENDERERS, blocks, render, stale_blocks, update_readme

pytestmark = pytest.mark.slow  # the fast subset is pytest -m "not slow"

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_has_every_generated_table():
    assert set(blocks((ROOT / "README.md").read_text())) == set(RENDERERS)


def test_every_readme_table_is_what_the_committed_results_give():
    assert stale_blocks(ROOT / "README.md", ROOT / "results") == [], \
        "rerun `python -m analysis` (it rewrites the README's tables)"


def test_update_rewrites_a_stale_table_and_only_that(tmp_path):
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    readme.write_text(text.replace("<!-- generated: cases -->\n",
                                   "<!-- generated: cases -->\n| tampered |\n", 1))
    assert "| tampered |" in readme.read_text()
    assert stale_blocks(readme, ROOT / "results") == ["cases"]
    assert update_readme(readme, ROOT / "results") == ["cases"]
    after = blocks(readme.read_text())
    assert after["cases"] == render(ROOT / "results", ["cases"])["cases"]
    assert {k: v for k, v in after.items() if k != "cases"} == \
        {k: v for k, v in blocks(text).items() if k != "cases"}


def test_the_committed_analysis_is_what_the_committed_results_give(tmp_path):
    """python -m analysis on results/ regenerates analysis/fit.json and REPORT.md byte for
    byte (the README's findings are rendered from that fit.json)."""
    import subprocess
    import sys

    out = tmp_path / "analysis"
    proc = subprocess.run([sys.executable, "-m", "analysis", "--results", "results", "--out",
                           str(out), "--readme", ""], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    for name in ("fit.json", "REPORT.md"):
        assert (out / name).read_text() == (ROOT / "analysis" / name).read_text(), \
            f"analysis/{name} is stale: rerun `python -m analysis`"
    drawn = {p.name for p in out.glob("*.png")}
    assert drawn == {p.name for p in (ROOT / "analysis").glob("*.png")}


def test_the_findings_come_from_the_fit_handed_over_not_the_committed_one(tmp_path):
    """python -m analysis --out X --readme R renders R's findings from the fit it just made
    (it used to read results/../analysis/fit.json, the committed one)."""
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text())
    doc = {"findings": [{"id": "depth_ambiguity", "lrs": [1e-3], "effects": [
        {"loss": "logits", "metric": "context depth", "doubling": 9.87, "doubling_lo": 9.0,
         "doubling_hi": 11.0},
        {"loss": "logits", "metric": "1 + ambiguous transitions", "doubling": 1.0,
         "doubling_lo": 0.9, "doubling_hi": 1.1}]}]}
    assert "findings" in update_readme(readme, ROOT / "results", doc)
    findings = blocks(readme.read_text())["findings"]
    assert "×9.87 [9.00, 11.00]" in findings and findings.count("\n") == 1


def test_the_readme_and_the_brief_render_the_same_findings():
    """fit.json's findings are the one source of the README's findings and the report's
    brief: a number changed there shows in both."""
    import json

    from analysis.findings_report import render

    doc = json.loads((ROOT / "analysis" / "fit.json").read_text())
    for f in doc["findings"]:
        if f["id"] == "depth_ambiguity":
            for r in f["effects"]:
                if r["loss"] == "softmax" and r["metric"] == "context depth":
                    r.update(doubling=7.65, doubling_lo=7.0, doubling_hi=8.0)
    for form in ("readme", "brief"):
        assert "×7.65 [7.00, 8.00]" in render(doc["findings"], form)
