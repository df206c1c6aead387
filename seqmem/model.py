"""The LSTM: nn.LSTM layout (one layer) plus a Linear readout. No training code here.

Weights are built exactly as the notebook builds them: `torch.manual_seed(seed)`,
then `nn.LSTM(A, H)`, then `nn.Linear(H, A)`; the global RNG is restored afterwards
so building a model never disturbs anyone else's randomness.
"""

from __future__ import annotations

import torch
from torch import nn

# Parameter names in nn.LSTM / nn.Linear order; the population engine stacks them on a P axis.
PARAM_NAMES = ("w_ih", "w_hh", "b_ih", "b_hh", "w_out", "b_out")


class LSTMModel(nn.Module):
    """One-hot (or probability) letters in, logits over the alphabet out, one step at a time."""

    def __init__(self, alphabet_size: int, units: int):
        super().__init__()
        self.units = units
        self.lstm = nn.LSTM(alphabet_size, units, batch_first=True)
        self.lin = nn.Linear(units, alphabet_size)

    def zero_state(self, requires_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        # The notebook's reset_prev_state: zeros of shape (layers, batch, H) that require grad.
        h = torch.zeros(1, 1, self.units, requires_grad=requires_grad)
        c = torch.zeros(1, 1, self.units, requires_grad=requires_grad)
        return h, c

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        """x: (1, A) -> logits (1, A), hidden output (1, 1, H), new state (h, c)."""
        hidden, (_, c) = self.lstm(x.unsqueeze(0), state)  # (1, 1, H)
        logits = self.lin(hidden).squeeze(0)  # (1, A)
        # The next state is the LSTM's output sequence (as the notebook's _store_prev) and c_n.
        return logits, (hidden, c)

    def named_weights(self) -> dict[str, torch.Tensor]:
        """The parameters under PARAM_NAMES (views of the module's own tensors)."""
        lstm, lin = self.lstm, self.lin
        tensors = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0,
                   lin.weight, lin.bias)
        return dict(zip(PARAM_NAMES, tensors, strict=True))


def build_model(seed: int, units: int, alphabet_size: int = 26) -> LSTMModel:
    """The model the notebook builds after `torch.manual_seed(seed)`, without touching global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LSTMModel(alphabet_size, units)


def stacked_weights(
    seeds: list[int], units: int, alphabet_size: int = 26, device: torch.device | str = "cpu"
) -> dict[str, torch.Tensor]:
    """Weights of one model per seed stacked on a leading P axis, float32.

    Shapes: w_ih (P, 4H, A), w_hh (P, 4H, H), b_ih (P, 4H), b_hh (P, 4H),
    w_out (P, A, H), b_out (P, A). Gate order i, f, g, o as in nn.LSTM.
    """
    per_seed = [build_model(s, units, alphabet_size).named_weights() for s in seeds]
    return {
        name: torch.stack([w[name].detach() for w in per_seed]).to(device).contiguous()
        for name in PARAM_NAMES
    }
