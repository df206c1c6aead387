import math

import numpy as np
import pytest
import torch

from seqmem.cases import NOTEBOOK_CASES
from seqmem.config import preset
from seqmem.reference import train_reference
from tests.notebook import run_notebook

pytestmark = pytest.mark.slow  # the fast subset is pytest -m "not slow"


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", [1, 2, 4])
def test_notebook_preset_takes_the_notebook_codes_steps(case, seed):
    """Step for step (300 online steps), the reference trainer is the notebook's own loop."""
    config = NOTEBOOK_CASES[case].config(seed, "reference")
    one_step = config.reset == "char"
    steps = 300
    epochs = math.ceil(steps / len(config.sequence))
    record = train_reference(config.replace(max_epochs=epochs, eval_every=1000),
                             trace_steps=steps)
    trace: list[float] = []
    assert run_notebook(config.sequence, one_step, config.units, seed, max_epochs=epochs,
                        trace=trace) is None  # no evaluation ends it early
    np.testing.assert_allclose(record.step_loss, trace[:steps], rtol=1e-6)


@pytest.mark.parametrize("cell, layer", [("gru", torch.nn.GRU), ("rnn", torch.nn.RNN)])
@pytest.mark.parametrize("one_step", [True, False])
def test_the_gru_and_rnn_take_the_notebook_loops_steps_with_that_layer(cell, layer, one_step):
    """The notebook's loop with nn.GRU or nn.RNN in place of nn.LSTM, under 2019 semantics
    (stale activations, current weights): the reference trainer takes its 300 steps."""
    config = preset("notebook", "repeatone", reset="char" if one_step else "epoch", seed=1,
                    engine="reference", cell=cell)
    steps = 300
    epochs = math.ceil(steps / len(config.sequence))
    record = train_reference(config.replace(max_epochs=epochs, eval_every=1000),
                             trace_steps=steps)
    trace: list[float] = []
    run_notebook(config.sequence, one_step, 32, 1, max_epochs=epochs, trace=trace, layer=layer)
    np.testing.assert_allclose(record.step_loss, trace[:steps], rtol=1e-6)


@pytest.mark.parametrize("sequence, one_step", [("alphabet", True), ("ABCABD", False)])
@pytest.mark.parametrize("seed", [0, 1])
def test_notebook_preset_memorizes_when_the_notebook_code_does(sequence, one_step, seed):
    """Whole runs to memorization, on a case that is quick in both (case 1, and a short
    stateful depth-2 sequence): the same evaluation epoch."""
    config = preset("notebook", sequence, reset="char" if one_step else "epoch", seed=seed,
                    max_epochs=400, engine="reference")
    record = train_reference(config)
    expected = run_notebook(config.sequence, one_step, units=32, seed=seed, max_epochs=400)
    assert expected is not None, "these converge well within 400 epochs"
    assert record.epochs_to_memorize == expected
    assert record.memorized and record.final_prefix == len(config.sequence) - 1


@pytest.mark.parametrize("layer", [torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN])
def test_current_pytorch_rejects_the_notebook_code_without_the_2019_semantics(layer):
    # Why the reference writes through p.data: the plain loop raises on today's PyTorch.
    from tests.notebook import LSTMMod

    torch.manual_seed(0)
    model = LSTMMod(26, 8, 26, layer)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.eye(26)[:2].unsqueeze(1)
    with pytest.raises(RuntimeError, match="inplace operation"):
        for inp in x:
            loss = torch.nn.CrossEntropyLoss()(model(inp), torch.tensor([1]))
            opt.zero_grad()
            loss.backward(retain_graph=True)
            opt.step()


def test_same_config_same_record():
    config = preset("notebook", "repeatone", max_epochs=6, eval_every=2, engine="reference",
                    seed=3)
    a, b = (train_reference(config).to_row() for _ in range(2))
    a.pop("wall_time_s"), b.pop("wall_time_s")
    assert a == b and len(a["loss_curve"]) == 3


def test_one_step_training_cannot_memorize_a_depth_two_sequence():
    # Case 3: G->H and P->H, then H->I and H->R; without memory one of them is always wrong.
    config = preset("notebook", "repeatone", reset="char", max_epochs=40, lr=0.01,
                    engine="reference")
    record = train_reference(config)
    assert not record.memorized and record.epochs_to_memorize is None
    assert record.epochs_trained == 40 and record.steps == 40 * 26
    assert record.final_prefix < 25
