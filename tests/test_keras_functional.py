"""Keras's model-building idioms beyond Sequential: the functional chain
(``Model(inputs, outputs)``), a layer called on data by itself, Keras's execution
settings in compile, and the clear refusals of what fastnn does not run (several
inputs or outputs, subclassed models, constraints, loss weights)."""
import numpy as np
import pytest

import fastnn
from fastnn import layers


def data(n=64, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def test_a_functional_chain_is_the_sequential_of_its_layers_bit_for_bit():
    x, y = data()
    inputs = fastnn.Input(shape=(5,), name="features")
    h = layers.Dense(8, activation="relu", name="hidden")(inputs)
    h = layers.Dropout(0.2)(h)
    outputs = layers.Dense(2, activation="softmax", name="out")(h)
    f = fastnn.Model(inputs=inputs, outputs=outputs, name="chain")
    f = fastnn.Sequential.from_config({**f.get_config(), "seed": 3})  # same seed as s
    s = fastnn.Sequential([fastnn.Input(shape=(5,)), layers.Dense(8, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(2, activation="softmax")],
                          seed=3)
    assert [l.name for l in fastnn.Model(*_chain()).layers] == ["dense_a", "dense_b"]
    for m in (f, s):
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    np.testing.assert_array_equal(f.predict(x), s.predict(x))


def _chain():
    inputs = fastnn.Input(shape=(3,))
    outputs = layers.Dense(2, name="dense_b")(layers.Dense(4, name="dense_a")(inputs))
    return inputs, outputs


def test_model_takes_lists_of_one_and_keras_default_name():
    inputs, outputs = _chain()
    m = fastnn.Model([inputs], [outputs])
    assert isinstance(m, fastnn.Sequential) and m.name == "functional"
    assert m.input_shape == (None, 3) and m.predict(np.ones((2, 3))).shape == (2, 2)


def test_what_is_not_a_linear_chain_is_refused():
    inputs = fastnn.Input(shape=(3,))
    a, b = layers.Dense(2)(inputs), layers.Dense(2)(inputs)
    with pytest.raises(TypeError, match="several inputs.*linear chains"):
        layers.Dense(2)([a, b])
    with pytest.raises(ValueError, match="one input and one output; `outputs` holds 2"):
        fastnn.Model(inputs, [a, b])
    with pytest.raises(ValueError, match="not computed from `inputs`"):
        fastnn.Model(fastnn.Input(shape=(3,)), a)
    with pytest.raises(TypeError, match="invalid `outputs`"):
        fastnn.Model(inputs, np.zeros(3))
    shared = layers.Dense(3)
    h = shared(inputs)
    with pytest.raises(ValueError, match="used already; fastnn has no shared layers"):
        shared(h)
    with pytest.raises(TypeError, match="unexpected arguments"):
        layers.Dense(2)(inputs, mask=None, scale=2)


def test_subclassing_model_is_refused_at_the_class_statement():
    with pytest.raises(TypeError, match=r"class MyModel\(Model\): fastnn has no subclassed"):
        class MyModel(fastnn.Model):
            def call(self, x):
                return x


def test_a_layer_called_on_data_creates_its_weights_and_computes_its_output():
    layer = layers.Dense(3, activation="tanh", kernel_initializer="ones")
    assert layer.weights == []
    x = np.arange(8, dtype=np.float32).reshape(2, 4) / 10
    out = layer(x)
    assert [w.shape for w in layer.weights] == [(4, 3), (3,)]
    np.testing.assert_allclose(out, np.tanh(x @ np.ones((4, 3))), rtol=1e-6)
    np.testing.assert_allclose(layer(x[:1]), out[:1], rtol=1e-6)  # weights kept
    with pytest.raises(ValueError, match=r"run on data by itself \(layer\(x\)\)"):
        fastnn.Sequential([fastnn.Input(shape=(4,)), layer])
    with pytest.raises(ValueError, match="a batch of samples"):
        layers.Dense(2)(np.ones(4))


def test_keras_execution_settings_are_accepted_and_change_nothing():
    x, y = data()
    runs = []
    for kwargs in ({}, dict(run_eagerly=False, jit_compile=True, steps_per_execution=8,
                            auto_scale_loss=True, loss_weights=None)):
        m = fastnn.Sequential([fastnn.Input(shape=(5,)), layers.Dense(2, activation="softmax")],
                              seed=1)
        m.compile("adam", "sparse_categorical_crossentropy", **kwargs)
        m.fit(x, y, epochs=1, verbose=0)
        runs.append(m.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="one output.*loss_weights=None"):
        m.compile("adam", "mse", loss_weights=[0.5])
    with pytest.raises(ValueError, match="steps_per_execution"):
        m.compile("adam", "mse", steps_per_execution=0)
    with pytest.raises(TypeError, match="run_eagerly"):
        m.compile("adam", "mse", run_eagerly="yes")


def test_constraints_and_several_targets_are_refused_clearly():
    with pytest.raises(ValueError, match=r"no constraints \(`kernel_constraint`\).*"
                                         "kernel_constraint=None"):
        layers.Dense(2, kernel_constraint="max_norm")
    layers.Dense(2, kernel_constraint=None, bias_constraint=None, activity_regularizer=None)
    with pytest.raises(AttributeError, match="no attribute 'constraints': fastnn's layers "
                                             "take no weight constraints"):
        fastnn.constraints  # noqa: B018
    x, y = data()
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), layers.Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="list of 2 arrays, one per output.*one output"):
        m.fit(x, [y, y], verbose=0)
    m.fit(x, list(y), epochs=1, verbose=0)  # a plain list of labels is one target


def test_to_json_and_model_from_json_round_trip_the_architecture():
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), layers.Dense(4, activation="relu"),
                           layers.Dropout(0.1), layers.Dense(2)], name="net", seed=3)
    back = fastnn.models.model_from_json(m.to_json())
    assert back.get_config() == m.get_config() and not back.built
    with pytest.raises(ValueError, match="Sequential models only"):
        fastnn.models.model_from_json('{"class_name": "Functional", "config": {}}')
    with pytest.raises(ValueError, match="not JSON"):
        fastnn.models.model_from_json("{")
    with pytest.raises(TypeError, match="returns an int8 copy"):
        m.quantize("int8")
    with pytest.raises(ValueError, match="no LoRA"):
        layers.Dense(3, lora_rank=4)
    with pytest.raises(ValueError, match="noise_shape=None"):
        layers.Dropout(0.5, noise_shape=(None, 1))
    with pytest.raises(ValueError, match="seed"):
        layers.Dropout(0.5, seed=-1)
