"""One model, several threads: batch predict on the MNIST-size net.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_threads.py

784 → 256 relu → 128 relu → 10 softmax, float32; each call predicts 10,000 rows.
BLAS is limited to one thread (threadpoolctl), so the parallelism measured is
fastnn's own: ``predict`` releases the GIL in C and every call has its own
workspace.  Rows: 1 thread doing N calls, then 2 threads doing N/2 calls each,
interleaved, best of 5 windows; the speedup is samples/s of 2 threads over 1.
The outputs of the threaded run are checked bitwise equal to the serial ones.
"""
from __future__ import annotations

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn.layers import Dense  # noqa: E402

CALLS = 16


def run(model, X, n_threads):
    outs = [None] * CALLS
    per = CALLS // n_threads

    def work(t):
        for i in range(t * per, (t + 1) * per):
            outs[i] = model.predict(X)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, outs


def main():
    for line in _common.threadpool_summary():
        print("BLAS:", line)
    model = fastnn.Sequential([fastnn.Input(shape=(784,)), Dense(256, activation="relu"),
                               Dense(128, activation="relu"), Dense(10, activation="softmax")],
                              seed=0)
    model.build()
    X = np.random.default_rng(0).standard_normal((10_000, 784)).astype(np.float32)
    with fastnn.num_threads(1):
        model.predict(X)
        best = {1: np.inf, 2: np.inf}
        for _ in range(5):
            for n in (1, 2):
                wall, outs = run(model, X, n)
                best[n] = min(best[n], wall)
                if n == 1:
                    serial = outs
                else:
                    assert all(np.array_equal(a, b) for a, b in zip(outs, serial))
    rate = {n: CALLS * len(X) / best[n] for n in best}
    print(f"predict 10k rows x {CALLS} calls, 1 BLAS thread: 1 thread {rate[1] / 1e3:.0f}k "
          f"samples/s, 2 threads {rate[2] / 1e3:.0f}k samples/s, speedup "
          f"{rate[2] / rate[1]:.2f}x (outputs bitwise equal to serial)")
    print("command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python "
          "benchmarks/bench_threads.py")


if __name__ == "__main__":
    main()
