"""Every Keras idiom fastnn refuses, with the exception it raises: run each with
``import fastnn as keras`` and print a Markdown table (idiom | where refused |
exception | message), then the Keras settings fastnn accepts and ignores.  No Keras
(and no TensorFlow) needed: a tf.data dataset is a small stand-in object.

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




def fit_with(**kwargs):
    return lambda: compiled().fit(x, y, verbose=0, **kwargs)


def two_inputs():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(2,))
    keras.Model([a, b], keras.layers.Dense(1)(a))


def load_legacy_h5():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.h5")
        try:
            import h5py
            with h5py.File(path, "w") as f:  # Keras 2's legacy full-model layout
                f.attrs["model_config"] = '{"class_name": "Sequential", "config": {}}'
                f.attrs["keras_version"] = "2.15.0"
                f.create_group("model_weights")
        except ImportError:
            with open(path, "wb") as f:
                f.write(b"\x89HDF\r\n\x1a\n" + bytes(504))
        keras.models.load_model(path)


def load_weights_legacy_h5():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.h5")
        try:
            import h5py
            with h5py.File(path, "w") as f:  # Keras 2's legacy weights layout
                f.attrs["layer_names"] = [b"dense", b"dense_1"]
                for name, shape in ((b"dense", (4, 3)), (b"dense_1", (3, 1))):
                    g = f.create_group(name.decode())
                    g.attrs["weight_names"] = [name + b"/kernel:0", name + b"/bias:0"]
                    g.create_dataset(name.decode() + "/kernel:0", data=np.zeros(shape))
                    g.create_dataset(name.decode() + "/bias:0", data=np.zeros(shape[1]))
        except ImportError:
            with open(path, "wb") as f:
                f.write(b"\x89HDF\r\n\x1a\n" + bytes(504))
        compiled().load_weights(path)


def load_weights_of_another_shape():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.weights.h5")
        other = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5),
                                  keras.layers.Dense(1)])
        other.save_weights(path)
        compiled().load_weights(path)


def save_savedmodel_dir():
    with tempfile.TemporaryDirectory() as d:
        compiled().save(os.path.join(d, "saved_model_dir"), save_format="tf")


class TFDataStandIn:
    """What ``tf.data.Dataset.from_tensor_slices((x, y))`` (unbatched) looks like to
    code that does not import TensorFlow: iterable, ``element_spec``, no ``__len__``,
    single samples rather than batches."""

    element_spec = ("TensorSpec(shape=(4,))", "TensorSpec(shape=())")

    def __init__(self, batched=None):
        self.batched = batched

    def __iter__(self):
        if self.batched is None:
            return iter(zip(x, y))
        n = self.batched
        return iter([(x[i:i + n], y[i:i + n]) for i in range(0, len(x), n)])

    def batch(self, n):
        return TFDataStandIn(n)


def custom_optimizer():
    class MyOpt(keras.optimizers.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            pass
    small().compile(optimizer=MyOpt(learning_rate=0.1), loss="mse")


def callable_initializer():
    keras.layers.Dense(3, kernel_initializer=lambda shape, dtype=None: np.zeros(shape))


def callable_regularizer():
    keras.layers.Dense(3, kernel_regularizer=lambda w: 0.01 * (w ** 2).sum())


def layer_name(name):
    return lambda: getattr(keras.layers, name)


IDIOMS = [
    # --- layers
    ("a custom `Layer` subclass", custom_layer),
    ("`keras.Layer` (Keras 3's top-level name)", lambda: keras.Layer),
    ("`layers.Lambda(fn)`", lambda: keras.layers.Lambda(lambda t: t)),
    *[(f"`layers.{n}`", layer_name(n)) for n in (
        "Conv1D", "Conv2D", "LSTM", "GRU", "SimpleRNN", "Embedding", "MaxPooling2D",
        "GlobalAveragePooling1D", "Concatenate", "Add", "Dot", "Subtract", "LeakyReLU",
        "PReLU", "Rescaling", "RandomFlip", "TextVectorization", "RMSNormalization")],
    ("`Dense(lora_rank=4)`", lambda: keras.layers.Dense(3, lora_rank=4)),
    ("`Dropout(0.5, noise_shape=(None, 1))`",
     lambda: keras.layers.Dropout(0.5, noise_shape=(None, 1))),
    # --- model structure
    ("a layer called on two branches (functional graph)", functional_branches),
    ("`Model(inputs, [out1, out2])` (two outputs)", two_outputs),
    ("`Model([in1, in2], out)` (two inputs)", two_inputs),
    ("a subclassed `Model` (`class M(keras.Model)`)", subclassed_model),
    ("a layer of a model called on data (`model.layers[0](x)`)", layer_of_a_model_on_data),
    # --- activations, initializers, regularizers, constraints
    ("an unknown activation (`'mish'`)", lambda: keras.layers.Dense(3, activation="mish")),
    ("an activation given as a Python function",
     lambda: keras.layers.Dense(3, activation=lambda t: t)),
    ("an unknown initializer (`'variance_scaling'`)",
     lambda: keras.layers.Dense(3, kernel_initializer="variance_scaling")),
    ("an initializer given as a Python function", callable_initializer),
    ("an unknown regularizer (`'orthogonal_regularizer'`)",
     lambda: keras.layers.Dense(3, kernel_regularizer="orthogonal_regularizer")),
    ("a regularizer given as a Python function", callable_regularizer),
    ("`activity_regularizer='l2'`",
     lambda: keras.layers.Dense(3, activity_regularizer="l2")),
    ("a kernel constraint", lambda: keras.layers.Dense(3, kernel_constraint="max_norm")),
    ("a bias constraint", lambda: keras.layers.Dense(3, bias_constraint="non_neg")),
    ("`keras.constraints`", lambda: keras.constraints),
    # --- compile: losses, metrics, optimizers
    ("a custom `Loss` subclass", custom_loss),
    ("a custom `Metric` subclass", custom_metric),
    ("a loss given as a Python function", lambda: small().compile(
        optimizer="adam", loss=lambda t, p: (t - p) ** 2)),
    ("a metric given as a Python function", lambda: small().compile(
        optimizer="adam", loss="mse", metrics=[lambda t, p: abs(t - p)])),
    ("an unknown loss (`'binary_focal_crossentropy'`)", lambda: small().compile(
        optimizer="adam", loss="binary_focal_crossentropy")),
    ("an unknown optimizer (`'adafactor'`)", lambda: small().compile(
        optimizer="adafactor", loss="mse")),
    ("an unknown optimizer (`'ftrl'`)", lambda: small().compile(optimizer="ftrl", loss="mse")),
    ("`optimizers.Lion`", lambda: keras.optimizers.Lion),
    ("a custom `Optimizer` subclass", custom_optimizer),
    ("`Adam(amsgrad=True)`", lambda: keras.optimizers.Adam(amsgrad=True)),
    ("`SGD(use_ema=True)`", lambda: keras.optimizers.SGD(use_ema=True)),
    ("`compile(loss_weights=...)`", lambda: small().compile(
        optimizer="adam", loss="mse", loss_weights=[1.0])),
    ("`compile(distribute=...)` (TF 2 Keras)", lambda: small().compile(
        optimizer="adam", loss="mse", distribute="mirrored")),
    ("`keras.distribution`", lambda: keras.distribution),
    # --- fit and its data
    ("two targets `fit(x, [y1, y2])`", lambda: compiled().fit(x, [y, y], verbose=0)),
    ("`sample_weight` of the wrong length", fit_with(sample_weight=np.ones(5))),
    ("`sample_weight` of shape (n, 3) (per time step)",
     fit_with(sample_weight=np.ones((len(x), 3)))),
    ("`fit(validation_freq=2)`", fit_with(validation_freq=2, validation_split=0.25)),
    ("an unbatched `tf.data.Dataset` (stand-in object)",
     lambda: compiled().fit(TFDataStandIn(), epochs=1, verbose=0)),
    # --- mixed precision
    ("`mixed_precision.set_global_policy('mixed_float16')`",
     lambda: keras.mixed_precision.set_global_policy("mixed_float16")),
    ("`mixed_precision.LossScaleOptimizer`",
     lambda: keras.mixed_precision.LossScaleOptimizer),
    ("`Dense(dtype='mixed_float16')`",
     lambda: keras.layers.Dense(3, dtype="mixed_float16")),
    # --- files
    ("saving to `.h5` (legacy HDF5)", save_h5),
    ("saving a TF SavedModel (`save_format='tf'`)", save_savedmodel_dir),
    ("loading a legacy `.h5` full-model file", load_legacy_h5),
    ("`load_weights` of a legacy `.h5` file", load_weights_legacy_h5),
    ("`load_weights` of a `.weights.h5` of another architecture",
     load_weights_of_another_shape),
    ("a `Normalization(axis=None)` into a `.keras` file", save_axis_none),
    ("a `step` activation into a `.keras` file", save_step),
    ("loading a `.keras` file with a `Lambda` layer", load("lambda_layer.keras")),
    ("loading a `.keras` file with an activation fastnn lacks",
     load("unsupported_activation.keras")),
    ("loading a `.keras` file with a weight constraint", load("unsupported_constraint.keras")),
    ("loading a `.keras` file whose Activation cannot fold into its Dense",
     load("unfoldable_activation.keras")),
    # --- the rest of Keras 3's Model API
    ("`model.quantize('int8')`", lambda: compiled().quantize("int8")),
    ("`model.stateless_call(...)`", lambda: compiled().stateless_call([], [], x)),
]

# Keras idioms fastnn accepts: the settings among them change nothing (they choose how
# Keras executes the step, and fastnn's is compiled C): the same model, trained the
# same way.
ACCEPTED = [
    ("`model.to_json()` / `fastnn.models.model_from_json`",
     lambda: keras.models.model_from_json(compiled().to_json())),
    ("`Dropout(0.5, seed=1)` (the model's seed decides the masks)",
     lambda: keras.layers.Dropout(0.5, seed=1)),
    ("loading tests/data/unsupported_layer.keras (its layer is a BatchNormalization, "
     "which fastnn has now)", load("unsupported_layer.keras")),
    ("`fit(validation_batch_size=8)`", fit_with(validation_batch_size=8,
                                                  validation_split=0.25)),
    ("a batched `tf.data.Dataset` (stand-in object, no `__len__`)",
     lambda: compiled().fit(TFDataStandIn(batched=8), epochs=2, verbose=0)),
    ("`compile(run_eagerly=True)`", lambda: small().compile(
        optimizer="adam", loss="mse", run_eagerly=True)),
    ("`compile(jit_compile=True)`", lambda: small().compile(
        optimizer="adam", loss="mse", jit_compile=True)),
    ("`compile(steps_per_execution=32)`", lambda: small().compile(
        optimizer="adam", loss="mse", steps_per_execution=32)),
    ("`compile(auto_scale_loss=False)`", lambda: small().compile(
        optimizer="adam", loss="mse", auto_scale_loss=False)),
]


def where(exc: BaseException) -> str:
    """The outermost fastnn function the refusal came from (``Sequential.compile``,
    ``load_model``, ...): the public call that refused, found in the traceback."""
    package = os.path.dirname(os.path.abspath(keras.__file__))
    for frame, _ in traceback_frames(exc):
        if os.path.abspath(frame.f_code.co_filename).startswith(package):
            code = frame.f_code
            return getattr(code, "co_qualname", code.co_name)
    return "(Python, before any fastnn code)"


def traceback_frames(exc):
    tb = exc.__traceback__
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def run(func):
    """(where, exception type, message), or (None, None, None) if accepted."""
    try:
        func()
    except Exception as exc:  # the refusal is the result
        return where(exc), type(exc).__name__, " ".join(str(exc).split())
    return None, None, None


def main() -> int:
    print("| idiom | where refused | exception | message |")
    print("|---|---|---|---|")
    accepted = []
    for idiom, func in IDIOMS:
        place, kind, message = run(func)
        if kind is None:
            accepted.append(idiom)
            place, message = "", "(accepted)"
        print(f"| {idiom} | `{place}` | {kind or ''} | {message.replace('|', '/')} |")
    print("\nAccepted (the settings change nothing: fastnn's training step is always "
          "compiled C):", "; ".join(idiom for idiom, func in ACCEPTED
                                          if run(func)[1] is None))
    if accepted:
        print("\naccepted (not refused):", "; ".join(accepted), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
