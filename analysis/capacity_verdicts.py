"""What limits what online training stores, per cell, width and alphabet (issue 17, item 7).

Each verdict rests on its own controlled comparison, on the unclipped code-length saving
(analysis.code_length) wherever the runs allow one, and says which measure it rests on:

* the protocol: online over offline at the same exposures, at the offline lr chosen on other
  sequences (`saved_ratio`); offline differs in more than the update (chunks of 64, cosine
  decay, clipping), so the comparison is of the two protocols whole; the clipped bits
  stored's ratio, labelled, where no unclipped pair was trained at the same exposures;
* the lengths tried: whether the online unclipped curve still rises at its longest length;
* the budget: online capacity at 1000 against 300 exposures, unclipped where an online curve
  recorded the exact measure at both, else clipped and labelled; a reason where the same
  runs' paired gain at the 1000-exposure peak has its interval above 1 (the plateaus' ratio
  above x1.1 where no paired reading exists);
* the window: 4 and 64 against 16 steps at one width, at the same exposures over the
  lengths every window tried, unclipped where every window has exact readings there, else
  clipped and labelled;
* the lr: a best lr at its grid's edge, or curves trained at an lr the grid no longer
  chooses.
"""

from __future__ import annotations

import pandas as pd

from analysis.capacity_budget import paired_ratio, ratio_cell
from analysis.code_length import LOWER_BOUND, at_chosen_lr

ONLINE = "online k=16"
NOT_CHOSEN = "not at the lr chosen now"


def _same(df: pd.DataFrame, cell: str, units: int, a: int) -> pd.DataFrame:
    if not len(df):
        return df
    return df[(df["cell"] == cell) & (df["units"] == units) & (df["alphabet_size"] == a)]


def _ratio_text(row, exposures: int, measure: str) -> str:
    span = f"{row['ratio']:.2f} [{row['lo']:.2f}, {row['hi']:.2f}]"
    if row["hi"] < 1:
        return (f"the online protocol: offline stores more at {exposures} exposures (online "
                f"{span} of offline; {measure})")
    if row["lo"] > 1:
        return (f"not the update: online stores more than offline at {exposures} exposures "
                f"({span}; {measure})")
    return f"online and offline store alike within the interval ({span}; {measure})"


def _update(clipped: pd.DataFrame, saved_ratio: pd.DataFrame) -> str | None:
    chosen = saved_ratio[~saved_ratio["reads_as"].str.contains(NOT_CHOSEN)] \
        if len(saved_ratio) else saved_ratio
    if len(chosen):
        row = chosen.sort_values("exposures").iloc[-1]
        return _ratio_text(row, int(row["exposures"]),
                           f"unclipped, online {row['online_measure']}, offline "
                           f"{row['offline_measure']}: {row['reads_as']}")
    if len(clipped):
        row = clipped.sort_values("exposures").iloc[-1]
        return _ratio_text(row, int(row["exposures"]),
                           "clipped bits stored: no unclipped pair at equal exposures")
    return None


def paired_gain(seqs: pd.DataFrame, length: int) -> dict | None:
    """The online runs' bits saved after 1000 over those after 300 exposures (the same runs
    read twice: constant lr) at `length`, per sequence, summarized by paired_ratio."""
    if seqs is None or not len(seqs) or "saved_300" not in seqs:
        return None
    at = seqs[(seqs["mode"] == ONLINE) & (seqs["max_epochs"] == 1000)
              & (seqs["length"] == length)].dropna(subset=["saved_end", "saved_300"])
    if len(at) < 2:
        return None
    ratio, lo, hi, geometric = paired_ratio(at["saved_end"], at["saved_300"])
    return dict(ratio=ratio, lo=lo, hi=hi, geometric=geometric, length=int(length),
                sequences=len(at))


def _budget(part: pd.DataFrame, saved: pd.DataFrame, seqs: pd.DataFrame | None = None
            ) -> tuple[float | None, dict | None, str | None]:
    """The plateau at 1000 over that at 300 exposures, the paired gain at the 1000 peak, and
    the reason: the paired interval above 1 where the runs give one, else the plateaus'
    ratio above x1.1."""
    on = saved[(saved["mode"] == ONLINE) & (saved["measure"] == "exact")] if len(saved) \
        else saved
    peaks = on.set_index("exposures")["peak_length"] if "peak_length" in on else None
    on = on.set_index("exposures")["capacity"] if len(on) else pd.Series(dtype=float)
    measure = "unclipped, exact"
    paired = None
    if not (300 in on.index and 1000 in on.index):
        clipped = part[part["mode"] == ONLINE].set_index("exposures")
        if not (300 in clipped.index and 1000 in clipped.index):
            return None, None, None
        on, measure = clipped["capacity"], "clipped bits stored"
    elif peaks is not None:
        paired = paired_gain(seqs, int(peaks.loc[1000]))
    gain = float(on.loc[1000] / on.loc[300])
    grows = paired["lo"] > 1 if paired else gain > 1.1
    if not grows:
        return gain, paired, None
    at = (f"; at the 1000-exposure peak ({paired['length']:,} letters), the same runs "
          f"{ratio_cell(paired)}, " + ("geometric mean, log-scale t interval"
                                       if paired["geometric"] else "t interval")
          + f" over {paired['sequences']} sequences" if paired else "")
    return gain, paired, (f"the budget: online capacity still grows x{gain:.2f} from 300 to "
                          f"1000 exposures ({measure}{at})")


def _window(clipped: pd.DataFrame, unclipped: pd.DataFrame) -> str | None:
    """The windows against window 16 at the most exposures they share: unclipped where
    every window has exact readings over the common lengths, else the clipped bits."""
    w, measure = unclipped, "unclipped, exact; interval over sequences"
    if not len(w):
        w, measure = clipped, "clipped bits stored; 3 sequences per length: no interval"
    if not len(w):
        return None
    w = w[(w["exposures"] == w["exposures"].max()) & (w["window"] != 16)]
    lo = w["ratio_lo"] if "ratio_lo" in w else w["ratio"]
    lead = ("the window: another one stores more" if (lo > 1).any()
            else "not the window: no other window stores more")
    return (f"{lead}, at {int(w['exposures'].iloc[0])} exposures against window 16 over the "
            f"lengths all tried ({int(w['shortest'].iloc[0])}-{int(w['longest'].iloc[0])}): "
            + ", ".join(f"window {r['window']} x{r['ratio']:.2f}"
                        + (f" [{r['ratio_lo']:.2f}, {r['ratio_hi']:.2f}]" if "ratio_lo" in r else "")
                        for _, r in w.iterrows())
            + f" ({measure}; one width, at the lr chosen for window 16)")


def verdicts(caps: pd.DataFrame, ratio: pd.DataFrame, saved: pd.DataFrame,
             saved_ratio: pd.DataFrame, lr_choice: pd.DataFrame,
             windows: pd.DataFrame, saved_windows: pd.DataFrame | None = None,
             seqs: pd.DataFrame | None = None) -> list[dict]:
    """Per cell, width and alphabet: the reasons, each from its comparison (module doc).
    caps, ratio, windows: the clipped capacities, online/offline and window ratios; saved,
    saved_ratio, saved_windows: the unclipped ones (analysis.code_length); seqs: the
    per-sequence rows at the chosen lrs, for the budget's paired gain."""
    out = []
    for key, part in caps.groupby(["cell", "units", "alphabet_size"], sort=True):
        cell, units, a = key
        v = dict(cell=cell, units=int(units), alphabet_size=int(a), reasons=[])
        mine = at_chosen_lr(_same(saved, cell, units, a))
        update = _update(_same(ratio, cell, units, a), _same(saved_ratio, cell, units, a))
        if update:
            v["reasons"].append(update)
        gain, paired, budget = _budget(part, mine, _same(seqs, cell, units, a)
                                       if seqs is not None else None)
        if gain is not None:
            v["budget_gain_300_to_1000"] = gain
            v["budget_grows"] = budget is not None
        if paired:
            v["budget_gain_paired"] = paired
        if budget:
            v["reasons"].append(budget)
        online = mine[mine["mode"] == ONLINE].sort_values("exposures") if len(mine) else mine
        if len(online) and online.iloc[-1]["status"] in LOWER_BOUND:
            v["reasons"].append("the lengths tried: the online unclipped curve has its "
                                "largest mean at its longest length (a lower bound)")
        window = _window(_same(windows, cell, units, a),
                         _same(saved_windows if saved_windows is not None else pd.DataFrame(),
                               cell, units, a))
        if window:
            v["reasons"].append(window)
        lrs = _same(lr_choice, cell, units, a)
        for _, e in lrs[lrs["at_edge"] & lrs["mode"].isin(set(part["mode"]))].iterrows():
            v["reasons"].append(f"possibly the lr: {e['mode']}'s best lr {e['lr']:g} is at the "
                                "edge of its grid")
        for _, e in lrs[lrs["trained_at_choice"].map(lambda x: x is not None and not x)
                        ].iterrows():
            v["reasons"].append(f"not settled for {e['mode']}: its curves trained at lr "
                                f"{', '.join(f'{x:g}' for x in e['trained_lr'])}, not the lr chosen "
                                f"now ({e['lr']:g}), so the comparisons above are not at its tuned lr")
        if not v["reasons"]:
            v["reasons"].append("no online run to compare with")
        out.append(v)
    return out
