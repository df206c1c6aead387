"""Finding the notebook's seven cases (seqmem.cases) in a results table."""

from __future__ import annotations

import pandas as pd

from seqmem.cases import NOTEBOOK_CASES, Case
from seqmem.sequences import PRESETS

# Defined in the library so that bench.cases and the analysis share one copy.
CASES = list(NOTEBOOK_CASES.values())


def match_case(df: pd.DataFrame, case: Case) -> pd.Series:
    """Rows of `df` that are `case`: same letters (or preset label), reset and units."""
    letters = PRESETS[case.preset]
    same_seq = df["sequence"] == letters
    if "label" in df.columns:
        same_seq |= df["label"] == case.preset
    return same_seq & (df["reset"] == case.reset) & (df["units"] == case.units)
