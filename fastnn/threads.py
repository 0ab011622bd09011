"""BLAS threads used by fastnn: ``set_num_threads(n)`` and ``with num_threads(n):``.

fastnn's C loops are single-threaded per call (small products run as direct
loops); its large products go to the BLAS that SciPy ships (OpenBLAS), whose
thread pool this module sizes through `threadpoolctl` — the library
scikit-learn and joblib use for the same purpose.  Parallel workers (joblib,
Dask) should each run one BLAS thread, or they fight for the same cores;
fastnn's scikit-learn estimators set that by themselves in a worker process
(``one_thread_per_worker``).

`threadpoolctl` is optional: it comes with the ``sklearn`` extra.

The thread policy of ``fit``: a product too small to split well runs faster on
one thread — measured on digits (64-64-10, batch 256, 2 BLAS threads), fit ran
at 0.77 M samples/s with OpenBLAS threading its 1 M multiply-add products and
1.59 M with them on one thread.  So when the largest product of a training step
(batch × inputs × units of a layer) is below ``SINGLE_THREAD_BELOW``
multiply-adds, ``fit`` asks OpenBLAS for one thread *in its own thread only*
(``openblas_set_num_threads_local``, OpenBLAS ≥ 0.3.27) and restores the count
afterwards; other threads of the process keep theirs.  Bigger products (W3's
128 × 784 × 256 = 25.7 M: 1.3× on two threads) keep the pool.  Set
``fastnn.threads.SINGLE_THREAD_BELOW = 0`` to switch the policy off.  Where
SciPy's OpenBLAS does not export that function, nothing changes.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from types import ModuleType

from ._extras import install_hint
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

_local_setter: Callable[[int], int] | None = None
_local_setter_looked = False


def _openblas_local_threads() -> Callable[[int], int] | None:
    """SciPy's OpenBLAS ``openblas_set_num_threads_local`` (per calling thread;
    returns the previous count), found among the loaded libraries, or None."""
    global _local_setter, _local_setter_looked
    if _local_setter_looked:
        return _local_setter
    _local_setter_looked = True
    try:
        import ctypes

        import scipy.linalg.cython_blas  # noqa: F401  (loads the library fastnn calls)

        with open("/proc/self/maps") as maps:  # Linux: where it was loaded from
            paths = {line.split()[-1] for line in maps if "scipy_openblas" in line
                     and "openblas64" not in line and line.rstrip().endswith(".so")}
        for path in sorted(paths):
            fn = getattr(ctypes.CDLL(path), "openblas_set_num_threads_local", None)
            if fn is not None:
                fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                _local_setter = fn
                break
    except (OSError, ImportError):  # another platform or BLAS: no policy
        _local_setter = None
    return _local_setter


@contextlib.contextmanager
def fit_thread_policy(largest_product: int) -> Iterator[None]:
    """One BLAS thread in this thread while a fit whose largest product has
    `largest_product` multiply-adds runs, when that is below SINGLE_THREAD_BELOW."""
    setter = _openblas_local_threads() if largest_product < SINGLE_THREAD_BELOW else None
    if setter is None:
        yield
        return
    previous = setter(1)
    try:
        yield
    finally:
        setter(previous)


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
