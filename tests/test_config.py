import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from seqmem.config import ID_FIELDS_V1, NOTEBOOK, RunConfig, preset
from seqmem.evaluate import eval_epochs, longest_substring, score
from seqmem.schema import config_of

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_notebook_preset_sets_every_option_as_the_notebook():
    cfg = preset("notebook", "random30")
    assert (cfg.units, cfg.lr, cfg.reset, cfg.bptt, cfg.loss, cfg.feedback, cfg.eval_every,
            cfg.max_epochs) == (32, 1e-3, "epoch", "epoch", "softmax", "probs", 10, 1000)
    assert cfg.sequence == "VNMVWKTFFLOZKUNSDYGOEFOBTZTTVU"
    assert set(NOTEBOOK) <= set(cfg.to_dict())


def test_run_id_is_a_hash_of_every_field():
    base = preset("notebook", "alphabet")
    assert base.run_id == preset("notebook", "ABCDEFGHIJKLMNOPQRSTUVWXYZ").run_id
    changed = {base.replace(**{k: v}).run_id for k, v in [
        ("units", 33), ("seed", 1), ("lr", 0.01), ("reset", "char"), ("bptt", 2), ("loss", "logits"),
        ("feedback", "onehot"), ("eval_every", 5), ("max_epochs", 10), ("engine", "reference"),
        ("sequence", "ABCD")]}
    assert len(changed) == 11 and base.run_id not in changed


# Ids stored in results/ before the id rule gained growth-safety; they must never change.
GOLDEN = [
    (preset("notebook", "alphabet", reset="char", seed=11), "00e8ea0381525442"),
    (preset("notebook", "repeatone", seed=18), "0327226a9c434642"),
    (preset("notebook", "repeatfive", seed=15, engine="reference"), "0633360d916ab3b7"),
    (preset("notebook", "random30", units=128, seed=11, engine="reference"), "0715a49d36a66772"),
    (preset("notebook", "VVKHVKLK", units=64, seed=3), "004cce7e637b6f9c"),
    (preset("notebook", "ZCKZKZCKYEKCTLGY", units=64, seed=3, bptt=4), "28a95789bf592d76"),
    (preset("clean", "ZCEGTZEYYTTKCCLK", units=64, seed=2), "02424735244a4c45"),
]


@pytest.mark.parametrize("config, run_id", GOLDEN, ids=[g[1] for g in GOLDEN])
def test_golden_run_ids(config, run_id):
    assert config.run_id == run_id


@pytest.mark.slow
def test_every_committed_row_has_the_run_id_of_its_config():
    tables = sorted(RESULTS.glob("*.csv"))
    checked = 0
    for path in tables:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "run_id" not in df.columns:
            continue  # not a results table (e.g. steptime.csv)
        for row in df.to_dict(orient="records"):  # the CSV's text, as a reader without seqmem sees it
            assert config_of(row).run_id == row["run_id"], (path.name, row["run_id"])
            checked += 1
    assert checked >= 1000


def test_a_new_field_with_a_default_keeps_every_run_id():
    # `cell` was added after the golden ids were stored; one more field is added here.
    grown = dataclasses.make_dataclass("Grown", [("width_mult", int, dataclasses.field(default=1))],
                                       bases=(RunConfig,), frozen=True)
    for config, run_id in GOLDEN:
        assert config.cell == "lstm" and config.replace(cell="gru").run_id != run_id
        assert grown(**config.to_dict()).run_id == run_id
        assert grown(**config.to_dict(), width_mult=2).run_id != run_id  # a non-default counts
    assert set(ID_FIELDS_V1) <= set(grown(**GOLDEN[0][0].to_dict()).id_fields())


def test_cell_groups_seeds():
    a, b = preset("notebook", "ABCD", seed=1), preset("notebook", "ABCD", seed=2)
    assert a.without_seed == b.without_seed and a.run_id != b.run_id


@pytest.mark.parametrize("changes, fragment", [
    ({"units": 0}, "units must be an integer >= 1, got 0"),
    ({"units": 2.5}, "got 2.5"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"lr": 0}, "lr must be a positive number, got 0"),
    ({"reset": "step"}, "reset must be one of epoch, char; got 'step'"),
    ({"bptt": 0}, 'bptt must be an integer >= 1 or "epoch" or "rtrl", got 0'),
    ({"bptt": "full"}, "got 'full'"),
    ({"loss": "mse"}, "got 'mse'"),
    ({"feedback": "argmax"}, "got 'argmax'"),
    ({"eval_every": 0}, "eval_every must be an integer >= 1"),
    ({"max_epochs": -1}, "max_epochs must be an integer >= 0"),
    ({"engine": "jax"}, "got 'jax'"),
    ({"sequence": "hello"}, "lower-case is not folded"),
    ({"unit": 3}, "unknown config key 'unit'"),
])
def test_bad_values_are_rejected_in_one_line(changes, fragment):
    with pytest.raises(ValueError) as err:
        RunConfig.from_dict({"sequence": "ABCA", **changes})
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'colab'"):
        preset("colab", "ABC")


def test_evaluation_schedule_is_the_notebooks():
    assert eval_epochs(10, 1000)[:3] == [0, 10, 20] and eval_epochs(10, 1000)[-2:] == [990, 1000]
    assert eval_epochs(10, 0) == [0]


def test_score():
    ev = score("ABCDE", "BCXE")
    assert (ev.prefix, ev.success, longest_substring("ABCDE", "BCXE")) == (2, False, 2)
    assert score("ABCDE", "BCDE").success


def test_longest_substring_is_right_on_long_sequences():
    # difflib's autojunk heuristic would call every frequent letter junk from 200 letters on.
    seq = "ABCD" * 100
    assert longest_substring(seq, seq[1:]) == len(seq) - 1
    assert longest_substring(seq, "D" * (len(seq) - 1)) == 1
