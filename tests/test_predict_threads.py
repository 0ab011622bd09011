"""predict on fastnn's own threads (csrc/fnn_net.c fnn_net_predict_par): rows cut into
chunks of 256, each run through every layer by one thread with a single-threaded BLAS.
The split depends on the row count only, so the output has the same bits for any
thread count; it matches the NumPy reference; concurrent predicts (one holds the pool,
the others run alone) agree; small inputs keep the one-call path."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import fastnn
from fastnn import _reference as ref, threads as fthreads
from fastnn._kernels import _core
from fastnn.layers import Dense

pytestmark = pytest.mark.skipif(
    fthreads._openblas_local_threads() is None,
    reason="the OpenBLAS fastnn calls has no thread controls here: predict keeps one call")


def model(dtype):
    m = fastnn.Sequential([fastnn.Input(shape=(300,)), Dense(256, activation="relu"),
                           Dense(128, activation="tanh"), Dense(7, activation="softmax")],
                          dtype=dtype, seed=5)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.build()
    return m


def rows(n, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 300)).astype(dtype)


def numpy_forward(m, X):
    a = X.astype(np.float64)
    for layer in m.layers:
        kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
        a = ref.act_forward(layer.activation, ref.dense_forward(a, kernel, bias))
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_bits_for_any_thread_count_and_close_to_numpy(dtype):
    m = model(dtype)
    X = rows(1000, dtype)  # 1000 × 110k parameters: above SPLIT_PREDICT_ABOVE
    assert len(X) * m._net.n_params >= fthreads.SPLIT_PREDICT_ABOVE
    outs = []
    for t in (1, 2, 3):
        with fastnn.num_threads(t):
            outs.append(m.predict(X))
            with fthreads.fit_thread_policy(fthreads.SINGLE_THREAD_BELOW):  # BLAS: 1
                direct = _core.predict_threads(m._net, m._net.params, X, t)
        assert np.array_equal(direct, outs[0])
    assert all(np.array_equal(o, outs[0]) for o in outs[1:])
    # float32: sums of 300 products in float32 against float64, outputs in [0, 1]
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(outs[0], numpy_forward(m, X), atol=tol, rtol=0)


def test_the_fast_path_leaves_large_inputs_to_the_split():
    m = model("float32")
    big, small = rows(1000, "float32"), rows(4, "float32")
    assert _core.predict_fast(m._net, big) is None
    assert _core.predict_fast(m._net, small) is not None
    # rows that are not a multiple of the chunk, and a last chunk of one row
    for n in (513, 769):
        X = rows(n, "float32", seed=n)
        with fastnn.num_threads(2):
            a = m.predict(X)
        np.testing.assert_allclose(a, numpy_forward(m, X), atol=1e-5, rtol=0)


def test_concurrent_predicts_agree():
    """Four threads predict at once: one holds fastnn's pool, the others find it busy
    and run the same split alone — every output has the same bits."""
    m = model("float32")
    X = rows(2048, "float32")
    with fastnn.num_threads(2):
        want = m.predict(X)
        got: list[np.ndarray] = []
        errors: list[BaseException] = []

        def work():
            try:
                for _ in range(5):
                    got.append(m.predict(X))
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert not errors
    assert len(got) == 20 and all(np.array_equal(g, want) for g in got)


def test_bad_thread_count_is_refused():
    m = model("float32")
    with pytest.raises(ValueError, match="threads must be >= 1"):
        _core.predict_threads(m._net, m._net.params, rows(8, "float32"), 0)
