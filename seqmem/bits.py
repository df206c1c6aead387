"""Bits stored and bits saved: graded measures of what a network holds about its sequence.

For a sequence over an alphabet of A letters, each position's prediction saves
log2 A - cross-entropy in bits against a uniform guess. Both measures sum that over one
period (every letter and its successor, the last one's being the first), teacher-forced
under the state protocol the run trains with: from a fresh state at the first letter
(reset="epoch"), or a fresh state before every letter (reset="char"), with the weights
frozen at the evaluation.

- bits stored clips each position at zero: nothing for a prediction worse than uniform.
  It credits an untrained network with its lucky positions, in proportion to the length.
- bits saved does not clip: the code-length saving of the model's predictions against a
  uniform code (Morris et al.'s measure on a uniform random sequence). It can be negative.

The distribution is softmax of the logits for either training loss: it is what generation
takes its argmax from. A uniform random sequence of n letters holds at most n log2 A bits.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from seqmem.model import functional_forward


def savings_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-position saving log2 A - CE in bits, from logits (..., n, A) and the next
    letters (n,): (..., n), float64."""
    a = logits.shape[-1]
    logq = torch.log_softmax(logits.double(), dim=-1)
    ce_bits = -logq.gather(-1, targets.expand(*logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    return math.log2(a) - ce_bits / math.log(2.0)


def bits_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Bits stored (clipped at zero per position) from teacher-forced logits: (...).

    >>> round(float(bits_from_logits(torch.tensor([[9.0, 0.0], [0.0, 0.0]]), torch.tensor([0, 1]))), 4)
    0.9998
    """
    return torch.clamp(savings_from_logits(logits, targets), min=0.0).sum(-1)


def saved_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Bits saved (not clipped) from teacher-forced logits: (...).

    >>> sure = torch.tensor([[9.0, 0.0], [0.0, 9.0]])
    >>> round(float(saved_from_logits(sure, torch.tensor([0, 1]))), 4)  # both right
    1.9996
    >>> round(float(saved_from_logits(sure, torch.tensor([0, 0]))), 3)  # one confidently wrong
    -10.985
    """
    return savings_from_logits(logits, targets).sum(-1)


@torch.no_grad()
def bits_stored(weights: dict[str, torch.Tensor], cell: str, idx: np.ndarray,
                alphabet_size: int, reset: str) -> tuple[np.ndarray, np.ndarray]:
    """(bits stored, bits saved) of each of P models, weights in nn layout with a leading
    P axis: two (P,) arrays from one teacher-forced pass per model.

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
    stored, saved = np.zeros(p), np.zeros(p)
    for i in range(p):
        logits, _ = functional_forward(cell, {k: v[i] for k, v in weights.items()}, x, zeros)
        per = savings_from_logits(logits.reshape(len(idx), alphabet_size), seq.roll(-1))
        stored[i], saved[i] = float(per.clamp(min=0.0).sum()), float(per.sum())
    return stored, saved
