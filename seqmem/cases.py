"""The notebook's seven cases: each one's run config and what the notebook says about it.

The one definition of the cases: `bench.cases` runs them, `analysis` compares them with
the claims, and the case specs (bench/specs/cases*.toml, rtrl_cases.toml) are checked
against them (tests/test_spec.py).

>>> NOTEBOOK_CASES[7].config(seed=3).units, NOTEBOOK_CASES[3].config().reset
(128, 'char')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqmem.config import RunConfig, preset


@dataclass(frozen=True)
class Case:
    number: int
    preset: str  # a name in seqmem.sequences.PRESETS
    reset: str  # "char": the notebook's one_step=True
    units: int
    claim: tuple[int, int] | None  # epochs the notebook says it converges in; None: never
    claim_text: str
    claim_short: str = ""

    @property
    def title(self) -> str:
        reset = "reset every char" if self.reset == "char" else "reset every epoch"
        return f"case {self.number}: {self.preset}, {reset}, {self.units} units"

    def config(self, seed: int = 0, engine: str = "population", **options: Any) -> RunConfig:
        """The RunConfig of this case's run with `seed`: the notebook's options (its
        `notebook` preset, max_epochs 1000) on this case's sequence, reset and width;
        `options` changes others (rtrl_cases: bptt)."""
        return preset("notebook", self.preset, reset=self.reset, units=self.units, seed=seed,
                      engine=engine, **options)


NOTEBOOK_CASES: dict[int, Case] = {c.number: c for c in [
    Case(1, "alphabet", "char", 32, (50, 100), "converges in 50-100 epochs", "50-100"),
    Case(2, "alphabet", "epoch", 32, (50, 100), "converges in 50-100 epochs", "50-100"),
    Case(3, "repeatone", "char", 32, None, "never converges (reaches max_epochs)", "never"),
    Case(4, "repeatone", "epoch", 32, (100, 200), "converges after 100-200 epochs", "100-200"),
    Case(5, "repeatfive", "epoch", 32, (200, 300), "often converges after 200-300 epochs",
         "200-300"),
    Case(6, "random30", "epoch", 32, None, "fails to converge after 1000 epochs", "fails in 1000"),
    # The notebook passes max_epochs=2000 here, but run_experiment overwrites it with 1000.
    Case(7, "random30", "epoch", 128, (400, 600), "often converges after 400-600 epochs",
         "400-600"),
]}
