"""Input validation shared by every public function.

Python validates and C trusts: the kernels run with bounds checks off, so every
shape, dtype, finiteness, label and range check happens here, once, before the
first kernel, and before any state of the model changes.

One message format: ``"<func>(): <what>. Expected <expected>. Received: <name>=<value>"``.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable, NoReturn

import numpy as np

from .errors import (ConvergenceWarning, MismatchedLossWarning, ModelFileError,
                     NonFiniteLossError, NotFittedError, ZeroGradientWarning)

# fastnn's exceptions live in the pure-Python `errors` module; re-exported here (and
# from `fastnn`) under the names code has always caught them by
__all__ = [
    "NotFittedError",
    "NonFiniteLossError",
    "ConvergenceWarning",
    "MismatchedLossWarning",
    "ZeroGradientWarning",
    "ModelFileError",
]


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(func: str, what: str, expected: str, name: str, value: Any, *,
         error: type[Exception] = ValueError) -> NoReturn:
    """Raise `error` in the house format."""
    raise error(f"{func}(): {what}. Expected {expected}. Received: {name}={_show(value)}")


def check_int(func: str, name: str, value: Any, *, low: int | None = None,
              high: int | None = None) -> int:
    """An integer (not bool) in [low, high]."""
    expected = "an int" + (f" >= {low}" if low is not None else "") + (
        f" and <= {high}" if high is not None else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        fail(func, f"invalid type for argument `{name}`", expected, name, value, error=TypeError)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        fail(func, f"invalid value for argument `{name}`", expected, name, value)
    return value


def check_float(func: str, name: str, value: Any, *, low: float | None = None,
                high: float | None = None, low_open: bool = False,
                high_open: bool = False) -> float:
    """A finite real number (not bool, not str) in the stated interval."""
    lo = "" if low is None else (f" > {low}" if low_open else f" >= {low}")
    hi = "" if high is None else (f" < {high}" if high_open else f" <= {high}")
    expected = "a finite float" + lo + (" and" if lo and hi else "") + hi
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(func, f"invalid type for argument `{name}`", expected, name, value, error=TypeError)
    value = float(value)
    bad = not np.isfinite(value)
    bad = bad or (low is not None and (value <= low if low_open else value < low))
    bad = bad or (high is not None and (value >= high if high_open else value > high))
    if bad:
        fail(func, f"invalid value for argument `{name}`", expected, name, value)
    return value


def check_bool(func: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        fail(func, f"invalid type for argument `{name}`", "a bool", name, value, error=TypeError)
    return bool(value)


def check_seed(func: str, value: Any) -> int | None:
    if value is None:
        return None
    return check_int(func, "seed", value, low=0, high=2**64 - 1)


def check_name(func: str, name: str, value: Any, valid: Iterable[str]) -> str:
    """A case-insensitive name from `valid`; returns it lower-cased."""
    valid = sorted(valid)
    if not isinstance(value, str):
        fail(func, f"invalid type for argument `{name}`", f"one of {valid}", name, value,
             error=TypeError)
    key = value.lower()
    if key not in valid:
        fail(func, f"unknown {name} {value!r}", f"one of {valid}", name, value)
    return key


def as_numeric_array(func: str, name: str, x: Any) -> np.ndarray:
    """``np.asarray(x)``, its dtype kept, once it is known to be a rectangular array of
    bool, integer or float data: TypeError for None, a masked array or another dtype
    kind, ValueError for ragged nested lists."""
    if x is None:
        fail(func, f"argument `{name}` is missing", "an array-like of numbers", name, x,
             error=TypeError)
    check_not_masked(func, name, x)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        reason = str(exc).rstrip(".")
    else:
        if arr.dtype.kind not in "biuf":
            fail(func, f"unsupported dtype {arr.dtype} for argument `{name}`",
                 "bool, integer or float data", f"{name}.dtype", str(arr.dtype),
                 error=TypeError)
        return arr
    fail(func, f"argument `{name}` is not a rectangular array of numbers ({reason})",
         "an array-like of numbers", name, x)


def as_float_array(func: str, name: str, x: Any, dtype: np.dtype, *, ndim: int | None = 2,
                   n_features: int | None = None, allow_empty: bool = False,
                   finite: bool = True) -> np.ndarray:
    """Convert an array-like once to a C-contiguous array of `dtype` and check it.

    Accepts bool, int, uint and float data (any order, strides, read-only);
    rejects other dtype kinds with TypeError and shape or NaN/inf problems with
    ValueError.  Finiteness is checked after the cast (1e39 overflows float32);
    finite=False leaves that check to the caller (a kernel whose first pass over the
    data finds NaN and inf anyway, then calls check_finite for the message).
    """
    arr = as_numeric_array(func, name, x)
    if ndim is not None and arr.ndim != ndim:
        hint = ""
        if ndim == 2 and arr.ndim == 1:
            hint = _reshape_hint(name, arr.size, n_features)
        raise ValueError(f"{func}(): argument `{name}` must be {ndim}-D. Expected shape "
                         f"(n_samples, n_features). Received: {name}.shape={arr.shape}.{hint}")
    if ndim == 2 and arr.shape[1] == 0:
        fail(func, f"argument `{name}` has no features", "at least 1 column",
             f"{name}.shape", arr.shape)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{func}(): {name} has {arr.shape[1]} features, but the model "
                         f"expects {n_features} (input shape (None, {n_features})).")
    if not allow_empty and arr.shape[0] == 0:
        fail(func, f"argument `{name}` has no samples", "at least 1 sample",
             f"{name}.shape", arr.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        arr = np.require(arr, dtype=dtype, requirements=["C", "A"])
    if finite:
        check_finite(func, name, arr)
    return arr


def _reshape_hint(name: str, size: int, n_features: int | None) -> str:
    """Which reshape turns a 1-D array of `size` values into rows of the
    model's `n_features` (the model knows; without it, both readings)."""
    if n_features is None:
        return (f" Use {name}.reshape(-1, 1) for one feature per sample or "
                f"{name}.reshape(1, -1) for a single sample.")
    if n_features == 1:
        return (f" The model takes 1 feature per sample: use {name}.reshape(-1, 1) "
                f"({size} samples).")
    if size == n_features:
        return (f" The model takes {n_features} features per sample: use "
                f"{name}.reshape(1, -1) for this one sample.")
    if size and size % n_features == 0:
        return (f" The model takes {n_features} features per sample: use "
                f"{name}.reshape(-1, {n_features}) for {size // n_features} samples.")
    return (f" The model takes {n_features} features per sample, and {size} values do not "
            f"make whole rows of {n_features}.")


def check_not_masked(func: str, name: str, x: Any) -> None:
    """Masked arrays are refused: a network has no meaning for a missing input, and
    np.asarray would silently use the values under the mask."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{func}(): argument `{name}` is a masked array; fastnn does not "
                        "handle missing values. Fill or drop them first (e.g. "
                        f"{name}.filled(value) or {name}.compressed()). Received: "
                        f"{np.ma.count_masked(x)} masked entries.")


_all_finite: Callable[[np.ndarray], bool] | None = None


def _load_all_finite() -> Callable[[np.ndarray], bool]:
    """The compiled ``all_finite``, imported on first use: this module (and so the
    exceptions and the NumPy reference model) imports without the C extension."""
    global _all_finite
    from ._kernels._core import all_finite
    _all_finite = all_finite
    return all_finite


def check_finite(func: str, name: str, arr: np.ndarray) -> None:
    if arr.dtype.kind != "f":
        return
    if arr.dtype in (np.float32, np.float64) and arr.flags.c_contiguous:
        if (_all_finite or _load_all_finite())(arr):  # one pass, no temporary
            return
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[:5]
        where = [tuple(int(i) for i in idx) if len(idx) > 1 else int(idx[0]) for idx in bad]
        raise ValueError(f"{func}(): argument `{name}` contains NaN or infinity (after "
                         f"conversion to {arr.dtype}) at indices {where}. Expected finite values.")


def check_same_length(func: str, x: np.ndarray, y: np.ndarray, xname: str = "x",
                      yname: str = "y") -> None:
    if len(x) != len(y):
        raise ValueError(f"{func}(): {xname} and {yname} have different numbers of samples. "
                         f"Received: len({xname})={len(x)}, len({yname})={len(y)}.")
