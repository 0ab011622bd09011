"""Losses: names, ids shared with the C kernels, and which last layer suits each.

Per-sample losses ℓ (k outputs); the reported loss is the mean over samples:

* ``mse`` — ℓ = (1/k) Σ_j (a_j − y_j)²
* ``binary_crossentropy`` — ℓ = −(1/k) Σ_j y_j log a_j + (1 − y_j) log(1 − a_j)
* ``categorical_crossentropy`` — ℓ = −Σ_j y_j log a_j   (y one-hot or a distribution)
* ``sparse_categorical_crossentropy`` — ℓ = −log a_c   (y an integer label c)
* ``mae`` — ℓ = (1/k) Σ_j |a_j − y_j|
* ``huber`` — ℓ = (1/k) Σ_j h(a_j − y_j), h(e) = ½e² for |e| ≤ 1, |e| − ½ beyond (δ = 1)
* ``log_cosh`` — ℓ = (1/k) Σ_j log cosh(a_j − y_j)
* ``poisson`` — ℓ = (1/k) Σ_j a_j − y_j log(a_j + 1e-7)   (a softplus or exp output)
* ``kl_divergence`` — ℓ = Σ_j y_j log(y_j / a_j), both clipped to [1e-7, 1]
* ``hinge`` — ℓ = (1/k) Σ_j max(1 − y_j a_j, 0); ``squared_hinge`` its square.  Targets
  are ±1; 0/1 targets are converted to −1/1 first, as Keras does.

These are Keras's formulas, names and aliases (``mean_absolute_error``,
``logcosh``, ``kld``, ``kullback_leibler_divergence``).

With a sigmoid output, binary cross-entropy is computed from the logits z
(exact, no clipping) and its gradient is the fused δ = a − y; the same holds for
softmax with (sparse) categorical cross-entropy.  Other pairs clip a to
[1e-7, 1 − 1e-7] (Keras's epsilon) and backpropagate through f'.

Which last layer goes with which loss (the guide's table, README.md §11):

===================================  ===================  ==============================
problem                              last activation      loss
===================================  ===================  ==============================
binary classification                sigmoid              binary_crossentropy
multiclass, single label             softmax              categorical_crossentropy
multiclass, multilabel               sigmoid              binary_crossentropy
regression, any values               linear (None)        mse
regression, values in [0, 1]         sigmoid              mse or binary_crossentropy
===================================  ===================  ==============================
"""
from __future__ import annotations

from typing import Any

from . import activations as A
from ._kernels._core import LossId as _Id
from ._registry import resolve
from ._validation import check_bool

# the ids of csrc/fnn_common.h FNN_LOSS_*, as plain ints (read from the C, never written here)
(MSE, BCE, CCE, SPARSE_CCE, MAE, HUBER, LOG_COSH, POISSON, KLD, HINGE,
 SQUARED_HINGE) = (int(i) for i in (
    _Id.MSE, _Id.BCE, _Id.CCE, _Id.SPARSE_CCE, _Id.MAE, _Id.HUBER, _Id.LOG_COSH,
    _Id.POISSON, _Id.KLD, _Id.HINGE, _Id.SQUARED_HINGE))

ALL_OBJECTS_DICT = {
    "mse": MSE,
    "mean_squared_error": MSE,
    "binary_crossentropy": BCE,
    "categorical_crossentropy": CCE,
    "sparse_categorical_crossentropy": SPARSE_CCE,
    "mae": MAE,
    "mean_absolute_error": MAE,
    "huber": HUBER,
    "log_cosh": LOG_COSH,
    "logcosh": LOG_COSH,
    "poisson": POISSON,
    "kl_divergence": KLD,
    "kld": KLD,
    "kullback_leibler_divergence": KLD,
    "hinge": HINGE,
    "squared_hinge": SQUARED_HINGE,
}
NAMES = {MSE: "mse", BCE: "binary_crossentropy", CCE: "categorical_crossentropy",
         SPARSE_CCE: "sparse_categorical_crossentropy", MAE: "mae", HUBER: "huber",
         LOG_COSH: "log_cosh", POISSON: "poisson", KLD: "kl_divergence", HINGE: "hinge",
         SQUARED_HINGE: "squared_hinge"}
HINGE_LOSSES = {HINGE, SQUARED_HINGE}

# (last activation, loss) pairs that the table above recommends.
STANDARD_PAIRS = {
    (A.SIGMOID, BCE), (A.SOFTMAX, CCE), (A.SOFTMAX, SPARSE_CCE),
    (A.LINEAR, MSE), (A.SIGMOID, MSE), (A.TANH, MSE), (A.RELU, MSE), (A.RELU_KERAS, MSE),
    *((act, loss) for act in (A.LINEAR, A.SIGMOID, A.TANH, A.RELU, A.RELU_KERAS)
      for loss in (MAE, HUBER, LOG_COSH)),
    (A.SOFTPLUS, POISSON), (A.RELU, POISSON), (A.RELU_KERAS, POISSON), (A.SOFTMAX, KLD),
    (A.TANH, HINGE), (A.LINEAR, HINGE), (A.TANH, SQUARED_HINGE), (A.LINEAR, SQUARED_HINGE),
}
FUSED_PAIRS = {(A.SIGMOID, BCE), (A.SOFTMAX, CCE), (A.SOFTMAX, SPARSE_CCE)}


# the activation a from_logits=True loss applies to the (linear) last layer's output
LOGIT_ACTIVATION = {BCE: A.SIGMOID, CCE: A.SOFTMAX, SPARSE_CCE: A.SOFTMAX}


class Loss:
    """Keras's loss objects, for code that writes ``loss=BinaryCrossentropy()``: each
    names one of the losses above.

    The three cross-entropies take ``from_logits=True``, for a last layer without
    activation: training then applies the sigmoid (binary) or softmax (categorical)
    inside the loss, in C, fused and computed from the logits exactly as for a
    sigmoid/softmax layer; ``predict`` returns the logits, and metrics (accuracy,
    precision, AUC, ...) are computed on the probabilities.  (Keras's own
    ``"accuracy"`` would threshold the logits at 0.5; fastnn thresholds the
    probability, which is what the metric means.)"""

    _name = ""

    def __init__(self, from_logits: bool = False, **kwargs: Any) -> None:
        name = type(self).__name__
        self.from_logits = check_bool(name, "from_logits", from_logits)
        if self.from_logits and ALL_OBJECTS_DICT[self._name] not in LOGIT_ACTIVATION:
            raise ValueError(f"{name}(): from_logits applies to the cross-entropies only. "
                             "Received: from_logits=True")
        for key, value in kwargs.items():
            if key == "delta" and value == 1.0 or key in ("name", "reduction") and \
                    value in (None, "sum_over_batch_size", self._name):
                continue
            raise ValueError(f"{name}(): fastnn supports only Keras's defaults here. "
                             f"Received: {key}={value!r}")

    def get_config(self) -> dict[str, Any]:
        """The loss's name (and ``from_logits`` when set), as a model file stores it."""
        config: dict[str, Any] = {"name": self._name}
        if self.from_logits:
            config["from_logits"] = True
        return config


def _loss_class(cls_name: str, loss_name: str) -> type[Loss]:
    return type(cls_name, (Loss,), {"_name": loss_name, "__doc__": f"The ``{loss_name}`` loss."})


MeanSquaredError = _loss_class("MeanSquaredError", "mse")
BinaryCrossentropy = _loss_class("BinaryCrossentropy", "binary_crossentropy")
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", "categorical_crossentropy")
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy",
                                            "sparse_categorical_crossentropy")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", "mae")
Huber = _loss_class("Huber", "huber")
LogCosh = _loss_class("LogCosh", "log_cosh")
Poisson = _loss_class("Poisson", "poisson")
KLDivergence = _loss_class("KLDivergence", "kl_divergence")
Hinge = _loss_class("Hinge", "hinge")
SquaredHinge = _loss_class("SquaredHinge", "squared_hinge")


def make(name: str, from_logits: bool = False) -> str | Loss:
    """The loss `name` as compile takes it: the name, or its loss object with
    ``from_logits=True``."""
    if not from_logits:
        return name
    cls = {BCE: BinaryCrossentropy, CCE: CategoricalCrossentropy,
           SPARSE_CCE: SparseCategoricalCrossentropy}.get(get(name))
    if cls is None:
        raise ValueError(f"from_logits applies to the cross-entropies only, not {name!r}.")
    return cls(from_logits=True)


_CLASSES = (MeanSquaredError, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, MeanAbsoluteError, Huber, LogCosh, Poisson,
            KLDivergence, Hinge, SquaredHinge)


def get(identifier: str | Loss, *, caller: str | None = None,
        argument: str = "identifier") -> int:
    """Loss id for a name or a loss object (``BinaryCrossentropy()``); an unknown
    name's error names `caller` and its `argument` (``compile()``, ``loss``).  A custom
    loss (a Loss subclass, a Python function) is refused: the loss runs in C."""
    if type(identifier) in _CLASSES:
        return ALL_OBJECTS_DICT[identifier._name]  # type: ignore[union-attr]
    if isinstance(identifier, Loss) or (callable(identifier) and not isinstance(identifier,
                                                                               type)):
        kind = (f"{type(identifier).__name__} is a custom Loss class"
                if isinstance(identifier, Loss) else
                f"{getattr(identifier, '__name__', type(identifier).__name__)} is a Python "
                "function")
        raise TypeError(
            f"{caller or 'losses.get'}(): {kind}; fastnn computes the loss and its gradient "
            f"in C and cannot call Python code per batch. Supported losses: "
            f"{sorted(NAMES.values())}, as names or as fastnn.losses objects (e.g. "
            f"BinaryCrossentropy(from_logits=True)). Received: {argument}={identifier!r}")
    return resolve("losses", identifier, ALL_OBJECTS_DICT, caller=caller, argument=argument)


def suggestion(loss: int) -> str:
    """Which last activation the loss `loss` expects, for the pairing warning."""
    return {
        BCE: "binary_crossentropy expects a sigmoid output (binary or multilabel)",
        CCE: "categorical_crossentropy expects a softmax output",
        SPARSE_CCE: "sparse_categorical_crossentropy expects a softmax output",
        MSE: "mse expects a linear output (any values) or sigmoid (values in [0, 1])",
        MAE: "mae expects a linear output (or sigmoid/tanh/relu for bounded targets)",
        HUBER: "huber expects a linear output (or sigmoid/tanh/relu for bounded targets)",
        LOG_COSH: "log_cosh expects a linear output (or sigmoid/tanh/relu for bounded "
                  "targets)",
        POISSON: "poisson expects a positive output (softplus or relu) for counts",
        KLD: "kl_divergence expects a softmax output (a distribution)",
        HINGE: "hinge expects a linear or tanh output and ±1 (or 0/1) targets",
        SQUARED_HINGE: "squared_hinge expects a linear or tanh output and ±1 (or 0/1) "
                       "targets",
    }[loss]
