"""The population engine against the reference trainer, step by step and record by record,
for every cell, option combination and kernel (split from test_population.py so that the
parallel test run can place the two halves on different workers)."""

import itertools

import numpy as np
import pytest

from seqmem.config import preset
from seqmem.population import KERNELS, train_population
from seqmem.reference import train_reference

pytestmark = pytest.mark.slow  # the fast subset is pytest -m "not slow"

COMBOS = list(itertools.product(["epoch", "char"], ["epoch", 3], ["softmax", "logits"],
                                ["probs", "onehot"]))
CELLS = ("lstm", "gru", "rnn")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("sequence", ["repeatone", "ABCABD"])
@pytest.mark.parametrize("reset,bptt,loss,feedback", COMBOS)
def test_step_losses_match_the_reference(cell, sequence, reset, bptt, loss, feedback):
    steps = 200
    n = len(preset("notebook", sequence).sequence)
    configs = [preset("notebook", sequence, reset=reset, bptt=bptt, loss=loss, feedback=feedback,
                      units=8, seed=s, max_epochs=-(-steps // n), eval_every=1000, cell=cell)
               for s in (0, 1)]
    # the second model of a population of two: it is batched behind another model (that a
    # record does not depend on its batch-mates is test_population's)
    ref = train_reference(configs[1].replace(engine="reference"), trace_steps=steps)
    for kernel in KERNELS:
        rec = train_population(configs, trace_steps=steps, kernel=kernel)[1]
        a, b = np.array(rec.step_loss), np.array(ref.step_loss)
        assert len(a) == len(b) == steps
        np.testing.assert_allclose(a, b, rtol=1e-5, err_msg=kernel)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("sequence,reset,bptt,units", [
    ("ABCABD", "epoch", 1, 8),  # a one-step window that still goes through W_hh
    ("ABCABD", "epoch", 10, 8),  # a window longer than the sequence: the whole epoch
    ("AB", "epoch", "epoch", 8),  # the shortest sequence
    ("AB", "char", "epoch", 8),
    ("ABCABD", "epoch", "epoch", 5),  # widths that are no multiple of a vector register
    ("ABCABD", "epoch", 3, 37),
])
def test_step_losses_match_the_reference_at_the_edges(cell, sequence, reset, bptt, units):
    steps = 120
    configs = [preset("notebook", sequence, reset=reset, bptt=bptt, units=units, seed=s,
                      max_epochs=-(-steps // len(sequence)), eval_every=1000, cell=cell)
               for s in (0, 1)]
    refs = [train_reference(c.replace(engine="reference"), trace_steps=steps) for c in configs]
    for kernel in KERNELS:
        pop = train_population(configs, trace_steps=steps, kernel=kernel)
        for rec, ref in zip(pop, refs, strict=True):
            np.testing.assert_allclose(rec.step_loss, ref.step_loss, rtol=1e-5, err_msg=kernel)


@pytest.mark.parametrize("reset,bptt,loss,feedback,cell",
                         [(*c, "lstm") for c in COMBOS] + [(*c, cell) for c in COMBOS[::3]
                                                           for cell in ("gru", "rnn")])
def test_records_match_the_reference_on_short_runs(reset, bptt, loss, feedback, cell):
    configs = [preset("notebook", "ABCDAE", reset=reset, bptt=bptt, loss=loss, feedback=feedback,
                      units=16, seed=s, lr=0.01, max_epochs=60, eval_every=2, cell=cell)
               for s in (0, 1, 2)]
    ref = [train_reference(c.replace(engine="reference")) for c in configs]
    for kernel in KERNELS:
        pop = train_population(configs, kernel=kernel)
        for p, r in zip(pop, ref, strict=True):
            assert (p.epochs_to_memorize, p.final_prefix, p.longest_substring) == (
                r.epochs_to_memorize, r.final_prefix, r.longest_substring), kernel
            assert p.epochs_trained == r.epochs_trained
            np.testing.assert_allclose(p.loss_curve, r.loss_curve, rtol=1e-4)
    # The depth-2 sequence cannot be memorized with the state reset before every letter.
    if reset == "char":
        assert not any(p.memorized for p in pop)
    else:
        assert any(p.memorized for p in pop)
