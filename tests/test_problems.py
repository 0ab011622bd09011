"""The problem types of the course notes' table, each trained on real data
(scikit-learn's bundled sets, offline) with the recommended last layer and
loss, plus the notes' XOR, circle and digits milestones.  All runs are seeded,
so each threshold is a fixed margin below the score the run reaches (stated)."""
import numpy as np
import pytest

import fastnn
from fastnn.callbacks import EarlyStopping
from fastnn.layers import Dense
from fastnn.model_selection import KFold, train_val_test_split
from ._needs import needs  # noqa: E402

datasets = needs("sklearn.datasets")


def standardize(train, *others):
    mu, sd = train.mean(axis=0), train.std(axis=0) + 1e-12
    return [(a - mu) / sd for a in (train, *others)]


def r2(pred, y):
    return 1 - ((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def net(n_in, *layers, seed=0, dtype="float32"):
    return fastnn.Sequential([fastnn.Input(shape=(n_in,)), *layers], seed=seed, dtype=dtype)


def test_circle_above_95_percent():
    X, y = fastnn.datasets.make_circle(600, noise=0.05, seed=0)
    m = net(2, Dense(8, activation="tanh"), Dense(4, activation="tanh"),
            Dense(1, activation="sigmoid"))
    m.compile(fastnn.optimizers.Adam(0.03), "binary_crossentropy", ["accuracy"])
    h = m.fit(X / 5, y, epochs=200, batch_size=16, validation_split=0.25, verbose=0)
    # reaches 1.00 (0.993-1.00 for seeds 0-3; the notes' smaller 4-2 net gets 0.96-1.00)
    assert h.history["val_accuracy"][-1] > 0.95


def test_digits_above_95_percent_test_accuracy():
    X, y = datasets.load_digits(return_X_y=True)
    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(
        X / 16, y, val_size=0.15, test_size=0.2, stratify=y, seed=0)
    m = net(64, Dense(64, activation="relu"), Dense(10, activation="softmax"))
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    m.fit(X_tr, y_tr, epochs=40, validation_data=(X_val, y_val), verbose=0,
          callbacks=[EarlyStopping(patience=5, restore_best_weights=True)])
    loss, acc = m.evaluate(X_te, y_te, verbose=0)
    assert acc > 0.95  # reaches 0.978


def test_binary_breast_cancer_sigmoid_bce():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X_tr, _, X_te, y_tr, _, y_te = train_val_test_split(X, y, 0.15, 0.2, stratify=y, seed=0)
    X_tr, X_te = standardize(X_tr, X_te)
    m = net(30, Dense(16, activation="relu"), Dense(1, activation="sigmoid"))
    m.compile("adam", "binary_crossentropy", ["accuracy"])
    m.fit(X_tr, y_tr, epochs=50, verbose=0)
    assert m.evaluate(X_te, y_te, verbose=0)[1] >= 0.94  # reaches 0.965


def test_multiclass_wine_softmax_cce():
    X, y = datasets.load_wine(return_X_y=True)
    X_tr, _, X_te, y_tr, _, y_te = train_val_test_split(X, y, 0.15, 0.25, stratify=y, seed=0)
    X_tr, X_te = standardize(X_tr, X_te)
    m = net(13, Dense(16, activation="relu"), Dense(3, activation="softmax"))
    m.compile(fastnn.optimizers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
    m.fit(X_tr, np.eye(3)[y_tr], epochs=100, verbose=0)
    assert m.evaluate(X_te, np.eye(3)[y_te], verbose=0)[1] >= 0.93  # reaches 0.956


def test_multilabel_digits_sigmoid_bce():
    """Three labels per digit: even, greater than 4, prime."""
    X, y = datasets.load_digits(return_X_y=True)
    Y = np.stack([y % 2 == 0, y > 4, np.isin(y, [2, 3, 5, 7])], axis=1).astype(float)
    X_tr, _, X_te, Y_tr, _, Y_te = train_val_test_split(X / 16, Y, 0.15, 0.2, seed=0)
    m = net(64, Dense(64, activation="relu"), Dense(3, activation="sigmoid"))
    m.compile("adam", "binary_crossentropy", ["accuracy"])
    m.fit(X_tr, Y_tr, epochs=40, verbose=0)
    assert m.evaluate(X_te, Y_te, verbose=0)[1] >= 0.94  # per-label accuracy, reaches 0.965
    exact = np.mean(((m.predict(X_te) > 0.5) == Y_te).all(axis=1))
    assert exact >= 0.88  # all three labels right, reaches 0.914


def _diabetes_cv_r2(last_activation, loss, scale01):
    X, y = datasets.load_diabetes(return_X_y=True)
    scores = []
    for train, test in KFold(5, shuffle=True, seed=0).split(X):
        X_tr, X_te = standardize(X[train], X[test])
        y_tr, y_te = y[train], y[test]
        if scale01:  # min-max scaled target, clipped into [0, 1] for unseen extremes
            lo, hi = y_tr.min(), y_tr.max()
            y_tr, y_te = (y_tr - lo) / (hi - lo), np.clip((y_te - lo) / (hi - lo), 0, 1)
            target = y_tr
        else:
            mu, sd = y_tr.mean(), y_tr.std()
            target = (y_tr - mu) / sd
        m = net(10, Dense(8, activation="relu", kernel_regularizer=fastnn.regularizers.l2(0.01)),
                Dense(1, activation=last_activation))
        m.compile(fastnn.optimizers.Adam(0.01), loss)
        m.fit(X_tr, target, epochs=60, verbose=0)
        pred = m.predict(X_te)[:, 0].astype(np.float64)
        scores.append(r2(pred if scale01 else pred * sd + mu, y_te))
    return float(np.mean(scores))


def test_regression_diabetes_linear_mse():
    assert _diabetes_cv_r2(None, "mse", False) >= 0.40  # reaches 0.477 (linear regression ~0.48)


@pytest.mark.parametrize("loss", ["mse", "binary_crossentropy"])
def test_regression_in_unit_interval_sigmoid(loss):
    assert _diabetes_cv_r2("sigmoid", loss, True) >= 0.40  # mse 0.447, bce 0.460
