"""The population engine's offline epoch (update="chunk") through torch: char-RNN training
of P models. The default off a CPU, and the oracle of the compiled pass on one
(seqmem.kernel_offline), which computes the same and is 2-100x faster there.

One pass is teacher-forced from a fresh state. Each chunk of `chunk` letters is one
forward through the nn layer's own kernel per model (seqmem.model.functional_forward),
one backward of the models' summed chunk-mean losses (so each model gets the gradient of
its own loss), then each model's gradient norm is clipped and one fused Adam step updates
every model. The state is carried into the next chunk and detached there: true BPTT
within a chunk, none across chunks.

One call per model and chunk rather than one batched op per letter: on a CPU, ATen's
fused recurrent kernel is several times faster per letter than batched per-letter torch
ops, and the models of a population are few.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from seqmem.config import RunConfig
from seqmem.model import functional_forward
from seqmem.schedule import lr_at


def train_epoch_offline(pop, cfg: RunConfig, idx: torch.Tensor, update0: int) -> np.ndarray:
    """One offline pass for every active model of `pop` (seqmem.population.Population);
    the per-letter training losses (P, n). update0: updates taken before this pass."""
    n, a, units = len(idx), len(cfg.alphabet), cfg.units
    dev = pop.flat.device
    onehot = torch.eye(a, device=dev)[idx].unsqueeze(1)  # (n, 1, A)
    targets = idx.roll(-1)
    size = cfg.chunk or n
    states = [tuple(torch.zeros(1, 1, units, device=dev)
                    for _ in range(2 if cfg.cell == "lstm" else 1)) for _ in range(pop.P)]
    losses = torch.zeros(pop.P, n, device=dev)
    for u, lo in enumerate(range(0, n, size)):
        hi = min(n, lo + size)
        with torch.enable_grad():
            flat = pop.flat.detach().requires_grad_(True)  # shares pop.flat's storage
            weights = pop.nn_weights(pop._views(flat))
            total = 0.0
            for i in range(pop.P):
                logits, state = functional_forward(cfg.cell, {k: v[i] for k, v in weights.items()},
                                                   onehot[lo:hi], states[i])
                logits = logits[:, 0]
                ce_in = torch.softmax(logits, dim=1) if cfg.loss == "softmax" else logits
                per_letter = F.cross_entropy(ce_in, targets[lo:hi], reduction="none")
                total = total + per_letter.mean()
                losses[i, lo:hi] = per_letter.detach()
                states[i] = tuple(s.detach() for s in state)
            (grad,) = torch.autograd.grad(total, flat)
        pop.grad.copy_(grad)
        pop.adam_step(update0 + u + 1, lr_at(cfg, update0 + u), skip_hh=False, clip=cfg.clip)
    return losses.cpu().numpy()
