"""ONNX export: every activation, both dtypes, with and without bias, run
by a real ONNX Runtime session with the outputs of ``predict``.  Tolerances:
float64 rtol 1e-12 (only the summation order differs); float32 rtol 1e-5,
atol 1e-6 (summation order, and fastnn's vectorised exp/tanh, within 5 ulp)."""
import warnings

import numpy as np
import pytest
from ._needs import needs  # noqa: E402

ort = needs("onnxruntime")
needs("onnx")

import fastnn  # noqa: E402
from fastnn.layers import Dense, Dropout  # noqa: E402

ACTS = ["linear", "sigmoid", "tanh", "relu", "softmax", "step", "sign", "leaky_relu", "elu",
        "selu", "gelu", "softplus", "swish"]


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(["output"], {"input": X})
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTS)
def test_onnx_runtime_gives_the_outputs_of_predict(tmp_path, act, dtype):
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(16, activation="tanh"),
                           Dropout(0.3), Dense(8, activation=act, use_bias=False),
                           Dense(4, activation=act)], dtype=dtype, seed=3)
    m.build()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((257, 5)).astype(dtype)
    m.export(tmp_path / "m.onnx", verbose=False)
    for rows in (X, X[:1]):  # the batch axis is dynamic
        got, want = run_onnx(tmp_path / "m.onnx", rows), m.predict(rows)
        assert got.dtype == want.dtype and got.shape == want.shape
        if dtype == "float64":
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_step_and_sign_keep_nan_like_fastnn(tmp_path):
    for act in ("step", "sign"):
        m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(3, activation=act)], seed=0)
        m.set_weights([np.array([[1.0, -1, 0], [0, 0, 1]]), np.zeros(3)])
        m.export(tmp_path / "s.onnx", verbose=False)
        X = np.array([[2.0, -3.0], [-1.0, 0.5]], np.float32)
        np.testing.assert_array_equal(run_onnx(tmp_path / "s.onnx", X), m.predict(X))


def test_export_arguments(tmp_path, capsys):
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(1)], seed=0)
    m.export(tmp_path / "m.onnx")
    assert "Saved the ONNX model" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unsupported format 'tf_saved_model'"):
        m.export(tmp_path / "m.pb", format="tf_saved_model")
    with pytest.raises(FileExistsError):
        m.export(tmp_path / "m.onnx", overwrite=False, verbose=False)
    with pytest.raises(fastnn.NotFittedError):
        fastnn.Sequential([Dense(1)]).export(tmp_path / "x.onnx")


# ---- extreme pre-activations --------------------------------------------
# Each activation is checked at chosen pre-activations z, in both dtypes, against predict:
#  * finite z: Input(3) -> Dense(3, act) with the identity kernel and a zero bias, so the
#    Gemm of either side gives z = x exactly (x_j·1 + x_k·0) and only the activation is
#    compared.  Rows of 3 mix the values, which also gives softmax extreme rows.
#  * ±inf and NaN: predict rejects non-finite input, so they are made inside the network:
#    Input(1) -> Dense(1, linear, kernel big) -> Dense(3, act, kernel [1, -1, 0]).  x = ±1e30
#    (float32) overflows to h = ±inf, so z = (±inf, ∓inf, inf·0 = NaN); each z is a single
#    product, so FMA or not cannot change it (a sum inf + (-inf) could: BLAS with FMA gives
#    inf where the plain sum is NaN, so it is not used).  A 1-unit identity graph is also
#    run by ONNX Runtime alone on NaN and ±inf inputs (which predict refuses) and must
#    answer as predict did for those z (softmax aside: a row holding inf is all NaN).
# Tolerance: |onnx - predict| <= rtol·|predict| + atol with the rtol of the test above
# (float32 1e-5, float64 1e-12), but atol only twice the dtype's smallest normal number
# (2.4e-38 / 4.5e-308): the test above's atol (1e-6 / 1e-13) would pass softplus = 0
# for e^z = 2e-9 (float32 z = -20) or 4e-18 (float64 z = -40), the very defect under test.  Below the smallest normal the formats
# have no relative precision, and fastnn's float32 exp flushes to 0 what falls below
# e^-87.33654 = 1.0000045 times the smallest normal (csrc/fnn_fastmath.h), hence twice.
# gelu alone adds eps·|z|: its kernel's 1 + erf(z/√2) cancels for z << 0, where each
# erf (libm's in predict, ORT's in float32, the graph's polynomial in float64) is rounded
# to an ulp of 1, i.e. predict's own output there carries ±ulp(1)·|z|/2 (measured: a
# quarter of this allowance at most).  NaN must match NaN and ±inf the same infinity.


def z_battery(dtype):
    fi = np.finfo(dtype)
    mags = np.array([fi.smallest_subnormal, 3 * fi.smallest_subnormal, fi.tiny / 2, fi.tiny,
                     2 * fi.tiny, 1e-30, 1e-20, 1e-12, 1e-9, 3e-8, 1e-7, 3e-7, 1e-6, 2e-6,
                     1e-5, 1e-3, 0.5, 1, 3, 17, 30, 88.72, 103.9, 1e4, 1e30, fi.max / 2,
                     fi.max], dtype)
    logs = np.logspace(np.log10(fi.smallest_subnormal), np.log10(fi.max) - 0.01, 600,
                       dtype=np.float64).astype(dtype)
    lim = 110 if dtype == np.float32 else 760  # past the exp underflow of the dtype
    z = np.concatenate([mags, logs, np.linspace(-lim, lim, 3001), np.linspace(-2e-6, 2e-6, 201)])
    z = np.concatenate([z, -z]).astype(dtype)
    return z[np.isfinite(z)]


def within(got, want, z, dtype, act):
    fi = np.finfo(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    atol = 2 * fi.tiny + (fi.eps * np.abs(z.astype(np.float64)) if act == "gelu" else 0)
    got, want = got.astype(np.float64), want.astype(np.float64)
    same = (np.isnan(got) & np.isnan(want)) | (got == want)  # NaN, ±inf, and exact values
    with np.errstate(invalid="ignore"):  # inf - inf: False, as NaN is
        close = np.abs(got - want) <= rtol * np.abs(want) + atol
    return same | close


def identity_model(act, dtype, n=3):
    m = fastnn.Sequential([fastnn.Input(shape=(n,)), Dense(n, activation=act)], dtype=dtype)
    m.build()
    m.set_weights([np.eye(n, dtype=dtype), np.zeros(n, dtype)])
    return m


def nonfinite_model(act, dtype):
    m = fastnn.Sequential([fastnn.Input(shape=(1,)), Dense(1), Dense(3, activation=act)],
                          dtype=dtype)
    m.build()
    big = 1e30 if dtype == "float32" else 1e300
    m.set_weights([np.array([[big]], dtype), np.zeros(1, dtype),
                   np.array([[1, -1, 0]], dtype), np.zeros(3, dtype)])
    return m, np.array([[big], [-big], [1], [-1], [0]], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ACTS)
def test_onnx_matches_predict_on_extreme_preactivations(tmp_path, act, dtype):
    z = z_battery(np.dtype(dtype))
    rng = np.random.default_rng(1)
    X = np.concatenate([z, rng.permutation(z)])
    X = X[:len(X) // 3 * 3].reshape(-1, 3)
    m = identity_model(act, dtype)
    m.export(tmp_path / "m.onnx", verbose=False)
    with warnings.catch_warnings():  # selu(max) overflows to inf, in predict as in ONNX
        warnings.simplefilter("ignore", RuntimeWarning)
        want = m.predict(X)
    got = run_onnx(tmp_path / "m.onnx", X)
    assert got.dtype == want.dtype
    ok = within(got, want, X, np.dtype(dtype), act)
    assert ok.all(), (X[~ok][:5], got[~ok][:5], want[~ok][:5])

    m, X = nonfinite_model(act, dtype)
    m.export(tmp_path / "n.onnx", verbose=False)
    with pytest.warns(RuntimeWarning, match="NaN or infinite outputs"):
        want = m.predict(X)
    got = run_onnx(tmp_path / "n.onnx", X)
    assert np.isnan(want[:2, 2]).all() and np.isnan(got[:2, 2]).all()  # NaN in, NaN out
    np.testing.assert_array_equal(got, want)  # ±inf, NaN and the finite rows exactly

    if act != "softmax":  # a 1-unit graph given ±inf and NaN answers as predict did above
        m = identity_model(act, dtype, n=1)
        m.export(tmp_path / "one.onnx", verbose=False)
        got = run_onnx(tmp_path / "one.onnx", np.array([[np.inf], [-np.inf], [np.nan]], dtype))
        np.testing.assert_array_equal(got[:, 0], want[0])


@pytest.mark.parametrize("act", ACTS)
def test_float64_graph_computes_in_float64(act):
    """No float32 anywhere in a float64 graph: every tensor ONNX's shape inference
    types is double (values), bool (masks) or int64 (gather indices)."""
    import onnx

    from fastnn.interop.onnx import to_onnx
    proto = onnx.shape_inference.infer_shapes(to_onnx(identity_model(act, "float64")),
                                              strict_mode=True)
    T = onnx.TensorProto
    types = {v.type.tensor_type.elem_type for v in [*proto.graph.value_info,
                                                    *proto.graph.output]}
    types |= {t.data_type for t in proto.graph.initializer}
    assert types <= {T.DOUBLE, T.BOOL, T.INT64} and T.DOUBLE in types, types
    assert all(a.i != T.FLOAT for n in proto.graph.node if n.op_type == "Cast"
               for a in n.attribute)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normalization_layers_export_as_predict_runs_them(tmp_path, dtype):
    """BatchNormalization (moving statistics) and LayerNormalization as ONNX ops, the
    fixed Normalization and UnitNormalization as elementary ops, the noise layers
    left out.  Tolerance: float32 5e-5 relative (ORT's own normalization kernels sum
    in another order, and UnitNormalization's square sum is float32 there, double in
    C); float64 1e-10."""
    from fastnn.layers import (Activation, AlphaDropout, BatchNormalization,
                               GaussianNoise, LayerNormalization, Normalization,
                               UnitNormalization)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5)) * 3 + 1
    norm = Normalization()
    norm.adapt(X)
    m = fastnn.Sequential([norm, Dense(16), BatchNormalization(momentum=0.5),
                           Activation("relu"), GaussianNoise(0.2), Dense(8),
                           LayerNormalization(center=False), Activation("tanh"),
                           AlphaDropout(0.1), UnitNormalization(),
                           Normalization(mean=0.5, variance=2.0),
                           BatchNormalization(scale=False), Dense(3, activation="softmax")],
                          dtype=dtype, seed=1)
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(X, rng.integers(0, 3, 64), epochs=3, batch_size=16, verbose=0)
    m.export(tmp_path / "norm.onnx", verbose=False)
    tol = dict(rtol=5e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run_onnx(tmp_path / "norm.onnx", X.astype(dtype)),
                               m.predict(X), **tol)
