"""The notebook's own model and train loop, replayed under 2019 autograd semantics.

A test oracle: the exactness tests check the reference trainer against it, and the step
benchmarks (bench/test_steptime.py) time it as the "notebook-style" baseline.

Kept close to the notebook's code (LSTMMod, train, run_forward_pred); the only change
is the optimizer step, which writes new weights through `p.data` as PyTorch 1.x's Adam
did, so the retained graph sees current weights without a version-counter error.
"""

import numpy as np
import torch
from torch import nn

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def letter_to_one_hot_tensor(letter):
    t = torch.zeros(1, len(ALPHABET))
    t[0, ALPHABET.index(letter)] = 1.0
    return t


def one_hot_tensor_to_letter(t):
    return ALPHABET[int(np.argmax(t.detach()[0].numpy()))]


class LSTMMod(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, layer=nn.LSTM):
        super().__init__()
        self.hidden_size = hidden_size
        # layer: the notebook's nn.LSTM, or nn.GRU / nn.RNN in the same loop (the oracle of
        # seqmem's GRU and RNN; the notebook itself has only the LSTM)
        self.lstm = layer(input_size, hidden_size, batch_first=True)
        self.gated = layer is not nn.LSTM
        self.lin = nn.Linear(hidden_size, output_size)
        self.softmax = nn.Softmax(dim=2)
        self.reset_prev_state()

    def reset_prev_state(self):
        self.prev_state = torch.zeros(1, 1, self.hidden_size)
        self.prev_state.requires_grad = True
        self.prev_context = torch.zeros(1, 1, self.hidden_size)
        self.prev_context.requires_grad = True

    def forward(self, inp):
        inp = inp.unsqueeze(0)
        if self.gated:
            hidden, _ = self.lstm(inp, self.prev_state)
            output = self.softmax(self.lin(hidden)).squeeze(dim=0)
            self.prev_state = hidden
            return output
        hidden, state = self.lstm(inp, (self.prev_state, self.prev_context))
        h_n, c_n = state
        output = self.softmax(self.lin(hidden)).squeeze(dim=0)
        self.prev_state, self.prev_context = hidden, c_n
        return output


class DataAdam:
    """torch.optim.Adam whose result is written through p.data (untracked, as in 2019)."""

    def __init__(self, params, lr):
        self.params = list(params)
        self.shadow = [p.detach().clone().requires_grad_(True) for p in self.params]
        self.opt = torch.optim.Adam(self.shadow, lr=lr)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p, q in zip(self.params, self.shadow, strict=True):
            q.grad = p.grad
        self.opt.step()
        for p, q in zip(self.params, self.shadow, strict=True):
            p.data.copy_(q.data)


def evaluate_model(model, sequence, one_step):
    x = letter_to_one_hot_tensor(sequence[0])
    model.reset_prev_state()
    steps_correct, broken = 0, False
    for i in range(len(sequence) - 1):
        if one_step:
            model.reset_prev_state()
        output = model(x)
        if one_hot_tensor_to_letter(output) != sequence[i + 1]:
            broken = True
        if not broken:
            steps_correct += 1
        x = output
    return steps_correct == len(sequence) - 1


def run_notebook(sequence, one_step, units, seed, max_epochs=1000, trace=None, layer=nn.LSTM):
    """Epochs at the notebook's first successful evaluation (None if never), as train() finds it.

    trace: a list to append every step's loss to (the notebook's ff_losses).
    layer: nn.LSTM (the notebook), nn.GRU or nn.RNN.
    """
    torch.manual_seed(seed)
    model = LSTMMod(26, units, 26, layer)
    opt = DataAdam(model.parameters(), lr=0.001)
    loss_module = nn.CrossEntropyLoss()
    X = torch.eye(26)[[ALPHABET.index(c) for c in sequence]].unsqueeze(1)
    for i in range(max_epochs):
        if i % 10 == 0 and evaluate_model(model, sequence, one_step):
            return i
        model.reset_prev_state()
        for j, inp in enumerate(X):
            if one_step:
                model.reset_prev_state()
            label = torch.tensor([ALPHABET.index(sequence[(j + 1) % len(sequence)])])
            output = model(inp)
            loss = loss_module(output, label)
            if trace is not None:
                trace.append(loss.item())
            opt.zero_grad()
            loss.backward(retain_graph=True)
            opt.step()
    # The notebook's "Double check the evaluation" after the loop.
    return max_epochs if evaluate_model(model, sequence, one_step) else None


def notebook_epoch(model, opt, loss_module, X, labels, one_step):
    """One epoch of the notebook's train loop (no evaluation)."""
    model.reset_prev_state()
    for inp, label in zip(X, labels, strict=True):
        if one_step:
            model.reset_prev_state()
        loss = loss_module(model(inp), label)
        opt.zero_grad()
        loss.backward(retain_graph=True)
        opt.step()
