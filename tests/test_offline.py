"""Offline training, the lr schedule, gradient clipping and training to the budget: the
population engine (its compiled offline kernel and its torch path) against the reference
trainer (autograd), and the options' errors."""

import numpy as np
import pytest
import torch

from seqmem.config import RunConfig
from seqmem.generate import uniform
from seqmem.population import default_kernel, train_population
from seqmem.reference import train_reference
from seqmem.schedule import lr_at

SEQ = uniform(40, 26, rng=np.random.default_rng(5))


def _both(configs, steps, kernel=None):
    pop = train_population(configs, trace_steps=steps, kernel=kernel)
    ref = train_reference(configs[1].replace(engine="reference"), trace_steps=steps)
    return pop[1], ref


OFFLINE = [
    dict(update="chunk", chunk=16),  # 40 letters: chunks of 16, 16, 8
    dict(update="chunk", loss="logits", lr=1e-2),  # one update per whole pass
    dict(update="chunk", chunk=7, schedule="cosine", warmup=0.2, clip=0.05, lr=3e-3),
]
ONLINE_TORCH = [
    dict(bptt=4, schedule="cosine", clip=0.05),
    dict(reset="char", bptt=1, warmup=0.3, clip=0.02, loss="logits"),
]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("opts,kernel", [*((o, k) for o in OFFLINE for k in ("numba", "torch")),
                                         *((o, "torch") for o in ONLINE_TORCH)])
def test_step_losses_match_the_reference(cell, opts, kernel):
    steps = 200
    configs = [RunConfig(SEQ, units=8, seed=s, max_epochs=5, eval_every=100, cell=cell, **opts)
               for s in (0, 1)]
    rec, ref = _both(configs, steps, kernel)
    assert rec.provenance.kernel == kernel
    np.testing.assert_allclose(rec.step_loss, ref.step_loss, rtol=1e-5)
    assert len(rec.step_loss) == steps


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_compiled_offline_kernel_agrees_with_the_torch_path(cell):
    """Every record of the compiled offline kernel (the CPU default) agrees with the torch
    path's to float32 rounding, across widths off the vector width and a clipped, warmed-up
    cosine schedule over 20 passes, and a model's record does not depend on its batch."""
    seq = uniform(50, 26, rng=np.random.default_rng(8))
    for units in (5, 17):
        configs = [RunConfig(seq, units=units, seed=s, max_epochs=20, eval_every=5, cell=cell,
                             update="chunk", chunk=12, schedule="cosine", warmup=0.1, clip=0.5,
                             lr=1e-2, loss="logits", stop="budget") for s in (0, 1, 2)]
        compiled = train_population(configs, trace_steps=1000)
        torch_path = train_population(configs, trace_steps=1000, kernel="torch")
        for a, b in zip(compiled, torch_path, strict=True):
            assert a.provenance.kernel == "numba" and b.provenance.kernel == "torch"
            np.testing.assert_allclose(a.step_loss, b.step_loss, rtol=1e-4)
            np.testing.assert_allclose(a.saved_curve, b.saved_curve, rtol=1e-4, atol=1e-3)
            assert a.bits_saved > a.saved_curve[0] + 10  # it trained: the options did not stall it
        alone = train_population(configs[2:], trace_steps=1000)[0]
        assert alone.step_loss == compiled[2].step_loss
        assert alone.saved_curve == compiled[2].saved_curve


def test_clipping_and_the_schedule_change_the_training():
    """The options are not no-ops: each one changes the losses against plain Adam."""
    base = dict(units=8, max_epochs=5, eval_every=100, update="chunk", chunk=8, lr=1e-2)
    plain = train_population([RunConfig(SEQ, **base)], trace_steps=200)[0].step_loss
    for extra in (dict(clip=0.01), dict(schedule="cosine"), dict(warmup=0.5)):
        other = train_population([RunConfig(SEQ, **base, **extra)], trace_steps=200)[0].step_loss
        assert plain[:8] == other[:8]  # the first chunk's losses come before any update
        assert np.max(np.abs(np.array(plain) - np.array(other))) > 1e-3, extra


def test_lr_schedule_is_torchs_cosine_annealing():
    config = RunConfig("ABCDEFGHIJ", lr=0.1, schedule="cosine", max_epochs=3)  # 30 updates
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30, eta_min=0.0)
    for u in range(30):
        assert lr_at(config, u) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9, abs=1e-12)
        opt.step()
        sched.step()
    warm = config.replace(warmup=0.1)  # 3 warm-up updates: lr/3, 2lr/3, lr, then the decay
    assert [lr_at(warm, u) for u in range(4)] == pytest.approx([0.1 / 3, 0.2 / 3, 0.1, 0.1])
    assert lr_at(warm, 29) == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 26 / 27)))
    chunked = RunConfig("ABCDEFGHIJ", update="chunk", chunk=4, max_epochs=3)
    assert chunked.updates_per_epoch == 3


def test_training_to_the_budget_keeps_the_first_success():
    seq = "ABCDEFGH"
    kw = dict(units=16, lr=3e-2, max_epochs=60, eval_every=5, loss="logits", feedback="onehot")
    early = train_population([RunConfig(seq, seed=s, **kw) for s in (0, 1)])
    full = train_population([RunConfig(seq, seed=s, stop="budget", **kw) for s in (0, 1)])
    for e, f in zip(early, full, strict=True):
        assert e.memorized and e.epochs_to_memorize < 60
        assert f.memorized and f.epochs_to_memorize == e.epochs_to_memorize
        assert f.epochs_trained == f.exposures == 60 and e.epochs_trained == e.epochs_to_memorize
        assert len(f.bits_curve) == 13 and f.bits_curve[:len(e.bits_curve)] == e.bits_curve


def test_kernel_choice_follows_the_options():
    for opts in ({}, dict(update="chunk"), dict(update="chunk", clip=1.0, schedule="cosine")):
        assert default_kernel("cpu", RunConfig(SEQ, **opts)) == "numba"
        assert default_kernel("cuda", RunConfig(SEQ, **opts)) == "torch"
    for opts in (dict(clip=1.0), dict(schedule="cosine"), dict(warmup=0.1)):  # online
        assert default_kernel("cpu", RunConfig(SEQ, **opts)) == "torch"
        with pytest.raises(ValueError, match="kernel='numba' trains offline, or online with a "
                                             "constant lr and no clipping; update='step'"):
            train_population([RunConfig(SEQ, max_epochs=1, **opts)], kernel="numba")


@pytest.mark.parametrize("opts,message", [
    (dict(chunk=8), "chunk=8 applies only to update='chunk'"),
    (dict(update="chunk", chunk=0), "chunk must be an integer >= 1"),
    (dict(update="chunk", reset="char"), "update='chunk' .* needs reset='epoch'"),
    (dict(update="chunk", bptt=4), "needs reset='epoch' and bptt='epoch'"),
    (dict(update="batch"), "update must be one of step, chunk; got 'batch'"),
    (dict(schedule="linear"), "schedule must be one of constant, cosine; got 'linear'"),
    (dict(warmup=1.0), r"warmup must be a share of the budget in \[0, 1\), got 1.0"),
    (dict(clip=0), "clip must be a positive gradient norm or None, got 0"),
    (dict(stop="never"), "stop must be one of memorized, budget; got 'never'"),
])
def test_bad_options_are_refused_in_one_line(opts, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(SEQ, **opts)


def test_new_options_at_their_defaults_keep_the_run_id():
    base = RunConfig(SEQ)
    same = RunConfig(SEQ, update="step", chunk=None, schedule="constant", warmup=0.0, clip=None,
                     stop="memorized")
    assert same.run_id == base.run_id
    assert RunConfig(SEQ, stop="budget").run_id != base.run_id
