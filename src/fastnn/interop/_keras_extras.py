"""Reading back what fastnn wrote into a ``.keras`` file (see
:mod:`fastnn.interop.keras_out`): the ``fastnn.json`` member holds fastnn's own
model config (docs/file-format.md, arrays listed with their SHA-256 but stored in
``model.weights.h5``).  It is trusted no more than any file: it is checked by the
fastnn reader's own config checks, the Keras config fastnn would write for that
model must equal the file's ``config.json``, and every array read from the HDF5
file must have the listed SHA-256 — so the file means the same model to Keras
and to fastnn, and fastnn's extra state (exact activations, seed, random streams,
step count, optimizer slots) comes back exactly.  Errors are
``fastnn._untrusted.Invalid``.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import optimizers as O
from .._untrusted import Invalid, need
from . import _hdf5, _keras_training, keras_out

if TYPE_CHECKING:
    from ..models import Sequential

MAX_EXTRAS_BYTES = 1 << 20
EXTRAS = keras_out.EXTRAS


def read_extras(zf: zipfile.ZipFile) -> Any:
    """The parsed fastnn.json member (JSON data only)."""
    info = zf.getinfo(keras_out.EXTRAS)
    need(info.file_size <= MAX_EXTRAS_BYTES, f"{keras_out.EXTRAS} is too large")
    with zf.open(info) as f:
        text = f.read(MAX_EXTRAS_BYTES + 1)
    need(len(text) <= MAX_EXTRAS_BYTES, f"{keras_out.EXTRAS} is too large")

    def constant(c: str) -> None:
        raise Invalid(f"{keras_out.EXTRAS} contains {c}, which is not JSON")

    return json.loads(text.decode("utf-8"), parse_constant=constant)


def check_model(extras: Any, cls: type[Sequential]
                ) -> tuple[Sequential, dict[str, tuple[int, ...]]]:
    """(unbuilt model of class `cls`, {fastnn member name: shape}) from fastnn.json,
    every check of fastnn's own reader applied."""
    from .._archive import check_listing
    from .._model_file import check_config

    need(isinstance(extras, dict) and extras.get("kind") == "model",
         f"{keras_out.EXTRAS} is not a fastnn model config")
    model, expected = check_config(extras, cls)
    check_listing(extras["arrays"], expected, np.dtype(model.dtype).str)
    need(model.input_dim is not None, f"{keras_out.EXTRAS} describes a model without weights")
    return model, expected


def check_same_model(model: Sequential, keras_config: Any) -> None:
    """The Keras config fastnn writes for `model` must equal the file's."""
    try:
        mine, _ = keras_out.keras_model_config(model, None, None)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"{keras_out.EXTRAS} describes a model Keras cannot hold: {exc}") from None
    mine = json.loads(json.dumps(mine))
    need(isinstance(keras_config, dict) and keras_config.get("class_name") == "Sequential"
         and keras_config.get("config") == mine["config"],
         f"config.json and {keras_out.EXTRAS} describe different models (the file was "
         "changed after fastnn wrote it); remove fastnn.json to read the Keras model alone")


def layer_groups(model: Sequential) -> dict[Any, str]:
    """Each layer's variables group in Keras's HDF5 layout (``layers/dense/vars``,
    ``layers/batch_normalization_1/vars``, ...: class in snake case, numbered by class
    in layer order; every layer has one, weightless ones too), as keras_out writes it."""
    groups: dict[Any, str] = {}
    used: dict[str, int] = {}
    for layer in model.layers:
        group = keras_out.snake(keras_out.LAYERS[type(layer)].keras_class)
        k = used.get(group, -1) + 1
        used[group] = k
        groups[layer] = f"layers/{group if k == 0 else f'{group}_{k}'}/vars"
    return groups


def read_arrays(h5: _hdf5.Reader, model: Sequential, extras: dict[str, Any],
                expected: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """fastnn's arrays, read from Keras's HDF5 layout, each with its listed SHA-256:
    each stage layer's Keras variables from its group (``layers/dense[_k]``,
    ``layers/batch_normalization[_k]``, ...: class in snake case, numbered by class
    in layer order); a Normalization given its mean and variance has none in Keras,
    and its values come from its config; the optimizer's slots from Keras's
    optimizer variables."""
    stages = _keras_training.stage_layers(model)
    groups = layer_groups(model)
    arrays: dict[str, np.ndarray] = {}
    for j, layer in enumerate(stages):
        names = keras_out.keras_weight_names(layer)
        for i, name in enumerate(names):
            member = f"weights/{j}/{name}.npy"
            if name == "count":  # Keras's int32 scalar, 0 (the writer saw to it)
                need(f"{groups[layer]}/{i}" in h5.datasets, f"no dataset "
                     f"{groups[layer]}/{i!r} (the count of {layer.name!r})")
                arrays[member] = np.zeros((), model.dtype)
            else:
                arrays[member] = h5.read(f"{groups[layer]}/{i}", expected[member])
        for key in ("mean", "variance"):  # a given Normalization's constants
            member = f"weights/{j}/{key}.npy"
            if member in expected and member not in arrays:
                values = layer.input_mean if key == "mean" else layer.input_variance
                arrays[member] = np.broadcast_to(np.asarray(values), expected[member])
    slot_names = [n for n in expected if n.startswith("optimizer/")]
    if slot_names:
        opt = O.get(extras["compile"]["optimizer"])
        ranges = _keras_training.trainable_ranges(stages, expected)
        first = 2 if opt._schedule is None else 1  # iteration[, learning_rate]
        n = expected[slot_names[0]][0]
        slots = opt._init_slots(n, model.dtype)
        layout = _keras_training.slot_layout(opt, len(ranges))
        found = sorted(p for p in h5.datasets if p.startswith("optimizer/vars/"))
        extra = 1 if type(opt).__name__ == "Nadam" else 0
        need(len(found) == first + len(layout) + extra, "model.weights.h5 holds "
             f"{len(found)} optimizer variables; the optimizer needs "
             f"{first + len(layout) + extra}")
        for k, (which, i) in enumerate(layout):
            offset, shape = ranges[i]
            value = h5.read(f"optimizer/vars/{first + k}", shape)
            slots[which - 1][offset:offset + value.size] = value.reshape(-1)
        arrays.update(zip(("optimizer/slot_1.npy", "optimizer/slot_2.npy"), slots))
    listing = extras["arrays"]
    for name, arr in arrays.items():
        arr = np.require(arr, model.dtype, "C")  # 0-d stays 0-d (a Normalization's count)
        arrays[name] = arr
        digest = hashlib.sha256(arr.data.cast("B") if arr.size else b"").hexdigest()
        need(digest == listing[name]["sha256"], f"{name} in model.weights.h5 differs from "
             f"the one {keras_out.EXTRAS} lists (the file was changed after fastnn wrote it)")
    return arrays


def assemble(model: Sequential, extras: dict[str, Any], arrays: dict[str, np.ndarray],
             where: str, compile: bool, allow_nonfinite: bool) -> Sequential:
    from .._validation import ModelFileError
    from .._model_file import assemble as assemble_model

    try:
        return assemble_model(extras, arrays, model, where, compile, allow_nonfinite)
    except (Invalid, ModelFileError):
        raise
    except Exception as exc:  # the config's parts disagree (as fastnn's own reader says)
        raise Invalid(f"the model it describes is invalid: {type(exc).__name__}: "
                      f"{exc}") from None

