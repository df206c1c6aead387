"""Specs: the shipped ones hold what they promise; every malformed spec is one clear line."""

import dataclasses

import pytest

import bench.worker
from bench.spec import OPTION_KEYS, SpecError, available, load_spec, parse_spec, spec_path
from bench.sweep import main
from seqmem.cases import NOTEBOOK_CASES
from seqmem.config import REQUIRES
from seqmem.difficulty import context_depth, metrics, repeat_count

ENGINE = "population"  # the engine named by the small specs below


def parse(text: str, name: str = "t"):
    import tomllib

    return parse_spec(tomllib.loads(text), name=name)


def test_the_three_specs_ship_and_resolve_by_name():
    assert {"quick", "cases", "study"} <= set(available())
    assert spec_path("quick").name == "quick.toml"
    assert load_spec(str(spec_path("cases"))).name == "cases"


def test_quick_is_a_small_real_study():
    spec = load_spec("quick")
    configs = [r.config for r in spec.runs]
    assert {c.units for c in configs} >= {8, 128} and min(c.units for c in configs) == 8
    assert max(c.units for c in configs) == 128
    assert len({context_depth(c.sequence) for c in configs}) >= 3
    assert len({len(c.sequence) for c in configs}) >= 2
    assert min(len(runs) for runs in spec.groups().values()) >= 5


@pytest.mark.parametrize("name, engine, seeds, numbers, options", [
    ("cases", "population", 20, range(1, 8), [{}]),
    ("cases_reference", "reference", 20, range(1, 8), [{}]),
    ("rtrl_cases", "population", 10, (4, 5, 6), [{"bptt": "rtrl"}, {"bptt": "epoch"}]),
])
def test_a_case_spec_runs_the_configs_of_seqmem_cases(name, engine, seeds, numbers, options):
    """Slice caseN of a case spec is case N's config (seqmem.cases), seed by seed, and
    nothing else: the spec cannot drift from the one definition of the cases."""
    expected = {}
    for n in numbers:
        for seed in range(seeds):
            for changed in options:
                config = NOTEBOOK_CASES[n].config(seed, engine, **changed)
                expected[config.run_id] = (f"case{n}", config)
    assert {r.run_id: (r.slice, r.config) for r in load_spec(name).runs} == expected


def test_rtrl_cases_repeats_the_first_ten_seeds_of_cases_for_its_stale_bptt_runs():
    epoch = {r.run_id for r in load_spec("rtrl_cases").runs if r.config.bptt == "epoch"}
    assert len(epoch) == 30 and epoch <= {r.run_id for r in load_spec("cases").runs}


def test_study_covers_the_grid_and_the_slices():
    spec = load_spec("study")
    configs = [r.config for r in spec.runs]
    assert {4, 256} <= {c.units for c in configs}
    assert {context_depth(c.sequence) for c in configs} >= {1, 2, 3, 4, 6, 8}
    assert min(len(c.sequence) for c in configs) == 8 and max(len(c.sequence) for c in configs) \
        == 128
    assert len({repeat_count(c.sequence) for c in configs}) >= 6
    assert min(len(runs) for runs in spec.groups().values()) >= 10
    notebook = [c for r, c in zip(spec.runs, configs, strict=True) if r.slice == "notebook"]
    assert {(c.loss, c.feedback, c.bptt) for c in notebook} == {("softmax", "probs", "epoch")}
    assert any(c.loss == "logits" for c in configs)
    assert any(c.feedback == "onehot" for c in configs)
    assert any(isinstance(c.bptt, int) and c.bptt < context_depth(c.sequence) for c in configs)


def test_generated_sequences_have_their_knobs_and_the_spec_is_reproducible():
    text = f"""
        seeds = 2
        units = [4, 8]
        engine = "{ENGINE}"
        [[grid]]
        length = [8, 12]
        repeats = [4, 5]
        depth = [2, 3]
        alphabet_size = [8, 26]
        gen_seeds = [0, 5]
    """
    spec = parse(text)
    gen = [r for r in spec.runs if r.origin.generator == "generate"]
    assert len(spec.runs) == len(gen) == 2 * 2 * 2 * 2 * 2 * 2 * 2
    for run in gen:
        o = run.origin
        n, r, d, a, s = o.gen_length, o.gen_repeats, o.gen_depth, o.gen_alphabet_size, o.gen_seed
        seq = run.config.sequence
        assert (len(seq), repeat_count(seq), context_depth(seq)) == (n, r, d)
        assert set(seq) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:a])
        assert run.label == f"n{n}-r{r}-d{d}-a{a}-s{s}"
        cols = run.columns()
        assert (cols["gen_length"], cols["gen_seed"], cols["slice"]) == (n, s, "main")
    assert [r.run_id for r in parse(text).runs] == [r.run_id for r in spec.runs]


def test_distinct_sets_the_repeats_and_skip_infeasible_drops_and_counts():
    spec = parse("""
        seeds = 1
        units = 4
        [[grid]]
        length = [8, 16]
        distinct = [8]
        depth = [1, 2]
        skip_infeasible = true
    """)
    knobs = sorted((r.origin.gen_length, r.origin.gen_repeats, r.origin.gen_depth)
                   for r in spec.runs)
    assert knobs == [(8, 0, 1), (16, 8, 1), (16, 8, 2)]  # (8, 0, 2) has no repeat to spare
    assert spec.skipped == 1


def test_slices_inherit_the_top_level_and_override_it():
    spec = parse("""
        seeds = 2
        units = [4, 8]
        sequences = ["ABCA"]
        max_epochs = 7
        [[slice]]
        name = "base"
        [[slice]]
        name = "logits"
        loss = "logits"
        units = 16
        [[slice]]
        name = "windows"
        bptt = [1, 2]
        preset = "clean"
        [[slice.grid]]
        length = 6
        repeats = 2
        depth = 2
    """)
    by = {}
    for r in spec.runs:
        by.setdefault(r.slice, []).append(r.config)
    assert spec.slices == ("base", "logits", "windows")
    assert len(by["base"]) == 4 and {c.loss for c in by["base"]} == {"softmax"}
    assert {(c.units, c.loss, c.max_epochs) for c in by["logits"]} == {(16, "logits", 7)}
    windows = by["windows"]
    assert {c.bptt for c in windows} == {1, 2} and len(windows) == 2 * 2 * 2
    assert {(c.loss, c.feedback) for c in windows} == {("logits", "onehot")}  # clean preset
    assert all(c.sequence != "ABCA" for c in windows)  # the slice's grid replaces sequences


def test_a_run_two_slices_produce_is_kept_once_with_the_first_slice():
    spec = parse("""
        seeds = 3
        units = 4
        sequences = ["alphabet"]
        [[slice]]
        name = "a"
        [[slice]]
        name = "b"
        seeds = 5
    """)
    assert len(spec.runs) == 5 and spec.duplicates == 3
    assert [r.slice for r in spec.runs] == ["a"] * 3 + ["b"] * 2
    assert spec.runs[0].label == "alphabet"


@pytest.mark.parametrize("key", [*OPTION_KEYS, "units", "seed", "sequence"])
def test_changing_any_config_field_changes_every_run_id(key):
    base = parse('seeds = [1]\nunits = 8\nsequences = ["ABCD"]\n').runs[0].config
    other = {"lr": 0.01, "reset": "char", "bptt": 2, "loss": "logits", "feedback": "onehot",
             "eval_every": 5, "max_epochs": 99, "engine": "reference", "alphabet": "ABCDE",
             "units": 9, "seed": 2, "sequence": "ABCA", "cell": "gru", "update": "chunk",
             "chunk": 2, "schedule": "cosine", "warmup": 0.1, "clip": 1.0, "stop": "budget"}[key]
    if key in REQUIRES:
        base = dataclasses.replace(base, **REQUIRES[key])
    changed = dataclasses.replace(base, **{key: other})
    assert changed.run_id != base.run_id
    assert (changed.without_seed.run_id == base.without_seed.run_id) == (key == "seed")


BASE = 'sequences = ["ABCD"]\nunits = 4\nseeds = 2\nmax_epochs = 5\n'
GRID = 'seeds = 1\nunits = 4\n[[grid]]\nlength = 8\nrepeats = 2\ndepth = 2\n'
BAD_SPECS = [
    ("units = [4\n", "not valid TOML"),
    (BASE + "lrr = 0.1\n", "unknown key 'lrr' (did you mean 'lr'?"),
    (BASE.replace("units = 4", "units = 0"), "units = 0: must be >= 1"),
    (BASE.replace("units = 4", "units = []"), "units = []: an empty list gives no runs"),
    (BASE.replace("units = 4", 'units = "8"'), "units = '8': must be an integer"),
    (BASE.replace("units = 4", "units = [4, 4]"), "units = [4, 4]: duplicate values"),
    (BASE.replace("units = 4", "units = 4.5"), "units = 4.5: must be an integer"),
    (BASE.replace("units = 4", "units = true"), "units = True: must be an integer"),
    (BASE.replace("units = 4\n", ""), "units: missing (required)"),
    (BASE.replace("seeds = 2", "seeds = 0"), "seeds = 0: a count must be >= 1"),
    (BASE.replace("seeds = 2", "seeds = []"), "seeds = []: an empty list"),
    (BASE.replace("seeds = 2", "seeds = [-1]"), "seeds = -1: must be >= 0"),
    (BASE.replace("seeds = 2", "seeds = [1, 1]"), "seeds = [1, 1]: duplicate values"),
    (BASE.replace("seeds = 2", 'seeds = "5"'), "seeds = '5': must be a count or a list"),
    (BASE + "lr = -1\n", "lr = -1: lr must be a positive number"),
    (BASE + 'lr = "fast"\n', "lr = 'fast': lr must be a positive number"),
    (BASE + "lr = []\n", "lr = []: an empty list gives no runs"),
    (BASE + 'reset = "never"\n', "reset = 'never': reset must be one of epoch, char"),
    (BASE + "bptt = 0\n", "bptt = 0: bptt must be an integer >= 1 or \"epoch\" or \"rtrl\""),
    (BASE + 'bptt = "all"\n', "bptt = 'all'"),
    (BASE + 'loss = "mse"\n', "loss = 'mse': loss must be one of softmax, logits"),
    (BASE + 'feedback = "teacher"\n', "feedback = 'teacher'"),
    (BASE + "eval_every = 0\n", "eval_every = 0: eval_every must be an integer >= 1"),
    (BASE.replace("max_epochs = 5", "max_epochs = -1"), "max_epochs = -1"),
    (BASE.replace("max_epochs = 5", 'max_epochs = [10, "x"]'), "max_epochs = 'x'"),
    (BASE + 'engine = "gpu"\n', "engine = 'gpu': engine must be one of population, reference"),
    (BASE + 'alphabet = "AB"\n', "sequences = 'ABCD': sequence 'ABCD' has letters outside"),
    (BASE + 'preset = "fancy"\n', "preset = 'fancy': must be one of notebook, clean"),
    (BASE + 'name = "bad name!"\n', "name = 'bad name!'"),
    (BASE + "description = 3\n", "description = 3: must be a string"),
    (BASE.replace('["ABCD"]', "[]"), "sequences = []: must be a non-empty list"),
    (BASE.replace('["ABCD"]', '["abcd"]'), "(lower-case is not folded)"),
    (BASE.replace('["ABCD"]', '["A"]'), "sequence must have at least 2 letters"),
    (BASE.replace('["ABCD"]', '"ABCD"'), "sequences = 'ABCD': must be a non-empty list"),
    (BASE.replace('sequences = ["ABCD"]\n', ""), "sequences: missing: give `sequences`"),
    (GRID.replace("length", "lenght"), "grid[0]: unknown key 'lenght' (did you mean 'length'?"),
    (GRID.replace("depth = 2\n", ""), "grid[0]: depth: missing (required)"),
    (GRID + "distinct = 6\n", "grid[0]: repeats = 2: give exactly one of"),
    (GRID.replace("depth = 2", "depth = []"), "grid[0]: depth = []: an empty list"),
    (GRID.replace("depth = 2", "depth = 0"), "grid[0]: depth = 0: must be >= 1"),
    (GRID.replace("depth = 2", "depth = 4"),
     "grid[0]: length=8 repeats=2 depth=4 alphabet_size=26: infeasible: depth=4 needs "
     "repeats >= depth-1 = 3, got repeats=2 (set skip_infeasible = true"),
    (GRID.replace("depth = 2", "depth = [4, 5]\nskip_infeasible = true"),
     "grid[0]: no feasible combination in this grid (e.g. length=8 repeats=2 depth=4"),
    (GRID + "alphabet_size = 40\n", "grid[0]: alphabet_size = 40: must be in 2..26"),
    (GRID + 'skip_infeasible = "yes"\n', "skip_infeasible = 'yes': must be true or false"),
    (GRID + "gen_seeds = 0\n", "grid[0]: gen_seeds = 0: a count must be >= 1"),
    ("seeds = 1\nunits = 4\ngrid = 5\n", "grid = 5: must be a table or an array of tables"),
    (BASE + '[[slice]]\nunits = 8\n', "slice[0]: name: every slice needs a name"),
    (BASE + '[[slice]]\nname = "a"\n[[slice]]\nname = "a"\n', "name = 'a': duplicate slice"),
    (BASE + '[slice]\nname = "a"\n', "slice = {'name': 'a'}: must be a non-empty array"),
    (BASE + '[[slice]]\nname = "a"\nsedes = 3\n', "slice[0]: unknown key 'sedes'"),
    (BASE + 'export_loss_curve = "yes"\n', "export_loss_curve = 'yes': must be true or false"),
    (BASE + '[[slice]]\nname = "a"\nexport_loss_curve = true\n',
     "slice[0]: unknown key 'export_loss_curve'"),  # it is the table's, not a slice's
    (BASE + '[[slice]]\nname = "a"\nlr = 0\n', "slice 'a': lr = 0: lr must be a positive"),
    (BASE + '[[slice]]\nname = "a"\n[[slice.grid]]\nlength = 4\nrepeats = 9\ndepth = 1\n',
     "slice 'a': grid[0]: length=4 repeats=9 depth=1 alphabet_size=26: infeasible"),
]


def test_the_csv_leaves_loss_curve_out_unless_the_spec_keeps_it():
    assert parse(BASE).export_loss_curve is False
    kept = parse(BASE + "export_loss_curve = true\n")
    assert kept.export_loss_curve is True and kept.runs == parse(BASE).runs


def test_parse_spec_rejects_the_first_error_in_one_line():
    with pytest.raises(SpecError, match=r"^units = 0: must be >= 1$"):
        parse(BAD_SPECS[2][0])


@pytest.mark.parametrize(("text", "message"), BAD_SPECS,
                         ids=[f"{i}:{m[:30]}" for i, (_, m) in enumerate(BAD_SPECS)])
def test_malformed_specs_are_rejected_before_any_run(text, message, tmp_path, monkeypatch,
                                                     capsys):
    def no_run(*a, **k):
        raise AssertionError("a run started")

    monkeypatch.setattr(bench.worker, "run_chunk", no_run)
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    out = tmp_path / "x.sqlite"
    assert main([str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("python -m bench.sweep: error: bad.toml: ") or \
        err.startswith(f"python -m bench.sweep: error: {spec}: not valid TOML"), err
    assert message in err, err
    assert not out.exists() and not list(tmp_path.glob("*.sqlite*"))


def test_forks_and_uniform_grids_carry_their_knobs():
    spec = parse("""
        seeds = 1
        units = 4
        [[grid]]
        generator = "forks"
        length = 24
        depth = [2, 5]
        forks = [0, 3]
        gen_seeds = [3, 4]
        [[grid]]
        generator = "uniform"
        length = [16, 40]
        alphabet_size = 4
    """)
    by_gen = {}
    for r in spec.runs:
        by_gen.setdefault(r.origin.generator, []).append(r)
    assert len(by_gen["forks"]) == 2 * 2 * 2 and len(by_gen["uniform"]) == 2
    for r in by_gen["forks"]:
        o, m = r.origin, metrics(r.config.sequence)
        assert (m["length"], m["context_depth"], m["ambiguous_transitions"]) == \
            (24, o.gen_depth, 2 + 2 * o.gen_forks)
        assert r.label == f"n24-d{o.gen_depth}-f{o.gen_forks}-a26-s{o.gen_seed}"
    for r in by_gen["uniform"]:
        assert len(r.config.sequence) == r.origin.gen_length and set(r.config.sequence) <= set("ABCD")
        assert r.origin.gen_depth is None and r.label.endswith("-a4-s0")


def test_budgets_in_steps_and_a_width_scaled_lr():
    spec = parse("""
        seeds = 1
        units = [8, 32]
        max_epochs = 1000
        sequences = ["ABCA", "ABCDEFGHIJ"]
        [[slice]]
        name = "steps"
        max_steps = [100, 400]
        eval_every_steps = 25
        [[slice]]
        name = "mup"
        lr_scaled = 2e-3
        lr_base_units = 16
    """)
    steps = [r for r in spec.runs if r.slice == "steps"]
    got = {(len(r.config.sequence), r.origin.budget_steps): (r.config.max_epochs,
                                                             r.config.eval_every) for r in steps}
    assert got == {(4, 100): (25, 6), (4, 400): (100, 6), (10, 100): (10, 2), (10, 400): (40, 2)}
    mup = {r.config.units: r for r in spec.runs if r.slice == "mup"}
    assert mup[8].config.lr == pytest.approx(4e-3) and mup[32].config.lr == pytest.approx(1e-3)
    assert mup[8].origin.lr_rule == "0.002*16/units" and mup[8].config.max_epochs == 1000
    assert all(r.origin.lr_rule is None and r.config.lr == 1e-3 for r in steps)
    assert all(r.origin.budget_steps is None for r in mup.values())


@pytest.mark.parametrize("text, message", [
    ("max_steps = 10\nmax_epochs = 5", "max_steps = 10: give max_steps or max_epochs, not both"),
    ("lr_scaled = 1e-3", "lr_scaled = 0.001: needs lr_base_units"),
    ("lr_scaled = -1.0\nlr_base_units = 8", "lr_scaled = -1.0: lr must be a positive number"),
    ("eval_every_steps = [10, 20]", "eval_every_steps = [10, 20]: must be one integer"),
    ("max_steps = 0", "max_steps = 0: must be >= 1"),
])
def test_bad_step_budgets_and_lr_rules_are_one_line(text, message):
    with pytest.raises(SpecError) as err:
        parse(f"seeds = 1\nunits = 4\nsequences = ['ABCA']\n{text}\n")
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("grid, message", [
    ('generator = "forks"\nlength = 8\ndepth = 6\nforks = 0',
     "infeasible: length=8 must be >= 2*depth + 4*forks = 12"),
    ('generator = "uniform"\nlength = 8\ndepth = 2', "depth = 2: not a knob of generator 'uniform'"),
    ('generator = "markov"\nlength = 8', "generator = 'markov': must be one of generate, forks"),
    ('generator = "forks"\nlength = 8\ndepth = 2', "forks: missing (required)"),
])
def test_bad_generator_grids_are_one_line(grid, message):
    with pytest.raises(SpecError) as err:
        parse(f"seeds = 1\nunits = 4\n[[grid]]\n{grid}\n")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_width_lr_gives_every_width_a_wide_grid_of_learning_rates():
    spec = load_spec("width_lr")
    grid = [r.config for r in spec.runs if r.slice == "grid"]
    assert {c.units for c in grid} == {4, 8, 16, 32, 64, 128, 256}
    assert {c.lr for c in grid} == {1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2}
    assert {c.loss for c in grid} == {"softmax", "logits"}
    seqs = {c.sequence for c in grid}
    assert len(seqs) >= 6 and all(context_depth(s) >= 2 for s in seqs)
    # every (units, lr, loss) is crossed with every sequence
    assert len({(c.units, c.lr, c.loss, c.sequence) for c in grid}) == 7 * 6 * 2 * len(seqs)
    mup = [r for r in spec.runs if r.slice == "mup"]
    assert mup and all(r.config.lr == pytest.approx(float(r.origin.lr_rule.split("*")[0]) * 32
                                                    / r.config.units) for r in mup)


def test_depth_ambiguity_varies_each_at_fixed_values_of_the_other():
    spec = load_spec("depth_ambiguity")
    seqs = {r.config.sequence: r.origin for r in spec.runs}
    cells = {}
    for s, o in seqs.items():
        m = metrics(s)
        assert (m["context_depth"], m["ambiguous_transitions"]) == (o.gen_depth, 2 + 2 * o.gen_forks)
        cells.setdefault((o.gen_depth, o.gen_forks), set()).add(s)
    assert {d for d, _ in cells} == {2, 3, 4, 6} and {f for _, f in cells} == {0, 1, 2, 3}
    assert min(map(len, cells.values())) >= 5  # sequences per design point
    assert {len(s) for s in seqs} == {24}


def test_the_held_out_sequences_are_fresh():
    held = {r.config.sequence for r in load_spec("heldout").runs}
    fitted = {r.config.sequence for name in ("width_lr", "depth_ambiguity", "study")
              for r in load_spec(name).runs}
    assert held and not held & fitted
    assert min(r.origin.gen_seed for r in load_spec("heldout").runs) >= 100


def test_the_predict_check_shares_no_sequence_width_or_lr_with_any_analysed_spec():
    check = load_spec("predict_check").runs
    for name in ("width_lr", "depth_ambiguity", "study", "heldout"):
        other = load_spec(name).runs
        for field in ("sequence", "units", "lr"):
            mine = {getattr(r.config, field) for r in check}
            assert mine and not mine & {getattr(r.config, field) for r in other}, (name, field)
    assert min(r.origin.gen_seed for r in check) >= 200


def test_the_frontier_states_its_budgets_in_steps():
    spec = load_spec("frontier")
    runs = spec.runs
    assert {r.origin.budget_steps for r in runs} == {50_000, 200_000}
    assert {r.config.units for r in runs} == {2, 4, 8, 16, 32, 64}
    assert {len(r.config.alphabet) for r in runs} == {4, 26}
    for r in runs:
        n = len(r.config.sequence)
        assert r.config.max_epochs * n >= r.origin.budget_steps > (r.config.max_epochs - 1) * n
        assert r.config.bptt == 16 and r.config.loss == "logits"
        assert set(r.config.sequence) <= set(r.config.alphabet)
    assert max(len(r.config.sequence) for r in runs) >= 1000


def test_cells_compares_gru_and_rnn_at_the_lstms_parameter_counts():
    from seqmem.model import parameter_count

    spec = load_spec("cells")
    lstm_params = {parameter_count("lstm", u, 26) for u in (8, 16, 32, 64)}
    for r in spec.runs:
        assert r.config.cell in ("gru", "rnn")
        p = parameter_count(r.config.cell, r.config.units, 26)
        assert min(abs(p - q) / q for q in lstm_params) < 0.05, (r.config.cell, r.config.units)
    scan = {r.config.sequence for r in spec.runs if r.slice.startswith("lr_scan")}
    assert scan == {r.config.sequence for r in load_spec("width_lr").runs}


def test_a_preset_outside_the_alphabet_is_refused_before_any_run():
    with pytest.raises(SpecError, match="letters outside the alphabet"):
        parse('seeds = 1\nunits = 4\nsequences = ["alphabet"]\nalphabet = "ABCD"\n')
