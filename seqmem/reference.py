"""The reference online trainer: nn.LSTM (or nn.GRU, nn.RNN) + autograd, one Adam step per
character.

It is the oracle the population engine is tested against, and follows the
notebook's train loop op for op. The notebook's stateful cases backpropagate
each step's loss through the whole epoch so far (`backward(retain_graph=True)`),
and its 2019 optimizer wrote the new weights through `p.data`, which autograd
does not track. So that backward used the activations saved at earlier steps
with the weights as they are now ("stale-activation BPTT", DEVELOPERS.md).
Current torch.optim.Adam writes the parameters in place under no_grad, which
bumps their version counters and makes the next backward raise. Here Adam
steps on shadow copies and the result is written back through `p.data`: the
same arithmetic as torch.optim.Adam, the 2019 autograd semantics.

bptt="rtrl" (`rtrl_step`) carries the sensitivities of the state to the recurrent weights
forward with Jacobians from autograd (torch.func.jacrev of the nn layer's own step): the
oracle for the population engine's hand-written ones (seqmem.kernel_rtrl, seqmem.rtrl).
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import torch
from torch import nn
from torch.func import jacrev

from seqmem.bits import bits_from_logits, saved_from_logits
from seqmem.config import RunConfig
from seqmem.difficulty import metrics
from seqmem.evaluate import Evaluation, eval_epochs, longest_substring, score
from seqmem.model import RecurrentModel, build_model, functional_forward, parameter_count
from seqmem.provenance import provenance
from seqmem.records import RunRecord
from seqmem.schedule import lr_at
from seqmem.sequences import encode

KERNEL = "autograd"
# Bump whenever a change here can change a record (seqmem.provenance).
NUMERICS_VERSION = 1


def train_reference(config: RunConfig, *, trace_steps: int = 0) -> RunRecord:
    """Train one model on `config` and return its record.

    trace_steps: keep the first `trace_steps` per-step losses in `record.step_loss`.
    """
    start = time.perf_counter()
    seq, alphabet = config.sequence, config.alphabet
    n, a = len(seq), len(alphabet)
    idx = torch.from_numpy(encode(seq, alphabet))
    inputs = torch.eye(a)[idx].unsqueeze(1)  # (n, 1, A): one one-hot row per position
    targets = idx.roll(-1).unsqueeze(1)  # (n, 1): the next letter, cyclically

    model = build_model(config.seed, config.units, a, config.cell)
    params = list(model.parameters())
    shadow = [p.detach().clone().requires_grad_(True) for p in params]
    opt = torch.optim.Adam(shadow, lr=config.lr)
    ce = nn.CrossEntropyLoss()
    softmax = nn.Softmax(dim=-1)
    checks = set(eval_epochs(config.eval_every, config.max_epochs))

    interval: list[float] = []  # epoch mean losses since the last evaluation
    loss_curve: list[float] = []
    bits_curve: list[float] = []
    saved_curve: list[float] = []
    step_loss: list[float] = []
    memorized_at: int | None = None
    evaluation = None
    trained = 0
    final_loss = None
    for epoch in range(config.max_epochs + 1):
        if epoch in checks:
            if interval:
                loss_curve.append(float(np.mean(interval)))
                interval = []
            evaluation = evaluate_reference(model, config)
            stored, saved = bits_reference(model, config)
            bits_curve.append(stored)
            saved_curve.append(saved)
            if evaluation.success and memorized_at is None:
                memorized_at = epoch
            if evaluation.success and config.stop == "memorized":
                break
        if epoch == config.max_epochs:
            break
        update0 = epoch * config.updates_per_epoch
        if config.bptt == "rtrl":
            losses = _train_epoch_rtrl(model, params, shadow, opt, inputs, targets, config,
                                       update0)
        elif config.update == "chunk":
            losses = _train_pass_offline(model, params, shadow, opt, ce, softmax, inputs, targets,
                                         config, update0)
        else:
            losses = _train_epoch(model, params, shadow, opt, ce, softmax, inputs, targets, config,
                                  update0)
        final_loss = float(np.mean(losses))
        interval.append(final_loss)
        trained += 1
        if len(step_loss) < trace_steps:
            step_loss.extend(losses[: trace_steps - len(step_loss)])

    assert evaluation is not None
    return RunRecord(
        config=config,
        memorized=memorized_at is not None,
        epochs_to_memorize=memorized_at,
        steps_to_memorize=None if memorized_at is None else memorized_at * n,
        epochs_trained=trained,
        steps=trained * n,
        final_prefix=evaluation.prefix,
        longest_substring=longest_substring(seq, evaluation.generated),
        final_loss=final_loss,
        loss_curve=tuple(loss_curve),
        wall_time_s=time.perf_counter() - start,
        metrics=metrics(seq, alphabet),
        provenance=provenance(KERNEL, NUMERICS_VERSION),
        step_loss=tuple(step_loss),
        bits_stored=bits_curve[-1],
        bits_curve=tuple(bits_curve),
        bits_saved=saved_curve[-1],
        saved_curve=tuple(saved_curve),
        exposures=float(trained),
        parameters=parameter_count(config.cell, config.units, a),
    )


def _step(params, shadow, opt, grads, config: RunConfig, update: int) -> None:
    """One Adam step on the shadow copies with `grads`, written back through p.data."""
    for q, g in zip(shadow, grads, strict=True):
        q.grad = g
    if config.clip is not None:
        torch.nn.utils.clip_grad_norm_(shadow, config.clip)
    opt.param_groups[0]["lr"] = lr_at(config, update)
    opt.step()
    with torch.no_grad():
        for p, q in zip(params, shadow, strict=True):
            p.data.copy_(q)  # not tracked by autograd: the 2019 semantics


def _train_pass_offline(model, params, shadow, opt, ce, softmax, inputs, targets, config,
                        update0: int) -> list[float]:
    """One offline pass (update="chunk"): teacher-forced from a fresh state, one Adam step on
    each chunk's mean loss, the state carried into the next chunk and detached."""
    losses: list[float] = []
    size = config.chunk or len(inputs)
    state = model.zero_state()
    for u, lo in enumerate(range(0, len(inputs), size)):
        chunk_losses = []
        for x, y in zip(inputs[lo:lo + size], targets[lo:lo + size], strict=True):
            logits, state = model(x, state)
            chunk_losses.append(ce(softmax(logits) if config.loss == "softmax" else logits, y))
        loss = torch.stack(chunk_losses).mean()
        losses.extend(float(v.detach()) for v in chunk_losses)
        _step(params, shadow, opt, torch.autograd.grad(loss, params), config, update0 + u)
        state = tuple(s.detach() for s in state)
    return losses


def _train_epoch(model, params, shadow, opt, ce, softmax, inputs, targets, config,
                 update0: int) -> list[float]:
    losses = []
    state = model.zero_state(requires_grad=True)
    # For a window k: the last k steps as (state fed in as a leaf, state produced).
    window: deque = deque(maxlen=config.bptt if isinstance(config.bptt, int) else None)
    for x, y in zip(inputs, targets, strict=True):
        if config.reset == "char":
            state = model.zero_state(requires_grad=True)
        elif isinstance(config.bptt, int):
            state = tuple(s.detach().requires_grad_(True) for s in state)
        fed = state
        logits, state = model(x, state)
        out = softmax(logits) if config.loss == "softmax" else logits
        loss = ce(out, y)
        losses.append(loss.item())
        if config.reset == "epoch" and isinstance(config.bptt, int):
            grads = _windowed_grads(loss, params, fed, state, window)
        else:
            # The notebook: the graph links every step since the reset.
            grads = torch.autograd.grad(loss, params, retain_graph=True)
        _step(params, shadow, opt, grads, config, update0 + len(losses) - 1)
    return losses


RECURRENT = ("w_ih", "w_hh", "b_ih", "b_hh")  # the weights RTRL carries sensitivities for


def rtrl_step(model: RecurrentModel, state: torch.Tensor, sens: list[torch.Tensor],
              x: torch.Tensor, y: torch.Tensor, loss: str):
    """One RTRL step with the Jacobians from autograd (torch.func.jacrev).

    state: the flat state fed to the step ((h, c) or (h,), each (H,)); sens: d state /d w
    for the RECURRENT weights (S, *w.shape). Returns the loss, the gradients of every
    parameter (model.parameters() order), the new flat state and the new sensitivities:
    M' = J_state M + J_w, both Jacobians at the weights as they are now.
    """
    cell, units = model.cell, model.units
    weights = {k: v.detach() for k, v in model.named_weights().items()}

    def step(rec, flat):
        st = tuple(part.view(1, 1, units) for part in flat.split(units))
        _, new = functional_forward(cell, {**weights, **dict(zip(RECURRENT, rec, strict=True))},
                                    x.view(1, 1, -1), st)
        return torch.cat([part.reshape(-1) for part in new])

    rec = tuple(weights[k] for k in RECURRENT)
    j_rec, j_state = jacrev(step, argnums=(0, 1))(rec, state)
    size = state.shape[0]
    sens = [(j_state @ m.reshape(size, -1) + j.reshape(size, -1)).reshape(m.shape)
            for m, j in zip(sens, j_rec, strict=True)]
    new = step(rec, state)
    h = new[:units].detach().requires_grad_(True)
    w_out = weights["w_out"].clone().requires_grad_(True)
    b_out = weights["b_out"].clone().requires_grad_(True)
    logits = (h @ w_out.T + b_out).unsqueeze(0)
    value = nn.functional.cross_entropy(
        torch.softmax(logits, dim=-1) if loss == "softmax" else logits, y)
    dh, g_out, g_bout = torch.autograd.grad(value, (h, w_out, b_out))
    dstate = torch.cat([dh, torch.zeros(size - units)])
    grads = [(dstate @ m.reshape(size, -1)).reshape(m.shape[1:]) for m in sens]
    return float(value.detach()), [*grads, g_out, g_bout], new.detach(), sens


def _train_epoch_rtrl(model, params, shadow, opt, inputs, targets, config, update0: int
                      ) -> list[float]:
    """One online epoch with the exact online gradient (bptt="rtrl"), sensitivities reset
    with the state."""
    size = model.units * (2 if model.cell == "lstm" else 1)
    shapes = [w.shape for k, w in model.named_weights().items() if k in RECURRENT]
    losses = []
    for t, (x, y) in enumerate(zip(inputs, targets, strict=True)):
        if t == 0 or config.reset == "char":
            state = torch.zeros(size)
            sens = [torch.zeros(size, *s) for s in shapes]
        value, grads, state, sens = rtrl_step(model, state, sens, x[0], y, config.loss)
        losses.append(value)
        _step(params, shadow, opt, grads, config, update0 + t)
    return losses


def _windowed_grads(loss, params, fed, produced, window: deque):
    """Backpropagate `loss` through the current step and the k-1 before it, step by step.

    Each step's graph starts from a leaf copy of the state it was fed, so the chain can
    stop after k steps; within the window the saved activations and current weights are
    used, exactly as in the untruncated case.
    """
    window.append((fed, produced))
    steps = list(window)[::-1]
    total = None
    grad_out = None
    for i, (fed_t, produced_t) in enumerate(steps):
        roots = [loss] if i == 0 else list(produced_t)
        wrt = list(params) + ([] if i == len(steps) - 1 else list(fed_t))
        got = torch.autograd.grad(roots, wrt, grad_outputs=grad_out, retain_graph=True,
                                  allow_unused=True)
        pgrads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, got, strict=False)]
        total = pgrads if total is None else [a + b for a, b in zip(total, pgrads, strict=True)]
        grad_out = [torch.zeros_like(t) if g is None else g
                    for t, g in zip(fed_t, got[len(params):], strict=False)]
    return total


@torch.no_grad()
def bits_reference(model: RecurrentModel, config: RunConfig) -> tuple[float, float]:
    """(bits stored, bits saved) (seqmem.bits), teacher-forced one letter at a time through
    the nn model."""
    seq, alphabet = config.sequence, config.alphabet
    idx = torch.from_numpy(encode(seq, alphabet))
    onehot = torch.eye(len(alphabet))[idx]
    state = model.zero_state()
    rows = []
    for x in onehot:
        if config.reset == "char":
            state = model.zero_state()
        logits, state = model(x.unsqueeze(0), state)
        rows.append(logits[0])
    logits, targets = torch.stack(rows), idx.roll(-1)
    return float(bits_from_logits(logits, targets)), float(saved_from_logits(logits, targets))


@torch.no_grad()
def evaluate_reference(model: RecurrentModel, config: RunConfig) -> Evaluation:
    """Generate n-1 letters from the first one and a fresh state; score them."""
    seq, alphabet = config.sequence, config.alphabet
    a = len(alphabet)
    x = torch.zeros(1, a)
    x[0, alphabet.index(seq[0])] = 1.0
    state = model.zero_state()
    out = []
    for _ in range(len(seq) - 1):
        if config.reset == "char":
            state = model.zero_state()
        logits, state = model(x, state)
        k = int(torch.argmax(logits[0]))
        out.append(alphabet[k])
        if config.feedback == "probs":
            x = torch.softmax(logits, dim=-1)
        else:
            x = torch.zeros(1, a)
            x[0, k] = 1.0
    return score(seq, "".join(out))
