"""Keras idioms that public MLP scripts use — custom classes
refused with one clear message, the Activation layer, Flatten/Reshape/Input on image
shapes, calling a model, weights as views with assign, Dense(input_dim=),
initializers.Constant, bias_initializer=None."""
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import initializers
from ._needs import needs
from fastnn.layers import Activation, Dense, Dropout, Flatten, Reshape


def data(n=64, shape=(5,), k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    y = rng.integers(0, k, n)
    return x, y


def trained(layers, x, y, loss="sparse_categorical_crossentropy", epochs=3, seed=3):
    m = fastnn.Sequential(layers, seed=seed)
    m.compile("adam", loss, ["accuracy"])
    h = m.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return m, h.history


# ---------------------------------------------------------------- 1. refused, clearly
def test_custom_layer_subclass_is_refused_at_add():
    class Doubler(fastnn.layers.Layer):
        def call(self, x):
            return 2 * x

    with pytest.raises(TypeError, match=r"add\(\): Doubler is a custom layer class; fastnn "
                       r"runs its own layers in C.*Supported layers: Activation, AlphaDropout, "
                       r"BatchNormalization, Dense, Dropout, Flatten, GaussianDropout, "
                       r"GaussianNoise, InputLayer, LayerNormalization, Normalization, ReLU, "
                       r"Reshape, Softmax, UnitNormalization"):
        fastnn.Sequential([fastnn.Input(shape=(3,)), Doubler(), Dense(1)])
    model = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(1)])
    with pytest.raises(TypeError, match="custom layer class"):
        model.add(Doubler())
    assert len(model.layers) == 1  # nothing changed

    class MyDense(Dense):  # even a subclass of a fastnn layer: its overrides never run
        def call(self, x):
            return x

    with pytest.raises(TypeError, match="MyDense is a custom layer class"):
        model.add(MyDense(2))


def test_custom_loss_and_metric_are_refused_at_compile():
    model = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(1, activation="sigmoid")])

    class FocalLoss(fastnn.losses.Loss):
        def call(self, y_true, y_pred):
            return 0.0

    class Weighted(fastnn.losses.BinaryCrossentropy):
        pass

    def my_loss(y_true, y_pred):
        return 0.0

    for loss, kind in ((FocalLoss(), "FocalLoss is a custom Loss class"),
                       (Weighted(), "Weighted is a custom Loss class"),
                       (my_loss, "my_loss is a Python function")):
        with pytest.raises(TypeError, match=rf"compile\(\): {kind}; fastnn computes the loss "
                           r"and its gradient in C.*Supported losses: \['binary_crossentropy'"):
            model.compile("adam", loss)
    assert model.optimizer is None  # not compiled

    class F1(fastnn.metrics.Metric):
        def __init__(self, name="f1", **kwargs):
            super().__init__(name=name, **kwargs)

    with pytest.raises(TypeError, match=r"F1\(\): F1 is a custom Metric class; fastnn "
                       r"computes metrics itself.*Supported metrics: \['acc'"):
        F1()

    def f1(y_true, y_pred):
        return 0.0

    with pytest.raises(TypeError, match=r"compile\(\): f1 is a Python function; fastnn "
                       "computes metrics itself"):
        model.compile("adam", "binary_crossentropy", metrics=[f1])


def test_keras_layers_fastnn_lacks_say_so_on_import():
    with pytest.raises(ImportError, match=r"fastnn.layers has no GroupNormalization: fastnn "
                       r"trains dense networks in C from the layers Activation, AlphaDropout, "
                       r"BatchNormalization, Dense"):
        from fastnn.layers import GroupNormalization  # noqa: F401
    import fastnn as keras
    with pytest.raises(ImportError, match="has no LSTM"):
        keras.layers.LSTM(4)
    with pytest.raises(AttributeError):  # any other name: Python's usual error
        keras.layers.NoSuchThing  # noqa: B018
    assert not hasattr(keras.layers, "NoSuchThing")


def test_relu_and_softmax_layers_are_activation_layers(tmp_path):
    from fastnn.layers import ReLU, Softmax

    x, y = data()
    a, _ = trained([fastnn.Input(shape=(5,)), Dense(8), ReLU(), Dense(3), Softmax()], x, y)
    b, _ = trained([fastnn.Input(shape=(5,)), Dense(8, activation="relu"),
                    Dense(3, activation="softmax")], x, y)
    assert np.array_equal(a.predict(x), b.predict(x))
    assert [l.name for l in a.layers] == ["dense", "re_lu", "dense_1", "softmax"]
    a.save(tmp_path / "a.fastnn")
    loaded = fastnn.load_model(tmp_path / "a.fastnn")
    assert [type(l).__name__ for l in loaded.layers] == ["Dense", "ReLU", "Dense", "Softmax"]
    assert np.array_equal(loaded.predict(x), a.predict(x))
    with pytest.raises(ValueError, match=r"ReLU\(\): fastnn's relu is max\(z, 0\) only. "
                       r"Expected max_value=None. Received: max_value=6"):
        ReLU(max_value=6)
    with pytest.raises(ValueError, match="axis=-1"):
        Softmax(axis=0)


def test_calling_a_layer_of_a_model_on_data_is_refused_with_the_alternative():
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(3)])
    with pytest.raises(TypeError, match=r"belongs to a model.*model\(x\)"):
        m.layers[0](np.zeros((1, 2)))


# ---------------------------------------------------------------- 2. Activation layer
def test_activation_layer_is_the_dense_activation_bit_for_bit():
    x, y = data()
    a, ha = trained([fastnn.Input(shape=(5,)), Dense(8), Activation("tanh"), Dropout(0.2),
                     Dense(3), Activation("softmax")], x, y)
    b, hb = trained([fastnn.Input(shape=(5,)), Dense(8, activation="tanh"), Dropout(0.2),
                     Dense(3, activation="softmax")], x, y)
    assert ha == hb
    assert np.array_equal(a.predict(x), b.predict(x))
    assert np.allclose(a.predict(x).sum(axis=1), 1, atol=1e-5)  # the softmax is applied
    assert [l.name for l in a.layers] == ["dense", "activation", "dropout", "dense_1",
                                          "activation_1"]
    assert a.layers[0].activation == fastnn.activations.LINEAR  # the layer keeps its own


def test_activation_layer_forms_and_imports():
    import fastnn as keras
    from fastnn.layers import Activation as A2
    assert A2 is keras.layers.Activation is Activation
    x, y = data()
    for act in ("relu", fastnn.activations.relu):
        a, _ = trained([fastnn.Input(shape=(5,)), Dense(8), Activation(act), Dense(3),
                        Activation("softmax")], x, y)
        b, _ = trained([fastnn.Input(shape=(5,)), Dense(8, activation="relu"), Dense(3,
                        activation="softmax")], x, y)
        assert np.array_equal(a.predict(x), b.predict(x))
    # relu commutes with inverted dropout, so it may cross one
    a, _ = trained([fastnn.Input(shape=(5,)), Dense(8), Dropout(0.3), Activation("relu"),
                    Dense(3, activation="softmax")], x, y)
    b, _ = trained([fastnn.Input(shape=(5,)), Dense(8, activation="relu"), Dropout(0.3),
                    Dense(3, activation="softmax")], x, y)
    assert np.array_equal(a.predict(x), b.predict(x))
    # a linear Activation changes nothing, even after a non-linear Dense
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(4, activation="relu"),
                           Activation("linear"), Dense(1)])
    assert m.layers[0]._act == fastnn.activations.RELU


@pytest.mark.parametrize("layers, match", [
    (lambda: [Dense(4, activation="relu"), Activation("tanh")],
     r"Activation \(new layer\) follows Dense 'dense', which already applies 'relu'.*"
     r"needs activation=None"),
    (lambda: [Activation("relu"), Dense(4)],
     r"Activation \(new layer\) comes before any Dense layer"),
    (lambda: [Dense(4), Dropout(0.5), Activation("sigmoid")],
     r"comes after a Dropout.*exact across a Dropout only for relu, leaky_relu and linear"),
    (lambda: [Dense(4), Activation("relu"), Activation("tanh")],
     r"already applies 'relu'"),
])
def test_activation_layers_fastnn_cannot_fold_are_refused(layers, match):
    with pytest.raises(ValueError, match=match):
        fastnn.Sequential([fastnn.Input(shape=(3,)), *layers()])


def test_activation_layer_compile_pairing_pop_save_and_summary(tmp_path):
    x, y = data(k=2)
    model = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(6), Activation("relu"),
                               Dense(1), Activation("sigmoid")], seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sigmoid + BCE: the folded pair is standard
        model.compile("adam", "binary_crossentropy", ["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    p = model.predict(x)
    assert ((p > 0) & (p < 1)).all()
    model.save(tmp_path / "m.fastnn")
    loaded = fastnn.load_model(tmp_path / "m.fastnn")
    assert [type(l).__name__ for l in loaded.layers] == ["Dense", "Activation", "Dense",
                                                         "Activation"]
    assert np.array_equal(loaded.predict(x), p)
    loaded.fit(x, y, epochs=1, verbose=0)  # trains on from the saved state
    model.fit(x, y, epochs=1, verbose=0)
    assert np.array_equal(loaded.predict(x), model.predict(x))
    lines = []
    model.summary(print_fn=lines.append)
    assert any("activation_1 (Activation)" in l and "(None, 1)" in l for l in lines)
    # pop the Activation: the last Dense is linear again, and the pairing is rechecked
    before = model.predict(x)
    with pytest.warns(fastnn.MismatchedLossWarning, match="'linear' with loss "
                      "'binary_crossentropy'"):
        popped = model.pop()
    assert isinstance(popped, Activation)
    logits = model.predict(x).astype(np.float64)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), before, rtol=1e-5, atol=1e-6)


def test_onnx_export_of_activation_and_flatten_models(tmp_path):
    needs("onnx")
    ort = needs("onnxruntime")
    x = np.random.default_rng(0).random((7, 4, 3)).astype(np.float32)
    model = fastnn.Sequential([Flatten(input_shape=(4, 3)), Dense(5), Activation("tanh"),
                               Dense(2), Activation("softmax")], seed=0)
    model.export(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    out = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(out, model.predict(x), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- 3. images: Flatten, Reshape
@pytest.mark.parametrize("first", [
    lambda: [Flatten(input_shape=(6, 4))],
    lambda: [fastnn.Input(shape=(6, 4)), Flatten()],
    lambda: [fastnn.Input(shape=(6, 4)), Reshape((24,))],
    lambda: [fastnn.Input(shape=(6, 4)), Reshape((-1,))],
    lambda: [Reshape((4, 6), input_shape=(24,)), Flatten()],
    lambda: [Flatten()],  # the shape comes from x in fit
])
def test_image_models_train_as_their_flat_twin(first):
    x, y = data(shape=(6, 4))
    layers = first()
    m, h = trained([*layers, Dense(8, activation="relu"), Dense(3, activation="softmax")],
                   x if not isinstance(layers[0], Reshape) else x.reshape(len(x), 24), y)
    flat, hf = trained([fastnn.Input(shape=(24,)), Dense(8, activation="relu"),
                        Dense(3, activation="softmax")], x.reshape(len(x), 24), y)
    assert h == hf
    xs = x if not isinstance(layers[0], Reshape) else x.reshape(len(x), 24)
    assert np.array_equal(m.predict(xs), flat.predict(x.reshape(len(x), 24)))
    assert np.array_equal(m(xs), m.predict(xs))


def test_image_input_is_checked_in_full_then_flattened_without_a_copy():
    m = fastnn.Sequential([Flatten(input_shape=(28, 28)), Dense(10, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    x = np.zeros((5, 28, 28), np.float32)
    X = m._inputs("fit", x)
    assert X.shape == (5, 784) and np.shares_memory(X, x)  # a view, no copy
    for bad in (np.zeros((5, 28, 27)), np.zeros((5, 784)), np.zeros((5, 28, 28, 1)),
                np.zeros((5, 27, 29))):
        for call in (lambda: m.predict(bad), lambda: m.fit(bad, np.zeros(5), verbose=0),
                     lambda: m.evaluate(bad, np.zeros(5), verbose=0), lambda: m(bad)):
            with pytest.raises(ValueError, match=r"the model takes samples of shape "
                               r"\(28, 28\); expected x of shape \(n_samples, 28, 28\)"):
                call()
    bad = np.zeros((5, 28, 28))
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.predict(bad)
    with pytest.raises(ValueError, match=r"validation_data\[0\] has shape \(2, 784\)"):
        m.fit(x, np.zeros(5), validation_data=(np.zeros((2, 784)), np.zeros(2)), verbose=0)


def test_dense_on_images_needs_flatten_and_reshapes_are_checked():
    x = np.zeros((4, 6, 4), np.float32)
    m = fastnn.Sequential([Dense(3)])
    m.compile("adam", "mse")
    with pytest.raises(ValueError, match=r"Dense 'dense' receives samples of shape "
                       r"\(None, 6, 4\).*Put Flatten\(\) before it"):
        m.fit(x, np.zeros((4, 3)), verbose=0)
    assert not m.built
    with pytest.raises(ValueError, match=r"Dense\(\): invalid input shape; Dense layers take "
                       r"flat feature vectors \(for images, start with Flatten"):
        Dense(3, input_shape=(6, 4))
    with pytest.raises(ValueError, match=r"target_shape \(5,\) holds 5 values per sample, "
                       r"but its input \(None, 6, 4\) has 24"):
        fastnn.Sequential([fastnn.Input(shape=(6, 4)), Reshape((5,))])
    with pytest.raises(ValueError, match=r"fastnn reshapes only the input"):
        fastnn.Sequential([fastnn.Input(shape=(6,)), Dense(4), Reshape((2, 2))])
    with pytest.raises(ValueError, match=r"at most one -1"):
        Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"channels_last"):
        Flatten(data_format="channels_first")


def test_image_model_save_load_summary_and_config(tmp_path):
    x, y = data(shape=(6, 4))
    m, _ = trained([fastnn.Input(shape=(6, 4)), Reshape((4, 6)), Flatten(),
                    Dense(8, activation="relu"), Dense(3, activation="softmax")], x, y)
    m.save(tmp_path / "img.fastnn")
    loaded = fastnn.load_model(tmp_path / "img.fastnn")
    assert np.array_equal(loaded.predict(x), m.predict(x))
    with pytest.raises(ValueError, match=r"samples of shape \(6, 4\)"):
        loaded.predict(x.reshape(len(x), 24))
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "reshape (Reshape)" in text and "(None, 4, 6)" in text
    assert "flatten (Flatten)" in text and "(None, 24)" in text
    # an image model trained without a declared input saves the shape fit saw
    m2, _ = trained([Flatten(), Dense(3, activation="softmax")], x, y)
    assert m2.get_config()["layers"][0] == {"class_name": "InputLayer",
                                            "config": {"shape": [6, 4],
                                                       "name": "input_layer"}}
    m2.save(tmp_path / "img2.fastnn")
    assert np.array_equal(fastnn.load_model(tmp_path / "img2.fastnn").predict(x),
                          m2.predict(x))
    clone = fastnn.clone_model(m)
    assert clone._input_shape == (6, 4)


# ---------------------------------------------------------------- 4. calls and weights
def test_calling_an_unbuilt_model_builds_it_then_weights_are_readable():
    model = fastnn.Sequential([Dense(4, activation="relu"), Dense(2)], seed=0)
    assert model.weights == []  # no input size yet
    x = np.ones((3, 5), np.float32)
    out = model(x)
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    assert [w.shape for w in model.weights] == [(5, 4), (4,), (4, 2), (2,)]
    assert [w.path for w in model.weights] == ["sequential/dense/kernel", "sequential/dense/bias",
                                               "sequential/dense_1/kernel",
                                               "sequential/dense_1/bias"]
    assert np.array_equal(out, model.predict(x))
    with pytest.raises(ValueError, match="training=True"):
        model(x, training=True)
    model.layers[0].trainable = False
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]
    assert [w.path for w in model.trainable_weights] == ["sequential/dense_1/kernel",
                                                         "sequential/dense_1/bias"]
    assert [w.path for w in model.non_trainable_weights] == ["sequential/dense/kernel",
                                                             "sequential/dense/bias"]
    assert model.layers[1].trainable_weights[0].trainable
    assert Dropout(0.1).weights == [] and Dense(3).weights == []


def test_assign_writes_through_the_model_after_checking():
    model = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(1, activation="sigmoid")])
    dense = model.layers[0]
    x = np.ones((2, 3), np.float32)
    dense.kernel.assign(np.zeros((3, 1)))
    dense.bias.assign([np.log(3.0)])  # the imbalanced-data tutorial's initial bias
    np.testing.assert_allclose(model.predict(x), 0.75, rtol=1e-6)
    dense.bias.assign_sub([np.log(3.0)])
    np.testing.assert_allclose(model.predict(x), 0.5, rtol=1e-6)
    assert np.array_equal(dense.kernel.numpy(), np.zeros((3, 1)))
    before = model.get_weights()
    for bad, exc, match in (
            (np.zeros((1, 3)), ValueError, r"expected a value of shape \(3, 1\). Received: "
             r"value.shape=\(1, 3\)"),
            ([[np.nan], [0], [0]], ValueError, "NaN"),
            ("abc", TypeError, "unsupported dtype")):
        with pytest.raises(exc, match=match):
            dense.kernel.assign(bad)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match="read-only"):
        dense.kernel[0, 0] = 1.0
    derived = dense.kernel * 2
    assert type(derived) is np.ndarray and type(dense.kernel[0]) is not np.ndarray
    with pytest.raises(ValueError, match="not a layer's weight"):
        dense.kernel[0].assign([1.0])
    popped = model.pop()
    with pytest.raises(ValueError, match="belongs to no model"):
        popped._assign("kernel", np.zeros((3, 1)))


def test_input_dim_constant_and_none_initializers(tmp_path):
    model = fastnn.Sequential([Dense(4, input_dim=3, kernel_initializer=initializers.Constant(
        0.25), bias_initializer=None), Dense(1, bias_initializer=initializers.Constant(-2))],
        seed=0)
    assert model._input_dim == 3  # input_dim declares the input, as input_shape=(3,)
    w = model.get_weights()
    assert (w[0] == 0.25).all() and (w[3] == -2).all()
    # bias_initializer=None is Keras 3's glorot_uniform: r = sqrt(6 / (3 + 4))
    assert (w[1] != 0).all() and (np.abs(w[1]) <= np.sqrt(6 / 7)).all()
    model.save(tmp_path / "c.fastnn")
    config = fastnn.load_model(tmp_path / "c.fastnn").get_config()
    assert config["layers"][0]["config"]["kernel_initializer"] == {
        "class_name": "Constant", "config": {"value": 0.25}}
    assert config == model.get_config()
    with pytest.raises(ValueError, match="input_shape or input_dim, not both"):
        Dense(2, input_dim=3, input_shape=(3,))
    with pytest.raises(ValueError, match=r"Constant\(\): .*`value`"):
        initializers.Constant(float("nan"))


# ---------------------------------------------------------------- 6. metrics
def test_confusion_counts_and_loss_named_metrics(tmp_path):
    from fastnn import metrics as M

    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4))
    y = (x[:, 0] > 0.3).astype(float)
    w = rng.uniform(0.5, 2, 120)
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(1, activation="sigmoid")], seed=0)
    m.compile("adam", "binary_crossentropy", weighted_metrics=[  # weighted: Keras 3's rule
              M.TruePositives(name="tp"), M.FalsePositives(name="fp"),
              M.TrueNegatives(name="tn"), M.FalseNegatives(thresholds=0.3, name="fn"),
              M.BinaryCrossentropy(name="bce")])
    m.fit(x, y, epochs=2, verbose=0)
    logs = m.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    p = m.predict(x)[:, 0].astype(np.float64)
    pos, neg = y > 0.5, y <= 0.5
    assert logs["tp"] == pytest.approx(w[(p > 0.5) & pos].sum(), rel=1e-12)
    assert logs["fp"] == pytest.approx(w[(p > 0.5) & neg].sum(), rel=1e-12)
    assert logs["tn"] == pytest.approx(w[(p <= 0.5) & neg].sum(), rel=1e-12)
    assert logs["fn"] == pytest.approx(w[(p <= 0.3) & pos].sum(), rel=1e-12)
    # the metric is the loss formula: equal to the loss when nothing else is added
    assert logs["bce"] == pytest.approx(logs["loss"] * len(x) / w.sum(), rel=1e-5)
    m.save(tmp_path / "m.fastnn")
    assert fastnn.load_model(tmp_path / "m.fastnn").evaluate(
        x, y, sample_weight=w, verbose=0, return_dict=True) == pytest.approx(logs)

    c = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(3, activation="softmax")], seed=0)
    labels = rng.integers(0, 3, 120)
    c.compile("adam", "sparse_categorical_crossentropy", ["sparse_categorical_crossentropy"])
    logs = c.evaluate(x, labels, verbose=0, return_dict=True)
    assert logs["sparse_categorical_crossentropy"] == pytest.approx(logs["loss"], rel=1e-5)
    with pytest.raises(ValueError, match="needs targets shaped like the output"):
        c.compile("adam", "sparse_categorical_crossentropy", ["binary_crossentropy"])
    with pytest.raises(ValueError, match="needs integer labels"):
        m.compile("adam", "binary_crossentropy", ["sparse_categorical_crossentropy"])
    with pytest.raises(ValueError, match=r"BinaryCrossentropy\(\): fastnn computes this "
                       "metric from the probabilities"):
        M.BinaryCrossentropy(from_logits=True)
