"""``WeightView``: a layer's kernel or bias as a read-only NumPy view into the model's
flat parameter buffer, with the methods of a Keras ``Variable`` that scripts call:
``assign`` (and ``assign_add``/``assign_sub``), ``numpy()``, ``value``, ``name``,
``path``, ``trainable``.

Writes never go through the view's memory (it is read-only): ``assign`` asks the
layer, which checks the value (shape, numbers, finite) and writes it into the
current buffer under the model's writer lock, as ``set_weights`` does.  Arrays
derived from a view (slices, copies, arithmetic) are plain arrays.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from .layers import Layer


class WeightView(np.ndarray):
    """A Dense layer's kernel or bias (see the module docstring)."""

    _layer: Layer | None = None
    _which = ""

    @classmethod
    def of(cls, view: np.ndarray, layer: Layer, which: str) -> WeightView:
        out = view.view(cls)
        out._layer, out._which = layer, which
        return out

    def __array_finalize__(self, obj: Any) -> None:
        self._layer, self._which = None, ""  # derived arrays are detached

    def __array_wrap__(self, arr: np.ndarray, context: Any = None,
                       return_scalar: bool = False) -> Any:
        out = np.asarray(arr).view(np.ndarray)
        return out[()] if return_scalar else out

    def __reduce__(self) -> Any:  # a pickle or deepcopy is a plain array
        return np.array(self).__reduce__()

    def _owner(self, what: str) -> Layer:
        if self._layer is None:
            raise ValueError(f"{what}(): this array is not a layer's weight (a copy, slice "
                             "or result derived from one); assign to layer.kernel or "
                             "layer.bias itself.")
        return self._layer

    def assign(self, value: ArrayLike) -> None:
        """Replace the weight with `value` (same shape; finite numbers)."""
        self._owner("assign")._assign(self._which, value)

    def assign_add(self, delta: ArrayLike) -> None:
        """Add `delta` to the weight."""
        self._owner("assign_add")._assign(self._which, np.array(self) + np.asarray(delta))

    def assign_sub(self, delta: ArrayLike) -> None:
        """Subtract `delta` from the weight."""
        self._owner("assign_sub")._assign(self._which, np.array(self) - np.asarray(delta))

    def numpy(self) -> np.ndarray:
        """A copy of the current values (Keras's ``Variable.numpy()``)."""
        return np.array(self)

    @property
    def value(self) -> np.ndarray:
        """A copy of the current values."""
        return np.array(self)

    @property
    def name(self) -> str:
        """``"kernel"``, ``"bias"``, ``"gamma"``, ``"moving_mean"``, ..."""
        return self._which

    @property
    def path(self) -> str:
        """``"sequential/dense/kernel"``: the model's, layer's and weight's names (Keras 3)."""
        if self._layer is None:
            return ""
        model = self._layer._model
        prefix = "" if model is None else f"{model.name}/"
        return f"{prefix}{self._layer.name}/{self._which}"

    @property
    def trainable(self) -> bool:
        """Whether fit updates it (the layer's ``trainable``)."""
        layer = self._layer
        return layer is not None and layer.trainable and layer._trained(self._which)
