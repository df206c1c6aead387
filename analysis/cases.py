"""The notebook's seven cases and what the notebook says about each."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from seqmem.sequences import PRESETS


@dataclass(frozen=True)
class Case:
    number: int
    preset: str
    reset: str  # "char": the notebook's one_step=True
    units: int
    claim: tuple[int, int] | None  # epochs the notebook says it converges in; None: never
    claim_text: str
    claim_short: str = ""

    @property
    def title(self) -> str:
        reset = "reset every char" if self.reset == "char" else "reset every epoch"
        return f"case {self.number}: {self.preset}, {reset}, {self.units} units"


CASES = [
    Case(1, "alphabet", "char", 32, (50, 100), "converges in 50-100 epochs", "50-100"),
    Case(2, "alphabet", "epoch", 32, (50, 100), "converges in 50-100 epochs", "50-100"),
    Case(3, "repeatone", "char", 32, None, "never converges (reaches max_epochs)",
         "never"),
    Case(4, "repeatone", "epoch", 32, (100, 200), "converges after 100-200 epochs", "100-200"),
    Case(5, "repeatfive", "epoch", 32, (200, 300), "often converges after 200-300 epochs",
         "200-300"),
    Case(6, "random30", "epoch", 32, None, "fails to converge after 1000 epochs",
         "fails in 1000"),
    Case(7, "random30", "epoch", 128, (400, 600), "often converges after 400-600 epochs",
         "400-600"),
]


def match_case(df: pd.DataFrame, case: Case) -> pd.Series:
    """Rows of `df` that are `case`: same letters (or preset label), reset and units."""
    letters = PRESETS[case.preset]
    same_seq = df["sequence"] == letters
    if "label" in df.columns:
        same_seq |= df["label"] == case.preset
    return same_seq & (df["reset"] == case.reset) & (df["units"] == case.units)
