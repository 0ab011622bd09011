"""The estimators train on MLP's loss scale, the Keras-style Sequential on Keras's:
SGD steps from the same weights as MLPClassifier/MLPRegressor give
MLP's weights and loss_ for every target kind, with and without alpha, sample
weights, momentum, Adam and learning-rate schedules.

Tolerance: float64 on both sides, the same formulas in a different summation
order (BLAS vs NumPy), a few products per weight: the differences measured are a
few 1e-16; the issue's bar is 1e-12 absolute, on weights and loss of order 1.
"""
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

import fastnn  # noqa: E402
from fastnn.sklearn import FastNNClassifier, FastNNRegressor  # noqa: E402

TOL = 1e-12
N, D, H = 40, 6, 5


def data(kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    if kind == "binary":
        y = (X[:, 0] + 0.3 * rng.normal(size=N) > 0).astype(int)
    elif kind == "multiclass":
        y = np.arange(N) % 4
    elif kind == "multilabel":
        y = (rng.random((N, 3)) < 0.5).astype(int)
        y[0] = [1, 1, 1]  # every column has both values
        y[1] = [0, 0, 0]
    elif kind == "reg1":
        y = X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.normal(size=N)
    else:
        y = np.column_stack([X[:, 0] - X[:, 1], np.sin(X[:, 2])])
    return X, y


def pair(kind, **params):
    cls = (MLPClassifier, FastNNClassifier) if kind in ("binary", "multiclass", "multilabel") \
        else (MLPRegressor, FastNNRegressor)
    base = dict(hidden_layer_sizes=(H,), activation="tanh", solver="sgd",
                learning_rate_init=0.1, momentum=0.0, alpha=0.0, batch_size=N, max_iter=1,
                shuffle=False, warm_start=True, random_state=0, tol=0.0,
                n_iter_no_change=1000)
    base.update(params)
    return cls[0](**base), cls[1](**base)


def start_weights(mlp, seed=1):
    """Weights both estimators start from: drawn here, not by either."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.5, 0.5, c.shape) for c in mlp.coefs_], \
        [rng.uniform(-0.5, 0.5, b.shape) for b in mlp.intercepts_]


def train_both(kind, fit_kw=None, steps_params=None, **params):
    """Both estimators: one fit to set them up, then the start weights, then a warm
    fit with `steps_params` (max_iter etc.); returns (mlp, fastnn)."""
    X, y = data(kind)
    fit_kw = fit_kw or {}
    mlp, fnn = pair(kind, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
        fnn.fit(X, y)
        W, b = start_weights(mlp)
        for i in range(len(W)):  # MLP's optimizer reads these arrays: set in place
            mlp.coefs_[i][...] = W[i]
            mlp.intercepts_[i][...] = b[i]
        fnn.model_.set_weights([a for pair_ in zip(W, b) for a in pair_])
        if steps_params:
            mlp.set_params(**steps_params)
            fnn.set_params(**steps_params)
        mlp.fit(X, y, **fit_kw)
        fnn.fit(X, y, **fit_kw)
    return mlp, fnn


def max_diff(mlp, fnn):
    return max(np.abs(a - b).max() for a, b in zip(mlp.coefs_ + mlp.intercepts_,
                                                 fnn.coefs_ + fnn.intercepts_))


KINDS = ["binary", "multiclass", "multilabel", "reg1", "reg2"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_sgd_step_equals_mlp(kind, alpha):
    mlp, fnn = train_both(kind, alpha=alpha)
    assert fnn.n_iter_ == mlp.n_iter_ == 1
    moved = max(np.abs(a - b).max() for a, b in zip(mlp.coefs_, start_weights(mlp)[0]))
    assert moved > 1e-3  # the step did something
    assert max_diff(mlp, fnn) <= TOL
    assert abs(fnn.loss_ - mlp.loss_) <= TOL


@pytest.mark.parametrize("kind", KINDS)
def test_three_minibatch_epochs_with_momentum_and_invscaling_equal_mlp(kind):
    """shuffle=False and a batch size dividing N: the same batches in the same order;
    Nesterov momentum, invscaling's rate (set from t_ after every epoch) and alpha."""
    mlp, fnn = train_both(kind, alpha=0.01, momentum=0.9, learning_rate="invscaling",
                          power_t=0.25, batch_size=10, steps_params={"max_iter": 3})
    assert fnn.n_iter_ == mlp.n_iter_ == 3 and fnn.t_ == mlp.t_
    assert max_diff(mlp, fnn) <= TOL
    # loss_curve_[0] is the set-up fit's, from each estimator's own initial weights
    np.testing.assert_allclose(fnn.loss_curve_[1:], mlp.loss_curve_[1:], rtol=0, atol=TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_adam_steps_equal_mlp(kind):
    mlp, fnn = train_both(kind, solver="adam", learning_rate_init=0.01, alpha=0.01,
                          steps_params={"max_iter": 3})
    assert max_diff(mlp, fnn) <= TOL
    # loss_curve_[0] is the set-up fit's, from each estimator's own initial weights
    np.testing.assert_allclose(fnn.loss_curve_[1:], mlp.loss_curve_[1:], rtol=0, atol=TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_weighted_full_batch_steps_equal_mlp(kind):
    """sample_weight, full batch: MLP divides by the batch's weight sum, as fastnn."""
    sw = np.random.default_rng(5).uniform(0, 3, N)
    sw[:3] = 0.0
    mlp, fnn = train_both(kind, fit_kw={"sample_weight": sw}, alpha=0.2, momentum=0.5,
                          steps_params={"max_iter": 2})
    assert max_diff(mlp, fnn) <= TOL
    assert abs(fnn.loss_ - mlp.loss_) <= TOL


@pytest.mark.parametrize("kind", ["multiclass", "reg2"])
def test_partial_fit_chunks_of_different_sizes_equal_mlp(kind):
    """Each partial_fit call is one full batch of its own size: the L2 term follows
    the batch size of each call, as MLP's."""
    X, y = data(kind)
    mlp, fnn = pair(kind, alpha=0.5, batch_size="auto", warm_start=False)
    classes = {"classes": np.unique(y)} if kind == "multiclass" else {}
    for est in (mlp, fnn):
        est.partial_fit(X[:30], y[:30], **classes)
    W, b = start_weights(mlp)
    for i in range(len(W)):
        mlp.coefs_[i][...] = W[i]
        mlp.intercepts_[i][...] = b[i]
    fnn.model_.set_weights([a for pair_ in zip(W, b) for a in pair_])
    for chunk in (slice(0, 30), slice(30, 40), slice(5, 25)):
        mlp.partial_fit(X[chunk], y[chunk])
        fnn.partial_fit(X[chunk], y[chunk])
        assert abs(fnn.loss_ - mlp.loss_) <= TOL
    assert max_diff(mlp, fnn) <= TOL
    assert fnn.n_iter_ == mlp.n_iter_ == 1 and fnn.t_ == mlp.t_


def test_sequential_keeps_keras_scale():
    """Sequential's mse is Keras's, the mean over outputs and batch: one SGD step of a
    linear 2-output model moves W by lr·(2/k)·Xᵀ(XW + b − Y)/B (the estimators: by
    lr·Xᵀ(XW + b − Y)/B, MLP's ½·Σ over outputs); each docstring states its scale."""
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    W0, b0 = rng.normal(size=(3, 2)), rng.normal(size=2)
    model = fastnn.Sequential([fastnn.layers.Input(shape=(3,)), fastnn.layers.Dense(2)],
                              dtype="float64")
    model.compile(optimizer=fastnn.optimizers.SGD(0.1), loss="mse")
    model.set_weights([W0, b0])
    hist = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    E = X @ W0 + b0 - Y
    k = 2
    np.testing.assert_allclose(model.get_weights()[0], W0 - 0.1 * (2 / k) * X.T @ E / 8,
                               rtol=0, atol=1e-14)
    assert hist.history["loss"][0] == pytest.approx(np.mean(E ** 2), abs=1e-14)
    assert "(1/B) Σ w_r ℓ_r" in (fastnn.Sequential.fit.__doc__ or "")
    assert "Keras's scale" in (fastnn.sklearn.__doc__ or "")
    assert "MLP's" in (FastNNRegressor.__doc__ or "")
    assert "half the squared error summed" in (FastNNRegressor.__doc__ or "")
    assert "summed over the labels" in (FastNNClassifier.__doc__ or "")
    assert "mean" in (fastnn.losses.__doc__ or "") and "(1/k) Σ_j (a_j − y_j)²" in \
        (fastnn.losses.__doc__ or "")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_same_random_state_same_start_and_full_batch_trajectory(kind, activation):
    """MLP's initialisation from the same generator draws: with an int random_state
    the estimators start from MLP's weights (and hold out MLP's validation rows), so
    full-batch training (adam, early stopping) follows MLP's run; measured: equal
    to a few 1e-16 after 30 epochs."""
    X, y = data(kind)
    params = dict(hidden_layer_sizes=(7, 3), activation=activation, max_iter=30,
                  solver="adam", learning_rate_init=0.01, batch_size="auto",
                  warm_start=False, random_state=4, early_stopping=True,
                  validation_fraction=0.25, n_iter_no_change=100)
    mlp, fnn = pair(kind, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = pair(kind, **{**params, "max_iter": 1, "learning_rate_init": 1e-300})
        for est in start:
            est.fit(X, y)
        mlp.fit(X, y)
        fnn.fit(X, y)
    assert max_diff(*start) <= TOL  # (a step of 1e-300 moves nothing)
    assert max_diff(mlp, fnn) <= 1e-10
    np.testing.assert_allclose(fnn.loss_curve_, mlp.loss_curve_, rtol=0, atol=1e-10)
    assert fnn.validation_scores_ == pytest.approx(mlp.validation_scores_, abs=1e-12)
