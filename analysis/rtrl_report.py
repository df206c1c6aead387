"""The RTRL section of REPORT.md (analysis.rtrl): formatting only."""

from __future__ import annotations

import math

import pandas as pd

from analysis.fmt import ci_or_point
from analysis.rtrl import Rtrl, gradient_name


def _bracket(r) -> str:
    """The tested lengths around L*: what the half-octave grid says."""
    if r["bound"] == ">":
        return f"above {r['below']:.0f}"
    if r["bound"] == "<":
        return f"below {r['above']:.0f}"
    return f"{r['below']:.0f}-{r['above']:.0f}"


def lstar_table(r: Rtrl) -> str:
    lines = ["| network | parameters | lr | L* bracket, RTRL | window 16 | window 4 | run pairs "
             "only RTRL / only window 16 memorized (exact p) | only window 4 / only window 16 "
             "(p) |", "|---|---|---|---|---|---|---|---|"]
    for (cell, units), g in r.lstar.groupby(["cell", "units"], sort=True):
        by = g.set_index("gradient")
        d = r.discordant[(r.discordant["cell"] == cell) & (r.discordant["units"] == units)]
        pair = {row["gradient"]: f"{row['only_gradient']} / {row['only_base']} "
                                 f"({row['p']:.2g})" for _, row in d.iterrows()}
        cells = [_bracket(by.loc[k]) if k in by.index else "" for k in ("rtrl", "16", "4")]
        lines.append(f"| {cell.upper()} {units} | {int(by['params'].iloc[0]):,} | "
                     f"{by['lr'].iloc[0]:g} | " + " | ".join(cells)
                     + f" | {pair.get('rtrl', '')} | {pair.get('4', '')} |")
    return "\n".join(lines)


def bits_table(r: Rtrl) -> str:
    lines = ["| network | gradient | lengths from | sequences (run pairs) | bits stored / window "
             "16's [95% t interval] | sign-flip p | per-length means |",
             "|---|---|---|---|---|---|---|"]
    for _, b in r.bits_beyond.iterrows():
        lines.append(f"| {b['cell'].upper()} {b['units']} | {gradient_name(b['gradient'])} | "
                     f"{b['from_length']} ({b['lengths']} lengths) | {b['sequences']} "
                     f"({b['pairs']}) | {ci_or_point(b['ratio'], b['lo'], b['hi'], '.3f')} | "
                     f"{b['p']:.2g} | {b['lowest']:.2f} to {b['highest']:.2f} |")
    return "\n".join(lines)


def speed_table(r: Rtrl) -> str:
    lines = ["| network | gradient | run pairs, one or both memorized | sooner / later than "
             "window 16 | sign test p | steps / window 16's where both memorized (median "
             "[quartiles]) |", "|---|---|---|---|---|---|"]
    for _, s_ in r.speed.iterrows():
        ratio = ("" if math.isnan(s_["median_ratio"]) else
                 f"{s_['median_ratio']:.2f} [{s_['q25']:.2f}, {s_['q75']:.2f}] "
                 f"({s_['both_memorized']} pairs)")
        lines.append(f"| {s_['cell'].upper()} {s_['units']} | {gradient_name(s_['gradient'])} | "
                     f"{s_['pairs']} | {s_['faster']} / {s_['slower']} | {s_['sign_p']:.2g} | "
                     f"{ratio} |")
    return "\n".join(lines)


def cases_table(r: Rtrl) -> str:
    lines = ["| case | sequence | gradient | memorized | Kaplan-Meier median epochs [95% CI] | "
             "median final loss |", "|---|---|---|---|---|---|"]
    for _, c in r.cases.iterrows():
        med = ("not reached" if math.isinf(c["median_epochs"]) else
               ci_or_point(c["median_epochs"], c["median_lo"], c["median_hi"], ".0f"))
        lines.append(f"| {c['case']} | {c['sequence']} | {gradient_name(c['gradient'])} | "
                     f"{c['memorized']}/{c['runs']} | {med} | {c['final_loss']:.3f} |")
    return "\n".join(lines)


def fresh_table(r: Rtrl) -> str:
    lines = ["| network | length | gradient | sequences | memorized | sequences with more / "
             "fewer seeds memorized than window 16 | sign test p |", "|---|---|---|---|---|---|---|"]
    for _, f in r.fresh.iterrows():
        cmp = ("" if pd.isna(f.get("more", math.nan))
               else f"{int(f['more'])} / {int(f['fewer'])}")
        p = "" if pd.isna(f.get("sign_p", math.nan)) else f"{f['sign_p']:.2g}"
        lines.append(f"| {f['cell'].upper()} {f['units']} | {f['length']} | "
                     f"{gradient_name(f['gradient'])} | {f['sequences']} | "
                     f"{f['memorized']}/{f['runs']} | {cmp} | {p} |")
    return "\n".join(lines)


def costs_table(costs: pd.DataFrame) -> str:
    lines = ["| cell | units | RTRL (us per model-step) | window 16 | RTRL / window 16 |",
             "|---|---|---|---|---|"]
    for _, c in costs.iterrows():
        lines.append(f"| {c['cell'].upper()} | {int(c['H'])} | {c['rtrl_us']:.1f} | "
                     f"{c['window16_us']:.1f} | {c['ratio']:.1f} |")
    return "\n".join(lines)


def _headline(v: dict) -> str:
    k, b = v["lstar"]["rtrl"], v["bits"]["rtrl"]
    pooled = (f"pooled over the {k['networks']} networks, {k['only_gradient']} run pairs "
              f"memorized only under RTRL and {k['only_base']} only under the window "
              f"(exact p = {k['pooled_p']:.2g})")
    bits = (f"where neither memorized, RTRL stored ×{b['median']:.2f} the window's bits "
            f"(median over networks; below 1 in {b['below_one']} of {b['networks']}, "
            f"significantly fewer in {b['fewer']}, more in {b['more']})")
    if v["answer"] == "no":
        return ("**No detectable effect.** At these widths and learning rates, RTRL run online "
                "memorizes no longer sequences than a 16-step window: no network differs "
                f"significantly ({pooled}), and {bits}.")
    if v["answer"] == "yes":
        return (f"**Yes.** RTRL run online memorizes longer sequences than the 16-step window "
                f"in {k['longer']} of {k['networks']} networks ({pooled}): truncation limits "
                "online memorization here.")
    return (f"**Not in general.** RTRL memorizes more in {k['longer']} of {k['networks']} "
            f"networks and less in {k['shorter']} ({pooled}); {bits}.")


def _answer(v: dict) -> list[str]:
    out = [_headline(v), ""] if v.get("answer") else []
    for grad, k in v.get("lstar", {}).items():
        largest = "; ".join(f"{r['network']} {r['only_gradient']} / {r['only_base']} "
                            f"(p = {r['p']:.2g})" for r in k["largest"])
        out.append(f"- {gradient_name(grad)} against the 16-step window, run pairs memorized "
                   f"by only one of the two: significantly more under {gradient_name(grad)} "
                   f"in {k['longer']} of {k['networks']} networks, fewer in {k['shorter']}; "
                   f"pooled {k['only_gradient']} / {k['only_base']} (p = {k['pooled_p']:.2g}); "
                   f"the most uneven: {largest}.")
    for grad, b in v.get("bits", {}).items():
        out.append(f"- Bits stored where neither memorized, {gradient_name(grad)} over window "
                   f"16: median ×{b['median']:.3f} over networks ({b['low']:.3f} to "
                   f"{b['high']:.3f}); below 1 in {b['below_one']} of {b['networks']}, "
                   f"significantly fewer in {b['fewer']}, more in {b['more']} (exact sign-flip "
                   "over sequences; networks of one width share their sequences).")
    for grad, sp in v.get("speed", {}).items():
        out.append(f"- Steps to memorize, {gradient_name(grad)} against window 16 (run pairs, a "
                   f"run never memorized counts as later): significantly sooner in "
                   f"{sp['faster']}, later in {sp['slower']} of {sp['networks']} networks "
                   f"(sign test, p < 0.05, {sp['networks']} tests uncorrected); median "
                   f"×{sp['median']:.2f} where both memorized.")
    for f in v.get("fresh", []):
        out.append(f"- The check on fresh sequences (`rtrl_fresh`, {f['network']} at "
                   f"{f['length']} letters, {f['sequences']} new sequences): RTRL memorized "
                   f"{f['rtrl']}/{f['runs']} runs, the window {f['window']}/{f['runs']}; RTRL "
                   f"memorized more seeds of {f['more']} sequences and fewer of {f['fewer']} "
                   f"(p = {f['p']:.2g}): the sweep's most uneven network "
                   + ("replicates." if f["replicates"] else "does not replicate."))
    for c in v.get("cases", []):
        rt = ("no median within the budget" if math.isinf(c["rtrl_median"])
              else f"median {c['rtrl_median']:.0f} epochs")
        ep = ("no median within the budget" if math.isinf(c["epoch_median"])
              else f"median {c['epoch_median']:.0f} epochs")
        out.append(f"- Notebook {c['case']}: RTRL memorized {c['rtrl']}/{c['runs']} runs "
                   f"({rt}), the stale-activation BPTT {c['epoch']}/{c['runs']} ({ep}); RTRL "
                   f"sooner for {c['sooner']} seeds, later for {c['later']} (sign test p = "
                   f"{c['p']:.2g}).")
    return out


def rtrl_section(r: Rtrl | None) -> str:
    if r is None:
        return ""
    lines = ["## Is online memorization limited by the truncation of its gradient? (RTRL)", "",
             "The `rtrl` sweep trains each sequence and seed three times with everything equal "
             "but the gradient: real-time recurrent learning (`bptt=\"rtrl\"`: the state's "
             "sensitivity to every recurrent weight carried from the reset, each step's "
             "Jacobian at that step's weights), a 16-step window (the frontier's and the "
             "capacity study's) and a 4-step window. The frontier's protocol otherwise: 26 "
             "letters, 200k steps, an evaluation every 500 steps (every epoch from 512 letters "
             "on), preset clean. The LSTM at the capacity study's lr per width (4 units 3e-3, "
             "8 and 16 units 1e-3); the GRU and the RNN at 1e-3, the lr the capacity study "
             "chose for its GRU 10 and RNN 19, not tuned per width here; RTRL at the window's "
             "lr, also not tuned. Lengths at half-octave steps, 3 independent sequences per "
             "length (fewer than the five the other frontier specs use) x 2 seeds.", "",
             "L* is given as the tested lengths that bracket it (the grid steps by x1.41; an "
             "interpolated point would claim more). Gradients are compared run by run: the "
             "pairs (same length, sequence and seed) that only one of two gradients memorized, "
             "with an exact test; bits stored where neither memorized, per sequence, with an "
             "exact sign-flip test.", "",
             "Run online, RTRL is exact only for the weights it is computed at: with an Adam "
             "step after every letter the sensitivities it carries mix Jacobians taken at "
             "earlier weights, which a window forgets after k steps. Why it stores slightly "
             "fewer bits than the 16-step window where neither memorizes is not tested here; "
             "staleness alone would not explain it, since the 4-step window (the least stale) "
             "stores fewer bits than the 16-step one too. An lr sweep for each gradient would "
             "test it.", "",
             "**The answer in numbers:**", "", *_answer(r.verdicts)]
    if not r.lstar.empty:
        lines += ["", "### L* by gradient", "", lstar_table(r)]
    if not r.bits_beyond.empty:
        lines += ["", "### Bits stored where neither memorized", "",
                  "At and beyond the window's L* bracket, the run pairs (same sequence and "
                  "seed) that neither gradient memorized: the ratio of their bits stored after "
                  "200k steps; per sequence the geometric mean over its seeds, then over "
                  "sequences.", "", bits_table(r)]
    if not r.speed.empty:
        lines += ["", "### Steps to memorize", "", speed_table(r)]
    if not r.fresh.empty:
        lines += ["", "### The check on fresh sequences", "",
                  "The `rtrl_fresh` spec reruns the network and length where the exact gradient "
                  "moved L* by a grid step on sequences no other spec uses, both gradients on "
                  "the same sequences and seeds.", "", fresh_table(r)]
    if not r.cases.empty:
        lines += ["", "### The notebook's stateful cases: RTRL against the notebook's "
                  "stale-activation BPTT", "",
                  "Notebook options (32 units, lr 1e-3, Softmax into the loss, probability "
                  "feedback, 1000 epochs), 10 seeds, the same seeds under both gradients. "
                  "Case 7 (128 units) is not run: one RTRL step there is about 5e9 "
                  "multiply-adds.", "", cases_table(r)]
    if not r.costs.empty:
        lines += ["", "### What the exact gradient costs", "",
                  "The compiled kernel, P = 2, a 256-letter sequence; both columns from one "
                  "benchmark run (`results/steptime.csv`). RTRL's step is flat in length; its "
                  "cost grows as G H^2 |theta|, about H^4.", "", costs_table(r.costs)]
    return "\n".join(lines)
