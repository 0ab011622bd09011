"""Keras's other metrics: precision, recall, auc (exact ROC),
top_k_categorical_accuracy, rmse, r2_score — equal to scikit-learn's on the same
predictions (rtol 1e-12 in float64), weighted too (compile's weighted_metrics: sample
weights leave `metrics` unweighted, as in Keras 3)."""
import numpy as np
import pytest
from ._needs import needs  # noqa: E402

sk = needs("sklearn.metrics")

import fastnn  # noqa: E402
from fastnn.layers import Dense  # noqa: E402


def classifier(units, act, loss, metrics, weighted_metrics=None):
    m = fastnn.Sequential([fastnn.Input(shape=(6,)), Dense(16, activation="tanh"),
                           Dense(units, activation=act)], seed=0, dtype="float64")
    m.compile("adam", loss, metrics, weighted_metrics=weighted_metrics)
    return m


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_metrics_match_scikit_learn(weighted):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    y = (X[:, 0] + 0.5 * rng.standard_normal(300) > 0).astype(int)
    w = rng.uniform(0.2, 2, 300) if weighted else None
    names = ["precision", "recall", "auc"]
    m = classifier(1, "sigmoid", "binary_crossentropy", names, weighted_metrics=names)
    h = m.fit(X, y, epochs=2, verbose=0, sample_weight=w, validation_data=(X, y))
    p = m.predict(X)[:, 0]
    got = m.evaluate(X, y, verbose=0, return_dict=True, sample_weight=w)
    for prefix, sw in (("", None), ("weighted_", w)):
        assert got[prefix + "precision"] == pytest.approx(
            sk.precision_score(y, p > 0.5, sample_weight=sw), rel=1e-12)
        assert got[prefix + "recall"] == pytest.approx(
            sk.recall_score(y, p > 0.5, sample_weight=sw), rel=1e-12)
        assert got[prefix + "auc"] == pytest.approx(sk.roc_auc_score(y, p, sample_weight=sw),
                                                    rel=1e-12)
    # the training metrics come from the epoch's final weights; val_ from the val data
    assert h.history["val_auc"][-1] == pytest.approx(sk.roc_auc_score(y, p), rel=1e-12)
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
    m.compile("adam", "mse", weighted_metrics=["rmse", "r2_score", "mae"])
    m.fit(X, Y, epochs=3, verbose=0)
    got = m.evaluate(X, Y, verbose=0, return_dict=True, sample_weight=w)
    p = m.predict(X)
    assert got["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(Y, p, sample_weight=w)),
                                        rel=1e-12)
    assert got["r2_score"] == pytest.approx(sk.r2_score(Y, p, sample_weight=w), rel=1e-12)
    with pytest.raises(ValueError, match="r2_score needs targets"):
        classifier(3, "softmax", "sparse_categorical_crossentropy", ["r2_score"])


# ---------------------------------------------------------------- metric objects
M = fastnn.metrics


def test_metric_objects_with_arguments_match_scikit_learn():
    """Keras's metric objects with non-default arguments: each value equals
    scikit-learn's on the model's predictions (rtol 1e-12, float64 throughout)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((250, 6))
    Y = (X[:, :3] + 0.7 * rng.standard_normal((250, 3)) > 0).astype(float)  # multilabel
    m = classifier(3, "sigmoid", "binary_crossentropy", [
        M.BinaryAccuracy(threshold=0.7), M.Precision(thresholds=0.3, name="p30"),
        M.Recall(class_id=2, name="recall_2"), M.AUC(multi_label=True, name="auc_ml"),
        M.AUC(num_thresholds=50)])
    m.fit(X, Y, epochs=2, verbose=0)
    got = m.evaluate(X, Y, verbose=0, return_dict=True)
    assert list(got) == ["loss", "binary_accuracy", "p30", "recall_2", "auc_ml", "auc"]
    assert m.metrics_names == list(got)
    P = m.predict(X)
    assert got["binary_accuracy"] == pytest.approx(((P > 0.7) == Y).mean(), rel=1e-12)
    assert got["p30"] == pytest.approx(sk.precision_score(Y.ravel(), (P > 0.3).ravel()),
                                       rel=1e-12)
    assert got["recall_2"] == pytest.approx(sk.recall_score(Y[:, 2], P[:, 2] > 0.5), rel=1e-12)
    assert got["auc_ml"] == pytest.approx(sk.roc_auc_score(Y, P, average="macro"), rel=1e-12)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(Y.ravel(), P.ravel()), rel=1e-12)
    assert got["auc_ml"] != pytest.approx(got["auc"], rel=1e-6)  # the two really differ


def test_top_k_and_adjusted_r2_objects():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 6))
    y = rng.integers(0, 8, 200)
    m = classifier(8, "softmax", "sparse_categorical_crossentropy",
                   [M.SparseTopKCategoricalAccuracy(k=3), M.TopKCategoricalAccuracy(k=2)])
    got = m.evaluate(X, y, verbose=0, return_dict=True)
    p = m.predict(X)
    for name, k in (("sparse_top_k_categorical_accuracy", 3), ("top_k_categorical_accuracy", 2)):
        assert got[name] == pytest.approx(
            sk.top_k_accuracy_score(y, p, k=k, labels=np.arange(8)), rel=1e-12)
    Xr = rng.standard_normal((120, 6))
    Yr = Xr[:, :1] * 2 + 0.1 * rng.standard_normal((120, 1))
    r = fastnn.Sequential([fastnn.Input(shape=(6,)), Dense(1)], seed=0, dtype="float64")
    r.compile("sgd", "mse", [M.R2Score(num_regressors=6), M.RootMeanSquaredError(name="e"),
                             M.MeanAbsoluteError()])
    got = r.evaluate(Xr, Yr, verbose=0, return_dict=True)
    pr = r.predict(Xr)
    r2 = sk.r2_score(Yr, pr)
    assert got["r2_score"] == pytest.approx(1 - (1 - r2) * 119 / (120 - 6 - 1), rel=1e-12)
    assert got["e"] == pytest.approx(np.sqrt(sk.mean_squared_error(Yr, pr)), rel=1e-12)
    assert got["mean_absolute_error"] == pytest.approx(sk.mean_absolute_error(Yr, pr), rel=1e-12)


def test_metric_object_names_drive_callbacks_and_survive_saving(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 6))
    y = (X[:, 0] > 0).astype(float)
    m = classifier(1, "sigmoid", "binary_crossentropy",
                   ["accuracy", M.Precision(thresholds=0.6, name="strict_precision")])
    stop = fastnn.callbacks.EarlyStopping(monitor="val_strict_precision", mode="max",
                                          patience=0)
    h = m.fit(X, y, epochs=30, verbose=0, validation_split=0.25, callbacks=[stop])
    assert "val_strict_precision" in h.history
    path = tmp_path / "m.fastnn"
    m.save(path)
    loaded = fastnn.load_model(path)
    assert [repr(o) for o in loaded._metric_objs] == [repr(o) for o in m._metric_objs]
    assert loaded.evaluate(X, y, verbose=0, return_dict=True) == \
        m.evaluate(X, y, verbose=0, return_dict=True)
    clone = fastnn.models.clone_model(m)
    assert clone.metrics_names == ["loss", "accuracy", "strict_precision"]


@pytest.mark.parametrize("make, match", [
    (lambda: M.Precision(top_k=2), "top_k is not supported"),
    (lambda: M.Precision(thresholds=[0.3, 0.5]), "one threshold only"),
    (lambda: M.Recall(thresholds=1.5), r"thresholds"),
    (lambda: M.AUC(curve="DET"), "curve"),
    (lambda: M.AUC(summation_method="trapezoid"), "summation_method"),
    (lambda: M.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: M.BinaryAccuracy(threshold=float("nan")), "threshold"),
    (lambda: M.TopKCategoricalAccuracy(k=0), "k"),
    (lambda: M.R2Score(class_aggregation="variance_weighted_average"), "uniformly"),
    (lambda: M.Accuracy(dtype="float16"), "dtype=None"),
])
def test_unsupported_metric_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_metric_object_misuse_raises():
    with pytest.raises(TypeError, match="unexpected keyword.*bogus"):
        M.Precision(bogus=1)
    with pytest.raises(ValueError, match="class_id must be below the number of outputs, 3"):
        classifier(3, "sigmoid", "binary_crossentropy", [M.Recall(class_id=3)])
    with pytest.raises(ValueError, match="listed twice"):
        classifier(1, "sigmoid", "binary_crossentropy", [M.AUC(), "auc"])
    with pytest.raises(ValueError, match="cannot be named 'loss'"):
        classifier(1, "sigmoid", "binary_crossentropy", [M.AUC(name="loss")])
    with pytest.raises(TypeError, match="invalid type for argument `metrics`"):
        classifier(1, "sigmoid", "binary_crossentropy", M.AUC())
