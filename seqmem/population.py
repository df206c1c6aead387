"""The population engine: the seeds of one cell trained as one batched computation.

P models share the sequence and every option, so their online steps can be taken
in lock-step: weights stacked on a leading P axis, one batched forward, a
hand-written batched backward, and one fused Adam update over all parameters of
all models (Adam is elementwise, so this equals P separate updates).

Two kernels compute an epoch. On a CPU the default is `seqmem.kernel_numba` (numba): one
call per epoch runs every model's steps in compiled code, model after model, so
each model's weights stay in the core's cache and its arithmetic never depends on
the other models. Elsewhere (GPUs) the default is the batched torch kernel below,
`seqmem.kernel_torch`. Both are tested against the reference trainer. Offline
(update="chunk") the CPU default is seqmem.kernel_offline (numba), elsewhere seqmem.offline
(autograd through the nn layer's kernel).

The backward reproduces the reference trainer's semantics exactly: the loss at
step j is backpropagated through the steps of its window (every step since the
reset for bptt="epoch", the last k for bptt=k) using the activations saved when
those steps ran and the weights as they are now (the notebook under 2019 PyTorch).
bptt="rtrl" is the exact online gradient instead: seqmem.kernel_rtrl (numba) and
seqmem.rtrl (torch) carry the state's sensitivities to the weights forward.

Layout. Parameters live in one flat buffer, one contiguous block per tensor:
w_ih as (P, A, 4H) so the one-hot input selects a contiguous row, then b_ih,
b_hh, w_out (P, A, H), b_out, and w_hh (P, H, 4H) last: with the state reset
before every character W_hh's gradient is exactly zero, so its Adam moments stay
zero and its update is exactly zero, and Adam runs on the prefix without it.
Models that memorize are dropped from the batch at the evaluation that sees it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from seqmem import kernel_torch
from seqmem.adam import BETA1, BETA2, EPS
from seqmem.bits import bits_stored
from seqmem.config import RunConfig, check_group
from seqmem.difficulty import metrics
from seqmem.evaluate import Evaluation, eval_epochs, longest_substring
from seqmem.model import parameter_count, stacked_weights
from seqmem.provenance import provenance
from seqmem.records import RunRecord
from seqmem.sequences import decode, encode

if TYPE_CHECKING:
    from seqmem.kernel_numba import AdamState

# Order of the blocks in the flat buffers; w_hh last so "all but w_hh" is a prefix.
_BLOCKS = ("w_ih", "b_ih", "b_hh", "w_out", "b_out", "w_hh")


class Population:
    """P models of one cell: stacked weights, Adam moments and gradients in flat buffers."""

    def __init__(self, weights: dict[str, torch.Tensor]):
        # nn layout -> engine layout (transposes are free to choose: Adam is elementwise).
        blocks = {
            "w_ih": weights["w_ih"].transpose(1, 2),  # (P, A, 4H)
            "b_ih": weights["b_ih"],
            "b_hh": weights["b_hh"],
            "w_out": weights["w_out"],  # (P, A, H)
            "b_out": weights["b_out"],
            "w_hh": weights["w_hh"].transpose(1, 2),  # (P, H, 4H)
        }
        self.shapes = {k: tuple(v.shape[1:]) for k, v in blocks.items()}
        flat = torch.cat([blocks[k].reshape(-1) for k in _BLOCKS])
        self._set(flat, torch.zeros_like(flat), torch.zeros_like(flat), blocks["w_ih"].shape[0])

    def _set(self, flat, m, v, p: int) -> None:
        self.P = p
        self.flat, self.m, self.v = flat, m, v
        self.grad = torch.zeros_like(flat)
        self.step = torch.zeros((), device=flat.device)  # Adam's step count, filled per step
        self.p = self._views(self.flat)
        self.g = self._views(self.grad)
        self.n_no_hh = sum(p * int(np.prod(self.shapes[k])) for k in _BLOCKS[:-1])
        self._arrays: AdamState | None = None

    def arrays(self) -> AdamState:
        """numpy views of the blocks (CPU only) as seqmem.kernel_numba takes them: an
        AdamState (the parameters, m and v) of Params, P leading.

        Built once per batch: making 18 views costs more than a small population's epoch.
        """
        if self._arrays is None:
            from seqmem.kernel_numba import AdamState, Params  # numba loads only where used

            views = [self._views(buf) for buf in (self.flat, self.m, self.v)]
            self._arrays = AdamState(*(Params(**{k: v[k].numpy() for k in Params._fields})
                                       for v in views))
        return self._arrays

    def _views(self, buf: torch.Tensor) -> dict[str, torch.Tensor]:
        out, start = {}, 0
        for k in _BLOCKS:
            size = self.P * int(np.prod(self.shapes[k]))
            out[k] = buf[start:start + size].view(self.P, *self.shapes[k])
            start += size
        return out

    def keep(self, rows: torch.Tensor) -> None:
        """Keep only the models at `rows` (their weights and Adam state)."""
        def pick(buf):
            views = self._views(buf)
            return torch.cat([views[k].index_select(0, rows).reshape(-1) for k in _BLOCKS])
        self._set(pick(self.flat), pick(self.m), pick(self.v), len(rows))

    def nn_weights(self, views: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """The weights in nn.LSTM / nn.Linear layout (P leading), for comparison with nn models;
        `views`: blocks of another buffer laid out as the parameters' (default: the parameters)."""
        p = self.p if views is None else views
        return {"w_ih": p["w_ih"].transpose(1, 2), "w_hh": p["w_hh"].transpose(1, 2),
                "b_ih": p["b_ih"], "b_hh": p["b_hh"], "w_out": p["w_out"], "b_out": p["b_out"]}

    def adam_step(self, step: int, lr: float, skip_hh: bool, clip: float | None = None) -> None:
        """One torch.optim.Adam step (fused kernel) over every model's parameters at once,
        after clipping each model's gradient norm to `clip` (None: no clipping)."""
        if clip is not None:
            self.clip_grad(clip)
        end = self.n_no_hh if skip_hh else self.flat.numel()
        self.step.fill_(float(step))  # a fill, not a new tensor: no host-to-device copy on a GPU
        torch._fused_adam_([self.flat[:end]], [self.grad[:end]], [self.m[:end]], [self.v[:end]],
                           [], [self.step], lr=lr, beta1=BETA1, beta2=BETA2, weight_decay=0.0,
                           eps=EPS, amsgrad=False, maximize=False)


    def clip_grad(self, max_norm: float) -> None:
        """torch.nn.utils.clip_grad_norm_ for each model: the norm of its blocks' norms."""
        norms = torch.stack([torch.linalg.vector_norm(self.g[k].reshape(self.P, -1), dim=1)
                             for k in _BLOCKS], dim=1)
        coef = torch.clamp(max_norm / (torch.linalg.vector_norm(norms, dim=1) + 1e-6), max=1.0)
        for k in _BLOCKS:
            self.g[k].mul_(coef.view(-1, *[1] * len(self.shapes[k])))


KERNELS = ("numba", "torch")
# Bump a kernel's number whenever a change can change its records (seqmem.provenance).
NUMERICS_VERSION = {"numba": 1, "torch": 1}


def default_kernel(device: str | torch.device, config: RunConfig | None = None) -> str:
    """The kernel train_population uses on `device` (for `config`) unless told otherwise:
    the compiled kernel on a CPU where it implements the config (`compiled`), the torch
    kernel elsewhere."""
    ok = config is None or compiled(config)
    return "numba" if torch.device(device).type == "cpu" and ok else "torch"


def compiled(config: RunConfig) -> bool:
    """Whether the compiled kernels implement `config`: online training with plain Adam
    (`RunConfig.plain_adam`; seqmem.kernel_numba, kernel_rtrl) or offline training with any
    schedule and clipping (seqmem.kernel_offline)."""
    return config.plain_adam or config.update == "chunk"


def train_population(configs: Sequence[RunConfig], *, device: str | torch.device = "cpu",
                     trace_steps: int = 0, kernel: str | None = None) -> list[RunRecord]:
    """Train the seeds of one cell together; one record per config, in order.

    Model i starts from exactly the weights the reference trainer builds for configs[i].seed.
    trace_steps: keep the first `trace_steps` per-step losses of each run in `step_loss`.
    kernel: how an epoch is computed. "numba" (the default on a CPU) runs each model's
    epoch in compiled code, `seqmem.kernel_numba`; "torch" (the default elsewhere) runs all
    models as batched torch operations. Both have the reference trainer's semantics; they
    differ in float32 rounding, and only with "numba" is a model's record independent
    of which other models share its population.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("train_population needs at least one config")
    check_group(configs)
    if configs[0].engine != "population":
        raise ValueError(f"configs ask for engine={configs[0].engine!r}; train_group dispatches "
                         "to the right engine")
    device = torch.device(device)
    cfg = configs[0]
    if kernel is None:
        kernel = default_kernel(device, cfg)
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r}: choose one of {', '.join(KERNELS)}")
    if kernel == "numba" and device.type != "cpu":
        raise ValueError(f"kernel='numba' runs on the CPU only, not on device={str(device)!r}")
    if kernel == "numba" and not compiled(cfg):
        raise ValueError("kernel='numba' trains offline, or online with a constant lr and no "
                         f"clipping; update={cfg.update!r}, schedule={cfg.schedule!r}, "
                         f"warmup={cfg.warmup!r}, clip={cfg.clip!r} need kernel='torch'")
    # Online training needs no autograd: inference mode skips its bookkeeping (~15% faster).
    with torch.inference_mode(cfg.update == "step"):
        return _train(configs, device, trace_steps, kernel)


def _train(configs: list[RunConfig], device: torch.device, trace_steps: int, kernel: str
           ) -> list[RunRecord]:
    start = time.perf_counter()
    cfg = configs[0]
    seq, alphabet = cfg.sequence, cfg.alphabet
    n, a, hid = len(seq), len(alphabet), cfg.units
    total = len(configs)
    idx_np = encode(seq, alphabet)
    idx = torch.from_numpy(idx_np).to(device)
    targets = torch.from_numpy(np.roll(idx_np, -1)).to(device)
    # Steps each loss is backpropagated through (a reset before every letter leaves one).
    # (RTRL keeps no window: its workspace holds sensitivities instead.)
    rtrl = cfg.bptt == "rtrl"
    window = (1 if cfg.reset == "char" or rtrl else n if cfg.bptt == "epoch"
              else min(cfg.bptt, n))
    pop = Population(stacked_weights([c.seed for c in configs], hid, a, device, cfg.cell))

    active = torch.arange(total, device=device)  # original index of each row still training
    # Memory is bounded by what the records keep: one loss per evaluation interval.
    interval = np.zeros((total, cfg.eval_every))  # epoch mean losses since the last evaluation
    in_interval = 0
    loss_curve: list[list[float]] = [[] for _ in range(total)]
    final_loss = np.full(total, np.nan)
    step_loss = np.zeros((total, trace_steps))
    outcome: dict[int, tuple] = {}
    checks = set(eval_epochs(cfg.eval_every, cfg.max_epochs))
    bits_curve: list[list[float]] = [[] for _ in range(total)]
    saved_curve: list[list[float]] = [[] for _ in range(total)]
    first_success: dict[int, int] = {}
    until_budget = cfg.stop == "budget"
    online = cfg.update == "step"
    act = (kernel_torch.Activations(n, hid, a, device)
           if online and kernel == "torch" and cfg.cell == "lstm" and not rtrl else None)
    work = sens = None
    if kernel == "numba":  # imported here: loading numba takes a second GPU runs never need
        from seqmem import kernel_numba, kernel_rtrl

        # Offline, the Workspace holds only the working copy and generation's buffers.
        work = kernel_numba.Workspace.allocate(n, hid, a, window if online else 1, cfg.cell)
        if not online:
            from seqmem import kernel_offline

            chunks = kernel_offline.OfflineWorkspace.allocate(cfg.chunk or n, hid, a, cfg.cell)
        if rtrl:
            sens = kernel_rtrl.RtrlWorkspace.allocate(hid, a, cfg.cell)
    step = 0
    for epoch in range(cfg.max_epochs + 1):
        if epoch in checks:
            if in_interval:
                for i in active.cpu().numpy():
                    loss_curve[i].append(float(np.mean(interval[i, :in_interval])))
                in_interval = 0
            evals = evaluate_population(pop, cfg, work)
            bits, saved = bits_stored(pop.nn_weights(), cfg.cell, idx_np, a, cfg.reset)
            rows_now = active.cpu().numpy()
            for i, run in enumerate(rows_now):
                bits_curve[run].append(float(bits[i]))
                saved_curve[run].append(float(saved[i]))
                if evals[i].success:
                    first_success.setdefault(int(run), epoch)
            done = [i for i, e in enumerate(evals)
                    if (e.success and not until_budget) or epoch == cfg.max_epochs]
            for i in done:
                outcome[int(active[i])] = (epoch, evals[i], time.perf_counter() - start)
            if done:
                rows = torch.tensor([i for i in range(pop.P) if i not in set(done)],
                                    dtype=torch.long, device=device)
                if len(rows) == 0:
                    break
                pop.keep(rows)
                active = active[rows]
        if epoch == cfg.max_epochs:
            break
        if not online and kernel == "numba":
            losses_np = kernel_offline.train_epoch(pop, cfg, idx_np, work, chunks,
                                                   epoch * cfg.updates_per_epoch)
        elif not online:
            from seqmem.offline import train_epoch_offline

            losses_np = train_epoch_offline(pop, cfg, idx, epoch * cfg.updates_per_epoch)
        elif rtrl and kernel == "numba":
            losses_np = kernel_rtrl.train_epoch(pop, cfg, idx_np, work, sens, step)
        elif rtrl:
            from seqmem.rtrl import train_epoch_rtrl

            losses_np = train_epoch_rtrl(pop, cfg, idx, targets, step).cpu().numpy()
        elif kernel == "numba":
            losses_np = kernel_numba.train_epoch(pop, cfg, idx_np, window, work, step)
        else:
            losses_np = kernel_torch.train_epoch(pop, cfg, idx, targets, window, act,
                                                 step).cpu().numpy()
        step += n
        rows_np = active.cpu().numpy()
        final_loss[rows_np] = losses_np.mean(axis=1)
        interval[rows_np, in_interval] = final_loss[rows_np]
        in_interval += 1
        first = epoch * n
        if first < trace_steps:
            take = min(n, trace_steps - first)
            step_loss[rows_np, first:first + take] = losses_np[:, :take]

    records = []
    made_by = provenance(kernel, NUMERICS_VERSION[kernel], device)
    for i, c in enumerate(configs):
        ended, ev, wall = outcome[i]
        hit = first_success.get(i)
        records.append(RunRecord(
            config=c,
            memorized=hit is not None,
            epochs_to_memorize=hit,
            steps_to_memorize=None if hit is None else hit * n,
            epochs_trained=ended,
            steps=ended * n,
            final_prefix=ev.prefix,
            longest_substring=longest_substring(seq, ev.generated),
            final_loss=None if ended == 0 else float(final_loss[i]),
            loss_curve=tuple(loss_curve[i]),
            wall_time_s=wall,
            metrics=metrics(seq, alphabet),
            provenance=made_by,
            population=total,
            step_loss=tuple(float(x) for x in step_loss[i, :min(trace_steps, ended * n)]),
            bits_stored=bits_curve[i][-1],
            bits_curve=tuple(bits_curve[i]),
            bits_saved=saved_curve[i][-1],
            saved_curve=tuple(saved_curve[i]),
            exposures=float(ended),
            parameters=parameter_count(cfg.cell, hid, a),
        ))
    return records


@torch.no_grad()
def evaluate_population(pop: Population, cfg: RunConfig, work=None) -> list:
    """Generate n-1 letters from the first one and a fresh state, for every model; score each.

    work: a seqmem.kernel_numba.Workspace to generate with the compiled kernel; None: torch.
    """
    seq, alphabet = cfg.sequence, cfg.alphabet
    if work is not None:
        from seqmem import kernel_numba

        generated = kernel_numba.generate(pop, cfg, work)
    else:
        generated = kernel_torch.generate(pop, cfg)
    target = encode(seq, alphabet)[1:]
    return [Evaluation(decode(row, alphabet), _prefix(row, target)) for row in generated]


def _prefix(generated: np.ndarray, target: np.ndarray) -> int:
    """Letters right before the first mistake."""
    wrong = np.flatnonzero(generated != target)
    return int(wrong[0]) if len(wrong) else len(target)
