"""Loss objects with from_logits=True: the loss applies the
sigmoid/softmax to a linear last layer.  Training must be the very computation of
the sigmoid/softmax model (bitwise: the same fused C kernels), predict returns the
logits, the loss equals the from-logits formula, and the setting survives saving."""
import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense

CASES = [  # (loss object, units, the activation it stands for, targets)
    (fastnn.losses.BinaryCrossentropy, 1, "sigmoid", "binary"),
    (fastnn.losses.BinaryCrossentropy, 3, "sigmoid", "multilabel"),
    (fastnn.losses.CategoricalCrossentropy, 4, "softmax", "onehot"),
    (fastnn.losses.SparseCategoricalCrossentropy, 4, "softmax", "labels"),
]


def data(kind, units, n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    if kind == "binary":
        return X, (X[:, 0] - X[:, 1] > 0).astype(float)
    if kind == "multilabel":
        return X, (X[:, :units] > 0).astype(float)
    labels = np.argmax(X[:, :units], axis=1)
    return X, (np.eye(units)[labels] if kind == "onehot" else labels)


def model(units, act, dtype, optimizer="adam"):
    return fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(8, activation="tanh"),
                              fastnn.layers.Dropout(0.2), Dense(units, activation=act)],
                             seed=7, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss_cls, units, act, kind", CASES)
def test_training_is_that_of_the_activated_model(loss_cls, units, act, kind, dtype):
    X, y = data(kind, units)
    w = np.random.default_rng(1).uniform(0.5, 2, len(X))
    ref, lg = model(units, act, dtype), model(units, None, dtype)
    ref.compile("adam", loss_cls(), ["accuracy", "auc"])
    lg.compile("adam", loss_cls(from_logits=True), ["accuracy", "auc"])
    h_ref = ref.fit(X, y, epochs=3, batch_size=16, verbose=0, sample_weight=w,
                    validation_split=0.25)
    h_lg = lg.fit(X, y, epochs=3, batch_size=16, verbose=0, sample_weight=w,
                  validation_split=0.25)
    # the AUC ranks float64 probabilities from the logits against the float32 layer's
    # outputs, which round near-equal scores into ties (each moves it by ½/(pos·neg))
    rel_auc = 1e-4 if dtype == "float32" else 1e-12
    for key, values in h_ref.history.items():
        if key.endswith("auc"):
            assert h_lg.history[key] == pytest.approx(values, rel=rel_auc)
        else:
            assert h_lg.history[key] == values, key
    for a, b in zip(lg.get_weights(), ref.get_weights()):
        assert np.array_equal(a, b)
    z = lg.predict(X).astype(np.float64)  # logits
    p = ref.predict(X).astype(np.float64)
    if act == "sigmoid":
        q = 1 / (1 + np.exp(-z))
    else:
        q = np.exp(z - z.max(1, keepdims=True))
        q /= q.sum(1, keepdims=True)
    # float32: both are float32 roundings of one probability (a few ulp of 1.0)
    assert np.allclose(q, p, rtol=0, atol=1e-6 if dtype == "float32" else 1e-13)
    got, want = lg.evaluate(X, y, verbose=0, return_dict=True), ref.evaluate(
        X, y, verbose=0, return_dict=True)
    assert got["loss"] == want["loss"] and got["accuracy"] == want["accuracy"]
    assert got["auc"] == pytest.approx(want["auc"], rel=rel_auc)


@pytest.mark.parametrize("loss_cls, units, act, kind", CASES)
def test_loss_equals_the_from_logits_formula(loss_cls, units, act, kind):
    X, y = data(kind, units, seed=2)
    m = model(units, None, "float64")
    m.compile("sgd", loss_cls(from_logits=True))
    z = m.predict(X)
    if act == "sigmoid":
        Y = np.asarray(y, float).reshape(len(X), -1)
        # ℓ = (1/k) Σ softplus(z) − y z, the stable form
        expected = np.mean(np.mean(np.logaddexp(0, z) - Y * z, axis=1))
    else:
        Y = np.eye(units)[y] if kind == "labels" else y
        lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
        expected = np.mean(lse - (Y * z).sum(1))
    assert m.evaluate(X, y, verbose=0) == pytest.approx(expected, rel=1e-12)


def test_from_logits_survives_save_clone_and_resume(tmp_path):
    X, y = data("labels", 4)
    m = model(4, None, "float32")
    m.compile("adam", fastnn.losses.SparseCategoricalCrossentropy(from_logits=True),
              ["accuracy"])
    m.fit(X, y, epochs=2, verbose=0)
    m.save(tmp_path / "m.fastnn")
    loaded = fastnn.load_model(tmp_path / "m.fastnn")
    assert loaded._from_logits and loaded.loss == "sparse_categorical_crossentropy"
    m.fit(X, y, epochs=2, verbose=0)
    loaded.fit(X, y, epochs=2, verbose=0)
    for a, b in zip(loaded.get_weights(), m.get_weights()):
        assert np.array_equal(a, b)  # resumed exactly: the loss still applies the softmax
    clone = fastnn.models.clone_model(m)
    assert clone._from_logits


def test_from_logits_misuse_raises():
    m = model(1, "sigmoid", "float32")
    with pytest.raises(ValueError, match="would be applied twice"):
        m.compile("adam", fastnn.losses.BinaryCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="cross-entropies only"):
        fastnn.losses.Huber(from_logits=True)
    with pytest.raises(TypeError, match="from_logits"):
        fastnn.losses.BinaryCrossentropy(from_logits="yes")
    lg = model(1, None, "float32")
    with pytest.raises(ValueError, match="softmax over 1 unit"):
        lg.compile("adam", fastnn.losses.CategoricalCrossentropy(from_logits=True))
    lg.compile("adam", fastnn.losses.BinaryCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="would be applied twice"):  # pop + add sigmoid
        lg.pop()
        lg.add(Dense(1, activation="sigmoid"))
