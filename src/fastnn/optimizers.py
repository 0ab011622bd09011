"""Optimizers: one fused C update over the flat parameter buffer per batch.

Keras's defaults and update rules (η = learning_rate, g the gradient, t the
step count after this step):

* ``SGD(0.01, momentum=0.0, nesterov=False)``:
  ``w −= η g``; with momentum ``v = μ v − η g; w += v``; Nesterov
  ``v = μ v − η g; w += μ v − η g``.
* ``RMSprop(0.001, rho=0.9, momentum=0.0, epsilon=1e-7)``:
  ``v = ρ v + (1 − ρ) g²; w −= η g / √(v + ε)`` (ε inside the root, as Keras 3);
  with momentum ``m = μ m + η g / √(v + ε); w −= m``.
* ``Adam(0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``:
  ``m += (1 − β1)(g − m); v += (1 − β2)(g² − v);
  w −= η √(1 − β2ᵗ) / (1 − β1ᵗ) · m / (√v + ε)`` — ε is added after the bias
  correction ("epsilon hat" in Kingma & Ba, Keras's placement).
* ``AdamW(0.001, weight_decay=0.004, ...)``: ``w −= η λ w`` before the Adam step
  (decoupled weight decay, applied to every parameter).
* ``Adagrad(0.001, initial_accumulator_value=0.1, epsilon=1e-7)``:
  ``s += g²; w −= η g / √(s + ε)``.
* ``Nadam(0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``: Adam with Nesterov
  momentum and Keras's momentum schedule μ_t = β1 (1 − ½·0.96^(0.004 t)).
* ``Adamax(0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)``: ``u = max(β2 u, |g|);
  w −= η/(1 − β1ᵗ) · m/(u + ε)``.

Every optimizer takes Keras's gradient clipping: ``clipnorm`` (each weight
tensor's gradient to norm <= clipnorm), ``global_clipnorm`` (all of them
together), ``clipvalue`` (each element to [−clipvalue, clipvalue]) — applied in
the C loop before the update, in that order.  ``clipnorm`` and
``global_clipnorm`` cannot both be set.

Names are case-insensitive: ``compile(optimizer="Adam")``.  The state (moments,
velocities, step count) persists across ``fit`` calls and is reset by ``compile``.
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from . import schedules
from ._kernels._core import OptimizerId as _Id
from ._kernels._core import OptimizerSettings
from ._registry import FromConfig, from_config_dict, resolve
from ._validation import check_bool, check_float

if TYPE_CHECKING:
    from typing import TypeAlias

    # a rate, a schedule (or its config), or a Python function of the step count
    LearningRate: TypeAlias = (float | schedules.LearningRateSchedule | dict[str, Any]
                               | Callable[[int], float])

# the ids of csrc/fnn_common.h FNN_OPT_*, as plain ints (read from the C, never written here)
SGD_ID, RMSPROP_ID, ADAM_ID, ADAMW_ID, ADAGRAD_ID, NADAM_ID, ADAMAX_ID = (int(i) for i in (
    _Id.SGD, _Id.RMSPROP, _Id.ADAM, _Id.ADAMW, _Id.ADAGRAD, _Id.NADAM, _Id.ADAMAX))
_CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")


def nadam_u_product(t: int, beta_1: float) -> float:
    """Π_{s=1..t} β1 (1 − ½·0.96^(0.004 s)): Nadam's momentum product after t steps."""
    if t <= 0:
        return 1.0
    s = np.arange(1, t + 1, dtype=np.float64)
    return float(np.exp(np.sum(np.log(beta_1 * (1.0 - 0.5 * 0.96 ** (0.004 * s))))))


class Optimizer(FromConfig):
    """Base class.  Subclasses define `_kind`, their hyper-parameters and slots."""

    _kind: int
    _n_slots: int = 0
    clipnorm: float | None         # set in __init__ (setattr over _CLIPS)
    clipvalue: float | None
    global_clipnorm: float | None
    _learning_rate: float | None   # a constant rate, else None (set by _set_rate)

    def __init__(self, learning_rate: LearningRate, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 **keras_only: Any) -> None:
        if keras_only:  # amsgrad, use_ema, weight_decay outside AdamW, loss_scale_factor...
            known = [p for p in inspect.signature(type(self).__init__).parameters
                     if p not in ("self", "clipping", "keras_only")]
            raise TypeError(
                f"{type(self).__name__}(): fastnn's C update has no "
                f"{', '.join(sorted(keras_only))} (Keras options fastnn does not "
                f"implement). Expected arguments among {known + list(_CLIPS)}. "
                f"Received: {', '.join(f'{k}={v!r}' for k, v in keras_only.items())}")
        self._schedule: schedules.LearningRateSchedule | None = None
        self._lr_function: Callable[[int], float] | None = None
        self._set_rate(learning_rate)
        self.iterations = 0
        name = type(self).__name__
        for key, value in zip(_CLIPS, (clipnorm, clipvalue, global_clipnorm)):
            setattr(self, key, None if value is None else
                    check_float(name, key, value, low=0.0, low_open=True))
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(f"{name}(): give clipnorm or global_clipnorm, not both. "
                             f"Received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}")
        self._u_cache = (0, 1.0)

    def _set_rate(self, value: LearningRate) -> None:
        name = type(self).__name__
        if isinstance(value, dict):
            value = schedules.deserialize(value)
        if isinstance(value, schedules.LearningRateSchedule):
            self._schedule, self._learning_rate = value, None
        elif callable(value) and not isinstance(value, (int, float)):
            warnings.warn(f"{name}(): a Python function as learning_rate cannot run in the "
                          "C loop; it is evaluated at the start of every chunk of batches "
                          "(about every 50 ms of work). Use a schedule from "
                          "fastnn.optimizers.schedules for a per-step rate.", UserWarning,
                          stacklevel=4)
            self._lr_function, self._learning_rate = value, None
        else:
            self._learning_rate = check_float(name, "learning_rate", value, low=0.0,
                                              low_open=True)

    @property
    def learning_rate(self) -> float:
        """The step size of the next step (a schedule's value at the current step
        count); settable between epochs (callbacks do) unless it is a schedule."""
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        if self._lr_function is not None:
            return check_float(type(self).__name__, "learning_rate(step)",
                               self._lr_function(self.iterations), low=0.0, low_open=True)
        assert self._learning_rate is not None  # _set_rate sets one of the three
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        if self._schedule is not None and not isinstance(value, schedules.LearningRateSchedule):
            raise TypeError(f"{type(self).__name__}: this optimizer's learning rate is the "
                            f"schedule {self._schedule!r}, which cannot be set. Received: "
                            f"learning_rate={value!r}")
        self._schedule = self._lr_function = None
        self._set_rate(value)

    def _rate_config(self) -> float | dict[str, Any] | Callable[[int], float]:
        if self._schedule is not None:
            return schedules.serialize(self._schedule)
        if self._lr_function is not None:
            return self._lr_function
        assert self._learning_rate is not None  # _set_rate sets one of the three
        return self._learning_rate

    # hyper-parameters as the C struct fnn_optim wants them
    def _c_params(self) -> OptimizerSettings:
        def g(k: str, d: float = 0.0) -> float:
            return float(getattr(self, k, d))

        u = 1.0
        if self._kind == NADAM_ID:
            if self._u_cache[0] != self.iterations:
                self._u_cache = (self.iterations, nadam_u_product(self.iterations,
                                                                  g("beta_1")))
            u = self._u_cache[1]
        clipnorm, clipvalue, global_clipnorm = (float(getattr(self, k) or 0.0) for k in _CLIPS)
        return OptimizerSettings(
            kind=self._kind, nesterov=bool(getattr(self, "nesterov", False)),
            lr=self.learning_rate, momentum=g("momentum"), rho=g("rho"), beta_1=g("beta_1"),
            beta_2=g("beta_2"), epsilon=g("epsilon", 1e-7), weight_decay=g("weight_decay"),
            iterations=int(self.iterations), clipnorm=clipnorm, clipvalue=clipvalue,
            global_clipnorm=global_clipnorm, u_product=u,
            schedule=None if self._schedule is None else self._schedule._c_fields())

    def _clip_config(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _CLIPS if getattr(self, k) is not None}

    def _init_slots(self, n: int, dtype: DTypeLike) -> tuple[np.ndarray, np.ndarray]:
        """Fresh state slots for n parameters."""
        return np.zeros(n, dtype), np.zeros(n, dtype)

    def get_config(self) -> dict[str, Any]:
        """The optimizer's constructor arguments (the learning rate or its schedule)."""
        raise NotImplementedError



class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum to pass local minima."""

    _kind = SGD_ID

    def __init__(self, learning_rate: LearningRate = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, **clipping: float | None) -> None:
        super().__init__(learning_rate, **clipping)
        self.momentum = check_float("SGD", "momentum", momentum, low=0.0, high=1.0,
                                    high_open=True)
        self.nesterov = check_bool("SGD", "nesterov", nesterov)

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self._rate_config(), "momentum": self.momentum,
                "nesterov": self.nesterov, **self._clip_config()}


class RMSprop(Optimizer):
    """Divides the step by a running root-mean-square of the gradient."""

    _kind = RMSPROP_ID

    def __init__(self, learning_rate: LearningRate = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7,
                 **clipping: float | None) -> None:
        super().__init__(learning_rate, **clipping)
        self.rho = check_float("RMSprop", "rho", rho, low=0.0, high=1.0, high_open=True)
        self.momentum = check_float("RMSprop", "momentum", momentum, low=0.0, high=1.0,
                                    high_open=True)
        self.epsilon = check_float("RMSprop", "epsilon", epsilon, low=0.0, low_open=True)

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self._rate_config(), "rho": self.rho,
                "momentum": self.momentum, "epsilon": self.epsilon, **self._clip_config()}


class Adam(Optimizer):
    """Adaptive moment estimation (Kingma & Ba), Keras's ε placement."""

    _kind = ADAM_ID

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7,
                 **clipping: float | None) -> None:
        name = type(self).__name__
        super().__init__(learning_rate, **clipping)
        self.beta_1 = check_float(name, "beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = check_float(name, "beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_float(name, "epsilon", epsilon, low=0.0, low_open=True)

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self._rate_config(), "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon, **self._clip_config()}


class AdamW(Adam):
    """Adam with decoupled weight decay ``w −= η λ w``."""

    _kind = ADAMW_ID

    def __init__(self, learning_rate: LearningRate = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 **clipping: float | None) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **clipping)
        self.weight_decay = check_float("AdamW", "weight_decay", weight_decay, low=0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "weight_decay": self.weight_decay}


class Adagrad(Optimizer):
    """Per-parameter steps shrinking with the sum of squared gradients."""

    _kind = ADAGRAD_ID

    def __init__(self, learning_rate: LearningRate = 0.001,
                 initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **clipping: float | None) -> None:
        super().__init__(learning_rate, **clipping)
        self.initial_accumulator_value = check_float(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0.0)
        self.epsilon = check_float("Adagrad", "epsilon", epsilon, low=0.0, low_open=True)

    def _init_slots(self, n: int, dtype: DTypeLike) -> tuple[np.ndarray, np.ndarray]:
        return np.full(n, self.initial_accumulator_value, dtype), np.zeros(n, dtype)

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self._rate_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon, **self._clip_config()}


class Nadam(Adam):
    """Adam with Nesterov momentum (Dozat), Keras's momentum schedule."""

    _kind = NADAM_ID


class Adamax(Adam):
    """Adam with the infinity norm: ``u = max(β2 u, |g|)``."""

    _kind = ADAMAX_ID


ALL_OBJECTS_DICT = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
                    "adagrad": Adagrad, "nadam": Nadam, "adamax": Adamax}


def get(identifier: str | Optimizer | dict[str, Any], *, caller: str | None = None,
        argument: str = "identifier") -> Optimizer:
    """An optimizer from a (case-insensitive) name, a config dict or an instance; an
    unknown name's error names `caller` and its `argument` (``compile()``, ``optimizer``)."""
    if isinstance(identifier, dict):
        return from_config_dict("optimizers", identifier, ALL_OBJECTS_DICT)
    found = resolve("optimizers", identifier, ALL_OBJECTS_DICT, Optimizer, caller=caller,
                    argument=argument)
    kind = found if isinstance(found, type) else type(found)
    if kind not in ALL_OBJECTS_DICT.values():  # its Python update_step would never run
        raise TypeError(
            f"{caller or 'optimizers.get'}(): {kind.__name__} is a custom Optimizer class; "
            "fastnn updates the weights in C with its own optimizers and cannot call an "
            f"optimizer's Python code. Supported optimizers: {sorted(ALL_OBJECTS_DICT)} "
            f"(or fastnn.optimizers.<Name>(...)). Received: {argument}={kind.__name__}(...)")
    return found if isinstance(found, Optimizer) else found()


def serialize(opt: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for a model file; :func:`get` reads it back."""
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


# Keras optimizers fastnn does not have: reaching one says so (as fastnn.layers does)
_NOT_IN_FASTNN = frozenset({"Adadelta", "Ftrl", "Lion", "Lamb", "Adafactor", "Muon",
                            "LossScaleOptimizer"})


def __getattr__(name: str) -> Any:
    if name in _NOT_IN_FASTNN:
        raise ImportError(
            f"fastnn.optimizers has no {name}: fastnn updates the weights in C with "
            f"{', '.join(type_.__name__ for type_ in ALL_OBJECTS_DICT.values())} "
            "(Keras's defaults and update rules). Use one of them, or train this model "
            "with Keras.")
    raise AttributeError(f"module 'fastnn.optimizers' has no attribute {name!r}")
