"""State, data and concurrency guarantees of the Sequential model.

* a failed ``fit`` changes nothing: weights, optimizer state, History and random streams;
* inputs are never mutated, any memory layout is accepted, outputs are fresh arrays;
* ``get_weights`` copies, ``set_weights`` is all-or-nothing;
* training is bitwise deterministic for a seed, across processes, and ignores np.random;
* a diverging fit raises ``NonFiniteLossError`` and keeps finite weights;
* ``predict`` is thread-safe.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, optimizers
from fastnn.layers import Dense, Dropout

N, N_IN, N_CLASSES = 60, 5, 3
_RNG = np.random.default_rng(7)
X = _RNG.normal(size=(N, N_IN))
Y = (np.arange(N) * 7) % N_CLASSES
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))


def make_model(seed=11, dtype="float32", optimizer="adam", dropout=0.25, input_layer=True):
    layers = [Dense(8, activation="tanh"), Dropout(dropout), Dense(6, activation="relu"),
              Dense(N_CLASSES, activation="softmax")]
    if input_layer:
        layers.insert(0, fastnn.Input(shape=(N_IN,)))
    m = fastnn.Sequential(layers, dtype=dtype, seed=seed)
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def weights_equal(a, b):
    return len(a) == len(b) and all(
        u.dtype == v.dtype and u.shape == v.shape and np.array_equal(u, v) for u, v in zip(a, b))


def digest(weights):
    h = hashlib.sha256()
    for w in weights:
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


GOOD_FIT = {"epochs": 3, "batch_size": 8, "verbose": 0, "shuffle": True}


# ---------------------------------------------------------------------------
# A failed fit leaves everything as it was
# ---------------------------------------------------------------------------


def _with(arr, index, value):
    out = np.array(arr, dtype=np.float64)
    out[index] = value
    return out


BAD_FITS = [
    pytest.param({"y": _with(Y, 5, N_CLASSES)}, id="label-eq-n_classes"),
    pytest.param({"y": _with(Y, N - 1, -1)}, id="label-negative"),
    pytest.param({"y": _with(Y, 0, 0.5)}, id="label-non-integral"),
    pytest.param({"x": _with(X, (N - 1, 2), np.nan)}, id="x-nan-last-row"),
    pytest.param({"x": _with(X, (3, 0), 1e39)}, id="x-overflows-float32"),
    pytest.param({"x": X[:, :-1]}, id="x-wrong-features"),
    pytest.param({"y": Y[:-1]}, id="len-mismatch"),
    pytest.param({"batch_size": 0}, id="batch_size-0"),
    pytest.param({"batch_size": 1.5}, id="batch_size-float"),
    pytest.param({"epochs": -1}, id="epochs-negative"),
    pytest.param({"validation_split": 1.0}, id="validation_split-1"),
    pytest.param({"validation_data": (X, _with(Y, 7, 9))}, id="validation_data-bad-label"),
    pytest.param({"validation_data": (_with(X, (0, 0), np.inf), Y)}, id="validation_data-inf"),
    pytest.param({"validation_data": (X[:, :2], Y)}, id="validation_data-wrong-features"),
    pytest.param({"validation_data": (X, Y), "validation_split": 0.2}, id="validation-both"),
    pytest.param({"callbacks": [object()]}, id="callbacks-bad"),
    pytest.param({"shuffle": "no"}, id="shuffle-str"),
]


def _call_fit(m, kw):
    kw = dict(kw)
    x = kw.pop("x", X)
    y = kw.pop("y", Y)
    args = dict(GOOD_FIT)
    args.update(kw)
    return m.fit(x, y, **args)


@pytest.mark.parametrize("bad", BAD_FITS)
def test_failed_fit_changes_nothing(bad):
    m = make_model()
    m.fit(X, Y, **GOOD_FIT)  # optimizer state, History and RNG streams are all in use
    w0 = m.get_weights()
    its0 = m.optimizer.iterations
    hist0 = m.history
    hist0_content = {k: list(v) for k, v in hist0.history.items()}
    epoch0 = list(hist0.epoch)

    with pytest.raises((ValueError, TypeError)):
        _call_fit(m, bad)

    assert weights_equal(w0, m.get_weights())
    assert m.optimizer.iterations == its0
    assert m.history is hist0
    assert m.history.history == hist0_content and m.history.epoch == epoch0

    # the random streams did not advance: the next good fit matches a twin that never
    # saw the failed call, bitwise
    twin = make_model()
    twin.fit(X, Y, **GOOD_FIT)
    m.fit(X, Y, **GOOD_FIT)
    twin.fit(X, Y, **GOOD_FIT)
    assert weights_equal(twin.get_weights(), m.get_weights())
    assert m.optimizer.iterations == twin.optimizer.iterations
    assert m.history.history == twin.history.history


@pytest.mark.parametrize("bad", [BAD_FITS[0], BAD_FITS[3], BAD_FITS[7], BAD_FITS[11]])
def test_failed_first_fit_of_unbuilt_model_changes_nothing(bad):
    m = make_model(input_layer=False)
    assert not m.built
    with pytest.raises((ValueError, TypeError)):
        _call_fit(m, bad)
    assert not m.built and m.history is None and m.optimizer.iterations == 0
    twin = make_model(input_layer=False)
    m.fit(X, Y, **GOOD_FIT)
    twin.fit(X, Y, **GOOD_FIT)
    assert weights_equal(twin.get_weights(), m.get_weights())


def test_failed_evaluate_and_predict_change_nothing():
    m = make_model()
    m.fit(X, Y, **GOOD_FIT)
    w0 = m.get_weights()
    with pytest.raises(ValueError):
        m.evaluate(X, _with(Y, 0, 5), verbose=0)
    with pytest.raises(ValueError):
        m.predict(_with(X, (0, 0), np.nan))
    assert weights_equal(w0, m.get_weights())
    twin = make_model()
    twin.fit(X, Y, **GOOD_FIT)
    m.fit(X, Y, **GOOD_FIT)
    twin.fit(X, Y, **GOOD_FIT)
    assert weights_equal(twin.get_weights(), m.get_weights())


def _built(seed=0):
    m = fastnn.Sequential([fastnn.Input(shape=(N_IN,)), Dense(4, activation="tanh")], seed=seed)
    m.build()
    return m


def test_add_dense_to_built_model_keeps_existing_weights():
    m = _built()
    w0 = m.get_weights()
    m.add(Dense(2))  # grows the model (models.add: "keeping the weights it has")
    ws = m.get_weights()
    assert len(ws) == 4 and ws[2].shape == (4, 2) and ws[3].shape == (2,)
    assert weights_equal(w0, ws[:2])
    assert m.predict(X).shape == (N, 2)


def test_add_dropout_then_dense_to_built_model():
    """The incremental Keras idiom add(Dropout) -> add(Dense) on a built model: either
    add(Dropout) is accepted, or it fails without touching the model.  In both cases the
    existing weights survive."""
    m = _built()
    w0 = m.get_weights()
    layers0 = list(m.layers)
    drop = Dropout(0.5)
    try:
        m.add(drop)
    except ValueError:
        assert m.layers == layers0 and m.built
        assert weights_equal(w0, m.get_weights())
        fastnn.Sequential().add(drop)  # the rejected layer is still free to use
        return
    m.add(Dense(2))
    assert m.built
    assert weights_equal(w0, m.get_weights()[:2])
    assert m.predict(X).shape == (N, 2)


@pytest.mark.parametrize("bad", [
    pytest.param(lambda m: fastnn.Input(shape=(3,)), id="Input-not-first"),
    pytest.param(lambda m: m.layers[0], id="same-layer-twice"),
    pytest.param(lambda m: Dense(2, name=m.layers[0].name), id="duplicate-name"),
    pytest.param(lambda m: Dense(2, input_shape=(3,)), id="input_shape-not-first"),
    pytest.param(lambda m: "dense", id="not-a-layer"),
])
def test_failed_add_leaves_model_untouched(bad):
    m = _built()
    w0 = m.get_weights()
    layers0 = list(m.layers)
    with pytest.raises((ValueError, TypeError)):
        m.add(bad(m))
    assert m.layers == layers0 and m.built
    assert weights_equal(w0, m.get_weights())


# ---------------------------------------------------------------------------
# Inputs are never mutated; any layout is accepted
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("y_kind", ["int", "float-col"])
def test_inputs_not_mutated(x_dtype, y_kind):
    x = np.ascontiguousarray(X, dtype=x_dtype)  # float32 C-contiguous needs no copy at all
    y = Y.copy() if y_kind == "int" else Y.astype(np.float32)[:, None]
    x0, y0 = x.copy(), y.copy()
    m = make_model()
    m.fit(x, y, epochs=2, batch_size=7, shuffle=True, validation_split=0.25, verbose=0)
    m.fit(x, y, epochs=1, batch_size=7, validation_data=(x, y), verbose=0)
    m.evaluate(x, y, verbose=0)
    m.predict(x)
    assert x.tobytes() == x0.tobytes() and x.dtype == x0.dtype
    assert y.tobytes() == y0.tobytes() and y.dtype == y0.dtype


def test_inputs_not_mutated_onehot_and_regression():
    x = X.astype(np.float32)
    yo = np.eye(N_CLASSES, dtype=np.float32)[Y]
    x0, yo0 = x.copy(), yo.copy()
    m = fastnn.Sequential([fastnn.Input(shape=(N_IN,)), Dense(4), Dense(N_CLASSES, activation="softmax")],
                          seed=0)
    m.compile(optimizer="sgd", loss="categorical_crossentropy")
    m.fit(x, yo, epochs=2, batch_size=5, validation_split=0.2, verbose=0)
    m.evaluate(x, yo, verbose=0)
    assert np.array_equal(x, x0) and np.array_equal(yo, yo0)

    yr = (x @ np.arange(N_IN, dtype=np.float32))[:, None]
    yr0 = yr.copy()
    r = fastnn.Sequential([fastnn.Input(shape=(N_IN,)), Dense(1)], seed=0)
    r.compile(optimizer="sgd", loss="mse")
    r.fit(x, yr, epochs=2, batch_size=5, validation_split=0.2, verbose=0)
    assert np.array_equal(x, x0) and np.array_equal(yr, yr0)


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _unaligned(a):
    buf = np.zeros(a.nbytes + 1, np.uint8)
    u = np.frombuffer(buf[1:].data, dtype=a.dtype).reshape(a.shape)
    u[...] = a
    return u


def _memmap(a, tmp_path):
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=a.dtype, shape=a.shape)
    mm[...] = a
    mm.flush()
    return np.load(tmp_path / "x.npy", mmap_mode="r")


SMALL_INT = np.random.default_rng(3).integers(-4, 5, size=(N, N_IN))

LAYOUTS = {
    "readonly-f32": lambda x, t: _readonly(x.astype(np.float32)),
    "readonly-f64": lambda x, t: _readonly(x),
    "fortran": lambda x, t: np.asfortranarray(x),
    "fortran-f32": lambda x, t: np.asfortranarray(x, dtype=np.float32),
    "strided": lambda x, t: np.repeat(x, 2, axis=0)[::2],
    "strided-f32": lambda x, t: np.repeat(x.astype(np.float32), 2, axis=0)[::2],
    "column-strided": lambda x, t: np.repeat(x, 2, axis=1)[:, ::2],
    "negative-stride": lambda x, t: x[::-1].copy()[::-1],
    "negative-stride-f32": lambda x, t: x.astype(np.float32)[::-1].copy()[::-1],
    "unaligned": lambda x, t: _unaligned(x),
    "memmap": _memmap,
    "list": lambda x, t: x.tolist(),
    "tuple": lambda x, t: tuple(map(tuple, x.tolist())),
    "float16": lambda x, t: x.astype(np.float16),
}
INT_LAYOUTS = {
    "int64": lambda x: x.astype(np.int64),
    "int8": lambda x: x.astype(np.int8),
    "uint8-nonneg": lambda x: (x + 4).astype(np.uint8),
    "bool": lambda x: x > 0,
    "int-list": lambda x: x.astype(int).tolist(),
    "int-fortran-readonly": lambda x: _readonly(np.asfortranarray(x.astype(np.int32))),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_any_layout_gives_the_same_predict(layout, dtype, tmp_path):
    m = make_model(dtype=dtype)
    m.fit(X, Y, **GOOD_FIT)
    x = LAYOUTS[layout](X, tmp_path)
    snapshot = np.array(x, copy=True)
    # the same values, as a plain C-contiguous array of the model dtype
    expected = m.predict(np.ascontiguousarray(np.asarray(snapshot, np.float64), dtype=m.dtype))
    got = m.predict(x)
    assert got.dtype == m.dtype and got.flags.c_contiguous
    assert np.array_equal(got, expected)
    assert np.array_equal(np.asarray(x), snapshot)


@pytest.mark.parametrize("layout", list(INT_LAYOUTS))
def test_int_and_bool_inputs_give_the_same_predict(layout):
    m = make_model()
    m.fit(X, Y, **GOOD_FIT)
    x = INT_LAYOUTS[layout](SMALL_INT)
    expected = m.predict(np.asarray(x, dtype=np.float64).astype(np.float32))
    assert np.array_equal(m.predict(x), expected)


@pytest.mark.parametrize("layout", ["readonly-f32", "fortran", "strided", "negative-stride",
                                    "list", "memmap", "unaligned"])
def test_any_layout_gives_the_same_training(layout, tmp_path):
    ref = make_model()
    ref.fit(X, Y, **GOOD_FIT)
    m = make_model()
    m.fit(LAYOUTS[layout](X, tmp_path), _readonly(Y), **GOOD_FIT)
    assert weights_equal(ref.get_weights(), m.get_weights())
    a = ref.evaluate(X, Y, verbose=0)
    b = m.evaluate(LAYOUTS[layout](X, tmp_path), Y.tolist(), verbose=0)
    assert a == b


def test_int_labels_in_any_integer_dtype_train_identically():
    results = []
    for y in (Y, Y.astype(np.uint8), Y.astype(np.int32), Y.astype(np.float32), Y.tolist(),
              _readonly(Y[::-1].copy()[::-1])):
        m = make_model()
        m.fit(X, y, **GOOD_FIT)
        results.append(m.get_weights())
    for r in results[1:]:
        assert weights_equal(results[0], r)


# ---------------------------------------------------------------------------
# Outputs are fresh
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_predict_outputs_are_fresh(dtype, x_dtype):
    m = make_model(dtype=dtype)
    m.fit(X, Y, **GOOD_FIT)
    a = np.ascontiguousarray(X[:10], dtype=x_dtype)
    b = np.ascontiguousarray(X[10:], dtype=x_dtype)
    r1 = m.predict(a)
    keep = r1.copy()
    r2 = m.predict(b)
    r3 = m.predict(a)
    assert np.array_equal(r1, keep), "an earlier predict result changed"
    assert np.array_equal(r1, r3)
    for r in (r1, r2, r3):
        assert r.dtype == m.dtype
        assert r.flags.c_contiguous and r.flags.writeable
        assert r.base is None and r.flags.owndata
        assert not np.shares_memory(r, a) and not np.shares_memory(r, b)
        for w in (m.layers[0].kernel, m.layers[-1].kernel):
            assert not np.shares_memory(r, w)
    assert not np.shares_memory(r1, r2) and not np.shares_memory(r1, r3)
    # writing into a result does not affect the model
    r1[...] = 123.0
    assert np.array_equal(m.predict(a), keep)


def test_predict_zero_samples():
    for dtype in ("float32", "float64"):
        m = make_model(dtype=dtype)
        for x in (np.empty((0, N_IN)), np.empty((0, N_IN), np.float32),
                  np.empty((0, N_IN), np.int64), np.empty((N_IN, 0)).T):
            r = m.predict(x)
            assert r.shape == (0, N_CLASSES) and r.dtype == m.dtype and r.flags.c_contiguous


def test_predict_large_and_single_batches_agree_with_rows():
    m = make_model()
    m.fit(X, Y, **GOOD_FIT)
    big = np.random.default_rng(0).normal(size=(2500, N_IN)).astype(np.float32)
    full = m.predict(big)
    assert full.shape == (2500, N_CLASSES)
    for i in (0, 1, 1023, 1024, 2499):
        np.testing.assert_allclose(m.predict(big[i:i + 1]), full[i:i + 1], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------
# get_weights copies; set_weights is all-or-nothing
# ---------------------------------------------------------------------------


def test_get_weights_returns_copies():
    m = make_model()
    m.fit(X, Y, **GOOD_FIT)
    ws = m.get_weights()
    keep = [w.copy() for w in ws]
    pred = m.predict(X)
    for w in ws:
        assert w.flags.owndata and w.flags.writeable
        w[...] = 42.0
    assert weights_equal(keep, m.get_weights())
    assert np.array_equal(pred, m.predict(X))
    # two calls never share memory either
    a, b = m.get_weights(), m.get_weights()
    assert all(not np.shares_memory(u, v) for u, v in zip(a, b))


def test_layer_weight_views_are_read_only():
    m = make_model()
    m.build()
    with pytest.raises(ValueError):
        m.layers[0].kernel[0, 0] = 1.0
    with pytest.raises(ValueError):
        m.layers[0].bias[0] = 1.0


def test_set_weights_copies_its_input():
    m = make_model()
    new = [np.full_like(w, 0.01 * (i + 1)) for i, w in enumerate(m.get_weights())]
    m.set_weights(new)
    got = m.get_weights()
    assert weights_equal(got, [w.astype(np.float32) for w in new])
    for w in new:
        w[...] = -7.0
    assert weights_equal(got, m.get_weights())


def test_set_weights_casts_and_accepts_layouts():
    m = make_model(dtype="float32")
    ws = m.get_weights()
    m.set_weights([np.asfortranarray(w.astype(np.float64)) if w.ndim == 2 else w.tolist()
                   for w in ws])
    assert weights_equal(ws, m.get_weights())


@pytest.mark.parametrize("bad", [
    pytest.param(lambda ws: ws[:-1], id="too-few"),
    pytest.param(lambda ws: ws + [ws[0]], id="too-many"),
    pytest.param(lambda ws: [w + 1 for w in ws[:-1]] + [np.zeros(N_CLASSES + 1)],
                 id="last-bias-wrong-shape"),
    pytest.param(lambda ws: [w + 1 for w in ws[:-2]] + [ws[-2].T, ws[-1]],
                 id="last-kernel-transposed"),
    pytest.param(lambda ws: [w + 1 for w in ws[:-1]] + [np.full(N_CLASSES, np.nan)],
                 id="last-bias-nan"),
    pytest.param(lambda ws: [w + 1 for w in ws[:-1]] + [np.full(N_CLASSES, 1e39)],
                 id="last-bias-overflow"),
    pytest.param(lambda ws: [w + 1 for w in ws[:-1]] + [None], id="last-None"),
    pytest.param(lambda ws: [w + 1 for w in ws[:-1]] + [np.array(["a"] * N_CLASSES)],
                 id="last-str"),
    pytest.param(lambda ws: np.array(ws, dtype=object), id="object-array"),
])
def test_set_weights_error_leaves_model_untouched(bad):
    m = make_model()
    m.fit(X, Y, **GOOD_FIT)
    w0 = m.get_weights()
    p0 = m.predict(X)
    with pytest.raises((ValueError, TypeError)):
        m.set_weights(bad(m.get_weights()))
    assert weights_equal(w0, m.get_weights())
    assert np.array_equal(p0, m.predict(X))


# ---------------------------------------------------------------------------
# Determinism (A8)
# ---------------------------------------------------------------------------


def _train(seed, dtype="float32"):
    m = make_model(seed=seed, dtype=dtype)
    m.fit(X, Y, epochs=4, batch_size=8, shuffle=True, validation_split=0.2, verbose=0)
    return m


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_is_bitwise_identical(dtype):
    a, b = _train(123, dtype), _train(123, dtype)
    assert weights_equal(a.get_weights(), b.get_weights())
    assert a.history.history == b.history.history
    assert np.array_equal(a.predict(X), b.predict(X))


def test_different_seed_gives_different_weights():
    a, b = _train(123), _train(124)
    assert not any(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights())
                   if u.size > 1 and np.any(u))


def test_seed_also_drives_shuffle_and_dropout_not_only_init():
    ref = make_model(seed=5)
    ref.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    twin = make_model(seed=5)
    twin.fit(X, Y, epochs=2, batch_size=8, shuffle=True, verbose=0)
    assert not weights_equal(ref.get_weights(), twin.get_weights())  # shuffling matters
    nodrop = make_model(seed=5, dropout=0.0)
    nodrop.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert not weights_equal(ref.get_weights(), nodrop.get_weights())  # dropout masks matter


def test_global_numpy_random_has_no_effect():
    np.random.seed(0)
    a = _train(99)
    np.random.seed(12345)
    np.random.random(1000)
    b = _train(99)
    state = np.random.get_state()
    c = _train(99)
    after = np.random.get_state()
    assert weights_equal(a.get_weights(), b.get_weights())
    assert weights_equal(a.get_weights(), c.get_weights())
    # and fastnn does not consume the global stream either
    assert all(np.array_equal(u, v) if isinstance(u, np.ndarray) else u == v
               for u, v in zip(state, after))


def test_predict_draws_no_randomness():
    m = make_model()
    p1 = m.predict(X)
    p2 = m.predict(X)
    assert np.array_equal(p1, p2)
    twin = make_model()
    m.fit(X, Y, **GOOD_FIT)
    twin.fit(X, Y, **GOOD_FIT)
    assert weights_equal(m.get_weights(), twin.get_weights())


_SUBPROCESS_CODE = textwrap.dedent("""
    import hashlib, numpy as np, fastnn
    from fastnn.layers import Dense, Dropout
    np.random.seed(2024)
    rng = np.random.default_rng(7)
    X = rng.normal(size=({n}, {n_in}))
    Y = (np.arange({n}) * 7) % {k}
    m = fastnn.Sequential([fastnn.Input(shape=({n_in},)), Dense(8, activation="tanh"),
                           Dropout(0.25), Dense(6, activation="relu"),
                           Dense({k}, activation="softmax")], dtype="{dtype}", seed=123)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(X, Y, epochs=4, batch_size=8, shuffle=True, validation_split=0.2, verbose=0)
    h = hashlib.sha256()
    for w in m.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    print(h.hexdigest())
""")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_weights_in_a_fresh_process(dtype):
    code = _SUBPROCESS_CODE.format(n=N, n_in=N_IN, k=N_CLASSES, dtype=dtype)
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONHASHSEED"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == digest(_train(123, dtype).get_weights())


# ---------------------------------------------------------------------------
# Non-finite loss (A6)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_diverging_fit_raises_and_keeps_finite_weights(dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4))
    y = x @ np.array([1.0, 2.0, 3.0, 4.0])
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(8, activation="relu"), Dense(1)],
                          dtype=dtype, seed=1)
    m.compile(optimizer=optimizers.SGD(learning_rate=10.0), loss="mse")
    with pytest.raises(fastnn.NonFiniteLossError, match=r"fit\(\):.*NaN or infinite"):
        m.fit(x * 1e4, y * 1e4, epochs=20, batch_size=8, verbose=0)
    assert issubclass(fastnn.NonFiniteLossError, FloatingPointError)
    ws = m.get_weights()
    assert all(np.isfinite(w).all() for w in ws)
    assert np.isfinite(m.predict(x)).all()
    # the model is intact: fitting it again stops the same way, its weights finite
    with pytest.raises(fastnn.NonFiniteLossError):
        m.fit(x * 1e4, y * 1e4, epochs=20, batch_size=8, verbose=0)
    assert all(np.isfinite(w).all() for w in m.get_weights())


# ---------------------------------------------------------------------------
# Thread safety of predict (A7)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", [
    pytest.param(64, id="stack-workspace"),
    pytest.param(600, id="heap-workspace"),  # too wide for predict's stack buffer
])
def test_predict_is_thread_safe(width):
    m = fastnn.Sequential([fastnn.Input(shape=(N_IN,)), Dense(width, activation="relu"),
                           Dense(64, activation="tanh"), Dense(N_CLASSES, activation="softmax")],
                          seed=3)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(X, Y, epochs=1, verbose=0)
    rng = np.random.default_rng(1)
    batches = [rng.normal(size=(n, N_IN)).astype(dt)
               for n in (1, 7, 300) for dt in (np.float32, np.float64)]
    serial = [m.predict(b) for b in batches]
    n_threads, rounds = 8, 30
    errors, results = [], [[] for _ in range(n_threads)]
    barrier = threading.Barrier(n_threads)

    def work(t):
        try:
            barrier.wait()
            for r in range(rounds):
                i = (t + r) % len(batches)
                results[t].append((i, m.predict(batches[i])))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors
    assert all(len(r) == rounds for r in results)
    for per_thread in results:
        for i, got in per_thread:
            assert np.array_equal(got, serial[i])


def test_early_stopping_restore_keeps_model_consistent():
    m = make_model()
    es = callbacks.EarlyStopping(monitor="loss", patience=0, restore_best_weights=True)
    m.fit(X, Y, epochs=5, batch_size=8, callbacks=[es], verbose=0)
    assert all(np.isfinite(w).all() for w in m.get_weights())
    assert np.isfinite(m.predict(X)).all()
