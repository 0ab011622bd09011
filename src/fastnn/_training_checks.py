"""The checks behind compile and fit (a mixin of :class:`fastnn.training.Trainer`):
compile's metric and loss-pairing rules, and the conversion of targets and
sample/class weights into what the C loops read.  They run before any kernel and
change nothing in the model.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import activations as A
from . import losses as L
from . import metrics as M
from ._kernels._core import AccuracyKind
from ._validation import (MismatchedLossWarning, as_float_array, check_float,
                          check_not_masked, fail)
from ._sparse import CSRRows, as_sparse_rows, is_sparse
from ._state import SequentialAttributes
from .layers import Dense
from ._shaping import trace

# accuracy kinds (csrc/fnn_common.h FNN_ACC_*, read from the C)
ACC_NONE, ACC_BINARY, ACC_CATEGORICAL, ACC_SPARSE = (int(k) for k in (
    AccuracyKind.NONE, AccuracyKind.BINARY, AccuracyKind.CATEGORICAL, AccuracyKind.SPARSE))


def _as_array(func: str, name: str, x: object) -> np.ndarray:
    if x is None:
        fail(func, f"argument `{name}` is missing", "an array-like of numbers", name, x,
             error=TypeError)
    check_not_masked(func, name, x)
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise ValueError(f"{func}(): argument `{name}` is not a rectangular array of "
                         f"numbers ({exc}).") from None


class TrainingChecks(SequentialAttributes):
    """compile's rules and fit's target and weight checks."""

    @property
    def _metric_names(self) -> list[str]:
        """The metrics' log keys: a weighted metric whose name an earlier metric has
        is ``weighted_<name>`` (Keras)."""
        names: list[str] = []
        for m, weighted in zip(self._metric_objs, self._metric_weighted):
            names.append(f"weighted_{m.name}" if weighted and m.name in names else m.name)
        return names

    def _compile_settings(self, func: str, loss_id: int, metrics: Sequence[str | M.Metric],
                          last: Dense, from_logits: bool = False, act: int | None = None,
                          weighted: Sequence[bool] | None = None
                          ) -> tuple[int, bool, list[M.Metric]]:
        """(accuracy kind, want mae/mse, metric objects) for `last` as output layer with
        activation `act` (default: its effective one); raises or warns for the loss
        pairing.  Changes nothing."""
        acc_kind, want_err = ACC_NONE, False
        objs: list[M.Metric] = []
        flags = list(weighted) if weighted is not None else [False] * len(metrics)
        for m, is_weighted in zip(metrics, flags):
            metric = M.get(m, func)
            key, family = metric.key, metric.family
            if family == "acc":
                kind = {"binary_accuracy": ACC_BINARY, "categorical_accuracy": ACC_CATEGORICAL,
                        "sparse_categorical_accuracy": ACC_SPARSE}.get(key)
                if kind is None:
                    kind = {L.BCE: ACC_BINARY, L.CCE: ACC_CATEGORICAL,
                            L.SPARSE_CCE: ACC_SPARSE}.get(
                        loss_id, ACC_BINARY if last.units == 1 else ACC_CATEGORICAL)
                if acc_kind not in (ACC_NONE, kind):
                    raise ValueError(f"{func}(): only one kind of accuracy can be tracked "
                                     f"at a time. Received: metrics={metrics!r}")
                if (kind == ACC_SPARSE) != (loss_id == L.SPARSE_CCE):
                    raise ValueError(
                        f"{func}(): metric {metric.name!r} does not fit loss "
                        f"{L.NAMES[loss_id]!r}: sparse_categorical_accuracy needs integer "
                        "labels (sparse_categorical_crossentropy), other accuracies need "
                        "targets shaped like the output.")
                acc_kind = kind
            elif family == "epoch":
                if key in ("r2_score", "binary_accuracy", "binary_crossentropy",
                           "categorical_crossentropy") and loss_id == L.SPARSE_CCE:
                    raise ValueError(f"{func}(): {key} needs targets shaped like the "
                                     "output, not integer labels.")
                if key == "sparse_categorical_crossentropy" and loss_id != L.SPARSE_CCE:
                    raise ValueError(f"{func}(): {key} needs integer labels (the "
                                     "sparse_categorical_crossentropy loss); with targets "
                                     "shaped like the output use categorical_crossentropy.")
                class_id = metric.params.get("class_id")
                if class_id is not None and class_id >= last.units:
                    raise ValueError(f"{func}(): {metric!r}: class_id must be below the "
                                     f"number of outputs, {last.units}.")
            else:
                if loss_id == L.SPARSE_CCE:
                    raise ValueError(f"{func}(): metric {metric.name!r} needs targets shaped "
                                     "like the output; sparse_categorical_crossentropy takes "
                                     "integer labels.")
                want_err = True
            if metric.name in [o.name for o, w in zip(objs, flags) if w == is_weighted]:
                raise ValueError(f"{func}(): metric {metric.name!r} is listed twice (give "
                                 "a metric object another name=).")
            if metric.name == "loss":
                raise ValueError(f"{func}(): a metric cannot be named 'loss' (the loss's "
                                 "own key in the logs).")
            objs.append(metric)
        self._check_pair(last, loss_id, func, from_logits, act)
        return acc_kind, want_err, objs

    @staticmethod
    def _check_pair(last: Dense, loss_id: int, func: str = "compile",
                    from_logits: bool = False, act: int | None = None) -> None:
        act = last._act if act is None else act
        if from_logits:
            if act != A.LINEAR:
                raise ValueError(
                    f"{func}(): the loss has from_logits=True, so the last layer must output "
                    f"logits (activation=None or 'linear'); layer {last.name!r} applies "
                    f"{A.NAMES[act]!r}, which would be applied twice. Use from_logits=False "
                    "with that activation, or remove it.")
            act = L.LOGIT_ACTIVATION[loss_id]  # the loss applies it
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
    def _inputs(self, func: str, x: ArrayLike | None, name: str = "x",
                allow_empty: bool = False, shape: tuple[int, ...] | None = None
                ) -> np.ndarray | CSRRows:
        """`x` as the C loops read it: (n, n_features), C order, the model's dtype.
        Samples of a multi-dimensional input shape (28, 28) are checked against the
        whole shape, then flattened (no copy for a C-ordered array).  A scipy.sparse
        CSR/CSC `x` becomes checked CSR rows (fastnn/_sparse.py), never densified."""
        shape = self._in_shape() if shape is None else shape
        if is_sparse(x):
            if shape is not None and len(shape) != 1:
                raise ValueError(f"{func}(): a sparse {name} holds flat feature rows, but the "
                                 f"model takes samples of shape {shape}.")
            self._check_sparse_first(func, name)
            return as_sparse_rows(func, name, x, self.dtype, allow_empty=allow_empty,
                                  n_features=None if shape is None else shape[0])
        if shape == (1,) and getattr(x, "ndim", None) == 1:
            # one feature: a 1-D array is one value per sample, as Keras 3 takes it
            # (the TensorFlow regression tutorial's model.predict(horsepower[:10]))
            x = np.asarray(x).reshape(-1, 1)
        if shape is None or len(shape) == 1:
            return as_float_array(func, name, x, self.dtype, allow_empty=allow_empty,
                                  n_features=None if shape is None else shape[0])
        arr = _as_array(func, name, x)
        if arr.shape[1:] != shape or arr.ndim < 2:
            raise ValueError(
                f"{func}(): {name} has shape {arr.shape}, but the model takes samples of "
                f"shape {shape}; expected {name} of shape (n_samples, "
                f"{', '.join(map(str, shape))}).")
        return as_float_array(func, name, arr.reshape(len(arr), -1), self.dtype,
                              allow_empty=allow_empty, n_features=math.prod(shape))

    def _check_sparse_first(self, func: str, name: str) -> None:
        """fastnn reads a sparse input's rows in place in the first Dense layer's
        product (csrc/fnn_net_sparse.h): refuse a model whose input goes through
        anything else first (Dropout or a noise layer, a normalization)."""
        for layer in self._layers:
            if isinstance(layer, Dense):
                return
            if layer._noise is not None or layer._is_stage:
                raise ValueError(
                    f"{func}(): a sparse {name} must go straight into the first Dense layer "
                    f"(fastnn reads its rows in place there), but the model has "
                    f"{type(layer).__name__} {layer.name!r} before it. Supported: "
                    "Dropout, noise and normalization layers after the first Dense layer; "
                    f"or pass {name}.toarray().")

    def _data_shape(self, func: str, x: ArrayLike | None) -> tuple[int, ...] | None:
        """For a model without an input shape: the sample shape of `x` when it has more
        than 2 dimensions (checked against the layers), else None (flat features)."""
        if is_sparse(x):
            return None
        arr = _as_array(func, "x", x)
        if arr.ndim <= 2:
            return None
        shape = tuple(int(d) for d in arr.shape[1:])
        if 0 in shape:
            fail(func, "argument `x` has empty samples", "at least 1 value per sample",
                 "x.shape", arr.shape)
        trace(self._layers, shape)  # e.g. Dense on (28, 28): "put Flatten() before it"
        return shape

    def _targets(self, func: str, y: ArrayLike | None, n: int, name: str = "y",
                 xname: str = "x") -> np.ndarray:
        """Targets as the C loops want them: (n, n_out), or (n, 1) labels."""
        k = self._dense[-1].units
        loss = self._loss_id
        if y is None:
            fail(func, f"argument `{name}` is missing", "targets for every sample", name, y,
                 error=TypeError)
        check_not_masked(func, name, y)
        if isinstance(y, (list, tuple, dict)) and len(y) != n and len(y) > 0 and all(
                isinstance(v, np.ndarray) and v.ndim >= 1 for v in
                (y.values() if isinstance(y, dict) else y)):
            raise ValueError(f"{func}(): {name} is a {type(y).__name__} of {len(y)} arrays, "
                             "one per output of a multi-output Keras model; fastnn models "
                             f"have one output. Pass one array of targets ({n} rows), or "
                             "train one model per output.")
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            if arr.dtype.kind in "USO" and arr.size:
                raise TypeError(f"{func}(): argument `{name}` holds {arr.dtype} values such as "
                                f"{str(arr.flat[0])!r}; a network is trained on numbers. "
                                f"{_encode_hint(arr, k, name)} Received: "
                                f"{name}.dtype={str(arr.dtype)!r}")
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
        one_d = arr.ndim == 1 and k == 1  # checked as given, so errors show y's own indices
        if not one_d and (arr.ndim != 2 or arr.shape[1] != k):
            hint = ""
            if arr.ndim == 1 and loss == L.CCE:
                hint = (" These look like integer labels: use "
                        "loss='sparse_categorical_crossentropy' or one-hot encode them.")
            raise ValueError(f"{func}(): {name} has shape {arr.shape}, but the model outputs "
                             f"(None, {k}); expected {name} of shape ({n}, {k}).{hint}")
        Y = as_float_array(func, name, arr, self.dtype, ndim=None if one_d else 2,
                           allow_empty=True)
        if loss in (L.BCE, L.CCE) and ((Y < 0).any() or (Y > 1).any()):
            bad = np.argwhere((Y < 0) | (Y > 1))[:5]
            where = [int(b[0]) if one_d else tuple(map(int, b)) for b in bad]
            hint = (" For class labels other than 0/1 use a softmax output with "
                    "loss='sparse_categorical_crossentropy'." if loss == L.BCE else "")
            raise ValueError(f"{func}(): {L.NAMES[loss]} targets must lie in [0, 1]. "
                             f"Received: {name} at {where} = "
                             f"{[float(Y[tuple(b)]) for b in bad]}.{hint}")
        if one_d:
            Y = Y.reshape(-1, 1)
        if loss in L.HINGE_LOSSES and ((Y == 0) | (Y == 1)).all():
            Y = 2 * Y - 1  # 0/1 labels to the ±1 the hinge wants (Keras does the same)
        return Y

    def _weights(self, func: str, sample_weight: ArrayLike | None,
                 class_weight: dict[int, float] | None, Y: np.ndarray,
                 n: int) -> np.ndarray | None:
        """Per-sample weights (sample_weight × class_weight[class]), or None."""
        if sample_weight is None and class_weight is None:
            return None
        W = np.ones(n)
        if sample_weight is not None:
            sw = as_float_array(func, "sample_weight", sample_weight, np.dtype(np.float64),
                                ndim=None, allow_empty=True)
            if sw.ndim == 2 and sw.shape[1] == 1:
                sw = sw[:, 0]
            if sw.shape != (n,) or (sw < 0).any():
                raise ValueError(f"{func}(): sample_weight must hold one value >= 0 per sample "
                                 f"({n}). Received: shape {sw.shape}, min "
                                 f"{sw.min() if sw.size else None}.")
            W *= sw
        if class_weight is not None:
            if not isinstance(class_weight, dict) or not all(
                    isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                    for k in class_weight):
                fail(func, "invalid class_weight", "a dict {class index: weight}",
                     "class_weight", class_weight, error=TypeError)
            k = Y.shape[1]
            if self._loss_id == L.SPARSE_CCE:
                classes = Y[:, 0].astype(np.int64)
            elif k > 1:
                classes = Y.argmax(axis=1)
            else:
                classes = (Y[:, 0] > (0 if self._loss_id in L.HINGE_LOSSES else 0.5)).astype(
                    np.int64)
            missing = sorted(set(np.unique(classes).tolist()) - set(map(int, class_weight)))
            if missing:
                raise ValueError(f"{func}(): class_weight has no weight for classes {missing}. "
                                 f"Received: class_weight={class_weight!r}")
            table = np.zeros(int(max(classes.max(initial=0), max(class_weight))) + 1)
            for c, w in class_weight.items():
                table[c] = check_float(func, f"class_weight[{c}]", w, low=0.0)
            W *= table[classes]
        return W


def _encode_hint(y: np.ndarray, k: int, name: str) -> str:
    """How to turn text labels into the numbers a `k`-unit output trains on."""
    try:
        classes = np.unique(y.astype(str))
    except (TypeError, ValueError):  # pragma: no cover - objects without a str order
        return "Encode the labels as numbers first."
    shown = ", ".join(repr(str(c)) for c in classes[:4]) + (", ..." if len(classes) > 4 else "")
    if k == 1 and len(classes) == 2:
        return (f"Encode the two classes ({shown}) as 0 and 1 for the sigmoid output, e.g. "
                f"{name} = ({name} == {str(classes[1])!r}).astype(int).")
    return (f"Encode the {len(classes)} classes ({shown}) as integers 0..{len(classes) - 1}, "
            f"e.g. classes, {name} = np.unique({name}, return_inverse=True), with a softmax "
            "output and loss='sparse_categorical_crossentropy'.")
