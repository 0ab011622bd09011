"""One peer, one workload, one thread count, in a fresh process:

    python -m fastnn.bench._child <peer> <workload>[,<workload>...] <threads> --folder DIR [...]

prints one JSON line per workload on stdout (anything the frameworks print goes to
stderr).  A quick run gives a peer all its workloads at one thread count in one
process (imports and start-up paid once); a full run, one process per workload.
The parent has already set the thread environment variables and the CPU
affinity this process started with; data and initial weights come from DIR.

Per case: build the model from the suite's weights, record its outputs on the
first 8 rows (the parent checks that every framework computes the same
function), time the warm-up (first epoch or first call: JIT compilation,
allocation), choose the work per window (whole epochs, or a block of calls)
so that one window lasts about ``--window-seconds``, then time ``--windows``
quiet windows (see harness).  Latency windows are blocks of m calls in a
Python ``for`` loop: the loop's own ~20-30 ns per call is in every peer's
figure, and in the no-op call's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback

import numpy as np

from . import harness, workloads
from .peers import module
from .peers import unsupported as peer_unsupported

CHECK_ROWS = 8


def _windows(work, args, cpus):
    return harness.run_windows(work, args.windows, args.max_retries, cpus)


def _train_case(mod, case, args, cpus):
    net = workloads.NETS[case.net]
    data = workloads.load_data(args.folder, case.data)
    weights = workloads.load_weights(args.folder, case.net)
    tr = mod.trainer(args.peer, case, net, data, weights, args.seed)
    check = np.asarray(tr.predict(data["X"][:CHECK_ROWS]), dtype=np.float64)
    t0 = time.perf_counter()
    tr.train(1)
    warm = time.perf_counter() - t0
    if warm >= 3 * args.window_seconds and args.peer not in getattr(mod, "JIT", ()):
        k = 1  # a window is at least one epoch, and this one is surely long enough
    else:  # the warm-up may be mostly compilation: size the windows on a 2nd epoch
        t0 = time.perf_counter()
        tr.train(1)
        k = max(1, round(args.window_seconds / (time.perf_counter() - t0)))
    wins = _windows(lambda: tr.train(k), args, cpus)
    n = len(data["X"])
    res = {"values": [k * n / w["seconds"] for w in wins], "windows": wins, "warmup_s": warm,
           "work_per_window": f"{k} epoch(s) of {n} rows", "rows": n, "check": check.tolist()}
    if args.accuracy_epochs and "X_test" in data:
        fresh = mod.trainer(args.peer, case, net, data, weights, args.seed)
        fresh.train(args.accuracy_epochs)
        pred = np.asarray(fresh.predict(data["X_test"])).argmax(axis=1)
        res["test_accuracy"] = float(np.mean(pred == data["y_test"]))
        res["accuracy_epochs"] = args.accuracy_epochs
    return res


def _call_case(mod, case, args, cpus):
    if case.kind == "noop":
        fn, rows, check = mod.predictor(args.peer, case, None, None, None), 1, None
    else:
        net = workloads.NETS[case.net]
        X = workloads.load_data(args.folder, case.data)["X"]
        rows = case.batch
        if rows > len(X):
            raise ValueError(f"{case.id} needs {rows} rows; the data set has {len(X)}")
        x = np.ascontiguousarray(X[:rows])
        fn = mod.predictor(args.peer, case, net, workloads.load_weights(args.folder, case.net), x)
        check = None
    t0 = time.perf_counter()
    first = fn()
    warm = time.perf_counter() - t0
    if case.kind != "noop":
        check = np.asarray(first, dtype=np.float64)[:CHECK_ROWS].tolist()
    m = harness.calls_for(fn, args.window_seconds)

    def block():
        for _ in range(m):
            fn()
    wins = _windows(block, args, cpus)
    if case.kind == "batch":
        values = [m * rows / w["seconds"] for w in wins]
    else:
        values = [w["seconds"] / m * 1e6 for w in wins]
    return {"values": values, "windows": wins, "warmup_s": warm, "rows": rows,
            "work_per_window": f"{m} call(s) of {rows} row(s)", "check": check}


def _peak_case(mod, case, args, cpus):
    n = mod.peak_size(args.quick)
    out = []
    for lib, fn in mod.sgemm_products(n, args.seed).items():
        t0 = time.perf_counter()
        fn()
        warm = time.perf_counter() - t0
        k = max(1, round(args.window_seconds / mod.best_of(fn)))

        def block(fn=fn, k=k):
            for _ in range(k):
                fn()
        wins = _windows(block, args, cpus)
        out.append({"variant": lib, "values": [2.0 * n ** 3 * k / w["seconds"] / 1e9 for w in wins],
                    "windows": wins, "warmup_s": warm, "rows": n,
                    "work_per_window": f"{k} product(s) {n}×{n}·{n}×{n}", "check": None})
    return out


def _contended_case(mod, case, args):
    """fit (1 epoch) + predict on the same rows, with one CPU-bound process running on
    the same CPUs: the time at this child's thread count over the time at one thread,
    measured alternately.  Users' machines are never idle; the thread setting a
    framework picks by default must not turn a busy core into a many-fold slowdown."""
    import subprocess

    import fastnn

    net = workloads.NETS[case.net]
    data = workloads.load_data(args.folder, case.data)
    X, y = data["X"][:10_000], data["y"][:10_000]
    model = mod.build(net, workloads.load_weights(args.folder, case.net), args.seed)

    def work() -> float:
        t = time.perf_counter()
        model.fit(X, y, batch_size=case.batch, epochs=1, verbose=0, shuffle=True)
        model.predict(X)
        return time.perf_counter() - t
    warm = work()
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # the spinner is running before the first timing
        ratios, pairs = [], []
        for _ in range(3 if args.quick else 6):
            default = work()
            with fastnn.num_threads(1):
                one = work()
            ratios.append(default / one)
            pairs.append([default, one])
    finally:
        spin.kill()
        spin.wait()
    return {"values": ratios, "windows": [], "warmup_s": warm, "rows": len(X),
            "seconds_default_vs_1_thread": pairs,
            "work_per_window": f"fit 1 epoch + predict of {len(X)} rows at {args.threads} "
                               "threads, then at 1 thread, beside a spinning process",
            "check": None}


def run(args) -> list[dict]:
    """One record per workload of args.workload (a comma-separated list: a quick run
    gives a peer all its workloads at one thread count in one process)."""
    mod = module(args.peer)
    t0 = time.perf_counter()
    setup = mod.setup(args.peer, args.threads)
    setup_s = time.perf_counter() - t0
    return [run_workload(args, w, mod, setup, setup_s) for w in args.workload.split(",")]


def run_workload(args, workload: str, mod, setup: dict, setup_s: float) -> dict:
    cpus = harness.allowed_cpus()
    out = {"peer": args.peer, "workload": workload, "threads": args.threads,
           "round": args.round, "cpus": cpus, "pid": os.getpid(), "results": [],
           **setup, "setup_s": setup_s}
    cases = ([workloads.CASE_BY_ID["peak"]] if args.peer == "sgemm"
             else workloads.cases_of(workload))
    for case in cases:
        if args.skip_one_thread_cases and workloads.one_thread_only(case, args.quick):
            continue  # measured at the run's smallest thread count (cli.plan_of)
        base = {"case": case.id, "unit": case.unit}
        reason = peer_unsupported(args.peer, case)
        if case.kind == "contended" and args.threads < 2:
            reason = "needs 2 or more threads"
        if reason:
            out["results"].append({**base, "status": "unsupported", "reason": reason})
            continue
        t_case = time.perf_counter()
        try:
            if case.kind == "train":
                got = [_train_case(mod, case, args, cpus)]
            elif case.kind == "peak":
                got = _peak_case(mod, case, args, cpus)
            elif case.kind == "contended":
                got = [_contended_case(mod, case, args)]
            else:
                got = [_call_case(mod, case, args, cpus)]
        except Exception as e:  # reported per case; the suite goes on
            traceback.print_exc()
            out["results"].append({**base, "status": "error", "error": f"{type(e).__name__}: {e}"})
            continue
        # the case's whole time in this child (model building, warm-up, window sizing
        # and windows): what it adds to a run
        case_s = time.perf_counter() - t_case
        out["results"] += [{**base, "status": "ok", **g, "case_s": case_s / len(got)}
                           for g in got]  # the peak probe: its variants share the time
    return out


def _workload_list(text: str) -> str:
    for w in text.split(","):
        if w not in workloads.WORKLOADS:
            raise argparse.ArgumentTypeError(f"unknown workload {w!r}; expected some of "
                                             f"{', '.join(workloads.WORKLOADS)}")
    return text


def parse(argv=None):
    from .peers import REGISTRY

    p = argparse.ArgumentParser(prog="python -m fastnn.bench._child")
    p.add_argument("peer", choices=sorted(REGISTRY))
    p.add_argument("workload", type=_workload_list,
                   help="a workload, or several separated by commas")
    p.add_argument("threads", type=int)
    p.add_argument("--folder", required=True)
    p.add_argument("--windows", type=int, default=3)
    p.add_argument("--window-seconds", type=float, default=0.5)
    p.add_argument("--max-retries", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--round", type=int, default=0)
    p.add_argument("--accuracy-epochs", type=int, default=0)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--skip-one-thread-cases", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)  # library chatter on fd 1 must not mix with the JSON line
    try:
        outs = run(args)
    except Exception as e:
        traceback.print_exc()
        outs = [{"peer": args.peer, "workload": w, "threads": args.threads,
                 "round": args.round, "error": f"{type(e).__name__}: {e}", "results": []}
                for w in args.workload.split(",")]
    sys.stdout.flush()
    for out in outs:  # one JSON line per workload
        os.write(real_stdout, (json.dumps(out) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
