"""The normalization layers' backward passes (csrc/fnn_norm.c through fnn_net.c) vs
central finite differences in float64 and vs their NumPy twins
(fastnn/_reference_norm.py), on every instruction set of this CPU.  Tolerances:
tests/_oracles.py (T1; the twin: T4's 1e-9, as tests/test_gradients.py)."""
import numpy as np
import pytest

import fastnn
from fastnn import _reference as ref
from fastnn._epoch_results import N_SUMS
from fastnn._kernels import _core
from fastnn.layers import (Activation, AlphaDropout, BatchNormalization, Dense, Dropout,
                           GaussianDropout, GaussianNoise, LayerNormalization,
                           Normalization, UnitNormalization)

from ._oracles import FD_ATOL, FD_EPS, FD_RTOL
from .test_gradients import build


@pytest.fixture(autouse=True, params=_core.available_isas())
def isa(request):
    previous = _core.set_isa(request.param)
    yield request.param
    _core.set_isa(previous)


def cost_and_grad(model, X, Y, rng_state=None):
    net, P = model._net, model._params
    ws = np.empty(len(X) * net.ws_units, model.dtype)
    G = np.full_like(P, np.nan)  # every entry must be written (zero where untrained)
    Yc = model._targets("test", Y, len(X))
    rng = None if rng_state is None else rng_state.copy()
    cost = _core.loss_grad(net, P, G, ws, len(X), X, Yc, rng, np.zeros(N_SUMS))
    return cost, G


def trained_indices(model):
    """Indices of the flat buffer fit trains (not moving statistics, not a
    Normalization's mean and variance)."""
    keep = np.zeros(model._params.size, bool)
    for layer in model._stages:
        for (name, shape, trained), off in zip(
                layer._variables(model._dense_inputs[layer]), model._offsets_of(layer)):
            keep[off:off + int(np.prod(shape))] = trained
    return keep


def check_gradient(model, X, Y, rng_state=None):
    P = model._params
    cost, G = cost_and_grad(model, X, Y, rng_state)
    keep = trained_indices(model)
    assert np.all(G[~keep] == 0), "an untrained value got a gradient"
    fd = np.zeros_like(G)
    saved = P.copy()
    for i in np.flatnonzero(keep):
        h = FD_EPS * max(1.0, abs(saved[i]))
        P[i] = saved[i] + h
        up, _ = cost_and_grad(model, X, Y, rng_state)
        P[i] = saved[i] - h
        down, _ = cost_and_grad(model, X, Y, rng_state)
        P[i] = saved[i]
        fd[i] = (up - down) / (2 * h)
    assert np.any(fd != 0)
    np.testing.assert_allclose(G, fd, rtol=FD_RTOL, atol=FD_ATOL * max(1.0, abs(cost)))
    return cost, G


def randomize(model, rng):
    """Weights away from their initial values (gamma 1, beta 0 make special cases)."""
    model.set_weights([w + 0.3 * rng.standard_normal(w.shape) if "variance" not in name
                       else w * rng.uniform(0.5, 2.0, w.shape)
                       for w, name in zip(model.get_weights(),
                                          [v.name for v in model.weights])])


def data(rng, n, d, k=3):
    X = rng.standard_normal((n, d)) * 2 + 0.5
    return X, np.eye(k)[rng.integers(0, k, n)]


@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False),
                                          (False, False)])
def test_batch_normalization_through_the_batch_statistics(center, scale):
    rng = np.random.default_rng(1)
    model = build([Dense(5), BatchNormalization(center=center, scale=scale),
                   Activation("tanh"), Dense(3, activation="softmax")],
                  "categorical_crossentropy", 4)
    randomize(model, rng)
    X, Y = data(rng, 7, 4)
    check_gradient(model, X, Y)


def test_batch_normalization_first_and_last_before_output():
    rng = np.random.default_rng(2)
    reg = fastnn.regularizers.l2(0.05)
    model = build([BatchNormalization(gamma_regularizer=reg, beta_regularizer="l1"),
                   Dense(6, activation="relu"), BatchNormalization(momentum=0.5),
                   Dense(2)], "mse", 3)
    randomize(model, rng)
    X = rng.standard_normal((9, 3))
    check_gradient(model, X, rng.standard_normal((9, 2)))


def test_frozen_batch_normalization_uses_the_moving_statistics():
    """Keras 3: trainable=False runs the layer in inference mode, in fit too."""
    rng = np.random.default_rng(3)
    bn = BatchNormalization()
    model = build([Dense(5), bn, Dense(3, activation="softmax")],
                  "categorical_crossentropy", 4)
    randomize(model, rng)
    bn.trainable = False
    X, Y = data(rng, 6, 4)
    cost, _ = check_gradient(model, X, Y)
    # the cost is the one of the moving statistics: the twin with them fixed
    layers = twin_layers(model)
    want, _ = ref.net_loss_grad(layers, model._params, X, Y, model._loss_id)
    np.testing.assert_allclose(cost, want, rtol=1e-12)


@pytest.mark.parametrize("center,scale", [(True, True), (False, False)])
def test_layer_normalization(center, scale):
    rng = np.random.default_rng(4)
    model = build([Dense(5, activation="relu"), LayerNormalization(center=center,
                                                                   scale=scale),
                   Dense(3, activation="sigmoid")], "binary_crossentropy", 4)
    randomize(model, rng)
    X = rng.standard_normal((5, 4))
    check_gradient(model, X, rng.random((5, 3)))


def test_normalization_and_unit_normalization():
    rng = np.random.default_rng(5)
    norm = Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 1.0])
    model = build([norm, Dense(4, activation="tanh"), UnitNormalization(),
                   Dense(3, activation="softmax")], "categorical_crossentropy", 3)
    randomize(model, rng)
    X, Y = data(rng, 6, 3)
    check_gradient(model, X, Y)


def test_noise_layers_with_a_fixed_draw():
    rng = np.random.default_rng(6)
    model = build([GaussianNoise(0.3), Dense(6, activation="selu"), AlphaDropout(0.2),
                   Dense(5), LayerNormalization(), GaussianDropout(0.3), Dropout(0.2),
                   Dense(3, activation="softmax")], "categorical_crossentropy", 4)
    randomize(model, rng)
    X, Y = data(rng, 8, 4)
    state = np.zeros(4, np.uint64)
    _core.rng_seed(state, 9, 2)
    check_gradient(model, X, Y, state)
    assert cost_and_grad(model, X, Y, state)[0] != cost_and_grad(model, X, Y)[0]


def twin_layers(model):
    layers = []
    fields = ("n_in", "n_out", "act", "w_off", "b_off", "kernel_l1", "kernel_l2", "bias_l1",
              "bias_l2", "kind", "s_off", "epsilon")
    for layer, spec in zip(model._stages, model._plan_specs()):  # _core.LayerSpec, by name
        layers.append({**{k: getattr(spec, k) for k in fields}, "frozen": not layer.trainable})
    return layers


def test_compiled_gradient_equals_the_numpy_twin():
    """The C network (every normalization kind, regularized γ) equals the textbook
    chain rule of fastnn/_reference_norm.py (T4)."""
    rng = np.random.default_rng(7)
    norm = Normalization()
    norm.adapt(rng.standard_normal((50, 4)) * 3 + 1)
    model = build([norm, Dense(7, activation="tanh"),
                   BatchNormalization(gamma_regularizer=fastnn.regularizers.l2(0.01)),
                   Dense(6), LayerNormalization(), Activation("relu"), UnitNormalization(),
                   Dense(3, activation="softmax")], "categorical_crossentropy", 4)
    randomize(model, rng)
    X, Y = data(rng, 9, 4)
    cost, G = cost_and_grad(model, X, Y)
    want_cost, want_G = ref.net_loss_grad(twin_layers(model), model._params, X, Y,
                                          model._loss_id)
    np.testing.assert_allclose(cost, want_cost, rtol=1e-12)
    np.testing.assert_allclose(G, want_G, rtol=1e-9, atol=1e-12)
