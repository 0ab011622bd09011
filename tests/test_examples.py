"""The runnable examples run and say what they should."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from ._needs import needs  # noqa: E402

pytestmark = pytest.mark.slow  # starts Python processes

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name, *args):
    if not (EXAMPLES / name).exists():
        pytest.skip("examples/ is not next to the tests")
    root = str(Path(fastnn.__file__).resolve().parent.parent)  # the fastnn under test
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_perceptron_gates():
    out = run("perceptron_gates.py")
    assert "AND: " in out and "predictions=[0, 0, 0, 1]" in out
    assert "predictions=[0, 1, 1, 1]" in out and "XOR" in out


def test_xor_mlp():
    assert "accuracy 1.0" in run("xor_mlp.py")


def test_playground():
    out = run("playground.py", "--hidden", "8", "8", "--epochs", "60")
    assert all(name in out for name in ("circle", "xor", "gaussian", "spiral"))


def test_digits():
    needs("sklearn")
    assert "test accuracy" in run("digits.py")
