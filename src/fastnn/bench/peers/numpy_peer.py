"""The hand-written NumPy MLP (``fastnn.bench.numpy_mlp``), and the sgemm probe
that gives W4 its peak."""
from __future__ import annotations

import time

import numpy as np

NOTES = {
    "numpy": "hand-written vectorised float32 NumPy MLP (fastnn.bench.numpy_mlp): fit(epochs=k) "
             "per window; one-hot targets for the softmax nets; predict(x)",
    "sgemm": "C = A·B, square float32, N×N: NumPy matmul(out=) and SciPy's sgemm "
             "(Fortran-ordered, overwrite_c); GFLOP/s = 2·N³ / s",
}


def unsupported(peer, case):
    if peer == "sgemm":
        return None if case.kind == "peak" else "probe only"
    if case.kind in ("peak", "noop"):
        return "fastnn only" if case.kind == "noop" else "measured by the sgemm probe"
    return None


def setup(peer, threads):
    import scipy

    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS too, for the probe)

    from ..machine import blas_pools, limit_blas_threads

    limit_blas_threads(threads)
    return {"versions": {"numpy": np.__version__, "scipy": scipy.__version__},
            "blas": blas_pools()}


def _model(net, weights, seed):
    from ..numpy_mlp import SGD, Adam, NumpyMLP

    opt = (SGD(net.optimizer[1], momentum=net.optimizer[2]) if net.optimizer[0] == "sgd"
           else Adam(net.optimizer[1]))
    loss = ("categorical_crossentropy" if net.loss == "sparse_categorical_crossentropy"
            else net.loss)
    model = NumpyMLP(net.sizes, net.acts, loss=loss, optimizer=opt, seed=seed)
    model.set_weights(weights)
    return model


class Trainer:
    def __init__(self, case, net, data, weights, seed):
        self.model = _model(net, weights, seed)
        y = data["y"]
        if net.loss == "sparse_categorical_crossentropy":
            y = np.eye(net.sizes[-1], dtype=np.float32)[y]
        self.X, self.Y = data["X"], np.ascontiguousarray(y, dtype=np.float32)
        self.batch = case.batch

    def train(self, epochs):
        self.model.fit(self.X, self.Y, batch_size=self.batch, epochs=epochs, shuffle=True)

    def predict(self, X):
        return self.model.predict(X)


def trainer(peer, case, net, data, weights, seed):
    return Trainer(case, net, data, weights, seed)


def predictor(peer, case, net, weights, x):
    predict = _model(net, weights, 0).predict
    return lambda: predict(x)


# ---------------------------------------------------------------- the GEMM peak
def sgemm_products(n: int, seed: int = 0):
    """{'numpy': fn, 'scipy': fn}: each runs one N×N float32 product (2·N³ flops)."""
    from scipy.linalg import blas

    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    C = np.empty((n, n), np.float32)
    Af, Bf, Cf = np.asfortranarray(A), np.asfortranarray(B), np.asfortranarray(C)

    def np_product():
        np.matmul(A, B, out=C)

    def sp_product():
        blas.sgemm(1.0, Af, Bf, beta=0.0, c=Cf, overwrite_c=True)

    return {"numpy": np_product, "scipy": sp_product}


def peak_size(quick: bool) -> int:
    return 2048 if quick else 4096


def best_of(fn, k=2):
    t = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)
