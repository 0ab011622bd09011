"""Training with BatchNormalization: fastnn's C loop beside Keras 3 (JAX, jit) on the
same network and data, in one run; and what the normalization costs fastnn.

    pip install ".[bench]" keras jax
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE KERAS_BACKEND=jax taskset -c 1 \\
        python benchmarks/bench_layers.py          # one core: every row on 1 thread
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE KERAS_BACKEND=jax \\
        python benchmarks/bench_layers.py          # adds fastnn on 2 threads

The network is the MNIST MLP of tests/test_keras_scripts_layers.py: 784 → Dense 256
(no bias) → BatchNormalization → relu → Dropout 0.3 → Dense 128 (no bias) →
BatchNormalization → relu → Dense 10 softmax, Adam, batch 128, float32, on the
5,000 real MNIST digits (shuffled once; 4,000 to train, 1,000 to test).  Each row trains 11
epochs and reports the median CPU seconds of epochs 2-11 (the first compiles, for
JAX) — CPU time of the whole process, all its threads, so that on the shared 2-core
machine another process's load does not count (wall seconds are printed too) — and
the test accuracy after the 11.  Keras's epoch times come from a callback's clocks.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import numpy as np  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "jax")
EPOCHS, BATCH = 11, 128


def fastnn_row(X, y, Xt, yt, threads, norm=True):
    import fastnn
    from fastnn import layers

    bn = (lambda: [layers.BatchNormalization()]) if norm else (lambda: [])
    m = fastnn.Sequential([fastnn.Input(shape=(784,)), layers.Dense(256, use_bias=not norm),
                           *bn(), layers.Activation("relu"), layers.Dropout(0.3),
                           layers.Dense(128, use_bias=not norm), *bn(),
                           layers.Activation("relu"), layers.Dense(10, activation="softmax")],
                          seed=0)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    cpu, wall = [], []
    with fastnn.num_threads(threads):
        for _ in range(EPOCHS):
            c0, t0 = time.process_time(), time.perf_counter()
            m.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
    return (_common.median(cpu[1:]), _common.median(wall[1:]),
            m.evaluate(Xt, yt, verbose=0)[1])


def keras_row(X, y, Xt, yt):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(256, use_bias=False),
                          layers.BatchNormalization(), layers.Activation("relu"),
                          layers.Dropout(0.3), layers.Dense(128, use_bias=False),
                          layers.BatchNormalization(), layers.Activation("relu"),
                          layers.Dense(10, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    cpu, wall = [], []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.c0, self.t0 = time.process_time(), time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            cpu.append(time.process_time() - self.c0)
            wall.append(time.perf_counter() - self.t0)

    m.fit(X, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, callbacks=[Clock()])
    return _common.median(cpu[1:]), _common.median(wall[1:]), m.evaluate(Xt, yt, verbose=0)[1]


def main():
    print(_common.machine_report("rows name their threads"))
    for line in _common.threadpool_summary():
        print("BLAS:", line)
    data = _common.mnist5k()
    if data is None:
        sys.exit("the MNIST file is missing (see fastnn.bench.workloads.MNIST_PATH)")
    X, y = data
    order = np.random.default_rng(0).permutation(len(X))  # the file is sorted by class
    X, y = X[order], y[order]
    X, Xt, y, yt = X[:4000], X[4000:], y[:4000], y[4000:]
    rows = []
    bn = fastnn_row(X, y, Xt, yt, 1)
    rows.append(("fastnn, BatchNormalization, 1 thread", *bn))
    plain = fastnn_row(X, y, Xt, yt, 1, norm=False)
    rows.append(("fastnn, same net without BatchNormalization, 1 thread", *plain))
    if len(os.sched_getaffinity(0)) >= 2:
        rows.append(("fastnn, BatchNormalization, 2 threads", *fastnn_row(X, y, Xt, yt, 2)))
    _common.quiesce()
    keras_cpu, keras_wall, acc = keras_row(X, y, Xt, yt)
    rows.append(("Keras 3 (JAX), BatchNormalization", keras_cpu, keras_wall, acc))
    print(f"{'row':56s} {'CPU s/ep':>9s} {'wall s/ep':>9s} {'test acc':>8s} "
          f"{'Keras CPU/row':>13s}")
    for name, c, w, a in rows:
        print(f"{name:56s} {c:9.4f} {w:9.4f} {a:8.3f} {keras_cpu / c:13.2f}")
    print(f"BatchNormalization's cost in fastnn: {bn[0] / plain[0]:.2f}x the CPU time of the "
          "epoch without it")


if __name__ == "__main__":
    main()
