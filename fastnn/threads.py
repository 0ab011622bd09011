"""BLAS threads used by fastnn: ``set_num_threads(n)`` and ``with num_threads(n):``.

fastnn's C loops are single-threaded per call (small products run as direct
loops); its large products go to the BLAS that SciPy ships (OpenBLAS), whose
thread pool this module sizes through `threadpoolctl` — the library
scikit-learn and joblib use for the same purpose.  Parallel workers (joblib,
Dask) should each run one BLAS thread, or they fight for the same cores;
fastnn's scikit-learn estimators set that by themselves in a worker process
(``one_thread_per_worker``).

`threadpoolctl` is optional: it comes with ``pip install "fastnn[sklearn]"``.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from types import ModuleType

from ._validation import check_int


def _threadpoolctl() -> ModuleType:
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        raise ImportError("fastnn.set_num_threads needs threadpoolctl: pip install "
                          "threadpoolctl (it comes with \"fastnn[sklearn]\")") from None
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
