"""What both estimators share: parameters, input checks, the network, and the
training run with MLP's loss scale, sample weights, stopping rule, learning-rate
schedules and early stopping (see the package docstring for the scale).

(The end of each iteration — MLP's stopping rule, schedules, early-stopping
score — is in ``_iterations``; lbfgs in ``_lbfgs``.)
"""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from functools import update_wrapper
from types import MethodType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .. import threads
from ..errors import NonFiniteLossError, PartialFitWithEarlyStopping
from ..layers import Dense, Dropout, Input, Layer
from ..models import Sequential
from ..regularizers import l2
from ._iterations import EpochEnd, IterationRules
from ._params import ACTIVATIONS, check_params, make_optimizer

if TYPE_CHECKING:
    from sklearn.utils import Tags
    from typing_extensions import Self


class Targets(NamedTuple):
    """A checked y, ready to train on (what the subclasses' _targets returns)."""
    Y: np.ndarray                # the network's targets (model dtype)
    y_score: np.ndarray          # y as the early-stopping score compares it
    stratify: np.ndarray | None  # what the validation split is stratified on
    n_outputs: int
    out_activation: str          # fastnn's name of the output activation
    loss: str                    # fastnn's loss name
    scale: float                 # MLP's per-sample loss over fastnn's (see the docstring)
    state: dict[str, Any]        # attributes to set once every check has passed


class StochasticOnly:
    """A method that exists as the estimator's ``_check_partial_fit`` allows:
    ``partial_fit``.  That rule is checked here, once per call: when the method is
    looked up on an estimator (so ``hasattr`` says False where it would fail), or,
    looked up on the class, when it is called."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        update_wrapper(cast(Any, self), fn)

    def __get__(self, obj: Any, owner: type | None = None) -> Callable[..., Any]:
        if obj is None:
            fn = self.fn

            def checked(est: Any, *args: Any, **kwargs: Any) -> Any:
                est._check_partial_fit()
                return fn(est, *args, **kwargs)
            return update_wrapper(checked, fn)
        obj._check_partial_fit()
        return MethodType(self.fn, obj)


class FastNNBase(IterationRules, BaseEstimator):
    # what fit sets (scikit-learn's trailing underscores), declared for the type checker
    model_: Sequential
    n_layers_: int
    n_outputs_: int
    out_activation_: str
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    best_loss_: float | None  # None with early_stopping, as MLP
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    coefs_: list[np.ndarray]
    intercepts_: list[np.ndarray]
    _no_improvement_count: int
    _best_weights: list[np.ndarray]
    _loss_scale: float

    def _check_own_params(self) -> None:
        """The parameters a subclass adds to MLP's common ones (checked with them)."""

    if TYPE_CHECKING:
        def _targets(self, y: np.ndarray, first: bool, incremental: bool,
                     classes: ArrayLike | None, dtype: np.dtype) -> Targets: ...

    
    _is_regressor = False

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: int | np.random.RandomState | None = None,
                 tol: float = 1e-4, verbose: bool = False, warm_start: bool = False,
                 momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 n_iter_no_change: int = 10, max_fun: int = 15000, dropout: float = 0.0,
                 dtype: str | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
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
        self.max_fun = max_fun
        self.dropout = dropout
        self.dtype = dtype

    def _check_partial_fit(self) -> None:
        """partial_fit exists for the stochastic solvers only (MLP's rule), and not with
        early_stopping=True (MLP: a ValueError when called)."""
        name = type(self).__name__
        if self.solver == "lbfgs":
            raise AttributeError(f"{name}: partial_fit is only available for the "
                                 f"stochastic solvers (sgd, adam, ...), not "
                                 f"solver={self.solver!r}")
        if self.early_stopping is True:
            raise PartialFitWithEarlyStopping(
                f"{name}: partial_fit does not support early_stopping=True (there is no "
                "held-out part in one call); set early_stopping=False, or use fit.")

    # ------------------------------------------------------------------ checks
    def _refuse_sparse(self, X: Any, func: str) -> None:
        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__}.{func}: X is a scipy sparse matrix "
                f"({type(X).__name__}); fastnn's estimators take dense input only (a sparse "
                "first layer is not there yet). Convert it with X.toarray() if it fits in "
                "memory.")

    def _sample_weight(self, sample_weight: ArrayLike | None, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        name = type(self).__name__
        if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
            sw = np.full(n, float(cast(float, sample_weight)))
        else:
            sw = check_array(sample_weight, ensure_2d=False, dtype=np.float64,
                             input_name="sample_weight", ensure_min_samples=0)
        if sw.ndim != 1 or len(sw) != n:
            raise ValueError(f"{name}: sample_weight must have shape ({n},), one weight per "
                             f"sample. Received: shape {sw.shape}")
        if (sw < 0).any():
            raise ValueError(f"{name}: sample_weight must be >= 0. Received negative values "
                             f"at indices {np.flatnonzero(sw < 0)[:5].tolist()}")
        return sw

    def _batch(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(f"{type(self).__name__}: batch_size={self.batch_size} is larger "
                          f"than the {n} training samples; it is clipped to {n}.",
                          UserWarning, stacklevel=4)
        return min(int(self.batch_size), n)

    # ------------------------------------------------------------------ fit
    def _fit(self, X_in: ArrayLike, y_in: ArrayLike, sample_weight: ArrayLike | None,
             incremental: bool, classes: ArrayLike | None = None) -> Self:
        name = type(self).__name__
        # every parameter is checked here, once per call (partial_fit's own rule by
        # StochasticOnly, before this runs); the data next, then nothing changes until
        # every check has passed
        hidden = check_params(self)
        self._check_own_params()
        self._refuse_sparse(X_in, "partial_fit" if incremental else "fit")
        first = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        dtype: Any = (np.dtype(self.model_.dtype) if not first else
                      np.dtype(self.dtype) if self.dtype is not None else
                      (np.float64, np.float32))  # MLP's rule: float32 stays, else float64
        X, y = validate_data(self, X_in, y_in, reset=first, multi_output=True, dtype=dtype,
                             y_numeric=self._is_regressor)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        sw = self._sample_weight(sample_weight, len(X))
        t = self._targets(y, first, incremental, classes, X.dtype)
        if not first and t.n_outputs != self.n_outputs_:
            raise ValueError(f"{name}: y has {t.n_outputs} outputs; the fitted model has "
                             f"{self.n_outputs_}.")
        rng = check_random_state(self.random_state)
        # MLP's initial weights, from the same draws of the same generator: with an int
        # random_state both estimators start from the same weights (and split the same)
        init = self._initial_weights(rng, [X.shape[1], *hidden, t.n_outputs]) if first \
            else []
        validation = None
        Y, swt = t.Y, sw
        if self.early_stopping and self.solver != "lbfgs":  # (lbfgs: MLP ignores it)
            # MLP stratifies a single-output classifier only
            parts = train_test_split(X, Y, t.y_score, *(() if sw is None else (sw,)),
                                     random_state=rng, test_size=self.validation_fraction,
                                     stratify=t.stratify)
            X, Xv, Y, _, _, yv = parts[:6]
            swt, swv = (parts[6], parts[7]) if sw is not None else (None, None)
            if len(Xv) < 2:
                raise ValueError(f"{name}: The validation set is too small ({len(Xv)} "
                                 f"sample(s) of {len(Xv) + len(X)} with validation_fraction="
                                 f"{self.validation_fraction}); it needs at least 2. Increase "
                                 "validation_fraction or the number of samples.")
            validation = (Xv, yv, swv)
        if swt is not None and not swt.sum() > 0:
            raise ValueError(f"{name}: the sample weights of the training samples are all "
                             f"zero (sum {swt.sum()}); at least one weight must be > 0.")
        seed = int(rng.randint(np.iinfo(np.int32).max)) if first else 0  # fastnn's streams
        # every check passed: from here on the estimator changes
        for key, value in t.state.items():
            setattr(self, key, value)
        if first:
            self._new_model(hidden, X.shape[1], t, seed, X.dtype)
            self.model_.set_weights(init)
            self._best_weights = self.model_.get_weights()
        elif not incremental:
            assert self.model_.loss is not None  # compiled when made
            self._compile(self.model_.loss)  # fit() with warm_start: a fresh optimizer
        if self.solver == "lbfgs":
            return self._fit_lbfgs(X, Y, swt)
        return self._train(X, Y, swt, validation, incremental)

    def _initial_weights(self, rng: np.random.RandomState, units: list[int]
                         ) -> list[np.ndarray]:
        """MLP's initialisation: per layer, kernel then bias from U(−r, r), r =
        √(6/(fan_in + fan_out)) (√(2/…) with the logistic activation), drawn in that
        order from `rng`."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        out = []
        for fan_in, fan_out in zip(units[:-1], units[1:]):
            r = np.sqrt(factor / (fan_in + fan_out))
            out.append(rng.uniform(-r, r, (fan_in, fan_out)))
            out.append(rng.uniform(-r, r, fan_out))
        return out

    def _new_model(self, hidden: list[int], n_features: int, t: Targets, seed: int,
                   dtype: np.dtype) -> None:
        layers: list[Layer] = [Input(shape=(n_features,))]
        for units in hidden:
            layers.append(Dense(int(units), activation=ACTIVATIONS[self.activation]))
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(Dense(t.n_outputs, activation=t.out_activation))
        self.model_ = Sequential(layers, dtype=dtype.name, seed=seed)
        self.n_layers_ = len(hidden) + 2
        self.n_outputs_ = t.n_outputs
        self._compile(t.loss)
        self.out_activation_ = {"sigmoid": "logistic", "softmax": "softmax",
                                "linear": "identity"}[t.out_activation]
        self._loss_scale = t.scale
        self.n_iter_, self.t_ = 0, 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.best_loss_ = None if self.early_stopping else np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._best_weights = self.model_.get_weights()

    def _compile(self, loss: str) -> None:
        """A fresh optimizer (fit, and fit with warm_start, as MLP); the "mse" metric
        of a multi-output regressor gives MLP's loss_ (see _EpochEnd); weighted by the
        sample weights as the loss is (a weighted metric)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sigmoid + mse: the logistic regressor
            self.model_.compile(optimizer=make_optimizer(self), loss=loss,
                                weighted_metrics=["mse"] if self._multi_output_regression()
                                else None)

    def _multi_output_regression(self) -> bool:
        return self._is_regressor and self.n_outputs_ > 1

    def _train(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None,
               validation: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None,
               incremental: bool) -> Self:
        model, n = self.model_, len(X)
        batch = self._batch(n)
        W = self._scale(sw, n, batch)
        if validation is not None and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.best_loss_ = None
        if validation is None and self.best_loss_ is None:
            self.best_loss_ = np.inf  # early_stopping was switched off since the last fit
        self.n_iter_ = 0  # MLP counts the iterations of this call only
        loss_fix = (self.n_outputs_ - 1) / 2.0 if self._multi_output_regression() else 0.0
        monitor = EpochEnd(self, n, loss_fix, validation, incremental)
        threads.one_thread_per_worker()
        try:
            model.fit(X, Y, batch_size=batch, epochs=1 if incremental else self.max_iter,
                      shuffle=self.shuffle, verbose=0, callbacks=[monitor], sample_weight=W)
        except NonFiniteLossError as err:
            self._diverged(err, validation)
        if validation is not None:  # MLP ends an early-stopping run on its best weights
            model.set_weights(self._best_weights)
        if not incremental and not monitor.stopped and self.n_iter_ == self.max_iter:
            warnings.warn(f"{type(self).__name__}: maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=3)
        weights = model.get_weights()
        self.coefs_, self.intercepts_ = weights[0::2], weights[1::2]
        return self

    def _scale(self, sw: np.ndarray | None, n: int, batch: int) -> np.ndarray:
        """MLP's scale through fastnn's weighted C loop (package docstring): sets the
        L2 term alpha/(2·batch)·(n/Σw)·‖W‖² on the kernels; returns the per-sample
        weights c·w·n/Σw."""
        c = self._loss_scale
        norm = 1.0 if sw is None else n / float(sw.sum())
        lam = self.alpha / (2.0 * batch) * norm
        for layer in self.model_.layers:
            if isinstance(layer, Dense):
                layer.kernel_regularizer = l2(lam) if lam > 0 else None
        return np.full(n, c) if sw is None else c * sw * norm

    def _fit_lbfgs(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> Self:
        """MLP's lbfgs: one full batch, scipy's L-BFGS-B (_lbfgs.py)."""
        from ._lbfgs import fit_lbfgs
        W = self._scale(sw, len(X), len(X))
        loss_fix = (self.n_outputs_ - 1) / 2.0 if self._multi_output_regression() else 0.0
        threads.one_thread_per_worker()
        fit_lbfgs(self, X, Y, W, loss_fix)
        weights = self.model_.get_weights()
        self.coefs_, self.intercepts_ = weights[0::2], weights[1::2]
        return self

    # ------------------------------------------------------------------ predict
    def _forward(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self, "model_")
        self._refuse_sparse(X, "predict")
        X = validate_data(self, X, reset=False, dtype=np.dtype(self.model_.dtype))
        threads.one_thread_per_worker()
        return self.model_.predict(X)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
