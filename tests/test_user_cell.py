"""Bring your own cell (seqmem.usercell, seqmem.user_engine): the interface checked before
any work, equivalence with the built-in reference trainer, identity and provenance."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.spec import SpecError, parse_spec
from bench.sweep import main
from seqmem import usercell
from seqmem.config import preset
from seqmem.model import parameter_count
from seqmem.reference import train_reference
from seqmem.store import load_results
from seqmem.train import numerics, train_group

CELLS = "tests/fixtures/user_cells.py"


@pytest.mark.parametrize("cell,user", [("lstm", "PlainLSTM"), ("gru", "PlainGRU")])
@pytest.mark.parametrize("opts", [
    dict(),  # the notebook's options: full-epoch stale-activation BPTT, softmax loss
    dict(reset="char"),
    dict(bptt=3, loss="logits", feedback="onehot"),
    dict(update="chunk", chunk=4, clip=0.5, schedule="cosine", warmup=0.1),
], ids=["notebook", "char", "window3", "offline"])
def test_the_equations_written_out_train_as_the_built_in_cell(cell, user, opts):
    """Per-step losses of a plain-torch LSTM / GRU through the user engine (vmap, a
    population of two) equal the built-in reference trainer's to float32 rounding."""
    steps = 120
    base = preset("notebook", "ABCABD", units=8, seed=1, lr=0.01, max_epochs=20,
                  eval_every=1000, cell=cell, **opts)
    ref = train_reference(base.replace(engine="reference"), trace_steps=steps)
    recs = train_group([base.replace(cell=f"{CELLS}:{user}", seed=s) for s in (0, 1)],
                      trace_steps=steps)
    assert recs[1].provenance.kernel == "user-vmap"
    assert recs[1].parameters == parameter_count(cell, 8, 26) == ref.parameters
    np.testing.assert_allclose(recs[1].step_loss, ref.step_loss, rtol=1e-5)
    assert np.ptp(ref.step_loss) > 0.1  # the weights moved


def test_records_match_the_built_in_cell_on_a_short_run():
    base = preset("clean", "ABCDAE", units=8, lr=0.01, max_epochs=60, eval_every=5, cell="gru")
    ref = [train_reference(base.replace(engine="reference", seed=s)) for s in (0, 1)]
    got = train_group([base.replace(cell=f"{CELLS}:PlainGRU", seed=s) for s in (0, 1)])
    for g, r in zip(got, ref, strict=True):
        assert (g.epochs_to_memorize, g.final_prefix) == (r.epochs_to_memorize, r.final_prefix)
        assert g.bits_stored == pytest.approx(r.bits_stored, rel=1e-4)
        assert g.bits_curve == pytest.approx(r.bits_curve, rel=1e-4, abs=1e-3)


def test_a_cell_vmap_cannot_run_trains_one_model_at_a_time():
    name = f"{CELLS}:Unbatchable"
    assert usercell.check(name, 26, 4) == "loop"
    recs = train_group([preset("clean", "ABCD", units=4, seed=s, max_epochs=3, cell=name)
                       for s in (0, 1)])
    assert {r.provenance.kernel for r in recs} == {"user-loop"}
    assert numerics(recs[0].config) == ("user-loop", usercell.numerics_version(name))


@pytest.mark.parametrize("name,message", [
    (f"{CELLS}:WrongShape", "h must be (batch, units) = (2, 4), got a tensor of shape (4,)"),
    (f"{CELLS}:NoInitialState", "has no initial_state() method"),
    (f"{CELLS}:Missing", "has no 'Missing'"),
    ("no/such/file.py:Cell", "no such file 'no/such/file.py'"),
    ("no_such_module_xyz:Cell", "cannot import 'no_such_module_xyz': ModuleNotFoundError"),
    ("seqmem.config:RunConfig", "RunConfig is not a torch.nn.Module class"),
])
def test_a_broken_cell_is_refused_in_one_line_before_any_run(name, message):
    spec = {"seeds": 1, "units": 4, "sequences": ["ABCD"], "cell": name}
    with pytest.raises(SpecError, match="cell = ") as e:
        parse_spec(spec, name="broken")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_rtrl_is_refused_for_a_user_cell():
    with pytest.raises(SpecError, match="bptt='rtrl' needs the cell's Jacobians"):
        parse_spec({"seeds": 1, "units": 4, "sequences": ["ABCD"], "bptt": "rtrl",
                    "cell": f"{CELLS}:PlainGRU"}, name="x")


def test_the_run_id_holds_the_cells_path_and_source(tmp_path, monkeypatch, capsys):
    """Editing the cell's file gives new run ids and a new numerics version: the rows the
    old code made are refused on resume."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(Path(__file__).parent / "fixtures" / "user_cells.py", tmp_path / "cells.py")
    spec_file = tmp_path / "mine.toml"
    spec_file.write_text('seeds = 2\nunits = 4\nmax_epochs = 4\nsequences = ["ABCA"]\n'
                         'cell = "cells.py:PlainGRU"\n')
    out = tmp_path / "out" / "mine.sqlite"
    assert main([str(spec_file), "--out", str(out), "--mkdir", "--backend", "sequential",
                 "--quiet"]) == 0
    rows = load_results(out.with_suffix(".csv"))
    source = usercell.source_hash("cells.py:PlainGRU")
    assert set(rows["cell_source"]) == {source} and set(rows["kernel"]) == {"user-vmap"}
    assert set(rows["parameters"]) == {parameter_count("gru", 4, 26)}
    first = set(rows["run_id"])
    # the same spec again: everything is stored, nothing runs
    assert main([str(spec_file), "--out", str(out), "--backend", "sequential", "--quiet"]) == 0
    with open(tmp_path / "cells.py", "a") as f:
        f.write("\n# an edit\n")
    assert usercell.source_hash("cells.py:PlainGRU") != source
    capsys.readouterr()
    assert main([str(spec_file), "--out", str(out), "--backend", "sequential", "--quiet"]) == 2
    assert "the cell was edited" in capsys.readouterr().err
    assert set(load_results(out.with_suffix(".csv"))["run_id"]) == first


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    """README, "Benchmark your own cell": its cell file and spec (with a budget of 2 epochs
    instead of 300) run through the sweep and the summary."""
    import re

    from analysis.summary import main as summary

    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text.split("## Benchmark your own cell", 1)[1].split("\n## ", 1)[0]
    cell = re.search(r"```python\n# mycell.py\n(.*?)```", section, re.S).group(1)
    spec = re.search(r"```toml\n# mine.toml\n(.*?)```", section, re.S).group(1)
    assert "max_epochs = 300" in spec
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mycell.py").write_text(cell)
    (tmp_path / "mine.toml").write_text(spec.replace("max_epochs = 300", "max_epochs = 2"))
    assert main(["mine.toml", "--out", "mine/mine.sqlite", "--mkdir", "--backend",
                 "sequential", "--quiet"]) == 0
    rows = load_results("mine/mine.csv")
    assert len(rows) == 3 * 2 * 4 and set(rows["kernel"]) == {"user-vmap"}
    assert summary(["mine/mine.csv", "--out", "mine"]) == 0
    assert (tmp_path / "mine" / "summary.md").is_file()
