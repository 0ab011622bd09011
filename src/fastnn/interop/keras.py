"""Keras 3 ``.keras`` files in: ``fastnn.load_model("model.keras")``.

A ``.keras`` file is a zip of ``config.json`` (the architecture, as JSON) and
``model.weights.h5`` (HDF5; a Dense layer's kernel and bias at
``layers/dense[_k]/vars/0`` and ``vars/1``, numbered by class in layer order).
fastnn reads a ``Sequential`` or a functional chain of ``InputLayer``, ``Dense``
(any activation fastnn has), ``Dropout``, ``Activation``, ``ReLU``/``Softmax`` (default
arguments), ``Flatten`` and ``Reshape`` (an input of shape (28, 28), say),
``BatchNormalization``, ``LayerNormalization``, ``Normalization``,
``UnitNormalization``, ``GaussianNoise``, ``GaussianDropout`` and ``AlphaDropout``
(their variables at ``layers/batch_normalization[_k]/vars/0..3`` and so on), float32 or
float64, into a ``fastnn.Sequential`` predicting the same values — as long as fastnn
can run the chain (fastnn/_shaping.py: an Activation follows a linear Dense).  Everything else — another
layer type, an activation, initializer, regularizer or constraint fastnn lacks,
a custom (registered) object, a Lambda — raises ``ModelFileError`` (a
ValueError) naming the layer and the object.  Nothing in the file is executed:
the JSON is read as data, classes are matched by name against the short list
above.  The weights file is read by fastnn's own reader of the HDF5 that Keras
writes (:mod:`fastnn.interop._hdf5`, which says why libhdf5 is kept away from
untrusted bytes): the whole file is walked and checked first — no external,
virtual, chunked or filtered storage, no soft links, every byte inside the file —
then the kernels and biases are read as IEEE floats of the shapes the config
implies.  A file is refused with ``ModelFileError``, never half-read; weights
holding NaN or infinities are refused unless ``allow_nonfinite=True``.  The
file's compile settings are not imported (compile the loaded model yourself) —
except from a file fastnn wrote (:mod:`fastnn.interop.keras_out`), whose
``fastnn.json`` brings back the whole fastnn model and training state.
No extra is needed.

(About 450 lines: every entry of a Keras config is checked before anything is built,
and the checks, the plan and the weights' reading are one path; the normalization
and noise layers' settings are in _keras_layers.py, fastnn's own extras in
_keras_extras.py.)
"""
from __future__ import annotations

import contextlib
import json
import math
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .._untrusted import Invalid, member_data_start, model_file_errors, need
from . import _hdf5, _keras_extras, keras_out
from ._keras_layers import NORM_GROUPS, NORMALIZATIONS, REGULARIZERS, normalization_settings

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..layers import Layer
    from ..models import Sequential

    # [(kind, layer name, settings)]: the checked chain of layers, input first
    Plan: TypeAlias = list[tuple[str, str, dict[str, Any]]]
    # per layer with variables, its arrays in Keras's order (kernel, bias; gamma, ...)
    Weights: TypeAlias = list[list[np.ndarray]]

MAX_CONFIG_BYTES = 16 << 20
_ACTIVATIONS = {"linear": "linear", None: "linear", "sigmoid": "sigmoid", "tanh": "tanh",
                "relu": "relu", "softmax": "softmax", "leaky_relu": "leaky_relu", "elu": "elu",
                "selu": "selu", "gelu": "gelu", "softplus": "softplus", "swish": "swish",
                "silu": "swish"}
_INITIALIZERS = keras_out.KERAS_INITIALIZERS


def load(f: IO[bytes], size: int, where: str, compile: bool = True,
         allow_nonfinite: bool = False, *, cls: type[Sequential]) -> Sequential:
    """The fastnn model of class `cls` (fastnn.Sequential: passed in, as this module
    sits below fastnn.models) for the Keras file open as `f` (`size` bytes; `where`
    names it in errors); see the module docstring."""
    with model_file_errors(where):
        try:
            return _load(f, size, compile, allow_nonfinite, where, cls)
        except Invalid as exc:
            raise Invalid(f"Keras file: {exc}") from None


def _load(f: IO[bytes], size: int, compile: bool, allow_nonfinite: bool,
          where: str, cls: type[Sequential]) -> Sequential:
    with zipfile.ZipFile(f) as zf:
        names = zf.namelist()
        need(len(names) == len(set(names)), "duplicate zip members "
             f"{sorted({n for n in names if names.count(n) > 1})}")
        config = _read_json(zf)
        plan = _plan(config)
        if _keras_extras.EXTRAS in names:  # written by fastnn: its whole state comes back
            extras = _keras_extras.read_extras(zf)
            model, expected = _keras_extras.check_model(extras, cls)
            _keras_extras.check_same_model(model, config)
            with _weights_file(f, zf, size, plan) as (h5file, base, length):
                arrays = _keras_extras.read_arrays(_hdf5.Reader(h5file, base, length),
                                                   model, extras, expected)
            return _keras_extras.assemble(model, extras, arrays, where, compile,
                                          allow_nonfinite)
        with _weights_file(f, zf, size, plan) as (h5file, base, length):
            weights = _read_weights(_hdf5.Reader(h5file, base, length), plan)
    for j, layer_arrays in enumerate(weights):  # before set_weights, to name the file
        need(all(np.isfinite(w).all() for w in layer_arrays),
             f"the weights of layer {j} (with weights) hold NaN or infinite values"
             + (" (allow_nonfinite applies to fastnn's own files only)" if allow_nonfinite
                else ""))
    return _build(plan, weights, config, compile, cls)


def read_weights_file(f: IO[bytes], size: int, where: str,
                      model: Sequential) -> list[np.ndarray]:
    """The weights of a Keras ``.weights.h5`` file (``save_weights``) for `model` (built:
    its layers' ``get_weights`` give the shapes), as ``set_weights`` takes them: per
    Dense or normalization layer, its variables from its group (``layers/dense[_k]``,
    ``layers/batch_normalization[_k]``, ...; see keras_out) in Keras's order.  A
    Normalization's count (Keras's int32, which plays no part in a prediction) must be
    there and is read as 0.  Every other group must hold no weights; every dataset in
    ``layers/`` must be one the model reads."""
    from ..layers import Dense

    groups = _keras_extras.layer_groups(model)
    with model_file_errors(where):
        try:
            h5 = _hdf5.Reader(f, 0, size)
            need(any(p.startswith("layers/") for p in h5.datasets),
                 "no weights under 'layers/', so not Keras 3's .weights.h5 layout (Keras "
                 "2's legacy .h5 weights, or another HDF5 file); in Keras, load the model "
                 "and save_weights('model.weights.h5'), which fastnn reads")
            out: list[np.ndarray] = []
            read: set[str] = set()
            for layer in model.layers:
                group = groups[layer]
                current = layer.get_weights()
                names = keras_out.keras_weight_names(layer) if current else []
                wanted = [str(i) for i in range(len(names))]
                found = sorted((p[len(group) + 1:] for p in h5.datasets
                                if p.startswith(group + "/")), key=lambda n: (len(n), n))
                kind = "Dense" if isinstance(layer, Dense) else type(layer).__name__
                need(found == wanted, f"{group} holds weights {found}; this model's {kind} "
                     f"layer {layer.name!r} needs {wanted} ("
                     + ", ".join(f"{n} {tuple(w.shape)}" for n, w in zip(names, current))
                     + ")")
                for i, (name, value) in enumerate(zip(names, current)):
                    path = f"{group}/{i}"
                    read.add(path)
                    out.append(np.zeros((), value.dtype) if name == "count"
                               else h5.read(path, value.shape))
            others = sorted(p for p in h5.datasets if p.startswith("layers/") and p not in read)
            need(not others, f"the file holds weights this model has no layer for: {others}")
            return out
        except Invalid as exc:
            raise Invalid(f"Keras weights file: {exc}") from None


def _declared_bytes(plan: Plan) -> int:
    """The bytes of the weights the config implies (float64 at most)."""
    total, n_in = 0, 0
    for kind, _, s in plan:
        if kind == "input":
            n_in = s["n"]
        elif kind == "dense":
            total += (n_in + 1) * s["units"] * 8
            n_in = s["units"]
        elif kind in NORM_GROUPS:
            total += 4 * n_in * 8 + 8
    return total


@contextlib.contextmanager
def _weights_file(f: IO[bytes], zf: zipfile.ZipFile, size: int,
                  plan: Plan) -> Iterator[tuple[IO[bytes], int, int]]:
    """(file, offset, length) of the HDF5 bytes of model.weights.h5, their zip CRC-32
    checked: read in place when stored (as Keras writes it), else inflated into a
    temporary file, at most the size the config allows (a few KB cannot become GB)."""
    info = zf.getinfo("model.weights.h5")
    need(not info.flag_bits & 0x1, "model.weights.h5 is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        start = member_data_start(f, info)
        need(info.file_size == info.compress_size and start + info.file_size <= size,
             "model.weights.h5 declares more bytes than the file holds")
        f.seek(start)
        crc, left = 0, info.file_size
        while left:
            chunk = f.read(min(left, 1 << 20))
            need(len(chunk) > 0, "model.weights.h5 ends early")
            crc, left = zlib.crc32(chunk, crc), left - len(chunk)
        need(crc == info.CRC, "model.weights.h5 has a bad CRC-32 (the file is "
             "damaged)")
        yield f, start, info.file_size
        return
    limit = 4 * _declared_bytes(plan) + 64 * 1024 * len(plan) + (4 << 20)
    need(info.file_size <= limit, f"model.weights.h5 inflates to "
         f"{info.file_size} bytes; its model needs at most {limit}")
    with tempfile.TemporaryFile() as tmp, zf.open(info) as src:
        left = info.file_size
        while left:  # zipfile checks the CRC-32 at the member's end
            chunk = src.read(min(left, 1 << 20))
            need(len(chunk) > 0, "model.weights.h5 ends early")
            tmp.write(chunk)
            left -= len(chunk)
        need(src.read(1) == b"", "model.weights.h5 is longer than declared")
        yield tmp, 0, info.file_size


def _read_json(zf: zipfile.ZipFile) -> Any:
    info = zf.getinfo("config.json")
    need(info.file_size <= MAX_CONFIG_BYTES, "config.json is too large")
    with zf.open(info) as f:
        text = f.read(MAX_CONFIG_BYTES + 1)
    need(len(text) <= MAX_CONFIG_BYTES, "config.json is too large")
    return json.loads(text.decode("utf-8"), parse_constant=lambda c: need(False, c))


def _plan(config: Any) -> Plan:
    """[(kind, name, settings)] for the chain, every object checked."""
    need(isinstance(config, dict), "config.json is not an object")
    kind, body = config.get("class_name"), config.get("config")
    need(kind in ("Sequential", "Functional", "Model") and isinstance(body, dict),
          f"the model is a {kind!r}; fastnn reads Sequential or functional chains")
    _check_object(config, "the model")
    layers = body.get("layers")
    need(isinstance(layers, list) and 0 < len(layers) <= 1000, "no list of layers")
    plan: Plan = []
    previous = None
    for i, spec in enumerate(layers):
        need(isinstance(spec, dict) and isinstance(spec.get("config"), dict),
              f"layer {i} is not a layer config")
        cls, cfg = spec.get("class_name"), spec["config"]
        name = cfg.get("name", f"#{i}")
        _check_object(spec, f"layer {name!r}")
        if kind != "Sequential":  # a functional model must be a chain
            inbound = spec.get("inbound_nodes") or []
            sources = [a["config"]["keras_history"][0] for node in inbound
                       for a in node.get("args", []) if isinstance(a, dict)
                       and a.get("class_name") == "__keras_tensor__"]
            need((previous is None and not sources) or sources == [previous],
                  f"layer {name!r} is not fed by the layer before it; fastnn reads chains")
        previous = name
        if cls == "InputLayer":
            shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
            need(i == 0 and isinstance(shape, list) and 2 <= len(shape) <= 9
                  and all(type(d) is int and 1 <= d < 2**31 for d in shape[1:]),
                  f"input layer {name!r} is not a (None, n, ...) input of known size")
            plan.append(("input", name, {"n": math.prod(shape[1:]), "shape": shape[1:],
                                         "dtype": _dtype(cfg.get("dtype")).replace(
                                             "mixed_bfloat16", "float32")}))
        elif cls == "Dense":
            plan.append(("dense", name, _dense(cfg, name)))
        elif cls == "Dropout":
            rate = cfg.get("rate")
            need(isinstance(rate, (int, float)) and 0 <= rate < 1,
                  f"dropout {name!r} has rate {rate!r}")
            plan.append(("dropout", name, {"rate": float(rate)}))
        elif cls in ("Activation", "ReLU", "Softmax", "Flatten", "Reshape"):
            plan.append((cls.lower(), name, _weightless(cls, cfg, name)))
        elif cls in NORMALIZATIONS:
            plan.append((cls, name, normalization_settings(cls, cfg, name)))
        else:
            raise Invalid(f"layer {name!r} is a {cls!r}; fastnn reads InputLayer, Dense, "
                          "Dropout, Activation, ReLU, Softmax, Flatten, Reshape, "
                          f"{', '.join(sorted(NORMALIZATIONS))} only")
    if plan[0][0] != "input":  # a Sequential built without an Input layer
        shape = body.get("build_input_shape")
        need(isinstance(shape, list) and 2 <= len(shape) <= 9
              and all(type(d) is int and 1 <= d < 2**31 for d in shape[1:]),
              "the file does not give the input size")
        plan.insert(0, ("input", "input_layer", {"n": math.prod(shape[1:]),
                                                 "shape": shape[1:], "dtype": "float32"}))
    if kind != "Sequential":
        outputs = body.get("output_layers")
        need(isinstance(outputs, list) and outputs[:1] == [previous],
              "the model's output is not its last layer")
    need(any(p[0] == "dense" for p in plan), "the model has no Dense layer")
    return plan


def _weightless(cls: str, cfg: dict[str, Any], name: str) -> dict[str, Any]:
    """The settings of a layer without weights, checked against what fastnn runs."""
    if cls == "Activation":
        act = cfg.get("activation")
        need(act in _ACTIVATIONS, f"activation layer {name!r} applies {act!r}; fastnn has "
             f"{sorted(k for k in _ACTIVATIONS if k)}")
        return {"activation": _ACTIVATIONS[act]}
    if cls == "ReLU":
        need(cfg.get("max_value") is None and not cfg.get("negative_slope")
             and not cfg.get("threshold"), f"ReLU layer {name!r} has arguments "
             "(max_value, negative_slope, threshold) fastnn's relu lacks")
        return {"activation": "relu"}
    if cls == "Softmax":
        need(cfg.get("axis", -1) in (-1, 1), f"Softmax layer {name!r} is over axis "
             f"{cfg.get('axis')!r}; fastnn's is over the features (-1)")
        return {"activation": "softmax"}
    if cls == "Flatten":
        need(cfg.get("data_format") in (None, "channels_last"),
             f"Flatten layer {name!r} has data_format {cfg.get('data_format')!r}")
        return {}
    target = cfg.get("target_shape")
    need(isinstance(target, list) and 1 <= len(target) <= 8
         and all(type(d) is int and (d == -1 or 1 <= d < 2**31) for d in target),
         f"Reshape layer {name!r} has target_shape {target!r}")
    return {"target_shape": target}


def _check_object(spec: dict[str, Any], what: str) -> None:
    registered = spec.get("registered_name")
    module = spec.get("module")
    need(registered is None or registered == spec.get("class_name"),
          f"{what} is a custom object ({registered!r}); fastnn runs no custom code")
    need(module is None or (isinstance(module, str) and module.startswith("keras")),
          f"{what} comes from module {module!r}; fastnn reads Keras's own layers only")


def _dtype(policy: Any) -> str:  # a JSON value
    name = policy.get("config", {}).get("name") if isinstance(policy, dict) else policy
    need(name in (None, "float32", "float64", "mixed_bfloat16"),
          f"dtype policy {name!r}; fastnn computes in float32, float64 or mixed_bfloat16")
    return name or "float32"


def _dense(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    act = cfg.get("activation")
    if isinstance(act, dict):  # a serialized activation object
        act = act.get("config", {}).get("name") if act.get("class_name") in (
            "function", "Activation") else act.get("class_name")
    need(act in _ACTIVATIONS, f"dense {name!r} uses activation {act!r}; fastnn has "
          f"{sorted(k for k in _ACTIVATIONS if k)}")
    out = {"units": cfg.get("units"), "activation": _ACTIVATIONS[act],
           "use_bias": cfg.get("use_bias", True), "dtype": _dtype(cfg.get("dtype"))}
    need(type(out["units"]) is int and 1 <= out["units"] < 2**31,
          f"dense {name!r} has units {out['units']!r}")
    need(isinstance(out["use_bias"], bool), f"dense {name!r}: use_bias is not a bool")
    out["trainable"] = cfg.get("trainable", True)
    need(isinstance(out["trainable"], bool), f"dense {name!r}: trainable is not a bool")
    for key in ("kernel_initializer", "bias_initializer"):
        init = cfg.get(key)
        cls: Any = init.get("class_name") if isinstance(init, dict) else init  # JSON
        need(cls in _INITIALIZERS or cls in _INITIALIZERS.values(),
              f"dense {name!r}: {key} {cls!r} is not one fastnn has")
        out[key] = _INITIALIZERS.get(cls, cls)
        if out[key] == "constant":  # the one with an argument
            from ..initializers import Constant

            value = init.get("config", {}).get("value", 0.0) if isinstance(init, dict) else 0.0
            need(type(value) in (int, float) and math.isfinite(value),
                 f"dense {name!r}: {key} Constant has value {value!r}")
            out[key] = Constant(float(value))
    for key in ("kernel_regularizer", "bias_regularizer"):
        reg = cfg.get(key)
        if reg is None:
            out[key] = None
            continue
        cls = reg.get("class_name") if isinstance(reg, dict) else reg
        need(cls in REGULARIZERS, f"dense {name!r}: {key} {cls!r} is not one fastnn has")
        values = reg.get("config", {})
        out[key] = {k: float(values.get(k, 0.0)) for k in ("l1", "l2")}
    for key in ("kernel_constraint", "bias_constraint", "activity_regularizer",
                "quantization_config", "lora_rank"):
        need(not cfg.get(key), f"dense {name!r}: {key} {cfg.get(key)!r} is not supported "
              "by fastnn")
    return out


def _read_weights(h5: _hdf5.Reader, plan: Plan) -> Weights:
    """Per layer with variables, its arrays in Keras's order; the groups (named by
    class, numbered in layer order) and shapes checked before reading.  A
    Normalization's ``count`` (Keras keeps it for old files; it plays no part in a
    prediction) must be there and is not read: fastnn's is 0, as Keras 3's."""
    out: Weights = []
    n_in = 0
    seen: dict[str, int] = {}
    for kind, name, s in plan:
        if kind == "input":
            n_in = s["n"]
            continue
        wanted: list[tuple[int, ...]]
        if kind == "dense":
            wanted = [(n_in, s["units"])] + ([(s["units"],)] if s["use_bias"] else [])
            prefix = "dense"
        elif kind in NORM_GROUPS:
            prefix = NORM_GROUPS[kind]
            if kind == "Normalization":
                if s["mean"] is not None:  # given: constants, no variables
                    seen[prefix] = seen.get(prefix, 0) + 1
                    continue
                wanted = [(n_in,), (n_in,), ()]
            else:
                wanted = [(n_in,)] * (s["scale"] + s["center"] + 2 * (kind ==
                                                                      "BatchNormalization"))
        else:
            continue
        k = seen.get(prefix, 0)
        seen[prefix] = k + 1
        group = f"layers/{prefix if k == 0 else f'{prefix}_{k}'}/vars"
        keys = [str(i) for i in range(len(wanted))]
        found = sorted(p[len(group) + 1:] for p in h5.datasets if p.startswith(group + "/"))
        need(bool(found) or not keys, f"no weights for layer {name!r} (expected {group})")
        need(found == sorted(keys), f"layer {name!r} has weight arrays {found} in {group}, "
             f"expected {keys}")
        if kind == "Normalization":  # mean, variance read; count only present
            out.append([h5.read(f"{group}/{i}", wanted[i]) for i in (0, 1)] + [np.zeros(())])
        else:
            out.append([h5.read(f"{group}/{key}", shape) for key, shape in zip(keys, wanted)])
        if kind == "dense":
            n_in = s["units"]
    return out


def _build(plan: Plan, weights: Weights, config: dict[str, Any],
           compile: bool, cls: type[Sequential]) -> Sequential:
    import warnings

    from .. import layers as fl
    from ..layers import Activation, Dense, Dropout, Flatten, Input, Reshape
    from ..regularizers import l1_l2

    dtypes = {s["dtype"] for kind, _, s in plan if kind in ("input", "dense")}
    dtype = "float64" if dtypes == {"float64"} else "float32"
    layers: list[Layer] = []
    for kind, name, s in plan:
        if kind == "input":
            layers.append(Input(shape=tuple(s["shape"]), name=name))
        elif kind == "dropout":
            layers.append(Dropout(s["rate"], name=name))
        elif kind in ("activation", "relu", "softmax"):
            layers.append(Activation(s["activation"], name=name))
        elif kind == "flatten":
            layers.append(Flatten(name=name))
        elif kind == "reshape":
            layers.append(Reshape(tuple(s["target_shape"]), name=name))
        elif kind in NORMALIZATIONS:
            args = dict(s)
            for key in ("beta_regularizer", "gamma_regularizer"):
                if key in args:
                    args[key] = l1_l2(**args[key]) if args[key] else None
            layers.append(getattr(fl, kind)(name=name, **args))
        else:
            regs = [l1_l2(**r) if r else None for r in (s["kernel_regularizer"],
                                                         s["bias_regularizer"])]
            layers.append(Dense(s["units"], activation=s["activation"], use_bias=s["use_bias"],
                                kernel_initializer=s["kernel_initializer"],
                                bias_initializer=s["bias_initializer"],
                                kernel_regularizer=regs[0], bias_regularizer=regs[1],
                                name=name, trainable=s["trainable"],
                                dtype="mixed_bfloat16" if s["dtype"] == "mixed_bfloat16"
                                else "float32"))
    try:  # a chain fastnn cannot run (an Activation after a non-linear Dense, ...)
        model = cls(layers, name=str(config.get("config", {}).get("name",
                                                                          "sequential")),
                           dtype=dtype)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    flat = [w for arrays in weights for w in arrays]
    try:
        model.set_weights(flat)
    except ValueError as exc:  # a negative variance, a Normalization of the wrong size
        raise Invalid(str(exc)) from None
    if compile and config.get("compile_config"):
        warnings.warn("load_model(): the Keras file's compile settings (optimizer, loss, "
                      "metrics) are not imported; call model.compile(...) to train the "
                      "loaded model.", UserWarning, stacklevel=3)
    return model
