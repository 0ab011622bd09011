"""predict: one row (matrix-vector) and batches (chunked GEMM) give the same
network output as a NumPy forward pass, for narrow and very wide layers (the
per-call workspace moves from the stack to the heap)."""
import numpy as np
import pytest

import fastnn
from fastnn import _reference as ref
from fastnn.layers import Dense

from ._oracles import tol


def numpy_forward(model, X):
    a = X.astype(np.float64)
    for layer in model._dense:
        W, *b = [w.astype(np.float64) for w in layer.get_weights()]
        a = ref.act_forward(layer.activation, ref.dense_forward(a, W, b[0] if b else None))
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("width,rows", [(3, 1), (3, 1500), (64, 1), (64, 2), (64, 1500),
                                        (5000, 1), (5000, 3)])
@pytest.mark.slow
def test_predict_matches_numpy_for_any_width_and_rows(dtype, width, rows):
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(width, activation="relu"),
                           Dense(width, activation="tanh", use_bias=False),
                           Dense(3, activation="softmax")], dtype=dtype, seed=0)
    m.build()
    X = np.random.default_rng(0).standard_normal((rows, 2)).astype(dtype)
    got = m.predict(X)
    np.testing.assert_allclose(got, numpy_forward(m, X), **tol(dtype))
    # T6: one row at a time equals the batch
    np.testing.assert_allclose(m.predict(X[:1]), got[:1], rtol=1e-9 if dtype == "float64" else 1e-5,
                               atol=1e-12 if dtype == "float64" else 1e-6)


def test_batch_size_changes_nothing_and_keeps_the_checks():
    # Keras code passes batch_size to predict; fastnn's C loop chunks rows its own way,
    # so any valid batch_size gives the same bits (and the fast path); invalid ones
    # are refused as before
    rng = np.random.default_rng(0)
    m = fastnn.Sequential([fastnn.Input(shape=(30,)), Dense(40, activation="relu"),
                           Dense(3)], seed=0)
    m.build((None, 30))
    for rows in (1, 7, 3000):
        X = rng.standard_normal((rows, 30)).astype(np.float32)
        want = m.predict(X)
        for bs in (1, 32, 10**6):
            np.testing.assert_array_equal(m.predict(X, batch_size=bs), want)
    for bad, exc in ((0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError),
                     ("8", TypeError)):
        with pytest.raises(exc, match="batch_size"):
            m.predict(X, batch_size=bad)
