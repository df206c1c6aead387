"""The RTRL section of REPORT.md (analysis.rtrl): formatting only."""

from __future__ import annotations

import math

import pandas as pd

from analysis.rtrl import Rtrl, gradient_name


def _ci(v: float, lo: float, hi: float, fmt: str = ".2f") -> str:
    if any(math.isnan(x) for x in (lo, hi)):
        return f"{v:{fmt}}"
    return f"{v:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def _lstar(r) -> str:
    bound = {"<": "below ", ">": "beyond "}.get(r["bound"], "")
    return f"{bound}{r['L_star']:.0f} [{r['lo']:.0f}, {r['hi']:.0f}]"


def lstar_table(r: Rtrl) -> str:
    lines = ["| network | parameters | lr | L*, RTRL | L*, window 16 | L*, window 4 | "
             "RTRL / window 16 | window 4 / window 16 |", "|---|---|---|---|---|---|---|---|"]
    for (cell, units), g in r.lstar.groupby(["cell", "units"], sort=True):
        by = g.set_index("gradient")
        ratios = r.paired[(r.paired["cell"] == cell) & (r.paired["units"] == units)]
        ratio = {row["gradient"]: _ci(row["ratio"], row["lo"], row["hi"])
                 for _, row in ratios.iterrows()}
        cells = [_lstar(by.loc[k]) if k in by.index else "" for k in ("rtrl", "16", "4")]
        lines.append(f"| {cell.upper()} {units} | {int(by['params'].iloc[0]):,} | "
                     f"{by['lr'].iloc[0]:g} | " + " | ".join(cells)
                     + f" | {ratio.get('rtrl', '')} | {ratio.get('4', '')} |")
    return "\n".join(lines)


def bits_table(r: Rtrl) -> str:
    lines = ["| network | gradient | lengths (sequences) at and beyond window 16's L* | bits "
             "stored / window 16's [95% CI over sequences] | per-length means, lowest to "
             "highest |", "|---|---|---|---|---|"]
    for _, b in r.bits_beyond.iterrows():
        lines.append(f"| {b['cell'].upper()} {b['units']} | {gradient_name(b['gradient'])} | "
                     f"{b['lengths']} from {b['from_length']} ({b['sequences']}) | "
                     f"{_ci(b['ratio'], b['lo'], b['hi'], '.3f')} | "
                     f"{b['lowest']:.2f} to {b['highest']:.2f} |")
    return "\n".join(lines)


def speed_table(r: Rtrl) -> str:
    lines = ["| network | gradient | runs both memorized | steps to memorize / window 16's "
             "(median [quartiles]) | sooner | later | sign test p |", "|---|---|---|---|---|---|---|"]
    for _, s in r.speed.iterrows():
        lines.append(f"| {s['cell'].upper()} {s['units']} | {gradient_name(s['gradient'])} | "
                     f"{s['pairs']} | {s['median_ratio']:.2f} [{s['q25']:.2f}, {s['q75']:.2f}] | "
                     f"{s['faster']} | {s['slower']} | {s['sign_p']:.2g} |")
    return "\n".join(lines)


def cases_table(r: Rtrl) -> str:
    lines = ["| case | sequence | gradient | memorized | Kaplan-Meier median epochs [95% CI] | "
             "median final loss |", "|---|---|---|---|---|---|"]
    for _, c in r.cases.iterrows():
        med = ("not reached" if math.isinf(c["median_epochs"]) else
               _ci(c["median_epochs"], c["median_lo"], c["median_hi"], ".0f"))
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
    n = k["longer"] + k["shorter"] + k["unresolved"]
    tail = (f"the frontier L* is the window's within the grid's resolution in "
            f"{k['unresolved']} of {n} networks, and at and beyond it the exact gradient stores "
            f"×{b['median']:.2f} the window's bits (median over networks; more in none).")
    if v["answer"] == "no":
        return "**No.** At these widths the exact online gradient does not carry online " \
               "memorization further than a 16-step window: " + tail
    if v["answer"] == "yes":
        return (f"**Yes.** The exact online gradient reaches a longer L* than the 16-step window "
                f"in {k['longer']} of {n} networks: truncation limits online memorization here.")
    return ("**Not in general.** The exact gradient helps in some networks and not in others: "
            + tail)


def _answer(v: dict) -> list[str]:
    out = [_headline(v), ""] if v.get("answer") else []
    for grad, k in v.get("lstar", {}).items():
        lo, hi = k["range"]
        which = "; ".join(f"{r['kind']}: {r['network']} ×{r['ratio']:.2f} [{r['lo']:.2f}, "
                          f"{r['hi']:.2f}]" for r in k.get("resolved", []))
        out.append(f"- {gradient_name(grad)} against the 16-step window: L* longer in "
                   f"{k['longer']}, shorter in {k['shorter']}, not resolved in {k['unresolved']} "
                   f"of {k['longer'] + k['shorter'] + k['unresolved']} networks (longer: the "
                   f"tested lengths that bracket its L* lie wholly above the window's); paired "
                   f"ratios {lo:.2f} to {hi:.2f}, median {k['median']:.2f}"
                   + (f" ({which})" if which else "") + ".")
    for grad, b in v.get("bits", {}).items():
        out.append(f"- Bits stored at and beyond the window's L*, {gradient_name(grad)} over "
                   f"window 16: median {b['median']:.3f} over networks ({b['low']:.3f} to "
                   f"{b['high']:.3f}); the 95% interval lies below 1 in {b['ci_below_one']}, "
                   f"above 1 in {b['ci_above_one']} of {b['networks']}.")
    for grad, sp in v.get("speed", {}).items():
        out.append(f"- Steps to memorize, {gradient_name(grad)} over window 16 where both "
                   f"memorized: median {sp['median']:.2f} over networks; significantly fewer "
                   f"steps in {sp['faster']}, more in {sp['slower']} of {sp['networks']} "
                   "(sign test over runs, p < 0.05).")
    for c in v.get("cases", []):
        rt = "not reached" if math.isinf(c["rtrl_median"]) else f"{c['rtrl_median']:.0f}"
        ep = "not reached" if math.isinf(c["epoch_median"]) else f"{c['epoch_median']:.0f}"
        out.append(f"- Notebook {c['case']}: RTRL memorized {c['rtrl']}/{c['runs']} runs "
                   f"(median {rt} epochs), the stale-activation BPTT {c['epoch']}/{c['runs']} "
                   f"(median {ep}); RTRL sooner for {c['sooner']} seeds, later for "
                   f"{c['later']}.")
    return out


def rtrl_section(r: Rtrl | None) -> str:
    if r is None:
        return ""
    lines = ["## Is online memorization limited by the truncation of its gradient? (RTRL)", "",
             "The `rtrl` sweep trains each sequence and seed three times with everything equal "
             "but the gradient: the exact online gradient (real-time recurrent learning, "
             "`bptt=\"rtrl\"`: the state's sensitivity to every recurrent weight carried from "
             "the reset, each step's Jacobian at that step's weights), a 16-step window (the "
             "frontier's and the capacity study's) and a 4-step window. The frontier's protocol: "
             "26 letters, 200k steps, evaluation every 500 steps, preset clean, each width at the "
             "capacity study's lr; lengths at half-octave steps, 3 independent sequences x 2 "
             "seeds per length. L* is the isotonic crossing of 1/2; its interval is the "
             "bootstrap's widened to the tested lengths either side. Ratios of L* resample the "
             "sequences of every length once for all gradients (paired); the grid steps by "
             "x1.41, so a ratio's interval narrower than that is the grid's resolution, not "
             "precision, and a gradient counts as reaching a longer L* only when the tested "
             "lengths bracketing its L* lie wholly above the window's. Three sequences per "
             "length (fewer than the five the other frontier specs use) and two seeds each.",
             "",
             "RTRL is exact for the weights it is computed at: with an Adam step after every "
             "letter, the sensitivities it carries mix Jacobians taken at earlier weights, "
             "which a window forgets after k steps. Why the exact gradient stores slightly "
             "fewer bits than the window where neither memorizes is not tested here; those "
             "stale sensitivities are a hypothesis.", "",
             "**The answer in numbers:**", "", *_answer(r.verdicts)]
    if not r.lstar.empty:
        lines += ["", "### L* by gradient", "", lstar_table(r)]
    if not r.bits_beyond.empty:
        lines += ["", "### Bits stored where the window no longer memorizes", "",
                  "Per sequence, the seeds' mean bits stored at the end of the run (after 200k "
                  "steps where a run did not memorize), divided by the "
                  "window's on the same sequence; the geometric mean over the sequences of the "
                  "lengths at and beyond the window's L* bracket, with a t interval over them.",
                  "",
                  bits_table(r)]
    if not r.speed.empty:
        lines += ["", "### Steps to memorize, where both memorized", "", speed_table(r)]
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
