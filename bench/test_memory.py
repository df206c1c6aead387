"""pytest-benchmark: under a BPTT window the cost per step and the memory stay flat in length.

Run with `pytest bench --benchmark-only -n 0` (not part of the normal test run). The capacity
frontier trains sequences of up to thousands of letters with a window of 16: each step's
backward reaches 16 steps back whatever the length, and nothing allocated per run grows
with the budget beyond the one loss per evaluation interval the record keeps. The peak
Python-side allocation of a whole `train_population` call (numpy buffers, the record;
tracemalloc) is stored in extra_info beside the time per model-step.
"""

import tracemalloc

import numpy as np
import pytest
import torch

from seqmem.config import preset
from seqmem.generate import uniform
from seqmem.population import train_population

torch.set_num_threads(1)
STEPS = 8192  # per model, whatever the length


def _configs(length: int, steps: int, units: int = 32, window: int = 16, seeds: int = 4):
    seq = uniform(length, 4, rng=np.random.default_rng(0))
    # lr 1e-9: nothing is memorized, every run trains its whole budget
    return [preset("clean", seq, units=units, seed=s, bptt=window, lr=1e-9, alphabet="ABCD",
                   max_epochs=max(1, steps // length), eval_every=max(1, 512 // length))
            for s in range(seeds)]


def _peak_kb(configs) -> float:
    tracemalloc.start()
    train_population(configs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1024


@pytest.mark.parametrize("length", [64, 512, 4096])
def test_step_cost_is_flat_in_length_under_a_window(benchmark, length):
    configs = _configs(length, STEPS)
    train_population(configs[:1])  # compile and warm up
    benchmark.extra_info.update(length=length, window=16, units=32, P=len(configs),
                                steps_per_model=configs[0].max_epochs * length,
                                peak_python_kb=round(_peak_kb(configs), 1))
    benchmark.pedantic(train_population, args=(configs,), rounds=3, warmup_rounds=0)
    benchmark.extra_info["per_model_step_us"] = (
        benchmark.stats.stats.median / (len(configs) * configs[0].max_epochs * length) * 1e6)


@pytest.mark.parametrize("budget", [2_048, 65_536])
def test_memory_is_flat_in_the_budget(benchmark, budget):
    configs = _configs(64, budget, units=8)
    train_population(configs[:1])
    benchmark.extra_info.update(steps_per_model=budget, peak_python_kb=round(_peak_kb(configs), 1))
    benchmark.pedantic(train_population, args=(configs,), rounds=1, warmup_rounds=0)


@pytest.mark.parametrize("length", [64, 512, 4096])
def test_rtrl_step_cost_and_memory_are_flat_in_length(benchmark, length):
    """The exact online gradient at 8 units beside the window above: its sensitivities are
    (2 H + G) |theta| floats per model whatever the length, and its step reads them once."""
    configs = [c.replace(bptt="rtrl") for c in _configs(length, STEPS, units=8)]
    train_population(configs[:1])
    benchmark.extra_info.update(length=length, window="rtrl", units=8, P=len(configs),
                                steps_per_model=configs[0].max_epochs * length,
                                peak_python_kb=round(_peak_kb(configs), 1))
    benchmark.pedantic(train_population, args=(configs,), rounds=3, warmup_rounds=0)
    benchmark.extra_info["per_model_step_us"] = (
        benchmark.stats.stats.median / (len(configs) * configs[0].max_epochs * length) * 1e6)
