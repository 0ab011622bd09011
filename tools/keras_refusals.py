"""Every Keras idiom fastnn refuses, with the exception it raises: run each with
``import fastnn as keras`` and print a Markdown table (idiom | exception | message).

    python tools/keras_refusals.py

A refusal must come early (at the layer, ``add``, ``compile``, ``fit`` or load,
before any kernel runs), name what fastnn supports instead, and never run something
else; tests/test_keras_refusals.py checks the same idioms are refused.
"""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import fastnn as keras

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")
x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)


def small():
    m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
    return m


def compiled():
    m = small()
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return m


def custom_layer():
    class Scale(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2
    keras.Sequential([keras.Input(shape=(4,)), Scale(), keras.layers.Dense(1)])


def custom_loss():
    class MyLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return (y_true - y_pred) ** 2
    small().compile(optimizer="adam", loss=MyLoss())


def custom_metric():
    class MyMetric(keras.metrics.Metric):
        def update_state(self, y_true, y_pred, sample_weight=None):
            pass
    small().compile(optimizer="adam", loss="mse", metrics=[MyMetric()])


def functional_branches():
    inputs = keras.Input(shape=(4,))
    a = keras.layers.Dense(3)(inputs)
    b = keras.layers.Dense(3)(inputs)
    keras.layers.Dense(2)([a, b])


def two_outputs():
    inputs = keras.Input(shape=(4,))
    keras.Model(inputs, [keras.layers.Dense(3)(inputs), keras.layers.Dense(2)(inputs)])


def subclassed_model():
    class MyModel(keras.Model):
        def call(self, inputs):
            return inputs


def layer_of_a_model_on_data():
    model = small()
    model.layers[0](x)


def load(name):
    return lambda: keras.models.load_model(os.path.join(DATA, name))


def save_h5():
    with tempfile.TemporaryDirectory() as d:
        compiled().save(os.path.join(d, "m.h5"))


def save_axis_none():
    norm = keras.layers.Normalization(axis=None)
    norm.adapt(x)
    m = keras.Sequential([keras.Input(shape=(4,)), norm, keras.layers.Dense(1)])
    with tempfile.TemporaryDirectory() as d:
        m.save(os.path.join(d, "m.keras"))


def save_step():
    m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1, activation="step")])
    with tempfile.TemporaryDirectory() as d:
        m.save(os.path.join(d, "m.keras"))


IDIOMS = [
    ("a custom `Layer` subclass", custom_layer),
    ("a custom `Loss` subclass", custom_loss),
    ("a custom `Metric` subclass", custom_metric),
    ("a loss given as a Python function", lambda: small().compile(
        optimizer="adam", loss=lambda t, p: (t - p) ** 2)),
    ("a metric given as a Python function", lambda: small().compile(
        optimizer="adam", loss="mse", metrics=[lambda t, p: abs(t - p)])),
    ("`layers.Conv2D`", lambda: keras.layers.Conv2D),
    ("`layers.LSTM`", lambda: keras.layers.LSTM),
    ("`layers.Embedding`", lambda: keras.layers.Embedding),
    ("`layers.MaxPooling2D`", lambda: keras.layers.MaxPooling2D),
    ("`layers.Lambda`", lambda: keras.layers.Lambda),
    ("`layers.Concatenate`", lambda: keras.layers.Concatenate),
    ("a layer called on two branches (functional graph)", functional_branches),
    ("`Model(inputs, [out1, out2])` (two outputs)", two_outputs),
    ("a subclassed `Model` (`class M(keras.Model)`)", subclassed_model),
    ("a layer of a model called on data (`model.layers[0](x)`)", layer_of_a_model_on_data),
    ("`keras.constraints`", lambda: keras.constraints),
    ("an unknown activation (`'mish'`)", lambda: keras.layers.Dense(3, activation="mish")),
    ("an unknown initializer (`'variance_scaling'`)",
     lambda: keras.layers.Dense(3, kernel_initializer="variance_scaling")),
    ("a kernel constraint", lambda: keras.layers.Dense(3, kernel_constraint="max_norm")),
    ("an unknown optimizer (`'adafactor'`)", lambda: small().compile(
        optimizer="adafactor", loss="mse")),
    ("an unknown optimizer (`'ftrl'`)", lambda: small().compile(optimizer="ftrl", loss="mse")),
    ("`compile(loss_weights=...)`", lambda: small().compile(
        optimizer="adam", loss="mse", loss_weights=[1.0])),
    ("two targets `fit(x, [y1, y2])`", lambda: compiled().fit(x, [y, y], verbose=0)),
    ("`sample_weight` of the wrong length", lambda: compiled().fit(
        x, y, sample_weight=np.ones(5), verbose=0)),
    ("`mixed_precision.set_global_policy('mixed_float16')`",
     lambda: keras.mixed_precision.set_global_policy("mixed_float16")),
    ("saving to `.h5` (legacy HDF5)", save_h5),
    ("a `Normalization(axis=None)` into a `.keras` file", save_axis_none),
    ("a `step` activation into a `.keras` file", save_step),
    ("loading a `.keras` file with a `Lambda` layer", load("lambda_layer.keras")),
    ("loading a `.keras` file with an activation fastnn lacks",
     load("unsupported_activation.keras")),
    ("loading a `.keras` file with a weight constraint", load("unsupported_constraint.keras")),
    ("loading a `.keras` file whose Activation cannot fold into its Dense",
     load("unfoldable_activation.keras")),
]


def run(func):
    """(where, exception type, message) or (None, None, None) if accepted."""
    try:
        func()
    except Exception as exc:  # the refusal is the result
        return type(exc).__name__, " ".join(str(exc).split())
    return None, None


def main() -> int:
    print("| idiom | exception | message |")
    print("|---|---|---|")
    accepted = []
    for idiom, func in IDIOMS:
        kind, message = run(func)
        if kind is None:
            accepted.append(idiom)
            message = "(accepted)"
        print(f"| {idiom} | {kind or ''} | {message.replace('|', '/')} |")
    if accepted:
        print("\naccepted (not refused):", "; ".join(accepted), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
