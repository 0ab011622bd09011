"""ReLU'(0): ``relu`` uses 1 (the guide's u(z)), ``relu_keras`` uses 0 (Keras,
TensorFlow, JAX, PyTorch).  The two compute the same function and
differ in training only where a pre-activation is exactly 0 -- everywhere in a
layer initialised with zeros."""
import numpy as np
import pytest

import fastnn
from fastnn import activations as A
from fastnn.layers import Dense
from ._needs import needs  # noqa: E402

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y = np.array([0, 1, 1, 1])  # OR (XOR's symmetric first gradient would be 0 either way)


def zero_relu_model(activation):
    model = fastnn.Sequential([fastnn.Input(shape=(2,)),
                               Dense(4, activation=activation, kernel_initializer="zeros",
                                     bias_initializer="zeros"),
                               Dense(1, activation="sigmoid", kernel_initializer="ones")],
                              dtype="float64", seed=0)
    model.compile(optimizer=fastnn.optimizers.SGD(0.5), loss="binary_crossentropy")
    return model


def test_a_zero_initialised_relu_layer_learns_with_relu_and_stays_dead_with_relu_keras():
    learns, dead = zero_relu_model("relu"), zero_relu_model("relu_keras")
    for model in (learns, dead):
        model.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)  # one step
    # every z of the first layer is 0: ReLU'(0) = 1 passes the gradient, 0 stops it
    assert np.abs(learns.layers[0].kernel).max() > 0
    assert np.abs(learns.layers[0].bias).max() > 0
    assert not np.any(dead.layers[0].kernel) and not np.any(dead.layers[0].bias)
    dead.fit(X, Y, epochs=20, batch_size=4, verbose=0)
    assert not np.any(dead.layers[0].kernel)  # still dead, as in Keras


def test_the_first_step_matches_the_numpy_reference():
    """One full-batch SGD step on the zero layer, computed by hand with the
    reference derivatives (fastnn/_reference.py)."""
    from fastnn import _reference as ref

    for act in ("relu", "relu_keras"):
        model = zero_relu_model(act)
        W2 = np.ones((4, 1))
        z1 = np.zeros((4, 4))
        a1 = ref.act_forward(A.get(act), z1)
        p = 1 / (1 + np.exp(-(a1 @ W2)))
        delta2 = (p - Y[:, None]) / len(X)
        delta1 = ref.act_backward(A.get(act), z1, a1, delta2 @ W2.T)
        model.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0)
        np.testing.assert_allclose(model.layers[0].kernel, -0.5 * X.T @ delta1, atol=1e-15)
        np.testing.assert_allclose(model.layers[0].bias, -0.5 * delta1.sum(axis=0), atol=1e-15)


def test_same_predictions_and_the_name_survives_config_save_load_and_clone(tmp_path):
    a = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(8, activation="relu_keras"),
                           Dense(1, activation=A.relu_keras)], seed=3)
    b = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(8, activation="relu"),
                           Dense(1, activation="relu")], seed=3)
    x = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    np.testing.assert_array_equal(A.relu_keras(x), A.relu(x))
    assert a.layers[1].get_config()["activation"] == "relu_keras"
    a.compile(optimizer="adam", loss="mse")
    path = tmp_path / "m.fastnn"
    a.save(path)
    for again in (fastnn.load_model(path), fastnn.clone_model(a)):
        assert [layer.activation for layer in again.layers] == [A.RELU_KERAS, A.RELU_KERAS]


def test_onnx_export_of_relu_keras_is_relu(tmp_path):
    onnx = needs("onnx")
    model = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(3, activation="relu_keras")], seed=0)
    path = tmp_path / "m.onnx"
    model.export(str(path), verbose=False)
    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert "Relu" in ops
