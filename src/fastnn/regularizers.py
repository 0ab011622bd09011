"""Weight penalties added to the cost, as in the guide (README.md) and Keras.

``L1L2(l1, l2)`` adds ``l1·Σ|w| + l2·Σw²`` to the loss of every batch (no ½,
no division by the number of samples: the Keras convention), and
``l1·sign(w) + 2·l2·w`` to the gradient, inside the C training loop.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from numpy.typing import ArrayLike

from ._registry import from_config_dict, resolve
from ._validation import check_float

if TYPE_CHECKING:
    from typing_extensions import Self


class Regularizer:
    """Base class: a penalty on a weight tensor."""

    l1: float = 0.0
    l2: float = 0.0

    def get_config(self) -> dict[str, Any]:
        """The penalty factors, as Keras's ``get_config``."""
        return {"l1": self.l1, "l2": self.l2}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """A new regularizer from :meth:`get_config`'s dict."""
        return cls(**config)

    def __call__(self, w: ArrayLike) -> float:
        import numpy as np

        w = np.asarray(w, dtype=np.float64)
        return float(self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class L1L2(Regularizer):
    """Penalty ``l1·Σ|w| + l2·Σw²``; λ values must be finite and >= 0."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = check_float("L1L2", "l1", l1, low=0.0)
        self.l2 = check_float("L1L2", "l2", l2, low=0.0)


class L1(L1L2):
    """Penalty ``l1·Σ|w|`` (Keras default l1=0.01)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """Penalty ``l2·Σw²`` (Keras default l2=0.01)."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


def l1(l1: float = 0.01) -> L1:
    """``L1(l1)``: penalty l1·Σ|w| (Keras's shortcut)."""
    return L1(l1)


def l2(l2: float = 0.01) -> L2:
    """``L2(l2)``: penalty l2·Σw² (Keras's shortcut)."""
    return L2(l2)


def l1_l2(l1: float = 0.0, l2: float = 0.0) -> L1L2:
    """``L1L2(l1, l2)``: both penalties.  Keras 3's ``l1_l2`` is ``L1L2`` itself, so
    its defaults are 0 (Keras 2's function defaulted to 0.01 each)."""
    return L1L2(l1, l2)


ALL_OBJECTS_DICT = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier: str | Regularizer | dict[str, Any] | None) -> Regularizer | None:
    """A regularizer from a name (``"l2"``), a config dict, an object, or None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return from_config_dict("regularizers", identifier, ALL_OBJECTS_DICT)
    found = resolve("regularizers", identifier, ALL_OBJECTS_DICT, Regularizer)
    return found if isinstance(found, Regularizer) else found()


def serialize(reg: Regularizer | None) -> dict[str, Any] | None:
    """``{"class_name": ..., "config": ...}`` (or None) for a layer config."""
    if reg is None:
        return None
    return {"class_name": type(reg).__name__, "config": reg.get_config()}
