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
5,000 real MNIST digits (4,000 to train, 1,000 to test).  Each row trains 6 epochs
and reports the median seconds of epochs 2-6 (the first compiles, for JAX) and the
test accuracy after the 6.  Keras's epoch time comes from a callback's clock.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import numpy as np  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "jax")
EPOCHS, BATCH = 6, 128


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
    times = []
    with fastnn.num_threads(threads):
        for _ in range(EPOCHS):
            t0 = time.perf_counter()
            m.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)
            times.append(time.perf_counter() - t0)
    return _common.median(times[1:]), m.evaluate(Xt, yt, verbose=0)[1]


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
    times = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    m.fit(X, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, callbacks=[Clock()])
    return _common.median(times[1:]), m.evaluate(Xt, yt, verbose=0)[1]


def main():
    print(_common.machine_report("rows name their threads"))
    for line in _common.threadpool_summary():
        print("BLAS:", line)
    data = _common.mnist5k()
    if data is None:
        sys.exit("the MNIST file is missing (see fastnn.bench.workloads.MNIST_PATH)")
    X, y = data
    X, Xt, y, yt = X[:4000], X[4000:], y[:4000], y[4000:]
    rows = []
    t_bn, acc = fastnn_row(X, y, Xt, yt, 1)
    rows.append(("fastnn, BatchNormalization, 1 thread", t_bn, acc))
    t_plain, acc = fastnn_row(X, y, Xt, yt, 1, norm=False)
    rows.append(("fastnn, same net without BatchNormalization, 1 thread", t_plain, acc))
    if len(os.sched_getaffinity(0)) >= 2:
        t, acc = fastnn_row(X, y, Xt, yt, 2)
        rows.append(("fastnn, BatchNormalization, 2 threads", t, acc))
    _common.quiesce()
    t_keras, acc = keras_row(X, y, Xt, yt)
    rows.append(("Keras 3 (JAX), BatchNormalization", t_keras, acc))
    print(f"{'row':58s} {'s/epoch':>9s} {'test acc':>9s} {'Keras/row':>10s}")
    for name, t, a in rows:
        print(f"{name:58s} {t:9.4f} {a:9.3f} {t_keras / t:10.2f}")
    print(f"BatchNormalization's cost in fastnn: {t_bn / t_plain:.2f}x the epoch without it")


if __name__ == "__main__":
    main()
