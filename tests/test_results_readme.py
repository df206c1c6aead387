"""results/README.md: every committed file listed, every column explained from the schema."""

import subprocess
from pathlib import Path

from analysis.readme import GLOSSARY_END, GLOSSARY_START
from seqmem.schema import NAMES, glossary, glossary_markdown

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "results" / "README.md"


def test_every_committed_results_file_is_listed():
    listed = README.read_text()
    files = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    names = [Path(f).name for f in files if Path(f).name != "README.md"]
    assert names, "no committed results found"
    for name in names:
        assert f"[{name}]({name})" in listed, name


def test_the_glossary_is_the_schema_s_and_explains_every_column():
    text = README.read_text()
    block = text.split(GLOSSARY_START, 1)[1].split(GLOSSARY_END, 1)[0].strip()
    assert block == glossary_markdown()
    rows = glossary()
    assert [r[0] for r in rows] == list(NAMES)
    assert all(len(meaning) > 10 for _, _, _, meaning in rows), \
        [name for name, _, _, meaning in rows if len(meaning) <= 10]
