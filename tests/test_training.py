"""Training behaviour: optimizers (closed form and golden values), dropout,
validation, the callback hooks, loss/activation pairing, k-fold cross-validation
and the overfitting remedies (EarlyStopping itself: test_callbacks.py)."""
import sys
from pathlib import Path

import numpy as np
import pytest

from fastnn._epoch_results import N_SUMS
import fastnn
from fastnn import optimizers as O
from fastnn._kernels import _core
from fastnn.callbacks import Callback
from fastnn.layers import Dense, Dropout

from .test_kernels import c_params


def small_model(*extra, dtype="float32", seed=0, loss="binary_crossentropy", out="sigmoid",
                metrics=("accuracy",), optimizer="adam"):
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(8, activation="tanh"), *extra,
                           Dense(1, activation=out)], dtype=dtype, seed=seed)
    m.compile(optimizer, loss, list(metrics))
    return m


def blob_data(n=200, seed=0):
    X, y = fastnn.datasets.make_gaussian(n, noise=0.2, seed=seed)
    return X / 5, y


# ---- optimizers: first steps on C(w) = w², g = 2w, from w = 1 (float64) -------------------
GOLDEN = [  # (optimizer, c-params kind id, hyper-parameters, w after step 1, after step 2)
    ("sgd", O.SGD_ID, dict(learning_rate=0.1), 0.8, 0.64),                         # w −= η·2w
    ("sgd", O.SGD_ID, dict(learning_rate=0.1, momentum=0.9), 0.8, 0.46),           # v = −0.2, −0.34
    ("sgd", O.SGD_ID, dict(learning_rate=0.1, momentum=0.9, nesterov=True), 0.62, None),  # 1 − 0.18 − 0.2
    ("rmsprop", O.RMSPROP_ID, dict(learning_rate=0.01, rho=0.9), 1 - 0.02 / np.sqrt(0.4 + 1e-7), None),
    ("adam", O.ADAM_ID, dict(learning_rate=0.01, beta_1=0.9, beta_2=0.999),          # ≈ w − η·sign(g)
     1 - 0.01 * np.sqrt(0.001) / 0.1 * 0.2 / (np.sqrt(0.004) + 1e-7), None),
    ("adamw", O.ADAMW_ID, dict(learning_rate=0.01, beta_1=0.9, beta_2=0.999, weight_decay=0.5),
     (1 - 0.005) - 0.01 * np.sqrt(0.001) / 0.1 * 0.2 / (np.sqrt(0.004) + 1e-7), None),
    ("adagrad", O.ADAGRAD_ID, dict(learning_rate=0.1), 1 - 0.2 / np.sqrt(4.1 + 1e-7), None),  # s0 = 0.1
]


@pytest.mark.parametrize("name,kind,hp,w1,w2", GOLDEN, ids=[g[0] + str(i) for i, g in enumerate(GOLDEN)])
def test_optimizer_first_steps_closed_form(name, kind, hp, w1, w2):
    P = np.array([1.0])
    S1 = np.array([0.1 if name == "adagrad" else 0.0])
    S2 = np.zeros(1)
    it = _core.optim_step_kernel(c_params(kind, hp, 0), P, 2 * P.copy(), S1, S2)
    np.testing.assert_allclose(P[0], w1, rtol=1e-14)
    if w2 is not None:
        _core.optim_step_kernel(c_params(kind, hp, it), P, 2 * P.copy(), S1, S2)
        np.testing.assert_allclose(P[0], w2, rtol=1e-14)


@pytest.mark.parametrize("opt", ["sgd", "rmsprop", "adam", "adamw", "adagrad"])
def test_optimizer_trajectory_on_quadratic_decreases(opt):
    """A short trajectory on C(w) = w² with a scalar implementation written here."""
    cls = fastnn.optimizers.get(opt)
    hp = cls.get_config()
    P, S1, S2 = np.array([1.0]), cls._init_slots(1, np.float64)[0], np.zeros(1)
    it, w = 0, 1.0
    s1, s2 = float(S1[0]), 0.0
    for t in range(1, 11):
        g = 2 * w
        it = _core.optim_step_kernel(cls._c_params()._replace(iterations=it), P,
                                     2 * P.copy(), S1, S2)
        lr, eps = hp["learning_rate"], hp.get("epsilon", 1e-7)
        if opt == "sgd":
            w -= lr * g
        elif opt == "rmsprop":
            s1 = hp["rho"] * s1 + (1 - hp["rho"]) * g * g
            w -= lr * g / (s1 + eps) ** 0.5
        elif opt == "adagrad":
            s1 += g * g
            w -= lr * g / (s1 + eps) ** 0.5
        else:
            b1, b2 = hp["beta_1"], hp["beta_2"]
            w -= lr * hp.get("weight_decay", 0.0) * w
            s1 = b1 * s1 + (1 - b1) * g
            s2 = b2 * s2 + (1 - b2) * g * g
            w -= lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t) * s1 / (s2 ** 0.5 + eps)
        np.testing.assert_allclose(P[0], w, rtol=1e-13)
    assert it == 10 and 0 < w < 1


def test_optimizer_names_case_insensitive_and_state_persists():
    X, y = blob_data()
    m = small_model(optimizer="Adam")
    assert isinstance(m.optimizer, fastnn.optimizers.Adam)
    m.fit(X, y, epochs=2, batch_size=50, verbose=0)
    assert m.optimizer.iterations == 8
    m.fit(X, y, epochs=1, batch_size=50, verbose=0)
    assert m.optimizer.iterations == 12  # state carries over between fits
    m.compile("sgd", "binary_crossentropy")
    assert m.optimizer.iterations == 0


# ---- dropout -----------------------------------------------------------------------------
def test_dropout_only_while_training():
    X, y = blob_data()
    m = small_model(Dropout(0.5), seed=1)
    m.fit(X, y, epochs=2, verbose=0)
    p1, p2 = m.predict(X), m.predict(X)
    np.testing.assert_array_equal(p1, p2)  # predict draws no randomness
    twin = small_model(seed=1)  # same layers without Dropout, same weights
    twin.build()
    twin.set_weights(m.get_weights())
    np.testing.assert_array_equal(twin.predict(X), p1)  # no scaling at inference
    np.testing.assert_array_equal(twin.evaluate(X, y, verbose=0), m.evaluate(X, y, verbose=0))


def test_dropout_changes_training_and_is_reproducible():
    X, y = blob_data()
    runs = []
    for layers, seed in (((Dropout(0.3),), 0), ((Dropout(0.3),), 0), ((), 0), ((Dropout(0.3),), 1)):
        m = small_model(*layers, seed=seed)
        m.fit(X, y, epochs=3, verbose=0)
        runs.append(np.concatenate([w.ravel() for w in m.get_weights()]))
    np.testing.assert_array_equal(runs[0], runs[1])     # same seed: same masks
    assert not np.array_equal(runs[0], runs[2])           # dropout did something
    assert not np.array_equal(runs[0], runs[3])           # other seed: other masks


def test_dropout_after_last_layer_is_rejected():
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(1), Dropout(0.5)])
    with pytest.raises(ValueError, match="Dropout cannot be the last layer"):
        m.build()


# ---- fit bookkeeping, validation, callbacks ---------------------------------------------------
def test_history_and_validation_split_uses_the_tail():
    X, y = blob_data()
    m = small_model()
    h = m.fit(X, y, epochs=3, validation_split=0.25, verbose=0)
    assert sorted(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in h.history.values()) and h.epoch == [0, 1, 2]
    val_loss, val_acc = m.evaluate(X[150:], y[150:], verbose=0)
    assert h.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert h.history["val_accuracy"][-1] == pytest.approx(val_acc, rel=1e-6)


def test_validation_data_and_metrics_mae_mse():
    X, y = blob_data()
    m = small_model(loss="mse", metrics=("mae", "mse", "accuracy"))
    h = m.fit(X[:150], y[:150], epochs=2, validation_data=(X[150:], y[150:]), verbose=0)
    assert {"val_mae", "val_mse", "val_accuracy", "mae"} <= set(h.history)
    pred = m.predict(X[150:])[:, 0]
    np.testing.assert_allclose(h.history["val_mae"][-1], np.abs(pred - y[150:]).mean(), rtol=1e-5)
    np.testing.assert_allclose(h.history["val_mse"][-1], h.history["val_loss"][-1], rtol=1e-6)


def test_epochs_zero_and_batch_larger_than_data():
    X, y = blob_data(20)
    m = small_model()
    m.build()
    before = m.get_weights()
    h = m.fit(X, y, epochs=0, verbose=0)
    assert h.history == {} and all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    m.fit(X, y, epochs=1, batch_size=1000, verbose=0)
    assert m.optimizer.iterations == 1  # one full batch


def test_progress_bar_output(capsys):
    """(captured stdout is not a terminal: finished lines only; tests/test_progress.py
    has the terminal and the details)"""
    X, y = blob_data(64)
    small_model().fit(X, y, epochs=2, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "8/8 ━" in out and "loss:" in out
    assert "\r" not in out
    small_model().fit(X, y, epochs=1, verbose=2)
    assert "accuracy:" in capsys.readouterr().out


class Recorder(Callback):
    def on_train_begin(self, logs=None):
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))


# ---- pairing of last layer and loss -----------------------------------------------------------
@pytest.mark.parametrize("act,units,loss", [
    ("sigmoid", 3, "categorical_crossentropy"),
    (None, 1, "binary_crossentropy"),
    ("softmax", 3, "binary_crossentropy"),
    ("relu", 3, "sparse_categorical_crossentropy"),
    ("softmax", 3, "mse"),
])
def test_mismatched_pairs_warn(act, units, loss):
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(units, activation=act)])
    with pytest.warns(fastnn.MismatchedLossWarning, match="not a standard pair"):
        m.compile("adam", loss)


@pytest.mark.parametrize("act,units,loss", [
    ("sigmoid", 1, "binary_crossentropy"), ("softmax", 3, "categorical_crossentropy"),
    ("softmax", 3, "sparse_categorical_crossentropy"), (None, 2, "mse"), ("sigmoid", 1, "mse"),
])
def test_standard_pairs_are_quiet(act, units, loss):
    fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(units, activation=act)]).compile("adam", loss)


@pytest.mark.parametrize("act,units,loss,match", [
    ("softmax", 1, "categorical_crossentropy", "softmax over 1 unit"),
    ("softmax", 1, "binary_crossentropy", "softmax over 1 unit"),
    ("sigmoid", 1, "sparse_categorical_crossentropy", "at least 2"),
])
def test_impossible_pairs_raise(act, units, loss, match):
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(units, activation=act)])
    with pytest.raises(ValueError, match=match):
        m.compile("adam", loss)


@pytest.mark.parametrize("act", ["step", "sign"])
def test_backprop_through_step_or_sign_warns(act):
    X, y = blob_data(20)
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(3, activation=act),
                           Dense(1, activation="sigmoid")], seed=0)
    m.compile("sgd", "binary_crossentropy")
    m.build()
    first = m.get_weights()[0]
    with pytest.warns(fastnn.ZeroGradientWarning, match="derivative is zero"):
        m.fit(X, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(m.get_weights()[0], first)  # indeed nothing flowed back


# ---- k-fold cross-validation -----------------------------------------------------------------
def test_cross_validate_trains_fresh_copies():
    X, y = blob_data(120)
    m = small_model()
    m.build()
    before = m.get_weights()
    res = fastnn.model_selection.cross_validate(m, X, y, cv=4, seed=0,
                                                fit_kwargs=dict(epochs=20), return_models=True)
    assert len(res["fold_scores"]) == 4 and set(res["mean"]) == {"loss", "accuracy"}
    assert res["mean"]["accuracy"] > 0.8
    np.testing.assert_allclose(res["mean"]["loss"],
                               np.mean([f["loss"] for f in res["fold_scores"]]))
    for w0, w1 in zip(before, m.get_weights()):  # the original is untouched
        np.testing.assert_array_equal(w0, w1)
    copies = res["models"]
    assert len({id(c) for c in copies}) == 4 and all(c is not m for c in copies)
    assert all(c.optimizer is not m.optimizer for c in copies)


# ---- overfitting remedies (examples/overfitting.py) -------------------------------------------
def test_l2_dropout_and_early_stopping_each_shrink_the_gap():
    examples = Path(__file__).resolve().parent.parent / "examples"
    if not (examples / "overfitting.py").exists():
        pytest.skip("examples/ is not next to the tests")
    sys.path.insert(0, str(examples))
    try:
        from overfitting import gaps
    finally:
        sys.path.pop(0)
    runs = [gaps(seed) for seed in range(3)]
    mean_gap = {v: np.mean([r[v][2] for r in runs]) for v in runs[0]}
    for remedy in ("l2", "dropout", "early_stopping"):
        assert mean_gap[remedy] < 0.8 * mean_gap["plain"], (remedy, mean_gap)


def test_training_flushes_subnormal_optimizer_state_and_restores_the_fp_mode():
    """csrc/fnn_fpenv.h: moments of zero-gradient weights decay into subnormals
    (slow on x86) — training flushes them to zero, and leaves the caller's
    floating-point mode as it was."""
    import platform

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((1000, 16)), rng.integers(0, 4, 1000)
    m = fastnn.Sequential([fastnn.Input(shape=(16,)), Dense(128, activation="relu"),
                           Dropout(0.2), Dense(128, activation="relu"),
                           Dense(4, activation="softmax")], seed=7)
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(X, y, epochs=1, batch_size=1, shuffle=False, verbose=0)  # 115 subnormal without
    tiny = np.finfo(np.float32).tiny
    m1 = m._slots[0]
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert not ((m1 != 0) & (np.abs(m1) < tiny)).any()
    sub = np.array([tiny], np.float32) / np.float32(4)  # a subnormal, computed here
    assert sub[0] != 0 and sub[0] * np.float32(2) != 0  # FTZ/DAZ did not leak out of fit


@pytest.mark.parametrize("loss,out", [("mae", "linear"), ("huber", "linear"),
                                      ("log_cosh", "linear"), ("poisson", "softplus"),
                                      ("kl_divergence", "softmax"), ("hinge", "tanh"),
                                      ("squared_hinge", "tanh")])
def test_keras_losses_train(loss, out):
    """Each of Keras's other losses trains in the C loop (gradients are checked in
    test_gradients.py): the loss falls; hinge takes 0/1 labels as Keras does."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 4))
    if loss == "kl_divergence":
        logits = X[:, :3] * 2
        y = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    elif loss == "poisson":
        y = rng.poisson(np.exp(0.5 * X[:, :1]))
    elif loss in ("hinge", "squared_hinge"):
        y = (X[:, :1] > 0).astype(float)  # 0/1: converted to -1/1
    else:
        y = X[:, :1] * 2 + 1
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(16, activation="tanh"),
                           Dense(y.shape[1], activation=out)], seed=0)
    m.compile(fastnn.optimizers.Adam(0.02), loss)
    h = m.fit(X, y, epochs=30, batch_size=32, verbose=0)
    if loss == "poisson":  # its minimum is not 0: beat the best constant rate instead
        mu = y.mean()
        assert h.history["loss"][-1] < np.mean(mu - y * np.log(mu + 1e-7)) - 0.05
    else:
        assert h.history["loss"][-1] < 0.6 * h.history["loss"][0]
    if loss == "hinge":
        assert ((m.predict(X)[:, 0] > 0) == (y[:, 0] > 0)).mean() > 0.9


def _flat_grads(m, X, y):
    """The batch gradient of the model's loss, through the C kernel."""
    ws = np.empty(len(X) * m._net.ws_units, m.dtype)
    G = np.zeros_like(m._params)
    Y = m._targets("fit", y, len(X))
    _core.loss_grad(m._net, m._params, G, ws, len(X), m._inputs("fit", X), Y, None, np.zeros(N_SUMS))
    return G


@pytest.mark.parametrize("clip", [dict(clipnorm=0.05), dict(global_clipnorm=0.05),
                                  dict(clipvalue=0.01)])
def test_gradient_clipping_matches_keras_rules(clip):
    """One SGD step with clipping equals the step with the gradient clipped by hand
    (clipnorm per weight tensor, global_clipnorm over all, clipvalue per element)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 3)) * 3, rng.standard_normal((16, 2)) * 3
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(4, activation="tanh"), Dense(2)],
                          dtype="float64", seed=0)
    m.compile(fastnn.optimizers.SGD(0.1, **clip), "mse")
    m.build()
    P0 = m._params.copy()
    G = _flat_grads(m, X, y)
    if "clipnorm" in clip:
        for layer in m._dense:
            for off, size in ((layer._w_off, layer.kernel.size), (layer._b_off, layer.units)):
                g = G[off:off + size]
                g *= min(1.0, clip["clipnorm"] / np.linalg.norm(g))
    elif "global_clipnorm" in clip:
        G *= min(1.0, clip["global_clipnorm"] / np.linalg.norm(G))
    else:
        G = np.clip(G, -clip["clipvalue"], clip["clipvalue"])
    m.fit(X, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(m._params, P0 - 0.1 * G, rtol=1e-12, atol=1e-14)
    assert m.optimizer.get_config()[next(iter(clip))] == next(iter(clip.values()))
    with pytest.raises(ValueError, match="not both"):
        fastnn.optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)


@pytest.mark.parametrize("name", ["nadam", "adamax"])
def test_nadam_and_adamax_train_and_resume(name, tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((128, 4)), rng.integers(0, 3, 128)

    def make():
        m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(16, activation="relu"),
                               Dense(3, activation="softmax")], seed=2)
        m.compile(fastnn.optimizers.get({"class_name": name, "config": {"learning_rate": 0.01}}),
                  "sparse_categorical_crossentropy")
        return m

    one = make()
    h = one.fit(X, y, epochs=6, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    half = make()
    half.fit(X, y, epochs=3, batch_size=16, verbose=0)
    half.save(tmp_path / "m.fastnn")
    again = fastnn.load_model(tmp_path / "m.fastnn")
    again.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(one.get_weights(), again.get_weights()))
