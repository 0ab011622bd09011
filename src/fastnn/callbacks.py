"""Callbacks run by ``fit`` between epochs (batches run in C, so batch hooks run
once per chunk of batches, about every 50 ms of work — ``fit`` says so once).

``History`` is always attached (after the user's callbacks, as Keras, so it
records what they add to ``logs``, e.g. ``learning_rate``).  Keras 3's names,
arguments and semantics: ``EarlyStopping``, ``ModelCheckpoint``,
``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger``,
``TerminateOnNaN``, ``LambdaCallback``; the first three watch a logged value
through one base, ``MonitorCallback`` (mode, min_delta, best).  (About 460 lines:
Keras's callbacks live in one namespace, and so do these.)
"""
from __future__ import annotations

import os
import warnings
import weakref
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ._validation import check_bool, check_float, check_int, check_name, fail

if TYPE_CHECKING:
    from .models import Sequential


class Callback:
    """Base class.  ``fit`` calls these hooks; ``self.model`` is the model and
    ``self.params`` holds ``epochs``, ``steps`` and ``verbose``."""

    def __init__(self) -> None:
        self.model: Sequential | None = None  # set by fit before the first hook
        self.params: dict[str, Any] = {}

    def set_model(self, model: Sequential) -> None:
        """The model being trained (``self.model``); fit calls this first."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """fit's settings (``epochs``, ``steps``, ``verbose``) as ``self.params``."""
        self.params = params

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before a C chunk of batches starting at `batch` (not per batch)."""

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after a C chunk of batches ending at `batch`, with the running logs."""

    def _batches_to_hook(self) -> int | None:
        """fastnn's chunking: a callback that needs ``on_train_batch_end`` after an exact
        number of batches (``ModelCheckpoint(save_freq=N)``) returns how many batches may
        run before its next call; None (the default) lets fit chunk freely."""
        return None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called once before the first epoch."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called once after the last epoch, with the last epoch's logs."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of epoch `epoch` (0-based)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of epoch `epoch` with its logs (loss, metrics, val_*)."""


class History(Callback):
    """Per-epoch metrics: ``history.history["loss"]``, ``["val_loss"]``, ...

    The model keeps its last History (``model.history``), so ``history.model`` is a
    weak reference: the model while it lives, None once it is freed.  A strong one
    would make a reference cycle, and a model would wait for the cycle collector
    to be freed (issue 18)."""

    def __init__(self) -> None:
        self._model_ref: weakref.ref[Sequential] | None = None
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params = {}

    @property
    def model(self) -> Sequential | None:
        """The model trained (a weak reference): None once that model is freed."""
        ref = self._model_ref
        return None if ref is None else ref()

    @model.setter
    def model(self, model: Sequential | None) -> None:
        self._model_ref = None if model is None else weakref.ref(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


# the metrics Keras 3 maximises in mode "auto" (their `_direction` is "up"), by the
# names fastnn logs them under (a Keras-style "_1" suffix and "val_" prefix allowed)
_UP_METRICS = ("auc", "precision", "recall", "true_positives", "true_negatives")


def _higher_is_better(key: str) -> bool:
    """Mode "auto": whether the logged value `key` improves upwards (accuracies,
    F-measures, AUC, precision, recall, true positives/negatives), as Keras decides
    for those metrics; anything else (losses, errors, false counts, unknown names)
    downwards."""
    name = key[4:] if key.startswith("val_") else key
    base = name.rstrip("0123456789").rstrip("_") if name[-1:].isdigit() else name
    return "acc" in name or name.startswith("fmeasure") or base in _UP_METRICS


class MonitorCallback(Callback):
    """Base of the callbacks that watch one logged value (Keras 3's
    ``MonitorCallback``): `monitor` (a log key), `mode` in {"auto", "min", "max"}
    ("auto": max for accuracies, F-measures, AUC, precision, recall and true
    positives/negatives, min otherwise: `_higher_is_better`),
    `min_delta` (a smaller change is no improvement) and ``best``, the best value
    seen.  Its subclasses check their own ``min_delta`` (Keras's EarlyStopping
    takes its absolute value, ReduceLROnPlateau refuses a negative one)."""

    def __init__(self, func: str, monitor: object) -> None:
        super().__init__()
        if not isinstance(monitor, str):
            fail(func, "invalid type for argument `monitor`", "a metric name", "monitor",
                 monitor, error=TypeError)
        self._func = func
        self.monitor: str = monitor
        self.mode = "min"
        self.min_delta = 0.0

    def _resolve_mode(self, mode: object) -> str:
        """The checked `mode`, "auto" resolved from the monitored key."""
        mode = check_name(self._func, "mode", mode, ["auto", "min", "max"])
        if mode == "auto":
            mode = "max" if _higher_is_better(self.monitor) else "min"
        return mode

    def _worst(self) -> float:
        """A start for ``best`` that any finite value improves on."""
        return np.inf if self.mode == "min" else -np.inf

    def _is_improvement(self, current: float, reference: float | None) -> bool:
        """`current` beats `reference` by more than ``min_delta`` (no reference yet:
        anything does)."""
        if reference is None:
            return True
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def _monitored(self, logs: dict[str, Any], missing: str | None = None) -> float | None:
        """The monitored value in `logs`, or None after a RuntimeWarning (`missing`,
        or one naming the keys there are)."""
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(missing or f"{self._func}: metric {self.monitor!r} is not "
                          f"available; available metrics are {sorted(logs)}.",
                          RuntimeWarning, stacklevel=3)
        return current


class EarlyStopping(MonitorCallback):
    """Stop training when `monitor` has stopped improving.

    Parameters follow Keras: ``monitor="val_loss"``, ``min_delta=0`` (a smaller
    change is no improvement), ``patience=0`` (epochs without improvement before
    stopping), ``mode`` in {"auto", "min", "max"} ("auto": max for the metrics
    that improve upwards, as MonitorCallback says), ``baseline`` (must be beaten), and
    ``restore_best_weights`` (at the end of training, put back the weights of
    the best epoch), ``start_from_epoch`` (epochs to wait before monitoring).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__("EarlyStopping", monitor)
        self.min_delta = abs(check_float("EarlyStopping", "min_delta", min_delta))
        self.patience = check_int("EarlyStopping", "patience", patience, low=0)
        self.verbose = check_int("EarlyStopping", "verbose", verbose, low=0, high=2)
        self.mode = self._resolve_mode(mode)
        self.baseline = None if baseline is None else check_float("EarlyStopping", "baseline",
                                                                   baseline)
        self.restore_best_weights = check_bool("EarlyStopping", "restore_best_weights",
                                               restore_best_weights)
        self.start_from_epoch = check_int("EarlyStopping", "start_from_epoch",
                                          start_from_epoch, low=0)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._worst()
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        current = self._monitored(logs or {})
        if current is None:
            return
        if epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                assert self.model is not None  # fit set it
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return  # never stop on an epoch that improved (Keras 3)
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            assert self.model is not None  # fit set it
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            assert self.model is not None  # fit set it
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``) or its weights after every epoch, or only when
    `monitor` improves (``save_best_only``).  `filepath` may hold ``{epoch}`` (from
    1) and any log key, formatted as ``str.format``: ``"ckpt-{epoch:02d}-{val_loss:.3f}.fastnn"``.
    Saves are atomic (see ``model.save``).  ``save_freq="epoch"`` saves after every
    epoch; an integer N saves after every N batches, counted across epochs (Keras),
    instead: fit ends its C chunks of batches there, and `filepath` may also hold
    ``{batch}`` (from 1, within the epoch); the logs are those of the epoch so far
    (``save_best_only`` compares their `monitor`)."""

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq: str = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        func = "ModelCheckpoint"
        if not isinstance(filepath, (str, os.PathLike)) or isinstance(filepath, bytes):
            fail(func, "invalid type for argument `filepath`", "a str or os.PathLike",
                 "filepath", filepath, error=TypeError)
        super().__init__(func, monitor)
        self.filepath = os.fspath(filepath)
        self.verbose = check_int(func, "verbose", verbose, low=0, high=2)
        self.save_best_only = check_bool(func, "save_best_only", save_best_only)
        self.save_weights_only = check_bool(func, "save_weights_only", save_weights_only)
        self.mode = self._resolve_mode(mode)
        if not (save_freq == "epoch" if isinstance(save_freq, str) else
                isinstance(save_freq, (int, np.integer)) and not isinstance(save_freq, bool)):
            fail(func, "invalid save_freq", "'epoch' or a number of batches >= 1",
                 "save_freq", save_freq, error=ValueError if isinstance(save_freq, str)
                 else TypeError)
        self.save_freq: str | int = save_freq if isinstance(save_freq, str) else check_int(
            func, "save_freq", save_freq, low=1)
        self._seen = 0          # batches since the last save (save_freq=N)
        self._last_batch = -1   # index of the last batch seen in this epoch
        self._epoch = 0
        if self.save_freq != "epoch":  # fit calls the batch hook at every N-th batch
            self.on_train_batch_end = self._save_on_batch  # type: ignore[method-assign]
        self.best: float | None = (None if initial_value_threshold is None
                     else check_float(func, "initial_value_threshold", initial_value_threshold))

    def _batches_to_hook(self) -> int | None:
        return None if self.save_freq == "epoch" else int(self.save_freq) - self._seen

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch, self._last_batch = epoch, -1

    def _save_on_batch(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._seen += batch - self._last_batch
        self._last_batch = batch
        assert isinstance(self.save_freq, int)
        if self._seen >= self.save_freq:
            self._seen = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _save(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> None:
        keys = {"epoch": epoch + 1, **({} if batch is None else {"batch": batch + 1})}
        try:
            path = self.filepath.format(**keys, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {exc}, which "
                           f"is not in the logs {sorted(logs)} nor "
                           f"{' nor '.join(map(repr, keys))}.") from None
        if self.save_best_only:
            current = self._monitored(logs, f"ModelCheckpoint: can save best model only "
                                      f"with {self.monitor!r} available; skipping (logs "
                                      f"have {sorted(logs)}).")
            if current is None:
                return
            if not self._is_improvement(current, self.best):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        assert self.model is not None  # fit set it
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by `factor` when `monitor` has not improved by
    `min_delta` for `patience` epochs; then wait `cooldown` epochs; never below
    `min_lr`.  Adds ``learning_rate`` to the logs (and so to ``History``)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        func = "ReduceLROnPlateau"
        super().__init__(func, monitor)
        self.factor = check_float(func, "factor", factor, low=0.0, high=1.0, low_open=True,
                                  high_open=True)
        self.patience = check_int(func, "patience", patience, low=0)
        self.verbose = check_int(func, "verbose", verbose, low=0, high=2)
        self.mode = self._resolve_mode(mode)
        self.min_delta = check_float(func, "min_delta", min_delta, low=0.0)
        self.cooldown = check_int(func, "cooldown", cooldown, low=0)
        self.min_lr = check_float(func, "min_lr", min_lr, low=0.0)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.wait = self.cooldown_counter = 0
        self.best = self._worst()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        assert self.model is not None and self.model.optimizer is not None  # fit's model
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        current = self._monitored(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and opt.learning_rate > self.min_lr:
                new_lr = max(opt.learning_rate * self.factor, self.min_lr)
                if new_lr > 0:
                    opt.learning_rate = new_lr
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                              f"rate to {new_lr}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch to
    ``schedule(epoch, learning_rate)`` (epoch from 0).  Adds ``learning_rate`` to the
    logs.  A per-step schedule runs in C (``fastnn.optimizers.schedules`` — not yet)."""

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            fail("LearningRateScheduler", "invalid type for argument `schedule`",
                 "a function (epoch, lr) -> lr", "schedule", schedule, error=TypeError)
        self.schedule = schedule
        self.verbose = check_int("LearningRateScheduler", "verbose", verbose, low=0, high=2)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert self.model is not None and self.model.optimizer is not None  # fit's model
        opt = self.model.optimizer
        lr = self.schedule(epoch, float(opt.learning_rate))
        if isinstance(lr, np.ndarray) and lr.size == 1:
            lr = lr.item()
        opt.learning_rate = check_float("LearningRateScheduler", "schedule(epoch, lr)", lr,
                                        low=0.0, low_open=True)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            assert self.model is not None and self.model.optimizer is not None  # fit's model
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Write ``epoch`` and every log value to a CSV file, one row per epoch (columns:
    epoch, then the log keys sorted), as Keras; ``append=True`` adds to an existing
    file without repeating its header."""

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)) or isinstance(filename, bytes):
            fail("CSVLogger", "invalid type for argument `filename`", "a str or os.PathLike",
                 "filename", filename, error=TypeError)
        if not isinstance(separator, str) or len(separator) != 1:
            fail("CSVLogger", "invalid argument `separator`", "one character", "separator",
                 separator)
        self.filename, self.sep = os.fspath(filename), separator
        self.append = check_bool("CSVLogger", "append", append)
        self._file: IO[str] | None = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        exists = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._keys = None
        self._header_written = exists

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        assert self._file is not None  # opened by on_train_begin
        if not self._header_written:
            self._file.write(self.sep.join(["epoch", *self._keys]) + "\n")
            self._header_written = True
        row = [str(epoch)] + [repr(float(logs[k])) if k in logs else "NA" for k in self._keys]
        self._file.write(self.sep.join(row) + "\n")
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training, without an exception, when the loss becomes NaN or infinite.

    fastnn checks the loss in C after every chunk of batches; without this callback
    a non-finite loss raises ``NonFiniteLossError``.  With it, ``fit`` stops before
    the update of the batch whose loss, gradient or new weights are not finite, so the
    weights are those after the last applied batch (fastnn never keeps NaN weights),
    prints which epoch, and returns the History so far."""


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``;
    also ``on_epoch_begin``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin/end(batch, logs)`` (run per chunk of batches)."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
              "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, **hooks: Callable[..., object] | None) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                fail("LambdaCallback", f"unknown hook {name!r}", f"one of {list(self._HOOKS)}",
                     name, fn)
            if fn is not None and not callable(fn):
                fail("LambdaCallback", f"invalid `{name}`", "a function", name, fn,
                     error=TypeError)
            if fn is not None:
                setattr(self, name, fn)

