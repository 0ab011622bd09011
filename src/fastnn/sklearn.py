"""scikit-learn estimators: ``FastNNClassifier`` and ``FastNNRegressor``.

(About 450 lines: two estimators with MLP's 22 parameters each, typed, and the
stopping rule they share.)

Drop-in for ``MLPClassifier`` / ``MLPRegressor`` where their parameters overlap
(same names, defaults and meanings), trained by fastnn's C loop; they work in
``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and with ``n_jobs`` (joblib,
or a Dask cluster through ``joblib.parallel_backend("dask")``).  Needs
scikit-learn: the ``sklearn`` extra.

Differences from MLP, stated:

* ``alpha`` is MLP's L2 strength: the batch loss gains ``alpha/(2·batch_size)·ΣW²``
  (kernels only), as MLP adds ``½·alpha·‖W‖²/n_batch`` — the same gradient.
* ``solver``: ``"sgd"`` (constant learning rate, MLP's momentum and Nesterov),
  ``"adam"``, and fastnn's ``"rmsprop"``, ``"adagrad"``, ``"adamw"``; no lbfgs and no
  ``learning_rate`` schedules.
* The regressor minimises the mean squared error, and ``loss_`` reports it
  without MLP's factor ½ (plus the L2 penalty, as MLP).
* ``dtype`` (default ``"float64"``, as MLP computes) and ``dropout`` (a rate
  after every hidden layer) are fastnn's own; so is the regressor's
  ``output_activation`` (``"identity"``, or ``"logistic"`` for targets in [0, 1]).
* In a worker process of a parallel run (joblib's loky or multiprocessing backend,
  a Dask worker) fit and predict set one BLAS thread for that process, so workers
  do not oversubscribe the cores (``fastnn.set_num_threads`` sets it by hand).
"""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from ._extras import install_hint

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("fastnn.sklearn needs scikit-learn >= 1.6: "
                      + install_hint("sklearn", '"scikit-learn>=1.6"')) from None

from . import optimizers as O
from . import threads
from .callbacks import Callback
from .layers import Dense, Dropout, Input, Layer
from .models import Sequential
from .regularizers import l2

if TYPE_CHECKING:
    from sklearn.utils import Tags
    from typing_extensions import Self

_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_SOLVERS = ("sgd", "adam", "rmsprop", "adagrad", "adamw")


class _Monitor(Callback):
    """MLP's stopping rule, per epoch: the loss curve, and stop after
    ``n_iter_no_change`` epochs without an improvement of ``tol`` (of the training
    loss, or of the validation score with ``early_stopping``)."""

    def __init__(self, est: _FastNNBase, n_samples: int,
                 validation: tuple[np.ndarray, np.ndarray] | None) -> None:
        super().__init__()
        self.est, self.n_samples, self.validation = est, n_samples, validation

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert logs is not None and self.model is not None  # fit passes both
        est = self.est
        loss = logs["loss"]
        est.loss_curve_.append(loss)
        est.loss_ = loss
        est.n_iter_ += 1
        est.t_ += self.n_samples
        if self.validation is not None:
            # _train set both for a run with a validation split
            assert est.validation_scores_ is not None and est.best_validation_score_ is not None
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            est._no_improvement_count = (est._no_improvement_count + 1
                                         if score < est.best_validation_score_ + est.tol else 0)
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = self.model.get_weights()
        else:
            assert est.best_loss_ is not None  # _train set it for a run without validation
            est._no_improvement_count = (est._no_improvement_count + 1
                                         if loss > est.best_loss_ - est.tol else 0)
            est.best_loss_ = min(est.best_loss_, loss)
        if est._no_improvement_count > est.n_iter_no_change:
            self.model.stop_training = True


class _FastNNBase(BaseEstimator):
    # what fit sets (scikit-learn's trailing underscores), declared for the type checker
    model_: Sequential
    n_layers_: int
    n_outputs_: int
    out_activation_: str
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    best_loss_: float | None  # None after training with early_stopping, as MLP
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    coefs_: list[np.ndarray]
    intercepts_: list[np.ndarray]
    _no_improvement_count: int
    _best_weights: list[np.ndarray] | None

    if TYPE_CHECKING:  # each estimator's score on the held-out part (early_stopping)
        def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float: ...

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto", learning_rate_init: float = 0.001,
                 max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, dropout: float = 0.0,
                 dtype: str = "float64") -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.dtype = dtype

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> list[int]:
        name = type(self).__name__
        hidden: Any = self.hidden_layer_sizes  # as the user gave it: checked here
        hidden = [hidden] if isinstance(hidden, numbers.Integral) else list(hidden)
        if not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and int(h) >= 1
                   for h in hidden):
            raise ValueError(f"{name}: hidden_layer_sizes must be positive ints. Received: "
                             f"{self.hidden_layer_sizes!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"{name}: activation must be one of {sorted(_ACTIVATIONS)}. "
                             f"Received: {self.activation!r}")
        if self.solver not in _SOLVERS:
            hint = " (fastnn has no lbfgs; use 'adam')" if self.solver == "lbfgs" else ""
            raise ValueError(f"{name}: solver must be one of {list(_SOLVERS)}{hint}. "
                             f"Received: {self.solver!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"{name}: dtype must be 'float32' or 'float64'. "
                             f"Received: {self.dtype!r}")
        for key, low in (("alpha", 0.0), ("tol", 0.0), ("momentum", 0.0)):
            value = getattr(self, key)
            if not isinstance(value, numbers.Real) or not float(value) >= low:
                raise ValueError(f"{name}: {key} must be a real number >= {low}. "
                                 f"Received: {value!r}")
        if not (isinstance(self.max_iter, numbers.Integral) and self.max_iter >= 1):
            raise ValueError(f"{name}: max_iter must be an int >= 1. Received: "
                             f"{self.max_iter!r}")
        if not (isinstance(self.n_iter_no_change, numbers.Integral)
                and self.n_iter_no_change >= 1):
            raise ValueError(f"{name}: n_iter_no_change must be an int >= 1. Received: "
                             f"{self.n_iter_no_change!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"{name}: validation_fraction must be in (0, 1). Received: "
                             f"{self.validation_fraction!r}")
        if self.batch_size != "auto" and not (
                isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1):
            raise ValueError(f"{name}: batch_size must be 'auto' or an int >= 1. "
                             f"Received: {self.batch_size!r}")
        return hidden

    def _optimizer(self) -> O.Optimizer:
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return O.SGD(lr, momentum=self.momentum, nesterov=bool(self.nesterovs_momentum)
                         and self.momentum > 0)
        if self.solver == "adam":
            return O.Adam(lr, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "adamw":
            return O.AdamW(lr, beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        if self.solver == "rmsprop":
            return O.RMSprop(lr, epsilon=self.epsilon)
        return O.Adagrad(lr, epsilon=self.epsilon)

    def _batch(self, n: int) -> int:
        return min(200, n) if self.batch_size == "auto" else min(self.batch_size, n)

    # ------------------------------------------------------------------ model
    def _new_model(self, n_features: int, n_outputs: int, out_activation: str, loss: str,
                   batch: int) -> None:
        hidden = self._check_params()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        penalty = (lambda: l2(self.alpha / (2 * batch))) if self.alpha > 0 else (lambda: None)
        layers: list[Layer] = [Input(shape=(n_features,))]
        for units in hidden:
            layers.append(Dense(int(units), activation=_ACTIVATIONS[self.activation],
                                kernel_regularizer=penalty()))
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(Dense(n_outputs, activation=out_activation, kernel_regularizer=penalty()))
        model = Sequential(layers, dtype=self.dtype, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sigmoid + mse for the logistic regressor
            model.compile(optimizer=self._optimizer(), loss=loss)
        self.model_ = model
        self.n_layers_ = len(hidden) + 2
        self.n_outputs_ = n_outputs
        self.out_activation_ = {"sigmoid": "logistic", "softmax": "softmax",
                                "linear": "identity"}[out_activation]
        self.n_iter_, self.t_ = 0, 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.best_loss_ = np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None


    def _train(self, X: np.ndarray, Y: np.ndarray, y_for_split: np.ndarray, epochs: int,
               incremental: bool) -> Self:
        model = self.model_
        if not incremental:  # fit(): a fresh optimizer and stopping rule (warm_start too)
            if self.n_iter_:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.compile(optimizer=self._optimizer(), loss=model.loss)
            self._no_improvement_count, self.best_loss_ = 0, np.inf
        elif self.best_loss_ is None:  # after early stopping: partial_fit has no validation
            self.best_loss_ = np.inf   # part, it watches the training loss (was None - tol)
        validation = None
        if self.early_stopping and not incremental:
            stratify = y_for_split if (isinstance(self, ClassifierMixin)
                                       and y_for_split.ndim == 1) else None
            X, Xv, Y, _, _, yv = train_test_split(
                X, Y, y_for_split, random_state=self.model_.seed,
                test_size=self.validation_fraction, stratify=stratify)
            validation = (Xv, yv)
            if self.best_validation_score_ is None:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
        monitor = _Monitor(self, len(X), validation)
        threads.one_thread_per_worker()
        model.fit(X, Y, batch_size=self._batch(len(X)), epochs=epochs, shuffle=self.shuffle,
                  verbose=2 if self.verbose else 0, callbacks=[monitor])
        stopped = self._no_improvement_count > self.n_iter_no_change
        best = getattr(self, "_best_weights", None)
        if validation is not None and best is not None:
            model.set_weights(best)
            self._best_weights = None
        if not incremental and not stopped and epochs == self.max_iter:
            warnings.warn(f"{type(self).__name__}: maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning)
        if self.early_stopping:
            self.best_loss_ = None
        weights = model.get_weights()
        self.coefs_, self.intercepts_ = weights[0::2], weights[1::2]
        return self

    def _forward(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.dtype(self.dtype))
        threads.one_thread_per_worker()
        return self.model_.predict(X)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class FastNNClassifier(ClassifierMixin, _FastNNBase):
    """Multi-layer perceptron classifier (``MLPClassifier``'s parameters; see the
    module docstring).  Binary (one sigmoid unit), multiclass (softmax) and
    multilabel (one sigmoid per label) targets; any label values."""

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train on (X, y) from scratch; returns self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> Self:
        """One epoch over (X, y), keeping the weights and optimizer state; the first
        call needs ``classes`` (all labels that will ever appear)."""
        if not hasattr(self, "model_"):
            if classes is None:
                raise ValueError("FastNNClassifier.partial_fit: classes must be passed on "
                                 "the first call.")
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X_in: ArrayLike, y_in: ArrayLike, incremental: bool,
             classes: ArrayLike | None = None) -> Self:
        first = not (hasattr(self, "model_") and (incremental or self.warm_start))
        X: np.ndarray
        y: np.ndarray
        X, y = validate_data(self, X_in, y_in, reset=first, multi_output=True,
                             dtype=np.dtype(self._dtype_checked()))
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if first:
            if kind == "multilabel-indicator":
                self.classes_ = np.arange(y.shape[1])
            else:
                self.classes_ = np.unique(y if classes is None else
                                          np.concatenate([np.asarray(classes), y]))
                if len(self.classes_) < 2:
                    raise ValueError("FastNNClassifier needs samples of at least 2 classes "
                                     f"in the data, but it contains only one class: "
                                     f"{self.classes_[0]!r}")
            self._multilabel = kind == "multilabel-indicator"
        Y = self._encode(y)
        if first:
            k = len(self.classes_)
            if self._multilabel or k == 2:
                out, loss, units = "sigmoid", "binary_crossentropy", 1 if k == 2 and \
                    not self._multilabel else k
            else:
                out, loss, units = "softmax", "sparse_categorical_crossentropy", k
            self._new_model(X.shape[1], units, out, loss, self._batch(len(X)))
        return self._train(X, Y, y, 1 if incremental else self.max_iter, incremental)

    def _dtype_checked(self) -> str:
        self._check_params()
        return self.dtype

    def _encode(self, y: np.ndarray) -> np.ndarray:
        if self._multilabel:
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"expected a multilabel indicator of {len(self.classes_)} "
                                 f"columns. Received: y.shape={y.shape}")
            return y.astype(self.dtype)
        unknown = np.setdiff1d(y, self.classes_)
        if y.ndim != 1 or len(unknown):
            raise ValueError(f"y contains labels not seen when first fitted: {unknown[:5]!r}"
                             f"; expected labels from {self.classes_!r}")
        idx = np.searchsorted(self.classes_, y)
        return idx.astype(self.dtype) if len(self.classes_) > 2 else \
            idx.reshape(-1, 1).astype(self.dtype)

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(X) == y)) if not self._multilabel else \
            float(np.mean(np.all(self.predict(X) == y, axis=1)))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        p = self._forward(X)
        if self._multilabel or len(self.classes_) > 2:
            return p
        return np.hstack([1 - p, p])

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class label of each sample."""
        p = self._forward(X)
        if self._multilabel:
            return (p > 0.5).astype(int)
        if len(self.classes_) == 2:
            return self.classes_[(p[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(p, axis=1)]

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class FastNNRegressor(RegressorMixin, _FastNNBase):
    """Multi-layer perceptron regressor (``MLPRegressor``'s parameters; see the
    module docstring); one or several outputs."""

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto", learning_rate_init: float = 0.001,
                 max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, dropout: float = 0.0,
                 dtype: str = "float64",
                 output_activation: str = "identity") -> None:
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate_init=learning_rate_init, max_iter=max_iter, shuffle=shuffle,
            random_state=random_state, tol=tol, verbose=verbose, warm_start=warm_start,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            dropout=dropout, dtype=dtype)
        self.output_activation = output_activation

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train on (X, y) from scratch; returns self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """One epoch over (X, y), keeping the weights and optimizer state."""
        return self._fit(X, y, incremental=True)

    def _fit(self, X_in: ArrayLike, y_in: ArrayLike, incremental: bool) -> Self:
        self._check_params()
        if self.output_activation not in ("identity", "logistic"):
            raise ValueError("FastNNRegressor: output_activation must be 'identity' or "
                             f"'logistic'. Received: {self.output_activation!r}")
        first = not (hasattr(self, "model_") and (incremental or self.warm_start))
        X: np.ndarray
        y: np.ndarray
        X, y = validate_data(self, X_in, y_in, reset=first, multi_output=True, y_numeric=True,
                             dtype=np.dtype(self.dtype))
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        Y = np.asarray(Y, dtype=self.dtype)
        if first:
            self._new_model(X.shape[1], Y.shape[1], _ACTIVATIONS[self.output_activation],
                            "mse", self._batch(len(X)))
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs; the fitted model has "
                             f"{self.n_outputs_}.")
        return self._train(X, Y, y, 1 if incremental else self.max_iter, incremental)

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(self.score(X, y))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The network's output: shape (n_samples,) for one target, else (n_samples, n_targets)."""
        p = self._forward(X)
        return p.ravel() if self.n_outputs_ == 1 else p
