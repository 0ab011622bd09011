"""The normalization and noise layers of a Keras 3 file (fastnn/interop/keras.py
reads the rest): each layer's config checked against what fastnn runs, as data.
Used by the reader only; nothing here touches the weights file."""
from __future__ import annotations

from typing import Any

from .._untrusted import need

REGULARIZERS = {"L1": ("l1",), "L2": ("l2",), "L1L2": ("l1", "l2")}

# the normalization and noise layers fastnn reads, and the HDF5 group of each kind
NORMALIZATIONS = ("BatchNormalization", "LayerNormalization", "Normalization",
                   "UnitNormalization", "GaussianNoise", "GaussianDropout", "AlphaDropout")
NORM_GROUPS = {"BatchNormalization": "batch_normalization",
                "LayerNormalization": "layer_normalization", "Normalization": "normalization"}


def _axis_is_features(axis: Any) -> bool:
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    return type(axis) is int and axis in (-1, 1)


def _number(cfg: dict[str, Any], key: str, name: str, low: float, high: float,
            default: Any = None) -> float:
    value = cfg.get(key, default)
    need(type(value) in (int, float) and low <= value <= high,
         f"layer {name!r}: {key} {value!r} is not a number in [{low}, {high}]")
    return float(value)


def normalization_settings(cls: str, cfg: dict[str, Any], name: str) -> dict[str, Any]:
    """The settings of a normalization or noise layer, checked against what fastnn
    runs (fastnn/normalization.py, fastnn/noise.py)."""
    out: dict[str, Any] = {"trainable": cfg.get("trainable", True)}
    need(isinstance(out["trainable"], bool), f"layer {name!r}: trainable is not a bool")
    if cls == "GaussianNoise":
        return {"stddev": _number(cfg, "stddev", name, 0.0, 1.0)}
    if cls in ("GaussianDropout", "AlphaDropout"):
        need(cfg.get("noise_shape") is None, f"layer {name!r} has a noise_shape")
        return {"rate": _number(cfg, "rate", name, 0.0, 0.999999)}
    if cls == "Normalization":
        need(cfg.get("axis") is None or _axis_is_features(cfg.get("axis")),
             f"normalization {name!r} is over axis {cfg.get('axis')!r}; fastnn's is over "
             "the features (-1) or all values (None)")
        need(not cfg.get("invert"), f"normalization {name!r} inverts; fastnn does not")
        mean, var = cfg.get("mean"), cfg.get("variance")
        for v in (mean, var):
            need(v is None or type(v) in (int, float) or (
                isinstance(v, list) and 0 < len(v) < 2**31
                and all(type(x) in (int, float) for x in v)),
                f"normalization {name!r}: mean or variance {v!r} is not numbers")
        need((mean is None) == (var is None), f"normalization {name!r} gives only one of "
             "mean and variance")
        return {**out, "axis": None if cfg.get("axis") is None else -1, "mean": mean,
                "variance": var}
    need(_axis_is_features(cfg.get("axis", -1)), f"layer {name!r} normalizes over axis "
         f"{cfg.get('axis')!r}; fastnn's samples are flat (axis -1)")
    if cls == "UnitNormalization":
        return out
    for key in ("center", "scale"):
        out[key] = cfg.get(key, True)
        need(isinstance(out[key], bool), f"layer {name!r}: {key} is not a bool")
    out["epsilon"] = _number(cfg, "epsilon", name, 1e-300, 1e300, 1e-3)
    for key in ("beta_constraint", "gamma_constraint", "renorm_clipping"):
        need(cfg.get(key) is None, f"layer {name!r}: {key} {cfg.get(key)!r} is not supported "
             "by fastnn")
    for key in ("synchronized", "renorm", "rms_scaling"):
        need(not cfg.get(key), f"layer {name!r}: {key}=True is not supported by fastnn")
    for key in ("beta_regularizer", "gamma_regularizer"):
        reg = cfg.get(key)
        cls_ = reg.get("class_name") if isinstance(reg, dict) else reg
        need(reg is None or cls_ in REGULARIZERS, f"layer {name!r}: {key} {cls_!r} is not "
             "one fastnn has")
        out[key] = None if reg is None else {
            k: float(reg.get("config", {}).get(k, 0.0)) for k in ("l1", "l2")}
    if cls == "BatchNormalization":
        out["momentum"] = _number(cfg, "momentum", name, 0.0, 1.0, 0.99)
    return out
