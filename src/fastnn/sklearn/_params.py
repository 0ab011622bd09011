"""The estimators' parameters: MLP's names, defaults and value ranges (checked
at ``fit``, as scikit-learn does), and the optimizer each solver stands for.

Wrong types raise ``TypeError``, values out of range ``ValueError``; every
message names the estimator, the parameter, what it accepts and what it got.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import optimizers as O

ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
SOLVERS = ("sgd", "adam", "lbfgs", "rmsprop", "adagrad", "adamw")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
MIN_ADAPTIVE_RATE = 1e-6  # "adaptive" divides the rate by 5 while it is above this


def _fail(owner: str, key: str, expected: str, value: Any, error: type[Exception]) -> None:
    raise error(f"{owner}: {key} must be {expected}. Received: {key}={value!r}")


def _real(owner: str, key: str, value: Any, low: float, high: float | None = None,
          low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """A real number (not bool, not str) in the interval (finite unless `finite` is
    False), else TypeError/ValueError."""
    lo, hi = ("(" if low_open else "["), (")" if high_open or high is None else "]")
    span = f"{lo}{low}, {'inf' if high is None else high}{hi}" + (" and finite" if finite
                                                                  else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(owner, key, f"a real number in {span}", value, TypeError)
    v = float(value)
    ok = (v > low if low_open else v >= low) and (
        high is None or (v < high if high_open else v <= high)) and (
        not finite or np.isfinite(v))
    if not ok:  # NaN fails both comparisons
        _fail(owner, key, f"a real number in {span}", value, ValueError)
    return v


def _int(owner: str, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _fail(owner, key, f"an int >= {low}", value, TypeError)
    if value < low:
        _fail(owner, key, f"an int >= {low}", value, ValueError)
    return int(value)


def _choice(owner: str, key: str, value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        _fail(owner, key, f"one of {list(options)}", value, TypeError)
    if value not in options:
        hint = ""
        if key == "solver" and value.lower() in options:
            hint = " (lower case)"
        _fail(owner, key, f"one of {list(options)}{hint}", value, ValueError)
    return value


def _bool(owner: str, key: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        _fail(owner, key, "True or False", value, TypeError)
    return bool(value)


def check_params(est: Any) -> list[int]:
    """Checks every parameter of `est` (a fastnn estimator); returns the hidden
    layer sizes as a list of ints."""
    name = type(est).__name__
    hidden: Any = est.hidden_layer_sizes
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = [hidden]
    elif isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        _fail(name, "hidden_layer_sizes", "an int or a sequence of ints >= 1", hidden,
              TypeError)
    hidden = list(hidden)
    for h in hidden:
        if isinstance(h, bool) or not isinstance(h, numbers.Integral):
            _fail(name, "hidden_layer_sizes", "an int or a sequence of ints >= 1",
                  est.hidden_layer_sizes, TypeError)
        if h < 1:
            _fail(name, "hidden_layer_sizes", "an int or a sequence of ints >= 1",
                  est.hidden_layer_sizes, ValueError)
    _choice(name, "activation", est.activation, tuple(ACTIVATIONS))
    _choice(name, "solver", est.solver, SOLVERS)
    _real(name, "alpha", est.alpha, 0.0)
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        if isinstance(est.batch_size, str):
            _fail(name, "batch_size", "'auto' or an int >= 1", est.batch_size, ValueError)
        _int(name, "batch_size", est.batch_size, 1)
    _choice(name, "learning_rate", est.learning_rate, LEARNING_RATES)
    _real(name, "learning_rate_init", est.learning_rate_init, 0.0, low_open=True)
    _real(name, "power_t", est.power_t, 0.0)
    _int(name, "max_iter", est.max_iter, 1)
    _bool(name, "shuffle", est.shuffle)
    _real(name, "tol", est.tol, 0.0, finite=False)  # tol=inf: never an improvement
    if isinstance(est.verbose, bool) or not isinstance(est.verbose, numbers.Integral):
        _bool(name, "verbose", est.verbose)
    _bool(name, "warm_start", est.warm_start)
    # MLP takes momentum=1 too (a velocity that never decays); fastnn's SGD does not
    _real(name, "momentum", est.momentum, 0.0, 1.0, high_open=True)
    _bool(name, "nesterovs_momentum", est.nesterovs_momentum)
    _bool(name, "early_stopping", est.early_stopping)
    frac = _real(name, "validation_fraction", est.validation_fraction, 0.0, 1.0,
                 high_open=True)
    if est.early_stopping and frac == 0:
        _fail(name, "validation_fraction", "in (0, 1) with early_stopping=True", frac,
              ValueError)
    _real(name, "beta_1", est.beta_1, 0.0, 1.0, high_open=True)
    _real(name, "beta_2", est.beta_2, 0.0, 1.0, high_open=True)
    _real(name, "epsilon", est.epsilon, 0.0, low_open=True)
    if not (isinstance(est.n_iter_no_change, numbers.Real)
            and not isinstance(est.n_iter_no_change, numbers.Integral)
            and est.n_iter_no_change == np.inf):
        _int(name, "n_iter_no_change", est.n_iter_no_change, 1)
    _int(name, "max_fun", est.max_fun, 1)
    _real(name, "dropout", est.dropout, 0.0, 1.0, high_open=True)
    if est.dtype is not None and est.dtype not in ("float32", "float64"):
        _fail(name, "dtype", "None (the input's: float32 stays float32, anything else "
              "float64, as MLP), 'float32' or 'float64'", est.dtype,
              TypeError if not isinstance(est.dtype, str) else ValueError)
    return hidden


def make_optimizer(est: Any) -> O.Optimizer:
    """The fastnn optimizer of `est`'s solver, with MLP's hyper-parameters (its
    update rules are MLP's for sgd, Nesterov included, and adam); for lbfgs, the
    plain SGD step its loss-and-gradient reads."""
    lr = float(est.learning_rate_init)
    if est.solver == "lbfgs":  # reads the gradient out of one step (_lbfgs.py)
        from ._lbfgs import STEP
        return O.SGD(STEP)
    if est.solver == "sgd":
        return O.SGD(lr, momentum=float(est.momentum),
                     nesterov=bool(est.nesterovs_momentum) and est.momentum > 0)
    if est.solver == "adam":
        return O.Adam(lr, float(est.beta_1), float(est.beta_2), float(est.epsilon))
    if est.solver == "adamw":
        return O.AdamW(lr, beta_1=float(est.beta_1), beta_2=float(est.beta_2),
                       epsilon=float(est.epsilon))
    if est.solver == "rmsprop":
        return O.RMSprop(lr, epsilon=float(est.epsilon))
    return O.Adagrad(lr, epsilon=float(est.epsilon))
