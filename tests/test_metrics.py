"""Keras's other metrics (issue 10, item 4): precision, recall, auc (exact ROC),
top_k_categorical_accuracy, rmse, r2_score — equal to scikit-learn's on the same
predictions (rtol 1e-12 in float64), weighted too."""
import numpy as np
import pytest

sk = pytest.importorskip("sklearn.metrics")

import fastnn  # noqa: E402
from fastnn.layers import Dense  # noqa: E402


def classifier(units, act, loss, metrics):
    m = fastnn.Sequential([fastnn.Input(shape=(6,)), Dense(16, activation="tanh"),
                           Dense(units, activation=act)], seed=0, dtype="float64")
    m.compile("adam", loss, metrics)
    return m


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_metrics_match_scikit_learn(weighted):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    y = (X[:, 0] + 0.5 * rng.standard_normal(300) > 0).astype(int)
    w = rng.uniform(0.2, 2, 300) if weighted else None
    m = classifier(1, "sigmoid", "binary_crossentropy", ["precision", "recall", "auc"])
    h = m.fit(X, y, epochs=2, verbose=0, sample_weight=w, validation_data=(X, y))
    p = m.predict(X)[:, 0]
    got = m.evaluate(X, y, verbose=0, return_dict=True, sample_weight=w)
    assert got["precision"] == pytest.approx(sk.precision_score(y, p > 0.5, sample_weight=w),
                                             rel=1e-12)
    assert got["recall"] == pytest.approx(sk.recall_score(y, p > 0.5, sample_weight=w),
                                          rel=1e-12)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y, p, sample_weight=w), rel=1e-12)
    # the training metrics come from the epoch's final weights; val_ from the val data
    assert h.history["val_auc"][-1] == pytest.approx(sk.roc_auc_score(y, p), rel=1e-12)
    if not weighted:
        assert h.history["auc"][-1] == pytest.approx(h.history["val_auc"][-1], rel=1e-12)


def test_multiclass_top_k_and_sparse_labels():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6))
    y = rng.integers(0, 8, 200)
    m = classifier(8, "softmax", "sparse_categorical_crossentropy",
                   ["accuracy", "top_k_categorical_accuracy", "precision"])
    got = m.evaluate(X, y, verbose=0, return_dict=True)
    p = m.predict(X)
    assert got["top_k_categorical_accuracy"] == pytest.approx(
        sk.top_k_accuracy_score(y, p, k=5, labels=np.arange(8)), rel=1e-12)
    onehot = np.eye(8)[y]
    assert got["precision"] == pytest.approx(
        sk.precision_score(onehot.ravel(), (p > 0.5).ravel(), zero_division=0), rel=1e-12)


def test_regression_rmse_and_r2():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((150, 6))
    Y = np.column_stack([X[:, 0] * 2, X[:, 1] - X[:, 2]])
    w = rng.uniform(0.5, 1.5, 150)
    m = fastnn.Sequential([fastnn.Input(shape=(6,)), Dense(8, activation="tanh"), Dense(2)],
                          seed=0, dtype="float64")
    m.compile("adam", "mse", ["rmse", "r2_score", "mae"])
    m.fit(X, Y, epochs=3, verbose=0)
    got = m.evaluate(X, Y, verbose=0, return_dict=True, sample_weight=w)
    p = m.predict(X)
    assert got["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(Y, p, sample_weight=w)),
                                        rel=1e-12)
    assert got["r2_score"] == pytest.approx(sk.r2_score(Y, p, sample_weight=w), rel=1e-12)
    with pytest.raises(ValueError, match="r2_score needs targets"):
        classifier(3, "softmax", "sparse_categorical_crossentropy", ["r2_score"])
