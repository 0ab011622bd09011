"""Every C kernel against its NumPy twin in fastnn/_reference.py, both dtypes,
hypothesis-drawn shapes including 0 and 1 rows and single features; both the
direct-loop and the BLAS paths of the dense kernels."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastnn import _reference as ref
from fastnn import activations as A
from fastnn import losses as L
from fastnn import optimizers as O
from fastnn._kernels import _core

from ._oracles import ELEMENTWISE, tol

DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True, params=_core.available_isas())
def isa(request):
    """Every kernel is checked on each instruction set this CPU has."""
    previous = _core.set_isa(request.param)
    yield request.param
    _core.set_isa(previous)
ALWAYS_LOOPS, ALWAYS_BLAS = 2**62, 0


def rand(rng, shape, dtype, scale=1.0):
    return np.ascontiguousarray(rng.standard_normal(shape) * scale, dtype=dtype)


dims = st.integers(1, 9)
rows = st.integers(0, 9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", [ALWAYS_LOOPS, ALWAYS_BLAS], ids=["loops", "blas"])
@given(B=rows, n_in=dims, n_out=dims, bias=st.booleans(), seed=st.integers(0, 2**31))
def test_dense_forward(dtype, path, B, n_in, n_out, bias, seed):
    rng = np.random.default_rng(seed)
    X, W = rand(rng, (B, n_in), dtype), rand(rng, (n_in, n_out), dtype)
    b = rand(rng, n_out, dtype) if bias else None
    Z = np.full((B, n_out), np.nan, dtype)
    _core.dense_forward_kernel(X, W, b, Z, path)
    np.testing.assert_allclose(Z, ref.dense_forward(X, W, b), **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", [ALWAYS_LOOPS, ALWAYS_BLAS], ids=["loops", "blas"])
@given(B=rows, n_in=dims, n_out=dims, seed=st.integers(0, 2**31))
def test_dense_backward(dtype, path, B, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    X, W, D = rand(rng, (B, n_in), dtype), rand(rng, (n_in, n_out), dtype), rand(rng, (B, n_out), dtype)
    dW, db, dX = (np.full(s, np.nan, dtype) for s in ((n_in, n_out), n_out, (B, n_in)))
    _core.dense_backward_kernel(X, D, W, dW, db, dX, path)
    for got, want in zip((dW, db, dX), ref.dense_backward(X, D, W)):
        np.testing.assert_allclose(got, want, **tol(dtype))
    # dX may be skipped (first layer): dW and db are unaffected
    dW2 = np.empty_like(dW)
    _core.dense_backward_kernel(X, D, W, dW2, None, None, path)
    np.testing.assert_array_equal(dW2, dW)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n_in=st.integers(1, 1100),
       n_out=st.sampled_from([1, 2, 3, 7, 8, 15, 16, 17, 33, 64, 127, 128, 129, 200, 257, 300]),
       zeros=st.floats(0, 1), bias=st.booleans(), seed=st.integers(0, 2**31))
def test_dense_forward_one_sample(dtype, n_in, n_out, zeros, bias, seed):
    """One sample streams W once and skips the inputs that are 0 (csrc/fnn_dense.c
    row_product): the reference's values, and the same bits as that row in a
    two-row product of the loops (the same sums in the same order; inputs of 0 and
    -0.0 add only zeros).  n_in beyond 512 crosses the kernel's chunk of rows."""
    rng = np.random.default_rng(seed)
    X, W = rand(rng, (2, n_in), dtype), rand(rng, (n_in, n_out), dtype)
    X[0, rng.random(n_in) < zeros] = 0.0
    X[0, rng.random(n_in) < zeros / 4] = -0.0
    b = rand(rng, n_out, dtype) if bias else None
    Z1, Z2 = np.full((1, n_out), np.nan, dtype), np.full((2, n_out), np.nan, dtype)
    _core.dense_forward_kernel(X[:1], W, b, Z1, ALWAYS_BLAS)
    _core.dense_forward_kernel(X, W, b, Z2, ALWAYS_LOOPS)
    # against float64 sums within the a-priori bound of n_in + 1 roundings per term
    # (|error| <= (n_in + 1)·u·(|x|·|W| + |b|)): up to 1100 terms, cancellation can
    # leave a result far smaller than its terms
    x64, W64 = X[:1].astype(np.float64), W.astype(np.float64)
    b64 = None if b is None else b.astype(np.float64)
    bound = (n_in + 1) * np.finfo(dtype).eps * (
        np.abs(x64) @ np.abs(W64) + (0 if b is None else np.abs(b64)))
    assert (np.abs(Z1 - ref.dense_forward(x64, W64, b64)) <= bound).all()
    np.testing.assert_array_equal(Z1[0], Z2[0])


def test_dense_large_uses_blas_and_agrees():
    rng = np.random.default_rng(0)
    X, W, b = rand(rng, (64, 100), np.float64), rand(rng, (100, 80), np.float64), rand(rng, 80, np.float64)
    Z1, Z2 = np.empty((64, 80)), np.empty((64, 80))
    _core.dense_forward_kernel(X, W, b, Z1, ALWAYS_LOOPS)
    _core.dense_forward_kernel(X, W, b, Z2, ALWAYS_BLAS)
    np.testing.assert_allclose(Z1, Z2, **tol(np.float64))
    np.testing.assert_allclose(Z2, ref.dense_forward(X, W, b), **tol(np.float64))


ACTS = list(A.ALL_OBJECTS_DICT.values())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS, ids=[A.NAMES[a] for a in ACTS])
@given(B=rows, n=dims, scale=st.sampled_from([0.1, 1.0, 30.0]), seed=st.integers(0, 2**31))
def test_activation_forward_backward(dtype, act, B, n, scale, seed):
    rng = np.random.default_rng(seed)
    Z = rand(rng, (B, n), dtype, scale)
    out = np.full_like(Z, np.nan)
    _core.act_forward_kernel(act, Z, out)
    want = ref.act_forward(act, Z)
    np.testing.assert_allclose(out, want, **tol(dtype, ELEMENTWISE))
    G = rand(rng, (B, n), dtype)
    G2 = G.copy()
    _core.act_backward_kernel(act, Z, out, G2)
    np.testing.assert_allclose(G2, ref.act_backward(act, Z, out, G), **tol(dtype, ELEMENTWISE))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS, ids=[A.NAMES[a] for a in ACTS])
def test_activation_in_place(dtype, act):
    """predict applies activations in place (A aliases Z)."""
    Z = rand(np.random.default_rng(1), (5, 4), dtype, 3.0)
    want = ref.act_forward(act, Z)
    _core.act_forward_kernel(act, Z, Z)
    np.testing.assert_allclose(Z, want, **tol(dtype, ELEMENTWISE))


def test_activation_conventions():
    z = np.array([[-2.0, 0.0, 3.0]])
    out = np.empty_like(z)
    for act, want in ((A.STEP, [0, 1, 1]), (A.SIGN, [-1, 1, 1]), (A.RELU, [0, 0, 3])):
        _core.act_forward_kernel(act, z, out)
        np.testing.assert_array_equal(out[0], want)
    g = np.ones_like(z)
    _core.act_backward_kernel(A.RELU, z, out, g)
    np.testing.assert_array_equal(g[0], [0, 1, 1])  # ReLU'(0) = 1, as the notes
    g = np.ones_like(z)
    _core.act_backward_kernel(A.RELU_KERAS, z, out, g)
    np.testing.assert_array_equal(g[0], [0, 0, 1])  # relu_keras: ReLU'(0) = 0, as Keras
    nan = np.array([[np.nan]])
    for act in (A.RELU, A.RELU_KERAS):
        g = np.ones_like(nan)
        _core.act_backward_kernel(act, nan, nan.copy(), g)
        assert np.isnan(g[0, 0])  # NaN in, NaN out
    # the real tanh derivative 1 − tanh² (the notes print the sigmoid's by mistake)
    t = np.tanh(z)
    g = np.ones_like(z)
    _core.act_backward_kernel(A.TANH, z, t, g)
    np.testing.assert_allclose(g, 1 - np.tanh(z) ** 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_sigmoid_extreme_logits(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype)
    a = np.empty_like(z)
    _core.act_forward_kernel(A.SOFTMAX, z, a)
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a.sum(axis=1), 1, atol=1e-5)
    _core.act_forward_kernel(A.SIGMOID, z, a)
    assert np.isfinite(a).all() and a[0, 1] == 0 and a[0, 0] == 1
    # fused losses are finite for huge logits too
    for loss, act, Y in ((L.CCE, A.SOFTMAX, np.eye(3, dtype=dtype)[[1, 0]]),
                         (L.BCE, A.SIGMOID, np.ones_like(z))):
        _core.act_forward_kernel(act, z, a)
        assert np.isfinite(_core.loss_kernel(loss, True, z, a, Y, np.empty_like(z)))


PAIRS = [(L.MSE, A.LINEAR, False), (L.MSE, A.SIGMOID, False), (L.BCE, A.SIGMOID, True),
         (L.BCE, A.SIGMOID, False), (L.BCE, A.TANH, False), (L.CCE, A.SOFTMAX, True),
         (L.CCE, A.SOFTMAX, False), (L.CCE, A.SIGMOID, False), (L.SPARSE_CCE, A.SOFTMAX, True),
         (L.SPARSE_CCE, A.SOFTMAX, False), (L.MAE, A.LINEAR, False), (L.HUBER, A.LINEAR, False),
         (L.LOG_COSH, A.TANH, False), (L.POISSON, A.SOFTPLUS, False), (L.KLD, A.SOFTMAX, False),
         (L.HINGE, A.TANH, False), (L.SQUARED_HINGE, A.LINEAR, False)]


def make_targets(rng, loss, B, k, dtype):
    if loss == L.SPARSE_CCE:
        return rng.integers(0, k, (B, 1)).astype(dtype)
    if loss == L.CCE:
        return np.eye(k, dtype=dtype)[rng.integers(0, k, B)]
    if loss == L.BCE:
        return rng.random((B, k)).astype(dtype)
    if loss == L.KLD:
        return rng.dirichlet(np.ones(k), B).astype(dtype)
    if loss == L.POISSON:
        return rng.poisson(2.0, (B, k)).astype(dtype)
    if loss in (L.HINGE, L.SQUARED_HINGE):
        return rng.choice([-1.0, 1.0], (B, k)).astype(dtype)
    return rand(rng, (B, k), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss,act,fused", PAIRS)
@given(B=st.integers(1, 8), k=st.integers(2, 6), seed=st.integers(0, 2**31))
def test_losses(dtype, loss, act, fused, B, k, seed):
    rng = np.random.default_rng(seed)
    Z = rand(rng, (B, k), dtype, 2.0)
    Act = ref.act_forward(act, Z)
    Y = make_targets(rng, loss, B, k, dtype)
    delta = np.full_like(Z, np.nan)
    total = _core.loss_kernel(loss, fused, Z, Act, Y, delta)
    want_total, want_delta = ref.loss(loss, fused, Z, Act, Y)
    np.testing.assert_allclose(total, want_total, **tol(dtype))
    np.testing.assert_allclose(delta, want_delta, **tol(dtype))
    assert _core.loss_kernel(loss, fused, Z, Act, Y, None) == total


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("acc", list(_core.AccuracyKind))
@given(B=rows, k=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_metrics(dtype, acc, B, k, seed):
    rng = np.random.default_rng(seed)
    Act = rng.random((B, k)).astype(dtype)
    sparse = acc == _core.AccuracyKind.SPARSE
    if sparse:
        Y = rng.integers(0, k, (B, 1)).astype(dtype)
    else:
        Y = rng.random((B, k)).round().astype(dtype)
    got = _core.metrics_kernel(acc, not sparse, Act, Y)
    np.testing.assert_allclose(got, ref.metrics(acc, not sparse, Act, Y), rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=st.integers(0, 30), l1=st.sampled_from([0.0, 0.01, 0.5]),
       l2=st.sampled_from([0.0, 0.01, 2.0]), seed=st.integers(0, 2**31))
def test_regularize(dtype, n, l1, l2, seed):
    rng = np.random.default_rng(seed)
    W = rand(rng, n, dtype)
    W[: n // 5] = 0  # sign(0) = 0
    G0 = rand(rng, n, dtype)
    G = G0.copy()
    pen = _core.regularize_kernel(W, l1, l2, G)
    want_pen, want_g = ref.regularize(W, l1, l2)
    np.testing.assert_allclose(pen, want_pen, **tol(dtype))
    np.testing.assert_allclose(G, G0 + want_g, **tol(dtype, ELEMENTWISE))
    assert _core.regularize_kernel(W, l1, l2, None) == pen


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_mask_statistics(dtype, rate):
    state = np.zeros(4, np.uint64)
    _core.rng_seed(state, 123, 2)
    n = 200_000
    M = np.empty(n, dtype)
    _core.dropout_mask_kernel(state, rate, M)
    scale = dtype(1 / (1 - rate))
    assert set(np.unique(M)) <= {0, scale}
    kept = (M > 0).mean()
    # binomial standard deviation √(p(1−p)/n) <= 0.0012; 5σ bound
    assert abs(kept - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_allclose(M.mean(), 1.0, atol=5 * np.sqrt(rate / (1 - rate) / n))
    # same seed, same mask; inverted scaling is applied as a product
    again = np.zeros(4, np.uint64)
    _core.rng_seed(again, 123, 2)
    M2 = np.empty(n, dtype)
    _core.dropout_mask_kernel(again, rate, M2)
    np.testing.assert_array_equal(M, M2)
    Act = np.arange(n, dtype=dtype)
    np.testing.assert_array_equal(ref.dropout_apply(Act, M), Act * M)


OPTS = [
    ("sgd", O.SGD_ID, dict(learning_rate=0.1)),
    ("sgd", O.SGD_ID, dict(learning_rate=0.1, momentum=0.9)),
    ("sgd", O.SGD_ID, dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    ("rmsprop", O.RMSPROP_ID, dict(learning_rate=0.01, rho=0.9)),
    ("rmsprop", O.RMSPROP_ID, dict(learning_rate=0.01, rho=0.8, momentum=0.5)),
    ("adam", O.ADAM_ID, dict(learning_rate=0.01, beta_1=0.9, beta_2=0.999)),
    ("adamw", O.ADAMW_ID, dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, weight_decay=0.1)),
    ("adagrad", O.ADAGRAD_ID, dict(learning_rate=0.1)),
    ("nadam", O.NADAM_ID, dict(learning_rate=0.01, beta_1=0.9, beta_2=0.999)),
    ("adamax", O.ADAMAX_ID, dict(learning_rate=0.01, beta_1=0.9, beta_2=0.99)),
]


def c_params(kind_id, hp, iterations):
    from fastnn.optimizers import NADAM_ID, nadam_u_product

    u = nadam_u_product(iterations, hp["beta_1"]) if kind_id == NADAM_ID else 1.0
    names = ("nesterov", "momentum", "rho", "beta_1", "beta_2", "epsilon", "weight_decay")
    return _core.OptimizerSettings(kind=kind_id, lr=hp["learning_rate"], iterations=iterations,
                                   u_product=u, **{k: hp[k] for k in names if k in hp})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,kind_id,hp", OPTS, ids=[f"{o[0]}-{i}" for i, o in enumerate(OPTS)])
def test_optimizer_steps_match_reference(dtype, kind, kind_id, hp):
    rng = np.random.default_rng(7)
    n = 50
    P = rand(rng, n, dtype)
    S1 = np.abs(rand(rng, n, dtype)) if kind == "adagrad" else np.zeros(n, dtype)
    S2 = np.zeros(n, dtype)
    rP, rS1, rS2 = P.astype(np.float64), S1.astype(np.float64), S2.astype(np.float64)
    it = 0
    for _ in range(5):
        G = rand(rng, n, dtype)
        it = _core.optim_step_kernel(c_params(kind_id, hp, it), P, G, S1, S2)
        rP, rS1, rS2 = ref.optim_step(kind, hp, it, rP, G, rS1, rS2)
    assert it == 5
    t = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(P, rP, **t)
    np.testing.assert_allclose(S1, rS1, **t)
    np.testing.assert_allclose(S2, rS2, **t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_perceptron_epoch_matches_reference(dtype):
    rng = np.random.default_rng(3)
    X = rand(rng, (40, 3), dtype)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(dtype)
    w, b = np.zeros(3, dtype), np.zeros(1, dtype)
    mistakes = _core.perceptron_epoch(X, y, 0.5, w, b)
    rw, rb, rm = ref.perceptron_epoch(X.astype(np.float64), y, 0.5, np.zeros(3), 0.0)
    assert mistakes == rm
    np.testing.assert_allclose(w, rw, **tol(dtype))
    np.testing.assert_allclose(b[0], rb, **tol(dtype))


def test_rng_is_deterministic_and_stream_separated():
    s1, s2, s3 = (np.zeros(4, np.uint64) for _ in range(3))
    _core.rng_seed(s1, 5, 0)
    _core.rng_seed(s2, 5, 0)
    _core.rng_seed(s3, 5, 1)
    p1, p2, p3 = (_core.rng_permutation(s, 100) for s in (s1, s2, s3))
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)
    np.testing.assert_array_equal(np.sort(p1), np.arange(100))
    u = np.empty(100_000)
    _core.rng_fill(s1, u, "uniform", -1.0, 1.0)
    assert -1 <= u.min() and u.max() < 1 and abs(u.mean()) < 0.01
    _core.rng_fill(s1, u, "normal", 0.0, 2.0, True)
    assert np.abs(u).max() <= 4.0 and abs(u.std() - 2 * 0.8796) < 0.02


def test_fast_float32_math():
    """float32 sigmoid/tanh/softmax use the vectorised exp of csrc/fnn_fastmath.h.
    Measured over this grid: sigmoid 4.06 ulp, tanh 2.92 ulp (normal results;
    tanh 3.21 over every 7th float32 in [-10, 10]); the bound asserted is 5 ulp.  NaN propagates, ±inf saturate."""
    z = np.concatenate([np.linspace(-100, 100, 400_001), np.linspace(-1, 1, 400_001),
                        np.logspace(-30, 1.5, 20_000), -np.logspace(-30, 1.5, 20_000)])
    Z = z.astype(np.float32).reshape(-1, 1)
    z64 = Z[:, 0].astype(np.float64)
    for act, f in ((A.SIGMOID, lambda v: 1 / (1 + np.exp(-v))), (A.TANH, np.tanh)):
        out = np.empty_like(Z)
        _core.act_forward_kernel(act, Z, out)
        want = f(z64)
        normal = np.abs(want) >= np.finfo(np.float32).tiny
        ulps = np.abs(out[:, 0] - want) / np.spacing(np.abs(want).astype(np.float32))
        assert ulps[normal].max() <= 5, (A.NAMES[act], ulps[normal].max())
        assert np.abs(out[:, 0] - want)[~normal].max(initial=0) < 1.2e-38
    S = np.random.default_rng(0).uniform(-80, 80, (1000, 7)).astype(np.float32)
    out = np.empty_like(S)
    _core.act_forward_kernel(A.SOFTMAX, S, out)
    np.testing.assert_allclose(out, ref.act_forward(A.SOFTMAX, S.astype(np.float64)),
                               rtol=1e-5, atol=1e-30)
    special = np.array([[np.nan, np.inf, -np.inf, 0.0]], np.float32)
    out = np.empty_like(special)
    _core.act_forward_kernel(A.SIGMOID, special, out)
    np.testing.assert_array_equal(out, [[np.nan, 1, 0, 0.5]])
    _core.act_forward_kernel(A.TANH, special, out)
    np.testing.assert_array_equal(out, [[np.nan, 1, -1, 0]])


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps,
                    reason="no extended precision here for the reference")
def test_fast_float64_math():
    """float64 sigmoid/tanh are vectorised too (csrc/fnn_fastmath.h, degree-13
    polynomials).  Measured against long double over this grid: sigmoid 2.28 ulp, tanh
    2.63 ulp (normal results); the bound asserted is 4 ulp.  Subnormal results come
    by gradual underflow (error below the smallest subnormal), NaN propagates, ±inf
    saturate."""
    rng = np.random.default_rng(0)
    z = np.concatenate([np.linspace(-800, 800, 100_001), np.linspace(-1, 1, 100_001),
                        np.logspace(-300, 2.9, 10_000), -np.logspace(-300, 2.9, 10_000),
                        rng.uniform(-40, 40, 50_000)])
    zl = z.astype(np.longdouble)
    for act, f in ((A.SIGMOID, lambda v: 1 / (1 + np.exp(-v))), (A.TANH, np.tanh)):
        out = np.empty((len(z), 1))
        _core.act_forward_kernel(act, z.reshape(-1, 1), out)
        want = f(zl)
        w64 = want.astype(np.float64)
        normal = np.abs(w64) >= np.finfo(np.float64).tiny
        ulps = np.abs(out[:, 0].astype(np.longdouble) - want) / np.spacing(np.abs(w64))
        assert ulps[normal].max() <= 4, (A.NAMES[act], float(ulps[normal].max()))
        assert np.abs(out[:, 0] - w64)[~normal].max(initial=0) <= 5e-324
    special = np.array([[np.nan, np.inf, -np.inf, 0.0, -0.0]])
    out = np.empty_like(special)
    _core.act_forward_kernel(A.SIGMOID, special, out)
    np.testing.assert_array_equal(out, [[np.nan, 1, 0, 0.5, 0.5]])
    _core.act_forward_kernel(A.TANH, special, out)
    np.testing.assert_array_equal(out, [[np.nan, 1, -1, 0, -0.0]])
    assert np.signbit(out[0, 4])


@pytest.mark.parametrize("act", [A.SIGMOID, A.TANH])
def test_fast_float64_math_tails(act):
    """As for float32: every length gives, element for element, the bits of the
    same values inside a long array."""
    z = np.random.default_rng(6).uniform(-25, 25, 24)
    whole = np.empty((1, 24))
    _core.act_forward_kernel(act, z[None, :], whole)
    for n in range(1, 25):
        out = np.full((1, n), np.nan)
        _core.act_forward_kernel(act, np.ascontiguousarray(z[None, :n]), out)
        np.testing.assert_array_equal(out[0], whole[0, :n], err_msg=f"length {n}")


def test_float32_cross_entropy_from_logits_log_term():
    """The float32 binary cross-entropy from logits takes log(1 + e^{-|z|}) from the
    vectorised kernel of csrc/fnn_fastmath.h: measured 3.84 ulp at most over this grid
    (libm's log1pf(expf(.)) 1.30); the bound asserted is 5 ulp for normal results,
    and below FLT_MIN the kernel's exp flushes to 0 (absolute error < 1.2e-38).  With
    z <= 0 and y = 0 the loss of one element is exactly that term."""
    rng = np.random.default_rng(0)
    z = -np.abs(np.concatenate([np.linspace(0, 100, 4_001), np.logspace(-30, 2, 2_000),
                                rng.uniform(0, 20, 4_000)])).astype(np.float32)
    got = np.array([_core.loss_kernel(L.BCE, True, np.array([[v]], np.float32),
                                      np.zeros((1, 1), np.float32),
                                      np.zeros((1, 1), np.float32), None) for v in z])
    want = np.log1p(np.exp(z.astype(np.float64)))
    normal = want >= np.finfo(np.float32).tiny
    ulps = np.abs(got - want)[normal] / np.spacing(want[normal].astype(np.float32))
    assert ulps.max() <= 5, ulps.max()
    assert np.abs(got - want)[~normal].max(initial=0) < 1.2e-38
    # a long batch is computed in pieces of 256: row by row the same terms, so the
    # same total (summed in row order, as C does)
    Z = rng.uniform(-30, 30, (1000, 1)).astype(np.float32)
    Y = (rng.random((1000, 1)) < 0.5).astype(np.float32)
    total = _core.loss_kernel(L.BCE, True, Z, np.zeros_like(Z), Y, None)
    rows = 0.0
    for r in range(len(Z)):
        rows += _core.loss_kernel(L.BCE, True, Z[r:r + 1], np.zeros((1, 1), np.float32),
                                  Y[r:r + 1], None)
    assert total == rows


@pytest.mark.parametrize("act", [A.SIGMOID, A.TANH, A.SOFTMAX])
def test_fast_float32_math_tails(act):
    """The vector loops (4, 8 or 16 lanes by ISA) pad the last partial vector:
    every length from 1 to 3 vectors gives, element for element, the bits the
    same values give inside a long array (lanes are independent)."""
    z = np.random.default_rng(5).uniform(-12, 12, 48).astype(np.float32)
    if act == A.SOFTMAX:  # the row's sum differs by length; check exp through it
        for n in range(1, 49):
            out = np.empty((1, n), np.float32)
            _core.act_forward_kernel(act, z[None, :n], out)
            want = ref.act_forward(act, z[None, :n].astype(np.float64))
            np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-30)
        return
    whole = np.empty((1, 48), np.float32)
    _core.act_forward_kernel(act, z[None, :], whole)
    for n in range(1, 49):
        out = np.full((1, n), np.nan, np.float32)
        _core.act_forward_kernel(act, np.ascontiguousarray(z[None, :n]), out)
        np.testing.assert_array_equal(out[0], whole[0, :n], err_msg=f"length {n}")


@pytest.mark.parametrize("loss", [L.BCE, L.CCE])
def test_probability_clip_at_the_float32_bound(loss):
    """Found by hypothesis's long profile: in float32 the clip bound 1 − 1e-7 rounds
    to 1 − 2⁻²³, which a tanh output can equal exactly.  C and reference agree that
    the bound is inside (the clip passes the gradient on the closed interval), and
    below ε the gradient is 0."""
    a = np.float32(1) - np.float32(2.0 ** -23)
    assert a == np.float32(1) - np.float32(1e-7)
    Act = np.array([[a, 1e-9, 0.5]], np.float32)
    Z = np.zeros_like(Act)
    Y = np.array([[0.0, 1.0, 0.0]], np.float32)
    delta = np.full_like(Act, np.nan)
    total = _core.loss_kernel(loss, False, Z, Act, Y, delta)
    want_total, want_delta = ref.loss(loss, False, Z, Act, Y)
    np.testing.assert_allclose(total, want_total, rtol=1e-5)
    np.testing.assert_allclose(delta, want_delta, rtol=1e-5)
    assert delta[0, 1] == 0  # clipped below ε: no gradient
    if loss == L.BCE:
        np.testing.assert_allclose(delta[0, 0], 2.0 ** 23 / 3, rtol=1e-5)  # 1/(1−a)/(B·k)
