"""Keras's small utilities: ``to_categorical``, ``set_random_seed`` and the
``PyDataset`` base class (``Sequence``, Keras 2's name) for data read batch by batch."""
from __future__ import annotations

import random
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._validation import check_int, check_seed, fail

# a seed sequence for models created with seed=None, once set_random_seed ran
_seeds: np.random.Generator | None = None


def to_categorical(y: ArrayLike, num_classes: int | None = None,
                   dtype: DTypeLike = "float32") -> np.ndarray:
    """One-hot rows for integer class labels: ``to_categorical([0, 2], 3)`` gives
    ``[[1, 0, 0], [0, 0, 1]]`` (a trailing axis of size 1 is dropped, as Keras)."""
    func = "to_categorical"
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        fail(func, f"unsupported dtype {arr.dtype}", "integer class labels", "y.dtype",
             str(arr.dtype), error=TypeError)
    if arr.ndim > 1 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.size and (not np.isfinite(arr).all() or (arr != np.round(arr)).any()
                     or arr.min() < 0):
        raise ValueError(f"{func}(): labels must be integers >= 0. Received: "
                         f"{arr.ravel()[:5].tolist()}...")
    labels = arr.astype(np.int64)
    k = int(labels.max()) + 1 if num_classes is None and labels.size else (num_classes or 0)
    k = check_int(func, "num_classes", k, low=1)
    if labels.size and labels.max() >= k:
        raise ValueError(f"{func}(): label {int(labels.max())} is not below "
                         f"num_classes={k}.")
    out = np.zeros(labels.shape + (k,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and fastnn: models created
    afterwards with ``seed=None`` take their seeds from a sequence started here, so a
    script gives the same run every time (Keras's meaning)."""
    global _seeds
    checked = check_seed("set_random_seed", seed)
    if checked is None:
        fail("set_random_seed", "invalid value for argument `seed`", "an int >= 0", "seed",
             seed, error=TypeError)
    random.seed(checked)
    np.random.seed(checked % 2**32)
    _seeds = np.random.default_rng(checked)


def next_model_seed() -> int | None:
    """Draw the seed of a model created with ``seed=None`` (``Sequential`` calls it;
    each call takes the next one): from the sequence ``set_random_seed`` started, or
    None (a fresh OS seed) before it ran."""
    return None if _seeds is None else int(_seeds.integers(2**63))


class PyDataset:
    """Base class of a dataset read batch by batch (Keras 3's ``PyDataset``): define
    ``__len__`` (the number of batches) and ``__getitem__(i)`` returning batch i as
    ``(x, y)`` or ``(x, y, sample_weight)``; ``on_epoch_end`` runs after each epoch
    (e.g. to reshuffle).  ``fit``, ``evaluate`` and ``predict`` take it as `x`
    (fastnn/_sources.py).  ``workers``, ``use_multiprocessing`` and
    ``max_queue_size`` are accepted for Keras scripts; fastnn reads the batches in
    the calling thread, in order, so they change nothing in the result."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self.workers = check_int("PyDataset", "workers", workers, low=1)
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = check_int("PyDataset", "max_queue_size", max_queue_size, low=1)

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number "
                                  "of batches).")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__ (batch "
                                  "`index` as (x, y)).")

    @property
    def num_batches(self) -> int:
        """``len(self)``."""
        return len(self)

    def on_epoch_end(self) -> None:
        """Called after every epoch of ``fit``; does nothing unless overridden."""


Sequence = PyDataset  # Keras 2's name (keras.utils.Sequence)
