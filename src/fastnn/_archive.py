"""fastnn's archive container, knowing nothing of models: a zip of ``config.json``
(a JSON object) and uncompressed ``.npy`` members, each listed in the config's
``"arrays"`` entry with its shape, dtype and SHA-256; and the atomic write every
file fastnn produces goes through.  The model <-> archive mapping (which members a
model has, what the config holds) is :mod:`fastnn._model_file`; the format is
docs/file-format.md.

Reading trusts nothing (the rules of :mod:`fastnn._untrusted`): the members must
tile the file exactly, be stored and unencrypted, and declare no more bytes than
the file holds; the caller's ``expect(config)`` gives every member's shape and the
dtype from the config alone, and each ``.npy`` header and member size is checked
against them before the first array is allocated; the zip CRC-32 and the listed
SHA-256 are verified.  A failure is :class:`fastnn.errors.Invalid` (this module's
error: ``need``), turned into one :class:`fastnn.ModelFileError` naming the file.

Writing is deterministic (fixed member dates: same arrays, same bytes).
:func:`atomic_write` writes a temporary file beside the target, fsyncs it, renames
it over the target (atomic on POSIX) and fsyncs the folder: an exception or a kill
at any moment leaves the previous file as it was.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from typing import IO, Any, NoReturn

import numpy as np

from ._npy_header import read_npy_header
from ._untrusted import Invalid, member_data_start, model_file_errors, need, open_regular
from ._validation import fail

MAX_CONFIG_BYTES = 1 << 20      # config.json
MAX_HEADER_BYTES = 10_000       # one .npy header
_DATE = (1980, 1, 1, 0, 0, 0)   # fixed member date: same arrays, same bytes

#: ``expect(config) -> ({member name: shape}, dtype str)``: every check of the
#: parsed config (raising Invalid), and the arrays it implies.
Expect = Callable[[Any], "tuple[dict[str, tuple[int, ...]], str]"]


# ---------------------------------------------------------------------------- write
def write_archive(fileobj: IO[bytes], config: dict[str, Any],
                  arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """Write the zip to a binary file object: the arrays, then config.json with
    their shapes and SHA-256 digests under ``"arrays"``."""
    listing: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays:
            arr = np.require(arr, requirements="C")  # (ascontiguousarray makes 0-d 1-d)
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, np.lib.format.header_data_from_array_1_0(arr))
            data = arr.data.cast("B") if arr.size else b""  # .data: memoryview(arr)
            with zf.open(member(name), "w", force_zip64=arr.nbytes > 2**30) as out:
                out.write(header.getvalue())
                out.write(data)
            listing[name] = {"shape": list(arr.shape), "dtype": arr.dtype.str,
                             "sha256": hashlib.sha256(data).hexdigest()}
        config = {**config, "arrays": listing}
        # no indent: json's C encoder (the indenting one is Python code whose closures
        # leave a reference cycle per call)
        zf.writestr(member("config.json"), json.dumps(config, allow_nan=False))


def member(name: str) -> zipfile.ZipInfo:
    """A stored zip member with a fixed date and mode 0644."""
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


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


def check_path(func: str, path: object) -> str:
    """`path` (str or os.PathLike, not bytes, not empty) as a str; TypeError or
    ValueError naming `func` otherwise."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        fail(func, "invalid type for argument `filepath`", "a str or os.PathLike",
             "filepath", path, error=TypeError)
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        fail(func, "invalid argument `filepath`", "a non-empty path", "filepath", path)
    return path


# ---------------------------------------------------------------------------- read
def read_archive(source: str | IO[bytes], where: str, expect: Expect, *,
                 max_members: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(config, {member name: array}) from a path or a binary file object, every
    check done; ModelFileError (with `where`) for any malformed input.  The OSError
    of a missing path, a directory or a denied permission passes through (see
    fastnn._untrusted.open_regular)."""
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
                return _read_zip(f, zf, size, expect, max_members)
    finally:
        if f is not source:
            f.close()


def _read_zip(f: IO[bytes], zf: zipfile.ZipFile, size: int, expect: Expect,
              max_members: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    infos = zf.infolist()
    names = [i.filename for i in infos]
    need(len(names) == len(set(names)), "duplicate member names")
    need(len(infos) <= max_members, f"too many members ({len(infos)})")
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
    expected, dtype = expect(config)
    check_listing(config.get("arrays"), expected, dtype)
    missing = sorted(set(expected) - set(names))
    extra = sorted(set(names) - set(expected) - {"config.json"})
    need(not missing, f"members {missing} are missing")
    need(not extra, f"unexpected members {extra}")
    headers = {name: _read_header(zf, name, shape, dtype) for name, shape in expected.items()}
    arrays = {}
    for name, (offset, shape) in headers.items():
        arrays[name] = _read_data(f, zf.getinfo(name), offset, shape, dtype,
                                  config["arrays"][name]["sha256"])
    return config, arrays


def check_listing(listing: Any, expected: dict[str, tuple[int, ...]], dtype: str) -> None:
    """The config's ``"arrays"`` entry lists exactly the `expected` members, each
    with its shape, `dtype` and a SHA-256."""
    need(isinstance(listing, dict) and set(listing) == set(expected),
          "the arrays listed in config.json differ from the ones the architecture implies")
    for name, shape in expected.items():
        entry = listing[name]
        need(isinstance(entry, dict) and set(entry) == {"shape", "dtype", "sha256"}
              and entry["shape"] == list(shape) and entry["dtype"] == dtype
              and isinstance(entry["sha256"], str) and len(entry["sha256"]) == 64,
              f"config.json entry for {name} is not {{shape: {list(shape)}, dtype: "
              f"{dtype!r}, sha256}}")


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
