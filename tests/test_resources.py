"""No memory growth over repeated fit / predict / evaluate, nor over repeated
failed calls (RELIABILITY A10)."""
import gc
import resource
import sys

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
