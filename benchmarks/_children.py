"""What bench_sparse.py and bench_fraud.py share: each contender trains in a child
process of the script (``script --child NAME``) whose environment limits every
framework to the same thread count (fastnn.bench.harness.child_env: OMP/MKL/
OpenBLAS variables, XLA flags; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset,
KERAS_BACKEND=jax), and prints one JSON line: its timed epochs, last loss, the
BLAS pools threadpoolctl sees, and extras.  Rounds run the children in turn, so
the noise of a shared machine spreads over all of them."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import _common as C

# isort: split
from fastnn.bench.harness import child_env


def epoch_timer(base):
    """A callback (subclass of `base`, fastnn's or Keras's) keeping each epoch's
    seconds, on_epoch_begin → on_epoch_end: the whole batch loop, validation included."""
    class EpochTimer(base):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t0)
    return EpochTimer()


def report(seconds, loss, **extra):
    """The child's JSON line (on stdout, last)."""
    print(json.dumps({"seconds": seconds, "loss": loss, "pools": C.threadpool_summary(),
                      **extra}))


def run_rounds(script, names, args, extra_cols=()):
    """Runs the children of `script` --rounds times; prints each child's epochs, the
    BLAS pools and the table of median epoch seconds with the ratio to names[0].
    `extra_cols`: (header, key) pairs of numbers a child reports, shown as medians."""
    env = child_env(dict(os.environ), args.threads, keep_blas_env=False)
    env["KERAS_BACKEND"] = "jax"
    results = {n: [] for n in names}
    outs = {n: [] for n in names}
    width = max(map(len, names))
    for r in range(args.rounds):
        for n in names:
            p = subprocess.run([sys.executable, script, "--child", n, "--epochs",
                                str(args.epochs), "--threads", str(args.threads)],
                               env=env, capture_output=True, text=True)
            if p.returncode != 0:
                print(f"{n}: failed\n{p.stderr[-2000:]}")
                continue
            out = json.loads(p.stdout.strip().splitlines()[-1])
            results[n] += out["seconds"]
            outs[n].append(out)
            more = "".join(f" {h} {out[k]:.3f}" for h, k in extra_cols if out.get(k))
            print(f"round {r + 1} {n:{width}s} epochs {['%.3f' % s for s in out['seconds']]} "
                  f"loss {out['loss']:.4g}{more}", flush=True)
    for n in names:
        for pool in outs[n][0]["pools"] if outs[n] else []:
            print(f"  {n:{width}s} pool: {pool}")
    base = C.median(results[names[0]]) if results.get(names[0]) else None
    rows = []
    for n in names:
        if not results[n]:
            continue
        med = C.median(results[n])
        row = [n, f"{med:.3f}", f"{min(results[n]):.3f}", f"{med / base:.2f}x" if base else "-"]
        for _, k in extra_cols:
            vals = [o[k] for o in outs[n] if o.get(k)]
            row.append(f"{C.median(vals):.3f}" if vals else "-")
        rows.append(row)
    print(C.fmt_table(["contender", "epoch s (median)", "min", f"vs {names[0]}",
                       *(h for h, _ in extra_cols)], rows))


def main(script, doc, contenders, default, child, describe, extra_cols=()):
    """A benchmark script's command line: ``--child NAME`` runs `child(name, epochs,
    threads)` (which ends with report()); otherwise prints the machine report and
    `describe()`, then runs the rounds of the contenders in --only (default `default`)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--only", default=",".join(default))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.epochs, args.threads)
    names = [n for n in args.only.split(",") if n]
    for n in names:
        if n not in contenders:
            ap.error(f"unknown contender {n!r}; expected some of {contenders}")
    print(C.machine_report(f"{args.threads} per framework (child environments)", probe=False))
    print(f"data        : {describe()}")
    run_rounds(script, names, args, extra_cols)
