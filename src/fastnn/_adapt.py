"""Keras's ``Normalization`` layer: ``(x − mean)/max(√variance, 1e-7)`` with the mean and
variance given (``mean=``, ``variance=``) or computed from data by :meth:`adapt`; they
are never trained.  The C loop runs it as a fixed stage (csrc/fnn_norm.h,
``fnn_standardize_*``); the values live in the model's flat buffer after the
previous layer's variables, as a BatchNormalization's moving statistics do."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_bool, check_int, fail
from .normalization import STAGE_STANDARDIZE, NormLayer


def _statistic(func: str, name: str, value: Any) -> np.ndarray | None:
    """A given mean or variance: a finite number or a 1-D sequence of them."""
    if value is None:
        return None
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(func, f"invalid argument `{name}`", "a float or a 1-D sequence of floats",
             name, value, error=TypeError)
    if arr.ndim > 1 and arr.size == max(arr.shape):  # Keras's broadcast shapes, (1, n)
        arr = arr.reshape(-1)
    if arr.ndim > 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        fail(func, f"invalid argument `{name}`", "a finite float or a non-empty 1-D "
             "sequence of finite floats", name, value)
    if name == "variance" and float(arr.min()) < 0:
        fail(func, "invalid argument `variance`", "values >= 0", name, value)
    return arr.reshape(-1)


class Normalization(NormLayer):
    """Shifts and scales features to mean 0 and variance 1 with statistics fixed before
    training: ``z = (x − mean)/max(√variance, 1e-7)`` (Keras 3).

    Parameters
    ----------
    axis : -1 (one mean and variance per feature) or None (one for all values)
    mean, variance : float or 1-D sequence, optional
        Given together; otherwise :meth:`adapt` computes them from data (until then
        the layer uses mean 0 and variance 1, as Keras's initial weights).
    invert : bool
        Only False: fastnn does not de-normalize.
    """

    _base_name = "normalization"
    _kind = STAGE_STANDARDIZE

    def __init__(self, axis: int | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, name: str | None = None, trainable: bool = True,
                 input_shape: Any = None) -> None:
        super().__init__(name, trainable, input_shape)
        if axis is not None:
            if isinstance(axis, (list, tuple)) and len(axis) == 1:
                axis = axis[0]
            if isinstance(axis, bool) or axis not in (-1, 1):
                fail("Normalization", "fastnn's samples are flat vectors", "axis=-1 (per "
                     "feature) or axis=None (one mean and variance)", "axis", axis)
            axis = -1
        self.axis = axis
        if check_bool("Normalization", "invert", invert):
            fail("Normalization", "fastnn does not de-normalize (invert=True)",
                 "invert=False", "invert", invert)
        self.invert = False
        if (mean is None) != (variance is None):
            raise ValueError("Normalization(): give both `mean` and `variance` or neither "
                             "(then call adapt()). Received: "
                             f"mean={mean!r}, variance={variance!r}")
        self.input_mean = _statistic("Normalization", "mean", mean)
        self.input_variance = _statistic("Normalization", "variance", variance)
        if self.input_mean is not None and self.input_variance is not None and (
                self.input_mean.size != self.input_variance.size
                and 1 not in (self.input_mean.size, self.input_variance.size)):
            raise ValueError("Normalization(): `mean` and `variance` have different sizes "
                             f"({self.input_mean.size} and {self.input_variance.size}).")
        self._adapted: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ variables
    def _variables(self, n: int) -> list[tuple[str, tuple[int, ...], bool]]:
        # a given mean and variance are constants in Keras (no weights); fastnn keeps
        # them in the buffer all the same, for the C stage.  Keras's `count` (kept for
        # old files, 0 in Keras 3) is there too, to give get_weights Keras's list.
        extra: list[tuple[str, tuple[int, ...], bool]] = [] if self._given else [
            ("count", (), False)]
        return [("mean", (n,), False), ("variance", (n,), False), *extra]

    @property
    def _given(self) -> bool:
        return self.input_mean is not None

    def _weight_names(self, n: int) -> list[str]:
        return [] if self._given else ["mean", "variance", "count"]

    def _values(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean, variance) broadcast to n features."""
        if self.input_mean is not None and self.input_variance is not None:
            mean, var = self.input_mean, self.input_variance
        elif self._adapted is not None:
            mean, var = self._adapted
        else:
            return np.zeros(n), np.ones(n)
        for what, arr in (("mean", mean), ("variance", var)):
            if arr.size not in (1, n):
                raise ValueError(f"Normalization {self.name!r}: its {what} has {arr.size} "
                                 f"values, but it receives {n} features.")
        return np.broadcast_to(mean, (n,)).copy(), np.broadcast_to(var, (n,)).copy()

    def _initial(self, name: str, out: np.ndarray, n: int, rng: np.ndarray) -> None:
        mean, var = self._values(n)
        out[:] = {"mean": mean, "variance": var}.get(name, 0.0)

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: ArrayLike, batch_size: int | None = None,
              steps: int | None = None) -> None:
        """Compute the mean and (biased) variance of `data` — per feature, or of all
        values with ``axis=None`` — and use them from now on.  `data`: (n_samples,
        n_features) or (n_samples,) for one feature; finite numbers."""
        func = f"{type(self).__name__}.adapt"
        if self.input_mean is not None:
            raise ValueError(f"{func}(): this layer was given `mean` and `variance`; "
                             "adapt() would replace them. Create it without them.")
        if batch_size is not None:
            check_int(func, "batch_size", batch_size, low=1)
        if steps is not None:
            raise ValueError(f"{func}(): `steps` applies to datasets; fastnn adapts on an "
                             f"array. Received: steps={steps!r}")
        if isinstance(data, (str, bytes, dict)) or data is None:
            fail(func, "invalid type for argument `data`", "an array of numbers", "data",
                 data, error=TypeError)
        try:
            arr = np.asarray(data)
        except (TypeError, ValueError):
            fail(func, "invalid argument `data`", "an array of numbers", "data", data,
                 error=TypeError)
        if arr.dtype.kind not in "biuf":
            fail(func, "unsupported dtype of `data`", "numbers (bool, int or float)",
                 "data.dtype", arr.dtype, error=TypeError)
        arr = arr.astype(np.float64)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            fail(func, "invalid shape of `data`", "(n_samples, n_features) with n_samples "
                 ">= 1 (or (n_samples,) for one feature)", "data.shape", arr.shape)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{func}(): `data` contains NaN or infinite values.")
        if self.axis is None:
            mean, var = np.array([arr.mean()]), np.array([arr.var()])
        else:
            mean, var = arr.mean(axis=0), arr.var(axis=0)
        host = self._host
        if host is None or host.model is None:
            self._adapted = (mean, var)
            return
        with host.writing():
            n = host.width(self)
            if n is not None and mean.size not in (1, n):
                raise ValueError(f"{func}(): `data` has {mean.size} features; the layer "
                                 f"receives {n}.")
            self._adapted = (mean, var)
            if n is not None:
                variables = host.variables(self, writable=True)
                variables["mean"][...], variables["variance"][...] = self._values(n)

    def get_config(self) -> dict[str, Any]:
        config = {**self._base_config(), "axis": self.axis, "invert": self.invert,
                  "mean": None, "variance": None}
        if self.input_mean is not None and self.input_variance is not None:
            config["mean"] = [float(v) for v in self.input_mean]
            config["variance"] = [float(v) for v in self.input_variance]
        return config
