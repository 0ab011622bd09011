"""Opening and reading files that may be hostile: the rules every model reader
(fastnn's own format, Keras files) shares.

* :func:`open_regular` opens a path once, without blocking, and refuses anything
  but a regular file (a FIFO, a device such as ``/dev/zero``, a socket) before a
  byte is read; the file object it gives never reads past the size the file had
  when opened, so a file that grows meanwhile cannot feed a reader forever.
* :func:`model_file_errors` turns every failure while a readable file's bytes are
  parsed into one :class:`fastnn.ModelFileError` naming the file: a reader states
  what it checked with :func:`need` (``Invalid`` carries the reason); anything
  else a damaged file provokes in a parser (a ``struct.error``, an ``IndexError``
  of zipfile, a ``MemoryError``) is reported with its type.  Errors of the path
  itself (missing, a directory, no permission) stay the ``OSError`` subclasses
  ``open()`` raises.
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import struct
import zipfile
from collections.abc import Iterator
from typing import IO

from .errors import Invalid, ModelFileError


def need(ok: bool, reason: str) -> None:
    """Raise :class:`Invalid` with `reason` unless `ok`."""
    if not ok:
        raise Invalid(reason)


def member_data_start(f: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Where a zip member's bytes begin: after its local header (30 bytes, its name,
    its extra field), the header checked against the central directory's entry."""
    f.seek(info.header_offset)
    local = f.read(30)
    need(len(local) == 30 and local[:4] == b"PK\x03\x04",
         f"{info.filename}: damaged local header")
    n_name, n_extra = struct.unpack("<HH", local[26:30])
    need(f.read(n_name) == info.filename.encode("utf-8"),
         f"{info.filename}: damaged local header")
    return info.header_offset + 30 + n_name + n_extra


class _SizedFile(io.RawIOBase):
    """A regular file's bytes, up to the size it had when opened."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__()
        self._raw = io.FileIO(fd, "rb", closefd=True)
        self._size, self._pos = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        self._raw.seek(self._pos)
        got = self._raw.readinto(memoryview(buffer).cast("B")[:n]) or 0
        self._pos += got
        return got

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError(errno.EINVAL, "negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_regular(path: str) -> tuple[io.BufferedReader, int]:
    """(binary file, size) for the regular file at `path`; ModelFileError for a FIFO,
    device or socket; the OSError ``open()`` gives for a missing path, a directory
    or a denied permission."""
    def check(mode: int) -> None:
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode)
                    or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "not a regular file")
            raise ModelFileError(path, f"it is {kind}, not a regular file")

    check(os.stat(path).st_mode)  # before opening: opening some devices acts
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)  # what was opened, which a rename may have changed
        check(info.st_mode)
        return io.BufferedReader(_SizedFile(fd, info.st_size)), info.st_size
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def model_file_errors(where: object) -> Iterator[None]:
    """Turn any failure inside the block into ModelFileError(`where`, reason)."""
    try:
        yield
    except ModelFileError:
        raise
    except Invalid as exc:
        raise ModelFileError(where, str(exc)) from None
    except RecursionError:
        raise ModelFileError(where, "it is nested too deeply") from None
    except Exception as exc:  # a parser meeting damaged bytes: one error type for all
        raise ModelFileError(where, f"{type(exc).__name__}: {exc}") from None
