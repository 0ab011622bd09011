"""Which BLAS fastnn's C code calls (fastnn/_blas.py): scipy-openblas32 when it is
installed, SciPy's own OpenBLAS otherwise or when FASTNN_BLAS=scipy; both give the
same model to float32 rounding, and a wrong FASTNN_BLAS is an error at import."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from fastnn import _blas

pytestmark = pytest.mark.slow  # starts Python processes
HAS_OPENBLAS32 = importlib.util.find_spec("scipy_openblas32") is not None

CHILD = r"""
import numpy as np, fastnn
from fastnn import _blas
from fastnn.layers import Dense
rng = np.random.default_rng(0)
x = rng.standard_normal((512, 64)).astype(np.float32)
y = rng.integers(0, 3, 512)
m = fastnn.Sequential([fastnn.Input(shape=(64,)), Dense(96, activation="relu"),
                       Dense(3, activation="softmax")], seed=0)
m.compile("adam", "sparse_categorical_crossentropy")
m.fit(x, y, batch_size=64, epochs=2, verbose=0)
np.save(__import__("sys").argv[1], m.predict(x, verbose=0))
print(_blas.describe())
"""


def run_child(tmp_path, blas: str) -> tuple[np.ndarray, str]:
    out = tmp_path / f"{blas}.npy"
    env = dict(os.environ, FASTNN_BLAS=blas)
    done = subprocess.run([sys.executable, "-c", CHILD, str(out)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return np.load(out), done.stdout.strip()


def test_an_unknown_choice_is_refused(monkeypatch):
    monkeypatch.setenv("FASTNN_BLAS", "mkl")
    with pytest.raises(ValueError, match="FASTNN_BLAS: expected one of auto, scipy, "
                                         "scipy-openblas32, received 'mkl'"):
        _blas.requested()


@pytest.mark.skipif(not HAS_OPENBLAS32, reason="scipy-openblas32 is not installed here")
def test_the_newer_openblas_is_called_and_agrees_with_scipys(tmp_path):
    newer, said_newer = run_child(tmp_path, "auto")
    scipys, said_scipy = run_child(tmp_path, "scipy")
    assert said_newer.startswith("scipy-openblas32 OpenBLAS 0.3.")
    assert said_scipy.startswith("scipy ") or said_scipy.startswith("SciPy's")
    # two builds of OpenBLAS may sum a product's terms in another order: float32
    # rounding (~6e-8 relative per operation) over 2 epochs of Adam, then softmax
    np.testing.assert_allclose(newer, scipys, rtol=0, atol=1e-4)


def test_the_chosen_library_controls_threads():
    lib = _blas.chosen()
    if lib is None or lib["get_threads"] is None:
        pytest.skip("no OpenBLAS thread controls found here (not Linux?)")
    before = lib["get_threads"]()
    lib["set_threads"](1)
    try:
        assert lib["get_threads"]() == 1
    finally:
        lib["set_threads"](before)
    assert lib["get_threads"]() == before
