"""Keras's model surface: get_layer, pop,
metrics_names, train/test/predict_on_batch, fit(initial_epoch=), verbose on
evaluate/predict, utils.to_categorical / set_random_seed, and no silent
``trainable = False``."""
import numpy as np
import pytest

import fastnn
from fastnn import utils
from fastnn.layers import Dense, Dropout


def model(seed=0):
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(8, activation="relu", name="h"),
                           Dropout(0.2), Dense(3, activation="softmax", name="out")],
                          seed=seed)
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return m


def data(n=60):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n)


def test_get_layer():
    m = model()
    assert m.get_layer("h") is m.layers[0] and m.get_layer(index=-1).name == "out"
    with pytest.raises(ValueError, match=r"no layer named 'x'.*\['h', 'dropout', 'out'\]"):
        m.get_layer("x")
    with pytest.raises(ValueError, match="exactly one"):
        m.get_layer()
    with pytest.raises(ValueError, match="out of range"):
        m.get_layer(index=3)


def test_pop_keeps_the_other_weights_and_rechecks_the_loss():
    X, y = data()
    m = model()
    m.fit(X, y, epochs=1, verbose=0)
    kept = m.layers[0].get_weights()
    with pytest.raises(ValueError, match="Dropout layer last"):
        m.pop()
    assert [l.name for l in m.layers] == ["h", "dropout", "out"]  # unchanged
    m2 = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(8, name="h"),
                            Dense(3, activation="softmax"), Dense(3, activation="softmax")],
                           seed=0)
    m2.compile("adam", "categorical_crossentropy")
    m2.build()
    first = m2.layers[0].get_weights()
    popped = m2.pop()
    assert isinstance(popped, Dense) and len(m2.layers) == 2 and m2.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    assert all(np.array_equal(a, b) for a, b in zip(m2.layers[0].get_weights(), first))
    assert m2.predict(np.ones((2, 4))).shape == (2, 3)
    m2.fit(np.ones((6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]], verbose=0)
    assert kept[0].shape == (4, 8)
    empty = fastnn.Sequential()
    with pytest.raises(TypeError, match="no layers"):
        empty.pop()


def test_on_batch_methods_and_metrics_names():
    X, y = data()
    m = model()
    assert m.metrics_names == ["loss", "accuracy"]
    before = m.get_weights()
    loss, acc = m.train_on_batch(X, y)
    assert m.optimizer.iterations == 1 and 0 <= acc <= 1 and np.isfinite(loss)
    assert not np.array_equal(before[0], m.get_weights()[0])
    assert m.test_on_batch(X, y, return_dict=True).keys() == {"loss", "accuracy"}
    assert np.array_equal(m.predict_on_batch(X), m.predict(X))


def test_initial_epoch_and_verbose(capsys):
    X, y = data()
    h = model().fit(X, y, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4]
    m = model()
    m.evaluate(X, y)  # verbose="auto": one line, as Keras's last progress line
    m.predict(X, verbose=1)
    out = capsys.readouterr().out.splitlines()
    # one C call over 60 rows (chunks of up to 1024): one step, the bar's final line
    assert out[0].startswith("1/1 ━") and "accuracy:" in out[0] and "loss:" in out[0]
    assert out[1].startswith("1/1 ━") and "/step" in out[1]
    m.evaluate(X, y, verbose=0)
    assert capsys.readouterr().out == ""


def test_trainable_false_freezes_the_layer(tmp_path):
    """Keras's freezing: the frozen layer's weights and optimizer state stay put in
    the C loop while the others train through it; the flag is saved and can be
    undone."""
    X, y = data(200)
    m = model()
    m.build()
    frozen = m.layers[0]
    frozen.trainable = False
    before, out_before = frozen.get_weights(), m.layers[2].get_weights()
    m.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen.get_weights(), before))
    assert not np.array_equal(m.layers[2].get_weights()[0], out_before[0])
    w_off = frozen._w_off
    assert not m._slots[0][w_off:w_off + 4 * 8].any()  # Adam's moments never moved
    m.save(tmp_path / "m.fastnn")
    assert fastnn.load_model(tmp_path / "m.fastnn").layers[0].trainable is False
    frozen.trainable = True
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    assert not np.array_equal(frozen.get_weights()[0], before[0])
    with pytest.raises(TypeError, match="trainable"):
        frozen.trainable = "no"


def test_to_categorical_and_set_random_seed():
    assert utils.to_categorical([0, 2, 1]).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert utils.to_categorical(np.array([[1], [0]]), num_classes=3).shape == (2, 3)
    with pytest.raises(ValueError, match="not below"):
        utils.to_categorical([3], num_classes=3)
    with pytest.raises(ValueError, match="integers"):
        utils.to_categorical([0.5])
    utils.set_random_seed(42)
    a = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2)])
    a.build()
    utils.set_random_seed(42)
    b = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2)])
    b.build()
    c = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2)])
    c.build()
    assert a.seed == b.seed != c.seed
    assert np.array_equal(a.get_weights()[0], b.get_weights()[0])
    fastnn.utils._seeds = None  # back to OS seeds for the other tests


def test_activation_functions_loss_objects_and_layer_weights():
    m = fastnn.Sequential([fastnn.Input(shape=(4,)),
                           Dense(8, activation=fastnn.activations.gelu),
                           Dense(3, activation=fastnn.activations.softmax)], seed=0)
    assert m.layers[0].activation == fastnn.activations.GELU
    with pytest.raises(TypeError, match="cannot call a Python function"):
        Dense(2, activation=lambda z: z)
    # Keras builds at once: weights exist before any fit
    kernel, bias = m.layers[0].get_weights()
    assert kernel.shape == (4, 8) and bias.shape == (8,)
    m.layers[1].set_weights([np.ones((8, 3)), np.zeros(3)])
    assert np.array_equal(m.get_weights()[2], np.ones((8, 3)))
    assert np.array_equal(m.get_weights()[0], kernel)  # the other layer untouched
    with pytest.raises(ValueError, match=r"expected shape|has shape"):
        m.layers[1].set_weights([np.ones((8, 2)), np.zeros(2)])
    m.compile("adam", fastnn.losses.SparseCategoricalCrossentropy(), ["accuracy"])
    assert m.loss == "sparse_categorical_crossentropy"
    with pytest.raises(ValueError, match="from_logits applies to the cross-entropies"):
        fastnn.losses.MeanSquaredError(from_logits=True)
    with pytest.raises(ValueError, match="would be applied twice"):  # softmax layer
        m.compile("adam", fastnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="delta=2"):
        fastnn.losses.Huber(delta=2)


def weighted_model():
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(8, activation="tanh"),
                           Dense(3, activation="softmax")], seed=0, dtype="float64")
    m.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    return m


def test_sample_and_class_weights():
    """Keras's weighting: loss = Σ w ℓ / n, weighted_metrics weighted means (metrics=
    stay unweighted: tests/test_weighted_metrics.py); class_weight is a
    per-class sample weight; weights of 1 train as no weights (up to rounding)."""
    X, y = data(120)
    w = np.random.default_rng(3).uniform(0, 2, len(y))
    m = weighted_model()
    loss, acc = m.evaluate(X, y, verbose=0, sample_weight=w)
    p = m.predict(X)
    assert loss == pytest.approx(np.sum(w * -np.log(p[np.arange(len(y)), y])) / len(y))
    assert acc == pytest.approx(np.sum(w * (p.argmax(1) == y)) / w.sum())
    plain, ones = weighted_model(), weighted_model()
    plain.fit(X, y, epochs=2, batch_size=16, verbose=0)
    ones.fit(X, y, epochs=2, batch_size=16, verbose=0, sample_weight=np.ones(len(y)))
    for a, b in zip(plain.get_weights(), ones.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    cw = {0: 1.0, 1: 2.5, 2: 0.5}
    by_class, by_sample = weighted_model(), weighted_model()
    h1 = by_class.fit(X, y, epochs=2, verbose=0, class_weight=cw, validation_split=0.25)
    h2 = by_sample.fit(X, y, epochs=2, verbose=0, validation_split=0.25,
                       sample_weight=np.array([cw[c] for c in y]))
    assert h1.history == h2.history
    assert all(np.array_equal(a, b) for a, b in zip(by_class.get_weights(),
                                                    by_sample.get_weights()))
    h = weighted_model().fit(X[:90], y[:90], epochs=1, verbose=0,
                             validation_data=(X[90:], y[90:], w[90:]))
    assert "val_accuracy" in h.history
    with pytest.raises(ValueError, match="one value >= 0 per sample"):
        weighted_model().fit(X, y, verbose=0, sample_weight=-w)
    with pytest.raises(ValueError, match="one value >= 0 per sample"):
        weighted_model().fit(X, y, verbose=0, sample_weight=w[:5])
    with pytest.raises(ValueError, match=r"no weight for classes \[2\]"):
        weighted_model().fit(X, y, verbose=0, class_weight={0: 1, 1: 2})
    with pytest.raises(TypeError, match="class_weight"):
        weighted_model().fit(X, y, verbose=0, class_weight=[1, 2, 3])


def test_orthogonal_and_initializer_objects():
    from fastnn import initializers as I

    for n_in, n_out in ((6, 4), (3, 7)):
        m = fastnn.Sequential([fastnn.Input(shape=(n_in,)),
                               Dense(n_out, kernel_initializer=I.Orthogonal())],
                              seed=0, dtype="float64")
        m.build()
        W = m.get_weights()[0]
        gram = W.T @ W if n_in >= n_out else W @ W.T
        np.testing.assert_allclose(gram, np.eye(min(n_in, n_out)), atol=1e-12)
    assert Dense(2, kernel_initializer=I.HeNormal()).kernel_initializer == "he_normal"
    with pytest.raises(ValueError, match="Sequential\\(seed"):
        I.GlorotUniform(seed=1)


def test_l1_l2_defaults_are_keras_3s():
    """Keras 3 exports L1L2 as keras.regularizers.l1_l2: both strengths default to 0
    (Keras 2's l1_l2 function defaulted to 0.01 each; code written for Keras 3 that
    says l1_l2(l2=1e-4) must not get an L1 penalty)."""
    from fastnn import regularizers
    assert regularizers.l1_l2(l2=1e-4).get_config() == {"l1": 0.0, "l2": 1e-4}
    assert regularizers.l1_l2().get_config() == regularizers.L1L2().get_config()
