"""The frozen run configuration: the single source of defaults, and the run id.

One `RunConfig` describes one run (one seed). Every option of the online trainer
lives here; `NOTEBOOK` is the preset that sets each one as the 2019 notebook did.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import posixpath
import re
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from seqmem.sequences import ALPHABET, resolve

RESETS = ("epoch", "char")
LOSSES = ("softmax", "logits")
FEEDBACKS = ("probs", "onehot")
ENGINES = ("population", "reference")
CELLS = ("lstm", "gru", "rnn")
UPDATES = ("step", "chunk")
SCHEDULES = ("constant", "cosine")
STOPS = ("memorized", "budget")
# The gradients bptt names besides a window of k steps.
BPTT_MODES = ("epoch", "rtrl")
# Options that are valid only beside another setting: checking one alone assumes it.
REQUIRES: dict[str, dict[str, Any]] = {"chunk": {"update": "chunk"}}
# Gate blocks of each cell's weight_ih / weight_hh (rows = GATES * units), PyTorch's layout.
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


@dataclass(frozen=True)
class RunConfig:
    """One online-memorization run.

    sequence: the letters to memorize; a preset name ("random30") is resolved to its letters.
    units: the cell's hidden size (its state's width).
    seed: torch.manual_seed(seed) just before the recurrent layer (or cell) then the Linear
        readout are built.
    lr: Adam learning rate (other Adam settings are torch's defaults, as in the notebook).
    reset: "epoch" resets the state at the start of each epoch (notebook cases 2, 4-7);
        "char" resets it before every character (the notebook's `one_step`, cases 1, 3).
    bptt: "epoch" backpropagates each step's loss through every step since the last
        reset with the activations saved at those steps and the current weights (the
        notebook under 2019 PyTorch; see DEVELOPERS.md); an int k truncates that to the
        last k steps (k=1: only the current step); "rtrl" is the exact online gradient
        (real-time recurrent learning): the sensitivity of the state to every recurrent
        weight carried forward from the reset, each step's Jacobian taken at that step's
        weights (seqmem.rtrl).
    loss: "softmax" applies Softmax and then CrossEntropyLoss (which log-softmaxes again),
        as the notebook does; "logits" applies CrossEntropyLoss to the logits.
    feedback: what evaluation feeds back as the next input: "probs" (the softmax output,
        as the notebook does) or "onehot" (the argmax letter).
    eval_every: evaluate before epochs 0, eval_every, 2*eval_every, ... and after the last.
    max_epochs: training budget; a run not memorized by then is censored there.
    engine: "population" (batched seeds, the default) or "reference" (nn.LSTM + autograd oracle).
    alphabet: the letters the model reads and writes (its input and output size).
    cell: the recurrent cell: "lstm" (nn.LSTM, the notebook's), "gru" (nn.GRU's layout and
        gate order), "rnn" (nn.RNN with tanh), or a user's own torch.nn.Module class as
        "pkg.module:Class" or "path/to/file.py:Class" (seqmem.usercell).
    cell_source: for a user cell, the sha256 (16 hex digits) of the source file that defines
        it (seqmem.usercell.source_hash; the sweep fills it): editing the cell makes new runs;
        None for the built-in cells.
    update: "step" trains online, one Adam step after every letter (the notebook's);
        "chunk" trains offline, as char-RNNs are trained: teacher-forced passes from a fresh
        state, one Adam step on the mean loss of each chunk of `chunk` letters, the state
        carried into the next chunk and detached (true BPTT within a chunk).
    chunk: letters per offline update (update="chunk" only); None: one update per whole pass.
    schedule: the learning rate over the budget's updates: "constant", or "cosine" decay
        from lr to 0 after the warm-up (seqmem.schedule).
    warmup: the share of the budget's updates over which lr rises linearly from lr/W to lr.
    clip: the largest gradient norm (over all of a model's parameters) an update may use,
        as torch.nn.utils.clip_grad_norm_; None: no clipping.
    stop: "memorized" ends a run at its first successful evaluation; "budget" trains the
        whole budget (capacity curves), still recording the first success.
    """

    sequence: str
    units: int = 32
    seed: int = 0
    lr: float = 1e-3
    reset: str = "epoch"
    bptt: int | str = "epoch"
    loss: str = "softmax"
    feedback: str = "probs"
    eval_every: int = 10
    max_epochs: int = 1000
    engine: str = "population"
    alphabet: str = field(default=ALPHABET)
    cell: str = "lstm"
    update: str = "step"
    chunk: int | None = None
    schedule: str = "constant"
    warmup: float = 0.0
    clip: float | None = None
    stop: str = "memorized"
    cell_source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sequence", resolve(self.sequence, self.alphabet))
        _check_int("units", self.units, 1)
        _check_int("seed", self.seed, 0)
        if isinstance(self.lr, bool) or not isinstance(self.lr, int | float) or not self.lr > 0:
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        object.__setattr__(self, "lr", float(self.lr))
        _check_choice("reset", self.reset, RESETS)
        if self.bptt not in BPTT_MODES:
            _check_int("bptt", self.bptt, 1, hint="".join(f' or "{m}"' for m in BPTT_MODES))
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("feedback", self.feedback, FEEDBACKS)
        _check_int("eval_every", self.eval_every, 1)
        _check_int("max_epochs", self.max_epochs, 0)
        _check_choice("engine", self.engine, ENGINES)
        if not isinstance(self.cell, str):
            raise ValueError(f"cell must be a name (lstm, gru, rnn, or 'file.py:Class' / "
                             f"'module:Class' for your own), got {self.cell!r}")
        if is_user_cell(self.cell):
            module, _, cls = self.cell.rpartition(":")
            if module.endswith(".py"):  # one spelling per file: './a/../b.py' is 'b.py'
                module = posixpath.normpath(module)
                object.__setattr__(self, "cell", f"{module}:{cls}")
            if not module or not cls.isidentifier():
                raise ValueError(f"cell {self.cell!r}: give 'pkg.module:Class' or "
                                 "'path/to/file.py:Class'")
            if self.cell_source is not None and not re.fullmatch(r"[0-9a-f]{16}",
                                                                 str(self.cell_source)):
                raise ValueError(f"cell_source must be 16 hex digits, got {self.cell_source!r}")
        else:
            if self.cell not in CELLS:
                raise ValueError(f"cell must be one of {', '.join(CELLS)}, or your own as "
                                 f"'file.py:Class' or 'module:Class'; got {self.cell!r}")
            if self.cell_source is not None:
                raise ValueError(f"cell_source={self.cell_source!r} applies only to a user "
                                 f"cell, not cell={self.cell!r}")
        _check_choice("update", self.update, UPDATES)
        if self.chunk is not None:
            _check_int("chunk", self.chunk, 1, hint=" or None")
            if self.update != "chunk":
                raise ValueError(f"chunk={self.chunk!r} applies only to update='chunk'")
        if self.update == "chunk" and (self.reset != "epoch" or self.bptt != "epoch"):
            raise ValueError("update='chunk' trains teacher-forced passes from a fresh state with "
                             "true BPTT within each chunk: it needs reset='epoch' and "
                             f"bptt='epoch', got reset={self.reset!r}, bptt={self.bptt!r}")
        _check_choice("schedule", self.schedule, SCHEDULES)
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int | float) \
                or not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must be a share of the budget in [0, 1), got {self.warmup!r}")
        object.__setattr__(self, "warmup", float(self.warmup))
        if self.clip is not None:
            if isinstance(self.clip, bool) or not isinstance(self.clip, int | float) \
                    or not self.clip > 0:
                raise ValueError(f"clip must be a positive gradient norm or None, got {self.clip!r}")
            object.__setattr__(self, "clip", float(self.clip))
        _check_choice("stop", self.stop, STOPS)

    @property
    def updates_per_epoch(self) -> int:
        """Adam steps in one pass over the sequence."""
        if self.update == "step":
            return len(self.sequence)
        return -(-len(self.sequence) // (self.chunk or len(self.sequence)))

    @property
    def plain_adam(self) -> bool:
        """Online, constant lr, no clipping: the setting the compiled kernel implements."""
        return (self.update == "step" and self.schedule == "constant" and self.warmup == 0
                and self.clip is None)

    @property
    def run_id(self) -> str:
        """Hash of the whole config: the same config always has the same id, any change a new one.

        The fields of the first results (`ID_FIELDS_V1`) always enter the hash. A field added
        since enters it only when it differs from its default, so adding an option with a
        default leaves every existing id, and every stored run, as it was. A released
        default therefore never changes (tests/test_config.py pins golden ids).
        """
        blob = json.dumps(self.id_fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def id_fields(self) -> dict[str, Any]:
        """The fields that enter the run id (see `run_id`)."""
        defaults = {f.name: f.default if f.default is not MISSING else f.default_factory()
                    for f in fields(self) if f.name not in ID_FIELDS_V1}
        return {k: v for k, v in self.to_dict().items()
                if k in ID_FIELDS_V1 or v != defaults[k]}

    @property
    def without_seed(self) -> RunConfig:
        """The config with seed 0: runs that differ only in seed share it (one group)."""
        return dataclasses.replace(self, seed=0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Build from a mapping; unknown keys are an error, not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config key {unknown[0]!r} (known: {', '.join(sorted(known))})")
        return cls(**data)

    def replace(self, **changes: Any) -> RunConfig:
        return RunConfig.from_dict({**self.to_dict(), **changes})


# The RunConfig fields when run ids were first stored: they always enter the id.
ID_FIELDS_V1 = ("sequence", "units", "seed", "lr", "reset", "bptt", "loss", "feedback",
                "eval_every", "max_epochs", "engine", "alphabet")
assert set(ID_FIELDS_V1) <= {f.name for f in fields(RunConfig)}

# Every option as the notebook sets it (run_experiment forces max_epochs=1000 whatever is passed).
NOTEBOOK: dict[str, Any] = dict(
    units=32, lr=1e-3, reset="epoch", bptt="epoch", loss="softmax", feedback="probs",
    eval_every=10, max_epochs=1000,
)
# What one would do today: logits into the loss, argmax feedback.
CLEAN: dict[str, Any] = dict(NOTEBOOK, loss="logits", feedback="onehot")
PRESET_OPTIONS = {"notebook": NOTEBOOK, "clean": CLEAN}


def preset(name: str, sequence: str, **overrides: Any) -> RunConfig:
    """A RunConfig from a named option preset ("notebook" or "clean") plus overrides.

    >>> preset("notebook", "alphabet", reset="char").bptt
    'epoch'
    """
    if name not in PRESET_OPTIONS:
        raise ValueError(f"unknown preset {name!r} (known: {', '.join(PRESET_OPTIONS)})")
    return RunConfig.from_dict({**PRESET_OPTIONS[name], "sequence": sequence, **overrides})


def is_user_cell(cell: str) -> bool:
    """A user's cell class ("module:Class" or "file.py:Class"), not a built-in one."""
    return ":" in cell


def check_group(configs: list[RunConfig]) -> None:
    """Raise unless `configs` are runs of one group (they differ only in seed), each seed once."""
    groups = {c.without_seed for c in configs}
    if len(groups) != 1:
        raise ValueError(f"configs must differ only in seed; got {len(groups)} different groups")
    if len({c.seed for c in configs}) != len(configs):
        raise ValueError(f"duplicate seeds in {[c.seed for c in configs]}")


def _check_int(name: str, value: Any, low: int, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}{hint}, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
