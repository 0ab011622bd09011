"""fastnn is typed: ``python -m mypy src/fastnn`` from the repository root,
with the settings of pyproject.toml's [tool.mypy] (every function annotated, every
body checked), reports nothing.  mypy comes with the ``test`` extra; without it
these tests fail rather than skip, so the check cannot silently vanish.  (Tests
copied beside an installed wheel, with no checkout around them, skip.)

A cold run (no .mypy_cache) takes 5-10 s; later runs reuse the cache."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts Python processes

ROOT = Path(__file__).resolve().parent.parent  # the checkout: pyproject.toml, src/fastnn/


def mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_mypy_is_clean_on_the_package():
    if not (ROOT / "src" / "fastnn").is_dir():
        pytest.skip("src/fastnn/ is not next to the tests (installed without the source tree)")
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / "src" / "fastnn" / "py.typed").is_file()
    result = mypy("src/fastnn", cwd=ROOT)
    report = result.stdout + result.stderr
    # not even a note (an unused setting, an unchecked body): the one success line
    assert result.returncode == 0, report
    assert re.fullmatch(r"Success: no issues found in \d+ source files", report.strip()), report


def test_the_settings_reject_untyped_and_wrong_code(tmp_path):
    """The same settings on a small module with an unannotated function and a
    wrong return type: both are reported (the check above can fail)."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("pyproject.toml is not next to the tests (installed without the source tree)")
    (tmp_path / "sample.py").write_text(
        "def untyped(x):\n"
        "    return x\n"
        "\n"
        "\n"
        "def typed(x: int) -> str:\n"
        "    return x\n")
    result = mypy("--config-file", str(ROOT / "pyproject.toml"), "sample.py", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sample.py:1: error" in result.stdout and "[no-untyped-def]" in result.stdout
    assert "sample.py:6: error" in result.stdout and "[return-value]" in result.stdout
