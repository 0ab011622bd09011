"""What each GEMM candidate costs to install beside fastnn (bench_gemm.py --install-cost).

Size: the bytes on disk of the candidate's distributions and of everything they
require that fastnn (NumPy, SciPy) does not already bring, as installed in this
environment (the files their RECORDs list).  For the OpenBLAS builds that come
with NumPy and SciPy the extra cost is nil; their library file's size is shown.

Time: for each candidate, a throwaway virtual environment gets NumPy and SciPy
first (not timed), then ``pip install --no-cache-dir <packages>`` is timed: the
download from the package index and the install, over this machine's connection.
torch is not timed: its CPU-only wheel comes from PyTorch's own index, and a
plain ``pip install torch`` fetches the CUDA build instead.
"""
from __future__ import annotations

import glob
import importlib.metadata as md
import os
import re
import subprocess
import sys
import tempfile
import time

#: candidate -> distributions to install (empty: comes with fastnn's dependencies)
PACKAGES = {"scipy": [], "numpy": [], "openblas32": ["scipy-openblas32"], "blis": ["blis"],
            "onednn": ["onednn"], "mkl": ["torch"]}
BUNDLED = {"scipy": ("scipy", "scipy.libs/libscipy_openblas*.so*"),
           "numpy": ("numpy", "numpy.libs/libscipy_openblas64_*.so*")}
NOT_TIMED = {"mkl": "not timed (the CPU-only torch wheel is on PyTorch's own index)"}


def _name(req: str) -> str:
    return re.split(r"[ ;<>=!~\[(]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def closure(names: list[str]) -> set[str]:
    """The distributions `names` need, transitively (extras' requirements left out)."""
    seen: set[str] = set()
    todo = [n.lower() for n in names]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        try:
            dist = md.distribution(n)
        except md.PackageNotFoundError:
            continue
        seen.add(n)
        todo += [_name(r) for r in dist.requires or [] if "extra ==" not in r]
    return seen


def dist_bytes(name: str) -> int:
    dist = md.distribution(name)
    total = 0
    for f in dist.files or []:
        p = f.locate()
        if os.path.isfile(p):
            total += os.path.getsize(p)
    return total


def installed_size(key: str) -> str:
    if key in BUNDLED:
        pkg, pattern = BUNDLED[key]
        site = os.path.dirname(os.path.dirname(md.distribution(pkg).locate_file(pkg + "/x")))
        files = glob.glob(os.path.join(site, pattern))
        size = sum(os.path.getsize(f) for f in files)
        return f"0 extra (comes with {pkg}; its library file is {size / 2**20:.0f} MiB)"
    want = PACKAGES[key]
    if not all(_present(n) for n in want):
        return "not installed here"
    extra = closure(want) - closure(["numpy", "scipy"])
    size = sum(dist_bytes(n) for n in extra)
    return f"{size / 2**20:,.0f} MiB ({', '.join(sorted(extra))})"


def _present(name: str) -> bool:
    try:
        md.distribution(name)
        return True
    except md.PackageNotFoundError:
        return False


def install_time(packages: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="fastnn-gemm-venv-") as venv:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "-q",
               "--disable-pip-version-check"]
        subprocess.run(pip + ["install", "numpy", "scipy"], check=True,
                       stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        subprocess.run(pip + ["install", "--no-cache-dir", *packages], check=True,
                       stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        du = subprocess.run(["du", "-sm", venv], capture_output=True, text=True).stdout
        return f"{seconds:.0f} s (the whole venv then: {du.split()[0]} MiB)"


def main() -> None:
    print("| candidate | install size beside fastnn | pip install time (download + install, "
          "no cache) |")
    print("|---|---|---|")
    for key, packages in PACKAGES.items():
        size = installed_size(key)
        if not packages:
            when = "0 (nothing to install)"
        elif key in NOT_TIMED:
            when = NOT_TIMED[key]
        else:
            when = install_time(packages)
        print(f"| {key} | {size} | {when} |", flush=True)
