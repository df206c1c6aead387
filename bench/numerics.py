"""Did a code change change any record? Snapshot a battery of records, change, compare.

    python -m bench.numerics snapshot before.json    # on the old code
    python -m bench.numerics snapshot after.json     # on the new code
    python -m bench.numerics compare before.json after.json

The battery: every cell (LSTM, GRU, RNN) on three sequences, at widths that are and are
not multiples of the vector width, with the state kept or reset per letter, full-epoch
and windowed BPTT, both losses and both feedbacks, offline training and online training
with a schedule and clipping, 3 seeds each, 30 epochs with 200 per-step losses traced.
If any record or step loss differs in any bit, the change can change a record: bump that
kernel's numerics version (seqmem.provenance) in the same commit. Records are tied to the
CPU, so compare snapshots made on one machine.
"""

from __future__ import annotations

import argparse
import json
import sys

from seqmem.config import CELLS, preset

VOLATILE = {"wall_time_s", "git_commit", "git_dirty"}
OPTIONS = ({}, {"reset": "char"}, {"bptt": 3, "loss": "logits"},
           {"feedback": "onehot", "lr": 0.01}, {"bptt": 1},
           # the capacity study's: offline (the torch path), online with a schedule and clipping
           {"update": "chunk", "chunk": 8, "schedule": "cosine", "warmup": 0.1, "clip": 0.5,
            "lr": 0.01},
           {"bptt": 4, "schedule": "cosine", "clip": 0.1, "stop": "budget"},
           # RTRL: the compiled kernel, and the torch one (a schedule sends it there)
           {"bptt": "rtrl", "lr": 0.01}, {"bptt": "rtrl", "schedule": "cosine"})


def snapshot(kernel: str | None = None) -> dict[str, list]:
    from seqmem.population import train_population

    out = {}
    for cell in CELLS:
        for seq in ("random30", "ABCABD", "repeatfive"):
            for units in (5, 24, 37):
                for opts in OPTIONS:
                    if opts.get("bptt") == "rtrl" and units > 24:
                        continue  # 37 units' RTRL would make the battery 6x longer
                    configs = [preset("notebook", seq, units=units, seed=s, max_epochs=30,
                                      eval_every=3, cell=cell, **opts) for s in range(3)]
                    for r in train_population(configs, trace_steps=200, kernel=kernel):
                        row = {k: v for k, v in r.to_row().items() if k not in VOLATILE}
                        out[r.config.run_id] = [row, list(r.step_loss)]
    return out


def compare(a: dict, b: dict) -> list[str]:
    """Run ids whose record or step losses differ (or that one snapshot lacks).

    Columns only one snapshot has (a field added between them) are not compared: a new
    column is not a changed record; `added_columns` names them.
    """
    shared = _columns(a) & _columns(b)

    def key(snap: dict, k: str):
        if k not in snap:
            return None
        row, steps = snap[k]
        return {c: v for c, v in row.items() if c in shared}, steps

    return sorted(k for k in set(a) | set(b) if key(a, k) != key(b, k))


def added_columns(a: dict, b: dict) -> list[str]:
    """Columns one snapshot has and the other lacks."""
    return sorted(_columns(a) ^ _columns(b))


def _columns(snap: dict) -> set[str]:
    return set().union(*(row for row, _ in snap.values())) if snap else set()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.numerics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("snapshot", help="write the battery's records to FILE")
    s.add_argument("file")
    s.add_argument("--kernel", choices=("numba", "torch"), default=None)
    c = sub.add_parser("compare", help="compare two snapshots; exit 1 if any record differs")
    c.add_argument("a")
    c.add_argument("b")
    args = p.parse_args(argv)
    if args.command == "snapshot":
        data = snapshot(args.kernel)
        with open(args.file, "w") as fh:
            json.dump(data, fh)
        print(f"{len(data)} records -> {args.file}")
        return 0
    with open(args.a) as fa, open(args.b) as fb:
        a, b = json.load(fa), json.load(fb)
    bad = compare(a, b)
    added = added_columns(a, b)
    if added:
        print(f"columns in one snapshot only, not compared: {', '.join(added)}")
    print(f"{len(bad)} of {len(set(a) | set(b))} records differ" + (": " + ", ".join(bad[:5])
                                                                     if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
