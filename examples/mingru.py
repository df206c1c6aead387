"""minGRU (Feng et al. 2024, "Were RNNs all we needed?"): gates from the input alone, so
the recurrence is linear in h: h' = (1 - z) h + z h~, z = sigmoid(W_z x), h~ = W_h x."""

import torch
from torch import nn


class MinGRU(nn.Module):
    def __init__(self, input_size: int, units: int):
        super().__init__()
        self.units = units
        self.gate = nn.Linear(input_size, units)
        self.candidate = nn.Linear(input_size, units)

    def initial_state(self, batch: int):
        return (torch.zeros(batch, self.units),)

    def forward(self, x, state):
        z = torch.sigmoid(self.gate(x))
        h = (1 - z) * state[0] + z * self.candidate(x)
        return h, (h,)
