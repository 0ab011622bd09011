"""The Sequential model: Keras's API over one flat parameter buffer and C loops.

Memory of a built model:

* ``_params``: every Dense layer's kernel W (n_in, n_out) and bias b, back to back;
  ``_grads`` the same layout for gradients; the optimizer's two state slots.
* a ``Net`` (fastnn._kernels._core): the C plan — layer sizes, activation ids,
  offsets, regularization and dropout rates, loss id.

``fit`` validates everything first, then calls the C epoch loop once per epoch
(or per progress-bar refresh): batch gathering, forward, loss, backward,
regularization and the optimizer step all run in C.
"""
from __future__ import annotations

import copy
import math
import secrets
import threading
import warnings

import numpy as np

from . import activations as A
from . import losses as L
from . import optimizers as O
from ._kernels import _core
from ._validation import (MismatchedLossWarning, NonFiniteLossError, NotFittedError,
                          ZeroGradientWarning, as_float_array, check_bool, check_float,
                          check_int, check_seed, fail)
from .callbacks import Callback, History, ProgressBar
from .layers import ALL_OBJECTS_DICT as LAYERS
from .layers import Dense, Dropout, InputLayer, Layer

# accuracy kinds (csrc/fnn_common.h)
ACC_NONE, ACC_BINARY, ACC_CATEGORICAL, ACC_SPARSE = range(4)
SUM_LOSS, SUM_ACC, SUM_MAE, SUM_MSE = range(4)

_METRICS = {
    "accuracy": ("acc", None), "acc": ("acc", None),
    "binary_accuracy": ("acc", ACC_BINARY),
    "categorical_accuracy": ("acc", ACC_CATEGORICAL),
    "sparse_categorical_accuracy": ("acc", ACC_SPARSE),
    "mae": ("err", SUM_MAE), "mean_absolute_error": ("err", SUM_MAE),
    "mse": ("err", SUM_MSE), "mean_squared_error": ("err", SUM_MSE),
}
_DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}
_STREAM_INIT, _STREAM_SHUFFLE, _STREAM_DROPOUT = range(3)


def _check_dtype(func: str, dtype) -> np.dtype:
    if dtype is None or isinstance(dtype, bool):
        fail(func, "unsupported dtype", "'float32' or 'float64'", "dtype", dtype, error=TypeError)
    try:
        key = np.dtype(dtype).name
    except TypeError:
        fail(func, "unsupported dtype", "'float32' or 'float64'", "dtype", dtype,
             error=ValueError if isinstance(dtype, str) else TypeError)
    if key not in _DTYPES:
        fail(func, "unsupported dtype", "'float32' or 'float64'", "dtype", dtype)
    return _DTYPES[key]


class Sequential:
    """A linear stack of layers, trained with backpropagation in C.

    Parameters
    ----------
    layers : list of layers, optional
        ``Input``, ``Dense`` and ``Dropout`` layers, in order.
    name : str
    dtype : "float32" (default) or "float64"
        Type of weights, activations and arithmetic.
    seed : int >= 0 or None
        Seeds the initializers, the shuffling and the dropout masks (separate
        streams of one C generator).  The same seed gives bitwise-identical
        training runs.  None draws a fresh seed from the operating system.
    """

    def __init__(self, layers=None, name: str = "sequential", *, dtype="float32", seed=None):
        if not isinstance(name, str):
            fail("Sequential", "invalid type for argument `name`", "a str", "name", name,
                 error=TypeError)
        self.name = name
        self.dtype = _check_dtype("Sequential", dtype)
        seed = check_seed("Sequential", seed)
        self._seed_given = seed
        self.seed = seed if seed is not None else secrets.randbits(63)
        self._layers: list[Layer] = []
        self._input_dim: int | None = None
        self._params = self._grads = self._slots = None
        self._dense_inputs: dict[Dense, int] = {}
        self._net = None
        self.optimizer = None
        self.loss = None
        self._loss_id = None
        self._metric_names: list[str] = []
        self._acc_kind = ACC_NONE
        self._want_err = False
        self.history = None
        self.stop_training = False
        self._lock = threading.RLock()  # fit, compile, add, set_weights; re-entrant for callbacks
        self._fitting_thread = None      # ident of the thread inside fit(), if any
        self._rng = {}
        for stream in (_STREAM_INIT, _STREAM_SHUFFLE, _STREAM_DROPOUT):
            state = np.zeros(4, np.uint64)
            _core.rng_seed(state, self.seed, stream)
            self._rng[stream] = state
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                fail("Sequential", "invalid type for argument `layers`", "a list of layers",
                     "layers", layers, error=TypeError)
            try:
                for layer in layers:
                    self.add(layer)
            except Exception:
                for layer in self._layers:  # give the layers back: they stay usable
                    layer._model = None
                raise

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, without the Input layer (as Keras)."""
        return [l for l in self._layers if not isinstance(l, InputLayer)]

    @property
    def _dense(self) -> list[Dense]:
        return [l for l in self._layers if isinstance(l, Dense)]

    @property
    def built(self) -> bool:
        return self._params is not None

    def add(self, layer: Layer) -> None:
        """Append a layer.  An Input (or ``input_shape=``) may only come first.

        On a built model the weights of the existing layers are kept; on a
        compiled one the loss pairing is checked again and the optimizer state
        restarts (the parameter vector changed).  A failed call changes nothing."""
        with self._lock:
            self._add(layer)

    def _add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            fail("add", "invalid layer", "an Input, Dense or Dropout layer", "layer", layer,
                 error=TypeError)
        if layer._model is not None or any(layer is l for l in self._layers):
            fail("add", "this layer already belongs to a model", "a new layer instance",
                 "layer", layer)
        first = not self._layers
        input_dim = self._input_dim
        if isinstance(layer, InputLayer) or getattr(layer, "input_dim", None) is not None:
            if not first:
                fail("add", "an input shape can only be given to the first layer",
                     "Input(...) or input_shape= on the first layer only", "layer", layer)
            input_dim = layer.units if isinstance(layer, InputLayer) else layer.input_dim
        if layer.name is not None and layer.name in {l.name for l in self._layers}:
            fail("add", "layer names must be unique", "a new name", "layer.name", layer.name)
        compiled = None
        if isinstance(layer, Dense) and self.optimizer is not None:
            compiled = self._compile_settings("add", self._loss_id, self._metric_names, layer)
        # every check passed: change the model
        if layer.name is None:
            taken = {l.name for l in self._layers}
            k, name = 0, layer._base_name
            while name in taken:
                k += 1
                name = f"{layer._base_name}_{k}"
            layer.name = name
        saved = {l: l.get_weights() for l in self._dense} if self.built else None
        layer._model = self
        self._layers.append(layer)
        self._input_dim = input_dim
        if saved is None or not isinstance(layer, Dense):
            self._net = None  # the plan is rebuilt when next needed
            return
        try:  # grow the buffer, keeping the weights it has
            self._build(self._input_dim)
        except BaseException:
            self._layers.pop()
            layer._model = None
            raise
        for dense, weights in saved.items():
            for off, w in zip((dense._w_off, dense._b_off), weights):
                self._params[off:off + w.size] = w.ravel()
        if compiled is not None:
            self._acc_kind, self._want_err = compiled[0], compiled[1]
            self.optimizer.iterations = 0
            self._make_net()

    def _check_structure(self) -> None:
        if not self._dense:
            raise ValueError("The model has no Dense layer; add one, e.g. "
                             "model.add(fastnn.layers.Dense(1)).")
        if isinstance(self._layers[-1], Dropout):
            raise ValueError("Dropout cannot be the last layer: it would drop outputs of "
                             "the network. Put it between Dense layers.")

    def _build(self, input_dim: int) -> None:
        """Allocate and initialise the flat parameter buffer for `input_dim` features."""
        self._check_structure()
        dense = self._dense
        n_in, offset = input_dim, 0
        inputs = {}
        offsets = []
        for layer in dense:
            inputs[layer] = n_in
            w_off, offset = offset, offset + n_in * layer.units
            b_off = -1
            if layer.use_bias:
                b_off, offset = offset, offset + layer.units
            offsets.append((w_off, b_off))
            n_in = layer.units
        if offset >= 2**31:
            raise ValueError(f"The model would have {offset} parameters; fastnn supports "
                             f"fewer than 2**31.")
        params = np.zeros(offset, self.dtype)
        for layer, (w_off, b_off) in zip(dense, offsets):
            layer._w_off, layer._b_off = w_off, b_off
        from . import initializers

        rng = self._rng[_STREAM_INIT]
        for layer in dense:
            n = inputs[layer]
            w = params[layer._w_off:layer._w_off + n * layer.units]
            initializers.fill(layer.kernel_initializer, w, n, layer.units, rng)
            if layer.use_bias:
                b = params[layer._b_off:layer._b_off + layer.units]
                initializers.fill(layer.bias_initializer, b, n, layer.units, rng)
        self._input_dim = input_dim
        self._dense_inputs = inputs
        self._params = params
        self._grads = np.zeros_like(params)
        self._slots = None
        self._make_net()

    def build(self, input_shape=None) -> None:
        """Create the weights for inputs of shape ``(None, n_features)``."""
        if input_shape is not None:
            shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
            if isinstance(shape, tuple) and len(shape) == 2:
                shape = shape[1:]
            from .layers import _check_shape

            dim = _check_shape("build", shape)
            if self._input_dim is not None and dim != self._input_dim:
                fail("build", "input shape differs from the declared one",
                     f"(None, {self._input_dim})", "input_shape", input_shape)
            self._input_dim = dim
        if self._input_dim is None:
            raise ValueError("build(): the number of input features is unknown. Pass "
                             "input_shape=(None, n_features), start the model with "
                             "fastnn.Input(shape=(n_features,)), or call fit().")
        if not self.built:
            self._build(self._input_dim)

    def _ensure_built(self, func: str) -> None:
        if self.built:
            if self._net is None:
                self._make_net()
            return
        if self._input_dim is not None:
            self._build(self._input_dim)
        else:
            raise NotFittedError(
                f"{func}(): the model has no weights yet. Give it an input shape "
                f"(fastnn.Input(shape=(n_features,)) or input_shape= on the first "
                f"layer) or call fit() first.")

    def _dropout_rates(self) -> tuple[float, list[float]]:
        """(rate on the input, rate on each Dense layer's output); consecutive
        Dropout layers combine: keep = Π (1 − rate)."""
        keep_in, keeps = 1.0, []
        for layer in self._layers:
            if isinstance(layer, Dense):
                keeps.append(1.0)
            elif isinstance(layer, Dropout):
                if keeps:
                    keeps[-1] *= 1.0 - layer.rate
                else:
                    keep_in *= 1.0 - layer.rate
        return 1.0 - keep_in, [1.0 - k for k in keeps]

    def _make_net(self) -> None:
        """Build the C plan from the layers, loss and metrics."""
        self._check_structure()
        dense = self._dense
        in_drop, drops = self._dropout_rates()
        specs = []
        for layer, drop in zip(dense, drops):
            kr, br = layer.kernel_regularizer, layer.bias_regularizer
            specs.append((self._dense_inputs[layer], layer.units, layer.activation,
                          layer._w_off, layer._b_off,
                          kr.l1 if kr else 0.0, kr.l2 if kr else 0.0,
                          br.l1 if br else 0.0, br.l2 if br else 0.0, drop))
        loss = self._loss_id if self._loss_id is not None else L.MSE
        last = dense[-1]
        y_cols = 1 if loss == L.SPARSE_CCE else last.units
        self._net = _core.Net(specs, in_drop, loss, (last.activation, loss) in L.FUSED_PAIRS,
                              self._acc_kind, self._want_err, y_cols, self._params.size,
                              self.dtype == np.float64)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Configure training: ``compile(optimizer="adam", loss="mse", metrics=["mae"])``.

        Warns with :class:`fastnn.MismatchedLossWarning` when the last activation
        and the loss are not one of the standard pairs (see ``fastnn.losses``),
        and raises for impossible ones (softmax or sparse categorical
        cross-entropy on a single unit).  Resets the optimizer state.
        """
        opt = O.get(optimizer)
        if loss is None:
            raise TypeError("compile(): argument `loss` is missing. Expected one of "
                            f"{sorted(L.ALL_OBJECTS_DICT)}. Received: loss=None")
        loss_id = L.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            fail("compile", "invalid type for argument `metrics`", "a list of metric names",
                 "metrics", metrics, error=TypeError)
        dense = self._dense
        if not dense:
            raise ValueError("compile(): the model has no Dense layer.")
        acc_kind, want_err, names = self._compile_settings("compile", loss_id, metrics, dense[-1])
        with self._lock:
            self.optimizer, self._loss_id, self.loss = opt, loss_id, L.NAMES[loss_id]
            self._metric_names, self._acc_kind, self._want_err = names, acc_kind, want_err
            opt.iterations = 0
            self._slots = None
            if self.built:
                self._make_net()

    def _compile_settings(self, func: str, loss_id: int, metrics, last: Dense):
        """(accuracy kind, want mae/mse, metric names) for `last` as output layer;
        raises or warns for the loss pairing.  Changes nothing."""
        acc_kind, want_err, names = ACC_NONE, False, []
        for m in metrics:
            if not isinstance(m, str):
                fail(func, "invalid metric", f"names from {sorted(_METRICS)}",
                     "metric", m, error=TypeError)
            key = m.lower()
            if key not in _METRICS:
                fail(func, f"unknown metric {m!r}", f"one of {sorted(_METRICS)}", "metric", m)
            family, kind = _METRICS[key]
            if family == "acc":
                if kind is None:
                    kind = {L.BCE: ACC_BINARY, L.CCE: ACC_CATEGORICAL,
                            L.SPARSE_CCE: ACC_SPARSE}.get(
                        loss_id, ACC_BINARY if last.units == 1 else ACC_CATEGORICAL)
                if acc_kind not in (ACC_NONE, kind):
                    raise ValueError(f"{func}(): only one kind of accuracy can be tracked "
                                     f"at a time. Received: metrics={metrics!r}")
                if (kind == ACC_SPARSE) != (loss_id == L.SPARSE_CCE):
                    raise ValueError(
                        f"{func}(): metric {m!r} does not fit loss {L.NAMES[loss_id]!r}: "
                        "sparse_categorical_accuracy needs integer labels "
                        "(sparse_categorical_crossentropy), other accuracies need targets "
                        "shaped like the output.")
                acc_kind = kind
            else:
                if loss_id == L.SPARSE_CCE:
                    raise ValueError(f"{func}(): metric {m!r} needs targets shaped like the "
                                     "output; sparse_categorical_crossentropy takes integer "
                                     "labels.")
                want_err = True
            if m in names:
                raise ValueError(f"{func}(): metric {m!r} is listed twice.")
            names.append(m)
        self._check_pair(last, loss_id, func)
        return acc_kind, want_err, names

    @staticmethod
    def _check_pair(last: Dense, loss_id: int, func: str = "compile") -> None:
        act = last.activation
        if act == A.SOFTMAX and last.units == 1:
            raise ValueError(f"{func}(): a softmax over 1 unit always outputs 1.0. For binary "
                             "classification use Dense(1, activation='sigmoid') with "
                             "binary_crossentropy.")
        if loss_id == L.SPARSE_CCE and last.units == 1:
            raise ValueError(f"{func}(): sparse_categorical_crossentropy needs one output unit "
                             "per class (at least 2). For two classes use Dense(1, "
                             "activation='sigmoid') with binary_crossentropy.")
        if (act, loss_id) not in L.STANDARD_PAIRS and act not in A.ZERO_GRADIENT:
            warnings.warn(
                f"{func}(): last activation {A.NAMES[act]!r} with loss "
                f"{L.NAMES[loss_id]!r} is not a standard pair: {L.suggestion(loss_id)}. "
                "Standard pairs: sigmoid + binary_crossentropy (binary, multilabel), "
                "softmax + categorical_crossentropy (multiclass), linear + mse "
                "(regression), sigmoid + mse or binary_crossentropy (values in [0, 1]).",
                MismatchedLossWarning, stacklevel=4)

    # ------------------------------------------------------------------ data checks
    def _inputs(self, func: str, x) -> np.ndarray:
        return as_float_array(func, "x", x, self.dtype, n_features=self._input_dim)

    def _targets(self, func: str, y, n: int, name: str = "y", xname: str = "x") -> np.ndarray:
        """Targets as the C loops want them: (n, n_out), or (n, 1) labels."""
        k = self._dense[-1].units
        loss = self._loss_id
        if y is None:
            fail(func, f"argument `{name}` is missing", "targets for every sample", name, y,
                 error=TypeError)
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            fail(func, f"unsupported dtype {arr.dtype} for argument `{name}`",
                 "bool, integer or float data", f"{name}.dtype", str(arr.dtype), error=TypeError)
        if arr.ndim == 0 or len(arr) != n:
            raise ValueError(f"{func}(): {xname} and {name} have different numbers of samples. "
                             f"Received: len({xname})={n}, {name}.shape={arr.shape}.")
        if loss == L.SPARSE_CCE:
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr[:, 0]
            if arr.ndim != 1:
                raise ValueError(
                    f"{func}(): sparse_categorical_crossentropy expects integer class labels "
                    f"of shape (n_samples,). Received: {name}.shape={arr.shape}. For one-hot "
                    "targets use loss='categorical_crossentropy'.")
            lab = arr.astype(np.float64)
            bad = ~np.isfinite(lab) | (lab != np.floor(lab)) | (lab < 0) | (lab >= k)
            if bad.any():
                idx = np.flatnonzero(bad)[:5]
                raise ValueError(
                    f"{func}(): labels must be integers in [0, {k}) for a {k}-unit output. "
                    f"Received: {name}[{idx.tolist()}]={arr[idx].tolist()}.")
            Y = np.ascontiguousarray(lab.reshape(-1, 1), dtype=self.dtype)
            if (Y[:, 0] != lab).any():  # float32 holds integers exactly only up to 2**24
                raise ValueError(f"{func}(): labels up to {int(lab.max())} are not exact in "
                                 f"{self.dtype.name}; use dtype='float64' for so many classes.")
            return Y
        if arr.ndim == 1 and k == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != k:
            hint = ""
            if arr.ndim == 1 and loss == L.CCE:
                hint = (" These look like integer labels: use "
                        "loss='sparse_categorical_crossentropy' or one-hot encode them.")
            raise ValueError(f"{func}(): {name} has shape {arr.shape}, but the model outputs "
                             f"(None, {k}); expected {name} of shape ({n}, {k}).{hint}")
        Y = as_float_array(func, name, arr, self.dtype, allow_empty=True)
        if loss in (L.BCE, L.CCE) and ((Y < 0).any() or (Y > 1).any()):
            bad = np.argwhere((Y < 0) | (Y > 1))[:5]
            raise ValueError(f"{func}(): {L.NAMES[loss]} targets must lie in [0, 1]. "
                             f"Received: {name} at {[tuple(map(int, b)) for b in bad]} = "
                             f"{[float(Y[tuple(b)]) for b in bad]}.")
        return Y

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs: int = 1, verbose="auto",
            callbacks=None, validation_split: float = 0.0, validation_data=None,
            shuffle: bool = True) -> History:
        """Train for `epochs` passes over (x, y) with mini-batch backpropagation.

        Every argument is checked before any state changes; a failing call leaves
        weights, optimizer state and random streams untouched.  ``validation_split``
        holds out the *last* fraction of the samples (before shuffling), as Keras.
        A NaN or infinite loss stops training with :class:`fastnn.NonFiniteLossError`
        and puts back the weights from the start of that epoch.
        """
        with self._lock:  # validation sees the same model that trains
            self._fitting_thread = threading.get_ident()
            try:
                return self._fit(x, y, batch_size, epochs, verbose, callbacks,
                                 validation_split, validation_data, shuffle)
            finally:
                self._fitting_thread = None

    def _fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
             validation_data, shuffle) -> History:
        func = "fit"
        if self.optimizer is None:
            raise RuntimeError("fit(): the model must be compiled first: "
                               "model.compile(optimizer=..., loss=...).")
        batch_size = 32 if batch_size is None else check_int(func, "batch_size", batch_size,
                                                             low=1)
        epochs = check_int(func, "epochs", epochs, low=0)
        verbose = _check_verbose(func, verbose)
        validation_split = check_float(func, "validation_split", validation_split, low=0.0,
                                       high=1.0, high_open=True)
        shuffle = check_bool(func, "shuffle", shuffle)
        callbacks = _check_callbacks(func, callbacks)
        if x is None and y is None:
            raise TypeError("fit(): arguments `x` and `y` are missing.")
        if self._input_dim is None:
            xa = as_float_array(func, "x", x, self.dtype)
            n_features = xa.shape[1]
        else:
            xa = self._inputs(func, x)
            n_features = self._input_dim
        Y = self._targets(func, y, len(xa))
        X = xa
        if validation_data is not None:
            if validation_split:
                raise ValueError("fit(): give validation_data or validation_split, not both.")
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                fail(func, "invalid validation_data", "a tuple (x_val, y_val)",
                     "validation_data", validation_data, error=TypeError)
            Xv = as_float_array(func, "validation_data[0]", validation_data[0], self.dtype,
                                n_features=n_features)
            Yv = self._targets(func, validation_data[1], len(Xv), "validation_data[1]",
                               "validation_data[0]")
        elif validation_split:
            n_val = len(X) - math.floor(len(X) * (1.0 - validation_split))  # as Keras
            if n_val < 1 or n_val >= len(X):
                raise ValueError(f"fit(): validation_split={validation_split} of {len(X)} "
                                 f"samples leaves {n_val} for validation and "
                                 f"{len(X) - n_val} for training; both need at least 1.")
            X, Xv, Y, Yv = X[:-n_val], X[-n_val:], Y[:-n_val], Y[-n_val:]
        else:
            Xv = Yv = None
        # every check passed: from here on the model may change
        if self.built:
            self._ensure_built(func)
        else:
            self._build(n_features)
        return self._fit_loop(X, Y, Xv, Yv, min(batch_size, len(X)), epochs, verbose,
                              callbacks, shuffle)

    def _fit_loop(self, X, Y, Xv, Yv, batch, epochs, verbose, callbacks, shuffle):
        dense = self._dense
        for layer in dense:
            if layer.activation in A.ZERO_GRADIENT:
                warnings.warn(
                    f"fit(): layer {layer.name!r} uses the {A.NAMES[layer.activation]!r} "
                    "activation, whose derivative is zero almost everywhere: "
                    "backpropagation cannot train the weights that feed it. Use "
                    "fastnn.Perceptron for the perceptron rule, or sigmoid/tanh.",
                    ZeroGradientWarning, stacklevel=4)
                break
        if self._slots is None:
            self._slots = self.optimizer._init_slots(self._params.size, self.dtype)
        S1, S2 = self._slots
        net, n = self._net, len(X)
        ws = np.empty(batch * net.ws_units, self.dtype)
        n_batches = math.ceil(n / batch)
        chunk_batches = n_batches if verbose != 1 else max(1, math.ceil(n_batches / 20))
        history = History()
        cbs = [history, *callbacks]
        for cb in cbs:
            cb.set_model(self)
        history.params = {"epochs": epochs, "steps": n_batches, "verbose": verbose}
        bar = ProgressBar(epochs, n_batches, verbose)
        self.stop_training = False
        self.history = history
        for cb in cbs:
            cb.on_train_begin()
        for epoch in range(epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            bar.epoch_begin(epoch)
            if shuffle:
                order = _core.rng_permutation(self._rng[_STREAM_SHUFFLE], n)
            else:
                order = np.arange(n, dtype=np.int64)
            snapshot = (self._params.copy(), S1.copy(), S2.copy(), self.optimizer.iterations)
            sums = np.zeros(4)
            done = 0
            for b0 in range(0, n_batches, chunk_batches):
                part = order[b0 * batch:(b0 + chunk_batches) * batch]
                status, n_done, its = _core.train(
                    net, self.optimizer._c_params(), self._params, self._grads, S1, S2, ws,
                    batch, X, Y, part, batch, self._rng[_STREAM_DROPOUT], sums)
                self.optimizer.iterations = its
                done += n_done
                if status or not np.isfinite(self._params).all():
                    self._params[:], S1[:], S2[:] = snapshot[:3]
                    self.optimizer.iterations = snapshot[3]
                    raise NonFiniteLossError(
                        f"fit(): the loss became NaN or infinite in epoch {epoch + 1} "
                        f"(after {done} of {n} samples); the weights from the start of that "
                        "epoch were put back. Lower the learning rate, scale the inputs, or "
                        "check the targets.")
                bar.update(min(n_batches, b0 + chunk_batches), self._logs(sums, done))
            logs = self._logs(sums, n)
            if Xv is not None:
                vs = self._evaluate_sums(Xv, Yv)
                logs.update({f"val_{k}": v for k, v in self._logs(vs, len(Xv)).items()})
            bar.epoch_end(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end()
        return history

    def _logs(self, sums: np.ndarray, n: int) -> dict:
        logs = {"loss": float(sums[SUM_LOSS] / max(n, 1))}
        for name in self._metric_names:
            family, slot = _METRICS[name.lower()]
            slot = SUM_ACC if family == "acc" else slot
            logs[name] = float(sums[slot] / max(n, 1))
        return logs

    def _evaluate_sums(self, X: np.ndarray, Y: np.ndarray, batch_size=None) -> np.ndarray:
        """Loss and metric sums over X, Y, forward in chunks of batch_size (default 1024)."""
        cap = max(1, min(len(X), batch_size or 1024))
        ws = np.empty(cap * self._net.ws_units, self.dtype)
        sums = np.zeros(4)
        _core.evaluate(self._net, self._params, ws, cap, X, Y, sums)
        return sums

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False):
        """Loss (with regularization penalties, as Keras) and metrics on (x, y).

        Returns the loss alone when no metrics were compiled, else
        ``[loss, metric, ...]``; a dict with ``return_dict=True``.
        """
        func = "evaluate"
        if self.optimizer is None:
            raise RuntimeError("evaluate(): the model must be compiled first.")
        if batch_size is not None:
            batch_size = check_int(func, "batch_size", batch_size, low=1)
        _check_verbose(func, verbose)
        return_dict = check_bool(func, "return_dict", return_dict)
        with self._lock:
            self._ensure_built(func)
            X = self._inputs(func, x)
            Y = self._targets(func, y, len(X))
            logs = self._logs(self._evaluate_sums(X, Y, batch_size), len(X))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0) -> np.ndarray:
        """Network output for the samples in `x`, shape (n_samples, n_outputs).

        `x` must be 2-D; one sample is ``x.reshape(1, -1)``.  0 samples give a
        (0, n_outputs) array.  Thread-safe: concurrent calls on one model are
        allowed (each uses its own workspace).  While ``fit`` runs in another
        thread, ``predict`` raises RuntimeError instead of reading weights that
        are being updated (from ``fit``'s own thread, e.g. in a callback, it works).
        """
        if self._fitting_thread is not None and self._fitting_thread != threading.get_ident():
            raise RuntimeError("predict(): the model is being trained by fit() in another "
                               "thread; call predict when fit has returned.")
        net = self._net
        if net is not None and batch_size is None and verbose == 0:
            # fast path: input already C-contiguous, finite, of the model dtype (checked in C)
            out = _core.predict_fast(net, self._params, x)
            if out is not None:
                return out
        if batch_size is not None:
            check_int("predict", "batch_size", batch_size, low=1)
        _check_verbose("predict", verbose)
        self._ensure_built("predict")
        X = as_float_array("predict", "x", x, self.dtype, n_features=self._input_dim,
                           allow_empty=True)
        return _core.predict(self._net, self._params, X)

    def get_layer_outputs(self, x) -> list[np.ndarray]:
        """The activations a[l] of every Dense layer for the samples in `x` — a look
        inside the "black box" (no dropout)."""
        self._ensure_built("get_layer_outputs")
        X = self._inputs("get_layer_outputs", x)
        outs, a = [], X
        for layer in self._dense:
            z = np.empty((len(a), layer.units), self.dtype)
            _core.dense_forward_kernel(a, np.ascontiguousarray(layer.kernel),
                                       None if layer.bias is None else
                                       np.ascontiguousarray(layer.bias), z)
            _core.act_forward_kernel(layer.activation, z, z)
            outs.append(z)
            a = z
        return outs

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights: per Dense layer, kernel (n_in, units) then bias."""
        self._ensure_built("get_weights")
        return [w for layer in self._dense for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """Replace all weights (same list layout as ``get_weights``).  Every array is
        checked (count, shape, finiteness) before any is written."""
        with self._lock:
            self._ensure_built("set_weights")
            self._set_dense_weights(weights)

    def _set_dense_weights(self, weights) -> None:
        func = "set_weights"
        if not isinstance(weights, (list, tuple)):
            fail(func, "invalid type for argument `weights`", "a list of arrays", "weights",
                 weights, error=TypeError)
        shapes = []
        for layer in self._dense:
            shapes.append((layer, "kernel", (self._dense_inputs[layer], layer.units)))
            if layer.use_bias:
                shapes.append((layer, "bias", (layer.units,)))
        if len(weights) != len(shapes):
            raise ValueError(f"{func}(): expected a list of {len(shapes)} arrays "
                             f"(kernel and bias per Dense layer), received {len(weights)}.")
        converted = []
        for i, (w, (layer, kind, shape)) in enumerate(zip(weights, shapes)):
            arr = as_float_array(func, f"weights[{i}]", w, self.dtype, ndim=len(shape),
                                 allow_empty=True)
            if arr.shape != shape:
                raise ValueError(f"{func}(): weights[{i}] ({layer.name} {kind}) has shape "
                                 f"{arr.shape}; expected {shape}.")
            converted.append((layer, kind, arr))
        for layer, kind, arr in converted:
            off = layer._w_off if kind == "kernel" else layer._b_off
            self._params[off:off + arr.size] = arr.ravel()

    def count_params(self) -> int:
        self._ensure_built("count_params")
        return int(self._params.size)

    def summary(self, print_fn=None) -> None:
        """Print the layers, their output shapes and parameter counts."""
        if print_fn is not None and not callable(print_fn):
            fail("summary", "invalid type for argument `print_fn`", "a callable or None",
                 "print_fn", print_fn, error=TypeError)
        print_fn = print_fn or print
        rows = [("Layer (type)", "Output Shape", "Param #")]
        n_in = self._input_dim
        total = 0
        for layer in self.layers:
            if isinstance(layer, Dense):
                count = (n_in * layer.units + (layer.units if layer.use_bias else 0)
                         if n_in is not None else None)
                total += count or 0
                n_in = layer.units
            else:
                count = 0
            shape = f"(None, {n_in})" if n_in is not None else "?"
            rows.append((f"{layer.name} ({type(layer).__name__})", shape,
                         "?" if count is None else str(count)))
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        line = "-" * sum(widths)
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        for i, r in enumerate(rows):
            print_fn("".join(c.ljust(w) for c, w in zip(r, widths)))
            print_fn("=" * sum(widths) if i == 0 else line)
        print_fn(f"Total params: {total if self._input_dim is not None else '?'}")
        print_fn(f"dtype: {self.dtype.name}")

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        layers = [{"class_name": type(l).__name__, "config": l.get_config()}
                  for l in self._layers]
        if self._input_dim is not None and not any(
                isinstance(l, InputLayer) or getattr(l, "input_dim", None) for l in self._layers):
            layers.insert(0, {"class_name": "InputLayer",
                              "config": {"shape": [self._input_dim], "name": "input_layer"}})
        return {"name": self.name, "dtype": self.dtype.name, "seed": self._seed_given,
                "layers": layers}

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        layers = []
        for spec in config["layers"]:
            if spec["class_name"] not in LAYERS:
                raise ValueError(f"Unknown layer class {spec['class_name']!r}; expected one "
                                 f"of {sorted(LAYERS)}.")
            layers.append(LAYERS[spec["class_name"]].from_config(dict(spec["config"])))
        return cls(layers, name=config.get("name", "sequential"),
                   dtype=config.get("dtype", "float32"), seed=config.get("seed"))


def _check_verbose(func: str, verbose) -> int:
    if verbose == "auto":
        return 1
    return check_int(func, "verbose", verbose, low=0, high=2)


def _check_callbacks(func: str, callbacks) -> list[Callback]:
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        fail(func, "invalid type for argument `callbacks`", "a list of Callback objects",
             "callbacks", callbacks, error=TypeError)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            fail(func, "invalid callback", "instances of fastnn.callbacks.Callback",
                 "callback", cb, error=TypeError)
    return list(callbacks)


def clone_model(model: Sequential) -> Sequential:
    """A fresh copy of `model`: same layers, dtype and seed, newly initialised
    weights, compiled with a fresh optimizer of the same configuration."""
    if not isinstance(model, Sequential):
        fail("clone_model", "invalid model", "a fastnn.Sequential", "model", model,
             error=TypeError)
    clone = Sequential.from_config(copy.deepcopy(model.get_config()))
    if model.optimizer is not None:
        clone.compile(optimizer=O.get(O.serialize(model.optimizer)), loss=model.loss,
                      metrics=list(model._metric_names))
    return clone
