"""bptt="rtrl": the exact online gradient, in the reference (autograd Jacobians) and in both
kernels of the population engine (hand-written Jacobians)."""

import numpy as np
import pytest
import torch

from seqmem import kernel_rtrl
from seqmem.config import preset
from seqmem.generate import uniform
from seqmem.kernel_numba import Workspace
from seqmem.kernel_rtrl import RtrlWorkspace, theta_size
from seqmem.model import build_model, stacked_weights
from seqmem.population import Population, train_population
from seqmem.reference import RECURRENT, rtrl_step, train_reference
from seqmem.rtrl import train_epoch_rtrl
from seqmem.sequences import encode

CELLS = ("lstm", "gru", "rnn")


def _full_bptt(model, idx, a):
    """Per step, the gradient of that step's loss w.r.t. the recurrent weights by autograd
    through every step since a fresh state (fresh activations: the weights never change)."""
    weights = dict(model.named_weights())
    dtype = weights["w_ih"].dtype
    onehot = torch.eye(a, dtype=dtype)[torch.from_numpy(idx)]
    out = []
    for t in range(len(idx)):
        hidden = model.layer(onehot[:t + 1].unsqueeze(0))[0]
        logits = model.lin(hidden[0, t])
        loss = torch.nn.functional.cross_entropy(logits.unsqueeze(0),
                                                 torch.tensor([idx[(t + 1) % len(idx)]]))
        grads = torch.autograd.grad(loss, [weights[k] for k in RECURRENT])
        out.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(out)


def _engine_layout(trace: np.ndarray, cell: str, units: int, a: int) -> torch.Tensor:
    """Kernel columns (W_ih (A, G), W_hh (H, G), b_ih, b_hh) -> nn layout, flattened."""
    g = trace.shape[-1] // (a + units + 2)
    t = torch.from_numpy(np.asarray(trace, dtype=np.float64))
    w_ih = t[:, :a * g].reshape(-1, a, g).transpose(1, 2).reshape(len(t), -1)
    w_hh = t[:, a * g:(a + units) * g].reshape(-1, units, g).transpose(1, 2).reshape(len(t), -1)
    return torch.cat([w_ih, w_hh, t[:, (a + units) * g:]], dim=1)


def _relative_errors(got: torch.Tensor, want: torch.Tensor) -> np.ndarray:
    return ((got.double() - want.double()).norm(dim=1) / want.double().norm(dim=1)).numpy()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("gen_seed,seed,length", [(5, 3, 72), (17, 11, 96)])
def test_with_the_weights_held_the_gradient_is_full_bptt(cell, gen_seed, seed, length):
    """lr 0: at every step of a 72- and a 96-letter sequence, RTRL's gradient (reference,
    numba and torch kernels) equals the gradient of full BPTT through fresh activations to
    float32 rounding."""
    sequence = uniform(length, 26, rng=np.random.default_rng(gen_seed))
    units, a = 6, 26
    cfg = preset("clean", sequence, units=units, seed=seed, bptt="rtrl", cell=cell)
    idx = encode(sequence)
    model = build_model(seed, units, a, cell)
    want = _full_bptt(model, idx, a)

    size = units * (2 if cell == "lstm" else 1)
    shapes = [w.shape for k, w in model.named_weights().items() if k in RECURRENT]
    state, sens = torch.zeros(size), [torch.zeros(size, *s) for s in shapes]
    onehot = torch.eye(a)[torch.from_numpy(idx)]
    ref = []
    for t in range(len(idx)):
        _, grads, state, sens = rtrl_step(model, state, sens, onehot[t],
                                          torch.tensor([idx[(t + 1) % len(idx)]]), "logits")
        ref.append(torch.cat([g.reshape(-1) for g in grads[:4]]))
    got = {"reference": torch.stack(ref)}

    pop = Population(stacked_weights([seed], units, a, cell=cell))
    trace = np.zeros((1, len(idx), theta_size(cell, units, a)), np.float32)
    kernel_rtrl.train_epoch(pop, cfg, idx, Workspace.allocate(len(idx), units, a, 1, cell),
                            RtrlWorkspace.allocate(units, a, cell), 0, trace, lr=0.0)
    got["numba"] = _engine_layout(trace[0], cell, units, a)
    pop = Population(stacked_weights([seed], units, a, cell=cell))
    steps = []
    with torch.inference_mode():
        train_epoch_rtrl(pop, cfg, torch.from_numpy(idx), torch.from_numpy(np.roll(idx, -1)), 0,
                         trace=steps, lr=0.0)
    got["torch"] = _engine_layout(torch.cat(steps).numpy(), cell, units, a)

    # the yardstick: BPTT itself in float64 against float32
    model64 = build_model(seed, units, a, cell).double()
    truth = _full_bptt(model64, idx, a)
    floor = _relative_errors(want, truth)
    assert np.median(floor) < 1e-6
    for name, g in got.items():
        err = _relative_errors(g, truth)
        assert err.max() < max(1e-6, 3 * floor.max()), (name, err.max(), floor.max())

    # The sequence is long enough for the exact gradient to matter: the one-step gradient
    # (sensitivities dropped after every step, the state kept) is far from it.
    state, one_step = torch.zeros(size), []
    for t in range(len(idx)):
        _, grads, state, _ = rtrl_step(model, state, [torch.zeros(size, *s) for s in shapes],
                                       onehot[t], torch.tensor([idx[(t + 1) % len(idx)]]),
                                       "logits")
        one_step.append(torch.cat([g.reshape(-1) for g in grads[:4]]))
    assert np.median(_relative_errors(torch.stack(one_step), truth)[8:]) > 0.05


@pytest.mark.slow
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reset,loss", [("epoch", "softmax"), ("epoch", "logits"),
                                        ("char", "logits")])
def test_step_losses_match_the_reference(cell, reset, loss):
    """300 steps at lr 0.01 (the weights move): every step's loss of both kernels agrees with
    the reference's autograd-Jacobian RTRL, for the second model of a population of two."""
    steps = 300
    seq = uniform(40, 26, rng=np.random.default_rng(11))
    configs = [preset("notebook", seq, units=8, seed=s, lr=0.01, bptt="rtrl", reset=reset,
                      loss=loss, max_epochs=-(-steps // len(seq)), eval_every=1000, cell=cell)
               for s in (0, 1)]
    ref = train_reference(configs[1].replace(engine="reference"), trace_steps=steps)
    assert np.ptp(ref.step_loss) > 0.5  # training moved the weights
    for kernel in ("numba", "torch"):
        rec = train_population(configs, trace_steps=steps, kernel=kernel)[1]
        np.testing.assert_allclose(rec.step_loss, ref.step_loss, rtol=2e-5, err_msg=kernel)


@pytest.mark.slow
@pytest.mark.parametrize("cell", CELLS)
def test_records_match_the_reference_on_short_runs(cell):
    configs = [preset("clean", "ABCDAE", units=8, seed=s, lr=0.01, bptt="rtrl", max_epochs=60,
                      eval_every=2, cell=cell) for s in (0, 1)]
    ref = [train_reference(c.replace(engine="reference")) for c in configs]
    for kernel in ("numba", "torch"):
        for p, r in zip(train_population(configs, kernel=kernel), ref, strict=True):
            assert (p.epochs_to_memorize, p.final_prefix, p.bits_stored) == pytest.approx(
                (r.epochs_to_memorize, r.final_prefix, r.bits_stored), rel=1e-4), kernel
    assert all(r.memorized for r in ref)


def test_rtrl_has_no_offline_form():
    with pytest.raises(ValueError, match="bptt='rtrl'"):
        preset("clean", "ABCD", bptt="rtrl", update="chunk")


def test_the_workspace_does_not_grow_with_length():
    """What RTRL keeps per model is set by the cell: (2 + G/H + [LSTM] 1) H |theta| floats."""
    ws = RtrlWorkspace.allocate(8, 26, "lstm")
    n = theta_size("lstm", 8, 26)
    assert n == 32 * (26 + 8 + 2)
    assert ws.nbytes < 4 * (2 * 8 + 8 + 4 + 1) * n + 4096
