"""Capacity, measured (issue 17): bits stored as curves in length and exposures, online
against offline, each width at the learning rate chosen for it on other sequences.

The tables are the `capacity_lr` sweep (the lr choice) and the `capacity` sweep (the
curves). Every run trained its whole budget and recorded bits stored (seqmem.bits) every
`eval_every` exposures, so `bits_curve[e / eval_every]` is what it held after e passes.

Estimators, all over sequences (the seeds of a sequence are averaged first):
- a point's bits: the mean over its independent sequences, with a t interval (3 sequences
  per length: the interval rests on 3 clusters and says so);
- capacity: the largest point over lengths (Morris et al.'s plateau), with the length where
  it sits; `rising` marks a peak at the longest length tried (then it is a lower bound);
- online / offline: the ratio of the two capacities, with a percentile interval from
  resampling the sequences of every length (3 per length: indicative, not exact);
- the frontier L*: the longest length at which at least half the runs regenerated the
  sequence exactly at some evaluation, bracketed by the next length tried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import code_length
from analysis.capacity_budget import (
    budget_capacity,
    budget_ratios,
    equal_budget_reasons,
    lr_sensitivity,
    with_lr_neighbours,
)
from analysis.capacity_checks import (
    between_widths,
    end_gain,
    lr_check,
    lstar_between,
    lstar_bisection,
    rerun_agreement,
    split_by_lr,
    window_ratios,
)
from analysis.capacity_failed import failed_check, with_failed
from analysis.capacity_online_lr import (
    online_lr_check,
    with_online_lr,
)
from analysis.capacity_paired import paired_ratio_exact
from analysis.capacity_replicate import replication, with_unreplicated
from analysis.capacity_verdicts import verdicts
from analysis.divergence import (
    Divergence,
    analyse_divergence,
    protocol_runs,
    time_to_memorize,
)
from analysis.divergence_check import fresh_check
from analysis.load import group_rng, join_runs, numbers, parameters, records

EXPOSURES = (100, 300, 1000)
FAMILY = ["cell", "units", "alphabet_size", "update", "bptt"]
# Context, never evidence (SCIENCE.md): bits per parameter reported by Allen-Zhu & Li (2024,
# 100 and 1000 exposures), Morris et al. (2025, GPT-style) and Collins et al. (2017, RNNs).
LITERATURE = (("Allen-Zhu & Li, 100 exposures", 1.0), ("Allen-Zhu & Li, 1000 exposures", 2.0),
              ("Morris et al.", 3.6), ("Collins et al.", 5.0))
N_BOOT = 2000


def mode(update: str, bptt: object) -> str:
    """'offline', or 'online k=16' for a window of 16 steps."""
    return "offline" if update == "chunk" else f"online k={bptt}"


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    df = df[df["status"] != "error"].copy()
    df["alphabet_size"] = df["alphabet"].str.len()
    df["bptt"] = df["bptt"].astype(str)
    df["params"] = parameters(df).astype(int)
    df["mode"] = [mode(u, b) for u, b in zip(df["update"], df["bptt"], strict=True)]
    return df


def bits_at(df: pd.DataFrame, exposures: int) -> np.ndarray:
    """Bits stored after `exposures` passes (NaN where the budget or the curve ends sooner)."""
    out = np.full(len(df), np.nan)
    for i, (curve, every) in enumerate(zip(df["bits_curve"], numbers(df["eval_every"]),
                                           strict=True)):
        j = exposures / every
        if curve is not None and j == int(j) and int(j) < len(curve):
            out[i] = curve[int(j)]
    return out


# ------------------------------------------------------------------- the lr choice


def choose_lr(selection: pd.DataFrame, on: str = "unclipped") -> pd.DataFrame:
    """Per slice of capacity_lr: the median final measure over seeds at each lr, the lr with
    the most, and whether it lies at the edge of the slice's grid (then the best may lie
    beyond). Where a slice's selection tried several lengths (capacity_lr_long), it chooses
    at the longest: the capacity is read at long lengths, and there the best lr can be lower.
    It chooses on the measure the capacity is read on, the unclipped saving (exact, else the
    last-pass proxy), where every lr has it (`chosen_on`; `margin`: the chosen lr's median
    over the next best's); on the clipped bits stored where
    not, or where `on` is "clipped" (a study that reports the clipped bits). `lr_clipped`
    and `lr_unclipped`: what each measure alone would choose (NaN where it is missing), a
    check on the choice."""
    df = _prepare(selection)
    rows = []
    for sl, part in df.groupby("slice", sort=False):
        part = part[part["length"] == part["length"].max()]  # where the capacity is read
        by_lr = part.groupby("lr")["bits_stored"].median().sort_index()
        saved = (part.assign(saved=code_length.saved_end(part)[0]).groupby("lr")["saved"].median()
                 .sort_index() if "final_loss" in part else pd.Series(dtype=float))
        unclipped = on == "unclipped" and len(saved) == len(by_lr) and bool(saved.notna().all())
        on_measure = (saved if unclipped else by_lr).sort_values(ascending=False)
        best = float(on_measure.index[0])
        margin = (float(on_measure.iloc[0] / on_measure.iloc[1])
                  if len(on_measure) > 1 and on_measure.iloc[1] > 0 else math.nan)
        rows.append(dict(slice=sl, cell=part["cell"].iloc[0], units=int(part["units"].iloc[0]),
                         alphabet_size=int(part["alphabet_size"].iloc[0]),
                         mode=part["mode"].iloc[0], length=int(part["length"].iloc[0]),
                         exposures=int(part["max_epochs"].iloc[0]), lr=best,
                         at_edge=best in (by_lr.index.min(), by_lr.index.max()),
                         chosen_on="unclipped" if unclipped else "clipped", margin=margin,
                         bits=float(by_lr.max()),
                         bits_by_lr={f"{k:g}": round(float(v), 1) for k, v in by_lr.items()},
                         saved_by_lr=({f"{k:g}": round(float(v), 1) for k, v in saved.items()}
                                      if unclipped else {}),
                         lr_clipped=float(by_lr.idxmax()),
                         lr_unclipped=float(saved.idxmax()) if saved.notna().any() else math.nan))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------- the curves


def per_sequence(df: pd.DataFrame) -> pd.DataFrame:
    """One row per sequence: its seeds' mean bits at each exposure and at the end, the same
    for the unclipped saving (analysis.code_length: saved_end exact where recorded, else the
    proxy, exact_end the share of its runs on the exact measure), the share of its runs that
    regenerated it exactly, and their steps to the first success."""
    df = _prepare(df)
    for e in EXPOSURES:
        df[f"bits_{e}"] = bits_at(df, e)
        df[f"saved_{e}"] = code_length.saved_at(df, e)
    df["steps_first"] = numbers(df["steps_to_memorize"])
    df["saved_end"], df["exact_end"] = code_length.saved_end(df)
    df["proxy_end"] = code_length.saved_last_pass(df)
    df["bits_start"] = bits_at(df, 0)
    keys = ["slice", *FAMILY, "mode", "params", "length", "gen_seed", "max_epochs", "lr"]
    agg = {f"{m}_{e}": "mean" for e in EXPOSURES for m in ("bits", "saved")}
    agg.update(bits_end=("bits_stored", "mean"), saved_end=("saved_end", "mean"),
               exact_end=("exact_end", "mean"), proxy_end=("proxy_end", "mean"),
               bits_start=("bits_start", "mean"), memorized=("memorized", "mean"),
               runs=("memorized", "size"), steps_first=("steps_first", "median"))
    agg = {k: (k, v) if isinstance(v, str) else v for k, v in agg.items()}
    return df.groupby(keys, sort=True, dropna=False).agg(**agg).reset_index()


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


def points(seqs: pd.DataFrame) -> pd.DataFrame:
    """Per family, mode, length and exposure: mean bits over sequences with a t interval."""
    rows = []
    keys = ["slice", *FAMILY, "mode", "params", "length", "max_epochs"]
    for key, part in seqs.groupby(keys, sort=True, dropna=False):
        base = dict(zip(keys, key, strict=True))
        for e in EXPOSURES:
            x = part[f"bits_{e}"].to_numpy(dtype=float)
            m, lo, hi = _mean_ci(x)
            if not math.isnan(m):
                rows.append({**base, "exposures": e, "bits": m, "lo": lo, "hi": hi,
                             "sequences": int((~np.isnan(x)).sum()),
                             "memorized": float(part["memorized"].mean())})
    return pd.DataFrame(rows)


def capacity(pts: pd.DataFrame) -> pd.DataFrame:
    """Per family, mode and exposure: the plateau (the largest mean over lengths), where it
    sits, bits per parameter, and whether it is still rising at the longest length."""
    rows = []
    keys = ["slice", *FAMILY, "mode", "params", "exposures"]
    for key, part in pts.groupby(keys, sort=True, dropna=False):
        part = part.sort_values("length")
        i = int(np.argmax(part["bits"].to_numpy()))
        peak = part.iloc[i]
        beyond = len(part) - 1 - i
        rows.append({**dict(zip(keys, key, strict=True)), "capacity": float(peak["bits"]),
                     "lo": float(peak["lo"]), "hi": float(peak["hi"]),
                     "peak_length": int(peak["length"]), "lengths_beyond": beyond,
                     "rising": beyond == 0,
                     "bits_per_param": float(peak["bits"]) / float(peak["params"]),
                     "bpp_lo": float(peak["lo"]) / float(peak["params"]),
                     "bpp_hi": float(peak["hi"]) / float(peak["params"])})
    return pd.DataFrame(rows)


def _boot_capacity(seqs: pd.DataFrame, col: str, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the plateau: resample the sequences of every length."""
    by_len = [g[col].to_numpy(dtype=float) for _, g in seqs.groupby("length")]
    by_len = [x[~np.isnan(x)] for x in by_len]
    by_len = [x for x in by_len if len(x)]
    reps = np.empty((N_BOOT, len(by_len)))
    for j, x in enumerate(by_len):
        reps[:, j] = x[rng.integers(0, len(x), size=(N_BOOT, len(x)))].mean(axis=1)
    return reps.max(axis=1)


def online_vs_offline(seqs: pd.DataFrame, caps: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Online (window 16) capacity as a fraction of offline, per cell, width and alphabet, at
    each exposure, with a percentile interval over sequences."""
    rows = []
    base = ["cell", "units", "alphabet_size"]
    for key, part in caps.groupby(base, sort=True):
        for e in EXPOSURES:
            rng = group_rng(seed, (*key, e))
            on = part[(part["mode"] == "online k=16") & (part["exposures"] == e)]
            off = part[(part["mode"] == "offline") & (part["exposures"] == e)]
            if on.empty or off.empty:
                continue
            sel = (seqs[base] == pd.Series(key, index=base)).all(axis=1)
            s_on = seqs[sel & (seqs["mode"] == "online k=16")]
            s_off = seqs[sel & (seqs["mode"] == "offline")]
            ratio = _boot_capacity(s_on, f"bits_{e}", rng) / _boot_capacity(s_off, f"bits_{e}", rng)
            rows.append({**dict(zip(base, key, strict=True)), "exposures": e,
                         "params": int(on["params"].iloc[0]),
                         "online": float(on["capacity"].iloc[0]),
                         "offline": float(off["capacity"].iloc[0]),
                         "ratio": float(on["capacity"].iloc[0] / off["capacity"].iloc[0]),
                         "lo": float(np.percentile(ratio, 2.5)),
                         "hi": float(np.percentile(ratio, 97.5)),
                         "online_rising": bool(on["rising"].iloc[0]),
                         "offline_rising": bool(off["rising"].iloc[0])})
    return pd.DataFrame(rows)


def frontier(seqs: pd.DataFrame) -> pd.DataFrame:
    """Exact regeneration within the budget: per family and mode, the share memorized per
    length, and L* as the bracket [longest length with share >= 1/2, next length tried]."""
    rows = []
    keys = ["slice", *FAMILY, "mode", "params", "max_epochs"]
    for key, part in seqs.groupby(keys, sort=True, dropna=False):
        share = part.groupby("length").apply(
            lambda g: float((g["memorized"] * g["runs"]).sum() / g["runs"].sum()),
            include_groups=False).sort_index()
        ok = share[share >= 0.5]
        lengths = list(share.index)
        low = int(ok.index.max()) if len(ok) else None
        high = next((int(n) for n in lengths if low is None or n > low), None)
        rows.append({**dict(zip(keys, key, strict=True)), "lstar_low": low, "lstar_high": high,
                     "share": {int(k): round(float(v), 2) for k, v in share.items()}})
    return pd.DataFrame(rows)


@dataclass
class Capacity:
    lr_choice: pd.DataFrame
    sequences: pd.DataFrame = field(default_factory=pd.DataFrame)
    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)
    online_offline: pd.DataFrame = field(default_factory=pd.DataFrame)
    frontier: pd.DataFrame = field(default_factory=pd.DataFrame)
    time: pd.DataFrame = field(default_factory=pd.DataFrame)
    lstar: pd.DataFrame = field(default_factory=pd.DataFrame)
    verdicts: list[dict] = field(default_factory=list)
    end_gain: pd.DataFrame = field(default_factory=pd.DataFrame)  # each curve's last doubling
    between: pd.DataFrame = field(default_factory=pd.DataFrame)  # 24 units vs 16 and 32
    saved: pd.DataFrame = field(default_factory=pd.DataFrame)  # capacity, unclipped measure
    saved_points: pd.DataFrame = field(default_factory=pd.DataFrame)  # its curves
    saved_ratio: pd.DataFrame = field(default_factory=pd.DataFrame)  # online over offline
    saved_bias: pd.DataFrame = field(default_factory=pd.DataFrame)  # proxy / exact, per update
    joined: dict = field(default_factory=dict)  # per extending table: its rows, rows replaced
    windows: pd.DataFrame = field(default_factory=pd.DataFrame)  # windows 4/64 against 16
    saved_windows: pd.DataFrame = field(default_factory=pd.DataFrame)  # the same, unclipped
    offline_budget: pd.DataFrame = field(default_factory=pd.DataFrame)  # longer over 300, paired
    budget_curves: pd.DataFrame = field(default_factory=pd.DataFrame)  # the longer budgets' plateaus
    budget_lr: pd.DataFrame = field(default_factory=pd.DataFrame)  # at a lower and higher lr
    online_lr: pd.DataFrame = field(default_factory=pd.DataFrame)  # online's lr at its peak
    online_lr_specs: list[str] = field(default_factory=list)  # the specs that made it
    failed: pd.DataFrame = field(default_factory=pd.DataFrame)  # failed lengths, a third of lr
    replication: pd.DataFrame = field(default_factory=pd.DataFrame)  # new sequences at peaks
    lstar_between: dict | None = None
    divergence: Divergence | None = None  # T(L) towards L*, on the frontier's protocol


def analyse_capacity(selection: pd.DataFrame | None, table: pd.DataFrame | None,
                     lstar: pd.DataFrame | None = None, plateau: pd.DataFrame | None = None,
                     fresh: pd.DataFrame | None = None, protocol: list | None = None,
                     more: pd.DataFrame | None = None, lr_more: pd.DataFrame | None = None,
                     far: pd.DataFrame | None = None, lr_long: pd.DataFrame | None = None,
                     beyond: pd.DataFrame | None = None, online_lr: pd.DataFrame | None = None,
                     offline_budget: pd.DataFrame | None = None,
                     offline_long: pd.DataFrame | None = None,
                     offline_long_lr: pd.DataFrame | None = None,
                     lr_online64: pd.DataFrame | None = None,
                     online64: pd.DataFrame | None = None,
                     offline_short: pd.DataFrame | None = None,
                     past_peak: pd.DataFrame | None = None,
                     offline_shorter: pd.DataFrame | None = None,
                     offline_long_lr_up: pd.DataFrame | None = None,
                     far_online: pd.DataFrame | None = None,
                     second_past_peak: pd.DataFrame | None = None,
                     peak_pairs: pd.DataFrame | None = None,
                     peak_sequences: pd.DataFrame | None = None,
                     peak_moved: pd.DataFrame | None = None,
                     peak_moved_beyond: pd.DataFrame | None = None,
                     failed_lr: pd.DataFrame | None = None,
                     online_lr_peak: pd.DataFrame | None = None) -> Capacity | None:
    """Everything above from the tables (None where capacity_lr is missing). `plateau` and
    `more` continue `capacity`'s curves (same slices; a run id in both keeps `more`'s row,
    which records the exact saving), and `far` continues them again (its rows replace both,
    re-made on the compiled offline kernel where a run id repeats), and `beyond` after it
    (new curves and lengths), then `online_lr` (curves again at
    lrs chosen again); `lr_more` extends
    capacity_lr's grids before the lr is chosen, and a slice trained at several lrs is read
    at the chosen one (the unclipped capacity shows the others beside it); `lr_long` tries
    lrs again at the capacity's own lengths, where choose_lr then chooses; `fresh` holds
    the 24-unit check (its L* slice stops at memorization); `protocol`: the
    frontier-protocol tables for T(L); `offline_budget` and `offline_long`: offline runs at
    longer budgets than their curves' (analysis.capacity_budget: compared, not joined), and
    `offline_long_lr` and `offline_long_lr_up` those budgets at a lower and a higher lr (a
    sensitivity check), `offline_short` and `offline_shorter` those budgets at shorter
    lengths (joined to their curves); `lr_online64` selects the LSTM 64's online lr (a slice
    capacity_lr lacks, joined to it), `online64` is its curve, and `past_peak` takes every
    curve with fewer than two lengths beyond its peak one doubling further, `far_online`
    three online curves one doubling further again, and `second_past_peak` the five curves
    still with one length beyond their peak a second one, `peak_pairs` new sequences at
    online's peak trained both ways (so they pair by sequence), `peak_sequences` three
    more at the other curves' peaks, `peak_moved` the peaks those moved and
    `peak_moved_beyond` a second length past one (all eight joined as `beyond`;
    analysis.capacity_replicate compares their new sequences with the old);
    `online_lr_peak` trains online curves at a third and three times their lr at their peak
    (analysis.capacity_online_lr: compared by sequence, not joined); `failed_lr` trains each
    failed length at a third of its curve's lr (analysis.capacity_failed: compared, not
    joined)."""
    if selection is None:
        return None
    selection = join_runs(selection, lr_online64)[0]
    short = choose_lr(join_runs(selection, lr_more)[0])
    result = Capacity(lr_choice=choose_lr(join_runs(selection, lr_more, lr_long)[0]))
    fresh_lstar = fresh[fresh["stop"] != "budget"] if fresh is not None else None
    fresh_curves = fresh[fresh["stop"] == "budget"] if fresh is not None else None
    parts = [x for x in (lstar, fresh_lstar) if x is not None and len(x)]
    if parts:
        result.lstar = lstar_bisection(pd.concat(parts, ignore_index=True))
        result.lstar_between = lstar_between(result.lstar)
    result.divergence = analyse_divergence(protocol or [])
    if result.divergence is not None:
        result.divergence.fresh = fresh_check(protocol_runs(protocol))
    table = join_runs(table, plateau)[0]
    for name, extra in (("capacity_more", more), ("capacity_far", far),
                        ("capacity_beyond", beyond), ("capacity_online_lr", online_lr),
                        ("capacity_online64", online64), ("capacity_past_peak", past_peak),
                        ("capacity_far_online", far_online),
                        ("capacity_second_past_peak", second_past_peak),
                        ("capacity_peak_pairs", peak_pairs),
                        ("capacity_peak_sequences", peak_sequences),
                        ("capacity_peak_moved", peak_moved),
                        ("capacity_peak_moved_beyond", peak_moved_beyond)):
        if extra is None or extra.empty:  # a table with no rows joins nothing
            continue
        extra = extra[extra["status"] != "error"]  # an error row never replaces a stored run
        rerun = rerun_agreement(table, extra)  # rows it re-made under the same run id
        table, replaced = join_runs(table, extra)
        result.joined[name] = dict(rows=len(extra), replaced=replaced,
                                   **({"rerun": rerun} if rerun is not None else {}))
    if lr_more is not None:
        result.joined["capacity_lr_more"] = dict(rows=len(lr_more), replaced=0)
    if lr_online64 is not None:
        result.joined["capacity_lr_online64"] = dict(rows=len(lr_online64), replaced=0)
    result.lr_choice = lr_check(choose_lr(selection), result.lr_choice, lr_more, table, short)
    if table is None:
        return result
    table, other_lrs = split_by_lr(table, result.lr_choice)
    seqs = per_sequence(table)
    pts = points(seqs)
    caps = capacity(pts)
    ratio = online_vs_offline(seqs, caps)
    result.sequences, result.points, result.capacity = seqs, pts, caps
    new = [x for x in (peak_pairs, peak_sequences, peak_moved) if x is not None and len(x)]
    if new:
        result.replication = replication(seqs, pd.concat(new, ignore_index=True))
    result.online_offline, result.frontier = ratio, frontier(seqs)
    result.time = time_to_memorize(seqs)
    result.windows = window_ratios(pts)
    result.end_gain = end_gain(seqs, ["slice", *FAMILY, "mode", "params"], EXPOSURES)
    curve = ["slice", *FAMILY, "mode", "params", "max_epochs", "lr"]  # other lrs beside
    every = pd.concat([seqs, per_sequence(other_lrs)]) if len(other_lrs) else seqs
    reads = code_length.readings(every, curve, EXPOSURES)
    result.saved = code_length.with_lr(code_length.code_length_capacity(reads, curve),
                                       result.lr_choice)
    result.saved = with_unreplicated(result.saved, result.replication)
    result.saved_points = code_length.saved_points(reads, curve)
    result.saved_windows = code_length.window_ratios(reads)
    result.saved_ratio = code_length.online_offline(result.saved, reads)
    result.saved_ratio = result.saved_ratio.merge(
        paired_ratio_exact(result.saved, reads, result.saved_ratio),
        on=["cell", "units", "alphabet_size", "exposures", "offline_lr"], how="left")
    result.saved_bias = code_length.proxy_bias(_prepare(table))
    result.verdicts = verdicts(caps, ratio, result.saved, result.saved_ratio, result.lr_choice,
                               result.windows, result.saved_windows, seqs)
    if online_lr_peak is not None and len(online_lr_peak):
        check = online_lr_peak[online_lr_peak["status"] != "error"]
        result.online_lr = online_lr_check(seqs, per_sequence(check), result.saved)
        result.online_lr_specs = sorted(check["spec"].unique())
    if failed_lr is not None and len(failed_lr):
        check = failed_lr[failed_lr["status"] != "error"]
        result.failed = failed_check(seqs, per_sequence(check), result.saved)
    longer = [x[x["status"] != "error"]
              for x in (offline_budget, offline_long, offline_short, offline_shorter)
              if x is not None and len(x)]
    if longer:
        longer_runs = pd.concat(longer, ignore_index=True)
        longer_seqs = per_sequence(longer_runs)
        result.offline_budget = budget_ratios(seqs, longer_seqs)
        result.budget_curves = budget_capacity(longer_seqs, result.saved, reads,
                                               result.offline_budget, _prepare(longer_runs))
        other_lr = [x[x["status"] != "error"] for x in (offline_long_lr, offline_long_lr_up)
                    if x is not None and len(x)]
        if other_lr:
            result.budget_lr = lr_sensitivity(
                longer_seqs, per_sequence(pd.concat(other_lr, ignore_index=True)),
                result.budget_curves)
            result.budget_curves = with_lr_neighbours(result.budget_curves, result.budget_lr)
        result.verdicts = equal_budget_reasons(result.verdicts, result.budget_curves,
                                               result.online_lr)
    result.verdicts = with_failed(with_online_lr(result.verdicts, result.online_lr),
                                  result.failed)
    if fresh_curves is not None and len(fresh_curves):
        result.between = between_widths(seqs, per_sequence(fresh_curves))
    return result


def capacity_document(cap: Capacity) -> dict:
    """fit.json's capacity entry: the measured numbers the README's findings render from."""
    return dict(
        lr_choice=records(cap.lr_choice, ["slice", "mode", "lr", "at_edge", "chosen_on",
                                          "lr_clipped", "lr_unclipped", "bits", "extended",
                                          "added_lr", "lr_before", "edge_before", "trained_lr",
                                          "trained_at_choice"]),
        capacity=records(cap.capacity, ["cell", "units", "alphabet_size", "mode", "params",
                                      "exposures", "capacity", "lo", "hi", "peak_length",
                                      "rising", "bits_per_param", "bpp_lo", "bpp_hi"]),
        online_offline=records(cap.online_offline, ["cell", "units", "alphabet_size", "exposures",
                                                  "ratio", "lo", "hi", "online_rising",
                                                  "offline_rising"]),
        frontier=records(cap.frontier, ["cell", "units", "alphabet_size", "mode", "lstar_low",
                                      "lstar_high"]),
        time=records(cap.time, ["cell", "units", "alphabet_size", "chosen", "power_exponent",
                              "divergence_lc", "divergence_g", "aic_power", "aic_divergence"]),
        lstar=records(cap.lstar, ["cell", "units", "alphabet_size", "lr", "budget_steps", "params",
                                "L_star", "lo", "hi", "bound", "below", "above", "resolution",
                                "exposures_at_lstar", "bits_per_param"]),
        verdicts=cap.verdicts,
        end_gain=records(cap.end_gain, list(cap.end_gain.columns)),
        saved=records(cap.saved, list(cap.saved.columns)),
        saved_ratio=records(cap.saved_ratio, list(cap.saved_ratio.columns)),
        saved_bias=records(cap.saved_bias, list(cap.saved_bias.columns)),
        saved_windows=records(cap.saved_windows, list(cap.saved_windows.columns)),
        offline_budget=records(cap.offline_budget, list(cap.offline_budget.columns)),
        budget_curves=records(cap.budget_curves, list(cap.budget_curves.columns)),
        budget_lr=records(cap.budget_lr, list(cap.budget_lr.columns)),
        online_lr=records(cap.online_lr, list(cap.online_lr.columns)),
        online_lr_specs=cap.online_lr_specs,
        failed=records(cap.failed, list(cap.failed.columns)),
        replication=records(cap.replication, list(cap.replication.columns)),
        joined=cap.joined,
        between=records(cap.between, list(cap.between.columns)),
        lstar_between=cap.lstar_between,
        divergence=(records(cap.divergence.fits, [c for c in cap.divergence.fits.columns
                                                  if not c.endswith("_params")])
                    if cap.divergence is not None and len(cap.divergence.fits) else []))
