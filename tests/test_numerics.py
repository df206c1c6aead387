"""bench.numerics: the battery that tells whether a change can change a record."""

from bench.numerics import compare


def test_compare_finds_any_difference_and_a_missing_record():
    a = {"r1": [{"units": 8, "final_loss": 1.0}, [1.0, 0.5]], "r2": [{"units": 8}, [2.0]]}
    assert compare(a, a) == []
    b = {"r1": [{"units": 8, "final_loss": 1.0}, [1.0, 0.5000001]], "r2": [{"units": 8}, [2.0]]}
    assert compare(a, b) == ["r1"]
    assert compare(a, {"r1": a["r1"]}) == ["r2"]
