"""The wheel carries what an install without the source tree needs: the compiled
core, the Cython API (fastnn/capi.pxd, the .pyx and .pxd of fastnn/_kernels) and
py.typed, and no C source.  Built from this checkout by `pip wheel
--no-build-isolation` with this environment's setuptools, Cython and numpy (the
`test` extra brings the first two); setup.py takes the objects from
build/objcache, which the install filled, so this costs seconds.
tools/check_wheel.sh is the whole check: `python -m build`, the wheel installed
in a fresh venv with no compiler, the suite run against it."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts Python processes

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_the_package_data(tmp_path):
    if not (ROOT / "setup.py").is_file():
        pytest.skip("setup.py is not next to the tests (installed without the source tree)")
    for module in ("setuptools", "Cython", "numpy"):
        pytest.importorskip(module)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation",
                          "--no-deps", "--no-cache-dir", "-q", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = tmp_path.glob("fastnn*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("fastnn/py.typed", "fastnn/capi.pxd", "fastnn/_kernels/_core.pyx",
                 "fastnn/_kernels/csrc.pxd", "fastnn/__init__.py", "fastnn/bench/peers/__init__.py"):
        assert name in names, name
    assert [n for n in names if n.startswith("fastnn/_kernels/_core.")
            and n.endswith((".so", ".pyd"))], sorted(names)
    assert not [n for n in names if n.endswith((".c", ".h", ".o"))], sorted(names)
