"""Bits stored: a graded measure of what a network holds about its sequence.

For a sequence over an alphabet of A letters, each position's prediction is worth
max(0, log2 A - cross-entropy in bits): what the model's distribution over the next letter
saves against a uniform guess, and nothing when it is worse than one. Bits stored is the
sum over one period (every letter and its successor, the last one's being the first),
teacher-forced under the state protocol the run trains with: from a fresh state at the
first letter (reset="epoch"), or a fresh state before every letter (reset="char").

The distribution is softmax of the logits for either training loss: it is what generation
takes its argmax from. A uniform random sequence of n letters holds at most n log2 A bits.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from seqmem.model import functional_forward


def bits_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Bits stored from teacher-forced logits (..., n, A) and the next letters (n,): (...).

    >>> round(float(bits_from_logits(torch.tensor([[9.0, 0.0], [0.0, 0.0]]), torch.tensor([0, 1]))), 4)
    0.9998
    """
    a = logits.shape[-1]
    logq = torch.log_softmax(logits.double(), dim=-1)
    ce_bits = -logq.gather(-1, targets.expand(*logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    ce_bits = ce_bits / math.log(2.0)
    return torch.clamp(math.log2(a) - ce_bits, min=0.0).sum(-1)


@torch.no_grad()
def bits_stored(weights: dict[str, torch.Tensor], cell: str, idx: np.ndarray,
                alphabet_size: int, reset: str) -> np.ndarray:
    """Bits stored by each of P models, weights in nn layout with a leading P axis: (P,).

    Each model alone, through the nn layer's kernel (seqmem.model.functional_forward): a
    model's value never depends on the other models of its population.
    """
    p, units = weights["w_hh"].shape[0], weights["w_hh"].shape[-1]
    dev = weights["w_hh"].device
    seq = torch.as_tensor(idx, device=dev)
    onehot = torch.eye(alphabet_size, device=dev)[seq]  # (n, A)
    # reset="epoch": one sequence of n steps; "char": n sequences of one step each.
    x = onehot.unsqueeze(1) if reset == "epoch" else onehot.unsqueeze(0)
    zeros = tuple(torch.zeros(1, x.shape[1], units, device=dev)
                  for _ in range(2 if cell == "lstm" else 1))
    out = np.zeros(p)
    for i in range(p):
        logits, _ = functional_forward(cell, {k: v[i] for k, v in weights.items()}, x, zeros)
        out[i] = float(bits_from_logits(logits.reshape(len(idx), alphabet_size), seq.roll(-1)))
    return out
