"""NumPy twins of the normalization and noise kernels (csrc/fnn_norm.c), in float64:
the executable spec and the tests' oracle, never on the hot path.  The backward
passes follow the textbook chain rule step by step (through the mean and the
variance separately), not the folded closed forms the C kernels use, so that the two
check each other.

.. math::

    \\hat x = (x - \\mu)/\\sqrt{\\sigma^2 + \\epsilon},\\quad z = \\gamma \\hat x + \\beta

    \\partial\\sigma^2 = \\sum \\partial\\hat x\\,(x - \\mu)\\,(-\\tfrac12)(\\sigma^2+\\epsilon)^{-3/2},\\quad
    \\partial\\mu = -\\sum \\partial\\hat x/\\sqrt{\\sigma^2+\\epsilon}
                  + \\partial\\sigma^2 \\sum -2(x-\\mu)/N

    \\partial x = \\partial\\hat x/\\sqrt{\\sigma^2+\\epsilon} + \\partial\\sigma^2\\,2(x-\\mu)/N
                + \\partial\\mu/N

over the batch (axis 0, batch norm) or over the features (axis 1, layer norm).
"""
from __future__ import annotations

from typing import Any

import numpy as np


def norm_forward(X: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                 eps: float, axis: int, mean: np.ndarray | None = None,
                 var: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """(z, cache) of batch norm (axis 0) or layer norm (axis 1); with `mean` and `var`
    given (moving statistics), they are used instead of the data's."""
    X = np.asarray(X, np.float64)
    fixed = mean is not None
    if mean is None:
        mean = X.mean(axis=axis, keepdims=True)
        var = ((X - mean) ** 2).mean(axis=axis, keepdims=True)
    assert var is not None
    xhat = (X - mean) / np.sqrt(var + eps)
    z = xhat * (1.0 if gamma is None else gamma) + (0.0 if beta is None else beta)
    return z, {"X": X, "mean": mean, "var": var, "xhat": xhat, "gamma": gamma,
               "eps": eps, "axis": axis, "fixed": fixed}


def norm_backward(dZ: np.ndarray, cache: dict[str, Any]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dX, dgamma, dbeta) for :func:`norm_forward`'s cache."""
    X, mean, var, xhat = cache["X"], cache["mean"], cache["var"], cache["xhat"]
    eps, axis, gamma = cache["eps"], cache["axis"], cache["gamma"]
    dbeta = dZ.sum(axis=0)
    dgamma = (dZ * xhat).sum(axis=0)
    dxhat = dZ * (1.0 if gamma is None else gamma)
    inv = 1.0 / np.sqrt(var + eps)
    if cache["fixed"]:
        return dxhat * inv, dgamma, dbeta
    N = X.shape[axis]
    dvar = (dxhat * (X - mean) * -0.5 * inv ** 3).sum(axis=axis, keepdims=True)
    dmean = (-dxhat * inv).sum(axis=axis, keepdims=True) + \
        dvar * (-2.0 * (X - mean)).sum(axis=axis, keepdims=True) / N
    dX = dxhat * inv + dvar * 2.0 * (X - mean) / N + dmean / N
    return dX, dgamma, dbeta


def standardize_forward(X: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Keras's Normalization: (x − mean)/max(√var, 1e-7)."""
    return (X - mean) / np.maximum(np.sqrt(var), 1e-7)


def standardize_backward(dZ: np.ndarray, var: np.ndarray) -> np.ndarray:
    return dZ / np.maximum(np.sqrt(var), 1e-7)


def unitnorm_forward(X: np.ndarray) -> np.ndarray:
    """x/max(‖x‖, 1e-12) per row (Keras 3's ops.normalize)."""
    return X / np.maximum(np.sqrt((X * X).sum(axis=1, keepdims=True)), 1e-12)


def unitnorm_backward(X: np.ndarray, dZ: np.ndarray) -> np.ndarray:
    """Through the norm: z = x·s(x), s = (Σx²)^−½ (constant 1e12 under the floor)."""
    q = (X * X).sum(axis=1, keepdims=True)
    s = 1.0 / np.maximum(np.sqrt(q), 1e-12)
    ds = (dZ * X).sum(axis=1, keepdims=True)             # ∂C/∂s
    dq = np.where(q > 1e-24, ds * -0.5 * np.maximum(q, 1e-24) ** -1.5, 0.0)  # ∂C/∂(Σx²)
    return dZ * s + dq * 2.0 * X


_SELU_ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def alpha_dropout_apply(X: np.ndarray, keep: np.ndarray, rate: float) -> np.ndarray:
    """Keras 3's AlphaDropout with the keep mask (1 kept, 0 dropped)."""
    a = ((1 - rate) * (1 + rate * _SELU_ALPHA_P ** 2)) ** -0.5
    b = -a * _SELU_ALPHA_P * rate
    return a * (X * keep + _SELU_ALPHA_P * (1 - keep)) + b
