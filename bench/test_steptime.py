"""pytest-benchmark of the online per-step update (forward, loss, backward, Adam).

Run with `pytest bench --benchmark-only -n 0` (not part of the normal test run), or
`python -m bench.steptime` for the summary table with ratios.

Each round trains one epoch of the alphabet (n = 26 steps) and the time is divided
by n. For bptt "epoch" the backward at step t runs through t+1 steps, so the
epoch average is the cost of the step at the middle of the epoch.
bptt 1 is the notebook's one_step mode (state reset before every character).
impl "population" is the population engine as it runs on a CPU (the numba kernels; offline,
seqmem.kernel_offline), "population_torch" the same engine with its torch kernel (the one
for GPUs; offline, seqmem.offline), "jax_vmap" the capacity study's steps written in JAX
(bench.jax_steps), one jit(vmap) over the population. The JAX rows need jax
(`pip install -e ".[jax]"`) and are skipped without it; they are recorded only after
matching the engine's first-epoch losses.
"""

import numpy as np
import pytest
import torch
from torch import nn

from seqmem import kernel_numba, kernel_torch
from seqmem.config import preset
from seqmem.kernel_numba import Workspace
from seqmem.kernel_torch import Activations
from seqmem.model import build_model, stacked_weights
from seqmem.population import KERNELS, Population
from seqmem.reference import _train_epoch as reference_epoch
from seqmem.sequences import encode
from tests.notebook import ALPHABET, DataAdam, LSTMMod, notebook_epoch

torch.set_num_threads(1)
N = 26
SEQUENCE = ALPHABET
UNITS = [32, 128]
BPTT = [1, "epoch"]


def _record(benchmark, impl, p, h, bptt, cell="lstm"):
    # bptt 1 is timed as the notebook's one_step mode: the state reset before every letter.
    benchmark.extra_info.update(impl=impl, P=p, H=h, bptt=str(bptt),
                                reset="char" if bptt == 1 else "epoch", cell=cell, n=N)
    # Filled in after the run by the hook below, from the measured median.
    benchmark.extra_info["steps_per_round"] = N * p


def _reference_args(cfg, idx, cell="lstm"):
    """The reference trainer's epoch arguments for `cfg` on the letters `idx` (numpy):
    seed-0 model, Adam on shadow copies, one-hot inputs and next-letter targets."""
    model = build_model(0, cfg.units, cell=cell)
    params = list(model.parameters())
    shadow = [q.detach().clone().requires_grad_(True) for q in params]
    opt = torch.optim.Adam(shadow, lr=cfg.lr)
    idx = torch.from_numpy(idx)
    inputs, targets = torch.eye(26)[idx].unsqueeze(1), idx.roll(-1).unsqueeze(1)
    return (model, params, shadow, opt, nn.CrossEntropyLoss(), nn.Softmax(dim=-1), inputs,
            targets, cfg, 0)


def _rounds(p, h, bptt):
    return 3 if p * h * (N if bptt == "epoch" else 1) > 64 * 128 else 8


@pytest.mark.parametrize("bptt", BPTT)
@pytest.mark.parametrize("h", UNITS)
def test_notebook(benchmark, h, bptt):
    torch.manual_seed(0)
    model = LSTMMod(26, h, 26)
    one_step = bptt == 1
    # On today's PyTorch the stateful loop only runs with the 2019 p.data update.
    opt = torch.optim.Adam(model.parameters(), lr=1e-3) if one_step else DataAdam(model.parameters(), 1e-3)
    X = torch.eye(26).unsqueeze(1)
    labels = [torch.tensor([(i + 1) % N]) for i in range(N)]
    ce = nn.CrossEntropyLoss()
    _record(benchmark, "notebook", 1, h, bptt)
    benchmark.pedantic(notebook_epoch, args=(model, opt, ce, X, labels, one_step),
                       rounds=_rounds(1, h, bptt), warmup_rounds=1)


@pytest.mark.parametrize("bptt", BPTT)
@pytest.mark.parametrize("h", UNITS)
def test_reference(benchmark, h, bptt):
    cfg = preset("notebook", SEQUENCE, units=h, reset="char" if bptt == 1 else "epoch")
    args = _reference_args(cfg, encode(SEQUENCE))
    _record(benchmark, "reference", 1, h, bptt)
    benchmark.pedantic(reference_epoch, args=args, rounds=_rounds(1, h, bptt), warmup_rounds=1)


@pytest.mark.parametrize("bptt", BPTT)
@pytest.mark.parametrize("h", UNITS)
@pytest.mark.parametrize("p", [1, 8, 64, 256])
@pytest.mark.parametrize("kernel", KERNELS)
def test_population(benchmark, kernel, p, h, bptt):
    cfg = preset("notebook", SEQUENCE, units=h, reset="char" if bptt == 1 else "epoch")
    pop = Population(stacked_weights(list(range(p)), h))
    idx_np = encode(SEQUENCE)
    idx = torch.from_numpy(idx_np)
    act = Activations(N, h, 26, "cpu")
    window = 1 if bptt == 1 else N
    work = Workspace.allocate(N, h, 26, window)
    step = iter(range(1, 10**6))

    def epoch():
        if kernel == "numba":
            kernel_numba.train_epoch(pop, cfg, idx_np, window, work, N * next(step))
        else:
            with torch.inference_mode():  # as train_population runs it
                kernel_torch.train_epoch(pop, cfg, idx, idx.roll(-1), window, act,
                                         N * next(step))

    # "population" is what train_population runs on a CPU (the numba kernel).
    _record(benchmark, "population" if kernel == "numba" else "population_torch", p, h, bptt)
    benchmark.pedantic(epoch, rounds=_rounds(p, h, bptt), warmup_rounds=1)


@pytest.mark.parametrize("h", UNITS)
@pytest.mark.parametrize("impl", ["reference", "population", "population_torch"])
@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_cells(benchmark, cell, impl, h):
    """The GRU and the RNN, full-epoch BPTT: the reference and both kernels at P=8 (the LSTM
    rows of the same kind are test_reference and test_population)."""
    cfg = preset("notebook", SEQUENCE, units=h, cell=cell)
    p = 1 if impl == "reference" else 8
    _record(benchmark, impl, p, h, "epoch", cell)
    if impl == "reference":
        benchmark.pedantic(reference_epoch, args=_reference_args(cfg, encode(SEQUENCE), cell),
                           rounds=_rounds(1, h, "epoch"), warmup_rounds=1)
        return
    pop = Population(stacked_weights(list(range(p)), h, cell=cell))
    idx_np = encode(SEQUENCE)
    idx = torch.from_numpy(idx_np)
    work = Workspace.allocate(N, h, 26, N, cell)
    step = iter(range(1, 10**6))

    def epoch():
        if impl == "population":
            kernel_numba.train_epoch(pop, cfg, idx_np, N, work, N * next(step))
        else:
            with torch.inference_mode():
                kernel_torch.train_epoch(pop, cfg, idx, idx.roll(-1), N, None, N * next(step))

    benchmark.pedantic(epoch, rounds=_rounds(p, h, "epoch"), warmup_rounds=1)


WINDOW = 16
LONG = encode("".join(ALPHABET[i % 26] for i in range(7 * 11 * 13)))[:256]  # 256 letters
# Population sizes of the capacity study's steps: a capacity point trains 2 seeds, a
# frontier point 4; larger P shows what batching the seeds buys each implementation.
WINDOWED_P = [4, 16, 64]
OFFLINE_P = [2, 4, 16, 64]
# The JAX rows are recorded only after their first epoch's losses matched the engine's from
# the same weights (for up to this many models): float32 rounding, amplified by 256 steps.
JAX_CHECKED_MODELS, JAX_RTOL, JAX_ATOL = 4, 1e-4, 1e-6


def _capacity_cases(ps):
    """(impl, P) of one capacity step: the reference trains one model."""
    return [pytest.param("reference", 1, id="reference-P1")] + [
        pytest.param(impl, p, id=f"{impl}-P{p}")
        for impl in ("population", "population_torch", "jax_vmap") for p in ps]


def _windowed_config(h):
    return preset("clean", "".join(ALPHABET[k] for k in LONG), units=h, bptt=WINDOW)


def _offline_config(h):
    return preset("clean", "".join(ALPHABET[k] for k in LONG), units=h, update="chunk", chunk=64,
                  schedule="cosine", clip=1.0, lr=3e-3, max_epochs=1000)


def _record_jax(benchmark):
    import jax
    import jaxlib

    benchmark.extra_info.update(jax_version=jax.__version__, jaxlib_version=jaxlib.__version__)


def _engine_windowed_losses(cfg, p):
    """The numba engine's first epoch of models 0..p-1: losses (p, n)."""
    pop = Population(stacked_weights(list(range(p)), cfg.units))
    work = Workspace.allocate(len(LONG), cfg.units, 26, WINDOW)
    return kernel_numba.train_epoch(pop, cfg, LONG, WINDOW, work, 0)


def _jax_windowed(cfg, p):
    """JAX's windowed epoch of models 0..p-1 as (epoch(), its first epoch's losses (p, n))."""
    from bench import jax_steps

    w = jax_steps.from_torch(stacked_weights(list(range(p)), cfg.units))
    state = [w, jax_steps.zeros_like(w), jax_steps.zeros_like(w)]
    targets, n = jax_steps.targets_of(LONG), len(LONG)
    done = iter(range(10**6))  # epochs trained

    def epoch():
        first = n * next(done) + 1
        coefs = jax_steps.adam_coefficients(cfg.lr, range(first, first + n))
        w, m, v, losses = jax_steps.windowed_epoch(*state, LONG, targets, coefs, window=WINDOW)
        state[:] = [w, m, v]  # the old buffers were donated to the call
        return losses.block_until_ready()

    return epoch, np.asarray(epoch())


def _engine_offline_losses(cfg, p):
    from seqmem.offline import train_epoch_offline

    pop = Population(stacked_weights(list(range(p)), cfg.units))
    return train_epoch_offline(pop, cfg, torch.from_numpy(LONG), 0)


def _jax_offline(cfg, p):
    """JAX's offline pass of models 0..p-1 as (one_pass(), its first pass's losses (p, n)).
    Every pass takes the first pass's lr and step numbers, as the engine's benchmark does."""
    from bench import jax_steps
    from seqmem.schedule import lr_at

    w = jax_steps.from_torch(stacked_weights(list(range(p)), cfg.units))
    state = [w, jax_steps.zeros_like(w), jax_steps.zeros_like(w)]
    updates = len(LONG) // cfg.chunk
    coefs = jax_steps.adam_coefficients([lr_at(cfg, u) for u in range(updates)], range(1, updates + 1))
    targets = jax_steps.targets_of(LONG)

    def one_pass():
        w, m, v, losses = jax_steps.offline_pass(*state, LONG, targets, coefs, chunk=cfg.chunk,
                                                 clip=cfg.clip)
        state[:] = [w, m, v]
        return losses.block_until_ready()

    return one_pass, np.asarray(one_pass())


def _assert_same_losses(jax_losses, engine_losses, what):
    k = engine_losses.shape[0]
    np.testing.assert_allclose(jax_losses[:k], engine_losses, rtol=JAX_RTOL, atol=JAX_ATOL,
                               err_msg=f"{what}: JAX and the engine disagree on the first epoch")


@pytest.mark.parametrize("h", [8, 32])
def test_jax_computes_the_engines_windowed_and_offline_steps(h):
    """Not a timing: JAX's first epoch (windowed) and first pass (offline) from
    stacked_weights give the engine's losses for the same models. The benchmarks below
    check the same before timing; this runs without --benchmark-only."""
    pytest.importorskip("jax")
    p = 3
    _, losses = _jax_windowed(_windowed_config(h), p)
    _assert_same_losses(losses, _engine_windowed_losses(_windowed_config(h), p), f"windowed H={h}")
    _, losses = _jax_offline(_offline_config(h), p)
    _assert_same_losses(losses, _engine_offline_losses(_offline_config(h), p), f"offline H={h}")


@pytest.mark.parametrize("h", [32, 64, 128], ids=lambda h: f"H{h}")
@pytest.mark.parametrize(("impl", "p"), _capacity_cases(WINDOWED_P))
def test_windowed(benchmark, impl, p, h):
    """The frontier's and the capacity study's online step: a 16-step window, state kept, on
    a 256-letter sequence (the window is full from the 16th letter on), one Adam step per
    letter. The reference trains one model; the engine (both kernels) and JAX's
    jit(vmap) population P models."""
    cfg = _windowed_config(h)
    n = len(LONG)
    _record(benchmark, impl, p, h, WINDOW)
    benchmark.extra_info.update(steps_per_round=n * p, n=n)
    if impl == "reference":
        benchmark.pedantic(reference_epoch, args=_reference_args(cfg, LONG), rounds=2,
                           warmup_rounds=1)
        return
    rounds = 5 if p * h <= 16 * 64 else 3
    step = iter(range(1, 10**6))
    if impl == "jax_vmap":
        pytest.importorskip("jax")
        epoch, losses = _jax_windowed(cfg, p)
        _assert_same_losses(losses, _engine_windowed_losses(cfg, min(p, JAX_CHECKED_MODELS)), impl)
        _record_jax(benchmark)
        benchmark.pedantic(epoch, rounds=rounds, warmup_rounds=1)
        return
    pop = Population(stacked_weights(list(range(p)), h))
    if impl == "population":
        work = Workspace.allocate(n, h, 26, WINDOW)
        benchmark.pedantic(
            lambda: kernel_numba.train_epoch(pop, cfg, LONG, WINDOW, work, n * next(step)),
            rounds=rounds, warmup_rounds=1)
        return
    idx = torch.from_numpy(LONG)
    act = Activations(n, h, 26, "cpu")

    @torch.inference_mode()  # as train_population runs it
    def epoch():
        kernel_torch.train_epoch(pop, cfg, idx, idx.roll(-1), WINDOW, act, n * next(step))

    benchmark.pedantic(epoch, rounds=rounds, warmup_rounds=1)


def _offline_cases():
    """(cell, H, impl, P) of the offline benchmark: the LSTM at 16-64 units in every
    implementation, and the capacity study's GRU 10 and RNN 19 (JAX writes only the LSTM)."""
    lstm = [pytest.param("lstm", h, *c.values, id=f"lstm-H{h}-{c.id}")
            for h in (16, 32, 64) for c in _capacity_cases(OFFLINE_P)]
    return lstm + [pytest.param(cell, h, *c.values, id=f"{cell}-H{h}-{c.id}")
                   for cell, h in (("gru", 10), ("rnn", 19)) for c in _capacity_cases([2, 16])
                   if c.values[0] != "jax_vmap"]


@pytest.mark.parametrize(("cell", "h", "impl", "p"), _offline_cases())
def test_offline(benchmark, cell, h, impl, p):
    """One offline pass (chunks of 64, cosine lr, clipping) over 256 letters: per model and
    letter, the reference (nn layer + autograd + torch.optim.Adam) against the engine's two
    offline paths, compiled (seqmem.kernel_offline, the CPU default) and torch
    (seqmem.offline, the GPU one), and JAX's jit(vmap) population of P models."""
    cfg = _offline_config(h).replace(cell=cell)
    n = len(LONG)
    _record(benchmark, impl, p, h, "chunk64", cell)
    benchmark.extra_info.update(steps_per_round=n * p, n=n)
    if impl == "reference":
        from seqmem.reference import _train_pass_offline

        benchmark.pedantic(_train_pass_offline, args=_reference_args(cfg, LONG, cell), rounds=3,
                           warmup_rounds=1)
        return
    if impl == "jax_vmap":
        pytest.importorskip("jax")
        one_pass, losses = _jax_offline(cfg, p)
        _assert_same_losses(losses, _engine_offline_losses(cfg, min(p, JAX_CHECKED_MODELS)), impl)
        _record_jax(benchmark)
        benchmark.pedantic(one_pass, rounds=5, warmup_rounds=1)
        return
    pop = Population(stacked_weights(list(range(p)), h, cell=cell))
    if impl == "population":
        from seqmem import kernel_offline

        work = Workspace.allocate(n, h, 26, 1, cell)
        chunks = kernel_offline.OfflineWorkspace.allocate(cfg.chunk, h, 26, cell)
        benchmark.pedantic(kernel_offline.train_epoch, args=(pop, cfg, LONG, work, chunks, 0),
                           rounds=5, warmup_rounds=1)
        return
    from seqmem.offline import train_epoch_offline

    benchmark.pedantic(train_epoch_offline, args=(pop, cfg, torch.from_numpy(LONG), 0), rounds=5,
                       warmup_rounds=1)


@pytest.mark.parametrize("h", [4, 8, 16, 32])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bptt", ["rtrl", WINDOW])
def test_rtrl(benchmark, bptt, cell, h):
    """The exact online gradient (RTRL) beside the 16-step window it replaces, per cell and
    width, the compiled kernel with P = 2 (the rtrl spec's seeds) on the 256-letter sequence
    (the rtrl spec's frontier: 4-16 units). Both rows come from one benchmark run."""
    from seqmem import kernel_rtrl

    seq = "".join(ALPHABET[k] for k in LONG)
    cfg = preset("clean", seq, units=h, bptt=bptt, cell=cell)
    n, p = len(seq), 2
    pop = Population(stacked_weights(list(range(p)), h, cell=cell))
    work = Workspace.allocate(n, h, 26, 1 if bptt == "rtrl" else WINDOW, cell)
    sens = kernel_rtrl.RtrlWorkspace.allocate(h, 26, cell)
    step = iter(range(1, 10**6))
    _record(benchmark, "population", p, h, bptt, cell)
    benchmark.extra_info.update(steps_per_round=n * p, n=n)
    if bptt == "rtrl":
        def epoch():
            kernel_rtrl.train_epoch(pop, cfg, LONG, work, sens, n * next(step))
    else:
        def epoch():
            kernel_numba.train_epoch(pop, cfg, LONG, WINDOW, work, n * next(step))
    benchmark.pedantic(epoch, rounds=3 if h >= 32 else 5, warmup_rounds=1)


@pytest.mark.parametrize("h", [8, 32])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("impl", ["user", "population", "reference"])
def test_user_cell(benchmark, impl, cell, h):
    """A user's cell (seqmem.user_engine: vmap over functional_call, autograd) against the
    built-in kernels on the same cell: tests/fixtures/user_cells.py writes nn.LSTM's and
    nn.GRU's equations out in plain torch. A 16-step window on the 256-letter sequence,
    P = 2 (a capacity point's seeds); the reference trains one model."""
    from seqmem.user_engine import _Models, _online_epoch, _Optimizer

    seq = "".join(ALPHABET[k] for k in LONG)
    cfg = preset("clean", seq, units=h, bptt=WINDOW, cell=cell)
    n = len(seq)
    step = iter(range(1, 10**6))
    if impl == "reference":
        _record(benchmark, "reference", 1, h, WINDOW, cell)
        benchmark.extra_info.update(steps_per_round=n, n=n)
        benchmark.pedantic(reference_epoch, args=_reference_args(cfg, LONG, cell), rounds=2,
                           warmup_rounds=1)
        return
    p = 2
    _record(benchmark, impl, p, h, WINDOW, cell)
    benchmark.extra_info.update(steps_per_round=n * p, n=n)
    if impl == "population":
        pop = Population(stacked_weights(list(range(p)), h, cell=cell))
        work = Workspace.allocate(n, h, 26, WINDOW, cell)
        benchmark.pedantic(
            lambda: kernel_numba.train_epoch(pop, cfg, LONG, WINDOW, work, n * next(step)),
            rounds=5, warmup_rounds=1)
        return
    name = "tests/fixtures/user_cells.py:" + ("PlainLSTM" if cell == "lstm" else "PlainGRU")
    configs = [cfg.replace(cell=name, seed=s) for s in range(p)]
    models = _Models(configs, "vmap", torch.device("cpu"))
    opt = _Optimizer(models, configs[0])
    onehot = torch.eye(26)[torch.from_numpy(LONG)]
    benchmark.pedantic(lambda: _online_epoch(models, opt, configs[0], onehot, LONG[[*range(1, n), 0]],
                                             n * next(step)), rounds=2, warmup_rounds=1)
