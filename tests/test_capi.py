"""The Cython API: examples/capi builds against fastnn/capi.pxd alone and
its nogil, OpenMP-parallel loop of forward calls matches predict."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Dropout

pytestmark = pytest.mark.slow  # starts Python processes

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "capi"


@pytest.fixture(scope="module")
def extension(tmp_path_factory):
    pytest.importorskip("Cython")
    if not EXAMPLE.exists():
        pytest.skip("examples/ is not next to the tests")
    build = tmp_path_factory.mktemp("capi")
    for name in ("nogil_predict.pyx", "setup.py"):
        shutil.copy(EXAMPLE / name, build)
    root = str(Path(fastnn.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                         cwd=build, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    sys.path.insert(0, str(build))
    try:
        import nogil_predict
        yield nogil_predict
    finally:
        sys.path.remove(str(build))


def test_nogil_forward_matches_predict(extension):
    m = fastnn.Sequential([fastnn.Input(shape=(20,)), Dense(64, activation="relu"),
                           Dropout(0.5), Dense(32, activation="tanh"),
                           Dense(5, activation="softmax")], seed=4)
    m.build()
    X = np.random.default_rng(0).standard_normal((3000, 20)).astype(np.float32)
    got = extension.predict_rows(m, X)
    want = np.concatenate([m.predict(X[i:i + 1]) for i in range(len(X))])
    assert np.array_equal(got, want)  # row by row: the same single-row code path
    np.testing.assert_allclose(got, m.predict(X), rtol=1e-4, atol=1e-5)  # T6


def test_handle_is_a_snapshot(extension):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(2)], seed=0)
    m.compile("sgd", "mse")
    X = np.ones((4, 3), np.float32)
    handle = m.c_handle()
    before = m.predict(X)
    m.fit(X, np.zeros((4, 2)), epochs=3, verbose=0)
    assert not np.array_equal(m.predict(X), before)
    assert np.array_equal(extension.predict_rows(m, X), m.predict(X))  # a new handle
    class Old:  # hands the first handle out again
        def c_handle(self):
            return handle

    assert np.array_equal(extension.predict_rows(Old(), X), before)  # still the old weights
    with pytest.raises(ValueError, match="float32 rows of 3"):
        extension.predict_rows(m, np.ones((2, 4), np.float32))
