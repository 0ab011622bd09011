"""fastnn.quantize(model, "int8") (fastnn/quantization.py, csrc/fnn_quant*.c): the
int8 kernels against a NumPy reference of ONNX Runtime's dynamic quantization on
every level the CPU has (VNNI and the portable loops give the same bits: the sums
are exact integers and the float epilogue is the same), accuracy, saving, the ONNX
export run by the real ONNX Runtime, and the errors."""
import numpy as np
import pytest

import fastnn
from fastnn._kernels import _core
from fastnn.layers import Dense
from fastnn.quantization import quantize_kernel

ISAS = _core.available_isas()


def reference(model_q, X):
    """DynamicQuantizeLinear + MatMulInteger + scale + bias in NumPy, linear layers."""
    a = X.astype(np.float32)
    for K, N, act, Wp, wsum, ws, b in model_q._layers:
        lo, hi = min(0.0, float(a.min())), max(0.0, float(a.max()))
        xs = np.float32((np.float32(hi) - np.float32(lo)) / np.float32(255))
        zp = int(np.clip(np.rint(np.float32(0) - np.float32(lo) / xs), 0, 255))
        xq = np.clip(np.rint(a / xs) + zp, 0, 255).astype(np.int64)
        wq = [p[1] for p in model_q._onnx_parts if p[1].shape == (K, N)][0].astype(np.int64)
        acc = (xq - zp) @ wq  # exact integers
        z = acc.astype(np.float32) * (xs * ws)
        a = z + b if b is not None else z
    return a


def test_quantize_kernel_per_column_symmetric():
    W = np.array([[0.5, -2.0, 0.0], [-0.25, 1.0, 0.0], [0.125, 0.01, 0.0]], np.float32)
    wq, ws = quantize_kernel(W)
    np.testing.assert_array_equal(ws, np.float32([0.5 / 127, 2.0 / 127, 1.0]))
    np.testing.assert_array_equal(wq[:, 0], [127, -64, 32])  # -63.5 -> -64, 31.75 -> 32
    assert wq.dtype == np.int8 and wq[:, 2].tolist() == [0, 0, 0]
    assert np.abs(wq.astype(np.float32) * ws - W).max() <= ws.max() / 2 + 1e-9


def linear_model(sizes, seed=0):
    m = fastnn.Sequential([fastnn.Input(shape=(sizes[0],))]
                          + [Dense(n) for n in sizes[1:]], seed=seed)
    m.build((None, sizes[0]))
    return m


@pytest.mark.parametrize("sizes,rows", [((13, 7, 3), 5), ((64, 40, 33), 1), ((300, 65, 10), 1030),
                                        ((4, 1), 9), ((70, 160, 130), 13), ((100, 300, 130), 1)])
def test_kernels_match_reference_on_every_level(sizes, rows):
    rng = np.random.default_rng(sum(sizes))
    m = linear_model(sizes)
    q = fastnn.quantize(m)
    X = rng.standard_normal((rows, sizes[0])).astype(np.float32)
    outs = {}
    for isa in ISAS:
        previous = _core.set_isa(isa)
        try:
            outs[isa] = (q.predict(X), _core.int8_kernel())
        finally:
            _core.set_isa(previous)
    assert outs[ISAS[0]][1] == "portable"
    for isa, (out, _) in outs.items():
        np.testing.assert_array_equal(out, outs[ISAS[0]][0], err_msg=isa)
    if rows <= 1024:  # one block of rows: one input scale, as the reference
        # same integers; NumPy's float32 epilogue rounds as the kernel's: 1 ulp slack
        ref = reference(q, X)
        np.testing.assert_allclose(outs[ISAS[0]][0], ref, rtol=2e-7, atol=1e-7)


def test_explicit_kernels_and_errors():
    m = linear_model((20, 6))
    q = fastnn.quantize(m)
    X = np.random.default_rng(1).standard_normal((8, 20)).astype(np.float32)
    out = _core.int8_predict(q._layers, X, "portable")
    if "avx512" in ISAS and _core.int8_kernel() == "avx512_vnni":
        np.testing.assert_array_equal(_core.int8_predict(q._layers, X, "avx512_vnni"), out)
    with pytest.raises(ValueError, match="kernel must be"):
        _core.int8_predict(q._layers, X, "amx")
    with pytest.raises(ValueError, match="takes 20 inputs"):
        _core.int8_predict(q._layers, X[:, :5].copy())
    with pytest.raises(ValueError, match="wrong shape"):
        q.predict(X[:, :5])
    with pytest.raises(ValueError, match="NaN|inf"):
        q.predict(np.full((2, 20), np.nan))
    assert q.predict(np.zeros((0, 20))).shape == (0, 6)
    with pytest.raises(TypeError, match="fastnn.Sequential"):
        fastnn.quantize("model")
    with pytest.raises(ValueError, match="unknown quantization mode"):
        fastnn.quantize(m, "int4")
    with pytest.raises(ValueError, match="float32"):
        fastnn.quantize(fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(1)],
                                          dtype="float64"))
    with pytest.raises(ValueError, match="built"):
        fastnn.quantize(fastnn.Sequential([Dense(1)]))


@pytest.fixture(scope="module")
def trained():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    m = fastnn.Sequential([fastnn.Input(shape=(64,)), Dense(96, activation="relu"),
                           Dense(10, activation="softmax")], seed=0)
    m.compile(fastnn.optimizers.Adam(0.003), "sparse_categorical_crossentropy")
    m.fit(X[:1400], y[:1400], epochs=5, batch_size=64, verbose=0)
    return m, X, y


def test_accuracy_close_to_float32_and_model_unchanged(trained):
    m, X, y = trained
    before = [w.copy() for w in m.get_weights()]
    q = fastnn.quantize(m, "int8")
    p32, p8 = m.predict(X[1400:]), q.predict(X[1400:])
    acc32 = (p32.argmax(1) == y[1400:]).mean()
    acc8 = (p8.argmax(1) == y[1400:]).mean()
    # 8-bit inputs and weights move probabilities by ~1e-2, a few test samples at most
    assert abs(acc8 - acc32) <= 0.02
    assert np.abs(p8 - p32).max() < 0.1
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    m.fit(X[:200], y[:200], epochs=1, verbose=0)  # the float model trains on; q stays
    np.testing.assert_array_equal(q.predict(X[1400:]), p8)


def test_save_and_load(trained, tmp_path):
    m, X, _ = trained
    q = fastnn.quantize(m)
    q.save(tmp_path / "q.fastnn")
    back = fastnn.load_model(tmp_path / "q.fastnn")
    assert isinstance(back, fastnn.QuantizedModel)
    np.testing.assert_array_equal(back.predict(X), q.predict(X))


def test_onnx_export_runs_in_onnx_runtime(trained, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    m, X, _ = trained
    q = fastnn.quantize(m)
    q.export_onnx(tmp_path / "q.onnx")
    s = ort.InferenceSession(str(tmp_path / "q.onnx"), providers=["CPUExecutionProvider"])
    for rows in (1, 397):
        got = s.run(None, {"input": X[:rows]})[0]
        # the same integers; ORT's softmax and float epilogue may round differently:
        # probabilities agree to a few float32 ulps
        np.testing.assert_allclose(got, q.predict(X[:rows]), atol=2e-6)


def test_blocks_shared_by_threads_give_the_bits_of_one_thread():
    """Blocks of 1024 rows (each with its own input scales) run on several of fastnn's
    threads: the output depends on the row count only, not on the thread count."""
    rng = np.random.default_rng(5)
    m = linear_model((40, 24, 6), seed=2)
    q = fastnn.quantize(m)
    X = rng.standard_normal((2500, 40)).astype(np.float32)  # blocks of 1024, 1024, 452
    one = _core.int8_predict(q._layers, X, threads=1)
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(_core.int8_predict(q._layers, X, threads=threads), one)
    np.testing.assert_array_equal(q.predict(X), one)
    # each block is the network on those rows alone
    np.testing.assert_array_equal(one[1024:2048], q.predict(X[1024:2048]))
    with pytest.raises(ValueError, match="threads must be >= 1"):
        _core.int8_predict(q._layers, X, threads=0)
    assert _core.int8_predict(q._layers, X[:0], threads=2).shape == (0, 6)


def test_a_quantized_model_copies_and_pickles():
    import copy
    import pickle

    m = linear_model((12, 5, 3), seed=4)
    q = fastnn.quantize(m)
    X = np.random.default_rng(2).standard_normal((7, 12)).astype(np.float32)
    for other in (copy.deepcopy(q), pickle.loads(pickle.dumps(q))):
        np.testing.assert_array_equal(other.predict(X), q.predict(X))


@pytest.mark.parametrize("rows", [1, 2, 9])
def test_rows_with_zero_runs_give_the_portable_bits(rows):
    """A one-row product skips quads of four zero inputs (they add 0): the VNNI kernel
    gives the portable loops' bits on images with zero borders (and the reference's
    values: linear layers, as the reference computes)."""
    rng = np.random.default_rng(rows)
    q = fastnn.quantize(linear_model((100, 300, 130, 5), seed=3))  # panel groups 8+2, 4+1
    X = np.abs(rng.standard_normal((rows, 100))).astype(np.float32)
    X[:, :37] = 0.0       # a zero border: whole quads of zeros, and one split quad
    X[:, 60:70] = 0.0
    X[0, 80] = -0.5        # one negative input: a zero point above 0 for that block
    out = _core.int8_predict(q._layers, X, "portable")
    if _core.int8_kernel() == "avx512_vnni":
        np.testing.assert_array_equal(_core.int8_predict(q._layers, X, "avx512_vnni"), out)
    np.testing.assert_allclose(out, reference(q, X), rtol=2e-7, atol=1e-7)


def test_threads_predicting_at_once_each_get_their_rows():
    """One QuantizedModel predicting in several threads at once: each call gets the
    outputs of its own rows (a call that finds the kept scratch in use makes its own)."""
    import threading

    rng = np.random.default_rng(8)
    q = fastnn.quantize(linear_model((30, 20, 4), seed=6))
    inputs = [rng.standard_normal((3000, 30)).astype(np.float32) for _ in range(4)]
    expected = [q.predict(X) for X in inputs]
    bad = []

    def run(i):
        for _ in range(20):
            if not np.array_equal(q.predict(inputs[i]), expected[i]):
                bad.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not bad


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e39])
def test_nan_or_inf_anywhere_is_refused_on_every_level(bad):
    # the kernel's range pass finds it (the input is not checked by a pass of its
    # own): in the first or last value, in the short last block, with two threads
    rng = np.random.default_rng(3)
    q = fastnn.quantize(linear_model((37, 20, 4)))
    for isa in ISAS:
        previous = _core.set_isa(isa)
        try:
            for n, (i, j) in [(1, (0, 0)), (5, (4, 36)), (2100, (2099, 36)), (2100, (1030, 3))]:
                X = rng.standard_normal((n, 37))
                X[i, j] = bad
                with pytest.raises(ValueError, match=rf"contains NaN or infinity .* \[\({i}, {j}\)\]"):
                    q.predict(X)
                with np.errstate(over="ignore"):  # 1e39 becomes inf in float32
                    X32 = X.astype(np.float32)
                with fastnn.num_threads(2), pytest.raises(ValueError, match="NaN or infinity"):
                    q._net.predict(X32, threads=2)
            X = rng.standard_normal((2100, 37))  # finite: no error on the same paths
            assert np.isfinite(q.predict(X)).all()
        finally:
            _core.set_isa(previous)


def test_a_hidden_layer_overflowing_is_an_error_not_an_input_error():
    # finite inputs near float32's limit overflow the first layer's outputs; the
    # second layer cannot quantize them: FloatingPointError saying so on every level
    # (the VNNI kernel finds it while the rows are in cache, the portable loops in the
    # next layer's range pass), never "x contains NaN"
    m = fastnn.Sequential([fastnn.Input(shape=(20,)), Dense(30, activation="relu"),
                           Dense(3)], seed=0)
    m.build((None, 20))
    q = fastnn.quantize(m)
    X = np.full((50, 20), 3e38, np.float32)
    for isa in ISAS:
        previous = _core.set_isa(isa)
        try:
            with pytest.raises(FloatingPointError, match="hidden layer"):
                q.predict(X)
            with pytest.raises(FloatingPointError, match="hidden layer"):
                q.predict(X[:1])
        finally:
            _core.set_isa(previous)
