"""The end of each training iteration, as MLP's: the loss curve, the
no-improvement count (training loss, or the validation score with early
stopping), the learning-rate schedules of sgd, and a non-finite loss."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .. import threads
from ..errors import NonFiniteLossError
from ..callbacks import Callback
from ._params import MIN_ADAPTIVE_RATE

if TYPE_CHECKING:
    from ..models import Sequential


class IterationRules:
    """Mixed into the estimators: what happens after each epoch."""

    # set by the estimator (see _base.FastNNBase)
    model_: Sequential
    n_iter_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    best_loss_: float | None
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    _no_improvement_count: int
    _best_weights: list[np.ndarray]
    verbose: Any
    tol: float
    solver: str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    n_iter_no_change: float

    if TYPE_CHECKING:
        def _score_predictions(self, y: np.ndarray, pred: np.ndarray,
                               sample_weight: np.ndarray | None) -> float: ...

    def _diverged(self, err: NonFiniteLossError,
                  validation: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None) -> None:
        """A NaN or infinite loss: with early stopping, that iteration's loss and score
        are NaN and the run ends on the best weights (MLP runs on with NaN weights to
        max_iter, then restores them too); without it, MLP's ValueError."""
        if validation is None:
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                f"large values and need to be preprocessed. ({type(self).__name__}: the "
                f"loss became NaN or infinite in iteration {self.n_iter_ + 1}; scale the "
                "inputs or lower learning_rate_init.)") from err
        assert self.validation_scores_ is not None  # set for an early-stopping run
        self.n_iter_ += 1
        self.loss_ = float("nan")
        self.loss_curve_.append(self.loss_)
        self.validation_scores_.append(float("nan"))
        warnings.warn(f"{type(self).__name__}: the loss became NaN or infinite in iteration "
                      f"{self.n_iter_}; training stopped on the weights of the best "
                      "validation score. Lower learning_rate_init or scale the inputs.",
                      ConvergenceWarning, stacklevel=4)

    def _end_iteration(self, loss: float, n_train: int,
                       validation: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None,
                       model: Sequential) -> bool:
        """MLP's end of one iteration (epoch): the loss curve, the no-improvement count
        (training loss, or validation score with early stopping), the learning-rate
        schedule; True to stop."""
        self.n_iter_ += 1
        self.t_ += n_train
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
        if validation is not None:
            assert self.validation_scores_ is not None and \
                self.best_validation_score_ is not None  # _train set both
            score = self._validation_score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:.6f}")
            better = score >= self.best_validation_score_ + self.tol
            self._no_improvement_count = 0 if better or np.isnan(score) else \
                self._no_improvement_count + 1
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = model.get_weights()
        else:
            best = np.inf if self.best_loss_ is None else self.best_loss_
            self._no_improvement_count = 0 if loss <= best - self.tol else \
                self._no_improvement_count + 1
            self.best_loss_ = min(best, loss)
        opt = model.optimizer
        assert opt is not None  # compiled
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            opt.learning_rate = self.learning_rate_init / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if validation is not None else "Training loss"
            msg = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
            if self.solver == "sgd" and self.learning_rate == "adaptive" and \
                    opt.learning_rate > MIN_ADAPTIVE_RATE:
                opt.learning_rate = opt.learning_rate / 5.0
                self._no_improvement_count = 0
                if self.verbose:
                    print(f"{msg} Setting learning rate to {opt.learning_rate:f}")
                return False
            if self.verbose:
                print(msg + (" Learning rate too small. Stopping."
                             if self.learning_rate == "adaptive" else ""))
            return True
        return False

    def _validation_score(self, X: np.ndarray, y: np.ndarray,
                          sample_weight: np.ndarray | None) -> float:
        """The early-stopping score on the held-out part (arrays already checked, so
        no feature-name warning); NaN when the network outputs are not finite."""
        threads.one_thread_per_worker()
        out = self.model_.predict(X)
        if not np.isfinite(out).all():
            return float("nan")
        return float(self._score_predictions(y, out, sample_weight))


class EpochEnd(Callback):
    """Hands each epoch's loss to the estimator's stopping rule (MLP's
    per-iteration bookkeeping); stops the fit when the rule says so."""

    def __init__(self, est: IterationRules, n_train: int, loss_fix: float,
                 validation: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None,
                 incremental: bool) -> None:
        super().__init__()
        self.est, self.n_train, self.loss_fix = est, n_train, loss_fix
        self.validation, self.incremental = validation, incremental
        self.stopped = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert logs is not None and self.model is not None  # fit passes both
        loss = float(logs["loss"])
        if self.loss_fix:  # MLP reports ½·mean over outputs, trains on ½·sum (docstring)
            loss -= self.loss_fix * float(logs["mse"])
        if self.est._end_iteration(loss, self.n_train, self.validation, self.model):
            self.stopped = True
            self.model.stop_training = True
