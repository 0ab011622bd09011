"""What the benchmarks ran on: CPU, instruction sets, BLAS pools and kernels,
versions, where fastnn was built from.  Standard library and NumPy only, plus
threadpoolctl when it is importable."""
from __future__ import annotations

import datetime
import glob
import importlib.util
import os
import platform
import shlex
import subprocess
import sys

from .harness import BLAS_KERNEL_VARS, THREAD_VARS

ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
             "amx_tile", "neon", "asimd", "sve")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    """The SIMD-related flags the CPU reports (from /proc/cpuinfo; [] elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    have = set(line.split(":", 1)[1].split())
                    return [fl for fl in ISA_FLAGS if fl in have]
    except OSError:
        pass
    return []


def limit_blas_threads(threads: int) -> None:
    """Limit the loaded BLAS pools to `threads` (threadpoolctl; nothing without it —
    the child's environment variables already set the limit at load time)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads)


def blas_pools() -> list[dict]:
    """The BLAS / OpenMP pools loaded in this process (threadpoolctl), each with
    its library, version, kernel ('architecture') and thread count; a single
    {'note': ...} when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed: BLAS kernels unknown"}]
    out = []
    for p in threadpool_info():
        path = p.get("filepath") or "?"
        owner = os.path.basename(os.path.dirname(path))  # numpy.libs, scipy.libs, torch/lib...
        owner = owner[:-5] if owner.endswith(".libs") else os.path.basename(
            os.path.dirname(os.path.dirname(path))) if owner == "lib" else owner
        out.append({"api": p.get("user_api"), "lib": p.get("internal_api"),
                    "version": p.get("version"), "architecture": p.get("architecture"),
                    "threads": p.get("num_threads"), "owner": owner,
                    "file": os.path.basename(path)})
    return out


def describe_pool(p: dict) -> str:
    if "note" in p:
        return p["note"]
    arch = f" {p['architecture']}" if p.get("architecture") else ""
    ver = f" {p['version']}" if p.get("version") else ""
    return f"{p.get('owner', '?')}'s {p['lib']}{ver}{arch} ×{p['threads']}"


def threadpool_summary() -> list[str]:
    return [describe_pool(p) for p in blas_pools()]


def fastnn_isa() -> dict:
    """fastnn's instruction-set level in use and the ones this build offers."""
    try:
        from fastnn._kernels import _core
    except ImportError as e:  # reported, not fatal
        return {"in_use": f"fastnn not importable ({e})", "available": []}
    from fastnn import _blas

    lib = _blas.chosen()
    calls = "SciPy's cython_blas" if lib is None else f"{lib['name']}'s OpenBLAS {lib['version']}"
    return {"in_use": str(_core.get_isa()), "available": [str(s) for s in _core.available_isas()],
            "blas": calls}


def build_info() -> str:
    """Where fastnn is imported from, its git commit (or the SNAPSHOT_COMMIT file
    of a frozen copy), whether its sources differ from that commit, and when the
    compiled core was built: fastnn is edited concurrently and results belong
    to one build."""
    spec = importlib.util.find_spec("fastnn")
    if spec is None or not spec.origin:
        return "fastnn not importable"
    package = os.path.dirname(spec.origin)
    root = os.path.dirname(package)
    if os.path.basename(root) == "src":  # a checkout: src/fastnn/
        root = os.path.dirname(root)
    head, dirty = "?", ""
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=False)
        if out.returncode == 0:
            head = out.stdout.strip()
            dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "src",
                                    "csrc", "setup.py"],
                                   capture_output=True, text=True, timeout=10,
                                   check=False).stdout.strip()
        elif os.path.exists(os.path.join(root, "SNAPSHOT_COMMIT")):
            with open(os.path.join(root, "SNAPSHOT_COMMIT")) as f:
                head = f"snapshot of {f.read().strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    sos = glob.glob(os.path.join(package, "_kernels", "_core*.so"))
    built = (datetime.datetime.fromtimestamp(os.path.getmtime(sos[0])).isoformat(timespec="seconds")
             if sos else "?")
    where = "a source checkout" if os.path.exists(os.path.join(root, ".git")) else "installed"
    return (f"{where}, commit {head}"
            f"{' + uncommitted changes in src/, csrc/ or setup.py' if dirty else ''}"
            f", _core built {built}")


def machine_info() -> dict:
    """The machine section of the suite's report (parent process)."""
    from .harness import allowed_cpus

    return {"cpu_model": cpu_model(), "logical_cpus": os.cpu_count(),
            "allowed_cpus": allowed_cpus(), "cpu_flags": cpu_flags(),
            "platform": platform.platform(), "python": platform.python_version(),
            "fastnn_isa": fastnn_isa(), "fastnn_build": build_info(),
            "blas_env": {v: os.environ.get(v) for v in BLAS_KERNEL_VARS}}


# ---------------------------------------------------------------- the scripts' header
def machine_report(thread_note: str, probe: bool = True) -> str:
    """The header every script in benchmarks/ prints."""
    import numpy as np
    import scipy

    try:
        import fastnn
        fv = fastnn.__version__
    except ImportError as e:  # reported, not fatal
        fv = f"not importable ({e})"
    lines = [
        f"date        : {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"command     : {' '.join(shlex.quote(a) for a in ['python', *sys.argv[1:]])}",
        f"cpu         : {cpu_model()}, {os.cpu_count()} logical CPUs",
        f"python      : {platform.python_version()} ({platform.platform()})",
        f"numpy       : {np.__version__}   scipy: {scipy.__version__}   fastnn: {fv}",
        f"fastnn build: {build_info()}",
        "env         : " + ", ".join(f"{v}={os.environ.get(v, '(unset)')}"
                                     for v in THREAD_VARS + BLAS_KERNEL_VARS),
        f"threads     : {thread_note}",
    ]
    lines += [f"  pool      : {s}" for s in threadpool_summary()]
    if probe:
        lines.append(f"cpu probe   : {cpu_availability()}")
    return "\n".join(lines)


_SPIN = """
import time
pc = time.perf_counter
t0 = last = pc(); lost = 0.0; worst = 0.0
while True:
    t = pc()
    g = t - last
    if g > 5e-4:
        lost += g; worst = max(worst, g)
    last = t
    if t - t0 > {secs}:
        break
print(lost / (t - t0), worst)
"""


def cpu_availability(seconds: float = 1.0) -> str:
    """How much CPU time the host really gives: run 1, then 2, busy processes
    for `seconds` and sum the gaps (> 0.5 ms) in their timelines.  On a VM
    whose vCPUs are descheduled by the host this is far from 0 with 2."""
    out = []
    for n in (1, 2):
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN.format(secs=seconds)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(n)]
        res = [tuple(map(float, p.communicate()[0].split())) for p in procs]
        lost = sum(r[0] for r in res) / n
        worst = max(r[1] for r in res)
        out.append(f"{n} busy: {lost:.1%} of time lost in gaps (worst {worst * 1e3:.1f} ms)")
    return "; ".join(out)
