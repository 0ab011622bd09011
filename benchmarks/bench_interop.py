"""A Keras model run by Keras, by fastnn (load_model of the .keras file) and by ONNX
Runtime (fastnn's export), side by side in one run.

    pip install ".[bench]" keras jax onnx onnxruntime h5py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE KERAS_BACKEND=jax taskset -c 1 \\
        python benchmarks/bench_interop.py

The model is the MNIST-size 784 → 256 relu → 128 relu → 10 softmax, float32,
random weights, built and saved by Keras.  Rows: one sample (best of 7 timeit
windows, per call) and 10,000 rows (best of 5), for Keras ``predict``, Keras's
direct call ``model(x)`` (no batching machinery), fastnn ``predict`` on the
loaded model, and ONNX Runtime ``session.run`` on the exported one (1 intra-op
thread).  Outputs are checked equal within float32 tolerance first.
"""
from __future__ import annotations

import os
import sys
import tempfile
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401

import numpy as np  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "jax")


def best(fn, number, repeat=7):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def main():
    import keras
    import onnxruntime as ort

    import fastnn

    for line in _common.threadpool_summary():
        print("BLAS:", line)
    folder = tempfile.mkdtemp()
    km = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(256, activation="relu"),
                           keras.layers.Dense(128, activation="relu"),
                           keras.layers.Dense(10, activation="softmax")])
    km.save(os.path.join(folder, "mnist.keras"))
    fm = fastnn.load_model(os.path.join(folder, "mnist.keras"))
    fm.export(os.path.join(folder, "mnist.onnx"), verbose=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(os.path.join(folder, "mnist.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((1, 784)).astype(np.float32)
    xb = rng.standard_normal((10_000, 784)).astype(np.float32)
    ref = km.predict(xb, verbose=0)
    np.testing.assert_allclose(fm.predict(xb), ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(session.run(None, {"input": xb})[0], ref, rtol=1e-4, atol=1e-6)
    rows = [
        ("Keras predict", lambda x: km.predict(x, verbose=0), 20),
        ("Keras model(x)", lambda x: np.asarray(km(x)), 200),
        ("fastnn predict (loaded .keras)", fm.predict, 5000),
        ("ONNX Runtime run (fastnn export)", lambda x: session.run(None, {"input": x}), 2000),
    ]
    print(f"keras {keras.__version__} ({keras.backend.backend()}), onnxruntime "
          f"{ort.__version__}, fastnn {fastnn.__version__}")
    print(f"{'runtime':34} {'1 sample (us)':>14} {'10k rows (samples/s)':>22}")
    results = {}
    for name, fn, number in rows:
        one = best(lambda: fn(x1), number)
        many = best(lambda: fn(xb), 1, repeat=5)
        results[name] = (one, many)
        print(f"{name:34} {one * 1e6:14.1f} {len(xb) / many:22,.0f}")
    f1, fb = results["fastnn predict (loaded .keras)"]
    for name, (one, many) in results.items():
        if not name.startswith("fastnn"):
            print(f"fastnn vs {name}: {one / f1:.1f}x faster on 1 sample, {many / fb:.2f}x "
                  "on 10k rows")
    print("command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE KERAS_BACKEND=jax taskset -c 1 "
          "python benchmarks/bench_interop.py")


if __name__ == "__main__":
    main()
