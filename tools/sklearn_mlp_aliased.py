"""Run scikit-learn's own ``sklearn/neural_network/tests/test_mlp.py`` with
``MLPClassifier``/``MLPRegressor`` aliased to fastnn's estimators (issue 20's
measure).  The installed test file is read, its one import line of the two MLP
classes is replaced by fastnn's, and pytest runs the result from a temporary
directory; nothing of scikit-learn's is copied into this repository.

    python tools/sklearn_mlp_aliased.py            # aliased to fastnn
    python tools/sklearn_mlp_aliased.py --mlp      # the unmodified file, for reference
    python tools/sklearn_mlp_aliased.py -- -k early  # extra pytest arguments after --
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
import sklearn.neural_network

IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor\n"
ALIAS = ("from fastnn.sklearn import FastNNClassifier as MLPClassifier, "
         "FastNNRegressor as MLPRegressor\n")


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    source = Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"
    text = source.read_text()
    if IMPORT not in text:
        raise SystemExit(f"{source}: the import line to alias was not found")
    if "--mlp" not in argv:
        text = text.replace(IMPORT, ALIAS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test_mlp_aliased.py"
        path.write_text(text)
        # scikit-learn's conftest fixture that one case takes (its default seed, 42)
        (Path(tmp) / "conftest.py").write_text(
            "import pytest\n\n\n@pytest.fixture\ndef global_random_seed():\n"
            "    return 42\n")
        return int(pytest.main([str(path), "-q", "-p", "no:cacheprovider", "-rf",
                                "--rootdir", tmp, *extra]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
