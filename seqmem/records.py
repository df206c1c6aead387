"""The record a trainer returns for one run (one seed), and where a sweep's run came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqmem.config import RunConfig
from seqmem.provenance import Provenance

# Field metadata: "nested" fields are flattened into their own columns; "stored": False
# fields are not written to a results table.
NESTED = {"nested": True}


@dataclass(frozen=True)
class RunRecord:
    """Outcome of one run.

    memorized: the run regenerated its sequence exactly at some evaluation within the budget.
    epochs_to_memorize: completed training epochs at the first successful evaluation,
        or None when the run was censored at max_epochs.
    steps_to_memorize: the same in optimizer steps (epochs_to_memorize * length).
    epochs_trained, steps: training epochs and steps (characters) taken.
    final_prefix: letters generated correctly before the first mistake at the last evaluation.
    longest_substring: longest run of the target (s[1:]) found in that generation.
    final_loss: mean training loss of the last epoch trained (None if none was).
    loss_curve: mean training loss over each evaluation interval: entry j averages the
        epochs trained between the j-th and the (j+1)-th evaluation, so its length is the
        number of evaluations after the first (the record stays small for long budgets).
    wall_time_s: seconds from the start of training until this record was final; the
        population engine trains `population` seeds together, so they share that time.
    metrics: the sequence's difficulty metrics (seqmem.difficulty.Metrics).
    population: how many seeds the engine trained together with this one (wall_time_s is
        shared by them).
    provenance: what made the record (seqmem.provenance.Provenance).
    step_loss: the first per-step losses, only when the trainer was asked to trace them.
    bits_stored: bits the model holds about its sequence at the last evaluation
        (seqmem.bits: per position max(0, log2 A - teacher-forced cross-entropy in bits)).
    bits_curve: bits stored at every evaluation, in order (the first before training).
    bits_saved: the code-length saving at the last evaluation, not clipped (seqmem.bits:
        the sum of log2 A - teacher-forced cross-entropy in bits; can be negative).
    saved_curve: bits saved at every evaluation, in order (the first before training).
    exposures: passes over the sequence trained (steps / length).
    parameters: the model's parameters, the readout's included (seqmem.model.parameter_count,
        or a user cell's own count): the denominator of bits per parameter.
    """

    config: RunConfig = field(metadata=NESTED)
    memorized: bool
    epochs_to_memorize: int | None
    steps_to_memorize: int | None
    epochs_trained: int
    steps: int
    final_prefix: int
    longest_substring: int
    final_loss: float | None
    loss_curve: tuple[float, ...]
    wall_time_s: float
    metrics: dict[str, Any] = field(metadata=NESTED)
    provenance: Provenance = field(metadata=NESTED)
    population: int = 1
    step_loss: tuple[float, ...] = field(default=(), repr=False, metadata={"stored": False})
    bits_stored: float | None = None
    bits_curve: tuple[float, ...] = ()
    bits_saved: float | None = None
    saved_curve: tuple[float, ...] = ()
    exposures: float | None = None
    parameters: int | None = None

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def status(self) -> str:
        return "memorized" if self.memorized else "censored"

    def to_row(self) -> dict[str, Any]:
        """One flat result-table row (seqmem.schema): run id, config, metrics, outcome,
        provenance; the origin columns are left for the sweep to fill."""
        from seqmem.schema import record_row

        return record_row(self)


@dataclass(frozen=True)
class Origin:
    """Where a run came from in a sweep spec; all None for a run made from Python.

    spec: the name of the spec that made the run.
    slice: the spec's slice the run belongs to ("main" without slices).
    label: the sequence's label: a preset name, "explicit", or the generator's knobs such as
        "n16-r4-d3-a26-s0".
    generator: how the sequence was made: "generate" (length, repeats, depth), "forks"
        (length, depth, forks) or "uniform" (length); None for a preset or explicit one.
    gen_length, gen_repeats, gen_depth, gen_forks: the generator's knobs.
    gen_alphabet_size: the generator drew from the first this many letters of A-Z.
    gen_seed: the seed of the generator's numpy Generator.
    lr_rule: the width rule that set lr, when the spec used one (e.g. "0.002*32/units").
    budget_steps: the budget in optimizer steps, when the spec stated it in steps.
    """

    spec: str | None = None
    slice: str | None = None
    label: str | None = None
    generator: str | None = None
    gen_length: int | None = None
    gen_repeats: int | None = None
    gen_depth: int | None = None
    gen_forks: int | None = None
    gen_alphabet_size: int | None = None
    gen_seed: int | None = None
    lr_rule: str | None = None
    budget_steps: int | None = None
