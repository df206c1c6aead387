"""capacity_more and capacity_lr_more in the capacity analysis (issue 17): re-runs replace
their older rows by run id, the exact saving is used wherever a run recorded it (the
last-pass proxy elsewhere, and every row says which), the proxy's bias is measured on the
runs that hold both, the GRU and the RNN offline meet their online curves at 300
exposures, and the lr choice is made after the extension joins its grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.capacity import analyse_capacity, choose_lr
from analysis.capacity_checks import lr_check
from analysis.code_length import (
    code_length_capacity,
    curve_statuses,
    online_offline,
    proxy_bias,
    readings,
    saved_at,
    saved_end,
)
from analysis.code_length_report import saved_section
from analysis.load import join_runs

A26 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LENGTHS = (64, 128, 256)
ONLINE_300 = {64: 100.0, 128: 150.0, 256: 140.0}  # exact saving after 300 exposures online
ONLINE_END = {64: 110.0, 128: 160.0, 256: 150.0}  # ... after 1000 (the online budget)
OFFLINE_END = {64: 200.0, 128: 300.0, 256: 280.0}  # offline, at its budget of 300


def _loss_for(proxy: float, n: int) -> float:
    """The final loss (nats) whose last-pass proxy n (log2 A - loss / ln 2) is `proxy`."""
    return (math.log2(26) - proxy / n) * math.log(2)


def _run(run_id: str, update: str, n: int, gen_seed: int, seed: int, *, exact: float | None,
         proxy: float, at_300: float | None = None, lr: float = 1e-3, cpu: str = "new",
         bits: float | None = None) -> dict:
    online = update == "step"
    budget = 1000 if online else 300
    evals = budget // 50 + 1
    curve = () if at_300 is None else tuple(at_300 if j == 6 else 0.0 for j in range(evals))
    return dict(run_id=run_id, slice="gru10_online" if online else "gru10_offline",
                status="ok", cell="gru", units=10, alphabet=A26, length=n, gen_seed=gen_seed,
                seed=seed, update=update, bptt="16" if online else "epoch",
                schedule="constant" if online else "cosine", lr=lr, loss="logits",
                eval_every=50, max_epochs=budget, parameters=1426,
                bits_curve=tuple(float(n) for _ in range(evals)),
                bits_stored=float(n) + 40 if bits is None else bits, cpu=cpu,
                bits_saved=exact, saved_curve=curve, final_loss=_loss_for(proxy, n),
                memorized=False, steps_to_memorize=None)


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """capacity: the GRU's online curve without the exact measure (proxy 5% above what the
    re-runs record); capacity_more: the same runs re-run with it, and the offline curve on
    the same sequences."""
    old, more = [], []
    for n in LENGTHS:
        for g in range(3):
            for seed in range(2):
                rid = f"on-{n}-{g}-{seed}"
                old.append(_run(rid, "step", n, 10 * n + g, seed, exact=None,
                                proxy=1.05 * (ONLINE_END[n] + g), cpu="old",
                                bits=float(n) + (80 if n == 64 and g == 0 else 40)))
                more.append(_run(rid, "step", n, 10 * n + g, seed, exact=ONLINE_END[n] + g,
                                 proxy=1.05 * (ONLINE_END[n] + g), at_300=ONLINE_300[n] + g))
                more.append(_run(f"off-{n}-{g}-{seed}", "chunk", n, 10 * n + g, seed,
                                 exact=OFFLINE_END[n] + g, proxy=OFFLINE_END[n] + g, lr=3e-3))
    return pd.DataFrame(old), pd.DataFrame(more)


def _selection(lrs: dict[float, float]) -> pd.DataFrame:
    return pd.DataFrame([dict(run_id=f"lr-{lr}-{s}", slice="gru10_offline", status="ok",
                              alphabet=A26, bptt="epoch", cell="gru", units=10, update="chunk",
                              lr=lr, seed=s, bits_stored=bits + s, length=1024, max_epochs=1000,
                              parameters=1426) for lr, bits in lrs.items() for s in (0, 1)])


def test_a_run_id_in_both_tables_keeps_the_later_row():
    a = pd.DataFrame(dict(run_id=["x", "y", "z"], v=[1, 2, 3]))
    b = pd.DataFrame(dict(run_id=["z", "y", "w"], v=[30, 20, 40]))
    joined, replaced = join_runs(a, None, b)
    assert replaced == 2 and len(joined) == 4
    assert joined.set_index("run_id")["v"].to_dict() == dict(x=1, y=20, z=30, w=40)
    assert join_runs(None, None) == (None, 0)


def test_the_exact_saving_is_used_where_recorded_and_the_proxy_elsewhere():
    df = pd.DataFrame([_run("a", "step", 64, 1, 0, exact=90.0, proxy=120.0, at_300=70.0),
                       _run("b", "step", 64, 1, 1, exact=None, proxy=120.0),
                       _run("c", "chunk", 64, 1, 0, exact=None, proxy=55.0, at_300=80.0)])
    value, exact = saved_end(df)
    assert value.tolist() == pytest.approx([90.0, 120.0, 55.0]) and exact.tolist() == [
        True, False, False]
    at = saved_at(df, 300)
    assert at[0] == 70.0  # constant lr: the model after 300 exposures of a 1000 budget
    assert np.isnan(at[1])  # no curve recorded
    assert np.isnan(at[2])  # cosine: mid-schedule is not a 300-exposure run's end
    assert np.isnan(saved_at(df, 125)[0])  # not an evaluation


def test_re_runs_replace_their_rows_and_every_capacity_says_its_measure():
    old, more = _tables()
    cap = analyse_capacity(_selection({1e-3: 1500.0, 3e-3: 2000.0}), old, more=more)
    joined = cap.joined["capacity_more"]
    assert (joined["rows"], joined["replaced"]) == (len(more), len(old))
    rerun = joined["rerun"]  # the re-runs against the rows they replace
    assert rerun["runs"] == len(old) and rerun["identical"] == len(old) - 2
    assert rerun["min"] == pytest.approx(104 / 144) and rerun["max"] == 1.0
    assert (rerun["cpus_old"], rerun["cpus_new"]) == (["old"], ["new"])
    saved = cap.saved.set_index(["mode", "exposures"])
    on_end, on_300 = saved.loc[("online k=16", 1000)], saved.loc[("online k=16", 300)]
    off = saved.loc[("offline", 300)]
    # the re-run rows replaced the proxy rows: exact everywhere, peak at 128 letters
    assert on_end["measure"] == "exact" and on_end["proxy_lengths"] == []
    assert on_end["capacity"] == pytest.approx(ONLINE_END[128] + 1)
    assert on_end["proxy_capacity"] == pytest.approx(1.05 * (ONLINE_END[128] + 1))
    assert on_300["capacity"] == pytest.approx(ONLINE_300[128] + 1)
    assert off["capacity"] == pytest.approx(OFFLINE_END[128] + 1) and off["measure"] == "exact"
    assert off["bits_per_param"] == pytest.approx((OFFLINE_END[128] + 1) / 1426)
    assert ("offline", 100) not in saved.index  # cosine read mid-schedule: no capacity
    # online over offline at the offline budget, the online curve read at 300
    r = cap.saved_ratio.iloc[0]
    assert r["exposures"] == 300 and r["ratio"] == pytest.approx(151.0 / 301.0)
    assert r["online_measure"] == r["offline_measure"] == "exact"
    assert r["paired"] == r["lengths"] == 3 and r["lo"] <= r["hi"]
    assert r["online_status"] == r["offline_status"] == "past a peak (1 length beyond)"
    assert r["reads_as"] == "neither side rising"
    # the proxy's bias, from the runs that hold both
    bias = cap.saved_bias.set_index("update")
    assert bias.loc["online", "median"] == pytest.approx(1.05)
    assert bias.loc["offline", "median"] == pytest.approx(1.0)
    assert bias.loc["online", "runs"] == 18 and bias.loc["offline", "runs"] == 18
    text = "\n".join(saved_section(cap))
    assert "online 1.050" in text and "18 of them re-ran runs of `capacity`" in text
    assert "online the proxy overstates the frozen model's saving by a median 5.0%" in text


def test_without_the_re_runs_the_online_curve_rests_on_the_proxy():
    old, more = _tables()
    cap = analyse_capacity(_selection({1e-3: 1.0}), old,
                           more=more[more["update"] == "chunk"])
    on = cap.saved.set_index(["mode", "exposures"]).loc[("online k=16", 1000)]
    assert on["measure"] == "proxy"
    assert on["capacity"] == pytest.approx(1.05 * (ONLINE_END[128] + 1))
    assert cap.saved_ratio.empty  # no exact online reading at the offline budget of 300


def test_an_error_row_never_replaces_a_stored_run():
    old, more = _tables()
    broken = more.copy()
    broken.loc[broken["run_id"] == "on-64-0-0", "status"] = "error"
    cap = analyse_capacity(_selection({1e-3: 1.0}), old, more=broken)
    assert cap.joined["capacity_more"]["replaced"] == len(old) - 1
    mixed = cap.sequences[(cap.sequences["mode"] == "online k=16")
                          & (cap.sequences["gen_seed"] == 640)]
    assert mixed["exact_end"].iloc[0] == 0.5  # one seed exact, the other the kept proxy row


def test_a_curve_that_mixes_the_measures_says_where_and_stands_on_the_proxy_alone():
    rows = []
    for n, exact, value in ((256, 0.0, 500.0), (512, 0.0, 600.0), (1024, 1.0, 900.0)):
        for s in range(3):
            rows.append(dict(slice="x", cell="lstm", units=4, alphabet_size=26, mode="offline",
                             params=100, max_epochs=300,
                             exposures=300, length=n, gen_seed=s, saved=value + 40 * s,
                             exact=exact, proxy=(610.0 if n == 1024 else value) + 40 * s,
                             clipped=value + s, bits_start=1.0))
    keys = ["slice", "cell", "units", "alphabet_size", "mode", "params", "max_epochs"]
    r = code_length_capacity(pd.DataFrame(rows), keys).iloc[0]
    assert r["measure"] == "exact" and r["peak_length"] == 1024
    assert r["exact_lengths"] == [1024] and r["proxy_lengths"] == [256, 512]
    assert r["status"] == "rising"  # 940 over 640 on the mixed curve
    assert r["proxy_status"] == "level" and r["proxy_gain"] == pytest.approx(650 / 640)
    assert curve_statuses(pd.DataFrame([r]))["bound"][0]["slice"] == "x"


def test_an_exact_reading_before_the_budget_needs_every_sequence_of_the_curve():
    seqs = pd.DataFrame(dict(slice="s", mode="online k=16", max_epochs=1000, length=[64, 128],
                             gen_seed=[1, 2], saved_end=[10.0, 20.0], exact_end=[1.0, 1.0],
                             proxy_end=[11.0, 21.0], bits_end=[30.0, 40.0],
                             saved_300=[5.0, np.nan], bits_300=[25.0, 35.0],
                             saved_100=[4.0, 8.0], bits_100=[20.0, 30.0]))
    got = readings(seqs, ["slice", "mode", "max_epochs"], (100, 300, 1000))
    assert sorted(set(got["exposures"])) == [100, 1000]  # 300 lacks one sequence's reading
    assert got[got["exposures"] == 100]["saved"].tolist() == [4.0, 8.0]
    assert got[got["exposures"] == 100]["proxy"].isna().all()


def test_the_proxy_bias_leaves_out_runs_with_nothing_saved():
    df = pd.DataFrame([_run("a", "step", 64, 1, 0, exact=100.0, proxy=110.0),
                       _run("b", "step", 64, 1, 1, exact=50.0, proxy=60.0),
                       _run("c", "step", 64, 1, 2, exact=-3.0, proxy=5.0),
                       _run("d", "chunk", 64, 1, 0, exact=None, proxy=5.0),
                       _run("e", "step", 128, 2, 0, exact=100.0, proxy=90.0)])
    got = proxy_bias(df).set_index("update")
    assert list(got.index) == ["online"]  # the offline run has no exact measure
    row = got.loc["online"]
    assert row["runs"] == 3 and row["left_out"] == 1
    assert row["median"] == pytest.approx(1.1)
    assert (row["min"], row["max"]) == pytest.approx((0.9, 1.2))
    assert row["by_length"] == pytest.approx({64: 1.15, 128: 0.9})
    assert row["networks"] == ["GRU 10"]


def test_the_lr_is_chosen_after_the_extension_joins_and_the_trained_lr_is_checked():
    before = _selection({1e-3: 1500.0, 3e-3: 2000.0})
    extra = _selection({1e-2: 2500.0})
    extra["run_id"] = extra["run_id"] + "-more"
    joined, _ = join_runs(before, extra)
    table = pd.DataFrame(dict(slice=["gru10_offline"] * 2, lr=[3e-3, 3e-3]))
    got = lr_check(choose_lr(before), choose_lr(joined), extra, table).iloc[0]
    assert got["lr_before"] == 3e-3 and got["edge_before"] and got["added_lr"] == [1e-2]
    assert got["lr"] == 1e-2 and got["at_edge"]  # the new top wins: still at the edge
    assert got["trained_lr"] == [3e-3] and got["trained_at_choice"] is False
    inside = _selection({1e-2: 1800.0})
    inside["run_id"] = inside["run_id"] + "-more"
    got = lr_check(choose_lr(before), choose_lr(join_runs(before, inside)[0]), inside,
                   table).iloc[0]
    assert got["lr"] == 3e-3 and not got["at_edge"] and got["trained_at_choice"] is True


def test_online_offline_pairs_only_the_lengths_both_trained_on_the_same_sequences():
    saved = pd.DataFrame([
        dict(cell="gru", units=10, alphabet_size=26, mode=m, exposures=300, max_epochs=b,
             params=1426, capacity=c, bits_per_param=c / 1426, measure="exact", status="level",
             lr=1e-3)
        for m, b, c in (("online k=16", 1000, 150.0), ("offline", 300, 300.0))])
    reads = pd.DataFrame([
        dict(cell="gru", units=10, alphabet_size=26, mode=m, exposures=300, length=n, lr=1e-3,
             gen_seed=g + (100 if (m == "offline" and n == 128) else 0), saved=v + g)
        for m, v in (("online k=16", 150.0), ("offline", 300.0)) for n in (64, 128)
        for g in range(3)])
    r = online_offline(saved, reads).iloc[0]
    assert (r["paired"], r["lengths"]) == (1, 2)
    assert r["ratio"] == pytest.approx(0.5) and r["lo"] <= 0.5 <= r["hi"]


def test_a_ratio_with_a_rising_side_is_read_as_a_bound():
    saved = pd.DataFrame([
        dict(cell="gru", units=10, alphabet_size=26, mode=m, exposures=300, max_epochs=300,
             params=1426, capacity=c, bits_per_param=c / 1426, measure="exact", status=st,
             lr=1e-3)
        for m, c, st in (("online k=16", 150.0, "peaked"), ("offline", 300.0, "rising"))])
    reads = pd.DataFrame([dict(cell="gru", units=10, alphabet_size=26, mode=m, exposures=300,
                               length=64, gen_seed=g, saved=v + g, lr=1e-3)
                          for m, v in (("online k=16", 150.0), ("offline", 300.0))
                          for g in range(3)])
    assert online_offline(saved, reads).iloc[0]["reads_as"] == "an upper bound"
    saved["status"] = ["rising", "past a peak (1 length beyond)"]
    assert online_offline(saved, reads).iloc[0]["reads_as"] == "a lower bound"
    # 'level': the largest mean at the longest length, as a bound as 'rising' is
    saved["status"] = ["level", "peaked"]
    assert online_offline(saved, reads).iloc[0]["reads_as"] == "a lower bound"


def test_a_curve_trained_at_an_lr_no_longer_chosen_is_flagged_in_the_ratio():
    from analysis.code_length import with_lr

    old, more = _tables()
    cap = analyse_capacity(_selection({1e-3: 1500.0, 3e-3: 2000.0}), old, more=more,
                           lr_more=_selection({1e-2: 2500.0}).assign(
                               run_id=lambda d: d["run_id"] + "-more"))
    off = cap.saved[cap.saved["mode"] == "offline"].iloc[0]
    assert off["lr_as_chosen"] is False  # trained at 3e-3; the extended grid picks 1e-2
    assert cap.saved_ratio.iloc[0]["reads_as"].endswith("offline not at the lr chosen now")
    assert "lr 0.003 (**not the lr chosen now**)" in "\n".join(saved_section(cap))
    reasons = [r for v in cap.verdicts for r in v["reasons"]]
    assert any(r.startswith("not settled for offline: its curves trained at lr 0.003") for r in reasons)
    unknown = with_lr(cap.saved, cap.lr_choice.iloc[0:0])
    assert unknown["lr_as_chosen"].isna().all()


def test_a_slice_trained_at_two_lrs_is_read_at_the_chosen_one_with_the_other_beside():
    old, more = _tables()
    better = more[more["update"] == "chunk"].copy()  # the offline curve again at 1e-2: +50%
    better["run_id"] = better["run_id"] + "-1e-2"
    better["lr"] = 1e-2
    better["bits_saved"] = better["bits_saved"] * 1.5
    extra = _selection({1e-2: 2500.0}).assign(run_id=lambda d: d["run_id"] + "-more")
    cap = analyse_capacity(_selection({1e-3: 1500.0, 3e-3: 2000.0}), old,
                           more=pd.concat([more, better]), lr_more=extra)
    assert set(cap.sequences.loc[cap.sequences["mode"] == "offline", "lr"]) == {1e-2}
    off = cap.saved[cap.saved["mode"] == "offline"].set_index("lr")
    assert off.loc[1e-2, "lr_as_chosen"] is True and off.loc[3e-3, "lr_as_chosen"] is False
    assert off.loc[1e-2, "capacity"] == pytest.approx(1.5 * (OFFLINE_END[128] + 1))
    ratio = cap.saved_ratio.set_index("offline_lr")
    assert ratio.loc[1e-2, "ratio"] == pytest.approx(151.0 / (1.5 * 301.0))
    assert ratio.loc[3e-3, "ratio"] == pytest.approx(151.0 / 301.0)
    assert ratio.loc[3e-3, "reads_as"].endswith("offline not at the lr chosen now")
    choice = cap.lr_choice.set_index("slice").loc["gru10_offline"]
    assert choice["trained_lr"] == [3e-3, 1e-2] and choice["trained_at_choice"] is True


def test_windows_are_compared_over_the_lengths_every_window_tried():
    from analysis.capacity_checks import window_ratios

    rows = []
    for window, bits in ((4, {64: 100.0, 128: 150.0, 256: 400.0}), (16, {64: 120.0, 128: 200.0}),
                         (64, {64: 90.0, 128: 210.0, 256: 500.0})):
        for n, b in bits.items():
            rows.append(dict(cell="lstm", units=8, alphabet_size=26, exposures=300, length=n,
                             mode=f"online k={window}", bits=b))
    got = window_ratios(pd.DataFrame(rows)).set_index("window")
    assert (got["shortest"].iloc[0], got["longest"].iloc[0]) == (64, 128)
    assert got.loc[4, "bits"] == 150.0 and got.loc[4, "ratio"] == pytest.approx(0.75)
    assert got.loc[64, "ratio"] == pytest.approx(1.05) and got.loc[16, "ratio"] == 1.0


def test_capacity_far_continues_the_curves_and_replaces_what_it_re_made():
    """capacity_far's rows join after capacity_more's: a re-made run id keeps far's row (and
    the report says which kernel made each side), a new length extends the offline curve."""
    old, more = _tables()
    more = more.assign(kernel=np.where(more["update"] == "chunk", "torch", "numba"))
    remade = more[(more["update"] == "chunk") & (more["length"] == 64)].copy()
    remade["kernel"] = "numba"
    remade["bits_stored"] = remade["bits_stored"] * 1.01
    longer = []
    for g in range(3):
        for seed in range(2):
            longer.append(_run(f"off-512-{g}-{seed}", "chunk", 512, 5120 + g, seed,
                               exact=290.0 + g, proxy=290.0 + g, lr=3e-3))
    far = pd.concat([remade, pd.DataFrame(longer).assign(kernel="numba")], ignore_index=True)
    cap = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more, far=far)
    joined = cap.joined["capacity_far"]
    assert (joined["rows"], joined["replaced"]) == (12, 6)
    rerun = joined["rerun"]
    assert rerun["runs"] == 6 and rerun["identical"] == 0
    assert rerun["median"] == pytest.approx(1.01)
    assert (rerun["kernels_old"], rerun["kernels_new"]) == (["torch"], ["numba"])
    off = cap.saved.set_index(["mode", "exposures"]).loc[("offline", 300)]
    assert off["capacity"] == pytest.approx(301.0) and off["peak_length"] == 128
    assert off["last_length"] == 512 and off["lengths_beyond"] == 2  # 256 and 512 below it
    assert off["status"] == "peaked"
    text = "\n".join(saved_section(cap))
    assert "`capacity_far` continues every offline curve" in text
    assert "by kernel numba where the old ones were by torch" in text


def test_capacity_beyond_continues_a_curve_after_far_and_a_network_may_be_offline_only():
    """capacity_beyond's rows join last: two longer lengths on new sequences turn the
    offline curve from rising to peaked; a network trained only offline (no online
    partner) gets its capacity, and no online/offline ratio."""
    old, more = _tables()
    beyond = []
    for n, value in ((512, 250.0), (1024, 240.0)):
        for g in range(3):
            for seed in range(2):
                beyond.append(_run(f"beyond-{n}-{g}-{seed}", "chunk", n, 7000 + n + g, seed,
                                   exact=value + g, proxy=value + g, lr=3e-3))
    wide = [dict(r, run_id=f"wide-{r['run_id']}", slice="lstm64_offline", cell="lstm", units=64,
                 parameters=24986) for r in beyond]
    table = pd.DataFrame(beyond + wide)
    cap = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more, beyond=table)
    assert cap.joined["capacity_beyond"] == dict(rows=24, replaced=0)
    off = cap.saved[(cap.saved["cell"] == "gru") & (cap.saved["mode"] == "offline")].iloc[0]
    assert off["capacity"] == pytest.approx(301.0) and off["last_length"] == 1024
    assert off["status"] == "peaked"
    wide_cap = cap.saved[cap.saved["units"] == 64].iloc[0]
    assert wide_cap["capacity"] == pytest.approx(251.0) and wide_cap["peak_length"] == 512
    assert wide_cap["status"] == "past a peak (1 length beyond)"
    assert not (cap.saved_ratio["units"] == 64).any()
    assert "`capacity_beyond` adds the LSTM 64 units' offline curve" in "\n".join(saved_section(cap))


def _longer(off: pd.DataFrame, budget: int, factor: float) -> pd.DataFrame:
    """The offline runs `off` again at a longer budget, saving `factor` times as much."""
    saved = off["bits_saved"] * factor
    return off.assign(run_id=off["run_id"] + f"-{budget}", max_epochs=budget, bits_saved=saved,
                      final_loss=[_loss_for(v, n) for v, n in zip(saved, off["length"],
                                                                  strict=True)])


def test_the_offline_budget_is_compared_on_the_same_sequences_not_joined():
    """capacity_offline_budget: 1000-exposure offline runs on the 300-exposure curve's
    sequences give a per-sequence ratio (here x1.2 exactly), stay out of the curves, and the
    report renders them."""
    from analysis.capacity_budget_report import offline_budget_lines

    old, more = _tables()
    off = more[(more["update"] == "chunk") & (more["length"] == 128)]
    cap = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                           offline_budget=_longer(off, 1000, 1.2))
    (r,) = cap.offline_budget.to_dict(orient="records")
    assert (r["length"], r["short"], r["long"], r["sequences"]) == (128, 300, 1000, 3)
    assert r["ratio"] == pytest.approx(1.2) and r["lo"] == pytest.approx(1.2)
    assert r["saved_long"] == pytest.approx(1.2 * r["saved_short"])
    assert set(cap.saved.loc[cap.saved["mode"] == "offline", "max_epochs"]) == {300}  # not joined
    assert "| GRU 10, 26 letters | 1,426 | 128 | 0.003 | 1000 |" in "\n".join(
        offline_budget_lines(cap.offline_budget, cap.budget_curves))


def test_each_longer_offline_budget_is_a_curve_of_its_own_with_its_plateau_and_ratios():
    """capacity_offline_long: the 1000-exposure runs at the short curve's peak (128, x1.2),
    one doubling past it (256, x1.5) and on new sequences beyond (512) form one curve that
    peaks at 256 (past a peak: 1.5 x 281), 1.40 times the 300-exposure plateau (301, at
    128); online at 1000 exposures (161) over it; a 3000-exposure budget that stores a
    tenth fails to train and is flagged, not read as a capacity; the README and the brief
    render both."""
    from analysis.capacity_budget_report import offline_budget_lines
    from analysis.findings import longer_budgets
    from analysis.findings_capacity_report import budget_item

    old, more = _tables()
    off = more[more["update"] == "chunk"]
    beyond = pd.DataFrame([_run(f"off-512-{g}-{s}", "chunk", 512, 9000 + g, s, exact=400.0 + g,
                                proxy=400.0 + g, lr=3e-3) for g in range(3) for s in range(2)])
    cap = analyse_capacity(
        _selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
        offline_budget=_longer(off[off["length"] == 128], 1000, 1.2),
        offline_long=pd.concat([_longer(off[off["length"] == 256], 1000, 1.5),
                                _longer(beyond, 1000, 1.0),
                                _longer(off[off["length"] == 128], 3000, 0.1)]))
    ratios = cap.offline_budget.set_index(["long", "length"])["ratio"]
    assert ratios.to_dict() == pytest.approx({(1000, 128): 1.2, (1000, 256): 1.5,
                                              (3000, 128): 0.1})  # 512: nothing to pair
    curves = cap.budget_curves.set_index("max_epochs")
    one = curves.loc[1000]
    assert one["lengths"] == [128, 256, 512] and one["peak_length"] == 256
    assert one["status"] == "past a peak (1 length beyond)" and not one["failed"]
    assert one["capacity"] == pytest.approx(1.5 * 281.0)
    assert one["over_short"] == pytest.approx(1.5 * 281.0 / 301.0) and one["short_peak"] == 128
    assert one["online_ratio"] == pytest.approx(161.0 / (1.5 * 281.0))
    (verdict,) = [v for v in cap.verdicts if v["cell"] == "gru"]
    assert any(x.startswith("at equal exposures, 1000 each") and "online 0.38 [" in x
               and "an upper bound" in x for x in verdict["reasons"])  # 161 / 421.5
    three = curves.loc[3000]
    assert three["failed"] and three["status"] == "one length"
    assert three["over_short"] == pytest.approx(0.1)
    assert three["prev_budget"] == 1000 and three["over_prev"] == pytest.approx(30.1 / 421.5)
    assert pd.isna(one["over_prev"])  # 300 is the short curve's, not a longer budget's
    assert one["at_peak"] == pytest.approx(1.2) and not one["at_shortest"]  # paired at 128
    assert one["failed_runs"] == {512: [0, 6]}  # 400-402 bits: none under 0.6 x 421.5
    (b1000, b3000) = longer_budgets(cap.budget_curves)
    assert (b1000["more"], b1000["failed"], len(b1000["equal_online"])) == (1, [], 1)
    assert b3000["failed"] == [dict(cell="gru", units=10, alphabet_size=26,
                                    ratio=pytest.approx(0.1), prev=1000,
                                    prev_ratio=pytest.approx(30.1 / 421.5))]
    text = "\n".join(offline_budget_lines(cap.offline_budget, cap.budget_curves))
    assert "| GRU 10, 26 letters | 1,426 | 1000 | 128, 256, 512 | 422 [" in text
    assert "**stores less than a shorter budget at this lr: not read as a capacity**" in text
    rows = cap.budget_curves.to_dict(orient="records")
    assert "past a peak (1 length beyond), 128, 256, 512 letters), ×1.40" in budget_item(rows[0])
    assert "×0.10 of 300, ×0.07 [" in budget_item(rows[1])
    assert "not read as a capacity; why is untested" in budget_item(rows[1])


def _at_lr(runs: pd.DataFrame, lr: float, factor: float) -> pd.DataFrame:
    """The runs `runs` again at another lr, saving `factor` times as much."""
    return runs.assign(run_id=runs["run_id"] + f"-lr{lr:g}", lr=lr,
                       bits_saved=runs["bits_saved"] * factor)


def test_online_lr_at_the_peak_keeps_or_removes_the_equal_exposure_upper_bound():
    """capacity_online_lr_peak: the online curve (lr 1e-3, peak 161 at 128 letters) again at a
    third and three times its lr there, on its own sequences, paired by sequence. Where
    neither stores more, the equal-exposure ratio stays an upper bound; where three times
    stores x1.2, online is not at its best lr, and the ratio is named no upper bound."""
    from analysis.capacity_report import online_lr_lines
    from analysis.findings import at_chosen, headline, longer_budgets
    from analysis.findings_brief import _capacity
    from analysis.findings_capacity_report import readme_capacity
    from analysis.load import records

    old, more = _tables()
    off = more[more["update"] == "chunk"]
    peak = more[(more["update"] == "step") & (more["length"] == 128)]
    longer = dict(offline_budget=_longer(off[off["length"] == 128], 1000, 1.2),
                  offline_long=_longer(off[off["length"] == 256], 1000, 1.5))
    for up, bound in ((0.8, "an upper bound"), (1.2, "not an upper bound: online at lr 0.003 "
                                                     "stores x1.20 [1.20, 1.20]")):
        check = pd.concat([_at_lr(peak, 1e-3 / 3, 0.9).assign(spec="capacity_online_lr_peak"),
                           _at_lr(peak, 3e-3, up).assign(spec="capacity_online_lr_peak_lstm")])
        cap = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                               online_lr_peak=check, **longer)
        ratios = cap.online_lr.set_index("lr_other")["ratio"].to_dict()
        assert ratios == pytest.approx({1e-3 / 3: 0.9, 3e-3: up})
        assert set(cap.online_lr["length"]) == {128} and set(cap.online_lr["curve_peak"]) == {128}
        assert set(cap.online_lr["sequences"]) == {3}
        assert set(cap.saved.loc[cap.saved["mode"] == "online k=16", "lr"]) == {1e-3}  # not joined
        (verdict,) = [v for v in cap.verdicts if v["cell"] == "gru"]
        (equal,) = [x for x in verdict["reasons"] if x.startswith("at equal exposures")]
        assert bound in equal and ("not an upper bound" in equal) == (up > 1)
        (lr_reason,) = [x for x in verdict["reasons"] if x.startswith("online's lr at its peak")]
        assert "at 128 letters (the curve's peak), on the curve's own 3 sequences" in lr_reason
        assert ("a neighbouring lr stores more" in lr_reason) == (up > 1)
        assert ("neither stores more" in lr_reason) == (up < 1)
        (b1000,) = longer_budgets(cap.budget_curves, cap.online_lr)
        (equal_online,) = b1000["equal_online"]
        assert equal_online["online_lr"]["tried"] == 2
        assert [m["lr"] for m in equal_online["online_lr"]["more"]] == ([3e-3] if up > 1 else [])
        brief = _capacity({"capacity": {"headline": headline(cap), "at_chosen": at_chosen(cap),
                                        "saved": records(cap.saved, list(cap.saved.columns)),
                                        "saved_ratio": records(cap.saved_ratio,
                                                               list(cap.saved_ratio.columns))}})
        readme = "\n".join(readme_capacity(dict(
            headline=headline(cap), lstar=[], status={},
            budget_curves=records(cap.budget_curves, list(cap.budget_curves.columns)),
            online_lr=records(cap.online_lr, list(cap.online_lr.columns)),
            online_lr_specs=cap.online_lr_specs)))
        assert "GRU 10 units, 26 letters, 1000 at 128 letters, lr 0.003 ×" in readme
        assert "(`capacity_online_lr_peak`, `capacity_online_lr_peak_lstm`, on the curve's own" \
            in readme
        assert ("a neighbouring lr stores more, so online is not at its best lr" in readme) == \
            (up > 1)
        if up > 1:
            assert "(the GRU 10), no upper bound: at 128 letters online at lr 0.003" in brief
            assert "keeps at most" not in brief
        else:
            assert "keeps at most" in brief and "three times online's lr at its peak, for " \
                "the GRU 10" in brief
    text = "\n".join(online_lr_lines(cap.online_lr, cap.online_lr_specs))
    assert "### The online lr at the curve's peak (`capacity_online_lr_peak`, " \
        "`capacity_online_lr_peak_lstm`)" in text
    assert "| GRU 10, 26 letters | 1,426 | 1000 | 128 letters (the curve's peak) | 0.001 | 0.003 |" \
        in text and "x1.20" in text


def test_the_report_names_close_lr_choices_and_budgets_other_than_the_selection_s():
    """A choice the runner-up comes within 5% of is named as unsettled, with its margin;
    a slice whose capacity runs train another budget than its selection is named."""
    from analysis.capacity_report import budget_lines, margin_lines

    close = _selection({1e-3: 1000.0, 3e-3: 1030.0})
    row = choose_lr(close).iloc[0]
    assert row["lr"] == 3e-3 and row["margin"] == pytest.approx(1.03, rel=1e-3)
    choice = pd.DataFrame([dict(row, capacity_budgets=[300])])
    assert "gru10_offline x1.030" in margin_lines(choice)[1]
    clear = pd.DataFrame([dict(choose_lr(_selection({1e-3: 1000.0, 3e-3: 2000.0})).iloc[0],
                               capacity_budgets=[row["exposures"]])])
    assert margin_lines(clear) == []
    assert budget_lines(clear)[0].startswith("Each lr was chosen at the budget its capacity")
    other = budget_lines(choice.assign(exposures=1000))[0]
    assert "these slices' capacity runs train another: gru10_offline at 300" in other


def test_capacity_online_lr_trains_a_curve_at_the_lr_chosen_again_the_old_one_beside():
    """capacity_online_lr's rows join last: the online curve at the lr chosen now (3e-4, on
    the unclipped saving at the longest selection length) is the one read, the curve at
    1e-3 stays beside it, and the report names the table."""
    old, more = _tables()
    online = more[more["update"] == "step"]
    again = online.assign(run_id=online["run_id"] + "-3e-4", lr=3e-4,
                          bits_saved=online["bits_saved"] + 30.0)
    selection = pd.DataFrame([dict(run_id=f"sel-{lr}-{s}", slice="gru10_online", status="ok",
                                   alphabet=A26, bptt="16", cell="gru", units=10, update="step",
                                   lr=lr, length=2048, max_epochs=1000, seed=s,
                                   bits_stored=2000.0, bits_saved=value, final_loss=0.0,
                                   loss="logits")
                              for lr, value in ((3e-4, 1900.0), (1e-3, 1800.0)) for s in (0, 1)])
    cap = analyse_capacity(selection, old, more=more, online_lr=again)
    assert cap.joined["capacity_online_lr"] == dict(rows=len(again), replaced=0)
    choice = cap.lr_choice.set_index("slice").loc["gru10_online"]
    assert choice["lr"] == 3e-4 and choice["chosen_on"] == "unclipped"
    assert choice["lr_clipped"] in (3e-4, 1e-3)  # tied clipped bits: the check is beside
    read = cap.saved[(cap.saved["mode"] == "online k=16") & (cap.saved["exposures"] == 1000)]
    at = read.set_index("lr")["capacity"]
    assert at.loc[3e-4] == pytest.approx(ONLINE_END[128] + 1 + 30.0)  # the chosen curve
    assert at.loc[1e-3] == pytest.approx(ONLINE_END[128] + 1)  # beside it
    assert "`capacity_online_lr` trains the online curves" in "\n".join(saved_section(cap))


def test_windows_compare_on_the_exact_saving_over_shared_lengths():
    """Like for like: the same exposures and lr, the lengths where every window has exact
    readings (window 4's longer length and window 64's proxy length are left out); the
    interval resamples the sequences, paired where the windows trained the same ones."""
    from analysis.capacity_verdicts import _window
    from analysis.code_length import window_ratios

    rows = []
    for mode, values in (("online k=4", {64: 90.0, 128: 120.0, 256: 100.0, 512: 500.0}),
                         ("online k=16", {64: 100.0, 128: 150.0, 256: 140.0}),
                         ("online k=64", {64: 80.0, 128: 135.0, 256: 900.0})):
        for n, v in values.items():
            for g in range(3):
                rows.append(dict(cell="lstm", units=8, alphabet_size=26, lr=1e-3, exposures=300,
                                 mode=mode, length=n, gen_seed=10 * n + g, saved=v + g - 1,
                                 exact=0.0 if (mode == "online k=64" and n == 256) else 1.0))
    w = window_ratios(pd.DataFrame(rows)).set_index("window")
    assert (w["shortest"].unique().tolist(), w["longest"].unique().tolist()) == ([64], [128])
    assert w.loc[4, "saved"] == pytest.approx(120.0) and w.loc[4, "ratio"] == pytest.approx(0.8)
    assert w.loc[64, "ratio"] == pytest.approx(0.9) and w.loc[16, "ratio"] == 1.0
    assert w.loc[64, "peak_length"] == 128 and w.loc[4, "paired"] == 2
    assert w.loc[4, "ratio_lo"] < 0.8 < w.loc[4, "ratio_hi"] < 0.85  # +-1 around each mean
    text = _window(pd.DataFrame(), w.reset_index())
    assert text.startswith("not the window: no other window stores more, at 300 exposures "
                           "against window 16 over the lengths all tried (64-128): window 4 x0.80 [")
    assert "(unclipped, exact; interval over sequences; one width, at the lr chosen for " \
           "window 16)" in text
    better = w.reset_index().assign(ratio_lo=lambda d: d["ratio_lo"] + 0.5)  # window 64 > 1
    assert _window(pd.DataFrame(), better).startswith("the window: another one stores more")
    one = pd.DataFrame(rows)
    assert window_ratios(one[one["mode"] != "online k=16"]).empty  # no window 16


def test_the_lr_is_chosen_at_the_longest_length_the_selection_tried():
    """capacity_lr_long's rows decide where they exist: 3e-3 is best at 1024 letters, 1e-3
    at 8192, so the slice's lr is 1e-3, the short choice beside it, and the curve trained
    at 3e-3 is flagged as not at the lr chosen now."""
    from analysis.capacity_report import lr_long_lines

    short = _selection({1e-3: 1500.0, 3e-3: 2000.0})
    long = _selection({1e-3: 9000.0, 3e-3: 7000.0, 1e-2: 100.0}).assign(length=8192)
    long["run_id"] = long["run_id"] + "-long"
    no_saving = choose_lr(long).iloc[0]  # no saving recorded: chosen on the clipped bits
    assert math.isnan(no_saving["lr_unclipped"]) and no_saving["chosen_on"] == "clipped"
    # where every lr has the unclipped saving, it chooses (3e-3), the clipped choice beside
    saving = long.assign(bits_saved=long["lr"].map({1e-3: 5000.0, 3e-3: 6000.0, 1e-2: 50.0}),
                         final_loss=0.0, loss="logits")
    row = choose_lr(saving).iloc[0]
    assert (row["lr"], row["chosen_on"], row["lr_clipped"]) == (3e-3, "unclipped", 1e-3)
    assert row["saved_by_lr"] == {"0.001": 5000.0, "0.003": 6000.0, "0.01": 50.0}
    assert choose_lr(saving, on="clipped").iloc[0]["lr"] == 1e-3  # a study of the clipped bits
    assert choose_lr(pd.concat([short, long])).iloc[0]["lr"] == 1e-3
    assert choose_lr(pd.concat([short, long])).iloc[0]["length"] == 8192
    old, more = _tables()
    cap = analyse_capacity(short, old, more=more, lr_long=long)
    row = cap.lr_choice.set_index("slice").loc["gru10_offline"]
    assert row["lr"] == 1e-3 and row["lr_short"] == 3e-3 and row["length_short"] == 1024
    assert row["trained_lr"] == [3e-3] and row["trained_at_choice"] is False
    text = lr_long_lines(cap.lr_choice)[0]
    assert "gru10_offline: 0.003 at 1,024 letters, **0.001** at 8,192 (its capacity curve " \
           "trained at 0.003: not the lr chosen now)" in text
    same = analyse_capacity(short, old, more=more).lr_choice.set_index("slice")
    assert same.loc["gru10_offline", "lr"] == 3e-3 and pd.isna(same.loc["gru10_offline", "lr_short"])
    assert lr_long_lines(analyse_capacity(short, old, more=more).lr_choice) == []


def test_a_longer_budget_that_stores_less_than_a_shorter_longer_one_is_flagged():
    """3000 exposures that store more than 300 (x1.1 at 128) but less than the 1000-exposure
    curve (x1.5 at 256) train unstably at that lr: flagged, kept out of the ranges."""
    from analysis.findings import longer_budgets

    old, more = _tables()
    off = more[more["update"] == "chunk"]
    cap = analyse_capacity(
        _selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
        offline_budget=_longer(off[off["length"] == 128], 1000, 1.2),
        offline_long=pd.concat([_longer(off[off["length"] == 256], 1000, 1.5),
                                _longer(off[off["length"] == 128], 3000, 1.1)]))
    three = cap.budget_curves.set_index("max_epochs").loc[3000]
    assert three["over_short"] == pytest.approx(1.1) and three["over_short_lo"] > 1
    assert three["over_prev"] == pytest.approx(1.1 * 301 / 421.5) and three["failed"]
    (_, b3000) = longer_budgets(cap.budget_curves)
    assert b3000["failed"][0]["prev"] == 1000 and b3000["more"] == 0


def test_a_longer_budget_at_another_lr_is_compared_on_the_same_sequences():
    """capacity_offline_long_lr: the 1000-exposure runs at a third of the lr, on the same
    sequences, give the per-sequence ratio to the budget's own lr (here x0.8), rendered."""
    from analysis.capacity_budget_report import offline_budget_lines

    old, more = _tables()
    off = more[more["update"] == "chunk"]
    at_1000 = _longer(off[off["length"] == 256], 1000, 1.5)
    lower = _longer(off[off["length"] == 256], 1000, 1.2).assign(
        lr=1e-3, run_id=lambda d: d["run_id"] + "-lr")
    cap = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                           offline_long=at_1000, offline_long_lr=lower)
    (r,) = cap.budget_lr.to_dict(orient="records")
    assert (r["max_epochs"], r["length"], r["lr_own"], r["lr_other"], r["sequences"]) == (
        1000, 256, 3e-3, 1e-3, 3)
    assert r["ratio"] == pytest.approx(0.8) and r["hi"] == pytest.approx(0.8)
    text = "\n".join(offline_budget_lines(cap.offline_budget, cap.budget_curves, cap.budget_lr))
    assert "| GRU 10, 26 letters | 1,426 | 1000 | 256 | 0.003 | 0.001 |" in text


def test_a_width_s_online_lr_and_curve_join_from_tables_of_their_own():
    """capacity_lr_online64 selects the lr of a slice capacity_lr lacks (here 3e-4 over 1e-3
    and 3e-3, on the unclipped saving), and capacity_online64's curve at it (300 exposures)
    joins the capacity and meets the width's offline curve (capacity_beyond) on the same
    sequences."""
    from analysis.capacity_report import capacity_section

    old, more = _tables()
    wide = dict(slice="lstm64_online", cell="lstm", units=64, parameters=25242)
    pick = pd.DataFrame([dict(_run(f"pick-{lr}-{s}", "step", 4096, 9900, s, exact=v + s,
                                   proxy=v + s, lr=lr), **wide)
                         for lr, v in ((3e-4, 900.0), (1e-3, 800.0), (3e-3, 100.0))
                         for s in (0, 1)])
    online = pd.DataFrame([dict(_run(f"on64-{n}-{g}-{s}", "step", n, 7000 + n + g, s,
                                     exact=v + g, proxy=v + g, lr=3e-4), **wide,
                                max_epochs=300, bits_curve=(float(n),) * 7)
                           for n, v in ((128, 100.0), (256, 150.0), (512, 140.0))
                           for g in range(3) for s in range(2)])
    offline = pd.DataFrame([dict(_run(f"off64-{n}-{g}-{s}", "chunk", n, 7000 + n + g, s,
                                      exact=v + g, proxy=v + g, lr=3e-3),
                                 **dict(wide, slice="lstm64_offline"))
                            for n, v in ((128, 150.0), (256, 200.0), (512, 180.0))
                            for g in range(3) for s in range(2)])
    cap = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more, beyond=offline,
                           lr_online64=pick, online64=online)
    choice = cap.lr_choice.set_index("slice").loc["lstm64_online"]
    assert (choice["lr"], choice["length"], choice["chosen_on"]) == (3e-4, 4096, "unclipped")
    assert choice["trained_lr"] == [3e-4] and choice["trained_at_choice"] is True
    cap64 = cap.saved[(cap.saved["units"] == 64) & (cap.saved["mode"] == "online k=16")]
    (row,) = cap64[cap64["max_epochs"] == 300].to_dict(orient="records")
    assert row["capacity"] == pytest.approx(151.0) and row["peak_length"] == 256
    (ratio,) = cap.saved_ratio[cap.saved_ratio["units"] == 64].to_dict(orient="records")
    assert ratio["ratio"] == pytest.approx(151.0 / 201.0, rel=0.02)
    text = capacity_section(cap)
    assert "the LSTM 64 online by `capacity_lr_online64`)" in text
    assert "`capacity_online64` adds the LSTM 64 units' online curve (window 16, 18 runs" in text
    assert "`capacity_lr_online64`, " not in text.split("### Capacity per network")[1][:200]


def test_a_longer_budget_one_length_shorter_joins_its_curve():
    """capacity_offline_short: the 1000-exposure curve that began at 128 gains 64 (x1.6 of
    the 300-exposure runs there, 1.6 x 201 = 321.6 over 1.2 x 301 = 361.2 at 128): the peak
    stays at 128, which is no longer the shortest length tried."""
    old, more = _tables()
    off = more[more["update"] == "chunk"]
    cap = analyse_capacity(
        _selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
        offline_budget=_longer(off[off["length"] == 128], 1000, 1.2),
        offline_long=_longer(off[off["length"] == 256], 1000, 1.0),
        offline_short=_longer(off[off["length"] == 64], 1000, 1.6))
    (one,) = cap.budget_curves.to_dict(orient="records")
    assert one["lengths"] == [64, 128, 256] and one["peak_length"] == 128
    assert not one["at_shortest"] and one["capacity"] == pytest.approx(1.2 * 301.0)
    assert cap.offline_budget.set_index("length")["ratio"].to_dict() == pytest.approx(
        {64: 1.6, 128: 1.2, 256: 1.0})


def test_the_lr_check_says_where_a_curve_s_peak_moved_after_it_was_made():
    """The lr check ran at 256, the 1000-exposure curve's peak then; capacity_offline_short
    adds 128, where it stores more (x1.6 of 301 against x1.5 of 281), so the row says the
    peak is now at 128; without the shorter length it says nothing."""
    from analysis.capacity_budget_report import lr_lines

    old, more = _tables()
    off = more[more["update"] == "chunk"]
    at_1000 = _longer(off[off["length"] == 256], 1000, 1.5)
    lower = _longer(off[off["length"] == 256], 1000, 1.2).assign(
        lr=1e-3, run_id=lambda d: d["run_id"] + "-lr")
    args = dict(more=more, offline_long=at_1000, offline_long_lr=lower)
    moved = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, **args,
                             offline_short=_longer(off[off["length"] == 128], 1000, 1.6))
    assert moved.budget_lr["curve_peak"].tolist() == [128]
    assert "| 1000 | 256 (the curve's peak is now at 128) | 0.003 | 0.001 |" in "\n".join(
        lr_lines(moved.budget_lr))
    stays = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, **args)
    assert stays.budget_lr["curve_peak"].tolist() == [256]
    assert "| 1000 | 256 | 0.003 | 0.001 |" in "\n".join(lr_lines(stays.budget_lr))


def test_a_longer_length_that_failed_to_train_does_not_count_as_beyond_the_peak():
    """Lengths beyond the peak count toward 'peaked' only where they hold COLLAPSE of it: a
    decline to 0.9 then a failure (0.1) is one length beyond, with one failed; two declines
    are 'peaked'; a failure right after the peak collapses the curve (a lower bound)."""
    from analysis.capacity_checks import last_doubling

    def status(*means):
        part = pd.DataFrame([dict(length=64 * 2 ** i, bits=m + d) for i, m in enumerate(means)
                             for d in (-1.0, 0.0, 1.0)])
        d = last_doubling(part, "bits", np.random.default_rng(0))
        return d["status"], d["lengths_beyond"], d["lengths_failed"]

    assert status(50.0, 100.0, 90.0, 10.0) == ("past a peak (1 length beyond)", 1, 1)
    assert status(50.0, 100.0, 90.0, 80.0) == ("peaked", 2, 0)
    assert status(50.0, 100.0, 10.0, 5.0) == ("collapsed at the longest length", 0, 2)
    assert status(50.0, 100.0, 20.0) == ("collapsed at the longest length", 0, 1)
    assert status(50.0, 100.0)[0] == "rising"


def test_the_lr_checks_above_and_below_pair_with_the_own_lr_and_are_rendered_in_order():
    """capacity_offline_long_lr (a third of the lr, x0.8) and capacity_offline_long_lr_up
    (three times it, x1.1) both pair with the budget's own runs on the same sequences; the
    table lists the lower lr first and the brief names each row's lr."""
    from analysis.capacity_budget_report import lr_lines

    old, more = _tables()
    off = more[more["update"] == "chunk"]
    at_1000 = _longer(off[off["length"] == 256], 1000, 1.5)
    lower = _longer(off[off["length"] == 256], 1000, 1.2).assign(
        lr=1e-3, run_id=lambda d: d["run_id"] + "-lo")
    higher = _longer(off[off["length"] == 256], 1000, 1.65).assign(
        lr=1e-2, run_id=lambda d: d["run_id"] + "-hi")
    cap = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                           offline_long=at_1000, offline_long_lr=lower,
                           offline_long_lr_up=higher)
    rows = cap.budget_lr.to_dict(orient="records")
    assert [(r["lr_own"], r["lr_other"]) for r in rows] == [(3e-3, 1e-3), (3e-3, 1e-2)]
    assert [r["ratio"] for r in rows] == pytest.approx([0.8, 1.1])
    text = "\n".join(lr_lines(cap.budget_lr))
    assert text.index("| 0.003 | 0.001 |") < text.index("| 0.003 | 0.01 |")
    only_up = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                               offline_long=at_1000, offline_long_lr_up=higher)
    assert only_up.budget_lr["lr_other"].tolist() == [1e-2]


def test_the_lr_check_counts_each_budget_s_neighbours_and_summarizes_each_direction():
    """A budget whose lrs a third and three times its own both store less is bracketed (two
    neighbours, none more); one whose higher lr stores more is not; the summary counts each
    direction's budgets that store less, more or as much, and the brief renders them."""
    from analysis.capacity_budget import lr_check_summary, with_lr_neighbours
    from analysis.findings_brief import lr_direction

    net = dict(cell="lstm", units=16, alphabet_size=26, length=4096, sequences=3, more_on=0)
    rows = pd.DataFrame([
        dict(net, max_epochs=1000, lr_own=0.03, lr_other=0.01, ratio=0.99, lo=0.94, hi=1.05),
        dict(net, max_epochs=1000, lr_own=0.03, lr_other=0.1, ratio=0.58, lo=0.56, hi=0.61),
        dict(net, max_epochs=3000, lr_own=0.03, lr_other=0.1, ratio=1.3, lo=1.1, hi=1.5)])
    curves = pd.DataFrame([dict(net, max_epochs=e) for e in (1000, 3000, 10000)]).drop(
        columns=["length", "sequences", "more_on"])
    got = with_lr_neighbours(curves, rows).set_index("max_epochs")
    assert got["lr_neighbours"].to_dict() == {1000: 2, 3000: 1, 10000: 0}
    assert got["lr_neighbours_more"].to_dict() == {1000: 0, 3000: 1, 10000: 0}
    assert got.loc[1000, ["lr_lower_ratio", "lr_higher_ratio"]].tolist() == [0.99, 0.58]
    assert np.isnan(got.loc[3000, "lr_lower_ratio"]) and got.loc[3000, "lr_check_length"] == 4096
    summary = lr_check_summary(rows.assign(length=4096, curve_peak=[4096, 4096, 2048]))
    assert summary["higher"] == dict(checked=2, less_n=1, more_n=1, same_n=0,
                                     less_range=[0.58, 0.58], more_range=[1.3, 1.3],
                                     same_range=[], above_one=[])
    assert summary["lower"]["same_n"] == 1 and summary["lower"]["checked"] == 1
    assert summary["lower"]["above_one"] == []  # x0.99: within noise, below 1
    assert [b["max_epochs"] for b in summary["budgets"]] == [1000, 3000]
    assert lr_direction("higher", summary["higher"]) == (
        "at three times the lr, of 2 budgets 1 store less (x0.58) and 1 store more (x1.30)")
    assert lr_check_summary(rows.iloc[:0]) == {}
    noisy = lr_check_summary(rows.iloc[:1].assign(ratio=1.39, lo=0.88, hi=1.9, length=8192,
                                                  curve_peak=4096, more_on=3))
    (above,) = noisy["lower"]["above_one"]
    assert above["curve_peak"] == 4096 and (above["more_on"], above["sequences"]) == (3, 3)


def test_an_equal_exposure_ratio_says_how_far_offline_s_lr_was_checked():
    """With both neighbouring lrs tried at the curve's peak and neither storing more, the
    reason gives the length and both ratios and names what stays untested; with one
    neighbour only, it keeps the plain upper-bound wording."""
    from analysis.capacity_budget import equal_budget_reasons

    curve = dict(cell="gru", units=10, alphabet_size=26, max_epochs=1000, short_budget=300,
                 lengths=[8192, 16384], online_ratio=0.74, online_lo=0.73, online_hi=0.77,
                 online_measure="exact", measure="exact", status="peaked", failed=False,
                 peak_length=16384, lr_neighbours=2, lr_neighbours_more=0,
                 lr_check_length=16384.0, lr_lower_ratio=0.9, lr_lower_lo=0.88,
                 lr_lower_hi=0.93, lr_higher_ratio=0.04, lr_higher_lo=0.02, lr_higher_hi=0.06)

    def reason(**change):
        v = [dict(cell="gru", units=10, alphabet_size=26, reasons=[])]
        return equal_budget_reasons(v, pd.DataFrame([dict(curve, **change)]))[0]["reasons"][0]

    text = reason()
    assert ("within the lr grid's resolution: at 16,384 letters (the curve's peak), on the "
            "same sequences, neither a third (x0.90 [0.88, 0.93]) nor three times (x0.04 "
            "[0.02, 0.06])") in text and "tuned at this budget, is untested" in text
    assert "its peak is at 8,192" in reason(peak_length=8192)
    assert reason(lr_neighbours=1).endswith("offline's lr was not chosen at this budget)")
    assert reason(lr_neighbours_more=1).endswith("offline's lr was not chosen at this budget)")


def test_a_longer_budget_that_saves_the_whole_sequence_is_marked_capped():
    """At a length where the longer budget saves 99% or more of n log2 A, the row says the
    sequence caps it; below that it does not."""
    from analysis.capacity_budget import budget_ratios
    from analysis.capacity_budget_report import ratio_lines

    full = 64 * math.log2(26)
    key = dict(cell="lstm", units=64, alphabet_size=26, length=64, lr=0.01, params=25242)
    short = pd.DataFrame([dict(key, gen_seed=g, mode="offline", max_epochs=300,
                               saved_end=0.9 * full) for g in range(3)])
    for share, capped in ((0.995, True), (0.95, False)):
        long = pd.DataFrame([dict(key, gen_seed=g, mode="offline", max_epochs=1000,
                                  saved_end=share * full) for g in range(3)])
        (row,) = budget_ratios(short, long).to_dict(orient="records")
        assert row["capped"] is capped
        assert ("64 (the whole sequence: capped)" in "\n".join(
            ratio_lines(pd.DataFrame([row])))) is capped


def test_a_curve_two_lengths_shorter_and_curves_continued_past_their_peaks_join_their_curves():
    """capacity_offline_shorter adds 64 below capacity_offline_short's 128 (x1.9 of 300
    there: 1.9 x 201 = 381.9 over 1.6 x 301 = 481.6 at 128, so the peak stays at 128);
    capacity_past_peak continues an online curve past its longest length, and
    capacity_far_online one doubling further again, and capacity_second_past_peak at a
    half-doubling past that (all joined as capacity_beyond is, and named in the joined
    sentence; the table names a last step that is not a doubling)."""
    from analysis.code_length_report import joined_sentence, saved_table

    old, more = _tables()
    off = more[more["update"] == "chunk"]
    cap = analyse_capacity(
        _selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
        offline_long=_longer(off[off["length"] == 256], 1000, 1.0),
        offline_short=_longer(off[off["length"] == 128], 1000, 1.6),
        offline_shorter=_longer(off[off["length"] == 64], 1000, 1.9))
    (one,) = cap.budget_curves.to_dict(orient="records")
    assert one["lengths"] == [64, 128, 256] and one["peak_length"] == 128
    on = more[more["update"] == "step"]
    longest = int(on["length"].max())
    far = on[on["length"] == longest].assign(
        length=2 * longest, gen_seed=lambda d: d["gen_seed"] + 10_000,
        run_id=lambda d: d["run_id"] + "-far")
    with_far = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                                past_peak=far)
    lengths = with_far.sequences.loc[with_far.sequences["mode"].str.startswith("online"),
                                     "length"]
    assert lengths.max() == 2 * longest and with_far.joined["capacity_past_peak"]["rows"] == len(far)
    assert "`capacity_past_peak` takes every curve with fewer than two" in joined_sentence(
        with_far.joined)
    further = far.assign(length=4 * longest, gen_seed=lambda d: d["gen_seed"] + 10_000,
                         run_id=lambda d: d["run_id"] + "-further")
    with_further = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                                    past_peak=far, far_online=further)
    seqs = with_further.sequences
    assert seqs.loc[seqs["mode"].str.startswith("online"), "length"].max() == 4 * longest
    assert with_further.joined["capacity_far_online"]["rows"] == len(further)
    assert "`capacity_far_online` takes the LSTM 64 units online" in joined_sentence(
        with_further.joined)
    # capacity_second_past_peak: a half-doubling beyond 4x, so the last step is x1.41, not x2
    half = int(round(4 * longest * 2 ** 0.5))
    second = further.assign(length=half, gen_seed=lambda d: d["gen_seed"] + 10_000,
                            run_id=lambda d: d["run_id"] + "-second")
    with_second = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                                   past_peak=far, far_online=further, second_past_peak=second)
    assert with_second.joined["capacity_second_past_peak"]["rows"] == len(second)
    assert "`capacity_second_past_peak` gives the five curves" in joined_sentence(
        with_second.joined)
    (online,) = [r for _, r in with_second.saved.iterrows()
                 if r["mode"] == "online k=16" and r["exposures"] == r["max_epochs"]]
    assert online["last_length"] == half and online["last_step"] == pytest.approx(2 ** 0.5, 1e-3)
    table = "\n".join(saved_table(with_second.saved))
    assert "last step, x1.41 in length x" in table
    (doubled,) = [r for _, r in with_further.saved.iterrows()
                  if r["mode"] == "online k=16" and r["exposures"] == r["max_epochs"]]
    assert doubled["last_step"] == 2.0 and "last step," not in "\n".join(
        saved_table(with_further.saved))


def test_a_curve_s_bootstrap_interval_does_not_move_when_another_curve_joins():
    """Each curve resamples from a stream of its own (analysis.load.group_rng): adding a
    network leaves another network's interval unchanged, while a different seed moves it."""
    from analysis.capacity_checks import end_gain

    rng = np.random.default_rng(1)
    rows = [dict(net=net, length=n, bits_300=float(v))
            for net in ("a", "b") for n in (64, 128)
            for v in rng.normal(100.0 if n == 64 else 120.0, 10.0, size=3)]
    both, alone = pd.DataFrame(rows), pd.DataFrame([r for r in rows if r["net"] == "b"])
    cols = ["gain_lo", "gain_hi"]  # b is resampled after a where both are there
    with_a = end_gain(both, ["net"], (300,)).set_index("net").loc["b", cols]
    only_b = end_gain(alone, ["net"], (300,)).set_index("net").loc["b", cols]
    assert with_a.tolist() == only_b.tolist()
    other_seed = end_gain(alone, ["net"], (300,), seed=1).set_index("net").loc["b", cols]
    assert other_seed.tolist() != only_b.tolist()


def _committed_capacity_findings() -> dict:
    """fit.json's capacity findings as the README renders them from disk (NaN as "nan")."""
    import json
    from pathlib import Path

    def nan(x):
        return (float("nan") if x == "nan" else {k: nan(v) for k, v in x.items()}
                if isinstance(x, dict) else [nan(v) for v in x] if isinstance(x, list) else x)

    doc = json.loads((Path(__file__).parents[1] / "analysis" / "fit.json").read_text())
    (f,) = [nan(x) for x in doc["findings"] if x["id"] == "capacity"]
    return f


def test_the_readme_lists_failed_lengths_in_numeric_order_from_fit_json_s_text_keys():
    """fit.json writes the failed runs' lengths as text keys, which sort 16384 before 8192:
    the README still lists them by length."""
    from analysis.findings_capacity_report import budget_item

    row = dict(_committed_capacity_findings()["budget_curves"][0],
               failed_runs={"16384": [5, 6], "8192": [3, 6]})
    assert "3 of 6 runs failed at 8,192; 5 of 6 runs failed at 16,384" in budget_item(row)


def test_the_readme_capacity_bullet_names_every_table_its_curves_join():
    """The README's capacity bullet names the tables the curves were joined from (the
    findings' `joined`), not the lr selections: rendered from the committed findings with
    another set of joined tables."""
    from analysis.findings_capacity_report import readme_capacity

    f = _committed_capacity_findings()
    joined = {"capacity_more": {}, "capacity_lr_more": {}, "capacity_online64": {},
              "capacity_lr_online64": {}}
    first = readme_capacity(dict(f, joined=joined))[0]
    assert first.startswith("- **Capacity, on the code-length saving** (`capacity` + "
                            "`capacity_plateau` + `capacity_more` + `capacity_online64`: ")
    first = readme_capacity(dict(f, joined={}))[0]
    assert first.startswith("- **Capacity, on the code-length saving** (`capacity` + "
                            "`capacity_plateau`: ")


def test_the_readme_names_how_many_lengths_beyond_a_peak_failed():
    """README's capacity bullet renders lengths_failed from fit.json: plural, singular, none
    (0, a missing key or NaN)."""
    from analysis.findings_capacity_report import _failed

    assert _failed({"lengths_failed": 2}) == ", 2 longer lengths failed"
    assert _failed({"lengths_failed": 1}) == ", 1 longer length failed"
    assert _failed({"lengths_failed": 0}) == _failed({}) == _failed(
        {"lengths_failed": float("nan")}) == ""


def test_a_curve_at_an_lr_no_longer_chosen_says_how_far_its_lengths_went():
    """Beside the chosen lr's curve, one at an older lr may have stopped at a shorter length:
    the README's capacity bullet says so; the lower-bounds list (which gives it) does not."""
    from analysis.findings_capacity_report import _lr

    old = dict(lr=1e-3, lr_as_chosen=False, last_length=2048)
    assert _lr(old, reach=True) == ", lr 0.001 (not the lr chosen now, lengths to 2,048)"
    assert _lr(old) == ", lr 0.001 (not the lr chosen now)"
    assert _lr(dict(old, lr_as_chosen=True), reach=True) == ""


def test_the_best_budget_per_offline_network_skips_failed_longer_budgets():
    """Per network the most any budget stored: a longer budget that stored more raises it, a
    failed one (however large) never counts."""
    from analysis.findings import best_budget

    own = pd.DataFrame([dict(cell="gru", units=10, alphabet_size=26, bits_per_param=1.9),
                        dict(cell="rnn", units=19, alphabet_size=26, bits_per_param=2.1)])
    longer = pd.DataFrame([
        dict(cell="gru", units=10, alphabet_size=26, bits_per_param=2.3, failed=False),
        dict(cell="rnn", units=19, alphabet_size=26, bits_per_param=2.5, failed=True)])
    assert best_budget(own, longer) == dict(lo=2.1, hi=2.3, networks=2, raised=1)


def test_new_sequences_at_the_peak_join_the_curve_and_the_table_counts_them():
    """capacity_peak_sequences: three new sequences at a curve's peak length join it (as
    capacity_beyond does); the capacity there is a mean over six, and the table says so
    where the count is not the usual three. capacity_peak_pairs joins the same way."""
    from analysis.code_length_report import joined_sentence, saved_table

    old, more = _tables()
    base = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more)
    (curve,) = [r for _, r in base.saved.iterrows()
                if r["mode"] == "online k=16" and r["exposures"] == r["max_epochs"]]
    assert curve["peak_sequences"] == 3
    on = more[(more["update"] == "step") & (more["length"] == curve["peak_length"])]
    new = on.assign(gen_seed=lambda d: d["gen_seed"] + 20_000,
                    run_id=lambda d: d["run_id"] + "-peak", spec="capacity_peak_sequences")
    joined = analyse_capacity(_selection({1e-3: 1.0, 3e-3: 2.0}), old, more=more,
                              peak_sequences=new, peak_pairs=new.iloc[:0])
    (after,) = [r for _, r in joined.saved.iterrows()
                if r["mode"] == "online k=16" and r["exposures"] == r["max_epochs"]]
    assert after["peak_length"] == curve["peak_length"] and after["peak_sequences"] == 6
    assert after["capacity"] == pytest.approx(curve["capacity"])  # the same values again
    (rep,) = joined.replication.to_dict(orient="records")  # new against old at the peak
    assert rep["selected"] and rep["ratio"] == pytest.approx(1.0) and rep["new"] == 3
    assert after["hi"] - after["lo"] < curve["hi"] - curve["lo"]  # over six, narrower
    assert f"{int(after['peak_length']):,} (6 sequences) |" in "\n".join(
        saved_table(joined.saved))
    words = joined_sentence(joined.joined)
    assert "`capacity_peak_sequences` adds three new sequences" in words
    assert "`capacity_peak_pairs`" not in words  # no rows, nothing said
