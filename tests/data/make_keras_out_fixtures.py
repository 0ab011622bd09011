"""Keras files written by fastnn, checked once by real Keras (run by hand; CI does not
run it, its outputs are committed):

    pip install keras jax h5py && python tests/data/make_keras_out_fixtures.py

fastnn builds, compiles and briefly trains a few models and saves each with
``model.save("<name>.keras")`` (and one ``save_weights("<name>.weights.h5")``) into
tests/data/fastnn_written/.  Keras 3 (JAX backend) then loads every file and its
predictions on fixed inputs, the optimizer it restored (class, step count, whether
it loaded the saved optimizer variables without a warning) and, for the weights
file, the predictions of a Keras model built alike go into keras_out_expected.npz.
tests/test_keras_out.py compares fastnn against those values without Keras, and
checks that fastnn still writes exactly these files.  A run writes every file again
with the fastnn at hand (whose training may have changed since a file was made): to
add a model, keep the committed files and values of the others (git checkout them,
and keep their keys of the old keras_out_expected.npz), as was done when norms_adam
and norm_given_sgd were added.

``... make_keras_out_fixtures.py norms_weights`` adds only norms.weights.h5 (the
normalization layers' ``save_weights`` file, loaded by Keras's ``load_weights``) and
its values to the committed npz.

``... make_keras_out_fixtures.py auc`` (also part of the full run) stores Keras's
``AUC`` values (PR and ROC curves, every summation method, given thresholds,
weights, multi_label) on fixed predictions in keras_auc_expected.npz, for
tests/test_weighted_metrics.py.
"""
import json
import os
import sys
import warnings

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "1")  # the float64 model stays float64
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fastnn_written")
sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))

import fastnn  # noqa: E402
from fastnn import layers as fl  # noqa: E402


def fastnn_models():
    rng = np.random.default_rng(19)
    out = {}

    def fit(model, n_in, y_kind, dtype="float32"):
        x = rng.standard_normal((64, *n_in)).astype(dtype)
        y = {"sparse": rng.integers(0, 4, 64), "binary": rng.integers(0, 2, 64),
             "real": rng.standard_normal((64, 3))}[y_kind]
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)

    m = fastnn.Sequential([
        fastnn.Input(shape=(5,)), fl.Dense(16, activation="relu"), fl.Dropout(0.2),
        fl.Dense(12, activation="tanh", kernel_regularizer=fastnn.regularizers.l2(1e-3)),
        fl.Dense(8, activation="sigmoid", use_bias=False), fl.Dense(6),
        fl.Dense(4, activation="softmax")], name="acts", seed=1)
    m.compile(fastnn.optimizers.Adam(2e-3), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
    fit(m, (5,), "sparse")
    out["acts_adam"] = m
    m = fastnn.Sequential([
        fastnn.Input(shape=(4, 3)), fl.Flatten(), fl.Dense(8), fl.Activation("relu"),
        fl.Dropout(0.1), fl.Dense(5), fl.ReLU(), fl.Dense(3), fl.Softmax()],
        name="image_acts", seed=2)
    out["image_uncompiled"] = m
    m = fastnn.Sequential([
        fastnn.Input(shape=(6,)), fl.Dense(9, activation="leaky_relu"),
        fl.Dense(9, activation="elu"), fl.Dense(9, activation="selu"),
        fl.Dense(9, activation="gelu"), fl.Dense(9, activation="softplus"),
        fl.Dense(9, activation="swish"), fl.Dense(3, activation="relu_keras")],
        name="new_acts_f64", dtype="float64", seed=3)
    m.compile(fastnn.optimizers.SGD(0.01, momentum=0.9, nesterov=True), "mse",
              metrics=["mae"])
    fit(m, (6,), "real", "float64")
    out["new_acts_sgd_f64"] = m
    m = fastnn.Sequential([
        fastnn.Input(shape=(7,)), fl.Dense(10, activation="relu"), fl.Dense(1)],
        name="logits", seed=4)
    m.layers[0].trainable = False
    m.compile(fastnn.optimizers.RMSprop(1e-3, momentum=0.5),
              fastnn.losses.BinaryCrossentropy(from_logits=True),
              metrics=[fastnn.metrics.Precision(name="precision"), "auc"])
    fit(m, (7,), "binary")
    out["logits_rmsprop_frozen"] = m
    m = fastnn.Sequential([
        fastnn.Input(shape=(5,)), fl.Dense(6, activation="tanh",
                                           kernel_initializer=fastnn.initializers.Constant(0.1)),
        fl.Dense(4, activation="softmax")], name="nadam_schedule", seed=5)
    m.compile(fastnn.optimizers.Nadam(fastnn.optimizers.schedules.ExponentialDecay(
        0.01, 10, 0.9)), "sparse_categorical_crossentropy", metrics=["accuracy"])
    fit(m, (5,), "sparse")
    out["nadam_schedule"] = m
    for name, opt in (("adagrad", fastnn.optimizers.Adagrad(0.05)),
                      ("adamax", fastnn.optimizers.Adamax(0.01)),
                      ("adamw", fastnn.optimizers.AdamW(0.01, clipnorm=1.0))):
        m = fastnn.Sequential([fastnn.Input(shape=(4,)), fl.Dense(5, activation="relu"),
                               fl.Dense(3)], name=name, seed=6)
        m.compile(opt, "mse")
        fit(m, (4,), "real")
        out[name] = m
    # the normalization layers (appended last: the models above keep their random draws)
    norm = fl.Normalization()
    norm.adapt(rng.standard_normal((40, 6)) * 3.0 + 1.0)
    m = fastnn.Sequential([
        fastnn.Input(shape=(6,)), norm, fl.Dense(12, activation="relu"),
        fl.BatchNormalization(), fl.Dense(8),
        fl.LayerNormalization(scale=False, epsilon=1e-5), fl.UnitNormalization(),
        fl.BatchNormalization(center=False, momentum=0.9, epsilon=0.01),
        fl.Dense(4, activation="softmax")], name="norms", seed=8)
    m.layers[3].trainable = False  # a frozen BatchNormalization: no Keras slots
    m.compile(fastnn.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
    fit(m, (6,), "sparse")
    out["norms_adam"] = m
    m = fastnn.Sequential([
        fastnn.Input(shape=(3,)), fl.Normalization(mean=[1.0, -2.0, 0.5],
                                                   variance=[4.0, 0.25, 1.0]),
        fl.Dense(5, activation="relu"), fl.LayerNormalization(), fl.Dense(3)],
        name="norm_given", seed=9)
    m.compile(fastnn.optimizers.SGD(0.01, momentum=0.9), "mse")
    fit(m, (3,), "real")
    out["norm_given_sgd"] = m
    return out


def main():
    import keras

    os.makedirs(OUT, exist_ok=True)
    gen = np.random.default_rng(2028)
    expected = {}
    for name, model in fastnn_models().items():
        path = os.path.join(OUT, f"{name}.keras")
        model.save(path)
        shape = model.get_config()["layers"][0]["config"]["shape"]
        x = gen.standard_normal((9, *shape)).astype(model.dtype)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = keras.saving.load_model(path)
        noted = [str(w.message) for w in caught if "Skipping" in str(w.message)
                 or "compile" in str(w.message).lower()]
        expected[f"{name}_x"] = x
        expected[f"{name}_y"] = np.asarray(loaded.predict(x, verbose=0))
        opt = getattr(loaded, "optimizer", None)
        expected[f"{name}_optimizer"] = np.array(
            "" if opt is None else f"{type(opt).__name__}:{int(opt.iterations.numpy())}")
        expected[f"{name}_warnings"] = np.array("\n".join(noted))
        if opt is not None:  # the variables Keras restored, to compare with fastnn's
            for i, v in enumerate(opt.variables):
                expected[f"{name}_optvar_{i}"] = np.asarray(v.numpy())
        print(name, "->", expected[f"{name}_optimizer"], noted or "no warnings")
    # the weights file: loaded into a Keras model built alike
    model = fastnn_models()["acts_adam"]
    wpath = os.path.join(OUT, "acts.weights.h5")
    model.save_weights(wpath)
    km = keras.Sequential([
        keras.Input(shape=(5,)), keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.2), keras.layers.Dense(12, activation="tanh"),
        keras.layers.Dense(8, activation="sigmoid", use_bias=False), keras.layers.Dense(6),
        keras.layers.Dense(4, activation="softmax")])
    km.load_weights(wpath)
    expected["weights_y"] = np.asarray(km.predict(expected["acts_adam_x"], verbose=0))
    expected.update(norms_weights(keras, expected["norms_adam_x"]))
    np.savez(os.path.join(HERE, "keras_out_expected.npz"), **expected)
    print("wrote keras_out_expected.npz with keras", keras.__version__)


def norms_weights(keras, x):
    """The normalization layers' weights file: fastnn's norms_adam model saved with
    ``save_weights("norms.weights.h5")``, loaded by Keras's ``load_weights`` into a
    Keras model built alike (its Normalization unadapted: the file sets its mean,
    variance and count), and Keras's predictions on `x` (``norms_adam_x``)."""
    model = fastnn_models()["norms_adam"]
    wpath = os.path.join(OUT, "norms.weights.h5")
    model.save_weights(wpath)
    L = keras.layers
    km = keras.Sequential([
        keras.Input(shape=(6,)), L.Normalization(), L.Dense(12, activation="relu"),
        L.BatchNormalization(), L.Dense(8), L.LayerNormalization(scale=False, epsilon=1e-5),
        L.UnitNormalization(), L.BatchNormalization(center=False, momentum=0.9, epsilon=0.01),
        L.Dense(4, activation="softmax")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        km.load_weights(wpath)
    noted = [str(w.message) for w in caught]
    print("norms.weights.h5 ->", noted or "no warnings")
    return {"norms_weights_y": np.asarray(km.predict(x, verbose=0)),
            "norms_weights_warnings": np.array("\n".join(noted))}


def add_norms_weights():
    """``... make_keras_out_fixtures.py norms_weights``: only norms.weights.h5 and its
    keys, added to the committed keras_out_expected.npz (the other files and values
    kept as they are)."""
    import keras

    path = os.path.join(HERE, "keras_out_expected.npz")
    expected = dict(np.load(path))
    expected.update(norms_weights(keras, expected["norms_adam_x"]))
    np.savez(path, **expected)
    print("added norms_weights_* to keras_out_expected.npz with keras", keras.__version__)


AUC_CASES = [dict(curve="PR"), dict(curve="PR", num_thresholds=50),
             dict(curve="PR", summation_method="majoring"),
             dict(curve="PR", summation_method="minoring"),
             dict(curve="ROC", summation_method="minoring"),
             dict(curve="ROC", summation_method="majoring"),
             dict(curve="ROC", thresholds=[0.1, 0.3, 0.5, 0.7, 0.9]),
             dict(curve="PR", multi_label=True)]


def auc_cases():
    import keras

    rng = np.random.default_rng(31)
    y = rng.integers(0, 2, (500, 3))
    p = 1 / (1 + np.exp(-(2 * y - 1) * 0.8 - rng.standard_normal((500, 3))))
    p = p.astype("float32")
    p[:20, 0] = 0.5  # exactly on a threshold
    w = rng.uniform(0.1, 3.0, 500)
    out = {"auc_y": y, "auc_p": p, "auc_w": w, "auc_cases": np.array(json.dumps(AUC_CASES))}
    for i, case in enumerate(AUC_CASES):
        for weighted in (False, True):
            m = keras.metrics.AUC(**case)
            m.update_state(y, p, sample_weight=w if weighted else None)
            out[f"auc_{i}_{int(weighted)}"] = np.array(float(m.result()))
    np.savez(os.path.join(HERE, "keras_auc_expected.npz"), **out)
    print("wrote keras_auc_expected.npz with keras", keras.__version__)


if __name__ == "__main__":
    if sys.argv[1:] == ["norms_weights"]:
        add_norms_weights()
        sys.exit()
    if sys.argv[1:] != ["auc"]:
        main()
    auc_cases()
