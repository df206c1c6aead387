"""The whole analysis, wired together: tables in, one `Analysis` out, and fit.json.

Each part is its own module (the law, width x lr, the frontier, the depth x ambiguity
design, the notebook's options, the cases, speed, validation); this one only calls them
on the tables that are there and notes the ones that are not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.between import Between, between
from analysis.capacity import Capacity, analyse_capacity, capacity_document
from analysis.cases import case_summary, median_loss_curves, predictions
from analysis.cells import Cells, cells
from analysis.cure import fit_cure
from analysis.design import Design, depth_ambiguity
from analysis.divergence import TABLES as DIVERGENCE_TABLES
from analysis.engines import compare
from analysis.exponents import elasticities
from analysis.findings import findings
from analysis.frontier import Frontier, fresh_check, frontier, probe_agreement
from analysis.lawfit import (
    LawFit,
    best_declared_before_heldout,
    fit_law,
    law_data,
    law_document,
)
from analysis.lengthcheck import LengthLaw, analyse_length_law, length_law_document
from analysis.load import Tables, join_runs, outcomes, records, split_errors
from analysis.options import options_by_depth
from analysis.preregistered import Preregistered, preregistered
from analysis.residuals import law_cells
from analysis.rtrl import Rtrl, analyse_rtrl, rtrl_document
from analysis.skill import without_difficulty
from analysis.speed import benchmark_cost, cost_by_units, time_to_memorize
from analysis.survival import kaplan_meier
from analysis.usercells import UserCells, analyse_usercells, usercells_document
from analysis.validate import Rivals, Validation, check_predict, validate
from analysis.widthlr import WidthLR, width_lr

SIGNIFICANT = 5  # digits written to fit.json: enough that the README rounds as the report does


# The frontier specs analysed together, and their independent reruns on fresh sequences.
FRONTIER_TABLES = ("frontier", "frontier_lr", "frontier_long", "frontier_cells", "frontier_more")
FRESH_FRONTIER_TABLES = ("frontier_fresh", "frontier_cells_fresh")


@dataclass
class Analysis:
    law_data: pd.DataFrame
    law: LawFit
    elasticities: pd.DataFrame  # the law's local exponents per loss (exponents.elasticities)
    validation: Validation | None = None
    validation_declared: tuple[str, Validation] | None = None  # before AFTER_HELDOUT
    predict_check: Validation | None = None  # analysis.predict on predict_check, in epochs
    preregistered: Preregistered | None = None  # analysis.predict on prereg_check
    probe: pd.DataFrame | None = None  # frontier_probe: shares by lr, and the same runs' check
    cells: Cells | None = None
    width: WidthLR | None = None
    between: Between | None = None  # width_lr_between beside width_lr's grid neighbours
    between_check: Validation | None = None  # analysis.predict on width_lr_between
    frontier_fresh: pd.DataFrame | None = None  # fresh_check: L* on fresh sequences
    width_runs: pd.DataFrame | None = None
    frontier: Frontier | None = None
    design: Design | None = None
    options: pd.DataFrame | None = None
    long_budgets: pd.DataFrame | None = None
    cases: pd.DataFrame | None = None  # case_summary
    case_runs: pd.DataFrame | None = None
    engines: pd.DataFrame | None = None
    speed: pd.DataFrame | None = None
    steptime: pd.DataFrame | None = None
    capacity: Capacity | None = None
    rtrl: Rtrl | None = None
    usercells: UserCells | None = None
    notes: list[str] = field(default_factory=list)
    time_to_memorize: pd.DataFrame | None = None  # speed.time_to_memorize at the best lrs
    bench_cost: pd.Series | None = None  # speed.benchmark_cost: the idle-core step per width
    law_cells: pd.DataFrame | None = None  # residuals.law_cells: the law on its own cells
    case_predictions: pd.DataFrame | None = None  # cases.predictions from the saved law
    case_final_loss: float | None = None  # the cases' median final epoch loss over runs
    case_loss_curves: pd.DataFrame | None = None  # cases.median_loss_curves
    probe_agreement: tuple[int, int] | None = None  # frontier.probe_agreement
    length_law: LengthLaw | None = None  # one law across length, and its checks

    @property
    def sequence_lengths(self) -> pd.Series:
        """How many of the law's sequences have each length (what the length term rests on)."""
        return self.law_data.drop_duplicates("sequence")["length"].value_counts().sort_index()

    @property
    def h1_ambiguity_correlation(self) -> float:
        """Pearson r of H(next | letter) and ln(1 + ambiguous transitions) over the law's
        sequences: how far the entropy term is separable from the count in the data."""
        seqs = self.law_data.drop_duplicates("sequence")
        return float(np.corrcoef(seqs["cond_entropy_1"],
                                 np.log1p(seqs["ambiguous_transitions"]))[0, 1])

    @property
    def censored_share(self) -> float:
        """The share of the law's runs not memorized within their budget."""
        return float(1 - self.law_data["event"].mean())

    @property
    def provenance(self) -> dict[str, list[str]]:
        """The distinct values of each provenance column over the law's rows."""
        return {col: sorted(set(map(str, self.law_data[col].dropna())))
                for col in ("kernel", "numerics_version", "git_commit", "git_dirty", "cpu")}


def _by_loss(v: Validation) -> list[dict]:
    return records(v.by_loss, ["loss", "median_factor", "brier", "brier_no_skill",
                                "brier_design"])


def _skill(v: Validation) -> dict[str, list[dict]]:
    """The three forecasts' scores, the difficulty terms' gain and the verdicts, per loss."""
    if v.skill is None:
        return {}
    s = v.skill
    return dict(scores=records(s.scores, list(s.scores.columns)),
                gain=records(s.gain, list(s.gain.columns)),
                verdicts=records(s.verdicts, list(s.verdicts.columns)))


def analyse(t: Tables) -> Analysis:
    data = law_data(t)
    law = fit_law(data)
    a = Analysis(law_data=data, law=law, elasticities=elasticities(law, data),
                 steptime=t.steptime)
    saved = rounded(law_document(law))  # the law as analysis.predict reads it from fit.json
    missing = []
    rivals = Rivals(no_difficulty=without_difficulty(law.fit, data),
                    cure=fit_cure(law.fit, data))
    if t.heldout is not None:
        a.validation = validate(a.law.fit, t.heldout, data, rivals)
        name, declared = best_declared_before_heldout(a.law, data)
        a.validation_declared = (name, validate(declared, t.heldout, data))
    else:
        missing.append("heldout")
    if t.predict_check is not None:
        a.predict_check = check_predict(saved, t.predict_check, data, rivals)
    else:
        missing.append("predict_check")
    if t.prereg_check is not None:
        earlier = {n: x for n in ("heldout", "predict_check")
                   if (x := getattr(t, n)) is not None}
        a.preregistered = preregistered(saved, t.prereg_check, data, rivals, earlier)
    else:
        missing.append("prereg_check")
    if t.width_lr is not None:
        a.width = width_lr(t.width_lr)
        a.width_runs = outcomes(split_errors(t.width_lr)[0])
        a.speed = cost_by_units(t.width_lr)
        a.time_to_memorize = time_to_memorize(a.width.best, a.speed)
    else:
        missing.append("width_lr")
    if t.width_lr_between is not None:
        if a.width is not None:
            a.between = between(t.width_lr_between, a.width.cells)
        a.between_check = check_predict(saved, t.width_lr_between, data)
    fronts = [x for x in (getattr(t, name) for name in FRONTIER_TABLES) if x is not None]
    if fronts:
        a.frontier = frontier(pd.concat(fronts, ignore_index=True))
        fresh = [x for x in (getattr(t, name) for name in FRESH_FRONTIER_TABLES)
                 if x is not None]
        if fresh:
            a.frontier_fresh = fresh_check(a.frontier, frontier(pd.concat(fresh,
                                                                          ignore_index=True)))
    else:
        missing.append("frontier")
    if t.frontier_probe is not None:
        a.probe = probe(t.frontier_probe, t.frontier_lr)
        a.probe_agreement = probe_agreement(a.probe)
    if t.cells is not None:
        a.cells = cells(t.cells, t.width_lr, t.depth_ambiguity)
    else:
        missing.append("cells")
    if t.depth_ambiguity is not None:
        a.design = depth_ambiguity(t.depth_ambiguity, t.study)
    else:
        missing.append("depth_ambiguity")
    if t.study is not None:
        a.options = options_by_depth(t.study)
    if t.long_budgets is not None:
        a.long_budgets = long_budgets(t.long_budgets)
    else:
        missing.append("long_budgets")
    a.capacity = analyse_capacity(
        t.capacity_lr, t.capacity, t.capacity_lstar, t.capacity_plateau, t.capacity_fresh,
        [x for n in DIVERGENCE_TABLES if (x := getattr(t, n)) is not None],
        more=t.capacity_more, lr_more=t.capacity_lr_more, far=t.capacity_far,
        lr_long=t.capacity_lr_long, beyond=t.capacity_beyond,
        online_lr=t.capacity_online_lr, offline_budget=t.capacity_offline_budget,
        offline_long=t.capacity_offline_long, offline_long_lr=t.capacity_offline_long_lr,
        lr_online64=t.capacity_lr_online64, online64=t.capacity_online64,
        offline_short=t.capacity_offline_short, past_peak=t.capacity_past_peak,
        offline_shorter=t.capacity_offline_shorter,
        offline_long_lr_up=t.capacity_offline_long_lr_up, far_online=t.capacity_far_online,
        second_past_peak=t.capacity_second_past_peak, peak_pairs=t.capacity_peak_pairs,
        peak_sequences=t.capacity_peak_sequences, peak_moved=t.capacity_peak_moved,
        peak_moved_beyond=t.capacity_peak_moved_beyond,
        failed_lr=t.capacity_failed_lr,
        online_lr_peak=join_runs(t.capacity_online_lr_peak, t.capacity_online_lr_peak_lstm,
                                 t.capacity_online_lr_between)[0])
    if t.capacity is None:
        missing.append("capacity")
    a.rtrl = analyse_rtrl(t.rtrl, t.rtrl_cases, t.steptime_rtrl, t.rtrl_fresh)
    a.usercells = analyse_usercells(t.usercells_lr, t.usercells, t.capacity, t.depth_ambiguity,
                                    t.cells, t.steptime_rtrl)
    if t.rtrl is None:
        missing.append("rtrl")
    if t.cases is not None:
        a.cases = case_summary(t.cases)
        a.case_runs = outcomes(split_errors(t.cases)[0])
        a.case_predictions = predictions(saved)
        a.case_final_loss = float(a.case_runs["final_loss"].median())
        a.case_loss_curves = median_loss_curves(a.case_runs)
        if t.cases_reference is not None:
            a.engines = compare(t.cases, t.cases_reference)
    else:
        missing.append("cases")
    a.law_cells = law_cells(data, law)
    a.length_law = analyse_length_law(t, rounded)
    if t.steptime is not None and "cell" in t.steptime.columns:
        a.bench_cost = benchmark_cost(t.steptime)
    if missing:
        a.notes.append("Not in results/, so not analysed: " + ", ".join(missing) + ".")
    return a


def probe(table: pd.DataFrame, same_lr: pd.DataFrame | None) -> pd.DataFrame:
    """Per (alphabet, units, length, lr): runs, share memorized, median final loss; and
    `identical`: of the runs that `same_lr` (frontier_lr) also made, how many have the
    same record (same run id, same outcome and steps), or None without it."""
    ok, _ = split_errors(table)
    runs = outcomes(ok).assign(alphabet_size=lambda d: d["alphabet"].str.len())
    rows = []
    other = None
    if same_lr is not None:
        other = same_lr.set_index("run_id")
    for key, g in runs.groupby(["alphabet_size", "units", "length", "lr"], sort=True):
        same = None
        if other is not None:
            shared = g[g["run_id"].isin(other.index)]
            o = other.loc[shared["run_id"]]
            same = (int(((shared["memorized"].to_numpy() == o["memorized"].to_numpy())
                         & (shared["steps"].to_numpy() == o["steps"].to_numpy())).sum()),
                    len(shared))
        rows.append(dict(alphabet_size=int(key[0]), units=int(key[1]), length=int(key[2]),
                         lr=float(key[3]), runs=len(g), share=float(g["event"].mean()),
                         final_loss=float(g["final_loss"].median()),
                         identical=None if same is None else same[0],
                         shared=None if same is None else same[1]))
    return pd.DataFrame(rows)


def long_budgets(table: pd.DataFrame, short: int = 1000) -> pd.DataFrame:
    """Slow or never? Per (units, lr, loss): the share memorized by `short` epochs and by
    the whole (longer) budget, from the same runs (a run's first `short` epochs are the
    run at that budget: the same seed, evaluations and arithmetic)."""
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    rows = []
    for (loss, units, lr), g in runs.groupby(["loss", "units", "lr"]):
        budget = float(g["max_epochs"].min())
        km = kaplan_meier(g["observed"], g["event"], budget)
        by_short = float((g["event"] & (g["observed"] <= short)).mean())
        late = int((g["event"] & (g["observed"] > short)).sum())
        rows.append(dict(loss=loss, units=int(units), lr=float(lr), runs=len(g),
                         sequences=int(g["sequence"].nunique()), budget=budget,
                         share_short=by_short, share_long=km.events / km.n,
                         late=late, censored_short=int((~(g["event"] & (g["observed"] <= short)))
                                                        .sum()),
                         median=km.median))
    return pd.DataFrame(rows)


def rounded(obj: Any, digits: int = SIGNIFICANT) -> Any:
    """Floats to `digits` significant digits, inf/nan as strings: fit.json is strict JSON,
    and the same results give the same bytes (solver noise is in the last digits)."""
    if isinstance(obj, float | np.floating):
        x = float(obj)
        if not math.isfinite(x):
            return str(x)
        return float(f"{x:.{digits}g}")
    if isinstance(obj, dict):
        return {str(k): rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v, digits) for v in obj]
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    return obj


def fit_document(a: Analysis) -> dict[str, Any]:
    """fit.json: the law (what `predict` needs), the headline measurements and the list of
    findings that the README's findings and the report's brief are rendered from
    (analysis.findings, analysis.findings_report)."""
    doc = law_document(a.law)
    doc["exponents"] = records(a.elasticities, ["loss", "covariate", "exponent", "lo", "hi"])
    if a.validation is not None:
        v = a.validation
        doc["validation"] = dict(cells=v.cells_compared, runs=v.runs, sequences=v.sequences,
                                 overlap=v.overlap, median_factor=v.median_factor,
                                 factor_p90=v.factor_p90, wrong_side=v.wrong_side,
                                 cells_total=len(v.cells), brier=v.brier,
                                 brier_no_skill=v.brier_no_skill, base_rate=v.base_rate,
                                 brier_floor=v.brier_floor, brier_design=v.brier_design,
                                 by_loss=_by_loss(v), skill=_skill(v))
    if a.width is not None:
        doc["width_lr_best"] = records(a.width.best, ["loss", "units", "lr", "edge", "share",
                                                       "share_lo", "share_hi", "median_steps"])
        doc["width_lr_doubling"] = records(a.width.steps, ["loss", "narrow", "wide",
                                                            "difference", "lo", "hi",
                                                            "p_exact", "verdict"])
    if a.design is not None:
        doc["depth_ambiguity_by_width"] = records(a.design.effects_by_width, [
            "units", "loss", "metric", "doubling", "doubling_lo", "doubling_hi"])
        doc["aliases"] = records(a.design.aliases, ["factor", "alias", "rho"])
        doc["depth_ambiguity"] = records(a.design.effects, ["loss", "metric", "doubling",
                                                             "doubling_lo", "doubling_hi"])
    if a.frontier is not None:
        doc["frontier"] = records(a.frontier.frontier, [
            "cell", "units", "alphabet_size", "lr", "budget_steps", "parameters", "L_star",
            "bound", "L_lo", "L_hi", "L_below", "bits_per_param", "bits_lo", "bits_hi",
            "bits_shown"])
        doc["frontier_budget"] = records(a.frontier.budget_effect, [
            "cell", "units", "alphabet_size", "lr", "budget_steps_from", "budget_steps_to",
            "L_from", "L_to", "L_ratio", "lo", "hi", "censored"])
        doc["frontier_lr"] = records(a.frontier.lr_effect, [
            "cell", "units", "alphabet_size", "budget_steps", "lr_from", "lr_to", "L_ratio",
            "lo", "hi", "censored"])
    if a.validation_declared is not None:
        name, v = a.validation_declared
        doc["validation_declared"] = dict(model=name, median_factor=v.median_factor,
                                          brier=v.brier, brier_no_skill=v.brier_no_skill)
    if a.predict_check is not None:
        v = a.predict_check
        doc["predict_check"] = dict(cells=v.cells_compared, cells_total=len(v.cells),
                                    runs=v.runs, sequences=v.sequences, overlap=v.overlap,
                                    median_factor=v.median_factor, factor_p90=v.factor_p90,
                                    brier=v.brier, brier_no_skill=v.brier_no_skill,
                                    brier_floor=v.brier_floor, brier_design=v.brier_design,
                                    by_loss=_by_loss(v), skill=_skill(v))
    if a.preregistered is not None:
        pr, v = a.preregistered, a.preregistered.check
        doc["prereg_check"] = dict(
            cells=v.cells_compared, cells_total=len(v.cells), runs=v.runs,
            sequences=v.sequences, overlap=v.overlap, median_factor=v.median_factor,
            brier=v.brier, brier_design=v.brier_design, by_loss=_by_loss(v), skill=_skill(v),
            refused=records(v.refused, ["units", "lr", "loss", "runs", "reason"]),
            by_length=records(pr.by_length, list(pr.by_length.columns)),
            cure_replaces=pr.cure_replaces)
        doc["preregistration"] = dict(
            freeze=pr.provenance.freeze, declarations_match=pr.provenance.declarations_match,
            fitting_rows_match=pr.provenance.fitting_rows_match,
            tables=records(pr.provenance.tables, list(pr.provenance.tables.columns)))
    if a.between is not None and a.between_check is not None:
        v = a.between_check
        doc["width_lr_between"] = dict(cells=len(a.between.cells), inside=a.between.inside,
                                       runs=v.runs, median_factor=v.median_factor,
                                       brier=v.brier, brier_no_skill=v.brier_no_skill)
    if a.frontier_fresh is not None:
        doc["frontier_fresh"] = records(a.frontier_fresh, [
            "cell", "units", "alphabet_size", "lr", "budget_steps", "first_L_star",
            "fresh_L_star", "ratio", "lo", "hi", "same_bracket"])
    if a.cells is not None:
        doc["cells_best_lr"] = records(a.cells.best, [
            "cell", "units", "parameters", "lstm_units", "loss", "lr", "share",
            "median_epochs"])
        doc["cells_difficulty"] = records(a.cells.effects, [
            "cell", "loss", "metric", "doubling", "doubling_lo", "doubling_hi"])
    if a.options is not None:
        doc["options"] = records(a.options, ["variant", "depth", "ratio", "lo", "hi"])
    if a.long_budgets is not None:
        doc["long_budgets"] = records(a.long_budgets, ["loss", "units", "lr", "runs",
                                                        "share_short", "share_long", "budget"])
    if a.cases is not None:
        doc["cases"] = records(a.cases, ["case", "memorized", "runs", "median", "verdict"])
    if a.capacity is not None:
        doc["capacity"] = capacity_document(a.capacity)
    if a.rtrl is not None:
        doc["rtrl"] = rtrl_document(a.rtrl)
    if a.usercells is not None:
        doc["usercells"] = usercells_document(a.usercells)
    if a.length_law is not None:
        doc["length_law"] = length_law_document(a.length_law)
    doc["findings"] = findings(a, doc)
    return rounded(doc)


