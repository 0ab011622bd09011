"""Reading a fastnn model file, trusting nothing in it (the format:
docs/file-format.md; the API: :mod:`fastnn.saving`).

Names resolve only through fastnn's tables; every expected shape is computed from
the config, and every ``.npy`` header and member size checked against it, before
the first array is allocated; an array is never larger than the bytes really in
the file; the zip CRC-32 and the config's SHA-256 of each array are verified.
Every failure is one :class:`fastnn.ModelFileError` naming the file and the
reason.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import warnings
import zipfile
import zlib
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from . import losses as L
from . import metrics as M
from . import optimizers as O
from ._validation import MismatchedLossWarning, ModelFileError
from ._version import __version__

if TYPE_CHECKING:
    from .models import Sequential

FORMAT_NAME = "fastnn.model"
FORMAT_VERSION = 1
SUFFIX = ".fastnn"
MAX_CONFIG_BYTES = 1 << 20      # config.json
MAX_LAYERS = 1000
MAX_HEADER_BYTES = 10_000       # one .npy header
MAX_PARAMS = 2**31 - 1          # as Sequential._build
_STREAMS = ("init", "shuffle", "dropout")   # fastnn.training.STREAM_* order
_SLOTS = ("optimizer/slot_1.npy", "optimizer/slot_2.npy")
_TOP_KEYS = {"format", "format_version", "fastnn_version", "kind", "model", "input_dim",
             "compile", "state", "arrays"}




class _Bad(Exception):
    """A reason the file is invalid; becomes ModelFileError with the path."""


def _need(ok: bool, reason: str) -> None:
    if not ok:
        raise _Bad(reason)


def read_archive(source: str | io.BufferedIOBase, where: str
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray], Sequential]:
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


def _read_zip(f: io.BufferedIOBase, zf: zipfile.ZipFile, size: int
              ) -> tuple[dict[str, Any], dict[str, np.ndarray], Sequential]:
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
    # members may not overlap (a member hidden inside another's data would let a small
    # file declare arrays larger than itself): each one ends before the next begins
    spans = sorted((i.header_offset, 30 + len(i.filename.encode("utf-8")) + i.compress_size,
                    i.filename) for i in infos)
    for (start, length, name), nxt in zip(spans, [s[0] for s in spans[1:]] + [zf.start_dir]):
        _need(start + length <= nxt, f"member {name!r} overlaps the next member")
    _need(sum(i.compress_size for i in infos) <= size, "members declare more bytes than the "
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


def _reject_constant(name: str) -> NoReturn:
    raise _Bad(f"config.json contains {name}, which is not JSON")


def _check_config(config: Any) -> tuple[Sequential, dict[str, tuple[int, ...]]]:
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
    expected: dict[str, tuple[int, ...]] = {}
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


def _check_compile(comp: Any) -> None:
    if comp is None:
        return
    _need(isinstance(comp, dict) and {"optimizer", "loss", "metrics"} <= set(comp)
          <= {"optimizer", "loss", "metrics", "from_logits"},
          "compile settings need optimizer, loss and metrics (and optionally from_logits)")
    _need(isinstance(comp["optimizer"], dict), "invalid optimizer config")
    _need(type(comp.get("from_logits", False)) is bool, "invalid from_logits")
    _need(isinstance(comp["metrics"], list) and len(comp["metrics"]) <= 16
          and all(isinstance(m, (str, dict)) for m in comp["metrics"]), "invalid metrics list")
    try:
        O.get(comp["optimizer"])
        L.make(comp["loss"], comp.get("from_logits", False))
        for m in comp["metrics"]:
            M.deserialize(m)
    except (ValueError, TypeError) as exc:
        raise _Bad(f"invalid compile settings: {exc}") from None


def _check_state(state: Any, comp: Any) -> bool:
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


def _read_header(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...],
                 dtype: str) -> tuple[int, tuple[int, ...]]:
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


def _read_data(f: io.BufferedIOBase, info: zipfile.ZipInfo, offset: int, shape: tuple[int, ...],
               dtype: str, digest: str) -> np.ndarray:
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
    buf = arr.reshape(-1).data.cast("B")  # .data is memoryview(arr), typed as one
    _need(len(head) == offset and f.readinto(buf) == len(buf), f"{name}: the data ends early")
    _need(zlib.crc32(buf, zlib.crc32(head)) == info.CRC, f"{name}: bad CRC-32 (the file "
          "is damaged)")
    _need(hashlib.sha256(buf).hexdigest() == digest,
          f"{name}: the data does not match its SHA-256")
    return arr


