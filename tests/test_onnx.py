"""ONNX export (issue 8): every activation, both dtypes, with and without bias, run
by a real ONNX Runtime session with the outputs of ``predict``.  Tolerances:
float64 rtol 1e-12 (only the summation order differs); float32 rtol 1e-5,
atol 1e-6 (summation order, and fastnn's vectorised exp/tanh, within 5 ulp)."""
import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

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
        if dtype == "float64" and act == "gelu":
            # the exported float64 gelu computes Erf in float32 (ONNX Runtime has no float64
            # Erf): float32-size error in the output
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        elif dtype == "float64":
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
