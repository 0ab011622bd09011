"""A folder named ``fastnn`` in the current directory does not hide fastnn.

Python puts the current directory first on ``sys.path``; a directory there named
``fastnn`` without an ``__init__.py`` (typically the clone itself, seen from the
folder that holds it) is a namespace-package portion.  With the package at the
top of the checkout, setuptools' editable install resolved ``fastnn`` through a
finder placed after Python's path finder, so the empty namespace package won
(``AttributeError: module 'fastnn' has no attribute 'Sequential'``).  The
package now lives in ``src/``, which an editable install puts on ``sys.path``
itself, and a regular package found anywhere on the path beats a namespace
portion.  These run a fresh interpreter from such a folder."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts Python processes


def _run(args, cwd):
    env = dict(os.environ)
    env.pop("PYTHONSAFEPATH", None)  # keep the current directory on sys.path, as a user's shell
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("content", ["empty", "a clone's top level"])
def test_import_from_a_folder_holding_a_fastnn_directory(tmp_path, content):
    shadow = tmp_path / "fastnn"
    shadow.mkdir()
    if content != "empty":  # what a clone's folder holds at its top: no __init__.py
        for name in ("README.md", "setup.py", "pyproject.toml"):
            (shadow / name).write_text("")
        (shadow / "src").mkdir()
        (shadow / "tests").mkdir()
    code = ("import fastnn; print(fastnn.Sequential.__name__, fastnn.__file__ is not None, "
            "type(fastnn.__path__).__name__)")
    out = _run(["-c", code], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Sequential", "True", "list"], out.stdout  # not _NamespacePath


def test_command_line_from_a_folder_holding_a_fastnn_directory(tmp_path):
    (tmp_path / "fastnn").mkdir()
    out = _run(["-m", "fastnn", "--version"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("fastnn"), out.stdout
