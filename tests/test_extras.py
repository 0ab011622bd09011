"""Each optional extra, when missing, fails with an ImportError that says what to
install: the packages by name and the extra from a clone — never
``pip install "fastnn[...]"``, which would fetch the unrelated PyPI project
called fastnn (this one is distributed as fastnn-mlp)."""
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn.layers import Dense

pytestmark = pytest.mark.slow  # starts Python processes

KERAS_FILE = next(iter(sorted((Path(__file__).parent / "data").glob("**/*.keras"))), None)


def _model():
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(1, activation="sigmoid")], seed=0)
    m.build()
    return m


def _assert_hint(message: str, package: str, extra: str) -> None:
    assert f"pip install {package}" in message
    assert f'pip install -e ".[{extra}]"' in message
    assert "fastnn[" not in message and "fastnn-mlp" in message


def test_onnx_export_without_onnx(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError) as err:
        _model().export(tmp_path / "m.onnx", verbose=False)
    _assert_hint(str(err.value), "onnx", "onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.skipif(KERAS_FILE is None, reason="no committed .keras fixture in tests/data")
def test_keras_file_without_h5py(monkeypatch):
    # fastnn reads the HDF5 of a .keras file itself: libhdf5 never sees untrusted bytes
    monkeypatch.setitem(sys.modules, "h5py", None)
    assert fastnn.load_model(str(KERAS_FILE)).count_params() > 0


def test_set_num_threads_without_threadpoolctl(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(ImportError) as err:
        fastnn.set_num_threads(1)
    _assert_hint(str(err.value), "threadpoolctl", "sklearn")


def test_sklearn_module_without_scikit_learn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import fastnn.sklearn\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    _assert_hint(out, '"scikit-learn>=1.6"', "sklearn")


def test_installed_under_the_distribution_name_the_hints_use():
    from importlib.metadata import packages_distributions, version

    from fastnn._install_hints import DISTRIBUTION
    assert DISTRIBUTION in packages_distributions().get("fastnn", [])
    assert version(DISTRIBUTION) == fastnn.__version__
