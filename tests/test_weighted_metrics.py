"""Keras 3's weighting rules: ``class_weight`` and ``sample_weight`` weight
the loss and compile's ``weighted_metrics``, never its ``metrics``; and
``ModelCheckpoint(save_freq=N)`` saving after every N batches."""
import json
import os

import numpy as np
import pytest

import fastnn
from fastnn import layers as fl
from fastnn.callbacks import ModelCheckpoint


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    y = (x[:, 0] + 0.5 * rng.standard_normal(n) > 1.0).astype(int)
    return x, y


def model(lr=1e-30, **compile_kw):
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), fl.Dense(6, activation="tanh"),
                           fl.Dense(1, activation="sigmoid")], seed=3, dtype="float64")
    m.compile(fastnn.optimizers.SGD(lr), "binary_crossentropy", **compile_kw)
    return m


METRICS = ["accuracy", fastnn.metrics.Precision(name="precision"),
           fastnn.metrics.TruePositives(name="tp"), "mae"]


def expected(m, x, y, w):
    p = m.predict(x, verbose=0)[:, 0]
    pred = p > 0.5
    hit = (pred == (y == 1)).astype(float)
    tp = pred & (y == 1)
    return {"accuracy": np.average(hit, weights=w), "mae": np.average(np.abs(p - y), weights=w),
            "precision": np.sum(w * tp) / np.sum(w * pred), "tp": np.sum(w * tp)}


@pytest.mark.parametrize("how", ["class_weight", "sample_weight"])
def test_weights_reach_the_loss_and_weighted_metrics_only(how):
    x, y = data()
    w = np.where(y == 1, 9.0, 0.5)
    kw = ({"class_weight": {0: 0.5, 1: 9.0}} if how == "class_weight"
          else {"sample_weight": w})
    # a step of 1e-30 leaves the weights as they were (to float64's precision), so the
    # running metrics of the epoch equal the metrics of the model's predictions
    m = model(metrics=METRICS, weighted_metrics=METRICS)
    logs = {k: v[-1] for k, v in m.fit(x, y, batch_size=64, epochs=1, verbose=0,
                                       shuffle=False, **kw).history.items()}
    plain, weighted = expected(m, x, y, np.ones(len(x))), expected(m, x, y, w)
    for name in ("accuracy", "precision", "tp", "mae"):
        assert logs[name] == pytest.approx(plain[name], rel=1e-12)
        assert logs[f"weighted_{name}"] == pytest.approx(weighted[name], rel=1e-12)
    assert logs["tp"] == int(logs["tp"])  # a count of samples
    # the loss is weighted: Σ w ℓ / n
    p = m.predict(x, verbose=0)[:, 0]
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert logs["loss"] == pytest.approx(np.sum(w * bce) / len(x), rel=1e-9)
    # evaluate and validation follow the same rule
    ev = m.evaluate(x, y, sample_weight=w, return_dict=True, verbose=0)
    assert ev["accuracy"] == pytest.approx(plain["accuracy"], rel=1e-12)
    assert ev["weighted_accuracy"] == pytest.approx(weighted["accuracy"], rel=1e-12)
    h = m.fit(x, y, epochs=1, verbose=0, validation_data=(x, y, w), **kw).history
    assert h["val_tp"][-1] == pytest.approx(plain["tp"])
    assert h["val_weighted_tp"][-1] == pytest.approx(weighted["tp"])


def test_streamed_fit_weights_alike():
    x, y = data()
    w = np.where(y == 1, 9.0, 0.5)

    def batches():
        while True:
            for lo in range(0, len(x), 50):
                yield x[lo:lo + 50], y[lo:lo + 50], w[lo:lo + 50]
    m = model(metrics=["accuracy"], weighted_metrics=["accuracy"])
    h = m.fit(batches(), steps_per_epoch=6, epochs=1, verbose=0).history
    assert h["accuracy"][-1] == pytest.approx(expected(m, x, y, np.ones(len(x)))["accuracy"])
    assert h["weighted_accuracy"][-1] == pytest.approx(expected(m, x, y, w)["accuracy"])


def test_weighted_metrics_survive_files_and_clones(tmp_path):
    m = model(metrics=["accuracy"], weighted_metrics=["accuracy", "auc"])
    names = ["loss", "accuracy", "weighted_accuracy", "auc"]
    assert m.metrics_names == names
    for suffix in ("fastnn", "keras"):
        m.save(tmp_path / f"m.{suffix}")
        assert fastnn.load_model(tmp_path / f"m.{suffix}").metrics_names == names
    assert fastnn.models.clone_model(m).metrics_names == names
    with pytest.raises(TypeError, match="weighted_metrics"):
        model(weighted_metrics="accuracy")
    with pytest.raises(ValueError, match="listed twice"):
        model(weighted_metrics=["accuracy", "accuracy"])


def test_checkpoint_every_n_batches_holds_the_state_after_n_batches(tmp_path):
    x, y = data(100)
    m = model(lr=0.1)
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.fastnn"), save_freq=3)
    m.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    # 10 batches per epoch, counted across epochs (Keras): after 3, 6, 9, 12, 15, 18
    assert sorted(os.listdir(tmp_path)) == sorted(
        f"e{e}-b{b}.fastnn" for e, b in ((1, 3), (1, 6), (1, 9), (2, 2), (2, 5), (2, 8)))
    saved = fastnn.load_model(tmp_path / "e1-b6.fastnn")
    alone = model(lr=0.1)
    alone.fit(x[:60], y[:60], batch_size=10, epochs=1, shuffle=False, verbose=0)
    assert saved.optimizer.iterations == alone.optimizer.iterations == 6
    for a, b in zip(saved.get_weights(), alone.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_every_n_batches_on_a_generator(tmp_path):
    x, y = data(100)

    def batches():
        while True:
            for lo in range(0, 100, 10):
                yield x[lo:lo + 10], y[lo:lo + 10]
    m = model(lr=0.1)
    cb = ModelCheckpoint(str(tmp_path / "b{batch}.keras"), save_freq=4)
    m.fit(batches(), steps_per_epoch=10, epochs=1, verbose=0, callbacks=[cb])
    assert sorted(os.listdir(tmp_path)) == ["b4.keras", "b8.keras"]
    assert fastnn.load_model(tmp_path / "b8.keras").optimizer.iterations == 8


# ------------------------------------------------------------------ AUC as Keras
AUC_EXPECTED = dict(np.load(os.path.join(os.path.dirname(__file__), "data",
                                         "keras_auc_expected.npz")))
AUC_CASES = json.loads(str(AUC_EXPECTED["auc_cases"]))  # what Keras was given


@pytest.mark.parametrize("i", range(len(AUC_CASES)))
@pytest.mark.parametrize("weighted", [False, True])
def test_thresholded_auc_equals_keras(i, weighted):
    from fastnn import metrics as M

    y, p, w = AUC_EXPECTED["auc_y"], AUC_EXPECTED["auc_p"], AUC_EXPECTED["auc_w"]
    got = M.compute("auc", p, y, False, False, w if weighted else None,
                    M.AUC(**AUC_CASES[i]).params)
    # Keras sums its confusion counts in float32 (~1e-7 relative each, 500 samples)
    assert got == pytest.approx(float(AUC_EXPECTED[f"auc_{i}_{int(weighted)}"]), rel=2e-6)


def test_pr_auc_is_close_to_average_precision():
    sk = pytest.importorskip("sklearn.metrics")
    from fastnn import metrics as M

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 5000)
    p = 1 / (1 + np.exp(-(2 * y - 1) - 1.5 * rng.standard_normal(5000)))
    ap = sk.average_precision_score(y, p)
    for n, tol in ((200, 5e-3), (2000, 5e-4)):
        # the scores are bucketed between thresholds 1/(n-1) apart; within a bucket the
        # curve is interpolated, so the area moves by less than one bucket's share of
        # the recall (measured: 2e-4 for 200 thresholds)
        got = M.compute("auc", p[:, None], y[:, None], False, False, None,
                        M.AUC(curve="PR", num_thresholds=n).params)
        assert abs(got - ap) < tol
    assert M.AUC(curve="pr").params["curve"] == "PR"


def test_pr_auc_in_fit_and_bad_arguments():
    from fastnn import metrics as M

    x, y = data()
    m = model(lr=1e-30, metrics=[M.AUC(curve="PR", name="prauc")])
    h = m.fit(x, y, epochs=1, verbose=0).history
    p = m.predict(x, verbose=0)
    assert h["prauc"][-1] == pytest.approx(M.compute(
        "auc", p, y[:, None], False, False, None, M.AUC(curve="PR").params), rel=1e-12)
    for kwargs, error in ((dict(curve="DET"), ValueError), (dict(curve=3), ValueError),
                          (dict(summation_method="trapezoid"), ValueError),
                          (dict(thresholds=[0.5, 1.5]), ValueError),
                          (dict(thresholds="x"), TypeError),
                          (dict(label_weights=[1.0]), ValueError)):
        with pytest.raises(error):
            M.AUC(**kwargs)


# ------------------------------------------------------------------ epoch metrics on streams
def test_epoch_metrics_on_streams_equal_the_array_values():
    from fastnn import metrics as M

    x, y = data()
    w = np.where(y == 1, 4.0, 1.0)

    def batches(weights=False):
        while True:
            for lo in range(0, len(x), 50):
                part = slice(lo, lo + 50)
                yield (x[part], y[part], w[part]) if weights else (x[part], y[part])
    names = ["precision", "recall", "auc", M.AUC(curve="PR", name="pr"),
             M.TruePositives(name="tp")]
    m = model(lr=0.05, metrics=names, weighted_metrics=["precision"])
    h = m.fit(batches(True), steps_per_epoch=6, epochs=2, verbose=0,
              validation_data=batches(), validation_steps=6).history
    # evaluate and validation: exactly the values of the same data as arrays
    as_arrays = m.evaluate(x, y, return_dict=True, verbose=0)
    streamed = m.evaluate(batches(), steps=6, return_dict=True, verbose=0)
    assert streamed.keys() == as_arrays.keys()
    for key in as_arrays:
        assert streamed[key] == pytest.approx(as_arrays[key], rel=1e-12)
        assert h[f"val_{key}"][-1] == pytest.approx(as_arrays[key], rel=1e-12)
    weighted = m.evaluate(batches(True), steps=6, return_dict=True, verbose=0)
    assert weighted["weighted_precision"] == pytest.approx(m.evaluate(
        x, y, sample_weight=w, return_dict=True, verbose=0)["weighted_precision"], rel=1e-12)
    # fit: every sample counted once per epoch, from predictions made during the epoch
    assert h["tp"][-1] <= np.sum(y == 1) and 0 <= h["auc"][-1] <= 1
    assert set(h) == {"loss", "precision", "recall", "auc", "pr", "tp", "weighted_precision",
                      "val_loss", "val_precision", "val_recall", "val_auc", "val_pr",
                      "val_tp", "val_weighted_precision"}


def test_stream_fit_metrics_with_a_frozen_model_equal_the_array_fit():
    # with a step of 1e-30 the predictions made during the epoch are those after it,
    # so a stream's training epoch metrics equal an array fit's
    x, y = data()

    def batches():
        while True:
            for lo in range(0, len(x), 60):
                yield x[lo:lo + 60], y[lo:lo + 60]
    a = model(metrics=["precision", "auc"]).fit(x, y, batch_size=60, epochs=1, verbose=0,
                                                shuffle=False).history
    b = model(metrics=["precision", "auc"]).fit(batches(), steps_per_epoch=5, epochs=1,
                                                verbose=0).history
    for key in ("precision", "auc"):
        assert b[key][-1] == pytest.approx(a[key][-1], rel=1e-12)
