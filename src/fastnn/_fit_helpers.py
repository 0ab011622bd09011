"""Helpers of the training loop (fastnn.training): holding Ctrl-C over a C chunk and
saying where it stopped, the stop at a non-finite step, batch hooks, and the checks
of fit's `verbose` and `callbacks` arguments."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Literal

from ._kernels._core import N_SUMS as _N_SUMS
from ._validation import NonFiniteLossError, check_int, fail
from .callbacks import Callback


# the C loop's metric sums (csrc/fnn_common.h): loss, accuracy, mae, mse, then the three
# metrics again unweighted (for compile's `metrics`; `weighted_metrics` use the first)
N_SUMS = _N_SUMS

def stop_at_non_finite(epoch: int, where: str, terminate: bool) -> None:
    """After the C loop stopped before a batch whose loss, gradient or update was not
    finite (fnn_net_train applies no such step, so the weights are those after the
    last applied batch): with TerminateOnNaN print Keras's line and return (the
    caller stops training); otherwise raise NonFiniteLossError.  `where`: "in epoch
    e, after n ... samples"."""
    where += "; the weights are those after the last applied batch"
    if terminate:
        print(f"Epoch {epoch + 1}: invalid loss, terminating training ({where})")
        return
    raise NonFiniteLossError(
        "fit(): the loss became NaN or infinite, or the update would have made a weight "
        f"so ({where}). Lower the learning rate, scale the inputs, or check the targets.")


class _HeldInterrupt:
    """Hold Ctrl-C (SIGINT) while the C epoch loop and its bookkeeping run.

    The C loop runs without the GIL, so Python's handler could only run between
    chunks anyway; but it could run between the kernel's return and the update of
    ``optimizer.iterations`` and leave the two inconsistent.  Entered once per fit,
    it installs a handler that, inside ``held()`` (the batch loop of an epoch), only
    records the signal — the loop stops after the chunk it is in, and at the end of
    ``held()`` the original handler runs (KeyboardInterrupt for the default one),
    with weights, optimizer slots, step count and random streams all at the last
    finished batch — and outside it calls the original handler at once, as if
    fastnn had installed nothing (callbacks, validation).  Installing a handler costs
    ~10 µs (the signal module's enum conversions), too much once per epoch.  Only in
    the main thread (the one signals reach) and only over a Python handler.
    """

    def __enter__(self) -> _HeldInterrupt:
        self.pending: tuple[int, FrameType | None] | None = None
        self.previous: Callable[[int, FrameType | None], Any] | None = None
        self.holding = False
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):
                self.previous = previous
                signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.pending = (signum, frame)
        elif self.previous is not None:
            self.previous(signum, frame)

    @contextlib.contextmanager
    def held(self) -> Iterator[_HeldInterrupt]:
        self.holding = True
        try:
            yield self
        finally:
            self.holding = False
            pending, self.pending = self.pending, None
            if pending is not None and self.previous is not None:
                self.previous(*pending)

    def __exit__(self, *exc: object) -> Literal[False]:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _say_interrupted(steps: int, initial_epoch: int, epochs: int, n_batches: int) -> None:
    """The line fit prints on stderr when Ctrl-C (KeyboardInterrupt) stops it: at
    which epoch and batch, from the `steps` (batches) this fit applied, and that
    the model is whole and can train on (see _HeldInterrupt)."""
    epoch, batch = divmod(steps, n_batches)
    if batch == 0 and steps:  # a whole epoch done: stopped at its end (a callback, validation)
        where = f"at the end of epoch {initial_epoch + epoch}/{epochs}"
    else:
        where = f"in epoch {initial_epoch + epoch + 1}/{epochs}, after batch {batch} of {n_batches}"
    print(f"fit() interrupted {where}: the model is consistent (weights, optimizer state, "
          "step count and random streams all at that batch) and fit() can continue from "
          "there.", file=sys.stderr, flush=True)


def _batch_hooks(cb: Callback) -> bool:
    """Does `cb` define a batch hook (Keras's on_train_batch_* or on_batch_*)?"""
    for name in ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                 "on_batch_end"):
        if name in vars(cb) or (hasattr(type(cb), name)
                                and getattr(type(cb), name) is not getattr(Callback, name, None)):
            return True
    return False


def batches_to_hook(cbs: list[Callback]) -> int:
    """How many batches fit may run in C before a callback needs its exact batch hook
    (``Callback._batches_to_hook``); a large number when none does."""
    wanted = [cb._batches_to_hook() for cb in cbs]
    return min([w for w in wanted if w is not None], default=2**62)


def _call_batch_hook(cb: Callback, when: str, batch: int, logs: dict[str, Any]) -> None:
    getattr(cb, f"on_train_batch_{when}")(batch, logs)
    legacy = getattr(cb, f"on_batch_{when}", None)  # Keras's older name
    if legacy is not None:
        legacy(batch, logs)


def _check_verbose(func: str, verbose: object) -> int:
    """0, 1 or 2; ``"auto"`` is 1, Keras 3's rule (its ProgbarLogger turns "auto"
    into 1 everywhere; tf.keras 2 chose 2 when logging was not interactive).  fastnn's
    1 already writes plain per-epoch lines when stdout is not a terminal."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    return check_int(func, "verbose", verbose, low=0, high=2)


def _check_callbacks(func: str, callbacks: object) -> list[Callback]:
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        fail(func, "invalid type for argument `callbacks`", "a list of Callback objects",
             "callbacks", callbacks, error=TypeError)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            fail(func, "invalid callback", "instances of fastnn.callbacks.Callback",
                 "callback", cb, error=TypeError)
    return list(callbacks)
