"""Splitting data for honest evaluation: train/validation/test and K-fold.

This module teaches the guide's two habits with no dependency beyond
NumPy.  **With scikit-learn installed, use scikit-learn's tools instead**:
``sklearn.model_selection`` (``train_test_split``, ``KFold``,
``StratifiedKFold``, ``cross_validate``, ``GridSearchCV``) with
:class:`fastnn.sklearn.FastNNClassifier` / ``FastNNRegressor`` — they are the
real thing, run folds in parallel (``n_jobs``, or a Dask cluster) and fit into
pipelines.

The guide (README.md, after an introductory neural-network course) recommends
two habits:

* **Three-way split.** Train on the training set, tune hyper-parameters by
  watching the validation set, and touch the test set only once, at the end,
  so the final score comes from data the model has never seen.
  :func:`train_val_test_split` does that split, optionally stratified.
* **K-fold cross-validation.** Cut the data into ``k`` folds, train ``k``
  fresh models, each on ``k - 1`` folds, and score each on the fold it did
  not see. :class:`KFold`, :class:`StratifiedKFold` and
  :func:`cross_validate` implement it.

Conventions shared by everything here:

* Arguments are validated before any work: ``TypeError`` for a wrong type
  (``None`` for an array, ``bool`` or ``str`` for a number, a non-numeric
  dtype) and ``ValueError`` for a wrong value (range, shape, inconsistent
  lengths, NaN labels). Inputs are never modified.
* ``seed`` is ``None`` or an int in ``[0, 2**64 - 1]`` passed to
  :func:`numpy.random.default_rng`; the same seed gives the same split.
* Index arrays are sorted ``int64`` arrays; data parts are copies made by
  fancy indexing, never views of the inputs.
* Class labels (``stratify``, the ``y`` of :class:`StratifiedKFold`) are a
  1-D array of labels, a ``(n, 1)`` column of labels, or a 2-D one-hot (or
  probability) array whose class is taken with ``argmax`` along axis 1.

Examples
--------
>>> import numpy as np
>>> from fastnn.model_selection import KFold, train_val_test_split
>>> x = np.arange(20.0).reshape(10, 2)
>>> y = np.arange(10) % 2
>>> x_tr, x_va, x_te, y_tr, y_va, y_te = train_val_test_split(
...     x, y, val_size=0.2, test_size=0.2, seed=0)
>>> len(x_tr), len(x_va), len(x_te)
(6, 2, 2)
>>> [test.tolist() for _, test in KFold(3).split(x)]
[[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    check_bool,
    check_finite,
    check_float,
    check_int,
    check_same_length,
    check_seed,
    fail,
)

__all__ = ["train_val_test_split", "KFold", "StratifiedKFold", "cross_validate"]

_NUMERIC_KINDS = "biuf"  # bool, signed int, unsigned int, float
#: Losses that make :func:`cross_validate` treat the model as a classifier.
_CLASSIFICATION_LOSSES = (
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)


# ---------------------------------------------------------------------------
# Validation helpers (the rest come from fastnn._validation)
# ---------------------------------------------------------------------------


def _as_array(func: str, name: str, value: Any) -> np.ndarray:
    """``np.asarray(value)`` (no dtype change) with the module's checks.

    Requires a numeric dtype (bool, int, uint or float) and at least one
    dimension, so that ``len`` is the number of samples.
    """
    expected = "an array-like of numbers with the samples along the first axis"
    if value is None:
        fail(func, f"invalid type for argument `{name}`", expected, name, value, error=TypeError)
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # e.g. ragged nested lists
        fail(func, f"argument `{name}` is not a rectangular array ({str(exc).rstrip('.')})",
             expected, name, value)
    if arr.dtype.kind not in _NUMERIC_KINDS:
        fail(func, f"unsupported dtype {arr.dtype} for argument `{name}`",
             "bool, integer or float data", f"{name}.dtype", str(arr.dtype), error=TypeError)
    if arr.ndim == 0:
        fail(func, f"argument `{name}` is a scalar", expected, name, value)
    return arr


def _class_codes(func: str, name: str, labels: np.ndarray) -> np.ndarray:
    """Map a validated label array to integer class codes ``0..K-1``.

    Accepts 1-D labels, a ``(n, 1)`` column of labels, or a 2-D one-hot /
    probability array (class = argmax along axis 1).
    """
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim not in (1, 2) or labels.shape[1:] == (0,):
        fail(func, f"invalid shape for argument `{name}`",
             "1-D class labels, a (n, 1) column or a 2-D one-hot array with at least one column",
             f"{name}.shape", labels.shape)
    check_finite(func, name, labels)
    if labels.ndim == 2:
        codes = np.argmax(labels, axis=1)
    else:
        codes = np.unique(labels, return_inverse=True)[1].reshape(-1)
    return codes.astype(np.int64, copy=False)


def _looks_like_class_labels(y: np.ndarray) -> bool:
    """Heuristic used by :func:`cross_validate` to choose stratification.

    True for 1-D (or ``(n, 1)``) integer-valued labels and for 2-D one-hot
    arrays with exactly one 1 per row and zeros elsewhere.
    """
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 1:
        if y.dtype.kind in "biu":
            return True
        return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    if y.ndim == 2 and y.shape[1] >= 2:
        is_binary = np.all((y == 0) | (y == 1))
        return bool(is_binary and np.all(y.sum(axis=1) == 1))
    return False


# ---------------------------------------------------------------------------
# train_val_test_split
# ---------------------------------------------------------------------------


def _check_size(func: str, name: str, value: Any) -> int | float:
    """A fraction in (0, 1) (float) or a count >= 1 (int, not bool)."""
    if isinstance(value, (float, np.floating)):
        return check_float(func, name, value, low=0, high=1, low_open=True, high_open=True)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        fail(func, f"invalid type for argument `{name}`",
             "a float in (0, 1) (a fraction) or an int >= 1 (a count)", name, value,
             error=TypeError)
    return check_int(func, name, value, low=1)


def _size_to_count(size: int | float, n_samples: int) -> int:
    """A count stays; a fraction becomes ``ceil(size * n)``.

    The product is rounded to 9 decimals first so that binary round-off
    (``0.7 * 10 == 7.000000000000001``) does not add a sample.
    """
    if isinstance(size, int):
        return size
    return math.ceil(round(size * n_samples, 9))


def _apportion(total: int, counts: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Split ``total`` items across classes in proportion to ``counts``.

    Largest-remainder method: each class gets ``floor(total * c / n)``, then
    the leftover items go one at a time to the classes with the largest
    remainders (ties: lowest class code first), never exceeding
    ``capacity``. Requires ``total <= capacity.sum()``.
    """
    n = int(counts.sum())
    scaled = total * counts.astype(np.int64)
    alloc: np.ndarray = np.minimum(scaled // n, capacity)
    remainder = scaled - alloc * n  # exact integer remainders
    order = np.argsort(-remainder, kind="stable")
    left = total - int(alloc.sum())
    while left > 0:
        progressed = False
        for c in order:
            if left == 0:
                break
            if alloc[c] < capacity[c]:
                alloc[c] += 1
                left -= 1
                progressed = True
        if not progressed:  # pragma: no cover - excluded by the precondition
            raise RuntimeError("internal error: cannot apportion the split")
    return alloc


def train_val_test_split(
    x: ArrayLike,
    y: ArrayLike,
    val_size: float | int = 0.15,
    test_size: float | int = 0.15,
    shuffle: bool = True,
    stratify: ArrayLike | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``x`` and ``y`` into training, validation and test parts.

    The guide's three sets: *training* data fits the weights, *validation*
    data guides the choice of hyper-parameters (and early stopping), and
    *test* data is used once, at the end, to estimate performance on data
    the model has never seen.

    Parameters
    ----------
    x : array_like
        Inputs, numeric, with the samples along the first axis.
    y : array_like
        Targets, numeric, with as many rows as ``x``.
    val_size : float or int, default=0.15
        Size of the validation part: a fraction in (0, 1) of the samples,
        rounded up, or an absolute count >= 1.
    test_size : float or int, default=0.15
        Size of the test part, like ``val_size``. If both are fractions,
        ``val_size + test_size`` must be < 1. The training part gets the
        remaining samples; each of the three parts must get at least one.
    shuffle : bool, default=True
        Whether to shuffle before splitting. If False, the parts are
        contiguous blocks in the input order: training first, then
        validation, then test (per class, when stratified).
    stratify : array_like or None, default=None
        Class labels (1-D, a ``(n, 1)`` column, or 2-D one-hot, one row per
        sample). If given, every part keeps the class proportions of
        ``stratify``: each class is apportioned to the validation and test
        parts by the largest-remainder method, so a class's count in a part
        is within one of its exact share. ``stratify=y`` is the usual call.
    seed : int or None, default=None
        Seed for :func:`numpy.random.default_rng`, used when ``shuffle``.

    Returns
    -------
    x_train, x_val, x_test, y_train, y_val, y_test : numpy.ndarray
        Copies of the selected rows, with the input dtypes. With
        ``shuffle=True`` the rows of each part are in random order; with
        ``shuffle=False`` they keep the input order.

    Raises
    ------
    TypeError
        If ``x``, ``y`` or ``stratify`` is None or not numeric, a size is not
        a float or an int (``bool`` is rejected), ``shuffle`` is not a bool,
        or ``seed`` is not None or an int.
    ValueError
        If lengths differ, a size is out of range, the fractions add up to 1
        or more, some part would be empty, ``stratify`` has a bad shape or
        NaN/inf, or ``seed`` is outside ``[0, 2**64 - 1]``.

    Examples
    --------
    >>> x = np.arange(20)
    >>> parts = train_val_test_split(x, x % 2, val_size=0.25, test_size=0.25,
    ...                              shuffle=False)
    >>> [p.tolist() for p in parts[:3]]
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]
    """
    func = "train_val_test_split"
    x_arr = _as_array(func, "x", x)
    y_arr = _as_array(func, "y", y)
    check_same_length(func, x_arr, y_arr)
    val = _check_size(func, "val_size", val_size)
    test = _check_size(func, "test_size", test_size)
    do_shuffle = check_bool(func, "shuffle", shuffle)
    codes: np.ndarray | None = None
    if stratify is not None:
        strat = _as_array(func, "stratify", stratify)
        check_same_length(func, x_arr, strat, yname="stratify")
        codes = _class_codes(func, "stratify", strat)
    seed = check_seed(func, seed)

    n = len(x_arr)
    if isinstance(val, float) and isinstance(test, float) and val + test >= 1.0:
        fail(func, "invalid values for arguments `val_size` and `test_size`",
             "fractions adding up to less than 1", "val_size + test_size", val + test)
    n_val = _size_to_count(val, n)
    n_test = _size_to_count(test, n)
    n_train = n - n_val - n_test
    if n_train < 1 or n_val < 1 or n_test < 1:
        fail(func, f"cannot split n_samples={n} with val_size={val!r} and test_size={test!r}",
             "every part to get at least 1 sample", "sizes",
             {"train": max(n_train, 0), "val": n_val, "test": n_test})

    rng = np.random.default_rng(seed) if do_shuffle else None
    if codes is None:
        order = rng.permutation(n) if rng is not None else np.arange(n)
        train_idx = order[:n_train]
        val_idx = order[n_train : n_train + n_val]
        test_idx = order[n_train + n_val :]
    else:
        counts = np.bincount(codes).astype(np.int64)
        test_per_class = _apportion(n_test, counts, counts)
        val_per_class = _apportion(n_val, counts, counts - test_per_class)
        train_per_class = counts - test_per_class - val_per_class
        # Sample indices grouped by class, ascending (or shuffled) within a class.
        base = rng.permutation(n) if rng is not None else np.arange(n)
        grouped = base[np.argsort(codes[base], kind="stable")]
        parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
        start = 0
        for n_tr, n_va, n_te in zip(train_per_class, val_per_class, test_per_class, strict=True):
            members = grouped[start : start + n_tr + n_va + n_te]
            start += n_tr + n_va + n_te
            parts[0].append(members[:n_tr])
            parts[1].append(members[n_tr : n_tr + n_va])
            parts[2].append(members[n_tr + n_va :])
        train_idx, val_idx, test_idx = (np.concatenate(p) for p in parts)
        if rng is not None:  # interleave the classes
            train_idx, val_idx, test_idx = (
                rng.permutation(p) for p in (train_idx, val_idx, test_idx)
            )
        else:
            train_idx, val_idx, test_idx = (np.sort(p) for p in (train_idx, val_idx, test_idx))

    return (
        x_arr[train_idx],
        x_arr[val_idx],
        x_arr[test_idx],
        y_arr[train_idx],
        y_arr[val_idx],
        y_arr[test_idx],
    )


# ---------------------------------------------------------------------------
# K-fold splitters
# ---------------------------------------------------------------------------


class _BaseKFold:
    """Shared constructor, validation and iteration of the K-fold splitters."""

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed: int | None = None) -> None:
        func = type(self).__name__
        self._n_splits = check_int(func, "n_splits", n_splits, low=2)
        self._shuffle = check_bool(func, "shuffle", shuffle)
        self._seed = check_seed(func, seed)

    @property
    def n_splits(self) -> int:
        """Number of folds (read-only)."""
        return self._n_splits

    @property
    def shuffle(self) -> bool:
        """Whether samples are shuffled before being dealt into folds (read-only)."""
        return self._shuffle

    @property
    def seed(self) -> int | None:
        """Seed of the shuffle (read-only); ignored when ``shuffle`` is False."""
        return self._seed

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_splits={self._n_splits}, "
            f"shuffle={self._shuffle}, seed={self._seed})"
        )

    def get_n_splits(self, x: Any = None, y: Any = None) -> int:
        """Return the number of folds, ``n_splits``.

        Parameters
        ----------
        x, y : object, optional
            Ignored; accepted for scikit-learn compatibility.

        Returns
        -------
        int
            The number of ``(train, test)`` pairs :meth:`split` yields.
        """
        return self._n_splits

    def _split(self, x: ArrayLike, y: Any, func: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError  # pragma: no cover - implemented by subclasses

    def _check_n_samples(self, func: str, n_samples: int) -> None:
        if self._n_splits > n_samples:
            fail(func, f"cannot make n_splits={self._n_splits} folds from "
                 f"n_samples={n_samples} samples", "n_splits <= n_samples", "n_samples", n_samples)

    def _fold_ids(self, fold_of: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` sorted int64 index arrays, fold by fold."""
        for k in range(self._n_splits):
            in_test = fold_of == k
            yield (
                np.flatnonzero(~in_test).astype(np.int64, copy=False),
                np.flatnonzero(in_test).astype(np.int64, copy=False),
            )


class KFold(_BaseKFold):
    """K-fold cross-validation splitter.

    The samples (in order, or shuffled) are cut into ``n_splits``
    consecutive folds; each fold is the test set once while the other folds
    form the training set. Fold sizes differ by at most one: the first
    ``n_samples % n_splits`` folds get ``n_samples // n_splits + 1`` samples,
    the others ``n_samples // n_splits`` (as in scikit-learn).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, an int >= 2.
    shuffle : bool, default=False
        Whether to shuffle the samples before cutting them into folds.
    seed : int or None, default=None
        Seed for :func:`numpy.random.default_rng`, used when ``shuffle``.
        With an int, every call to :meth:`split` gives the same folds; with
        None, each call shuffles differently. Ignored if ``shuffle`` is False.

    Raises
    ------
    TypeError
        If ``n_splits`` is not an int (``bool`` is rejected), ``shuffle`` is
        not a bool, or ``seed`` is not None or an int.
    ValueError
        If ``n_splits < 2`` or ``seed`` is outside ``[0, 2**64 - 1]``.

    See Also
    --------
    StratifiedKFold : folds that keep the class proportions.
    cross_validate : train and score one model per fold.

    Examples
    --------
    >>> kf = KFold(n_splits=3)
    >>> for train, test in kf.split(np.zeros((7, 2))):
    ...     print(train.tolist(), test.tolist())
    [3, 4, 5, 6] [0, 1, 2]
    [0, 1, 2, 5, 6] [3, 4]
    [0, 1, 2, 3, 4] [5, 6]
    """

    def split(
        self, x: ArrayLike, y: ArrayLike | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate ``(train_idx, test_idx)`` index pairs, one per fold.

        The arguments are validated when ``split`` is called, before the
        first pair is produced.

        Parameters
        ----------
        x : array_like
            Inputs, numeric, with the samples along the first axis; only its
            length is used.
        y : array_like, optional
            Targets; ignored except that its length must match ``x``.

        Returns
        -------
        iterator of (numpy.ndarray, numpy.ndarray)
            ``n_splits`` pairs of sorted ``int64`` index arrays. In each pair
            the two arrays are disjoint and together hold every index
            ``0..n_samples-1``; across pairs the test arrays partition the
            indices.

        Raises
        ------
        TypeError
            If ``x`` (or a given ``y``) is None or not numeric.
        ValueError
            If ``x`` is a scalar, ``y`` has a different length, or
            ``n_splits > n_samples``.
        """
        return self._split(x, y, func="KFold.split")

    def _split(
        self, x: ArrayLike, y: ArrayLike | None, func: str
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Validate (naming ``func`` in errors) and return the fold iterator."""
        x_arr = _as_array(func, "x", x)
        if y is not None:
            check_same_length(func, x_arr, _as_array(func, "y", y))
        n = len(x_arr)
        self._check_n_samples(func, n)

        k = self._n_splits
        sizes = np.full(k, n // k, dtype=np.int64)
        sizes[: n % k] += 1
        order = np.random.default_rng(self._seed).permutation(n) if self._shuffle else np.arange(n)
        fold_of = np.empty(n, dtype=np.int64)
        fold_of[order] = np.repeat(np.arange(k, dtype=np.int64), sizes)
        return self._fold_ids(fold_of)


class StratifiedKFold(_BaseKFold):
    """K-fold splitter that keeps the class proportions in every fold.

    The samples are grouped by class (shuffled within each class if
    ``shuffle``) and dealt round-robin to the folds, the deal continuing
    from one class to the next. Hence, for every class, its counts in any
    two folds differ by at most one, and the fold sizes follow the same rule
    as :class:`KFold` (the first ``n_samples % n_splits`` folds get one extra
    sample).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, an int >= 2.
    shuffle : bool, default=False
        Whether to shuffle each class's samples before dealing them.
    seed : int or None, default=None
        Seed for :func:`numpy.random.default_rng`, used when ``shuffle``.
        With an int, every call to :meth:`split` gives the same folds.
        Ignored if ``shuffle`` is False.

    Raises
    ------
    TypeError
        If ``n_splits`` is not an int (``bool`` is rejected), ``shuffle`` is
        not a bool, or ``seed`` is not None or an int.
    ValueError
        If ``n_splits < 2`` or ``seed`` is outside ``[0, 2**64 - 1]``.

    See Also
    --------
    KFold : plain K-fold.

    Examples
    --------
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> skf = StratifiedKFold(n_splits=2)
    >>> [y[test].tolist() for _, test in skf.split(np.zeros((10, 1)), y)]
    [[0, 0, 1, 1, 1], [0, 0, 1, 1, 1]]
    """

    def split(self, x: ArrayLike, y: ArrayLike) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate stratified ``(train_idx, test_idx)`` pairs, one per fold.

        The arguments are validated when ``split`` is called, before the
        first pair is produced.

        Parameters
        ----------
        x : array_like
            Inputs, numeric, with the samples along the first axis; only its
            length is used.
        y : array_like
            Class labels: 1-D, a ``(n, 1)`` column, or a 2-D one-hot array
            (class = ``argmax`` along axis 1). Numeric and finite.

        Returns
        -------
        iterator of (numpy.ndarray, numpy.ndarray)
            ``n_splits`` pairs of sorted ``int64`` index arrays, as for
            :meth:`KFold.split`.

        Raises
        ------
        TypeError
            If ``x`` or ``y`` is None or not numeric.
        ValueError
            If ``x`` is a scalar, ``y`` has a bad shape, a different length or
            NaN/inf, or ``n_splits > n_samples``.

        Warns
        -----
        UserWarning
            If the least populated class has fewer than ``n_splits`` members
            (some test folds will then lack that class).
        """
        return self._split(x, y, func="StratifiedKFold.split")

    def _split(
        self, x: ArrayLike, y: ArrayLike, func: str
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Validate (naming ``func`` in errors) and return the fold iterator."""
        x_arr = _as_array(func, "x", x)
        y_arr = _as_array(func, "y", y)
        check_same_length(func, x_arr, y_arr)
        codes = _class_codes(func, "y", y_arr)
        n = len(x_arr)
        self._check_n_samples(func, n)

        k = self._n_splits
        counts = np.bincount(codes)
        present = counts[counts > 0]
        if present.size and present.min() < k:
            warnings.warn(
                f"{func}(): the least populated class in `y` has only "
                f"{int(present.min())} member(s), which is fewer than "
                f"n_splits={k}; some test folds will contain no sample of it.",
                UserWarning,
                stacklevel=3,  # warn in _split <- split or cross_validate <- caller
            )
        base = np.random.default_rng(self._seed).permutation(n) if self._shuffle else np.arange(n)
        grouped = base[np.argsort(codes[base], kind="stable")]
        fold_of = np.empty(n, dtype=np.int64)
        fold_of[grouped] = np.arange(n, dtype=np.int64) % k
        return self._fold_ids(fold_of)


# ---------------------------------------------------------------------------
# cross_validate
# ---------------------------------------------------------------------------


def cross_validate(
    model: Any,
    x: ArrayLike,
    y: ArrayLike,
    cv: int | KFold | StratifiedKFold = 5,
    *,
    fit_kwargs: Mapping[str, Any] | None = None,
    return_models: bool = False,
    seed: int | None = None,
) -> dict[str, Any]:
    """K-fold cross-validation: one fresh model per fold, scored on its held-out fold.

    For each ``(train, test)`` pair of the splitter, a fresh copy of
    ``model`` (same architecture and compile settings, re-initialised
    weights, from :func:`fastnn.models.clone_model`) is trained with
    ``fit(x[train], y[train], verbose=0, **fit_kwargs)`` and scored with
    ``evaluate(x[test], y[test], verbose=0, return_dict=True)``. ``model``
    itself is never trained.

    Parameters
    ----------
    model : fastnn model
        A compiled model to copy; it is not modified.
    x : array_like
        Inputs, numeric, samples along the first axis. Converted with
        :func:`numpy.asarray` (no dtype change); the model validates values.
    y : array_like
        Targets with as many rows as ``x``.
    cv : int, KFold or StratifiedKFold, default=5
        The splitter. An int ``k >= 2`` means
        ``StratifiedKFold(k, shuffle=True, seed=seed)`` when the model is a
        classifier, else ``KFold(k, shuffle=True, seed=seed)``. The model
        counts as a classifier when ``model.loss`` (the loss name a compiled
        :class:`~fastnn.models.Sequential` exposes) is
        ``"binary_crossentropy"``, ``"categorical_crossentropy"`` or
        ``"sparse_categorical_crossentropy"`` *and* ``y`` holds class labels
        (1-D or ``(n, 1)`` integer-valued, or 2-D one-hot with exactly one 1
        per row). So a regression model (``loss="mse"``) gets plain K-fold
        even for integer-valued targets, and so does a multi-label
        ``binary_crossentropy`` model whose 2-D ``y`` may have several 1s
        per row. A model without a ``loss`` attribute (or with ``None``)
        gets :class:`KFold`. Pass a splitter object to choose explicitly.
    fit_kwargs : mapping or None, default=None
        Extra keyword arguments for ``fit`` (e.g. ``epochs``,
        ``batch_size``). ``verbose`` may be given to override the default 0;
        ``x`` and ``y`` may not.
    return_models : bool, default=False
        If True, the trained copies are returned under ``"models"``.
    seed : int or None, default=None
        Seed of the shuffle when ``cv`` is an int; ignored when ``cv`` is a
        splitter object (its own seed applies). Weight initialisation of the
        copies is up to ``clone_model``.

    Returns
    -------
    dict
        ``"fold_scores"``: list with one dict per fold, the metric name ->
        float returned by ``evaluate`` on the held-out fold;
        ``"mean"`` and ``"std"``: dicts with the mean and the population
        standard deviation (``ddof=0``) of each metric over the folds;
        ``"models"`` (only if ``return_models``): the trained copies, in fold
        order.

    Raises
    ------
    TypeError
        If ``model``, ``x`` or ``y`` is None, ``x`` or ``y`` is not numeric,
        ``cv`` is neither an int nor a splitter (``bool`` is rejected),
        ``fit_kwargs`` is not a mapping with str keys, ``return_models`` is
        not a bool, ``seed`` is not None or an int, or ``evaluate`` does not
        return a mapping of numbers.
    ValueError
        If ``x`` and ``y`` lengths differ, ``cv < 2`` or more folds than
        samples are requested, ``fit_kwargs`` contains ``x`` or ``y``,
        ``seed`` is outside ``[0, 2**64 - 1]``, or the folds report different
        metric names.

    Warns
    -----
    UserWarning
        From :class:`StratifiedKFold` (used for a classifier) if a class has
        fewer than ``cv`` members.

    Examples
    --------
    >>> result = cross_validate(model, X, y, cv=5,
    ...                         fit_kwargs={"epochs": 50})  # doctest: +SKIP
    >>> result["mean"]["accuracy"]  # doctest: +SKIP
    0.97
    """
    func = "cross_validate"
    if model is None:
        fail(func, "invalid type for argument `model`", "a compiled fastnn model", "model", model,
             error=TypeError)
    x_arr = _as_array(func, "x", x)
    y_arr = _as_array(func, "y", y)
    check_same_length(func, x_arr, y_arr)

    splitter: _BaseKFold | None = cv if isinstance(cv, _BaseKFold) else None
    if splitter is None:
        if isinstance(cv, (bool, np.bool_)) or not isinstance(cv, numbers.Integral):
            fail(func, "invalid type for argument `cv`",
                 "an int >= 2 or a KFold/StratifiedKFold instance", "cv", cv, error=TypeError)
        n_splits = check_int(func, "cv", cv, low=2)

    if fit_kwargs is not None and not (
        isinstance(fit_kwargs, Mapping) and all(isinstance(key, str) for key in fit_kwargs)
    ):
        fail(func, "invalid type for argument `fit_kwargs`", "None or a mapping with str keys",
             "fit_kwargs", fit_kwargs, error=TypeError)
    fit_kw: dict[str, Any] = dict(fit_kwargs or {})
    if {"x", "y"} & fit_kw.keys():
        fail(func, "invalid value for argument `fit_kwargs`",
             "keyword arguments for fit() other than `x` and `y` (cross_validate passes the "
             "data itself)", "fit_kwargs", fit_kwargs)
    keep_models = check_bool(func, "return_models", return_models)
    seed = check_seed(func, seed)

    if splitter is None:
        loss = getattr(model, "loss", None)
        if isinstance(loss, str) and loss in _CLASSIFICATION_LOSSES and _looks_like_class_labels(
            y_arr
        ):
            splitter = StratifiedKFold(n_splits, shuffle=True, seed=seed)
        else:
            splitter = KFold(n_splits, shuffle=True, seed=seed)
    # Materialise the folds now so that every check runs before any training.
    folds = list(splitter._split(x_arr, y_arr, func=func))

    from fastnn.models import clone_model  # lazy: keeps this module importable alone

    fit_kw = {"verbose": 0, **fit_kw}
    fold_scores: list[dict[str, float]] = []
    models: list[Any] = []
    for fold, (train_idx, test_idx) in enumerate(folds):
        fold_model = clone_model(model)
        fold_model.fit(x_arr[train_idx], y_arr[train_idx], **fit_kw)
        raw = fold_model.evaluate(x_arr[test_idx], y_arr[test_idx], verbose=0, return_dict=True)
        fold_scores.append(_scores_as_floats(func, fold, raw))
        if keep_models:
            models.append(fold_model)

    names = list(fold_scores[0])
    for fold, scores in enumerate(fold_scores):
        if set(scores) != set(names):
            fail(func, f"the model reported different metrics on fold {fold} than on fold 0",
                 f"the names {names} on every fold", f"names on fold {fold}", list(scores))
    table = {name: np.array([s[name] for s in fold_scores], dtype=np.float64) for name in names}
    result: dict[str, Any] = {
        "fold_scores": fold_scores,
        "mean": {name: float(values.mean()) for name, values in table.items()},
        "std": {name: float(values.std()) for name, values in table.items()},
    }
    if keep_models:
        result["models"] = models
    return result


def _scores_as_floats(func: str, fold: int, raw: Any) -> dict[str, float]:
    """Check that ``evaluate`` returned a mapping of str -> number; copy as floats."""
    what = f"model.evaluate(..., return_dict=True) returned a bad result on fold {fold}"
    expected = "a dict of metric name -> float"
    if not isinstance(raw, Mapping):
        fail(func, what, expected, "result", raw, error=TypeError)
    scores: dict[str, float] = {}
    for name, value in raw.items():
        if (
            not isinstance(name, str)
            or isinstance(value, (bool, np.bool_))
            or not isinstance(value, numbers.Real)
        ):
            fail(func, what, expected, f"result[{name!r}]", value, error=TypeError)
        scores[name] = float(value)
    return scores
