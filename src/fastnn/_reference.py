"""Pure-NumPy twins of every C kernel: the executable specification and the
test oracle.  Never used on the hot path.

Each function states the same math as its kernel (csrc/*.c) in the most direct
NumPy form, computing in the dtype of its inputs.  Tests hold the kernels equal
to these (tests/test_kernels.py) and check the network gradient built from them
against finite differences (tests/test_gradients.py).

(About 400 lines: one twin per kernel, kept in one file so that a kernel's test
finds its twin by name; the normalization layers' twins are in _reference_norm.py.)
"""
from __future__ import annotations

import functools
import importlib
from typing import Any, Callable

import numpy as np


class _Ids:
    """A module whose ids (the C's, from fastnn._kernels._core) are read when a twin
    runs, not when this module is imported: it imports without the compiled extension
    (tests/test_errors.py), and only the twins that take an id need one."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self._module, __package__), name)


act_ids = _Ids(".activations")  # activations.RELU, ...
L = _Ids(".losses")             # losses.MSE, ..., FUSED_PAIRS
core = _Ids("._kernels._core")  # AccuracyKind, StageKind, SumSlot, N_SUMS

PROB_EPS = 1e-7


# ---- dense -------------------------------------------------------------------
def dense_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Z = X·W + b."""
    Z = X @ W
    return Z + b if b is not None else Z


def dense_backward(X: np.ndarray, delta: np.ndarray, W: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dW, db, dX) = (Xᵀ·δ, Σ_rows δ, δ·Wᵀ)."""
    return X.T @ delta, delta.sum(axis=0), delta @ W.T


# ---- activations ---------------------------------------------------------------
def act_forward(act: int, Z: np.ndarray) -> np.ndarray:
    one = Z.dtype.type(1)
    if act == act_ids.SIGMOID:
        with np.errstate(over="ignore"):
            return np.where(Z >= 0, one / (one + np.exp(-np.abs(Z))),
                            np.exp(-np.abs(Z)) / (one + np.exp(-np.abs(Z)))).astype(Z.dtype)
    if act == act_ids.TANH:
        return np.tanh(Z)
    if act in (act_ids.RELU, act_ids.RELU_KERAS):
        return np.maximum(Z, 0)
    if act == act_ids.SOFTMAX:
        e = np.exp(Z - Z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if act in (act_ids.STEP, act_ids.SIGN):  # NaN stays NaN
        low = Z.dtype.type(0) if act == act_ids.STEP else -one
        return np.where(Z >= 0, one, np.where(Z < 0, low, Z))
    if act in _smooth():
        with np.errstate(over="ignore", under="ignore"):
            return _smooth()[act][0](Z.astype(np.float64)).astype(Z.dtype)
    return Z.copy()


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigma(z: np.ndarray) -> np.ndarray:
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))),
                    np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def _erf(z: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(z)


_Elementwise = tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]


@functools.cache
def _smooth() -> dict[int, _Elementwise]:
    """activation id -> (f(z), f'(z)), in float64"""
    return {
        act_ids.LEAKY_RELU: (lambda z: np.where(z < 0, 0.2 * z, z),
                             lambda z: np.where(z >= 0, 1.0, np.where(z < 0, 0.2, z))),
        act_ids.ELU: (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
                      lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)) + 0 * z)),
        act_ids.SELU: (lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA
                                                       * np.expm1(np.minimum(z, 0))),
                       lambda z: np.where(z > 0, SELU_SCALE,
                                          SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(z, 0))
                                          + 0 * z)),
        act_ids.GELU: (lambda z: 0.5 * z * (1 + _erf(z / np.sqrt(2))),
                       lambda z: 0.5 * (1 + _erf(z / np.sqrt(2))) + z * np.exp(-0.5 * z * z)
                       / np.sqrt(2 * np.pi)),
        act_ids.SOFTPLUS: (lambda z: np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))), _sigma),
        act_ids.SWISH: (lambda z: z * _sigma(z),
                        lambda z: _sigma(z) + z * _sigma(z) * (1 - _sigma(z))),
    }


def act_backward(act: int, Z: np.ndarray, A: np.ndarray, G: np.ndarray) -> np.ndarray:
    """∂C/∂z from G = ∂C/∂a."""
    if act == act_ids.SIGMOID:
        return G * A * (1 - A)
    if act == act_ids.TANH:
        return G * (1 - A * A)
    if act == act_ids.RELU:  # ReLU'(0) = 1
        return np.where(Z >= 0, G, np.where(Z < 0, 0, Z)).astype(G.dtype)
    if act == act_ids.RELU_KERAS:  # ReLU'(0) = 0
        return np.where(Z > 0, G, np.where(Z <= 0, 0, Z)).astype(G.dtype)
    if act == act_ids.SOFTMAX:
        s = (G * A).sum(axis=1, keepdims=True)
        return A * (G - s)
    if act in (act_ids.STEP, act_ids.SIGN):
        return np.where(np.isnan(Z), Z, 0).astype(G.dtype)
    if act in _smooth():
        with np.errstate(over="ignore", under="ignore"):
            dz = _smooth()[act][1](Z.astype(np.float64))
            return (G.astype(np.float64) * dz).astype(G.dtype)
    return G.copy()


# ---- losses and metrics ----------------------------------------------------------
def _hinge_margin(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum(1 - y * a, 0)


@functools.cache
def _elementwise_losses() -> dict[int, _Elementwise]:
    """loss id -> (g(a, y), g'(a, y)) per element, in float64 (see fastnn/losses.py)"""
    return {
        L.MAE: (lambda a, y: np.abs(a - y), lambda a, y: np.sign(a - y)),
        L.HUBER: (lambda a, y: np.where(np.abs(a - y) <= 1, 0.5 * (a - y) ** 2,
                                        np.abs(a - y) - 0.5),
                  lambda a, y: np.clip(a - y, -1, 1)),
        L.LOG_COSH: (lambda a, y: np.abs(a - y) + np.log1p(np.exp(-2 * np.abs(a - y)))
                     - np.log(2), lambda a, y: np.tanh(a - y)),
        L.POISSON: (lambda a, y: a - y * np.log(a + PROB_EPS),
                    lambda a, y: 1 - y / (a + PROB_EPS)),
        L.HINGE: (_hinge_margin, lambda a, y: np.where(1 - y * a > 0, -y, 0.0)),
        L.SQUARED_HINGE: (lambda a, y: _hinge_margin(a, y) ** 2,
                          lambda a, y: -2 * y * _hinge_margin(a, y)),
    }


def _clip_prob(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(clip(a, ε, 1 − ε) in float64, where the clip passes the gradient), with the
    bounds rounded to A's dtype as the C kernels do: in float32 1 − 1e-7 is
    1 − 2⁻²³, so a float32 tanh output of exactly 1 − 2⁻²³ is on the bound, inside.
    The derivative is 1 on the closed interval and for NaN (which passes through)."""
    t = np.asarray(A).dtype.type
    lo, hi = t(PROB_EPS), t(1) - t(PROB_EPS)
    inside = ~(A < lo) & ~(A > hi)
    return np.clip(A, lo, hi).astype(np.float64), inside


def loss(loss_id: int, fused: bool, Z: np.ndarray, A: np.ndarray, Y: np.ndarray
         ) -> tuple[float, np.ndarray]:
    """(Σ_rows ℓ_r, δ) with δ = ∂C/∂a (unfused) or ∂C/∂z (fused), C = mean ℓ."""
    B, k = A.shape
    Z64, A64, Y64 = (np.asarray(v, np.float64) for v in (Z, A, Y))
    if loss_id == L.SPARSE_CCE:
        Y64 = np.eye(k)[Y64[:, 0].astype(int)]
    if loss_id == L.MSE:
        ell = ((A64 - Y64) ** 2).mean(axis=1)
        delta = 2 * (A64 - Y64) / (B * k)
    elif loss_id == L.BCE and fused:
        ell = (np.maximum(Z64, 0) - Z64 * Y64 + np.log1p(np.exp(-np.abs(Z64)))).mean(axis=1)
        delta = (A64 - Y64) / (B * k)
    elif loss_id == L.BCE:
        ac, inside = _clip_prob(A)
        ell = -(Y64 * np.log(ac) + (1 - Y64) * np.log(1 - ac)).mean(axis=1)
        delta = np.where(inside, (ac - Y64) / (ac * (1 - ac)), 0) / (B * k)
    elif loss_id in _elementwise_losses():
        g, dg = _elementwise_losses()[loss_id]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ell = g(A64, Y64).mean(axis=1)
            delta = dg(A64, Y64) / (B * k)
    elif loss_id == L.KLD:
        t = np.asarray(A).dtype.type
        eps = t(PROB_EPS)
        yc = np.clip(Y64.astype(A.dtype), eps, t(1)).astype(np.float64)
        ac = np.clip(A, eps, t(1)).astype(np.float64)
        inside = ~(A < eps) & ~(A > 1)
        ell = (yc * np.log(yc / ac)).sum(axis=1)
        delta = np.where(inside, -yc / ac, 0) / B
    elif fused:  # softmax + (sparse) categorical cross-entropy
        m = Z64.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(Z64 - m).sum(axis=1, keepdims=True))
        ell = (Y64 * (lse - Z64)).sum(axis=1)
        delta = (A64 * Y64.sum(axis=1, keepdims=True) - Y64) / B
    else:
        ac, inside = _clip_prob(A)
        ell = -(Y64 * np.log(ac)).sum(axis=1)
        delta = np.where(inside, -Y64 / ac, 0) / B
    return float(ell.sum()), delta.astype(A.dtype)


def metrics(acc: int, want_err: bool, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Sums over rows: [0, accuracy, mae, mse]."""
    sums = np.zeros(core.N_SUMS)  # the metrics kernel fills ACC, MAE and MSE
    if acc == core.AccuracyKind.BINARY:
        sums[core.SumSlot.ACC] = ((A > 0.5) == (Y > 0.5)).mean(axis=1).sum()
    elif acc == core.AccuracyKind.CATEGORICAL:
        sums[core.SumSlot.ACC] = (A.argmax(axis=1) == Y.argmax(axis=1)).sum()
    elif acc == core.AccuracyKind.SPARSE:
        sums[core.SumSlot.ACC] = (A.argmax(axis=1) == Y[:, 0].astype(int)).sum()
    if want_err:
        e = A.astype(np.float64) - Y
        sums[core.SumSlot.MAE] = np.abs(e).mean(axis=1).sum()
        sums[core.SumSlot.MSE] = (e ** 2).mean(axis=1).sum()
    return sums


# ---- regularization, dropout -----------------------------------------------------
def regularize(W: np.ndarray, l1: float, l2: float) -> tuple[float, np.ndarray]:
    """(penalty l1·Σ|w| + l2·Σw², its gradient l1·sign(w) + 2·l2·w)."""
    W64 = W.astype(np.float64)
    pen = l1 * np.abs(W64).sum() + l2 * (W64 ** 2).sum()
    return pen, (l1 * np.sign(W) + 2 * l2 * W).astype(W.dtype)


def dropout_apply(A: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Inverted dropout with mask M (values 0 or 1/(1 − rate))."""
    return A * M


# ---- optimizers ------------------------------------------------------------------
def optim_step(kind: str, hp: dict[str, Any], t: int, P: np.ndarray, G: np.ndarray,
               S1: np.ndarray, S2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One update (see fastnn/optimizers.py); returns new (P, S1, S2).  t is the
    step number after this update; computes in float64."""
    P, G, S1, S2 = (np.asarray(v, np.float64).copy() for v in (P, G, S1, S2))
    lr, eps = hp["learning_rate"], hp.get("epsilon", 1e-7)
    mu = hp.get("momentum", 0.0)
    if kind == "sgd":
        if mu == 0:
            P -= lr * G
        else:
            S1 = mu * S1 - lr * G
            P += mu * S1 - lr * G if hp.get("nesterov") else S1
    elif kind == "rmsprop":
        S1 = hp["rho"] * S1 + (1 - hp["rho"]) * G * G
        step = lr * G / np.sqrt(S1 + eps)
        if mu > 0:
            S2 = mu * S2 + step
            P -= S2
        else:
            P -= step
    elif kind in ("adam", "adamw"):
        b1, b2 = hp["beta_1"], hp["beta_2"]
        if kind == "adamw":
            P -= lr * hp["weight_decay"] * P
        S1 = S1 + (1 - b1) * (G - S1)
        S2 = S2 + (1 - b2) * (G * G - S2)
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        P -= alpha * S1 / (np.sqrt(S2) + eps)
    elif kind == "nadam":
        b1, b2 = hp["beta_1"], hp["beta_2"]
        mu = lambda s: b1 * (1 - 0.5 * 0.96 ** (0.004 * s))  # noqa: E731
        prod = np.prod([mu(s) for s in range(1, t + 1)])
        S1 = S1 + (1 - b1) * (G - S1)
        S2 = S2 + (1 - b2) * (G * G - S2)
        m_hat = mu(t + 1) * S1 / (1 - prod * mu(t + 1)) + (1 - mu(t)) * G / (1 - prod)
        P -= lr * m_hat / (np.sqrt(S2 / (1 - b2 ** t)) + eps)
    elif kind == "adamax":
        b1, b2 = hp["beta_1"], hp["beta_2"]
        S1 = S1 + (1 - b1) * (G - S1)
        S2 = np.maximum(b2 * S2, np.abs(G))
        P -= lr / (1 - b1 ** t) * S1 / (S2 + eps)
    else:  # adagrad
        S1 = S1 + G * G
        P -= lr * G / np.sqrt(S1 + eps)
    return P, S1, S2


# ---- the whole network -------------------------------------------------------------
def net_loss_grad(layers: list[dict[str, Any]], params: np.ndarray, X: np.ndarray,
                  Y: np.ndarray, loss_id: int,
                  masks: list[np.ndarray | None] | None = None,
                  input_mask: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Batch cost C = mean ℓ + penalty and its gradient for a plain list of layers.

    layers: list of dicts with n_in, n_out, act, w_off, b_off (-1: no bias),
    kernel_l1, kernel_l2, bias_l1, bias_l2.  masks[l]: dropout mask on layer l's
    output (or None).  Mirrors fnn_net_loss_grad.
    """
    grads = np.zeros_like(params)
    masks = masks or [None] * len(layers)
    a = X if input_mask is None else X * input_mask
    inputs, zs, acts, caches = [], [], [], []
    for lay, m in zip(layers, masks):
        inputs.append(a)
        if _is_norm(lay):  # a normalization layer (fastnn/_reference_norm.py)
            z, cache = _norm_stage_forward(lay, params, a)
            caches.append(cache)
        else:
            W = params[lay["w_off"]:lay["w_off"] + lay["n_in"] * lay["n_out"]].reshape(
                lay["n_in"], lay["n_out"])
            b = params[lay["b_off"]:lay["b_off"] + lay["n_out"]] if lay["b_off"] >= 0 else None
            z = dense_forward(a, W, b)
            caches.append(None)
        act = act_forward(lay["act"], z)
        zs.append(z)
        acts.append(act)
        a = act if m is None else act * m
    last = layers[-1]
    fused = (last["act"], loss_id) in L.FUSED_PAIRS
    total, delta = loss(loss_id, fused, zs[-1], acts[-1], Y)
    if not fused:
        delta = act_backward(last["act"], zs[-1], acts[-1], delta)
    for l in range(len(layers) - 1, -1, -1):
        lay = layers[l]
        if _is_norm(lay):
            dX, dW, db = _norm_stage_backward(lay, delta, inputs[l], caches[l])
            w_off = lay["w_off"]
        else:
            W = params[lay["w_off"]:lay["w_off"] + lay["n_in"] * lay["n_out"]].reshape(
                lay["n_in"], lay["n_out"])
            dW, db, dX = dense_backward(inputs[l], delta, W)
            w_off = lay["w_off"]
        if w_off >= 0 and dW is not None:
            grads[w_off:w_off + dW.size] = dW.ravel()
        if lay["b_off"] >= 0 and db is not None:
            grads[lay["b_off"]:lay["b_off"] + lay["n_out"]] = db
        if l > 0:
            if masks[l - 1] is not None:
                dX = dX * masks[l - 1]
            delta = act_backward(layers[l - 1]["act"], zs[l - 1], acts[l - 1], dX)
    penalty = 0.0
    for lay in layers:
        if _is_norm(lay) and lay["w_off"] < 0:
            continue
        n_w = lay["n_out"] if _is_norm(lay) else lay["n_in"] * lay["n_out"]
        for off, n, l1, l2 in ((lay["w_off"], n_w, lay["kernel_l1"],
                                lay["kernel_l2"]),
                               (lay["b_off"], lay["n_out"], lay["bias_l1"], lay["bias_l2"])):
            if off >= 0 and (l1 or l2):
                pen, g = regularize(params[off:off + n], l1, l2)
                penalty += pen
                grads[off:off + n] += g
    return total / len(X) + penalty, grads


def _is_norm(lay: dict[str, Any]) -> bool:
    """A normalization stage (fastnn/_reference_norm.py), not a dense one."""
    return bool(lay.get("kind", core.StageKind.DENSE) != core.StageKind.DENSE)


def _norm_stage_forward(lay: dict[str, Any], params: np.ndarray, a: np.ndarray
                        ) -> tuple[np.ndarray, Any]:
    """A normalization layer in training mode: lay["kind"] a StageKind: BATCHNORM
    (batch statistics unless lay["frozen"]), LAYERNORM, STANDARDIZE or UNITNORM;
    w_off/b_off: γ/β (-1: none); s_off: the fixed statistics (mean, then variance)."""
    from . import _reference_norm as RN

    n, kind = lay["n_out"], lay["kind"]
    g = params[lay["w_off"]:lay["w_off"] + n] if lay["w_off"] >= 0 else None
    b = params[lay["b_off"]:lay["b_off"] + n] if lay["b_off"] >= 0 else None
    s = lay.get("s_off", -1)
    stats = (params[s:s + n], params[s + n:s + 2 * n]) if s >= 0 else (None, None)
    if kind == core.StageKind.BATCHNORM:
        fixed = stats if lay.get("frozen") else (None, None)
        return RN.norm_forward(a, g, b, lay["epsilon"], 0, *fixed)
    if kind == core.StageKind.LAYERNORM:
        return RN.norm_forward(a, g, b, lay["epsilon"], 1)
    if kind == core.StageKind.STANDARDIZE:
        return RN.standardize_forward(a, *stats), stats[1]
    return RN.unitnorm_forward(a), None


def _norm_stage_backward(lay: dict[str, Any], delta: np.ndarray, a: np.ndarray, cache: Any
                         ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(dX, dγ, dβ) of :func:`_norm_stage_forward`."""
    from . import _reference_norm as RN

    if lay["kind"] in (core.StageKind.BATCHNORM, core.StageKind.LAYERNORM):
        return RN.norm_backward(delta, cache)
    if lay["kind"] == core.StageKind.STANDARDIZE:
        return RN.standardize_backward(delta, cache), None, None
    return RN.unitnorm_backward(a, delta), None, None


def perceptron_epoch(X: np.ndarray, y: np.ndarray, lr: float, w: np.ndarray, b: float
                     ) -> tuple[np.ndarray, float, int]:
    """The perceptron rule over the rows in order; returns (w, b, mistakes)."""
    w, b = w.copy(), float(b)
    mistakes = 0
    for x, t in zip(X, y):
        err = t - (1.0 if x @ w + b >= 0 else 0.0)
        if err:
            mistakes += 1
            w += lr * err * x
            b += lr * err
    return w, b, mistakes
