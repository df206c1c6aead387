"""analysis.capacity_failed: a failed length trained again at a third of the lr."""

import pandas as pd
import pytest

from analysis.capacity_failed import failed_check, failed_lines, failed_sentence


def _rows(mode: str, lr: float, length: int, saved: list[float]) -> list[dict]:
    return [dict(cell="rnn", units=19, alphabet_size=26, mode=mode, max_epochs=300, length=length,
                 gen_seed=100 + i, lr=lr, saved_end=v) for i, v in enumerate(saved)]


def test_a_failed_length_that_holds_at_a_lower_lr_failed_to_train():
    """Plateau 1000: at 32,768 the curve's lr saves 50-70 (failed); at a third of it the
    same sequences save 900, 950 and 1000 (held on 3 of 3), so training failed at its lr.
    At 65,536 a third of the lr saves 100-300: it fails at both. The online curve of the same
    network is another curve: its rows never pair with the offline ones."""
    saved = pd.DataFrame([dict(cell="rnn", units=19, alphabet_size=26, mode="offline",
                               max_epochs=300, exposures=300, lr=0.01, capacity=1000.0,
                               lr_as_chosen=True)])
    seqs = pd.DataFrame(_rows("offline", 0.01, 32768, [50, 60, 70])
                        + _rows("offline", 0.01, 65536, [40, 40, 40])
                        + _rows("online k=16", 3e-4, 32768, [500, 500, 500]))
    check = pd.DataFrame(_rows("offline", 0.003, 32768, [900, 950, 1000])
                         + _rows("offline", 0.003, 65536, [100, 200, 300]))
    out = failed_check(seqs, check, saved).set_index("length")
    assert out.loc[32768, "own_share"] == pytest.approx(0.06)
    assert out.loc[32768, "other_share"] == pytest.approx(0.95)
    assert out.loc[32768, "other_lo"] < 0.95 < out.loc[32768, "other_hi"]
    assert out.loc[32768, "held_on"] == 3 and out.loc[32768, "held"]
    assert out.loc[65536, "other_share"] == pytest.approx(0.2) and not out.loc[65536, "held"]
    assert set(out["mode"]) == {"offline"} and set(out["sequences"]) == {3}
    text = "\n".join(failed_lines(out.reset_index()))
    assert "At the lower lr 1 of 2 failed lengths hold 0.6 of the plateau" in text
    assert "| RNN 19, 26 letters | offline | 300 | 32,768 | 0.01 -> 0.003 | 0.06 | 0.95 [" in text
    assert "| 3 of 3 | holds the plateau: training failed at its lr, no decline shown |" in text
    assert "| 0 of 3 | fails at both lrs |" in text
    assert "; 1 of them hold the plateau within their interval" in text
    line = failed_sentence(out.reset_index().to_dict(orient="records"))
    assert "RNN 19 units, 26 letters, offline at 32,768: 0.06 -> 0.95 [" in line
    assert "1 of 2 hold 0.6 of the plateau or more" in line and "why is untested" in line


def test_a_lower_lr_that_stores_more_than_the_plateau_makes_the_capacity_a_lower_bound():
    from analysis.capacity_failed import (
        NO_DECLINE,
        SOME_DECLINE,
        failed_reason,
        reading,
        with_failed,
    )

    assert reading(1.2, 1.05, 1.35).startswith("stores more than the plateau")
    assert reading(1.1, 0.95, 1.25) == NO_DECLINE  # its interval reaches 1
    assert reading(0.9, 0.85, 0.95) == SOME_DECLINE
    assert reading(0.5, 0.3, 0.7) == "fails at both lrs"
    saved = pd.DataFrame([dict(cell="rnn", units=19, alphabet_size=26, mode="online k=16",
                               max_epochs=300, exposures=300, lr=1e-3, capacity=400.0,
                               lr_as_chosen=True)])
    seqs = pd.DataFrame(_rows("online k=16", 1e-3, 32768, [140, 150, 160]))
    check = pd.DataFrame(_rows("online k=16", 3e-4, 32768, [470, 480, 490]))
    out = failed_check(seqs, check, saved)
    (row,) = out.to_dict(orient="records")
    assert row["other_share"] == pytest.approx(1.2) and row["other_lo"] > 1
    line = failed_sentence([row])
    assert "(RNN 19 units, 26 letters, online k=16 at 32,768), the curve's lr limits its " \
        "capacity: that capacity is a lower bound." in line
    verdicts = with_failed([dict(cell="rnn", units=19, alphabet_size=26, reasons=[]),
                            dict(cell="lstm", units=8, alphabet_size=26, reasons=[])], out)
    assert verdicts[0]["reasons"] == [failed_reason(out)] and verdicts[1]["reasons"] == []
    assert "online k=16 at 32,768 letters: 0.38 of the plateau at lr 0.001, 1.20 [" \
        in verdicts[0]["reasons"][0]
