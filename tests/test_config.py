import pytest

from seqmem.config import NOTEBOOK, RunConfig, preset
from seqmem.evaluate import eval_epochs, score


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


def test_cell_groups_seeds():
    a, b = preset("notebook", "ABCD", seed=1), preset("notebook", "ABCD", seed=2)
    assert a.cell == b.cell and a.run_id != b.run_id


@pytest.mark.parametrize("changes, fragment", [
    ({"units": 0}, "units must be an integer >= 1, got 0"),
    ({"units": 2.5}, "got 2.5"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"lr": 0}, "lr must be a positive number, got 0"),
    ({"reset": "step"}, "reset must be one of epoch, char; got 'step'"),
    ({"bptt": 0}, 'bptt must be an integer >= 1 or "epoch", got 0'),
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
    assert (ev.prefix, ev.longest, ev.success) == (2, 2, False)
    assert score("ABCDE", "BCDE").success
