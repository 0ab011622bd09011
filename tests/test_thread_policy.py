"""fit's thread policy (fastnn/threads.py): while fit runs, OpenBLAS runs one thread
in fit's own thread; a step whose largest product is below SINGLE_THREAD_BELOW
multiply-adds runs serially, a bigger one is split over fastnn's threads (as many as
OpenBLAS's count); the previous count is restored afterwards."""
import numpy as np
import pytest

import fastnn
from fastnn import threads
from fastnn.layers import Dense

setter = threads._openblas_local_threads()
pytestmark = pytest.mark.skipif(
    setter is None, reason="the OpenBLAS fastnn calls has no thread controls here "
                           "(another BLAS, or not Linux): no policy")


def local_threads() -> int:
    """The thread count of the OpenBLAS fastnn calls (one for the process)."""
    return threads._openblas_threads()


@pytest.fixture(autouse=True)
def two_threads_here():
    """This thread's count set to 2 for the test, the original put back after."""
    original = local_threads()
    setter(2)
    if local_threads() != 2:
        setter(original)
        pytest.skip("OpenBLAS runs at most one thread here")
    yield
    setter(original)


class Probe(fastnn.callbacks.Callback):
    """Reads this thread's OpenBLAS thread count while fit runs (callbacks run in
    fit's thread)."""

    def on_epoch_end(self, epoch, logs=None):
        self.seen = local_threads()


def fit_with_probe(units: int, batch: int) -> tuple[int, int]:
    """(OpenBLAS threads of fit's thread during fit, steps fit split over threads)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((512, 32)), rng.integers(0, 2, 512)
    m = fastnn.Sequential([fastnn.Input(shape=(32,)), Dense(units, activation="relu"),
                           Dense(1, activation="sigmoid")], seed=0)
    m.compile("sgd", "binary_crossentropy")
    probe = Probe()
    m.fit(X, y, batch_size=batch, epochs=1, verbose=0, callbacks=[probe])
    return probe.seen, m._fit_net.adapt_state[3]


def test_small_steps_run_serially_big_ones_split_and_the_count_is_restored():
    assert fit_with_probe(16, 64) == (1, 0)  # 64 x 32 x 16 multiply-adds: serial
    assert local_threads() == 2  # restored after fit
    # 512 x 32 x 512 = 8.4 M >= SINGLE_THREAD_BELOW: split over fastnn's threads, with
    # single-threaded products
    assert 512 * 32 * 512 >= threads.SINGLE_THREAD_BELOW
    assert fit_with_probe(512, 512) == (1, 1)  # one step of 512 rows
    assert local_threads() == 2


def test_the_threshold_can_be_lowered_to_split_every_step(monkeypatch):
    monkeypatch.setattr(threads, "SINGLE_THREAD_BELOW", 0)
    assert fit_with_probe(16, 64) == (1, 8)  # 512 rows, batches of 64


def test_restored_when_fit_raises():
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(1, activation="sigmoid")])
    m.compile("sgd", "binary_crossentropy")

    class Boom(fastnn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        m.fit(np.zeros((8, 4)), np.zeros(8), epochs=1, verbose=0, callbacks=[Boom()])
    assert local_threads() == 2
