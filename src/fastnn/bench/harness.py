"""Timing machinery of ``python -m fastnn bench``: child environment, CPU pinning,
quiet windows, and the small timing helpers the scripts in ``benchmarks/`` share.

Design: quiet windows
---------------------
A measurement is a *window*: one block of work (k training epochs, or m
``predict`` calls) timed with ``time.perf_counter``.  The machine is shared,
so around every window the child process reads two kernel counters:

* ``/proc/stat``, one line per CPU: jiffies spent in user, nice, system,
  idle, iowait, irq, softirq and steal — what the whole machine did;
* ``/proc/self/stat``: utime + stime of this process — what *we* did, over all
  our threads (BLAS workers and JIT compiler threads included).

With ``busy = user + nice + system + irq + softirq`` (guest time is already
inside user) and Δ the change over the window:

    foreign_ours  = Σ_{c in our CPUs} Δbusy_c − Δown    other work on the CPUs we are pinned to
    foreign_other = Σ_{c not ours}    Δbusy_c           other work on the remaining CPUs
    steal         = Σ_{c in our CPUs} Δsteal_c          the hypervisor ran someone else on our vCPUs

The subtraction is sound because every child is pinned (``sched_setaffinity``,
inherited from the parent at spawn, before any thread exists) to its CPU set,
so all of Δown was spent on "our" CPUs.  The window is *disturbed* when

    foreign_ours > 5 % of the window,  or  steal > 5 %,  or  foreign_other > 25 %,

each plus an allowance of ``SLACK_TICKS`` jiffies: the four readings are
tick-quantised (USER_HZ, 100/s on Linux), so a quiet window can show a couple
of stray jiffies.  Work on the *other* CPUs counts too, with a looser bound,
because it slows ours through the shared cache and memory bandwidth and, on a
VM, through the host's scheduling of sibling vCPUs (benchmarks/README.md
measured 40-50 % lost time on the 2-vCPU CI machine when both were busy).

A disturbed window is redone, at most ``max_retries`` times; after that the
last attempt is kept and *flagged*, and the report counts flagged windows.
The resolution is one jiffy, so short windows (``--quick``) are judged
coarsely: at 0.15 s the allowance alone is 20 % of the window.  Without
/proc (not Linux) windows are kept and marked unchecked.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import time
from dataclasses import dataclass

#: environment variables that size the BLAS / OpenMP thread pools of every framework
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: variables that force OpenBLAS's kernel choice; users normally do not have them
BLAS_KERNEL_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

OURS_FRAC = 0.05     # of the window: foreign work allowed on our CPUs (and steal)
OTHER_FRAC = 0.25    # of the window: foreign work allowed on the other CPUs
SLACK_TICKS = 3      # jiffies of quantisation allowance per criterion


# ---------------------------------------------------------------- child environment
def xla_flags(threads: int) -> str:
    """XLA:CPU thread settings for `threads` (JAX reads them once, at import)."""
    if threads == 1:
        return "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}"


def child_env(base: dict, threads: int, keep_blas_env: bool) -> dict:
    """The environment of a child: thread limits for every framework set before
    anything is imported, and (unless `keep_blas_env`) OpenBLAS free to pick the
    kernel for this CPU as it would on a user's machine."""
    env = dict(base)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["XLA_FLAGS"] = xla_flags(threads)
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"  # XLA's start-up chatter
    if not keep_blas_env:
        for var in BLAS_KERNEL_VARS:
            env.pop(var, None)
    return env


def allowed_cpus() -> list[int]:
    """CPUs this process may run on (all of them where affinity is unsupported)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def pick_cpus(threads: int, allowed: list[int]) -> list[int]:
    """The last `threads` CPUs of `allowed` (CPU 0 takes most interrupts)."""
    if threads > len(allowed):
        raise ValueError(f"{threads} threads requested but only {len(allowed)} CPUs "
                         f"are available ({allowed})")
    return sorted(allowed)[-threads:]


@contextlib.contextmanager
def spawn_affinity(cpus):
    """Give the calling thread the CPU set `cpus` while a child is spawned: the
    child inherits it before its first instruction, so every thread it creates
    (BLAS pools, JIT workers) stays inside the set."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


# ---------------------------------------------------------------- /proc readings (pure)
@dataclass(frozen=True)
class CpuReading:
    """One reading of the counters: per-CPU busy and steal jiffies, our own
    CPU jiffies, and the perf_counter time it was taken at."""
    busy: dict
    steal: dict
    own: int
    t: float


def parse_proc_stat(text: str) -> tuple[dict, dict]:
    """({cpu: busy jiffies}, {cpu: steal jiffies}) from the text of /proc/stat."""
    busy, steal = {}, {}
    for line in text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *vals = line.split()
        v = [int(x) for x in vals] + [0] * max(0, 8 - len(vals))
        cpu = int(name[3:])
        busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq
        steal[cpu] = v[7]
    return busy, steal


def parse_own_ticks(text: str) -> int:
    """utime + stime (jiffies) from the text of /proc/<pid>/stat.  The command
    name (field 2) may contain spaces and parentheses: split after the last ')'."""
    rest = text.rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # fields 14 and 15; rest[0] is field 3


@dataclass(frozen=True)
class Verdict:
    disturbed: bool
    foreign_ours_s: float
    foreign_other_s: float
    steal_s: float
    reason: str


def judge_window(before: CpuReading, after: CpuReading, cpus, hz: int = 100,
                 ours_frac: float = OURS_FRAC, other_frac: float = OTHER_FRAC,
                 slack_ticks: int = SLACK_TICKS) -> Verdict:
    """Was the window between two readings disturbed by other processes?  See
    the module docstring for the rule."""
    cpus = set(cpus)
    d = {c: after.busy[c] - before.busy.get(c, 0) for c in after.busy}
    own = after.own - before.own
    ours = max(0, sum(v for c, v in d.items() if c in cpus) - own)
    other = max(0, sum(v for c, v in d.items() if c not in cpus))
    steal = max(0, sum(after.steal[c] - before.steal.get(c, 0) for c in after.steal
                       if c in cpus))
    wall_ticks = max(0.0, after.t - before.t) * hz
    reasons = []
    if ours > ours_frac * wall_ticks + slack_ticks:
        reasons.append(f"other processes on our CPUs {ours / hz:.3f} s")
    if steal > ours_frac * wall_ticks + slack_ticks:
        reasons.append(f"steal {steal / hz:.3f} s")
    if other > other_frac * wall_ticks + slack_ticks:
        reasons.append(f"other CPUs busy {other / hz:.3f} s")
    return Verdict(bool(reasons), ours / hz, other / hz, steal / hz, "; ".join(reasons))


class Sampler:
    """Reads the counters (None readings where /proc is missing)."""

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.ok = os.path.exists("/proc/stat") and os.path.exists("/proc/self/stat")

    def read(self) -> CpuReading | None:
        if not self.ok:
            return None
        with open("/proc/self/stat") as f:
            own = parse_own_ticks(f.read())
        with open("/proc/stat") as f:
            busy, steal = parse_proc_stat(f.read())
        return CpuReading(busy, steal, own, time.perf_counter())


def run_windows(work, n_windows: int, max_retries: int, cpus, sampler: Sampler | None = None):
    """Time `work()` in `n_windows` quiet windows.  Returns one dict per kept
    window: seconds, retries (disturbed attempts thrown away), flagged (kept
    although disturbed), the last attempt's foreign/steal seconds and reason."""
    sampler = sampler or Sampler()
    pc = time.perf_counter
    out: list[dict[str, object]] = []
    for _ in range(n_windows):
        retries = 0
        while True:
            before = sampler.read()
            t0 = pc()
            work()
            t1 = pc()
            after = sampler.read()
            if before is None or after is None:
                out.append({"seconds": t1 - t0, "retries": retries, "flagged": False,
                            "checked": False})
                break
            v = judge_window(before, after, cpus, sampler.hz)
            if v.disturbed and retries < max_retries:
                retries += 1
                continue
            out.append({"seconds": t1 - t0, "retries": retries, "flagged": v.disturbed,
                        "checked": True, "foreign_ours_s": v.foreign_ours_s,
                        "foreign_other_s": v.foreign_other_s, "steal_s": v.steal_s,
                        "reason": v.reason})
            break
    return out


def calls_for(fn, target: float, max_n: int = 1 << 22) -> int:
    """How many calls of fn() fill about `target` seconds (at least 1)."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target / 4 or n >= max_n:
            return max(1, min(max_n, round(n * target / max(dt, 1e-9))))
        n *= 8 if dt < target / 64 else 2


def summarize(values) -> dict:
    """median / min / max of a list of per-window figures."""
    return {"median": float(statistics.median(values)), "min": float(min(values)),
            "max": float(max(values)), "n": len(values)}


# ---------------------------------------------------------------- helpers of benchmarks/*.py
def thread_limits(n: int | None):
    """(context manager, note) limiting BLAS/OpenMP threads to n in this process
    through threadpoolctl.  n=None limits nothing.  Without threadpoolctl nothing
    is set (OpenBLAS reads its environment variables only when it loads, so
    setting them now would change nothing) and the note says so."""
    if n is None:
        return contextlib.nullcontext(), "not limited (library defaults)"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext(), (f"--threads {n} requested but threadpoolctl is not "
                                          "importable: nothing was set")
    return threadpool_limits(limits=n), f"limited to {n} via threadpoolctl"


def quiesce(seconds: float = 0.2) -> None:
    """Let idle BLAS worker threads go to sleep before a timed block.

    fastnn calls SciPy's OpenBLAS and NumPy code calls NumPy's own OpenBLAS:
    two thread pools.  An OpenBLAS worker busy-waits after its last call
    (measured from /proc/self/task/*/stat: about 110 ms of CPU), so when
    timing switches from one library to the other, the idle pool would still
    occupy one of the CPUs.  Every timed block of the scripts starts after this
    pause; the suite runs each framework in its own process instead."""
    time.sleep(seconds)


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
    return calls_for(fn, target, max_n)


def per_call(fn, n: int, repeats: int) -> list[float]:
    """Seconds per call, one value per block of n calls."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n)
    return out
