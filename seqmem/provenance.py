"""What made a record: code, kernel, numerics version, device, CPU and library versions.

Every row of a results table carries one `Provenance`. Two of its fields decide whether a
stored row may stand beside a new one: `kernel` and `numerics_version`. Each engine
declares the numerics version of each of its kernels (`seqmem.train.numerics`); it is
bumped whenever a change can change a record, even in the last bit of a loss, since
online training amplifies any rounding difference into different epochs-to-memorize.
A sweep refuses to count a stored row of another kernel or numerics version as done.

`git_commit` and `git_dirty` describe the checkout the library was imported from, when
it is one (None otherwise, e.g. a wheel install). Dirty means uncommitted changes to the
code that makes records (`seqmem/`, `bench/`, `pyproject.toml`); results, analysis and
docs being edited do not count, since a sweep's own exports change `results/`.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_CODE_PATHS = ("seqmem", "bench", "pyproject.toml")


@dataclass(frozen=True)
class Provenance:
    """The provenance columns of a result row (None: not known for this row).

    seqmem_version: the package version that made the row.
    git_commit, git_dirty: the commit of the code, and whether seqmem/, bench/ or
        pyproject.toml had uncommitted changes.
    kernel: what computed the training: numba, torch (population engine) or autograd
        (reference trainer).
    numerics_version: the kernel's numerics version; a row made by another is stale.
    device: the torch device (cpu, cuda:0, ...).
    cpu: the CPU the kernel was compiled for and ran on (LLVM's name, e.g. znver4).
    torch_version, numpy_version, numba_version, python_version: the library versions.
    """

    seqmem_version: str | None
    git_commit: str | None
    git_dirty: bool | None
    kernel: str | None
    numerics_version: int | None
    device: str | None
    cpu: str | None  # the CPU the kernel was compiled for / ran on (LLVM's name, e.g. skylake)
    torch_version: str | None
    numpy_version: str | None
    numba_version: str | None
    python_version: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def provenance(kernel: str, numerics_version: int, device: Any = "cpu") -> Provenance:
    """The provenance of a record made now, in this process, by `kernel` on `device`."""
    commit, dirty = _git_state()
    return Provenance(seqmem_version=_versions()["seqmem"], git_commit=commit, git_dirty=dirty,
                      kernel=kernel, numerics_version=numerics_version,
                      device=_device_name(str(device)), cpu=_cpu_name(),
                      torch_version=_versions()["torch"], numpy_version=_versions()["numpy"],
                      numba_version=_versions()["numba"],
                      python_version=platform.python_version())


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str | None]:
    import numpy
    import torch

    import seqmem

    try:
        import numba
        numba_version = numba.__version__
    except ImportError:  # only the numba kernel needs it
        numba_version = None
    return {"seqmem": seqmem.__version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "numba": numba_version}


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding this package, or (None, None)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--", *_CODE_PATHS], cwd=root,
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


@functools.cache
def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


@functools.lru_cache(maxsize=1)
def _cpu_name() -> str | None:
    try:
        import llvmlite.binding as llvm
        from numba.core import config
    except ImportError:
        return platform.machine() or None
    return config.CPU_NAME or llvm.get_host_cpu_name()  # what numba compiles for
