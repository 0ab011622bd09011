"""Keras 3 files out: ``model.save("m.keras")`` and ``model.save_weights("m.weights.h5")``.

A ``.keras`` file is a zip of ``metadata.json``, ``config.json`` (the architecture
and compile settings as Keras serializes them) and ``model.weights.h5`` (HDF5:
``layers/<class in snake case>[_k]/vars/<i>`` per layer, numbered by class in layer
order, weightless layers included with an empty ``vars`` group — a Dense's kernel and
bias, a BatchNormalization's gamma, beta, moving mean and variance, a
LayerNormalization's gamma and beta, an adapted Normalization's mean, variance and
count (none for one given its mean and variance); the top ``vars``
group; ``optimizer/vars/<i>`` with the iteration count, the learning rate (absent
with a schedule) and the optimizer's slots in Keras's order).  The layout follows
Keras 3.15's ``keras/src/saving/saving_lib.py`` and the real files in tests/data.

Decisions (each tested in tests/test_keras_out.py):

* Activations: fastnn's ``relu`` (ReLU'(0)=1) and ``relu_keras`` are both written as
  Keras's ``relu`` (the same function: predictions agree; only a gradient at a
  pre-activation of exactly 0 differs).  ``swish`` is Keras's ``silu``.  ``step``
  and ``sign`` have no Keras equivalent: saving refuses them (save to ``.fastnn``).
* Keys that only recent Keras versions know (``quantization_config``, ``optional``,
  ``ragged``, initializers' ``input_axes``/``output_axes``) are left out: Keras fills
  their defaults, and older Keras 3 releases can load the file too.
* Compile settings go into ``compile_config`` (Keras has every fastnn optimizer,
  loss and metric) and the optimizer state into Keras's optimizer variables
  (:mod:`fastnn.interop._keras_training`; frozen layers have none in Keras: their
  slots are not kept).
* Nothing fastnn needs is lost: a ``fastnn.json`` member (which Keras ignores)
  holds fastnn's own model config (the format of docs/file-format.md without the
  arrays, which stay in the HDF5 file, with their SHA-256): exact activations,
  regularizers, seed, random streams, step count, from_logits.  fastnn's reader
  (:mod:`fastnn.interop.keras`) uses it only when the Keras config it writes for
  that model equals the file's ``config.json`` and every array's SHA-256 matches,
  so a file never means one model to Keras and another to fastnn.

Writing needs h5py (the ``keras`` extra), imported when a Keras file is written.
The write is atomic (:func:`fastnn.saving.atomic_write`).

(About 480 lines: the layer table — one writer per fastnn layer, Dense and the
normalizations with their variables —, the snapshot and the zip/HDF5 writing are one
path; the training half is fastnn/interop/_keras_training.py.)

New layer kinds: add one entry to :data:`LAYERS` with :func:`register_layer`
(the Keras class name, a function giving the layer's Keras config fields, and one
giving its weights in Keras's variable order from the model's snapshot).
"""
from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .. import activations as A
from .. import regularizers as R
from ..errors import KerasFileError  # defined with fastnn's other exceptions; kept here too
from ._keras_training import keras_object, stage_layers  # keras_object: once here

if TYPE_CHECKING:
    from ..layers import Layer
    from ..models import Sequential

KERAS_VERSION = "3.15.1"    # the Keras release whose file layout this writes
EXTRAS = "fastnn.json"      # fastnn's own config inside a .keras file (Keras ignores it)
_DATE = (1980, 1, 1, 0, 0, 0)
_KERAS_ACTIVATIONS = {A.LINEAR: "linear", A.SIGMOID: "sigmoid", A.TANH: "tanh",
                      A.RELU: "relu", A.RELU_KERAS: "relu", A.SOFTMAX: "softmax",
                      A.LEAKY_RELU: "leaky_relu", A.ELU: "elu", A.SELU: "selu",
                      A.GELU: "gelu", A.SOFTPLUS: "softplus", A.SWISH: "silu"}
# Keras's initializer classes and fastnn's names for them (the reader uses it too)
KERAS_INITIALIZERS = {"GlorotUniform": "glorot_uniform", "GlorotNormal": "glorot_normal",
                      "HeUniform": "he_uniform", "HeNormal": "he_normal",
                      "LecunUniform": "lecun_uniform", "LecunNormal": "lecun_normal",
                      "RandomUniform": "random_uniform", "RandomNormal": "random_normal",
                      "Orthogonal": "orthogonal", "Zeros": "zeros", "Ones": "ones",
                      "Constant": "constant"}
_INITIALIZERS = {name: cls for cls, name in KERAS_INITIALIZERS.items()}
_UNSEEDED = {"Zeros", "Ones", "Constant"}
def h5py_module(func: str) -> Any:
    """h5py, or ImportError naming the extra that brings it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{func}(): writing Keras files (.keras, .weights.h5) needs h5py: "
                          "pip install 'fastnn-mlp[keras]' (or save to a .fastnn file, "
                          "which needs nothing).") from None
    return h5py


def _policy(dtype: str) -> dict[str, Any]:
    return keras_object("keras", "DTypePolicy", {"name": dtype})


def _layer_dtype(layer: Any, model_dtype: str) -> str:
    """A layer's Keras dtype policy name: a mixed_bfloat16 Dense keeps its policy (Keras
    3's DTypePolicy("mixed_bfloat16"): float32 variables, bfloat16 compute, as fastnn's
    layer; its weights are written in float32 as they are), every other layer the
    model's dtype."""
    policy = getattr(layer, "dtype_policy", None)
    return "mixed_bfloat16" if policy is not None and policy.is_mixed else model_dtype


# ------------------------------------------------------------------ layers (the table)
@dataclass(frozen=True)
class LayerEntry:
    """How one fastnn layer class is written: `keras_class`; `config(layer)` gives the
    Keras config fields after name/trainable/dtype; `weights(layer, snap)` its arrays in
    Keras's variable order; `build_config` whether Keras records the layer's input
    shape (layers with a build step: Dense, Flatten, normalization layers)."""
    keras_class: str
    config: Callable[[Layer], dict[str, Any]]
    weights: Callable[[Layer, Snapshot], list[np.ndarray]] | None = None
    build_config: bool = False


LAYERS: dict[type, LayerEntry] = {}


def register_layer(cls: type, entry: LayerEntry) -> None:
    """Teach the writer a fastnn layer class (one entry per class; see the docstring)."""
    LAYERS[cls] = entry


def keras_activation(act: int, where: str) -> str:
    """Keras's name for fastnn activation `act`, or KerasFileError."""
    if act not in _KERAS_ACTIVATIONS:
        raise KerasFileError(
            f"{where} uses the activation {A.NAMES[act]!r}, which Keras does not have "
            f"(Keras has {sorted(set(_KERAS_ACTIVATIONS.values()))}); save this model to "
            "a .fastnn file (fastnn's own format) instead.")
    return _KERAS_ACTIVATIONS[act]


def _initializer(init: Any) -> dict[str, Any]:
    from .. import initializers as I

    spec = I.serialize(init)
    name, config = (spec, {}) if isinstance(spec, str) else (
        spec["class_name"].lower(), dict(spec["config"]))
    cls = _INITIALIZERS[name]
    if cls not in _UNSEEDED:
        config["seed"] = None
    return keras_object("keras.initializers", cls, config)


def _regularizer(reg: Any) -> dict[str, Any] | None:
    spec = R.serialize(reg)
    if spec is None:
        return None
    values = spec["config"]
    l1, l2 = float(values.get("l1", 0.0)), float(values.get("l2", 0.0))
    if l1 and l2 or spec["class_name"] == "L1L2":
        return keras_object("keras.regularizers", "L1L2", {"l1": l1, "l2": l2})
    if spec["class_name"] == "L1":
        return keras_object("keras.regularizers", "L1", {"l1": l1})
    return keras_object("keras.regularizers", "L2", {"l2": l2})


def _dense_config(layer: Any) -> dict[str, Any]:
    return {"units": layer.units,
            "activation": keras_activation(layer.activation, f"Dense {layer.name!r}"),
            "use_bias": layer.use_bias,
            "kernel_initializer": _initializer(layer.kernel_initializer),
            "bias_initializer": _initializer(layer.bias_initializer),
            "kernel_regularizer": _regularizer(layer.kernel_regularizer),
            "bias_regularizer": _regularizer(layer.bias_regularizer),
            "kernel_constraint": None, "bias_constraint": None}


def _dense_weights(layer: Any, snap: Snapshot) -> list[np.ndarray]:
    j = snap.stage_index[layer]
    return [snap.arrays[f"weights/{j}/{part}.npy"] for part in ("kernel", "bias")
            [:1 + layer.use_bias]]


def keras_weight_names(layer: Any) -> list[str]:
    """The names of a stage layer's Keras variables, in Keras's order: a Dense's kernel
    (and bias), a normalization's ``weights`` (gamma, beta, moving statistics; an
    adapted Normalization's mean, variance and count; none for a given mean)."""
    from ..layers import Dense

    if isinstance(layer, Dense):
        return ["kernel", "bias"][:1 + layer.use_bias]
    return [w.name for w in layer.weights]


def _norm_weights(layer: Any, snap: Snapshot) -> list[np.ndarray]:
    j = snap.stage_index[layer]
    out = [snap.arrays[f"weights/{j}/{name}.npy"] for name in keras_weight_names(layer)]
    if out and type(layer).__name__ == "Normalization":  # Keras's count: an int32, 0
        if float(out[2]) != 0.0:
            raise KerasFileError(f"the Normalization {layer.name!r} has count "
                                 f"{float(out[2])!r}; Keras 3 keeps 0 there (it plays no "
                                 "part in a prediction). Assign 0 to it, or save to a "
                                 ".fastnn file.")
        out[2] = np.array(0, np.int32)
    return out


def _keras_axis(layer: Any, as_list: bool) -> Any:
    if layer.axis is None:  # one mean for all values: Keras's variables are scalars
        raise KerasFileError(f"the Normalization {layer.name!r} has axis=None, whose one "
                             "mean and variance fastnn keeps per feature; Keras keeps "
                             "scalars. Save this model to a .fastnn file.")
    return [-1] if as_list else -1


def _affine_config(layer: Any, as_list: bool) -> dict[str, Any]:
    return {"axis": _keras_axis(layer, as_list), "epsilon": layer.epsilon,
            "center": layer.center, "scale": layer.scale,
            "beta_initializer": _initializer(layer.beta_initializer),
            "gamma_initializer": _initializer(layer.gamma_initializer),
            "beta_regularizer": _regularizer(layer.beta_regularizer),
            "gamma_regularizer": _regularizer(layer.gamma_regularizer),
            "beta_constraint": None, "gamma_constraint": None}


def _batchnorm_config(layer: Any) -> dict[str, Any]:
    return {**_affine_config(layer, False), "momentum": layer.momentum,
            "moving_mean_initializer": _initializer(layer.moving_mean_initializer),
            "moving_variance_initializer": _initializer(layer.moving_variance_initializer),
            "synchronized": False, "renorm": False, "renorm_clipping": None,
            "renorm_momentum": 0.99}


def _layernorm_config(layer: Any) -> dict[str, Any]:
    config = _affine_config(layer, True)
    config["rms_scaling"] = False
    return config


def _normalization_config(layer: Any) -> dict[str, Any]:
    given = layer.input_mean is not None
    return {"axis": _keras_axis(layer, True), "invert": False,
            "mean": [float(v) for v in np.ravel(layer.input_mean)] if given else None,
            "variance": [float(v) for v in np.ravel(layer.input_variance)] if given else None}


def _install_layers() -> None:
    from .._shaping import Activation, Flatten, ReLU, Reshape, Softmax
    from ..layers import Dense, Dropout

    register_layer(Dense, LayerEntry("Dense", _dense_config, _dense_weights, True))
    register_layer(Dropout, LayerEntry("Dropout", lambda l: {
        "rate": l.rate, "seed": None, "noise_shape": None}))  # type: ignore[attr-defined]
    register_layer(Activation, LayerEntry("Activation", lambda l: {
        "activation": keras_activation(l.activation,  # type: ignore[attr-defined]
                                       f"Activation {l.name!r}")}))
    register_layer(ReLU, LayerEntry("ReLU", lambda l: {
        "max_value": None, "negative_slope": 0.0, "threshold": 0.0}))
    register_layer(Softmax, LayerEntry("Softmax", lambda l: {"axis": -1}))
    register_layer(Flatten, LayerEntry("Flatten", lambda l: {
        "data_format": "channels_last"}, build_config=True))
    register_layer(Reshape, LayerEntry("Reshape", lambda l: {
        "target_shape": list(l.target_shape)}))  # type: ignore[attr-defined]
    # the normalization layers: their variables are numbered among the C plan's stages
    # (fastnn._shaping.variable_layout), as the Dense layers'
    from .._adapt import Normalization
    from ..normalization import BatchNormalization, LayerNormalization, UnitNormalization

    register_layer(BatchNormalization, LayerEntry("BatchNormalization", _batchnorm_config,
                                                  _norm_weights, True))
    register_layer(LayerNormalization, LayerEntry("LayerNormalization", _layernorm_config,
                                                  _norm_weights, True))
    register_layer(Normalization, LayerEntry("Normalization", _normalization_config,
                                             _norm_weights, True))
    register_layer(UnitNormalization, LayerEntry("UnitNormalization",
                                                 lambda l: {"axis": -1}))
    # the noise layers (no weights; their configs as Keras 3.15 writes them)
    from ..noise import AlphaDropout, GaussianDropout, GaussianNoise

    register_layer(GaussianNoise, LayerEntry("GaussianNoise", lambda l: {
        "stddev": l.stddev, "seed": None}))  # type: ignore[attr-defined]
    register_layer(GaussianDropout, LayerEntry("GaussianDropout", lambda l: {
        "rate": l.rate, "seed": None}))  # type: ignore[attr-defined]
    register_layer(AlphaDropout, LayerEntry("AlphaDropout", lambda l: {
        "rate": l.rate, "seed": None, "noise_shape": None}))  # type: ignore[attr-defined]


_install_layers()


# ------------------------------------------------------------------ the snapshot
@dataclass
class Snapshot:
    """One consistent moment of the model (fastnn.saving.snapshot) and what the
    Keras translation needs of it."""
    config: dict[str, Any]                # fastnn's own model-file config (no arrays)
    arrays: dict[str, np.ndarray]         # fastnn's member name -> array copy
    stage_index: dict[Any, int]           # Dense or normalization layer -> its stage j


def take_snapshot(model: Sequential, kind: str) -> Snapshot:
    """The model's state for a Keras file (ValueError while it has no weights)."""
    from .. import _model_file

    func = "save_weights" if kind == "weights" else "save"
    if model.input_dim is None:
        raise ValueError(f"{func}(): the model does not know its input size yet, so it has "
                         "no weights to write to a Keras file. Give it an Input(shape=...) "
                         "(or input_shape=) or fit it first; a .fastnn file can hold an "
                         "unbuilt model.")
    config, arrays = _model_file.snapshot(model, kind)
    return Snapshot(config, dict(arrays), {l: j for j, l in enumerate(stage_layers(model))})


def _names(layers: Sequence[Layer]) -> Iterator[str]:
    """Each layer's name; unnamed ones get Keras's class-based names."""
    taken = {l.name for l in layers if l.name}
    counts: dict[str, int] = {}
    for layer in layers:
        if layer.name:
            yield layer.name
            continue
        base = LAYERS[type(layer)].keras_class.lower()
        while True:
            k = counts.get(base, 0)
            counts[base] = k + 1
            name = base if k == 0 else f"{base}_{k}"
            if name not in taken:
                taken.add(name)
                yield name
                break


def snake(cls: str) -> str:
    """Keras's naming.to_snake_case for class names: ReLU -> re_lu, Dense -> dense."""
    out = []
    for i, c in enumerate(cls):
        if c.isupper() and i and (cls[i - 1].islower() or
                                  (i + 1 < len(cls) and cls[i + 1].islower())):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


def keras_layers(model: Sequential, snap: Snapshot | None
                 ) -> tuple[list[dict[str, Any]], list[tuple[str, str, list[np.ndarray]]]]:
    """(Keras layer configs, input layer first; [(h5 group, layer name, weights)]) for
    `model`; weights only with a snapshot.  KerasFileError for what Keras lacks."""
    from .._shaping import trace

    dtype = model.dtype.name
    assert model.input_shape is not None  # take_snapshot checked the input size
    in_shape = model.input_shape[1:]
    layers = model.layers  # the Input layer aside
    shapes, _ = trace(layers, tuple(in_shape))
    declared = model.input_layer
    input_name = declared.name if declared is not None and declared.name else None
    if input_name is None:  # Keras's default, unless a layer has that name
        taken, k = {l.name for l in layers}, 0
        input_name = "input_layer"
        while input_name in taken:
            k += 1
            input_name = f"input_layer_{k}"
    configs: list[dict[str, Any]] = [{
        "module": "keras.layers", "class_name": "InputLayer",
        "config": {"batch_shape": [None, *in_shape], "dtype": dtype, "sparse": False,
                   "name": input_name}, "registered_name": None}]
    groups: list[tuple[str, str, list[np.ndarray]]] = []
    used: dict[str, int] = {}
    shape_in: tuple[Any, ...] = tuple(in_shape)
    out_shapes = {id(l): s for l, s in zip(layers, shapes)}
    for layer, name in zip(layers, _names(layers)):
        entry = LAYERS.get(type(layer))
        if entry is None:
            raise KerasFileError(f"the layer {layer.name!r} ({type(layer).__name__}) has no "
                                 "Keras file writer; save this model to a .fastnn file.")
        spec = {"module": "keras.layers", "class_name": entry.keras_class,
                "config": {"name": name, "trainable": bool(layer.trainable),
                           "dtype": _policy(_layer_dtype(layer, dtype)),
                           **entry.config(layer)},
                "registered_name": None}
        if entry.build_config:
            spec["build_config"] = {"input_shape": [None, *shape_in]}
        configs.append(spec)
        group = snake(entry.keras_class)
        k = used.get(group, -1) + 1
        used[group] = k
        weights = entry.weights(layer, snap) if entry.weights and snap is not None else []
        groups.append((group if k == 0 else f"{group}_{k}", name, weights))
        shape_in = tuple(out_shapes[id(layer)] or shape_in)
    return configs, groups


def keras_model_config(model: Sequential, snap: Snapshot | None,
                       compile_config: dict[str, Any] | None
                       ) -> tuple[dict[str, Any], list[tuple[str, str, list[np.ndarray]]]]:
    """(config.json's object, the layers' weight groups)."""
    layers, groups = keras_layers(model, snap)
    batch = layers[0]["config"]["batch_shape"]
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": model.name, "trainable": True,
                         "dtype": _policy(model.dtype.name), "layers": layers,
                         "build_input_shape": batch},
              "registered_name": None, "build_config": {"input_shape": batch},
              "compile_config": compile_config}
    return config, groups


# ------------------------------------------------------------------ writing
def _listing(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, arr in arrays.items():
        arr = np.require(arr, requirements="C")  # (ascontiguousarray makes a 0-d array 1-d)
        out[name] = {"shape": list(arr.shape), "dtype": arr.dtype.str,
                     "sha256": hashlib.sha256(arr.data.cast("B") if arr.size else b""
                                              ).hexdigest()}
    return out


def write_h5(h5py: Any, fileobj: IO[bytes], model_name: str,
             groups: list[tuple[str, str, list[np.ndarray]]],
             optimizer: tuple[str, list[np.ndarray]] | None) -> None:
    """Keras's weights layout (saving_lib's H5IOStore) into `fileobj`."""
    with h5py.File(fileobj, "w") as f:
        top = f.create_group("layers")
        for group, name, weights in groups:
            g = top.create_group(group).create_group("vars")
            g.attrs["name"] = name
            for i, w in enumerate(weights):
                g.create_dataset(str(i), data=w)
        if optimizer is not None:
            g = f.create_group("optimizer").create_group("vars")
            g.attrs["name"] = optimizer[0]
            for i, w in enumerate(optimizer[1]):
                g.create_dataset(str(i), data=w)
        f.create_group("vars").attrs["name"] = model_name


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def save_keras(model: Sequential, path: str, overwrite: bool = True) -> None:
    """``model.save(path)`` for a path ending in ``.keras``."""
    from .._archive import atomic_write

    h5py = h5py_module("save")
    snap = take_snapshot(model, "model")
    from . import _keras_training as T

    compile_config = T.keras_compile_config(model)
    config, groups = keras_model_config(model, snap, compile_config)
    opt_vars = None
    if model.optimizer is not None:
        T.zero_frozen_slots(model, snap)
        opt_vars = (T.OPTIMIZER_NAMES[type(model.optimizer).__name__],
                    T.optimizer_vars(model, snap))
    extras = {**snap.config, "arrays": _listing(snap.arrays)}
    h5 = io.BytesIO()
    write_h5(h5py, h5, model.name, groups, opt_vars)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": time.strftime("%Y-%m-%d@%H:%M:%S", time.gmtime()),
                "fastnn_writer": snap.config["fastnn_version"]}

    def write(f: IO[bytes]) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(_member("metadata.json"), json.dumps(metadata))
            zf.writestr(_member("config.json"), json.dumps(config, allow_nan=False))
            zf.writestr(_member("model.weights.h5"), h5.getvalue())
            zf.writestr(_member(EXTRAS), json.dumps(extras, allow_nan=False))

    atomic_write("save", path, write, overwrite)


def save_weights_h5(model: Sequential, path: str, overwrite: bool = True) -> None:
    """``model.save_weights(path)`` for a path ending in ``.weights.h5``: Keras's
    ``save_weights`` file (the layers' part of model.weights.h5)."""
    from .._archive import atomic_write

    h5py = h5py_module("save_weights")
    snap = take_snapshot(model, "weights")
    _, groups = keras_layers(model, snap)
    atomic_write("save_weights", path,
                 lambda f: write_h5(h5py, f, model.name, groups, None), overwrite)

