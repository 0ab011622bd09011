"""The fastnn model file: ``model.save``, ``fastnn.load_model``, ``save_weights`` and
``load_weights``.  The format is specified in docs/file-format.md.

Design:

* A zip of ``config.json`` and uncompressed (stored) ``.npy`` members: one kernel
  and one bias per Dense layer, the optimizer's two state slots.  The random
  streams, step count and learning rate are in ``config.json``, so a loaded model
  trains on exactly as the saved one would have.
* Loading trusts nothing in the file.  Names resolve only through fastnn's tables
  (``Sequential.from_config``, ``optimizers.get``, ``losses.get``); nothing is
  imported or evaluated, and arrays are plain little-endian floats read from
  their ``.npy`` headers.  Every expected shape is computed from the config, and
  every header and member size is checked against it, before the first array is
  allocated; an array is never larger than the bytes really in the file.  Each
  array carries a SHA-256 in the config and each member the zip CRC-32, so a
  damaged byte is an error, never a different model.  Every failure is one
  :class:`fastnn.ModelFileError` naming the file and the reason.
* Saving writes a temporary file in the target folder, fsyncs it, renames it over
  the target (atomic on POSIX) and fsyncs the folder: an exception or a kill at
  any moment leaves the previous file as it was.  The bytes are deterministic
  (fixed member dates), so the same model saves to the same file.
"""
from __future__ import annotations

import hashlib
import io
import math
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from . import losses as L
from . import metrics as M
from . import optimizers as O
from ._validation import MismatchedLossWarning, ModelFileError, check_bool, fail
from ._version import __version__

from ._file_reader import _SLOTS, _STREAMS, FORMAT_NAME, FORMAT_VERSION, read_archive
from ._untrusted import open_regular
from ._shaping import variable_layout

if TYPE_CHECKING:
    from .models import Sequential

_DATE = (1980, 1, 1, 0, 0, 0)   # fixed member date: same model, same bytes


# ---------------------------------------------------------------------------- save
def snapshot(model: Sequential, kind: str = "model"
             ) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """(config, [(member name, array copy)]) for `model`, taken under its lock so the
    state is one consistent moment.  Raises RuntimeError while fit() runs in another
    thread."""
    func = "save_weights" if kind == "weights" else "save"
    model._check_not_training(func)
    assert kind in ("model", "weights", "int8")
    if model._input_dim is not None and model._dense:
        model._ensure_built(func)  # the weights predict() would create, created now
    with model._reading(func):  # one consistent moment; predicts may run alongside
        config: dict[str, Any] = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                  "fastnn_version": __version__, "kind": kind,
                  "model": {"class_name": "Sequential", "config": model.get_config()},
                  "input_dim": model._input_dim, "compile": None, "state": None}
        arrays: list[tuple[str, np.ndarray]] = []
        if model.built:
            assert model._params is not None and model._input_dim is not None
            for (j, layer, name, shape), off in zip(
                    variable_layout(model._stages, model._input_dim),
                    [o for layer in model._stages for o in model._offsets_of(layer)]):
                size = math.prod(shape)
                arrays.append((f"weights/{j}/{name}.npy",
                               model._params[off:off + size].reshape(shape).copy()))
        if kind == "model":
            if model.optimizer is not None and model.optimizer._lr_function is not None:
                raise ValueError(f"{func}(): the optimizer's learning rate is a Python "
                                 "function, which a model file cannot hold (it holds no "
                                 "code). Use a schedule from fastnn.optimizers.schedules, "
                                 "or save_weights.")
            if model.optimizer is not None:
                config["compile"] = {"optimizer": O.serialize(model.optimizer),
                                     "loss": model.loss,
                                     "metrics": [M.serialize(m) for m, w in zip(
                                         model._metric_objs, model._metric_weighted)
                                         if not w]}
                weighted = [M.serialize(m) for m, w in zip(model._metric_objs,
                                                           model._metric_weighted) if w]
                if weighted:  # only then: files without them keep their bytes
                    config["compile"]["weighted_metrics"] = weighted
                if model._from_logits:
                    config["compile"]["from_logits"] = True
            config["state"] = {
                "seed": int(model.seed),
                "iterations": int(model.optimizer.iterations) if model.optimizer else 0,
                "rng": {name: [int(v) for v in model._rng[i]]
                        for i, name in enumerate(_STREAMS)},
                "optimizer_slots": model._slots is not None and model.optimizer is not None,
            }
            if config["state"]["optimizer_slots"]:
                assert model._slots is not None
                arrays += [(name, s.copy()) for name, s in zip(_SLOTS, model._slots)]
    return config, arrays


def write_archive(fileobj: IO[bytes], config: dict[str, Any],
                  arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """Write the zip to a binary file object: the arrays, then config.json with
    their shapes and SHA-256 digests."""
    listing: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays:
            arr = np.require(arr, requirements="C")  # (ascontiguousarray makes 0-d 1-d)
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, np.lib.format.header_data_from_array_1_0(arr))
            data = arr.data.cast("B") if arr.size else b""  # .data: memoryview(arr)
            with zf.open(_member(name), "w", force_zip64=arr.nbytes > 2**30) as out:
                out.write(header.getvalue())
                out.write(data)
            listing[name] = {"shape": list(arr.shape), "dtype": arr.dtype.str,
                             "sha256": hashlib.sha256(data).hexdigest()}
        config = {**config, "arrays": listing}
        # no indent: json's C encoder (the indenting one is Python code whose closures
        # leave a reference cycle per call)
        zf.writestr(_member("config.json"), json.dumps(config, allow_nan=False))


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def save(model: Sequential, path: str | os.PathLike[str], *, kind: str = "model",
         overwrite: bool = True) -> None:
    """Write `model` to `path` atomically and durably (see the module docstring)."""
    func = "save_weights" if kind == "weights" else "save"
    path = _check_path(func, path)
    overwrite = check_bool(func, "overwrite", overwrite)
    config, arrays = snapshot(model, kind)
    atomic_write(func, path, lambda f: write_archive(f, config, arrays), overwrite)


def save_by_suffix(model: Sequential, filepath: str | os.PathLike[str], kind: str,
                   overwrite: bool) -> None:
    """``model.save`` / ``save_weights``: a Keras file for ``.keras`` (model) and
    ``.weights.h5`` (weights), fastnn's own file otherwise; other ``.h5`` names (Keras's
    legacy HDF5 model format) are refused."""
    func = "save_weights" if kind == "weights" else "save"
    path = _check_path(func, filepath)
    overwrite = check_bool(func, "overwrite", overwrite)
    lower = path.lower()
    if kind == "model" and lower.endswith(".keras"):
        from .interop import keras_out

        missing = keras_out.layers_without_writer(model)
        if not missing:
            return keras_out.save_keras(model, path, overwrite)
        # a layer Keras has but fastnn cannot write yet: the script goes on, with its
        # model in fastnn's own format under this name (fastnn.load_model reads it back)
        warnings.warn(f"{func}(): fastnn cannot yet write {', '.join(missing)} into a Keras "
                      f"file, so {path!r} is written in fastnn's own format: "
                      "fastnn.load_model reads it back whole, Keras cannot load it. Save to "
                      "a '.fastnn' name to say so, or leave these layers out for a Keras "
                      "file.", UserWarning, stacklevel=3)
    if kind == "weights" and lower.endswith(".weights.h5"):
        from .interop import keras_out

        return keras_out.save_weights_h5(model, path, overwrite)
    if lower.endswith((".h5", ".hdf5")):
        what = ("Keras's legacy HDF5 model format" if kind == "model" else
                "an HDF5 weights file whose name does not end in .weights.h5")
        raise ValueError(
            f"{func}(): {path!r} asks for {what}, which fastnn does not write. Use "
            + ("'.keras' (a Keras 3 file Keras and fastnn load) or '.fastnn' (fastnn's own "
               "file)" if kind == "model" else "a name ending in '.weights.h5' (Keras 3's "
               "weights file) or '.fastnn'") + f". Received: filepath={path!r}")
    save(model, path, kind=kind, overwrite=overwrite)


def atomic_write(func: str, path: str, write: Callable[[IO[bytes]], object],
                 overwrite: bool = True) -> None:
    """Call ``write(binary file)`` on a temporary file beside `path`, fsync it, rename
    it over `path` (never replacing an existing file when not `overwrite`) and fsync
    the folder; on any exception the temporary file is removed and `path` untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{func}(): {path!r} exists and overwrite=False.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), _file_mode(path))
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:  # link fails if the target appeared meanwhile: never replace it
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def _file_mode(path: str) -> int:
    """The target's mode when it exists, else 0o666 less the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    try:
        with open("/proc/self/status") as f:
            umask = next(int(l.split()[1], 8) for l in f if l.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = 0o022
    return 0o666 & ~umask


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: folders cannot be opened; rename is durable there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_path(func: str, path: object) -> str:
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        fail(func, "invalid type for argument `filepath`", "a str or os.PathLike",
             "filepath", path, error=TypeError)
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        fail(func, "invalid argument `filepath`", "a non-empty path", "filepath", path)
    return path


def _check_variances(where: str, arrays: dict[str, np.ndarray]) -> None:
    """A variance in a file must be >= 0 (the kernels take its square root)."""
    for name, arr in arrays.items():
        if name.endswith(("/moving_variance.npy", "/variance.npy")) and np.any(arr < 0):
            raise ModelFileError(where, f"{name} holds a negative variance")


def _check_finite(where: str, arrays: dict[str, np.ndarray], allow_nonfinite: bool) -> None:
    if allow_nonfinite:
        return
    for name, arr in arrays.items():
        if not np.isfinite(arr).all():
            raise ModelFileError(where, f"{name} holds NaN or infinite values (pass "
                                 "allow_nonfinite=True to load it for a post-mortem)")


def load_model(filepath: str | os.PathLike[str], compile: bool = True, *,
               allow_nonfinite: bool = False) -> Sequential:
    """The model saved at `filepath` by ``model.save`` — or a Keras 3 ``.keras`` file
    (see ``fastnn.interop.keras``; needs the ``keras`` extra): architecture, weights and,
    with ``compile=True``, the compile settings and the whole training state
    (optimizer slots, step count, learning rate, random streams), so ``fit``
    continues exactly where the saved model stopped.  ``compile=False`` gives an
    inference-only model.  Any malformed file raises :class:`fastnn.ModelFileError`;
    nothing in the file is ever executed."""
    path = _check_path("load_model", filepath)
    compile = check_bool("load_model", "compile", compile)
    allow_nonfinite = check_bool("load_model", "allow_nonfinite", allow_nonfinite)
    f, size = open_regular(path)  # opened once: the content, not the name, picks the reader
    with f:
        if _is_keras_file(f):
            from .interop import keras

            return keras.load(f, size, path, compile, allow_nonfinite)
        return model_from_archive(f, path, compile, allow_nonfinite)


def _is_keras_file(f: IO[bytes]) -> bool:
    """A Keras 3 .keras file (a zip with config.json and model.weights.h5)?  Anything
    unreadable is left to the fastnn reader, which reports it."""
    try:
        with zipfile.ZipFile(f) as zf:
            names = set(zf.namelist())
    except Exception:  # damaged: the fastnn reader says how
        return False
    finally:
        f.seek(0)
    return "model.weights.h5" in names and "config.json" in names


def model_from_archive(source: str | IO[bytes], where: str, compile: bool = True,
                       allow_nonfinite: bool = False) -> Sequential:
    """A model from the bytes or path `source` of a model file (`where` names it in errors)."""
    config, arrays, model = read_archive(source, where)
    try:
        if config["kind"] == "int8":  # a QuantizedModel's file: quantize the weights again
            from .quantization import quantize
            need_built = model._input_dim is not None
            model = _assemble(config, arrays, model, where, False, allow_nonfinite)
            if not need_built:
                raise ValueError("an int8 file without weights")
            return quantize(model, "int8")  # type: ignore[return-value]
        return _assemble(config, arrays, model, where, compile, allow_nonfinite)
    except ModelFileError:
        raise
    except Exception as exc:  # the config's layers, loss and metrics disagree
        raise ModelFileError(where, f"the model it describes is invalid: "
                             f"{type(exc).__name__}: {exc}") from None


def _assemble(config: dict[str, Any], arrays: dict[str, np.ndarray], model: Sequential,
              where: str, compile: bool, allow_nonfinite: bool) -> Sequential:
    _check_finite(where, arrays, allow_nonfinite)
    _check_variances(where, arrays)
    if model._input_dim is not None:
        model._build(model._input_dim)
        assert model._params is not None  # just built
        for (j, layer, name, _), off in zip(
                variable_layout(model._stages, model._input_dim),
                [o for layer in model._stages for o in model._offsets_of(layer)]):
            w = arrays.get(f"weights/{j}/{name}.npy")
            if w is not None:
                model._params[off:off + w.size] = w.reshape(-1)
    state = config["state"]
    if state is not None:
        model.seed = state["seed"]
        for i, name in enumerate(_STREAMS):
            model._rng[i][:] = np.array(state["rng"][name], dtype=np.uint64)
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
            model._slots = (arrays[_SLOTS[0]], arrays[_SLOTS[1]])
    return model


def load_weights(model: Sequential, filepath: str | os.PathLike[str], *,
                 allow_nonfinite: bool = False) -> None:
    """Set `model`'s weights from a file written by ``save_weights`` or ``save``; the
    Dense layers must match in number and shapes.  Optimizer state is untouched."""
    func = "load_weights"
    path = _check_path(func, filepath)
    allow_nonfinite = check_bool(func, "allow_nonfinite", allow_nonfinite)
    model._check_not_training(func)
    f, size = open_regular(path)
    with f:
        if f.read(8) == b"\x89HDF\r\n\x1a\n":  # Keras's .weights.h5
            from .interop import keras

            if model._input_dim is None:
                raise ValueError(f"{func}(): {path!r} is a Keras weights file, which holds "
                                 "no input size; give the model an Input(shape=...) (or "
                                 "build or fit it) before loading weights into it.")
            shapes, n_in = [], model._input_dim
            for layer in model._dense:
                shapes.append(((n_in, layer.units), layer.use_bias))
                n_in = layer.units
            weights = keras.read_weights_file(f, size, path, shapes)
            _check_finite(path, {f"weights[{i}]": w for i, w in enumerate(weights)},
                          allow_nonfinite)
            with model._writing():
                model._ensure_built_locked(func)
                model._set_dense_weights(weights)
            return
    config, arrays, saved = read_archive(path, path)
    weights = [] if saved._input_dim is None else [
        arrays[f"weights/{j}/{name}.npy"]
        for j, _, name, _ in variable_layout(saved._stages, saved._input_dim)]
    _check_finite(path, arrays, allow_nonfinite)
    _check_variances(path, arrays)
    with model._writing():
        input_dim = model._input_dim if model._input_dim is not None else saved._input_dim
        mine = [] if input_dim is None else [
            shape for _, _, _, shape in variable_layout(model._stages, input_dim)]
        theirs = [w.shape for w in weights]
        if not theirs or mine != theirs:
            raise ValueError(f"{func}(): the file's weights do not fit this model. Expected "
                             f"shapes {mine}. Received: {theirs} from {path!r}.")
        previous, model._input_dim = model._input_dim, input_dim
        try:
            model._ensure_built_locked(func)
        except BaseException:
            model._input_dim = previous
            raise
        model._set_dense_weights(weights)


def model_to_bytes(model: Sequential) -> bytes:
    """The model file's bytes (used to copy and serialise models in memory)."""
    config, arrays = snapshot(model)
    buf = io.BytesIO()
    write_archive(buf, config, arrays)
    return buf.getvalue()


def model_from_bytes(data: bytes) -> Sequential:
    """A model from a model file's bytes (copy.deepcopy and serialisation go
    through this)."""
    return model_from_archive(io.BytesIO(data), "<bytes>", True, True)

