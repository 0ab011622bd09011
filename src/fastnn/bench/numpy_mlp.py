"""A plain, vectorised NumPy multilayer perceptron: the baseline fastnn is measured against.

This is what a competent NumPy user would write by hand, nothing more clever:

* float32 throughout; layer l holds W[l] of shape (n_in, n_out) and b[l] of
  shape (n_out,), Keras's layout, so ``Z = X @ W + b``;
* all parameters live in one flat buffer (W and b are views of it), likewise
  the gradients and the optimizer state, so an optimizer step is a handful of
  ufunc calls over one array rather than a Python loop over layers;
* activations tanh, relu, sigmoid, softmax and linear, computed in place;
* losses mse, binary cross-entropy (sigmoid output) and softmax
  cross-entropy (one-hot targets), the two cross-entropies with the fused
  output gradient ``δ = a − y``; every loss is a mean over the batch (binary
  cross-entropy and mse also over the outputs, as Keras);
* SGD with (Nesterov) momentum, Keras's rule ``v = μ v − η g; w += v``, and
  Adam, Keras's rule with ε = 1e-7 added to √v after bias correction;
* a mini-batch loop that shuffles once per epoch (one gather of X and Y into
  preallocated buffers) and per-layer activation/delta buffers allocated once
  for the batch size and sliced for the last, shorter batch.

No per-sample Python loops: each batch is a few matrix products.  The only
per-batch allocations left are small temporaries of the loss and of relu's
mask.

>>> from fastnn.bench.numpy_mlp import NumpyMLP, SGD
>>> net = NumpyMLP([2, 16, 1], ["tanh", "sigmoid"], loss="binary_crossentropy",
...                optimizer=SGD(0.03, momentum=0.9), seed=0)
>>> losses = net.fit(X, Y, batch_size=32, epochs=10)      # doctest: +SKIP
>>> net.predict(X[:5])                                     # doctest: +SKIP
"""
from __future__ import annotations

import itertools
import math

import numpy as np

F32 = np.float32
ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "softmax")
LOSSES = ("mse", "binary_crossentropy", "categorical_crossentropy")
PROB_EPS = 1e-7  # clip for the logarithms of the reported loss (Keras's epsilon)


# ------------------------------------------------------------------ activations
def act_forward(name: str, z: np.ndarray) -> None:
    """a = f(z), in place."""
    if name == "relu":
        np.maximum(z, 0, out=z)
    elif name == "tanh":
        np.tanh(z, out=z)
    elif name == "sigmoid":  # σ(z) = (1 + tanh(z/2)) / 2: no overflow for any z
        z *= 0.5
        np.tanh(z, out=z)
        z *= 0.5
        z += 0.5
    elif name == "softmax":
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
    elif name != "linear":
        raise ValueError(f"unknown activation {name!r}")


def act_backward(name: str, a: np.ndarray, d: np.ndarray, tmp: np.ndarray) -> None:
    """d *= f'(z), with f' written in terms of the output a = f(z); tmp is scratch."""
    if name == "relu":
        np.greater(a, 0, out=tmp)  # 1.0 / 0.0 mask, cast into the float buffer
        d *= tmp
    elif name == "tanh":  # 1 − a²
        np.multiply(a, a, out=tmp)
        np.subtract(1, tmp, out=tmp)
        d *= tmp
    elif name == "sigmoid":  # a (1 − a)
        np.subtract(1, a, out=tmp)
        tmp *= a
        d *= tmp
    elif name == "softmax":  # Jacobian-vector product: a ⊙ (d − Σ_j a_j d_j)
        s = np.einsum("ij,ij->i", a, d)[:, None]
        d -= s
        d *= a
    elif name != "linear":
        raise ValueError(f"unknown activation {name!r}")


# ------------------------------------------------------------------ optimizers
class SGD:
    """``v = μ v − η g; w += v`` (Nesterov: ``w += μ v − η g``); plain ``w −= η g`` at μ = 0."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False):
        self.lr, self.mu, self.nesterov = float(learning_rate), float(momentum), bool(nesterov)
        self.iterations = 0

    def init(self, n: int) -> None:
        self.v = np.zeros(n, F32)
        self.tmp = np.empty(n, F32)

    def step(self, p: np.ndarray, g: np.ndarray) -> None:
        tmp = self.tmp
        np.multiply(g, self.lr, out=tmp)  # η g
        if self.mu == 0.0:
            p -= tmp
        else:
            v = self.v
            v *= self.mu
            v -= tmp
            if self.nesterov:
                np.multiply(v, self.mu, out=g)  # g is free once used: μ v − η g
                g -= tmp
                p += g
            else:
                p += v
        self.iterations += 1


class Adam:
    """Keras's Adam: ``m += (1−β1)(g−m); v += (1−β2)(g²−v);
    w −= η √(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε)``."""

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7):
        self.lr, self.b1, self.b2, self.eps = (float(learning_rate), float(beta_1),
                                               float(beta_2), float(epsilon))
        self.iterations = 0

    def init(self, n: int) -> None:
        self.m = np.zeros(n, F32)
        self.v = np.zeros(n, F32)
        self.tmp = np.empty(n, F32)

    def step(self, p: np.ndarray, g: np.ndarray) -> None:
        m, v, tmp = self.m, self.v, self.tmp
        self.iterations += 1
        t = self.iterations
        lr_t = self.lr * math.sqrt(1.0 - self.b2 ** t) / (1.0 - self.b1 ** t)
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - self.b1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        p -= tmp


# ------------------------------------------------------------------ the network
class NumpyMLP:
    """Dense network ``sizes[0] → sizes[1] → … → sizes[-1]``.

    Parameters
    ----------
    sizes : list of int, input width first.
    activations : one name per layer (len(sizes) − 1), from ACTIVATIONS.
    loss : "mse", "binary_crossentropy" (sigmoid output) or
        "categorical_crossentropy" (softmax output, one-hot targets).
    optimizer : SGD or Adam instance.
    seed : seeds the Glorot-uniform initialisation and the shuffling.
    """

    def __init__(self, sizes, activations, loss="mse", optimizer=None, seed=0):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or len(activations) != len(sizes) - 1:
            raise ValueError("need len(activations) == len(sizes) - 1 >= 1")
        for a in activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"unknown activation {a!r}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}")
        if loss == "binary_crossentropy" and activations[-1] != "sigmoid":
            raise ValueError("binary_crossentropy is implemented for a sigmoid output")
        if loss == "categorical_crossentropy" and activations[-1] != "softmax":
            raise ValueError("categorical_crossentropy is implemented for a softmax output")
        self.sizes, self.acts, self.loss = sizes, list(activations), loss
        self.fused = loss != "mse"
        self.optimizer = optimizer if optimizer is not None else SGD()
        self.rng = np.random.default_rng(seed)

        n_params = sum(i * o + o for i, o in itertools.pairwise(sizes))
        self.params = np.zeros(n_params, F32)
        self.grads = np.zeros(n_params, F32)
        self.W, self.b, self.gW, self.gb = [], [], [], []
        off = 0
        for n_in, n_out in itertools.pairwise(sizes):
            for flat, Ws, bs in ((self.params, self.W, self.b), (self.grads, self.gW, self.gb)):
                Ws.append(flat[off:off + n_in * n_out].reshape(n_in, n_out))
                bs.append(flat[off + n_in * n_out:off + n_in * n_out + n_out])
            r = math.sqrt(6.0 / (n_in + n_out))  # Glorot uniform, zero bias
            self.W[-1][...] = self.rng.uniform(-r, r, size=(n_in, n_out))
            off += n_in * n_out + n_out
        self.optimizer.init(n_params)
        self._cap = 0

    # -------------------------------------------------------------- weights
    def get_weights(self) -> list[np.ndarray]:
        """Copies, Keras's order: W0, b0, W1, b1, …"""
        return [w.copy() for pair in zip(self.W, self.b) for w in pair]

    def set_weights(self, weights) -> None:
        if len(weights) != 2 * len(self.W):
            raise ValueError(f"expected {2 * len(self.W)} arrays")
        for dst, src in zip([w for pair in zip(self.W, self.b) for w in pair], weights):
            if dst.shape != np.shape(src):
                raise ValueError(f"shape {np.shape(src)} != {dst.shape}")
            dst[...] = src

    # -------------------------------------------------------------- buffers
    def _buffers(self, B: int) -> None:
        """Per-layer activations A[l], deltas D[l] and scratch T[l] for B rows."""
        if B <= self._cap:
            return
        outs = self.sizes[1:]
        self.A = [np.empty((B, n), F32) for n in outs]
        self.D = [np.empty((B, n), F32) for n in outs]
        self.T = [np.empty((B, n), F32) for n in outs]
        self._cap = B

    # -------------------------------------------------------------- forward / backward
    def _forward(self, x: np.ndarray, B: int) -> np.ndarray:
        a = x
        for W, b, act, buf in zip(self.W, self.b, self.acts, self.A):
            z = buf[:B]
            np.matmul(a, W, out=z)
            z += b
            act_forward(act, z)
            a = z
        return a

    def _output_delta(self, a: np.ndarray, y: np.ndarray, B: int) -> float:
        """Writes δ = ∂(mean loss)/∂z of the last layer into D[-1]; returns the mean loss."""
        d = self.D[-1][:B]
        k = a.shape[1]
        np.subtract(a, y, out=d)
        if self.loss == "mse":
            loss = float(np.einsum("ij,ij->", d, d)) / (B * k)
            d *= 2.0 / (B * k)
            act_backward(self.acts[-1], a, d, self.T[-1][:B])
            return loss
        if self.loss == "binary_crossentropy":
            ac = np.clip(a, PROB_EPS, 1 - PROB_EPS)
            loss = -float(np.sum(y * np.log(ac) + (1 - y) * np.log1p(-ac))) / (B * k)
            d *= 1.0 / (B * k)  # fused: σ' cancels
            return loss
        # softmax + categorical cross-entropy (fused)
        loss = -float(np.einsum("ij,ij->", y, np.log(np.maximum(a, PROB_EPS)))) / B
        d *= 1.0 / B
        return loss

    def _backward(self, x: np.ndarray, B: int) -> None:
        for l in range(len(self.W) - 1, -1, -1):
            d = self.D[l][:B]
            a_prev = x if l == 0 else self.A[l - 1][:B]
            np.matmul(a_prev.T, d, out=self.gW[l])
            np.sum(d, axis=0, out=self.gb[l])
            if l:
                dp = self.D[l - 1][:B]
                np.matmul(d, self.W[l].T, out=dp)
                act_backward(self.acts[l - 1], a_prev, dp, self.T[l - 1][:B])

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> float:
        """One gradient step on the rows of x (float32, C order); returns the batch loss."""
        B = x.shape[0]
        self._buffers(B)
        a = self._forward(x, B)
        loss = self._output_delta(a, y, B)
        self._backward(x, B)
        self.optimizer.step(self.params, self.grads)
        return loss

    def fit(self, X, Y, batch_size: int = 32, epochs: int = 1, shuffle: bool = True) -> list[float]:
        """Mini-batch training; returns the mean training loss of each epoch."""
        X = np.ascontiguousarray(X, dtype=F32)
        Y = np.ascontiguousarray(Y, dtype=F32).reshape(len(X), -1)
        n = len(X)
        batch_size = max(1, min(int(batch_size), n))
        self._buffers(batch_size)
        if shuffle:
            Xs, Ys = np.empty_like(X), np.empty_like(Y)
        history = []
        for _ in range(epochs):
            if shuffle:
                perm = self.rng.permutation(n)
                np.take(X, perm, axis=0, out=Xs)
                np.take(Y, perm, axis=0, out=Ys)
            else:
                Xs, Ys = X, Y
            total = 0.0
            for s in range(0, n, batch_size):
                xb, yb = Xs[s:s + batch_size], Ys[s:s + batch_size]
                total += self.train_on_batch(xb, yb) * len(xb)
            history.append(total / n)
        return history

    # -------------------------------------------------------------- inference
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Network output for the rows of X (2-D); allocates its result."""
        a = X
        for W, b, act in zip(self.W, self.b, self.acts):
            a = a @ W
            a += b
            act_forward(act, a)
        return a

    def evaluate(self, X, Y) -> float:
        """Mean loss on (X, Y) (no parameter change)."""
        a = self.predict(np.asarray(X, F32))
        Y = np.asarray(Y, F32).reshape(a.shape)
        if self.loss == "mse":
            return float(np.mean((a - Y) ** 2))
        ac = np.clip(a, PROB_EPS, 1 - PROB_EPS)
        if self.loss == "binary_crossentropy":
            return -float(np.mean(Y * np.log(ac) + (1 - Y) * np.log1p(-ac)))
        return -float(np.sum(Y * np.log(ac))) / len(a)
