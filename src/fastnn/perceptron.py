"""The perceptron of the guide (README.md, §1): one neuron with a step activation,
trained with the classic perceptron rule (no gradients).

    ŷ = u(w·x + b),   u(z) = 1 if z >= 0 else 0
    w ← w + η (y − ŷ) x,   b ← b + η (y − ŷ)

It learns any linearly separable labelling (AND, OR) in finitely many updates
(Rosenblatt's convergence theorem) and cannot learn XOR: no line separates
XOR's classes, so some sample is always misclassified.  Each epoch is one C call.
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from ._kernels import _core
from ._validation import (ConvergenceWarning, NotFittedError, as_float_array, check_float,
                          check_int, check_same_length)


class Perceptron:
    """Single neuron with step activation and the perceptron learning rule.

    Parameters
    ----------
    learning_rate : float > 0
        η in the update rule.
    max_epochs : int >= 1
        Passes over the data; training stops earlier after an epoch with no mistake.

    Attributes (after fit)
    ----------
    weights_ : (n_features,) array, bias_ : float
    errors_ : list of mistakes per epoch
    converged_ : bool — an epoch ended with no mistake
    """

    def __init__(self, learning_rate: float = 1.0, max_epochs: int = 100) -> None:
        self.learning_rate = check_float("Perceptron", "learning_rate", learning_rate,
                                         low=0.0, low_open=True)
        self.max_epochs = check_int("Perceptron", "max_epochs", max_epochs, low=1)
        self.weights_: np.ndarray | None = None

    def fit(self, x: ArrayLike, y: ArrayLike) -> Perceptron:
        """Learn from samples x (n, n_features) and labels y in {0, 1}.

        Weights start at zero and samples are visited in order, so a fit is
        deterministic.  Warns with :class:`fastnn.ConvergenceWarning` when the
        data were not separated within ``max_epochs`` (XOR, for example)."""
        X = as_float_array("fit", "x", x, np.dtype(np.float64))
        Y = _labels("fit", X, y)
        w = np.zeros(X.shape[1])
        b = np.zeros(1)
        self.errors_: list[int] = []
        self.converged_ = False
        for _ in range(self.max_epochs):
            mistakes = _core.perceptron_epoch(X, Y, self.learning_rate, w, b)
            self.errors_.append(int(mistakes))
            if mistakes == 0:
                self.converged_ = True
                break
        self.weights_, self.bias_ = w, float(b[0])
        if not self.converged_:
            warnings.warn(f"Perceptron did not converge in {self.max_epochs} epochs "
                          f"({self.errors_[-1]} mistakes in the last): the classes may not be "
                          "linearly separable (XOR is not).", ConvergenceWarning, stacklevel=2)
        return self

    def decision_function(self, x: ArrayLike) -> np.ndarray:
        """z = w·x + b for each sample."""
        if self.weights_ is None:
            raise NotFittedError("Perceptron: call fit() before predicting.")
        X = as_float_array("predict", "x", x, np.dtype(np.float64),
                           n_features=self.weights_.shape[0], allow_empty=True)
        return X @ self.weights_ + self.bias_

    def predict(self, x: ArrayLike) -> np.ndarray:
        """u(w·x + b): 1 where z >= 0, else 0 (int64)."""
        return (self.decision_function(x) >= 0).astype(np.int64)

    def score(self, x: ArrayLike, y: ArrayLike) -> float:
        """Fraction of samples classified correctly."""
        pred = self.predict(x)
        return float(np.mean(pred == _labels("score", pred, y)))


def _labels(func: str, x: np.ndarray, y: ArrayLike) -> np.ndarray:
    """1-D labels in {0, 1}, one per row of x, as float64."""
    yv = np.asarray(y)
    if yv.dtype.kind not in "biuf":
        raise TypeError(f"{func}(): labels must be numbers 0 or 1. Received: y.dtype={yv.dtype}")
    if yv.ndim != 1:
        raise ValueError(f"{func}(): y must be 1-D labels. Received: y.shape={yv.shape}")
    check_same_length(func, x, yv)
    bad = ~np.isin(yv, (0, 1))
    if bad.any():
        idx = np.flatnonzero(bad)[:5]
        raise ValueError(f"{func}(): labels must be 0 or 1. Received: y[{idx.tolist()}]="
                         f"{yv[idx].tolist()}")
    return np.ascontiguousarray(yv, dtype=np.float64)
