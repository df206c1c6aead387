"""bench.numerics: the battery that tells whether a change can change a record."""

from bench.numerics import compare


def test_compare_finds_any_difference_and_a_missing_record():
    a = {"r1": [{"units": 8, "final_loss": 1.0}, [1.0, 0.5]], "r2": [{"units": 8}, [2.0]]}
    assert compare(a, a) == []
    b = {"r1": [{"units": 8, "final_loss": 1.0}, [1.0, 0.5000001]], "r2": [{"units": 8}, [2.0]]}
    assert compare(a, b) == ["r1"]
    assert compare(a, {"r1": a["r1"]}) == ["r2"]


def test_a_column_only_one_snapshot_has_is_noted_not_compared():
    from bench.numerics import added_columns

    old = {"r1": [{"units": 8, "final_loss": 1.0}, [1.0]]}
    new = {"r1": [{"units": 8, "final_loss": 1.0, "bits_stored": 3.5}, [1.0]]}
    assert compare(old, new) == [] and added_columns(old, new) == ["bits_stored"]
    changed = {"r1": [{"units": 8, "final_loss": 1.5, "bits_stored": 3.5}, [1.0]]}
    assert compare(old, changed) == ["r1"]  # a shared column still counts
