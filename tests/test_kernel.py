import numpy as np
import pytest
import torch

from seqmem.kernel_numba import _adam


def test_adam_matches_torch_optim_adam_over_many_steps():
    """The numba Adam rounds its coefficients as torch does, so 300 steps stay together."""
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=1000).astype(np.float32)
    grads = rng.normal(loc=1e-2, scale=1e-2, size=(300, 1000)).astype(np.float32)
    ours, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    theirs = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Adam([theirs], lr=1e-3)
    f32 = np.float32
    for step, g in enumerate(grads, start=1):
        _adam(ours, m, v, g, f32(1.0 - 0.9), f32(0.999), f32(1.0 - 0.999), f32(1e-8),
              f32(1e-3 / (1.0 - 0.9**step)), f32(np.sqrt(1.0 - 0.999**step)))
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
    mats, vecs = pop.arrays()
    for arr in (*mats[:3], *vecs[:3]):  # weights far from initialisation: varied letters
        arr += rng.normal(scale=0.6, size=arr.shape).astype(np.float32)
    for reset in ("epoch", "char"):
        for feedback in ("probs", "onehot"):
            cfg = preset("notebook", "ABCDEFGHIJKLMNOPQRST", units=12, reset=reset,
                         feedback=feedback, cell=cell)
            want = generate(pop, cfg)
            work = Workspace(len(cfg.sequence), 12, 26, 1, cell)
            got = [e.generated for e in evaluate_population(pop, cfg, work)]
            letters = ["".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i] for i in row) for row in want]
            assert got == letters, (reset, feedback)
            assert len({g for row in letters for g in row}) > 3  # not a constant output


def test_a_models_arithmetic_does_not_depend_on_where_its_arrays_sit():
    """LLVM's vectorized sums depend on addresses; the kernel works on aligned copies."""
    from seqmem.kernel_numba import Workspace, train_epoch
    from seqmem.model import stacked_weights
    from seqmem.population import Population
    from seqmem.sequences import encode

    mats, vecs = Population(stacked_weights([3], 24)).arrays()
    idx = encode("VNMVWKTFFLOZKUNSDYGOEFOBTZTTVU")

    def shifted(a, floats):  # the same values at another address modulo 64 bytes
        raw = np.zeros(a.size + 16, np.float32)
        out = raw[floats:floats + a.size].reshape(a.shape)
        out[...] = a
        return out

    results = []
    for floats in range(8):
        m = tuple(shifted(a, floats) for a in mats)
        v = tuple(shifted(a, floats) for a in vecs)
        work = Workspace(len(idx), 24, 26, len(idx))
        losses = np.zeros((1, len(idx)))
        for epoch in range(3):
            train_epoch(m, v, work.mats, work.vecs, work.scratch, idx, np.roll(idx, -1), len(idx),
                        False, True, epoch * len(idx), 1e-3, losses)
        results.append(np.concatenate([a.ravel() for a in m + v]))
    assert all(np.array_equal(r, results[0]) for r in results)
    assert not np.array_equal(results[0], np.concatenate([a.ravel() for a in mats + vecs]))
