"""How fit calls its callbacks: the check of its `callbacks` argument, which
callbacks need an exact batch hook (and so how many batches may run in C before
one), and the call of a batch hook under Keras's current and older names."""
from __future__ import annotations

from typing import Any

from ._validation import fail
from .callbacks import Callback


def check_callbacks(func: str, callbacks: object) -> list[Callback]:
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


def has_batch_hooks(cb: Callback) -> bool:
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


def call_batch_hook(cb: Callback, when: str, batch: int, logs: dict[str, Any]) -> None:
    getattr(cb, f"on_train_batch_{when}")(batch, logs)
    legacy = getattr(cb, f"on_batch_{when}", None)  # Keras's older name
    if legacy is not None:
        legacy(batch, logs)
