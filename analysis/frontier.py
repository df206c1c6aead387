"""The capacity frontier: L*(units), the longest random sequence that half the runs memorize.

Runs of the frontier spec: i.i.d. uniform sequences of doubling lengths over two
alphabet sizes, each width trained with a fixed budget in optimizer steps, and again
at four times that budget. For each (units, alphabet, budget) the memorized share
falls with length; L* is where it crosses 1/2: the share is made non-increasing in
length (isotonic regression, weighted by runs) and interpolated linearly in log2(length)
between the last tested length at or above 1/2 and the next. When even the shortest
length is below 1/2, L* is only known to be shorter ("<"); when the longest is still
memorized by half, longer (">").

Its CI resamples, within each length, the sequences and then the seeds of each. As bits
per parameter, L* x log2(alphabet) / parameters: an upper bound on what was stored,
since a random sequence of L letters holds at most L log2(A) bits.

If L* does not move when the budget is four times larger, the frontier is set by what
the network can hold; if it moves, by training time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from analysis.load import group_rng, outcomes, split_errors
from seqmem.model import parameter_count

N_BOOT = 400
SEED = 0
HALF = 0.5
LITERATURE_BITS = 5.0  # Collins, Sohl-Dickstein & Sussillo 2017, tuned offline training


def crossing(lengths: np.ndarray, memorized: np.ndarray, runs: np.ndarray) -> tuple[float, str]:
    """(L*, bound): bound is "" when L* is between tested lengths, "<" or ">" when beyond.

    >>> crossing(np.array([16, 32, 64]), np.array([8, 6, 1]), np.array([8, 8, 8]))
    (42.22425314473263, '')
    """
    order = np.argsort(lengths)
    x, k, n = np.log2(lengths[order]), memorized[order], runs[order]
    share = isotonic_regression(k / n, weights=n, increasing=False).x
    above = np.flatnonzero(share >= HALF)
    if len(above) == 0:
        return float(2 ** x[0]), "<"
    i = above[-1]
    if i == len(x) - 1:
        return float(2 ** x[-1]), ">"
    s0, s1 = share[i], share[i + 1]
    frac = 1.0 if s0 == s1 else (s0 - HALF) / (s0 - s1)
    return float(2 ** (x[i] + frac * (x[i + 1] - x[i]))), ""


KEYS = ["cell", "units", "alphabet_size", "lr", "budget"]


def bracket(lengths: np.ndarray, memorized: np.ndarray, runs: np.ndarray
            ) -> tuple[float, float]:
    """(longest tested length with an isotonic share >= 1/2, shortest one below; nan
    where none): what the doubling grid itself says about L*, whatever the bootstrap.

    >>> bracket(np.array([16, 32, 64]), np.array([8, 6, 1]), np.array([8, 8, 8]))
    (32.0, 64.0)
    """
    order = np.argsort(lengths)
    x, k, n = lengths[order].astype(float), memorized[order], runs[order]
    share = isotonic_regression(k / n, weights=n, increasing=False).x
    above = x[share >= HALF]
    below = x[share < HALF]
    return (float(above.max()) if len(above) else math.nan,
            float(below.min()) if len(below) else math.nan)


@dataclass
class Frontier:
    shares: pd.DataFrame  # KEYS, length: runs, memorized
    frontier: pd.DataFrame  # KEYS: L*, CI, bits per parameter
    budget_effect: pd.DataFrame  # cell, units, alphabet, lr: L*(4x) / L*(1x), CI, verdict
    lr_effect: pd.DataFrame  # cell, units, alphabet, budget: L*(lower lr) / L*(higher), CI, verdict
    cells: pd.DataFrame  # a GRU or RNN beside the LSTM of its parameters: bits ratio with CI
    draws: dict  # KEYS -> bootstrap draws of L*, for ratios with another frontier
    settings: pd.DataFrame | None = None  # lr, budget_steps: the fewest sequences per length
    best: pd.DataFrame | None = None  # per alphabet, cell and units: the row of the longest L*
    most_shown: pd.Series | None = None  # the row with the most bits shown regenerated
    stalls: pd.DataFrame | None = None  # the widest LSTMs that hold no longer a sequence
    cell_verdicts: dict | None = None  # cells' verdict -> how many pairs


def frontier(table: pd.DataFrame, boot: int = N_BOOT, seed: int = SEED) -> Frontier:
    """L* per (cell, units, alphabet, lr, budget) of `table` (one or more frontier specs
    concatenated), the effect of a 4x budget and of a lower lr on it. Each effect compares
    the two settings on the sequences both were run on (a setting may have more)."""
    ok, _ = split_errors(table)
    runs = outcomes(ok)
    runs = runs.assign(alphabet_size=runs["alphabet"].str.len(),
                       budget=runs["budget_steps"].to_numpy(dtype=float, na_value=np.nan))
    shares = (runs.groupby([*KEYS, "length"])["event"].agg(memorized="sum", runs="count")
              .reset_index())
    front, draws = _estimates(runs, boot, seed)
    whole = (front, draws, runs.groupby(KEYS).size())
    by_budget = _estimates(_shared(runs, "budget"), boot, seed, whole)
    by_lr = _estimates(_shared(runs, "lr"), boot, seed, whole)
    budget_effect = _ratios(*by_budget, "budget_steps", ["lr"])
    lr_effect = _ratios(*by_lr, "lr", ["budget_steps"])
    cells = _cells(front, draws)
    return Frontier(shares=shares, frontier=front, budget_effect=budget_effect,
                    lr_effect=lr_effect, cells=cells, draws=draws,
                    settings=_settings(front), best=_longest(front),
                    most_shown=front.loc[front["bits_shown"].idxmax()] if len(front) else None,
                    stalls=_stalls(front, lr_effect, budget_effect),
                    cell_verdicts={v: int((cells["verdict"] == v).sum())
                                   for v in ("more", "same", "fewer")} if len(cells) else {})


def classify(lo: float, hi: float) -> str:
    """'longer' / 'shorter' when a ratio's 95% interval excludes 1, else 'unresolved'."""
    if lo > 1.0:
        return "longer"
    if hi < 1.0:
        return "shorter"
    return "unresolved"


def _settings(front: pd.DataFrame) -> pd.DataFrame:
    """Each (lr, budget) in the order the frontier first lists it, with the fewest sequences
    any of its lengths had."""
    return (front.groupby(["lr", "budget_steps"], sort=False)["sequences"].min()
            .reset_index())


def _longest(front: pd.DataFrame) -> pd.DataFrame:
    """Per (alphabet, cell, units): the setting's row with the longest L* (the first of equals)."""
    longest = [g["L_star"].idxmax()
               for _, g in front.groupby(["alphabet_size", "cell", "units"], sort=True)]
    return front.loc[longest].reset_index(drop=True)


def _stalls(front: pd.DataFrame, lr_effect: pd.DataFrame, budget_effect: pd.DataFrame
            ) -> pd.DataFrame:
    """Per alphabet, where the two widest LSTMs at lr_effect's lower lr share a bracket: the
    wider holds no longer a sequence with more parameters; with what more steps did to it
    (budget_factor x the steps, L* x L_ratio [lo, hi]; nan where not run)."""
    if lr_effect.empty:
        return pd.DataFrame()
    at = front[(front["cell"] == "lstm") & (front["lr"] == lr_effect["lr_to"].iloc[0])
               & (front["budget_steps"] == lr_effect["budget_steps"].iloc[0])]
    rows = []
    for a_size, g in at.groupby("alphabet_size", sort=True):
        g = g.sort_values("units")
        if len(g) < 2:
            continue
        narrow, wide = g.iloc[-2], g.iloc[-1]
        if (narrow["L_below"], narrow["L_above"]) != (wide["L_below"], wide["L_above"]):
            continue
        more = budget_effect[(budget_effect["cell"] == "lstm")
                             & (budget_effect["units"] == wide["units"])
                             & (budget_effect["alphabet_size"] == a_size)
                             & (budget_effect["lr"] == wide["lr"])]
        m = more.iloc[0] if len(more) else None
        rows.append(dict(alphabet_size=a_size, lr=wide["lr"], narrow_units=narrow["units"],
                         wide_units=wide["units"], L_below=narrow["L_below"],
                         L_above=narrow["L_above"],
                         parameter_ratio=wide["parameters"] / narrow["parameters"],
                         budget_factor=math.nan if m is None
                         else m["budget_steps_to"] // m["budget_steps_from"],
                         L_ratio=math.nan if m is None else m["L_ratio"],
                         lo=math.nan if m is None else m["lo"],
                         hi=math.nan if m is None else m["hi"]))
    return pd.DataFrame(rows)


def probe_agreement(probe: pd.DataFrame | None) -> tuple[int, int] | None:
    """Of the probe's runs that frontier_lr also made (pipeline.probe's `shared`), how many
    have the same record; None when none were checked."""
    if probe is None or probe.empty:
        return None
    checked = probe.dropna(subset=["shared"])
    if not len(checked) or checked["shared"].sum() <= 0:
        return None
    return int(checked["identical"].sum()), int(checked["shared"].sum())


def _shared(runs: pd.DataFrame, vary: str) -> pd.DataFrame:
    """The runs on the sequences (generator seeds) that every value of `vary` was run on,
    within each combination of the other KEYS; the lengths each setting tested stay."""
    fixed = [k for k in KEYS if k != vary]
    keep = pd.Series(False, index=runs.index)
    for _, g in runs.groupby(fixed, sort=False):
        common = set.intersection(*(set(h["gen_seed"]) for _, h in g.groupby(vary)))
        keep[g.index] = g["gen_seed"].isin(common)
    return runs[keep]


def _estimates(runs: pd.DataFrame, boot: int, seed: int, whole: tuple | None = None
               ) -> tuple[pd.DataFrame, dict]:
    """One row per KEYS group: L*, its bracket and bootstrap CI; and the bootstrap draws.
    whole: (rows, draws, group sizes) of all the runs, reused for a group left whole."""
    shares = (runs.groupby([*KEYS, "length"])["event"].agg(memorized="sum", runs="count")
              .reset_index().set_index(KEYS))
    rows, draws = [], {}
    for key, g in runs.groupby(KEYS, sort=True):
        if whole is not None and whole[2].get(key) == len(g):
            front, whole_draws, _ = whole
            rows.append(front.iloc[list(whole_draws).index(key)].to_dict())
            draws[key] = whole_draws[key]
            continue
        s = shares.loc[key]
        args = (s["length"].to_numpy(), s["memorized"].to_numpy(), s["runs"].to_numpy())
        est, bound = crossing(*args)
        below, above = bracket(*args)
        # one stream per group, so that a group's CI does not depend on the other tables
        rng = group_rng(seed, key)
        draws[key] = boot_l = _bootstrap(g, boot, rng)
        cell, units, a, lr, budget = key
        params = parameter_count(cell, int(units), int(a))
        lo, hi = np.quantile(boot_l, [0.025, 0.975])
        bits = math.log2(a) / params
        rows.append(dict(cell=cell, units=int(units), alphabet_size=int(a), lr=float(lr),
                         budget_steps=int(budget),
                         parameters=params, L_star=est, bound=bound, L_below=below,
                         L_above=above, L_lo=float(lo),
                         L_hi=float(hi), bits_per_param=est * bits, bits_lo=float(lo) * bits,
                         bits_hi=float(hi) * bits, bits_shown=float(below) * bits, runs=len(g),
                         sequences=int(g.groupby("length")["sequence"].nunique().min())))
    return pd.DataFrame(rows), draws


def fresh_check(original: Frontier, fresh: Frontier) -> pd.DataFrame:
    """Each row of `fresh` (the frontier re-measured on new sequences) beside the row of
    `original` at the same cell, units, alphabet, lr and budget: both L* with their bounds,
    brackets and CIs (columns first_* and fresh_*), and L*(fresh) / L*(original) with a
    CI from the two bootstraps."""
    by = ["cell", "units", "alphabet_size", "lr", "budget_steps"]
    shown = ["L_star", "bound", "L_below", "L_above", "L_lo", "L_hi"]
    old = original.frontier.set_index(by)
    rows = []
    for r in fresh.frontier.itertuples():
        key = tuple(getattr(r, k) for k in by)
        if key not in old.index:
            continue
        o = old.loc[key]
        ratio = fresh.draws[key] / original.draws[key]
        rows.append(dict(zip(by, key, strict=True),
                         **{f"first_{c}": o[c] for c in shown},
                         **{f"fresh_{c}": getattr(r, c) for c in shown},
                         ratio=r.L_star / o["L_star"], lo=float(np.quantile(ratio, 0.025)),
                         hi=float(np.quantile(ratio, 0.975)),
                         censored=bool(r.bound or o["bound"]),
                         same_bracket=_overlap((r.L_below, r.L_above),
                                               (o["L_below"], o["L_above"]))))
    out = pd.DataFrame(rows)
    if len(out):  # the same bracket, or a ratio CI that holds x1
        out["agrees"] = out["same_bracket"] | ((out["lo"] <= 1) & (out["hi"] >= 1))
    return out


def _cells(front: pd.DataFrame, draws: dict) -> pd.DataFrame:
    """Each GRU or RNN row beside the LSTM row with the nearest parameter count (within
    10%) at the same alphabet, lr and budget: bits per parameter of both and their ratio,
    with a CI from the two bootstraps."""
    lstm = front[front["cell"] == "lstm"]
    rows = []
    for r in front[front["cell"] != "lstm"].itertuples():
        same = lstm[(lstm["alphabet_size"] == r.alphabet_size) & (lstm["lr"] == r.lr)
                    & (lstm["budget_steps"] == r.budget_steps)]
        if same.empty:
            continue
        m = same.loc[(same["parameters"] - r.parameters).abs().idxmin()]
        if abs(m["parameters"] - r.parameters) > 0.1 * m["parameters"]:
            continue
        scale = m["parameters"] / r.parameters
        ratio = draws[_key(pd.Series(r._asdict()))] / draws[_key(m)] * scale
        rows.append(dict(cell=r.cell, units=r.units, parameters=r.parameters,
                         lstm_units=int(m["units"]), lstm_parameters=int(m["parameters"]),
                         alphabet_size=r.alphabet_size, lr=r.lr, budget_steps=r.budget_steps,
                         bits_per_param=r.bits_per_param, lstm_bits_per_param=m["bits_per_param"],
                         ratio=r.bits_per_param / m["bits_per_param"],
                         lo=float(np.quantile(ratio, 0.025)), hi=float(np.quantile(ratio, 0.975)),
                         censored=bool(r.bound or m["bound"]),
                         same_bracket=bool(_overlap((r.L_below, r.L_above),
                                                    (m["L_below"], m["L_above"])))))
    out = pd.DataFrame(rows)
    if len(out):
        out["verdict"] = [_verdict(r) for r in out.itertuples()]
    return out


def _verdict(r) -> str:
    """'more', 'fewer' or 'same' bits per parameter than the LSTM: by the ratio's CI, except
    that a CI of one point inside a shared bracket is the grid's, not a measurement (the
    ratio is then only the parameter counts')."""
    if r.same_bracket and r.lo == r.hi:
        return "same"
    return "more" if r.lo > 1 else "fewer" if r.hi < 1 else "same"


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Do two brackets of tested lengths (nan: open on that side) share a stretch?"""
    lo = max(-math.inf if math.isnan(a[0]) else a[0], -math.inf if math.isnan(b[0]) else b[0])
    hi = min(math.inf if math.isnan(a[1]) else a[1], math.inf if math.isnan(b[1]) else b[1])
    return lo < hi


def _ratios(front: pd.DataFrame, draws: dict, vary: str, fixed: list[str]) -> pd.DataFrame:
    """L* at the largest over L* at the smallest value of `vary` (budget: more steps; lr:
    a lower lr over a higher one, so ratio > 1 says the lower lr reaches further), per
    cell, units, alphabet and `fixed`, with a CI from the two bootstraps."""
    rows = []
    by = ["cell", "units", "alphabet_size", *fixed]
    for key, g in front.groupby(by, sort=True):
        if g[vary].nunique() < 2:
            continue
        g = g.sort_values(vary)
        first, last = g.iloc[0], g.iloc[-1]
        num, den = (last, first) if vary == "budget_steps" else (first, last)
        ratio = draws[_key(num)] / draws[_key(den)]
        lo, hi = float(np.quantile(ratio, 0.025)), float(np.quantile(ratio, 0.975))
        rows.append(dict(zip(by, key, strict=True), **{
            f"{vary}_from": den[vary], f"{vary}_to": num[vary]},
            L_from=den["L_star"], L_to=num["L_star"], L_ratio=num["L_star"] / den["L_star"],
            lo=lo, hi=hi, censored=bool(num["bound"] or den["bound"]), verdict=classify(lo, hi)))
    return pd.DataFrame(rows)


def _key(row: pd.Series) -> tuple:
    return (row["cell"], row["units"], row["alphabet_size"], row["lr"], row["budget_steps"])


def _bootstrap(g: pd.DataFrame, boot: int, rng: np.random.Generator) -> np.ndarray:
    """L* of `boot` resamples: per length, sequences with replacement, then their seeds."""
    lengths, mem, n = [], [], []
    event = g["event"].to_numpy(dtype=float)
    length_of = g["length"].to_numpy()
    seq_code = pd.factorize(g["sequence"], sort=True)[0]
    for length in np.unique(length_of):
        here = length_of == length
        codes, ev = seq_code[here], event[here]
        seqs = [ev[codes == c] for c in np.unique(codes)]  # sequences in sorted order
        sizes = np.array([len(x) for x in seqs])
        events = np.zeros((len(seqs), sizes.max()))  # padded: seeds per sequence may differ
        for i, x in enumerate(seqs):
            events[i, :len(x)] = x
        pick = rng.integers(0, len(seqs), (boot, len(seqs)))
        size = sizes[pick][..., None]
        seed = (rng.random((boot, len(seqs), sizes.max())) * size).astype(int)
        used = np.arange(sizes.max()) < size
        mem.append((events[pick[..., None], seed] * used).sum(axis=(1, 2)))
        n.append(used.sum(axis=(1, 2)))
        lengths.append(length)
    lengths = np.array(lengths, dtype=float)
    mem, n = np.array(mem).T, np.array(n, dtype=float).T
    return np.array([crossing(lengths, m, k)[0] for m, k in zip(mem, n, strict=True)])
