"""Callbacks run by ``fit`` between epochs (never per batch: batches run in C).

``History`` is always attached; ``EarlyStopping`` stops on a monitored metric.
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from ._validation import check_bool, check_float, check_int, check_name, fail


class Callback:
    """Base class.  ``fit`` calls these hooks; ``self.model`` is the model."""

    def __init__(self):
        self.model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch: int, logs=None): ...

    def on_epoch_end(self, epoch: int, logs=None): ...


class History(Callback):
    """Per-epoch metrics: ``history.history["loss"]``, ``["val_loss"]``, ..."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stop training when `monitor` has stopped improving.

    Parameters follow Keras: ``monitor="val_loss"``, ``min_delta=0`` (a smaller
    change is no improvement), ``patience=0`` (epochs without improvement before
    stopping), ``mode`` in {"auto", "min", "max"} ("auto": max for names with
    "acc", min otherwise), ``baseline`` (must be beaten), and
    ``restore_best_weights`` (at the end of training, put back the weights of
    the best epoch), ``start_from_epoch`` (epochs to wait before monitoring).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        if not isinstance(monitor, str):
            fail("EarlyStopping", "invalid type for argument `monitor`", "a metric name",
                 "monitor", monitor, error=TypeError)
        self.monitor = monitor
        self.min_delta = abs(check_float("EarlyStopping", "min_delta", min_delta))
        self.patience = check_int("EarlyStopping", "patience", patience, low=0)
        self.verbose = check_int("EarlyStopping", "verbose", verbose, low=0, high=2)
        mode = check_name("EarlyStopping", "mode", mode, ["auto", "min", "max"])
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.mode = mode
        self.baseline = None if baseline is None else check_float("EarlyStopping", "baseline",
                                                                   baseline)
        self.restore_best_weights = check_bool("EarlyStopping", "restore_best_weights",
                                               restore_best_weights)
        self.start_from_epoch = check_int("EarlyStopping", "start_from_epoch",
                                          start_from_epoch, low=0)

    def _better(self, current: float, reference: float) -> bool:
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: metric {self.monitor!r} is not available; "
                          f"available metrics are {sorted(logs or {})}.", RuntimeWarning,
                          stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._better(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return  # never stop on an epoch that improved (Keras 3)
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ProgressBar:
    """What ``fit(verbose=1)`` prints: a bar per epoch, refreshed once per C call."""

    def __init__(self, epochs: int, n_batches: int, verbose: int, stream=None):
        self.epochs, self.n_batches, self.verbose = epochs, n_batches, verbose
        self.stream = stream or sys.stdout

    def epoch_begin(self, epoch: int) -> None:
        self.t0 = time.perf_counter()
        if self.verbose:
            self.stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")

    @staticmethod
    def _fmt(logs: dict) -> str:
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())

    def update(self, batches_done: int, logs: dict) -> None:
        if self.verbose != 1:
            return
        width = 30
        filled = int(width * batches_done / max(1, self.n_batches))
        bar = "=" * filled + "." * (width - filled)
        self.stream.write(f"\r{batches_done}/{self.n_batches} [{bar}] - {self._fmt(logs)}")
        self.stream.flush()

    def epoch_end(self, logs: dict) -> None:
        if not self.verbose:
            return
        dt = time.perf_counter() - self.t0
        if self.verbose == 1:
            self.stream.write(f"\r{self.n_batches}/{self.n_batches} [{'=' * 30}] - "
                              f"{dt:.3f}s - {self._fmt(logs)}\n")
        else:
            self.stream.write(f"{self.n_batches}/{self.n_batches} - {dt:.3f}s - "
                              f"{self._fmt(logs)}\n")
        self.stream.flush()
