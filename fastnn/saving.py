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
import json
import os
import struct
import tempfile
import warnings
import zipfile
import zlib

import numpy as np

from . import losses as L
from . import optimizers as O
from ._validation import MismatchedLossWarning, ModelFileError, check_bool, fail
from ._version import __version__

FORMAT_NAME = "fastnn.model"
FORMAT_VERSION = 1
SUFFIX = ".fastnn"
MAX_CONFIG_BYTES = 1 << 20      # config.json
MAX_LAYERS = 1000
MAX_HEADER_BYTES = 10_000       # one .npy header
MAX_PARAMS = 2**31 - 1          # as Sequential._build
_DATE = (1980, 1, 1, 0, 0, 0)   # fixed member date: same model, same bytes
_STREAMS = ("init", "shuffle", "dropout")   # fastnn.training.STREAM_* order
_SLOTS = ("optimizer/slot_1.npy", "optimizer/slot_2.npy")
_TOP_KEYS = {"format", "format_version", "fastnn_version", "kind", "model", "input_dim",
             "compile", "state", "arrays"}


# ---------------------------------------------------------------------------- save
def snapshot(model, kind: str = "model") -> tuple[dict, list[tuple[str, np.ndarray]]]:
    """(config, [(member name, array copy)]) for `model`, taken under its lock so the
    state is one consistent moment.  Raises RuntimeError while fit() runs in another
    thread."""
    func = "save_weights" if kind == "weights" else "save"
    model._check_not_training(func)
    if model._input_dim is not None and model._dense:
        model._ensure_built(func)  # the weights predict() would create, created now
    with model._reading(func):  # one consistent moment; predicts may run alongside
        config = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                  "fastnn_version": __version__, "kind": kind,
                  "model": {"class_name": "Sequential", "config": model.get_config()},
                  "input_dim": model._input_dim, "compile": None, "state": None}
        arrays = []
        if model.built:
            for j, layer in enumerate(model._dense):
                arrays += [(f"weights/{j}/{part}.npy", w) for part, w in
                           zip(("kernel", "bias"), layer.get_weights())]
        if kind == "model":
            if model.optimizer is not None:
                config["compile"] = {"optimizer": O.serialize(model.optimizer),
                                     "loss": model.loss,
                                     "metrics": list(model._metric_names)}
            config["state"] = {
                "seed": int(model.seed),
                "iterations": int(model.optimizer.iterations) if model.optimizer else 0,
                "rng": {name: [int(v) for v in model._rng[i]]
                        for i, name in enumerate(_STREAMS)},
                "optimizer_slots": model._slots is not None and model.optimizer is not None,
            }
            if config["state"]["optimizer_slots"]:
                arrays += [(name, s.copy()) for name, s in zip(_SLOTS, model._slots)]
    return config, arrays


def write_archive(fileobj, config: dict, arrays) -> None:
    """Write the zip to a binary file object: the arrays, then config.json with
    their shapes and SHA-256 digests."""
    listing = {}
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays:
            arr = np.ascontiguousarray(arr)
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, np.lib.format.header_data_from_array_1_0(arr))
            data = memoryview(arr).cast("B") if arr.size else b""
            with zf.open(_member(name), "w", force_zip64=arr.nbytes > 2**30) as out:
                out.write(header.getvalue())
                out.write(data)
            listing[name] = {"shape": list(arr.shape), "dtype": arr.dtype.str,
                             "sha256": hashlib.sha256(data).hexdigest()}
        config = {**config, "arrays": listing}
        zf.writestr(_member("config.json"), json.dumps(config, indent=1, allow_nan=False))


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def save(model, path, *, kind: str = "model", overwrite: bool = True) -> None:
    """Write `model` to `path` atomically and durably (see the module docstring)."""
    func = "save_weights" if kind == "weights" else "save"
    path = _check_path(func, path)
    overwrite = check_bool(func, "overwrite", overwrite)
    config, arrays = snapshot(model, kind)
    atomic_write(func, path, lambda f: write_archive(f, config, arrays), overwrite)


def atomic_write(func: str, path: str, write, overwrite: bool = True) -> None:
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


def _check_path(func: str, path) -> str:
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        fail(func, "invalid type for argument `filepath`", "a str or os.PathLike",
             "filepath", path, error=TypeError)
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        fail(func, "invalid argument `filepath`", "a non-empty path", "filepath", path)
    return path


# ---------------------------------------------------------------------------- load
class _Bad(Exception):
    """A reason the file is invalid; becomes ModelFileError with the path."""


def _need(ok: bool, reason: str) -> None:
    if not ok:
        raise _Bad(reason)


def read_archive(source, where) -> tuple[dict, dict, object]:
    """(config, {member name: array}, unbuilt model) from a path or a binary file
    object, every check done; ModelFileError (with `where`) for any malformed input.
    FileNotFoundError and other OS errors from opening the path pass through."""
    f = open(source, "rb") if isinstance(source, str) else source
    try:
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        _need(size > 0, "the file is empty")
        _need(f.read(4) == b"PK\x03\x04", "not a fastnn model file (not a zip archive)")
        f.seek(0)
        with zipfile.ZipFile(f) as zf:
            return _read_zip(f, zf, size)
    except ModelFileError:
        raise
    except _Bad as exc:
        raise ModelFileError(where, str(exc)) from None
    except RecursionError:
        raise ModelFileError(where, "config.json is nested too deeply") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, TypeError,
            KeyError, IndexError, OverflowError, UnicodeError, RuntimeError,
            NotImplementedError, SyntaxError, OSError) as exc:
        # OSError here is a read past a damaged structure, not the missing path:
        # opening the path happened before the try block.
        raise ModelFileError(where, f"{type(exc).__name__}: {exc}") from None
    finally:
        if f is not source:
            f.close()


def _read_zip(f, zf: zipfile.ZipFile, size: int):
    infos = zf.infolist()
    names = [i.filename for i in infos]
    _need(len(names) == len(set(names)), "duplicate member names")
    _need(len(infos) <= 2 * MAX_LAYERS + 3, f"too many members ({len(infos)})")
    for info in infos:
        _need(info.compress_type == zipfile.ZIP_STORED,
              f"member {info.filename!r} is compressed; fastnn files store arrays "
              "uncompressed")
        _need(not info.flag_bits & 0x1, f"member {info.filename!r} is encrypted")
        _need(info.file_size == info.compress_size
              and info.header_offset + info.compress_size <= size,
              f"member {info.filename!r} declares {info.file_size} bytes, more than the "
              "file holds")
    _need("config.json" in names, "no config.json member")
    cinfo = zf.getinfo("config.json")
    _need(cinfo.file_size <= MAX_CONFIG_BYTES,
          f"config.json is {cinfo.file_size} bytes (at most {MAX_CONFIG_BYTES})")
    text = zf.read(cinfo).decode("utf-8")
    config = json.loads(text, parse_constant=_reject_constant)
    model, expected = _check_config(config)
    missing = sorted(set(expected) - set(names))
    extra = sorted(set(names) - set(expected) - {"config.json"})
    _need(not missing, f"members {missing} are missing")
    _need(not extra, f"unexpected members {extra}")
    dtype = np.dtype(model.dtype).str
    headers = {name: _read_header(zf, name, shape, dtype) for name, shape in expected.items()}
    arrays = {}
    for name, (offset, shape) in headers.items():
        arrays[name] = _read_data(f, zf.getinfo(name), offset, shape, dtype,
                                  config["arrays"][name]["sha256"])
    return config, arrays, model


def _reject_constant(name):
    raise _Bad(f"config.json contains {name}, which is not JSON")


def _check_config(config):
    """Validate the config; return (unbuilt model, {member: expected shape})."""
    from .models import Sequential

    _need(isinstance(config, dict), "config.json is not a JSON object")
    _need(config.get("format") == FORMAT_NAME,
          f"config.json does not name the format {FORMAT_NAME!r}")
    version = config.get("format_version")
    _need(type(version) is int and version >= 1, f"invalid format_version {version!r}")
    _need(version <= FORMAT_VERSION, f"unsupported format version {version} (this fastnn "
          f"{__version__} reads versions up to {FORMAT_VERSION}); upgrade fastnn")
    _need(set(config) == _TOP_KEYS, f"config.json keys {sorted(config)} are not the "
          f"format's {sorted(_TOP_KEYS)}")
    _need(isinstance(config["fastnn_version"], str), "invalid fastnn_version")
    kind = config["kind"]
    _need(kind in ("model", "weights"), f"invalid kind {kind!r}")
    spec = config["model"]
    _need(isinstance(spec, dict) and spec.get("class_name") == "Sequential"
          and set(spec) == {"class_name", "config"}, "model is not a Sequential config")
    layers = spec["config"].get("layers") if isinstance(spec["config"], dict) else None
    _need(isinstance(layers, list) and len(layers) <= MAX_LAYERS,
          f"the model config needs a list of at most {MAX_LAYERS} layers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MismatchedLossWarning)
            model = Sequential.from_config(spec["config"])
    except (ValueError, TypeError) as exc:
        raise _Bad(f"invalid model config: {exc}") from None
    input_dim = config["input_dim"]
    _need(input_dim is None or (type(input_dim) is int and 1 <= input_dim <= MAX_PARAMS),
          f"invalid input_dim {input_dim!r}")
    _need(model._input_dim in (None, input_dim), "input_dim differs from the layers' input")
    expected = {}
    if input_dim is not None:
        _need(bool(model._dense), "input_dim given for a model without Dense layers")
        n_in, total = input_dim, 0
        for j, layer in enumerate(model._dense):
            expected[f"weights/{j}/kernel.npy"] = (n_in, layer.units)
            total += n_in * layer.units
            if layer.use_bias:
                expected[f"weights/{j}/bias.npy"] = (layer.units,)
                total += layer.units
            n_in = layer.units
        _need(total <= MAX_PARAMS, f"the architecture has {total} parameters "
              f"(fastnn supports at most {MAX_PARAMS})")
        model._input_dim = input_dim
    if kind == "model":
        _check_compile(config["compile"])
        slots = _check_state(config["state"], config["compile"])
        if slots:
            _need(input_dim is not None, "optimizer slots for a model without weights")
            expected.update({name: (total,) for name in _SLOTS})
    else:
        _need(config["compile"] is None and config["state"] is None,
              "a weights file holds no compile settings or state")
    listing = config["arrays"]
    _need(isinstance(listing, dict) and set(listing) == set(expected),
          "the arrays listed in config.json differ from the ones the architecture implies")
    dtype = np.dtype(model.dtype).str
    for name, shape in expected.items():
        entry = listing[name]
        _need(isinstance(entry, dict) and set(entry) == {"shape", "dtype", "sha256"}
              and entry["shape"] == list(shape) and entry["dtype"] == dtype
              and isinstance(entry["sha256"], str) and len(entry["sha256"]) == 64,
              f"config.json entry for {name} is not {{shape: {list(shape)}, dtype: "
              f"{dtype!r}, sha256}}")
    return model, expected


def _check_compile(comp) -> None:
    if comp is None:
        return
    _need(isinstance(comp, dict) and set(comp) == {"optimizer", "loss", "metrics"},
          "compile settings need exactly optimizer, loss and metrics")
    _need(isinstance(comp["optimizer"], dict), "invalid optimizer config")
    _need(isinstance(comp["metrics"], list) and len(comp["metrics"]) <= 16
          and all(isinstance(m, str) for m in comp["metrics"]), "invalid metrics list")
    try:
        O.get(comp["optimizer"])
        L.get(comp["loss"])
    except (ValueError, TypeError) as exc:
        raise _Bad(f"invalid compile settings: {exc}") from None


def _check_state(state, comp) -> bool:
    """Validate the training state; return whether optimizer slots are stored."""
    _need(isinstance(state, dict) and set(state) == {"seed", "iterations", "rng",
                                                      "optimizer_slots"},
          "state needs exactly seed, iterations, rng and optimizer_slots")
    _need(type(state["seed"]) is int and 0 <= state["seed"] < 2**64, "invalid seed")
    its = state["iterations"]
    _need(type(its) is int and 0 <= its < 2**62, f"invalid iterations {its!r}")
    rng = state["rng"]
    _need(isinstance(rng, dict) and set(rng) == set(_STREAMS), "invalid rng streams")
    for name, words in rng.items():
        _need(isinstance(words, list) and len(words) == 4
              and all(type(w) is int and 0 <= w < 2**64 for w in words) and any(words),
              f"invalid state of random stream {name!r}")
    slots = state["optimizer_slots"]
    _need(type(slots) is bool and (comp is not None or not slots),
          "invalid optimizer_slots flag")
    return slots


def _read_header(zf, name: str, shape: tuple, dtype: str) -> tuple[int, tuple]:
    """Check one member's .npy header against the config; return the data offset."""
    info = zf.getinfo(name)
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        _need(version in ((1, 0), (2, 0)), f"{name}: unsupported .npy version {version}")
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        try:
            got_shape, fortran, got_dtype = read(f, max_header_size=MAX_HEADER_BYTES)
        except (ValueError, SyntaxError, TypeError) as exc:
            raise _Bad(f"{name}: unreadable .npy header ({exc})") from None
        offset = f.tell()
    _need(got_dtype.str == dtype and got_dtype.fields is None,
          f"{name}: dtype {got_dtype.str!r}, expected {dtype!r}")
    _need(not fortran, f"{name}: Fortran order is not supported")
    _need(tuple(got_shape) == shape and all(type(d) is int for d in got_shape),
          f"{name}: shape {got_shape} differs from {shape}, the shape the config implies")
    nbytes = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    _need(info.file_size == offset + nbytes, f"{name}: holds {info.file_size - offset} "
          f"bytes of data; its header declares {nbytes}")
    return offset, shape


def _read_data(f, info, offset: int, shape: tuple, dtype: str, digest: str):
    """One member's array, read straight from the archive into its final buffer (a
    stored member is its bytes after the local header), with the zip CRC-32 and the
    config's SHA-256 checked."""
    name = info.filename
    f.seek(info.header_offset)
    local = f.read(30)
    _need(len(local) == 30 and local[:4] == b"PK\x03\x04", f"{name}: damaged local header")
    n_name, n_extra = struct.unpack("<HH", local[26:30])
    _need(f.read(n_name) == name.encode("ascii"), f"{name}: damaged local header")
    f.seek(n_extra, os.SEEK_CUR)
    head = f.read(offset)
    arr = np.empty(shape, dtype)
    buf = memoryview(arr.reshape(-1)).cast("B")
    _need(len(head) == offset and f.readinto(buf) == len(buf), f"{name}: the data ends early")
    _need(zlib.crc32(buf, zlib.crc32(head)) == info.CRC, f"{name}: bad CRC-32 (the file "
          "is damaged)")
    _need(hashlib.sha256(buf).hexdigest() == digest,
          f"{name}: the data does not match its SHA-256")
    return arr


def _check_finite(where, arrays: dict, allow_nonfinite: bool) -> None:
    if allow_nonfinite:
        return
    for name, arr in arrays.items():
        if not np.isfinite(arr).all():
            raise ModelFileError(where, f"{name} holds NaN or infinite values (pass "
                                 "allow_nonfinite=True to load it for a post-mortem)")


def load_model(filepath, compile: bool = True, *, allow_nonfinite: bool = False):
    """The model saved at `filepath` by ``model.save`` — or a Keras 3 ``.keras`` file
    (see ``fastnn.interop.keras``; needs ``fastnn[keras]``): architecture, weights and,
    with ``compile=True``, the compile settings and the whole training state
    (optimizer slots, step count, learning rate, random streams), so ``fit``
    continues exactly where the saved model stopped.  ``compile=False`` gives an
    inference-only model.  Any malformed file raises :class:`fastnn.ModelFileError`;
    nothing in the file is ever executed."""
    path = _check_path("load_model", filepath)
    compile = check_bool("load_model", "compile", compile)
    allow_nonfinite = check_bool("load_model", "allow_nonfinite", allow_nonfinite)
    if _is_keras_file(path):
        from .interop import keras

        return keras.load(path, compile)
    return model_from_archive(path, path, compile, allow_nonfinite)


def _is_keras_file(path: str) -> bool:
    """A Keras 3 .keras file (zip with config.json and model.weights.h5)?  Anything
    unreadable is left to the fastnn loader, which reports it."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    return "model.weights.h5" in names and "config.json" in names


def model_from_archive(source, where, compile: bool = True, allow_nonfinite: bool = False):
    config, arrays, model = read_archive(source, where)
    _check_finite(where, arrays, allow_nonfinite)
    if model._input_dim is not None:
        model._build(model._input_dim)
        for j, layer in enumerate(model._dense):
            for off, part in ((layer._w_off, "kernel"), (layer._b_off, "bias")):
                w = arrays.get(f"weights/{j}/{part}.npy")
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
            model.compile(optimizer=O.get(comp["optimizer"]), loss=comp["loss"],
                          metrics=comp["metrics"])
        model.optimizer.iterations = state["iterations"]
        if state["optimizer_slots"]:
            model._slots = (arrays[_SLOTS[0]], arrays[_SLOTS[1]])
    return model


def load_weights(model, filepath, *, allow_nonfinite: bool = False) -> None:
    """Set `model`'s weights from a file written by ``save_weights`` or ``save``; the
    Dense layers must match in number and shapes.  Optimizer state is untouched."""
    func = "load_weights"
    path = _check_path(func, filepath)
    allow_nonfinite = check_bool(func, "allow_nonfinite", allow_nonfinite)
    model._check_not_training(func)
    config, arrays, saved = read_archive(path, path)
    weights = [arrays[f"weights/{j}/{part}.npy"] for j, layer in enumerate(saved._dense)
               for part in ("kernel", "bias")[:1 + layer.use_bias]
               if saved._input_dim is not None]
    _check_finite(path, arrays, allow_nonfinite)
    with model._writing():
        input_dim = model._input_dim if model._input_dim is not None else saved._input_dim
        mine = []
        if input_dim is not None:
            n_in = input_dim
            for layer in model._dense:
                mine += [(n_in, layer.units)] + [(layer.units,)] * layer.use_bias
                n_in = layer.units
        theirs = [w.shape for w in weights]
        if not theirs or mine != theirs:
            raise ValueError(f"{func}(): the file's weights do not fit this model. Expected "
                             f"shapes {mine}. Received: {theirs} from {path!r}.")
        model._input_dim = input_dim
        model._ensure_built_locked(func)
        model._set_dense_weights(weights)


def model_to_bytes(model) -> bytes:
    """The model file's bytes (used to copy and serialise models in memory)."""
    config, arrays = snapshot(model)
    buf = io.BytesIO()
    write_archive(buf, config, arrays)
    return buf.getvalue()


def model_from_bytes(data: bytes):
    return model_from_archive(io.BytesIO(data), "<bytes>", True, True)
