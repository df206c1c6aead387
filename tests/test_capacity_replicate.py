"""analysis.capacity_replicate: new sequences at a curve's peak against those that chose it."""

import pandas as pd
import pytest

from analysis.capacity_replicate import replication, replication_lines, sign_test

CURVE = dict(cell="lstm", units=8, alphabet_size=26, update="step", bptt="16",
             mode="online k=16", params=1386, max_epochs=300, lr=1e-3)


def _seqs(slice_: str, by_length: dict[int, list[float]], seed0: int) -> list[dict]:
    return [dict(CURVE, slice=slice_, length=n, gen_seed=seed0 + 10 * i + j, saved_end=v)
            for i, (n, vals) in enumerate(by_length.items()) for j, v in enumerate(vals)]


def test_new_sequences_are_compared_at_the_length_the_old_ones_chose():
    """Old sequences peak at 2,048 (a lucky draw: 1,100); the new ones there save 1,000. At
    4,096, where no choice was made, the new ones agree with the old: a control."""
    old = _seqs("lstm8_online", {1024: [900, 910, 920], 2048: [1090, 1100, 1110],
                                 4096: [1000, 1010, 1020]}, seed0=0)
    new = _seqs("lstm8_online", {2048: [990, 1000, 1010], 4096: [1000, 1010, 1020]},
                seed0=500)
    seqs = pd.DataFrame(old + new)
    rep = replication(seqs, pd.DataFrame(new).assign(spec="capacity_peak_pairs"))
    rep = rep.set_index("length")
    assert list(rep.index) == [2048, 4096]  # 1,024 has no new sequences
    assert rep.loc[2048, "selected"] and not rep.loc[4096, "selected"]
    assert rep.loc[2048, "ratio"] == pytest.approx(1000 / 1100)
    assert rep.loc[2048, "hi"] < 1 and rep.loc[4096, "lo"] < 1 < rep.loc[4096, "hi"]
    assert (rep.loc[2048, "old"], rep.loc[2048, "new"]) == (3, 3)
    text = "\n".join(replication_lines(rep.reset_index()))
    assert "| LSTM 8, 26 letters | online k=16, lr 0.001 | 300 | 2,048 | peak | 3, 3 | 1,100 " \
        "| 1,000 | x0.91 [" in text
    assert "at the peaks the old sequences chose, the new sequences saved less than the old " \
        "in 1 of 1" in text
    assert "intervals wholly below 1: LSTM 8, 26 letters online k=16 at 2,048 (x0.91)" in text


def test_a_curve_without_new_sequences_is_left_out_and_the_sign_test_is_exact():
    seqs = pd.DataFrame(_seqs("other", {512: [1.0, 2.0, 3.0]}, seed0=0))
    other = pd.DataFrame(_seqs("lstm8_online", {512: [1, 2]}, 900)).assign(spec="x")
    assert replication(seqs, other).empty
    rows = pd.DataFrame(dict(ratio=[0.9, 0.8, 0.95, 0.7, 0.85, 1.1]))
    s = sign_test(rows)
    assert (s["comparisons"], s["below"]) == (6, 5)
    assert s["p"] == pytest.approx(14 / 64)  # two-sided binomial: 2 x (6 + 1) / 64


def test_a_length_declared_as_a_chosen_peak_is_no_control():
    """capacity_peak_moved adds sequences where the peak lay after an earlier round of new
    sequences: a chosen length, even where the old sequences alone peak elsewhere."""
    old = _seqs("c", {1024: [1000, 1000, 1000], 2048: [990, 995, 1000]}, seed0=0)
    new = _seqs("c", {2048: [900, 910, 920]}, seed0=500)
    seqs = pd.DataFrame(old + new)
    pairs = replication(seqs, pd.DataFrame(new).assign(spec="capacity_peak_pairs"))
    moved = replication(seqs, pd.DataFrame(new).assign(spec="capacity_peak_moved"))
    assert not pairs.iloc[0]["selected"] and moved.iloc[0]["selected"]


def test_a_peak_that_moved_to_unreplicated_sequences_is_flagged():
    from analysis.capacity_replicate import with_unreplicated

    rep = pd.DataFrame([dict(CURVE, slice="c", length=2048, selected=True, ratio=0.8)])
    saved = pd.DataFrame([dict(CURVE, slice="c", exposures=300, peak_length=4096,
                               peak_sequences=3),
                          dict(CURVE, slice="c", exposures=100, peak_length=2048,
                               peak_sequences=6)])
    out = with_unreplicated(saved, rep)
    assert out.loc[0, "unreplicated"] == ("peak on the sequences that chose it; new ones at "
                                          "2,048 held x0.80 of the old there")
    assert out.loc[1, "unreplicated"] == ""  # its peak is where the new ones were added
