"""Keras 3's callbacks: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback, and the
callback surface (params, batch hooks per chunk, learning_rate in the logs)."""
import csv
import os

import numpy as np
import pytest

import fastnn
from fastnn.callbacks import (Callback, CSVLogger, EarlyStopping, LambdaCallback,
                              LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                              TerminateOnNaN)
from fastnn.layers import Dense

from .test_training import Recorder, blob_data, small_model


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def model(lr=0.05, seed=0):
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(8, activation="tanh"),
                           Dense(1, activation="sigmoid")], seed=seed)
    m.compile(fastnn.optimizers.SGD(lr), "binary_crossentropy", ["accuracy"])
    return m


def test_model_checkpoint_every_epoch_with_a_template(tmp_path):
    X, y = data()
    m = model()
    snapshots = []

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.3f}.fastnn")
    h = m.fit(X, y, epochs=3, verbose=0, validation_split=0.2,
              callbacks=[ModelCheckpoint(pattern, monitor="val_loss"), Keep()])
    names = sorted(os.listdir(tmp_path))
    assert [n[:8] for n in names] == ["ckpt-01-", "ckpt-02-", "ckpt-03-"]
    assert names[1] == f"ckpt-02-{h.history['val_loss'][1]:.3f}.fastnn"
    for name, weights in zip(names, snapshots):
        loaded = fastnn.load_model(tmp_path / name)
        assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), weights))


def test_model_checkpoint_best_only_and_weights_only(tmp_path):
    X, y = data()
    m = model(lr=0.5)
    best = ModelCheckpoint(tmp_path / "best.fastnn", monitor="val_accuracy",
                           save_best_only=True, save_weights_only=True)
    h = m.fit(X, y, epochs=6, verbose=0, validation_split=0.25, callbacks=[best])
    accs = h.history["val_accuracy"]
    assert best.mode == "max" and best.best == max(accs)
    fresh = model()
    fresh.load_weights(tmp_path / "best.fastnn")  # a weights file
    assert fastnn.load_model(tmp_path / "best.fastnn").optimizer is None
    for bad, error in (("batch", ValueError), (0, ValueError), (2.5, TypeError),
                       (True, TypeError)):
        with pytest.raises(error, match="save_freq"):
            ModelCheckpoint(tmp_path / "x.fastnn", save_freq=bad)
    with pytest.raises(KeyError, match="val_auc"):
        model().fit(X, y, epochs=1, verbose=0,
                    callbacks=[ModelCheckpoint(str(tmp_path / "{val_auc}.fastnn"))])
    with pytest.warns(RuntimeWarning, match="only with 'val_loss' available"):
        model().fit(X, y, epochs=1, verbose=0,
                    callbacks=[ModelCheckpoint(tmp_path / "b.fastnn", save_best_only=True)])


def test_reduce_lr_on_plateau():
    X, y = data()
    m = model(lr=0.08)
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=10.0,
                           cooldown=1, min_lr=0.011)
    h = m.fit(X, y, epochs=9, verbose=0, callbacks=[cb])
    # min_delta=10: no epoch counts as an improvement after the first
    # logged: the rate each epoch ran with; cut after 2 epochs without improvement,
    # then one epoch of cooldown, as Keras
    assert h.history["learning_rate"] == [0.08, 0.08, 0.08, 0.04, 0.04, 0.02, 0.02, 0.011,
                                          0.011]
    assert m.optimizer.learning_rate == 0.011
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler_and_settable_rate():
    X, y = data()
    m = model()
    h = m.fit(X, y, epochs=4, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)])
    assert h.history["learning_rate"] == [0.1, 0.05, 0.025, 0.0125]
    with pytest.raises(ValueError, match="schedule"):
        model().fit(X, y, epochs=1, verbose=0,
                    callbacks=[LearningRateScheduler(lambda epoch, lr: -1.0)])
    with pytest.raises(ValueError, match="learning_rate"):
        m.optimizer.learning_rate = float("nan")
    m.optimizer.learning_rate = 0.2
    assert m.optimizer.get_config()["learning_rate"] == 0.2


def test_csv_logger(tmp_path):
    X, y = data()
    path = tmp_path / "log.csv"
    h = model().fit(X, y, epochs=3, verbose=0, validation_split=0.2,
                    callbacks=[CSVLogger(path)])
    model().fit(X, y, epochs=2, verbose=0, validation_split=0.2,
                callbacks=[CSVLogger(path, append=True)])
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "0", "1"]  # one header, appended rows
    assert float(rows[2][2]) == h.history["loss"][1]


def test_terminate_on_nan_stops_without_an_exception():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)) * 1e4
    y = x @ np.array([1.0, 2.0, 3.0, 4.0])

    def diverging():
        m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(8, activation="relu"),
                               Dense(1)], seed=1)
        m.compile(optimizer=fastnn.optimizers.SGD(learning_rate=10.0), loss="mse")
        return m

    with pytest.raises(fastnn.NonFiniteLossError):
        diverging().fit(x, y, epochs=20, batch_size=8, verbose=0)
    m = diverging()
    h = m.fit(x, y, epochs=20, batch_size=8, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(h.epoch) < 20 and all(np.isfinite(v) for v in h.history.get("loss", []))
    assert all(np.isfinite(w).all() for w in m.get_weights())
    # the state after the last applied batch (tests/test_nonfinite_step.py pins it)
    assert m.optimizer.iterations < 20 * 8


def test_lambda_callback_params_and_batch_hooks():
    X, y = data()
    seen = {"epochs": [], "batches": 0, "begin": None}
    cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen["epochs"].append(epoch),
                        on_train_begin=lambda logs: seen.update(begin=dict(logs)),
                        on_train_batch_end=lambda batch, logs: seen.update(
                            batches=seen["batches"] + 1, last=(batch, logs["loss"])))
    with pytest.warns(UserWarning, match="once per chunk of batches"):
        model().fit(X, y, epochs=3, batch_size=10, verbose=0, callbacks=[cb])
    assert seen["epochs"] == [0, 1, 2] and seen["begin"] == {}
    assert 3 <= seen["batches"] <= 3 * 20 and seen["last"][0] == 19  # last batch index
    assert cb.params == {"epochs": 3, "steps": 20, "verbose": 0}
    with pytest.raises(ValueError, match="unknown hook"):
        LambdaCallback(on_epoch_finish=print)


# ---- MonitorCallback: the one "has it improved?" rule of the monitoring callbacks
def monitors(monitor="val_loss", mode="auto", tmp="ckpt.fastnn"):
    return [fastnn.callbacks.EarlyStopping(monitor=monitor, mode=mode),
            ReduceLROnPlateau(monitor=monitor, mode=mode),
            ModelCheckpoint(tmp, monitor=monitor, mode=mode, save_best_only=True)]


@pytest.mark.parametrize("monitor, mode", [
    ("val_loss", "min"), ("loss", "min"), ("val_mae", "min"), ("accuracy", "max"),
    ("val_binary_accuracy", "max"), ("fmeasure_1", "max"),
    # Keras 3 maximises these in mode "auto" (their _direction is "up")
    ("val_auc", "max"), ("auc_1", "max"), ("precision", "max"), ("val_recall_2", "max"),
    ("true_positives", "max"), ("val_true_negatives", "max"),
    ("false_positives", "min"), ("val_false_negatives", "min"), ("val_mse", "min"),
    ("val_binary_crossentropy", "min")])
def test_the_monitoring_callbacks_share_one_auto_rule(monitor, mode):
    for cb in monitors(monitor):
        assert isinstance(cb, fastnn.callbacks.MonitorCallback)
        assert cb.mode == mode, type(cb).__name__
    for cb in monitors(monitor, mode="max"):
        assert cb.mode == "max"


@pytest.mark.parametrize("cls", [fastnn.callbacks.EarlyStopping, ReduceLROnPlateau])
def test_an_improvement_beats_the_best_by_more_than_min_delta(cls):
    low, high = cls(min_delta=0.1, mode="min"), cls(min_delta=0.1, mode="max")
    assert low._is_improvement(0.8, 1.0) and not low._is_improvement(0.9, 1.0)
    assert not low._is_improvement(0.95, 1.0) and not low._is_improvement(1.2, 1.0)
    assert high._is_improvement(1.2, 1.0) and not high._is_improvement(1.1, 1.0)
    assert not low._is_improvement(float("nan"), 1.0)
    assert low._is_improvement(1e300, None)  # no best yet: anything is
    low.on_train_begin(), high.on_train_begin()
    assert low.best == np.inf and high.best == -np.inf


def test_early_stopping_waits_patience_epochs_without_improvement():
    class Model:
        stop_training = False

    def run(losses, **kwargs):
        es = fastnn.callbacks.EarlyStopping(monitor="loss", min_delta=0.05, **kwargs)
        es.set_model(Model())  # type: ignore[arg-type]
        es.on_train_begin()
        stopped = []
        for epoch, loss in enumerate(losses):
            es.on_epoch_end(epoch, {"loss": loss})
            stopped.append(es.model.stop_training)
        return es, stopped

    # 0.97 is within min_delta of 1.0; 0.85 improves (wait back to 0); 0.84 and 0.83
    # do not improve by 0.05: the second of them stops the run
    es, stopped = run([1.0, 0.97, 0.85, 0.84, 0.83, 0.7], patience=2)
    assert stopped == [False, False, False, False, True, True]
    assert es.best == 0.7 and es.best_epoch == 5 and es.stopped_epoch == 4
    # a best that does not beat the baseline does not reset the wait
    es, stopped = run([1.0, 0.99], patience=1, baseline=0.9)
    assert stopped == [False, True] and es.best == 1.0
    es, stopped = run([0.8, 0.79], patience=1, baseline=0.9)
    assert stopped == [False, True]  # 0.79: no improvement by 0.05 over 0.8
    es, stopped = run([0.8, 0.7], patience=1, baseline=0.9)
    assert stopped == [False, False]
    with pytest.warns(RuntimeWarning, match="'loss' is not available; available metrics "
                                            r"are \['acc'\]"):
        es.on_epoch_end(2, {"acc": 1.0})


def test_model_checkpoint_starts_from_its_threshold_or_from_nothing():
    assert ModelCheckpoint("m.fastnn").best is None
    ckpt = ModelCheckpoint("m.fastnn", initial_value_threshold=0.5)
    assert ckpt.best == 0.5 and ckpt.min_delta == 0.0
    assert ckpt._is_improvement(0.49, ckpt.best) and not ckpt._is_improvement(0.5, ckpt.best)


# ---- EarlyStopping -------------------------------------------------------------------
def test_early_stopping_stops_and_restores_best_weights():
    X, y = blob_data()
    rec = Recorder()
    # min_delta so large that nothing after the first epoch counts as better
    es = EarlyStopping(monitor="loss", min_delta=100.0, patience=2, restore_best_weights=True)
    m = small_model()
    h = m.fit(X, y, epochs=50, verbose=0, callbacks=[rec, es])
    assert len(h.history["loss"]) == 3 and es.stopped_epoch == 2
    for got, best in zip(m.get_weights(), rec.weights[0]):
        np.testing.assert_array_equal(got, best)
    assert not all(np.array_equal(a, b) for a, b in zip(rec.weights[-1], rec.weights[0]))


def test_early_stopping_on_val_loss_after_overfitting():
    X, y = fastnn.datasets.make_gaussian(300, noise=0.4, seed=0)
    X = X / 5
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(128, activation="relu"),
                           Dense(128, activation="relu"), Dense(1, activation="sigmoid")], seed=0)
    m.compile(fastnn.optimizers.Adam(0.01), "binary_crossentropy")
    es = EarlyStopping(patience=10, restore_best_weights=True)
    h = m.fit(X[:60], y[:60], epochs=300, batch_size=16, validation_data=(X[60:], y[60:]),
              verbose=0, callbacks=[es])
    assert len(h.history["loss"]) < 300
    best = min(h.history["val_loss"])
    assert m.evaluate(X[60:], y[60:], verbose=0) == pytest.approx(best, rel=1e-6)


def test_callbacks_must_be_callbacks():
    X, y = blob_data(10)
    with pytest.raises(TypeError, match="Callback"):
        small_model().fit(X, y, callbacks=[object()], verbose=0)
