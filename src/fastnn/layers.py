"""Layers of a Sequential model: Input, Dense and Dropout (Keras names and defaults).

A layer holds its configuration.  Its weights live in the model's one flat
parameter buffer; ``Dense.kernel`` and ``Dense.bias`` are read-only views of it
and ``get_weights()`` returns copies.

Ownership is one-directional: the model owns its layers, and a layer reaches its
model through a weak reference (``Layer._model``), so a model and its layers form
no reference cycle and are freed by reference counting as soon as the last
reference to the model goes (issue 18).  A layer that outlives its model is
detached, as a popped layer is: it has no weights and may join another model.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from . import activations, initializers, regularizers
from ._validation import check_bool, check_float, check_int, fail

if TYPE_CHECKING:
    from typing_extensions import Self

    from .initializers import Initializer
    from .models import Sequential
    from .regularizers import Regularizer


class Layer:
    """Base class of fastnn layers."""

    _base_name = "layer"

    def __init__(self, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            fail(type(self).__name__, "invalid type for argument `name`", "a str or None",
                 "name", name, error=TypeError)
        self.name = name
        self._model_ref: weakref.ref[Sequential] | None = None

    @property
    def _model(self) -> Sequential | None:
        """The model this layer belongs to; None before ``add``, after ``pop`` and once
        the model is freed (a weak reference: the model owns the layer, not the
        other way round)."""
        ref = self._model_ref
        return None if ref is None else ref()

    @_model.setter
    def _model(self, model: Sequential | None) -> None:
        self._model_ref = None if model is None else weakref.ref(model)

    def __getstate__(self) -> dict[str, Any]:
        # a copy or a pickle of a layer is detached (a weak reference is not copied)
        state = self.__dict__.copy()
        state["_model_ref"] = None
        return state

    @property
    def trainable(self) -> bool:
        """False freezes the layer's weights: the C loop still backpropagates through it
        but puts its weights and optimizer state back after every update (Keras)."""
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = check_bool(f"{type(self).__name__}.trainable", "trainable", value)
        model = self._model
        if model is None or not model.built:
            self._trainable = value
            return
        with model._writing():  # the plan carries the frozen flags
            self._trainable = value
            model._make_net()

    def get_config(self) -> dict[str, Any]:
        """The layer's constructor arguments, as Keras's ``get_config``."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """A new layer from :meth:`get_config`'s dict."""
        return cls(**config)

    def get_weights(self) -> list[np.ndarray]:
        """The layer's weights as NumPy copies (none for this layer)."""
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _check_shape(func: str, shape: Any) -> int:
    """(n,) or n -> n, the number of input features."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) != 1:
        fail(func, "invalid input shape; dense networks take flat feature vectors",
             "a tuple (n_features,)", "shape", shape,
             error=TypeError if not isinstance(shape, (tuple, list)) else ValueError)
    return check_int(func, "shape[0]", shape[0], low=1, high=2**31 - 1)


class InputLayer(Layer):
    """Declares the number of input features: ``Input(shape=(n_features,))``."""

    _base_name = "input_layer"

    def __init__(self, shape: int | Sequence[int], name: str | None = None) -> None:
        super().__init__(name)
        self.units = _check_shape("Input", shape)
        self.shape = (self.units,)

    def get_config(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "name": self.name}


def Input(shape: int | Sequence[int],  # noqa: N802 (Keras's name)
          name: str | None = None) -> InputLayer:
    """The input of a Sequential model: ``fastnn.Input(shape=(n_features,))``."""
    return InputLayer(shape, name=name)


class Dense(Layer):
    """Fully connected layer: ``z = x·W + b``, ``a = activation(z)``.

    In the guide's vector form one neuron row computes ``z = W·x + b``; here the
    kernel is stored as (n_in, units), Keras's layout, and a batch of rows X
    gives ``Z = X·W + b``.

    Parameters
    ----------
    units : int >= 1
        Number of neurons (outputs).
    activation : str or None
        One of ``fastnn.activations.ALL_OBJECTS_DICT`` (None = linear).
    use_bias : bool
    kernel_initializer, bias_initializer : str
        Names from ``fastnn.initializers`` (defaults glorot_uniform, zeros).
    kernel_regularizer, bias_regularizer : Regularizer, name or None
        ``fastnn.regularizers.l1(λ)``, ``l2(λ)``, ``l1_l2(l1, l2)``.
    input_shape : tuple (n_features,), optional
        On the first layer, instead of an ``Input``.
    """

    _base_name = "dense"

    def __init__(self, units: int,
                 activation: str | Callable[[ArrayLike], np.ndarray] | None = None,
                 use_bias: bool = True,
                 kernel_initializer: str | Initializer = "glorot_uniform",
                 bias_initializer: str | Initializer = "zeros",
                 kernel_regularizer: str | Regularizer | dict[str, Any] | None = None,
                 bias_regularizer: str | Regularizer | dict[str, Any] | None = None,
                 input_shape: int | Sequence[int] | None = None,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name)
        self._trainable = check_bool("Dense", "trainable", trainable)
        self.units = check_int("Dense", "units", units, low=1, high=2**31 - 1)
        self.activation = activations.get(activation, caller="Dense", argument="activation")
        if not isinstance(use_bias, (bool, np.bool_)):
            fail("Dense", "invalid type for argument `use_bias`", "a bool", "use_bias",
                 use_bias, error=TypeError)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_dim = None if input_shape is None else _check_shape("Dense", input_shape)
        self._w_off = self._b_off = -1

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "name": self.name,
        }
        if not self.trainable:
            config["trainable"] = False
        if self.input_dim is not None:
            config["input_shape"] = [self.input_dim]
        return config

    # weights: views into the model's flat buffer
    def _view(self, which: str) -> np.ndarray | None:
        model = self._model
        if model is None or model._params is None:
            return None
        n_in = model._dense_inputs[self]
        if which == "bias" and not self.use_bias:
            return None
        # a view through a read-only buffer: unlike a view with the flag cleared, it
        # cannot be made writable again (setflags(write=True) raises)
        params = model._params
        frozen = np.frombuffer(params.data.toreadonly(), dtype=params.dtype)  # memoryview(params)
        if which == "kernel":
            return frozen[self._w_off:self._w_off + n_in * self.units].reshape(n_in, self.units)
        return frozen[self._b_off:self._b_off + self.units]

    @property
    def kernel(self) -> np.ndarray | None:
        """Read-only view of the kernel W, shape (n_in, units); None before build."""
        return self._view("kernel")

    @property
    def bias(self) -> np.ndarray | None:
        """Read-only view of the bias b, shape (units,); None before build or without bias."""
        return self._view("bias")

    def get_weights(self) -> list[np.ndarray]:
        """Copies of [kernel, bias]; a model that knows its input size creates its
        weights now if it has none yet (Keras builds at once).  A read of the model
        (see fastnn/_state.py)."""
        model = self._model
        if model is None:
            return []
        if not model.built and model._input_dim is not None:
            model._ensure_built("get_weights")
        with model._reading("get_weights"):
            return [w.copy() for w in (self.kernel, self.bias) if w is not None]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replace this layer's [kernel, bias] (checked as ``model.set_weights``)."""
        model = self._model
        if model is None:
            raise ValueError(f"{self.name}.set_weights(): the layer belongs to no model yet; "
                             "add it to a Sequential first.")
        if not isinstance(weights, (list, tuple)):
            fail(f"{self.name}.set_weights", "invalid type for argument `weights`",
                 "a list [kernel, bias]", "weights", weights, error=TypeError)
        with model._writing():  # the other layers' weights and the write, one moment
            model._ensure_built_locked("set_weights")
            others = [w for layer in model._dense for w in
                      (weights if layer is self else layer.get_weights())]
            model._set_dense_weights(others)


class Dropout(Layer):
    """Inverted dropout: during ``fit`` each unit of the previous layer's output
    is zeroed with probability ``rate`` and the survivors are scaled by
    ``1/(1 − rate)``; ``predict`` and ``evaluate`` use every unit unchanged.
    Masks come from the model's seeded C PRNG (one mask per batch, shared by the
    forward and backward pass)."""

    _base_name = "dropout"

    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name)
        self.rate = check_float("Dropout", "rate", rate, low=0.0, high=1.0, high_open=True)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "name": self.name}


ALL_OBJECTS_DICT: dict[str, type[Layer]] = {"Dense": Dense, "Dropout": Dropout,
                                            "InputLayer": InputLayer}
