import pytest
import torch

from bench.notebook import run_notebook
from seqmem.config import preset
from seqmem.reference import train_reference

CASES = {  # notebook case -> (sequence, one_step)
    1: ("alphabet", True),
    2: ("alphabet", False),
    4: ("repeatone", False),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", sorted(CASES))
def test_notebook_preset_matches_the_notebook_code(case, seed):
    name, one_step = CASES[case]
    config = preset("notebook", name, reset="char" if one_step else "epoch", seed=seed,
                    max_epochs=400, engine="reference")
    record = train_reference(config)
    expected = run_notebook(config.sequence, one_step, units=32, seed=seed, max_epochs=400)
    assert expected is not None, "these cases converge well within 400 epochs"
    assert record.epochs_to_memorize == expected
    assert record.memorized and record.final_prefix == len(config.sequence) - 1


def test_current_pytorch_rejects_the_notebook_code_without_the_2019_semantics():
    # Why the reference writes through p.data: the plain loop raises on today's PyTorch.
    from bench.notebook import LSTMMod

    torch.manual_seed(0)
    model = LSTMMod(26, 8, 26)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.eye(26)[:2].unsqueeze(1)
    with pytest.raises(RuntimeError, match="inplace operation"):
        for inp in x:
            loss = torch.nn.CrossEntropyLoss()(model(inp), torch.tensor([1]))
            opt.zero_grad()
            loss.backward(retain_graph=True)
            opt.step()


def test_same_config_same_record():
    config = preset("notebook", "repeatone", max_epochs=20, engine="reference", seed=3)
    a, b = train_reference(config), train_reference(config)
    assert a.epoch_loss == b.epoch_loss
    assert (a.epochs_to_memorize, a.final_prefix) == (b.epochs_to_memorize, b.final_prefix)


def test_one_step_training_cannot_memorize_a_depth_two_sequence():
    # Case 3: G->H and P->H, then H->I and H->R; without memory one of them is always wrong.
    config = preset("notebook", "repeatone", reset="char", max_epochs=100, engine="reference")
    record = train_reference(config)
    assert not record.memorized and record.epochs_to_memorize is None
    assert record.epochs_trained == 100 and record.steps == 100 * 26
    assert record.final_prefix < 25
