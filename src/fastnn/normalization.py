"""Normalization layers (Keras 3's names, arguments and defaults), run by the C loop
as stages of the plan (csrc/fnn_norm.h states the math):

* ``BatchNormalization`` — per feature over the batch: training uses the batch's
  mean and (biased) variance and moves ``moving_mean``/``moving_variance`` towards
  them after each step; ``predict``/``evaluate`` (and a frozen layer, as Keras 3) use
  the moving ones.
* ``LayerNormalization`` — per sample over its features.
* ``Normalization`` — fixed ``(x − mean)/max(√variance, 1e-7)``, the mean and variance
  given or computed by :meth:`Normalization.adapt`; never trained.
* ``UnitNormalization`` — each sample scaled to unit L2 norm.

Each layer's variables live in the model's flat parameter buffer, after the previous
layer's (the model lays them out from :meth:`NormLayer._variables`); the layer reads
them through read-only views (``WeightView``) and writes them through the model's
writer lock, as Dense does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import activations, initializers, regularizers
from ._kernels._core import StageKind
from ._validation import check_bool, check_float, fail
from ._variables import WeightView
from ._core_layers import Layer, check_flat_shape

if TYPE_CHECKING:
    from typing_extensions import Self

# csrc/fnn_net.h FNN_STAGE_* (read from the C)
STAGE_BATCHNORM, STAGE_LAYERNORM, STAGE_STANDARDIZE, STAGE_UNITNORM = (int(k) for k in (
    StageKind.BATCHNORM, StageKind.LAYERNORM, StageKind.STANDARDIZE, StageKind.UNITNORM))


def _check_axis(func: str, axis: Any) -> int:
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or axis not in (-1, 1):
        fail(func, "fastnn's samples are flat vectors; the layer normalizes over the "
             "features", "axis=-1", "axis", axis)
    return -1


def _no_constraint(func: str, name: str, value: Any) -> None:
    if value is not None:
        fail(func, f"fastnn has no weight constraints (`{name}`)", f"{name}=None", name, value)


class NormLayer(Layer):
    """A layer the C loop runs as a stage of its own, with its variables in the flat
    buffer."""

    _is_stage = True

    def __init__(self, name: str | None, trainable: bool, input_shape: Any) -> None:
        super().__init__(name)
        self._trainable = check_bool(type(self).__name__, "trainable", trainable)
        self._offsets: dict[str, int] = {}
        self._act = activations.LINEAR  # an Activation layer after it folds in (_shaping)
        if input_shape is not None:
            self._declared_shape = (check_flat_shape(type(self).__name__, input_shape),)

    # the model asks each layer for its variables: (name, shape, trained by fit)
    def _variables(self, n: int) -> list[tuple[str, tuple[int, ...], bool]]:
        return []

    def _initial(self, name: str, out: np.ndarray, n: int, rng: np.ndarray) -> None:
        out.fill(0.0)

    def _width(self) -> int | None:
        host = self._host
        return None if host is None or host.model is None else host.width(self)

    def _view(self, which: str) -> WeightView | None:
        host = self._host
        if host is None or host.model is None:
            return None
        view = host.variables(self).get(which)  # read-only views
        return None if view is None else WeightView.of(view, self, which)

    def _names(self) -> list[str]:
        n = self._width()
        return [] if n is None else self._weight_names(n)

    def _trained(self, which: str) -> bool:
        return which in ("gamma", "beta")

    @property
    def weights(self) -> list[WeightView]:
        """The variables in Keras's order (e.g. gamma, beta, moving_mean,
        moving_variance) as read-only views with ``assign``."""
        model, host = self._model, self._host
        if model is not None and host is not None and not model.built \
                and model.input_dim is not None:
            host.ensure_built("weights")
        return self._weight_views()

    def _weight_views(self) -> list[WeightView]:
        return [w for w in (self._view(k) for k in self._names()) if w is not None]

    @property
    def trainable_weights(self) -> list[WeightView]:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[WeightView]:
        return [w for w in self.weights if not w.trainable]

    def _stage(self, n: int) -> tuple[Any, ...]:
        """(w_off, b_off, s_off, epsilon, momentum, kernel_l1, kernel_l2, bias_l1, bias_l2)
        for the C plan."""
        get = self._offsets.get
        stats = get("moving_mean", get("mean", -1))
        return (get("gamma", -1), get("beta", -1), stats, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def _base_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name}
        if not self.trainable:
            config["trainable"] = False
        if self._declared_shape is not None:
            config["input_shape"] = list(self._declared_shape)
        return config


class _Affine(NormLayer):
    """Batch and layer normalization: ``z = γ x̂ + β`` with Keras's arguments."""

    def __init__(self, func: str, axis: Any, epsilon: float, center: bool, scale: bool,
                 beta_initializer: Any, gamma_initializer: Any, beta_regularizer: Any,
                 gamma_regularizer: Any, beta_constraint: Any, gamma_constraint: Any,
                 name: str | None, trainable: bool, input_shape: Any) -> None:
        super().__init__(name, trainable, input_shape)
        self.axis = _check_axis(func, axis)
        self.epsilon = check_float(func, "epsilon", epsilon, low=0.0, low_open=True)
        self.center = check_bool(func, "center", center)
        self.scale = check_bool(func, "scale", scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        _no_constraint(func, "beta_constraint", beta_constraint)
        _no_constraint(func, "gamma_constraint", gamma_constraint)

    def _variables(self, n: int) -> list[tuple[str, tuple[int, ...], bool]]:
        return [(k, (n,), True) for k, on in (("gamma", self.scale), ("beta", self.center))
                if on]

    def _initial(self, name: str, out: np.ndarray, n: int, rng: np.ndarray) -> None:
        init = {"gamma": self.gamma_initializer, "beta": self.beta_initializer}.get(name)
        if init is None:
            out.fill(1.0 if name == "moving_variance" else 0.0)
        else:
            initializers.fill(init, out, n, n, rng)

    def _stage(self, n: int) -> tuple[Any, ...]:
        w, b, s, _, _, *_ = super()._stage(n)
        gr, br = self.gamma_regularizer, self.beta_regularizer
        return (w, b, s, self.epsilon, getattr(self, "momentum", 0.0),
                gr.l1 if gr else 0.0, gr.l2 if gr else 0.0,
                br.l1 if br else 0.0, br.l2 if br else 0.0)

    def get_config(self) -> dict[str, Any]:
        return {**self._base_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        config = dict(config)
        for key in ("beta_initializer", "gamma_initializer", "moving_mean_initializer",
                    "moving_variance_initializer"):
            if isinstance(config.get(key), dict):
                config[key] = initializers.deserialize(config[key])
        return cls(**config)


class BatchNormalization(_Affine):
    """Keras's ``BatchNormalization`` over the features of flat samples.

    Training: ``x̂ = (x − μ_B)/√(σ²_B + ε)`` with the batch's mean and biased variance,
    ``z = γ x̂ + β``; after each step ``moving := momentum·moving + (1 − momentum)·batch``.
    Inference (predict, evaluate) and a frozen layer (``trainable=False``, as Keras 3):
    the moving statistics.  Variables: gamma (if ``scale``), beta (if ``center``),
    moving_mean, moving_variance.  A model with a BatchNormalization trains each step
    on one thread (the batch's statistics are not split).
    """

    _base_name = "batch_normalization"
    _kind = STAGE_BATCHNORM

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False,
                 renorm: bool = False, renorm_clipping: Any = None,
                 renorm_momentum: float = 0.99, name: str | None = None,
                 trainable: bool = True, input_shape: Any = None) -> None:
        if check_bool("BatchNormalization", "renorm", renorm) or renorm_clipping is not None:
            fail("BatchNormalization", "fastnn has no batch renormalization",
                 "renorm=False and renorm_clipping=None", "renorm", renorm)
        check_float("BatchNormalization", "renorm_momentum", renorm_momentum, low=0.0,
                    high=1.0)
        super().__init__("BatchNormalization", axis, epsilon, center, scale,
                         beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, name,
                         trainable, input_shape)
        self.momentum = check_float("BatchNormalization", "momentum", momentum, low=0.0,
                                    high=1.0)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        if check_bool("BatchNormalization", "synchronized", synchronized):
            fail("BatchNormalization", "fastnn trains on one machine; there is nothing to "
                 "synchronize", "synchronized=False", "synchronized", synchronized)

    def _variables(self, n: int) -> list[tuple[str, tuple[int, ...], bool]]:
        return [*super()._variables(n), ("moving_mean", (n,), False),
                ("moving_variance", (n,), False)]

    def _initial(self, name: str, out: np.ndarray, n: int, rng: np.ndarray) -> None:
        init = {"moving_mean": self.moving_mean_initializer,
                "moving_variance": self.moving_variance_initializer}.get(name)
        if init is None:
            super()._initial(name, out, n, rng)
            return
        initializers.fill(init, out, n, n, rng)
        if name == "moving_variance" and out.size and out.min() < 0:
            raise ValueError(f"BatchNormalization {self.name!r}: moving_variance_initializer "
                             f"gave negative variances; use 'ones' or a Constant >= 0.")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["momentum"] = self.momentum
        config["moving_mean_initializer"] = initializers.serialize(
            self.moving_mean_initializer)
        config["moving_variance_initializer"] = initializers.serialize(
            self.moving_variance_initializer)
        return config


class LayerNormalization(_Affine):
    """Keras's ``LayerNormalization``: each sample normalized over its features,
    ``z = γ (x − μ_r)/√(σ²_r + ε) + β``.  Variables: gamma (if ``scale``), beta (if
    ``center``).  ``rms_scaling=True`` is not supported."""

    _base_name = "layer_normalization"
    _kind = STAGE_LAYERNORM

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None,
                 beta_constraint: Any = None, gamma_constraint: Any = None,
                 name: str | None = None, trainable: bool = True,
                 input_shape: Any = None) -> None:
        super().__init__("LayerNormalization", axis, epsilon, center, scale,
                         beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, name,
                         trainable, input_shape)
        if check_bool("LayerNormalization", "rms_scaling", rms_scaling):
            fail("LayerNormalization", "fastnn's LayerNormalization subtracts the mean",
                 "rms_scaling=False", "rms_scaling", rms_scaling)


class UnitNormalization(NormLayer):
    """Keras's ``UnitNormalization``: ``z = x/max(‖x‖, 1e-12)`` per sample."""

    _base_name = "unit_normalization"
    _kind = STAGE_UNITNORM

    def __init__(self, axis: int = -1, name: str | None = None, trainable: bool = True,
                 input_shape: Any = None) -> None:
        super().__init__(name, trainable, input_shape)
        self.axis = _check_axis("UnitNormalization", axis)

    def get_config(self) -> dict[str, Any]:
        return {**self._base_config(), "axis": self.axis}
