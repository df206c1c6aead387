"""The engine for a user's own cell (seqmem.usercell): the seeds of a group trained together.

Each seed's cell and readout are built as the built-in models are, their parameters
stacked on a leading P axis, and one step of all models is torch.func.vmap over
torch.func.functional_call ("vmap"); where vmap cannot run the cell, the models step one
at a time ("loop"). Records say which in their kernel ("user-vmap" / "user-loop"); the
numerics version is the cell's source hash (an edited cell makes its stored rows stale).

Training follows the reference trainer op for op, with autograd doing the backward:
- online (update="step"): one Adam step after every letter; bptt="epoch" backpropagates
  through every step since the reset, a window k through the last k steps, each with the
  activations saved then and the weights as they are now (Adam steps on shadow copies,
  written back through .data: the notebook's 2019 semantics, DEVELOPERS.md);
- offline (update="chunk"): teacher-forced chunks, one Adam step on each chunk's mean loss;
- the losses, feedback, resets, schedules, clipping and stops of RunConfig.
Adam is elementwise, so one torch.optim.Adam over the stacked tensors is P separate ones;
clipping is per model. bptt="rtrl" is refused: it needs the cell's Jacobians.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from seqmem import usercell
from seqmem.bits import bits_from_logits, saved_from_logits
from seqmem.config import RunConfig, check_group
from seqmem.difficulty import metrics
from seqmem.evaluate import Evaluation, eval_epochs, longest_substring, score
from seqmem.provenance import provenance
from seqmem.records import RunRecord
from seqmem.schedule import lr_at
from seqmem.sequences import encode


def check_config(cfg: RunConfig) -> str:
    """Refuse what a user cell cannot train, check the cell (one dry step) and its source
    hash; returns the batching ("vmap" or "loop")."""
    if cfg.bptt == "rtrl":
        raise ValueError(f"cell {cfg.cell!r}: bptt='rtrl' needs the cell's Jacobians, which "
                         "only the built-in cells have; use bptt='epoch' or a window k")
    batching = usercell.check(cfg.cell, len(cfg.alphabet), cfg.units)
    src = usercell.source_hash(cfg.cell)
    if cfg.cell_source is not None and cfg.cell_source != src:
        raise ValueError(f"cell {cfg.cell!r}: its source changed since this config was made "
                         f"(hash {cfg.cell_source} -> {src}); rows made before are stale")
    return batching


class _Models:
    """P cells and readouts as stacked leaf tensors, and one step of all of them."""

    def __init__(self, configs: Sequence[RunConfig], batching: str, device: torch.device):
        cfg = configs[0]
        a = len(cfg.alphabet)
        built = [usercell.build(cfg.cell, c.seed, cfg.units, a) for c in configs]
        self.proto = built[0][0].to(device)
        self.names = [n for n, _ in self.proto.named_parameters()]
        self.cell = {n: torch.stack([dict(c.named_parameters())[n].detach() for c, _ in built])
                     .to(device).requires_grad_(True) for n in self.names}
        self.w_out = torch.stack([lin.weight.detach() for _, lin in built]).to(device) \
            .requires_grad_(True)
        self.b_out = torch.stack([lin.bias.detach() for _, lin in built]).to(device) \
            .requires_grad_(True)
        self.batching, self.P, self.device = batching, len(configs), device
        self.params = [*self.cell.values(), self.w_out, self.b_out]
        if batching == "vmap":
            from torch.func import functional_call, vmap

            self._vstep = vmap(lambda p, x, st: functional_call(self.proto, p, (x, st)))

    def initial_state(self) -> tuple[torch.Tensor, ...]:
        """(P, 1, ...) per state tensor: each model's initial_state(1)."""
        return tuple(s.unsqueeze(0).expand(self.P, *s.shape).clone().to(self.device)
                     for s in self.proto.initial_state(1))

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]):
        """x (P, A) -> logits (P, A) and the new state, every model with its own weights."""
        xs = x.unsqueeze(1)  # (P, 1, A): a batch of one per model
        if self.batching == "vmap":
            h, new = self._vstep(self.cell, xs, state)
        else:
            from torch.func import functional_call

            outs = [functional_call(self.proto, {n: v[i] for n, v in self.cell.items()},
                                    (xs[i], tuple(s[i] for s in state))) for i in range(self.P)]
            h = torch.stack([o[0] for o in outs])
            new = tuple(torch.stack([o[1][j] for o in outs]) for j in range(len(state)))
        logits = torch.einsum("pah,ph->pa", self.w_out, h.reshape(self.P, -1)) + self.b_out
        return logits, tuple(new)


class _Optimizer:
    """torch.optim.Adam on shadow copies, clipped per model, written back through .data."""

    def __init__(self, models: _Models, cfg: RunConfig):
        self.models, self.cfg = models, cfg
        self.shadow = [p.detach().clone().requires_grad_(True) for p in models.params]
        self.opt = torch.optim.Adam(self.shadow, lr=cfg.lr, foreach=True)

    def step(self, grads: Sequence[torch.Tensor], update: int) -> None:
        if self.cfg.clip is not None:
            p_ = self.models.P
            norms = torch.stack([g.reshape(p_, -1).norm(dim=1) for g in grads], dim=1).norm(dim=1)
            coef = torch.clamp(self.cfg.clip / (norms + 1e-6), max=1.0)
            grads = [g * coef.view(-1, *[1] * (g.dim() - 1)) for g in grads]
        for q, g in zip(self.shadow, grads, strict=True):
            q.grad = g
        self.opt.param_groups[0]["lr"] = lr_at(self.cfg, update)
        self.opt.step()
        with torch.no_grad():
            for p, q in zip(self.models.params, self.shadow, strict=True):
                p.data.copy_(q)  # not tracked by autograd: the 2019 semantics


def _loss(logits: torch.Tensor, target: int, softmax: bool) -> torch.Tensor:
    """Per-model loss (P,): CrossEntropyLoss on the softmax (the notebook's) or the logits."""
    out = torch.softmax(logits, dim=1) if softmax else logits
    return F.cross_entropy(out, torch.full((logits.shape[0],), target, device=logits.device),
                           reduction="none")


def _online_epoch(models: _Models, opt: _Optimizer, cfg: RunConfig, onehot, targets,
                  update0: int) -> np.ndarray:
    p_, n = models.P, len(targets)
    losses = np.zeros((p_, n))
    softmax = cfg.loss == "softmax"
    window: deque = deque(maxlen=cfg.bptt if isinstance(cfg.bptt, int) else None)
    state = tuple(s.requires_grad_(True) for s in models.initial_state())
    for t in range(n):
        if cfg.reset == "char":
            state = tuple(s.requires_grad_(True) for s in models.initial_state())
        elif isinstance(cfg.bptt, int):
            state = tuple(s.detach().requires_grad_(True) for s in state)
        fed = state
        logits, state = models.step(onehot[t].expand(p_, -1), state)
        loss = _loss(logits, int(targets[t]), softmax)
        losses[:, t] = loss.detach().cpu().numpy()
        total = loss.sum()  # the models are independent: each one's gradient is its own
        if cfg.reset == "epoch" and isinstance(cfg.bptt, int):
            grads = _windowed(total, models.params, fed, state, window)
        else:
            grads = torch.autograd.grad(total, models.params, retain_graph=True,
                                        allow_unused=True)
            grads = [torch.zeros_like(p) if g is None else g
                     for p, g in zip(models.params, grads, strict=True)]
        opt.step(grads, update0 + t)
    return losses


def _windowed(loss, params, fed, produced, window: deque):
    """The reference trainer's windowed backward (seqmem.reference._windowed_grads)."""
    window.append((fed, produced))
    steps = list(window)[::-1]
    total, grad_out = None, None
    for i, (fed_t, produced_t) in enumerate(steps):
        roots = [loss] if i == 0 else list(produced_t)
        wrt = list(params) + ([] if i == len(steps) - 1 else list(fed_t))
        got = torch.autograd.grad(roots, wrt, grad_outputs=grad_out, retain_graph=True,
                                  allow_unused=True)
        pgrads = [torch.zeros_like(p) if g is None else g
                  for p, g in zip(params, got, strict=False)]
        total = pgrads if total is None else [a + b for a, b in zip(total, pgrads, strict=True)]
        grad_out = [torch.zeros_like(s) if g is None else g
                    for s, g in zip(fed_t, got[len(params):], strict=False)]
    return total


def _offline_pass(models: _Models, opt: _Optimizer, cfg: RunConfig, onehot, targets,
                  update0: int) -> np.ndarray:
    p_, n = models.P, len(targets)
    losses = np.zeros((p_, n))
    size = cfg.chunk or n
    softmax = cfg.loss == "softmax"
    state = models.initial_state()
    for u, lo in enumerate(range(0, n, size)):
        chunk = []
        for t in range(lo, min(lo + size, n)):
            logits, state = models.step(onehot[t].expand(p_, -1), state)
            chunk.append(_loss(logits, int(targets[t]), softmax))
        per_step = torch.stack(chunk, dim=1)  # (P, chunk)
        losses[:, lo:lo + per_step.shape[1]] = per_step.detach().cpu().numpy()
        grads = torch.autograd.grad(per_step.mean(dim=1).sum(), models.params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g
                 for p, g in zip(models.params, grads, strict=True)]
        opt.step(grads, update0 + u)
        state = tuple(s.detach() for s in state)
    return losses


@torch.no_grad()
def _evaluate(models: _Models, cfg: RunConfig, onehot, idx
              ) -> tuple[list[Evaluation], np.ndarray, np.ndarray]:
    """Every model generates n-1 letters from the first and a fresh state (scored), and its
    bits stored, teacher-forced under the run's state protocol."""
    seq, alphabet = cfg.sequence, cfg.alphabet
    p_, n = models.P, len(seq)
    x = onehot[idx[0]].expand(p_, -1)
    state = models.initial_state()
    letters = []
    for _ in range(n - 1):
        if cfg.reset == "char":
            state = models.initial_state()
        logits, state = models.step(x, state)
        k = torch.argmax(logits, dim=1)
        letters.append(k)
        x = torch.softmax(logits, dim=1) if cfg.feedback == "probs" else onehot[k]
    generated = torch.stack(letters, dim=1).cpu().numpy()
    evals = [score(seq, "".join(alphabet[i] for i in row)) for row in generated]
    state = models.initial_state()
    rows = []
    for t in range(n):
        if cfg.reset == "char":
            state = models.initial_state()
        logits, state = models.step(onehot[idx[t]].expand(p_, -1), state)
        rows.append(logits)
    teacher = torch.stack(rows, dim=1)  # (P, n, A)
    target = torch.as_tensor(np.roll(idx, -1), device=teacher.device)
    return (evals, bits_from_logits(teacher, target).cpu().numpy(),
            saved_from_logits(teacher, target).cpu().numpy())


def train_user_cell(configs: Sequence[RunConfig], *, device: str | torch.device = "cpu",
                    trace_steps: int = 0) -> list[RunRecord]:
    """Train the seeds of one group of a user cell together; one record per config."""
    configs = list(configs)
    if not configs:
        raise ValueError("train_user_cell needs at least one config")
    check_group(configs)
    cfg = configs[0]
    batching = check_config(cfg)
    if cfg.engine == "reference":
        batching = "loop"
    device = torch.device(device)
    start = time.perf_counter()
    seq, alphabet = cfg.sequence, cfg.alphabet
    n, a = len(seq), len(alphabet)
    idx = encode(seq, alphabet)
    onehot = torch.eye(a, device=device)
    targets = np.roll(idx, -1)
    made_by = provenance(f"user-{batching}", usercell.numerics_version(cfg.cell), device)
    params = usercell.parameter_count(cfg.cell, cfg.units, a)

    models = _Models(configs, batching, device)
    opt = _Optimizer(models, cfg)
    p_ = len(configs)
    checks = set(eval_epochs(cfg.eval_every, cfg.max_epochs))
    interval: list[list[float]] = [[] for _ in range(p_)]
    loss_curve: list[list[float]] = [[] for _ in range(p_)]
    bits_curve: list[list[float]] = [[] for _ in range(p_)]
    saved_curve: list[list[float]] = [[] for _ in range(p_)]
    step_loss = np.zeros((p_, trace_steps))
    first_success: dict[int, int] = {}
    final_loss = np.full(p_, np.nan)
    outcome: dict[int, tuple] = {}
    active = list(range(p_))  # all models train until every one is done (their steps are
    # batched); a finished model's later epochs are not part of its record
    trained = 0
    for epoch in range(cfg.max_epochs + 1):
        if epoch in checks:
            evals, bits, saved = _evaluate(models, cfg, onehot, idx)
            for i in active:
                if interval[i]:
                    loss_curve[i].append(float(np.mean(interval[i])))
                    interval[i] = []
                bits_curve[i].append(float(bits[i]))
                saved_curve[i].append(float(saved[i]))
                if evals[i].success:
                    first_success.setdefault(i, epoch)
            for i in list(active):
                if (evals[i].success and cfg.stop == "memorized") or epoch == cfg.max_epochs:
                    outcome[i] = (epoch, evals[i], time.perf_counter() - start)
                    active.remove(i)
            if not active:
                break
        if epoch == cfg.max_epochs:
            break
        update0 = epoch * cfg.updates_per_epoch
        if cfg.update == "chunk":
            losses = _offline_pass(models, opt, cfg, onehot[idx], targets, update0)
        else:
            losses = _online_epoch(models, opt, cfg, onehot[idx], targets, update0)
        trained += 1
        for i in active:
            final_loss[i] = losses[i].mean()
            interval[i].append(final_loss[i])
        first = epoch * n
        if first < trace_steps:
            take = min(n, trace_steps - first)
            step_loss[:, first:first + take] = losses[:, :take]

    records = []
    for i, c in enumerate(configs):
        ended, ev, wall = outcome[i]
        hit = first_success.get(i)
        records.append(RunRecord(
            config=c, memorized=hit is not None, epochs_to_memorize=hit,
            steps_to_memorize=None if hit is None else hit * n, epochs_trained=ended,
            steps=ended * n, final_prefix=ev.prefix,
            longest_substring=longest_substring(seq, ev.generated),
            final_loss=None if ended == 0 else float(final_loss[i]),
            loss_curve=tuple(loss_curve[i]), wall_time_s=wall, metrics=metrics(seq, alphabet),
            provenance=made_by, population=p_,
            step_loss=tuple(float(x) for x in step_loss[i, :min(trace_steps, ended * n)]),
            bits_stored=bits_curve[i][-1], bits_curve=tuple(bits_curve[i]),
            bits_saved=saved_curve[i][-1], saved_curve=tuple(saved_curve[i]),
            exposures=float(ended), parameters=params))
    return records
