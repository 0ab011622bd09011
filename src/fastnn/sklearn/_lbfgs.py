"""``solver="lbfgs"``: scipy's L-BFGS-B over fastnn's C loss and gradient, as MLP
runs it (``maxiter=max_iter``, ``maxfun=max_fun``, ``gtol=tol``, the full data in
one batch, MLP's loss and gradient scale).

The loss and gradient at θ come from one full-batch step of fastnn's C training
loop with SGD at learning rate ``STEP`` = 2²⁰ and no momentum: the step computes
θ' = θ − STEP·g, so g = (θ − θ')/STEP.  A power of two makes the division exact; the
rounding of θ' costs at most half an ulp of max(|θ|, STEP·|g|), i.e. g is exact to
a relative 1e-16 plus an absolute ulp(|θ|)/2²⁰ (tests/test_sklearn_lbfgs.py
compares it with finite differences and with MLP's own gradient).
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ..errors import NonFiniteLossError

if TYPE_CHECKING:
    from ..models import Sequential

STEP = 2.0 ** 20  # the SGD rate that reads the gradient out of one step


def _pack(weights: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([w.ravel() for w in weights]).astype(np.float64)


def _unpack(theta: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    out, start = [], 0
    for w in like:
        out.append(theta[start:start + w.size].reshape(w.shape))
        start += w.size
    return out


def loss_and_gradient(theta: np.ndarray, model: Sequential, X: np.ndarray, Y: np.ndarray,
                      W: np.ndarray, loss_fix: float) -> tuple[float, np.ndarray]:
    """MLP's full-batch loss (its reported value, see the package docstring) and the
    gradient at θ; (inf, 0) where the loss is not finite, so the line search backs
    off.  `model` is compiled with SGD(STEP), no momentum."""
    like = model.get_weights()
    model.set_weights(_unpack(theta, like))
    before = _pack(model.get_weights())  # θ as the model holds it (float32 rounds)
    try:
        logs = model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0,
                         sample_weight=W).history
    except NonFiniteLossError:
        return float("inf"), np.zeros_like(theta)
    loss = logs["loss"][0] - (loss_fix * logs["mse"][0] if loss_fix else 0.0)
    return float(loss), (before - _pack(model.get_weights())) / STEP


def fit_lbfgs(est: Any, X: np.ndarray, Y: np.ndarray, W: np.ndarray, loss_fix: float) -> None:
    """Minimises from the model's current weights; sets the weights, ``n_iter_`` and
    ``loss_`` of `est`, warning as MLP when L-BFGS-B stops without converging."""
    model = est.model_
    theta0 = _pack(model.get_weights())
    result = scipy.optimize.minimize(
        loss_and_gradient, theta0, args=(model, X, Y, W, loss_fix), method="L-BFGS-B",
        jac=True, options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol})
    n_iter = min(int(result.nit), est.max_iter)
    if result.status != 0:
        warnings.warn(f"{type(est).__name__}: lbfgs failed to converge after {n_iter} "
                      f"iteration(s) (status={result.status}): {result.message}. Increase "
                      "max_iter (or max_fun), or scale the data.", ConvergenceWarning,
                      stacklevel=4)
    model.set_weights(_unpack(result.x, model.get_weights()))
    est.n_iter_ = n_iter
    est.loss_ = float(result.fun)
