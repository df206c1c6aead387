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

from seqmem.model import cell_step


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

    All P models step together, one letter at a time (seqmem.model.cell_step).
    """
    w = dict(weights, w_ih=weights["w_ih"].transpose(1, 2), w_hh=weights["w_hh"].transpose(1, 2))
    p, units = w["w_hh"].shape[0], w["w_hh"].shape[1]
    dev = w["w_hh"].device
    seq = torch.as_tensor(idx, device=dev)
    onehot = torch.eye(alphabet_size, device=dev)[seq]  # (n, A)
    h = torch.zeros(p, units, device=dev)
    c = torch.zeros(p, units, device=dev)
    rows = []
    for x in onehot:
        if reset == "char":
            h, c = torch.zeros_like(h), torch.zeros_like(c)
        h, c = cell_step(cell, w, x.expand(p, -1), h, c)
        rows.append(torch.baddbmm(w["b_out"].unsqueeze(1), h.unsqueeze(1),
                                  w["w_out"].transpose(1, 2)).squeeze(1))
    return bits_from_logits(torch.stack(rows, dim=1), seq.roll(-1)).cpu().numpy()
