"""Save and load time of a fastnn model file, next to NumPy's own container.

    python benchmarks/bench_saving.py [--repeat 30] [--dir /path/on/the/disk/to/test]

The model is the MNIST-size 784-256-128-10 net (235,146 float32 parameters),
trained one epoch with Adam so the file also holds the optimizer's two slots.
Rows, each the median of `--repeat` runs with the spread:

* ``model.save``: the whole atomic, durable save (temp file, fsync, rename,
  folder fsync);
* the same archive written to memory (``saving.write_archive`` into BytesIO):
  the format's own cost, without the disk;
* ``fastnn.load_model``: every check, then the arrays, then the model built and
  compiled;
* ``pickle.dumps``/``loads`` of the model (which go through the same format);
* the floor: ``np.savez`` of the same three arrays + ``os.fsync``, and
  ``np.load`` of them (no checks, no model).
"""
from __future__ import annotations

import argparse
import io
import os
import pickle
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (puts this repository's fastnn on the path)

import fastnn  # noqa: E402
from fastnn import saving  # noqa: E402
from fastnn.layers import Dense  # noqa: E402


def timed(fn, repeat):
    fn()  # warm-up: page cache, first allocations
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--dir", default=None, help="folder to write to (default: a temp folder)")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((1024, 784)).astype(np.float32), rng.integers(0, 10, 1024)
    model = fastnn.Sequential([fastnn.Input(shape=(784,)), Dense(256, activation="relu"),
                               Dense(128, activation="relu"), Dense(10, activation="softmax")],
                              seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(X, y, epochs=1, batch_size=128, verbose=0)

    folder = tempfile.mkdtemp(dir=args.dir)
    path = os.path.join(folder, "mnist.fastnn")
    npz = os.path.join(folder, "floor.npz")
    model.save(path)
    arrays = {"params": model._params, "slot_1": model._slots[0], "slot_2": model._slots[1]}

    def to_memory():
        saving.write_archive(io.BytesIO(), *saving.snapshot(model))

    def npz_save():
        with open(npz, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())

    def npz_load():
        with np.load(npz) as z:
            [z[k] for k in arrays]

    blob = pickle.dumps(model)
    rows = [
        ("model.save (atomic, fsync)", lambda: model.save(path)),
        ("archive to memory (no disk)", to_memory),
        ("fastnn.load_model", lambda: fastnn.load_model(path)),
        ("pickle.dumps(model)", lambda: pickle.dumps(model)),
        ("pickle.loads", lambda: pickle.loads(blob)),
        ("floor: np.savez + fsync", npz_save),
        ("floor: np.load", npz_load),
    ]
    print(f"fastnn {fastnn.__version__}, numpy {np.__version__}, Python "
          f"{sys.version.split()[0]}; model 784-256-128-10, {model.count_params()} float32 "
          f"parameters + Adam slots; file {os.path.getsize(path) / 2**20:.2f} MiB in {folder}")
    print(f"{'operation':32} {'median ms':>10} {'min':>8} {'max':>8}")
    for name, fn in rows:
        med, lo, hi = timed(fn, args.repeat)
        print(f"{name:32} {med * 1e3:10.2f} {lo * 1e3:8.2f} {hi * 1e3:8.2f}")
    print("command: python benchmarks/bench_saving.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
