"""The model <-> archive mapping, in one place: which members and config entries a
``Sequential`` has in fastnn's model file (docs/file-format.md), written by
:func:`snapshot` and checked and read back by :func:`check_config` and
:func:`assemble`.  The container itself (zip, ``.npy``, checksums, atomic write)
is :mod:`fastnn._archive`, which knows nothing of models; the public functions are
:mod:`fastnn.saving` (``load_model``) and the model's own methods.

This module sits below :mod:`fastnn.models`: it never imports it.  Where a model
must be built from a config, the caller passes the class (``cls.from_config``),
as Keras finds classes through a registry rather than an import.  Names in a file
resolve only through fastnn's tables (``from_config``, ``optimizers.get``,
``losses.make``, ``metrics.deserialize``); nothing is imported or evaluated.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from . import losses as L
from . import metrics as M
from . import optimizers as O
from ._archive import atomic_write, check_listing, check_path, read_archive, write_archive
from ._untrusted import Invalid, need
from ._validation import MismatchedLossWarning, ModelFileError, check_bool
from ._version import __version__

if TYPE_CHECKING:
    from .models import Sequential

FORMAT_NAME = "fastnn.model"
FORMAT_VERSION = 1
SUFFIX = ".fastnn"
MAX_LAYERS = 1000
MAX_PARAMS = 2**31 - 1          # as Sequential._build
STREAMS = ("init", "shuffle", "dropout")   # fastnn.training.STREAM_* order
SLOTS = ("optimizer/slot_1.npy", "optimizer/slot_2.npy")
_TOP_KEYS = {"format", "format_version", "fastnn_version", "kind", "model", "input_dim",
             "compile", "state", "arrays"}


# ---------------------------------------------------------------------------- write
def snapshot(model: Sequential, kind: str = "model"
             ) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """(config, [(member name, array copy)]) for `model`, taken under its lock so the
    state is one consistent moment.  Raises RuntimeError while fit() runs in another
    thread."""
    func = "save_weights" if kind == "weights" else "save"
    assert kind in ("model", "weights", "int8")
    with model.state_for_saving(func) as state:  # one consistent moment
        config: dict[str, Any] = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                  "fastnn_version": __version__, "kind": kind,
                  "model": {"class_name": "Sequential", "config": model.get_config()},
                  "input_dim": model.input_dim, "compile": None, "state": None}
        arrays: list[tuple[str, np.ndarray]] = [
            (f"weights/{key}.npy", arr) for key, arr in state.variables.items()]
        if kind == "model":
            if model.optimizer is not None and model.optimizer._lr_function is not None:
                raise ValueError(f"{func}(): the optimizer's learning rate is a Python "
                                 "function, which a model file cannot hold (it holds no "
                                 "code). Use a schedule from fastnn.optimizers.schedules, "
                                 "or save_weights.")
            settings = model.compile_settings
            if settings is not None:
                config["compile"] = {"optimizer": O.serialize(settings.optimizer),
                                     "loss": settings.loss,
                                     "metrics": [M.serialize(m) for m in settings.metrics]}
                if settings.weighted_metrics:  # only then: files without them keep their bytes
                    config["compile"]["weighted_metrics"] = [
                        M.serialize(m) for m in settings.weighted_metrics]
                if settings.from_logits:
                    config["compile"]["from_logits"] = True
            config["state"] = {
                "seed": int(model.seed),
                "iterations": int(model.optimizer.iterations) if model.optimizer else 0,
                "rng": {name: [int(v) for v in state.rng[i]]
                        for i, name in enumerate(STREAMS)},
                "optimizer_slots": state.slots is not None and model.optimizer is not None,
            }
            if config["state"]["optimizer_slots"]:
                assert state.slots is not None
                arrays += list(zip(SLOTS, state.slots))
    return config, arrays


def save(model: Sequential, path: str | os.PathLike[str], *, kind: str = "model",
         overwrite: bool = True) -> None:
    """Write `model` to `path` atomically and durably (see fastnn._archive)."""
    func = "save_weights" if kind == "weights" else "save"
    path = check_path(func, path)
    overwrite = check_bool(func, "overwrite", overwrite)
    config, arrays = snapshot(model, kind)
    atomic_write(func, path, lambda f: write_archive(f, config, arrays), overwrite)


def to_bytes(model: Sequential) -> bytes:
    """The model file's bytes (used to copy and serialise models in memory)."""
    config, arrays = snapshot(model)
    buf = io.BytesIO()
    write_archive(buf, config, arrays)
    return buf.getvalue()


# ---------------------------------------------------------------------------- read
def read(source: str | IO[bytes], where: str, cls: type[Sequential]
         ) -> tuple[dict[str, Any], dict[str, np.ndarray], Sequential]:
    """(config, {member name: array}, unbuilt model of class `cls`) from a path or a
    binary file object, every check done; ModelFileError (with `where`) for any
    malformed input (see fastnn._archive.read_archive)."""
    built: list[Sequential] = []

    def expect(config: Any) -> tuple[dict[str, tuple[int, ...]], str]:
        model, expected = check_config(config, cls)
        built.append(model)
        return expected, np.dtype(model.dtype).str

    config, arrays = read_archive(source, where, expect, max_members=2 * MAX_LAYERS + 3)
    return config, arrays, built[0]


def check_config(config: Any, cls: type[Sequential]
                 ) -> tuple[Sequential, dict[str, tuple[int, ...]]]:
    """Validate the config, its ``"arrays"`` listing aside (fastnn._archive.
    check_listing); return (unbuilt model, {member: expected shape})."""
    need(isinstance(config, dict), "config.json is not a JSON object")
    need(config.get("format") == FORMAT_NAME,
          f"config.json does not name the format {FORMAT_NAME!r}")
    version = config.get("format_version")
    need(type(version) is int and version >= 1, f"invalid format_version {version!r}")
    need(version <= FORMAT_VERSION, f"unsupported format version {version} (this fastnn "
          f"{__version__} reads versions up to {FORMAT_VERSION}); upgrade fastnn")
    need(set(config) == _TOP_KEYS, f"config.json keys {sorted(config)} are not the "
          f"format's {sorted(_TOP_KEYS)}")
    need(isinstance(config["fastnn_version"], str), "invalid fastnn_version")
    kind = config["kind"]
    # "int8": a quantized model (fastnn/quantization.py) stored as the float32 weights
    # it was made from, which determine it; read like a weights file
    need(kind in ("model", "weights", "int8"), f"invalid kind {kind!r}")
    spec = config["model"]
    need(isinstance(spec, dict) and spec.get("class_name") == "Sequential"
          and set(spec) == {"class_name", "config"}, "model is not a Sequential config")
    layers = spec["config"].get("layers") if isinstance(spec["config"], dict) else None
    need(isinstance(layers, list) and len(layers) <= MAX_LAYERS,
          f"the model config needs a list of at most {MAX_LAYERS} layers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MismatchedLossWarning)
            model = cls.from_config(spec["config"])
    except (ValueError, TypeError) as exc:
        raise Invalid(f"invalid model config: {exc}") from None
    input_dim = config["input_dim"]
    need(input_dim is None or (type(input_dim) is int and 1 <= input_dim <= MAX_PARAMS),
          f"invalid input_dim {input_dim!r}")
    need(model.input_dim in (None, input_dim), "input_dim differs from the layers' input")
    expected: dict[str, tuple[int, ...]] = {}
    if input_dim is not None:
        need(bool(model.dense_layers), "input_dim given for a model without Dense layers")
        total = 0
        for key, shape in model.own_variable_shapes(input_dim).items():
            expected[f"weights/{key}.npy"] = shape
            total += int(np.prod(shape, dtype=object))
        need(total <= MAX_PARAMS, f"the architecture has {total} parameters "
              f"(fastnn supports at most {MAX_PARAMS})")
        if model.input_dim is None:  # the layers do not declare it: the file's (no weights yet)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", MismatchedLossWarning)
                    model = cls.from_config({**spec["config"],
                                             "build_input_shape": [None, input_dim]})
            except (ValueError, TypeError) as exc:
                raise Invalid(f"invalid model config: {exc}") from None
    if kind == "model":
        _check_compile(config["compile"])
        slots = _check_state(config["state"], config["compile"])
        if slots:
            need(input_dim is not None, "optimizer slots for a model without weights")
            expected.update({name: (total,) for name in SLOTS})
    else:
        need(config["compile"] is None and config["state"] is None,
              "a weights file holds no compile settings or state")
    return model, expected


def _check_compile(comp: Any) -> None:
    if comp is None:
        return
    need(isinstance(comp, dict) and {"optimizer", "loss", "metrics"} <= set(comp)
          <= {"optimizer", "loss", "metrics", "from_logits", "weighted_metrics"},
          "compile settings need optimizer, loss and metrics (and optionally from_logits "
          "and weighted_metrics)")
    need(isinstance(comp["optimizer"], dict), "invalid optimizer config")
    need(type(comp.get("from_logits", False)) is bool, "invalid from_logits")
    for key in ("metrics", "weighted_metrics"):
        ms = comp.get(key, [])
        need(isinstance(ms, list) and len(ms) <= 16
             and all(isinstance(m, (str, dict)) for m in ms), f"invalid {key} list")
    try:
        O.get(comp["optimizer"])
        L.make(comp["loss"], comp.get("from_logits", False))
        for m in comp["metrics"] + comp.get("weighted_metrics", []):
            M.deserialize(m)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"invalid compile settings: {exc}") from None


def _check_state(state: Any, comp: Any) -> bool:
    """Validate the training state; return whether optimizer slots are stored."""
    need(isinstance(state, dict) and set(state) == {"seed", "iterations", "rng",
                                                      "optimizer_slots"},
          "state needs exactly seed, iterations, rng and optimizer_slots")
    need(type(state["seed"]) is int and 0 <= state["seed"] < 2**64, "invalid seed")
    its = state["iterations"]
    need(type(its) is int and 0 <= its < 2**62, f"invalid iterations {its!r}")
    rng = state["rng"]
    need(isinstance(rng, dict) and set(rng) == set(STREAMS), "invalid rng streams")
    for name, words in rng.items():
        need(isinstance(words, list) and len(words) == 4
              and all(type(w) is int and 0 <= w < 2**64 for w in words) and any(words),
              f"invalid state of random stream {name!r}")
    slots = state["optimizer_slots"]
    need(type(slots) is bool and (comp is not None or not slots),
          "invalid optimizer_slots flag")
    return slots


def check_variances(where: str, arrays: dict[str, np.ndarray]) -> None:
    """A variance in a file must be >= 0 (the kernels take its square root)."""
    for name, arr in arrays.items():
        if name.endswith(("/moving_variance.npy", "/variance.npy")) and np.any(arr < 0):
            raise ModelFileError(where, f"{name} holds a negative variance")


def check_finite(where: str, arrays: dict[str, np.ndarray], allow_nonfinite: bool) -> None:
    if allow_nonfinite:
        return
    for name, arr in arrays.items():
        if not np.isfinite(arr).all():
            raise ModelFileError(where, f"{name} holds NaN or infinite values (pass "
                                 "allow_nonfinite=True to load it for a post-mortem)")


@contextlib.contextmanager
def describing_model(where: str) -> Iterator[None]:
    """A failure while the checked parts are put together (the config's layers, loss
    and metrics disagree) is one ModelFileError naming the file."""
    try:
        yield
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(where, f"the model it describes is invalid: "
                             f"{type(exc).__name__}: {exc}") from None


def assemble(config: dict[str, Any], arrays: dict[str, np.ndarray], model: Sequential,
             where: str, compile: bool, allow_nonfinite: bool) -> Sequential:
    """Put the checked config and arrays into the unbuilt `model` from :func:`read`."""
    check_finite(where, arrays, allow_nonfinite)
    check_variances(where, arrays)
    state = config["state"]
    model.load_own_state(model.input_dim, {
        key: arrays[f"weights/{key}.npy"] for key in model.own_variable_shapes()
        if f"weights/{key}.npy" in arrays},
        None if state is None else [np.array(state["rng"][name], dtype=np.uint64)
                                    for name in STREAMS])
    if state is not None:
        model.seed = state["seed"]
    comp = config["compile"]
    if compile and comp is not None:
        with warnings.catch_warnings():  # the pairing was reported when first compiled
            warnings.simplefilter("ignore", MismatchedLossWarning)
            model.compile(optimizer=O.get(comp["optimizer"]),
                          loss=L.make(comp["loss"], comp.get("from_logits", False)),
                          metrics=[M.deserialize(m) for m in comp["metrics"]],
                          weighted_metrics=[M.deserialize(m) for m in
                                            comp.get("weighted_metrics", [])])
        assert model.optimizer is not None  # just compiled
        model.optimizer.iterations = state["iterations"]
        if state["optimizer_slots"]:
            model.load_optimizer_slots((arrays[SLOTS[0]], arrays[SLOTS[1]]))
    return model


def from_bytes(data: bytes, cls: type[Sequential]) -> Sequential:
    """A model of class `cls` from the bytes of :func:`to_bytes` (copy.deepcopy and
    pickling go through this; non-finite weights are kept as they were)."""
    config, arrays, model = read(io.BytesIO(data), "<bytes>", cls)
    with describing_model("<bytes>"):
        return assemble(config, arrays, model, "<bytes>", True, True)
