"""Threads used by fastnn: ``set_num_threads(n)`` and ``with num_threads(n):``.

``fit`` runs on fastnn's own threads: each training step whose largest product
(batch × inputs × units of a layer) has at least ``SINGLE_THREAD_BELOW``
multiply-adds is split in C (csrc/fnn_net_par.h) into row chunks — forward, loss
and the backward recursion of those rows — and blocks of each layer's weight
gradient, then the optimizer update by ranges; threads claim the pieces one at a
time from a shared counter, every product is single-threaded, and idle threads
sleep instead of spinning (csrc/fnn_pool.h) — after polling for at most 50 µs
for the step's next loop, which a step issues microseconds apart (a wake-up from
sleep costs a system call and the scheduler's latency at each; the environment
variable ``FASTNN_SPIN_US``, 0 to 10000, read when the threads start, changes the
50 µs; 0 sleeps at once).  Each step measures its speed, and
fit runs the split on all its threads or on one, whichever is faster now
(fnn_adapt): on a machine where another process keeps a core busy, waiting for a
descheduled thread can cost more than the second core gives, and a BLAS that
spins its threads was measured up to 22× slower than itself on one thread.  The
split is the same in both modes, so the result does not depend on that choice,
nor on the thread count (2 or more), nor on other fits running in other threads
(whose steps, if the pool is theirs, are split the same way on one thread).
Smaller steps run serially on one thread: measured on digits (64-64-10, batch
256), splitting 1 M multiply-add products costs more than it gains.

The OpenBLAS fastnn calls (``fastnn._blas``: scipy-openblas32's, else SciPy's) keeps
one process-wide thread count, so while any fit
runs, OpenBLAS runs one thread for the whole process — a ``predict`` in another
thread meanwhile too.

The thread count is the BLAS's (OpenBLAS's ``openblas_get_num_threads``: the CPUs
this process may use by default), which this module sets through `threadpoolctl`
— the library scikit-learn and joblib use for the same purpose.  A ``predict`` of
at least 512 rows and ``SPLIT_PREDICT_ABOVE`` rows × parameters runs on fastnn's
threads too: chunks of 256 rows, each through every layer on one thread, claimed
one at a time, all threads or one as measured — the same output bits for any thread
count.  Smaller predicts, and ``evaluate``, use the BLAS's own threads for their
large products.  Parallel
workers (joblib, Dask) should each run one thread, or they fight for the same
cores; fastnn's scikit-learn estimators set that by themselves in a worker
process (``one_thread_per_worker``).  Where that OpenBLAS's thread controls are not
found (not Linux, or another BLAS), ``fit`` keeps one fastnn thread and the BLAS's
own threads.  Set
``fastnn.threads.SINGLE_THREAD_BELOW`` to change the threshold.

`threadpoolctl` is optional: it comes with the ``sklearn`` extra.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from types import ModuleType

from . import _blas
from ._install_hints import install_hint
from ._validation import check_int


def _threadpoolctl() -> ModuleType:
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        raise ImportError("fastnn.set_num_threads needs threadpoolctl: "
                          + install_hint("sklearn", "threadpoolctl")) from None
    return threadpoolctl


def get_num_threads() -> int:
    """The largest BLAS thread count in use now (1 when no BLAS is loaded)."""
    info = _threadpoolctl().threadpool_info()
    return max([p["num_threads"] for p in info if p["user_api"] == "blas"] or [1])


def set_num_threads(n: int) -> None:
    """Use `n` BLAS threads from now on (for this process)."""
    n = check_int("set_num_threads", "n", n, low=1)
    _threadpoolctl().threadpool_limits(limits=n, user_api="blas")


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """``with fastnn.num_threads(1): ...`` — `n` BLAS threads inside the block, the
    previous setting after it."""
    n = check_int("num_threads", "n", n, low=1)
    with _threadpoolctl().threadpool_limits(limits=n, user_api="blas"):
        yield


SINGLE_THREAD_BELOW = 1 << 22  # multiply-adds of a step's largest product
# rows × parameters from which predict runs on fastnn's threads (chunks of 256 rows,
# each through every layer on one thread: csrc/fnn_net.c fnn_net_predict_par); below,
# one C call on the caller's thread (the BLAS's own threads for large products)
SPLIT_PREDICT_ABOVE = 1 << 24

def _openblas_local_threads() -> Callable[[int], None] | None:
    """The process-wide thread-count setter of the OpenBLAS fastnn calls
    (fastnn._blas: scipy-openblas32's or SciPy's), or None where it is not found.
    The first call also hands it to fastnn's worker threads, which call it with 1
    when they start (a pthreads OpenBLAS keeps one count for the process)."""
    global _local_looked
    lib = _blas.chosen()
    setter = None if lib is None or lib["get_threads"] is None else lib["set_threads"]
    if lib is not None and setter is not None and not _local_looked:
        _local_looked = True
        from ._kernels import _core

        _core.set_blas_threads_setter(lib["set_address"])
    return setter


_local_looked = False


def _openblas_threads() -> int:
    """The process-wide thread count of the OpenBLAS fastnn calls, or 1."""
    lib = _blas.chosen()
    if _openblas_local_threads() is None or lib is None or lib["get_threads"] is None:
        return 1
    return max(1, int(lib["get_threads"]()))


_fits_lock = threading.Lock()
_fits_running = 0
_count_before_fits = 1


@contextlib.contextmanager
def fit_thread_policy(largest_product: int) -> Iterator[int]:
    """The number of fastnn threads a fit whose largest product has `largest_product`
    multiply-adds runs its steps on (yielded), with the BLAS single-threaded
    meanwhile.  Below SINGLE_THREAD_BELOW: 1 (too small to split).  Above it: the
    BLAS thread count (``set_num_threads``; by default the CPUs this process may
    use), and fastnn splits each step itself (csrc/fnn_net_par.h).

    The OpenBLAS fastnn calls (a pthreads build) keeps ONE process-wide thread
    count.  So the count
    is lowered to 1 when the first of any concurrent fits starts and put back when
    the last one ends, and every fit takes its thread count from the value before:
    a fit's products are single-threaded, and its split (hence its bits) does not
    depend on other fits running.  Where its thread controls are not found,
    nothing changes: 1 fastnn thread and OpenBLAS's own threads."""
    global _fits_running, _count_before_fits
    setter = _openblas_local_threads()
    if setter is None:
        yield 1
        return
    with _fits_lock:
        if _fits_running == 0:
            _count_before_fits = _openblas_threads()
            setter(1)
        _fits_running += 1
        count = _count_before_fits
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    try:
        yield 1 if largest_product < SINGLE_THREAD_BELOW else min(count, cpus)
    finally:
        with _fits_lock:
            _fits_running -= 1
            if _fits_running == 0:
                setter(_count_before_fits)


@contextlib.contextmanager
def predict_thread_policy(rows: int, n_params: int) -> Iterator[int]:
    """The number of fastnn threads a predict of `rows` rows runs on (yielded; 0: too
    small to split, one C call as before), with the BLAS single-threaded meanwhile as
    for fit (``fit_thread_policy``, which it shares the count with)."""
    if rows * n_params < SPLIT_PREDICT_ABOVE or rows < 512:
        yield 0
        return
    with fit_thread_policy(SINGLE_THREAD_BELOW) as threads:
        yield threads


def in_worker_process() -> bool:
    """True in a child process of a parallel run (joblib's loky and multiprocessing
    backends, Dask workers)."""
    return multiprocessing.parent_process() is not None


_limited_pid: int | None = None


def one_thread_per_worker() -> None:
    """In a worker process, limit BLAS to one thread, once per process (the limit is
    process-wide, and setting it costs a scan of the loaded libraries).  Does nothing
    in the main process, whose thread count stays the user's."""
    global _limited_pid
    if _limited_pid != os.getpid() and in_worker_process():
        set_num_threads(1)
        _limited_pid = os.getpid()
