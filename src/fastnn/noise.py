"""Noise layers (Keras 3): ``GaussianNoise``, ``GaussianDropout``, ``AlphaDropout``.

Active only in ``fit``; ``predict`` and ``evaluate`` pass the values through.  Like
``Dropout``, each acts on the output of the layer before it: the C loop draws its
noise from the model's seeded dropout stream (csrc/fnn_norm.h, ``fnn_noise_draw``),
one draw per batch shared by the forward and backward passes, so a seed gives the
same run every time.  Several of these layers in a row compose (up to four).
"""
from __future__ import annotations

from typing import Any

from ._kernels._core import NoiseKind
from ._validation import check_float, fail
from ._core_layers import Layer

# csrc/fnn_norm.h FNN_NOISE_* (read from the C; _core_layers.Dropout uses NoiseKind.DROPOUT)
NOISE_DROPOUT, NOISE_GAUSSIAN, NOISE_GAUSSIAN_DROPOUT, NOISE_ALPHA_DROPOUT = (int(k) for k in (
    NoiseKind.DROPOUT, NoiseKind.GAUSSIAN, NoiseKind.GAUSSIAN_DROPOUT, NoiseKind.ALPHA_DROPOUT))


def _no_seed(func: str, seed: Any) -> None:
    if seed is not None:
        fail(func, "fastnn draws the noise from the model's seeded generator",
             "seed=None (seed the model: Sequential(seed=...))", "seed", seed)


class GaussianNoise(Layer):
    """Adds ``N(0, stddev²)`` noise to each value during training (Keras 3: ``stddev``
    in [0, 1])."""

    _base_name = "gaussian_noise"
    _noise_kind = NOISE_GAUSSIAN

    def __init__(self, stddev: float, seed: int | None = None,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.stddev = check_float("GaussianNoise", "stddev", stddev, low=0.0, high=1.0)
        _no_seed("GaussianNoise", seed)

    @property
    def _noise(self) -> tuple[int, float] | None:
        return (self._noise_kind, self.stddev) if self.stddev > 0 else None

    def get_config(self) -> dict[str, Any]:
        return {"stddev": self.stddev, "seed": None, "name": self.name}


class GaussianDropout(Layer):
    """Multiplies each value by ``N(1, rate/(1 − rate))`` noise during training."""

    _base_name = "gaussian_dropout"
    _noise_kind = NOISE_GAUSSIAN_DROPOUT

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.rate = check_float(type(self).__name__, "rate", rate, low=0.0, high=1.0,
                                high_open=True)
        _no_seed(type(self).__name__, seed)

    @property
    def _noise(self) -> tuple[int, float] | None:
        return (self._noise_kind, self.rate) if self.rate > 0 else None

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": None, "name": self.name}


class AlphaDropout(GaussianDropout):
    """Dropout that keeps SELU's self-normalizing mean and variance: dropped values
    become ``α' = −λα`` (SELU's negative saturation), then an affine map ``a·x + b``
    restores the mean and variance (Keras 3's formulas, csrc/fnn_norm.h)."""

    _base_name = "alpha_dropout"
    _noise_kind = NOISE_ALPHA_DROPOUT

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 name: str | None = None) -> None:
        if noise_shape is not None:
            fail("AlphaDropout", "fastnn draws one value per unit", "noise_shape=None",
                 "noise_shape", noise_shape)
        super().__init__(rate, seed, name)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "noise_shape": None, "seed": None, "name": self.name}
