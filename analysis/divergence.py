"""How training time diverges as a sequence approaches what the network can hold (issue
17, item 6; question 3).

Every run of the frontier's protocol (LSTM, GRU and RNN, lr 1e-3, a 16-step window, the
loss on the logits, 200k steps; `TABLES`), per network: the steps to the first exact
regeneration, interval-censored by the evaluation grid and by the budget (a run that never
memorized only says T > 200k). Two forms of the median are fitted by maximum likelihood to
all runs, memorized or not, with a lognormal spread:

    power:       ln T = a + b ln L
    divergence:  ln T = a + b ln L - g ln(1 - L / Lc),   T = inf for L >= Lc

Lc is where training time would diverge: it is constrained beyond the longest length any
run memorized. AIC chooses (the divergence costs 2 parameters more). With clusters of 4
seeds per sequence the likelihood overstates the evidence, so a divergence is called only
when it wins by more than DELTA_AIC; then Lc is the network's capacity in letters under
this protocol and g how sharply time grows towards it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.law import _rows
from analysis.load import outcomes, prefix_families, split_errors
from analysis.survival import kaplan_meier

TABLES = ("frontier_lr", "frontier_more", "frontier_fresh", "capacity_lstar", "capacity_fresh")
PROTOCOL = dict(lr=1e-3, bptt="16", loss="logits", budget_steps=200000)
DELTA_AIC = 10.0
CLIFF_G = 0.1  # below: time barely rises before Lc, where memorizing stops (a wall)
FAR_LC = 8.0  # Lc beyond 8x the longest memorized length: the data see no pole, only the rise
PROFILE_POINTS = 40
CHI2_95 = 3.841
# Fits within TIE nats of the best are equally likely; where their Lc or g differ by more
# than IDENTIFIED x the divergence's point estimates are not identified (a ridge). The
# identified ones are written to FIT_DIGITS: a search stops wherever its gradient is small,
# and the last digits of where differ between CPUs (vector units sum in another order). A
# wall's g (below CLIFF_G) and a far Lc are not written: their digits move the most.
TIE = 1e-3
IDENTIFIED = 1.05
FIT_DIGITS = 3
NETWORK = ["cell", "units", "alphabet_size"]
MIN_MEMORIZED_LENGTHS = 3  # lengths with a memorized run: fewer cannot place a curve
MIN_LENGTHS_DIVERGENCE = 5  # a 3-parameter form fits 3 points exactly: AIC cannot choose


@dataclass
class Divergence:
    fits: pd.DataFrame  # per network: both forms, their AICs, the verdict
    medians: pd.DataFrame  # per network and length: runs, share memorized, KM median steps
    fresh: pd.DataFrame | None = None  # the forms fitted without the fresh runs, scored on them


def protocol_runs(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The runs of the frontier's protocol, once each, with censored outcomes in steps."""
    df = pd.concat(frames, ignore_index=True).drop_duplicates("run_id")
    df, _ = split_errors(df)
    keep = (np.isclose(df["lr"], PROTOCOL["lr"]) & (df["bptt"].astype(str) == PROTOCOL["bptt"])
            & (df["loss"] == PROTOCOL["loss"])
            & (pd.to_numeric(df["budget_steps"], errors="coerce") == PROTOCOL["budget_steps"]))
    df = outcomes(df[keep].reset_index(drop=True))
    df["alphabet_size"] = df["alphabet"].str.len()
    return df


def _negloglik(theta: np.ndarray, log_len: np.ndarray, length: np.ndarray, log_lo: np.ndarray,
               log_hi: np.ndarray, lc_floor: float | None) -> tuple[float, np.ndarray]:
    """-log L and its gradient; theta = (a, b, ln sigma) for the power law, and (u, v) more
    for the divergence: Lc = lc_floor (1 + e^u), g = e^v."""
    a, b, log_s = theta[:3]
    eta = a + b * log_len
    parts = [np.ones(len(length)), log_len]  # d eta / d(a, b, u, v)
    beyond = np.zeros(len(length), dtype=bool)
    if lc_floor is not None:
        if abs(theta[3]) > 30 or abs(theta[4]) > 10:  # Lc or g run off: no divergence there
            return 1e300, np.zeros_like(theta)
        lc = lc_floor * (1 + math.exp(theta[3]))
        g = math.exp(theta[4])
        beyond = length >= lc
        x = np.minimum(length / lc, 1 - 1e-12)
        pole = -np.log1p(-x)
        eta = eta + g * pole
        parts += [-g * length / (lc * (lc - np.minimum(length, lc * (1 - 1e-12))))
                  * lc_floor * math.exp(theta[3]), g * pole]
    if np.isfinite(log_hi[beyond]).any():  # a memorized run beyond Lc: impossible
        return 1e300, np.zeros_like(theta)
    with np.errstate(over="ignore", invalid="ignore"):  # far tails while the search roams
        logp, d_eta, d_s = _rows(eta[~beyond], log_lo[~beyond], log_hi[~beyond],
                                 math.exp(log_s), "lognormal")
    total = float(np.sum(logp))
    if not math.isfinite(total):
        return 1e300, np.zeros_like(theta)
    grad = [float(np.sum(d_eta * p[~beyond])) for p in parts]
    grad.insert(2, float(np.sum(d_s)))
    return -total, -np.array(grad)


def _arrays(runs: pd.DataFrame) -> tuple[np.ndarray, ...]:
    length = runs["length"].to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        log_lo = np.log(runs["lower_steps"].to_numpy(dtype=float))
        log_hi = np.log(runs["upper_steps"].to_numpy(dtype=float))
    return np.log(length), length, log_lo, log_hi


def lc_interval(runs: pd.DataFrame, fit: dict) -> tuple[float, float]:
    """The profile-likelihood 95% interval of Lc (chi-square, 1 df): Lc on a grid, the other
    four parameters refitted at each. It treats runs as independent, so it is too narrow
    by the seeds' clustering; the grid ends at FAR_LC x the longest memorized length."""
    args = _arrays(runs)
    floor, nll_best = fit["longest_memorized"], fit["aic_divergence"] / 2 - 5
    inside = []
    for u in np.linspace(-7.0, math.log(FAR_LC - 1), PROFILE_POINTS):
        def nll(rest, u=u):
            f, g = _negloglik(np.array([*rest[:3], u, rest[3]]), *args, float(floor))
            return f, np.delete(g, 3)
        p = fit["divergence_params"]
        res = optimize.minimize(nll, np.array([p[0], p[1], p[2], p[4]]), jac=True,
                                method="BFGS", options=dict(maxiter=2000))
        if 2 * (res.fun - nll_best) <= CHI2_95:
            inside.append(floor * (1 + math.exp(u)))
    return (min(inside), max(inside)) if inside else (math.nan, math.nan)


def lc_bracket(fit: dict, lo: float, hi: float) -> dict:
    """The profile interval of Lc no finer than the design: from the longest length memorized
    at least to the next length tried, in whole letters; `lc_open` where it reaches the
    profile grid's end (FAR_LC x the longest memorized length), so Lc is only a lower bound."""
    if not math.isfinite(lo):
        return dict(lc_lo=math.nan, lc_hi=math.nan, lc_open=fit["chosen"] == "divergence")
    floor, grid_end = fit["longest_memorized"], FAR_LC * fit["longest_memorized"]
    is_open = hi >= grid_end * (1 - 1e-9)
    lo = floor if lo <= floor * 1.001 else lo  # the grid's first point: the floor, to 0.1%
    top = max(hi, fit["next_length"]) if fit["next_length"] == fit["next_length"] else hi
    return dict(lc_lo=float(round(lo)),
                lc_hi=math.nan if is_open else float(round(top)), lc_open=bool(is_open))


def _fit(runs: pd.DataFrame, divergence: bool) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """The best of the searches (its parameters and -log L) and every search's end within
    TIE of it."""
    log_len, length, log_lo, log_hi = _arrays(runs)
    floor = float(length[runs["event"].to_numpy()].max()) if divergence else None
    mem = runs[runs["event"]]
    b0, a0 = np.polyfit(np.log(mem["length"]), np.log(mem["observed_steps"]), 1)
    starts = [np.array([a0, b0, 0.0])]
    if divergence:  # the likelihood has several modes in Lc: start across them
        starts = [np.array([a0, b0, 0.0, u, v]) for u in (-4.0, -2.0, -0.5, 1.0, 2.5)
                  for v in (-1.0, 1.0)]
    ends = [optimize.minimize(_negloglik, x0, args=(log_len, length, log_lo, log_hi, floor),
                              jac=True, method="BFGS", options=dict(maxiter=2000))
            for x0 in starts]
    best = min(ends, key=lambda res: res.fun)
    tied = [res.x for res in ends if res.fun <= best.fun + TIE]
    return best.x, float(best.fun), tied


def _identified(tied: list[np.ndarray], floor: float) -> bool:
    """Whether the equally likely divergence fits agree on Lc and g (within IDENTIFIED x):
    along a ridge of the likelihood they do not, and which point of it a search ends on is
    decided by rounding, so it differs between CPUs."""
    lc = np.array([floor * (1 + math.exp(x[3])) for x in tied])
    g = np.array([math.exp(x[4]) for x in tied])
    return bool(lc.max() / lc.min() <= IDENTIFIED and g.max() / g.min() <= IDENTIFIED)


def _sig(x: float, digits: int = FIT_DIGITS) -> float:
    """`x` to `digits` significant digits (nan stays nan)."""
    if not math.isfinite(x) or x == 0:
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def fit_network(runs: pd.DataFrame) -> dict:
    """Both forms on one network's runs; the verdict by AIC with the DELTA_AIC margin."""
    power, nll_p, _ = _fit(runs, divergence=False)
    div, nll_d, tied = _fit(runs, divergence=True)
    aic_p, aic_d = 2 * nll_p + 2 * 3, 2 * nll_d + 2 * 5
    floor = float(runs.loc[runs["event"], "length"].max())
    lc = floor * (1 + math.exp(div[3]))
    g = math.exp(div[4])
    identified = _identified(tied, floor)
    shape = ("not identified: equally likely fits differ in Lc and g (a ridge)" if not identified
             else "a wall: T follows the power law up to Lc, then never" if g < CLIFF_G
             else "an exponential-like rise (Lc far beyond the data)" if lc > FAR_LC * floor
             else "a divergence at Lc")
    point = (lambda x: _sig(x)) if identified else (lambda x: math.nan)
    # a wall's g and a far Lc are not placed by the data: the shape says what they show
    wall, far = g < CLIFF_G, lc > FAR_LC * floor
    beyond = runs.loc[runs["length"] > floor, "length"]
    return dict(runs=len(runs), lengths=int(runs["length"].nunique()), shape=shape,
                longest_memorized=int(floor),
                next_length=int(beyond.min()) if len(beyond) else math.nan,
                power_b=_sig(float(power[1])),
                power_sigma=_sig(math.exp(power[2])), aic_power=aic_p,
                divergence_identified=identified, divergence_b=point(float(div[1])),
                divergence_g=math.nan if wall or far else point(g),
                divergence_lc=float(round(lc)) if identified and not far else math.nan,
                divergence_sigma=point(math.exp(div[2])), aic_divergence=aic_d,
                delta_aic=aic_p - aic_d,
                chosen="divergence" if aic_p - aic_d > DELTA_AIC else "power",
                power_params=[float(v) for v in power], divergence_params=[float(v) for v in div])


def medians(runs: pd.DataFrame) -> pd.DataFrame:
    """Per network and length: runs, share memorized and the Kaplan-Meier median steps."""
    rows = []
    for key, g in runs.groupby([*NETWORK, "length"], sort=True):
        km = kaplan_meier(g["observed_steps"].to_numpy(), g["event"].to_numpy(),
                          float(g["budget_in_steps"].max()))
        rows.append({**dict(zip([*NETWORK, "length"], key, strict=True)), "runs": len(g),
                     "memorized": float(g["event"].mean()), "median_steps": km.median})
    return pd.DataFrame(rows)


def log_median(fit: dict, form: str, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fitted `form`'s log median steps at each length, and which lengths lie at or
    beyond the divergence's Lc (the best fit's own, where none is written: never memorized
    there)."""
    p = fit[f"{form}_params"]
    ln_t = p[0] + p[1] * np.log(length)
    beyond = np.zeros(len(length), dtype=bool)
    if form == "divergence":
        lc = fit["longest_memorized"] * (1 + math.exp(p[3]))
        beyond = length >= lc
        ln_t = ln_t - math.exp(p[4]) * np.log1p(-np.minimum(length / lc, 1 - 1e-12))
    return ln_t, beyond


def predicted_median(fit: dict, form: str, length: np.ndarray) -> np.ndarray:
    """The fitted median steps at `length` (inf at and beyond Lc)."""
    ln_t, beyond = log_median(fit, form, np.asarray(length, dtype=float))
    return np.where(beyond, np.inf, np.exp(ln_t))


def analyse_divergence(frames: list[pd.DataFrame]) -> Divergence | None:
    if not frames:
        return None
    runs = protocol_runs(frames)
    rows = []
    for key, g in runs.groupby(NETWORK, sort=True):
        if g.loc[g["event"], "length"].nunique() < MIN_MEMORIZED_LENGTHS or g["event"].all():
            continue  # no curve to place, or no failure to place Lc against
        fit = fit_network(g)
        lo, hi = lc_interval(g, fit) if fit["chosen"] == "divergence" else (math.nan, math.nan)
        rows.append({**dict(zip(NETWORK, key, strict=True)), **fit, **lc_bracket(fit, lo, hi),
                     "families": int(prefix_families(g["sequence"]).nunique()),
                     "sequences": int(g["sequence"].nunique())})
    return Divergence(fits=pd.DataFrame(rows), medians=medians(runs))


def time_to_memorize(seqs: pd.DataFrame) -> pd.DataFrame:
    """Online (window 16): the median steps to the first exact regeneration per length, over
    sequences whose runs all memorized, and two forms fitted to log T(L) by least squares:
    a power law T = a L^b and a divergence T = a L / (1 - L / Lc)^g with Lc beyond the
    longest memorized length; the one with the lower AIC is kept. With fewer than
    MIN_LENGTHS_DIVERGENCE lengths only the power law is fitted, and that is said."""
    rows = []
    online = seqs[seqs["mode"] == "online k=16"]
    for key, part in online.groupby(["cell", "units", "alphabet_size", "params"], sort=True):
        done = part[part["memorized"] == 1.0]
        med = done.groupby("length")["steps_first"].median()
        med = med[med > 0]
        if len(med) < 3:
            continue
        n_len = med.index.to_numpy(dtype=float)
        y = np.log(med.to_numpy(dtype=float))
        x = np.log(n_len)
        b, a = np.polyfit(x, y, 1)
        rss_pow = float(((a + b * x - y) ** 2).sum())
        lmax = n_len.max()

        def resid(p, x=x, y=y, n_len=n_len, lmax=lmax):
            a0, g, log_over = p
            lc = lmax * (1 + math.exp(log_over))
            return a0 + x - g * np.log1p(-n_len / lc) - y

        k = len(y)

        def aic(rss, p, k=k):
            return k * math.log(max(rss, 1e-12) / k) + 2 * p

        row = dict(zip(["cell", "units", "alphabet_size", "params"], key, strict=True),
                   lengths=[int(v) for v in n_len], median_steps=[float(v) for v in med],
                   power_a=float(a), power_exponent=float(b), aic_power=aic(rss_pow, 2),
                   divergence_a=math.nan, divergence_lc=math.nan, divergence_g=math.nan,
                   aic_divergence=math.nan, chosen="power (too few lengths to test a divergence)")
        if k >= MIN_LENGTHS_DIVERGENCE:  # 3 parameters need 2 spare points to be tested
            fit = optimize.least_squares(resid, x0=[y[0] - x[0], 1.0, 0.0])
            rss_div = float((fit.fun ** 2).sum())
            row.update(divergence_a=float(fit.x[0]), divergence_lc=lmax * (1 + math.exp(fit.x[2])),
                       divergence_g=float(fit.x[1]), aic_divergence=aic(rss_div, 3),
                       chosen="divergence" if aic(rss_div, 3) < aic(rss_pow, 2) else "power")
        rows.append(row)
    return pd.DataFrame(rows)
