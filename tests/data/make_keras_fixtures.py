"""Make the Keras 3 fixture files of tests/test_keras_import.py (run once by hand;
CI does not run it, the files are committed):

    pip install keras jax h5py && KERAS_BACKEND=jax python tests/data/make_keras_fixtures.py

(``... make_keras_fixtures.py shapes`` writes only the issue-19 files, adding their
predictions to keras_expected.npz.)

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
# issue 19: weightless layers and image inputs, from their own generator so that the
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


def write(chosen, generator):
    path = os.path.join(HERE, "keras_expected.npz")
    expected = dict(np.load(path)) if os.path.exists(path) and chosen is shape_models else {}
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
    else:
        expected = {**write(models, rng), **write(shape_models, rng_shapes)}
    np.savez(os.path.join(HERE, "keras_expected.npz"), **expected)
    print("wrote", sorted(expected), "with keras", keras.__version__)
