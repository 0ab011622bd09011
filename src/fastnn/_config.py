"""Parsing a Sequential config (``get_config()`` output, or a model file's):
every entry checked, damaged ones reported as ValueError/TypeError naming the
entry, never an internal KeyError; classes resolved only through the layer table."""
from __future__ import annotations

from typing import Any

from ._validation import fail
from .layers import ALL_OBJECTS_DICT as LAYERS, Layer


def layers_from_config(config: Any) -> list[Layer]:
    """The layer objects a Sequential config describes."""
    func = "Sequential.from_config"
    if not isinstance(config, dict):
        fail(func, "invalid config", "a dict from get_config()", "config", config,
             error=TypeError)
    unknown = set(config) - {"name", "dtype", "seed", "layers", "build_input_shape"}
    if unknown:
        fail(func, f"unknown config keys {sorted(unknown)}",
             "only 'name', 'dtype', 'seed', 'layers' and 'build_input_shape'", "config",
             config)
    specs = config.get("layers", [])
    if not isinstance(specs, list):
        fail(func, "invalid config['layers']", "a list of layer configs", "layers", specs,
             error=TypeError)
    layers = []
    for i, spec in enumerate(specs):
        if (not isinstance(spec, dict) or set(spec) != {"class_name", "config"}
                or not isinstance(spec["config"], dict)):
            fail(func, f"invalid config['layers'][{i}]",
                 "{'class_name': name, 'config': {...}}", f"layers[{i}]", spec,
                 error=TypeError)
        name = spec["class_name"]
        if not isinstance(name, str) or name not in LAYERS:
            fail(func, f"unknown layer class in config['layers'][{i}]",
                 f"one of {sorted(LAYERS)}", "class_name", name)
        kwargs = spec["config"]
        if not all(isinstance(k, str) for k in kwargs):
            fail(func, f"invalid config['layers'][{i}]['config']",
                 "keyword arguments", "config", kwargs, error=TypeError)
        try:
            layers.append(LAYERS[name].from_config(dict(kwargs)))
        except TypeError as exc:
            if "argument" not in str(exc) or "Expected" in str(exc):
                raise  # the layer's own house-format message
            fail(func, f"invalid config for layer {i} ({name}): {exc}",
                 "the layer's constructor arguments", "config", kwargs, error=TypeError)
    return layers
