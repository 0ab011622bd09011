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
from typing import IO, TYPE_CHECKING, Any, NoReturn

import numpy as np

from . import losses as L
from . import metrics as M
from . import optimizers as O
from ._npy_header import read_npy_header
from ._untrusted import Invalid, member_data_start, model_file_errors, need, open_regular
from ._shaping import variable_layout
from ._validation import MismatchedLossWarning
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


def read_archive(source: str | IO[bytes], where: str
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray], Sequential]:
    """(config, {member name: array}, unbuilt model) from a path or a binary file
    object, every check done; ModelFileError (with `where`) for any malformed input.
    The OSError of a missing path, a directory or a denied permission passes through
    (see fastnn._untrusted.open_regular)."""
    f, size = open_regular(source) if isinstance(source, str) else (source, None)
    try:
        with model_file_errors(where):
            if size is None:
                size = f.seek(0, os.SEEK_END)
            f.seek(0)
            need(size > 0, "the file is empty")
            need(f.read(4) == b"PK\x03\x04", "not a fastnn model file (not a zip archive)")
            f.seek(0)
            with zipfile.ZipFile(f) as zf:
                return _read_zip(f, zf, size)
    finally:
        if f is not source:
            f.close()


def _read_zip(f: IO[bytes], zf: zipfile.ZipFile, size: int
              ) -> tuple[dict[str, Any], dict[str, np.ndarray], Sequential]:
    infos = zf.infolist()
    names = [i.filename for i in infos]
    need(len(names) == len(set(names)), "duplicate member names")
    need(len(infos) <= 2 * MAX_LAYERS + 3, f"too many members ({len(infos)})")
    for info in infos:
        need(info.compress_type == zipfile.ZIP_STORED,
              f"member {info.filename!r} is compressed; fastnn files store arrays "
              "uncompressed")
        need(not info.flag_bits & 0x1, f"member {info.filename!r} is encrypted")
        need(info.file_size == info.compress_size
              and info.header_offset + info.compress_size <= size,
              f"member {info.filename!r} declares {info.file_size} bytes, more than the "
              "file holds")
    _check_tiling(f, zf, infos, size)
    need("config.json" in names, "no config.json member")
    cinfo = zf.getinfo("config.json")
    need(cinfo.file_size <= MAX_CONFIG_BYTES,
          f"config.json is {cinfo.file_size} bytes (at most {MAX_CONFIG_BYTES})")
    text = zf.read(cinfo).decode("utf-8")
    config = json.loads(text, parse_constant=_reject_constant)
    model, expected = _check_config(config)
    missing = sorted(set(expected) - set(names))
    extra = sorted(set(names) - set(expected) - {"config.json"})
    need(not missing, f"members {missing} are missing")
    need(not extra, f"unexpected members {extra}")
    dtype = np.dtype(model.dtype).str
    headers = {name: _read_header(zf, name, shape, dtype) for name, shape in expected.items()}
    arrays = {}
    for name, (offset, shape) in headers.items():
        arrays[name] = _read_data(f, zf.getinfo(name), offset, shape, dtype,
                                  config["arrays"][name]["sha256"])
    return config, arrays, model


def _check_tiling(f: IO[bytes], zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo],
                  size: int) -> None:
    """The members, then the central directory, then its end record tile the file
    exactly: no byte before, between or after them (data there would let a tool
    that reads local headers see another model than this reader), no overlap (a
    member hidden in another's data would let a small file declare arrays larger
    than itself), no zip comment, no data descriptors."""
    end, previous = 0, "the file's start"
    for info in sorted(infos, key=lambda i: i.header_offset):
        need(info.header_offset >= end, f"member {previous!r} overlaps the next member")
        need(info.header_offset == end, f"bytes between {previous!r} and member "
             f"{info.filename!r} (bytes outside the members)")
        previous = info.filename
        need(not info.flag_bits & 0x08, f"member {info.filename!r} has a data descriptor")
        end = member_data_start(f, info) + info.compress_size
    need(zf.start_dir == end, "bytes between the last member and the central directory")
    f.seek(size - 22)
    record = f.read(22)
    need(record[:4] == b"PK\x05\x06" and record[20:22] == b"\0\0",
         "the file does not end with the zip directory's end record (a comment or "
         "trailing bytes)")
    cd_size = struct.unpack("<I", record[12:16])[0]
    tail = size - 22
    if size >= 98:
        f.seek(size - 42)
        if f.read(4) == b"PK\x06\x07":  # zip64: its end record and locator come first
            tail -= 76
            f.seek(tail)
            z64 = f.read(56)
            need(z64[:4] == b"PK\x06\x06", "damaged zip64 end record")
            cd_size = struct.unpack("<Q", z64[40:48])[0]
    need(zf.start_dir + cd_size == tail, "bytes between the central directory and its "
         "end record")


def _reject_constant(name: str) -> NoReturn:
    raise Invalid(f"config.json contains {name}, which is not JSON")


def _check_config(config: Any) -> tuple[Sequential, dict[str, tuple[int, ...]]]:
    """Validate the config; return (unbuilt model, {member: expected shape})."""
    from .models import Sequential

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
            model = Sequential.from_config(spec["config"])
    except (ValueError, TypeError) as exc:
        raise Invalid(f"invalid model config: {exc}") from None
    input_dim = config["input_dim"]
    need(input_dim is None or (type(input_dim) is int and 1 <= input_dim <= MAX_PARAMS),
          f"invalid input_dim {input_dim!r}")
    need(model._input_dim in (None, input_dim), "input_dim differs from the layers' input")
    expected: dict[str, tuple[int, ...]] = {}
    if input_dim is not None:
        need(bool(model._dense), "input_dim given for a model without Dense layers")
        total = 0
        for j, _, name, shape in variable_layout(model._stages, input_dim):
            expected[f"weights/{j}/{name}.npy"] = shape
            total += int(np.prod(shape, dtype=object))
        need(total <= MAX_PARAMS, f"the architecture has {total} parameters "
              f"(fastnn supports at most {MAX_PARAMS})")
        model._input_dim = input_dim
    if kind == "model":
        _check_compile(config["compile"])
        slots = _check_state(config["state"], config["compile"])
        if slots:
            need(input_dim is not None, "optimizer slots for a model without weights")
            expected.update({name: (total,) for name in _SLOTS})
    else:
        need(config["compile"] is None and config["state"] is None,
              "a weights file holds no compile settings or state")
    listing = config["arrays"]
    need(isinstance(listing, dict) and set(listing) == set(expected),
          "the arrays listed in config.json differ from the ones the architecture implies")
    dtype = np.dtype(model.dtype).str
    for name, shape in expected.items():
        entry = listing[name]
        need(isinstance(entry, dict) and set(entry) == {"shape", "dtype", "sha256"}
              and entry["shape"] == list(shape) and entry["dtype"] == dtype
              and isinstance(entry["sha256"], str) and len(entry["sha256"]) == 64,
              f"config.json entry for {name} is not {{shape: {list(shape)}, dtype: "
              f"{dtype!r}, sha256}}")
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
    need(isinstance(rng, dict) and set(rng) == set(_STREAMS), "invalid rng streams")
    for name, words in rng.items():
        need(isinstance(words, list) and len(words) == 4
              and all(type(w) is int and 0 <= w < 2**64 for w in words) and any(words),
              f"invalid state of random stream {name!r}")
    slots = state["optimizer_slots"]
    need(type(slots) is bool and (comp is not None or not slots),
          "invalid optimizer_slots flag")
    return slots


def _read_header(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...],
                 dtype: str) -> tuple[int, tuple[int, ...]]:
    """Check one member's .npy header against the config; return the data offset.
    fastnn._npy_header reads it: numpy's reader parses the header with
    ast.literal_eval, which leaves a reference cycle per call."""
    info = zf.getinfo(name)
    with zf.open(info) as f:
        try:
            got_shape, fortran, descr = read_npy_header(f, MAX_HEADER_BYTES)
        except ValueError as exc:
            raise Invalid(f"{name}: unreadable .npy header ({exc})") from None
        offset = f.tell()
    need(descr == dtype, f"{name}: dtype {descr!r}, expected {dtype!r}")
    need(not fortran, f"{name}: Fortran order is not supported")
    need(got_shape == shape,
         f"{name}: shape {got_shape} differs from {shape}, the shape the config implies")
    nbytes = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    need(info.file_size == offset + nbytes, f"{name}: holds {info.file_size - offset} "
         f"bytes of data; its header declares {nbytes}")
    return offset, shape


def _read_data(f: IO[bytes], info: zipfile.ZipInfo, offset: int, shape: tuple[int, ...],
               dtype: str, digest: str) -> np.ndarray:
    """One member's array, read straight from the archive into its final buffer (a
    stored member is its bytes after the local header), with the zip CRC-32 and the
    config's SHA-256 checked."""
    name = info.filename
    f.seek(member_data_start(f, info))
    head = f.read(offset)
    arr = np.empty(shape, dtype)
    buf = arr.reshape(-1).data.cast("B")  # .data is memoryview(arr), typed as one
    need(len(head) == offset and f.readinto(buf) == len(buf), f"{name}: the data ends early")  # type: ignore[attr-defined]
    need(zlib.crc32(buf, zlib.crc32(head)) == info.CRC, f"{name}: bad CRC-32 (the file "
          "is damaged)")
    need(hashlib.sha256(buf).hexdigest() == digest,
          f"{name}: the data does not match its SHA-256")
    return arr


