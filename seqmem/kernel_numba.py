"""The population engine's CPU kernel: one epoch of online steps, compiled with numba.

On a CPU the batched torch step is bound by memory traffic at 128 units with
full-epoch BPTT: every one of the t products through W_hh in a step's backward chain
streams all P models' W_hh (P x 256 KB) from the last-level cache. Here each model
runs its whole epoch in turn, so its weights stay in the core's own cache, and each
tensor's gradient is consumed by Adam as it is made (no gradient buffer to write and
read back). The arithmetic is seqmem.kernel_torch's, float32 throughout; only the
summation order of dot products differs, so losses agree with it to float32 rounding.

A model's record must not depend on which models share its batch, nor on anything else
in the process. LLVM vectorizes the dot products (fastmath "reassoc") with a summation
order that depends on the arrays' addresses modulo the vector width, so every model
computes on working copies with fixed alignment (`Workspace`): its parameters and Adam
moments are copied into 64-byte-aligned arrays before its epoch and back after it, and
the scratch buffers are aligned the same way. The copies cost a few percent at 128 units.

Interface: `train_epoch` and `generate`, as seqmem.kernel_torch's. Arrays travel in named
tuples: a tensor set as `Params`, with Adam's moments as `AdamState`, the working arrays as
`Workspace`, an epoch's scalars as `EpochOptions`, a step's Adam coefficients as `AdamStep`.
A model's epoch takes its arrays out of them once; the helpers it calls every step take
arrays: each field taken from a named tuple of arrays costs an atomic reference count
pair, which inside the step loop made small models 5-15% slower. Weights live in the flat
buffers of `seqmem.population.Population` (one contiguous block per tensor, P leading);
this module only sees numpy views of them (`Population.arrays`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from seqmem.adam import BETA1, BETA2, EPS
from seqmem.config import GATES, RunConfig

# reassoc lets LLVM vectorize the dot products; contract allows fused multiply-adds.
# Neither changes more than float32 rounding, and with the fixed alignment of Workspace
# both give the same bits for the same model, whatever shares its batch.
FASTMATH = {"reassoc", "contract"}
ALIGN = 64  # bytes: a cache line, and the widest vector register (AVX-512)


class Params(NamedTuple):
    """One model's tensors in the engine layout (G = GATES[cell] * H gate rows), or P
    models' with P leading: the Population's blocks."""

    w_ih: np.ndarray  # (A, G): the one-hot input selects a row
    w_out: np.ndarray  # (A, H)
    w_hh: np.ndarray  # (H, G)
    b_ih: np.ndarray  # (G,)
    b_hh: np.ndarray  # (G,)
    b_out: np.ndarray  # (A,)


class AdamState(NamedTuple):
    """The parameters and Adam's first and second moments of each."""

    param: Params
    m: Params
    v: Params


class AdamStep(NamedTuple):
    """One step's coefficients of torch.optim.Adam (no weight decay, no amsgrad), float32
    as torch rounds them: w1 = 1 - beta1 and w2 = 1 - beta2 are taken in double and then
    rounded (1 - 0.999f would be 5e-5 off, a bias that grows over hundreds of steps)."""

    w1: np.float32  # 1 - beta1
    b2: np.float32  # beta2
    w2: np.float32  # 1 - beta2
    eps: np.float32
    step_size: np.float32  # lr / (1 - beta1^step)
    bc2_sqrt: np.float32  # sqrt(1 - beta2^step)


class EpochOptions(NamedTuple):
    """What an epoch computes besides its arrays."""

    window: int  # steps each loss is backpropagated through (1 with a reset per letter)
    char: bool  # the state reset before every letter
    softmax_loss: bool  # CrossEntropyLoss on the softmax (the notebook's), else on the logits
    step0: int  # Adam steps taken before this epoch
    lr: float


class Readout(NamedTuple):
    """A step's readout buffers."""

    logits: np.ndarray  # (A,)
    ce_in: np.ndarray  # (A,): what CrossEntropyLoss is applied to
    dz: np.ndarray  # (A,): the loss's gradient w.r.t. the logits
    dh: np.ndarray  # (H,): the gradient reaching h
    grad_out: np.ndarray  # (H,): one row of W_out's gradient


class LstmScratch(NamedTuple):
    """What the LSTM's epoch saves in the forward and reuses in every later backward."""

    hs: np.ndarray  # (n + 1, H): hs[t] is the h fed to step t
    fac: np.ndarray  # (n, 4H): the gates' local derivatives, so that dpre = [dc, dc, dc, dh] fac
    kk: np.ndarray  # (n, H): o (1 - tanh(c)^2), so that dc += dh kk
    fgate: np.ndarray  # (n, H): the forget gate
    dpre: np.ndarray  # (window, 4H): the gate gradients of the window's steps
    pre: np.ndarray  # (4H,): the gate pre-activations
    c: np.ndarray  # (H,)
    dc: np.ndarray  # (H,)
    row: np.ndarray  # (4H,): a bias's gradient, or one row of W_hh's
    grad_ih: np.ndarray  # (A, 4H)


class GatedScratch(NamedTuple):
    """The same for the GRU and the tanh RNN (see _gated_model_epoch for fac)."""

    hs: np.ndarray  # (n + 1, H): hs[t] is the h fed to step t
    fac: np.ndarray  # (n, 4H): local derivatives (the RNN uses the first H of each row)
    z: np.ndarray  # (n, H): the GRU's update gate
    dig: np.ndarray  # (window, G): gradients of the input side W_ih x + b_ih
    dhg: np.ndarray  # (window, G): gradients of the hidden side W_hh h + b_hh
    ig: np.ndarray  # (G,)
    hg: np.ndarray  # (G,)
    dprev: np.ndarray  # (H,): the gradient reaching the previous state
    row: np.ndarray  # (G,): a bias's gradient, or one row of W_hh's
    grad_ih: np.ndarray  # (A, G)


class Generation(NamedTuple):
    """Generation's buffers."""

    x: np.ndarray  # (A,): the input letter (or distribution)
    h: np.ndarray  # (H,)
    c: np.ndarray  # (H,): the LSTM's cell
    h_new: np.ndarray  # (H,): the GRU's and the RNN's next state
    pre: np.ndarray  # (G,): the LSTM's gate pre-activations
    ig: np.ndarray  # (G,): the GRU's and the RNN's input side
    hg: np.ndarray  # (G,): and their hidden side
    logits: np.ndarray  # (A,)


def aligned_zeros(shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
    """A C-contiguous zero array whose data starts on an ALIGN-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    size = int(np.prod(shape, dtype=np.int64))
    raw = np.zeros(size + ALIGN // itemsize, dtype)
    start = (-raw.ctypes.data % ALIGN) // itemsize
    return raw[start:start + size].reshape(shape)


class Workspace(NamedTuple):
    """Aligned arrays for one model at a time, shaped by the cell only: the model's working
    copy, its epoch's scratch (LstmScratch or GatedScratch), the readout's and generation's
    buffers."""

    model: AdamState
    scratch: LstmScratch | GatedScratch
    readout: Readout
    generation: Generation

    @classmethod
    def allocate(cls, n: int, units: int, alphabet_size: int, window: int,
                 cell: str = "lstm") -> Workspace:
        """For a sequence of n letters and a backward window of `window` steps."""
        h, a = units, alphabet_size
        g = GATES[cell] * units  # gate rows
        w = max(window, 1)
        zeros = aligned_zeros
        model = AdamState(*(Params(w_ih=zeros((a, g)), w_out=zeros((a, h)), w_hh=zeros((h, g)),
                                   b_ih=zeros((g,)), b_hh=zeros((g,)), b_out=zeros((a,)))
                            for _ in range(3)))
        if cell == "lstm":
            scratch = LstmScratch(hs=zeros((n + 1, h)), fac=zeros((n, g)), kk=zeros((n, h)),
                                  fgate=zeros((n, h)), dpre=zeros((w, g)), pre=zeros((g,)),
                                  c=zeros((h,)), dc=zeros((h,)), row=zeros((g,)),
                                  grad_ih=zeros((a, g)))
        else:
            scratch = GatedScratch(hs=zeros((n + 1, h)), fac=zeros((n, 4 * h)), z=zeros((n, h)),
                                   dig=zeros((w, g)), dhg=zeros((w, g)), ig=zeros((g,)),
                                   hg=zeros((g,)), dprev=zeros((h,)), row=zeros((g,)),
                                   grad_ih=zeros((a, g)))
        readout = Readout(logits=zeros((a,)), ce_in=zeros((a,)), dz=zeros((a,)),
                          dh=zeros((h,)), grad_out=zeros((h,)))
        generation = Generation(x=zeros((a,)), h=zeros((h,)), c=zeros((h,)), h_new=zeros((h,)),
                                pre=zeros((g,)), ig=zeros((g,)), hg=zeros((g,)),
                                logits=zeros((a,)))
        return cls(model, scratch, readout, generation)


def train_epoch(pop, cfg: RunConfig, idx: np.ndarray, window: int, work: Workspace,
                step0: int) -> np.ndarray:
    """One epoch of every model of `pop` (a seqmem.population.Population); losses (P, n).

    idx: the sequence's letters; window: the steps each loss is backpropagated through;
    work: Workspace.allocate(n, units, A, window, cfg.cell); step0: Adam steps taken before.
    """
    blocks = pop.arrays()
    losses = np.zeros((blocks.param.w_ih.shape[0], len(idx)))
    opts = EpochOptions(window, cfg.reset == "char", cfg.loss == "softmax", step0, cfg.lr)
    if cfg.cell == "lstm":
        _train_lstm(blocks, work, idx, opts, losses)
    else:
        _train_gated(blocks, work, idx, opts, losses, cfg.cell == "gru")
    return losses


def generate(pop, cfg: RunConfig, work: Workspace) -> np.ndarray:
    """Every model of `pop` generates n - 1 letters from the sequence's first and a fresh
    state (seqmem.kernel_torch.generate's float32 arithmetic); letters (P, n - 1)."""
    seq, alphabet = cfg.sequence, cfg.alphabet
    blocks = pop.arrays()
    out = np.zeros((blocks.param.w_ih.shape[0], len(seq) - 1), dtype=np.int64)
    first, char, probs = alphabet.index(seq[0]), cfg.reset == "char", cfg.feedback == "probs"
    if cfg.cell == "lstm":
        _generate_lstm(blocks, work, first, len(seq) - 1, char, probs, out)
    else:
        _generate_gated(blocks, work, first, len(seq) - 1, char, probs, out, cfg.cell == "gru")
    return out


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def adam_step(lr, step):
    """Adam's coefficients for step `step` (counted from 1) with learning rate lr: the bias
    corrections as torch takes them, in double and then rounded."""
    f32 = np.float32
    return AdamStep(f32(1.0 - BETA1), f32(BETA2), f32(1.0 - BETA2), f32(EPS),
                    f32(lr / (1.0 - BETA1 ** step)), f32(np.sqrt(1.0 - BETA2 ** step)))


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def adam_update(p, m, v, g, step):
    """torch.optim.Adam's update of p with gradient g (1-d float32 arrays), as torch writes
    it: m.lerp_(g, w1), v.mul_(b2).addcmul_(g, g, value=w2); step: an AdamStep."""
    w1, b2, w2, eps = step.w1, step.b2, step.w2, step.eps
    step_size, bc2_sqrt = step.step_size, step.bc2_sqrt
    for k in range(p.shape[0]):
        gk = g[k]
        mk = m[k] + w1 * (gk - m[k])
        vk = b2 * v[k] + w2 * gk * gk
        m[k] = mk
        v[k] = vk
        p[k] -= step_size * mk / (np.sqrt(vk) / bc2_sqrt + eps)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def sigmoid(x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _select(blocks, p):
    """Model p's views of P-leading Params."""
    return Params(blocks.w_ih[p], blocks.w_out[p], blocks.w_hh[p], blocks.b_ih[p],
                  blocks.b_hh[p], blocks.b_out[p])


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _copy(src, dst):
    """dst = src, tensor by tensor (two Params of one model)."""
    dst.w_ih[:, :] = src.w_ih
    dst.w_out[:, :] = src.w_out
    dst.w_hh[:, :] = src.w_hh
    dst.b_ih[:] = src.b_ih
    dst.b_hh[:] = src.b_hh
    dst.b_out[:] = src.b_out


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def load(blocks, p, model):
    """Model p's parameters and moments from the P-leading blocks into its working copy
    (AdamStates both)."""
    _copy(_select(blocks.param, p), model.param)
    _copy(_select(blocks.m, p), model.m)
    _copy(_select(blocks.v, p), model.v)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def store(model, blocks, p):
    """The working copy back into model p's blocks."""
    _copy(model.param, _select(blocks.param, p))
    _copy(model.m, _select(blocks.m, p))
    _copy(model.v, _select(blocks.v, p))


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def readout_loss(h, w_out, b_out, logits, ce, dz, target, softmax_loss):
    """logits = W_out h + b_out; the loss, and its gradient w.r.t. the logits in dz.

    ce is what CrossEntropyLoss is applied to: the softmax of the logits (the notebook's
    loss, which log-softmaxes them again) or the logits.
    """
    a, hid = w_out.shape
    one = np.float32(1.0)
    for q in range(a):
        s = b_out[q]
        for k in range(hid):
            s += h[k] * w_out[q, k]
        logits[q] = s
    if softmax_loss:
        _softmax(logits, ce)
        _softmax(ce, dz)  # CrossEntropyLoss applied to the probabilities
        dz[target] -= one
        dot = np.float32(0.0)
        for q in range(a):
            dot += ce[q] * dz[q]
        for q in range(a):
            dz[q] = ce[q] * (dz[q] - dot)
    else:
        for q in range(a):
            ce[q] = logits[q]
        _softmax(logits, dz)
        dz[target] -= one
    mx = ce[0]
    for q in range(1, a):
        mx = max(mx, ce[q])
    se = 0.0
    for q in range(a):
        se += np.exp(np.float64(ce[q] - mx))
    return np.log(se) + mx - ce[target]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def readout_backward(dz, w_out, dh):
    """dh = dz W_out, with W_out as it is before this step's update."""
    a, hid = w_out.shape
    dh[:] = 0.0
    for q in range(a):
        dq = dz[q]
        for k in range(hid):
            dh[k] += dq * w_out[q, k]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def readout_adam(h, dz, grad_out, w_out, m_out, v_out, step):
    """Adam on W_out, whose row q's gradient is dz[q] h (b_out's is dz)."""
    a, hid = w_out.shape
    for q in range(a):
        dq = dz[q]
        for k in range(hid):
            grad_out[k] = dq * h[k]
        adam_update(w_out[q], m_out[q], v_out[q], grad_out, step)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def gate_inputs(w_row, b_ih, w_hh, b_hh, h, char, ig, hg):
    """The GRU's and the RNN's gate inputs: ig = W_ih[x] + b_ih (w_row = W_ih[x]), hg = b_hh +
    h W_hh (zero h with a reset before every letter)."""
    g = ig.shape[0]
    for j in range(g):
        ig[j] = w_row[j] + b_ih[j]
        hg[j] = b_hh[j]
    if not char:
        for k in range(h.shape[0]):
            hk = h[k]
            for j in range(g):
                hg[j] += hk * w_hh[k, j]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _chain(w_hh, dgates, out):
    """out = W_hh dgates (engine layout w_hh (H, G H)): the gradient reaching the previous
    state through the gates, with W_hh as it is now."""
    for k in range(w_hh.shape[0]):
        acc = np.float32(0.0)
        for j in range(w_hh.shape[1]):
            acc += w_hh[k, j] * dgates[j]
        out[k] = acc


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _window_sum(dpre, nw, row):
    """row = the sum over the window's nw steps of dpre (a bias's gradient)."""
    for j in range(row.shape[0]):
        acc = np.float32(0.0)
        for jw in range(nw):
            acc += dpre[jw, j]
        row[j] = acc


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _inputs_adam(letters, dpre, grad_ih, w_ih, m_ih, v_ih, step):
    """Adam on W_ih: the one-hot input makes row x of its gradient the sum of dpre over the
    window's steps that read letter x (letters: the window's, oldest first)."""
    g = grad_ih.shape[1]
    for s in range(letters.shape[0]):
        xs = letters[s]
        for j in range(g):
            grad_ih[xs, j] += dpre[s, j]
    adam_update(w_ih.reshape(-1), m_ih.reshape(-1), v_ih.reshape(-1), grad_ih.reshape(-1), step)
    for s in range(letters.shape[0]):
        grad_ih[letters[s], :] = 0.0


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _recurrent_adam(h_window, dpre, row, w_hh, m_hh, v_hh, step):
    """Adam on W_hh, whose gradient row k is sum over the window of h_{s-1}[k] * dpre_s
    (h_window: the h fed to each of the window's steps)."""
    nw = h_window.shape[0]
    for k in range(w_hh.shape[0]):
        _outer_row(h_window[:, k], dpre, nw, row)
        adam_update(w_hh[k], m_hh[k], v_hh[k], row, step)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def lstm_cell(pre, c, h, fac, kk, fgate):
    """One LSTM step from its gate pre-activations `pre` (blocks i, f, g, o of H): the cell
    c updated in place, the new state into h, and the local derivatives every backward pass
    through this step reuses: the gate gradients are [dc, dc, dc, dh] * fac (lstm_gate_grads),
    dc gains dh * kk, and dc * fgate reaches the step before."""
    hid = c.shape[0]
    one = np.float32(1.0)
    for k in range(hid):
        i_g = sigmoid(pre[k])
        f_g = sigmoid(pre[hid + k])
        g_g = np.tanh(pre[2 * hid + k])
        o_g = sigmoid(pre[3 * hid + k])
        cp = c[k]
        cn = f_g * cp + i_g * g_g
        c[k] = cn
        tc = np.tanh(cn)
        h[k] = o_g * tc
        fac[k] = g_g * i_g * (one - i_g)
        fac[hid + k] = cp * f_g * (one - f_g)
        fac[2 * hid + k] = i_g * (one - g_g * g_g)
        fac[3 * hid + k] = tc * o_g * (one - o_g)
        kk[k] = o_g * (one - tc * tc)
        fgate[k] = f_g


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def lstm_gate_grads(dc, dh, fac, out):
    """out = the gradients of one LSTM step's gate pre-activations, [dc, dc, dc, dh] * fac."""
    hid = dc.shape[0]
    for k in range(hid):
        out[k] = dc[k] * fac[k]
        out[hid + k] = dc[k] * fac[hid + k]
        out[2 * hid + k] = dc[k] * fac[2 * hid + k]
        out[3 * hid + k] = dh[k] * fac[3 * hid + k]


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def gru_cell(ig, hg, hs, t, fac, zz):
    """GRU step t as ATen's CPU cell computes it, from ig = W_ih x + b_ih and hg = W_hh hs[t]
    + b_hh (gates r, z, n): the new state into hs[t + 1], and the local derivatives every
    backward pass reuses (see _gated_model_epoch): A, B, C and r in fac[t], z in zz[t].
    Indexed rows of whole arrays, not row views: with views LLVM must check at run time that
    hs[t] and hs[t + 1] do not overlap, and at widths off the vector width it then rounds
    differently."""
    hid = hs.shape[1]
    one = np.float32(1.0)
    for k in range(hid):
        hp = hs[t, k]
        r = sigmoid(hg[k] + ig[k])
        z = sigmoid(hg[hid + k] + ig[hid + k])
        hn = hg[2 * hid + k]
        nn_ = np.tanh(ig[2 * hid + k] + hn * r)
        hs[t + 1, k] = (hp - nn_) * z + nn_
        fac[t, k] = (hp - nn_) * z * (one - z)
        fac[t, hid + k] = (one - z) * (one - nn_ * nn_)
        fac[t, 2 * hid + k] = hn * r * (one - r)
        fac[t, 3 * hid + k] = r
        zz[t, k] = z


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def rnn_cell(ig, hg, h, fac):
    """One tanh-RNN step: h = tanh(hg + ig), and its local derivative 1 - h^2 in fac."""
    one = np.float32(1.0)
    for k in range(h.shape[0]):
        hn = np.tanh(hg[k] + ig[k])
        h[k] = hn
        fac[k] = one - hn * hn


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def gated_gate_grads(dh, fac, dig, dhg, gru):
    """The gradients of one GRU (gru=True) or tanh-RNN step's input side (dig) and hidden
    side (dhg) from dh, the gradient reaching its new state."""
    hid = dh.shape[0]
    if gru:
        for k in range(hid):
            d = dh[k]
            dpn = d * fac[hid + k]
            dr = dpn * fac[2 * hid + k]
            dzg = d * fac[k]
            dig[k] = dr
            dig[hid + k] = dzg
            dig[2 * hid + k] = dpn
            dhg[k] = dr
            dhg[hid + k] = dzg
            dhg[2 * hid + k] = dpn * fac[3 * hid + k]
    else:
        for k in range(hid):
            dpre = dh[k] * fac[k]
            dig[k] = dpre
            dhg[k] = dpre


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _train_lstm(blocks, work, idx, opts, losses):
    """Every model's epoch in turn, each on the aligned working copy; losses (P, n)."""
    for p in range(blocks.param.w_ih.shape[0]):
        load(blocks, p, work.model)
        _lstm_model_epoch(work, idx, opts, losses[p])
        store(work.model, blocks, p)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _lstm_model_epoch(work, idx, opts, losses):
    """One model's epoch on its aligned working copy; losses (n,)."""
    w_ih, w_out, w_hh, b_ih, b_hh, b_out = work.model.param
    m_ih, m_out, m_hh, m_bih, m_bhh, m_bout = work.model.m
    v_ih, v_out, v_hh, v_bih, v_bhh, v_bout = work.model.v
    hs, fac, kk, fgate, dpre, pre, c, dc, row, grad_ih = work.scratch
    logits, ce, dz, dh, grad_out = work.readout
    window, char, softmax_loss = opts.window, opts.char, opts.softmax_loss
    a, g4 = w_ih.shape
    hid = g4 // 4
    n = idx.shape[0]
    c[:] = 0.0
    hs[0, :] = 0.0  # hs[t] is the h fed to step t
    grad_ih[:, :] = 0.0
    for t in range(n):
        step = adam_step(opts.lr, opts.step0 + t + 1)
        if char:
            c[:] = 0.0
        x = idx[t]
        # Forward: gates = W_ih[x] + h W_hh + b_ih + b_hh.
        for j in range(g4):
            pre[j] = w_ih[x, j]
        if not char:
            for k in range(hid):
                hk = hs[t, k]
                for j in range(g4):
                    pre[j] += hk * w_hh[k, j]
        for j in range(g4):
            pre[j] = pre[j] + b_ih[j] + b_hh[j]
        lstm_cell(pre, c, hs[t + 1], fac[t], kk[t], fgate[t])
        h = hs[t + 1]
        losses[t] = readout_loss(h, w_out, b_out, logits, ce, dz, idx[(t + 1) % n], softmax_loss)
        readout_backward(dz, w_out, dh)
        # Back through the window, newest step first, with the current weights.
        lo = max(0, t - window + 1)
        for k in range(hid):
            dc[k] = dh[k] * kk[t, k]
        for s in range(t, lo - 1, -1):
            if s < t:
                for k in range(hid):
                    dc[k] += dh[k] * kk[s, k]
            jw = s - lo
            lstm_gate_grads(dc, dh, fac[s], dpre[jw])
            if s > lo:
                _chain(w_hh, dpre[jw], dh)
                for k in range(hid):
                    dc[k] *= fgate[s, k]
        nw = t - lo + 1
        # Gradients, each handed to Adam as soon as it is complete.
        _window_sum(dpre, nw, row)
        adam_update(b_ih, m_bih, v_bih, row, step)
        adam_update(b_hh, m_bhh, v_bhh, row, step)
        readout_adam(h, dz, grad_out, w_out, m_out, v_out, step)
        adam_update(b_out, m_bout, v_bout, dz, step)
        _inputs_adam(idx[lo:t + 1], dpre, grad_ih, w_ih, m_ih, v_ih, step)
        if not char:
            _recurrent_adam(hs[lo:t + 1], dpre, row, w_hh, m_hh, v_hh, step)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _outer_row(hcol, dpre, nw, row):
    """row = sum over jw < nw of hcol[jw] * dpre[jw]: four window steps per pass over row,
    so row is loaded and stored a quarter as often (this loop is bound by L1 traffic)."""
    row[:] = 0.0
    jw = 0
    while jw + 4 <= nw:
        h0, h1, h2, h3 = hcol[jw], hcol[jw + 1], hcol[jw + 2], hcol[jw + 3]
        for j in range(row.shape[0]):
            row[j] += (h0 * dpre[jw, j] + h1 * dpre[jw + 1, j]
                       + h2 * dpre[jw + 2, j] + h3 * dpre[jw + 3, j])
        jw += 4
    while jw < nw:
        h0 = hcol[jw]
        for j in range(row.shape[0]):
            row[j] += h0 * dpre[jw, j]
        jw += 1


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _softmax(x, out):
    """out = softmax(x). Each loop either reduces or stores, never both: a loop that does
    both is vectorized only when LLVM's runtime check finds the two arrays far enough
    apart in memory, and the vector and scalar sums round differently."""
    mx = x[0]
    for q in range(1, x.shape[0]):
        mx = max(mx, x[q])
    for q in range(x.shape[0]):
        out[q] = np.exp(x[q] - mx)
    total = np.float32(0.0)
    for q in range(x.shape[0]):
        total += out[q]
    for q in range(x.shape[0]):
        out[q] /= total


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _emit(h, w_out, b_out, logits, x, probs_feedback):
    """The letter a generation step outputs (the argmax of the logits, the first on a tie as
    torch.argmax), and the next input x: the softmax of the logits, or that letter one-hot."""
    a, hid = w_out.shape
    best = 0
    for q in range(a):
        s = b_out[q]
        for k in range(hid):
            s += h[k] * w_out[q, k]
        logits[q] = s
        if s > logits[best]:
            best = q
    if probs_feedback:
        _softmax(logits, x)
    else:
        x[:] = 0.0
        x[best] = np.float32(1.0)
    return best


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _generate_lstm(blocks, work, first, steps, char, probs_feedback, out):
    """Every model generates `steps` letters from `first` and a fresh state; out (P, steps).

    The float32 arithmetic of seqmem.kernel_torch.generate: gates = x W_ih + b_ih + b_hh +
    h W_hh, the argmax letter is the output, and the next input x is the softmax of the
    logits (probs_feedback) or that letter one-hot. Only the parameters are read.
    """
    one = np.float32(1.0)
    param = work.model.param
    w_ih, w_out, w_hh, b_ih, b_hh, b_out = param
    gen = work.generation
    x, h, c, pre, logits = gen.x, gen.h, gen.c, gen.pre, gen.logits
    a, g4 = w_ih.shape
    hid = g4 // 4
    for p in range(blocks.param.w_ih.shape[0]):
        _copy(_select(blocks.param, p), param)
        x[:] = 0.0
        x[first] = one
        h[:] = 0.0
        c[:] = 0.0
        for t in range(steps):
            if char:
                h[:] = 0.0
                c[:] = 0.0
            for j in range(g4):
                pre[j] = b_ih[j] + b_hh[j]
            for q in range(a):
                xq = x[q]
                if xq != 0.0:
                    for j in range(g4):
                        pre[j] += xq * w_ih[q, j]
            for k in range(hid):
                hk = h[k]
                for j in range(g4):
                    pre[j] += hk * w_hh[k, j]
            for k in range(hid):
                cn = sigmoid(pre[hid + k]) * c[k] + sigmoid(pre[k]) * np.tanh(pre[2 * hid + k])
                c[k] = cn
                h[k] = sigmoid(pre[3 * hid + k]) * np.tanh(cn)
            out[p, t] = _emit(h, w_out, b_out, logits, x, probs_feedback)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _train_gated(blocks, work, idx, opts, losses, gru):
    """_train_lstm for the GRU (gru=True) and the tanh RNN."""
    for p in range(blocks.param.w_ih.shape[0]):
        load(blocks, p, work.model)
        _gated_model_epoch(work, idx, opts, losses[p], gru)
        store(work.model, blocks, p)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _gated_model_epoch(work, idx, opts, losses, gru):
    """One GRU or tanh-RNN model's epoch, with the stale-activation semantics of the LSTM's.

    As ATen's CPU cells compute them, with ig = W_ih x + b_ih and hg = W_hh h + b_hh:
    GRU (gates r, z, n): r = s(hg_r + ig_r), z = s(hg_z + ig_z), n = tanh(ig_n + r hg_n),
    h' = (h - n) z + n; RNN: h' = tanh(hg + ig). Each step stores the local derivatives
    every later backward pass reuses: for the GRU A = (h - n) z (1 - z), B = (1 - z)(1 - n^2),
    C = hg_n r (1 - r) and r (in fac), and z; for the RNN 1 - h'^2 (in fac).
    """
    w_ih, w_out, w_hh, b_ih, b_hh, b_out = work.model.param
    m_ih, m_out, m_hh, m_bih, m_bhh, m_bout = work.model.m
    v_ih, v_out, v_hh, v_bih, v_bhh, v_bout = work.model.v
    hs, fac, zz, dig, dhg, ig, hg, dprev, row, grad_ih = work.scratch
    logits, ce, dz, dh, grad_out = work.readout
    window, char, softmax_loss = opts.window, opts.char, opts.softmax_loss
    hid = w_hh.shape[0]
    n = idx.shape[0]
    hs[0, :] = 0.0  # hs[t] is the h fed to step t
    grad_ih[:, :] = 0.0
    for t in range(n):
        step = adam_step(opts.lr, opts.step0 + t + 1)
        if char:
            hs[t, :] = 0.0
        gate_inputs(w_ih[idx[t]], b_ih, w_hh, b_hh, hs[t], char, ig, hg)
        if gru:
            gru_cell(ig, hg, hs, t, fac, zz)
        else:
            rnn_cell(ig, hg, hs[t + 1], fac[t])
        h = hs[t + 1]
        losses[t] = readout_loss(h, w_out, b_out, logits, ce, dz, idx[(t + 1) % n], softmax_loss)
        readout_backward(dz, w_out, dh)
        # Back through the window, newest step first, with the current weights.
        lo = max(0, t - window + 1)
        for s in range(t, lo - 1, -1):
            jw = s - lo
            gated_gate_grads(dh, fac[s], dig[jw], dhg[jw], gru)
            if s > lo:
                _chain(w_hh, dhg[jw], dprev)
                if gru:
                    for k in range(hid):
                        dh[k] = dh[k] * zz[s, k] + dprev[k]
                else:
                    for k in range(hid):
                        dh[k] = dprev[k]
        nw = t - lo + 1
        _window_sum(dig, nw, row)
        adam_update(b_ih, m_bih, v_bih, row, step)
        _window_sum(dhg, nw, row)
        adam_update(b_hh, m_bhh, v_bhh, row, step)
        readout_adam(h, dz, grad_out, w_out, m_out, v_out, step)
        adam_update(b_out, m_bout, v_bout, dz, step)
        _inputs_adam(idx[lo:t + 1], dig, grad_ih, w_ih, m_ih, v_ih, step)
        if not char:
            _recurrent_adam(hs[lo:t + 1], dhg, row, w_hh, m_hh, v_hh, step)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _generate_gated(blocks, work, first, steps, char, probs_feedback, out, gru):
    """_generate_lstm for the GRU (gru=True) and the tanh RNN, as their epochs compute a step."""
    one = np.float32(1.0)
    param = work.model.param
    w_ih, w_out, w_hh, b_ih, b_hh, b_out = param
    gen = work.generation
    x, h, h_new, ig, hg, logits = gen.x, gen.h, gen.h_new, gen.ig, gen.hg, gen.logits
    hid = w_hh.shape[0]
    a, g = w_ih.shape
    for p in range(blocks.param.w_ih.shape[0]):
        _copy(_select(blocks.param, p), param)
        x[:] = 0.0
        x[first] = one
        h[:] = 0.0
        for t in range(steps):
            if char:
                h[:] = 0.0
            for j in range(g):
                ig[j] = b_ih[j]
                hg[j] = b_hh[j]
            for q in range(a):
                xq = x[q]
                if xq != 0.0:
                    for j in range(g):
                        ig[j] += xq * w_ih[q, j]
            for k in range(hid):
                hk = h[k]
                for j in range(g):
                    hg[j] += hk * w_hh[k, j]
            for k in range(hid):
                if gru:
                    r = sigmoid(hg[k] + ig[k])
                    z = sigmoid(hg[hid + k] + ig[hid + k])
                    nn_ = np.tanh(ig[2 * hid + k] + hg[2 * hid + k] * r)
                    h_new[k] = (h[k] - nn_) * z + nn_
                else:
                    h_new[k] = np.tanh(hg[k] + ig[k])
            h[:] = h_new
            out[p, t] = _emit(h, w_out, b_out, logits, x, probs_feedback)
