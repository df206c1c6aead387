"""The study's findings: the one list in fit.json that the README's findings and the
report's brief are both rendered from (analysis.findings_report).

Each finding is a dict; its `id` says what it answers. This module selects the numbers
and counts the verdicts: every verdict (a wider network worse, a lower lr reaching
further, a frontier that agrees on fresh sequences, which factor failures come with) was
decided by the module that measured it (widthlr, frontier, design, rtrl, capacity). The
one comparison made here is whether the law's two losses share their length exponent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis.capacity_budget import lr_check_summary
from analysis.capacity_checks import status_counts
from analysis.capacity_paired import PAIRED_COLUMNS
from analysis.lengthlaw import CHECK_TABLES
from analysis.load import records

if TYPE_CHECKING:
    import pandas as pd

    from analysis.capacity import Capacity
    from analysis.pipeline import Analysis

EFFECT = ["loss", "metric", "doubling", "doubling_lo", "doubling_hi"]


def findings(a: Analysis, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of `a`, in the README's order; doc: the rest of fit.json, whose checks
    (validation, predict_check, width_lr_between) and rtrl and usercells entries are
    taken as they are."""
    out: list[dict[str, Any]] = []
    if a.design is not None:
        ds = a.design
        out.append(dict(id="depth_ambiguity", lrs=ds.lrs, effects=records(ds.effects, EFFECT)))
        out.append(dict(id="failures", rows=records(ds.attribution, [
            "loss", "units", "which", "shallow_depth", "shallow_share", "deep_depth",
            "deep_share", "ambiguity_low", "ambiguity_high"])))
    coef = a.law.coefficients.set_index("term")
    if "h1" in coef.index:
        r = coef.loc["h1"]
        out.append(dict(id="entropy_term", estimate=r.estimate, lo=r.lo, hi=r.hi,
                        sequences=a.law.n_sequences, rho=a.h1_ambiguity_correlation))
    if a.width is not None:
        out.append(_width(a))
    if a.frontier is not None and not a.frontier.frontier.empty:
        out.append(_frontier(a))
    if a.capacity is not None:
        cap = a.capacity
        div = cap.divergence.fits if cap.divergence is not None else None
        fresh = cap.divergence.fresh if cap.divergence is not None else None
        out.append(dict(id="capacity", headline=headline(cap), at_chosen=at_chosen(cap),
                        budget_curves=records(cap.budget_curves, list(cap.budget_curves.columns)),
                        budget_lr=records(cap.budget_lr, list(cap.budget_lr.columns)),
                        online_lr=records(cap.online_lr, list(cap.online_lr.columns)),
                        online_lr_specs=cap.online_lr_specs,
                        failed=records(cap.failed, list(cap.failed.columns)),
                        replication=records(cap.replication, list(cap.replication.columns)),
                        saved=records(cap.saved, ["cell", "units", "alphabet_size", "mode",
                                                  "max_epochs", "exposures", "params",
                                                  "bits_per_param", "bpp_lo", "bpp_hi", "status",
                                                  "peak_length", "peak_sequences",
                                                  "unreplicated", "last_length", "measure",
                                                  "lengths_failed",
                                                  "exact_lengths", "proxy_lengths",
                                                  "proxy_status", "lr", "lr_as_chosen"]),
                        saved_ratio=records(cap.saved_ratio, [
                            "cell", "units", "alphabet_size", "offline_lr", "exposures", "ratio",
                            "lo", "hi",
                            "online_measure", "offline_measure", "online_status",
                            "offline_status", "paired", "lengths", "reads_as",
                            *PAIRED_COLUMNS]),
                        saved_bias=records(cap.saved_bias, list(cap.saved_bias.columns)),
                        lr_extended=records(cap.lr_choice[cap.lr_choice["extended"]], [
                            "slice", "lr", "at_edge", "lr_before", "edge_before", "added_lr",
                            "lr_first", "edge_first", "trained_lr",
                            "trained_at_choice"]) if "extended" in cap.lr_choice else [],
                        lr_long=records(cap.lr_choice[cap.lr_choice["lr_short"].notna()], [
                            "slice", "lr", "length", "lr_short", "length_short", "at_edge",
                            "trained_at_choice"]) if "lr_short" in cap.lr_choice else [],
                        joined=cap.joined,
                        lstar=records(cap.lstar, [
                            "cell", "units", "bound", "L_star", "below", "above", "lo", "hi",
                            "lo_open", "bits_per_param", "exposures_at_lstar"]),
                        status=status_counts(cap.end_gain),
                        between=records(cap.between, ["mode", "length", "ratio", "lo", "hi",
                                                      "between"]),
                        lstar_between=cap.lstar_between,
                        divergence=records(div[(div["cell"] == "lstm")
                                               & (div["alphabet_size"] == 26)], [
                            "units", "chosen", "delta_aic", "divergence_identified",
                            "divergence_g", "divergence_lc", "lc_lo", "lc_hi", "lc_open",
                            "longest_memorized", "power_b", "families", "sequences"])
                        if div is not None and len(div) else [],
                        divergence_fresh=records(fresh, list(fresh.columns))
                        if fresh is not None and len(fresh) else []))
    if "rtrl" in doc:
        out.append(dict(id="rtrl", **doc["rtrl"]["verdicts"]))
    if "usercells" in doc:
        out.append(dict(id="usercells", capacity=doc["usercells"]["capacity"]))
    if a.frontier_fresh is not None:
        fresh = a.frontier_fresh
        out.append(dict(id="frontier_fresh", agreeing=int(fresh["agrees"].sum()) if len(fresh)
                        else 0, rows=records(fresh, ["cell", "units", "first_L_star",
                                                     "fresh_L_star", "agrees"])))
    if a.cells is not None:
        out.append(dict(id="cells_difficulty", lrs=a.cells.difficulty_lrs,
                        effects=records(a.cells.effects, ["cell", *EFFECT])))
    out.append(_scaling(a))
    for key in ("validation", "predict_check", "prereg_check", "width_lr_between"):
        if key in doc:
            out.append(dict(id=key, **doc[key]))
    if "length_law" in doc:
        out.append(_length_law(doc["length_law"]))
    if a.options is not None and not a.options.empty:
        logits = a.options[a.options["variant"] == "loss=logits"].sort_values("depth")
        out.append(dict(id="options", logits=records(logits, ["depth", "ratio", "lo", "hi"])))
    return out


def _width(a: Analysis) -> dict[str, Any]:
    """Each width at its best lr and widthlr's summary per loss, with what a longer budget
    gave the widest width (long_budgets)."""
    w = a.width
    by_loss = {}
    for loss, summary in w.by_loss.items():
        late = []
        if a.long_budgets is not None:
            lb = a.long_budgets
            late = records(lb[(lb["loss"] == loss) & (lb["units"] == summary["widest_units"])],
                           ["lr", "share_short", "share_long", "budget"])[:1]
        by_loss[loss] = dict(summary, late=late)
    return dict(id="width", n_sequences=w.n_sequences, by_loss=by_loss,
                best=records(w.best, ["loss", "units", "lr", "edge", "share"]),
                doublings=records(w.steps, ["loss", "narrow", "wide", "difference", "lo", "hi",
                                            "p_exact", "verdict"]))


def _frontier(a: Analysis) -> dict[str, Any]:
    """The most bits shown; the lower lr against the higher (verdicts, the LSTM's brackets
    at the lower lr and its L* at the higher); more steps at the lower lr; the GRU and the
    RNN beside the LSTM of their size."""
    f = a.frontier
    front = f.frontier
    out: dict[str, Any] = dict(id="frontier", most_shown={k: f.most_shown[k] for k in (
        "cell", "units", "alphabet_size", "lr", "budget_steps", "bits_shown",
        "bits_per_param")})
    le = f.lr_effect
    if len(le):
        low, high, steps = le["lr_to"].iloc[0], le["lr_from"].iloc[0], le["budget_steps"].iloc[0]
        lstm = front[(front["cell"] == "lstm") & (front["budget_steps"] == steps)]
        at_low = lstm[lstm["lr"] == low].sort_values(["alphabet_size", "units"])
        at_high = lstm[lstm["lr"] == high].sort_values(["alphabet_size", "units"])
        longer = le[le["verdict"] == "longer"]
        out["lr_effect"] = dict(
            budget_steps=steps, lr_from=high, lr_to=low,
            rows=records(le, ["units", "alphabet_size", "L_ratio", "lo", "hi", "verdict"]),
            longer=len(longer), longer_from_units=int(longer["units"].min()) if len(longer)
            else None,
            brackets=records(at_low, ["alphabet_size", "units", "L_below", "L_above"]),
            higher=records(at_high, ["alphabet_size", "units", "L_star"]),
            widths=sorted(int(u) for u in at_high["units"].unique()))
        be = f.budget_effect[f.budget_effect["lr"] == low]
        if len(be):
            out["budget_effect"] = dict(
                lr=low, budget_steps_from=be["budget_steps_from"].iloc[0],
                budget_steps_to=be["budget_steps_to"].iloc[0],
                unresolved=int((be["verdict"] == "unresolved").sum()),
                rows=records(be, ["units", "alphabet_size", "budget_steps_from",
                                  "budget_steps_to", "L_from", "L_to", "L_ratio", "lo", "hi",
                                  "verdict"]))
    c = f.cells
    if not c.empty:
        out["cells"] = dict(lrs=sorted(float(x) for x in c["lr"].unique()),
                            counts=f.cell_verdicts,
                            rows=records(c, ["cell", "units", "ratio", "lo", "hi", "verdict"]))
    return out


def _scaling(a: Analysis) -> dict[str, Any]:
    """The law's local exponents, whether one length term serves both losses, the grid's
    own best lrs under the notebook's loss, and the measured cost of a step per width."""
    ex = a.elasticities.set_index(["loss", "covariate"])
    shared = (("softmax", "length") in ex.index and ("logits", "length") in ex.index
              and abs(ex.loc[("softmax", "length"), "exponent"]
                      - ex.loc[("logits", "length"), "exponent"]) < 1e-9)
    best = [] if a.width is None else records(
        a.width.best[a.width.best["loss"] == "softmax"].sort_values("units"), ["units", "lr"])
    cost = [] if a.speed is None else records(a.speed.sort_values("units"), ["units", "median"])
    return dict(id="scaling", shared_length=bool(shared), grid_best_lrs=best, step_costs=cost,
                exponents=records(a.elasticities, ["loss", "covariate", "exponent", "lo",
                                                   "hi"]))


def headline(cap: Capacity) -> list[dict]:
    """Per network, at the largest exposure both updates reached: bits per parameter online
    (window 16) and offline, and online as a fraction of offline (the README's line)."""
    out = []
    for _, r in cap.online_offline.iterrows():
        last = cap.online_offline[(cap.online_offline["cell"] == r["cell"])
                                  & (cap.online_offline["units"] == r["units"])
                                  & (cap.online_offline["alphabet_size"] == r["alphabet_size"])]
        if r["exposures"] != last["exposures"].max():
            continue
        rows = cap.capacity[(cap.capacity["cell"] == r["cell"]) & (cap.capacity["units"] == r["units"])
                            & (cap.capacity["alphabet_size"] == r["alphabet_size"])
                            & (cap.capacity["exposures"] == r["exposures"])].set_index("mode")
        on, off = rows.loc["online k=16"], rows.loc["offline"]
        out.append(dict(cell=r["cell"], units=int(r["units"]), alphabet_size=int(r["alphabet_size"]),
                        params=int(r["params"]), exposures=int(r["exposures"]),
                        online=float(on["bits_per_param"]), online_lo=float(on["bpp_lo"]),
                        online_hi=float(on["bpp_hi"]), online_rising=bool(on["rising"]),
                        offline=float(off["bits_per_param"]), offline_lo=float(off["bpp_lo"]),
                        offline_hi=float(off["bpp_hi"]), offline_rising=bool(off["rising"]),
                        ratio=float(r["ratio"]), ratio_lo=float(r["lo"]), ratio_hi=float(r["hi"])))
    return out


def _length_law(ll: dict[str, Any]) -> dict[str, Any]:
    """The law across length: what it rests on and, per check, the law's scores against
    the design baseline and the law without its structure terms, with the check's verdict
    by provenance."""
    verdict = {t["table"]: t["verdict"] for t in ll["preregistration"]["tables"]}
    checks = []  # a list in CHECK_TABLES' order: fit.json sorts a dict's keys
    for name in [n for n in CHECK_TABLES if n in ll["checks"]]:
        c = ll["checks"][name]
        law = next((r for r in c["scores"] if r["forecast"] == "law"), None)
        gain = c["structure_gain"][0] if c["structure_gain"] else None
        met = c["verdicts"][0] if c.get("verdicts") else {}
        checks.append(dict(table=name, runs=c["runs"], cells=c["cells"], law=law, gain=gain,
                           brier_vs_design=c["brier_vs_design"], verdict=verdict.get(name),
                           factor_met=met.get("median_factor"), brier_met=met.get("brier")))
    lengths = [r["length"] for r in ll["lengths"]]
    return dict(id="length_law", name=ll["name"], runs=ll["n_runs"],
                sequences=ll["n_sequences"], shortest=min(lengths), longest=max(lengths),
                longest_checked=ll.get("longest_checked"), checks=checks)


def best_budget(own: pd.DataFrame, longer: pd.DataFrame) -> dict:
    """Per offline network, the most bits per parameter any budget it trained stored (its own,
    or a longer one that did not fail): the range over networks, and how many networks a
    longer budget raised."""
    import pandas as pd

    net = ["cell", "units", "alphabet_size"]
    ok = longer[~longer["failed"].astype(bool)][[*net, "bits_per_param"]]
    both = pd.concat([own[[*net, "bits_per_param"]].assign(longer=False), ok.assign(longer=True)])
    best = both.sort_values("bits_per_param").groupby(net).tail(1)
    return dict(lo=float(best["bits_per_param"].min()), hi=float(best["bits_per_param"].max()),
                networks=len(best), raised=int(best["longer"].sum()))


def longer_budgets(curves: pd.DataFrame, online_lr: pd.DataFrame | None = None) -> list[dict]:
    """Per longer offline budget: how many networks' plateaus exceed their 300-exposure
    capacity (the interval above 1; and how many by the paired t interval at the short
    curve's peak length), their range, how many are alike or failed to train,
    the bits per parameter the trained ones reach, which of those curves are still
    bounds (rising, or a single length), and online over offline at that budget, with
    online's own lr check there (`online_lr`, analysis.capacity_online_lr's rows)."""
    from analysis.capacity_budget import online_lr_status
    from analysis.code_length import LOWER_BOUND

    out = []
    for budget, part in curves.groupby("max_epochs", sort=True):
        ok = part[~part["failed"]]
        more = ok[ok["over_short_lo"] > 1]
        equal = ok[ok["online_ratio"].notna()] if "online_ratio" in ok else ok.iloc[:0]
        out.append(dict(
            budget=int(budget), networks=len(part), more=len(more),
            lo=float(more["over_short"].min()) if len(more) else None,
            hi=float(more["over_short"].max()) if len(more) else None,
            alike=int(((ok["over_short_lo"] <= 1) & (ok["over_short_hi"] >= 1)).sum()),
            peak_excludes=int((more["at_peak_lo"] > 1).sum()) if "at_peak_lo" in more else 0,
            at_shortest=int(ok["at_shortest"].sum()),
            shortest_names=[dict(cell=r["cell"], units=int(r["units"]),
                                 alphabet_size=int(r["alphabet_size"]))
                            for _, r in ok[ok["at_shortest"].astype(bool)].iterrows()],
            bound_names=[dict(cell=r["cell"], units=int(r["units"]),
                              alphabet_size=int(r["alphabet_size"]), status=r["status"])
                         for _, r in ok[ok["status"].isin([*LOWER_BOUND, "one length"])].iterrows()],
            failed=[dict(cell=r["cell"], units=int(r["units"]),
                         alphabet_size=int(r["alphabet_size"]), ratio=float(r["over_short"]),
                         prev=int(r["prev_budget"] if r.get("over_prev_hi", 2.0) < 1
                                  else r["short_budget"]),
                         prev_ratio=(float(r["over_prev"]) if r.get("over_prev_hi", 2.0) < 1
                                     else float(r["over_short"])))
                    for _, r in part[part["failed"]].iterrows()],
            over_prev=[dict(cell=r["cell"], units=int(r["units"]),
                            alphabet_size=int(r["alphabet_size"]), prev=int(r["prev_budget"]),
                            ratio=float(r["over_prev"]), lo=float(r["over_prev_lo"]),
                            hi=float(r["over_prev_hi"]))
                       for _, r in ok.iterrows()
                       if "over_prev" in ok and r["over_prev"] == r["over_prev"]],
            bpp_lo=float(ok["bits_per_param"].min()), bpp_hi=float(ok["bits_per_param"].max()),
            equal_online=[dict(cell=r["cell"], units=int(r["units"]),
                               alphabet_size=int(r["alphabet_size"]), ratio=float(r["online_ratio"]),
                               lo=float(r["online_lo"]), hi=float(r["online_hi"]),
                               lr_bracketed=bool(r.get("lr_neighbours", 0) >= 2
                                                 and r.get("lr_neighbours_more", 0) == 0),
                               online_lr=online_lr_status(online_lr, r))
                          for _, r in equal.iterrows()]))
    return out


def at_chosen(cap: Capacity) -> dict | None:
    """The capacities and online/offline ratios at each curve's chosen lr, at the end of its
    budget: the range of each (bits per parameter), with how many are lower bounds."""
    from analysis.code_length import LOWER_BOUND, at_chosen_lr

    if cap.saved.empty:
        return None
    end = at_chosen_lr(cap.saved)
    end = end[end["exposures"] == end["max_epochs"]]
    out = {}
    for name, mode in (("offline", "offline"), ("online", "online k=16")):
        part = end[end["mode"] == mode]
        out[name] = dict(lo=float(part["bits_per_param"].min()),
                         hi=float(part["bits_per_param"].max()), curves=len(part),
                         bounds=int(part["status"].isin(LOWER_BOUND).sum()),
                         budgets={int(k): int(n) for k, n in
                                  part["max_epochs"].value_counts().sort_index().items()})
    # online curves that still store more at 1000 than at 300 exposures (capacity_verdicts)
    out["online"]["budget_gains"] = sorted(
        float(v["budget_gain_300_to_1000"]) for v in cap.verdicts if v.get("budget_grows"))
    if len(cap.budget_curves):  # the 300-exposure offline networks at longer budgets
        out["offline"]["best_budget"] = best_budget(end[end["mode"] == "offline"],
                                                    cap.budget_curves)
        out["offline"]["longer_budget"] = longer_budgets(cap.budget_curves, cap.online_lr)
        out["offline"]["longer_budget_lr"] = records(cap.budget_lr, list(cap.budget_lr.columns))
        out["offline"]["longer_budget_lr_summary"] = lr_check_summary(cap.budget_lr)
        out["offline"]["longer_budgets_n"] = len(cap.budget_curves)
    ratio = cap.saved_ratio[~cap.saved_ratio["reads_as"].str.contains("not at the lr chosen")] \
        if len(cap.saved_ratio) else cap.saved_ratio
    out["ratio"] = dict(lo=float(ratio["ratio"].min()), hi=float(ratio["ratio"].max()),
                        networks=len(ratio),
                        plateaus=int((ratio["reads_as"] == "neither side rising").sum()),
                        exact=int(ratio["paired_lo"].notna().sum()),
                        exact_below=int((ratio["paired_hi"] < 1).sum())) \
        if len(ratio) else None
    return out

