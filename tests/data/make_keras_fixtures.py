"""Make the Keras 3 fixture files of tests/test_keras_import.py (run once by hand;
CI does not run it, the files are committed):

    pip install keras jax h5py && KERAS_BACKEND=jax python tests/data/make_keras_fixtures.py

(``... make_keras_fixtures.py shapes`` writes only the layer-kind files, adding their
predictions to keras_expected.npz; ``... layers`` the normalization and noise ones.)

Each model gets seeded random weights (biases too), and Keras's own predictions on
fixed inputs go into keras_expected.npz (plain float arrays), so the tests compare
fastnn against Keras without Keras installed.
"""
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_ENABLE_X64", "1")  # float64 models stay float64
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)


def randomize(model):
    model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) * 0.5
                       for w in model.get_weights()])
    return model


def sequential(name, n_in, spec, dtype="float32"):
    stack = [keras.Input(shape=(n_in,), dtype=dtype)]
    for kind, arg, kw in spec:
        stack.append(layers.Dense(arg, dtype=dtype, **kw) if kind == "dense"
                     else layers.Dropout(arg, dtype=dtype))
    return randomize(keras.Sequential(stack, name=name))


def functional(name):
    inp = keras.Input(shape=(6,), name="features")
    x = layers.Dense(12, activation="relu", name="hidden")(inp)
    x = layers.Dropout(0.25)(x)
    out = layers.Dense(3, activation="softmax", name="probs")(x)
    return randomize(keras.Model(inp, out, name=name))


models = {
    "sequential_activations": sequential("acts", 5, [
        ("dense", 16, dict(activation="relu")), ("dropout", 0.2, {}),
        ("dense", 12, dict(activation="tanh", kernel_regularizer=keras.regularizers.l2(1e-3))),
        ("dense", 8, dict(activation="sigmoid", use_bias=False)),
        ("dense", 6, dict(activation="linear")), ("dense", 4, dict(activation="softmax"))]),
    "sequential_float64": sequential("f64", 3, [("dense", 7, dict(activation="tanh")),
                                                ("dense", 1, {})], dtype="float64"),
    "sequential_new_activations": sequential("new_acts", 5, [
        ("dense", 9, dict(activation="leaky_relu")), ("dense", 9, dict(activation="elu")),
        ("dense", 9, dict(activation="selu")), ("dense", 9, dict(activation="gelu")),
        ("dense", 9, dict(activation="softplus")), ("dense", 3, dict(activation="silu"))]),
    "functional_chain": functional("chain"),
    "unsupported_layer": keras.Sequential([keras.Input(shape=(4,)), layers.Dense(4),
                                           layers.BatchNormalization(), layers.Dense(1)]),
    "unsupported_activation": sequential("hard", 4, [
        ("dense", 3, dict(activation="hard_sigmoid"))]),
    "unsupported_constraint": sequential("cons", 4, [
        ("dense", 3, dict(kernel_constraint=keras.constraints.MaxNorm(2.0)))]),
    "lambda_layer": keras.Sequential([keras.Input(shape=(4,)), layers.Dense(4),
                                      layers.Lambda(lambda t: t * 2.0), layers.Dense(1)]),
}
# weightless layers and image inputs, from their own generator so that the
# files above stay as they were (`python make_keras_fixtures.py shapes` writes only these)
rng_shapes = np.random.default_rng(2027)


def randomize_shapes(model):
    model.set_weights([rng_shapes.standard_normal(w.shape).astype(w.dtype) * 0.5
                       for w in model.get_weights()])
    return model


shape_models = {
    "sequential_image_activations": randomize_shapes(keras.Sequential([
        keras.Input(shape=(4, 3)), layers.Flatten(), layers.Dense(8),
        layers.Activation("relu"), layers.Dropout(0.1), layers.Dense(5), layers.ReLU(),
        layers.Dense(3), layers.Softmax()], name="image_acts")),
    "sequential_reshape": randomize_shapes(keras.Sequential([
        keras.Input(shape=(12,)), layers.Reshape((3, 4)), layers.Flatten(),
        layers.Dense(6, activation="tanh"), layers.Dense(2), layers.Activation("sigmoid")],
        name="reshape")),
    "unfoldable_activation": keras.Sequential([
        keras.Input(shape=(4,)), layers.Dense(4, activation="relu"),
        layers.Activation("tanh"), layers.Dense(1)]),
}


# the normalization and noise layers, from their own generator
# (`python make_keras_fixtures.py layers` writes only these); variances stay positive
rng_layers = np.random.default_rng(2028)


def randomize_layers(model):
    # a Normalization keeps its adapted values: Keras's in-memory layer goes on using
    # the statistics adapt() finalized even after set_weights (its saved file would not)
    model.set_weights([
        np.asarray(w) if w.path.startswith("normalization/")
        else (np.abs(rng_layers.standard_normal(w.shape)) + 0.2 if "variance" in w.path
              else rng_layers.standard_normal(w.shape) * 0.5).astype(w.dtype)
        for w in model.weights])
    return model


def adapted(n_features):
    norm = layers.Normalization()
    norm.adapt(rng_layers.standard_normal((50, n_features)) * 3 + 1)
    return norm


def functional_batchnorm():
    inp = keras.Input(shape=(4,), name="x")
    x = layers.Dense(6, name="h")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Activation("tanh")(x)
    return randomize_layers(keras.Model(inp, layers.Dense(2, name="out")(x), name="fbn"))


layer_models = {
    "sequential_batchnorm": randomize_layers(keras.Sequential([
        keras.Input(shape=(6,)), layers.Dense(12), layers.BatchNormalization(),
        layers.Activation("relu"), layers.Dropout(0.2), layers.Dense(8, activation="tanh"),
        layers.BatchNormalization(center=False, momentum=0.9, epsilon=0.01),
        layers.Dense(3, activation="softmax")], name="bn")),
    "sequential_normalizations": randomize_layers(keras.Sequential([
        keras.Input(shape=(5,)), adapted(5), layers.Dense(10, activation="relu"),
        layers.LayerNormalization(), layers.GaussianNoise(0.1), layers.Dense(8),
        layers.LayerNormalization(scale=False, epsilon=1e-5), layers.Activation("selu"),
        layers.AlphaDropout(0.1), layers.UnitNormalization(), layers.GaussianDropout(0.2),
        layers.Dense(2)], name="norms")),
    "normalization_given": randomize_layers(keras.Sequential([
        keras.Input(shape=(3,)), layers.Normalization(mean=[1.0, -2.0, 0.5],
                                                      variance=[4.0, 0.25, 1.0]),
        layers.Dense(2)], name="given")),
    "functional_batchnorm": functional_batchnorm(),
}


def write(chosen, generator):
    path = os.path.join(HERE, "keras_expected.npz")
    expected = dict(np.load(path)) if os.path.exists(path) and chosen is not models else {}
    for name, model in chosen.items():
        model.save(os.path.join(HERE, f"{name}.keras"))
        shape = tuple(model.inputs[0].shape[1:])
        X = generator.standard_normal((9, *shape)).astype(model.inputs[0].dtype)
        expected[f"{name}_x"] = X
        expected[f"{name}_y"] = np.asarray(model.predict(X, verbose=0))
    return expected


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["shapes"]:
        expected = write(shape_models, rng_shapes)
    elif sys.argv[1:] == ["layers"]:
        expected = write(layer_models, rng_layers)
    else:
        expected = {**write(models, rng), **write(shape_models, rng_shapes),
                    **write(layer_models, rng_layers)}
    np.savez(os.path.join(HERE, "keras_expected.npz"), **expected)
    print("wrote", sorted(expected), "with keras", keras.__version__)
