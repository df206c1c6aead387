"""The users' cells section of REPORT.md (analysis.usercells): formatting only."""

from __future__ import annotations

import math

from analysis.fmt import ci_or_point
from analysis.usercells import UserCells


def usercells_section(u: UserCells | None) -> str:
    if u is None:
        return ""
    lines = ["## Your own cell: minGRU and minLSTM beside the built-in cells", "",
             "Any `torch.nn.Module` with `initial_state(batch)` and `forward(x, state) -> (h, "
             "state)` trains through the suite (README, \"Benchmark your own cell\"). The "
             "examples are the minimal recurrent cells of Feng et al. (2024), `examples/mingru.py` "
             "and `examples/minlstm.py`: their gates read the input only, so the state is a "
             "gated running average of input projections (no W_hh). They train online as the "
             "built-in cells do (a 16-step window, one Adam step per letter) at parameter "
             "counts matched to the capacity study's networks (LSTM 8, GRU 10, RNN 19: about "
             "1,400) and to the difficulty slice's (LSTM 16, GRU 19, RNN 36: about 3,250)."]
    if not u.lr_choice.empty:
        lines += ["", "**Learning rate**, chosen as the capacity study chose the built-in "
                  "cells' (median bits stored over runs, 64-letter sequences no other spec "
                  "uses): " + "; ".join(
                      f"{r['slice']}: {r['lr']:g}" + (" (at the grid's edge)" if r["at_edge"]
                                                      else "")
                      + " (" + ", ".join(f"{k}: {v:g}" for k, v in r["bits_by_lr"].items())
                      + " bits)" for _, r in u.lr_choice.iterrows()) + "."]
    if not u.capacity.empty:
        exp = int(u.capacity["exposures"].iloc[0])
        lines += ["", f"### Bits stored after {exp} exposures", "",
                  "Mean over sequences of the seeds' mean, 95% t interval (the example cells "
                  "trained 2 sequences per length, so their intervals have one degree of "
                  "freedom; the built-in cells 3); the capacity is the most over the lengths "
                  "tried (a lower bound where the longest holds the most). The built-in rows "
                  "are the capacity study's online runs read at the same exposure, on the "
                  "LSTM's sequences for the LSTM and the example cells (the same generator "
                  "seeds) and on their own for the GRU and the RNN. Each network is at the lr "
                  "its own scan chose: the built-in cells' (capacity_lr) at lengths near what "
                  "they hold; the example cells' at 64 letters, which every lr from 3e-3 up "
                  "stored whole, so theirs is the grid's top by a hair.", "",
                  "| network | parameters | lr | " + " | ".join(
                      f"{n} letters" for n in sorted(u.points["length"].unique()))
                  + " | capacity (bits) | bits per parameter |",
                  "|---|---|---|" + "---|" * (u.points["length"].nunique() + 2)]
        for _, c in u.capacity.iterrows():
            pts = u.points[(u.points["network"] == c["network"]) & (u.points["lr"] == c["lr"])]
            by = {int(r["length"]): ci_or_point(r["bits"], r["lo"], r["hi"], ".0f")
                  for _, r in pts.iterrows()}
            bound = " (still rising)" if c["rising"] else ""
            lines.append(f"| {c['network']} | {c['params']:,} | {c['lr']:g} | "
                         + " | ".join(by.get(n, "") for n in sorted(u.points["length"].unique()))
                         + f" | {c['capacity']:.0f}{bound} | {c['bits_per_param']:.2f} |")
    if not u.forks.empty:
        budget = int(u.forks["budget"].iloc[0])
        depths = sorted(u.forks["depth"].unique())
        forks_ = sorted(u.forks["forks"].unique())
        cols = [(d, f) for d in depths for f in forks_]
        lines += ["", "### The difficulty slice: depth x ambiguity", "",
                  f"Forks sequences (24 letters), the notebook's options with the loss on "
                  f"logits, lr 1e-3, the same sequences for every network. Share memorized "
                  f"within {budget} epochs (built-in runs censored there) and the Kaplan-Meier "
                  "median epochs.", "",
                  "| network | parameters | " + " | ".join(f"depth {d}, forks {f}"
                                                          for d, f in cols) + " |",
                  "|---|---|" + "---|" * len(cols)]
        for net, g in u.forks.groupby("network", sort=False):
            by = {(r["depth"], r["forks"]): r for _, r in g.iterrows()}
            cells = []
            for key in cols:
                r = by.get(key)
                if r is None:
                    cells.append("")
                    continue
                med = "-" if math.isinf(r["median_epochs"]) else f"{r['median_epochs']:.0f}"
                cells.append(f"{r['memorized']:.0%} ({med})")
            lines.append(f"| {net} | {int(g['params'].iloc[0]):,} | " + " | ".join(cells) + " |")
    if not u.costs.empty:
        lines += ["", "### What a user's cell costs", "",
                  "The LSTM's and the GRU's equations written out in plain torch "
                  "(`tests/fixtures/user_cells.py`) through the user engine (vmap, P = 2), "
                  "beside the compiled kernel (P = 2) and the reference trainer on the same "
                  "cell: microseconds per model and letter, a 16-step window, 256 letters, one "
                  "benchmark run (`results/steptime_rtrl.csv`).", "",
                  "| cell | units | user engine | compiled kernel | reference trainer | user / "
                  "kernel | reference / user |", "|---|---|---|---|---|---|---|"]
        for _, c in u.costs.iterrows():
            lines.append(f"| {c['cell'].upper()} | {int(c['H'])} | {c['user']:.0f} | "
                         f"{c['population']:.1f} | {c['reference']:.0f} | "
                         f"{c['over_kernel']:.0f} | {c['reference_over']:.1f} |")
    return "\n".join(lines)
