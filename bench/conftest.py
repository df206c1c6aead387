import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    bench = getattr(item, "funcargs", {}).get("benchmark")
    if bench is not None and getattr(bench, "stats", None) is not None:
        info = bench.extra_info
        median = bench.stats.stats.median
        info["per_model_step_us"] = median / info["steps_per_round"] * 1e6
