"""The GEMM shapes of workloads W2-W5 as fastnn calls them, and operands with
realistic values for each (bench_gemm.py)."""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

if importlib.util.find_spec("fastnn") is None:  # an in-place checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastnn.bench.workloads import BATCH_ROWS, NETS, digits, initial_weights, mnist5k  # noqa: E402

F32 = np.float32
#: rows per chunk of fastnn's predict (fastnn/_kernels/_core.pyx, _predict_core: `cap`)
PREDICT_CHUNK = 1024
#: fastnn's default loops-vs-BLAS threshold (multiply-adds; _core.pyx DEFAULT_SMALL_GEMM)
SMALL_GEMM = 8192
#: (workload, net, batch) of the training workloads (fastnn/bench/workloads.py CASES)
TRAINING = (("W2", "digits", 32), ("W3", "mnist", 128), ("W4", "wide", 256))
PREDICT = ("W5b", "mnist")


@dataclass(frozen=True)
class Shape:
    """C(M×N) := op(A)·op(B) + beta·C, row-major; `calls` per training step (per
    10k-row predict for W5b); `a`/`b`: what the stored operands hold."""
    workload: str
    role: str
    M: int
    N: int
    K: int
    tA: bool
    tB: bool
    beta: float
    a: str        # rows | act | delta | normal
    b: str        # weight | delta | normal
    net: str = ""
    layer: int = 0
    calls: int = 1

    @property
    def flops(self) -> int:
        return 2 * self.M * self.N * self.K

    @property
    def label(self) -> str:
        return f"{self.workload} {self.role} {self.M}x{self.N}x{self.K}"

    @property
    def op(self) -> str:
        return ("Aᵀ" if self.tA else "A") + "·" + ("Bᵀ" if self.tB else "B")

    def as_dict(self) -> dict:
        return {**asdict(self), "flops": self.flops, "label": self.label, "op": self.op}


def layer_shapes(workload: str, net: str, rows: int, backward: bool, calls: int = 1):
    """Every product fastnn makes for one batch of `rows` rows of `net`."""
    sizes = NETS[net].sizes
    out = []
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        x = "rows" if layer == 1 else "act"
        if n_in <= 2 or rows * n_in * n_out < SMALL_GEMM:
            continue  # fastnn's own loops, not BLAS (csrc/fnn_dense.c)
        out.append(Shape(workload, f"fwd L{layer}", rows, n_out, n_in, False, False, 1.0,
                         x, "weight", net, layer, calls))
        if not backward:
            continue
        out.append(Shape(workload, f"dW L{layer}", n_in, n_out, rows, True, False, 0.0,
                         x, "delta", net, layer, calls))
        if layer > 1:  # the first layer's input needs no gradient
            out.append(Shape(workload, f"dX L{layer}", rows, n_in, n_out, False, True, 0.0,
                             "delta", "weight", net, layer, calls))
    return out


def shapes_for(threads: int, quick: bool) -> list[Shape]:
    """1 thread: W2-W5b and the peak; more threads: the large ones (W3, W4, W5b, peak)."""
    out = []
    for workload, net, batch in TRAINING:
        if threads == 1 or workload != "W2":
            out += layer_shapes(workload, net, batch, backward=True)
    full, tail = divmod(BATCH_ROWS, PREDICT_CHUNK)
    out += layer_shapes(PREDICT[0], PREDICT[1], PREDICT_CHUNK, backward=False, calls=full)
    if tail:
        out += layer_shapes(PREDICT[0], PREDICT[1], tail, backward=False, calls=1)
    n = 2048 if quick else 4096
    out.append(Shape("peak", f"{n}³", n, n, n, False, False, 0.0, "normal", "normal"))
    return out


@lru_cache(maxsize=None)
def _data_rows(net: str) -> np.ndarray:
    """Input rows of the workload's data: digits /16 (W2), MNIST /255 (W3, W5b; the
    shared 5k file), standard normal (W4, as its data is); generated stand-ins of the
    same value range when a data set is missing."""
    rng = np.random.default_rng(5)
    if net == "digits":
        try:
            return digits()[0]
        except ImportError:
            return (rng.integers(0, 17, (1797, 64)) / 16).astype(F32)
    if net == "mnist":
        got = mnist5k()
        if got is not None:
            return got[0]
        return np.clip(rng.random((5000, 784), dtype=F32) - 0.6, 0, 0.4) * 2.5
    return rng.standard_normal((4096, NETS[net].sizes[0]), dtype=F32)


@lru_cache(maxsize=None)
def _weights(net: str) -> tuple:
    return tuple(initial_weights(NETS[net], seed=0))


def _stored(kind: str, shape: Shape, rows: int, cols: int, rng) -> np.ndarray:
    if kind == "rows":
        data = _data_rows(shape.net)
        idx = np.arange(rows) % len(data)
        return np.ascontiguousarray(data[idx, :cols], dtype=F32)
    if kind == "act":  # ReLU outputs: about half zeros
        return np.maximum(rng.standard_normal((rows, cols), dtype=F32), 0)
    if kind == "delta":  # gradients of a mean loss over the batch: small
        return 0.01 * rng.standard_normal((rows, cols), dtype=F32)
    if kind == "weight":
        return np.ascontiguousarray(_weights(shape.net)[2 * (shape.layer - 1)])
    return rng.standard_normal((rows, cols), dtype=F32)


def operands(shape: Shape, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, B, C0) as stored (A is K×M when tA, B is N×K when tB); C0 holds the
    layer's bias on every row for a forward product (beta 1), zeros otherwise."""
    a_rows, a_cols = (shape.K, shape.M) if shape.tA else (shape.M, shape.K)
    b_rows, b_cols = (shape.N, shape.K) if shape.tB else (shape.K, shape.N)
    A = _stored(shape.a, shape, a_rows, a_cols, rng)
    B = _stored(shape.b, shape, b_rows, b_cols, rng)
    assert A.shape == (a_rows, a_cols) and B.shape == (b_rows, b_cols), shape
    C0 = np.zeros((shape.M, shape.N), F32)
    if shape.beta:
        C0[:] = _weights(shape.net)[2 * shape.layer - 1]
    return A, B, C0
