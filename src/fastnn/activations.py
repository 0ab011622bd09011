"""Activation functions: names, ids shared with the C kernels, and NumPy-facing calls.

"The guide" below is fastnn's README, which follows the concepts of an
introductory course on neural networks with Python and Keras (its conventions:
the step u(z), ReLU'(0) = 1).

Each activation f and its derivative f' are C kernels (csrc/fnn_activations.c):

================  =================================  ==============================
name              f(z)                               f'(z)
================  =================================  ==============================
``linear``/None   z                                  1
``sigmoid``       1 / (1 + e^{-z})                   f(z) (1 - f(z))
``tanh``          tanh z                             1 - tanh² z
``relu``          max(z, 0)                          1 if z >= 0 else 0  (ReLU'(0)=1,
                                                     the guide's u(z))
``relu_keras``    max(z, 0)                          1 if z > 0 else 0  (ReLU'(0)=0,
                                                     Keras's and PyTorch's)
``softmax``       e^{z_i - max z} / Σ_j e^{z_j - max z}   Jacobian  diag(a) - a aᵀ
``step``          u(z) = 1 if z >= 0 else 0          0 almost everywhere
``sign``          1 if z >= 0 else -1                0 almost everywhere
``leaky_relu``    z if z >= 0 else 0.2 z             1 or 0.2 (Keras's 0.2 slope)
``elu``           z if z > 0 else e^z - 1            1 or f(z) + 1
``selu``          λ elu_α(z), α=1.6733, λ=1.0507     λ or f(z) + λα
``gelu``          z Φ(z) = ½ z (1 + erf(z/√2))       Φ(z) + z φ(z) (exact, Keras's
                                                     default)
``softplus``      log(1 + e^z)                       σ(z)
``swish``/silu    z σ(z)                             σ(z) + f(z)(1 - σ(z))
================  =================================  ==============================

NaN in gives NaN out for every one of them and for every derivative.

ReLU'(0): at z = 0 exactly ReLU has no derivative and a convention is needed.
``relu`` uses 1, the step function u(z) of the guide; Keras, TensorFlow, JAX and
PyTorch use 0.  The two differ only where a pre-activation is exactly 0, which
is rare with random weights but the rule for a layer initialised with zeros
(``kernel_initializer="zeros"``): with ``relu`` it learns from the first step,
with ``relu_keras`` (as in Keras) its gradient is 0 and it stays dead.  Use
``activation="relu_keras"`` (or ``fastnn.activations.relu_keras``) to train as
Keras does; ``predict`` gives the same numbers for both.

The course the guide follows prints the sigmoid's derivative for tanh by
mistake; fastnn uses the real one, 1 - tanh².  Training through ``step`` or ``sign`` with backpropagation
warns (:class:`fastnn.ZeroGradientWarning`): their gradient is zero, so nothing
before them learns.  Use :class:`fastnn.Perceptron` for the perceptron rule.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._kernels._core import ActivationId as _Id
from ._registry import resolve
from ._validation import as_float_array, fail

# the ids of csrc/fnn_common.h FNN_ACT_*, as plain ints (read from the C, never written here)
(LINEAR, SIGMOID, TANH, RELU, SOFTMAX, STEP, SIGN, LEAKY_RELU, ELU, SELU, GELU, SOFTPLUS,
 SWISH, RELU_KERAS) = (int(i) for i in (
    _Id.LINEAR, _Id.SIGMOID, _Id.TANH, _Id.RELU, _Id.SOFTMAX, _Id.STEP, _Id.SIGN,
    _Id.LEAKY_RELU, _Id.ELU, _Id.SELU, _Id.GELU, _Id.SOFTPLUS, _Id.SWISH, _Id.RELU_KERAS))

ALL_OBJECTS_DICT = {
    "linear": LINEAR,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "softmax": SOFTMAX,
    "step": STEP,
    "sign": SIGN,
    "leaky_relu": LEAKY_RELU,
    "elu": ELU,
    "selu": SELU,
    "gelu": GELU,
    "softplus": SOFTPLUS,
    "swish": SWISH,
    "silu": SWISH,
    "relu_keras": RELU_KERAS,
}
NAMES = {v: k for k, v in ALL_OBJECTS_DICT.items() if k != "silu"}
ZERO_GRADIENT = {STEP, SIGN}


def get(identifier: str | Callable[..., Any] | None, *, caller: str | None = None,
        argument: str = "identifier") -> int:
    """Activation id for a name, or for one of this module's functions
    (``activation=fastnn.activations.relu``, as Keras); None means linear.  An
    error names `caller` and its `argument` (``Dense()``, ``activation``)."""
    if identifier is None:
        return LINEAR
    if callable(identifier) and not isinstance(identifier, str):
        name = getattr(identifier, "__name__", None)
        if isinstance(name, str) and globals().get(name) is identifier \
                and name in ALL_OBJECTS_DICT:
            return ALL_OBJECTS_DICT[name]
        fail(caller or "activations.get", "not one of fastnn's activations (they run in C, "
             "which cannot call a Python function per batch)",
             f"a name from {sorted(ALL_OBJECTS_DICT)} or fastnn.activations.<name>",
             argument, identifier, error=TypeError)
    return resolve("activations", identifier, ALL_OBJECTS_DICT, caller=caller,
                   argument=argument)


def serialize(act_id: int) -> str:
    """The activation's name, for a config."""
    return NAMES[act_id]


def _apply(name: str, x: ArrayLike) -> np.ndarray:
    from ._kernels import _core

    dtype = np.float64 if np.asarray(x).dtype == np.float64 else np.float32
    z = as_float_array(name, "x", x, np.dtype(dtype), ndim=2, allow_empty=True)
    out = np.empty_like(z)
    if z.size:
        _core.act_forward_kernel(ALL_OBJECTS_DICT[name], z, out)
    return out


def linear(x: ArrayLike) -> np.ndarray:
    """f(z) = z, on a 2-D array (rows are samples)."""
    return _apply("linear", x)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """f(z) = 1 / (1 + e^{-z}), on a 2-D array."""
    return _apply("sigmoid", x)


def tanh(x: ArrayLike) -> np.ndarray:
    """f(z) = tanh z, on a 2-D array."""
    return _apply("tanh", x)


def relu(x: ArrayLike) -> np.ndarray:
    """f(z) = max(z, 0), on a 2-D array."""
    return _apply("relu", x)


def relu_keras(x: ArrayLike) -> np.ndarray:
    """f(z) = max(z, 0), on a 2-D array: the same values as :func:`relu`; as an
    activation it trains with ReLU'(0) = 0, Keras's and PyTorch's convention."""
    return _apply("relu_keras", x)


def softmax(x: ArrayLike) -> np.ndarray:
    """Row-wise softmax e^{z_i - max z} / Σ_j e^{z_j - max z}, on a 2-D array."""
    return _apply("softmax", x)


def step(x: ArrayLike) -> np.ndarray:
    """u(z) = 1 if z >= 0 else 0, on a 2-D array."""
    return _apply("step", x)


def sign(x: ArrayLike) -> np.ndarray:
    """1 if z >= 0 else -1, on a 2-D array."""
    return _apply("sign", x)


def leaky_relu(x: ArrayLike) -> np.ndarray:
    """z if z >= 0 else 0.2 z, on a 2-D array."""
    return _apply("leaky_relu", x)


def elu(x: ArrayLike) -> np.ndarray:
    """z if z > 0 else e^z - 1, on a 2-D array."""
    return _apply("elu", x)


def selu(x: ArrayLike) -> np.ndarray:
    """1.0507 · (z if z > 0 else 1.6733 (e^z - 1)), on a 2-D array."""
    return _apply("selu", x)


def gelu(x: ArrayLike) -> np.ndarray:
    """½ z (1 + erf(z/√2)), on a 2-D array."""
    return _apply("gelu", x)


def softplus(x: ArrayLike) -> np.ndarray:
    """log(1 + e^z), on a 2-D array."""
    return _apply("softplus", x)


def swish(x: ArrayLike) -> np.ndarray:
    """z σ(z) (also called silu), on a 2-D array."""
    return _apply("swish", x)


silu = swish
