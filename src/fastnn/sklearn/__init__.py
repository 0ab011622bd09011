"""scikit-learn estimators: ``FastNNClassifier`` and ``FastNNRegressor``.

Drop-in for ``MLPClassifier`` / ``MLPRegressor``: the same parameter names,
defaults and meanings (``FastNNClassifier(**MLPClassifier().get_params())``
works), trained by fastnn's C loop; they work in ``Pipeline``, ``GridSearchCV``,
``cross_val_score`` and with ``n_jobs`` (joblib, or a Dask cluster through
``joblib.parallel_backend("dask")``).  Needs scikit-learn: the ``sklearn`` extra.

**Loss scale: MLP's, not Keras's.**  The estimators minimise what MLP minimises,
so that ``learning_rate_init``, ``alpha`` and ``tol`` mean what they mean for MLP.
For a batch of rows r with weights w_r (1 without ``sample_weight``), k outputs:

* per-sample loss ℓ_r: the cross-entropy (binary: one sigmoid unit; multiclass:
  softmax); multilabel: the binary cross-entropies **summed** over the k labels;
  regression: **½·Σ_j (a_j − y_j)²** over the k outputs;
* batch cost ``Σ_r w_r ℓ_r / Σ_r w_r + alpha/2 · ‖W‖² / Σ_r w_r`` (kernels only),
  so one SGD step from the same weights equals MLP's (``tests/test_sklearn_scale.py``
  pins this to 1e-12 for binary, multiclass, multilabel and 1- and 2-output
  regression, with and without ``alpha``);
* ``loss_`` and ``loss_curve_`` are MLP's reported values, which ``tol`` is compared
  with: the mean of the batch costs weighted by batch size; for a k-output
  regressor MLP reports the data term as ½·mean over outputs (its gradient is the
  one of ½·sum), and so does fastnn.

The Keras-style :class:`fastnn.Sequential` keeps Keras's scale (mean squared
error and binary cross-entropy averaged over the outputs, cost ``Σ w ℓ / B``);
the estimators get MLP's through per-sample weights ``c·w_r`` (c = k/2 for
squared error, k for multilabel, 1 otherwise) and the L2 strength, so:

* **Where it differs from MLP, stated.**  With ``sample_weight``, MLP divides each
  batch by that batch's weight sum; fastnn divides by the batch size times the
  mean weight of the whole training set (exactly MLP's when a batch holds all
  samples, as in check_estimator's sample-weight checks, or when the weights are
  equal; on average the same otherwise).  The L2 term of a last, shorter batch is
  divided by the full batch size (MLP: by that batch's size).

Other parameters, as MLP (``tests/test_sklearn_mlp_port.py`` runs scikit-learn's
MLP test cases against both):

* ``solver``: ``"sgd"`` (MLP's momentum and Nesterov, and ``learning_rate``
  ``"constant"``, ``"invscaling"`` with ``power_t``, ``"adaptive"``), ``"adam"``,
  ``"lbfgs"`` (scipy's L-BFGS-B over fastnn's C loss and gradient, with
  ``max_iter``, ``max_fun`` and ``tol`` as MLP passes them; see ``_lbfgs.py``),
  and fastnn's ``"rmsprop"``, ``"adagrad"``, ``"adamw"``.  ``momentum`` is in
  [0, 1) (MLP also takes 1).
* Initial weights: MLP's (kernel, then bias, per layer, uniform in ±√(6/(fan_in +
  fan_out)), ±√(2/…) for logistic), drawn from the same ``random_state``
  generator in the same order, so with an int ``random_state`` both estimators
  start from the same weights and hold out the same validation rows; a full-batch
  run (or ``shuffle=False``) then follows MLP's to rounding
  (``tests/test_sklearn_scale.py``; shuffled mini-batches differ: fastnn shuffles
  with its own generator).
* dtype: float32 input trains and predicts in float32, anything else in float64
  (MLP's rule); ``dtype="float32"``/``"float64"`` forces one.  Predictions come
  in the fitted dtype (MLP: float64 when X is float64 and the model float32).
* ``sample_weight`` in ``fit`` and ``partial_fit`` (>= 0; with early stopping the
  weights are split with the data and weight the validation score).
* ``n_iter_`` counts the iterations of the last ``fit`` or ``partial_fit`` call;
  ``t_`` and ``loss_curve_`` keep counting.  ``partial_fit`` with
  ``early_stopping=True`` raises ValueError; ``partial_fit`` exists only for the
  stochastic solvers.
* Early stopping holds out ``validation_fraction`` (stratified for a binary
  classifier only), needs >= 2 held-out samples, and ends on the weights of the
  best validation score.  A NaN or infinite loss ends an early-stopping run with a
  NaN score and a ConvergenceWarning; without early stopping it raises MLP's
  ValueError.
* A sparse X raises TypeError (no sparse first layer yet).  ``loss="poisson"`` is
  refused (no exponential output unit).  With lbfgs, as MLP, early stopping is
  not used, ``t_`` stays 0 and a k-output regressor's objective is MLP's reported
  loss (½·mean over outputs) with the gradient of ½·sum.

fastnn's own parameters: ``dropout`` (a rate after every hidden layer), ``dtype``,
and the regressor's ``output_activation`` (``"identity"``, or ``"logistic"`` for
targets in [0, 1]).  In a worker process of a parallel run (joblib's loky or
multiprocessing backend, a Dask worker) fit and predict set one BLAS thread for
that process, so workers do not oversubscribe the cores
(``fastnn.set_num_threads`` sets it by hand).
"""
from __future__ import annotations

from .._install_hints import install_hint

try:
    import sklearn  # noqa: F401
    from sklearn.utils.validation import validate_data  # noqa: F401  (>= 1.6)
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("fastnn.sklearn needs scikit-learn >= 1.6: "
                      + install_hint("sklearn", '"scikit-learn>=1.6"')) from None

from ._estimators import FastNNClassifier, FastNNRegressor

# pickles and reprs name the public home of the classes
FastNNClassifier.__module__ = __name__
FastNNRegressor.__module__ = __name__

__all__ = ["FastNNClassifier", "FastNNRegressor"]
