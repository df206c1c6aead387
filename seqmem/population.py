"""The population engine: the seeds of one cell trained as one batched computation.

P models share the sequence and every option, so their online steps can be taken
in lock-step: weights stacked on a leading P axis, one batched forward, a
hand-written batched backward, and one fused Adam update over all parameters of
all models (Adam is elementwise, so this equals P separate updates).

Two kernels compute an epoch. On a CPU the default is `seqmem.kernel` (numba): one
call per epoch runs every model's steps in compiled code, model after model, so
each model's weights stay in the core's cache and its arithmetic never depends on
the other models. Elsewhere (GPUs) the default is the batched torch kernel below,
`_train_epoch`. Both are tested against the reference trainer.

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

import functools
import time
from collections.abc import Sequence

import numpy as np
import torch

from seqmem.bits import bits_stored
from seqmem.config import RunConfig, check_group
from seqmem.difficulty import metrics
from seqmem.evaluate import Evaluation, eval_epochs, longest_substring
from seqmem.model import cell_step, parameter_count, stacked_weights
from seqmem.provenance import provenance
from seqmem.records import RunRecord
from seqmem.schedule import lr_at
from seqmem.sequences import decode, encode

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults, as the notebook uses

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
        self._arrays: tuple | None = None

    def arrays(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """numpy views of the blocks (CPU only) as seqmem.kernel takes them: the matrices
        (w_ih, w_out, w_hh) and the vectors (b_ih, b_hh, b_out), each for the parameters,
        then m, then v.

        Built once per batch: making 18 views costs more than a small population's epoch.
        """
        if self._arrays is None:
            views = [self._views(buf) for buf in (self.flat, self.m, self.v)]
            self._arrays = (tuple(v[k].numpy() for v in views for k in ("w_ih", "w_out", "w_hh")),
                            tuple(v[k].numpy() for v in views for k in ("b_ih", "b_hh", "b_out")))
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
    the compiled kernel on a CPU where it implements the config (`RunConfig.plain_adam`),
    the torch kernel elsewhere."""
    plain = config is None or config.plain_adam
    return "numba" if torch.device(device).type == "cpu" and plain else "torch"


def train_population(configs: Sequence[RunConfig], *, device: str | torch.device = "cpu",
                     trace_steps: int = 0, kernel: str | None = None) -> list[RunRecord]:
    """Train the seeds of one cell together; one record per config, in order.

    Model i starts from exactly the weights the reference trainer builds for configs[i].seed.
    trace_steps: keep the first `trace_steps` per-step losses of each run in `step_loss`.
    kernel: how an epoch is computed. "numba" (the default on a CPU) runs each model's
    epoch in compiled code, `seqmem.kernel`; "torch" (the default elsewhere) runs all
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
    if kernel == "numba" and not cfg.plain_adam:
        raise ValueError("kernel='numba' trains online with a constant lr and no clipping; "
                         f"update={cfg.update!r}, schedule={cfg.schedule!r}, warmup={cfg.warmup!r}, "
                         f"clip={cfg.clip!r} need kernel='torch'")
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
    first_success: dict[int, int] = {}
    until_budget = cfg.stop == "budget"
    online = cfg.update == "step"
    act = (_Activations(n, hid, a, device)
           if online and kernel == "torch" and cfg.cell == "lstm" and not rtrl else None)
    work = sens = None
    if kernel == "numba":  # imported here: loading numba takes a second GPU runs never need
        from seqmem.kernel import Workspace

        work = Workspace(n, hid, a, window, cfg.cell)
        if rtrl:
            from seqmem.kernel_rtrl import RtrlWorkspace

            sens = RtrlWorkspace(hid, a, cfg.cell)
    step = 0
    for epoch in range(cfg.max_epochs + 1):
        if epoch in checks:
            if in_interval:
                for i in active.cpu().numpy():
                    loss_curve[i].append(float(np.mean(interval[i, :in_interval])))
                in_interval = 0
            evals = evaluate_population(pop, cfg, work)
            bits = bits_stored(pop.nn_weights(), cfg.cell, idx_np, a, cfg.reset)
            rows_now = active.cpu().numpy()
            for i, run in enumerate(rows_now):
                bits_curve[run].append(float(bits[i]))
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
        if not online:
            from seqmem.offline import train_epoch_offline

            losses_np = train_epoch_offline(pop, cfg, idx, epoch * cfg.updates_per_epoch)
        elif rtrl and kernel == "numba":
            losses_np = _train_epoch_rtrl_numba(pop, cfg, idx_np, step, work, sens)
        elif rtrl:
            from seqmem.rtrl import train_epoch_rtrl

            losses_np = train_epoch_rtrl(pop, cfg, idx, targets, step).cpu().numpy()
        elif kernel == "numba":
            losses_np = _train_epoch_numba(pop, cfg, idx_np, window, step, work)
        else:
            torch_epoch = _train_epoch if cfg.cell == "lstm" else _train_epoch_gated
            losses_np = torch_epoch(pop, cfg, idx, targets, window, act, step).cpu().numpy()
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
            exposures=float(ended),
            parameters=parameter_count(cfg.cell, hid, a),
        ))
    return records


def _train_epoch_numba(pop: Population, cfg: RunConfig, idx: np.ndarray, window: int,
                       step0: int, work) -> np.ndarray:
    """One epoch for every active model with the compiled CPU kernel; losses (P, n)."""
    from seqmem.kernel import train_epoch, train_epoch_gated

    losses = np.zeros((pop.P, len(idx)))
    args = (*pop.arrays(), work.mats, work.vecs, work.scratch, idx, np.roll(idx, -1), window,
            cfg.reset == "char", cfg.loss == "softmax", step0, cfg.lr, losses)
    if cfg.cell == "lstm":
        train_epoch(*args)
    else:
        train_epoch_gated(*args, cfg.cell == "gru")
    return losses


def _train_epoch_rtrl_numba(pop: Population, cfg: RunConfig, idx: np.ndarray, step0: int, work,
                            sens, trace: np.ndarray | None = None, lr: float | None = None
                            ) -> np.ndarray:
    """One RTRL epoch for every active model with the compiled kernel; losses (P, n).
    trace: (P, n, |theta|) to receive each step's recurrent gradient; lr: instead of the
    config's (0 holds the weights: the gradient tests)."""
    from seqmem.kernel_rtrl import CELL_CODES, train_epoch_rtrl

    losses = np.zeros((pop.P, len(idx)))
    keep = np.zeros((0, 0, 0), np.float32) if trace is None else trace
    train_epoch_rtrl(*pop.arrays(), work.mats, work.vecs, work.scratch, sens.mh, sens.mats,
                     sens.vecs, idx, np.roll(idx, -1), cfg.reset == "char", cfg.loss == "softmax",
                     step0, cfg.lr if lr is None else lr, losses, CELL_CODES[cfg.cell], keep)
    return losses


class _Activations:
    """What each step of the current epoch saved for the backward, time on axis 1.

    Besides the states, each step stores its local derivatives, computed once in the
    forward and reused by every later step whose window reaches back to it:
    F (P, 4H) = [g*i*(1-i), c_prev*f*(1-f), i*(1-g^2), tanh(c)*o*(1-o)], so that the
    pre-activation gradient is [dc, dc, dc, dh] * F, and K (P, H) = o*(1-tanh(c)^2),
    so that dc += dh * K.

    The backward chain is a few tiny ops per step, so per-call cost dominates: every
    view it touches is built once here and every result goes to a preallocated buffer.
    """

    def __init__(self, n: int, hid: int, alphabet_size: int, device):
        self.n, self.hid, self.a, self.device = n, hid, alphabet_size, device
        self.P = self.window = -1

    def ensure(self, p: int, window: int) -> None:
        if (p, window) == (self.P, self.window):
            return
        n, h, dev = self.n, self.hid, self.device
        self.P, self.window = p, window
        self.hs = torch.zeros(p, n + 1, h, device=dev)  # hs[:, t] is the h fed to step t
        self.gates = torch.zeros(p, n, 4 * h, device=dev)  # i, f, g, o after activation
        self.f = torch.zeros(p, n, 4 * h, device=dev)
        self.k = torch.zeros(p, n, 1, h, device=dev)
        self.ce_in = torch.zeros(p, n, self.a, device=dev)  # what the loss was applied to
        self.ones = torch.ones(p, h, device=dev)
        self.gate_t = list(self.gates.unbind(1))
        self.f_t = list(self.f.unbind(1))
        self.h_t = list(self.hs.unbind(1))
        self.ce_t = list(self.ce_in.unbind(1))
        # Chain views, gates as (P, 4, H): [i, f, g] take dc, o takes dh.
        self.k_t = list(self.k.unbind(1))  # (P, 1, H)
        self.fifg_t = [f.view(p, 4, h)[:, :3] for f in self.f_t]
        self.fo_t = [f.view(p, 4, h)[:, 3:] for f in self.f_t]
        self.fgate_t = [g.view(p, 4, h)[:, 1:2] for g in self.gate_t]
        self.dpre = torch.zeros(p, window, 4 * h, device=dev)  # window position j = s - lo
        self.dpre_row = [self.dpre[:, j:j + 1] for j in range(window)]  # (P, 1, 4H) for bmm
        self.dpre_ifg = [r.view(p, 4, h)[:, :3] for r in self.dpre.unbind(1)]
        self.dpre_o = [r.view(p, 4, h)[:, 3:] for r in self.dpre.unbind(1)]
        self.dpre_lead = [self.dpre[:, :j + 1] for j in range(window)]
        self.dh = torch.zeros(p, 1, h, device=dev)
        self.dc = torch.zeros(p, 1, h, device=dev)


def _train_epoch(pop: Population, cfg: RunConfig, idx, targets, window: int,
                 act: _Activations, step0: int) -> torch.Tensor:
    """One epoch for every active model; returns the per-step losses (P, n)."""
    p_, h_ = pop.P, cfg.units
    n, a = idx.shape[0], act.a
    act.ensure(p_, window)
    dev = pop.flat.device
    char = cfg.reset == "char"
    c = torch.zeros(p_, h_, device=dev)
    onehot_next = _eye(a, dev)[targets].unbind(0)
    idx_list = idx.tolist()
    w, g = pop.p, pop.g
    w_out_t = w["w_out"].transpose(1, 2)
    w_hh_t = w["w_hh"].transpose(1, 2)
    dz2 = g["b_out"]  # the loss gradient w.r.t. the logits is b_out's gradient
    dz3, dz_col = dz2.unsqueeze(1), dz2.unsqueeze(2)
    dh, dc = act.dh, act.dc
    for t in range(n):
        if char:
            c.zero_()
        h_prev = act.h_t[t]
        gates, fac, k_s = act.gate_t[t], act.f_t[t], act.k_t[t]
        # Forward. gates = x W_ih^T + b_ih + h W_hh^T + b_hh, x one-hot.
        pre = w["w_ih"][:, idx_list[t]]
        if not char:
            pre = torch.baddbmm(pre.unsqueeze(1), h_prev.unsqueeze(1), w["w_hh"]).squeeze(1)
        pre = pre + w["b_ih"]
        pre += w["b_hh"]
        torch.sigmoid(pre, out=gates)
        i_g, f_g, g_g, o_g = gates.split(h_, dim=1)
        torch.tanh(pre[:, 2 * h_: 3 * h_], out=g_g)
        c_prev = c
        c = f_g * c_prev
        c.addcmul_(i_g, g_g)
        tc = torch.tanh(c)
        h = torch.mul(o_g, tc, out=act.h_t[t + 1])
        # Local derivatives for every backward pass that reaches this step.
        torch.addcmul(gates, gates, gates, value=-1.0, out=fac)  # s(1-s)
        torch.addcmul(act.ones, g_g, g_g, value=-1.0, out=fac[:, 2 * h_: 3 * h_])  # 1-tanh^2
        fac.mul_(torch.cat((g_g, c_prev, i_g, tc), dim=1))
        torch.addcmul(o_g, h, tc, value=-1.0, out=k_s.view(p_, h_))  # o(1-tanh(c)^2)
        logits = torch.baddbmm(w["b_out"].unsqueeze(1), h.unsqueeze(1), w_out_t).squeeze(1)

        # Gradient of the loss w.r.t. the logits.
        if cfg.loss == "softmax":
            probs = torch.softmax(logits, dim=1)
            act.ce_t[t].copy_(probs)
            u = torch.softmax(probs, dim=1).sub_(onehot_next[t])
            dot = (probs * u).sum(dim=1, keepdim=True)
            torch.mul(probs, u.sub_(dot), out=dz2)
        else:
            act.ce_t[t].copy_(logits)
            torch.sub(torch.softmax(logits, dim=1), onehot_next[t], out=dz2)
        torch.bmm(dz_col, h.unsqueeze(1), out=g["w_out"])
        torch.bmm(dz3, w["w_out"], out=dh)  # (P, 1, H)

        # Back through the window, newest step first, with the current weights.
        lo = max(0, t - window + 1)
        torch.mul(dh, act.k_t[t], out=dc)  # dc starts at zero: the loss does not read c
        for s in range(t, lo - 1, -1):
            if s < t:
                dc.addcmul_(dh, act.k_t[s])
            j = s - lo
            torch.mul(dc, act.fifg_t[s], out=act.dpre_ifg[j])
            torch.mul(dh, act.fo_t[s], out=act.dpre_o[j])
            if s > lo:
                # Row vector times the transposed view: batched gemv with a column
                # vector on the right is several times slower in bmm.
                torch.bmm(act.dpre_row[j], w_hh_t, out=dh)
                dc.mul_(act.fgate_t[s])
        dpre = act.dpre_lead[t - lo]
        if window == 1:
            g["b_ih"].copy_(dpre[:, 0])
        else:
            torch.sum(dpre, dim=1, out=g["b_ih"])
        g["b_hh"].copy_(g["b_ih"])
        cols = idx[lo: t + 1]
        g["w_ih"].index_add_(1, cols, dpre)
        if not char:
            torch.bmm(act.hs[:, lo: t + 1].transpose(1, 2), dpre, out=g["w_hh"])
        pop.adam_step(step0 + t + 1, lr_at(cfg, step0 + t), skip_hh=char, clip=cfg.clip)
        # Only the window's letters were written: zero them (all of it when that is cheaper).
        if window == 1:
            g["w_ih"][:, idx_list[t]].zero_()
        else:
            g["w_ih"].zero_()
    logq = torch.log_softmax(act.ce_in, dim=2)
    return -logq.gather(2, targets.view(1, n, 1).expand(p_, n, 1)).squeeze(2)


@functools.lru_cache(maxsize=8)
def _eye(a: int, device: torch.device) -> torch.Tensor:
    return torch.eye(a, device=device)  # read-only: the one-hot targets of every epoch


@torch.no_grad()
def evaluate_population(pop: Population, cfg: RunConfig, work=None) -> list:
    """Generate n-1 letters from the first one and a fresh state, for every model; score each.

    work: a seqmem.kernel.Workspace to generate with the compiled kernel; None: torch.
    """
    seq, alphabet = cfg.sequence, cfg.alphabet
    if work is not None:
        from seqmem.kernel import generate, generate_gated

        generated = np.zeros((pop.P, len(seq) - 1), dtype=np.int64)
        args = (*pop.arrays(), work.mats, work.vecs, work.scratch, work.inputs,
                alphabet.index(seq[0]), len(seq) - 1, cfg.reset == "char",
                cfg.feedback == "probs", generated)
        if cfg.cell == "lstm":
            generate(*args)
        else:
            generate_gated(*args, cfg.cell == "gru")
    else:
        generated = _generate_torch(pop, cfg)
    target = encode(seq, alphabet)[1:]
    return [Evaluation(decode(row, alphabet), _prefix(row, target)) for row in generated]


def _prefix(generated: np.ndarray, target: np.ndarray) -> int:
    """Letters right before the first mistake."""
    wrong = np.flatnonzero(generated != target)
    return int(wrong[0]) if len(wrong) else len(target)


def _generate_torch(pop: Population, cfg: RunConfig) -> np.ndarray:
    seq, alphabet = cfg.sequence, cfg.alphabet
    p_, h_, a = pop.P, cfg.units, len(alphabet)
    dev = pop.flat.device
    w = pop.p
    x = torch.zeros(p_, a, device=dev)
    x[:, alphabet.index(seq[0])] = 1.0
    h = torch.zeros(p_, h_, device=dev)
    c = torch.zeros(p_, h_, device=dev)
    letters = []
    for _ in range(len(seq) - 1):
        if cfg.reset == "char":
            h.zero_()
            c.zero_()
        h, c = cell_step(cfg.cell, w, x, h, c)
        logits = torch.bmm(h.unsqueeze(1), w["w_out"].transpose(1, 2)).squeeze(1) + w["b_out"]
        k = torch.argmax(logits, dim=1)
        letters.append(k)
        if cfg.feedback == "probs":
            x = torch.softmax(logits, dim=1)
        else:
            x = torch.nn.functional.one_hot(k, a).to(logits.dtype)
    return torch.stack(letters, dim=1).cpu().numpy()


def _train_epoch_gated(pop: Population, cfg: RunConfig, idx, targets, window: int, act,
                       step0: int) -> torch.Tensor:
    """The torch kernel's epoch for the GRU and the tanh RNN (the semantics of the numba
    kernel's _gated_epoch, as batched torch operations); losses (P, n)."""
    p_, h_, n = pop.P, cfg.units, idx.shape[0]
    dev = pop.flat.device
    char, gru = cfg.reset == "char", cfg.cell == "gru"
    w, g = pop.p, pop.g
    eye = _eye(len(cfg.alphabet), dev)
    hs = [torch.zeros(p_, h_, device=dev)]  # hs[t]: the h fed to step t
    saved = []  # per step: what its backward needs (stale activations)
    losses = torch.zeros(p_, n, device=dev)
    for t in range(n):
        h_prev = torch.zeros(p_, h_, device=dev) if char else hs[t]
        x = eye[idx[t]].expand(p_, -1)
        ig = torch.bmm(x.unsqueeze(1), w["w_ih"]).squeeze(1) + w["b_ih"]
        hg = torch.bmm(h_prev.unsqueeze(1), w["w_hh"]).squeeze(1) + w["b_hh"]
        if gru:
            ir, iz, in_ = ig.chunk(3, dim=1)
            hr, hz, hn = hg.chunk(3, dim=1)
            r, z = torch.sigmoid(hr + ir), torch.sigmoid(hz + iz)
            nn_ = torch.tanh(in_ + hn * r)
            h = (h_prev - nn_) * z + nn_
            saved.append((h_prev, (h_prev - nn_) * z * (1 - z), (1 - z) * (1 - nn_ * nn_),
                          hn * r * (1 - r), r, z))
        else:
            h = torch.tanh(hg + ig)
            saved.append((h_prev, 1 - h * h))
        hs.append(h)
        logits = torch.bmm(h.unsqueeze(1), w["w_out"].transpose(1, 2)).squeeze(1) + w["b_out"]
        target = eye[targets[t]]
        if cfg.loss == "softmax":
            probs = torch.softmax(logits, dim=1)
            u = torch.softmax(probs, dim=1) - target
            dz = probs * (u - (probs * u).sum(dim=1, keepdim=True))
            ce = probs
        else:
            dz = torch.softmax(logits, dim=1) - target
            ce = logits
        losses[:, t] = -torch.log_softmax(ce, dim=1)[:, targets[t]]
        dh = torch.bmm(dz.unsqueeze(1), w["w_out"]).squeeze(1)
        g["w_out"].copy_(dz.unsqueeze(2) * h.unsqueeze(1))
        g["b_out"].copy_(dz)
        g["w_ih"].zero_()
        g["w_hh"].zero_()
        g["b_ih"].zero_()
        g["b_hh"].zero_()
        lo = max(0, t - window + 1)
        for s in range(t, lo - 1, -1):
            if gru:
                hp, fa, fb, fc, r, z = saved[s]
                dpn = dh * fb
                dr = dpn * fc
                dzg = dh * fa
                dig = torch.cat([dr, dzg, dpn], dim=1)
                dhg = torch.cat([dr, dzg, dpn * r], dim=1)
            else:
                hp, fd = saved[s]
                dig = dhg = dh * fd
            g["b_ih"].add_(dig)
            g["b_hh"].add_(dhg)
            g["w_ih"][:, idx[s]] += dig
            if not char:
                g["w_hh"].add_(hp.unsqueeze(2) * dhg.unsqueeze(1))
            if s > lo:
                prev = torch.bmm(dhg.unsqueeze(1), w["w_hh"].transpose(1, 2)).squeeze(1)
                dh = dh * z + prev if gru else prev
        pop.adam_step(step0 + t + 1, lr_at(cfg, step0 + t), skip_hh=char, clip=cfg.clip)
    return losses
