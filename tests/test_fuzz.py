"""No internal error reaches the user: every public entry
point, fed mangled configs or arbitrary arguments, either works or raises one of
fastnn's documented exceptions — ValueError / TypeError (and their subclasses
NotFittedError, ModelFileError), RuntimeError for call-order and concurrency
errors, NonFiniteLossError when training diverges."""
import copy
import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import fastnn
from fastnn import optimizers, regularizers
from fastnn.layers import Dense, Dropout

DOCUMENTED = (ValueError, TypeError, RuntimeError, fastnn.NonFiniteLossError)


def base_config():
    m = fastnn.Sequential([fastnn.Input(shape=(3,)),
                           Dense(4, activation="relu", kernel_regularizer=regularizers.l2(0.1)),
                           Dropout(0.2), Dense(2, activation="softmax")], seed=1)
    return m.get_config()


ODD_VALUES = [None, True, 0, -1, 2**70, 1.5, float("nan"), float("inf"), "", "relu", "Dense",
              [], [1], {}, {"class_name": "Dense"}, {"class_name": 3, "config": []},
              ["x"] * 3, "os.system", {"config": {}}]


def mangle(config, rng):
    """One random damage: delete, replace, wrap or retype a node anywhere."""
    config = copy.deepcopy(config)
    nodes = []

    def walk(node):
        if isinstance(node, dict):
            for k in list(node):
                nodes.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                nodes.append((node, i))
                walk(node[i])

    walk(config)
    parent, key = rng.choice(nodes)
    action = rng.randrange(4)
    if action == 0 and isinstance(parent, dict):
        del parent[key]
    elif action == 1:
        parent[key] = rng.choice(ODD_VALUES)
    elif action == 2:
        parent[key] = [parent[key]]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "units", "class_name", "config", "rate"])] = \
            rng.choice(ODD_VALUES)
    else:
        parent[key] = {"class_name": rng.choice(["Dense", "Lambda", "InputLayer"]),
                       "config": rng.choice([{}, {"units": -1}, {"shape": [0]}])}
    return config


def test_from_config_on_mangled_configs_raises_only_documented_errors():
    rng = random.Random(2026)
    base = base_config()
    outcomes = {"built": 0}
    for i in range(600):
        config = mangle(base, rng)
        if rng.random() < 0.3:
            config = mangle(config, rng)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fastnn.Sequential.from_config(config)
            outcomes["built"] += 1
        except (ValueError, TypeError) as exc:
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
            assert "Sequential.from_config" in str(exc) or "()" in str(exc), str(exc)
    assert sum(outcomes.values()) == 600 and outcomes["built"] < 600


anything = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.floats(-5, 5), max_size=5), st.dictionaries(st.text(max_size=4), st.integers(),
                                                             max_size=2),
    arrays(dtype=st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.complex64,
                                  np.dtype("U2"), np.dtype("O")]),
           shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
    st.builds(lambda a: np.ma.masked_array(a, mask=a > 0),
              arrays(np.float64, (3, 3), elements=st.floats(-2, 2))),
)


def fitted_model():
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(4, activation="tanh"),
                           Dense(2, activation="softmax")], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    m.fit(np.zeros((4, 3)), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    return m


MODEL = fitted_model()


def _few(epochs):
    """Any value, except that a valid huge epoch count becomes 3 (it would be honoured)."""
    if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > 3:
        return 3
    return epochs
X_OK, Y_OK = np.ones((4, 3)), np.array([0, 1, 1, 0])

CALLS = {
    "predict": lambda a, b: MODEL.predict(a),
    "predict_batch_size": lambda a, b: MODEL.predict(X_OK, batch_size=a),
    "evaluate": lambda a, b: MODEL.evaluate(a, b, verbose=0),
    "fit_x": lambda a, b: fastnn.clone_model(MODEL).fit(a, Y_OK, epochs=1, verbose=0),
    "fit_y": lambda a, b: fastnn.clone_model(MODEL).fit(X_OK, a, epochs=1, verbose=0),
    "fit_args": lambda a, b: fastnn.clone_model(MODEL).fit(X_OK, Y_OK, batch_size=a,
                                                           epochs=_few(b), verbose=0),
    "fit_validation": lambda a, b: fastnn.clone_model(MODEL).fit(
        X_OK, Y_OK, epochs=1, verbose=0, validation_data=(a, b)),
    "fit_split": lambda a, b: fastnn.clone_model(MODEL).fit(X_OK, Y_OK, validation_split=a,
                                                            verbose=0),
    "set_weights": lambda a, b: fastnn.clone_model(MODEL).set_weights([a, b, a, b]),
    "compile": lambda a, b: fastnn.clone_model(MODEL).compile(optimizer=a, loss=b),
    "compile_metrics": lambda a, b: fastnn.clone_model(MODEL).compile("sgd", "mse", metrics=a),
    "Dense": lambda a, b: Dense(a, activation=b),
    "Dense_kwargs": lambda a, b: Dense(2, use_bias=a, kernel_initializer=b),
    "Dense_regularizer": lambda a, b: Dense(2, kernel_regularizer=a, bias_regularizer=b),
    "Dropout": lambda a, b: Dropout(a),
    "Input": lambda a, b: fastnn.Input(shape=a),
    "Sequential": lambda a, b: fastnn.Sequential(a, dtype=b),
    "Sequential_seed": lambda a, b: fastnn.Sequential(seed=a, name=b),
    "SGD": lambda a, b: optimizers.SGD(a, momentum=b),
    "Adam": lambda a, b: optimizers.Adam(a, beta_1=b),
    "optimizers.get": lambda a, b: optimizers.get(a),
    "regularizers.l1_l2": lambda a, b: regularizers.l1_l2(a, b),
    "get_layer_outputs": lambda a, b: MODEL.get_layer_outputs(a),
    "load_model": lambda a, b: fastnn.load_model(a, compile=b),
    "save": lambda a, b: MODEL.save(a, overwrite=b),
    "from_config": lambda a, b: fastnn.Sequential.from_config(a),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@settings(max_examples=60, deadline=None)
@given(a=anything, b=anything)
def test_public_calls_raise_only_documented_errors(call, a, b, tmp_path_factory):
    if call == "save" and isinstance(a, str):
        a = str(tmp_path_factory.mktemp("fuzz") / (a.replace("/", "_") or "m"))
    if call == "load_model" and isinstance(a, str):
        a = "/nonexistent-dir/" + a.replace("/", "_")  # FileNotFoundError is documented too
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CALLS[call](a, b)
    except DOCUMENTED:
        pass
    except FileNotFoundError:
        assert call == "load_model"


def test_masked_arrays_are_refused_not_unmasked():
    """np.asarray drops the mask: the values under it were silently used."""
    X = np.ma.masked_array(np.ones((4, 3)), mask=np.eye(4, 3, dtype=bool))
    y = np.ma.masked_array([0, 1, 1, 0], mask=[0, 0, 1, 0])
    m = fastnn.clone_model(MODEL)
    for call in (lambda: m.predict(X), lambda: m.fit(X, Y_OK, verbose=0),
                 lambda: m.fit(X_OK, y, verbose=0), lambda: m.evaluate(X_OK, y, verbose=0),
                 lambda: m.set_weights([np.ma.masked_array(w) for w in m.get_weights()])):
        with pytest.raises(TypeError, match="masked array"):
            call()
    assert np.array_equal(m.predict(X.filled(0)), m.predict(np.ma.getdata(X) * ~X.mask))
