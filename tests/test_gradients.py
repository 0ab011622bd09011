"""Backpropagation vs central finite differences, float64, through the real
compiled kernels (forward, loss, fused output delta, backprop, regularizers,
dropout with a fixed mask).  Tolerances: tests/_oracles.py (T1)."""
import warnings

import numpy as np
import pytest

from fastnn._epoch_results import N_SUMS
import fastnn
from fastnn import _reference as ref
from fastnn._kernels import _core
from fastnn.layers import Dense, Dropout

from ._oracles import FD_ATOL, FD_EPS, FD_RTOL


@pytest.fixture(autouse=True, params=_core.available_isas())
def isa(request):
    """Every check runs on each instruction set this CPU has (baseline, avx2, avx512)."""
    previous = _core.set_isa(request.param)
    yield request.param
    _core.set_isa(previous)


def targets(loss, n, k, rng):
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, k, n)
    if loss == "categorical_crossentropy":
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "binary_crossentropy":
        return rng.random((n, k))
    if loss == "kl_divergence":
        return rng.dirichlet(np.ones(k), n)
    if loss == "poisson":
        return rng.poisson(2.0, (n, k)).astype(float)
    if loss in ("hinge", "squared_hinge"):
        return rng.choice([-1.0, 1.0], (n, k))
    return rng.standard_normal((n, k))


def build(layers, loss, n_in, seed=0):
    model = fastnn.Sequential([fastnn.Input(shape=(n_in,)), *layers], dtype="float64", seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnn.MismatchedLossWarning)  # mismatched pairs on purpose
        model.compile(optimizer="sgd", loss=loss)
    model.build()
    return model


def cost_and_grad(model, X, Y, rng_state=None):
    net, P = model._net, model._params
    ws = np.empty(len(X) * net.ws_units, model.dtype)
    G = np.empty_like(P)
    Yc = model._targets("test", Y, len(X))
    rng = None if rng_state is None else rng_state.copy()  # same mask every call
    cost = _core.loss_grad(net, P, G, ws, len(X), X, Yc, rng, np.zeros(N_SUMS))
    return cost, G


def check_gradient(model, X, Y, rng_state=None):
    P = model._params
    cost, G = cost_and_grad(model, X, Y, rng_state)
    fd = np.empty_like(G)
    saved = P.copy()
    for i in range(P.size):
        h = FD_EPS * max(1.0, abs(saved[i]))
        P[i] = saved[i] + h
        up, _ = cost_and_grad(model, X, Y, rng_state)
        P[i] = saved[i] - h
        down, _ = cost_and_grad(model, X, Y, rng_state)
        P[i] = saved[i]
        fd[i] = (up - down) / (2 * h)
    assert np.any(fd != 0), "degenerate check: the cost does not depend on the weights"
    np.testing.assert_allclose(G, fd, rtol=FD_RTOL, atol=FD_ATOL * max(1.0, abs(cost)))
    return cost, G


OUTPUT_PAIRS = [  # (last activation, loss) — standard and mismatched pairs
    ("sigmoid", "binary_crossentropy"),            # fused
    ("softmax", "categorical_crossentropy"),       # fused
    ("softmax", "sparse_categorical_crossentropy"),  # fused
    ("linear", "mse"), ("sigmoid", "mse"), ("tanh", "mse"), ("relu", "mse"), ("softmax", "mse"),
    ("softmax", "binary_crossentropy"),            # unfused BCE through the softmax Jacobian
    ("sigmoid", "categorical_crossentropy"),       # unfused CCE through sigmoid'
    ("sigmoid", "sparse_categorical_crossentropy"),
    ("linear", "mae"), ("linear", "huber"), ("tanh", "log_cosh"), ("softplus", "poisson"),
    ("softmax", "kl_divergence"), ("tanh", "hinge"), ("linear", "squared_hinge"),
]


@pytest.mark.parametrize("act,loss", OUTPUT_PAIRS)
@pytest.mark.parametrize("batch", [1, 5])
def test_output_activation_loss_pairs(act, loss, batch):
    rng = np.random.default_rng(1)
    model = build([Dense(4, activation="tanh"), Dense(3, activation=act)], loss, 3)
    X = rng.standard_normal((batch, 3))
    check_gradient(model, X, targets(loss, batch, 3, rng))


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "linear", "softmax", "leaky_relu",
                                    "elu", "selu", "gelu", "softplus", "swish", "relu_keras"])
@pytest.mark.parametrize("loss", ["mse", "binary_crossentropy", "categorical_crossentropy"])
def test_hidden_activations(hidden, loss):
    rng = np.random.default_rng(2)
    out = {"mse": "linear", "binary_crossentropy": "sigmoid",
           "categorical_crossentropy": "softmax"}[loss]
    model = build([Dense(5, activation=hidden, bias_initializer="random_normal"),
                   Dense(3, activation=out)], loss, 4)
    X = rng.standard_normal((6, 4))
    check_gradient(model, X, targets(loss, 6, 3, rng))


def test_three_layer_network_without_bias_and_with_bias():
    rng = np.random.default_rng(3)
    model = build([Dense(6, activation="relu", use_bias=False),
                   Dense(5, activation="sigmoid", bias_initializer="random_normal"),
                   Dense(4, activation="softmax", use_bias=False)],
                  "categorical_crossentropy", 4)
    X = rng.standard_normal((7, 4))
    check_gradient(model, X, targets("categorical_crossentropy", 7, 4, rng))


@pytest.mark.parametrize("reg", [fastnn.regularizers.l1(0.05), fastnn.regularizers.l2(0.05),
                                 fastnn.regularizers.l1_l2(0.02, 0.03)],
                         ids=["l1", "l2", "l1_l2"])
def test_regularizers(reg):
    rng = np.random.default_rng(4)
    model = build([Dense(5, activation="tanh", kernel_regularizer=reg, bias_regularizer=reg,
                         bias_initializer="random_normal"),
                   Dense(2, activation="sigmoid", kernel_regularizer=reg)],
                  "binary_crossentropy", 3)
    X = rng.standard_normal((4, 3))
    Y = targets("binary_crossentropy", 4, 2, rng)
    cost, G = check_gradient(model, X, Y)
    # the penalty is in the cost and visibly in the gradient (λ >= 1e-2)
    plain = build([Dense(5, activation="tanh", bias_initializer="random_normal"),
                   Dense(2, activation="sigmoid")], "binary_crossentropy", 3)
    cost0, G0 = cost_and_grad(plain, X, Y)
    penalty = sum(reg(w) for w in model.get_weights()[:3])
    np.testing.assert_allclose(cost, cost0 + penalty, rtol=1e-12)
    assert np.abs(G - G0).max() > 1e-3


def test_dropout_with_fixed_mask():
    rng = np.random.default_rng(5)
    model = build([Dropout(0.2), Dense(6, activation="relu"), Dropout(0.3), Dropout(0.1),
                   Dense(3, activation="softmax")], "sparse_categorical_crossentropy", 4)
    X = rng.standard_normal((8, 4))
    state = np.zeros(4, np.uint64)
    _core.rng_seed(state, 9, 2)
    check_gradient(model, X, targets("sparse_categorical_crossentropy", 8, 3, rng), state)
    # dropout is really on: the cost differs from the no-dropout cost
    Y = rng.integers(0, 3, 8)
    assert cost_and_grad(model, X, Y, state)[0] != cost_and_grad(model, X, Y, None)[0]


def test_compiled_gradient_equals_reference_backprop():
    """The C network gradient equals the NumPy reference (T4), including L2."""
    rng = np.random.default_rng(6)
    reg = fastnn.regularizers.l2(0.01)
    model = build([Dense(7, activation="tanh", kernel_regularizer=reg),
                   Dense(5, activation="relu", bias_initializer="random_normal"),
                   Dense(3, activation="softmax")], "categorical_crossentropy", 4)
    X = rng.standard_normal((9, 4))
    Y = targets("categorical_crossentropy", 9, 3, rng)
    cost, G = cost_and_grad(model, X, Y)
    layers = []
    n_in = 4
    for layer in model._dense:
        kr = layer.kernel_regularizer
        layers.append(dict(n_in=n_in, n_out=layer.units, act=layer.activation,
                           w_off=layer._w_off, b_off=layer._b_off,
                           kernel_l1=kr.l1 if kr else 0.0, kernel_l2=kr.l2 if kr else 0.0,
                           bias_l1=0.0, bias_l2=0.0))
        n_in = layer.units
    want_cost, want_G = ref.net_loss_grad(layers, model._params, X, Y, model._loss_id)
    np.testing.assert_allclose(cost, want_cost, rtol=1e-12)
    np.testing.assert_allclose(G, want_G, rtol=1e-9, atol=1e-12)


def test_float32_gradient_close_to_float64():
    """T2: the float32 gradient equals the float64 one within 1e-5·max|g64|."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((16, 5))
    Y = rng.integers(0, 4, 16)
    # build the float64 model from the float32 weights so both see the same θ
    m64 = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(8, activation="tanh"),
                             Dense(4, activation="softmax")], dtype="float64", seed=11)
    m64.compile(loss="sparse_categorical_crossentropy")
    m32 = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(8, activation="tanh"),
                             Dense(4, activation="softmax")], dtype="float32", seed=11)
    m32.compile(loss="sparse_categorical_crossentropy")
    m64.build()
    m32.build()
    m64.set_weights(m32.get_weights())
    g32 = cost_and_grad(m32, X.astype(np.float32), Y)[1]
    g64 = cost_and_grad(m64, X, Y)[1]
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5 * np.abs(g64).max())


@pytest.mark.parametrize("act,loss", [("sigmoid", "binary_crossentropy"),
                                      ("softmax", "sparse_categorical_crossentropy"),
                                      ("softmax", "categorical_crossentropy"),
                                      ("linear", "mse"), ("linear", "huber")])
def test_sample_weighted_gradients(act, loss):
    """C = (1/B) Σ_r w_r ℓ_r (Keras): the analytic gradient of the weighted plan matches
    central differences of the weighted cost, and the cost is the weighted sum."""
    rng = np.random.default_rng(5)
    model = build([Dense(5, activation="tanh", bias_initializer="random_normal"),
                   Dense(3, activation=act)], loss, 4)
    X = rng.standard_normal((7, 4))
    Y = model._targets("test", targets(loss, 7, 3, rng), 7)
    w = rng.uniform(0, 3, 7)
    Yw = np.ascontiguousarray(np.hstack([Y, w[:, None]]))
    net, P = model._plan(weighted=True), model._params

    def cost_grad():
        ws = np.empty(len(X) * net.ws_units)
        G = np.empty_like(P)
        return _core.loss_grad(net, P, G, ws, len(X), X, Yw, None, np.zeros(N_SUMS)), G

    cost, G = cost_grad()
    rows = []
    for r in range(7):  # the weighted sum, row by row through the unweighted plan
        c1, _ = cost_and_grad(model, X[r:r + 1], Y[r:r + 1] if loss != "sparse_categorical_crossentropy"
                              else Y[r:r + 1, 0])
        rows.append(w[r] * c1)
    np.testing.assert_allclose(cost, sum(rows) / 7, rtol=1e-12)
    fd = np.empty_like(G)
    saved = P.copy()
    for i in range(P.size):
        h = FD_EPS * max(1.0, abs(saved[i]))
        P[i] = saved[i] + h
        up, _ = cost_grad()
        P[i] = saved[i] - h
        down, _ = cost_grad()
        P[i] = saved[i]
        fd[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(G, fd, rtol=1e-5, atol=1e-8 * max(1.0, abs(cost)))
