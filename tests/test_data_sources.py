"""fit / evaluate / predict on data that is not one array: Python
generators, iterables and PyDataset-like objects, batch group by batch group, and
a clear TypeError for objects fastnn cannot read."""
import itertools

import numpy as np
import pytest

import fastnn
from fastnn import _sources
from fastnn.layers import Dense, Dropout, Flatten


def arrays(n=100, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.float32)


class Batches:
    """A PyDataset-like object over arrays: batch i is rows [i*b, (i+1)*b)."""

    def __init__(self, x, y, batch, w=None):
        self.x, self.y, self.w, self.batch = x, y, w, batch
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        s = slice(i * self.batch, (i + 1) * self.batch)
        return (self.x[s], self.y[s]) if self.w is None else (self.x[s], self.y[s], self.w[s])

    def on_epoch_end(self):
        self.epochs_ended += 1


def model(seed=0, metrics=("accuracy",)):
    m = fastnn.Sequential([fastnn.Input(shape=(6,)), Dense(8, activation="tanh"), Dropout(0.1),
                           Dense(1, activation="sigmoid")], seed=seed)
    m.compile("adam", "binary_crossentropy", list(metrics))
    return m


@pytest.mark.parametrize("group_seconds, group_bytes", [(0.05, 64 << 20), (0.0, 64 << 20),
                                                        (1e9, 1000)])
def test_a_dataset_trains_as_the_same_batches_of_arrays_bit_for_bit(monkeypatch, group_seconds,
                                                                     group_bytes):
    # one batch per C call, many per call, or calls cut by the byte cap: same bits
    monkeypatch.setattr(_sources, "GROUP_SECONDS", group_seconds)
    monkeypatch.setattr(_sources, "MAX_GROUP_BYTES", group_bytes)
    x, y = arrays()
    xv, yv = arrays(30, seed=1)
    a, b = model(), model()
    ds = Batches(x, y, 16)  # 6 batches of 16 and one of 4
    ha = a.fit(ds, epochs=3, verbose=0, validation_data=Batches(xv, yv, 7)).history
    hb = b.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
               validation_data=(xv, yv)).history
    assert np.array_equal(a.get_weights()[0], b.get_weights()[0])
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    assert a.optimizer.iterations == b.optimizer.iterations == 21
    assert ha["loss"] == pytest.approx(hb["loss"], rel=1e-12)
    assert ha["accuracy"] == pytest.approx(hb["accuracy"], rel=1e-12)
    assert ha["val_loss"] == pytest.approx(hb["val_loss"], rel=1e-6)
    assert ds.epochs_ended == 3  # the PyDataset's hook ran after every epoch
    assert a.evaluate(Batches(xv, yv, 8), verbose=0) == pytest.approx(
        b.evaluate(xv, yv, verbose=0), rel=1e-6)
    assert np.array_equal(a.predict(Batches(xv, yv, 8)), b.predict(xv))
    assert np.array_equal(a.predict(iter([xv[:10], (xv[10:],)])), b.predict(xv))


def test_a_generator_with_steps_per_epoch_and_weights():
    x, y = arrays()
    w = np.linspace(0.5, 2, len(x))

    def gen():
        for i in itertools.count():
            s = slice((i % 5) * 20, (i % 5 + 1) * 20)
            yield x[s], y[s], w[s]

    a, b = model(), model()
    ha = a.fit(gen(), steps_per_epoch=5, epochs=2, verbose=0).history
    hb = b.fit(x, y, sample_weight=w, batch_size=20, epochs=2, shuffle=False,
               verbose=0).history
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    assert ha["loss"] == pytest.approx(hb["loss"], rel=1e-12)
    assert ha["accuracy"] == pytest.approx(hb["accuracy"], rel=1e-12)
    # class_weight applies per batch as on arrays
    c, d = model(), model()
    c.fit(gen(), steps_per_epoch=5, verbose=0, class_weight={0: 1.0, 1: 3.0})
    d.fit(x, y, sample_weight=w, batch_size=20, shuffle=False, verbose=0,
          class_weight={0: 1.0, 1: 3.0})
    assert all(np.array_equal(p, q) for p, q in zip(c.get_weights(), d.get_weights()))


def test_the_data_is_read_batch_by_batch_never_whole():
    """An endless generator and a dataset claiming 10**12 batches: only the batches
    asked for are ever made (before, fit tried to turn the object into one array)."""
    made = []

    class Huge:
        def __len__(self):
            return 10**12

        def __getitem__(self, i):
            made.append(i)
            rng = np.random.default_rng(i)
            x = rng.standard_normal((32, 6))
            return x, (x[:, 0] > 0).astype(float)

    m = model()
    m.fit(Huge(), steps_per_epoch=4, epochs=2, verbose=0)
    assert made == [0, 1, 2, 3, 0, 1, 2, 3]
    assert m.optimizer.iterations == 8

    def endless():
        rng = np.random.default_rng(0)
        while True:
            x = rng.standard_normal((8, 6))
            yield x, (x[:, 0] > 0).astype(float)

    it = endless()
    m.fit(it, steps_per_epoch=3, epochs=2, verbose=0)
    assert m.optimizer.iterations == 14
    assert m.predict(it, steps=2).shape == (16, 1)


def test_image_batches_build_the_model_and_a_finite_generator_runs_out():
    rng = np.random.default_rng(0)
    batches = [(rng.random((10, 4, 3)), rng.integers(0, 2, 10)) for _ in range(3)]
    m = fastnn.Sequential([Flatten(), Dense(1, activation="sigmoid")], seed=0)
    m.compile("sgd", "binary_crossentropy")
    m.fit(iter(batches), epochs=1, verbose=0)
    assert m._input_shape == (4, 3) and m.optimizer.iterations == 3
    exhausted = iter(batches)
    with pytest.warns(UserWarning, match="ran out of data in epoch 2"):
        h = m.fit(exhausted, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1
    # an iterable object (a data loader) is iterated afresh each epoch
    class Loader:
        def __iter__(self):
            return iter(batches)

    h = m.fit(Loader(), epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2


def test_a_bad_batch_is_reported_and_the_batches_before_stay_applied():
    x, y = arrays()
    bad = x.copy()
    bad[70, 2] = np.nan
    m, ref = model(), model()
    with pytest.raises(ValueError, match=r"fit\(\): argument `x\[4\] x` contains NaN"):
        m.fit(Batches(bad, y, 16), epochs=1, verbose=0)
    ref.fit(x[:64], y[:64], batch_size=16, shuffle=False, verbose=0)  # batches 0-3
    assert all(np.array_equal(p, q) for p, q in zip(m.get_weights(), ref.get_weights()))
    assert m.optimizer.iterations == 4
    with pytest.raises(ValueError, match=r"x\[0\] x has 5 features, but the model expects 6"):
        m.fit(iter([(x[:, :5], y)]), verbose=0)
    with pytest.raises(TypeError, match=r"batch 0 of `x` is not \(x, y\)"):
        m.fit(iter([x]), verbose=0)
    with pytest.raises(ValueError, match=r"`y` is not used when x is a generator"):
        m.fit(iter([(x, y)]), y, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch and validation_steps apply"):
        m.fit(x, y, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match=r"has 7 batches; the steps argument asks for 8"):
        m.fit(Batches(x, y, 16), steps_per_epoch=8, verbose=0)
    p = model(metrics=["auc"])  # epoch metrics are gathered from streams
    assert 0 <= p.fit(Batches(x, y, 16), verbose=0).history["auc"][-1] <= 1


@pytest.mark.parametrize("x", [{"a": 1}, {1, 2}, object(), "abc"])
def test_objects_fastnn_cannot_read_are_refused_clearly(x):
    m = model()
    for call in (lambda: m.fit(x, verbose=0), lambda: m.predict(x),
                 lambda: m.evaluate(x, verbose=0)):
        with pytest.raises(TypeError, match=r"unsupported type for argument `x`\. Expected "
                           r"NumPy arrays \(or array-likes\), a generator or iterator"):
            call()


def test_sparse_matrices_other_than_csr_csc_get_a_hint():
    import scipy.sparse as sparse  # scipy is a dependency of fastnn (its BLAS)
    m = model()
    for x in (sparse.coo_matrix(np.eye(6)), sparse.lil_matrix(np.eye(6)),
              sparse.dok_array(np.eye(6))):
        with pytest.raises(TypeError, match=r"scipy\.sparse matrix in '(coo|lil|dok)' format.*"
                                            r"x\.tocsr\(\)"):
            m.fit(x, np.zeros(6), verbose=0)


def test_frozen_layers_stay_frozen_when_fed_from_a_dataset():
    x, y = arrays()
    a, b = model(), model()
    for m in (a, b):
        m.layers[0].trainable = False
    frozen = a.layers[0].get_weights()
    a.fit(Batches(x, y, 16), epochs=2, verbose=0)
    b.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(a.layers[0].get_weights(), frozen))
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    fresh = model()  # the same initial weights: the unfrozen layer did train
    assert not np.array_equal(a.layers[2].get_weights()[0], fresh.layers[2].get_weights()[0])


def test_a_dataset_runs_under_fits_thread_policy_with_the_same_bits():
    """A step large enough to be split over fastnn's threads (128 x 784 x 128
    multiply-adds, above threads.SINGLE_THREAD_BELOW): the stream takes fit's thread
    policy for its batch size, so its bits are those of fit on the same batches (before,
    it ran single-threaded beside OpenBLAS's own threads, ~8x slower on this machine)."""
    rng = np.random.default_rng(0)
    x = rng.random((640, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 640)

    def make():
        m = fastnn.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                               Dense(10, activation="softmax")], seed=0)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m

    a, b = make(), make()
    a.fit(Batches(x, y, 128), epochs=2, verbose=0)
    b.fit(x, y, batch_size=128, epochs=2, shuffle=False, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
