"""The pre-registered check of `analysis.predict` (issue 18): spec prereg_check, made after
the freeze in analysis/freeze.json. Its rows count as out of sample only as far as
`analysis.preregistration.provenance` finds them made after the freeze, by unchanged law
code on unchanged fitting rows. Cells that predict refuses (options outside the law's
design) are listed with the reason it gave; the rest are scored as predict_check is,
against the design-aware forecasts, and split by length, since the law was fitted mostly
on 16-24 letters and these sequences have 32-128.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.preregistration import Provenance, provenance
from analysis.skill import STALL_GAIN
from analysis.validate import Rivals, Validation, check_predict


@dataclass
class Preregistered:
    check: Validation
    provenance: Provenance
    cure_replaces: bool | None  # skill.CURE_RULE on these rows; None if it cannot apply
    by_length: pd.DataFrame  # per loss and length: cells, median factor, share extrapolated


def preregistered(doc: dict[str, Any], table: pd.DataFrame, fitted: pd.DataFrame,
                  rivals: Rivals, earlier: dict[str, pd.DataFrame]) -> Preregistered:
    """`earlier`: the other validation tables (held-out, predict_check), whose provenance
    is reported beside this one's."""
    check = check_predict(doc, table, fitted, rivals)
    prov = provenance({**earlier, "prereg_check": table}, fitted)
    return Preregistered(check=check, provenance=prov,
                         cure_replaces=cure_replaces(check) if prov.frozen else None,
                         by_length=by_length(check.cells))


def cure_replaces(check: Validation) -> bool | None:
    """skill.CURE_RULE: under the notebook's loss, a gain shown in one score (its CI above
    no gain) and no loss shown in the other (its CI not wholly below no gain)."""
    if check.skill is None:
        return None
    g = check.skill.gain
    row = g[(g["loss"] == STALL_GAIN[0]) & (g["gain"] == STALL_GAIN[1])]
    if row.empty:
        return None
    r = row.iloc[0]
    factor_shown, factor_no_loss = r["factor_gain_lo"] > 1, r["factor_gain_hi"] >= 1
    brier_shown, brier_no_loss = r["brier_gain_lo"] > 0, r["brier_gain_hi"] >= 0
    return bool((factor_shown and brier_no_loss) or (brier_shown and factor_no_loss))


def by_length(cells: pd.DataFrame) -> pd.DataFrame:
    """Per loss and length: the law's median factor over cells with a measured median, and
    the share of cells predict flagged as extrapolated."""
    rows = []
    for (loss, length), g in cells.groupby(["loss", "length"], sort=True):
        f = g[np.isfinite(g["median"])]
        factor = np.exp(np.median(np.abs(np.log(f["median_pred"] / f["median"])))) \
            if len(f) else math.nan
        rows.append(dict(loss=loss, length=int(length), cells=len(g), cells_compared=len(f),
                         median_factor=float(factor),
                         extrapolated=float(g["extrapolated"].mean())))
    return pd.DataFrame(rows)
