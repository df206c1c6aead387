import numpy as np
import torch

from seqmem.kernel import _adam


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


def test_the_compiled_generation_is_the_torch_one():
    """Evaluation in the numba kernel generates what the torch kernel's evaluation does."""
    from seqmem.config import preset
    from seqmem.model import stacked_weights
    from seqmem.population import Population, _generate_torch, evaluate_population

    pop = Population(stacked_weights(list(range(6)), 12))
    rng = np.random.default_rng(1)
    for arr in pop.arrays()[:6]:  # weights far from initialisation: letters vary along the way
        arr += rng.normal(scale=0.6, size=arr.shape).astype(np.float32)
    for reset in ("epoch", "char"):
        for feedback in ("probs", "onehot"):
            cfg = preset("notebook", "ABCDEFGHIJKLMNOPQRST", units=12, reset=reset,
                         feedback=feedback)
            want = _generate_torch(pop, cfg)
            got = [e.generated for e in evaluate_population(pop, cfg, kernel="numba")]
            letters = ["".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i] for i in row) for row in want]
            assert got == letters, (reset, feedback)
            assert len({g for row in letters for g in row}) > 3  # not a constant output
