"""No memory growth over repeated fit / predict / evaluate, nor over repeated
failed calls; a model is freed by reference counting, without
the cycle collector, and repeated loads stay flat."""
import contextlib
import copy
import gc
import pickle
import resource
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Dropout


def rss_mib():
    """Current resident set size (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_no_growth_over_repeated_calls():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((256, 32)).astype(np.float32), rng.integers(0, 4, 256)
    m = fastnn.Sequential([fastnn.Input(shape=(32,)), Dense(64, activation="relu"), Dropout(0.2),
                           Dense(4, activation="softmax")], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    bad_y = y.copy()
    bad_y[3] = 9

    def rounds(n):
        for _ in range(n):
            m.fit(X, y, epochs=1, batch_size=32, verbose=0, validation_split=0.1)
            m.predict(X)
            m.predict(X[:1])
            m.evaluate(X, y, verbose=0)
            with pytest.raises(ValueError):
                m.fit(X, bad_y, verbose=0)
            with pytest.raises(ValueError):
                m.predict(X[:, :5])

    rounds(50)  # warm up: caches, first allocations
    gc.collect()
    before = rss_mib()
    refs = sys.getrefcount(m)
    rounds(600)  # a leaked workspace (~20 KiB per fit) would add > 10 MiB
    gc.collect()
    assert rss_mib() - before < 4, "memory grows with repeated calls"
    assert sys.getrefcount(m) == refs


# ----------------------------------------------- freed by reference counting
# A model must not need the cycle collector: a loaded model of 95 MB, loaded 200
# times, peaked at 5.8 GiB when each one waited for the collector (the layers held
# their model, the model's History held it too).  The tests below turn the
# collector off, so only reference counting frees anything, and look for garbage
# with gc.DEBUG_SAVEALL (which keeps what the collector would free in gc.garbage).

@contextlib.contextmanager
def without_cycle_collector():
    """Inside, only reference counting frees objects."""
    gc.collect()  # what earlier tests left, so it cannot be blamed on this one
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cyclic_garbage(run):
    """What the cycle collector would have to free after `run()` (a list of objects;
    empty when reference counting freed everything)."""
    with without_cycle_collector():
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            run()
            gc.collect()  # finds the unreachable objects and keeps them in gc.garbage
            return list(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()


_RNG = np.random.default_rng(0)
_X, _Y = _RNG.standard_normal((64, 4)), _RNG.integers(0, 3, 64)


def _model():
    return fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(6, activation="relu"),
                              Dropout(0.1), Dense(3, activation="softmax")], seed=0)


def _compiled():
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return m


def _fitted(_path=None):
    m = _compiled()
    m.fit(_X, _Y, epochs=2, batch_size=16, verbose=0, validation_split=0.25,
          callbacks=[fastnn.callbacks.EarlyStopping(patience=1, restore_best_weights=True),
                     fastnn.callbacks.ReduceLROnPlateau(patience=1)])
    return m


def _built(_path):
    m = _model()
    m.build()
    return m


def _predicted(_path):
    m = _compiled()
    m.predict(_X)
    m.evaluate(_X, _Y, verbose=0)
    m.get_layer_outputs(_X)
    return m


def _edited(_path):
    m = _fitted()
    m.add(Dense(3, activation="softmax"))
    m.pop()
    m.layers[0].trainable = False
    m.layers[0].set_weights(m.layers[0].get_weights())
    m.train_on_batch(_X, _Y)
    fastnn.clone_model(m)
    return m


def _failed(_path):
    m = _fitted()
    for bad in (lambda: m.fit(_X, _Y + 5, verbose=0), lambda: m.predict(_X[:, :2]),
                lambda: m.set_weights([1])):
        with pytest.raises((ValueError, TypeError)):
            bad()
    return m


def _saved(path):
    m = _fitted()
    m.save(path / "m.fastnn")
    return m


def _loaded(path):
    m = fastnn.load_model(path / "saved.fastnn")
    m.predict(_X)
    return m


def _loaded_and_trained(path):
    m = fastnn.load_model(path / "saved.fastnn")
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.fit(_X, _Y, epochs=1, verbose=0)
    m.evaluate(_X, _Y, verbose=0)
    return m


SCENARIOS = {"built": _built, "fitted": _fitted, "predicted": _predicted, "edited": _edited,
             "failed calls": _failed, "saved": _saved, "loaded": _loaded,
             "loaded, compiled and trained": _loaded_and_trained}
GARBAGE_MARKS: dict = {}  # every scenario leaves no cyclic garbage


@pytest.fixture
def saved_dir(tmp_path):
    _fitted().save(tmp_path / "saved.fastnn")
    return tmp_path


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_model_is_freed_by_reference_counting(scenario, saved_dir):
    with without_cycle_collector():
        m = SCENARIOS[scenario](saved_dir)
        refs = [weakref.ref(m), weakref.ref(m.history) if m.history else None,
                *(weakref.ref(layer) for layer in m.layers)]
        del m
        alive = [r() for r in refs if r is not None and r() is not None]
    assert alive == []


@pytest.mark.parametrize("scenario", [pytest.param(s, marks=GARBAGE_MARKS.get(s, ()))
                                      for s in SCENARIOS])
def test_a_model_leaves_no_cyclic_garbage(scenario, saved_dir):
    garbage = cyclic_garbage(lambda: SCENARIOS[scenario](saved_dir))
    kinds = sorted({getattr(o, "__qualname__", type(o).__qualname__) for o in garbage})
    assert garbage == [], kinds


def test_a_history_and_a_layer_outlive_their_model():
    """They see it through weak references: once it is gone the History's model is
    None and the layer is detached, as a popped layer is (no weights, free to join
    another model)."""
    with without_cycle_collector():
        m = _compiled()
        history = m.fit(_X, _Y, epochs=1, verbose=0)
        layer = m.layers[0]
        assert history.model is m and layer._model is m
        assert [w.shape for w in layer.get_weights()] == [(4, 6), (6,)]
        del m
        assert history.model is None and history.history["loss"]
        assert layer._model is None and layer.kernel is None and layer.get_weights() == []
        again = fastnn.Sequential([fastnn.Input(shape=(4,)), layer])
        again.build()
        assert layer._model is again and layer.kernel.shape == (4, 6)


def test_a_copied_or_pickled_layer_is_detached():
    m = _compiled()
    for copied in (copy.copy(m.layers[0]), copy.deepcopy(m.layers[0]),
                   pickle.loads(pickle.dumps(m.layers[0]))):
        assert copied._model is None and copied.get_config() == m.layers[0].get_config()
        assert fastnn.Sequential([fastnn.Input(shape=(4,)), copied]).layers[0] is copied
    assert m.layers[0]._model is m


def test_repeated_loads_stay_flat_without_the_cycle_collector(tmp_path):
    """20 loads of a 3.4 MB model file with the collector off: the traced peak is
    the new model plus the one it replaces plus the file's read buffers, the same
    after 3 loads as after 20, and nothing is left once the last model is dropped
    (before the loader freed them: 40 model sizes at the 30th load, all of them kept)."""
    path = tmp_path / "big.fastnn"
    m = fastnn.Sequential([fastnn.Input(shape=(64,)), Dense(512, activation="relu"),
                           Dense(512, activation="relu"), Dense(4)], seed=0)
    m.compile("adam", "mse")  # the file holds the weights and Adam's two slots
    X = np.zeros((16, 64), np.float32)
    m.fit(X, np.zeros((16, 4), np.float32), epochs=1, verbose=0)
    m.save(path)
    del m
    size = path.stat().st_size
    assert size > 3 * 2**20
    with without_cycle_collector():
        fastnn.load_model(path).predict(X)  # first use: imports, caches
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            peaks = []
            m = None
            for _ in range(20):
                m = fastnn.load_model(path)
                m.predict(X)
                peaks.append(tracemalloc.get_traced_memory()[1] - base)
            del m
            kept = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
    # a model in memory is 4/3 of its file (weights, gradients, two slots)
    assert peaks[-1] < 4 * size, [p / size for p in peaks]
    assert peaks[-1] - peaks[2] < size / 4, [p / size for p in peaks]
    # (the .npy-header closures of numpy's reader, ~9 KB a load, until it is replaced)
    assert kept < size / 4, kept
