"""solver="lbfgs": scipy's L-BFGS-B over fastnn's C loss and gradient.

The gradient is read out of one SGD step of rate 2²⁰ (fastnn/sklearn/_lbfgs.py);
here it is checked against central finite differences of the loss in float64
(central differences, eps 1e-6, the tolerance below from the measured ~1e-9), and
whole lbfgs runs against MLP's from the same start (same random_state)."""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

from fastnn.sklearn import FastNNClassifier, FastNNRegressor  # noqa: E402
from fastnn.sklearn._lbfgs import _pack, loss_and_gradient  # noqa: E402

from .test_sklearn_scale import KINDS, data, pair  # noqa: E402


def _setup(kind, activation="tanh", alpha=0.1):
    X, y = data(kind)
    _, est = pair(kind, solver="lbfgs", activation=activation, alpha=alpha, max_iter=1,
                  hidden_layer_sizes=(4, 3), warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    Y = est._targets(y if y.ndim == 1 else y, True, False, None, np.dtype(np.float64)).Y
    W = est._scale(None, len(X), len(X))
    return est, X, Y, W


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ["tanh", "logistic", "identity"])
def test_gradient_matches_finite_differences(kind, activation):
    est, X, Y, W = _setup(kind, activation)
    model = est.model_
    theta = _pack(model.get_weights())
    # loss_fix=0: the objective whose gradient lbfgs gets (for a 2-output regressor
    # MLP reports ½·mean over outputs but differentiates ½·sum; see the docstring)
    f, g = loss_and_gradient(theta, model, X, Y, W, 0.0)
    eps = 1e-6
    fd = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        fd[i] = (loss_and_gradient(theta + e, model, X, Y, W, 0.0)[0]
                 - loss_and_gradient(theta - e, model, X, Y, W, 0.0)[0]) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    assert np.isfinite(f)


@pytest.mark.parametrize("kind", KINDS)
def test_lbfgs_run_follows_mlp_from_the_same_start(kind):
    X, y = data(kind)
    params = dict(solver="lbfgs", hidden_layer_sizes=(5,), activation="tanh", alpha=1e-3,
                  max_iter=15, random_state=2)
    Mlp = MLPClassifier if kind in ("binary", "multiclass", "multilabel") else MLPRegressor
    Ours = FastNNClassifier if Mlp is MLPClassifier else FastNNRegressor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp, ours = Mlp(**params).fit(X, y), Ours(**params).fit(X, y)
    assert ours.n_iter_ == mlp.n_iter_
    # 15 quasi-Newton steps amplify the last-bit differences of the gradient
    assert ours.loss_ == pytest.approx(mlp.loss_, rel=1e-8)
    for a, b in zip(ours.coefs_, mlp.coefs_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_max_fun_limits_the_evaluations_and_warns():
    X, y = data("reg1")
    est = FastNNRegressor(solver="lbfgs", hidden_layer_sizes=20, tol=0.0, max_iter=200,
                          max_fun=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        est.fit(X, y)
    assert est.n_iter_ <= 5


def test_lbfgs_has_no_partial_fit_and_keeps_float32():
    assert not hasattr(FastNNClassifier(solver="lbfgs"), "partial_fit")
    X, y = data("multiclass")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = FastNNClassifier(solver="lbfgs", max_iter=20, random_state=0).fit(
            X.astype(np.float32), y)
    assert est.coefs_[0].dtype == np.float32 and est.score(X, y) > 0.5
    warm = FastNNClassifier(solver="lbfgs", max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = warm.fit(X, y).loss_
        assert warm.fit(X, y).loss_ < first  # continues from the last weights
