"""Ctrl-C during fit: held over each C chunk of the epoch loop (so the weights, the
optimizer state, the step count and the random streams stay one consistent state),
then reported with where training stopped (fastnn.training uses both)."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Literal


class HeldInterrupt:
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

    def __enter__(self) -> HeldInterrupt:
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
    def held(self) -> Iterator[HeldInterrupt]:
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


def say_interrupted(steps: int, initial_epoch: int, epochs: int, n_batches: int) -> None:
    """The line fit prints on stderr when Ctrl-C (KeyboardInterrupt) stops it: at
    which epoch and batch, from the `steps` (batches) this fit applied, and that
    the model is whole and can train on (see HeldInterrupt)."""
    epoch, batch = divmod(steps, n_batches)
    if batch == 0 and steps:  # a whole epoch done: stopped at its end (a callback, validation)
        where = f"at the end of epoch {initial_epoch + epoch}/{epochs}"
    else:
        where = f"in epoch {initial_epoch + epoch + 1}/{epochs}, after batch {batch} of {n_batches}"
    print(f"fit() interrupted {where}: the model is consistent (weights, optimizer state, "
          "step count and random streams all at that batch) and fit() can continue from "
          "there.", file=sys.stderr, flush=True)
