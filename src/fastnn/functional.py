"""Keras's ways of making a model other than ``Sequential([...])``: the functional
chain ``Model(inputs, outputs)`` (``x = Dense(8)(inputs)`` records the chain:
``fastnn._core_layers.KerasTensor``) and ``layer(x)`` on data for a layer in no
model.  Both end in a :class:`fastnn.Sequential`: fastnn runs linear chains."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._core_layers import KerasTensor, set_run_alone
from ._validation import fail
from .layers import Input, InputLayer, Layer
from .models import Sequential


class Model:
    """Keras's functional ``Model(inputs, outputs)`` for a linear chain of layers
    (``inputs = fastnn.Input(shape=(n,)); x = Dense(8)(inputs); ...;
    Model(inputs, outputs)``): gives the :class:`Sequential` of those layers.
    Subclassing Model (a ``call`` in Python) is refused: fastnn runs its models in C."""

    def __new__(  # type: ignore[misc]  # a factory, as Keras's Model(inputs, outputs)
            cls, inputs: Any = None, outputs: Any = None, name: str = "functional",
            **kwargs: Any) -> Sequential:
        func = "Model"
        if kwargs:
            raise TypeError(f"{func}(): unexpected arguments {sorted(kwargs)}; fastnn's "
                            "Model takes inputs, outputs and name.")
        inputs = _one(func, "inputs", inputs, InputLayer)
        outputs = _one(func, "outputs", outputs, KerasTensor)
        if outputs.layers[0] is not inputs:
            raise ValueError(f"{func}(): `outputs` was not computed from `inputs` (its chain "
                             f"starts at {outputs.layers[0].name!r}).")
        return Sequential(list(outputs.layers), name=name)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError(f"class {cls.__name__}(Model): fastnn has no subclassed models; it "
                        "runs its models in C and cannot call a Python call() method. Build "
                        "a fastnn.Sequential([...]) of fastnn's layers (or fastnn.Model("
                        "inputs, outputs) for a chain of them).")


def _one(func: str, name: str, value: Any, kind: type) -> Any:
    """The single `kind` object in `value` (itself, or a list/dict of one)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"{func}(): fastnn's models have one input and one output; "
                             f"`{name}` holds {len(value)}.")
        value = value[0]
    if not isinstance(value, kind):
        expected = ("fastnn.Input(...)" if kind is InputLayer
                    else "the output of a layer called on the inputs")
        fail(func, f"invalid `{name}`", expected, name, value, error=TypeError)
    return value


def _run_alone(layer: Layer, x: Any, training: bool) -> np.ndarray:
    """``layer(x)`` on data for a layer in no model: the layer in a Sequential of its
    own (made on the first call, from x's sample shape), which holds its weights."""
    model = layer._model
    if model is None:
        arr = np.asarray(x)
        if arr.ndim < 2:
            fail(f"{type(layer).__name__}(...)(x)", "x must be a batch of samples",
                 "an array of shape (n_samples, ...)", "x.shape", arr.shape)
        model = Sequential([Input(shape=arr.shape[1:]), layer],
                           name=f"{layer.name or layer._base_name}_alone")
        layer._alone = True
        layer._keep_alive = model  # type: ignore[attr-defined]  # the host holds it weakly
    return model(x, training=training)


set_run_alone(_run_alone)
