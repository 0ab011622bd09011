"""Data that is not one array: ``fit``, ``evaluate`` and ``predict`` on a Python
generator or iterator, an iterable (re-iterated each epoch, as a data loader), or
a ``keras.utils.PyDataset``-like object (``__len__`` and ``__getitem__`` returning
batches), with Keras's ``steps_per_epoch`` / ``validation_steps`` / ``steps``.

Design: batches are pulled one at a time and each is checked as an array would
be (the whole sample shape, numbers, finiteness, labels) before any kernel sees
it.  Consecutive batches of one size — the last of a run may be smaller — are
copied into one group and trained by one call of the C epoch loop (in the order
the source gives them: Keras does not shuffle a generator; a PyDataset may
reshuffle in its ``on_epoch_end``, which is called after every epoch).  A group
holds about 50 ms of work and at most ``MAX_GROUP_BYTES`` of samples, so Python
runs once per group, never per sample, and the data never has to fit in memory.
A bad batch stops ``fit`` with its error, and a non-finite step as in ``fit``: the
batches before stay applied (Keras does the same), the weights are those after the
last applied batch.
Metrics computed from a whole epoch's predictions (precision, recall, auc, top-k,
r2, ...) gather the model's predictions batch group by batch group (kept in memory:
one row of outputs per sample): ``evaluate`` and validation give exactly the values
of the same data as arrays; in ``fit`` each group is predicted just before it
trains (the weights of that moment, as Keras's running training metrics, without
dropout), where an array ``fit`` predicts all of its data once after the epoch.

(About 410 lines: the source kinds, the batch grouping and the streamed epoch metrics
share one loop; the checks of each batch are fastnn/_training_checks.py's.)
"""
from __future__ import annotations

import contextlib
import itertools
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._kernels import _core
from ._sparse import is_sparse
from ._validation import check_int, fail
from ._callback_calls import batches_to_hook
from ._epoch_results import N_SUMS, stop_at_non_finite
from ._training_checks import TrainingChecks
from .callbacks import Callback, History, TerminateOnNaN
from .threads import fit_thread_policy

if TYPE_CHECKING:
    from ._progress import ProgressBar
    from .models import Sequential

MAX_GROUP_BYTES = 64 << 20
GROUP_SECONDS = 0.05

SUPPORTED = ("NumPy arrays (or array-likes), a generator or iterator yielding (x, y) or "
             "(x, y, sample_weight) batches, an iterable of such batches (re-iterated each "
             "epoch), or a PyDataset-like object with __len__ and __getitem__ returning them")


def source_kind(func: str, name: str, x: object) -> str | None:
    """"iterator", "iterable" or "dataset" for a stream of batches; None for array-like
    data (checked later as arrays); TypeError for anything fastnn cannot read."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, int, float, complex, np.generic)):
        return None
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return None  # pandas, array wrappers: read as arrays
    module = type(x).__module__ or ""
    if module.startswith("scipy.sparse"):
        if getattr(x, "format", None) in ("csr", "csc"):
            return None  # rows read in place by the C loops (fastnn/_sparse.py)
        raise TypeError(f"{func}(): argument `{name}` is a scipy.sparse matrix in "
                        f"{getattr(x, 'format', None)!r} format; fastnn reads CSR and CSC. "
                        f"Use {name}.tocsr(). Received: {name}={type(x)}")
    if isinstance(x, (str, bytes, Mapping, set, frozenset)):
        fail(func, f"unsupported type for argument `{name}`", SUPPORTED, name, x,
             error=TypeError)
    if isinstance(x, Iterator):
        return "iterator"
    if hasattr(x, "__getitem__") and hasattr(x, "__len__"):
        return "dataset"
    if isinstance(x, Iterable):
        return "iterable"
    fail(func, f"unsupported type for argument `{name}`", SUPPORTED, name, x, error=TypeError)


def _refuse_sparse_batch(func: str, where: str, bx: object) -> None:
    """Batches read from a generator or dataset are dense: a sparse matrix is read in
    place only when it is the whole `x` (fastnn/_sparse.py)."""
    if is_sparse(bx):
        raise TypeError(f"{func}(): {where} x is a scipy.sparse matrix; batches from a "
                        "generator or dataset must be dense arrays. Pass the whole sparse "
                        "matrix as x (its rows are read in place, never densified), or yield "
                        "x_batch.toarray().")


def _batches(func: str, name: str, src: Any, kind: str, steps: int | None
             ) -> Iterator[tuple[int, Any]]:
    """(index, item) for one pass over `src`: `steps` items, or all it has."""
    if kind == "dataset":
        try:
            n = len(src)
        except TypeError as exc:
            raise TypeError(f"{func}(): len({name}) failed ({exc}); a PyDataset-like "
                            "object needs __len__ (the number of batches).") from None
        n = check_int(func, f"len({name})", n, low=0)
        if steps is not None and steps > n:
            raise ValueError(f"{func}(): {name} has {n} batches; the steps argument asks for "
                             f"{steps}. Received: steps={steps}")
        for i in range(n if steps is None else steps):
            yield i, src[i]
        return
    it = src if kind == "iterator" else iter(src)
    for i in itertools.count() if steps is None else range(steps):
        try:
            item = next(it)
        except StopIteration:
            return
        yield i, item


def _unpack(func: str, name: str, item: Any, i: int, need_y: bool) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight) of one batch."""
    if isinstance(item, (tuple, list)) and 1 <= len(item) <= 3 and not (
            isinstance(item, list) and not need_y):
        x, y, w = (*item, None, None)[:3]
    elif not need_y:
        x, y, w = item, None, None
    else:
        x = y = w = None
    if need_y and y is None:
        fail(func, f"batch {i} of `{name}` is not (x, y) or (x, y, sample_weight)",
             "a tuple of arrays", f"{name}[{i}]", item, error=TypeError)
    return x, y, w


class SourceTraining(TrainingChecks):
    """fit / evaluate / predict on a stream of batches (a mixin of Trainer)."""

    if TYPE_CHECKING:  # defined by Trainer (fastnn/training.py)
        @property
        def _has_epoch_metrics(self) -> bool: ...
        def _logs(self, sums: np.ndarray, n: int, weight_sum: float | None = None,
                  data: Any = None, *, gathered: Any = None) -> dict[str, float]: ...
        def _fit_scratch(self, key: str, size: int) -> np.ndarray: ...
        def _evaluate_sums(self, X: np.ndarray, Y: np.ndarray, batch_size: int | None = None,
                           W: np.ndarray | None = None) -> np.ndarray: ...

    def _source_batch(self, func: str, name: str, item: Any, i: int,
                      class_weight: dict[int, float] | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One batch checked and converted as fit's arrays are; builds an unbuilt
        model for its sample shape."""
        bx, by, bw = _unpack(func, name, item, i, True)
        where = f"{name}[{i}]"
        _refuse_sparse_batch(func, where, bx)
        if np.ndim(bx) < 2:  # an unbatched tf.data.Dataset or a generator of samples
            raise ValueError(
                f"{func}(): {where} x has shape {np.shape(bx)}: one sample, not a batch. A "
                "generator, iterable or dataset must yield batches (x, y) with x of shape "
                "(batch_size, n_features); batch it first (tf.data: dataset.batch(32)), "
                "or pass the arrays themselves.")
        if not self.built:
            shape = self._in_shape() or self._data_shape(func, bx)
            X = self._inputs(func, bx, f"{where} x", shape=shape)
            self._set_input_shape(shape or (X.shape[1],))
            self._build(X.shape[1])
        X = self._inputs(func, bx, f"{where} x")
        Y = self._targets(func, by, len(X), f"{where} y", f"{where} x")
        W = self._weights(func, bw, class_weight, Y, len(X))
        return X, Y, W

    def _gather(self, store: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                X: np.ndarray, Y: np.ndarray, W: np.ndarray | None) -> None:
        """Keep the model's predictions of a batch (group) for the epoch metrics
        (precision, auc, ...), which need all of an epoch's predictions at once."""
        if not self._has_epoch_metrics:
            return
        out = _core.predict(self._net, self._params, np.ascontiguousarray(X))
        store.append((out, Y, np.ones(len(X)) if W is None else W))

    def _gathered(self, store: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(predictions, targets, weights) of the batches gathered, or None."""
        if not store:
            return None
        return tuple(np.concatenate([s[i] for s in store])  # type: ignore[return-value]
                     for i in range(3))

    # ------------------------------------------------------------------ fit
    def _fit_source(self, x: Any, kind: str, steps: int | None, epochs: int, verbose: int,
                    callbacks: list[Callback], validation: tuple[Any, str] | None,
                    validation_steps: int | None, initial_epoch: int,
                    class_weight: dict[int, float] | None, bar: ProgressBar) -> History:
        func = "fit"
        assert self.optimizer is not None  # fit checked
        history = History()
        cbs = [*callbacks, history]
        n_steps = steps if steps is not None else (len(x) if kind == "dataset" else None)
        for cb in cbs:
            cb.set_model(cast("Sequential", self))
            cb.set_params({"epochs": epochs, "steps": n_steps, "verbose": verbose})
        nan_stops = any(isinstance(cb, TerminateOnNaN) for cb in cbs)
        with contextlib.ExitStack() as stack:  # holds fit's thread policy once entered
            return self._fit_epochs(x, kind, steps, epochs, initial_epoch, class_weight, bar,
                                    validation, validation_steps, cbs, history, nan_stops,
                                    {"threads": None, "stack": stack})

    def _fit_epochs(self, x: Any, kind: str, steps: int | None, epochs: int,
                    initial_epoch: int, class_weight: dict[int, float] | None,
                    bar: ProgressBar, validation: tuple[Any, str] | None,
                    validation_steps: int | None, cbs: list[Callback], history: History,
                    nan_stops: bool, run: dict[str, Any]) -> History:
        func = "fit"
        self.stop_training = False
        self.history = history
        for cb in cbs:
            cb.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            bar.epoch_begin(epoch)
            sums = np.zeros(N_SUMS)
            state: dict[str, Any] = {"n": 0, "wsum": 0.0, "weighted": False, "batches": 0,
                                     "per_batch": GROUP_SECONDS, "gathered": []}
            group: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
            # a bad batch (or the source's own error) stops fit with its error; the
            # batches before it stay applied, as after a non-finite step (and in Keras)
            batches = _batches(func, "x", x, kind, steps)
            while True:
                try:
                    i, item = next(batches)
                    batch = self._source_batch(func, "x", item, i, class_weight)
                except StopIteration:
                    break
                except BaseException:
                    if group:  # every batch before the bad one is applied
                        self._train_group(group, sums, state, epoch, nan_stops, bar, run)
                    raise
                if group and (len(batch[0]) > len(group[0][0])
                              or len(group[-1][0]) < len(group[0][0])):
                    self._train_group(group, sums, state, epoch, nan_stops, bar, run)
                    group = []
                    self._exact_batch_hooks(cbs, sums, state)
                group.append(batch)
                size = sum(g[0].nbytes for g in group)
                if (len(group) * state["per_batch"] >= GROUP_SECONDS
                        or size >= MAX_GROUP_BYTES or len(group) >= batches_to_hook(cbs)):
                    self._train_group(group, sums, state, epoch, nan_stops, bar, run)
                    group = []
                    self._exact_batch_hooks(cbs, sums, state)
                if state["n"] < 0:
                    break
            if group and state["n"] >= 0:
                self._train_group(group, sums, state, epoch, nan_stops, bar, run)
                self._exact_batch_hooks(cbs, sums, state)
            if state["n"] < 0:  # TerminateOnNaN stopped mid-epoch
                break
            if state["batches"] == 0:
                warnings.warn(f"fit(): the input ran out of data in epoch {epoch + 1} (no "
                              "batch); training stops. Give steps_per_epoch so that the "
                              "generator lasts epochs * steps_per_epoch batches.",
                              UserWarning, stacklevel=4)
                break
            logs = self._logs(sums, state["n"], state["wsum"] if state["weighted"] else None,
                              gathered=self._gathered(state["gathered"]))
            if validation is not None:
                vlogs = self._evaluate_source("fit", "validation_data", validation[0],
                                              validation[1], validation_steps)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            if bar.steps == 0:
                bar.steps = state["batches"]
            bar.epoch_end(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            end = getattr(x, "on_epoch_end", None)
            if kind == "dataset" and callable(end):
                end()  # a PyDataset's reshuffle hook
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end(history.history and {k: v[-1] for k, v in history.history.items()})
        return history

    def _exact_batch_hooks(self, cbs: list[Callback], sums: np.ndarray,
                           state: dict[str, Any]) -> None:
        """The batch-end hooks of callbacks that asked for exact batch counts
        (``ModelCheckpoint(save_freq=N)``); other batch hooks are not called on streams."""
        if state["n"] < 0:
            return
        for cb in cbs:
            if cb._batches_to_hook() is not None:
                cb.on_train_batch_end(state["batches"] - 1, self._logs(
                    sums, state["n"], state["wsum"] if state["weighted"] else None))

    def _train_group(self, group: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
                     sums: np.ndarray, state: dict[str, Any], epoch: int, nan_stops: bool,
                     bar: ProgressBar, run: dict[str, Any]) -> None:
        """One C call over the batches in `group` (equal sizes, the last maybe smaller)."""
        assert self.optimizer is not None and self._params is not None
        if run["threads"] is None:  # fit's thread policy, for the first group's batch size
            largest = max(len(group[0][0]) * self._dense_inputs[layer] * layer.units
                          for layer in self._dense)
            run["threads"] = run["stack"].enter_context(fit_thread_policy(largest))
        if self._slots is None:
            self._slots = self.optimizer._init_slots(self._params.size, self.dtype)
        S1, S2 = self._slots
        batch = len(group[0][0])
        X = np.concatenate([g[0] for g in group]) if len(group) > 1 else group[0][0]
        Y = np.concatenate([g[1] for g in group]) if len(group) > 1 else group[0][1]
        weighted = any(g[2] is not None for g in group)
        self._gather(state["gathered"], X, Y, np.concatenate(
            [np.ones(len(g[0])) if g[2] is None else g[2] for g in group]) if weighted
            else None)
        net = self._fit_net
        if weighted:
            W = np.concatenate([np.ones(len(g[0])) if g[2] is None else g[2] for g in group])
            net = self._plan(weighted=True, training=True)
            Y = np.ascontiguousarray(np.hstack([Y, W[:, None].astype(self.dtype)]))
            state["weighted"] = True
            state["wsum"] += float(W.sum())
        else:
            state["wsum"] += float(len(X))
        assert net is not None  # made with the weights
        cap = max(batch, state.get("cap", 0))
        state["cap"] = cap
        ws = self._fit_scratch("ws", cap * net.ws_units)
        t0 = time.perf_counter()
        status, n_done, its = _core.train(
            net, self.optimizer._c_params(), self._params, self._grads, S1, S2, ws, cap,
            np.ascontiguousarray(X), Y, np.arange(len(X), dtype=np.int64), batch,
            self._rng[2], sums, run["threads"])  # frozen layers: the plan skips them
        state["per_batch"] = max((time.perf_counter() - t0) / len(group), 1e-9)
        self.optimizer.iterations = its
        if status:  # a non-finite step: C stopped before applying it (as in fit)
            stop_at_non_finite(epoch, f"in epoch {epoch + 1}, after {state['n'] + n_done} "
                                      "samples", nan_stops)
            self.stop_training = True  # TerminateOnNaN (else it raised)
            state["n"] = -1
            return
        state["n"] += n_done
        state["batches"] += len(group)
        bar.chunk(state["batches"], lambda: self._logs(
            sums, state["n"], state["wsum"] if state["weighted"] else None))

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_source(self, func: str, name: str, src: Any, kind: str,
                         steps: int | None) -> dict[str, float]:
        """The logs of ``evaluate`` over every batch of `src` (sums added up in C's
        units: Σ w ℓ, Σ w m)."""
        sums, n, wsum, weighted = np.zeros(N_SUMS), 0, 0.0, False
        gathered: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for i, item in _batches(func, name, src, kind, steps):
            if not self.built:
                raise ValueError(f"{func}(): the model has no weights yet; train it or give "
                                 "it an input shape first.")
            X, Y, W = self._source_batch(func, name, item, i)
            sums += self._evaluate_sums(X, Y, None, W)
            self._gather(gathered, X, Y, W)
            n += len(X)
            wsum += len(X) if W is None else float(W.sum())
            weighted = weighted or W is not None
        if n == 0:
            raise ValueError(f"{func}(): `{name}` gave no batch.")
        return self._logs(sums, n, wsum if weighted else None,
                          gathered=self._gathered(gathered))

    def _predict_source(self, src: Any, kind: str, steps: int | None) -> np.ndarray:
        """``predict`` over every batch of `src` (an x, or a tuple whose first item is x)."""
        self._ensure_built("predict")
        outs = []
        for i, item in _batches("predict", "x", src, kind, steps):
            bx = _unpack("predict", "x", item, i, False)[0]
            _refuse_sparse_batch("predict", f"x[{i}]", bx)
            with self._reading("predict"):
                net = self._net
                assert net is not None  # built above
                X = self._inputs("predict", bx, f"x[{i}]", allow_empty=True)
                outs.append(_core.predict(net, net.params, X))
        if not outs:
            raise ValueError("predict(): `x` gave no batch.")
        return np.concatenate(outs)

    def _fit_stream(self, x: Any, kind: str, y: Any, epochs: int, verbose: int,
                    callbacks: list[Callback], validation_split: float,
                    validation_data: Any, initial_epoch: int, sample_weight: Any,
                    class_weight: dict[int, float] | None, steps_per_epoch: Any,
                    validation_steps: Any) -> History:
        """fit's checks for a stream of batches, then :meth:`_fit_source`."""
        func = "fit"
        for arg, value, why in (("y", y, "its batches carry the targets"),
                                ("sample_weight", sample_weight,
                                 "give (x, y, sample_weight) batches"),
                                ("validation_split", validation_split or None,
                                 "give validation_data")):
            if value is not None:
                raise ValueError(f"{func}(): `{arg}` is not used when x is a generator or "
                                 f"dataset ({why}). Received: {arg}={value!r}")
        steps = check_steps(func, "steps_per_epoch", steps_per_epoch)
        vsteps = check_steps(func, "validation_steps", validation_steps)
        validation: tuple[Any, str] | None = None
        if validation_data is not None:
            vkind = source_kind(func, "validation_data", validation_data)
            if vkind is None:  # arrays (x_val, y_val[, w]): one batch
                if not isinstance(validation_data, (tuple, list)) or \
                        len(validation_data) not in (2, 3):
                    fail(func, "invalid validation_data", "a tuple (x_val, y_val[, "
                         "sample_weight]) or a generator/dataset", "validation_data",
                         validation_data, error=TypeError)
                validation = ([tuple(validation_data)], "iterable")
            else:
                validation = (validation_data, vkind)
        from ._progress import ProgressBar

        bar = ProgressBar(epochs, steps or (len(x) if kind == "dataset" else 0), verbose)
        try:
            return self._fit_source(x, kind, steps, epochs, verbose, callbacks, validation,
                                    vsteps, initial_epoch, class_weight, bar)
        finally:
            bar.close()


def check_steps(func: str, name: str, steps: Any) -> int | None:
    """A steps argument: None (every batch the source has) or an int >= 1."""
    return None if steps is None else check_int(func, name, steps, low=1)
