"""The examples in the docstrings are executed: a wrong one fails here."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import analysis
import bench
import seqmem


def _modules() -> list[str]:
    """Every module of the three packages with an example (importing one without any,
    such as bench.jax_population, would need its optional dependencies for nothing)."""
    names = []
    for package in (seqmem, bench, analysis):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            origin = importlib.util.find_spec(info.name).origin
            if origin and ">>>" in Path(origin).read_text():
                names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples fail in {name}"
