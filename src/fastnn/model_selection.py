"""Splitting data for honest evaluation: the guide's two habits, with NumPy only.

* **Three-way split** (:func:`train_val_test_split`): train on the training set,
  tune hyper-parameters on the validation set, touch the test set once, at the
  end, so the final score comes from data the model has never seen.
* **K-fold cross-validation** (:class:`KFold`, :class:`StratifiedKFold`,
  :func:`cross_validate`): cut the data into ``k`` folds, train ``k`` fresh copies
  of a fastnn model, each on ``k - 1`` folds, and score each on the fold it did
  not see.

With scikit-learn installed, ``sklearn.model_selection`` (``GridSearchCV``,
``cross_validate`` with ``n_jobs``, pipelines) and the estimators of
:mod:`fastnn.sklearn` do more; this module is what the guide needs without it.

Conventions: every argument is checked before any work (``TypeError`` for a
wrong type — ``None`` or a non-numeric dtype for an array, ``bool`` or ``str``
for a number —, ``ValueError`` for a wrong value: range, shape, lengths, NaN
labels), and inputs are never modified.  ``seed`` is None or an int in
``[0, 2**64 - 1]`` for :func:`numpy.random.default_rng`: the same seed gives the
same split.  Index arrays are sorted ``int64``; data parts are copies (fancy
indexing), in the input dtypes.  Class labels (``stratify``, StratifiedKFold's
``y``) are 1-D, a ``(n, 1)`` column, or 2-D one-hot (or probabilities), whose
class is the ``argmax`` along axis 1.  README.md shows both habits at work.
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (as_numeric_array, check_bool, check_finite, check_float, check_int,
                          check_same_length, check_seed, fail)

__all__ = ["train_val_test_split", "KFold", "StratifiedKFold", "cross_validate"]

# losses that make cross_validate treat the model as a classifier
_CLASSIFICATION_LOSSES = ("binary_crossentropy", "categorical_crossentropy",
                          "sparse_categorical_crossentropy")
_Folds = Iterator[tuple[np.ndarray, np.ndarray]]


def _samples(func: str, name: str, value: Any) -> np.ndarray:
    """fastnn's array check (numeric, rectangular, dtype kept), and at least 1-D so
    that ``len`` is the number of samples."""
    arr = as_numeric_array(func, name, value)
    if arr.ndim == 0:
        fail(func, f"argument `{name}` is a scalar",
             "an array-like of numbers with the samples along the first axis", name, value)
    return arr


def _class_codes(func: str, name: str, labels: np.ndarray) -> np.ndarray:
    """Class codes ``0..K-1`` of 1-D labels, a ``(n, 1)`` column or a 2-D one-hot /
    probability array (class = argmax along axis 1)."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim not in (1, 2) or labels.shape[1:] == (0,):
        fail(func, f"invalid shape for argument `{name}`",
             "1-D class labels, a (n, 1) column or a 2-D one-hot array with at least one column",
             f"{name}.shape", labels.shape)
    check_finite(func, name, labels)
    codes = (np.argmax(labels, axis=1) if labels.ndim == 2
             else np.unique(labels, return_inverse=True)[1].reshape(-1))
    return codes.astype(np.int64, copy=False)


def _looks_like_class_labels(y: np.ndarray) -> bool:
    """cross_validate's test for stratifying: 1-D (or ``(n, 1)``) integer-valued
    labels, or 2-D one-hot rows (exactly one 1, zeros elsewhere)."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 1:
        return y.dtype.kind in "biu" or bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    if y.ndim == 2 and y.shape[1] >= 2:
        return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))
    return False


# ---- train_val_test_split -------------------------------------------------------
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
    """A count stays; a fraction becomes ``ceil(size * n)``, the product rounded to 9
    decimals first so that round-off (``0.7 * 10 == 7.000000000000001``) adds no sample."""
    return size if isinstance(size, int) else math.ceil(round(size * n_samples, 9))


def _apportion(total: int, counts: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """``total`` items split over the classes in proportion to ``counts`` (largest
    remainder: ``floor(total * c / n)`` each, then one more to the largest remainders,
    ties to the lowest class), never above ``capacity``; needs total <= Σ capacity."""
    n = int(counts.sum())
    scaled = total * counts.astype(np.int64)
    alloc: np.ndarray = np.minimum(scaled // n, capacity)
    order = np.argsort(-(scaled - alloc * n), kind="stable")  # exact integer remainders
    left = total - int(alloc.sum())
    while left > 0:
        open_ = [c for c in order if alloc[c] < capacity[c]][:left]
        if not open_:  # pragma: no cover - excluded by the precondition
            raise RuntimeError("internal error: cannot apportion the split")
        alloc[open_] += 1
        left -= len(open_)
    return alloc


def train_val_test_split(x: ArrayLike, y: ArrayLike, val_size: float | int = 0.15,
                         test_size: float | int = 0.15, shuffle: bool = True,
                         stratify: ArrayLike | None = None, seed: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                    np.ndarray]:
    """``x_train, x_val, x_test, y_train, y_val, y_test``: the guide's three sets
    (training fits the weights, validation guides the hyper-parameters and early
    stopping, test is used once, at the end), as copies of the rows.

    ``val_size`` and ``test_size`` are each a fraction in (0, 1) of the samples
    (rounded up) or a count >= 1; two fractions must add up to less than 1, and each
    of the three parts gets at least one sample.  ``shuffle=False`` cuts contiguous
    blocks in input order (training, validation, test; per class when stratified)
    and keeps that order; with shuffling (``seed``) each part is in random order.
    ``stratify`` (class labels, one row per sample; ``stratify=y`` is the usual call)
    keeps the class proportions in every part: each class is apportioned to the
    validation and test parts by the largest-remainder method, so its count in a
    part is within one of its exact share.

    >>> x = np.arange(20)
    >>> parts = train_val_test_split(x, x % 2, val_size=0.25, test_size=0.25,
    ...                              shuffle=False)
    >>> [p.tolist() for p in parts[:3]]
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]
    """
    func = "train_val_test_split"
    x_arr, y_arr = _samples(func, "x", x), _samples(func, "y", y)
    check_same_length(func, x_arr, y_arr)
    val, test = _check_size(func, "val_size", val_size), _check_size(func, "test_size", test_size)
    do_shuffle = check_bool(func, "shuffle", shuffle)
    codes: np.ndarray | None = None
    if stratify is not None:
        strat = _samples(func, "stratify", stratify)
        check_same_length(func, x_arr, strat, yname="stratify")
        codes = _class_codes(func, "stratify", strat)
    seed = check_seed(func, seed)
    n = len(x_arr)
    if isinstance(val, float) and isinstance(test, float) and val + test >= 1.0:
        fail(func, "invalid values for arguments `val_size` and `test_size`",
             "fractions adding up to less than 1", "val_size + test_size", val + test)
    n_val, n_test = _size_to_count(val, n), _size_to_count(test, n)
    n_train = n - n_val - n_test
    if n_train < 1 or n_val < 1 or n_test < 1:
        fail(func, f"cannot split n_samples={n} with val_size={val!r} and test_size={test!r}",
             "every part to get at least 1 sample", "sizes",
             {"train": max(n_train, 0), "val": n_val, "test": n_test})

    rng = np.random.default_rng(seed) if do_shuffle else None
    base = rng.permutation(n) if rng is not None else np.arange(n)
    if codes is None:
        parts = [base[:n_train], base[n_train:n_train + n_val], base[n_train + n_val:]]
    else:
        counts = np.bincount(codes).astype(np.int64)
        n_te = _apportion(n_test, counts, counts)
        n_va = _apportion(n_val, counts, counts - n_te)
        # sample indices grouped by class, in order (or shuffled) within a class; each
        # class's run cut into its training, validation and test members
        grouped = base[np.argsort(codes[base], kind="stable")]
        ends = np.cumsum(counts)
        per_class = [np.split(grouped[end - c:end], [tr, tr + va]) for end, c, tr, va in
                     zip(ends, counts, counts - n_te - n_va, n_va, strict=True)]
        parts = [np.concatenate(p) for p in zip(*per_class, strict=True)]
        # shuffled: interleave the classes; in order: back to input order
        parts = [rng.permutation(p) if rng is not None else np.sort(p) for p in parts]
    tr, va, te = parts
    return x_arr[tr], x_arr[va], x_arr[te], y_arr[tr], y_arr[va], y_arr[te]


# ---- K-fold splitters -----------------------------------------------------------
class _BaseKFold:
    """The splitters' settings (checked once, read-only) and fold iteration."""

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed: int | None = None) -> None:
        func = type(self).__name__
        self._n_splits = check_int(func, "n_splits", n_splits, low=2)
        self._shuffle = check_bool(func, "shuffle", shuffle)
        self._seed = check_seed(func, seed)

    @property
    def n_splits(self) -> int:
        """Number of folds (read-only: a new value would bypass the checks)."""
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
        return (f"{type(self).__name__}(n_splits={self._n_splits}, shuffle={self._shuffle}, "
                f"seed={self._seed})")

    def get_n_splits(self, x: Any = None, y: Any = None) -> int:
        """``n_splits``, the number of (train, test) pairs :meth:`split` yields (x and y
        are ignored; scikit-learn's signature)."""
        return self._n_splits

    def _split(self, x: ArrayLike, y: Any, func: str) -> _Folds:
        raise NotImplementedError  # pragma: no cover - implemented by subclasses

    def _check_n_samples(self, func: str, n_samples: int) -> None:
        if self._n_splits > n_samples:
            fail(func, f"cannot make n_splits={self._n_splits} folds from "
                 f"n_samples={n_samples} samples", "n_splits <= n_samples", "n_samples", n_samples)

    def _fold_ids(self, fold_of: np.ndarray) -> _Folds:
        """``(train, test)`` sorted int64 index arrays, fold by fold."""
        for k in range(self._n_splits):
            in_test = fold_of == k
            yield (np.flatnonzero(~in_test).astype(np.int64, copy=False),
                   np.flatnonzero(in_test).astype(np.int64, copy=False))


class KFold(_BaseKFold):
    """K-fold splitter: the samples, in order or shuffled, cut into ``n_splits`` (an
    int >= 2) consecutive folds, each the test set once.  The first ``n_samples %
    n_splits`` folds get ``n_samples // n_splits + 1`` samples, the others one fewer
    (scikit-learn's sizes).  With ``shuffle=True`` and an int ``seed`` every ``split``
    gives the same folds, with ``seed=None`` each call shuffles anew; ``seed`` is
    ignored without ``shuffle``.

    >>> for train, test in KFold(n_splits=3).split(np.zeros((7, 2))):
    ...     print(train.tolist(), test.tolist())
    [3, 4, 5, 6] [0, 1, 2]
    [0, 1, 2, 5, 6] [3, 4]
    [0, 1, 2, 3, 4] [5, 6]
    """

    def split(self, x: ArrayLike, y: ArrayLike | None = None) -> _Folds:
        """``n_splits`` pairs ``(train_idx, test_idx)`` of sorted int64 indices: in each
        pair disjoint and covering ``0..n_samples-1``; the test arrays partition the
        indices.  Only the length of ``x`` (numeric, samples along the first axis) is
        used; ``y``, if given, must have the same length.  The arguments are checked
        when ``split`` is called, before the first pair."""
        return self._split(x, y, func="KFold.split")

    def _split(self, x: ArrayLike, y: ArrayLike | None, func: str) -> _Folds:
        x_arr = _samples(func, "x", x)
        if y is not None:
            check_same_length(func, x_arr, _samples(func, "y", y))
        n, k = len(x_arr), self._n_splits
        self._check_n_samples(func, n)
        sizes = np.full(k, n // k, dtype=np.int64)
        sizes[: n % k] += 1
        order = np.random.default_rng(self._seed).permutation(n) if self._shuffle else np.arange(n)
        fold_of = np.empty(n, dtype=np.int64)
        fold_of[order] = np.repeat(np.arange(k, dtype=np.int64), sizes)
        return self._fold_ids(fold_of)


class StratifiedKFold(_BaseKFold):
    """K-fold splitter that keeps the class proportions: the samples, grouped by class
    (shuffled within each class with ``shuffle``), are dealt round-robin to the
    folds, the deal running on from one class to the next.  So for every class its
    counts in two folds differ by at most one, and the fold sizes are KFold's.
    ``n_splits``, ``shuffle`` and ``seed`` as :class:`KFold`.

    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> [y[test].tolist() for _, test in StratifiedKFold(2).split(np.zeros((10, 1)), y)]
    [[0, 0, 1, 1, 1], [0, 0, 1, 1, 1]]
    """

    def split(self, x: ArrayLike, y: ArrayLike) -> _Folds:
        """Stratified ``(train_idx, test_idx)`` pairs, as :meth:`KFold.split`; ``y``
        holds the class labels (numeric and finite).  Warns (UserWarning) when the
        least populated class has fewer than ``n_splits`` members: some test folds
        then lack it."""
        return self._split(x, y, func="StratifiedKFold.split")

    def _split(self, x: ArrayLike, y: ArrayLike, func: str) -> _Folds:
        x_arr, y_arr = _samples(func, "x", x), _samples(func, "y", y)
        check_same_length(func, x_arr, y_arr)
        codes = _class_codes(func, "y", y_arr)
        n, k = len(x_arr), self._n_splits
        self._check_n_samples(func, n)
        present = np.bincount(codes)
        present = present[present > 0]
        if present.size and present.min() < k:
            warnings.warn(f"{func}(): the least populated class in `y` has only "
                          f"{int(present.min())} member(s), which is fewer than "
                          f"n_splits={k}; some test folds will contain no sample of it.",
                          UserWarning, stacklevel=3)  # _split <- split/cross_validate <- caller
        base = np.random.default_rng(self._seed).permutation(n) if self._shuffle else np.arange(n)
        fold_of = np.empty(n, dtype=np.int64)
        fold_of[base[np.argsort(codes[base], kind="stable")]] = np.arange(n, dtype=np.int64) % k
        return self._fold_ids(fold_of)


# ---- cross_validate -------------------------------------------------------------
def cross_validate(model: Any, x: ArrayLike, y: ArrayLike,
                   cv: int | KFold | StratifiedKFold = 5, *,
                   fit_kwargs: Mapping[str, Any] | None = None, return_models: bool = False,
                   seed: int | None = None) -> dict[str, Any]:
    """K-fold cross-validation of a compiled model, which is itself never trained.

    Per ``(train, test)`` pair of the splitter, a fresh copy (``clone_model``: same
    architecture and compile settings, new weights) is trained with
    ``fit(x[train], y[train], verbose=0, **fit_kwargs)`` and scored with
    ``evaluate(x[test], y[test], verbose=0, return_dict=True)``.  ``x`` and ``y``
    keep their dtypes (the model checks the values).

    ``cv``: a splitter, or an int k >= 2 for ``StratifiedKFold(k, shuffle=True,
    seed=seed)`` when the model is a classifier, else ``KFold(k, shuffle=True,
    seed=seed)``.  A classifier is a model whose ``loss`` is binary, categorical or
    sparse categorical cross-entropy *and* whose ``y`` holds class labels (1-D or
    ``(n, 1)`` integer-valued, or 2-D one-hot with exactly one 1 per row): a
    regression model gets plain folds even for integer targets, and so does a
    multi-label model whose rows may hold several 1s (or a model without ``loss``).
    ``fit_kwargs`` (e.g. ``epochs``) may override ``verbose``, not give ``x`` or
    ``y``; ``seed`` shuffles an int ``cv`` (a splitter's own seed applies).

    Returns ``{"fold_scores": [per-fold dict of metric -> float], "mean": {...},
    "std": {...}}`` (population std, ddof=0), plus ``"models"`` (the trained copies,
    in fold order) with ``return_models=True``.  Every check runs before the first
    copy is made; folds that report different metric names, or an ``evaluate`` that
    returns no mapping of numbers, raise.
    """
    func = "cross_validate"
    if model is None:
        fail(func, "invalid type for argument `model`", "a compiled fastnn model", "model", model,
             error=TypeError)
    x_arr, y_arr = _samples(func, "x", x), _samples(func, "y", y)
    check_same_length(func, x_arr, y_arr)
    splitter: _BaseKFold | None = cv if isinstance(cv, _BaseKFold) else None
    if splitter is None:
        if isinstance(cv, (bool, np.bool_)) or not isinstance(cv, numbers.Integral):
            fail(func, "invalid type for argument `cv`",
                 "an int >= 2 or a KFold/StratifiedKFold instance", "cv", cv, error=TypeError)
        n_splits = check_int(func, "cv", cv, low=2)
    if fit_kwargs is not None and not (isinstance(fit_kwargs, Mapping)
                                       and all(isinstance(key, str) for key in fit_kwargs)):
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
        classifier = isinstance(loss, str) and loss in _CLASSIFICATION_LOSSES
        splitter = (StratifiedKFold if classifier and _looks_like_class_labels(y_arr)
                    else KFold)(n_splits, shuffle=True, seed=seed)
    folds = list(splitter._split(x_arr, y_arr, func=func))  # every check before training

    from fastnn.models import clone_model  # lazy: keeps this module importable alone

    fit_kw = {"verbose": 0, **fit_kw}
    fold_scores: list[dict[str, float]] = []
    models: list[Any] = []
    for fold, (train, test) in enumerate(folds):
        fold_model = clone_model(model)  # not kept unless asked: one model in memory
        fold_model.fit(x_arr[train], y_arr[train], **fit_kw)
        raw = fold_model.evaluate(x_arr[test], y_arr[test], verbose=0, return_dict=True)
        fold_scores.append(_scores_as_floats(func, fold, raw))
        models += [fold_model] if keep_models else []
    names = list(fold_scores[0])
    for fold, scores in enumerate(fold_scores):
        if set(scores) != set(names):
            fail(func, f"the model reported different metrics on fold {fold} than on fold 0",
                 f"the names {names} on every fold", f"names on fold {fold}", list(scores))
    table = {name: np.array([s[name] for s in fold_scores], dtype=np.float64) for name in names}
    return {"fold_scores": fold_scores,
            "mean": {name: float(values.mean()) for name, values in table.items()},
            "std": {name: float(values.std()) for name, values in table.items()},
            **({"models": models} if keep_models else {})}


def _scores_as_floats(func: str, fold: int, raw: Any) -> dict[str, float]:
    """``evaluate``'s result checked as a mapping of str -> number, copied as floats."""
    what = f"model.evaluate(..., return_dict=True) returned a bad result on fold {fold}"
    expected = "a dict of metric name -> float"
    if not isinstance(raw, Mapping):
        fail(func, what, expected, "result", raw, error=TypeError)
    scores: dict[str, float] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or isinstance(value, (bool, np.bool_)) or \
                not isinstance(value, numbers.Real):
            fail(func, what, expected, f"result[{name!r}]", value, error=TypeError)
        scores[name] = float(value)
    return scores
