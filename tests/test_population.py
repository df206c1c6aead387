
import numpy as np
import pytest
import torch
from scipy.stats import CensoredData, logrank

from seqmem.config import preset
from seqmem.model import build_model, stacked_weights
from seqmem.population import KERNELS, Population, train_population
from seqmem.reference import train_reference
from tests.test_equivalence import CELLS


@pytest.mark.parametrize("cell", CELLS)
def test_population_starts_from_the_reference_weights(cell):
    seeds = [4, 0, 9]
    pop = Population(stacked_weights(seeds, 8, cell=cell))
    for i, seed in enumerate(seeds):
        model = build_model(seed, 8, cell=cell).named_weights()
        for name, w in pop.nn_weights().items():
            assert torch.equal(w[i], model[name]), name


@pytest.mark.parametrize("kernel", KERNELS)
def test_memorized_models_leave_the_batch_and_others_are_unaffected(monkeypatch, kernel):
    configs = [preset("notebook", "ABCDAE", units=16, seed=s, lr=0.01, max_epochs=60,
                      eval_every=2) for s in range(6)]
    kept = []
    keep = Population.keep

    def spy(self, rows):
        keep(self, rows)
        kept.append(self.P)

    monkeypatch.setattr(Population, "keep", spy)
    together = train_population(configs, kernel=kernel)
    monkeypatch.undo()
    # The batch shrinks as models memorize: they stop costing anything.
    done_early = sum(r.memorized and r.epochs_trained < 60 for r in together)
    assert kept and kept == sorted(kept, reverse=True) and kept[-1] == 6 - done_early
    alone = [train_population([c], kernel=kernel)[0] for c in configs]
    assert len({r.epochs_to_memorize for r in together}) > 1, "need different finishing epochs"
    for t, a in zip(together, alone, strict=True):
        assert t.epochs_to_memorize == a.epochs_to_memorize
        if kernel == "numba":  # each model's arithmetic is its own: bit-identical
            assert t.loss_curve == a.loss_curve
        else:  # batched kernels may round differently for another batch size
            assert t.loss_curve == pytest.approx(a.loss_curve, rel=1e-5)
        assert len(t.loss_curve) == -(-t.epochs_trained // 2)  # one per evaluation interval
        assert t.population == 6 and a.population == 1


@pytest.mark.parametrize("kernel", KERNELS)
def test_same_config_same_record(kernel):
    configs = [preset("notebook", "repeatone", seed=s, max_epochs=30) for s in (0, 1)]
    a, b = train_population(configs, kernel=kernel), train_population(configs, kernel=kernel)
    assert [_outcome(r) for r in a] == [_outcome(r) for r in b]


def _outcome(record, *drop):
    """A record's row but for its timing (and `drop`): what the same config must reproduce."""
    row = record.to_row()
    for key in ("wall_time_s", *drop):
        row.pop(key)
    return row


@pytest.mark.slow
@pytest.mark.parametrize("cell", CELLS)
def test_epochs_to_memorize_distributions_agree_logrank(cell):
    """20 seeds of one stateful cell: the engines' epochs-to-memorize are indistinguishable."""
    configs = [preset("notebook", "ABCDEBF", units=8, seed=s, lr=0.005, max_epochs=120,
                      eval_every=5, cell=cell) for s in range(20)]
    ref = [train_reference(c.replace(engine="reference")) for c in configs]

    def times(records):
        return ([r.epochs_to_memorize or r.epochs_trained for r in records],
                [not r.memorized for r in records])

    tr, cr = times(ref)
    for kernel in KERNELS:
        tp, cp = times(train_population(configs, kernel=kernel))
        assert sum(not c for c in cp) >= 10, "most seeds should memorize within the budget"
        result = logrank(CensoredData.right_censored(tp, cp), CensoredData.right_censored(tr, cr))
        assert result.pvalue > 0.05, kernel
        identical = np.mean([a == b for a, b in zip(tp, tr, strict=True)])
        assert identical >= 0.5, kernel


@pytest.mark.parametrize("units, options", [
    (24, {}), (5, {"reset": "char"}), (37, {"bptt": 3, "loss": "logits"}),
    (16, {"feedback": "onehot", "lr": 0.01}), (24, {"cell": "gru"}),
    (5, {"cell": "rnn", "reset": "char"})])
def test_a_record_does_not_depend_on_the_other_models_in_its_population(units, options):
    """With the numba kernel a seed gives the same record in any population and whatever
    else the process allocated before (the sweep's chunking cannot change results)."""
    cell = [preset("notebook", "random30", units=units, seed=s, max_epochs=40, **options)
            for s in range(5)]
    together = train_population(cell)
    clutter = [np.zeros(n) for n in (3, 77, 1001)]  # moves where the next buffers land
    apart = train_population(cell[3:]) + train_population(cell[:3][::-1])[::-1]
    del clutter
    by_seed = {r.seed: r for r in apart}
    for r in together:
        assert _outcome(r, "population") == _outcome(by_seed[r.seed], "population")


def test_device_is_a_name_or_a_torch_device():
    configs = [preset("notebook", "ABCA", units=4, seed=s, max_epochs=20, eval_every=5)
               for s in (0, 1)]
    by_name = train_population(configs, device="cpu")
    by_device = train_population(configs, device=torch.device("cpu"))
    assert [r.loss_curve for r in by_name] == [r.loss_curve for r in by_device]
    with pytest.raises(RuntimeError, match="nonsense"):
        train_population(configs, device="nonsense")


@pytest.mark.parametrize("configs,message", [
    ([], "at least one config"),
    ([preset("notebook", "ABCA", seed=0), preset("notebook", "ABCA", seed=0)], "duplicate seeds"),
    ([preset("notebook", "ABCA", seed=0, engine="reference")], "engine='reference'"),
    ([preset("notebook", "ABCA", seed=0), preset("notebook", "ABCA", seed=1, units=8)],
     "differ only in seed"),
])
def test_bad_populations_are_refused(configs, message):
    with pytest.raises(ValueError, match=message):
        train_population(configs)


@pytest.mark.parametrize("kwargs,message", [
    ({"kernel": "jax"}, "kernel='jax'"),
    ({"kernel": "numba", "device": "cuda"}, "device='cuda'"),
])
def test_bad_kernels_are_refused_before_any_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_population([preset("notebook", "ABCA", seed=0)], **kwargs)


@pytest.mark.slow
def test_nothing_a_run_allocates_grows_with_its_budget_beyond_the_record():
    """The budget multiplies by 100; the peak Python-side allocation of the whole call
    grows by the record's three curves only: one loss, one bits-stored and one bits-saved
    value per evaluation, about 160 B for the three with their lists and tuples. A
    per-epoch loss buffer (the old engine's) would add 80 B more per point here (10 epochs
    of float64), and fail."""
    import tracemalloc

    def peak(max_epochs):
        configs = [preset("clean", "ABCA", units=2, seed=s, lr=1e-9, max_epochs=max_epochs,
                          eval_every=10) for s in range(3)]
        train_population([c.replace(max_epochs=1) for c in configs])  # compiled and warm
        tracemalloc.start()
        records = train_population(configs)
        got = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert all(len(r.bits_curve) == len(r.loss_curve) + 1 for r in records)
        return got, sum(len(r.loss_curve) for r in records)

    small, n_small = peak(100)
    large, n_large = peak(10000)
    assert n_large - n_small == 3 * 990  # the curves did grow with the budget
    assert large - small < 200 * (n_large - n_small)  # and nothing else did
