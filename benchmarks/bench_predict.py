"""Inference speed: fastnn ``model.predict`` vs the NumPy MLP's ``predict`` on the same weights.

Nets: tiny 2-16-16-1 (tanh, tanh, sigmoid), digits 64-64-10 (relu, softmax)
and, when the MNIST file exists, 784-256-128-10 (relu, relu, softmax).  The
fastnn model is built with seed 0; its ``get_weights()`` are copied into the
NumPy model, and before any timing the outputs are asserted to agree within
1e-5 (on the single sample and on the whole 10k batch).

* single-sample latency: ``predict(x1)`` with x1 a (1, n) float32 C-contiguous
  array; every call is timed on its own with time.perf_counter (the cost of
  the timer itself, measured on an empty call, is subtracted); the table gives
  the median and the 90th percentile over N calls (N = 20000, 5000 with
  --quick), made in 5 interleaved rounds (each: 0.2 s pause, 200 warm-up
  calls, N/5 timed calls).  The row "fastnn _core.predict" is the C entry
  point without ``Sequential.predict``'s Python checks (internal API, shown
  only to split the cost).
* batch throughput: ``predict(X)`` on 10,000 rows, median of R interleaved
  rounds (R = 11, 5 with --quick; each: pause, one warm-up call, one timed
  call); "min" is the ratio of the fastest calls.

    python benchmarks/bench_predict.py [--quick] [--threads N]
"""
from __future__ import annotations

import argparse
import time

import _common as C  # first: puts the repo root on sys.path if needed
import numpy as np

# isort: split
from fastnn.bench.numpy_mlp import NumpyMLP

import fastnn
from fastnn._kernels import _core

NETS = [
    ("tiny 2-16-16-1", [2, 16, 16, 1], ["tanh", "tanh", "sigmoid"], "binary_crossentropy"),
    ("digits 64-64-10", [64, 64, 10], ["relu", "softmax"], "categorical_crossentropy"),
    ("mnist 784-256-128-10", [784, 256, 128, 10], ["relu", "relu", "softmax"],
     "categorical_crossentropy"),
]


def make_pair(sizes, acts, loss):
    layers = [fastnn.Input(shape=(sizes[0],))]
    layers += [fastnn.layers.Dense(n, activation=a) for n, a in zip(sizes[1:], acts)]
    fm = fastnn.Sequential(layers, dtype="float32", seed=0)
    fm.compile(optimizer="adam", loss=loss)
    nm = NumpyMLP(sizes, acts, loss=loss, seed=0)
    nm.set_weights(fm.get_weights())
    return fm, nm


def inputs(sizes, n=10_000):
    """10k float32 rows of realistic inputs for the net's input width."""
    if sizes[0] == 2:
        return C.circles(n, seed=1)[0]
    if sizes[0] == 64:
        X = C.digits()[0]
    else:
        data = C.mnist5k()
        X = data[0] if data is not None else None
    if X is None:
        return None
    return np.ascontiguousarray(np.resize(X, (n, X.shape[1])), dtype=np.float32)


def timer_overhead(k=20000) -> float:
    pc = time.perf_counter
    ts = np.empty(k)
    for i in range(k):
        t0 = pc()
        ts[i] = pc() - t0
    return float(np.median(ts))


def timed_calls(fn, n_calls, warmup=200):
    """Seconds of each of n_calls single calls of fn (after `warmup` untimed calls)."""
    pc = time.perf_counter
    for _ in range(warmup):
        fn()
    ts = np.empty(n_calls)
    for i in range(n_calls):
        t0 = pc()
        fn()
        ts[i] = pc() - t0
    return ts


def interleaved(cands, rounds, one_round):
    """{label: array of times}: `rounds` rounds, each running every candidate in
    turn after a pause (host noise and idle BLAS threads then hit all alike)."""
    out = {lbl: [] for lbl, _ in cands}
    for _ in range(rounds):
        for lbl, fn in cands:
            C.quiesce()
            out[lbl].append(one_round(fn))
    return {lbl: np.concatenate(v) for lbl, v in out.items()}


def bench_net(name, sizes, acts, loss, X, n_calls, repeats, overhead):
    """(latency rows, throughput row) of one net."""
    fm, nm = make_pair(sizes, acts, loss)
    x1 = np.ascontiguousarray(X[:1])
    assert x1.dtype == np.float32 and x1.flags.c_contiguous and x1.shape == (1, sizes[0])
    for xs in (x1, X):
        pf, pn = fm.predict(xs), nm.predict(xs)
        err = float(np.abs(pf - pn).max())
        assert pf.shape == pn.shape and err <= 1e-5, (
            f"{name}: fastnn and NumPy predictions differ by {err:g} on {xs.shape}")
    net, params = fm._net, fm._params
    cands = [("fastnn model.predict", lambda: fm.predict(x1)),
             ("fastnn _core.predict", lambda: _core.predict(net, params, x1)),
             ("NumPy MLP predict", lambda: nm.predict(x1))]
    rounds = 5
    res = interleaved(cands, rounds, lambda fn: timed_calls(fn, n_calls // rounds))
    base = np.median(res["NumPy MLP predict"] - overhead)
    lat_rows = []
    for lbl, ts in res.items():
        ts = ts - overhead
        med = np.median(ts)
        lat_rows.append([name, lbl, f"{med * 1e6:.2f}", f"{np.percentile(ts, 90) * 1e6:.2f}",
                         f"{base / med:.2f}x"])
    big = [("fastnn", lambda: fm.predict(X)), ("NumPy", lambda: nm.predict(X))]
    res = interleaved(big, repeats, lambda fn: timed_calls(fn, 1, warmup=1))
    tf, tn = np.median(res["fastnn"]), np.median(res["NumPy"])
    thr_row = [name, f"{len(X):,}", f"{tf * 1e3:.3f}", f"{tn * 1e3:.3f}", f"{len(X) / tf:,.0f}",
               f"{len(X) / tn:,.0f}", f"{tn / tf:.2f}x",
               f"{res['NumPy'].min() / res['fastnn'].min():.2f}x"]
    return lat_rows, thr_row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer calls and repeats")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit BLAS/OpenMP threads (threadpoolctl; nothing set without it)")
    args = ap.parse_args()
    n_calls = 5000 if args.quick else 20000
    repeats = 5 if args.quick else 11
    ctx, note = C.thread_limits(args.threads)
    lat_rows, thr_rows, notes = [], [], []
    with ctx:
        print(C.machine_report(note))
        overhead = timer_overhead()
        for name, sizes, acts, loss in NETS:
            X = inputs(sizes)
            if X is None:
                notes.append(f"{name}: skipped ({C.MNIST_PATH} not found)")
                continue
            lat, thr = bench_net(name, sizes, acts, loss, X, n_calls, repeats, overhead)
            lat_rows += lat
            thr_rows.append(thr)
    print(f"\n(timer overhead subtracted: {overhead * 1e9:.0f} ns per call)")
    print(f"\nSingle-sample predict latency, x1 of shape (1, n) float32, {n_calls} calls each")
    print(C.fmt_table(["net", "implementation", "median µs", "p90 µs",
                       "speed-up vs NumPy (median)"], lat_rows))
    print(f"\nBatch predict throughput, median of {repeats} calls")
    print(C.fmt_table(["net", "rows", "fastnn ms", "NumPy ms", "fastnn samples/s",
                       "NumPy samples/s", "speed-up", "speed-up (min)"], thr_rows))
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
