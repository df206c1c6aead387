"""python -m analysis.summary: any sweep's groups, shares and Kaplan-Meier medians."""

from pathlib import Path

import pytest

from analysis.load import outcomes, split_errors
from analysis.summary import main, summarize
from analysis.survival import kaplan_meier
from analysis.validate import wilson
from seqmem.store import load_results

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "results" / "cases.csv"


def test_each_group_is_summarized_with_the_analysis_estimators():
    df = load_results(CASES)
    table, by, errors = summarize(df)
    assert len(table) == 7 and table["runs"].sum() == len(df) and errors == 0
    assert "seed" not in by and {"sequence", "units", "reset"} <= set(by)
    runs = outcomes(split_errors(df)[0])
    for _, r in table.iterrows():
        g = runs[(runs["sequence"] == r["sequence"]) & (runs["units"] == r["units"])
                 & (runs["reset"] == r["reset"])]
        km = kaplan_meier(g["observed"], g["event"], budget=float(g["max_epochs"].min()))
        assert r["median_epochs"] == km.median and r["runs"] == len(g)
        assert (r["share_lo"], r["share_hi"]) == pytest.approx(wilson(int(g["event"].sum()), len(g)))


def test_the_command_writes_the_table_and_the_figure(tmp_path, capsys):
    assert main([str(CASES), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "summary.md").read_text()
    assert text.count("\n| ") == 1 + 7  # header and one row per group
    assert "(26, #80256f)" in text  # a long sequence by its start, length and hash
    assert (tmp_path / "survival.png").stat().st_size > 10_000
    assert "7 groups of 140 runs" in capsys.readouterr().out


@pytest.mark.parametrize("name,content,message", [
    ("missing.csv", None, "is not a file"),
    ("junk.csv", "a,b\n1,2\n", "the contract does not know"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
