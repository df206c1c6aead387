"""Pre-registration of the laws, enforced by the code (issue 18).

A freeze records, in a file per law (`LAWS`: the notebook-option law in
`analysis/freeze.json`, the one law across length in `analysis/freeze_length.json`), the
commit at which the law's candidates, its selection rule and its fitting rows were fixed,
and a SHA-256 of each:

    python -m analysis.preregistration freeze [--law length]   # clean tree; commit the file

Afterwards the analysis calls a validation row out of sample only when
* the candidates, the selection rule and the fitting rows still hash as frozen, and
* the row's recorded commit descends from the freeze commit (`git merge-base
  --is-ancestor`) and its tree was clean.
Otherwise it says why not. Rows made before the freeze (the held-out and predict_check
specs) are reported as what they are: checks the law's choice may have seen.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import cure, law, lawfit, lengthlaw, skill

FREEZE_FILE = Path(__file__).parent / "freeze.json"
LENGTH_FREEZE_FILE = Path(__file__).parent / "freeze_length.json"
REPO = Path(__file__).resolve().parent.parent
# How the law is chosen, in words; the code that does it is hashed beside it.
SELECTION_RULE = ("Fit every candidate of lawfit.candidates() (one block of each kind) by "
                  "censored maximum likelihood on the FIT_TABLES rows with LAW_OPTIONS; keep "
                  "the lowest cluster-robust TIC (clusters: sequences); then choose the "
                  "spread's terms among SCALE the same way.")
SELECTION_CODE: tuple[Callable[..., Any], ...] = (
    lawfit.candidates, lawfit.usable, lawfit._scored, lawfit._ranked, lawfit.fit_law,
    lawfit.law_data, law.tic_penalty, law.cluster_parts, law.fit_aft, cure.fit_cure)


def declarations() -> dict[str, Any]:
    """What the freeze fixes about the law, before any validation row is seen."""
    return dict(trainability=lawfit.TRAINABILITY, loss=lawfit.LOSS,
                difficulty=lawfit.DIFFICULTY, scale=lawfit.SCALE,
                after_heldout=list(lawfit.AFTER_HELDOUT), distribution=lawfit.DIST,
                options=lawfit.LAW_OPTIONS, fit_tables=list(lawfit.FIT_TABLES),
                rule=SELECTION_RULE, cure_rule=skill.CURE_RULE,
                cure_terms=list(cure.CURE_TERMS), stall_loss=cure.STALL_LOSS,
                code={f.__qualname__: inspect.getsource(f) for f in SELECTION_CODE})


LENGTH_SELECTION_CODE: tuple[Callable[..., Any], ...] = (
    lengthlaw.candidates, lengthlaw.independent, lengthlaw.protocol_rows, lengthlaw.length_data,
    lengthlaw.fit_length_law, lengthlaw.without_structure, lawfit.usable, lawfit._scored,
    lawfit._ranked, law.tic_penalty, law.cluster_parts, law.fit_aft)


def length_declarations() -> dict[str, Any]:
    """What the freeze fixes about the one law across length."""
    return dict(lengthlaw.declarations(),
                code={f.__qualname__: inspect.getsource(f) for f in LENGTH_SELECTION_CODE})


@dataclass(frozen=True)
class Registered:
    """A law that can be frozen: where its freeze lives, what it fixes, its fitting rows."""

    file: Path
    declarations: Callable[[], dict[str, Any]]
    data: Callable[[Any], pd.DataFrame]  # Tables -> the fitted rows
    rule: str


LAWS = {"notebook": Registered(FREEZE_FILE, declarations, lawfit.law_data, SELECTION_RULE),
        "length": Registered(LENGTH_FREEZE_FILE, length_declarations, lengthlaw.length_data,
                             lengthlaw.SELECTION_RULE)}


def sha256(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def fitting_rows(data: pd.DataFrame) -> str:
    """A hash of the fitted rows: their run ids and censored outcomes in steps."""
    cols = ["run_id", "event", "lower_steps", "upper_steps"]
    rows = data[cols].sort_values("run_id").astype(str).to_numpy().tolist()
    return sha256(rows)


def load_freeze(path: Path = FREEZE_FILE) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def is_ancestor(ancestor: str, commit: str, repo: Path = REPO) -> bool | None:
    """Whether `commit` descends from `ancestor` (or is it); None if git cannot tell."""
    try:
        r = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", ancestor,
                            commit], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {0: True, 1: False}.get(r.returncode)


@dataclass
class Provenance:
    freeze: dict[str, Any] | None
    declarations_match: bool | None  # None without a freeze
    fitting_rows_match: bool | None
    tables: pd.DataFrame  # per validation table: rows, after the freeze, clean, verdict

    @property
    def frozen(self) -> bool:
        return bool(self.freeze and self.declarations_match and self.fitting_rows_match)


def provenance(tables: dict[str, pd.DataFrame], data: pd.DataFrame,
               freeze: dict[str, Any] | None = None, repo: Path = REPO,
               law_name: str = "notebook") -> Provenance:
    """Which validation rows are out of sample under the freeze of `law_name` (see the
    module doc)."""
    registered = LAWS[law_name]
    freeze = load_freeze(registered.file) if freeze is None else freeze
    if freeze is None:
        return Provenance(None, None, None, pd.DataFrame(
            [dict(table=n, rows=len(t), after_freeze=0, verdict="no freeze recorded")
             for n, t in tables.items()]))
    decl_ok = sha256(registered.declarations()) == freeze["declarations_sha256"]
    rows_ok = fitting_rows(data) == freeze["fitting_rows_sha256"]
    out = []
    for name, t in tables.items():
        commits = t["git_commit"].astype(str)
        verdict_of = {c: is_ancestor(freeze["commit"], c, repo) for c in commits.unique()}
        after = commits.map(verdict_of)
        clean = ~t["git_dirty"].astype(str).str.lower().isin(["true", "1"])
        n_after = int((after.eq(True) & clean).sum())
        if after.isna().any():
            verdict = "unverifiable: git cannot place some commits"
        elif n_after == len(t) and decl_ok and rows_ok:
            verdict = "out of sample"
        elif n_after == len(t):
            verdict = "made after the freeze, but the law changed since"
        else:
            verdict = "made before the freeze: not pre-registered"
        out.append(dict(table=name, rows=len(t), after_freeze=n_after, verdict=verdict))
    return Provenance(freeze, decl_ok, rows_ok, pd.DataFrame(out))


def freeze_now(results: Path, repo: Path = REPO, law_name: str = "notebook") -> dict[str, Any]:
    """Fix the law at HEAD, which must be clean: the record its freeze file holds."""
    from analysis.load import load_tables

    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--",
                             "analysis", "seqmem"], capture_output=True, text=True, check=True)
    if status.stdout.strip():
        raise SystemExit("refusing to freeze: analysis/ or seqmem/ has uncommitted changes")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    registered = LAWS[law_name]
    tables, _ = load_tables(results)
    data = registered.data(tables)
    return dict(commit=head, declarations_sha256=sha256(registered.declarations()),
                fitting_rows_sha256=fitting_rows(data), fitted_runs=len(data),
                rule=registered.rule)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis.preregistration",
                                description="Freeze the law's candidates and selection rule.")
    p.add_argument("command", choices=["freeze", "check"])
    p.add_argument("--law", choices=sorted(LAWS), default="notebook",
                   help="which law (default: %(default)s)")
    p.add_argument("--results", type=Path, default=REPO / "results")
    args = p.parse_args(argv)
    registered = LAWS[args.law]
    if args.command == "freeze":
        if registered.file.exists():
            raise SystemExit(f"{registered.file} exists: a law is frozen once")
        record = freeze_now(args.results, law_name=args.law)
        registered.file.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"froze the {args.law} law at {record['commit'][:10]}: commit "
              f"{registered.file.name} next")
        return 0
    freeze = load_freeze(registered.file)
    if freeze is None:
        print(f"no freeze recorded for the {args.law} law")
        return 1
    ok = sha256(registered.declarations()) == freeze["declarations_sha256"]
    print(f"freeze {freeze['commit'][:10]}: declarations "
          + ("unchanged" if ok else "CHANGED since the freeze"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
