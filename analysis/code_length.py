"""Capacity on an unclipped measure (issue 17): the code-length saving.

Bits stored (seqmem.bits) sums max(0, log2 A - cross-entropy) over positions, as the issue
defined it. The clip makes it biased upwards, more so the longer the sequence: a position
predicted worse than uniform counts zero instead of against, so a network that knows
nothing of its sequence is credited with its lucky positions (an untrained LSTM "stores"
about 0.06 bits per letter of a uniform 26-letter sequence: 525 bits at 8192 letters),
and the clipped curves keep rising where the network has stopped learning. The literature's
anchors count the unclipped saving (Morris et al.: H(X) - H(X | model); Collins et al.:
mutual information).

Two measures of that saving, each run on the best it has:
- exact: `bits_saved` (and `saved_curve` at every evaluation), the teacher-forced saving of
  the weights frozen at the evaluation, which every engine records since it existed;
- proxy: n (log2 A - the last training pass's mean loss in bits), for rows stored before:
  the in-sample code length of a pass during which the weights still move (online, letter
  by letter at a constant lr; offline the cosine schedule ends near zero, so nearly frozen).
Rows that hold both measure the proxy's bias (`proxy_bias`). Capacity is the plateau of the
saving over lengths, and every row says which measure it rests on.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.capacity_checks import N_BOOT, last_doubling
from analysis.load import group_rng, numbers

EXACT, PROXY = "exact", "proxy"
ONLINE = "online k=16"


def saved_last_pass(df: pd.DataFrame) -> np.ndarray:
    """The proxy: the code-length saving of the last pass, in bits, n (log2 A - its mean
    training loss in bits), the unclipped counterpart of bits stored. Where a position's
    prediction is worse than uniform it counts against, not as zero, so a model that knows
    nothing of the sequence saves about nothing; bits stored (clipped) credits it with its
    lucky positions. Only for the loss on the logits (the notebook's loss is not a code
    length); it is the loss of a pass during which the weights still move (online: letter
    by letter)."""
    loss = numbers(df["final_loss"])
    a = df["alphabet"].str.len().to_numpy(dtype=float)
    n = numbers(df["length"])
    out = n * (np.log2(a) - loss / math.log(2))
    return np.where(df["loss"].to_numpy() == "logits", out, np.nan)


def saved_exact(df: pd.DataFrame) -> np.ndarray:
    """The exact saving at the last evaluation (`bits_saved`), NaN where the row has none
    (tables stored before the column existed)."""
    if "bits_saved" not in df.columns:
        return np.full(len(df), np.nan)
    return numbers(df["bits_saved"])


def saved_end(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(the saving at the end of each run's budget, whether it is exact): `bits_saved` where
    the row has it, else the last-pass proxy.

    >>> df = pd.DataFrame(dict(bits_saved=[90.0, None], final_loss=[0.0, 0.0], length=[10, 10],
    ...                        alphabet=["AB", "AB"], loss=["logits", "logits"]))
    >>> value, exact = saved_end(df)
    >>> value.tolist(), exact.tolist()
    ([90.0, 10.0], [True, False])
    """
    exact = saved_exact(df)
    has = ~np.isnan(exact)
    return np.where(has, exact, saved_last_pass(df)), has


def saved_at(df: pd.DataFrame, exposures: int) -> np.ndarray:
    """The exact saving after `exposures` passes, read from `saved_curve`; NaN where the run
    has no such evaluation, and where its lr is not constant: only then is the model at e
    exposures the final model of a run whose budget is e (a cosine schedule read before
    its end is mid-schedule)."""
    out = np.full(len(df), np.nan)
    if "saved_curve" not in df.columns:
        return out
    constant = (df["schedule"] == "constant").to_numpy(dtype=bool)
    for i, (curve, every) in enumerate(zip(df["saved_curve"], numbers(df["eval_every"]),
                                           strict=True)):
        j = exposures / every
        if constant[i] and curve is not None and j == int(j) and int(j) < len(curve):
            out[i] = curve[int(j)]
    return out


def readings(seqs: pd.DataFrame, keys: list[str], exposures: tuple[int, ...]) -> pd.DataFrame:
    """One row per sequence and reading of its curve (keys): at the end of the budget
    (exposures = max_epochs: exact where recorded, else the proxy), and at each of
    `exposures` before the budget where every sequence of the curve has the exact reading
    (`saved_{e}`, constant-lr runs only). Columns: saved, exact (share of the sequence's runs
    on the exact measure), proxy (the last-pass proxy, at the budget only), clipped (bits
    stored at the same reading), bits_start."""
    end = seqs.assign(exposures=seqs["max_epochs"], saved=seqs["saved_end"],
                      exact=seqs["exact_end"], proxy=seqs["proxy_end"],
                      clipped=seqs["bits_end"])
    parts = [end]
    for _, part in seqs.groupby(keys, sort=True, dropna=False):
        for e in exposures:
            col = f"saved_{e}"
            if e < part["max_epochs"].min() and col in part and part[col].notna().all():
                parts.append(part.assign(exposures=e, saved=part[col], exact=1.0,
                                         proxy=math.nan, clipped=part[f"bits_{e}"]))
    return pd.concat(parts, ignore_index=True)


def code_length_capacity(reads: pd.DataFrame, keys: list[str], seed: int = 0) -> pd.DataFrame:
    """Capacity on the unclipped saving, per curve (keys) and reading (exposures): per length
    the mean over sequences (t interval); the plateau is the largest mean, with how many
    lengths lie beyond it and the status of its last doubling (capacity_checks.last_doubling).
    `measure` says what the capacity rests on (exact or proxy at the peak length),
    `exact_lengths`/`proxy_lengths` which lengths of the curve rest on which; where a curve
    mixes them, the plateau and status on the proxy alone are beside (`proxy_*`). Also the
    clipped bits at the peak length and what the clipped measure credits an untrained
    network with at the longest length (bits_start: its bias, which grows with the length)."""
    from analysis.capacity import _mean_ci

    rows = []
    for key, part in reads.groupby([*keys, "exposures"], sort=True, dropna=False):
        rng = group_rng(seed, key)
        rng_proxy = group_rng(seed + 1, key)  # its own stream: the check moves no other row
        by_len = part.groupby("length")
        means = by_len["saved"].mean().dropna().sort_index()
        if means.empty:
            continue
        peak_len = int(means.idxmax())
        at_peak = part.loc[part["length"] == peak_len, "saved"].to_numpy(float)
        m, lo, hi = _mean_ci(at_peak)
        d = last_doubling(part, "saved", rng) or dict(
            last_length=int(means.index[-1]), last_step=math.nan, last_gain=math.nan,
            gain_lo=math.nan,
            gain_hi=math.nan, lengths_beyond=0, lengths_failed=0, status="one length")
        exact = by_len["exact"].min()  # a length is exact when all its sequences are
        exact_lengths = [int(n) for n in means.index if exact[n] == 1.0]
        mixed = 0 < len(exact_lengths) < len(means)
        proxy = last_doubling(part, "proxy", rng_proxy) if mixed else None
        params = float(part["params"].iloc[0])
        rows.append({**dict(zip([*keys, "exposures"], key, strict=True)), "capacity": m,
                     "lo": lo, "hi": hi, "peak_length": peak_len,
                     "peak_sequences": int(np.isfinite(at_peak).sum()), **d,
                     "bits_per_param": m / params, "bpp_lo": lo / params, "bpp_hi": hi / params,
                     "measure": EXACT if peak_len in exact_lengths else PROXY,
                     "exact_lengths": exact_lengths,
                     "proxy_lengths": [int(n) for n in means.index if n not in exact_lengths],
                     "proxy_capacity": float(by_len["proxy"].mean().max()),
                     "proxy_status": proxy["status"] if proxy else None,
                     "proxy_gain": proxy["last_gain"] if proxy else math.nan,
                     "clipped_at_peak": float(by_len["clipped"].mean()[peak_len]),
                     "untrained_clipped_at_last": float(by_len["bits_start"].mean()[d["last_length"]])})
    return pd.DataFrame(rows)


def _resample(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return x[idx].mean(axis=1)


def boot_ratio(on: pd.DataFrame, off: pd.DataFrame, rng: np.random.Generator
                ) -> tuple[np.ndarray, int, int]:
    """Bootstrap replicates of plateau(on) / plateau(off), resampling the sequences of every
    length; where both sides hold the same sequences at a length they are resampled together
    (paired). Returns the replicates, the lengths paired and the lengths in all."""
    reps_on, reps_off, paired = [], [], 0
    lengths = sorted(set(on["length"]) | set(off["length"]))
    for n in lengths:
        a = on[on["length"] == n].set_index("gen_seed")["saved"].dropna()
        b = off[off["length"] == n].set_index("gen_seed")["saved"].dropna()
        if len(a) and set(a.index) == set(b.index):
            idx = rng.integers(0, len(a), size=(N_BOOT, len(a)))
            reps_on.append(_resample(a.to_numpy(float), idx))
            reps_off.append(_resample(b.loc[a.index].to_numpy(float), idx))
            paired += 1
            continue
        for x, reps in ((a, reps_on), (b, reps_off)):
            if len(x):
                reps.append(_resample(x.to_numpy(float),
                                      rng.integers(0, len(x), size=(N_BOOT, len(x)))))
    return np.max(reps_on, axis=0) / np.max(reps_off, axis=0), paired, len(lengths)


def with_lr(saved: pd.DataFrame, choice: pd.DataFrame) -> pd.DataFrame:
    """Each curve's lr against the choice for its slice: `lr_as_chosen` True where its runs
    trained at the lr chosen now, False where not, None where no choice covers the slice."""
    if saved.empty:
        return saved.assign(lr_as_chosen=None)
    m = dict(zip(choice["slice"], choice["lr"], strict=True))
    return saved.assign(lr_as_chosen=pd.Series(
        [bool(math.isclose(lr, m[s])) if s in m else None
         for s, lr in zip(saved["slice"], saved["lr"], strict=True)],
        index=saved.index, dtype=object))


def not_chosen(row: pd.Series) -> bool:
    """Whether a saved row's curve trained at an lr the choice no longer picks."""
    v = row.get("lr_as_chosen")
    return v is not None and not pd.isna(v) and not bool(v)


def at_chosen_lr(saved: pd.DataFrame) -> pd.DataFrame:
    """The rows of `saved` whose curve trained at the lr chosen for it (or no choice covers
    it): a curve also trained at another lr keeps that one beside it, flagged."""
    if not len(saved) or "lr_as_chosen" not in saved:
        return saved
    return saved[saved["lr_as_chosen"].map(lambda v: v is None or pd.isna(v) or bool(v))]


# A status whose plateau is a bound: its largest mean lies at the longest length tried (level
# or rising there), or every longer length failed to train.
LOWER_BOUND = ("rising", "level", "collapsed at the longest length")


def _bound(online_rising: bool, offline_rising: bool) -> str:
    """What a ratio of two plateaus is when a curve's plateau is only a lower bound (its
    largest mean at its longest length, or collapsed there)."""
    if online_rising and offline_rising:
        return "neither side a plateau"
    return ("a lower bound" if online_rising else "an upper bound" if offline_rising
            else "neither side rising")


def _level_at_end(curve) -> str:
    """A level curve whose largest mean lies at its longest length has not shown where it
    stops: its plateau may lie beyond, and a ratio over it may be understated."""
    peak, last = curve.get("peak_length"), curve.get("last_length")
    if curve["status"] == "level" and peak is not None and peak == last:
        return "; online's largest mean at its longest length (level there: its plateau may lie beyond)"
    return ""


def online_offline(saved: pd.DataFrame, reads: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Online (window 16) capacity over offline on the unclipped saving, per network, at the
    end of the offline budget (its cosine schedule done) and the same exposures online (the
    online budget, or an exact reading before it): the ratio of the plateaus with a
    percentile interval resampling the sequences of every length (paired where the two
    updates trained the same sequences), the measure each side rests on, and what the ratio
    is where a side is still rising (`reads_as`)."""
    base = ["cell", "units", "alphabet_size"]
    cols = [*base, "offline_lr", "exposures", "params", "online", "online_measure", "online_status",
            "offline", "offline_measure", "offline_status", "ratio", "lo", "hi", "paired",
            "lengths", "reads_as"]
    rows = []
    off_rows = saved[(saved["mode"] == "offline") & (saved["exposures"] == saved["max_epochs"])]
    for _, off in off_rows.iterrows():
        sel = (saved[base] == off[base]).all(axis=1) & (saved["exposures"] == off["exposures"])
        on = at_chosen_lr(saved[sel & (saved["mode"] == ONLINE)])  # not an older-lr curve
        if on.empty:
            continue
        on = on.iloc[0]
        pick = (reads[base] == off[base]).all(axis=1) & (reads["exposures"] == off["exposures"])
        rng = group_rng(seed, (*off[base], off["exposures"], off["lr"], on["lr"]))
        reps, paired, lengths = boot_ratio(
            reads[pick & (reads["mode"] == ONLINE) & np.isclose(reads["lr"], on["lr"])],
            reads[pick & (reads["mode"] == "offline") & np.isclose(reads["lr"], off["lr"])], rng)
        lo, hi = np.percentile(reps, [2.5, 97.5])
        rows.append({**{k: off[k] for k in base}, "offline_lr": float(off["lr"]),
                     "exposures": int(off["exposures"]),
                     "params": int(off["params"]), "online": float(on["bits_per_param"]),
                     "online_measure": on["measure"], "online_status": on["status"],
                     "offline": float(off["bits_per_param"]), "offline_measure": off["measure"],
                     "offline_status": off["status"],
                     "ratio": float(on["capacity"] / off["capacity"]), "lo": float(lo),
                     "hi": float(hi), "paired": paired, "lengths": lengths,
                     "reads_as": _bound(on["status"] in LOWER_BOUND,
                                        off["status"] in LOWER_BOUND)
                     + _level_at_end(on)
                     + ("; offline not at the lr chosen now" if not_chosen(off)
                        else "")})
    return pd.DataFrame(rows, columns=cols)


def proxy_bias(runs: pd.DataFrame) -> pd.DataFrame:
    """On the runs that hold both measures at the end of their budget: the proxy over the
    exact saving, per update (online, offline): median, range and how many runs, and the
    median at each length (`by_length`) and per network and window (`by_network`); runs
    whose exact saving is not positive are left
    out of the ratio (counted in `left_out`)."""
    proxy, exact = saved_last_pass(runs), saved_exact(runs)
    both = ~np.isnan(proxy) & ~np.isnan(exact)
    window = np.where(runs["update"] == "step", "k=" + runs["bptt"].astype(str), "offline")
    net = pd.Series(runs["cell"].str.upper() + " " + runs["units"].astype(str) + " " + window,
                    index=runs.index).to_numpy()
    rows = []
    for update in ("step", "chunk"):
        sel = both & (runs["update"] == update).to_numpy(dtype=bool)
        pos = sel & (exact > 0)
        if not pos.any():
            continue
        r = pd.Series(proxy[pos] / exact[pos])
        n = runs["length"].to_numpy()[pos]
        rows.append(dict(update="online" if update == "step" else "offline", runs=int(pos.sum()),
                         left_out=int(sel.sum() - pos.sum()), median=float(r.median()),
                         min=float(r.min()), max=float(r.max()),
                         by_length={int(k): float(v) for k, v in r.groupby(n).median().items()},
                         by_network={k: float(v) for k, v in r.groupby(net[pos]).median().items()},
                         networks=sorted({f"{c.upper()} {u}" for c, u in zip(
                             runs["cell"].to_numpy()[pos], runs["units"].to_numpy()[pos],
                             strict=True)})))
    return pd.DataFrame(rows, columns=["update", "runs", "left_out", "median", "min", "max",
                                       "by_length", "by_network", "networks"])


def saved_points(reads: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per curve, reading and length: the mean over sequences of the unclipped saving (t
    interval) and whether it is exact, of the clipped bits stored, and of the clipped bits
    before training."""
    from analysis.capacity import _mean_ci

    rows = []
    for key, part in reads.groupby([*keys, "exposures", "length"], sort=True, dropna=False):
        m, lo, hi = _mean_ci(part["saved"].to_numpy(float))
        rows.append({**dict(zip([*keys, "exposures", "length"], key, strict=True)), "saved": m,
                     "lo": lo, "hi": hi, "exact": bool(part["exact"].min() == 1.0),
                     "clipped": float(part["clipped"].mean()),
                     "untrained": float(part["bits_start"].mean())})
    return pd.DataFrame(rows)


PLATEAU = ("peaked", "past a peak (1 length beyond)")


def curve_statuses(saved: pd.DataFrame) -> dict[str, list[dict]]:
    """Each curve at the end of its budget: those that reach a plateau within the lengths
    tried (level, or past a peak) and those still rising (their capacity a lower bound)."""
    if saved.empty:
        return dict(plateau=[], bound=[])
    end = saved[saved["exposures"] == saved["max_epochs"]].sort_values(
        ["cell", "alphabet_size", "units", "mode"])
    return dict(plateau=end[end["status"].isin(PLATEAU)].to_dict(orient="records"),
                bound=end[end["status"].isin(LOWER_BOUND)].to_dict(orient="records"))


def window_ratios(reads: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The online windows of one network against window 16 on the exact unclipped saving:
    per network, lr and reading, over the lengths where every window has exact readings,
    each window's largest mean saving (its t interval and the length it peaks at) and its
    ratio to window 16's, with a percentile interval resampling the sequences of every
    length (paired where the windows trained the same sequences)."""
    from analysis.capacity import _mean_ci

    keys = ["cell", "units", "alphabet_size", "lr", "exposures"]
    online = reads[reads["mode"].str.startswith("online k=") & (reads["exact"] == 1.0)] \
        if len(reads) else reads
    rows = []
    for key, part in online.groupby(keys, sort=True):
        rng = group_rng(seed, key)
        by_mode = dict(iter(part.groupby("mode")))
        if len(by_mode) < 2 or ONLINE not in by_mode:
            continue
        common = sorted(set.intersection(*(set(g["length"]) for g in by_mode.values())))
        if not common:
            continue
        base = by_mode[ONLINE][by_mode[ONLINE]["length"].isin(common)]
        for mode, g in sorted(by_mode.items()):
            g = g[g["length"].isin(common)]
            means = g.groupby("length")["saved"].mean()
            peak = int(means.idxmax())
            m, lo, hi = _mean_ci(g[g["length"] == peak]["saved"].to_numpy(float))
            reps, paired, _ = boot_ratio(g, base, rng)
            rlo, rhi = np.percentile(reps, [2.5, 97.5])
            rows.append(dict(zip(keys, key, strict=True), window=int(mode.split("=")[1]),
                             saved=float(m), lo=float(lo), hi=float(hi), peak_length=peak,
                             ratio=float(means.max() / base.groupby("length")["saved"].mean().max()),
                             ratio_lo=float(rlo), ratio_hi=float(rhi), paired=paired,
                             shortest=int(common[0]), longest=int(common[-1])))
    return pd.DataFrame(rows)
