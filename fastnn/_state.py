"""The readers/writer discipline of a model's state (a mixin of Sequential).

Reads (predict, evaluate, get_weights, get_layer_outputs, save, c_handle) run
together and release the GIL in C; writes (fit, set_weights, add, compile,
load_weights, the build) are exclusive: a writer holds the model's RLock, raises
its flag in the Cython StateGuard so no new read starts, and waits for the
running reads to finish.  A read that finds another thread writing waits for it,
except during fit(), when it raises RuntimeError.  The thread that writes may
also read (callbacks inside fit).  Never start a write inside a read section of
the same thread: it would wait for itself.
"""
from __future__ import annotations

import contextlib
import threading
import time


class ReadersWriter:
    """Needs ``self._lock`` (an RLock), ``self._guard`` (a _core.StateGuard) and
    ``self._fitting_thread``."""

    @contextlib.contextmanager
    def _reading(self, func: str):
        guard = self._guard
        if not guard.try_read():
            self._wait_to_read(func)
        try:
            yield
        finally:
            guard.end_read()

    def _wait_to_read(self, func: str) -> None:
        while True:
            self._check_not_training(func)
            if self._lock.acquire(timeout=0.005):
                try:  # no other thread writes while we hold the writers' lock
                    if self._guard.try_read():
                        return
                finally:
                    self._lock.release()

    @contextlib.contextmanager
    def _writing(self):
        with self._lock:
            guard, me = self._guard, threading.get_ident()
            if guard.writer == me:  # a write inside a write of this thread (callbacks)
                yield
                return
            guard.writer = me
            try:
                delay = 1e-5
                while guard.readers:  # reads already running finish on the old state
                    time.sleep(delay)
                    delay = min(2 * delay, 1e-3)
                yield
            finally:
                guard.writer = 0


    def _check_not_training(self, func: str) -> None:
        if self._fitting_thread is not None and self._fitting_thread != threading.get_ident():
            raise RuntimeError(f"{func}(): the model is being trained by fit() in another "
                               f"thread; call {func} when fit has returned (or from a "
                               "callback).")
