"""The training half of a Sequential model (Keras's ``Trainer``): ``compile``,
the target checks, ``fit`` with its C epoch loop, and ``evaluate``.

``fit`` validates everything first, then calls the C epoch loop once per epoch
(or per progress-bar refresh): batch gathering, forward, loss, backward,
regularization and the optimizer step all run in C.  The model's structure,
weights and inference live in :mod:`fastnn.models`, which mixes this class in.

(About 650 lines: compile and its frozen settings, fit's epochs with callbacks and
progress, the C batch loop they drive (``_BatchLoop``), and the evaluate/one-batch
variants that share its plans, with their type annotations; they read the model's
buffers and plans, which only this module and fastnn.models may.
compile's rules and the target and weight checks are in fastnn._training_checks,
fit's helpers in fastnn._interrupts, _epoch_results and _callback_calls.)
"""
from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import numpy as np
from numpy.typing import ArrayLike

from . import activations as A
from . import losses as L
from . import optimizers as O
from ._kernels import _core
from ._validation import (ZeroGradientWarning, check_bool, check_float, check_int,
                          fail)
from ._callback_calls import batches_to_hook, call_batch_hook, check_callbacks, has_batch_hooks
from ._epoch_results import N_SUMS, stop_at_non_finite
from ._interrupts import HeldInterrupt, say_interrupted
from ._progress import ProgressBar, check_verbose, report as _report
from ._sparse import CSRRows, n_samples
from .threads import fit_thread_policy
from ._training_checks import ACC_NONE
from ._sources import SourceTraining, check_steps, source_kind
from .callbacks import Callback, History, TerminateOnNaN
from . import metrics as M

if TYPE_CHECKING:
    from typing import TypeAlias

    from .models import Sequential

    # (x_val, y_val) or (x_val, y_val, sample_weight_val)
    ValidationData: TypeAlias = (tuple[ArrayLike, ArrayLike]
                                 | tuple[ArrayLike, ArrayLike, ArrayLike | None])

# slots of the C loop's metric sums (csrc/fnn_common.h FNN_SUM_*, read from the C)
SUM_LOSS, SUM_ACC, SUM_MAE, SUM_MSE = (int(s) for s in (
    _core.SumSlot.LOSS, _core.SumSlot.ACC, _core.SumSlot.MAE, _core.SumSlot.MSE))
PLAIN = _core.SumSlot.ACC_PLAIN - _core.SumSlot.ACC  # SUM_x + PLAIN: the same sum unweighted

STREAM_INIT, STREAM_SHUFFLE, STREAM_DROPOUT = range(3)
CHUNK_SECONDS = 0.05  # C work per call of the epoch loop (Ctrl-C latency)


@dataclass(frozen=True)
class CompileSettings:
    """What ``compile`` set, as one frozen value (``model.compile_settings``): the
    optimizer (the model's own object, whose state training changes), the loss's
    name, whether it takes logits, and the metric objects in compile's order."""
    optimizer: O.Optimizer
    loss: str
    from_logits: bool
    metrics: tuple[M.Metric, ...]
    weighted_metrics: tuple[M.Metric, ...]


class Trainer(SourceTraining):
    """compile / fit / evaluate for :class:`fastnn.Sequential` (a mixin: it uses the
    model's layers, flat buffers, C plan and lock)."""

    def __init__(self) -> None:
        """A model's training state before ``compile``: no optimizer, loss or metrics,
        no history; then the readers/writer lock (``ReadersWriter``)."""
        super().__init__()
        self.optimizer = None
        self.loss = None
        self._loss_id = None
        self._metric_objs = []
        self._metric_weighted = []
        self._from_logits = False  # the loss applies the last activation (predict: logits)
        self._acc_kind = ACC_NONE
        self._want_err = False
        self.history = None
        self.stop_training = False
        self._scratch_arrays = {}  # fit's reused work arrays (see _fit_scratch)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: str | O.Optimizer | dict[str, Any] = "rmsprop",
                loss: str | L.Loss | None = None,
                metrics: Sequence[str | M.Metric] | None = None,
                weighted_metrics: Sequence[str | M.Metric] | None = None,
                loss_weights: Any = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: bool | str = "auto",
                auto_scale_loss: bool = True) -> None:
        """Configure training: ``compile(optimizer="adam", loss="mse", metrics=["mae"])``.

        Keras's execution settings are accepted and change nothing: ``run_eagerly``,
        ``steps_per_execution`` (fastnn runs every step in C, its callbacks still per
        batch), ``jit_compile`` (the loop is compiled C) and ``auto_scale_loss``;
        ``loss_weights`` (for models with several outputs) only as None.

        As in Keras 3, ``sample_weight`` and ``class_weight`` weight the loss and the
        ``weighted_metrics`` only: ``metrics`` are plain means over the samples.  A
        weighted metric whose name is taken by an earlier one is logged as
        ``weighted_<name>`` (Keras's rule for ``weighted_metrics=["accuracy"]``).

        Warns with :class:`fastnn.MismatchedLossWarning` when the last activation
        and the loss are not one of the standard pairs (see ``fastnn.losses``),
        and raises for impossible ones (softmax or sparse categorical
        cross-entropy on a single unit).  Resets the optimizer state.
        """
        if loss_weights is not None:
            fail("compile", "fastnn models have one output, so there are no losses to "
                 "weigh against each other", "loss_weights=None", "loss_weights",
                 loss_weights)
        for key, value in (("run_eagerly", run_eagerly), ("auto_scale_loss", auto_scale_loss)):
            check_bool("compile", key, value)
        check_int("compile", "steps_per_execution", steps_per_execution, low=1)
        if jit_compile != "auto":
            check_bool("compile", "jit_compile", jit_compile)
        opt = O.get(optimizer, caller="compile", argument="optimizer")
        if loss is None:
            raise TypeError("compile(): argument `loss` is missing. Expected one of "
                            f"{sorted(L.ALL_OBJECTS_DICT)}. Received: loss=None")
        loss_id = L.get(loss, caller="compile", argument="loss")
        from_logits = isinstance(loss, L.Loss) and loss.from_logits
        lists = []
        for arg, given in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            given = [] if given is None else given
            if isinstance(given, (str, M.Metric)) or not isinstance(given, (list, tuple)):
                fail("compile", f"invalid type for argument `{arg}`",
                     "a list of metric names or fastnn.metrics objects", arg, given,
                     error=TypeError)
            lists.append(list(given))
        metrics = lists[0] + lists[1]
        dense = self._dense
        if not dense:
            raise ValueError("compile(): the model has no Dense layer.")
        flags = [False] * len(lists[0]) + [True] * len(lists[1])
        acc_kind, want_err, objs = self._compile_settings("compile", loss_id, metrics,
                                                          dense[-1], from_logits,
                                                          weighted=flags)
        with self._writing():
            self.optimizer, self._loss_id, self.loss = opt, loss_id, L.NAMES[loss_id]
            self._from_logits = from_logits
            self._metric_objs, self._acc_kind, self._want_err = objs, acc_kind, want_err
            self._metric_weighted = flags
            opt.iterations = 0
            self._slots = None
            if self.built:
                self._make_net()


    @property
    def compile_settings(self) -> CompileSettings | None:
        """compile's settings as one frozen value; None before ``compile``."""
        if self.optimizer is None or self.loss is None:
            return None
        pairs = list(zip(self._metric_objs, self._metric_weighted))
        return CompileSettings(self.optimizer, self.loss, self._from_logits,
                               tuple(m for m, w in pairs if not w),
                               tuple(m for m, w in pairs if w))

    @property
    def optimizer_slot_size(self) -> int:
        """Values in each of the optimizer's state arrays (one per weight) once ``fit``
        created them; 0 before (and after ``compile``, which restarts the optimizer)."""
        slots = self._slots
        return 0 if slots is None else int(slots[0].size)

    # ------------------------------------------------------------------ fit
    def fit(self, x: ArrayLike | None = None, y: ArrayLike | None = None,
            batch_size: int | None = None, epochs: int = 1,
            verbose: Literal["auto"] | int = "auto",
            callbacks: Sequence[Callback] | None = None, validation_split: float = 0.0,
            validation_data: ValidationData | None = None, shuffle: bool = True,
            initial_epoch: int = 0, sample_weight: ArrayLike | None = None,
            class_weight: dict[int, float] | None = None, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1) -> History:
        """Train for `epochs` passes over (x, y) with mini-batch backpropagation.

        Every argument is checked before any state changes; a failing call leaves
        weights, optimizer state and random streams untouched.  ``validation_split``
        holds out the *last* fraction of the samples (before shuffling), as Keras.
        A NaN or infinite loss, gradient or updated weight stops training with
        :class:`fastnn.NonFiniteLossError` before that batch's update: the weights,
        optimizer state and step count are those after the last applied batch.  ``initial_epoch``
        resumes the epoch count (epochs ``initial_epoch`` to ``epochs - 1`` run, as
        Keras).  ``sample_weight`` (one value >= 0 per sample) and ``class_weight``
        (``{class index: weight}``) weight each sample's loss as Keras does: the batch
        cost is (1/B) Σ w_r ℓ_r, the metrics are weighted means; ``validation_data``
        may carry weights as a third element.

        ``verbose``: 0 silent; 1 a progress bar in Keras 3's look, redrawn in place
        once per C chunk (~50 ms) on a terminal, and one plain line per epoch (no
        carriage returns or color codes) into a pipe or a log file; 2 one compact line
        per epoch; ``"auto"`` (default) is 1, as in Keras 3.  See fastnn._progress.

        `x` may also be a generator, an iterable or a PyDataset-like object of
        ``(x, y[, sample_weight])`` batches (``y`` then stays None), read batch group by
        batch group (fastnn/_sources.py); ``steps_per_epoch`` and ``validation_steps``
        cap the batches taken per epoch.

        ``validation_batch_size`` is accepted and changes nothing (validation runs in C
        in chunks of its own; its results do not depend on a batch size); fastnn
        validates after every epoch, so ``validation_freq`` must be 1.
        """
        if validation_batch_size is not None:
            check_int("fit", "validation_batch_size", validation_batch_size, low=1)
        if validation_freq != 1:
            fail("fit", "fastnn validates after every epoch (its history has validation "
                 "metrics for each one)", "validation_freq=1", "validation_freq",
                 validation_freq)
        me = threading.get_ident()
        if self._fitting_thread == me:
            raise RuntimeError("fit(): this model's fit() is already running in this thread "
                               "(called from a callback?). Stop it with "
                               "model.stop_training = True, or train a clone.")
        with self._writing():  # validation sees the same model that trains
            self._fitting_thread = me
            try:
                return self._fit(x, y, batch_size, epochs, verbose, callbacks,
                                 validation_split, validation_data, shuffle, initial_epoch,
                                 sample_weight, class_weight, steps_per_epoch,
                                 validation_steps)
            finally:
                self._fitting_thread = None

    def _fit(self, x: ArrayLike | None, y: ArrayLike | None, batch_size: int | None,
             epochs: int, verbose: Literal["auto"] | int,
             callbacks: Sequence[Callback] | None, validation_split: float,
             validation_data: ValidationData | None, shuffle: bool, initial_epoch: int = 0,
             sample_weight: ArrayLike | None = None,
             class_weight: dict[int, float] | None = None, steps_per_epoch: Any = None,
             validation_steps: Any = None) -> History:
        func = "fit"
        if self.optimizer is None:
            raise RuntimeError("fit(): the model must be compiled first: "
                               "model.compile(optimizer=..., loss=...).")
        batch_size = 32 if batch_size is None else check_int(func, "batch_size", batch_size,
                                                             low=1)
        epochs = check_int(func, "epochs", epochs, low=0)
        initial_epoch = check_int(func, "initial_epoch", initial_epoch, low=0)
        verbose = check_verbose(func, verbose)
        validation_split = check_float(func, "validation_split", validation_split, low=0.0,
                                       high=1.0, high_open=True)
        shuffle = check_bool(func, "shuffle", shuffle)
        callbacks = check_callbacks(func, callbacks)
        kind = source_kind(func, "x", x)
        if kind is not None:  # a generator or dataset of batches (fastnn/_sources.py)
            return self._fit_stream(x, kind, y, epochs, verbose, callbacks, validation_split,
                                    validation_data, initial_epoch, sample_weight,
                                    class_weight, steps_per_epoch, validation_steps)
        if steps_per_epoch is not None or validation_steps is not None:
            raise ValueError("fit(): steps_per_epoch and validation_steps apply when x is a "
                             "generator or dataset; with arrays, batch_size sets the steps.")
        if x is None and y is None:
            raise TypeError("fit(): arguments `x` and `y` are missing.")
        shape = self._in_shape()
        if shape is None:  # (n, 28, 28) data gives the model its input shape
            shape = self._data_shape(func, x)
        xa = self._inputs(func, x, shape=shape)
        n_features = xa.shape[1]
        Y = self._targets(func, y, len(xa))
        W = self._weights(func, sample_weight, class_weight, Y, len(xa))
        X = xa
        Xv: np.ndarray | CSRRows | None
        Yv: np.ndarray | None
        Wv: np.ndarray | None
        if validation_data is not None:
            if validation_split:
                raise ValueError("fit(): give validation_data or validation_split, not both.")
            if not isinstance(validation_data, (tuple, list)) or \
                    len(validation_data) not in (2, 3):
                fail(func, "invalid validation_data", "a tuple (x_val, y_val[, sample_weight])",
                     "validation_data", validation_data, error=TypeError)
            Xv = self._inputs(func, validation_data[0], "validation_data[0]",
                              shape=shape or (n_features,))
            Yv = self._targets(func, validation_data[1], len(Xv), "validation_data[1]",
                               "validation_data[0]")
            Wv = self._weights(func, validation_data[2] if len(validation_data) == 3 else None,
                               None, Yv, len(Xv))
        elif validation_split:
            n_val = len(X) - math.floor(len(X) * (1.0 - validation_split))  # as Keras
            if n_val < 1 or n_val >= len(X):
                raise ValueError(f"fit(): validation_split={validation_split} of {len(X)} "
                                 f"samples leaves {n_val} for validation and "
                                 f"{len(X) - n_val} for training; both need at least 1.")
            if isinstance(X, CSRRows):
                Xv, X = X.rows(len(X) - n_val, len(X)), X.rows(0, len(X) - n_val)
            else:
                X, Xv = X[:-n_val], X[-n_val:]
            Y, Yv = Y[:-n_val], Y[-n_val:]
            W, Wv = (None, None) if W is None else (W[:-n_val], W[-n_val:])
        else:
            Xv = Yv = Wv = None
        # every check passed: from here on the model may change
        if self.built:
            self._ensure_built_locked(func)
        else:
            self._set_input_shape(shape or (n_features,))
            self._build(n_features)
        batch_size = min(batch_size, len(X))
        bar = ProgressBar(epochs, math.ceil(len(X) / batch_size), verbose)
        # a sparse first layer's product costs its non-zeros (per row, on average)
        first_in = (math.ceil(X.nnz / max(len(X), 1)) if isinstance(X, CSRRows) else
                    self._dense_inputs[self._dense[0]])
        largest = max(batch_size * (first_in if i == 0 else self._dense_inputs[layer]) *
                      layer.units for i, layer in enumerate(self._dense))
        steps0 = self.optimizer.iterations
        try:
            # fastnn's threads (threads.py); Ctrl-C held in each epoch's batch loop (the
            # handler is installed once per fit: that costs ~10 µs, too much per epoch)
            with fit_thread_policy(largest) as threads, HeldInterrupt() as interrupt:
                return self._fit_loop(X, Y, Xv, Yv, batch_size, epochs, verbose, callbacks,
                                      shuffle, initial_epoch, W, Wv, bar, threads, interrupt)
        except KeyboardInterrupt:  # one line: where it stopped, and that it can go on
            bar.close()
            say_interrupted(self.optimizer.iterations - steps0, initial_epoch, epochs,
                             math.ceil(len(X) / batch_size))
            raise
        finally:
            bar.close()  # ends a half-drawn bar line if an exception or Ctrl-C stops fit

    def _fit_loop(self, X: np.ndarray | CSRRows, Y: np.ndarray, Xv: np.ndarray | CSRRows | None,
                  Yv: np.ndarray | None, batch: int, epochs: int, verbose: int,
                  callbacks: list[Callback], shuffle: bool, initial_epoch: int = 0,
                  W: np.ndarray | None = None, Wv: np.ndarray | None = None,
                  bar: ProgressBar | None = None, threads: int = 1,
                  interrupt: HeldInterrupt | None = None) -> History:
        """The epochs of ``fit`` over checked arrays: callbacks around each epoch, the
        batches in C (:class:`_BatchLoop`), then the logs and validation."""
        # _fit checked that the model is compiled, and built it
        assert self.optimizer is not None and self._params is not None
        assert interrupt is not None  # _fit installs it, once per fit
        self._warn_zero_gradient()
        n, n_batches = len(X), math.ceil(len(X) / batch)
        history = History()
        cbs = [*callbacks, history]  # History last, as Keras: it sees what callbacks add
        batch_cbs = self._start_callbacks(cbs, {"epochs": epochs, "steps": n_batches,
                                                "verbose": verbose})
        nan_stops = any(isinstance(cb, TerminateOnNaN) for cb in cbs)
        if bar is None:
            bar = ProgressBar(epochs, n_batches, 0)
        loop = _BatchLoop(self, X, Y, W, batch, threads, batch_cbs, bar, nan_stops)
        self.stop_training = False
        self.history = history
        for cb in cbs:
            cb.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            bar.epoch_begin(epoch)
            sums, done = loop.epoch(epoch, shuffle, interrupt)
            if self.stop_training and nan_stops and done < n:
                break  # terminated on NaN: no epoch-end for a half epoch
            logs = self._logs(sums, n, None if W is None else float(W.sum()),
                              (X, Y, W) if self._has_epoch_metrics else None)
            if Xv is not None:
                assert Yv is not None  # _fit gives both or neither
                vs = self._evaluate_sums(Xv, Yv, W=Wv)
                logs.update({f"val_{k}": v for k, v in self._logs(
                    vs, len(Xv), None if Wv is None else float(Wv.sum()),
                    (Xv, Yv, Wv) if self._has_epoch_metrics else None).items()})
            bar.epoch_end(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end(history.history and {k: v[-1] for k, v in history.history.items()})
        return history

    def _warn_zero_gradient(self) -> None:
        for layer in self._dense:
            if layer._act in A.ZERO_GRADIENT:
                warnings.warn(
                    f"fit(): layer {layer.name!r} uses the {A.NAMES[layer._act]!r} "
                    "activation, whose derivative is zero almost everywhere: "
                    "backpropagation cannot train the weights that feed it. Use "
                    "fastnn.Perceptron for the perceptron rule, or sigmoid/tanh.",
                    ZeroGradientWarning, stacklevel=5)
                break

    def _start_callbacks(self, cbs: list[Callback], params: dict[str, Any]) -> list[Callback]:
        """Give each callback the model and fit's params; return those with batch hooks
        (warning when fastnn can call one only once per chunk of batches)."""
        for cb in cbs:
            cb.set_model(cast("Sequential", self))  # Trainer is mixed into Sequential only
            cb.set_params(params)
        batch_cbs = [cb for cb in cbs if has_batch_hooks(cb)]
        chunked = [cb for cb in batch_cbs if cb._batches_to_hook() is None]
        if chunked:  # the others (ModelCheckpoint(save_freq=N)) are called exactly
            warnings.warn(
                f"fit(): {type(chunked[0]).__name__} has batch hooks; fastnn runs the "
                "batches in C and calls them once per chunk of batches (about every 50 ms "
                "of work), with the index of the chunk's first (begin) or last (end) batch "
                "and the logs so far.", UserWarning, stacklevel=5)
        return batch_cbs

    def _fit_scratch(self, key: str, size: int) -> np.ndarray:
        """A 1-D work array of `size` elements of the model's dtype that fit keeps on
        the model between calls (the workspace, the rollback copy): refitting faults in
        no fresh pages.  fit is the only user (it writes, so no two run at once)."""
        arr = self._scratch_arrays.get(key)
        if arr is None or arr.size != size or arr.dtype != self.dtype:
            arr = self._scratch_arrays[key] = np.empty(size, self.dtype)
        return arr

    def _logs(self, sums: np.ndarray, n: int, weight_sum: float | None = None,
              data: tuple[np.ndarray | CSRRows, np.ndarray, np.ndarray | None] | None = None,
              *, gathered: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
              ) -> dict[str, float]:
        """The loss is Σ w ℓ / n (Keras's sum over batch size); metrics are means over
        the samples, weighted metrics (compile's ``weighted_metrics``) weighted means
        (Σ w m / Σ w) with sample weights.  `data` = (X, Y, W) adds the epoch metrics
        (fastnn.metrics), from one forward pass over X; `gathered` = (the model's
        outputs, Y, W) gives them from predictions made already (streams)."""
        if gathered is not None:
            P = self._probabilities(gathered[0])
            data = (gathered[0], gathered[1], gathered[2])
        else:
            P = None
        logs = {"loss": float(sums[SUM_LOSS] / max(n, 1))}
        wdiv = max(n, 1) if weight_sum is None else (weight_sum if weight_sum > 0 else 1.0)
        for metric, name, weighted in zip(self._metric_objs, self._metric_names,
                                          self._metric_weighted):
            family = metric.family
            div = wdiv if weighted else max(n, 1)
            if family == "epoch":
                if data is None:
                    continue  # known at the end of an epoch only
                if P is None:
                    P = self._probabilities(_core.predict(self._net, self._params, data[0]))
                logs[name] = M.compute(metric.key, P, data[1], self._loss_id == L.SPARSE_CCE,
                                       self._loss_id in L.HINGE_LOSSES,
                                       data[2] if weighted else None, metric.params)
                continue
            if family == "acc":
                slot = SUM_ACC
            else:
                slot = SUM_MAE if metric.key == "mean_absolute_error" else SUM_MSE
            logs[name] = float(sums[slot if weighted else slot + PLAIN] / div)
            if family == "rmse":
                logs[name] = float(np.sqrt(logs[name]))
        return logs

    def _probabilities(self, out: np.ndarray) -> np.ndarray:
        """The model's outputs as the loss sees them: with from_logits=True the loss
        applies the sigmoid or softmax, so metrics are computed on that."""
        if not self._from_logits or len(out) == 0:
            return out
        assert self._loss_id is not None  # compiled
        p = out.astype(np.float64)  # the layer's own C kernel, in float64
        _core.act_forward_kernel(L.LOGIT_ACTIVATION[self._loss_id], p, p)
        return p

    @property
    def _has_epoch_metrics(self) -> bool:
        return any(m.family == "epoch" for m in self._metric_objs)

    def _evaluate_sums(self, X: np.ndarray | CSRRows, Y: np.ndarray,
                       batch_size: int | None = None,
                       W: np.ndarray | None = None) -> np.ndarray:
        """Loss and metric sums over X, Y (weighted by W), forward in chunks of
        batch_size (default 1024)."""
        cap = max(1, min(len(X), batch_size or 1024))
        net = self._fit_net
        if W is not None:
            net = self._plan(weighted=True, training=True)
            Y = np.ascontiguousarray(np.hstack([Y, W[:, None].astype(self.dtype)]))
        assert net is not None  # made with the weights
        ws = np.empty(cap * net.ws_units, self.dtype)
        sums = np.zeros(N_SUMS)
        _core.evaluate(net, self._params, ws, cap, X, Y, sums)
        return sums

    # ------------------------------------------------------------------ one batch (Keras)
    def train_on_batch(self, x: ArrayLike, y: ArrayLike, return_dict: bool = False
                       ) -> float | list[float] | dict[str, float]:
        """One optimizer step on (x, y) as one batch; the loss and metrics of that step."""
        history = self.fit(x, y, batch_size=n_samples(x) or 1, epochs=1, verbose=0,
                           shuffle=False)
        logs = {k: v[-1] for k, v in history.history.items()}
        return logs if check_bool("train_on_batch", "return_dict", return_dict) else (
            list(logs.values()) if len(logs) > 1 else next(iter(logs.values())))

    def test_on_batch(self, x: ArrayLike, y: ArrayLike, return_dict: bool = False
                      ) -> float | list[float] | dict[str, float]:
        """``evaluate`` on (x, y) as one batch."""
        return self.evaluate(x, y, batch_size=max(1, n_samples(x)), verbose=0,
                             return_dict=return_dict)

    def predict_on_batch(self, x: ArrayLike) -> np.ndarray:
        """``predict`` on x as one batch."""
        return self.predict(x)

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", *metrics]``: the order of ``evaluate``'s list."""
        return ["loss", *self._metric_names]

    # ------------------------------------------------------------------ evaluate / predict
    @overload
    def evaluate(self, x: ArrayLike | None = ..., y: ArrayLike | None = ...,
                 batch_size: int | None = ..., verbose: Literal["auto"] | int = ..., *,
                 return_dict: Literal[True], sample_weight: ArrayLike | None = ...,
                 steps: int | None = ...) -> dict[str, float]: ...
    @overload
    def evaluate(self, x: ArrayLike | None = ..., y: ArrayLike | None = ...,
                 batch_size: int | None = ..., verbose: Literal["auto"] | int = ...,
                 return_dict: Literal[False] = ..., sample_weight: ArrayLike | None = ...,
                 steps: int | None = ...) -> float | list[float]: ...
    @overload
    def evaluate(self, x: ArrayLike | None = ..., y: ArrayLike | None = ...,
                 batch_size: int | None = ..., verbose: Literal["auto"] | int = ...,
                 return_dict: bool = ..., sample_weight: ArrayLike | None = ...,
                 steps: int | None = ...) -> float | list[float] | dict[str, float]: ...
    def evaluate(self, x: ArrayLike | None = None, y: ArrayLike | None = None,
                 batch_size: int | None = None, verbose: Literal["auto"] | int = "auto",
                 return_dict: bool = False, sample_weight: ArrayLike | None = None,
                 steps: int | None = None) -> float | list[float] | dict[str, float]:
        """Loss (with regularization penalties, as Keras) and metrics on (x, y),
        weighted by ``sample_weight`` if given (as in ``fit``).  `x` may be a generator
        or dataset of ``(x, y[, sample_weight])`` batches (``steps`` of them, or all).

        Returns the loss alone when no metrics were compiled, else
        ``[loss, metric, ...]``; a dict with ``return_dict=True``.
        """
        func = "evaluate"
        if self.optimizer is None:
            raise RuntimeError("evaluate(): the model must be compiled first.")
        if batch_size is not None:
            batch_size = check_int(func, "batch_size", batch_size, low=1)
        verbose = check_verbose(func, verbose)
        return_dict = check_bool(func, "return_dict", return_dict)
        self._check_not_training(func)
        kind = source_kind(func, "x", x)
        steps = check_steps(func, "steps", steps)
        if kind is None and steps is not None:
            raise ValueError("evaluate(): `steps` applies when x is a generator or dataset.")
        if kind is not None and (y is not None or sample_weight is not None):
            raise ValueError("evaluate(): `y` and `sample_weight` are not used when x is a "
                             "generator or dataset (its batches carry them).")
        self._ensure_built(func)
        t0 = time.perf_counter()
        with self._reading(func):
            if kind is not None:
                logs = self._evaluate_source(func, "x", x, kind, steps)
                n_steps = 1
            else:
                X = self._inputs(func, x)
                Y = self._targets(func, y, len(X))
                W = self._weights(func, sample_weight, None, Y, len(X))
                logs = self._logs(self._evaluate_sums(X, Y, batch_size, W), len(X),
                                  None if W is None else float(W.sum()),
                                  (X, Y, W) if self._has_epoch_metrics else None)
                n_steps = math.ceil(len(X) / max(1, min(len(X), batch_size or 1024)))
        # one C call, so one line: the bar's final state; a step is a chunk of rows
        _report(n_steps, time.perf_counter() - t0, logs, verbose)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


class _BatchLoop:
    """The batches of one ``fit`` in C, epoch after epoch: what stays from one epoch
    to the next (the training plan, the optimizer slots, the workspace, the targets
    with the sample weights in a last column, the measured time per batch) and
    :meth:`epoch`, which trains one epoch in chunks of ~CHUNK_SECONDS of C work.

    Between chunks: the progress bar, the batch hooks, and Ctrl-C (held during a
    chunk, so the weights, optimizer state, step count and random streams stay one
    consistent state).  A non-finite step stops the loop before it is applied."""

    def __init__(self, model: Trainer, X: np.ndarray | CSRRows, Y: np.ndarray,
                 W: np.ndarray | None, batch: int, threads: int, batch_cbs: list[Callback],
                 bar: ProgressBar, nan_stops: bool) -> None:
        assert model.optimizer is not None and model._params is not None
        if model._slots is None:
            model._slots = model.optimizer._init_slots(model._params.size, model.dtype)
        net = model._fit_net
        assert net is not None  # made with the weights
        if W is not None:  # the weights ride in a last column of the targets (C gathers it)
            net = model._plan(weighted=True, training=True)
            Y = np.ascontiguousarray(np.hstack([Y, W[:, None].astype(model.dtype)]))
        self.model, self.net, self.X, self.Y, self.W = model, net, X, Y, W
        self.batch, self.threads, self.batch_cbs = batch, threads, batch_cbs
        self.bar, self.nan_stops = bar, nan_stops
        self.ws = model._fit_scratch("ws", batch * net.ws_units)
        self.n_batches = math.ceil(len(X) / batch)
        self.per_batch = CHUNK_SECONDS  # unknown: the first chunk is one batch, then measured

    def epoch(self, epoch: int, shuffle: bool, interrupt: HeldInterrupt
              ) -> tuple[np.ndarray, int]:
        """Train one epoch; (the C loop's sums, samples applied).  Sets the model's
        ``stop_training`` after a non-finite step under TerminateOnNaN (without it,
        NonFiniteLossError); stops early, the state whole, when Ctrl-C is pending."""
        model, batch, n_batches, W = self.model, self.batch, self.n_batches, self.W
        assert model.optimizer is not None and model._slots is not None
        n = len(self.X)
        S1, S2 = model._slots
        sums = np.zeros(N_SUMS)
        done = b0 = 0
        wdone = 0.0  # Σ weights of the applied samples: the metrics' divisor
        with interrupt.held() as sigint:
            if shuffle:
                order = _core.rng_permutation(model._rng[STREAM_SHUFFLE], n)
            else:
                order = np.arange(n, dtype=np.int64)
            while b0 < n_batches:
                # one C call per chunk: ~CHUNK_SECONDS of work, so Ctrl-C lands promptly;
                # the progress bar is redrawn between chunks (never per batch)
                size = max(1, min(int(CHUNK_SECONDS / self.per_batch), n_batches - b0,
                                  batches_to_hook(self.batch_cbs)))
                part = order[b0 * batch:(b0 + size) * batch]
                for cb in self.batch_cbs:
                    call_batch_hook(cb, "begin", b0, {})
                t0 = time.perf_counter()
                status, n_done, its = _core.train(
                    self.net, model.optimizer._c_params(), model._params, model._grads, S1,
                    S2, self.ws, batch, self.X, self.Y, part, batch,
                    model._rng[STREAM_DROPOUT], sums, self.threads)
                self.per_batch = max((time.perf_counter() - t0) / size, 1e-9)
                model.optimizer.iterations = its
                done += n_done
                if W is not None:
                    wdone += float(W[part[:n_done]].sum())
                b0 += size
                if status:  # a non-finite step: C stopped before applying it
                    if self.nan_stops:
                        self.bar.close()
                    stop_at_non_finite(epoch, f"in epoch {epoch + 1}, after {done} of "
                                              f"{n} samples", self.nan_stops)
                    model.stop_training = True  # TerminateOnNaN (else it raised)
                    break
                wsum = wdone if W is not None else None
                self.bar.chunk(b0, lambda: model._logs(sums, done, wsum))
                for cb in self.batch_cbs:
                    call_batch_hook(cb, "end", b0 - 1, model._logs(sums, done, wsum))
                if sigint.pending:  # the state is whole: stop here, then raise
                    break
        return sums, done
