"""Layers without weights — ``Activation``, ``Flatten``, ``Reshape`` — and the rules
of a layer chain that decide how fastnn runs them.

fastnn's C loop runs a chain of Dense layers, each with its activation, and
dropout between them.  The layers here add no C work:

* ``Activation(f)`` is folded into the Dense layer before it: that Dense must
  have no activation of its own (``activation=None``), and the plan gives it
  ``f``.  Exact, since a linear Dense followed by ``f`` *is* a Dense with ``f``.
  A Dropout between the two commutes with ``f`` only when ``f`` is positively
  homogeneous with f(0) = 0 (relu, relu_keras, leaky_relu, linear), so only those may
  cross one.
* ``Flatten`` and ``Reshape`` change the shape of the input before the first
  Dense; the model flattens ``x`` of shape (n, *input_shape) to (n, prod) — a
  zero-copy reshape of a C-ordered array — after checking the whole trailing
  shape.  After the first Dense they may only keep the (flat) shape.

:func:`trace` applies these rules to a list of layers and returns every layer's
output shape and every Dense layer's effective activation; it raises ValueError
for a chain fastnn cannot run, before anything changes.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import activations
from ._validation import check_int, fail
from ._core_layers import Dense, Dropout, InputLayer, Layer, Shape, check_shape

# activations that commute with inverted dropout: f(m·z/(1−p)) = m·f(z)/(1−p), m ∈ {0, 1}
_DROPOUT_COMMUTES = {activations.LINEAR, activations.RELU, activations.RELU_KERAS,
                     activations.LEAKY_RELU}


def show(shape: Shape | None) -> str:
    """``(None, 28, 28)``: a layer's output shape as Keras prints it."""
    if shape is None:
        return "?"
    return "(" + ", ".join(["None", *("?" if d is None else str(d) for d in shape)]) + ")"


class Activation(Layer):
    """Applies an activation to the previous layer's output:
    ``Dense(64)`` then ``Activation("relu")`` is ``Dense(64, activation="relu")``,
    which is how fastnn runs it (folded into the Dense, see the module docstring)."""

    _base_name = "activation"

    def __init__(self, activation: str | Callable[[ArrayLike], np.ndarray] | None,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.activation = activations.get(activation)

    def get_config(self) -> dict[str, Any]:
        return {"activation": activations.serialize(self.activation), "name": self.name}


class ReLU(Activation):
    """Keras's ``ReLU()`` layer: ``Activation("relu")`` (default arguments only)."""

    _base_name = "re_lu"

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, name: str | None = None) -> None:
        for arg, value, default in (("max_value", max_value, None),
                                    ("negative_slope", negative_slope, 0.0),
                                    ("threshold", threshold, 0.0)):
            if value != default:
                fail("ReLU", "fastnn's relu is max(z, 0) only", f"{arg}={default}", arg, value)
        super().__init__("relu", name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class Softmax(Activation):
    """Keras's ``Softmax()`` layer over the features: ``Activation("softmax")``."""

    _base_name = "softmax"

    def __init__(self, axis: int = -1, name: str | None = None) -> None:
        if axis not in (-1, 1) or isinstance(axis, bool):
            fail("Softmax", "fastnn's samples are flat; the softmax runs over the features",
                 "axis=-1", "axis", axis)
        super().__init__("softmax", name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class Flatten(Layer):
    """Flattens each sample: (None, 28, 28) → (None, 784), in C order as Keras
    (``data_format="channels_last"``).  As the first layer it may declare the input:
    ``Flatten(input_shape=(28, 28))``."""

    _base_name = "flatten"

    def __init__(self, data_format: str | None = None,
                 input_shape: int | Sequence[int] | None = None,
                 name: str | None = None) -> None:
        super().__init__(name)
        if data_format not in (None, "channels_last"):
            fail("Flatten", "fastnn flattens samples in C order (channels_last); "
                 "channels_first would transpose them first", "data_format=None or "
                 "'channels_last'", "data_format", data_format)
        self.data_format = data_format
        if input_shape is not None:
            self._declared_shape = check_shape("Flatten", "input_shape", input_shape)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name}
        if self.data_format is not None:
            config["data_format"] = self.data_format
        if self._declared_shape is not None:
            config["input_shape"] = list(self._declared_shape)
        return config


class Reshape(Layer):
    """Gives each sample the shape `target_shape` (one entry may be -1: inferred),
    e.g. ``Reshape((784,))`` after ``Input(shape=(28, 28))``."""

    _base_name = "reshape"

    def __init__(self, target_shape: int | Sequence[int],
                 input_shape: int | Sequence[int] | None = None,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.target_shape = check_shape("Reshape", "target_shape", target_shape,
                                        allow_minus_one=True)
        if input_shape is not None:
            self._declared_shape = check_shape("Reshape", "input_shape", input_shape)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"target_shape": list(self.target_shape), "name": self.name}
        if self._declared_shape is not None:
            config["input_shape"] = list(self._declared_shape)
        return config


def _reshape(layer: Reshape, shape: Shape | None) -> Shape:
    target = layer.target_shape
    size = None if shape is None or None in shape else math.prod(shape)
    known = math.prod(d for d in target if d != -1)
    if size is None:
        return tuple(None if d == -1 else d for d in target)
    if -1 in target:
        if size % known:
            raise ValueError(f"Reshape {layer.name!r}: cannot reshape {show(shape)} "
                             f"({size} values per sample) to {target}.")
        return tuple(size // known if d == -1 else d for d in target)
    if known != size:
        raise ValueError(f"Reshape {layer.name!r}: target_shape {target} holds {known} "
                         f"values per sample, but its input {show(shape)} has {size}.")
    return target


def _name(layer: Layer) -> str:
    return repr(layer.name) if layer.name else "(new layer)"


def trace(layers: Sequence[Layer], input_shape: Shape | None
          ) -> tuple[list[Shape | None], dict[Layer, int]]:
    """(output shape of each layer, effective activation of each Dense or normalization
    layer) for the chain `layers` fed samples of `input_shape` (None: unknown until fit
    sees x).  Raises ValueError naming the layer when fastnn cannot run the chain."""
    shape = input_shape
    shapes: list[Shape | None] = []
    acts: dict[Layer, int] = {}
    last: Layer | None = None     # the Dense or normalization whose output flows on
    dropout_since = False          # a Dropout between `last` and here
    noise_since = False            # another noise layer between `last` and here
    for layer in layers:
        if isinstance(layer, InputLayer):
            shape = layer.shape
        elif layer._is_stage:
            kind = type(layer).__name__
            if shape is not None and len(shape) != 1:
                raise ValueError(
                    f"{kind} {_name(layer)} receives samples of shape {show(shape)}; "
                    f"fastnn's {kind} layers take flat vectors (Keras would apply it to the "
                    "last axis only). Put Flatten() before it.")
            acts[layer] = getattr(layer, "activation", activations.LINEAR)
            if isinstance(layer, Dense):
                shape = (layer.units,)
            last, dropout_since, noise_since = layer, False, False
        elif isinstance(layer, Dropout):
            dropout_since = dropout_since or last is not None
        elif hasattr(layer, "_noise_kind"):
            noise_since = noise_since or last is not None
        elif isinstance(layer, Activation):
            act = layer.activation
            if act == activations.LINEAR:
                pass
            elif last is None:
                raise ValueError(
                    f"Activation {_name(layer)} comes before any Dense layer; fastnn folds "
                    "an Activation layer into the Dense (or normalization) layer before it. "
                    "Scale the inputs yourself, or move it after a Dense layer.")
            elif acts[last] != activations.LINEAR:
                raise ValueError(
                    f"Activation {_name(layer)} follows {type(last).__name__} "
                    f"{_name(last)}, which already applies "
                    f"{activations.NAMES[acts[last]]!r}; fastnn folds an Activation layer "
                    "into the layer before it, so that layer needs activation=None (one "
                    "activation per layer).")
            elif noise_since:
                raise ValueError(
                    f"Activation {_name(layer)} comes after a noise layer that follows "
                    f"{type(last).__name__} {_name(last)}; fastnn folds it into that layer, "
                    "which is not exact across GaussianNoise, GaussianDropout or "
                    "AlphaDropout. Put the Activation before the noise layer.")
            elif dropout_since and act not in _DROPOUT_COMMUTES:
                raise ValueError(
                    f"Activation {_name(layer)} ({activations.NAMES[act]!r}) comes after a "
                    f"Dropout that follows {_name(last)}; fastnn folds it into that "
                    "layer, which is exact across a Dropout only for relu, leaky_relu and "
                    "linear. Put the Activation directly after the Dense.")
            else:
                acts[last] = act
        elif isinstance(layer, Flatten):
            if shape is not None:
                shape = (None,) if None in shape else (math.prod(shape),)
        elif isinstance(layer, Reshape):
            new = _reshape(layer, shape)
            if last is not None and new != shape:
                raise ValueError(
                    f"Reshape {_name(layer)} changes the output {show(shape)} of layer "
                    f"{_name(last)} to {show(new)}; fastnn reshapes only the input, before "
                    "the first Dense layer.")
            shape = new
        shapes.append(shape)
    return shapes, acts


def variable_layout(stages: Sequence[Layer], input_dim: int
                    ) -> list[tuple[int, Layer, str, tuple[int, ...]]]:
    """(stage index j, layer, variable name, shape) of every variable of the stages
    (Dense and normalization layers, in order) fed `input_dim` features: the order of
    the flat buffer, of ``get_weights`` and of a model file's ``weights/{j}/{name}.npy``."""
    out = []
    n_in = input_dim
    for j, layer in enumerate(stages):
        for name, shape, _ in layer._variables(n_in):
            out.append((j, layer, name, shape))
        n_in = layer.units if isinstance(layer, Dense) else n_in
    return out
