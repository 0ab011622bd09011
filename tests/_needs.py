"""Tests of optional features skip when their package is missing, and say which
extra brings it (the core suite, ``pip install -e ".[test-core]"``, runs without
them; ``.[test]`` has them all)."""
from types import ModuleType

import pytest

# the extra of pyproject.toml that installs each optional package the tests use
EXTRA = {"sklearn": "sklearn", "threadpoolctl": "sklearn", "joblib": "sklearn",
         "distributed": "dask", "dask": "dask", "onnx": "onnx", "onnxruntime": "test",
         "h5py": "test", "pandas": "test", "matplotlib": "plot"}


def needs(module: str) -> ModuleType:
    """`module` imported, or the test skipped with the extra to install."""
    top = module.split(".")[0]
    extra = EXTRA[top]
    package = {"sklearn": "scikit-learn"}.get(top, top)
    return pytest.importorskip(module, reason=f"needs {package}, which the `{extra}` extra "
                                              f"installs: pip install -e \".[{extra}]\"")
