"""minLSTM (Feng et al. 2024): forget and input gates from the input alone, normalised to sum
to one: h' = f' h + i' h~, f' = f / (f + i), i' = i / (f + i), h~ = W_h x."""

import torch
from torch import nn


class MinLSTM(nn.Module):
    def __init__(self, input_size: int, units: int):
        super().__init__()
        self.units = units
        self.forget = nn.Linear(input_size, units)
        self.input = nn.Linear(input_size, units)
        self.candidate = nn.Linear(input_size, units)

    def initial_state(self, batch: int):
        return (torch.zeros(batch, self.units),)

    def forward(self, x, state):
        f, i = torch.sigmoid(self.forget(x)), torch.sigmoid(self.input(x))
        h = (f * state[0] + i * self.candidate(x)) / (f + i)
        return h, (h,)
