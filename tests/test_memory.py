"""fit allocates nothing per batch: the C kernels never call the
allocator (their one workspace is an array fit allocates once), the C epoch loop
allocates no Python memory, and fit's peak does not grow with the number of epochs
or batches.  Its peak beyond the model's own state (weights, gradients and the two
optimizer slots, 4 × parameters) is the workspace — one batch of activations and
deltas — plus the epoch-start copy that a non-finite loss rolls back to (3 ×
parameters) plus per-sample bookkeeping: the shuffle order and the target checks
(tens of bytes a sample, never a copy of x when x is already float32/float64 and
C-contiguous)."""
import pathlib
import re
import tracemalloc
import types

import numpy as np
import pytest

import fastnn
import fastnn.training as training
from fastnn._kernels import _core
from fastnn.layers import Dense

CSRC = pathlib.Path(__file__).resolve().parent.parent / "csrc"


def test_c_kernels_never_allocate():
    if not CSRC.is_dir():
        pytest.skip("csrc/ is not next to the tests (installed without the source tree)")
    sources = sorted(CSRC.glob("*.[ch]"))
    assert sources
    for path in sources:
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(), flags=re.S)  # no comments
        assert not re.search(r"\b(malloc|calloc|realloc|aligned_alloc|alloca)\s*\(", code), path


def model(n_in=64):
    m = fastnn.Sequential([fastnn.Input(shape=(n_in,)), Dense(96, activation="relu"),
                           fastnn.layers.Dropout(0.1), Dense(48, activation="relu"),
                           Dense(10, activation="softmax")], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    return m


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3000, 64)).astype(np.float32), rng.integers(0, 10, 3000)


def fit_peak(m, X, y, **kw):
    tracemalloc.start()
    try:
        m.fit(X, y, verbose=0, **kw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_fit_peak_is_flat_in_epochs_and_bounded(data):
    X, y = data
    m = model()
    m.fit(X, y, epochs=1, batch_size=32, verbose=0)  # slots exist from here on
    peaks = {e: fit_peak(m, X, y, epochs=e, batch_size=32) for e in (1, 3, 9)}
    assert max(peaks.values()) - min(peaks.values()) < 16 * 1024, peaks
    param_bytes = m.count_params() * 4
    ws_bytes = 32 * m._fit_net.ws_units * 4
    # per sample: the shuffle order (8 bytes) and the label checks' float64 copies
    bound = ws_bytes + 3 * param_bytes + 32 * len(X) + 64 * 1024
    assert peaks[9] <= bound, (peaks, bound)


def test_the_c_epoch_loop_allocates_no_python_memory(data, monkeypatch):
    """Every C call of fit (a chunk of batches) runs with no Python allocation left
    behind or made on the way, at any batch count."""
    X, y = data
    m = model()
    seen = []
    real = _core.train

    def train(*args):
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = real(*args)
        current, peak = tracemalloc.get_traced_memory()
        seen.append((peak - before, current - before))
        return out

    shim = types.SimpleNamespace(**{k: getattr(_core, k) for k in dir(_core)
                                    if not k.startswith("__")})
    shim.train = train
    monkeypatch.setattr(training, "_core", shim)
    tracemalloc.start()
    try:
        m.fit(X, y, epochs=2, batch_size=8, verbose=0)  # 375 batches an epoch
    finally:
        tracemalloc.stop()
    assert seen
    # the result tuple (a few small objects) is all a C call may create
    assert max(p for p, _ in seen) < 1024, seen[:5]
    assert max(c for _, c in seen) < 1024, seen[:5]


def test_finite_check_makes_no_temporary(data):
    X, _ = data
    big = np.repeat(X, 4, axis=0)  # 3 MB
    tracemalloc.start()
    try:
        fastnn._validation.check_finite("f", "x", big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4096
    big[5, 7] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity .* at indices \[\(5, 7\)\]"):
        fastnn._validation.check_finite("f", "x", big)
