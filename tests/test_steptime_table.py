"""bench.steptime: the summary of a pytest-benchmark JSON (ratios within one run)."""

import math

import pytest

from bench.steptime import table


def _bench(impl, h, bptt, p, us):
    return {"extra_info": {"impl": impl, "H": h, "bptt": bptt, "reset": "char" if bptt == "1" else "epoch",
                           "P": p, "per_model_step_us": us}}


def test_speedups_are_against_the_notebook_step_at_the_same_h_and_bptt():
    data = {"benchmarks": [
        _bench("population", 32, "1", 64, 20.0), _bench("notebook", 32, "1", 1, 2000.0),
        _bench("notebook", 32, "epoch", 1, 6000.0), _bench("population", 32, "epoch", 64, 60.0),
        _bench("reference", 128, "1", 1, 4000.0),  # no notebook row at H=128: no ratio
    ]}
    df = table(data).set_index(["impl", "H", "bptt", "P"])
    assert df.loc[("population", 32, "1", 64), "speedup_vs_notebook"] == pytest.approx(100.0)
    assert df.loc[("population", 32, "epoch", 64), "speedup_vs_notebook"] == pytest.approx(100.0)
    assert df.loc[("notebook", 32, "1", 1), "speedup_vs_notebook"] == 1.0
    assert math.isnan(df.loc[("reference", 128, "1", 1), "speedup_vs_notebook"])
    assert list(df["reset"].unique()) == ["char", "epoch"]


def test_every_row_says_what_timed_it():
    data = {"benchmarks": [_bench("population", 32, "1", 64, 20.0),
                           _bench("population_torch", 32, "1", 64, 30.0),
                           _bench("reference", 32, "1", 1, 1000.0),
                           _bench("notebook", 32, "1", 1, 2000.0)]}
    df = table(data).set_index("impl")
    assert df.loc["population", "kernel"] == "numba" and df.loc["population_torch", "kernel"] == "torch"
    assert df.loc["reference", "kernel"] == "autograd" and df.loc["notebook", "kernel"] == "notebook"
    assert df["numerics_version"].notna().sum() == 3  # the notebook loop is no seqmem engine
    for col in ("seqmem_version", "torch_version", "numba_version", "cpu", "python_version"):
        assert df[col].notna().all(), col


def test_each_cell_is_timed_against_its_own_reference():
    def bench(cell, impl, p, us):
        return {"extra_info": {"cell": cell, "impl": impl, "H": 32, "bptt": "epoch",
                               "reset": "epoch", "P": p, "per_model_step_us": us}}

    data = {"benchmarks": [bench("gru", "reference", 1, 900.0), bench("gru", "population", 8, 9.0),
                           bench("rnn", "reference", 1, 300.0), bench("rnn", "population", 8, 6.0),
                           _bench("reference", 32, "epoch", 1, 1000.0)]}
    df = table(data).set_index(["cell", "impl"])
    assert df.loc[("gru", "population"), "speedup_vs_reference"] == pytest.approx(100.0)
    assert df.loc[("rnn", "population"), "speedup_vs_reference"] == pytest.approx(50.0)
    assert math.isnan(df.loc[("gru", "population"), "speedup_vs_notebook"])
    assert df.loc[("lstm", "reference"), "speedup_vs_reference"] == 1.0


def test_the_roofline_counts_the_work_of_a_step_from_its_shapes():
    from bench.roofline import step_cost, window_of
    from seqmem.model import parameter_count

    params = parameter_count("lstm", 64, 26)
    kept, _ = step_cost("lstm", 64, 26, "16", "epoch", 256)
    reset, reset_bytes = step_cost("lstm", 64, 26, "1", "char", 26)
    # a 16-step window: 16 outer products and 15 chain products of 2 G H^2 each, beside
    # the forward's one
    assert kept - reset > (1 + window_of("16", "epoch", 256) * 2 - 1) * 2 * 4 * 64 * 64 * 0.9
    assert reset_bytes == 28 * (params - 4 * 64 * 64) + 4 * params  # W_hh's update skipped
    online, online_bytes = step_cost("lstm", 64, 26, "epoch", "epoch", 26)
    offline, offline_bytes = step_cost("lstm", 64, 26, "chunk64", "epoch", 256)
    assert offline_bytes == 28 * params / 64 + 4 * params  # one Adam step per 64 letters
    assert online_bytes == 32 * params and offline < online
    assert window_of("epoch", "epoch", 26) == 13.5 and window_of("4", "epoch", 8) == 4 - 4 * 3 / 16


def test_the_rtrl_step_is_flat_in_length_and_grows_about_as_the_fourth_power_of_width():
    from bench.roofline import step_cost

    short, short_bytes = step_cost("lstm", 8, 26, "rtrl", "epoch", 64)
    assert (short, short_bytes) == step_cost("lstm", 8, 26, "rtrl", "epoch", 4096)
    # the product W_hh^T M_h: 2 x (4 H rows) x H x |theta|, |theta| = 4 H (26 + H + 2)
    dense = 2 * 32 * 8 * 32 * 36
    assert dense < short < 1.3 * dense
    wide, _ = step_cost("lstm", 16, 26, "rtrl", "epoch", 64)
    assert 8 < wide / short < 9.8  # the dense part: 2^2 x |theta| ratio 2816 / 1152 = 9.8
    window, _ = step_cost("lstm", 16, 26, "16", "epoch", 256)
    assert wide > 10 * window


def test_add_roofline_puts_a_floor_under_every_row():
    import pandas as pd

    from bench.roofline import add_roofline

    df = pd.DataFrame(dict(cell=["lstm", "gru"], impl="population", H=[32, 128], bptt=["16", "epoch"],
                           reset="epoch", P=8, per_model_step_us=[10.0, 100.0]))
    out = add_roofline(df, lambda r: 256)
    assert (out["floor_us"] > 0).all() and (out["peak_gflops"] > 0).all()
    assert (out["over_floor"] == out["per_model_step_us"] / out["floor_us"]).all()


def test_engine_rows_are_compared_with_jax_at_the_same_step_and_population():
    def bench(impl, p, us, bptt="16"):
        return {"extra_info": {"impl": impl, "H": 64, "bptt": bptt, "reset": "epoch", "P": p,
                               "per_model_step_us": us}}

    data = {"benchmarks": [bench("reference", 1, 7000.0), bench("population", 4, 50.0),
                           bench("jax_vmap", 4, 100.0), bench("population", 16, 40.0),
                           bench("population", 4, 30.0, "chunk64"), bench("jax_vmap", 4, 10.0, "chunk64")]}
    df = table(data).set_index(["impl", "bptt", "P"])
    assert df.loc[("population", "16", 4), "speedup_vs_jax"] == pytest.approx(2.0)
    assert df.loc[("population", "chunk64", 4), "speedup_vs_jax"] == pytest.approx(1 / 3)
    assert math.isnan(df.loc[("population", "16", 16), "speedup_vs_jax"])  # no JAX row at P=16
    assert df.loc[("jax_vmap", "16", 4), "speedup_vs_reference"] == pytest.approx(70.0)
    # JAX is no seqmem engine; on a CPU the engine compiles both steps, as its runs record
    assert df.loc[("jax_vmap", "16", 4), "kernel"] == "jax-vmap"
    assert math.isnan(df.loc[("jax_vmap", "16", 4), "numerics_version"])
    assert df.loc[("population", "16", 4), "kernel"] == "numba"
    assert df.loc[("population", "chunk64", 4), "kernel"] == "numba"


def test_a_merged_rerun_replaces_whole_groups_and_keeps_the_others():
    from bench.steptime import merge

    def bench(impl, h, bptt, p, us):
        return {"extra_info": {"impl": impl, "H": h, "bptt": bptt, "reset": "epoch", "P": p,
                               "per_model_step_us": us}}

    old = table({"benchmarks": [bench("reference", 32, "16", 1, 7000.0),
                                bench("population", 32, "16", 8, 17.0),
                                bench("reference", 128, "16", 1, 8000.0),
                                bench("population", 32, "epoch", 8, 20.0)]})
    new = table({"benchmarks": [bench("reference", 32, "16", 1, 6000.0),
                                bench("population", 32, "16", 4, 20.0),
                                bench("jax_vmap", 32, "16", 4, 40.0)]})
    got = merge(old, new).set_index(["impl", "H", "bptt", "P"])
    # the rerun group (lstm, 16, 32) is the new run's alone: its old P=8 row is gone
    assert sorted(got.loc[(slice(None), 32, "16"), :].index.tolist()) == sorted(
        [("reference", 32, "16", 1), ("population", 32, "16", 4), ("jax_vmap", 32, "16", 4)])
    assert got.loc[("population", 32, "16", 4), "speedup_vs_reference"] == pytest.approx(300.0)
    assert got.loc[("reference", 128, "16", 1), "per_model_step_us"] == 8000.0
    assert got.loc[("population", 32, "epoch", 8), "per_model_step_us"] == 20.0
    assert list(merge(old, new).columns[:len(new.columns)]) == list(new.columns)


def test_the_readme_step_table_holds_the_notebooks_steps_only():
    import pandas as pd

    from analysis.readme import step_table

    rows = [dict(cell="lstm", impl=i, H=32, bptt=b, P=p, per_model_step_us=us, speedup_vs_notebook=s)
            for i, b, p, us, s in (("reference", "epoch", 1, 3000.0, 1.0),
                                   ("population", "epoch", 8, 15.0, 200.0),
                                   ("reference", "16", 1, 5000.0, float("nan")),
                                   ("population", "16", 64, 14.0, float("nan")),
                                   ("population", "chunk64", 64, 12.0, float("nan")))]
    lines = step_table(pd.DataFrame(rows)).splitlines()[2:]
    assert len(lines) == 1 and "3000.0 µs" in lines[0] and "15.0 µs (200×)" in lines[0]


def test_the_capacity_step_table_sets_each_network_beside_its_torch_kernel():
    import pandas as pd

    from analysis.readme import capacity_step_table

    def row(cell, h, impl, p, us, bptt="chunk64"):
        return dict(cell=cell, H=h, impl=impl, P=p, bptt=bptt, per_model_step_us=us,
                    speedup_vs_reference=300.0 / us, floor_us=0.1, over_floor=us / 0.1)

    steps = pd.DataFrame([row("gru", 10, "reference", 1, 300.0), row("gru", 10, "population", 2, 1.0),
                          row("gru", 10, "population_torch", 2, 100.0),
                          row("gru", 10, "population", 16, 1.2),  # no torch row at P = 16
                          row("lstm", 32, "population", 4, 14.0, bptt="16"),
                          row("lstm", 32, "population", 4, 9.0, bptt="epoch")])  # not a capacity step
    lines = capacity_step_table(steps).splitlines()
    assert lines[2].startswith("| online, window 16 | LSTM 32 | - | 14.0 µs (4) |")
    assert lines[3] == ("| offline, chunks of 64 | GRU 10 | 300.0 µs | 1.0 µs (2) | 300× | 100.0 µs | "
                        "0.1 µs | 10.0× |")
    assert lines[4].startswith("| offline, chunks of 64 | GRU 10 | 300.0 µs | 1.2 µs (16) | 250× | - |")
    assert len(lines) == 5
