"""``FastNNClassifier`` and ``FastNNRegressor``: their targets, outputs and scores
(the training they share is in ``_base``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels

from ._base import StochasticOnly, Targets, FastNNBase
from ._params import ACTIVATIONS

if TYPE_CHECKING:
    from sklearn.utils import Tags
    from typing_extensions import Self


class FastNNClassifier(ClassifierMixin, FastNNBase):
    """Multi-layer perceptron classifier: ``MLPClassifier``'s parameters, defaults and
    loss scale (see ``help(fastnn.sklearn)``).  Binary (one sigmoid unit), multiclass
    (softmax) and multilabel (one sigmoid per label) targets; any label values.

    The loss is MLP's: the cross-entropy per sample (for multilabel, the binary
    cross-entropies summed over the labels), averaged over the batch with the sample
    weights, plus ``alpha/2·‖W‖²`` over the batch's weight sum."""

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
            ) -> Self:
        """Train on (X, y) (from scratch, or from the last weights with
        ``warm_start``); ``sample_weight``: one value >= 0 per sample.  Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @StochasticOnly
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> Self:
        """One iteration (epoch) over (X, y), keeping the weights and optimizer state;
        the first call needs ``classes`` (every label that will ever appear)."""
        if not hasattr(self, "classes_") and classes is None:
            raise ValueError("FastNNClassifier.partial_fit: classes must be passed on the "
                             "first call (every label that will ever appear).")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _targets(self, y: np.ndarray, first: bool, incremental: bool,
                 classes: ArrayLike | None, dtype: np.dtype) -> Targets:
        name = type(self).__name__
        check_classification_targets(y)
        multilabel = type_of_target(y).startswith("multilabel")
        present = np.arange(y.shape[1]) if multilabel else unique_labels(y)
        if first:
            if incremental and not multilabel:
                assert classes is not None  # partial_fit checked
                known = unique_labels(classes)
                unknown = np.setdiff1d(present, known)
                if len(unknown):
                    raise ValueError(f"{name}.partial_fit: y has labels not in classes: "
                                     f"{unknown[:5]!r}; classes={known!r}")
            else:
                known = present
        else:
            known = self.classes_
            if multilabel != self._multilabel:
                raise ValueError(f"{name}: y is {'' if multilabel else 'not '}a multilabel "
                                 "indicator, but the fitted model was "
                                 f"{'' if self._multilabel else 'not '}trained on one.")
            if not incremental and set(present) != set(known):
                # MLP's message, word for word: code written for MLP may match it
                raise ValueError("warm_start can only be used where `y` has the same "
                                 "classes as in the previous call to fit. Previously got "
                                 f"{known}, `y` has {present}")
            if incremental and classes is not None and \
                    not np.array_equal(unique_labels(classes), known):
                raise ValueError(f"{name}.partial_fit: classes={unique_labels(classes)!r} "
                                 f"differs from the first call's {known!r}.")
            unknown = np.setdiff1d(present, known)
            if len(unknown):
                raise ValueError(f"{name}.partial_fit: y has labels not seen when first "
                                 f"fitted: {unknown[:5]!r}; expected labels from {known!r}")
        k = len(known)
        if multilabel:
            if y.shape[1] != k:
                raise ValueError(f"{name}: expected a multilabel indicator of {k} columns. "
                                 f"Received: y.shape={y.shape}")
            Y, stratify = y.astype(dtype), None
            units, out, loss, scale = k, "sigmoid", "binary_crossentropy", float(k)
        elif k <= 2:  # binary, or one class (MLP trains its one unit towards 0)
            hit = (y == known[1]) if k == 2 else np.zeros(len(y), bool)
            Y = hit.reshape(-1, 1).astype(dtype)
            stratify = hit.reshape(-1, 1)  # MLP stratifies its single-output split
            units, out, loss, scale = 1, "sigmoid", "binary_crossentropy", 1.0
        else:
            Y, stratify = np.searchsorted(known, y).astype(dtype), None
            units, out, loss, scale = k, "softmax", "sparse_categorical_crossentropy", 1.0
        return Targets(Y, y, stratify, units, out, loss, scale,
                       {"classes_": known, "_multilabel": multilabel})

    def _score_predictions(self, y: np.ndarray, out: np.ndarray,
                           sample_weight: np.ndarray | None) -> float:
        return float(accuracy_score(y, self._labels(out), sample_weight=sample_weight))

    def _labels(self, p: np.ndarray) -> np.ndarray:
        if self._multilabel:
            return (p > 0.5).astype(int)
        if len(self.classes_) == 1:
            return np.full(len(p), self.classes_[0])
        if len(self.classes_) == 2:
            return self.classes_[(p[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(p, axis=1)]

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_``
        order (two columns for a one-class model, as MLP)."""
        p = self._forward(X)
        if self._multilabel or len(self.classes_) > 2:
            return p
        return np.hstack([1 - p, p])

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class label of each sample (a 0/1 indicator per label
        for multilabel targets)."""
        return self._labels(self._forward(X))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class FastNNRegressor(RegressorMixin, FastNNBase):
    """Multi-layer perceptron regressor: ``MLPRegressor``'s parameters, defaults and
    loss scale (see ``help(fastnn.sklearn)``); one or several outputs.

    The loss is MLP's: half the squared error summed over the outputs per sample,
    averaged over the batch with the sample weights, plus ``alpha/2·‖W‖²`` over the
    batch's weight sum; ``loss_`` reports MLP's value (the data term averaged, not
    summed, over the outputs).  ``loss`` is ``"squared_error"`` only (MLP's
    ``"poisson"`` needs an exponential output unit, which fastnn lacks)."""

    _is_regressor = True

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, loss: str = "squared_error",
                 solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: int | np.random.RandomState | None = None,
                 tol: float = 1e-4, verbose: bool = False, warm_start: bool = False,
                 momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, max_fun: int = 15000, dropout: float = 0.0,
                 dtype: str | None = None, output_activation: str = "identity") -> None:
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dropout=dropout, dtype=dtype)
        self.loss = loss
        self.output_activation = output_activation

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
            ) -> Self:
        """Train on (X, y) (from scratch, or from the last weights with
        ``warm_start``); ``sample_weight``: one value >= 0 per sample.  Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @StochasticOnly
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
                    ) -> Self:
        """One iteration (epoch) over (X, y), keeping the weights and optimizer state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_own_params(self) -> None:
        name = type(self).__name__
        if not isinstance(self.loss, str):
            raise TypeError(f"{name}: loss must be 'squared_error'. Received: {self.loss!r}")
        if self.loss != "squared_error":
            hint = (" (MLP's 'poisson' needs an exponential output unit, which fastnn "
                    "lacks)" if self.loss == "poisson" else "")
            raise ValueError(f"{name}: loss must be 'squared_error'{hint}. Received: "
                             f"loss={self.loss!r}")
        if self.output_activation not in ("identity", "logistic"):
            raise ValueError(f"{name}: output_activation must be 'identity' or 'logistic'. "
                             f"Received: {self.output_activation!r}")

    def _targets(self, y: np.ndarray, first: bool, incremental: bool,
                 classes: ArrayLike | None, dtype: np.dtype) -> Targets:
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(dtype)
        k = Y.shape[1]
        return Targets(Y, y, None, k, ACTIVATIONS[self.output_activation], "mse", k / 2.0, {})

    def _score_predictions(self, y: np.ndarray, out: np.ndarray,
                           sample_weight: np.ndarray | None) -> float:
        pred = out.ravel() if self.n_outputs_ == 1 else out
        return float(r2_score(y, pred, sample_weight=sample_weight))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The network's output: shape (n_samples,) for one target, else (n_samples,
        n_targets); in the dtype the model was fitted in."""
        p = self._forward(X)
        return p.ravel() if self.n_outputs_ == 1 else p
