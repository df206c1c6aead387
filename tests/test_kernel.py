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
