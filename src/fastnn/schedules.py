"""Learning-rate schedules (``fastnn.optimizers.schedules``), Keras's formulas,
evaluated per optimizer step **inside the C loop**: a schedule is data the
kernel reads (csrc/fnn_optim.c), not a Python call per batch.  ``step`` is the
optimizer's step count before the update (0 for the first batch).

* ``ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)``:
  ``lr = lr0 · rate^(step / decay_steps)`` (the exponent floored with staircase).
* ``InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)``:
  ``lr = lr0 / (1 + rate · step / decay_steps)``.
* ``PiecewiseConstantDecay(boundaries, values)``: ``values[i]`` for
  ``boundaries[i-1] < step <= boundaries[i]``.
* ``PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=1e-4,
  power=1.0, cycle=False)``: ``(lr0 − end)(1 − s/decay_steps)^power + end``,
  ``s = min(step, decay_steps)`` (with cycle, decay_steps grows to the next
  multiple of itself).
* ``CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
  warmup_steps=0)``: a linear warm-up from lr0 to ``warmup_target`` over
  ``warmup_steps``, then ``peak · ((1 − α)·½(1 + cos(π s/decay_steps)) + α)``,
  ``s = min(step − warmup_steps, decay_steps)``.  Without ``warmup_target`` there is
  no warm-up (``warmup_steps`` is ignored, as in Keras) and peak = lr0.

A plain Python function ``lr(step)`` is accepted too, but it cannot run in C: it
is evaluated at the start of every chunk of batches (about every 50 ms of work)
and ``compile`` warns.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._kernels._core import ScheduleKind as _Kind
from ._kernels._core import ScheduleSettings
from ._validation import check_bool, check_float, check_int, fail

# the kinds of csrc/fnn_optim.h FNN_SCHED_*, as plain ints (read from the C, never written here)
NONE, EXPONENTIAL, INVERSE_TIME, PIECEWISE, POLYNOMIAL, COSINE = (int(k) for k in (
    _Kind.NONE, _Kind.EXPONENTIAL, _Kind.INVERSE_TIME, _Kind.PIECEWISE, _Kind.POLYNOMIAL,
    _Kind.COSINE))

if TYPE_CHECKING:
    from typing import TypeAlias

    from typing_extensions import Self

    CFields: TypeAlias = ScheduleSettings  # what C reads (LearningRateSchedule._c_fields)


class LearningRateSchedule:
    """Base class: ``schedule(step)`` gives the rate; ``_c_fields()`` what C reads."""

    _kind = NONE

    def __call__(self, step: float) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The schedule's constructor arguments, as Keras's ``get_config``."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """A new schedule from :meth:`get_config`'s dict."""
        return cls(**config)

    def _c_fields(self) -> CFields:
        """The schedule's fields of the C struct (fnn_optim's s_*), by name."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


def _positive(name: str, key: str, value: object) -> float:
    return check_float(name, key, value, low=0.0, low_open=True)


class ExponentialDecay(LearningRateSchedule):
    """lr(step) = initial · rate^(step / decay_steps) (floored with ``staircase``)."""
    _kind = EXPONENTIAL

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate = _positive(name, "initial_learning_rate",
                                               initial_learning_rate)
        self.decay_steps = _positive(name, "decay_steps", decay_steps)
        self.decay_rate = _positive(name, "decay_rate", decay_rate)
        self.staircase = check_bool(name, "staircase", staircase)

    def __call__(self, step: float) -> float:
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase
                                                                 else p)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}

    def _c_fields(self) -> CFields:
        return ScheduleSettings(kind=self._kind, init=self.initial_learning_rate,
                                steps=self.decay_steps, rate=self.decay_rate,
                                staircase=self.staircase)


class InverseTimeDecay(ExponentialDecay):
    """lr(step) = initial / (1 + rate · step / decay_steps) (floored with ``staircase``)."""
    _kind = INVERSE_TIME

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: float) -> float:
        p = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate *
                                             (math.floor(p) if self.staircase else p))


class PiecewiseConstantDecay(LearningRateSchedule):
    """lr(step) = values[i] for boundaries[i−1] < step ≤ boundaries[i]."""
    _kind = PIECEWISE

    def __init__(self, boundaries: list[float] | tuple[float, ...],
                 values: list[float] | tuple[float, ...],
                 name: str = "PiecewiseConstantDecay") -> None:
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            fail(name, "invalid boundaries/values", "lists", "boundaries", boundaries,
                 error=TypeError)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"{name}(): expected len(values) == len(boundaries) + 1. "
                             f"Received: {len(boundaries)} boundaries, {len(values)} values.")
        self.boundaries = [check_float(name, "boundaries[i]", b) for b in boundaries]
        if any(b2 <= b1 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"{name}(): boundaries must increase. Received: {boundaries}")
        self.values = [_positive(name, "values[i]", v) for v in values]

    def __call__(self, step: float) -> float:
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values)}

    def _c_fields(self) -> CFields:
        return ScheduleSettings(kind=self._kind, init=self.values[0],
                                boundaries=np.array(self.boundaries, np.float64),
                                values=np.array(self.values, np.float64))


class PolynomialDecay(LearningRateSchedule):
    """lr(step) = (initial − end)(1 − step/decay_steps)^power + end (``cycle`` restarts it)."""
    _kind = POLYNOMIAL

    def __init__(self, initial_learning_rate: float, decay_steps: float,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate = _positive(name, "initial_learning_rate",
                                               initial_learning_rate)
        self.decay_steps = _positive(name, "decay_steps", decay_steps)
        self.end_learning_rate = _positive(name, "end_learning_rate", end_learning_rate)
        self.power = check_float(name, "power", power, low=0.0)
        self.cycle = check_bool(name, "cycle", cycle)

    def __call__(self, step: float) -> float:
        steps = self.decay_steps
        if self.cycle:
            steps = steps * max(1.0, math.ceil(step / steps))
        else:
            step = min(step, steps)
        return ((self.initial_learning_rate - self.end_learning_rate)
                * (1 - step / steps) ** self.power + self.end_learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle}

    def _c_fields(self) -> CFields:
        return ScheduleSettings(kind=self._kind, init=self.initial_learning_rate,
                                steps=self.decay_steps, end=self.end_learning_rate,
                                power=self.power, cycle=self.cycle)


class CosineDecay(LearningRateSchedule):
    """Cosine decay from initial to alpha·initial over decay_steps, after an
    optional linear warm-up to warmup_target over warmup_steps (none without a
    warmup_target: warmup_steps is then ignored, as in Keras)."""
    _kind = COSINE

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = check_float(name, "initial_learning_rate",
                                                 initial_learning_rate, low=0.0)
        self.decay_steps = _positive(name, "decay_steps", decay_steps)
        self.alpha = check_float(name, "alpha", alpha, low=0.0, high=1.0)
        self.warmup_target = None if warmup_target is None else _positive(
            name, "warmup_target", warmup_target)
        self.warmup_steps = check_int(name, "warmup_steps", warmup_steps, low=0)

    def _warm_up(self) -> tuple[float, int]:
        """(peak rate, warm-up steps): no warm-up without a target (Keras)."""
        if self.warmup_target is None:
            return self.initial_learning_rate, 0
        return self.warmup_target, self.warmup_steps

    def __call__(self, step: float) -> float:
        peak, warm = self._warm_up()
        if step < warm:
            return self.initial_learning_rate + (peak - self.initial_learning_rate
                                                 ) * step / warm
        s = min(step - warm, self.decay_steps)
        return peak * ((1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * s / self.decay_steps))
                       + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}

    def _c_fields(self) -> CFields:
        target, warm = self._warm_up()
        return ScheduleSettings(kind=self._kind, init=self.initial_learning_rate,
                                steps=self.decay_steps, alpha=self.alpha,
                                warm_steps=float(warm), warm_target=target)


ALL_OBJECTS_DICT: dict[str, type[LearningRateSchedule]] = {
    c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
                            PolynomialDecay, CosineDecay)}


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """A schedule from ``{"class_name": ..., "config": {...}}`` (names from the table
    above only)."""
    name = config.get("class_name")
    if name not in ALL_OBJECTS_DICT or not isinstance(config.get("config"), dict):
        fail("schedules.deserialize", "unknown schedule", f"one of {sorted(ALL_OBJECTS_DICT)}",
             "class_name", name)
    try:
        return ALL_OBJECTS_DICT[name].from_config(config["config"])
    except TypeError as exc:
        fail("schedules.deserialize", f"invalid config for {name} ({exc})",
             "the schedule's arguments", "config", config["config"], error=TypeError)


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a model file; read back with the
    optimizer's config."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}
