"""The recurrent model: one nn.LSTM, nn.GRU or nn.RNN (tanh) layer plus a Linear readout.
No training code here.

Weights are built exactly as the notebook builds them: `torch.manual_seed(seed)`, then
the recurrent layer, then `nn.Linear(H, A)`; the global RNG is restored afterwards so
building a model never disturbs anyone else's randomness. The recurrent layer keeps
PyTorch's own layout and gate order: LSTM [i, f, g, o], GRU [r, z, n], RNN one block.
"""

from __future__ import annotations

import torch
from torch import nn

from seqmem.config import GATES

# Parameter names in nn.LSTM / nn.Linear order; the population engine stacks them on a P axis.
PARAM_NAMES = ("w_ih", "w_hh", "b_ih", "b_hh", "w_out", "b_out")
_LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def parameter_count(cell: str, units: int, alphabet_size: int) -> int:
    """Weights of the model: the recurrent layer (two bias vectors, as PyTorch's) and the
    readout. G = GATES[cell]: G H (A + H) + 2 G H + H A + A.

    >>> parameter_count("lstm", 32, 26), parameter_count("gru", 32, 26), parameter_count("rnn", 32, 26)
    (8538, 6618, 2778)
    """
    g, h, a = GATES[cell], units, alphabet_size
    return g * h * (a + h) + 2 * g * h + h * a + a


class RecurrentModel(nn.Module):
    """One-hot (or probability) letters in, logits over the alphabet out, one step at a time."""

    def __init__(self, alphabet_size: int, units: int, cell: str = "lstm"):
        super().__init__()
        self.units, self.cell = units, cell
        # Attribute `lstm` for the LSTM, as in the notebook's LSTMMod.
        setattr(self, "lstm" if cell == "lstm" else "rnn",
                _LAYERS[cell](alphabet_size, units, batch_first=True))
        self.lin = nn.Linear(units, alphabet_size)

    @property
    def layer(self) -> nn.Module:
        return self.lstm if self.cell == "lstm" else self.rnn

    def zero_state(self, requires_grad: bool = False) -> tuple[torch.Tensor, ...]:
        """The notebook's reset_prev_state: zeros of shape (layers, batch, H) that require
        grad; (h, c) for the LSTM, (h,) for the GRU and the RNN."""
        n = 2 if self.cell == "lstm" else 1
        return tuple(torch.zeros(1, 1, self.units, requires_grad=requires_grad)
                     for _ in range(n))

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]):
        """x: (1, A) -> logits (1, A), new state."""
        if self.cell == "lstm":
            hidden, (_, c) = self.lstm(x.unsqueeze(0), state)  # (1, 1, H)
            new = (hidden, c)
        else:
            hidden, _ = self.rnn(x.unsqueeze(0), state[0])
            new = (hidden,)
        logits = self.lin(hidden).squeeze(0)  # (1, A)
        # The next state is the layer's output sequence (as the notebook's _store_prev).
        return logits, new

    def named_weights(self) -> dict[str, torch.Tensor]:
        """The parameters under PARAM_NAMES (views of the module's own tensors)."""
        layer, lin = self.layer, self.lin
        tensors = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0,
                   lin.weight, lin.bias)
        return dict(zip(PARAM_NAMES, tensors, strict=True))


def build_model(seed: int, units: int, alphabet_size: int = 26, cell: str = "lstm"
                ) -> RecurrentModel:
    """The model the notebook builds after `torch.manual_seed(seed)`, without touching global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return RecurrentModel(alphabet_size, units, cell)


def stacked_weights(
    seeds: list[int], units: int, alphabet_size: int = 26, device: torch.device | str = "cpu",
    cell: str = "lstm",
) -> dict[str, torch.Tensor]:
    """Weights of one model per seed stacked on a leading P axis, float32.

    Shapes, G = GATES[cell]: w_ih (P, G H, A), w_hh (P, G H, H), b_ih (P, G H),
    b_hh (P, G H), w_out (P, A, H), b_out (P, A).
    """
    per_seed = [build_model(s, units, alphabet_size, cell).named_weights() for s in seeds]
    return {
        name: torch.stack([w[name].detach() for w in per_seed]).to(device).contiguous()
        for name in PARAM_NAMES
    }


# The nn layers' own ATen kernels, called with weights given per call (no module, so no
# reference cycles per call): what nn.LSTM / nn.GRU / nn.RNN(tanh).forward run.
_VF_LAYERS = {"lstm": torch._VF.lstm, "gru": torch._VF.gru, "rnn": torch._VF.rnn_tanh}


def functional_forward(cell: str, weights: dict[str, torch.Tensor], x: torch.Tensor,
                       state: tuple[torch.Tensor, ...]):
    """One model's forward over a whole input with the given weights (nn layout, no P axis),
    differentiable in them: x (T, B, A) -> logits (T, B, A), the final state, each (1, B, H).

    The nn layer's own kernel (as nn.LSTM.forward calls it, bit for bit), one call per
    sequence instead of one per letter.
    """
    params = [weights["w_ih"], weights["w_hh"], weights["b_ih"], weights["b_hh"]]
    hx = state if cell == "lstm" else state[0]
    out = _VF_LAYERS[cell](x, hx, params, True, 1, 0.0, True, False, False)
    logits = out[0] @ weights["w_out"].T + weights["b_out"]
    return logits, tuple(out[1:])


def cell_step(cell: str, w: dict, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """One step of P models from input x (P, A) and state h, c (P, H): the new h, c.

    Weights in the population engine's layout: w_ih (P, A, G H), w_hh (P, H, G H), the
    biases (P, G H); the LSTM's c is passed through unchanged by the GRU and the RNN.
    """
    ig = torch.bmm(x.unsqueeze(1), w["w_ih"]).squeeze(1) + w["b_ih"]
    hg = torch.bmm(h.unsqueeze(1), w["w_hh"]).squeeze(1) + w["b_hh"]
    if cell == "lstm":
        i_g, f_g, g_g, o_g = (ig + hg).chunk(4, dim=1)
        c = torch.sigmoid(f_g) * c + torch.sigmoid(i_g) * torch.tanh(g_g)
        return torch.sigmoid(o_g) * torch.tanh(c), c
    if cell == "gru":
        ir, iz, in_ = ig.chunk(3, dim=1)
        hr, hz, hn = hg.chunk(3, dim=1)
        r, z = torch.sigmoid(hr + ir), torch.sigmoid(hz + iz)
        n = torch.tanh(in_ + hn * r)
        return (h - n) * z + n, c
    return torch.tanh(hg + ig), c
