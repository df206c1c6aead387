"""The README's results tables are what the committed results give (analysis/readme.py)."""

from pathlib import Path

from analysis.readme import RENDERERS, blocks, render, stale_blocks, update_readme

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
