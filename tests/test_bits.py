"""Bits stored and bits saved (seqmem.bits) against an independent numpy computation, and
in the records."""

import math

import numpy as np
import pytest
import torch

from seqmem.bits import bits_from_logits, bits_stored, saved_from_logits
from seqmem.config import RunConfig
from seqmem.generate import uniform
from seqmem.model import build_model, stacked_weights
from seqmem.population import train_population
from seqmem.reference import bits_reference, train_reference
from seqmem.sequences import encode


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_logits(w: dict, cell: str, idx: np.ndarray, a: int, reset: str) -> np.ndarray:
    """The cells' equations written out in float64 numpy, one letter at a time (nn layout)."""
    w = {k: v.double().numpy() for k, v in w.items()}
    units = w["w_hh"].shape[1]
    h, c = np.zeros(units), np.zeros(units)
    rows = []
    for k in idx:
        if reset == "char":
            h, c = np.zeros(units), np.zeros(units)
        gi = w["w_ih"][:, k] + w["b_ih"]
        gh = w["w_hh"] @ h + w["b_hh"]
        if cell == "lstm":
            i, f, g, o = np.split(gi + gh, 4)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        elif cell == "gru":
            ir, iz, in_ = np.split(gi, 3)
            hr, hz, hn = np.split(gh, 3)
            r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
            n = np.tanh(in_ + r * hn)
            h = (1 - z) * n + z * h
        else:
            h = np.tanh(gi + gh)
        rows.append(w["w_out"] @ h + w["b_out"])
    return np.array(rows)


def _numpy_savings(logits: np.ndarray, idx: np.ndarray) -> np.ndarray:
    a = logits.shape[1]
    z = logits - logits.max(axis=1, keepdims=True)
    logq = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    ce_bits = -logq[np.arange(len(idx)), np.roll(idx, -1)] / math.log(2)
    return math.log2(a) - ce_bits


def _numpy_bits(logits: np.ndarray, idx: np.ndarray) -> float:
    return float(np.maximum(0.0, _numpy_savings(logits, idx)).sum())


def _numpy_saved(logits: np.ndarray, idx: np.ndarray) -> float:
    return float(_numpy_savings(logits, idx).sum())


def test_bits_from_logits_matches_numpy_and_its_bounds():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(50, 7))
    idx = rng.integers(0, 7, size=50)
    got = float(bits_from_logits(torch.tensor(logits), torch.tensor(np.roll(idx, -1))))
    assert got == pytest.approx(_numpy_bits(logits, idx), rel=1e-12)
    # a uniform prediction stores nothing; a certain and right one stores log2 A per letter
    assert float(bits_from_logits(torch.zeros(50, 7), torch.tensor(idx))) == 0.0
    sure = torch.full((50, 7), -1e4).scatter_(1, torch.tensor(idx).view(-1, 1), 1e4)
    assert float(bits_from_logits(sure, torch.tensor(idx))) == pytest.approx(50 * math.log2(7))


def test_bits_saved_is_not_clipped():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(50, 7))
    idx = rng.integers(0, 7, size=50)
    target = torch.tensor(np.roll(idx, -1))
    saved = float(saved_from_logits(torch.tensor(logits), target))
    assert saved == pytest.approx(_numpy_saved(logits, idx), rel=1e-12)
    # random confident logits are often wrong: the unclipped sum is below the clipped one
    assert saved < float(bits_from_logits(torch.tensor(logits), target)) - 10
    # a certain, wrong prediction costs far more than log2 A: the saving is negative
    wrong = torch.full((50, 7), -1e2).scatter_(1, torch.tensor((idx + 1) % 7).view(-1, 1), 1e2)
    assert float(saved_from_logits(wrong, torch.tensor(idx))) < -50 * math.log2(7)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("reset", ["epoch", "char"])
def test_bits_stored_matches_numpy_and_the_reference(cell, reset):
    seq = uniform(70, 5, rng=np.random.default_rng(3))
    alphabet = "ABCDE"
    idx = encode(seq, alphabet)
    weights = stacked_weights([4, 9], 6, 5, cell=cell)
    # scale the weights up so the predictions are far from uniform and the clamp matters
    weights = {k: 3.0 * v for k, v in weights.items()}
    got, got_saved = bits_stored(weights, cell, idx, 5, reset)
    config = RunConfig(seq, units=6, alphabet=alphabet, cell=cell, reset=reset,
                       engine="reference")
    for i, seed in enumerate((4, 9)):
        logits = _numpy_logits({k: v[i] for k, v in weights.items()}, cell, idx, 5, reset)
        want, want_saved = _numpy_bits(logits, idx), _numpy_saved(logits, idx)
        assert got[i] == pytest.approx(want, rel=1e-5, abs=1e-4)
        assert got_saved[i] == pytest.approx(want_saved, rel=1e-5, abs=1e-4)
        model = build_model(seed, 6, 5, cell)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(3.0)
        ref_stored, ref_saved = bits_reference(model, config)
        assert ref_stored == pytest.approx(want, rel=1e-5, abs=1e-4)
        assert ref_saved == pytest.approx(want_saved, rel=1e-5, abs=1e-4)
    assert 0 < got.min() and got.max() < 70 * math.log2(5)
    assert (got_saved < got).all()  # scaled-up untrained weights are wrong at some positions


@pytest.mark.parametrize("update", ["step", "chunk"])
def test_records_carry_the_bits_curve_and_exposures(update):
    seq = uniform(24, 26, rng=np.random.default_rng(1))
    chunk = 8 if update == "chunk" else None
    configs = [RunConfig(seq, units=8, seed=s, max_epochs=12, eval_every=4, lr=1e-2,
                         update=update, chunk=chunk, stop="budget") for s in (0, 1)]
    pop = train_population(configs)
    ref = [train_reference(c.replace(engine="reference")) for c in configs]
    for p, r in zip(pop, ref, strict=True):
        assert len(p.bits_curve) == len(r.bits_curve) == 4  # before epochs 0, 4, 8 and after 12
        np.testing.assert_allclose(p.bits_curve, r.bits_curve, rtol=1e-4)
        np.testing.assert_allclose(p.saved_curve, r.saved_curve, rtol=1e-4, atol=1e-3)
        assert p.bits_stored == p.bits_curve[-1] and p.bits_saved == p.saved_curve[-1]
        assert all(s <= b + 1e-9 for s, b in zip(p.saved_curve, p.bits_curve, strict=True))
        assert p.exposures == p.epochs_trained == 12
        assert p.bits_curve[-1] > p.bits_curve[0]  # training at lr 1e-2 stores something
        row = p.to_row()
        assert row["bits_stored"] == p.bits_stored and row["exposures"] == 12.0
        assert row["bits_saved"] == p.bits_saved and list(row["saved_curve"]) == list(p.saved_curve)
