"""BatchNormalization, LayerNormalization, Normalization, UnitNormalization and the
noise layers as Keras 3 defines them: training and inference statistics, moving
averages, frozen layers, threads, seeds, the weights API, summary, save/load and
clone, argument checks.  (Gradients: tests/test_normalization_gradients.py.)"""
import math

import numpy as np
import pytest

import fastnn
from fastnn import threads as fthreads
from fastnn._kernels import _core
from fastnn import _reference_norm as RN
from fastnn.layers import (Activation, AlphaDropout, BatchNormalization, Dense, Dropout,
                           GaussianDropout, GaussianNoise, LayerNormalization,
                           Normalization, UnitNormalization)

from .test_saving import members


def regression(n=40, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * [1.0, 3.0, 0.5, 2.0][:d] + [0.5, -1.0, 2.0, 0.0][:d]
    return X, X @ rng.standard_normal((d, 1))


# ------------------------------------------------------------------ batch norm
def test_moving_statistics_follow_keras_update_and_inference_uses_them():
    X, y = regression()
    bn = BatchNormalization(momentum=0.9)
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), bn, Dense(1)], dtype="float64", seed=0)
    m.compile(fastnn.optimizers.SGD(0.01), "mse")
    m.fit(X, y, epochs=1, batch_size=20, shuffle=False, verbose=0)
    # two steps: moving := 0.9·moving + 0.1·batch (biased variance), from 0 and 1
    mm, mv = np.zeros(4), np.ones(4)
    for rows in (X[:20], X[20:]):
        mm = 0.9 * mm + 0.1 * rows.mean(axis=0)
        mv = 0.9 * mv + 0.1 * rows.var(axis=0)
    gamma, beta, got_mm, got_mv = bn.get_weights()
    np.testing.assert_allclose(got_mm, mm, rtol=1e-12)
    np.testing.assert_allclose(got_mv, mv, rtol=1e-12)
    # predict and evaluate: the moving statistics, not the batch's
    W, b = m.layers[1].get_weights()
    want = ((X - mm) / np.sqrt(mv + 1e-3) * gamma + beta) @ W + b
    np.testing.assert_allclose(m.predict(X), want, rtol=1e-12)
    np.testing.assert_allclose(m.predict(X[:3]), want[:3], rtol=1e-12)  # the row count
    np.testing.assert_allclose(m.evaluate(X, y, verbose=0), np.mean((want - y) ** 2),
                               rtol=1e-12)


def test_frozen_batch_normalization_keeps_its_variables():
    X, y = regression()
    bn = BatchNormalization(trainable=False)
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(6), bn, Dense(1)], seed=1)
    m.compile("adam", "mse")
    m.build()
    before = bn.get_weights()
    m.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [w.name for w in bn.non_trainable_weights] == ["gamma", "beta", "moving_mean",
                                                          "moving_variance"]
    assert bn.trainable_weights == []


def test_weights_api_order_and_summary_counts_as_keras():
    norm = Normalization()
    norm.adapt(regression(d=3)[0][:, :3])
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), norm, Dense(4), BatchNormalization(),
                           Dense(1)])
    assert [w.shape for w in m.get_weights()] == [(3,), (3,), (), (3, 4), (4,), (4,), (4,),
                                                  (4,), (4,), (4, 1), (1,)]
    bn = m.layers[2]
    assert [(w.path, w.trainable) for w in bn.weights] == [
        ("sequential/batch_normalization/gamma", True),
        ("sequential/batch_normalization/beta", True),
        ("sequential/batch_normalization/moving_mean", False),
        ("sequential/batch_normalization/moving_variance", False)]
    assert len(m.weights) == 11 and len(m.trainable_weights) == 6
    assert len(m.non_trainable_weights) == 5
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Keras 3.15 prints these counts for the same model (7 = mean, variance, count)
    assert "Total params: 44" in text and "Trainable params: 29" in text
    assert "Non-trainable params: 15" in text
    # set_weights round trip; a negative variance is refused
    weights = m.get_weights()
    m.set_weights(weights)
    bad = [w.copy() for w in weights]
    bad[8] = -np.ones(4, np.float32)
    with pytest.raises(ValueError, match="negative variance"):
        m.set_weights(bad)
    with pytest.raises(ValueError, match="cannot be negative"):
        bn.weights[3].assign(-np.ones(4))
    bn.weights[0].assign(np.full(4, 2.0))
    np.testing.assert_array_equal(bn.get_weights()[0], 2.0)
    given = fastnn.Sequential([fastnn.Input(shape=(2,)),
                               Normalization(mean=[1, 2], variance=[4, 9]), Dense(1)])
    assert [w.shape for w in given.get_weights()] == [(2, 1), (1,)]  # Keras: constants


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt", sorted(fastnn.optimizers.ALL_OBJECTS_DICT))
def test_every_optimizer_trains_beside_dropout_and_a_frozen_layer(opt, dtype):
    X, y = regression(64)
    frozen = Dense(8, activation="relu", trainable=False)
    bn = BatchNormalization()
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), frozen, bn, Dropout(0.2),
                           Dense(8), LayerNormalization(), Activation("tanh"), Dense(1)],
                          dtype=dtype, seed=2)
    m.compile(opt, "mse")
    m.build()
    w0, g0 = frozen.get_weights(), bn.get_weights()
    h = m.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert np.all(np.isfinite(h.history["loss"]))
    for a, b in zip(w0, frozen.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(g0[2], bn.get_weights()[2])  # moving mean moved
    assert not np.array_equal(g0[0], bn.get_weights()[0])  # gamma trained
    assert np.all(np.isfinite(m.predict(X)))


# ------------------------------------------------------------------ threads
needs_threads = pytest.mark.skipif(  # as tests/test_fit_threads.py
    fthreads._openblas_local_threads() is None,
    reason="the BLAS has no per-thread setting here: fit keeps one fastnn thread")


def fit_threads(threads, norm, dtype="float64"):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((600, 96)), rng.integers(0, 5, 600)
    m = fastnn.Sequential([fastnn.Input(shape=(96,)), Dense(256, activation="tanh"), norm(),
                           GaussianNoise(0.1), Dense(192, activation="relu"),
                           Dense(5, activation="softmax")], dtype=dtype, seed=3)
    m.compile("adam", "sparse_categorical_crossentropy")
    with fastnn.num_threads(threads):
        m.fit(X, y, batch_size=160, epochs=2, verbose=0)
    return m.get_weights()


@needs_threads
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm", [BatchNormalization, LayerNormalization])
def test_thread_counts_give_the_same_model(dtype, norm):
    """The split step (csrc/fnn_net_par.h) reduces a batch norm's statistics and sums
    by fixed chunks in a fixed order: 2 and 3 threads give the same bits, and the
    serial step the same model to rounding (T4's float64 tolerance, 1e-9 relative)."""
    two = fit_threads(2, norm, dtype)
    for a, b in zip(two, fit_threads(3, norm, dtype)):
        np.testing.assert_array_equal(a, b)
    if dtype == "float64":
        for a, b in zip(two, fit_threads(1, norm, dtype)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@needs_threads
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_statistics_are_those_of_one_thread(dtype):
    """One step on one batch: the moving statistics (momentum 0: the batch's own
    statistics) are the same bits on 1 and 2 threads — reduced, not per thread."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((600, 300)), rng.integers(0, 3, 600)
    got = []
    for threads in (1, 2):
        bn = BatchNormalization(momentum=0.0)
        m = fastnn.Sequential([fastnn.Input(shape=(300,)), bn, Dense(300, activation="relu"),
                               Dense(3, activation="softmax")], dtype=dtype, seed=0)
        m.compile("sgd", "sparse_categorical_crossentropy")
        with fastnn.num_threads(threads):
            m.fit(X, y, batch_size=600, epochs=1, verbose=0, shuffle=False)
        got.append(bn.get_weights()[2:])
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(got[0][0], X.mean(axis=0), rtol=1e-5 if dtype == "float32"
                               else 1e-12, atol=1e-6)


# ------------------------------------------------------------------ noise
def noise_model(seed, noise=True):
    layers = [fastnn.Input(shape=(4,)), GaussianNoise(0.5) if noise else Dropout(0.0),
              Dense(8, activation="selu"), AlphaDropout(0.3) if noise else Dropout(0.0),
              Dense(8), GaussianDropout(0.4) if noise else Dropout(0.0), Dense(1)]
    m = fastnn.Sequential(layers, seed=seed)
    m.compile("adam", "mse")
    return m


def test_noise_is_identity_in_predict_and_evaluate_and_reproducible():
    X, y = regression(64)
    a, b = noise_model(7), noise_model(7, noise=False)
    a.build()
    b.build()
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.evaluate(X, y, verbose=0) == b.evaluate(X, y, verbose=0)
    ha = a.fit(X, y, epochs=2, batch_size=16, verbose=0).history["loss"]
    hb = b.fit(X, y, epochs=2, batch_size=16, verbose=0).history["loss"]
    assert ha != hb  # the noise is really on in fit
    again = noise_model(7)
    assert again.fit(X, y, epochs=2, batch_size=16, verbose=0).history["loss"] == ha
    other = noise_model(8)
    assert other.fit(X, y, epochs=2, batch_size=16, verbose=0).history["loss"] != ha


NK = _core.NoiseKind


def draw(spec, n=200_000, seed=1):
    state = np.zeros(4, np.uint64)
    _core.rng_seed(state, seed, 2)
    M, N = np.empty(n), np.empty(n)
    _core.noise_draw_kernel(state, spec, M, N)
    return M, N


def test_noise_distributions():
    """Moments within 6 standard errors (n = 200 000 draws: a false alarm has
    probability ~1e-9)."""
    n = 200_000
    M, N = draw([(NK.GAUSSIAN, 0.3)])  # GaussianNoise(0.3): x + N(0, 0.09)
    assert np.all(M == 1) and abs(N.mean()) < 6 * 0.3 / math.sqrt(n)
    assert abs(N.std() - 0.3) < 6 * 0.3 / math.sqrt(2 * n)
    M, N = draw([(NK.GAUSSIAN_DROPOUT, 0.2)])  # GaussianDropout(0.2): x · N(1, 0.25)
    assert np.all(N == 0) and abs(M.mean() - 1) < 6 * 0.5 / math.sqrt(n)
    assert abs(M.std() - 0.5) < 6 * 0.5 / math.sqrt(2 * n)
    rate = 0.3
    M, N = draw([(NK.ALPHA_DROPOUT, rate)])  # AlphaDropout: Keras 3's affine map of the kept mask
    keep = (M != 0).astype(float)
    assert abs(keep.mean() - (1 - rate)) < 6 * math.sqrt(rate * (1 - rate) / n)
    x = np.random.default_rng(2).standard_normal(n)
    np.testing.assert_allclose(x * M + N, RN.alpha_dropout_apply(x, keep, rate), rtol=1e-12,
                               atol=1e-12)
    # with SELU-normalized inputs (mean 0, variance 1) the output keeps them
    out = x * M + N
    assert abs(out.mean()) < 0.02 and abs(out.var() - 1) < 0.03
    # a chain composes: dropout then gaussian noise = (x·m1)·1 + c2
    M, N = draw([(NK.DROPOUT, 0.5), (NK.GAUSSIAN, 0.1)])
    assert set(np.unique(M)) == {0.0, 2.0} and abs(N.std() - 0.1) < 0.01


# ------------------------------------------------------------------ Normalization
def test_normalization_adapt_and_given_values_as_keras():
    X, y = regression(50)
    norm = Normalization()
    norm.adapt(X)
    m = fastnn.Sequential([norm, Dense(1)], dtype="float64", seed=0)
    m.build((None, 4))
    mean, var, count = norm.get_weights()
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(var, X.var(axis=0), rtol=1e-12)
    assert count.shape == ()
    W, b = m.layers[1].get_weights()
    np.testing.assert_allclose(m.predict(X), (X - mean) / np.sqrt(var) @ W + b, rtol=1e-10)
    # adapt on the model's layer changes what it predicts
    norm.adapt(X * 2)
    np.testing.assert_allclose(norm.get_weights()[0], 2 * X.mean(axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="has 3 features; the layer receives 4"):
        norm.adapt(X[:, :3])
    one = Normalization(axis=None)
    one.adapt(X[:, 0])
    m1 = fastnn.Sequential([fastnn.Input(shape=(1,)), one, Dense(1)], dtype="float64")
    np.testing.assert_allclose(one.get_weights()[0], [X[:, 0].mean()], rtol=1e-12)
    given = Normalization(mean=3.0, variance=2.0)
    m2 = fastnn.Sequential([fastnn.Input(shape=(1,)), given, Dense(1, use_bias=False,
                            kernel_initializer="ones")], dtype="float64")
    np.testing.assert_allclose(m2.predict(np.array([[1.0], [3.0]])),
                               [[-2 / math.sqrt(2)], [0.0]], rtol=1e-12)
    assert m1.predict(X[:, :1]).shape == (50, 1)


@pytest.mark.parametrize("call,pattern", [
    (lambda: BatchNormalization(momentum=1.5), r"momentum=1.5"),
    (lambda: BatchNormalization(epsilon=0), r"epsilon=0"),
    (lambda: BatchNormalization(axis=0), r"axis=0"),
    (lambda: BatchNormalization(center="yes"), r"center='yes'"),
    (lambda: BatchNormalization(gamma_constraint="non_neg"), r"no weight constraints"),
    (lambda: BatchNormalization(renorm=True), r"no batch renormalization"),
    (lambda: BatchNormalization(synchronized=True), r"nothing to synchronize"),
    (lambda: BatchNormalization(gamma_initializer="nope"), r"nope"),
    (lambda: LayerNormalization(rms_scaling=True), r"rms_scaling=False"),
    (lambda: LayerNormalization(epsilon=-1.0), r"epsilon=-1.0"),
    (lambda: UnitNormalization(axis=2), r"axis=2"),
    (lambda: Normalization(mean=1.0), r"both `mean` and `variance`"),
    (lambda: Normalization(mean=[1, 2], variance=[1, -1]), r"values >= 0"),
    (lambda: Normalization(mean=[1, np.nan], variance=[1, 1]), r"finite"),
    (lambda: Normalization(invert=True), r"does not de-normalize"),
    (lambda: Normalization().adapt([[1.0, np.inf]]), r"NaN or infinite"),
    (lambda: Normalization().adapt(np.zeros((0, 3))), r"n_samples >= 1"),
    (lambda: Normalization().adapt("abc"), r"an array of numbers"),
    (lambda: GaussianNoise(1.5), r"stddev=1.5"),
    (lambda: GaussianNoise(0.1, seed=3), r"seed=None"),
    (lambda: GaussianDropout(1.0), r"rate=1.0"),
    (lambda: AlphaDropout(-0.1), r"rate=-0.1"),
    (lambda: AlphaDropout(0.1, noise_shape=(1, 4)), r"noise_shape=None"),
])
def test_arguments_are_checked(call, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        call()


def test_chains_fastnn_cannot_run_are_refused():
    with pytest.raises(ValueError, match="BatchNormalization cannot be the last layer"):
        fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2), BatchNormalization()]).build()
    with pytest.raises(ValueError, match="GaussianNoise cannot be the last layer"):
        fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2), GaussianNoise(0.1)]).build()
    with pytest.raises(ValueError, match="not exact across GaussianNoise"):
        fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2), GaussianNoise(0.1),
                           Activation("tanh"), Dense(1)])
    with pytest.raises(ValueError, match="at most 4 noise layers"):
        fastnn.Sequential([fastnn.Input(shape=(3,)), *[GaussianNoise(0.1) for _ in range(5)],
                           Dense(1)]).build()
    with pytest.raises(ValueError, match="Put Flatten"):
        fastnn.Sequential([fastnn.Input(shape=(2, 3)), BatchNormalization(), Dense(1)])
    with pytest.raises(ValueError, match="receives 2 features"):
        fastnn.Sequential([fastnn.Input(shape=(2,)), Normalization(mean=[1, 2, 3],
                                                                   variance=[1, 1, 1]),
                           Dense(1)]).build()


def test_a_model_stacked_with_add_builds_as_it_grows():
    m = fastnn.Sequential([fastnn.Input(shape=(3,))])
    m.add(Dense(4))
    assert m.layers[0].kernel is not None  # the model is built now
    m.add(BatchNormalization())
    m.add(Activation("relu"))
    m.add(Dense(1))
    assert [w.shape for w in m.get_weights()][2:6] == [(4,)] * 4
    m.compile("adam", "mse")
    m.fit(*regression(20, 3), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="pop it as well"):
        m.pop()  # Dense(1): a BatchNormalization would then end the model
    assert len(m.layers) == 4


# ------------------------------------------------------------------ files and copies
def full_model(seed=4):
    X, y = regression(64)
    norm = Normalization()
    norm.adapt(X)
    m = fastnn.Sequential([norm, Dense(8, activation="relu"), BatchNormalization(),
                           GaussianNoise(0.1), Dense(8), LayerNormalization(scale=False),
                           Activation("tanh"), AlphaDropout(0.1), UnitNormalization(),
                           Dense(1)], seed=seed)
    m.compile("adam", "mse")
    m.fit(X, y, epochs=2, batch_size=16, verbose=0)
    return m, X, y


def test_save_load_resume_and_clone(tmp_path):
    m, X, y = full_model()
    m.save(tmp_path / "m.fastnn")
    back = fastnn.load_model(tmp_path / "m.fastnn")
    np.testing.assert_array_equal(back.predict(X), m.predict(X))
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    # everything to resume is in the file: the same next epoch, bit for bit
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    back.fit(X, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    m.save_weights(tmp_path / "w.weights.fastnn")
    other = fastnn.models.clone_model(m)
    assert other.get_config() == m.get_config()
    other.build((None, 4))
    assert not np.array_equal(other.get_weights()[4], m.get_weights()[4])  # fresh
    other.load_weights(tmp_path / "w.weights.fastnn")
    np.testing.assert_array_equal(other.predict(X), m.predict(X))
    names = set(members(tmp_path / "m.fastnn"))
    assert {"weights/2/moving_variance.npy", "weights/0/count.npy",
            "weights/4/beta.npy"} <= names and "weights/4/gamma.npy" not in names
