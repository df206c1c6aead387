"""Sweep specs: a TOML file that declares sequences x units x seeds x trainer options.

Every key a spec may hold (anything else is an error, with a did-you-mean):

    name = "demo"          # optional, default: the file name without .toml; [A-Za-z0-9_.-]
    description = "..."    # optional, free text
    export_loss_curve = true  # optional, default false: the exported CSV keeps loss_curve
                           #   (the store always does); for a table whose curves are read
    preset = "notebook"    # the options to start from (seqmem.config: notebook | clean)
    seeds = 5              # a count (seeds 0..4) or a list of distinct seeds, e.g. [0, 7, 9]
    units = [8, 32, 128]   # an int or a list of ints
    sequences = ["alphabet", "ABCA"]  # preset names (seqmem.sequences.PRESETS) or letters
    max_epochs = 300       # any RunConfig option: lr, reset, bptt, loss, feedback,
    lr = [1e-3, 1e-2]      #   eval_every, max_epochs, engine, alphabet; a list is a grid
    cell = "examples/mingru.py:MinGRU"  # lstm | gru | rnn, or your own torch.nn.Module class
                           #   ("pkg.module:Class" or "file.py:Class", seqmem.usercell),
                           #   checked with a dry step before anything runs
    max_steps = 50000      # or a budget in optimizer steps: max_epochs = ceil(max_steps /
                           #   length) for each sequence (a list is a grid, like an option)
    eval_every_steps = 500 # or evaluate every max(1, eval_every_steps // length) epochs
    lr_scaled = [2e-3]     # or a width rule: lr = value * lr_base_units / units (muP-style
    lr_base_units = 32     #   1/width for Adam); the rule is stored in the lr_rule column

    [[grid]]               # generated sequences; as many grids as needed
    generator = "generate" # default: seqmem.generate, exact length, repeats and depth
    length = [8, 16]
    depth = [1, 2, 3]
    repeats = [4]          # or `distinct = [...]`: letters used, repeats = length - distinct
    alphabet_size = 26     # default 26: letters drawn from the first alphabet_size of A-Z
    gen_seeds = 2          # default 1; a count or a list. The sequence of one grid point is
                           #   generate(length, repeats, depth, alphabet_size,
                           #            rng=numpy.random.default_rng(gen_seed))
    skip_infeasible = true # default false: a combination that no sequence can satisfy is an
                           #   error quoting the generator's feasibility reason; true drops
                           #   it (`--dry-run` counts the dropped points; none left is an error)

    [[grid]]
    generator = "forks"    # seqmem.forks: exact length, depth and forks (ambiguous letters
    length = 24            #   = 2 + 2 * forks); keys length, depth, forks, alphabet_size,
    depth = [2, 4]         #   gen_seeds, skip_infeasible
    forks = [0, 2]

    [[grid]]
    generator = "uniform"  # seqmem.generate.uniform: i.i.d. letters; keys length,
    length = [64, 128]     #   alphabet_size, gen_seeds
    alphabet_size = 4

    [[slice]]              # optional: a named part of the sweep with its own settings
    name = "logits"
    loss = "logits"
    units = [32]

Without `[[slice]]` the top level is the whole sweep (one slice, "main"). With slices,
the top level only holds defaults: each slice starts from them and overrides any key
it sets (a slice that sets `sequences` or `grid` replaces both; `[[slice.grid]]` adds a
grid to the latest slice). A list-valued option is crossed with everything else.

Every value is checked before anything runs, by building the RunConfig it maps onto;
errors are one line naming where, the key and the value:

    quick.toml: slice 'logits': lr = -1: lr must be a positive number, got -1

A run that two slices (or two grid points) both produce is kept once, with the first
slice and label. Each run carries `slice`, `label` (the preset name, "explicit", or the
generator knobs such as "n16-r4-d3-a26-s0") and the `gen_*` knobs into the results
(seqmem.records.Origin), with `lr_rule` and `budget_steps` when the spec used them.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from seqmem.config import PRESET_OPTIONS, REQUIRES, RunConfig, is_user_cell
from seqmem.forks import feasible_forks, forks
from seqmem.generate import feasible, generate, uniform
from seqmem.records import Origin
from seqmem.sequences import PRESETS

SPECS_DIR = Path(__file__).parent / "specs"
# Every RunConfig field but the three a spec sets with its own keys.
OPTION_KEYS = tuple(f.name for f in fields(RunConfig)
                    if f.name not in ("sequence", "units", "seed", "cell_source"))
# Keys that set an option per sequence or per width instead of directly.
DERIVED_KEYS = {"max_steps": "max_epochs", "eval_every_steps": "eval_every",
                "lr_scaled": "lr", "lr_base_units": "lr"}
SLICE_KEYS = ("name", "description", "preset", "seeds", "units", "sequences", "grid",
              *OPTION_KEYS, *DERIVED_KEYS)
# Keys of the whole spec, not of a slice: they say how its table is exported.
TABLE_KEYS = ("export_loss_curve",)
TOP_KEYS = (*SLICE_KEYS, *TABLE_KEYS, "slice")


@dataclass(frozen=True)
class Generator:
    """A [[grid]] generator: its knobs (in label order) and how to make one sequence."""

    knobs: tuple[str, ...]  # grid keys besides alphabet_size, gen_seeds, skip_infeasible
    feasible: Callable[..., str | None] | None
    make: Callable[..., str]
    label: str  # format of the label, from the knob values


GENERATORS: dict[str, Generator] = {
    "generate": Generator(("length", "repeats", "depth"), feasible,
                          lambda n, r, d, a, rng: generate(n, r, d, a, rng=rng),
                          "n{length}-r{repeats}-d{depth}-a{alphabet_size}-s{seed}"),
    "forks": Generator(("length", "depth", "forks"), feasible_forks,
                       lambda n, d, f, a, rng: forks(n, d, f, a, rng=rng),
                       "n{length}-d{depth}-f{forks}-a{alphabet_size}-s{seed}"),
    "uniform": Generator(("length",), None, lambda n, a, rng: uniform(n, a, rng=rng),
                         "n{length}-a{alphabet_size}-s{seed}"),
}
GRID_KEYS = ("generator", "length", "repeats", "distinct", "depth", "forks", "alphabet_size",
             "gen_seeds", "skip_infeasible")
MAX_RUNS = 200_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SpecError(ValueError):
    """A spec that cannot run; the message is one line naming the key and the value."""


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its config and where in the spec it came from."""

    config: RunConfig
    origin: Origin

    @property
    def run_id(self) -> str:
        return self.config.run_id

    @property
    def slice(self) -> str:
        return self.origin.slice

    @property
    def label(self) -> str:
        return self.origin.label

    def columns(self) -> dict[str, Any]:
        """The result columns the spec adds to the trainer's record (its Origin)."""
        return dataclasses.asdict(self.origin)


@dataclass(frozen=True)
class Spec:
    """An expanded spec: every run once, in declaration order."""

    name: str
    path: Path
    runs: tuple[Run, ...]
    slices: tuple[str, ...]
    skipped: int = 0  # infeasible grid points dropped by skip_infeasible
    duplicates: int = 0  # runs produced more than once (kept once)
    export_loss_curve: bool = False  # the exported CSV keeps loss_curve (the store always does)

    def groups(self) -> dict[RunConfig, list[Run]]:
        """Runs grouped by everything but the seed (the config with seed 0), in declaration
        order: the groups a sweep trains together."""
        out: dict[RunConfig, list[Run]] = {}
        for run in self.runs:
            out.setdefault(run.config.without_seed, []).append(run)
        return out


def available() -> list[str]:
    """Names of the specs shipped in bench/specs/."""
    return sorted(p.stem for p in SPECS_DIR.glob("*.toml"))


def spec_path(ref: str) -> Path:
    """A spec file path, or the name of a spec in bench/specs/, -> its path."""
    path = Path(ref)
    if path.is_file():
        return path
    if path.is_dir():
        raise SpecError(f"spec {ref!r} is a directory, not a TOML file")
    shipped = SPECS_DIR / f"{ref}.toml"
    if ref and "/" not in ref and not ref.endswith(".toml") and shipped.is_file():
        return shipped
    raise SpecError(f"spec {ref!r}: no such file, and not a spec in bench/specs/ "
                    f"(available: {', '.join(available())})")


def load_spec(ref: str) -> Spec:
    """Read, validate and expand a spec given by path or by name; SpecError if anything is off."""
    path = spec_path(ref)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML: {_one_line(str(e))}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read: {_one_line(str(e))}") from None
    try:
        return parse_spec(data, name=path.stem, path=path)
    except SpecError as e:
        raise SpecError(f"{path.name}: {e}") from None


def parse_spec(data: Mapping[str, Any], *, name: str, path: Path = Path("<spec>")) -> Spec:
    """Validate and expand the parsed TOML of a spec (see the module docstring)."""
    _check_keys("", data, TOP_KEYS)
    name = data.get("name", name)
    if not isinstance(name, str) or not _NAME.match(name):
        _fail("", "name", name, "must be a string of letters, digits, '_', '.', '-' "
              "(it names the results file)")
    if "description" in data and not isinstance(data["description"], str):
        _fail("", "description", data["description"], "must be a string")
    export_loss_curve = data.get("export_loss_curve", False)
    if not isinstance(export_loss_curve, bool):
        _fail("", "export_loss_curve", export_loss_curve, "must be true or false")
    base = {k: v for k, v in data.items()
            if k not in ("name", "description", "slice", *TABLE_KEYS)}

    tables = data.get("slice")
    if tables is None:
        slices = [("main", "", base)]
    else:
        if not isinstance(tables, list) or not tables:
            _fail("", "slice", tables, "must be a non-empty array of tables ([[slice]])")
        slices, seen = [], set()
        for i, table in enumerate(tables):
            where = f"slice[{i}]: "
            if not isinstance(table, dict):
                _fail("", f"slice[{i}]", table, "must be a table ([[slice]])")
            _check_keys(where, table, SLICE_KEYS)
            sname = table.get("name")
            if not isinstance(sname, str) or not _NAME.match(sname):
                _fail(where, "name", sname, "every slice needs a name of letters, digits, '_.-'")
            if sname in seen:
                _fail(where, "name", sname, "duplicate slice name")
            seen.add(sname)
            merged = dict(base)
            if "sequences" in table or "grid" in table:
                merged.pop("sequences", None)
                merged.pop("grid", None)
            for key in table:  # a budget in steps replaces an inherited one in epochs, etc.
                for other in _COUNTERPARTS.get(key, ()):
                    merged.pop(other, None)
            merged.update({k: v for k, v in table.items() if k not in ("name", "description")})
            slices.append((sname, f"slice {sname!r}: ", merged))

    runs: dict[str, Run] = {}
    skipped = duplicates = 0
    for sname, where, table in slices:
        for run in _expand_slice(name, sname, where, table):
            if isinstance(run, int):
                skipped += run
            elif run.run_id in runs:
                duplicates += 1
            else:
                runs[run.run_id] = run
                if len(runs) > MAX_RUNS:
                    raise SpecError(f"spec expands to more than {MAX_RUNS} runs; split it")
    return Spec(name=name, path=path, runs=tuple(runs.values()),
                slices=tuple(s for s, _, _ in slices), skipped=skipped, duplicates=duplicates,
                export_loss_curve=export_loss_curve)


_COUNTERPARTS = {"max_steps": ("max_epochs",), "max_epochs": ("max_steps",),
                 "eval_every_steps": ("eval_every",), "eval_every": ("eval_every_steps",),
                 "lr_scaled": ("lr",), "lr": ("lr_scaled", "lr_base_units")}


def _expand_slice(spec: str, sname: str, where: str, table: Mapping[str, Any]
                  ) -> Iterator[Run | int]:
    """Runs of one slice; an int is a count of infeasible grid points skipped."""
    preset = table.get("preset", "notebook")
    if preset not in PRESET_OPTIONS:
        _fail(where, "preset", preset, f"must be one of {', '.join(PRESET_OPTIONS)}")
    for key in ("seeds", "units"):
        if key not in table:
            _fail(where, key, None, "missing (required)")
    for key, other in (("max_steps", "max_epochs"), ("eval_every_steps", "eval_every"),
                       ("lr_scaled", "lr")):
        if key in table and other in table:
            _fail(where, key, table[key], f"give {key} or {other}, not both")
    if ("lr_scaled" in table) != ("lr_base_units" in table):
        _fail(where, "lr_scaled", table.get("lr_scaled"), "needs lr_base_units, and back")
    seeds = _seeds(where, table["seeds"])
    units = _ints(where, "units", table["units"], low=1)
    options = {k: _option(where, k, table[k]) for k in OPTION_KEYS if k in table}
    steps = {k: _ints(where, k, table[k], low=1) for k in ("max_steps", "eval_every_steps")
             if k in table}
    if len(steps.get("eval_every_steps", [0])) != 1:
        _fail(where, "eval_every_steps", table["eval_every_steps"], "must be one integer")
    if "lr_scaled" in table:
        options["lr_scaled"] = [_config(where, "lr_scaled", "lr", v).lr
                                for v in _as_list(where, "lr_scaled", table["lr_scaled"])]
        base_units = _ints(where, "lr_base_units", table["lr_base_units"], low=1)
        if len(base_units) != 1:
            _fail(where, "lr_base_units", table["lr_base_units"], "must be one integer")
    if "max_steps" in steps:
        options["max_steps"] = steps["max_steps"]
    if "sequences" not in table and "grid" not in table:
        _fail(where, "sequences", None, "missing: give `sequences` and/or [[grid]]")

    items: list[tuple[str, Origin]] = []  # (letters or preset name, where it came from)
    if "sequences" in table:
        seqs = table["sequences"]
        if not isinstance(seqs, list) or not seqs or not all(isinstance(s, str) for s in seqs):
            _fail(where, "sequences", seqs, "must be a non-empty list of preset names or letters")
        items += [(s, Origin(label=s if s in PRESETS else "explicit")) for s in seqs]
    if "grid" in table:
        grids = table["grid"]
        grids = [grids] if isinstance(grids, dict) else grids
        if not isinstance(grids, list) or not grids:
            _fail(where, "grid", table["grid"], "must be a table or an array of tables ([[grid]])")
        for i, grid in enumerate(grids):
            got, skipped = _grid(f"{where}grid[{i}]: ", grid)
            items += got
            yield skipped

    start = dict(PRESET_OPTIONS[preset])
    start.pop("units", None)
    keys = list(options)
    for seq, origin in items:
        origin = dataclasses.replace(origin, spec=spec, slice=sname)
        letters = PRESETS.get(seq, seq)
        for combo in itertools.product(*(options[k] for k in keys)):
            opts = {**start, **dict(zip(keys, combo, strict=True))}
            extra: dict[str, Any] = {}
            if "max_steps" in opts:
                extra["budget_steps"] = opts["max_steps"]
                opts["max_epochs"] = math.ceil(opts.pop("max_steps") / len(letters))
            if "eval_every_steps" in steps:
                opts["eval_every"] = max(1, steps["eval_every_steps"][0] // len(letters))
            scaled = opts.pop("lr_scaled", None)
            for u in units:
                if scaled is not None:
                    opts["lr"] = scaled * base_units[0] / u
                    extra["lr_rule"] = f"{scaled:g}*{base_units[0]}/units"
                if is_user_cell(opts.get("cell", "lstm")):
                    opts["cell_source"] = _user_cell(where, opts, u)
                for seed in seeds:
                    try:
                        config = RunConfig.from_dict({**opts, "sequence": seq, "units": u,
                                                      "seed": seed})
                    except ValueError as e:
                        _fail(where, "sequences", seq, str(e))
                    yield Run(config, dataclasses.replace(origin, **extra))


def _user_cell(where: str, opts: Mapping[str, Any], units: int) -> str:
    """A user cell's source hash, after a dry step at this width and alphabet (one line on
    any failure: import, interface, shapes, an option it cannot train)."""
    from seqmem.user_engine import check_config

    try:
        probe = RunConfig.from_dict({**opts, "sequence": "AB", "units": units, "seed": 0,
                                     "cell_source": None})
        check_config(probe)
        from seqmem.usercell import source_hash

        return source_hash(opts["cell"])
    except ValueError as e:
        _fail(where, "cell", opts["cell"], str(e).removeprefix(f"cell {opts['cell']!r}: "))


def _grid(where: str, grid: Any) -> tuple[list[tuple[str, Origin]], int]:
    if not isinstance(grid, dict):
        _fail(where.rstrip(": "), "", grid, "must be a table ([[grid]])")
    _check_keys(where, grid, GRID_KEYS)
    kind = grid.get("generator", "generate")
    if kind not in GENERATORS:
        _fail(where, "generator", kind, f"must be one of {', '.join(GENERATORS)}")
    gen = GENERATORS[kind]
    allowed = (*gen.knobs, "alphabet_size", "gen_seeds", "skip_infeasible", "generator",
               *(("distinct",) if kind == "generate" else ()))
    for key in grid:
        if key not in allowed:
            _fail(where, key, grid[key], f"not a knob of generator {kind!r} "
                  f"(its keys: {', '.join(allowed)})")
    knobs = [k for k in gen.knobs if not (k == "repeats" and "distinct" in grid)]
    if kind == "generate":
        if ("repeats" in grid) == ("distinct" in grid):
            _fail(where, "repeats", grid.get("repeats"),
                  "give exactly one of `repeats` and `distinct`")
        knobs = ["length", "repeats" if "repeats" in grid else "distinct", "depth"]
    for key in knobs:
        if key not in grid:
            _fail(where, key, None, "missing (required)")
    lows = {"length": 2, "depth": 1, "repeats": 0, "distinct": 1, "forks": 0}
    values = {k: _ints(where, k, grid[k], low=lows[k]) for k in knobs}
    sizes = _ints(where, "alphabet_size", grid.get("alphabet_size", 26), low=2, high=26)
    gen_seeds = _seeds(where, grid.get("gen_seeds", 1), key="gen_seeds")
    skip = grid.get("skip_infeasible", False)
    if not isinstance(skip, bool):
        _fail(where, "skip_infeasible", skip, "must be true or false")

    items, skipped, first_reason = [], 0, None
    for combo in itertools.product(*values.values(), sizes):
        given = dict(zip([*values, "alphabet_size"], combo, strict=True))
        knob = {k: given[k] for k in gen.knobs if k in given}
        if "distinct" in given:
            knob["repeats"] = given["length"] - given["distinct"]
        args = [knob[k] for k in gen.knobs]
        a = given["alphabet_size"]
        reason = gen.feasible(*args, a) if gen.feasible else None
        if reason:
            text = " ".join(f"{k}={v}" for k, v in given.items())
            if not skip:
                raise SpecError(f"{where}{text}: infeasible: {reason} "
                                "(set skip_infeasible = true to drop such points)")
            skipped += 1
            first_reason = first_reason or f"{text}: {reason}"
            continue
        for s in gen_seeds:
            seq = gen.make(*args, a, np.random.default_rng(s))
            origin = Origin(label=gen.label.format(**knob, alphabet_size=a, seed=s),
                            generator=kind, gen_alphabet_size=a, gen_seed=s,
                            **{f"gen_{k}": v for k, v in knob.items()})
            items.append((seq, origin))
    if not items:
        raise SpecError(f"{where}no feasible combination in this grid (e.g. {first_reason})")
    return items, skipped


def _config(where: str, key: str, field: str, value: Any) -> RunConfig:
    """A config with `field` = value, or a one-line SpecError naming `key`."""
    try:
        return RunConfig.from_dict({"sequence": "AB", **REQUIRES.get(field, {}), field: value})
    except (ValueError, TypeError) as e:
        _fail(where, key, value, str(e))


def _as_list(where: str, key: str, value: Any) -> list[Any]:
    values = value if isinstance(value, list) else [value]
    if not values:
        _fail(where, key, value, "an empty list gives no runs")
    if len(set(map(repr, values))) != len(values):
        _fail(where, key, value, "duplicate values")
    return values


def _option(where: str, key: str, value: Any) -> list[Any]:
    """An option's values (a scalar is a one-value list), each checked by RunConfig."""
    out = []
    for v in _as_list(where, key, value):
        if key == "alphabet":
            if not isinstance(v, str) or len(v) < 2 or len(set(v)) != len(v):
                _fail(where, key, v, "must be a string of at least 2 distinct letters")
            out.append(v)
            continue
        out.append(getattr(_config(where, key, key, v), key))
    if len(set(map(repr, out))) != len(out):
        _fail(where, key, value, "duplicate values")
    return out


def _ints(where: str, key: str, value: Any, *, low: int, high: int | None = None) -> list[int]:
    values = value if isinstance(value, list) else [value]
    if not values:
        _fail(where, key, value, "an empty list gives no runs")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            _fail(where, key, v, "must be an integer or a list of integers")
        if v < low or (high is not None and v > high):
            bound = f">= {low}" if high is None else f"in {low}..{high}"
            _fail(where, key, v, f"must be {bound}")
    if len(set(values)) != len(values):
        _fail(where, key, value, "duplicate values")
    return list(values)


def _seeds(where: str, value: Any, key: str = "seeds") -> list[int]:
    """A count n (seeds 0..n-1) or an explicit list of distinct seeds >= 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            _fail(where, key, value, "a count must be >= 1 (or give a list of seeds)")
        return list(range(value))
    if not isinstance(value, list):
        _fail(where, key, value, "must be a count or a list of seeds")
    return _ints(where, key, value, low=0)


def _check_keys(where: str, table: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SpecError(f"{where}unknown key {key!r} ({hint}known: {', '.join(known)})")


def _fail(where: str, key: str, value: Any, reason: str) -> NoReturn:
    if value is None:  # TOML has no null: None means the key is absent
        head = key
    else:
        head = f"{key} = {_short(value)}" if key else _short(value)
    raise SpecError(f"{where}{head}: {_one_line(reason)}")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
