"""fit's BLAS thread policy (fastnn/threads.py): a step whose largest product is
below SINGLE_THREAD_BELOW multiply-adds runs with one OpenBLAS thread in fit's own
thread; bigger ones keep the pool; the previous count is restored afterwards."""
import numpy as np
import pytest

import fastnn
from fastnn import threads
from fastnn.layers import Dense

setter = threads._openblas_local_threads()
pytestmark = pytest.mark.skipif(
    setter is None, reason="SciPy's OpenBLAS here has no openblas_set_num_threads_local "
                           "(OpenBLAS < 0.3.27, another BLAS, or not Linux): no policy")


def local_threads() -> int:
    current = setter(1)  # returns the previous count of this thread
    setter(current)
    return current


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


def fit_with_probe(units: int, batch: int) -> int:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((512, 32)), rng.integers(0, 2, 512)
    m = fastnn.Sequential([fastnn.Input(shape=(32,)), Dense(units, activation="relu"),
                           Dense(1, activation="sigmoid")], seed=0)
    m.compile("sgd", "binary_crossentropy")
    probe = Probe()
    m.fit(X, y, batch_size=batch, epochs=1, verbose=0, callbacks=[probe])
    return probe.seen


def test_small_products_run_single_threaded_and_the_count_is_restored():
    assert fit_with_probe(16, 64) == 1  # 64 x 32 x 16 multiply-adds: one thread
    assert local_threads() == 2  # restored after fit
    # 512 x 32 x 512 = 8.4 M >= SINGLE_THREAD_BELOW: the pool stays
    assert 512 * 32 * 512 >= threads.SINGLE_THREAD_BELOW
    assert fit_with_probe(512, 512) == 2


def test_the_policy_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(threads, "SINGLE_THREAD_BELOW", 0)
    assert fit_with_probe(16, 64) == 2


def test_restored_when_fit_raises():
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), Dense(1, activation="sigmoid")])
    m.compile("sgd", "binary_crossentropy")

    class Boom(fastnn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        m.fit(np.zeros((8, 4)), np.zeros(8), epochs=1, verbose=0, callbacks=[Boom()])
    assert local_threads() == 2
