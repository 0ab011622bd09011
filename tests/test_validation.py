"""Input validation of every public entry point.

One parametrized table: (public callable x bad input x expected exception x ``match=``
regex).  Wrong *types* raise TypeError, wrong *values* ValueError (or the documented
subclasses), and every message follows the house format of ``fastnn._validation``:
``"<func>(): <what>. Expected <expected>. Received: <name>=<value>"``.

After the table: values that must be *accepted* (``-0.0`` where 0 is allowed, numpy
scalars), the activation x loss pairs of A4, and hypothesis fuzzing of predict / fit /
evaluate that asserts no internal exception ever leaks.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastnn
from fastnn import callbacks, losses, optimizers, regularizers
from fastnn.layers import Dense, Dropout

NAN = float("nan")
INF = float("inf")
N, N_IN, N_CLASSES = 20, 4, 3

# ---------------------------------------------------------------------------
# Data and model factories (each table row builds its own fresh objects)
# ---------------------------------------------------------------------------

_RNG = np.random.default_rng(1234)
X = _RNG.normal(size=(N, N_IN))  # float64, C-contiguous
Y_SPARSE = np.arange(N) % N_CLASSES  # int64 labels 0..2
Y_ONEHOT = np.eye(N_CLASSES)[Y_SPARSE]
Y_BIN = (np.arange(N) % 2).astype(np.float64)
Y_REG = X @ np.array([1.0, -2.0, 0.5, 3.0])


def model(kind="sparse", *, dtype="float32", built=True, compiled=True, seed=0):
    """A small two-layer model.  kind: sparse | cce | bce | mse."""
    out, act, loss = {
        "sparse": (N_CLASSES, "softmax", "sparse_categorical_crossentropy"),
        "cce": (N_CLASSES, "softmax", "categorical_crossentropy"),
        "bce": (1, "sigmoid", "binary_crossentropy"),
        "mse": (1, None, "mse"),
    }[kind]
    layers = [Dense(5, activation="tanh"), Dense(out, activation=act)]
    if built:
        layers.insert(0, fastnn.Input(shape=(N_IN,)))
    m = fastnn.Sequential(layers, dtype=dtype, seed=seed)
    if compiled:
        m.compile(optimizer="adam", loss=loss)
    return m


def bare(units=N_CLASSES, activation="softmax"):
    """Built, not compiled, one Dense layer."""
    return fastnn.Sequential([fastnn.Input(shape=(N_IN,)), Dense(units, activation=activation)],
                             seed=0)


def with_at(arr, index, value, dtype=None):
    out = np.array(arr, dtype=dtype if dtype is not None else None, copy=True)
    if out.dtype.kind in "iu" and isinstance(value, float):
        out = out.astype(np.float64)
    out[index] = value
    return out


_DEFAULT = object()
_Y = {"sparse": Y_SPARSE, "cce": Y_ONEHOT, "bce": Y_BIN, "mse": Y_REG}


def fit(kind="sparse", x=X, y=_DEFAULT, **kw):
    m = model(kind)
    if y is _DEFAULT:
        y = _Y[kind]
    kw.setdefault("verbose", 0)
    return m.fit(x, y, **kw)


def evaluate(kind="sparse", x=X, y=_DEFAULT, **kw):
    m = model(kind)
    if y is _DEFAULT:
        y = _Y[kind]
    kw.setdefault("verbose", 0)
    return m.evaluate(x, y, **kw)


def predict(x, **kw):
    return model().predict(x, **kw)


def set_weights(mutate):
    m = model()
    return m.set_weights(mutate(m.get_weights()))


def _replace(ws, i, value):
    ws = list(ws)
    ws[i] = value
    return ws


def perceptron_fit(x, y, **kw):
    return fastnn.Perceptron(**kw).fit(x, y)


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
OR_Y = np.array([0, 1, 1, 1])


def fitted_perceptron():
    return fastnn.Perceptron().fit(XOR_X, OR_Y)


OPTIMIZERS = [optimizers.SGD, optimizers.RMSprop, optimizers.Adam, optimizers.AdamW,
              optimizers.Adagrad]
ERR_TYPE = r"invalid type for argument `{name}`"
ERR_VALUE = r"invalid value for argument `{name}`"


def p(func, exc, match, id):
    return pytest.param(func, exc, match, id=id)


def add_twice():
    d = Dense(2)
    fastnn.Sequential([d]).add(d)


def add_to_other_model():
    d = Dense(2)
    other = fastnn.Sequential([d])  # alive: a layer whose model is freed is detached
    fastnn.Sequential().add(d)
    return other


def lr_call(cls, value):
    return lambda: cls(learning_rate=value)


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

CASES = [
    # ---- Sequential(...) -------------------------------------------------------------
    p(lambda: fastnn.Sequential(dtype="int32"), ValueError,
      r"^Sequential\(\): unsupported dtype\. Expected 'float32' or 'float64'\. "
      r"Received: dtype='int32'$", "Sequential-dtype-int32"),
    p(lambda: fastnn.Sequential(dtype="float16"), ValueError,
      r"Sequential\(\): unsupported dtype.*Received: dtype='float16'", "Sequential-dtype-float16"),
    p(lambda: fastnn.Sequential(dtype=np.complex64), ValueError,
      r"Sequential\(\): unsupported dtype.*Expected 'float32' or 'float64'",
      "Sequential-dtype-complex64"),
    # an unknown *name* is a wrong value (A1), not a wrong type
    p(lambda: fastnn.Sequential(dtype="nope"), ValueError,
      r"Sequential\(\): unsupported dtype.*Received: dtype='nope'", "Sequential-dtype-unknown-name"),
    p(lambda: fastnn.Sequential(dtype=3), TypeError,
      r"Sequential\(\): unsupported dtype.*Received: dtype=3", "Sequential-dtype-int"),
    p(lambda: fastnn.Sequential(seed=-1), ValueError,
      r"Sequential\(\): invalid value for argument `seed`\. Expected an int >= 0.*"
      r"Received: seed=-1", "Sequential-seed-negative"),
    p(lambda: fastnn.Sequential(seed=2**64), ValueError,
      r"Expected an int >= 0 and <= 18446744073709551615\. Received: seed=18446744073709551616",
      "Sequential-seed-2**64"),
    p(lambda: fastnn.Sequential(seed=1.5), TypeError,
      r"Sequential\(\): invalid type for argument `seed`.*Received: seed=1\.5", "Sequential-seed-float"),
    p(lambda: fastnn.Sequential(seed=NAN), TypeError,
      r"Sequential\(\): invalid type for argument `seed`.*Received: seed=nan", "Sequential-seed-nan"),
    p(lambda: fastnn.Sequential(seed=True), TypeError,
      r"Sequential\(\): invalid type for argument `seed`.*Received: seed=True", "Sequential-seed-True"),
    p(lambda: fastnn.Sequential(seed="1"), TypeError,
      r"Sequential\(\): invalid type for argument `seed`.*Received: seed='1'", "Sequential-seed-str"),
    p(lambda: fastnn.Sequential("dense"), TypeError,
      r"Sequential\(\): invalid type for argument `layers`\. Expected a list of layers\. "
      r"Received: layers='dense'", "Sequential-layers-str"),
    p(lambda: fastnn.Sequential(Dense(2)), TypeError,
      r"Sequential\(\): invalid type for argument `layers`", "Sequential-layers-single-layer"),
    p(lambda: fastnn.Sequential([1]), TypeError,
      r"add\(\): invalid layer\. Expected one of fastnn.s layers \(Activation, AlphaDropout, "
      r"BatchNormalization, Dense, Dropout, Flatten, GaussianDropout, GaussianNoise, InputLayer, LayerNormalization, "
      r"Normalization, ReLU, Reshape, Softmax, UnitNormalization\)\. Received: layer=1",
      "Sequential-layers-int-element"),
    p(lambda: fastnn.Sequential([None]), TypeError,
      r"add\(\): invalid layer.*Received: layer=None", "Sequential-layers-None-element"),
    p(lambda: fastnn.Sequential([Dense]), TypeError,
      r"add\(\): invalid layer.*Received: layer=<class", "Sequential-layers-class-not-instance"),
    p(lambda: fastnn.Sequential(name=3), TypeError,
      r"Sequential\(\): invalid type for argument `name`.*Received: name=3", "Sequential-name-int"),
    # ---- Sequential.add --------------------------------------------------------------
    p(lambda: fastnn.Sequential().add(None), TypeError,
      r"add\(\): invalid layer.*Received: layer=None", "add-None"),
    p(lambda: fastnn.Sequential().add("dense"), TypeError,
      r"add\(\): invalid layer.*Received: layer='dense'", "add-str"),
    p(lambda: fastnn.Sequential([Dense(2)]).add(fastnn.Input(shape=(3,))), ValueError,
      r"add\(\): an input shape can only be given to the first layer", "add-Input-not-first"),
    p(lambda: fastnn.Sequential([Dense(2)]).add(Dense(2, input_shape=(3,))), ValueError,
      r"add\(\): an input shape can only be given to the first layer", "add-input_shape-not-first"),
    p(add_twice, ValueError,
      r"add\(\): this layer already belongs to a model", "add-same-layer-twice"),
    p(add_to_other_model, ValueError, r"add\(\): this layer already belongs to a model", "add-layer-of-other-model"),
    p(lambda: fastnn.Sequential([Dense(2, name="a"), Dense(2, name="a")]), ValueError,
      r"add\(\): layer names must be unique.*Received: layer\.name='a'", "add-duplicate-name"),
    # ---- build / structure -----------------------------------------------------------
    p(lambda: fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(2), Dropout(0.5)]).predict(X),
      ValueError, r"Dropout cannot be the last layer", "build-dropout-last"),
    p(lambda: fastnn.Sequential([fastnn.Input(shape=(4,))]).predict(X), ValueError,
      r"no Dense layer", "build-no-dense"),
    p(lambda: fastnn.Sequential([Dense(2)]).build(), ValueError,
      r"build\(\): the number of input features is unknown", "build-unknown-input"),
    p(lambda: fastnn.Sequential([Dense(2)]).build((None, 0)), ValueError,
      r"build\(\): invalid value for argument `shape\[0\]`.*Received: shape\[0\]=0",
      "build-0-features"),
    p(lambda: fastnn.Sequential([Dense(2)]).build("a"), TypeError,
      r"build\(\): invalid input shape.*Received: shape='a'", "build-str"),
    p(lambda: fastnn.Sequential([Dense(2)]).build((None, 4, 3)), ValueError,
      r"Dense 'dense' receives samples of shape \(None, 4, 3\); fastnn's Dense layers take "
      r"flat vectors.*Put Flatten\(\) before it", "build-3d"),
    p(lambda: fastnn.Sequential([Dense(2)]).build((None, True)), TypeError,
      r"build\(\): invalid type for argument `shape\[0\]`.*Received: shape\[0\]=True",
      "build-True-features"),
    p(lambda: fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(2)]).build((None, 5)),
      ValueError, r"build\(\): input shape differs from the declared one\. Expected \(None, 4\)\. "
      r"Received: input_shape=\(None, 5\)", "build-conflicting-shape"),
    p(lambda: model().summary(print_fn=3), TypeError,
      r"summary\(\): invalid type for argument `print_fn`", "summary-print_fn-int"),
    # ---- get_layer_outputs (layer-activation inspection) ---------------------------------
    p(lambda: model().get_layer_outputs(X[0]), ValueError,
      r"get_layer_outputs\(\): argument `x` must be 2-D.*reshape\(1, -1\)",
      "get_layer_outputs-1d"),
    p(lambda: model().get_layer_outputs(X[:, :3]), ValueError,
      r"get_layer_outputs\(\): x has 3 features, but the model expects 4",
      "get_layer_outputs-wrong-features"),
    p(lambda: model().get_layer_outputs(with_at(X, (4, 2), NAN)), ValueError,
      r"get_layer_outputs\(\): argument `x` contains NaN or infinity.*\[\(4, 2\)\]",
      "get_layer_outputs-nan"),
    p(lambda: model().get_layer_outputs(None), TypeError,
      r"get_layer_outputs\(\): argument `x` is missing", "get_layer_outputs-None"),
    p(lambda: model().get_layer_outputs(X.astype(complex)), TypeError,
      r"get_layer_outputs\(\): unsupported dtype complex128", "get_layer_outputs-complex"),
    p(lambda: model(built=False).get_layer_outputs(X), fastnn.NotFittedError,
      r"get_layer_outputs\(\): the model has no weights yet", "get_layer_outputs-not-built"),
    # ---- compile ---------------------------------------------------------------------
    p(lambda: bare().compile(optimizer="nope", loss="categorical_crossentropy"), ValueError,
      r"compile\(\): unknown optimizer 'nope'\. Expected one of "
      r"\['adagrad', 'adam', 'adamax', 'adamw', 'nadam', 'rmsprop', 'sgd'\]\. "
      r"Received: optimizer='nope'",
      "compile-optimizer-unknown"),
    p(lambda: bare().compile(optimizer="adamm", loss="categorical_crossentropy"), ValueError,
      r"^compile\(\): unknown optimizer 'adamm' \(did you mean 'adam'\?\)\. .*"
      r"Received: optimizer='adamm'$", "compile-optimizer-typo"),
    p(lambda: bare().compile(optimizer=3, loss="categorical_crossentropy"), TypeError,
      r"compile\(\): could not interpret .*Received: optimizer=3", "compile-optimizer-int"),
    p(lambda: bare().compile(optimizer=None, loss="categorical_crossentropy"), TypeError,
      r"compile\(\).*Received: optimizer=None", "compile-optimizer-None"),
    p(lambda: bare().compile(optimizer=optimizers.Adam, loss="categorical_crossentropy"),
      TypeError, r"compile\(\).*Received: optimizer=<class", "compile-optimizer-class"),
    p(lambda: bare().compile(loss="nope"), ValueError,
      r"compile\(\): unknown loss 'nope'\. Expected one of \[.*'categorical_crossentropy'.*"
      r"'mse'.*\]\. Received: loss='nope'", "compile-loss-unknown"),
    p(lambda: bare().compile(loss="binary_crossentropyy"), ValueError,
      r"^compile\(\): unknown loss 'binary_crossentropyy' \(did you mean "
      r"'binary_crossentropy'\?\)\. .*Received: loss='binary_crossentropyy'$", "compile-loss-typo"),
    p(lambda: bare().compile(loss=3), TypeError,
      r"compile\(\): could not interpret .*Received: loss=3", "compile-loss-int"),
    p(lambda: bare().compile(loss=lambda a, b: 0), TypeError,
      r"compile\(\): <lambda> is a Python function; fastnn computes the loss and its "
      r"gradient in C.*Received: loss=<function", "compile-loss-callable"),
    # None for a required name is a wrong type, as everywhere else (fit(x=None), Dropout(None))
    p(lambda: bare().compile(loss=None), TypeError,
      r"compile\(\): argument `loss` is missing.*Received: loss=None", "compile-loss-None"),
    p(lambda: bare().compile(loss="categorical_crossentropy", metrics=["nope"]), ValueError,
      r"compile\(\): unknown metric 'nope'\. Expected one of \[.*'accuracy'.*\]\. "
      r"Received: metric='nope'", "compile-metric-unknown"),
    p(lambda: bare().compile(loss="categorical_crossentropy", metrics="accuracy"), TypeError,
      r"compile\(\): invalid type for argument `metrics`.*Received: metrics='accuracy'",
      "compile-metrics-str"),
    p(lambda: bare().compile(loss="categorical_crossentropy", metrics=[3]), TypeError,
      r"compile\(\): invalid metric.*Received: metric=3", "compile-metric-int"),
    p(lambda: bare().compile(loss="categorical_crossentropy", metrics=["mae", "mae"]), ValueError,
      r"compile\(\): metric 'mae' is listed twice", "compile-metric-duplicate"),
    p(lambda: bare().compile(loss="categorical_crossentropy",
                             metrics=["sparse_categorical_accuracy"]), ValueError,
      r"compile\(\): metric 'sparse_categorical_accuracy' does not fit loss "
      r"'categorical_crossentropy'", "compile-sparse-acc-with-cce"),
    p(lambda: bare().compile(loss="sparse_categorical_crossentropy", metrics=["mae"]), ValueError,
      r"compile\(\): metric 'mae' needs targets shaped like the output", "compile-mae-with-scce"),
    p(lambda: bare(1, "softmax").compile(loss="categorical_crossentropy"), ValueError,
      r"compile\(\): a softmax over 1 unit always outputs 1\.0", "compile-softmax-1-unit"),
    p(lambda: bare(1, "softmax").compile(loss="binary_crossentropy"), ValueError,
      r"compile\(\): a softmax over 1 unit", "compile-softmax-1-unit-bce"),
    p(lambda: bare(1, "sigmoid").compile(loss="sparse_categorical_crossentropy"), ValueError,
      r"compile\(\): sparse_categorical_crossentropy needs one output unit per class",
      "compile-scce-1-unit"),
    p(lambda: fastnn.Sequential().compile(loss="mse"), ValueError,
      r"compile\(\): the model has no Dense layer", "compile-empty-model"),
    # ---- fit: x ----------------------------------------------------------------------
    p(lambda: model().fit(x=None, y=None), TypeError,
      r"fit\(\): arguments `x` and `y` are missing", "fit-x-y-None"),
    p(lambda: fit(x=None), TypeError,
      r"^fit\(\): argument `x` is missing\. Expected an array-like of numbers\. "
      r"Received: x=None$", "fit-x-None"),
    p(lambda: fit(x="abc"), TypeError,
      r"fit\(\): unsupported type for argument `x`\. Expected NumPy arrays \(or array-likes\), "
      r"a generator.*Received: x='abc'", "fit-x-str"),
    p(lambda: fit(x=[["a", "b", "c", "d"]] * N), TypeError,
      r"fit\(\): unsupported dtype <U1 for argument `x`", "fit-x-list-of-str"),
    p(lambda: fit(x=X.astype(object)), TypeError,
      r"fit\(\): unsupported dtype object for argument `x`.*Received: x\.dtype='object'",
      "fit-x-object"),
    p(lambda: fit(x=X.astype(complex)), TypeError,
      r"fit\(\): unsupported dtype complex128 for argument `x`", "fit-x-complex"),
    p(lambda: fit(x=np.zeros((N, N_IN), "datetime64[s]")), TypeError,
      r"fit\(\): unsupported dtype datetime64\[s\] for argument `x`", "fit-x-datetime"),
    p(lambda: fit(x=[[1.0, 2.0, 3.0, 4.0], [1.0]] * 10), ValueError,
      r"fit\(\): argument `x` is not a rectangular array of numbers", "fit-x-ragged"),
    p(lambda: fit(x=X[:, 0]), ValueError,
      r"fit\(\): argument `x` must be 2-D\. Expected shape \(n_samples, n_features\)\. "
      r"Received: x\.shape=\(20,\)\. The model takes 4 features per sample: use "
      r"x\.reshape\(-1, 4\) for 5 samples\.$", "fit-x-1d"),
    p(lambda: fit(x=X[:, :, None]), ValueError,
      r"fit\(\): argument `x` must be 2-D.*Received: x\.shape=\(20, 4, 1\)", "fit-x-3d"),
    p(lambda: fit(x=np.float64(1.0)), ValueError,
      r"fit\(\): argument `x` must be 2-D.*Received: x\.shape=\(\)", "fit-x-0d"),
    p(lambda: fit(x=X[:, :3]), ValueError,
      r"^fit\(\): x has 3 features, but the model expects 4 \(input shape \(None, 4\)\)\.$",
      "fit-x-wrong-features"),
    p(lambda: model(built=False).fit(np.zeros((N, 0)), Y_SPARSE, verbose=0), ValueError,
      r"fit\(\): argument `x` has no features.*Received: x\.shape=\(20, 0\)",
      "fit-x-0-features-unbuilt"),
    p(lambda: fit(x=with_at(X, (2, 1), NAN)), ValueError,
      r"fit\(\): argument `x` contains NaN or infinity \(after conversion to float32\) at "
      r"indices \[\(2, 1\)\]", "fit-x-nan"),
    p(lambda: fit(x=with_at(X, (7, 3), -INF)), ValueError,
      r"fit\(\): argument `x` contains NaN or infinity.*\[\(7, 3\)\]", "fit-x-inf"),
    p(lambda: fit(x=with_at(X, (5, 0), 1e39)), ValueError,
      r"fit\(\): argument `x` contains NaN or infinity \(after conversion to float32\) at "
      r"indices \[\(5, 0\)\]", "fit-x-1e39-overflows-float32"),
    p(lambda: fit(y=Y_SPARSE[:-1]), ValueError,
      r"fit\(\): x and y have different numbers of samples.*len\(x\)=20", "fit-len-mismatch"),
    p(lambda: fit(x=X[:0], y=Y_SPARSE[:0]), ValueError,
      r"fit\(\): argument `x` has no samples\. Expected at least 1 sample\. "
      r"Received: x\.shape=\(0, 4\)", "fit-0-samples"),
    # ---- fit: y ----------------------------------------------------------------------
    p(lambda: fit(y=None), TypeError,
      r"fit\(\): argument `y` is missing.*Received: y=None", "fit-y-None"),
    p(lambda: fit(y=Y_SPARSE.astype(str)), TypeError,
      r"^fit\(\): argument `y` holds <U\d+ values such as '\d'; a network is trained on "
      r"numbers\. Encode the \d+ classes \(.*\) as integers 0\.\.\d+, e\.g\. classes, y = "
      r"np\.unique\(y, return_inverse=True\).*Received: y\.dtype='<U\d+'$", "fit-y-str"),
    p(lambda: fit("bce", y=np.where(Y_BIN > 0, "spam", "ham")), TypeError,
      r"^fit\(\): argument `y` holds <U4 values .*Encode the two classes \('ham', 'spam'\) as 0 "
      r"and 1 for the sigmoid output, e\.g\. y = \(y == 'spam'\)\.astype\(int\)\. ",
      "fit-y-str-sigmoid"),
    p(lambda: fit(y=Y_SPARSE.astype(object)), TypeError,
      r"fit\(\): argument `y` holds object values", "fit-y-object"),
    p(lambda: fit(y=Y_SPARSE.astype(complex)), TypeError,
      r"fit\(\): unsupported dtype complex128 for argument `y`", "fit-y-complex"),
    p(lambda: fit(y=np.int64(1)), ValueError,
      r"fit\(\): x and y have different numbers of samples", "fit-y-scalar"),
    p(lambda: fit(y=with_at(Y_SPARSE, 4, N_CLASSES)), ValueError,
      r"fit\(\): labels must be integers in \[0, 3\) for a 3-unit output\. "
      r"Received: y\[\[4\]\]=\[3\]", "fit-scce-label-eq-n_classes"),
    p(lambda: fit(y=with_at(Y_SPARSE, [4, 9], 1000)), ValueError,
      r"labels must be integers in \[0, 3\).*y\[\[4, 9\]\]=\[1000, 1000\]", "fit-scce-label-large"),
    p(lambda: fit(y=with_at(Y_SPARSE, 4, -1)), ValueError,
      r"labels must be integers in \[0, 3\).*y\[\[4\]\]=\[-1\]", "fit-scce-label-negative"),
    p(lambda: fit(y=with_at(Y_SPARSE, 4, 1.5)), ValueError,
      r"labels must be integers in \[0, 3\).*y\[\[4\]\]=\[1\.5\]", "fit-scce-label-1.5"),
    p(lambda: fit(y=with_at(Y_SPARSE, 4, NAN)), ValueError,
      r"labels must be integers in \[0, 3\).*y\[\[4\]\]=\[nan\]", "fit-scce-label-nan"),
    p(lambda: fit(y=np.full(N, -1)), ValueError,
      r"labels must be integers.*y\[\[0, 1, 2, 3, 4\]\]=\[-1, -1, -1, -1, -1\]\.$",
      "fit-scce-at-most-5-offenders"),
    p(lambda: fit(y=Y_ONEHOT), ValueError,
      r"fit\(\): sparse_categorical_crossentropy expects integer class labels of shape "
      r"\(n_samples,\)\. Received: y\.shape=\(20, 3\).*categorical_crossentropy", "fit-scce-onehot"),
    p(lambda: fit("cce", y=np.eye(4)[Y_SPARSE]), ValueError,
      r"fit\(\): y has shape \(20, 4\), but the model outputs \(None, 3\); "
      r"expected y of shape \(20, 3\)", "fit-cce-onehot-wrong-width"),
    p(lambda: fit("cce", y=Y_SPARSE), ValueError,
      r"fit\(\): y has shape \(20,\).*sparse_categorical_crossentropy", "fit-cce-int-labels-hint"),
    p(lambda: fit("cce", y=with_at(Y_ONEHOT, (3, 0), -0.5)), ValueError,
      r"fit\(\): categorical_crossentropy targets must lie in \[0, 1\].*\(3, 0\).*-0\.5",
      "fit-cce-negative-target"),
    p(lambda: fit("bce", y=Y_SPARSE), ValueError,
      r"fit\(\): binary_crossentropy targets must lie in \[0, 1\]\. Received: y at \[2, ",
      "fit-bce-target-2"),
    p(lambda: fit("bce", y=with_at(Y_BIN, 6, -0.1)), ValueError,
      r"fit\(\): binary_crossentropy targets must lie in \[0, 1\]\. Received: y at \[6\] = \[-0\.1",
      "fit-bce-target-negative"),
    p(lambda: fit("bce", y=with_at(Y_BIN, 6, NAN)), ValueError,
      r"fit\(\): argument `y` contains NaN or infinity.* at indices \[6\]\.", "fit-bce-target-nan"),
    p(lambda: fit("mse", y=with_at(Y_REG, 2, INF)), ValueError,
      r"fit\(\): argument `y` contains NaN or infinity.* at indices \[2\]\.", "fit-mse-target-inf"),
    p(lambda: fit("mse", y=np.zeros((N, 2))), ValueError,
      r"fit\(\): y has shape \(20, 2\), but the model outputs \(None, 1\)", "fit-mse-y-width"),
    # ---- fit: hyper-parameters -------------------------------------------------------
    p(lambda: fit(batch_size=0), ValueError,
      r"^fit\(\): invalid value for argument `batch_size`\. Expected an int >= 1\. "
      r"Received: batch_size=0$", "fit-batch_size-0"),
    p(lambda: fit(batch_size=-1), ValueError,
      r"fit\(\): invalid value for argument `batch_size`.*Received: batch_size=-1",
      "fit-batch_size--1"),
    p(lambda: fit(batch_size=1.5), TypeError,
      r"fit\(\): invalid type for argument `batch_size`\. Expected an int >= 1\. "
      r"Received: batch_size=1\.5", "fit-batch_size-1.5"),
    p(lambda: fit(batch_size=True), TypeError,
      r"fit\(\): invalid type for argument `batch_size`.*Received: batch_size=True",
      "fit-batch_size-True"),
    p(lambda: fit(batch_size="32"), TypeError,
      r"fit\(\): invalid type for argument `batch_size`.*Received: batch_size='32'",
      "fit-batch_size-str"),
    p(lambda: fit(batch_size=NAN), TypeError,
      r"fit\(\): invalid type for argument `batch_size`.*Received: batch_size=nan",
      "fit-batch_size-nan"),
    p(lambda: fit(epochs=-1), ValueError,
      r"fit\(\): invalid value for argument `epochs`\. Expected an int >= 0\. Received: epochs=-1",
      "fit-epochs--1"),
    p(lambda: fit(epochs=True), TypeError,
      r"fit\(\): invalid type for argument `epochs`.*Received: epochs=True", "fit-epochs-True"),
    p(lambda: fit(epochs=None), TypeError,
      r"fit\(\): invalid type for argument `epochs`.*Received: epochs=None", "fit-epochs-None"),
    p(lambda: fit(epochs=2.0), TypeError,
      r"fit\(\): invalid type for argument `epochs`.*Received: epochs=2\.0", "fit-epochs-float"),
    p(lambda: fit(epochs="1"), TypeError,
      r"fit\(\): invalid type for argument `epochs`.*Received: epochs='1'", "fit-epochs-str"),
    p(lambda: fit(verbose=3), ValueError,
      r"fit\(\): invalid value for argument `verbose`\. Expected an int >= 0 and <= 2\. "
      r"Received: verbose=3", "fit-verbose-3"),
    p(lambda: fit(verbose=-1), ValueError,
      r"fit\(\): invalid value for argument `verbose`.*Received: verbose=-1", "fit-verbose--1"),
    p(lambda: fit(verbose="x"), TypeError,
      r"fit\(\): invalid type for argument `verbose`.*Received: verbose='x'", "fit-verbose-str"),
    p(lambda: fit(verbose=None), TypeError,
      r"fit\(\): invalid type for argument `verbose`.*Received: verbose=None", "fit-verbose-None"),
    p(lambda: fit(verbose=True), TypeError,
      r"fit\(\): invalid type for argument `verbose`.*Received: verbose=True", "fit-verbose-True"),
    p(lambda: fit(validation_split=1.0), ValueError,
      r"fit\(\): invalid value for argument `validation_split`\. Expected a finite float >= 0\.0 "
      r"and < 1\.0\. Received: validation_split=1\.0", "fit-validation_split-1.0"),
    p(lambda: fit(validation_split=-0.1), ValueError,
      r"fit\(\): invalid value for argument `validation_split`.*Received: validation_split=-0\.1",
      "fit-validation_split--0.1"),
    p(lambda: fit(validation_split=NAN), ValueError,
      r"fit\(\): invalid value for argument `validation_split`.*Received: validation_split=nan",
      "fit-validation_split-nan"),
    p(lambda: fit(validation_split=INF), ValueError,
      r"fit\(\): invalid value for argument `validation_split`.*Received: validation_split=inf",
      "fit-validation_split-inf"),
    p(lambda: fit(validation_split=True), TypeError,
      r"fit\(\): invalid type for argument `validation_split`.*Received: validation_split=True",
      "fit-validation_split-True"),
    p(lambda: fit(validation_split="0.1"), TypeError,
      r"fit\(\): invalid type for argument `validation_split`.*Received: validation_split='0\.1'",
      "fit-validation_split-str"),
    p(lambda: fit(validation_split=None), TypeError,
      r"fit\(\): invalid type for argument `validation_split`.*Received: validation_split=None",
      "fit-validation_split-None"),
    # Keras's split: the last n - floor(n·(1 - split)) samples validate
    p(lambda: fit(x=X[:3], y=Y_SPARSE[:3], validation_split=1e-17), ValueError,
      r"fit\(\): validation_split=1e-17 of 3 samples leaves 0 for validation and 3 for training",
      "fit-validation_split-leaves-0"),
    p(lambda: fit(x=X[:1], y=Y_SPARSE[:1], validation_split=0.5), ValueError,
      r"fit\(\): validation_split=0\.5 of 1 samples leaves 1 for validation and 0 for training",
      "fit-validation_split-leaves-0-train"),
    p(lambda: fit(x=X[:1], y=Y_SPARSE[:1], validation_split=0.01), ValueError,
      r"fit\(\): validation_split=0\.01 of 1 samples leaves 1 for validation and 0 for "
      r"training", "fit-validation_split-1-sample"),
    p(lambda: fit(validation_data=X), TypeError,
      r"fit\(\): invalid validation_data\. Expected a tuple \(x_val, y_val\[, sample_weight\]\)",
      "fit-validation_data-array"),
    p(lambda: fit(validation_data=(X, Y_SPARSE, Y_SPARSE, Y_SPARSE)), TypeError,
      r"fit\(\): invalid validation_data\. Expected a tuple \(x_val, y_val\[, sample_weight\]\)",
      "fit-validation_data-4-tuple"),
    p(lambda: fit(validation_data="xy"), TypeError,
      r"fit\(\): invalid validation_data", "fit-validation_data-str"),
    p(lambda: fit(validation_data=(None, Y_SPARSE)), TypeError,
      r"fit\(\): argument `validation_data\[0\]` is missing", "fit-validation_data-x-None"),
    p(lambda: fit(validation_data=(X, None)), TypeError,
      r"fit\(\):.*validation_data\[1\].*missing|fit\(\): argument `y` is missing",
      "fit-validation_data-y-None"),
    p(lambda: fit(validation_data=(X[:, :2], Y_SPARSE)), ValueError,
      r"fit\(\): validation_data\[0\] has 2 features, but the model expects 4",
      "fit-validation_data-wrong-features"),
    p(lambda: fit(validation_data=(with_at(X, (1, 1), NAN), Y_SPARSE)), ValueError,
      r"fit\(\): argument `validation_data\[0\]` contains NaN or infinity.*\[\(1, 1\)\]",
      "fit-validation_data-nan"),
    # the error must name validation_data, not the (valid) training y
    p(lambda: fit(validation_data=(X, with_at(Y_SPARSE, 2, 7))), ValueError,
      r"fit\(\): .*validation_data\[1\].*labels must be integers in \[0, 3\)|"
      r"fit\(\): labels must be integers in \[0, 3\).*validation_data\[1\]",
      "fit-validation_data-bad-label"),
    p(lambda: fit(validation_data=(X, Y_SPARSE[:3])), ValueError,
      r"fit\(\): validation_data.*different numbers of samples|"
      r"fit\(\): .*different numbers of samples.*validation_data",
      "fit-validation_data-len-mismatch"),
    p(lambda: fit(validation_data=(X, Y_SPARSE), validation_split=0.2), ValueError,
      r"fit\(\): give validation_data or validation_split, not both", "fit-validation-both"),
    p(lambda: fit(callbacks=[1]), TypeError,
      r"fit\(\): invalid callback\. Expected instances of fastnn\.callbacks\.Callback\. "
      r"Received: callback=1", "fit-callbacks-int-element"),
    p(lambda: fit(callbacks=[callbacks.EarlyStopping]), TypeError,
      r"fit\(\): invalid callback.*Received: callback=<class", "fit-callbacks-class"),
    p(lambda: fit(callbacks=[lambda logs: None]), TypeError,
      r"fit\(\): invalid callback.*Received: callback=<function", "fit-callbacks-function"),
    p(lambda: fit(callbacks=callbacks.EarlyStopping()), TypeError,
      r"fit\(\): invalid type for argument `callbacks`\. Expected a list of Callback objects",
      "fit-callbacks-not-a-list"),
    p(lambda: fit(shuffle="yes"), TypeError,
      r"^fit\(\): invalid type for argument `shuffle`\. Expected a bool\. "
      r"Received: shuffle='yes'$", "fit-shuffle-str"),
    p(lambda: fit(shuffle=1), TypeError,
      r"fit\(\): invalid type for argument `shuffle`.*Received: shuffle=1", "fit-shuffle-int"),
    p(lambda: fit(shuffle=None), TypeError,
      r"fit\(\): invalid type for argument `shuffle`.*Received: shuffle=None", "fit-shuffle-None"),
    p(lambda: model(compiled=False).fit(X, Y_SPARSE, verbose=0), RuntimeError,
      r"fit\(\): the model must be compiled first", "fit-not-compiled"),
    # ---- evaluate --------------------------------------------------------------------
    p(lambda: model(compiled=False).evaluate(X, Y_SPARSE), RuntimeError,
      r"evaluate\(\): the model must be compiled first", "evaluate-not-compiled"),
    p(lambda: evaluate(x=None), TypeError,
      r"evaluate\(\): argument `x` is missing.*Received: x=None", "evaluate-x-None"),
    p(lambda: evaluate(y=None), TypeError,
      r"evaluate\(\): argument `y` is missing", "evaluate-y-None"),
    p(lambda: evaluate(x=X.astype(complex)), TypeError,
      r"evaluate\(\): unsupported dtype complex128 for argument `x`", "evaluate-x-complex"),
    p(lambda: evaluate(x=X[:, :3]), ValueError,
      r"evaluate\(\): x has 3 features, but the model expects 4", "evaluate-wrong-features"),
    p(lambda: evaluate(x=X[0]), ValueError,
      r"evaluate\(\): argument `x` must be 2-D.*reshape\(1, -1\)", "evaluate-x-1d"),
    p(lambda: evaluate(x=with_at(X, (0, 0), NAN)), ValueError,
      r"evaluate\(\): argument `x` contains NaN or infinity.*\[\(0, 0\)\]", "evaluate-x-nan"),
    p(lambda: evaluate(y=with_at(Y_SPARSE, 0, 3)), ValueError,
      r"evaluate\(\): labels must be integers in \[0, 3\).*y\[\[0\]\]=\[3\]", "evaluate-bad-label"),
    p(lambda: evaluate(y=Y_SPARSE[:5]), ValueError,
      r"evaluate\(\): x and y have different numbers of samples", "evaluate-len-mismatch"),
    p(lambda: evaluate(x=X[:0], y=Y_SPARSE[:0]), ValueError,
      r"evaluate\(\): argument `x` has no samples", "evaluate-0-samples"),
    p(lambda: evaluate(batch_size=0), ValueError,
      r"evaluate\(\): invalid value for argument `batch_size`.*Received: batch_size=0",
      "evaluate-batch_size-0"),
    p(lambda: evaluate(batch_size="8"), TypeError,
      r"evaluate\(\): invalid type for argument `batch_size`.*Received: batch_size='8'",
      "evaluate-batch_size-str"),
    p(lambda: evaluate(verbose=5), ValueError,
      r"evaluate\(\): invalid value for argument `verbose`.*Received: verbose=5",
      "evaluate-verbose-5"),
    p(lambda: evaluate(return_dict="yes"), TypeError,
      r"evaluate\(\): invalid type for argument `return_dict`\. Expected a bool\. "
      r"Received: return_dict='yes'", "evaluate-return_dict-str"),
    p(lambda: model(built=False).evaluate(X, Y_SPARSE), fastnn.NotFittedError,
      r"evaluate\(\): the model has no weights yet", "evaluate-not-built"),
    # ---- predict ---------------------------------------------------------------------
    p(lambda: model(built=False).predict(X), fastnn.NotFittedError,
      r"predict\(\): the model has no weights yet.*fastnn\.Input\(shape=\(n_features,\)\)",
      "predict-not-built"),
    p(lambda: model(built=False, compiled=False).predict(X), fastnn.NotFittedError,
      r"predict\(\): the model has no weights yet", "predict-not-built-not-compiled"),
    p(lambda: predict(X[:, :3]), ValueError,
      r"^predict\(\): x has 3 features, but the model expects 4 \(input shape \(None, 4\)\)\.$",
      "predict-wrong-features-float64"),
    p(lambda: predict(np.ascontiguousarray(X[:, :3], dtype=np.float32)), ValueError,
      r"predict\(\): x has 3 features, but the model expects 4", "predict-wrong-features-float32"),
    p(lambda: predict(np.zeros((N, 0))), ValueError,
      r"predict\(\): argument `x` has no features", "predict-0-features"),
    p(lambda: predict(with_at(X, (3, 2), NAN)), ValueError,
      r"predict\(\): argument `x` contains NaN or infinity \(after conversion to float32\) at "
      r"indices \[\(3, 2\)\]\. Expected finite values\.", "predict-nan-float64"),
    p(lambda: predict(with_at(X, (3, 2), NAN, dtype=np.float32)), ValueError,
      r"predict\(\): argument `x` contains NaN or infinity.*\[\(3, 2\)\]",
      "predict-nan-float32-fast-path"),
    p(lambda: predict(with_at(X, (0, 0), INF, dtype=np.float32)), ValueError,
      r"predict\(\): argument `x` contains NaN or infinity.*\[\(0, 0\)\]", "predict-inf-float32"),
    p(lambda: predict(with_at(X, (1, 1), -1e39)), ValueError,
      r"predict\(\): argument `x` contains NaN or infinity \(after conversion to float32\).*"
      r"\[\(1, 1\)\]", "predict-1e39-overflows-float32"),
    p(lambda: predict(np.full((N, N_IN), NAN)), ValueError,
      r"indices \[\(0, 0\), \(0, 1\), \(0, 2\), \(0, 3\), \(1, 0\)\]\. Expected",
      "predict-nan-at-most-5-indices"),
    p(lambda: predict(X[0]), ValueError,
      r"predict\(\): argument `x` must be 2-D\. Expected shape \(n_samples, n_features\)\. "
      r"Received: x\.shape=\(4,\)\. The model takes 4 features per sample: use "
      r"x\.reshape\(1, -1\) for this one sample\.$", "predict-1d-reshape-hint"),
    p(lambda: predict(X[None]), ValueError,
      r"predict\(\): argument `x` must be 2-D.*Received: x\.shape=\(1, 20, 4\)", "predict-3d"),
    p(lambda: predict(1.0), ValueError,
      r"predict\(\): argument `x` must be 2-D.*Received: x\.shape=\(\)", "predict-scalar"),
    p(lambda: predict([["a", "b", "c", "d"]]), TypeError,
      r"predict\(\): unsupported dtype <U1 for argument `x`", "predict-str"),
    p(lambda: predict("abcd"), TypeError,
      r"predict\(\): unsupported type for argument `x`\. Expected NumPy arrays",
      "predict-plain-str"),
    p(lambda: predict(None), TypeError,
      r"predict\(\): argument `x` is missing.*Received: x=None", "predict-None"),
    p(lambda: predict(X.astype(object)), TypeError,
      r"predict\(\): unsupported dtype object", "predict-object"),
    p(lambda: predict(X.astype(np.complex64)), TypeError,
      r"predict\(\): unsupported dtype complex64", "predict-complex"),
    p(lambda: predict([[1, 2, 3, 4], [1, 2]]), ValueError,
      r"predict\(\): argument `x` is not a rectangular array", "predict-ragged"),
    p(lambda: predict(X, batch_size=0), ValueError,
      r"predict\(\): invalid value for argument `batch_size`.*Received: batch_size=0",
      "predict-batch_size-0"),
    p(lambda: predict(X, batch_size=True), TypeError,
      r"predict\(\): invalid type for argument `batch_size`.*Received: batch_size=True",
      "predict-batch_size-True"),
    p(lambda: predict(X, verbose=3), ValueError,
      r"predict\(\): invalid value for argument `verbose`.*Received: verbose=3", "predict-verbose-3"),
    # ---- get_weights / set_weights / misc ---------------------------------------------
    p(lambda: model(built=False).get_weights(), fastnn.NotFittedError,
      r"get_weights\(\): the model has no weights yet", "get_weights-not-built"),
    p(lambda: model(built=False).set_weights([]), fastnn.NotFittedError,
      r"set_weights\(\): the model has no weights yet", "set_weights-not-built"),
    p(lambda: model(built=False).count_params(), fastnn.NotFittedError,
      r"count_params\(\): the model has no weights yet", "count_params-not-built"),
    p(lambda: set_weights(lambda ws: ws[:-1]), ValueError,
      r"set_weights\(\): expected a list of 4 arrays.*received 3", "set_weights-too-few"),
    p(lambda: set_weights(lambda ws: ws + [ws[-1]]), ValueError,
      r"set_weights\(\): expected a list of 4 arrays.*received 5", "set_weights-too-many"),
    p(lambda: set_weights(lambda ws: _replace(ws, 0, ws[0].T)), ValueError,
      r"set_weights\(\): weights\[0\] \(dense kernel\) has shape \(5, 4\); expected \(4, 5\)",
      "set_weights-transposed-kernel"),
    p(lambda: set_weights(lambda ws: _replace(ws, 3, np.zeros(4))), ValueError,
      r"set_weights\(\): weights\[3\] \(dense_1 bias\) has shape \(4,\); expected \(3,\)",
      "set_weights-bias-wrong-length"),
    p(lambda: set_weights(lambda ws: _replace(ws, 1, ws[1][:, None])), ValueError,
      r"set_weights\(\): argument `weights\[1\]` must be 1-D", "set_weights-bias-2d"),
    p(lambda: set_weights(lambda ws: _replace(ws, 2, ws[2] * NAN)), ValueError,
      r"set_weights\(\): argument `weights\[2\]` contains NaN or infinity", "set_weights-nan"),
    p(lambda: set_weights(lambda ws: _replace(ws, 0, ws[0].astype(np.float64) * 1e39)), ValueError,
      r"set_weights\(\): argument `weights\[0\]` contains NaN or infinity \(after conversion to "
      r"float32\)", "set_weights-1e39"),
    p(lambda: set_weights(lambda ws: np.zeros(3)), TypeError,
      r"set_weights\(\): invalid type for argument `weights`\. Expected a list of arrays",
      "set_weights-array-not-list"),
    p(lambda: set_weights(lambda ws: None), TypeError,
      r"set_weights\(\): invalid type for argument `weights`.*Received: weights=None",
      "set_weights-None"),
    p(lambda: set_weights(lambda ws: _replace(ws, 0, None)), TypeError,
      r"set_weights\(\): argument `weights\[0\]` is missing", "set_weights-None-element"),
    p(lambda: set_weights(lambda ws: _replace(ws, 0, ws[0].astype(str))), TypeError,
      r"set_weights\(\): unsupported dtype <U\d+ for argument `weights\[0\]`",
      "set_weights-str-element"),
    p(lambda: set_weights(lambda ws: _replace(ws, 0, ws[0].astype(complex))), TypeError,
      r"set_weights\(\): unsupported dtype complex128 for argument `weights\[0\]`",
      "set_weights-complex-element"),
    p(lambda: fastnn.clone_model("model"), TypeError,
      r"clone_model\(\): invalid model.*Received: model='model'", "clone_model-str"),
    # ---- Dense -----------------------------------------------------------------------
    p(lambda: Dense(0), ValueError,
      r"^Dense\(\): invalid value for argument `units`\. Expected an int >= 1.*Received: units=0$",
      "Dense-units-0"),
    p(lambda: Dense(-1), ValueError,
      r"Dense\(\): invalid value for argument `units`\. Expected an int >= 1.*Received: units=-1",
      "Dense-units--1"),
    p(lambda: Dense(2**31), ValueError,
      r"Dense\(\): invalid value for argument `units`.*Received: units=2147483648",
      "Dense-units-2**31"),
    p(lambda: Dense(1.5), TypeError,
      r"Dense\(\): invalid type for argument `units`\. Expected an int >= 1.*Received: units=1\.5",
      "Dense-units-1.5"),
    p(lambda: Dense(2.0), TypeError,
      r"Dense\(\): invalid type for argument `units`.*Received: units=2\.0", "Dense-units-2.0"),
    p(lambda: Dense(True), TypeError,
      r"Dense\(\): invalid type for argument `units`.*Received: units=True", "Dense-units-True"),
    p(lambda: Dense("3"), TypeError,
      r"Dense\(\): invalid type for argument `units`.*Received: units='3'", "Dense-units-str"),
    p(lambda: Dense(None), TypeError,
      r"Dense\(\): invalid type for argument `units`.*Received: units=None", "Dense-units-None"),
    p(lambda: Dense(NAN), TypeError,
      r"Dense\(\): invalid type for argument `units`.*Received: units=nan", "Dense-units-nan"),
    p(lambda: Dense(2, activation="nope"), ValueError,
      r"Dense\(\): unknown activation 'nope'\. Expected one of \['elu', 'gelu', "
      r"'leaky_relu', 'linear', 'relu', 'relu_keras', 'selu', 'sigmoid', 'sign', 'silu', 'softmax', "
      r"'softplus', 'step', 'swish', 'tanh'\]\. Received: activation='nope'",
      "Dense-activation-unknown"),
    p(lambda: Dense(2, activation="rellu"), ValueError,
      r"^Dense\(\): unknown activation 'rellu' \(did you mean 'relu'\?\)\. .*"
      r"Received: activation='rellu'$", "Dense-activation-typo"),
    p(lambda: Dense(2, activation=3), TypeError,
      r"Dense\(\): could not interpret .*Received: activation=3", "Dense-activation-int"),
    p(lambda: Dense(2, activation=np.tanh), TypeError,
      r"Dense\(\).*Received: activation=<ufunc 'tanh'>", "Dense-activation-callable"),
    p(lambda: Dense(2, kernel_initializer="nope"), ValueError,
      r"initializers\.get\(\): unknown initializer 'nope'\. Expected one of \[.*'glorot_uniform'",
      "Dense-initializer-unknown"),
    # (bias_initializer=None is valid: Keras 3's glorot_uniform, tests/test_keras_idioms.py)
    p(lambda: Dense(2, bias_initializer=1.5), TypeError,
      r"initializers\.get\(\).*Received: identifier=1\.5", "Dense-bias_initializer-float"),
    p(lambda: Dense(2, kernel_regularizer="nope"), ValueError,
      r"regularizers\.get\(\): unknown regularizer 'nope'\. Expected one of "
      r"\['l1', 'l1_l2', 'l1l2', 'l2'\]", "Dense-regularizer-unknown"),
    p(lambda: Dense(2, bias_regularizer=0.01), TypeError,
      r"regularizers\.get\(\): could not interpret .*Received: identifier=0\.01",
      "Dense-regularizer-float"),
    p(lambda: Dense(2, use_bias="yes"), TypeError,
      r"^Dense\(\): invalid type for argument `use_bias`\. Expected a bool\. "
      r"Received: use_bias='yes'$", "Dense-use_bias-str"),
    p(lambda: Dense(2, use_bias=1), TypeError,
      r"Dense\(\): invalid type for argument `use_bias`.*Received: use_bias=1", "Dense-use_bias-1"),
    p(lambda: Dense(2, use_bias=None), TypeError,
      r"Dense\(\): invalid type for argument `use_bias`.*Received: use_bias=None",
      "Dense-use_bias-None"),
    p(lambda: Dense(2, name=3), TypeError,
      r"Dense\(\): invalid type for argument `name`.*Received: name=3", "Dense-name-int"),
    p(lambda: Dense(2, input_shape=(0,)), ValueError,
      r"Dense\(\): invalid value for argument `shape\[0\]`.*Received: shape\[0\]=0",
      "Dense-input_shape-0"),
    p(lambda: Dense(2, input_shape=(2, 3)), ValueError,
      r"Dense\(\): invalid input shape.*Received: shape=\(2, 3\)", "Dense-input_shape-2d"),
    # ---- Dropout ---------------------------------------------------------------------
    p(lambda: Dropout(1.0), ValueError,
      r"^Dropout\(\): invalid value for argument `rate`\. Expected a finite float >= 0\.0 and "
      r"< 1\.0\. Received: rate=1\.0$", "Dropout-1.0"),
    p(lambda: Dropout(1), ValueError,
      r"Dropout\(\): invalid value for argument `rate`.*Received: rate=1\.0", "Dropout-int-1"),
    p(lambda: Dropout(-0.1), ValueError,
      r"Dropout\(\): invalid value for argument `rate`.*Received: rate=-0\.1", "Dropout--0.1"),
    p(lambda: Dropout(NAN), ValueError,
      r"Dropout\(\): invalid value for argument `rate`.*Received: rate=nan", "Dropout-nan"),
    p(lambda: Dropout(INF), ValueError,
      r"Dropout\(\): invalid value for argument `rate`.*Received: rate=inf", "Dropout-inf"),
    p(lambda: Dropout(True), TypeError,
      r"Dropout\(\): invalid type for argument `rate`.*Received: rate=True", "Dropout-True"),
    p(lambda: Dropout("0.5"), TypeError,
      r"Dropout\(\): invalid type for argument `rate`.*Received: rate='0\.5'", "Dropout-str"),
    p(lambda: Dropout(None), TypeError,
      r"Dropout\(\): invalid type for argument `rate`.*Received: rate=None", "Dropout-None"),
    # ---- Input -----------------------------------------------------------------------
    p(lambda: fastnn.Input(shape=(0,)), ValueError,
      r"Input\(\): invalid value for argument `shape\[0\]`\. Expected an int >= 1.*"
      r"Received: shape\[0\]=0", "Input-(0,)"),
    p(lambda: fastnn.Input(shape=(-3,)), ValueError,
      r"Input\(\): invalid value for argument `shape\[0\]`.*Received: shape\[0\]=-3", "Input-(-3,)"),
    p(lambda: fastnn.Sequential([fastnn.Input(shape=(2, 3)), Dense(2)]), ValueError,
      r"Dense \(new layer\) receives samples of shape \(None, 2, 3\).*Put Flatten\(\) "
      r"before it",
      "Input-(2,3)-then-Dense"),
    p(lambda: fastnn.Input(shape=()), ValueError,
      r"Input\(\): invalid input shape.*Received: shape=\(\)", "Input-()"),
    p(lambda: fastnn.Input(shape="a"), TypeError,
      r"Input\(\): invalid input shape.*Received: shape='a'", "Input-str"),
    p(lambda: fastnn.Input(shape=None), TypeError,
      r"Input\(\): invalid input shape.*Received: shape=None", "Input-None"),
    p(lambda: fastnn.Input(shape=(1.5,)), TypeError,
      r"Input\(\): invalid type for argument `shape\[0\]`.*Received: shape\[0\]=1\.5",
      "Input-(1.5,)"),
    p(lambda: fastnn.Input(shape=(True,)), TypeError,
      r"Input\(\): invalid type for argument `shape\[0\]`.*Received: shape\[0\]=True",
      "Input-(True,)"),
    p(lambda: fastnn.Input(shape=("1",)), TypeError,
      r"Input\(\): invalid type for argument `shape\[0\]`.*Received: shape\[0\]='1'",
      "Input-('1',)"),
]

# ---- optimizers: learning_rate on every class ------------------------------------------
for _cls in OPTIMIZERS:
    _n = _cls.__name__
    for _lr, _exc, _shown in [(0, ValueError, "0.0"), (-0.0, ValueError, "-0.0"),
                              (-1, ValueError, "-1.0"), (NAN, ValueError, "nan"),
                              (INF, ValueError, "inf"), (True, TypeError, "True"),
                              ("0.1", TypeError, "'0.1'"), (None, TypeError, "None")]:
        _kind = ERR_VALUE if _exc is ValueError else ERR_TYPE
        CASES.append(p(
            lr_call(_cls, _lr), _exc,
            rf"^{_n}\(\): {_kind.format(name='learning_rate')}\. Expected a finite float > 0\.0\. "
            rf"Received: learning_rate={re.escape(_shown)}$",
            f"{_n}-learning_rate-{_shown}"))


def _opt_case(cls, kw, exc, name, shown, expected):
    kind = ERR_VALUE if exc is ValueError else ERR_TYPE
    value = next(iter(kw.values()))
    return p(lambda: cls(**kw), exc,
             rf"^{cls.__name__}\(\): {kind.format(name=name)}\. Expected {expected}\. "
             rf"Received: {name}={re.escape(shown)}$",
             f"{cls.__name__}-{name}-{value!r}")


_UNIT = r"a finite float >= 0\.0 and < 1\.0"
_POS = r"a finite float > 0\.0"
_NONNEG = r"a finite float >= 0\.0"
CASES += [
    _opt_case(optimizers.SGD, {"momentum": 1.0}, ValueError, "momentum", "1.0", _UNIT),
    _opt_case(optimizers.SGD, {"momentum": -0.1}, ValueError, "momentum", "-0.1", _UNIT),
    _opt_case(optimizers.SGD, {"momentum": NAN}, ValueError, "momentum", "nan", _UNIT),
    _opt_case(optimizers.SGD, {"momentum": "0.9"}, TypeError, "momentum", "'0.9'", _UNIT),
    _opt_case(optimizers.SGD, {"nesterov": "yes"}, TypeError, "nesterov", "'yes'", "a bool"),
    _opt_case(optimizers.SGD, {"nesterov": 1}, TypeError, "nesterov", "1", "a bool"),
    _opt_case(optimizers.SGD, {"nesterov": None}, TypeError, "nesterov", "None", "a bool"),
    _opt_case(optimizers.RMSprop, {"momentum": 1.0}, ValueError, "momentum", "1.0", _UNIT),
    _opt_case(optimizers.RMSprop, {"momentum": -0.1}, ValueError, "momentum", "-0.1", _UNIT),
    _opt_case(optimizers.RMSprop, {"rho": 1.0}, ValueError, "rho", "1.0", _UNIT),
    _opt_case(optimizers.RMSprop, {"rho": -0.5}, ValueError, "rho", "-0.5", _UNIT),
    _opt_case(optimizers.RMSprop, {"rho": NAN}, ValueError, "rho", "nan", _UNIT),
    _opt_case(optimizers.RMSprop, {"rho": True}, TypeError, "rho", "True", _UNIT),
    _opt_case(optimizers.RMSprop, {"epsilon": 0}, ValueError, "epsilon", "0.0", _POS),
    _opt_case(optimizers.RMSprop, {"epsilon": -1e-7}, ValueError, "epsilon", "-1e-07", _POS),
    _opt_case(optimizers.Adam, {"beta_1": 1.0}, ValueError, "beta_1", "1.0", _UNIT),
    _opt_case(optimizers.Adam, {"beta_1": NAN}, ValueError, "beta_1", "nan", _UNIT),
    _opt_case(optimizers.Adam, {"beta_1": None}, TypeError, "beta_1", "None", _UNIT),
    _opt_case(optimizers.Adam, {"beta_2": -0.5}, ValueError, "beta_2", "-0.5", _UNIT),
    _opt_case(optimizers.Adam, {"beta_2": 1.0}, ValueError, "beta_2", "1.0", _UNIT),
    _opt_case(optimizers.Adam, {"epsilon": 0}, ValueError, "epsilon", "0.0", _POS),
    _opt_case(optimizers.Adam, {"epsilon": -0.0}, ValueError, "epsilon", "-0.0", _POS),
    _opt_case(optimizers.Adam, {"epsilon": INF}, ValueError, "epsilon", "inf", _POS),
    _opt_case(optimizers.AdamW, {"beta_1": 1.0}, ValueError, "beta_1", "1.0", _UNIT),
    _opt_case(optimizers.AdamW, {"beta_2": -0.5}, ValueError, "beta_2", "-0.5", _UNIT),
    _opt_case(optimizers.AdamW, {"epsilon": 0}, ValueError, "epsilon", "0.0", _POS),
    _opt_case(optimizers.AdamW, {"weight_decay": -1}, ValueError, "weight_decay", "-1.0", _NONNEG),
    _opt_case(optimizers.AdamW, {"weight_decay": NAN}, ValueError, "weight_decay", "nan", _NONNEG),
    _opt_case(optimizers.AdamW, {"weight_decay": "1"}, TypeError, "weight_decay", "'1'", _NONNEG),
    _opt_case(optimizers.Adagrad, {"epsilon": 0}, ValueError, "epsilon", "0.0", _POS),
    _opt_case(optimizers.Adagrad, {"initial_accumulator_value": -1}, ValueError,
              "initial_accumulator_value", "-1.0", _NONNEG),
    _opt_case(optimizers.Adagrad, {"initial_accumulator_value": INF}, ValueError,
              "initial_accumulator_value", "inf", _NONNEG),
    # ---- registries --------------------------------------------------------------------
    p(lambda: optimizers.get("nope"), ValueError,
      r"^optimizers\.get\(\): unknown optimizer 'nope'\. Expected one of \['adagrad', 'adam', "
      r"'adamax', 'adamw', 'nadam', 'rmsprop', 'sgd'\]\. Received: identifier='nope'$",
      "optimizers.get-unknown"),
    p(lambda: optimizers.get(3), TypeError,
      r"optimizers\.get\(\): could not interpret .*Received: identifier=3", "optimizers.get-int"),
    p(lambda: optimizers.get({"class_name": "nope"}), ValueError,
      r"optimizers\.get\(\): unknown optimizer 'nope'", "optimizers.get-dict-unknown"),
    p(lambda: optimizers.get({"class_name": "adam", "config": {"learning_rate": -1}}), ValueError,
      r"Adam\(\): invalid value for argument `learning_rate`", "optimizers.get-dict-bad-lr"),
    # unknown keys in a config dict: house format, naming the function and the bad key
    p(lambda: optimizers.get({"class_name": "adam", "config": {"bogus": 1}}), TypeError,
      r"(optimizers\.get|Adam)\(\): .*bogus", "optimizers.get-dict-unknown-key"),
    p(lambda: optimizers.get({"class_name": "adam", "config": 3}), TypeError,
      r"(optimizers\.get|Adam)\(\): .*config", "optimizers.get-dict-config-not-dict"),
    p(lambda: losses.get(3), TypeError,
      r"^losses\.get\(\): could not interpret losses identifier\. Expected a name from \[.*\]\. "
      r"Received: identifier=3$", "losses.get-int"),
    p(lambda: losses.get(None), TypeError,
      r"losses\.get\(\).*Received: identifier=None", "losses.get-None"),
    p(lambda: losses.get("nope"), ValueError,
      r"^losses\.get\(\): unknown loss 'nope'\. Expected one of \['binary_crossentropy', "
      r"'categorical_crossentropy', 'hinge', 'huber', 'kl_divergence', 'kld', "
      r"'kullback_leibler_divergence', 'log_cosh', 'logcosh', 'mae', 'mean_absolute_error', "
      r"'mean_squared_error', 'mse', 'poisson', 'sparse_categorical_crossentropy', "
      r"'squared_hinge'\]\. Received: identifier='nope'$", "losses.get-unknown"),
    p(lambda: fastnn.activations.get("nope"), ValueError,
      r"activations\.get\(\): unknown activation 'nope'", "activations.get-unknown"),
    p(lambda: fastnn.initializers.get(1.0), TypeError,
      r"initializers\.get\(\).*Received: identifier=1\.0", "initializers.get-float"),
    p(lambda: regularizers.get("nope"), ValueError,
      r"regularizers\.get\(\): unknown regularizer 'nope'", "regularizers.get-unknown"),
    # ---- regularizers ------------------------------------------------------------------
    p(lambda: regularizers.l1(-1), ValueError,
      r"\(\): invalid value for argument `l1`\. Expected a finite float >= 0\.0\. "
      r"Received: l1=-1\.0$", "l1(-1)"),
    p(lambda: regularizers.l2(NAN), ValueError,
      r"\(\): invalid value for argument `l2`\. Expected a finite float >= 0\.0\. "
      r"Received: l2=nan$", "l2(nan)"),
    p(lambda: regularizers.l1_l2(INF), ValueError,
      r"\(\): invalid value for argument `l1`.*Received: l1=inf$", "l1_l2(inf)"),
    p(lambda: regularizers.l1_l2(0.1, -INF), ValueError,
      r"\(\): invalid value for argument `l2`.*Received: l2=-inf$", "l1_l2(0.1,-inf)"),
    p(lambda: regularizers.l2(True), TypeError,
      r"\(\): invalid type for argument `l2`.*Received: l2=True$", "l2(True)"),
    p(lambda: regularizers.l2("1"), TypeError,
      r"\(\): invalid type for argument `l2`.*Received: l2='1'$", "l2('1')"),
    p(lambda: regularizers.l1(None), TypeError,
      r"\(\): invalid type for argument `l1`.*Received: l1=None$", "l1(None)"),
    # ---- EarlyStopping -------------------------------------------------------------------
    p(lambda: callbacks.EarlyStopping(patience=-1), ValueError,
      r"^EarlyStopping\(\): invalid value for argument `patience`\. Expected an int >= 0\. "
      r"Received: patience=-1$", "EarlyStopping-patience--1"),
    p(lambda: callbacks.EarlyStopping(patience=True), TypeError,
      r"EarlyStopping\(\): invalid type for argument `patience`.*Received: patience=True",
      "EarlyStopping-patience-True"),
    p(lambda: callbacks.EarlyStopping(patience=2.0), TypeError,
      r"EarlyStopping\(\): invalid type for argument `patience`.*Received: patience=2\.0",
      "EarlyStopping-patience-float"),
    p(lambda: callbacks.EarlyStopping(mode="sideways"), ValueError,
      r"EarlyStopping\(\): unknown mode 'sideways'\. Expected one of \['auto', 'max', 'min'\]\. "
      r"Received: mode='sideways'", "EarlyStopping-mode-unknown"),
    p(lambda: callbacks.EarlyStopping(mode=None), TypeError,
      r"EarlyStopping\(\): invalid type for argument `mode`.*Received: mode=None",
      "EarlyStopping-mode-None"),
    p(lambda: callbacks.EarlyStopping(monitor=3), TypeError,
      r"EarlyStopping\(\): invalid type for argument `monitor`.*Received: monitor=3",
      "EarlyStopping-monitor-int"),
    p(lambda: callbacks.EarlyStopping(min_delta=NAN), ValueError,
      r"EarlyStopping\(\): invalid value for argument `min_delta`.*Received: min_delta=nan",
      "EarlyStopping-min_delta-nan"),
    p(lambda: callbacks.EarlyStopping(baseline="x"), TypeError,
      r"EarlyStopping\(\): invalid type for argument `baseline`.*Received: baseline='x'",
      "EarlyStopping-baseline-str"),
    p(lambda: callbacks.EarlyStopping(restore_best_weights="yes"), TypeError,
      r"EarlyStopping\(\): invalid type for argument `restore_best_weights`",
      "EarlyStopping-restore_best_weights-str"),
    p(lambda: callbacks.EarlyStopping(start_from_epoch=-1), ValueError,
      r"EarlyStopping\(\): invalid value for argument `start_from_epoch`",
      "EarlyStopping-start_from_epoch--1"),
    p(lambda: callbacks.EarlyStopping(verbose=3), ValueError,
      r"EarlyStopping\(\): invalid value for argument `verbose`.*Received: verbose=3",
      "EarlyStopping-verbose-3"),
    # ---- Perceptron ----------------------------------------------------------------------
    p(lambda: fastnn.Perceptron(learning_rate=0), ValueError,
      r"^Perceptron\(\): invalid value for argument `learning_rate`\. Expected a finite float "
      r"> 0\.0\. Received: learning_rate=0\.0$", "Perceptron-learning_rate-0"),
    p(lambda: fastnn.Perceptron(learning_rate=NAN), ValueError,
      r"Perceptron\(\): invalid value for argument `learning_rate`.*Received: learning_rate=nan",
      "Perceptron-learning_rate-nan"),
    p(lambda: fastnn.Perceptron(learning_rate="1"), TypeError,
      r"Perceptron\(\): invalid type for argument `learning_rate`", "Perceptron-learning_rate-str"),
    p(lambda: fastnn.Perceptron(max_epochs=0), ValueError,
      r"^Perceptron\(\): invalid value for argument `max_epochs`\. Expected an int >= 1\. "
      r"Received: max_epochs=0$", "Perceptron-max_epochs-0"),
    p(lambda: fastnn.Perceptron(max_epochs=True), TypeError,
      r"Perceptron\(\): invalid type for argument `max_epochs`.*Received: max_epochs=True",
      "Perceptron-max_epochs-True"),
    p(lambda: fastnn.Perceptron(max_epochs=None), TypeError,
      r"Perceptron\(\): invalid type for argument `max_epochs`.*Received: max_epochs=None",
      "Perceptron-max_epochs-None"),
    p(lambda: perceptron_fit(XOR_X, [0, 2, 0, 2]), ValueError,
      r"fit\(\): labels must be 0 or 1\. Received: y\[\[1, 3\]\]=\[2, 2\]",
      "Perceptron-fit-labels-0-2"),
    p(lambda: perceptron_fit(XOR_X, [0, -1, 1, 1]), ValueError,
      r"fit\(\): labels must be 0 or 1\. Received: y\[\[1\]\]=\[-1\]", "Perceptron-fit-label--1"),
    p(lambda: perceptron_fit(XOR_X, [0, 1, 1, NAN]), ValueError,
      r"fit\(\): labels must be 0 or 1\. Received: y\[\[3\]\]=\[nan\]", "Perceptron-fit-label-nan"),
    p(lambda: perceptron_fit(XOR_X, OR_Y[:, None]), ValueError,
      r"fit\(\): y must be 1-D labels\. Received: y\.shape=\(4, 1\)", "Perceptron-fit-2d-y"),
    p(lambda: perceptron_fit(XOR_X, ["a", "b", "a", "b"]), TypeError,
      r"fit\(\): labels must be numbers 0 or 1\. Received: y\.dtype=<U1", "Perceptron-fit-str-y"),
    p(lambda: perceptron_fit(XOR_X, None), TypeError,
      r"fit\(\):.*y", "Perceptron-fit-y-None"),
    p(lambda: perceptron_fit(XOR_X, OR_Y[:3]), ValueError,
      r"fit\(\): x and y have different numbers of samples\. Received: len\(x\)=4, len\(y\)=3",
      "Perceptron-fit-len-mismatch"),
    p(lambda: perceptron_fit(with_at(XOR_X, (1, 0), INF), OR_Y), ValueError,
      r"fit\(\): argument `x` contains NaN or infinity.*\[\(1, 0\)\]", "Perceptron-fit-x-inf"),
    p(lambda: perceptron_fit(XOR_X[:, 0], OR_Y), ValueError,
      r"fit\(\): argument `x` must be 2-D.*reshape", "Perceptron-fit-x-1d"),
    p(lambda: perceptron_fit(None, OR_Y), TypeError,
      r"fit\(\): argument `x` is missing", "Perceptron-fit-x-None"),
    p(lambda: perceptron_fit(XOR_X.astype(complex), OR_Y), TypeError,
      r"fit\(\): unsupported dtype complex128 for argument `x`", "Perceptron-fit-x-complex"),
    p(lambda: fastnn.Perceptron().predict(XOR_X), fastnn.NotFittedError,
      r"Perceptron.*fit\(\)", "Perceptron-predict-not-fitted"),
    p(lambda: fitted_perceptron().predict(XOR_X[:, :1]), ValueError,
      r"predict\(\): x has 1 features, but the model expects 2", "Perceptron-predict-features"),
    p(lambda: fitted_perceptron().predict(XOR_X * NAN), ValueError,
      r"predict\(\): argument `x` contains NaN", "Perceptron-predict-nan"),
    p(lambda: fitted_perceptron().score(XOR_X, [0, 1]), ValueError,
      r"score\(\): x and y have different numbers of samples", "Perceptron-score-len-mismatch"),
    # a length-1 y must not be broadcast against 4 predictions
    p(lambda: fitted_perceptron().score(XOR_X, [1]), ValueError,
      r"score\(\): x and y have different numbers of samples", "Perceptron-score-len-1-broadcast"),
    p(lambda: fitted_perceptron().score(XOR_X, [0, 1, 1, 2]), ValueError,
      r"score\(\): labels must be 0 or 1", "Perceptron-score-bad-label"),
]

_IDS = [c.id for c in CASES]
assert len(_IDS) == len(set(_IDS)), "duplicate test ids"

# Exceptions that must never escape a public call (A1)
INTERNAL = (IndexError, KeyError, UnboundLocalError, StopIteration, ZeroDivisionError,
            AssertionError, MemoryError, OverflowError, NameError, RecursionError)


@pytest.mark.parametrize("call, exc, match", CASES)
def test_bad_input_table(call, exc, match):
    with warnings.catch_warnings():
        # a bad call must fail on the input check, not warn first
        warnings.simplefilter("error")
        with pytest.raises(exc, match=match) as info:
            call()
    err = info.value
    # the exact class asked for: TypeError rows must not be satisfied by a ValueError
    # subclass that also happens to subclass TypeError, and vice versa
    if exc in (TypeError, ValueError):
        other = ValueError if exc is TypeError else TypeError
        assert not isinstance(err, other) or isinstance(err, fastnn.NotFittedError), (
            f"{type(err).__name__} is both TypeError and ValueError")
    assert not isinstance(err, INTERNAL)
    # AttributeError only through NotFittedError
    assert not isinstance(err, AttributeError) or isinstance(err, fastnn.NotFittedError)
    msg = str(err)
    assert msg and "\n" not in msg, "one-line message expected"


# ---------------------------------------------------------------------------
# Exception classes (A1)
# ---------------------------------------------------------------------------


def test_exception_hierarchy():
    assert issubclass(fastnn.NotFittedError, ValueError)
    assert issubclass(fastnn.NotFittedError, AttributeError)
    assert issubclass(fastnn.NonFiniteLossError, FloatingPointError)
    for w in (fastnn.ConvergenceWarning, fastnn.MismatchedLossWarning,
              fastnn.ZeroGradientWarning):
        assert issubclass(w, UserWarning)


def test_not_fitted_error_is_caught_as_value_and_attribute_error():
    m = model(built=False)
    with pytest.raises(ValueError):
        m.predict(X)
    with pytest.raises(AttributeError):
        m.predict(X)


# ---------------------------------------------------------------------------
# Values that must be accepted (the other side of every constraint)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, 0.0, -0.0, np.float32(0.25), 0.5, 0.999])
def test_dropout_accepts_valid_rates_incl_negative_zero(rate):
    d = Dropout(rate)
    assert d.rate == float(rate) and isinstance(d.rate, float)
    m = fastnn.Sequential([fastnn.Input(shape=(N_IN,)), Dense(4), d, Dense(3, activation="softmax")],
                          seed=0)
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    m.fit(X, Y_SPARSE, epochs=1, verbose=0)
    assert all(np.isfinite(w).all() for w in m.get_weights())


def test_dropout_negative_zero_trains_like_no_dropout():
    def run(layers):
        m = fastnn.Sequential([fastnn.Input(shape=(N_IN,)), *layers], seed=3)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        m.fit(X, Y_SPARSE, epochs=2, batch_size=5, verbose=0)
        return m.get_weights()

    a = run([Dense(4), Dropout(-0.0), Dense(3, activation="softmax")])
    b = run([Dense(4), Dense(3, activation="softmax")])
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("call", [
    pytest.param(lambda: optimizers.SGD(momentum=-0.0), id="SGD-momentum--0.0"),
    pytest.param(lambda: optimizers.SGD(momentum=0), id="SGD-momentum-int-0"),
    pytest.param(lambda: optimizers.SGD(learning_rate=np.float32(0.1)), id="SGD-lr-np.float32"),
    pytest.param(lambda: optimizers.SGD(nesterov=np.bool_(True), momentum=0.5),
                 id="SGD-nesterov-np.bool_"),
    pytest.param(lambda: optimizers.RMSprop(rho=-0.0, momentum=-0.0), id="RMSprop-rho--0.0"),
    pytest.param(lambda: optimizers.Adam(beta_1=-0.0, beta_2=0), id="Adam-betas-0"),
    pytest.param(lambda: optimizers.AdamW(weight_decay=-0.0), id="AdamW-weight_decay--0.0"),
    pytest.param(lambda: optimizers.Adagrad(initial_accumulator_value=-0.0),
                 id="Adagrad-initial_accumulator_value--0.0"),
    pytest.param(lambda: regularizers.l2(-0.0), id="l2(-0.0)"),
    pytest.param(lambda: regularizers.l1(0), id="l1(0)"),
    pytest.param(lambda: regularizers.l1_l2(np.float64(0.5), 0), id="l1_l2-numpy"),
    pytest.param(lambda: callbacks.EarlyStopping(min_delta=-0.0, patience=0), id="ES-min_delta--0.0"),
    pytest.param(lambda: callbacks.EarlyStopping(patience=np.int64(2)), id="ES-patience-np.int64"),
    pytest.param(lambda: callbacks.EarlyStopping(mode="MAX"), id="ES-mode-case-insensitive"),
    pytest.param(lambda: Dense(np.int64(3)), id="Dense-units-np.int64"),
    pytest.param(lambda: Dense(np.uint8(3)), id="Dense-units-np.uint8"),
    pytest.param(lambda: Dense(2, activation="ReLU"), id="Dense-activation-case-insensitive"),
    pytest.param(lambda: Dense(2, activation=None), id="Dense-activation-None-is-linear"),
    pytest.param(lambda: Dense(2, kernel_regularizer="L2"), id="Dense-regularizer-name"),
    pytest.param(lambda: Dense(2, use_bias=np.bool_(False)), id="Dense-use_bias-np.bool_"),
    pytest.param(lambda: fastnn.Input(shape=3), id="Input-int"),
    pytest.param(lambda: fastnn.Input(shape=[3]), id="Input-list"),
    pytest.param(lambda: fastnn.Input(shape=(np.int32(3),)), id="Input-np.int32"),
    pytest.param(lambda: fastnn.Sequential(seed=0), id="Sequential-seed-0"),
    pytest.param(lambda: fastnn.Sequential(seed=np.uint64(2**64 - 1)), id="Sequential-seed-max"),
    pytest.param(lambda: fastnn.Sequential(dtype=np.float64), id="Sequential-dtype-np.float64"),
    pytest.param(lambda: fastnn.Sequential(dtype="float32"), id="Sequential-dtype-str"),
    pytest.param(lambda: fastnn.Perceptron(learning_rate=np.float64(0.5), max_epochs=np.int64(3)),
                 id="Perceptron-numpy-scalars"),
    pytest.param(lambda: optimizers.get("ADAM"), id="optimizers.get-case-insensitive"),
    pytest.param(lambda: losses.get("MSE"), id="losses.get-case-insensitive"),
])
def test_valid_values_are_accepted(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call()


def test_sequential_dtype_none_is_not_silently_float64():
    """dtype=None is either rejected (not one of float32/float64) or means the default
    float32 (Keras); it must not become float64 through np.dtype(None)."""
    try:
        m = fastnn.Sequential(dtype=None)
    except TypeError as exc:
        assert re.search(r"Sequential\(\):.*dtype", str(exc))
    else:
        assert m.dtype == np.float32, f"dtype=None gave a {m.dtype} model"


def test_validation_split_negative_zero_means_no_split():
    h = fit(validation_split=-0.0, epochs=1)
    assert "val_loss" not in h.history


@pytest.mark.parametrize("epochs", [0, np.int64(0)])
def test_epochs_zero_is_defined(epochs):
    m = model()
    before = m.get_weights()
    h = m.fit(X, Y_SPARSE, epochs=epochs, verbose=0)
    assert h.history == {} and h.epoch == []
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


@pytest.mark.parametrize("batch_size", [1, N, N + 1, 10**9, np.int64(7)])
def test_batch_size_valid_range(batch_size):
    h = fit(batch_size=batch_size, epochs=1)
    assert len(h.history["loss"]) == 1 and math.isfinite(h.history["loss"][0])


def test_integral_float_labels_are_accepted():
    a = fit(y=Y_SPARSE.astype(np.float64), epochs=1, shuffle=False).history["loss"]
    b = fit(y=Y_SPARSE, epochs=1, shuffle=False).history["loss"]
    assert a == b


# ---------------------------------------------------------------------------
# A4: last activation x loss
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("units, act, loss", [
    (1, "sigmoid", "binary_crossentropy"),
    (3, "sigmoid", "binary_crossentropy"),  # multilabel
    (3, "softmax", "categorical_crossentropy"),
    (3, "softmax", "sparse_categorical_crossentropy"),
    (1, None, "mse"),
    (1, "sigmoid", "mse"),
])
def test_standard_pairs_compile_without_warning(units, act, loss):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bare(units, act).compile(optimizer="adam", loss=loss)


@pytest.mark.parametrize("units, act, loss", [
    (3, "softmax", "binary_crossentropy"),  # BCE on a softmax over > 1 unit
    (3, "relu", "categorical_crossentropy"),
    (3, None, "categorical_crossentropy"),
    (3, "tanh", "sparse_categorical_crossentropy"),
    (1, None, "binary_crossentropy"),
    (3, "softmax", "mse"),
])
def test_mismatched_pairs_warn(units, act, loss):
    with pytest.warns(fastnn.MismatchedLossWarning, match=r"compile\(\): last activation"):
        bare(units, act).compile(optimizer="adam", loss=loss)


@pytest.mark.parametrize("act", ["step", "sign"])
def test_zero_gradient_activation_warns_at_fit(act):
    m = fastnn.Sequential([fastnn.Input(shape=(N_IN,)), Dense(3, activation=act),
                           Dense(1, activation="sigmoid")], seed=0)
    m.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.warns(fastnn.ZeroGradientWarning, match=act):
        m.fit(X, Y_BIN, epochs=1, verbose=0)


# ---------------------------------------------------------------------------
# Hypothesis: no internal exception ever leaks from predict / fit / evaluate
# ---------------------------------------------------------------------------

_DTYPES = st.sampled_from([np.bool_, np.int8, np.int32, np.int64, np.uint8, np.uint64,
                           np.float16, np.float32, np.float64, np.complex64])


@st.composite
def arbitrary_arrays(draw, n_cols=N_IN):
    """Any dtype kind, 0-3 dims with sides 0-5 (biased towards the valid (n, 4)),
    C or Fortran order, strided views, NaN/inf for float kinds."""
    dtype = np.dtype(draw(_DTYPES))
    if draw(st.booleans()):
        shape = (draw(st.integers(0, 5)), n_cols)
    else:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    if dtype.kind in "fc":
        elements = hnp.from_dtype(dtype, allow_nan=True, allow_infinity=True)
    else:
        elements = hnp.from_dtype(dtype)
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    layout = draw(st.sampled_from(["C", "F", "strided", "reversed", "list"]))
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim >= 1:
        arr = np.repeat(arr, 2, axis=0)[::2]
    elif layout == "reversed" and arr.ndim >= 1:
        arr = arr[::-1]
    elif layout == "list" and dtype.kind in "bif":
        return arr.tolist()
    return arr


def _cast_like_model(x, dtype):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(np.asarray(x, np.float64).astype(dtype))


_FUZZ_SETTINGS = settings(max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
_PREDICT_MODELS = {d: model(dtype=d) for d in ("float32", "float64")}


@_FUZZ_SETTINGS
@given(x=arbitrary_arrays(), dtype=st.sampled_from(["float32", "float64"]))
def test_fuzz_predict_never_leaks(x, dtype):
    m = _PREDICT_MODELS[dtype]
    try:
        r = m.predict(x)
    except (ValueError, TypeError) as exc:
        event(f"rejected: {type(exc).__name__}")
        return
    event("accepted")
    n = np.shape(x)[0]
    assert isinstance(r, np.ndarray)
    assert r.shape == (n, N_CLASSES) and r.dtype == m.dtype and r.flags.c_contiguous
    ref = m.predict(_cast_like_model(x, m.dtype))
    np.testing.assert_allclose(r, ref, rtol=1e-5, atol=0, equal_nan=True)


@_FUZZ_SETTINGS
@given(data=st.data(), kind=st.sampled_from(["sparse", "mse", "bce"]))
def test_fuzz_fit_never_leaks(data, kind):
    x = data.draw(arbitrary_arrays(), label="x")
    n = np.shape(x)[0] if np.ndim(x) else 0
    if data.draw(st.booleans(), label="valid y"):
        y = {"sparse": (np.arange(n) % N_CLASSES), "mse": np.linspace(-1, 1, n),
             "bce": (np.arange(n) % 2).astype(float)}[kind]
    else:
        y = data.draw(arbitrary_arrays(n_cols=1), label="y")
    m = model(kind)
    try:
        h = m.fit(x, y, epochs=2, batch_size=3, verbose=0)
    except (ValueError, TypeError, fastnn.NonFiniteLossError) as exc:
        event(f"rejected: {type(exc).__name__}")
    else:
        event("accepted")
        assert len(h.history["loss"]) == 2 and h.epoch == [0, 1]
    # whatever happened, the model never keeps non-finite weights
    assert all(np.isfinite(w).all() for w in m.get_weights())


_EVAL_MODEL = model("sparse")


@_FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_evaluate_never_leaks(data):
    x = data.draw(arbitrary_arrays(), label="x")
    n = np.shape(x)[0] if np.ndim(x) else 0
    if data.draw(st.booleans(), label="valid y"):
        y = np.arange(n) % N_CLASSES
    else:
        y = data.draw(arbitrary_arrays(n_cols=1), label="y")
    try:
        loss = _EVAL_MODEL.evaluate(x, y, verbose=0)
    except (ValueError, TypeError) as exc:
        event(f"rejected: {type(exc).__name__}")
        return
    event("accepted")
    assert isinstance(loss, float)
