"""The readers/writer discipline of a model: reads
(predict, evaluate, get_weights, save) run together; writes (fit, set_weights, add,
compile, load_weights) wait for running reads and never interleave with one, so no
output is computed from two sets of weights.  Each test reproduces a race the
review found; every output must equal the output of one valid state."""
import threading
import time

import numpy as np
import pytest

import fastnn
from fastnn.callbacks import Callback
from fastnn.layers import Dense


def model(n_in=32, width=256, seed=0, compiled=True):
    m = fastnn.Sequential([fastnn.Input(shape=(n_in,)), Dense(width, activation="tanh"),
                           Dense(4, activation="softmax")], seed=seed)
    if compiled:
        m.compile(fastnn.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    m.build()
    return m


def run_threads(*targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 (reported by the test)
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not errors, repr(errors[0])


@pytest.mark.slow
def test_predict_running_when_fit_starts_sees_only_the_old_weights():
    m = model()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400_000, 32)).astype(np.float32)
    y = rng.integers(0, 4, 2000)
    before = m.predict(X)
    # the fit must start while the predict is inside its C loop: the writer waits for
    # the reader to be counted; should a busy machine keep the writer off the CPU for
    # the whole predict (~0.1 s), the round proves nothing and runs again
    overlapped = 0
    for _ in range(20):
        got, started = {}, threading.Event()

        def reader():
            started.set()
            got["out"] = m.predict(X)  # ~0.1 s of C with the GIL released

        def writer():
            started.wait()
            while not m._guard.readers and "out" not in got:
                time.sleep(1e-4)  # until the predict is inside its C loop (or done)
            if m._guard.readers == 1 and "out" not in got:
                got["overlap"] = True
                m.fit(X[:2000], y, epochs=3, verbose=0)  # starts while the predict runs

        run_threads(reader, writer)
        if got.get("overlap"):
            overlapped += 1
            break
    assert overlapped == 1, "the fit never started while a predict ran (20 rounds)"
    assert np.array_equal(got["out"], before)
    assert not np.array_equal(m.predict(X[:100]), before[:100])  # fit did train


def test_set_weights_racing_predict_gives_old_or_new_never_a_mix():
    m = model(width=512)
    X = np.random.default_rng(1).standard_normal((4000, 32)).astype(np.float32)
    states = [m.get_weights(), [w * 0.5 for w in m.get_weights()]]
    outputs = []
    for s in states:
        m.set_weights(s)
        outputs.append(m.predict(X))
    bad, done, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            out = m.predict(X)
            done.append(1)
            if not any(np.array_equal(out, o) for o in outputs):
                bad.append(out)

    def writer():
        # writes all through the reads, until 150 of them (a cap of 300 s only stops a
        # broken run; a busy machine or a sanitizer build is slower, never wrong)
        i, t_end = 0, time.monotonic() + 300
        while len(done) < 150 and time.monotonic() < t_end:
            m.set_weights(states[i % 2])
            time.sleep(0.0005)  # a tight loop of writes would hold the readers off
            i += 1
        stop.set()

    run_threads(reader, reader, writer)
    assert len(done) >= 150
    assert not bad, f"{len(bad)} of {len(done)} outputs matched neither weight state"


def test_add_racing_predict_never_leaks_an_internal_error():
    m = fastnn.Sequential([fastnn.Input(shape=(16,)), Dense(64, activation="relu"),
                           Dense(8)], seed=2)
    X = np.random.default_rng(2).standard_normal((5000, 16)).astype(np.float32)
    valid = {m.predict(X).tobytes()}
    stop, seen = threading.Event(), []

    def reader():
        while not stop.is_set():
            seen.append(m.predict(X).tobytes())

    def writer():
        for i in range(40):
            m.add(Dense(8, activation="tanh"))
            valid.add(m.predict(X).tobytes())
        stop.set()

    run_threads(reader, reader, writer)
    assert seen and all(s in valid for s in seen)


def test_nested_fit_from_a_callback_raises_and_keeps_the_guard():
    m = model()
    X = np.random.default_rng(3).standard_normal((64, 32))
    y = np.zeros(64, int)
    caught = {}

    class Nested(Callback):
        def on_epoch_end(self, epoch, logs=None):
            with pytest.raises(RuntimeError, match="already running") as info:
                self.model.fit(X, y, verbose=0)
            caught["nested"] = info.value
            other = {}
            t = threading.Thread(target=lambda: other.setdefault("r", _try_predict(m, X)))
            t.start()
            t.join()
            caught["other_thread"] = other["r"]

    m.fit(X, y, epochs=1, verbose=0, callbacks=[Nested()])
    assert "nested" in caught
    assert isinstance(caught["other_thread"], RuntimeError)  # the outer fit still guards
    m.predict(X)  # and after it, reads work again


def _try_predict(m, X):
    try:
        return m.predict(X)
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize("read", ["predict", "evaluate", "get_weights", "save"])
def test_reads_from_another_thread_during_fit_raise(read, tmp_path):
    m = model()
    X = np.random.default_rng(4).standard_normal((64, 32))
    y = np.zeros(64, int)
    result = {}
    calls = {"predict": lambda: m.predict(X), "evaluate": lambda: m.evaluate(X, y, verbose=0),
             "get_weights": m.get_weights, "save": lambda: m.save(tmp_path / "m.fastnn")}

    class Probe(Callback):
        def on_epoch_end(self, epoch, logs=None):
            t = threading.Thread(target=lambda: result.setdefault("r", _try(calls[read])),
                                 daemon=True)
            t.start()
            t.join(5)  # a read that waits for this fit would wait forever
            result.setdefault("r", "still waiting after 5 s")

    m.fit(X, y, epochs=1, verbose=0, callbacks=[Probe()])
    assert isinstance(result["r"], RuntimeError) and "being trained" in str(result["r"])
    calls[read]()  # fine once fit has returned


def _try(fn):
    try:
        return fn()
    except RuntimeError as exc:
        return exc


def test_concurrent_evaluates_run_together():
    m = model(width=1024)
    X = np.random.default_rng(5).standard_normal((10_000, 32)).astype(np.float32)
    y = np.zeros(10_000, int)
    want = m.evaluate(X, y, verbose=0)
    inside = []
    real = m._evaluate_sums

    def spy(*args, **kw):
        inside.append(m._guard.readers)  # reads counted at this moment, this one included
        return real(*args, **kw)

    m._evaluate_sums = spy
    out = []
    barrier = threading.Barrier(3)

    def reader():
        barrier.wait()
        for _ in range(5):
            out.append(m.evaluate(X, y, verbose=0))

    run_threads(reader, reader, reader)
    assert all(o == want for o in out)
    assert max(inside) >= 2  # evaluates overlapped: they do not exclude each other
    assert m._guard.readers == 0 and m._guard.writer == 0


@pytest.mark.slow
def test_stress_predictors_against_a_writer():
    """4 threads predict while one alternates set_weights and fit for ~2 s; every
    output is the output of a state the writer left (reads during fit may raise
    the documented RuntimeError instead)."""
    m = model(width=128)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((2000, 32)).astype(np.float32)
    Xt, yt = rng.standard_normal((512, 32)), rng.integers(0, 4, 512)
    valid = {m.predict(X).tobytes()}
    base = m.get_weights()
    stop = threading.Event()
    seen, refused = [], []

    def reader():
        while not stop.is_set():
            try:
                seen.append(m.predict(X).tobytes())
            except RuntimeError as exc:
                assert "being trained" in str(exc)
                refused.append(1)

    def writer():
        # at least 2 s, and on until the readers have 50 outputs (a busy machine or a
        # sanitizer build slows them: the test is about torn reads, not speed)
        t0, i = time.monotonic(), 0
        while (time.monotonic() < t0 + 2.0 or len(seen) <= 50) and \
                time.monotonic() < t0 + 300:
            if i % 2:
                m.fit(Xt, yt, epochs=1, batch_size=32, verbose=0)
            else:
                m.set_weights([w * (1 + 0.01 * i) for w in base])
            valid.add(m.predict(X).tobytes())
            time.sleep(0.001)
            i += 1
        stop.set()

    run_threads(reader, reader, reader, reader, writer)
    assert len(seen) > 50 and all(s in valid for s in seen)


@pytest.mark.parametrize("call", ["predict", "evaluate"])
def test_predict_and_evaluate_release_the_gil(call):
    """The guarantee behind multi-threaded serving (benchmarks/bench_threads.py
    measures 1.9x for 2 threads on 2 cores): while one thread is inside the C loop
    of a large predict/evaluate, another runs Python freely.  Holding the GIL would
    freeze the counter for the whole call."""
    m = model(n_in=256, width=1024)
    X = np.random.default_rng(7).standard_normal((20_000, 256)).astype(np.float32)
    y = np.zeros(len(X), int)
    run = {"predict": lambda: m.predict(X), "evaluate": lambda: m.evaluate(X, y, verbose=0)}
    run[call]()  # warm up
    t = threading.Thread(target=run[call])
    count = 0
    t.start()
    while t.is_alive():
        count += 1
    t.join()
    assert count > 20_000, f"only {count} Python steps ran beside {call}"
