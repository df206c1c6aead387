"""A roofline for the step benchmarks: the work of one model-step from its shapes, and the
floor that this machine's measured peak FLOP/s and memory bandwidth put under its time.

FLOPs per model-step (G gate blocks, H units, A letters, k the steps each loss is
backpropagated through; the input is one-hot, so the input product is a row read):
- forward: the recurrent product 2 G H^2 (none when the state is reset before every
  letter), about 10 G H for the gates, the readout 2 A H and the loss 5 A;
- online backward: the readout's two products 4 A H, then per window step the gates'
  elementwise work 8 G H, the W_hh gradient's outer product 2 G H^2 and (k - 1 of them)
  the chain's product 2 G H^2;
- Adam: 12 per parameter per update.
Offline (a chunk of c letters): forward and a backward of about twice the forward per
letter, and one Adam update per chunk.

Bytes per model-step: each update reads and writes the weights and Adam's two moments and
reads the gradient (7 x 4 bytes per parameter it updates: with the state reset before every
letter W_hh's gradient is exactly zero and the engine skips it), offline once per chunk,
plus one read of the weights for the products.

The floor is max(FLOPs / peak FLOP/s, bytes / bandwidth); `over_floor` is the measured time
over it. Both peaks are measured in the same process: a single-thread float32 matrix
product (torch.mm, 512 x 512), and the bandwidth of copying a float32 buffer the size of
the model's state (weights, gradient and moments: 16 bytes per parameter), which is the
cache level that state lives in (L2 at 32 units, L3 or memory at 128 and above).
"""

from __future__ import annotations

import time

import numpy as np

from seqmem.config import GATES
from seqmem.model import parameter_count

ADAM_FLOPS = 12
UPDATE_BYTES = 7 * 4


def peak_flops(repeats: int = 5) -> float:
    """Single-thread float32 FLOP/s of this core: the best of `repeats` timed products (on
    one thread whatever the process's setting: the benchmarks run on one)."""
    import torch

    a, b = torch.randn(512, 512), torch.randn(512, 512)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(20):
                torch.mm(a, b)
            best = min(best, (time.perf_counter() - t) / 20)
    finally:
        torch.set_num_threads(threads)
    return 2 * 512 ** 3 / best


def bandwidth(nbytes: int, repeats: int = 5) -> float:
    """Bytes/s (read + write) of copying a float32 buffer of `nbytes`: the bandwidth of the
    cache level a working set of that size lives in."""
    n = max(nbytes // 4, 8 * 1024)
    src = np.ones(n, dtype=np.float32)
    dst = np.empty_like(src)
    inner = max(1, (64 * 2 ** 20) // (8 * n))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            np.copyto(dst, src)
        best = min(best, (time.perf_counter() - t) / inner)
    return 2 * src.nbytes / best


def window_of(bptt: str, reset: str, n: int) -> float:
    """Mean steps each loss is backpropagated through, over an epoch of n letters."""
    if reset == "char" or bptt == "1":
        return 1.0
    if bptt == "epoch":
        return (n + 1) / 2
    k = int(bptt)
    return k - k * (k - 1) / (2 * n)


def step_cost(cell: str, units: int, alphabet: int, bptt: str, reset: str, n: int
              ) -> tuple[float, float]:
    """(FLOPs, bytes) of one model-step; bptt "chunkC" is offline with chunks of C."""
    g, h, a = GATES[cell], units, alphabet
    params = parameter_count(cell, h, a)
    kept = reset != "char"
    forward = (2 * g * h * h if kept else 0) + 10 * g * h + 2 * a * h + 5 * a
    if bptt.startswith("chunk"):
        chunk = int(bptt[len("chunk"):])
        flops = 3 * forward + ADAM_FLOPS * params / chunk
        return flops, UPDATE_BYTES * params / chunk + 4 * params
    if bptt == "rtrl":
        # W_hh^T M_h (G H rows of H terms over |theta| columns), each unit's rows combined
        # into M_h (and M_c), dL/dh M_h; the sensitivities read and written once a step.
        theta = g * h * (a + h + 2)
        sens = (2 if cell == "lstm" else 1) * h * theta
        flops = forward + 4 * a * h + ((2 * g * h * h * theta if kept else 0)
                                       + 2 * (g + 2) * h * theta + 2 * h * theta)
        updated = params if kept else params - g * h * h
        return flops + ADAM_FLOPS * updated, UPDATE_BYTES * updated + 4 * params + 8 * sens
    k = window_of(bptt, reset, n)
    backward = 4 * a * h + k * (8 * g * h + (2 * g * h * h if kept else 0)) \
        + (k - 1) * 2 * g * h * h
    updated = params if kept else params - g * h * h  # W_hh's update is skipped when zero
    return forward + backward + ADAM_FLOPS * updated, UPDATE_BYTES * updated + 4 * params


def add_roofline(df, n_of):
    """Columns flops, bytes, the peaks measured now, floor_us and over_floor for every row
    of a step table; n_of(row) is the sequence length the row was timed on."""
    out = df.copy()
    flops_per_s = peak_flops()
    state = {h: 16 * parameter_count(c, int(h), 26) for c, h in zip(out["cell"], out["H"], strict=True)}
    speed = {size: bandwidth(size) for size in set(state.values())}
    costs = [step_cost(r.cell, int(r.H), 26, str(r.bptt), str(r.reset), n_of(r))
             for r in out.itertuples()]
    out["flops"] = [c[0] for c in costs]
    out["bytes"] = [c[1] for c in costs]
    out["peak_gflops"] = flops_per_s / 1e9
    out["gbytes_s"] = [speed[state[h]] / 1e9 for h in out["H"]]
    out["floor_us"] = [max(f / flops_per_s, b / (g * 1e9)) * 1e6
                       for (f, b), g in zip(costs, out["gbytes_s"], strict=True)]
    out["over_floor"] = out["per_model_step_us"] / out["floor_us"]
    return out
