import numpy as np
import pytest
import torch

from seqmem.kernel_numba import AdamStep, adam_step, adam_update


def test_adam_matches_torch_optim_adam_over_many_steps():
    """The numba Adam (seqmem.adam's constants) rounds its coefficients as torch does, so
    300 steps stay together."""
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=1000).astype(np.float32)
    grads = rng.normal(loc=1e-2, scale=1e-2, size=(300, 1000)).astype(np.float32)
    ours, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    theirs = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Adam([theirs], lr=1e-3)
    for step, g in enumerate(grads, start=1):
        # numba hands float32 back as Python floats: float32 again, as the kernel keeps them
        coefficients = AdamStep(*map(np.float32, adam_step(1e-3, step)))
        adam_update(ours, m, v, g, coefficients)
        theirs.grad = torch.from_numpy(g)
        opt.step()
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=2e-6)
    assert np.abs(ours - p0).max() > 0.1  # it did move: the check is not trivially true


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_compiled_generation_is_the_torch_one(cell):
    """Evaluation in the numba kernel generates what the torch kernel's evaluation does."""
    from seqmem.config import preset
    from seqmem.kernel_numba import Workspace
    from seqmem.kernel_torch import generate
    from seqmem.model import stacked_weights
    from seqmem.population import Population, evaluate_population

    pop = Population(stacked_weights(list(range(6)), 12, cell=cell))
    rng = np.random.default_rng(1)
    for arr in pop.arrays().param:  # weights far from initialisation: varied letters
        arr += rng.normal(scale=0.6, size=arr.shape).astype(np.float32)
    for reset in ("epoch", "char"):
        for feedback in ("probs", "onehot"):
            cfg = preset("notebook", "ABCDEFGHIJKLMNOPQRST", units=12, reset=reset,
                         feedback=feedback, cell=cell)
            want = generate(pop, cfg)
            work = Workspace.allocate(len(cfg.sequence), 12, 26, 1, cell)
            got = [e.generated for e in evaluate_population(pop, cfg, work)]
            letters = ["".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i] for i in row) for row in want]
            assert got == letters, (reset, feedback)
            assert len({g for row in letters for g in row}) > 3  # not a constant output


def test_a_models_arithmetic_does_not_depend_on_where_its_arrays_sit():
    """LLVM's vectorized sums depend on addresses; the kernel works on aligned copies."""
    from types import SimpleNamespace

    from seqmem.config import preset
    from seqmem.kernel_numba import AdamState, Params, Workspace, train_epoch
    from seqmem.model import stacked_weights
    from seqmem.population import Population
    from seqmem.sequences import encode

    cfg = preset("notebook", "VNMVWKTFFLOZKUNSDYGOEFOBTZTTVU", units=24)
    idx = encode(cfg.sequence)
    blocks = Population(stacked_weights([3], 24)).arrays()

    def shifted(a, floats):  # the same values at another address modulo 64 bytes
        raw = np.zeros(a.size + 16, np.float32)
        out = raw[floats:floats + a.size].reshape(a.shape)
        out[...] = a
        return out

    results = []
    for floats in range(8):
        state = AdamState(*(Params(*(shifted(a, floats) for a in p)) for p in blocks))
        pop = SimpleNamespace(arrays=lambda state=state: state)  # a population at that address
        work = Workspace.allocate(len(idx), 24, 26, len(idx))
        for epoch in range(3):
            train_epoch(pop, cfg, idx, len(idx), work, epoch * len(idx))
        results.append(np.concatenate([a.ravel() for p in state for a in p]))
    assert all(np.array_equal(r, results[0]) for r in results)
    assert not np.array_equal(results[0], np.concatenate([a.ravel() for p in blocks for a in p]))
