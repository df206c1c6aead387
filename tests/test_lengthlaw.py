"""The one law across length (analysis.lengthlaw): its rows, its candidates, its fit, and
the freeze that pre-registers it."""

import numpy as np
import pandas as pd
import pytest

from analysis import lengthlaw
from analysis.load import load_results
from analysis.preregistration import (
    LAWS,
    declarations,
    fitting_rows,
    length_declarations,
    provenance,
    sha256,
)
from tests.test_analysis import FIXTURE
from tests.test_skill import git_history


def test_only_the_frontier_protocol_s_lstm_runs_on_26_letters_are_the_law_s_rows():
    df = load_results(FIXTURE / "frontier.csv")
    df = df[df["alphabet"].str.len() == 26].head(8).reset_index(drop=True)
    df.loc[1, "feedback"] = "probs"
    df.loc[2, "cell"] = "gru"
    df.loc[3, "bptt"] = "epoch"
    df.loc[4, "update"] = "chunk"
    df.loc[5, "loss"] = "softmax"
    df.loc[6, "alphabet"] = "ABCD"
    rows = lengthlaw.protocol_rows(df)
    assert sorted(rows["run_id"]) == sorted(df.loc[[0, 7], "run_id"])
    assert {"lower_steps", "upper_steps", "event"} <= set(rows.columns)


def test_every_candidate_takes_one_block_of_each_kind():
    cands = lengthlaw.candidates()
    n = len(lengthlaw.TRAINABILITY) * len(lengthlaw.LENGTH) * len(lengthlaw.STRUCTURE)
    assert len(cands) == n == 32
    for terms in cands.values():
        assert "log_length" in terms  # length is in every candidate
        assert sum(t in terms for t in ("lu", "lr")) == 2
    assert not any(set(t.split(":")) & lengthlaw.STRUCTURE_TERMS
                   for t in cands[next(k for k in cands if k.endswith("no structure terms"))])


def test_a_term_that_a_single_lr_makes_redundant_is_dropped():
    d = pd.DataFrame(dict(units=[4, 8, 16, 32, 64], lr=1e-2, length=[8, 32, 16, 128, 64]))
    kept = lengthlaw.independent(d, ["lu", "lr", "lu:lr", "log_length", "log_length2"])
    assert kept == ["lu", "log_length", "log_length2"]  # lr constant, lu:lr = ln 10 x lu


def _bent_runs(rng: np.random.Generator) -> pd.DataFrame:
    """Runs whose ln T bends in ln length, more so for narrow networks; observed every 500
    steps, censored at 200k, 5 sequences per (length, width) and 2 seeds."""
    rows = []
    for length in (8, 16, 32, 64, 128, 256, 512, 1024):
        for s in range(5):
            seq = f"L{length}s{s}"
            depth = int(rng.integers(1, 5))
            amb = int(rng.integers(0, length // 2 + 1))
            h1 = float(rng.uniform(0, 2))
            for units in (4, 8, 16, 32, 64):
                for lr in (1e-3, 1e-2):
                    lu, llr, ll = np.log(units / 32), np.log(lr / 1e-3), np.log(length)
                    eta = (5.0 - 1.0 * lu + 0.3 * lu ** 2 - 0.6 * llr + 0.9 * ll
                           + 0.25 * np.log(length / 64) ** 2 - 0.3 * ll * lu)
                    for seed in range(2):
                        t = np.exp(eta + 0.4 * rng.standard_normal())
                        e = np.ceil(t / 500) * 500
                        event = e <= 200_000
                        rows.append(dict(
                            run_id=f"{seq}-{units}-{lr}-{seed}", sequence=seq, length=length,
                            units=units, lr=lr, loss="logits", context_depth=depth,
                            ambiguous_transitions=amb, cond_entropy_1=h1,
                            cond_entropy_2=h1 / 2, cond_entropy_3=h1 / 4, memory_bits=amb * h1,
                            max_epochs=200_000 // length, event=event,
                            lower_steps=e - 500 if event else 200_000.0,
                            upper_steps=e if event else np.inf))
    return pd.DataFrame(rows)


def test_the_law_finds_a_bend_in_length_that_moves_with_width():
    data = _bent_runs(np.random.default_rng(7))
    assert 0.05 < 1 - data["event"].mean() < 0.6  # really censored at long lengths
    law = lengthlaw.fit_length_law(data)
    assert {"log_length2", "log_length:lu"} <= set(law.fit.terms), law.name
    coef = law.coefficients.set_index("term")
    for term, truth in (("log_length2", 0.25), ("log_length:lu", -0.3), ("log_length", 0.9)):
        assert coef.loc[term, "lo"] < truth < coef.loc[term, "hi"], (term, coef.loc[term])
    # the power law in length alone is far worse by the selection's own criterion
    power = law.comparison[law.comparison["model"].str.contains("power law in length")]
    assert power["delta_tic"].min() > 50


def test_the_length_law_has_its_own_freeze(tmp_path):
    repo = tmp_path / "repo"
    (head,) = git_history(repo, 1)
    data = _bent_runs(np.random.default_rng(1)).head(40)
    table = {"length_check": pd.DataFrame(dict(git_commit=[head], git_dirty=False))}
    frozen = dict(commit=head, declarations_sha256=sha256(length_declarations()),
                  fitting_rows_sha256=fitting_rows(data))
    assert provenance(table, data, frozen, repo, law_name="length").frozen
    # the notebook law's declarations do not stand for this law's, nor the other way round
    assert sha256(declarations()) != sha256(length_declarations())
    assert not provenance(table, data, frozen, repo, law_name="notebook").frozen
    assert LAWS["length"].file.name == "freeze_length.json"
    with pytest.raises(KeyError):
        provenance(table, data, frozen, repo, law_name="other")
