"""A batch whose loss, gradient or update is not finite is never applied (csrc/fnn_net.c
fnn_net_train, fnn_optim_finite): fit stops with the state of the last applied batch,
bit for bit, without keeping any copy of the weights to go back to."""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import optimizers, threads as fthreads
from fastnn import optimizers as O
from fastnn.callbacks import TerminateOnNaN
from fastnn.layers import Dense

BATCH = 8


def poisoned(dtype, bad_batch=2, n=48, d=4):
    """Regression data whose batch `bad_batch` (no shuffling) overflows the loss."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d))
    y = x @ np.arange(1.0, d + 1)
    x[bad_batch * BATCH + 3, 1] = 1e30 if dtype == "float32" else 1e300
    return x, y


def small(dtype, optimizer="adam"):
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(8, activation="relu"), Dense(1)],
                          dtype=dtype, seed=1)
    m.compile(optimizer=optimizer, loss="mse")
    return m


def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_a_non_finite_loss_keeps_the_weights_of_the_last_applied_batch(dtype, optimizer):
    x, y = poisoned(dtype)
    m = small(dtype, optimizer)
    with pytest.raises(fastnn.NonFiniteLossError, match=r"after 16 of 48 samples"):
        m.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    ref = small(dtype, optimizer)  # the two batches before the poisoned one
    ref.fit(x[:16], y[:16], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert same(m, ref)
    assert m.optimizer.iterations == ref.optimizer.iterations == 2
    # TerminateOnNaN: the same state, no exception
    t = small(dtype, optimizer)
    t.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
          callbacks=[TerminateOnNaN()])
    assert same(t, ref) and t.stop_training


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_update_that_would_overflow_is_not_applied(dtype):
    """The gradient is finite, but w − η·g is not: before, the weights became ±inf."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4))
    y = x @ np.arange(1.0, 5.0) + 10.0
    big = 1e38 if dtype == "float32" else 1e307
    m = small(dtype, optimizers.SGD(learning_rate=big))
    before = m.get_weights()
    with pytest.raises(fastnn.NonFiniteLossError, match=r"after 0 of 32 samples"):
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    assert m.optimizer.iterations == 0
    # the model is intact: the same error again, nothing changed
    with pytest.raises(fastnn.NonFiniteLossError):
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def test_clipping_and_penalties_are_checked_after_they_apply():
    """With clipvalue the clipped gradient is finite where the raw one is not; with an L2
    penalty its gradient joins before the check."""
    x, y = poisoned("float64")
    m = fastnn.Sequential([fastnn.Input(shape=(4,)),
                           Dense(8, activation="relu", kernel_regularizer="l2"), Dense(1)],
                          dtype="float64", seed=1)
    m.compile(optimizer=optimizers.SGD(learning_rate=0.01, clipvalue=1.0), loss="mse")
    with pytest.raises(fastnn.NonFiniteLossError, match=r"after 16 of 48"):
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert all(np.isfinite(w).all() for w in m.get_weights())


@pytest.mark.skipif(fthreads._openblas_local_threads() is None,
                    reason="the OpenBLAS fastnn calls has no thread controls here: "
                           "fit keeps one fastnn thread")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_split_step_checks_its_update_in_parts(dtype):
    """A net large enough that fit splits each step over fastnn's threads: each
    weight-gradient block checks its part of the update (fnn_net_par.h)."""
    rng = np.random.default_rng(0)
    n, d, batch = 640, 96, 160
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 5, n)
    X[2 * batch + 7, 3] = 1e30 if dtype == "float32" else 1e300

    def model():
        m = fastnn.Sequential([fastnn.Input(shape=(d,)), Dense(256, activation="relu"),
                               Dense(192, activation="relu"), Dense(5, activation="softmax")],
                              dtype=dtype, seed=3)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m

    assert batch * 256 * 192 >= fthreads.SINGLE_THREAD_BELOW
    runs = []
    for threads in (1, 2):
        m = model()
        with fastnn.num_threads(threads), pytest.raises(fastnn.NonFiniteLossError,
                                                        match=r"after 320 of 640"):
            m.fit(X, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        runs.append(m)
    ref = model()
    with fastnn.num_threads(2):
        ref.fit(X[:2 * batch], y[:2 * batch], batch_size=batch, epochs=1, shuffle=False,
                verbose=0)
    assert same(runs[1], ref)
    assert all(np.isfinite(w).all() for w in runs[0].get_weights())


# ---- the overflow guard's bound (csrc/fnn_optim.h fnn_optim_bound) ------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from fastnn._kernels import _core  # noqa: E402
from fastnn.optimizers import NADAM_ID, nadam_u_product  # noqa: E402

# (kind id, hyper-parameters, which slots hold squares: never negative)
RULES = [
    (O.SGD_ID, dict(momentum=0.0), ()), (O.SGD_ID, dict(momentum=0.9), ()),
    (O.SGD_ID, dict(momentum=0.9, nesterov=True), ()),
    (O.RMSPROP_ID, dict(rho=0.9), (1,)), (O.RMSPROP_ID, dict(rho=0.8, momentum=0.5), (1,)),
    (O.ADAM_ID, dict(beta_1=0.9, beta_2=0.999), (2,)),
    (O.ADAMW_ID, dict(beta_1=0.8, beta_2=0.99, weight_decay=0.1), (2,)),
    (O.ADAGRAD_ID, dict(), (1,)), (O.NADAM_ID, dict(beta_1=0.9, beta_2=0.999), (2,)),
    (O.ADAMAX_ID, dict(beta_1=0.9, beta_2=0.99), (2,)),
]


def rule_params(kind, hp, lr, eps, iterations):
    u = nadam_u_product(iterations, hp["beta_1"]) if kind == NADAM_ID else 1.0
    return _core.OptimizerSettings(kind=kind, lr=lr, epsilon=eps, iterations=iterations,
                                   u_product=u, **hp)


@settings(max_examples=400, deadline=None)
@given(rule=st.sampled_from(RULES), is64=st.booleans(), state_exp=st.floats(-0.2, 1),
       grad_exp=st.floats(-0.2, 1), lr_exp=st.floats(-5, 3), eps_exp=st.floats(-9, 0),
       iterations=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_the_bound_holds_and_the_check_predicts_the_step(rule, is64, state_exp, grad_exp,
                                                         lr_exp, eps_exp, iterations, seed):
    """For every rule: whatever the check says is what the step does (finite or not),
    and every value the step stores is within the bound, from ordinary magnitudes to
    ones near overflow (exponents scaled to the type's range)."""
    kind, hp, squares = rule
    dtype = np.float64 if is64 else np.float32
    top = float(np.log10(float(np.finfo(dtype).max))) - 0.01  # largest usable exponent
    rng = np.random.default_rng(seed)
    n = 64
    M = 10.0 ** min(state_exp * top, top)  # from 10^(−0.2·top) to the type's largest
    g = 10.0 ** min(grad_exp * top, top)
    P = (M * rng.uniform(-1, 1, n)).astype(dtype)
    S = [(M * rng.uniform(-1, 1, n)).astype(dtype) for _ in range(2)]
    for k in squares:
        S[k - 1] = np.abs(S[k - 1])
    G = (g * rng.uniform(-1, 1, n)).astype(dtype)
    c = rule_params(kind, hp, 10.0 ** lr_exp, 10.0 ** eps_exp, iterations)
    state = float(max(np.abs(P).max(), np.abs(S[0]).max(), np.abs(S[1]).max()))
    bound = _core.optim_bound(c, state, float(np.abs(G).max()))
    finite = _core.optim_finite_kernel(c, P, G, S[0], S[1])
    P2, S1, S2 = P.copy(), S[0].copy(), S[1].copy()
    with np.errstate(all="ignore"):
        _core.optim_step_kernel(c, P2, G, S1, S2)
    stored = np.concatenate([P2, S1, S2]).astype(np.float64)
    assert finite == bool(np.isfinite(stored).all())
    if np.isfinite(stored).all():
        assert np.abs(stored).max() <= bound * (1 + 1e-6)
    if bound <= float(np.finfo(dtype).max) / 16:
        assert finite


# ---- frozen layers are never updated (no copy of the weights to put back) -----------

@pytest.mark.parametrize("threads", [1, 2])
def test_frozen_layers_are_not_updated_and_the_others_train(threads):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((640, 96))
    y = rng.integers(0, 5, 640)

    def model(freeze):
        m = fastnn.Sequential([fastnn.Input(shape=(96,)), Dense(256, activation="relu"),
                               Dense(192, activation="relu"), Dense(5, activation="softmax")],
                              seed=3)
        m.layers[1].trainable = not freeze
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m

    m = model(True)
    before = m.get_weights()
    with fastnn.num_threads(threads):
        m.fit(X, y, batch_size=160, epochs=2, verbose=0)
    after = m.get_weights()
    assert np.array_equal(before[2], after[2]) and np.array_equal(before[3], after[3])
    assert not np.array_equal(before[0], after[0]) and not np.array_equal(before[4], after[4])
    # Adam's slots of the frozen layer stay zero
    s1, s2 = m._slots
    lo = before[0].size + before[1].size
    hi = lo + before[2].size + before[3].size
    assert not s1[lo:hi].any() and not s2[lo:hi].any() and s1[:lo].any()
    if threads == 2:  # the split step: the same bits on any count of 2 or more
        three = model(True)
        with fastnn.num_threads(3):
            three.fit(X, y, batch_size=160, epochs=2, verbose=0)
        assert same(three, m)
