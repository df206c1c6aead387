"""The notebook's seven cases and what the notebook says about each.

Shared by `bench.cases` (which runs them) and `analysis` (which compares them with the
claims), so the claims live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


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
