"""Metrics computed exactly from a whole epoch's predictions: ``precision``,
``recall``, ``auc``, ``top_k_categorical_accuracy`` (k = 5) and ``r2_score``
(Keras's names).  ``accuracy``, ``mae``, ``mse`` and ``rmse`` are accumulated per
batch in C instead.

They need every prediction at once (a ranking for the AUC, totals for the
ratios), so ``fit`` computes them at the end of each epoch from one forward pass
over the training data with the epoch's final weights (``evaluate`` and the
validation data use their own forward pass): a training ``precision`` is that of
the model after the epoch, not Keras's running value during it.  With sample
weights every count is weighted.

* precision = TP / (TP + FP), recall = TP / (TP + FN): every output unit is a
  binary decision (prediction > 0.5, target > 0.5 — or > 0 for ±1 hinge targets;
  integer labels are one-hot encoded first), counted together (micro average).
* auc: by default the exact area under the ROC curve of all (target, prediction)
  pairs — Keras approximates it with 200 thresholds; this is the exact value its
  approximation converges to (ties count one half).  ``AUC(curve="PR")``, a
  ``summation_method`` of ``"minoring"``/``"majoring"`` or explicit ``thresholds``
  give Keras's own thresholded value instead: confusion counts at the thresholds
  −ε, 1/(N−1), ..., (N−2)/(N−1), 1+ε (N = num_thresholds, ε = 1e-7; or −ε, the
  given thresholds, 1+ε), compared in float32 as Keras does; the PR curve
  interpolated as Keras (Davis & Goadrich 2006: precision interpolated linearly in
  the number of true positives between thresholds), the others by trapezoids,
  minimum or maximum heights.  ``from_logits=True`` changes nothing: fastnn
  computes metrics on the probabilities the loss sees.
* top_k_categorical_accuracy: the true class is among the 5 highest outputs.
* r2_score: 1 − Σ w (y − ŷ)² / Σ w (y − ȳ)² per output, averaged over outputs.
* true_positives, false_positives, true_negatives, false_negatives: the (weighted)
  counts of the decisions above, over every output (Keras's ``TruePositives``...).
* binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy:
  the loss formulas of fastnn.losses as metrics, weighted means over samples,
  probabilities clipped to [1e-7, 1 − 1e-7] (Keras's loss-named metrics).

Keras's metric objects are accepted too, with their arguments:
``BinaryAccuracy(threshold=0.7)``, ``Precision(thresholds=0.3, class_id=2)``,
``Recall``, ``AUC(multi_label=True)``, ``TopKCategoricalAccuracy(k=3)``,
``SparseTopKCategoricalAccuracy``, ``R2Score(num_regressors=p)``, the accuracies and
error metrics, each with ``name=`` for the key in the logs.  A threshold other than
0.5 moves a binary accuracy to the per-epoch family above.  An argument whose
behaviour fastnn does not have (``Precision(top_k=...)``, ``AUC(label_weights=...)``)
raises ``ValueError`` saying so; ``num_thresholds`` matters only to the thresholded
AUCs (the default ROC AUC is exact).

(About 450 lines: one small class per Keras metric object, beside the formulas of
:func:`compute` they select; splitting them apart would split each metric.)
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._auc import exact_auc, is_exact, keras_auc
from ._registry import FromConfig, from_config_dict
from ._validation import check_bool, check_float, check_int, fail

EPOCH_METRICS = ("precision", "recall", "auc", "top_k_categorical_accuracy",
                 "sparse_top_k_categorical_accuracy", "r2_score", "true_positives",
                 "false_positives", "true_negatives", "false_negatives",
                 "binary_crossentropy", "categorical_crossentropy",
                 "sparse_categorical_crossentropy")
CLIP = 1e-7  # Keras's epsilon: cross-entropy metrics clip probabilities to [ε, 1 − ε]


def _dense(T: np.ndarray, k: int, sparse: bool) -> np.ndarray:
    if sparse:
        return np.eye(k)[T[:, 0].astype(np.int64)]
    return T


def _truth(T: np.ndarray, hinge: bool) -> np.ndarray:
    return T > (0 if hinge else 0.5)


def compute(name: str, P: ArrayLike, T: ArrayLike, sparse: bool, hinge: bool,
            w: ArrayLike | None = None, params: dict[str, Any] | None = None) -> float:
    """The metric `name` for predictions P (n, k), targets T, weights w (n,), with
    the arguments of its metric object in `params`."""
    p = params or {}
    P = np.asarray(P, np.float64)
    n, k = P.shape
    T = _dense(np.asarray(T, np.float64), k, sparse)
    w = np.ones(n) if w is None else np.asarray(w, np.float64)
    if p.get("class_id") is not None:
        P, T, k = P[:, [p["class_id"]]], T[:, [p["class_id"]]], 1
    if name in ("precision", "recall"):
        pred, true = P > p.get("thresholds", 0.5), _truth(T, hinge)
        W = np.broadcast_to(w[:, None], P.shape)
        tp = W[pred & true].sum()
        other = W[pred & ~true].sum() if name == "precision" else W[~pred & true].sum()
        return float(tp / (tp + other)) if tp + other > 0 else 0.0
    if name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
        pred, true = P > p.get("thresholds", 0.5), _truth(T, hinge)
        cell = {"true_positives": pred & true, "false_positives": pred & ~true,
                "true_negatives": ~pred & ~true, "false_negatives": ~pred & true}[name]
        return float(np.broadcast_to(w[:, None], P.shape)[cell].sum())
    if name in ("binary_crossentropy", "categorical_crossentropy",
                "sparse_categorical_crossentropy"):
        Pc = np.clip(P, CLIP, 1 - CLIP)
        if name == "binary_crossentropy":
            per = -(T * np.log(Pc) + (1 - T) * np.log(1 - Pc)).mean(axis=1)
        else:
            per = -(T * np.log(Pc)).sum(axis=1)
        return float(np.sum(w * per) / max(w.sum(), 1e-300))
    if name == "binary_accuracy":  # a threshold other than 0.5 (0.5 runs in C)
        hits = (P > p["threshold"]) == _truth(T, hinge)
        return float(np.sum(w * hits.mean(axis=1)) / max(w.sum(), 1e-300))
    if name == "auc":
        true = _truth(T, hinge)
        area = exact_auc if is_exact(p) else (
            lambda t, s, ww: keras_auc(t, s, ww, p))
        if p.get("multi_label"):
            return float(np.mean([area(true[:, j], P[:, j], w) for j in range(k)]))
        return area(true.ravel(), P.ravel(), np.repeat(w, k))
    if name in ("top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        labels = T.argmax(axis=1)
        top = np.argsort(-P, axis=1, kind="stable")[:, :p.get("k", 5)]
        return float(np.sum(w * (top == labels[:, None]).any(axis=1)) / max(w.sum(), 1e-300))
    if name == "r2_score":
        mean = (w[:, None] * T).sum(axis=0) / w.sum()
        res = (w[:, None] * (T - P) ** 2).sum(axis=0)
        tot = (w[:, None] * (T - mean) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_output = np.where(tot > 0, 1 - res / tot, np.where(res > 0, 0.0, 1.0))
        r2 = float(per_output.mean())
        regressors = p.get("num_regressors", 0)
        if regressors:  # adjusted R², Keras's rule: 1 − (1 − R²)(n − 1)/(n − p − 1)
            if n - regressors - 1 <= 0:
                return float("nan")
            r2 = 1 - (1 - r2) * (n - 1) / (n - regressors - 1)
        return r2
    raise ValueError(f"unknown epoch metric {name!r}")


# ---------------------------------------------------------------- metric objects
class Metric(FromConfig):
    """Keras's metric objects for ``compile(metrics=[...])``.  Each names one of
    fastnn's metrics (``key``) with its arguments; ``name`` is the key in the logs.
    fastnn computes the values itself (in C, or per epoch as above), so the object
    holds settings only: ``update_state``/``result`` are not provided."""

    key = ""
    _defaults: dict[str, Any] = {}

    def __init__(self, name: str | None = None, dtype: None = None, **kwargs: Any) -> None:
        cls = type(self).__name__
        if type(self) not in _CLASSES:  # a subclass: its update_state would never run
            _refuse_custom(cls, type(self))
        if dtype is not None:
            fail(cls, "fastnn computes metrics in float64 from the model's outputs",
                 "dtype=None", "dtype", dtype)
        unknown = set(kwargs) - set(self._defaults)
        if unknown:
            raise TypeError(f"{cls}(): unexpected keyword argument(s) {sorted(unknown)}; "
                            f"accepted: name, dtype, {', '.join(self._defaults) or '(none)'}")
        self.params = {**self._defaults, **kwargs}
        self._check()
        self.name = self.key if name is None else name
        if not isinstance(self.name, str) or not self.name:
            fail(cls, "invalid name", "a non-empty string", "name", name, error=TypeError)
        self._from_string = False

    def _check(self) -> None:
        """Validate self.params (subclasses)."""

    def _set(self, key: str, value: Any) -> None:
        self.params[key] = value

    @property
    def family(self) -> str:
        """Where the value is computed: "acc"/"err"/"rmse" in C, "epoch" per epoch."""
        return _FAMILY[self.key]

    def get_config(self) -> dict[str, Any]:
        """The metric's name and arguments, as a model file stores them."""
        return {"name": self.name, **self.params}



def _threshold(cls: str, name: str, value: object, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        fail(cls, "one threshold only: fastnn reports one value per metric (give one "
             "metric object per threshold, each with its own name)", "a number in [0, 1]",
             name, value)
    return check_float(cls, name, value, low=0.0, high=1.0)


class Accuracy(Metric):
    """``accuracy``: binary or categorical by the loss and output, as the string."""
    key = "accuracy"


class BinaryAccuracy(Metric):
    """Share of outputs on the right side of `threshold` (targets above 0.5 are 1)."""
    key = "binary_accuracy"
    _defaults = {"threshold": 0.5}

    def _check(self) -> None:
        self._set("threshold", _threshold(type(self).__name__, "threshold",
                                          self.params["threshold"]))

    @property
    def family(self) -> str:
        return "acc" if self.params["threshold"] == 0.5 else "epoch"


class CategoricalAccuracy(Metric):
    """argmax of the output equals argmax of the one-hot target."""
    key = "categorical_accuracy"


class SparseCategoricalAccuracy(Metric):
    """argmax of the output equals the integer label."""
    key = "sparse_categorical_accuracy"


class _TopK(Metric):
    _defaults = {"k": 5}

    def _check(self) -> None:
        self._set("k", check_int(type(self).__name__, "k", self.params["k"], low=1))


class TopKCategoricalAccuracy(_TopK):
    """The true class is among the `k` highest outputs."""
    key = "top_k_categorical_accuracy"


class SparseTopKCategoricalAccuracy(_TopK):
    """The integer label is among the `k` highest outputs."""
    key = "sparse_top_k_categorical_accuracy"


class _PrecisionRecall(Metric):
    _defaults = {"thresholds": None, "top_k": None, "class_id": None}

    def _check(self) -> None:
        cls = type(self).__name__
        if self.params["top_k"] is not None:
            fail(cls, "top_k is not supported: fastnn counts an output as positive when "
                 "it exceeds the threshold", "top_k=None", "top_k", self.params["top_k"])
        t = _threshold(cls, "thresholds", self.params["thresholds"], allow_none=True)
        self._set("thresholds", 0.5 if t is None else t)
        if self.params["class_id"] is not None:
            self._set("class_id", check_int(cls, "class_id", self.params["class_id"], low=0))


class Precision(_PrecisionRecall):
    """TP / (TP + FP) over every output (or output `class_id`)."""
    key = "precision"


class Recall(_PrecisionRecall):
    """TP / (TP + FN) over every output (or output `class_id`)."""
    key = "recall"


class AUC(Metric):
    """Area under the ROC curve (exact) or, as Keras computes it, the PR curve
    (``curve="PR"``), other summation methods or given thresholds (see above);
    ``multi_label=True`` averages the per-output areas."""
    key = "auc"
    _defaults = {"num_thresholds": 200, "curve": "ROC", "summation_method": "interpolation",
                 "thresholds": None, "multi_label": False, "num_labels": None,
                 "label_weights": None, "from_logits": False}

    def _check(self) -> None:
        cls, p = type(self).__name__, self.params
        check_int(cls, "num_thresholds", p["num_thresholds"], low=2)
        if not isinstance(p["curve"], str) or p["curve"].upper() not in ("ROC", "PR"):
            fail(cls, "invalid curve", "'ROC' or 'PR'", "curve", p["curve"])
        self._set("curve", p["curve"].upper())
        if p["summation_method"] not in ("interpolation", "minoring", "majoring"):
            fail(cls, "invalid summation_method", "'interpolation', 'minoring' or "
                 "'majoring'", "summation_method", p["summation_method"])
        if p["thresholds"] is not None:
            given = p["thresholds"]
            values = [given] if isinstance(given, (int, float)) else given
            if not isinstance(values, (list, tuple)) or not values:
                fail(cls, "invalid thresholds", "a float or a list of floats in [0, 1]",
                     "thresholds", given, error=TypeError)
            self._set("thresholds", [check_float(cls, f"thresholds[{i}]", t, low=0.0,
                                                 high=1.0) for i, t in enumerate(values)])
        if p["label_weights"] is not None:
            fail(cls, "label_weights is not supported (multi_label averages the labels "
                 "equally)", "label_weights=None", "label_weights", p["label_weights"])
        if p["num_labels"] is not None:
            check_int(cls, "num_labels", p["num_labels"], low=1)
        self._set("multi_label", check_bool(cls, "multi_label", p["multi_label"]))
        # a monotonic map (sigmoid) of the scores leaves the ROC AUC unchanged
        self._set("from_logits", check_bool(cls, "from_logits", p["from_logits"]))


class _Confusion(Metric):
    _defaults = {"thresholds": None}

    def _check(self) -> None:
        t = _threshold(type(self).__name__, "thresholds", self.params["thresholds"],
                       allow_none=True)
        self._set("thresholds", 0.5 if t is None else t)


class TruePositives(_Confusion):
    """Count (weighted) of outputs above the threshold whose target is 1."""
    key = "true_positives"


class FalsePositives(_Confusion):
    """Count (weighted) of outputs above the threshold whose target is 0."""
    key = "false_positives"


class TrueNegatives(_Confusion):
    """Count (weighted) of outputs at or below the threshold whose target is 0."""
    key = "true_negatives"


class FalseNegatives(_Confusion):
    """Count (weighted) of outputs at or below the threshold whose target is 1."""
    key = "false_negatives"


class _CrossentropyMetric(Metric):
    _defaults = {"from_logits": False}

    def _check(self) -> None:
        cls = type(self).__name__
        if check_bool(cls, "from_logits", self.params["from_logits"]):
            fail(cls, "fastnn computes this metric from the probabilities the loss sees "
                 "(with a from_logits=True loss they are already the sigmoid/softmax of "
                 "the logits)", "from_logits=False", "from_logits", True)
        self._set("from_logits", False)


class BinaryCrossentropy(_CrossentropyMetric):
    """Mean binary cross-entropy of the outputs (probabilities clipped to [1e-7, 1−1e-7])."""
    key = "binary_crossentropy"


class CategoricalCrossentropy(_CrossentropyMetric):
    """Mean categorical cross-entropy against one-hot targets."""
    key = "categorical_crossentropy"


class SparseCategoricalCrossentropy(_CrossentropyMetric):
    """Mean categorical cross-entropy against integer labels."""
    key = "sparse_categorical_crossentropy"


class MeanAbsoluteError(Metric):
    """Mean |ŷ − y| (accumulated in C)."""
    key = "mean_absolute_error"


class MeanSquaredError(Metric):
    """Mean (ŷ − y)² (accumulated in C)."""
    key = "mean_squared_error"


class RootMeanSquaredError(Metric):
    """√ of the mean squared error (accumulated in C)."""
    key = "root_mean_squared_error"


class R2Score(Metric):
    """Coefficient of determination averaged over outputs; ``num_regressors`` gives
    the adjusted R²."""
    key = "r2_score"
    _defaults = {"class_aggregation": "uniform_average", "num_regressors": 0}

    def _check(self) -> None:
        cls = type(self).__name__
        if self.params["class_aggregation"] != "uniform_average":
            fail(cls, "fastnn averages R² uniformly over outputs",
                 "class_aggregation='uniform_average'", "class_aggregation",
                 self.params["class_aggregation"])
        self._set("num_regressors", check_int(cls, "num_regressors",
                                              self.params["num_regressors"], low=0))


# string name → (object class, its family); the string's own spelling is the log key
_BY_NAME = {
    "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "rmse": RootMeanSquaredError, "root_mean_squared_error": RootMeanSquaredError,
    "precision": Precision, "recall": Recall, "auc": AUC,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "r2_score": R2Score,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "true_positives": TruePositives, "false_positives": FalsePositives,
    "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
}
_FAMILY = {"accuracy": "acc", "binary_accuracy": "acc", "categorical_accuracy": "acc",
           "sparse_categorical_accuracy": "acc", "mean_absolute_error": "err",
           "mean_squared_error": "err", "root_mean_squared_error": "rmse",
           **{name: "epoch" for name in EPOCH_METRICS}}
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in set(_BY_NAME.values())}
_CLASSES = frozenset(_BY_NAME.values())


def get(identifier: str | Metric, func: str = "metrics.get") -> Metric:
    """A metric object for a name (``"precision"``) or a metric object (returned as
    is).  The name is kept as the key in the logs."""
    if type(identifier) in _CLASSES:
        return identifier  # type: ignore[return-value]
    if isinstance(identifier, Metric) or callable(identifier):
        _refuse_custom(func, identifier)
    if not isinstance(identifier, str):
        fail(func, "invalid metric", f"a name from {sorted(_BY_NAME)} or a "
             "fastnn.metrics.Metric object", "metric", identifier, error=TypeError)
    cls = _BY_NAME.get(identifier.lower())
    if cls is None:
        fail(func, f"unknown metric {identifier!r}", f"one of {sorted(_BY_NAME)}",
             "metric", identifier)
    metric = cls(name=identifier)
    metric._from_string = True
    return metric


def _refuse_custom(func: str, metric: object) -> None:
    kind = (f"{metric.__name__} is a custom Metric class" if isinstance(metric, type) else
            f"{type(metric).__name__} is a custom Metric class" if isinstance(metric, Metric)
            else
            f"{getattr(metric, '__name__', type(metric).__name__)} is a Python function")
    shown = "" if isinstance(metric, type) else f" Received: metric={metric!r}"
    raise TypeError(
        f"{func}(): {kind}; fastnn computes metrics itself (in C, or from the epoch's "
        "predictions) and cannot call Python code for them. Supported metrics: "
        f"{sorted(_BY_NAME)}, as names or as fastnn.metrics objects (e.g. "
        f"Precision(thresholds=0.3)).{shown}")


def serialize(metric: Metric) -> str | dict[str, Any]:
    """A metric as a model file stores it: its name, or its class and config."""
    if metric._from_string:
        return metric.name
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: str | Metric | dict[str, Any]) -> Metric:
    """The inverse of :func:`serialize`; names only through fastnn's tables."""
    if isinstance(config, dict):
        return from_config_dict("metrics", config, ALL_OBJECTS_DICT)
    return get(config)
