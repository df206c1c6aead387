"""The sweep end to end: the real CLI on every backend, kill -9 and resume, failures, retries.

ENGINE is the engine of every test spec: switching the whole file to the other engine
is this one constant.
"""

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import bench.sweep
import bench.worker
from bench.plan import chunk_work, plan_chunks
from bench.spec import load_spec
from bench.sweep import PAUSE_ENV, main
from seqmem.config import RunConfig
from seqmem.store import load_results

pytestmark = pytest.mark.slow  # the fast subset is pytest -m "not slow"

ENGINE = "population"
ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ["wall_time_s"]

TINY = f"""
name = "tiny"
sequences = ["ABCD", "ABCA"]
units = [4, 8]
seeds = 3
lr = 0.05
max_epochs = 12
eval_every = 4
engine = "{ENGINE}"
"""


def write_spec(directory: Path, text: str = TINY, name: str = "tiny") -> Path:
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path


def cli(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """`python -m bench.sweep ARGS` in a fresh process, from the repository root."""
    return subprocess.run([sys.executable, "-m", "bench.sweep", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def table(path: Path) -> pd.DataFrame:
    return load_results(path).drop(columns=VOLATILE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The tiny spec run once, sequentially, through the real CLI."""
    d = tmp_path_factory.mktemp("reference")
    spec = write_spec(d)
    done = cli(str(spec), "--out", str(d / "tiny.sqlite"), "--backend", "sequential",
               "--chunk-size", "2")
    assert done.returncode == 0, done.stderr
    assert "12 of 12 runs of spec 'tiny' stored" in done.stdout
    return d / "tiny.sqlite"


@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_every_backend_gives_the_same_records(backend, reference, tmp_path):
    spec = write_spec(tmp_path)
    out = tmp_path / "tiny.sqlite"
    done = cli(str(spec), "--out", str(out), "--backend", backend, "--jobs", "2",
               "--chunk-size", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(table(out), table(reference))
    exported = pd.read_csv(tmp_path / "tiny.csv", dtype=str).drop(columns=VOLATILE)
    expected = pd.read_csv(reference.with_suffix(".csv"), dtype=str).drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(exported, expected)


def test_reference_run_is_complete_and_tidy(reference):
    df = load_results(reference)
    assert len(df) == 12 and df["run_id"].is_unique
    assert set(df["status"]) <= {"memorized", "censored"} and df["error"].isna().all()
    assert (df["spec"] == "tiny").all() and (df["label"] == "explicit").all()
    assert df["gen_length"].isna().all() and (df["engine"] == ENGINE).all()
    # one loss per evaluation interval: evaluations at 0, 4, 8, 12
    assert (-(-df["epochs_trained"] // 4) == df["loss_curve"].map(len)).all()
    assert (df["steps_to_memorize"].isna() == ~df["memorized"]).all()
    assert set(df["population"]) <= {1, 2}  # chunks of at most 2 seeds
    for col in ("seqmem_version", "torch_version", "numba_version", "git_commit", "cpu"):
        assert df[col].notna().all(), col
    assert (df["kernel"] == "numba").all() and (df["numerics_version"] == 1).all()
    assert (load_results(reference.with_suffix(".csv"))["run_id"] == df["run_id"]).all()


# 16 one-seed chunks that all train the full budget (lr 1e-3 memorizes none), so that
# a kill after a random number of stored runs lands before the sweep ends.
KILL = TINY.replace("seeds = 3", "seeds = 4").replace("max_epochs = 12", "max_epochs = 60") \
    .replace("lr = 0.05\n", "")


def test_kill_9_at_a_random_point_then_resume_gives_the_uninterrupted_table(tmp_path, capsys):
    spec = write_spec(tmp_path, KILL)
    whole = tmp_path / "whole.sqlite"
    assert main([str(spec), "--out", str(whole), "--backend", "sequential", "--chunk-size", "1",
                 "--quiet"]) == 0
    n = len(load_results(whole))

    # The parent writes the store whatever the backend; sequential keeps this test short.
    # The pause hook stops the parent after `target` stored runs, so the kill lands there
    # whatever the machine's speed (a kill on a timer could land after the last run).
    out = tmp_path / "killed.sqlite"
    args = [str(spec), "--out", str(out), "--backend", "sequential", "--chunk-size", "1",
            "--quiet"]
    target = random.Random().randint(1, n - 2)  # rows stored before the kill, printed on failure
    proc = subprocess.Popen([sys.executable, "-m", "bench.sweep", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, PAUSE_ENV: str(target)})
    try:
        said = proc.stderr.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert said.strip() == "paused", f"the sweep ended before the kill ({target=}): {said!r}"
    assert proc.returncode == -signal.SIGKILL

    partial = table(out)  # readable, and every stored row is a whole, correct record
    assert len(partial) == target
    expected = table(whole).set_index("run_id")
    pd.testing.assert_frame_equal(partial.set_index("run_id"), expected.loc[partial["run_id"]])

    assert main(args) == 0  # the same command again (in this process, to save a start-up)
    assert f"{n - len(partial)} run now" in capsys.readouterr().out, f"{target=}"
    final = table(out)
    assert final["run_id"].is_unique
    pd.testing.assert_frame_equal(final, table(whole))


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT count(*) FROM runs WHERE status IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_failing_chunk_is_stored_as_errors_and_retry_errors_reruns_it(
        reference, tmp_path, monkeypatch, capsys):
    spec = write_spec(tmp_path)
    out = tmp_path / "tiny.sqlite"
    args = [str(spec), "--out", str(out), "--backend", "sequential", "--chunk-size", "2"]
    monkeypatch.setenv(bench.worker.FAIL_ENV, "ABCA")
    assert main(args) == 1
    assert "6 errors (rerun with --retry-errors)" in capsys.readouterr().out
    df = load_results(out).set_index("run_id")
    bad = df[df["sequence"] == "ABCA"]
    assert len(bad) == 6 and (bad["status"] == "error").all()
    assert bad["error"].str.contains("RuntimeError: SEQMEM_FAIL_SEQUENCE=ABCA").all()
    assert (bad["context_depth"] == 2).all() and (bad["units"].isin([4, 8])).all()
    assert bad["epochs_to_memorize"].isna().all() and bad["memorized"].isna().all()
    assert bad["loss_curve"].isna().all() and (bad["kernel"] == "numba").all()
    good = table(out).set_index("run_id")
    good = good[good["sequence"] == "ABCD"]
    pd.testing.assert_frame_equal(good, table(reference).set_index("run_id").loc[good.index])

    monkeypatch.delenv(bench.worker.FAIL_ENV)
    assert main(args) == 1  # errors are stored results too: not rerun without the flag
    assert "0 run now, 6 errors" in capsys.readouterr().out
    assert main([*args, "--retry-errors"]) == 0
    assert "6 run now, 0 errors" in capsys.readouterr().out
    pd.testing.assert_frame_equal(table(out), table(reference))


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupt_stops_cleanly_keeping_finished_runs(how, reference, tmp_path, monkeypatch,
                                                          capsys):
    spec = write_spec(tmp_path)
    out = tmp_path / "tiny.sqlite"
    args = [str(spec), "--out", str(out), "--backend", "sequential", "--chunk-size", "2"]
    real, calls = bench.worker.run_chunk, []

    def interrupted_on_the_third_chunk(configs):
        calls.append(len(configs))
        if len(calls) == 3:
            if how == "ctrl-c":
                raise KeyboardInterrupt  # what Ctrl-C raises in the middle of training
            os.kill(os.getpid(), signal.SIGTERM)
        return real(configs)

    monkeypatch.setattr(bench.worker, "run_chunk", interrupted_on_the_third_chunk)
    assert main(args) == 130
    kept = sum(calls[:2])
    assert f"interrupted: {kept} runs stored this time" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is restored
    assert not out.with_suffix(".csv").exists()  # the export is written by a finished sweep
    partial = table(out).set_index("run_id")
    assert len(partial) == kept
    pd.testing.assert_frame_equal(partial, table(reference).set_index("run_id").loc[partial.index])

    monkeypatch.setattr(bench.worker, "run_chunk", real)
    assert main(args) == 0
    pd.testing.assert_frame_equal(table(out), table(reference))


def test_resume_skips_stored_ids(reference, tmp_path, capsys):
    out = tmp_path / "copy.sqlite"
    with sqlite3.connect(reference) as src, sqlite3.connect(out) as dst:
        src.backup(dst)
    spec = write_spec(tmp_path)
    before = load_results(out)
    assert main([str(spec), "--out", str(out), "--dry-run"]) == 0
    assert "12 of these runs already stored" in capsys.readouterr().out
    assert main([str(spec), "--out", str(out), "--backend", "sequential"]) == 0
    assert "12 of 12 runs of spec 'tiny' stored" in capsys.readouterr().out
    pd.testing.assert_frame_equal(load_results(out), before)  # wall times too: nothing reran


def test_changing_units_gives_new_run_ids_and_keeps_the_old_runs(tmp_path, capsys):
    small = write_spec(tmp_path, TINY.replace("units = [4, 8]", "units = [4]"))
    out = tmp_path / "u.sqlite"
    assert main([str(small), "--out", str(out), "--backend", "sequential", "--quiet"]) == 0
    first = load_results(out)
    both = write_spec(tmp_path, TINY, name="tiny2")  # same name inside: "tiny"
    assert main([str(both), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "6 of these runs already stored" in text and "to run: 6 runs in 2 groups" in text
    assert main([str(both), "--out", str(out), "--backend", "sequential", "--quiet"]) == 0
    df = load_results(out)
    assert len(df) == 12 and df["run_id"].is_unique
    new = df[~df["run_id"].isin(first["run_id"])]
    assert set(new["units"]) == {8} and len(new) == 6
    pd.testing.assert_frame_equal(df[df["units"] == 4].reset_index(drop=True), first)


def test_chunks_depend_on_the_spec_and_the_chunk_size_only():
    spec = load_spec("cases")
    chunks = plan_chunks(spec.runs)
    assert sorted(len(c) for c in chunks) == [10] * 14  # two batches per case, one per core
    assert {len({c.without_seed for c in chunk}) for chunk in chunks} == {1}
    halves = plan_chunks(spec.runs, chunk_size=8)
    assert sorted(len(c) for c in halves) == [6] * 7 + [7] * 14
    assert sorted(c.run_id for ch in halves for c in ch) == sorted(r.run_id for r in spec.runs)
    keep = {r.run_id for r in spec.runs[:10]}
    assert sum(len(c) for c in plan_chunks(spec.runs, keep, chunk_size=8)) == 10


def test_help_documents_the_options_and_the_spec_format(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in ["--out", "--jobs", "--backend", "--scheduler", "--retry-errors", "--dry-run",
                 "--quiet", "[[grid]]", "[[slice]]", "skip_infeasible", "quick", "study", "cases"]:
        assert word in text
    assert "SEQMEM_" not in text  # test hooks are not user options


def test_a_bad_spec_exits_2_with_one_line_on_stderr_through_the_real_cli(tmp_path):
    spec = write_spec(tmp_path, TINY.replace("units = [4, 8]", "units = [4, 0]"))
    done = cli(str(spec), "--out", str(tmp_path / "x.sqlite"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("python -m bench.sweep: error: tiny.toml: "
                                   "units = 0: must be >= 1")
    assert not (tmp_path / "x.sqlite").exists()


def _reject(argv, tmp_path, monkeypatch, capsys, keep: Path | None = None) -> str:
    """Run main(argv); assert exit 2, no run, nothing written; return the one stderr line.

    keep: a store that existed before (it may stay; nothing else may appear)."""
    def no_run(*a, **k):
        raise AssertionError("a run started")

    monkeypatch.setattr(bench.worker, "run_chunk", no_run)
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("python -m bench.sweep: error: "), err
    made = {p for p in tmp_path.rglob("*.sqlite*")
            if keep is None or not p.name.startswith(keep.name)}
    assert not made and not (tmp_path / "results").exists()
    return err


BAD_ARGS = [
    (["nosuchspec"], "'nosuchspec': no such file, and not a spec in bench/specs/"),
    (["@SPEC", "--jobs", "0"], "--jobs must be >= 1 or -1 (all cores), got 0"),
    (["@SPEC", "--jobs", "-2"], "--jobs must be >= 1 or -1"),
    (["@SPEC", "--jobs", "two"], "--jobs must be an integer, got 'two'"),
    (["@SPEC", "--backend", "spark"], "invalid choice: 'spark'"),
    (["@SPEC", "--scheduler", "tcp://127.0.0.1:8786"], "needs --backend dask"),
    (["@SPEC", "--chunk-size", "0"], "must be >= 1, got 0"),
    (["@SPEC", "--chunk-size", "x"], "must be an integer, got 'x'"),
    (["@SPEC", "--out", "@DIR"], "is a directory; give the database file"),
    (["@SPEC", "--out", "@TEXT"], "exists and is not an SQLite database"),
    (["@SPEC", "--export", "e.csv", "--no-export"], "contradict"),
    (["@SPEC", "--out", "a.sqlite", "--export", "a.sqlite"], "would overwrite the store"),
    (["@SPEC", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["@SPEC", "extra"], "unrecognized arguments: extra"),
    (["@DIR"], "is a directory, not a TOML file"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_ARGS, ids=[" ".join(a) for a, _ in BAD_ARGS])
def test_bad_command_lines_are_rejected_before_any_run(argv, message, tmp_path, monkeypatch,
                                                       capsys):
    spec = write_spec(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "notes.txt").write_text("not a database\n")
    subs = {"@SPEC": str(spec), "@DIR": str(tmp_path / "adir"),
            "@TEXT": str(tmp_path / "notes.txt")}
    err = _reject([subs.get(a, a) for a in argv], tmp_path, monkeypatch, capsys)
    assert message in err


def _age(db: Path, version: int | None, kernel: str | None = "numba") -> None:
    """Make the stored rows look made by another numerics version (None: made before
    rows said, as in a store of the old contract)."""
    with sqlite3.connect(db) as con:
        con.execute("UPDATE runs SET numerics_version = ?, kernel = ? WHERE units = 8",
                    (version, kernel))


@pytest.mark.parametrize("version, kernel, says", [
    (0, "numba", "numba v0"), (None, None, "unknown kernel v?"), (1, "torch", "torch v1")])
def test_a_store_with_stale_rows_refuses_before_any_work(version, kernel, says, reference,
                                                         tmp_path, monkeypatch, capsys):
    out = tmp_path / "copy.sqlite"
    with sqlite3.connect(reference) as src, sqlite3.connect(out) as dst:
        src.backup(dst)
    _age(out, version, kernel)
    before = load_results(out)
    spec = write_spec(tmp_path)
    err = _reject([str(spec), "--out", str(out)], tmp_path, monkeypatch, capsys, keep=out)
    assert f"holds 6 runs of spec 'tiny' made by {says}, but this code makes numba v1" in err
    assert "--rerun-stale" in err
    pd.testing.assert_frame_equal(load_results(out), before)  # untouched


def test_rerun_stale_replaces_exactly_the_stale_rows(reference, tmp_path, capsys):
    out = tmp_path / "copy.sqlite"
    with sqlite3.connect(reference) as src, sqlite3.connect(out) as dst:
        src.backup(dst)
    _age(out, 0)
    spec = write_spec(tmp_path)
    assert main([str(spec), "--out", str(out), "--dry-run"]) == 0
    assert "stale: 6 stored runs" in capsys.readouterr().out
    assert main([str(spec), "--out", str(out), "--backend", "sequential", "--rerun-stale",
                 "--chunk-size", "2", "--quiet"]) == 0
    assert "6 run now" in capsys.readouterr().out
    df = load_results(out)
    assert (df["numerics_version"] == 1).all()
    pd.testing.assert_frame_equal(table(out), table(reference))


def test_the_progress_bar_weighs_chunks_by_their_cost(tmp_path, monkeypatch):
    mixed = TINY.replace('sequences = ["ABCD", "ABCA"]',
                         'sequences = ["ABCD", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN"]')
    short = RunConfig("ABCD", units=64, max_epochs=100)
    long = short.replace(sequence="ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN")
    # 10x the steps and a mean backward window 8x as long (full-epoch BPTT): ~50x the work.
    assert chunk_work([long]) > 30 * chunk_work([short])
    assert chunk_work([short.replace(bptt=2)]) < chunk_work([short])
    assert chunk_work([short.replace(units=256)]) > 10 * chunk_work([short])
    assert chunk_work([short, short.replace(seed=1)]) == 2 * chunk_work([short])
    chunks = plan_chunks(load_spec(str(write_spec(tmp_path, mixed))).runs, chunk_size=3)
    seen = {}

    class Bar:
        def __init__(self, total, *a):
            seen["total"], seen["updates"] = total, []

        def update(self, n):
            seen["updates"].append(n)

        def set_description_str(self, *a, **k):
            pass

        def close(self):
            pass

    monkeypatch.setattr(bench.sweep, "_progress", Bar)
    assert main([str(write_spec(tmp_path, mixed)), "--out", str(tmp_path / "m.sqlite"),
                 "--backend", "sequential", "--chunk-size", "3", "--quiet"]) == 0
    assert seen["total"] == pytest.approx(sum(map(chunk_work, chunks)))
    assert sorted(seen["updates"]) == pytest.approx(sorted(map(chunk_work, chunks)))


def test_stale_error_rows_are_refused_even_with_retry_errors(reference, tmp_path, monkeypatch,
                                                            capsys):
    out = tmp_path / "copy.sqlite"
    with sqlite3.connect(reference) as src, sqlite3.connect(out) as dst:
        src.backup(dst)
    with sqlite3.connect(out) as con:
        con.execute("UPDATE runs SET status = 'error', numerics_version = 0 WHERE units = 8")
    err = _reject([str(write_spec(tmp_path)), "--out", str(out), "--retry-errors"], tmp_path,
                  monkeypatch, capsys, keep=out)
    assert "holds 6 runs of spec 'tiny' made by numba v0" in err


def test_dry_run_does_not_count_stale_runs_as_to_run_unless_asked(reference, tmp_path, capsys):
    out = tmp_path / "copy.sqlite"
    with sqlite3.connect(reference) as src, sqlite3.connect(out) as dst:
        src.backup(dst)
    _age(out, 0)
    spec = write_spec(tmp_path)
    assert main([str(spec), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "stale: 6 stored runs" in text and "to run: 0 runs" in text
    assert main([str(spec), "--out", str(out), "--dry-run", "--rerun-stale"]) == 0
    assert "to run: 6 runs" in capsys.readouterr().out


def test_a_store_shared_with_another_spec_is_refused(reference, tmp_path, capsys):
    out = tmp_path / "shared.sqlite"
    with sqlite3.connect(reference) as src, sqlite3.connect(out) as dst:
        src.backup(dst)
    other = write_spec(tmp_path, TINY.replace('name = "tiny"', 'name = "other"')
                       .replace('"ABCD", "ABCA"', '"ABCDE"'), name="other")
    before = load_results(out)
    assert main([str(other), "--out", str(out), "--backend", "sequential", "--quiet"]) == 2
    assert "belongs to spec 'tiny', not to 'other'" in capsys.readouterr().err
    pd.testing.assert_frame_equal(load_results(out), before)


@pytest.mark.parametrize("damage, message", [
    ("unknown", "the contract does not know: ['foo']); give another --out"),
    ("garbage", "cannot be read as a results store"),
])
def test_a_store_the_sweep_cannot_use_is_refused_before_any_work(damage, message, tmp_path,
                                                                 monkeypatch, capsys):
    out = tmp_path / "bad.sqlite"
    if damage == "unknown":
        with sqlite3.connect(out) as con:
            con.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, foo)")
            con.execute("INSERT INTO runs VALUES ('x', 1)")
    else:
        out.write_bytes(b"SQLite format 3\x00" + b"garbage" * 100)
    for extra in ([], ["--dry-run"]):
        err = _reject([str(write_spec(tmp_path)), "--out", str(out), *extra], tmp_path,
                      monkeypatch, capsys, keep=out)
        assert message in err


# ---------------------------------------------------------------- a user's own sweep


USER = 'name = "cases"\nseeds = 1\nunits = 4\nsequences = ["ABCA"]\nmax_epochs = 3\n'


def test_a_user_spec_named_like_a_shipped_one_leaves_results_unchanged(tmp_path, monkeypatch,
                                                                       capsys):
    (tmp_path / "results").mkdir()
    committed = ROOT / "results" / "cases.csv"
    (tmp_path / "results" / "cases.csv").write_bytes(committed.read_bytes())
    spec = write_spec(tmp_path, USER)
    monkeypatch.chdir(tmp_path)
    assert main([str(spec), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not produce" in err and "results/cases.csv" in err
    assert (tmp_path / "results" / "cases.csv").read_bytes() == committed.read_bytes()
    assert not (tmp_path / "results" / "cases.sqlite").exists()
    # a new place is fine
    assert main([str(spec), "--out", "mine/cases.sqlite", "--quiet"]) == 0
    assert len(load_results(tmp_path / "mine" / "cases.csv")) == 1


def test_a_store_made_by_another_spec_is_refused(tmp_path, capsys):
    out = tmp_path / "shared.sqlite"
    first = write_spec(tmp_path, USER.replace('"cases"', '"first"'))
    assert main([str(first), "--out", str(out), "--quiet"]) == 0
    other = tmp_path / "other.toml"
    other.write_text(USER.replace('"cases"', '"second"'))
    assert main([str(other), "--out", str(out), "--export", str(tmp_path / "o.csv"),
                 "--quiet"]) == 2
    assert "belongs to spec 'first', not to 'second'" in capsys.readouterr().err
    # the same spec, edited to produce more runs, resumes into its own store
    first.write_text(USER.replace('"cases"', '"first"').replace("seeds = 1", "seeds = 2"))
    assert main([str(first), "--out", str(out), "--quiet"]) == 0
    assert len(load_results(out)) == 2


@pytest.mark.parametrize("args,message", [
    (["--out", "/proc/x.sqlite"], "cannot write in '/proc'"),
    (["--out", "/nonexistent-seqmem/dir/x.sqlite"], "does not exist (create it, or pass --mkdir)"),
    (["--out", "afile/x.sqlite"], "'afile' is a file, not a folder"),
    (["--out", "ok/x.sqlite", "--export", "/proc/y.csv"], "--export '/proc/y.csv': cannot write"),
    (["--out", "ok/x.sqlite", "--export", "afile/deeper/y.csv"], "'afile' is a file"),
])
def test_bad_output_places_exit_2_in_one_line_before_any_work(tmp_path, monkeypatch, capsys,
                                                               args, message):
    spec = write_spec(tmp_path, USER)
    (tmp_path / "afile").write_text("")
    monkeypatch.chdir(tmp_path)
    assert main([str(spec), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not Path("/nonexistent-seqmem").exists()
    assert not (tmp_path / "ok").exists()  # nothing was created for a refused command


def test_a_missing_folder_is_made_inside_the_current_folder_only(tmp_path, monkeypatch):
    spec = write_spec(tmp_path, USER)
    monkeypatch.chdir(tmp_path)
    assert main([str(spec), "--out", "a/b/x.sqlite", "--quiet"]) == 0
    assert (tmp_path / "a" / "b" / "x.csv").is_file()
    outside = tmp_path.parent / f"{tmp_path.name}-outside" / "x.sqlite"
    assert main([str(spec), "--out", str(outside), "--quiet"]) == 2
    assert main([str(spec), "--out", str(outside), "--mkdir", "--quiet"]) == 0
    assert outside.with_suffix(".csv").is_file()
