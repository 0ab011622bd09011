"""The readers/writer discipline of a model's state (a mixin of Sequential).

Reads (predict, evaluate, get_weights, get_layer_outputs, save, c_handle) run
together and release the GIL in C; writes (fit, set_weights, add, compile,
load_weights, the build) are exclusive: a writer holds the model's RLock, raises
its flag in the Cython StateGuard so no new read starts, and waits for the
running reads to finish.  A read that finds another thread writing waits for it,
except during fit(), when it raises RuntimeError.  The thread that writes may
also read (callbacks inside fit).  Never start a write inside a read section of
the same thread: it would wait for itself.

``SequentialAttributes`` (below) declares, for the type checker, what the parts of
Sequential share; it adds nothing at run time.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._kernels import _core

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

    from .callbacks import History
    from .layers import Dense, Layer
    from .metrics import Metric
    from .models import Sequential
    from .optimizers import Optimizer


class ReadersWriter:
    """The model's lock (an RLock), its ``_core.StateGuard`` and the thread inside
    fit, set by ``__init__``."""

    _lock: threading.RLock
    _guard: _core.StateGuard
    _fitting_thread: int | None  # ident of the thread inside fit(), if any

    def __init__(self) -> None:
        self._lock = threading.RLock()  # held by every write; re-entrant for callbacks
        self._guard = _core.StateGuard()  # counts reads, flags the writer (see _reading)
        self._fitting_thread = None

    @contextlib.contextmanager
    def _reading(self, func: str) -> Iterator[None]:
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
    def _writing(self) -> Iterator[None]:
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
                guard.writes += 1  # what was derived from the old weights is stale
                guard.writer = 0


    def _check_not_training(self, func: str) -> None:
        if self._fitting_thread is not None and self._fitting_thread != threading.get_ident():
            raise RuntimeError(f"{func}(): the model is being trained by fit() in another "
                               f"thread; call {func} when fit has returned (or from a "
                               "callback).")


class SequentialAttributes(ReadersWriter):
    """What the parts of :class:`fastnn.Sequential` (Trainer, TrainingChecks, ModelIO)
    share: the attributes ``Sequential.__init__`` sets and the methods of Sequential
    they call, declared here for the type checker only (annotations create no
    attribute; the methods exist only while type checking)."""

    name: str
    dtype: np.dtype[Any]
    seed: int
    _layers: list[Layer]
    _input_dim: int | None
    _input_shape: tuple[int, ...] | None  # one sample's shape when it is not flat
    # the flat buffers: parameters, gradients, the optimizer's two state slots
    _params: np.ndarray | None
    _grads: np.ndarray | None
    _slots: tuple[np.ndarray, np.ndarray] | None
    _dense_inputs: dict[Layer, int]  # each Dense or normalization layer's n_in
    _net: _core.Net | None       # the inference plan
    _fit_net: _core.Net | None   # the training plan (differs with a from_logits loss)
    optimizer: Optimizer | None
    loss: str | None
    _loss_id: int | None
    _metric_objs: list[Metric]
    _metric_weighted: list[bool]  # per metric: from compile's weighted_metrics
    _from_logits: bool
    _acc_kind: int
    _want_err: bool
    history: History | None
    stop_training: bool
    _rng: dict[int, np.ndarray]  # STREAM_* -> the C generator's state
    _scratch_arrays: dict[str, np.ndarray]  # fit's work arrays, kept between calls

    if TYPE_CHECKING:  # defined by Sequential (fastnn/models.py)
        @property
        def _dense(self) -> list[Dense]: ...
        @property
        def _stages(self) -> list[Layer]: ...
        @staticmethod
        def _offsets_of(layer: Layer) -> list[int]: ...
        def _set_dense_weights(self, weights: Sequence[ArrayLike]) -> None: ...
        @classmethod
        def _file_class(cls) -> type[Sequential]: ...
        @property
        def built(self) -> bool: ...
        def _build(self, input_dim: int) -> None: ...
        def _in_shape(self) -> tuple[int, ...] | None: ...
        def _set_input_shape(self, shape: tuple[int, ...] | None) -> None: ...
        def _make_net(self) -> None: ...
        def _plan(self, weighted: bool = False, training: bool = False) -> _core.Net: ...
        def _ensure_built(self, func: str) -> None: ...
        def _ensure_built_locked(self, func: str) -> None: ...
        def predict(self, x: ArrayLike, batch_size: int | None = None,
                    verbose: Literal["auto"] | int = 0) -> np.ndarray: ...
