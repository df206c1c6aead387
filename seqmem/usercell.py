"""Bring your own cell: any recurrent cell written as a torch.nn.Module class.

A run names it as `cell = "pkg.module:Class"` (importable) or `cell = "path/to/file.py:Class"`
(a file, relative to the working directory). The class must have:

    __init__(self, input_size: int, units: int)
    initial_state(self, batch: int) -> tuple[Tensor, ...]   # each (batch, ...)
    forward(self, x, state) -> (h, state)                     # x (batch, input_size), h (batch, units)

The suite adds the readout (nn.Linear(units, alphabet)) and everything else
(seqmem.user_engine). Models are built as the built-in ones are: torch.manual_seed(seed),
then the cell, then the readout, the global RNG restored afterwards.

`check` refuses, in one line, a cell that cannot be imported, lacks the interface or gives
the wrong shapes on a dry step. `source_hash` identifies the cell's code: it enters the
run id (RunConfig.cell_source) and the numerics version, so an edited cell's stored rows
are stale.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

import torch
from torch import nn


def is_user_cell(name: str) -> bool:
    """A cell named "module:Class" or "file.py:Class" (the built-in ones have no colon)."""
    return ":" in name


def _split(name: str) -> tuple[str, str]:
    target, _, cls = name.rpartition(":")
    if not target or not cls.isidentifier():
        raise ValueError(f"cell {name!r}: give 'pkg.module:Class' or 'path/to/file.py:Class'")
    return target, cls


@functools.lru_cache(maxsize=32)
def _module(target: str, mtime: float):
    if target.endswith(".py"):
        path = Path(target).resolve()
        key = "seqmem_usercell_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses and pickling look modules up by name
        sys.path.insert(0, str(path.parent))  # its own folder: imports of files beside it
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.parent))
        return module
    return importlib.import_module(target)


def load(name: str) -> type:
    """The cell class a name refers to; ValueError (one line) when it cannot be loaded."""
    target, cls_name = _split(name)
    if target.endswith(".py") and not Path(target).is_file():
        raise ValueError(f"cell {name!r}: no such file {target!r} (paths are relative to "
                         f"{Path.cwd()})")
    mtime = Path(target).stat().st_mtime if target.endswith(".py") else 0.0
    try:
        module = _module(target, mtime)
    except Exception as e:  # any failure of the user's module is the user's to see
        raise ValueError(f"cell {name!r}: cannot import {target!r}: "
                         f"{type(e).__name__}: {_one_line(e)}") from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ValueError(f"cell {name!r}: {target!r} has no {cls_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"cell {name!r}: {cls_name} is not a torch.nn.Module class")
    for method in ("initial_state", "forward"):
        if not callable(getattr(cls, method, None)):
            raise ValueError(f"cell {name!r}: {cls_name} has no {method}() method")
    return cls


def source_hash(name: str) -> str:
    """sha256 (16 hex digits) of the source file that defines the cell."""
    cls = load(name)
    path = inspect.getsourcefile(cls)
    if path is None:
        raise ValueError(f"cell {name!r}: its source file cannot be found")
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def numerics_version(name: str) -> int:
    """The cell's source hash as the numerics version of its records (28 bits)."""
    return int(source_hash(name)[:7], 16)


def build(name: str, seed: int, units: int, alphabet_size: int) -> tuple[nn.Module, nn.Linear]:
    """(cell, readout) as the seed builds them, without touching the global RNG."""
    cls = load(name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            cell = cls(alphabet_size, units)
        except Exception as e:
            raise ValueError(f"cell {name!r}: {cls.__name__}({alphabet_size}, {units}) raised "
                             f"{type(e).__name__}: {_one_line(e)}") from None
        return cell, nn.Linear(units, alphabet_size)


def parameter_count(name: str, units: int, alphabet_size: int) -> int:
    """The cell's parameters plus the readout's (units x alphabet + alphabet)."""
    cell, lin = build(name, 0, units, alphabet_size)
    return sum(p.numel() for p in cell.parameters()) + sum(p.numel() for p in lin.parameters())


@functools.lru_cache(maxsize=64)
def check(name: str, alphabet_size: int, units: int) -> str:
    """Build the cell and take a dry step of batch 2; raise ValueError (one line) on any
    violation of the interface. Returns how the engine will batch seeds: "vmap"
    (torch.func.vmap over functional_call) or "loop" (one model at a time)."""
    cell, _ = build(name, 0, units, alphabet_size)
    cls = type(cell).__name__
    if not any(True for _ in cell.parameters()):
        raise ValueError(f"cell {name!r}: {cls} has no parameters")
    try:
        state = cell.initial_state(2)
    except Exception as e:
        raise ValueError(f"cell {name!r}: {cls}.initial_state(2) raised "
                         f"{type(e).__name__}: {_one_line(e)}") from None
    if not isinstance(state, tuple) or not state or not all(
            isinstance(s, torch.Tensor) and s.dim() >= 1 and s.shape[0] == 2 for s in state):
        raise ValueError(f"cell {name!r}: {cls}.initial_state(2) must return a non-empty "
                         f"tuple of tensors with batch 2 first, got {_describe(state)}")
    x = torch.zeros(2, alphabet_size)
    x[0, 0] = x[1, 1] = 1.0
    try:
        out = cell(x, state)
    except Exception as e:
        raise ValueError(f"cell {name!r}: a dry step of {cls} raised "
                         f"{type(e).__name__}: {_one_line(e)}") from None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError(f"cell {name!r}: {cls}.forward must return (h, state), got "
                         f"{_describe(out)}")
    h, new = out
    if not isinstance(h, torch.Tensor) or tuple(h.shape) != (2, units):
        raise ValueError(f"cell {name!r}: {cls}.forward's h must be (batch, units) = (2, {units}), "
                         f"got {_describe(h)}")
    if not isinstance(new, tuple) or [tuple(s.shape) for s in new if isinstance(s, torch.Tensor)] \
            != [tuple(s.shape) for s in state]:
        raise ValueError(f"cell {name!r}: {cls}.forward's state must have initial_state's "
                         f"shapes {[tuple(s.shape) for s in state]}, got {_describe(new)}")
    return _batching(cell, alphabet_size)


def _batching(cell: nn.Module, alphabet_size: int) -> str:
    """"vmap" when torch.func.vmap runs the cell over stacked parameters, else "loop"."""
    from torch.func import functional_call, stack_module_state, vmap

    params, _ = stack_module_state([cell, cell])
    x = torch.zeros(2, 1, alphabet_size)
    state = tuple(torch.stack([s, s]) for s in cell.initial_state(1))
    try:
        vmap(lambda p, xi, st: functional_call(cell, p, (xi, st)))(params, x, state)
    except Exception:
        return "loop"
    return "vmap"


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_describe(v) for v in value) + ")"
    return type(value).__name__


def _one_line(e: object) -> str:
    return " ".join(str(e).split())[:200]
