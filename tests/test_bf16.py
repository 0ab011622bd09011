"""mixed_bfloat16 (fastnn/mixed_precision.py, csrc/fnn_gemm_bf16*.c): the bfloat16-input
products against a NumPy reference on every instruction-set level the CPU has and on
the portable emulation, the policy's API and its errors, training and predicting in
the C loop, saving and exact resumption.

Tolerances: a product of two bfloat16 numbers is exact in float32 and the reference
sums the same rounded inputs in float64, so the kernel differs from it only by
float32 summation: |C − C_ref| <= K·2⁻²⁴·Σ|a||b| (each of K additions adds at most
one float32 rounding of the running sum).  Against float32 inputs the error is the
rounding of the inputs: each bfloat16 input is within 2⁻⁹ relative of its float32
value, so a product within ~2⁻⁸."""
import numpy as np
import pytest

import fastnn
from fastnn import mixed_precision
from fastnn._epoch_results import N_SUMS
from fastnn._kernels import _core
from fastnn.layers import Dense

from ._resume import straight_and_saved_half

ISAS = _core.available_isas()


def _have_native():
    previous = _core.set_isa(ISAS[-1])
    try:
        return _core.bf16_kernel() == "avx512_bf16"
    finally:
        _core.set_isa(previous)


NATIVE = _have_native()
KERNELS = ["emulated"] + (["avx512_bf16"] if NATIVE else [])


def bf16(x):
    """float32 -> bfloat16 -> float32 in NumPy: round to nearest even, subnormals to
    zero (as vdpbf16ps reads them); NaN and inf are not used here."""
    u = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    r = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32)
    r[(u & 0x7F800000) == 0] &= np.uint32(0x80000000)
    return r.view(np.float32)


def test_numpy_rounding_reference():
    x = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -2.5, 1e-39],
                 np.float32)
    # ties go to even; just above a tie rounds up; subnormal -> 0
    assert bf16(x).tolist() == [1.0, 1.0, 1 + 4 * 2**-8, 1 + 2**-7, -2.5, 0.0]


SHAPES = [(128, 256, 784, 0, 0), (7, 33, 5, 0, 0), (9, 17, 1, 1, 0), (130, 31, 77, 0, 1),
          (64, 40, 301, 1, 1), (1, 256, 300, 0, 0), (8, 32, 256, 0, 0), (3, 1, 2, 1, 1)]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("M,N,K,tA,tB", SHAPES)
def test_gemm_matches_numpy_reference(kernel, M, N, K, tA, tB):
    rng = np.random.default_rng(M * 1000 + N + K)
    A = rng.standard_normal((K, M) if tA else (M, K)).astype(np.float32)
    B = rng.standard_normal((N, K) if tB else (K, N)).astype(np.float32)
    C0 = rng.standard_normal((M, N)).astype(np.float32)
    opA = bf16(A.T if tA else A).astype(np.float64)
    opB = bf16(B.T if tB else B).astype(np.float64)
    for alpha, beta in ((1.0, 0.0), (1.0, 1.0), (0.5, -2.0)):
        C = C0.copy()
        _core.gemm_kernel(A, B, C, bool(tA), bool(tB), alpha, beta, kernel)
        ref = alpha * (opA @ opB) + beta * C0
        bound = (K + 2) * 2.0**-24 * (abs(alpha) * (np.abs(opA) @ np.abs(opB))
                                      + abs(beta) * np.abs(C0)) + 1e-30
        assert np.all(np.abs(C - ref) <= bound), (kernel, alpha, beta)


@pytest.mark.skipif(not NATIVE, reason="this CPU has no AVX512_BF16: only the emulation runs")
@pytest.mark.parametrize("M,N,K,tA,tB", SHAPES)
def test_native_and_emulation_give_the_same_bits(M, N, K, tA, tB):
    # the emulation follows vdpbf16ps's definition; on the CPUs this was built on
    # (Zen 4) they agree exactly, inf, NaN and subnormal inputs included
    rng = np.random.default_rng(7)
    A = rng.standard_normal((K, M) if tA else (M, K)).astype(np.float32)
    B = rng.standard_normal((N, K) if tB else (K, N)).astype(np.float32)
    A.flat[::7] = 1e-39
    B.flat[::11] = -3e-40
    A.flat[5 % A.size] = np.inf
    B.flat[3 % B.size] = np.nan
    out = {}
    for kernel in ("emulated", "avx512_bf16"):
        C = np.ones((M, N), np.float32)
        _core.gemm_kernel(A, B, C, bool(tA), bool(tB), 1.0, 1.0, kernel)
        out[kernel] = C
    np.testing.assert_array_equal(out["emulated"], out["avx512_bf16"])


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("M,N,K,tA,tB", SHAPES + [(200, 70, 600, 0, 1), (150, 300, 257, 1, 0)])
def test_weights_packed_once_give_the_bits_of_per_call_packing(kernel, M, N, K, tA, tB):
    # a layer's W (and Wᵀ) packed once per weight change and read by every row block
    # (csrc/fnn_gemm_bf16.h, fnn_bf16_pack_full) must be the words the per-call
    # packing makes: same sums, same order, same bits; several row and K blocks here
    rng = np.random.default_rng(M + 3 * N + 7 * K)
    A = rng.standard_normal((K, M) if tA else (M, K)).astype(np.float32)
    B = rng.standard_normal((N, K) if tB else (K, N)).astype(np.float32)
    B.flat[::13] = 1e-39  # subnormal: zero in both packings
    C0 = rng.standard_normal((M, N)).astype(np.float32)
    Bp = _core.pack_bf16(B, bool(tB), kernel)
    for alpha, beta in ((1.0, 0.0), (0.5, -2.0)):
        C1, C2 = C0.copy(), C0.copy()
        _core.gemm_kernel(A, B, C1, bool(tA), bool(tB), alpha, beta, kernel)
        _core.gemm_kernel(A, B, C2, bool(tA), bool(tB), alpha, beta, kernel, packed=Bp)
        np.testing.assert_array_equal(C1, C2)


def test_packed_operand_errors():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((5, 40)).astype(np.float32)
    B = rng.standard_normal((40, 9)).astype(np.float32)
    C = np.zeros((5, 9), np.float32)
    Bp = _core.pack_bf16(B, False, "emulated")
    with pytest.raises(ValueError, match="packed must be what pack_bf16 made"):
        _core.gemm_kernel(A, B, C, kernel="emulated", packed=Bp[:-3])  # wrong length
    with pytest.raises(ValueError, match="packed must be what pack_bf16 made"):
        # the same K and N packed from Bᵀ: its tag says tB, not this call's B
        _core.gemm_kernel(A, B, C, kernel="emulated",
                          packed=_core.pack_bf16(B.T.copy(), True, "emulated"))
    with pytest.raises(ValueError, match="packed is for the bfloat16 kernels"):
        _core.gemm_kernel(A, B, C, kernel="sgemm", packed=Bp)
    with pytest.raises(ValueError, match="kernel must be"):
        _core.pack_bf16(B, False, "amx")
    with pytest.raises(TypeError, match="float32"):
        _core.pack_bf16(B.astype(np.float64))
    with pytest.raises(ValueError, match="empty or too large"):
        _core.pack_bf16(np.zeros((0, 3), np.float32))


def test_sgemm_kernel_is_float32_and_errors():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 30)).astype(np.float32)
    B = rng.standard_normal((30, 10)).astype(np.float32)
    C = np.zeros((20, 10), np.float32)
    _core.gemm_kernel(A, B, C, kernel="sgemm")
    np.testing.assert_allclose(C, A.astype(np.float64) @ B, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="shapes do not chain"):
        _core.gemm_kernel(A, B.T.copy(), C)
    with pytest.raises(TypeError, match="float32"):
        _core.gemm_kernel(A.astype(np.float64), B, C)
    with pytest.raises(ValueError, match="kernel must be"):
        _core.gemm_kernel(A, B, C, kernel="amx")


def test_policy_api_and_errors():
    assert mixed_precision.global_policy().name == "float32"
    p = mixed_precision.Policy("mixed_bfloat16")
    assert (p.compute_dtype, p.variable_dtype, repr(p)) == (
        "bfloat16", "float32", '<Policy "mixed_bfloat16">')
    with pytest.raises(ValueError, match="unknown dtype policy.*Keras policy"):
        mixed_precision.set_global_policy("mixed_float16")
    with pytest.raises(ValueError, match="Expected 'float32' or 'mixed_bfloat16'"):
        Dense(3, dtype="bfloat32")
    with pytest.raises(TypeError, match="invalid type for argument `dtype`"):
        Dense(3, dtype=16)
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = Dense(4)
    finally:
        mixed_precision.set_global_policy(None)
    assert layer.dtype_policy == p and layer.compute_dtype == "bfloat16"
    assert Dense(4).dtype_policy.name == "float32"  # the policy at creation, as Keras
    assert "dtype" not in Dense(4).get_config()
    assert Dense.from_config(layer.get_config()).dtype_policy == p
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2, dtype="mixed_bfloat16")],
                          dtype="float64")
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match="mixed_bfloat16.*float32"):
        m.fit(np.ones((2, 3)), np.ones((2, 2)), verbose=0)  # the model is built here


def _digits_model(policy, seed=0):
    return fastnn.Sequential([fastnn.Input(shape=(64,)),
                              Dense(96, activation="relu", dtype=policy),
                              Dense(10, activation="softmax", dtype=policy)], seed=seed)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _fit(policy, X, y, epochs=3, isa=None):
    previous = _core.set_isa(isa) if isa else None
    try:
        m = _digits_model(policy)
        m.compile(fastnn.optimizers.Adam(0.003), "sparse_categorical_crossentropy",
                  ["accuracy"])
        m.fit(X[:1400], y[:1400], epochs=epochs, batch_size=64, verbose=0)
        return m, m.predict(X[1400:]), m.evaluate(X[1400:], y[1400:], verbose=0)[1]
    finally:
        if previous:
            _core.set_isa(previous)


def test_training_bf16_is_close_to_float32_and_the_same_on_every_level(digits):
    X, y = digits
    _, p32, acc32 = _fit("float32", X, y)
    runs = {isa: _fit("mixed_bfloat16", X, y, isa=isa) for isa in ISAS}
    ref = runs[ISAS[0]]
    for isa, (m, p, acc) in runs.items():
        # the emulation (lower levels) and vdpbf16ps compute the same sums in order
        np.testing.assert_array_equal(p, ref[1], err_msg=isa)
    # three epochs from the same start: 2^-9 input roundings move the probabilities a
    # little, not the accuracy of a 97 % model by more than a few test samples
    assert abs(ref[2] - acc32) < 0.03
    assert np.abs(ref[1] - p32).max() < 0.2
    assert not np.array_equal(ref[1], p32)  # the products did change precision


def test_predict_uses_bf16_products(digits):
    X, _ = digits
    m = _digits_model("mixed_bfloat16")
    m.build((None, 64))
    W1, b1, W2, b2 = (w.astype(np.float64) for w in m.get_weights())
    h = np.maximum(bf16(X[:300]).astype(np.float64) @ bf16(W1) + b1, 0)
    z = bf16(h.astype(np.float32)).astype(np.float64) @ bf16(W2) + b2
    ref = np.exp(z - z.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    # float32 sums of the same rounded products, softmax in float32: 1e-5 absolute
    np.testing.assert_allclose(m.predict(X[:300]), ref, atol=1e-5)
    outs = m.get_layer_outputs(X[:300])
    np.testing.assert_allclose(outs[-1], m.predict(X[:300]), atol=1e-6)


def test_predict_with_weights_packed_once_gives_the_bits_of_small_calls(digits):
    # predict reads the model's W packed once and kept until the next write
    # (_core._predict_pack); a call on a buffer that is not the model's, of <= 64
    # rows, packs W per product: the same words, so the same outputs bit for bit; on
    # one thread and split over two
    X, _ = digits
    m = _digits_model("mixed_bfloat16")
    m.build((None, 64))
    whole = m.predict(X[:700])
    parts = np.concatenate([m.predict(X[i:i + 50]) for i in range(0, 700, 50)])
    np.testing.assert_array_equal(whole, parts)
    net, params = m._net, m._params.copy()
    per_call = np.concatenate([_core.predict(net, params, X[i:i + 50])
                               for i in range(0, 700, 50)])
    np.testing.assert_array_equal(whole, per_call)
    with fastnn.num_threads(2):
        np.testing.assert_array_equal(m.predict(X[:700]), whole)


def test_predict_sees_every_change_of_the_weights(digits, tmp_path):
    # the packed weights predict keeps are packed again after each write: after
    # set_weights, a variable's assign, fit, load_weights and inside fit (callbacks),
    # predict gives what a fresh model with the same weights gives
    X, y = digits
    m = _digits_model("mixed_bfloat16")
    m.compile("adam", "sparse_categorical_crossentropy")
    m.build((None, 64))
    x1 = X[:40]  # enough rows for bfloat16 products (one row: float32 ones)

    def fresh(weights):
        f = _digits_model("mixed_bfloat16", seed=5)
        f.build((None, 64))
        f.set_weights(weights)
        return f.predict(x1)

    first = m.predict(x1)
    np.testing.assert_array_equal(first, fresh(m.get_weights()))
    w = m.get_weights()
    m.set_weights([w[0] * 0.5, w[1], w[2], w[3] + 0.25])
    np.testing.assert_array_equal(m.predict(x1), fresh(m.get_weights()))
    m.layers[-1].kernel.assign(m.layers[-1].kernel.numpy() * -1.0)
    np.testing.assert_array_equal(m.predict(x1), fresh(m.get_weights()))
    m.save_weights(tmp_path / "a.weights.h5")
    seen = []

    class Seen(fastnn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model.predict(x1), self.model.get_weights()))

    m.fit(X[:300], y[:300], epochs=2, verbose=0, callbacks=[Seen()])
    for out, weights in seen:
        np.testing.assert_array_equal(out, fresh(weights))
    np.testing.assert_array_equal(m.predict(x1), fresh(m.get_weights()))
    assert not np.array_equal(seen[0][0], seen[1][0])
    m.load_weights(tmp_path / "a.weights.h5")
    np.testing.assert_array_equal(m.predict(x1), fresh(m.get_weights()))
    assert not np.array_equal(m.predict(x1), first)


def test_save_load_and_resume_exactly(digits, tmp_path):
    X, y = digits

    def make():
        m = _digits_model("mixed_bfloat16")
        m.compile("adam", "sparse_categorical_crossentropy")
        return m

    straight, first, again = straight_and_saved_half(make, X, y, 2, tmp_path / "m.fastnn",
                                                     batch_size=64)
    assert [layer.dtype_policy.name for layer in again.layers] == ["mixed_bfloat16"] * 2
    np.testing.assert_array_equal(again.predict(X), first.predict(X))
    again.fit(X, y, epochs=1, batch_size=64, verbose=0)
    for a, b in zip(again.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_split_step_threads_give_the_serial_result(digits):
    X, y = digits
    outs = []
    for threads in (1, 2):
        with fastnn.num_threads(threads):
            m = _digits_model("mixed_bfloat16")
            m.compile("adam", "sparse_categorical_crossentropy")
            m.fit(X, y, epochs=1, batch_size=256, verbose=0)
            outs.append(m.get_weights())
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_keras_file_with_mixed_bfloat16_layers_loads_mixed(tmp_path):
    pytest.importorskip("h5py")
    from tests.test_keras_import import DATA, base_config, rewrite
    cfg = base_config()
    cfg["config"]["layers"][1]["config"]["dtype"]["config"]["name"] = "mixed_bfloat16"
    rewrite(DATA / "functional_chain.keras", tmp_path / "m.keras", cfg)
    model = fastnn.load_model(tmp_path / "m.keras")
    policies = [layer.dtype_policy.name for layer in model.layers if isinstance(layer, Dense)]
    assert policies[0] == "mixed_bfloat16" and set(policies[1:]) == {"float32"}
    assert model.dtype == np.float32


def test_keras_file_out_keeps_the_mixed_policy(tmp_path):
    """model.save("m.keras") of a mixed model: the mixed Dense's config carries Keras's
    mixed_bfloat16 policy, the others float32; loading it gives the same policies and
    the same predictions (same weights, same bf16 products)."""
    pytest.importorskip("h5py")
    import json
    import zipfile
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 6)).astype(np.float32)
    m = fastnn.Sequential([Dense(8, activation="relu", dtype="mixed_bfloat16", input_shape=(6,)),
                          Dense(2)])
    m.compile("adam", "mse")
    m.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        cfg = json.loads(z.read("config.json"))
    names = [l["config"]["dtype"]["config"]["name"] for l in cfg["config"]["layers"][1:]]
    assert names == ["mixed_bfloat16", "float32"]
    back = fastnn.load_model(tmp_path / "m.keras")
    policies = [layer.dtype_policy.name for layer in back.layers if isinstance(layer, Dense)]
    assert policies == ["mixed_bfloat16", "float32"]
    np.testing.assert_array_equal(back.predict(x), m.predict(x))


def test_sparse_input_keeps_the_first_layer_float32():
    """A CSR x: the first Dense runs fnn_net_sparse.h's float32 products whatever its
    policy (fnn_layer.bf16 applies to BLAS products only), the later mixed layers their
    bf16 products: the mixed model on the CSR matrix equals, to float32 rounding, the
    model with a float32 first layer on the densified matrix, and differs from the
    all-mixed model on it by bf16 rounding."""
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(5)
    xs = sp.random(64, 40, density=0.2, format="csr", random_state=6, dtype=np.float32)
    xd = xs.toarray()

    def model(first):
        fastnn.utils.set_random_seed(1)
        m = fastnn.Sequential([Dense(32, activation="relu", dtype=first, input_shape=(40,)),
                               Dense(16, activation="relu", dtype="mixed_bfloat16"),
                               Dense(3)])
        m.compile("adam", "mse")
        return m
    mixed, plain = model("mixed_bfloat16"), model("float32")
    plain.set_weights(mixed.get_weights())
    got = mixed.predict(xs)
    np.testing.assert_allclose(got, plain.predict(xd), rtol=1e-5, atol=1e-6)  # sum order only
    all_mixed = mixed.predict(xd)  # dense x: the first layer's products in bf16 too
    assert np.abs(all_mixed - got).max() > 1e-4
    np.testing.assert_allclose(all_mixed, got, rtol=0.05, atol=0.05)
    y = rng.normal(size=(64, 3)).astype(np.float32)
    mixed.fit(xs, y, epochs=2, batch_size=16, verbose=0)  # trains on the CSR path
    assert np.isfinite(mixed.predict(xs)).all()


def test_training_gradient_with_packed_weights_and_delta_matches_numpy():
    # one batch of 150 rows (three row blocks of the kernel): W, Wᵀ and δ each packed
    # once for the step (csrc/fnn_net.h bf16_pack) against a float64 NumPy backward
    # pass whose every product takes the same bfloat16-rounded operands.  fastnn keeps
    # activations and δ in float32 before rounding them, so a rounded operand may sit
    # one bfloat16 step (2^-8 relative) from the reference's, moving one term of a sum
    # by that much: 0.1 % of each tensor's largest entry leaves room for a few such
    # flips (this seed shows 3e-7); a misplaced panel or block would be off by O(1)
    rng = np.random.default_rng(3)
    m = fastnn.Sequential([fastnn.Input(shape=(70,)),
                           Dense(96, activation="relu", dtype="mixed_bfloat16"),
                           Dense(40, dtype="mixed_bfloat16")], seed=1)
    m.compile("sgd", "mse")
    m.build((None, 70))
    X = rng.standard_normal((150, 70)).astype(np.float32)
    Y = rng.standard_normal((150, 40)).astype(np.float32)
    net, P = m._net, m._params
    ws = np.empty(len(X) * net.ws_units, np.float32)
    G = np.empty_like(P)
    _core.loss_grad(net, P, G, ws, len(X), X, m._targets("test", Y, len(X)), None,
                    np.zeros(N_SUMS))
    W1, b1, W2, b2 = (w.astype(np.float64) for w in m.get_weights())
    r = lambda a: bf16(np.asarray(a, np.float32)).astype(np.float64)  # noqa: E731
    z1 = r(X) @ r(W1) + b1
    a1 = np.maximum(z1, 0)
    z2 = r(a1) @ r(W2) + b2
    d2 = 2 * (z2 - Y) / z2.size
    d1 = (r(d2) @ r(W2).T) * (z1 > 0)
    ref = [r(X).T @ r(d1), d1.sum(0), r(a1).T @ r(d2), d2.sum(0)]
    got = [g.reshape(w.shape) for g, w in zip(np.split(G, np.cumsum([w.size for w in ref])[:-1]),
                                              ref)]
    for g, want in zip(got, ref):
        err = np.abs(g - want).max() / np.abs(want).max()
        assert err <= 1e-3, err


def test_threads_predicting_at_once_share_the_packed_weights(digits):
    # four threads predict at once (the GIL released in C) while the weights change
    # between rounds: a call that finds the kept copy in use by another packs its
    # own, and every output is the model's output for the weights of its round
    import threading
    X, _ = digits
    m = _digits_model("mixed_bfloat16")
    m.build((None, 64))
    for _ in range(3):
        want = {n: m.predict(X[:n]) for n in (1, 40, 500, 1500)}
        outs, errors = {}, []

        def run(n):
            try:
                for _ in range(20):
                    outs.setdefault(n, []).append(m.predict(X[:n]))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(n,)) for n in want]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for n, got in outs.items():
            for out in got:
                np.testing.assert_array_equal(out, want[n])
        m.set_weights([w * 1.1 for w in m.get_weights()])
