"""The record a trainer returns for one run (one seed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqmem.config import RunConfig


@dataclass(frozen=True)
class RunRecord:
    """Outcome of one run.

    epochs_to_memorize: completed training epochs at the first successful evaluation,
        or None when the run was censored at max_epochs.
    steps: training steps (characters) taken, epochs_trained * length.
    final_prefix: letters generated correctly before the first mistake at the last evaluation.
    longest_substring: longest run of the target (s[1:]) found in that generation.
    epoch_loss: mean training loss of each epoch trained.
    wall_time_s: seconds from the start of training until this record was final; the
        population engine trains `population` seeds together, so they share that time.
    metrics: the sequence's difficulty metrics (seqmem.difficulty.metrics).
    step_loss: the first per-step losses, only when the trainer was asked to trace them.
    """

    config: RunConfig
    memorized: bool
    epochs_to_memorize: int | None
    epochs_trained: int
    steps: int
    final_prefix: int
    longest_substring: int
    epoch_loss: tuple[float, ...]
    wall_time_s: float
    metrics: dict[str, Any]
    population: int = 1
    step_loss: tuple[float, ...] = field(default=(), repr=False)

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def status(self) -> str:
        return "memorized" if self.memorized else "censored"

    def to_row(self) -> dict[str, Any]:
        """One flat result-table row: run id, every config field, metrics and outcome."""
        row: dict[str, Any] = {"run_id": self.config.run_id}
        row.update(self.config.to_dict())
        row["bptt"] = str(self.config.bptt)  # one column type for "epoch" and windows
        row.update(self.metrics)
        row.update(
            status=self.status,
            memorized=self.memorized,
            epochs_to_memorize=self.epochs_to_memorize,
            epochs_trained=self.epochs_trained,
            steps=self.steps,
            final_prefix=self.final_prefix,
            longest_substring=self.longest_substring,
            wall_time_s=self.wall_time_s,
            population=self.population,
            epoch_loss=list(self.epoch_loss),
        )
        return row
