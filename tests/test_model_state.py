"""Model state stays consistent: failed structural changes change nothing, the
plan the C loops run always matches the layers, fit excludes concurrent use,
and Keras's conventions for validation_split and EarlyStopping hold."""
import threading

import numpy as np
import pytest

from fastnn._epoch_results import N_SUMS
import fastnn
from fastnn._kernels import _core
from fastnn.callbacks import Callback, EarlyStopping
from fastnn.layers import Dense, Dropout


def weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_failed_add_changes_nothing_and_training_still_works():
    m = fastnn.Sequential([fastnn.Input(shape=(1000,)), Dense(1000, activation="softmax")],
                          seed=0)
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.build()
    before = m.get_weights()
    huge = Dense(2_200_000, activation="softmax")  # 1000 · 2.2M weights
    with pytest.raises(ValueError, match="fewer than 2\\*\\*31"):
        m.add(huge)
    assert len(m.layers) == 1 and huge._model is None and weights_equal(before, m.get_weights())
    X = np.zeros((4, 1000), np.float32)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 1000\)"):
        m.fit(X, np.full(4, 2_100_000), verbose=0)
    m.fit(X, np.array([0, 1, 999, 0]), verbose=0)


def test_add_to_compiled_model_rechecks_the_loss_and_restarts_the_optimizer():
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 3
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(3, activation="softmax")], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    m.fit(X, y, epochs=2, verbose=0)
    with pytest.raises(ValueError, match="add\\(\\): sparse_categorical_crossentropy needs"):
        m.add(Dense(1, activation="sigmoid"))
    assert len(m.layers) == 1 and m.optimizer.iterations > 0
    m.add(Dense(3, activation="softmax"))
    assert m.optimizer.iterations == 0 and m.count_params() == 9 + 12
    m.fit(X, y, epochs=1, verbose=0)


def test_failed_constructor_leaves_layers_usable():
    hidden, out = Dense(4), Dense(1)
    with pytest.raises(ValueError, match="first layer"):
        fastnn.Sequential([hidden, out, fastnn.Input(shape=(2,))])
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), hidden, out])
    assert m.layers == [hidden, out]


def test_net_rejects_sparse_labels_that_do_not_fit_the_plan():
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(3, activation="softmax")], seed=0)
    m.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    m.build()
    net, X = m._net, np.zeros((4, 2), np.float32)
    ws = np.empty(4 * net.ws_units, np.float32)
    for bad in (3.0, -1.0, 0.5, np.nan, 1e9):
        Y = np.array([[0], [1], [bad], [2]], np.float32)
        with pytest.raises(ValueError, match="sparse labels"):
            _core.evaluate(net, m._params, ws, 4, X, Y, np.zeros(N_SUMS))
        with pytest.raises(ValueError, match="sparse labels"):
            _core.loss_grad(net, m._params, np.empty_like(m._params), ws, 4, X, Y, None,
                            np.zeros(N_SUMS))
    with pytest.raises(ValueError, match="workspace rows"):
        _core.evaluate(net, m._params, ws, 2**60, X, np.zeros((4, 1), np.float32),
                       np.zeros(N_SUMS))
    spec = [_core.LayerSpec(n_in=2, n_out=3, act=_core.ActivationId.SOFTMAX, w_off=0, b_off=6)]
    sparse = dict(loss=_core.LossId.SPARSE_CCE, fused=True, y_cols=1, n_params=9, is64=False)
    with pytest.raises(ValueError, match="sparse labels go with"):
        _core.Net(spec, 0.0, acc=_core.AccuracyKind.CATEGORICAL, want_err=False, **sparse)
    with pytest.raises(ValueError, match="sparse labels go with"):
        _core.Net(spec, 0.0, acc=_core.AccuracyKind.SPARSE, want_err=True, **sparse)


def test_float32_rejects_labels_it_cannot_represent():
    m = fastnn.Sequential([fastnn.Input(shape=(1,)), Dense(2**24 + 5, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="not exact in float32"):
        m._targets("fit", np.array([2**24 + 3]), 1)   # rounds to 2**24 + 4 in float32


def test_predict_from_another_thread_during_fit_raises():
    X, y = np.random.default_rng(0).standard_normal((64, 2)), np.arange(64) % 2
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(4, activation="tanh"),
                           Dense(1, activation="sigmoid")], seed=0)
    m.compile("sgd", "binary_crossentropy")
    seen = {}

    class Probe(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen["same_thread"] = self.model.predict(X[:2]).shape  # allowed from fit's thread

            def other():
                try:
                    self.model.predict(X[:2])
                except RuntimeError as exc:
                    seen["other_thread"] = str(exc)

            t = threading.Thread(target=other)
            t.start()
            t.join()

    m.fit(X, y, epochs=1, verbose=0, callbacks=[Probe()])
    assert seen["same_thread"] == (2, 1)
    assert "being trained by fit() in another thread" in seen["other_thread"]
    assert m.predict(X[:2]).shape == (2, 1)  # fine again after fit


def test_validation_split_holds_out_like_keras():
    X = np.random.default_rng(1).standard_normal((10, 2))
    y = np.arange(10) % 2
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(1, activation="sigmoid")], seed=0)
    m.compile("sgd", "binary_crossentropy")
    h = m.fit(X, y, epochs=1, validation_split=0.25, shuffle=False, verbose=0)
    # Keras: split_at = floor(10 · 0.75) = 7, so the last 3 samples validate
    assert h.history["val_loss"][0] == pytest.approx(m.evaluate(X[7:], y[7:], verbose=0), rel=1e-6)


def test_early_stopping_default_patience_keeps_an_improving_run_going():
    X, y = np.random.default_rng(2).standard_normal((64, 2)), np.arange(64) % 2
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(1, activation="sigmoid")], seed=0)
    m.compile(fastnn.optimizers.SGD(0.01), "binary_crossentropy")
    h = m.fit(X, y, epochs=6, batch_size=64, verbose=0, callbacks=[EarlyStopping(monitor="loss")])
    losses = h.history["loss"]
    assert all(b < a for a, b in zip(losses, losses[1:]))  # full-batch SGD, small steps
    assert len(losses) == 6


def test_dropout_added_after_build_is_used_in_training():
    X, y = np.random.default_rng(3).standard_normal((32, 2)), np.arange(32) % 2
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(8, activation="relu")], seed=0)
    m.build()
    m.add(Dropout(0.5))
    m.add(Dense(1, activation="sigmoid"))
    m.compile("sgd", "binary_crossentropy")
    m.fit(X, y, epochs=1, verbose=0)
    assert m._noise_chains()[1][0] == [(1, 0.5)]  # (dropout, rate) after the first Dense


def test_the_public_input_and_dense_layer_surface():
    """input_dim, input_shape and dense_layers: what plot, summary, the exports and the
    model file read (instead of the model's private attributes)."""
    m = fastnn.Sequential([fastnn.layers.Dense(3), fastnn.layers.Dropout(0.1),
                           fastnn.layers.Dense(2)])
    assert m.input_dim is None and m.input_shape is None
    assert m.dense_layers == [m.layers[0], m.layers[2]]
    m.build((None, 5))
    assert m.input_dim == 5 and m.input_shape == (None, 5)
    img = fastnn.Sequential([fastnn.Input(shape=(4, 3)), fastnn.layers.Flatten(),
                             fastnn.layers.Dense(2)])
    assert img.input_dim == 12 and img.input_shape == (None, 4, 3)
    assert [type(l).__name__ for l in img.dense_layers] == ["Dense"]
    with pytest.raises(AttributeError):
        img.input_dim = 3  # read-only: the shape is set by Input, build or fit


def test_compile_settings_is_one_frozen_value():
    import dataclasses

    m = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2)])
    assert m.compile_settings is None
    acc = fastnn.metrics.CategoricalAccuracy()
    m.compile(optimizer="adam", loss=fastnn.losses.CategoricalCrossentropy(from_logits=True),
              metrics=["mae", acc], weighted_metrics=["mse"])
    s = m.compile_settings
    assert s.optimizer is m.optimizer and s.loss == "categorical_crossentropy"
    assert s.from_logits is True
    assert [fastnn.metrics.serialize(x) for x in s.metrics] == ["mae", fastnn.metrics.serialize(acc)]
    assert [fastnn.metrics.serialize(x) for x in s.weighted_metrics] == ["mse"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.loss = "mse"
