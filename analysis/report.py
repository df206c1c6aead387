"""REPORT.md, formatted from the Analysis: this module computes nothing. It holds the
header, the figure list and the method, and puts them beside the brief (fit.json's findings,
analysis.findings_report) and the sections (report_questions, report_frontier,
report_checks and each study's *_report).

Every number comes from an object the analysis built; every threshold from the named
constant of the module that applies it. A sentence that says *why* names the controlled
comparison it rests on; a mechanism no comparison here tests is labelled a hypothesis.
"""

from __future__ import annotations

from pathlib import Path

from analysis.capacity_report import capacity_section
from analysis.findings_report import render
from analysis.fmt import (
    pct,
)
from analysis.lawfit import FIT_TABLES, LAW_OPTIONS
from analysis.lengthlaw_report import length_law_section
from analysis.pipeline import Analysis
from analysis.report_checks import (
    between_section,
    frontier_fresh_section,
    predict_check_section,
    preregistered_section,
    validation_section,
)
from analysis.report_frontier import question2, question3
from analysis.report_questions import cases_section, cells_section, question1, question4
from analysis.rtrl_report import rtrl_section
from analysis.usercells_report import usercells_section

CAPTIONS = {
    "width_lr": "Share memorized vs learning rate, one line per width, per loss; stars: "
                "the muP-style rule lr = c x 32 / units.",
    "best_lr": "Each width at its best grid learning rate: share memorized (sequence-level "
               "95% CI) and median steps; dashed: the notebook's lr 1e-3.",
    "survival_by_units": "Kaplan-Meier curves of steps to memorize, every width at its best lr.",
    "frontier": "The capacity frontier L* (bits) vs parameters, per cell, lr and budget, two "
                "alphabets, with the literature's 5 bits per parameter as a reference line.",
    "calibration": "The law on held-out sequences: calibration of P(memorized) and predicted "
                   "vs measured medians.",
    "residuals": "The law's residuals on its fitting cells, by units and by depth.",
    "depth_forks": "Share memorized over context depth x ambiguity (the forks design).",
    "correlation": "Correlation of the difficulty metrics in the v1 design and in the forks "
                   "design.",
    "options": "The notebook's choices changed one at a time: time ratios per depth.",
    "time_vs_units": "Measured cost per step and wall-clock time to memorize vs units.",
    "cases": "The notebook's seven cases: every seed's epochs, the median, and the claim.",
    "case_loss_curves": "Training loss of the seven cases over seeds.",
    "capacity_curves": "Bits stored against length per network, online beside offline, at the "
                       "final exposure; the plateau is the capacity.",
    "capacity_exposures": "Capacity per parameter on the unclipped saving at 100, 300 and 1000 "
                          "exposures, online and offline, each at its chosen lr, and offline "
                          "at longer budgets (1000, 3000) where trained, with the published "
                          "figures as context lines.",
    "usercells_bits": "Bits stored after 300 exposures against length: minGRU and minLSTM "
                      "beside the LSTM, GRU and RNN at about 1,400 parameters.",
    "rtrl_frontier": "Share memorized against length under RTRL and windows of 16 and 4 "
                     "steps, per cell and width.",
    "rtrl_bits": "Bits stored at the end of each run relative to the 16-step window's on the "
                 "same sequences, RTRL and the 4-step window, per cell and width.",
    "capacity_saved": "Capacity per parameter on the unclipped code-length saving against "
                      "length, beside the clipped bits stored and what the clipped measure "
                      "credits an untrained network with.",
    "capacity_divergence": "Steps to the first exact regeneration against length on every "
                           "frontier-protocol run (LSTM, 26 letters): Kaplan-Meier medians, the "
                           "fitted power law and divergence, and Lc.",
    "length_law": "One law across length (frontier protocol): steps to memorize against "
                  "length per width, measured and the law's, and the law's medians on the "
                  "check tables against the measured ones.",
    "capacity_time": "Online steps to the first exact regeneration against length, with the "
                     "fitted form chosen by AIC.",
}


def write_report(a: Analysis, doc: dict, figures: dict[str, Path], out: Path,
                 sources: dict[str, str]) -> Path:
    """doc: fit.json as saved (the brief is its findings, rendered)."""
    parts = [_header(a, sources), "## The answers in brief\n\n" + render(doc["findings"], "brief"),
             question1(a), question2(a), capacity_section(a.capacity),
             rtrl_section(a.rtrl), usercells_section(a.usercells), question3(a), validation_section(a),
             predict_check_section(a), preregistered_section(a), length_law_section(a.length_law),
             between_section(a),
             frontier_fresh_section(a),
             question4(a), cells_section(a), cases_section(a), _figures(figures, out), _method(a)]
    path = out / "REPORT.md"
    path.write_text("\n\n".join(p for p in parts if p) + "\n")
    return path


def _header(a: Analysis, sources: dict[str, str]) -> str:
    d = a.law_data
    lines = [
        "# What makes a string hard for an online LSTM to memorize",
        "*Generated by `python -m analysis` from the tables in `results/`; every number is "
        "computed from them. Do not edit by hand.*",
        "## Data",
        "| table | file |", "|---|---|",
        *[f"| {k} | `{v}` |" for k, v in sources.items()],
        "",
        f"- The law is fitted on {len(d):,} runs of {a.law.n_sequences} sequences "
        f"({', '.join(FIT_TABLES)}; training: "
        + ", ".join(f"{k} {v}" for k, v in LAW_OPTIONS.items())
        + f"). {pct(a.censored_share)} of them were not memorized within their budget: "
        "they enter every estimate as right-censored runs.",
    ]
    prov = [f"{col} {', '.join(v[:10] if col == 'git_commit' else v for v in vals)}"
            for col, vals in a.provenance.items()]
    lines.append("- Provenance of the fitted rows: " + "; ".join(prov) + ".")
    lines += [f"- {n}" for n in a.notes]
    return "\n".join(lines)


def _figures(figures: dict[str, Path], out: Path) -> str:
    lines = ["## Figures"]
    for name, path in figures.items():
        rel = Path(path).relative_to(out) if Path(path).is_relative_to(out) else path
        lines.append(f"- **{name}**: {CAPTIONS.get(name, '')}\n\n  ![{name}]({rel})")
    return "\n".join(lines)


def _method(a: Analysis) -> str:
    return "\n".join([
        "## Method",
        "- Outcome: steps (epochs x length) to the first successful evaluation; a run first "
        "seen memorized at evaluation epoch e has T in ((e - eval_every) x length, e x length]; "
        "a run never memorized is right-censored at its budget.",
        "- Kaplan-Meier medians with log-log 95% bands (`analysis/survival.py`); medians beyond "
        "the budget are reported as not reached, never replaced by the median of the "
        "memorized runs.",
        "- The law: maximum likelihood of the interval-censored log-normal AFT "
        "(`analysis/law.py`), the model chosen by cluster-robust TIC among the declared candidates "
        "(`analysis/lawfit.py`); the CIs are conditional on that choice. Cluster-robust "
        "(sandwich) covariance with sequences as clusters is the headline; the model-based "
        "Wald covariance stands beside it.",
        "- Width x lr: best lr per width by memorized share, then median; CIs by resampling "
        "sequences (`analysis/widthlr.py`).",
        "- Frontier: isotonic share vs length, crossing 1/2 interpolated in log2(length); CIs "
        "by resampling sequences, then seeds, within lengths (`analysis/frontier.py`).",
        "- Held-out validation: `analysis/validate.py`; the held-out table is never fitted.",
    ])
