"""The model: each cell's layout, and its parameter count against the nn modules."""

import pytest
import torch
from torch import nn

from seqmem.config import GATES, preset
from seqmem.model import build_model, parameter_count, stacked_weights


@pytest.mark.parametrize("cell, layer", [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)])
@pytest.mark.parametrize("units, alphabet", [(2, 4), (5, 26), (64, 26)])
def test_parameter_counts_are_the_nn_modules(cell, layer, units, alphabet):
    counted = sum(p.numel() for p in layer(alphabet, units).parameters()) \
        + sum(p.numel() for p in nn.Linear(units, alphabet).parameters())
    assert parameter_count(cell, units, alphabet) == counted
    model = build_model(0, units, alphabet, cell)
    assert sum(p.numel() for p in model.parameters()) == counted
    w = stacked_weights([0, 1], units, alphabet, cell=cell)
    assert w["w_ih"].shape == (2, GATES[cell] * units, alphabet)
    assert w["w_hh"].shape == (2, GATES[cell] * units, units)


@pytest.mark.parametrize("cell, layer", [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)])
def test_a_seed_builds_the_notebooks_weights_in_its_order(cell, layer):
    """torch.manual_seed(seed), then the recurrent layer, then the Linear: as the notebook."""
    torch.manual_seed(7)
    first, lin = layer(26, 8, batch_first=True), nn.Linear(8, 26)
    model = build_model(7, 8, cell=cell)
    assert torch.equal(model.named_weights()["w_hh"], first.weight_hh_l0)
    assert torch.equal(model.named_weights()["w_out"], lin.weight)


def test_an_unknown_cell_is_one_line():
    with pytest.raises(ValueError, match="cell must be one of lstm, gru, rnn, or your own as "
                                         "'file.py:Class' or 'module:Class'; got 'lstmx'"):
        preset("notebook", "ABCA", cell="lstmx")
