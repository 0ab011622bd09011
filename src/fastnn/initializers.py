"""Weight initializers (Keras names and formulas), drawn from fastnn's C PRNG.

fan_in, fan_out are the layer's n_in and n_out:

* ``glorot_uniform`` U(−r, r), r = √(6 / (fan_in + fan_out))  (Dense's default)
* ``glorot_normal``  truncated N(0, σ), σ = √(2 / (fan_in + fan_out)) / 0.8796…
* ``he_uniform``     r = √(6 / fan_in);   ``he_normal``    σ = √(2 / fan_in) / 0.8796…
* ``lecun_uniform``  r = √(3 / fan_in);   ``lecun_normal`` σ = √(1 / fan_in) / 0.8796…
* ``random_uniform`` U(−0.05, 0.05);      ``random_normal`` N(0, 0.05)
* ``zeros``, ``ones``; ``Constant(value)`` fills every weight with `value`
* ``orthogonal``     Keras's: the Q of the QR decomposition of a N(0, 1) matrix
  (signs fixed by diag R; transposed when n_in < n_out)

Keras's initializer objects work where names do: ``kernel_initializer=HeNormal()``
(default arguments only; a ``seed`` is the model's, not the initializer's).

"Truncated" redraws values beyond 2σ; 0.87962566103423978 is the standard
deviation of a unit normal truncated at ±2, so the result keeps σ.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._registry import from_config_dict, resolve
from ._validation import check_float, fail

TRUNC_STD = 0.87962566103423978

# name -> (distribution, scale rule)
_RULES = {
    "glorot_uniform": ("uniform", lambda fi, fo: math.sqrt(6.0 / (fi + fo))),
    "glorot_normal": ("tnormal", lambda fi, fo: math.sqrt(2.0 / (fi + fo)) / TRUNC_STD),
    "he_uniform": ("uniform", lambda fi, fo: math.sqrt(6.0 / fi)),
    "he_normal": ("tnormal", lambda fi, fo: math.sqrt(2.0 / fi) / TRUNC_STD),
    "lecun_uniform": ("uniform", lambda fi, fo: math.sqrt(3.0 / fi)),
    "lecun_normal": ("tnormal", lambda fi, fo: math.sqrt(1.0 / fi) / TRUNC_STD),
    "random_uniform": ("uniform", lambda fi, fo: 0.05),
    "random_normal": ("normal", lambda fi, fo: 0.05),
    "zeros": ("constant", lambda fi, fo: 0.0),
    "ones": ("constant", lambda fi, fo: 1.0),
    "orthogonal": ("orthogonal", lambda fi, fo: 1.0),
}
ALL_OBJECTS_DICT = {name: name for name in _RULES}


class Initializer:
    """Keras's initializer objects (``HeNormal()``): each names one initializer."""

    _name = ""

    def __init__(self, seed: None = None) -> None:
        if seed is not None:
            raise ValueError(f"{type(self).__name__}(seed=...): fastnn draws every "
                             "initializer from the model's seeded generator; give "
                             "Sequential(seed=...) instead.")

    def get_config(self) -> dict[str, Any]:
        """The initializer's arguments, as Keras's ``get_config``."""
        return {}


def _initializer_class(cls_name: str, name: str) -> type[Initializer]:
    return type(cls_name, (Initializer,), {"_name": name, "__doc__": f"``{name}``."})


GlorotUniform = _initializer_class("GlorotUniform", "glorot_uniform")
GlorotNormal = _initializer_class("GlorotNormal", "glorot_normal")
HeUniform = _initializer_class("HeUniform", "he_uniform")
HeNormal = _initializer_class("HeNormal", "he_normal")
LecunUniform = _initializer_class("LecunUniform", "lecun_uniform")
LecunNormal = _initializer_class("LecunNormal", "lecun_normal")
Zeros = _initializer_class("Zeros", "zeros")
Ones = _initializer_class("Ones", "ones")
Orthogonal = _initializer_class("Orthogonal", "orthogonal")


class Constant(Initializer):
    """Every weight equals `value` (Keras's ``Constant``)."""

    _name = "constant"

    def __init__(self, value: float = 0.0) -> None:
        super().__init__()
        self.value = check_float("Constant", "value", value)

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constant:
        """A Constant from :meth:`get_config`'s dict."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Constant) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Constant", self.value))

    def __repr__(self) -> str:
        return f"Constant(value={self.value!r})"


def get(identifier: str | Initializer) -> str | Constant:
    """Canonical initializer name, for a name or an initializer object; a
    ``Constant`` (which has an argument) is kept as the object."""
    if isinstance(identifier, Constant) and type(identifier) is Constant:
        return identifier
    if isinstance(identifier, Initializer):
        if type(identifier)._name not in _RULES:  # a subclass of fastnn's base
            fail("initializers.get", "a custom initializer class; fastnn draws its "
                 "initializers in C from the model's generator",
                 f"a name from {sorted(ALL_OBJECTS_DICT)}, Constant(value) or one of "
                 "this module's classes", "identifier", identifier, error=TypeError)
        return identifier._name
    return resolve("initializers", identifier, ALL_OBJECTS_DICT)


def serialize(init: str | Constant) -> str | dict[str, Any]:
    """As a config stores it: the name, or ``{"class_name": "Constant", ...}``."""
    if isinstance(init, Constant):
        return {"class_name": "Constant", "config": init.get_config()}
    return init


def deserialize(config: str | dict[str, Any]) -> str | Constant:
    """The inverse of :func:`serialize`; classes only from this module's table."""
    if isinstance(config, dict):
        return get(from_config_dict("initializers", config, {"constant": Constant}))
    return get(config)


def fill(name: str | Constant, out: np.ndarray, fan_in: int, fan_out: int,
         rng_state: np.ndarray) -> None:
    """Fill `out` in place following initializer `name`."""
    from ._kernels import _core

    if isinstance(name, Constant):
        out.fill(name.value)
        return
    dist, rule = _RULES[name]
    scale = rule(fan_in, fan_out)
    if dist == "constant":
        out.fill(scale)
    elif dist == "orthogonal":
        rows, cols = max(fan_in, fan_out), min(fan_in, fan_out)
        a = np.empty(rows * cols, np.float64)
        _core.rng_fill(rng_state, a, "normal", 0.0, 1.0)
        q, r_ = np.linalg.qr(a.reshape(rows, cols))
        q = q * np.sign(np.diag(r_))
        if fan_in < fan_out:
            q = q.T
        out[:] = q.reshape(-1).astype(out.dtype)
    elif dist == "uniform":
        _core.rng_fill(rng_state, out, "uniform", -scale, scale)
    else:
        _core.rng_fill(rng_state, out, "normal", 0.0, scale, dist == "tnormal")
