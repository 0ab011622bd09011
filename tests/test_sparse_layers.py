"""scipy.sparse input with the normalization and noise layers (fastnn/normalization.py,
noise.py): fnn_net_sparse.h runs the first Dense layer on the CSR rows; the stages after
it (fnn_net_stages.h, and the split step's passes cut at each batch norm in
fnn_net_par.h, whose first, gathering pass alone reads the sparse rows) see that
layer's dense output as on a dense input.  A normalization or noise layer on the
sparse input itself is refused.  Helpers and tolerances: tests/test_sparse.py."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import layers as FL
from fastnn import threads as fthreads
from fastnn._kernels import _core
from fastnn._sparse import CSRRows
from fastnn.layers import Dense, Dropout

from .test_sparse import D, close, data

# fnn_net_sparse.h runs the first Dense layer on the CSR rows; the normalization and
# noise stages after it (fnn_net_stages.h, the split step's passes cut at each batch
# norm in fnn_net_par.h) read that layer's dense output as on a dense input.  The
# noise masks are drawn from the model's generator in the same order either way, so
# sparse and densified runs see the same masks.  Tolerances: float64 as close();
# float32 atol 2e-4: a batch norm divides by a batch's standard deviation, which for a
# narrow ReLU layer can be ~0.1, so the ~1e-7 relative differences of the products
# (see the top) grow by that factor on top of close()'s Adam-like steps.
AFTER_FIRST_DENSE = {
    "batchnorm": lambda: [FL.BatchNormalization()],
    "batchnorm_frozen": lambda: [FL.BatchNormalization(trainable=False)],
    "layernorm": lambda: [FL.LayerNormalization()],
    "unitnorm": lambda: [FL.UnitNormalization()],
    "normalization": lambda: [FL.Normalization(mean=0.5, variance=2.0)],
    "noise_batchnorm": lambda: [FL.GaussianNoise(0.1), FL.BatchNormalization()],
    "gaussian_dropout": lambda: [FL.GaussianDropout(0.2), FL.LayerNormalization()],
    "alpha_dropout": lambda: [FL.AlphaDropout(0.1)],
}


def norm_close(dtype):
    return close(dtype) if dtype == "float64" else dict(rtol=1e-3, atol=2e-4)


def norm_model(extra, dtype, width=16, d=D, seed=5):
    return fastnn.Sequential(
        [fastnn.Input(shape=(d,)), Dense(width, activation="relu"), *extra(),
         Dense(width, activation="relu"), FL.BatchNormalization(),
         Dense(1, activation="sigmoid")], dtype=dtype, seed=seed)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("stack", sorted(AFTER_FIRST_DENSE))
def test_normalization_and_noise_after_the_first_dense_equal_densified(stack, dtype):
    """CSR → Dense → (normalization / noise) → Dense → BatchNormalization → Dense:
    weights (moving statistics included), loss history, evaluate and predict equal the
    densified computation."""
    x, y, _ = data("csr", np.dtype(dtype).type)
    ms, hs = [], []
    for xx in (x, x.toarray()):
        m = norm_model(AFTER_FIRST_DENSE[stack], dtype)
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        hs.append(m.fit(xx, y, epochs=2, batch_size=32, verbose=0,
                        validation_data=(xx[:40], y[:40])).history)
        ms.append(m)
    for wa, wb in zip(ms[0].get_weights(), ms[1].get_weights()):
        np.testing.assert_allclose(wa, wb, **norm_close(dtype))
    for key in hs[0]:
        np.testing.assert_allclose(hs[0][key], hs[1][key],
                                   rtol=1e-9 if dtype == "float64" else 1e-4, err_msg=key)
    np.testing.assert_allclose(ms[0].evaluate(x, y, verbose=0),
                               ms[1].evaluate(x.toarray(), y, verbose=0),
                               rtol=1e-9 if dtype == "float64" else 1e-4)
    np.testing.assert_allclose(ms[0].predict(x, verbose=0),
                               ms[1].predict(x.toarray(), verbose=0), **norm_close(dtype))


@pytest.mark.skipif(fthreads._openblas_local_threads() is None,
                    reason="no thread controls for the OpenBLAS fastnn calls: one fastnn thread")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batchnorm_split_step_on_1_and_2_threads_equals_densified(dtype):
    """CSR → Dense → BatchNormalization → Dense → BatchNormalization → Dense, wide
    enough to split: the gather pass reads the sparse rows in place, the later passes
    start after each batch norm; 1 and 2 threads, sparse and densified, agree."""
    x, y, _ = data("csr", np.dtype(dtype).type, n=300, d=200)
    runs = {}
    for threads in (1, 2):
        for kind, xx in (("sparse", x), ("dense", x.toarray())):
            m = fastnn.Sequential(
                [fastnn.Input(shape=(200,)), Dense(256, activation="relu"),
                 FL.BatchNormalization(), Dense(256, activation="relu"), Dropout(0.2),
                 FL.BatchNormalization(), Dense(1, activation="sigmoid")],
                dtype=dtype, seed=3)
            m.compile(optimizer="adam", loss="binary_crossentropy")
            with fastnn.num_threads(threads):
                m.fit(xx, y, epochs=2, batch_size=128, verbose=0)
                pred = m.predict(xx, verbose=0)
            if threads == 2:
                assert m._fit_net.adapt_state[3] > 0  # steps that went through the split
            runs[threads, kind] = (m.get_weights(), pred)
    ref_w, ref_p = runs[1, "dense"]
    for key, (w, p) in runs.items():
        for wa, wb in zip(w, ref_w):
            np.testing.assert_allclose(wa, wb, **norm_close(dtype), err_msg=str(key))
        np.testing.assert_allclose(p, ref_p, **norm_close(dtype), err_msg=str(key))


BEFORE_FIRST_DENSE = {
    "BatchNormalization": lambda: FL.BatchNormalization(),
    "LayerNormalization": lambda: FL.LayerNormalization(),
    "UnitNormalization": lambda: FL.UnitNormalization(),
    "Normalization": lambda: FL.Normalization(mean=0.0, variance=1.0),
    "GaussianNoise": lambda: FL.GaussianNoise(0.1),
    "GaussianDropout": lambda: FL.GaussianDropout(0.1),
    "AlphaDropout": lambda: FL.AlphaDropout(0.1),
    "Dropout": lambda: Dropout(0.1),
}


@pytest.mark.parametrize("layer", sorted(BEFORE_FIRST_DENSE))
def test_a_layer_on_the_sparse_input_is_refused_with_what_is_supported(layer):
    """fastnn reads the sparse rows in the first Dense layer only: a normalization or
    noise layer on the input itself is refused before any kernel runs, by fit,
    evaluate and predict, and the model is unchanged."""
    x, y, _ = data("csr")
    m = fastnn.Sequential([fastnn.Input(shape=(D,)), BEFORE_FIRST_DENSE[layer](),
                           Dense(4, activation="relu"), Dense(1, activation="sigmoid")],
                          seed=1)
    m.compile("adam", "binary_crossentropy")
    before = m.get_weights()
    msg = (f"sparse (x|validation_data\\[0\\]) must go straight into the first Dense layer.*{layer} .*Supported: "
           "Dropout, noise and normalization layers after the first Dense layer.*toarray")
    for call in (lambda: m.fit(x, y, verbose=0), lambda: m.evaluate(x, y, verbose=0),
                 lambda: m.predict(x, verbose=0), lambda: m(x),
                 lambda: m.fit(x.toarray(), y, verbose=0, validation_data=(x, y))):
        with pytest.raises(ValueError, match=msg):
            call()
    for w, w0 in zip(m.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    m.fit(x.toarray(), y, epochs=1, verbose=0)  # the dense way out works


def test_c_plan_refuses_sparse_rows_without_a_dense_first_layer():
    """The second line of defence (_core's _input): a plan whose first stage is not
    dense, or that has input noise, never runs on CSR rows, whatever Python passes."""
    x, y, _ = data("csr")
    rows = CSRRows(x.indptr.astype(np.int64), x.indices.astype(np.int32),
                   x.data.astype(np.float64), D)
    for first in (FL.BatchNormalization(), FL.GaussianNoise(0.1)):
        m = fastnn.Sequential([fastnn.Input(shape=(D,)), first, Dense(1)], dtype="float64",
                              seed=1)
        m.compile("sgd", "mse")
        m.predict(x[:2].toarray(), verbose=0)  # builds the model and its plan
        net = m._net
        with pytest.raises(ValueError, match="dense first layer"):
            _core.predict(net, net.params, rows)
        ws = np.zeros(32 * net.ws_units)
        with pytest.raises(ValueError, match="dense first layer"):
            _core.evaluate(net, net.params, ws, 32, rows, y.reshape(-1, 1), np.zeros(8))
