"""A reader of the small part of HDF5 that Keras 3 writes, for untrusted files.

Why our own reader and not libhdf5 (through h5py): libhdf5 is a large C library
that trusts the files it parses.  A security review of fastnn's Keras import made
it read other local files into the weights (external storage, virtual datasets),
crash the interpreter (a self-mapping virtual dataset; out-of-bounds writes and
reads found by fuzzing) and take gigabytes from a few kilobytes (chunked
datasets, compression bombs).  Running it in a child process would contain the
crashes but not the wrong answers, and costs a process start per load.  Keras 3
writes weights through h5py's defaults: superblock version 0, version-1 object
headers, groups as symbol tables (a version-1 B-tree, symbol-table nodes and a
local heap), and each variable a contiguous, unfiltered dataset.  That is all
this module reads; everything else is refused by name, so libhdf5 never sees the
bytes and nothing outside the file can be reached.

The rules, each checked before any read it guards:

* every address and size lies inside the file (the window given), and each
  structure is visited once (cycles and shared nodes are refused), so the work is
  linear in the file's size and the memory is the arrays asked for;
* groups: symbol tables only, hard links only (a soft link is refused; external
  links and new-style groups cannot be stored in a symbol table and are refused);
* datasets: contiguous or compact layout with the data inside the file; refused:
  chunked or virtual layouts, filters (compression, checksums, scale-offset), and
  external data files; shared messages;
* an array read is an IEEE float32/float64 of exactly the shape asked for, whose
  stored size equals that shape's size.

Attributes are skipped, never parsed.  Errors are ``fastnn._untrusted.Invalid``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

import numpy as np

from .._untrusted import Invalid
from .._untrusted import need as _need

SIGNATURE = b"\x89HDF\r\n\x1a\n"
UNDEFINED = 0xFFFF_FFFF_FFFF_FFFF
MAX_RANK = 32
MAX_DEPTH = 64
MAX_HEAP_BYTES = 16 << 20
MAX_NAME_BYTES = 1024
MAX_OBJECTS = 1_000_000
# message types (HDF5 file format specification, section IV.A.2)
NIL, DATASPACE, LINK_INFO, DATATYPE, FILL_OLD, FILL = 0x0, 0x1, 0x2, 0x3, 0x4, 0x5
LINK, EXTERNAL_FILES, LAYOUT, GROUP_INFO, FILTERS, ATTRIBUTE = 0x6, 0x7, 0x8, 0xA, 0xB, 0xC
COMMENT, MTIME_OLD, CONTINUATION, SYMBOL_TABLE, MTIME = 0xD, 0xE, 0x10, 0x11, 0x12
_SKIPPED = {NIL, FILL_OLD, FILL, ATTRIBUTE, COMMENT, MTIME_OLD, MTIME}
_REFUSED = {LINK_INFO: "new-style group links (link info)", LINK: "a link message "
            "(soft, external or new-style link)", GROUP_INFO: "new-style group info",
            EXTERNAL_FILES: "external data files", FILTERS: "a filter pipeline "
            "(compression, checksum or scale-offset)"}
# an IEEE little-endian float's datatype bit field and properties, by size:
# (sign bit, precision, exponent location and size, mantissa location and size, bias)
_IEEE = {4: (31, 32, 23, 8, 0, 23, 127), 8: (63, 64, 52, 11, 0, 52, 1023)}


# the bytes are not the HDF5 that Keras writes, or they are damaged
HDF5FormatError = Invalid


@dataclass(frozen=True)
class Dataset:
    """A dataset's checked description: where its bytes are and what they mean."""
    path: str
    shape: tuple[int, ...]
    datatype: bytes         # the raw datatype message, decoded only when read
    address: int            # of the data in the file (contiguous layout)
    nbytes: int
    inline: bytes | None    # the data itself (compact layout)


class Reader:
    """The groups and datasets of one HDF5 file held in ``f[base:base + size]``.

    ``Reader(f, base, size).datasets`` maps each dataset's path ("layers/dense/vars/0")
    to a :class:`Dataset`, every object of the file walked and checked on
    construction; :meth:`read` returns one as a float array of a given shape."""

    def __init__(self, f: IO[bytes], base: int, size: int) -> None:
        self._f, self._base, self._size = f, base, size
        self._seen: set[int] = set()
        self.datasets: dict[str, Dataset] = {}
        root = self._superblock()
        self._walk(root)

    # ---------------------------------------------------------------- raw access
    def _at(self, address: int, n: int, what: str) -> bytes:
        _need(0 <= address and 0 <= n and address + n <= self._size,
              f"{what} at {address} ({n} bytes) lies outside the file ({self._size} bytes)")
        self._f.seek(self._base + address)
        data = self._f.read(n)
        _need(len(data) == n, f"{what}: the file ends early")
        return data

    def _once(self, address: int, what: str) -> None:
        _need(address not in self._seen, f"{what} at {address} is reached twice (a cycle "
              "or shared structure, which Keras does not write)")
        _need(len(self._seen) < MAX_OBJECTS, "too many objects")
        self._seen.add(address)

    # ---------------------------------------------------------------- structures
    def _superblock(self) -> int:
        head = self._at(0, 24, "the superblock")
        _need(head[:8] == SIGNATURE, "not an HDF5 file (no signature at its start)")
        version, _, _, _, _, offsets, lengths = struct.unpack_from("<7B", head, 8)
        _need(version in (0, 1), f"HDF5 superblock version {version}; Keras writes version 0 "
              "(h5py's default), so this file was not written by Keras")
        _need(offsets == 8 and lengths == 8, f"addresses of {offsets} and lengths of "
              f"{lengths} bytes; Keras writes 8 and 8")
        self._leaf_k, self._node_k = struct.unpack_from("<HH", head, 16)
        _need(1 <= self._leaf_k and 1 <= self._node_k, "invalid B-tree sizes")
        at = 24 + (4 if version == 1 else 0)
        base, free_space, eof, driver = struct.unpack("<4Q", self._at(at, 32, "the superblock"))
        _need(base == 0, "the file has a user block or a base address (Keras writes none)")
        _need(driver == UNDEFINED, "the file names a storage driver (Keras writes none)")
        _need(eof <= self._size, f"the file is truncated: it declares {eof} bytes, "
              f"holds {self._size}")
        self._size = eof  # nothing past the declared end is part of the file
        entry = self._at(at + 32, 40, "the root group's entry")
        return struct.unpack_from("<Q", entry, 8)[0]

    def _messages(self, address: int, path: str) -> list[tuple[int, bytes]]:
        """[(type, data)] of the version-1 object header at `address`."""
        self._once(address, f"object {path!r}")
        head = self._at(address, 16, f"object header of {path!r}")
        version, _, count, _, size = struct.unpack_from("<BBHII", head)
        _need(version == 1, f"object {path!r}: object header version {version}; Keras "
              "writes version 1")
        blocks, out = [(address + 16, size)], []
        while blocks:
            start, length = blocks.pop()
            block = self._at(start, length, f"object header of {path!r}")
            pos = 0
            while pos + 8 <= length:
                kind, n, flags = struct.unpack_from("<HHB", block, pos)
                _need(pos + 8 + n <= length, f"object {path!r}: a message overruns its header")
                data = block[pos + 8:pos + 8 + n]
                pos += 8 + n
                if kind == CONTINUATION:
                    _need(n >= 16, f"object {path!r}: short continuation message")
                    where, more = struct.unpack_from("<QQ", data)
                    self._once(where, f"header continuation of {path!r}")
                    blocks.append((where, more))
                    continue
                _need(kind in _SKIPPED or not flags & 0x02,
                      f"object {path!r}: shared header messages (Keras writes none)")
                _need(kind not in _REFUSED, f"object {path!r} has {_REFUSED.get(kind)}; "
                      "Keras writes none")
                _need(kind in _SKIPPED or kind in (DATASPACE, DATATYPE, LAYOUT, SYMBOL_TABLE),
                      f"object {path!r}: header message type {kind:#x} is not one Keras "
                      "writes")
                out.append((kind, data))
                _need(len(out) <= max(count, 1) + 64, f"object {path!r}: too many messages")
        return out

    def _walk(self, root: int) -> None:
        stack = [(root, "", 0)]
        while stack:
            address, path, depth = stack.pop()
            _need(depth <= MAX_DEPTH, "groups are nested too deeply")
            messages = self._messages(address, path or "/")
            kinds = [k for k, _ in messages]
            if SYMBOL_TABLE in kinds:
                _need(not {DATASPACE, DATATYPE, LAYOUT} & set(kinds),
                      f"object {path!r} is both a group and a dataset")
                btree, heap = struct.unpack_from("<QQ", _one(messages, SYMBOL_TABLE, path))
                names = self._heap(heap, path)
                for name, child in self._group_entries(btree, names, path):
                    stack.append((child, f"{path}/{name}" if path else name, depth + 1))
            elif DATASPACE in kinds or LAYOUT in kinds:
                _need(path != "", "the root is a dataset")
                self.datasets[path] = self._dataset(messages, path)
            else:
                raise HDF5FormatError(f"object {path!r} is neither a group nor a dataset")

    def _heap(self, address: int, path: str) -> bytes:
        """The data segment of a group's local heap (its link names)."""
        self._once(address, f"local heap of {path!r}")
        head = self._at(address, 32, f"local heap of {path!r}")
        _need(head[:4] == b"HEAP" and head[4] == 0, f"group {path!r}: damaged local heap")
        size, _, data = struct.unpack_from("<QQQ", head, 8)
        _need(size <= MAX_HEAP_BYTES, f"group {path!r}: local heap of {size} bytes")
        return self._at(data, size, f"local heap data of {path!r}")

    def _group_entries(self, btree: int, names: bytes, path: str) -> list[tuple[str, int]]:
        """[(link name, object header address)] of a symbol-table group, its B-tree and
        symbol-table nodes walked with every entry checked."""
        out: list[tuple[str, int]] = []
        nodes: list[tuple[int, int | None]] = [(btree, None)]
        while nodes:
            address, level_wanted = nodes.pop()
            self._once(address, f"B-tree node of {path!r}")
            head = self._at(address, 24, f"B-tree node of {path!r}")
            _need(head[:4] == b"TREE" and head[4] == 0, f"group {path!r}: damaged B-tree node")
            level, used = head[5], struct.unpack_from("<H", head, 6)[0]
            _need(level_wanted is None or level == level_wanted,
                  f"group {path!r}: B-tree levels out of order")
            _need(used <= 2 * max(self._node_k, self._leaf_k), f"group {path!r}: B-tree "
                  f"node with {used} entries")
            body = self._at(address + 24, 16 * used + 8, f"B-tree node of {path!r}")
            children = [struct.unpack_from("<Q", body, 8 + 16 * i)[0] for i in range(used)]
            if level > 0:
                nodes += [(c, level - 1) for c in children]
            else:
                for child in children:
                    out += self._symbol_node(child, names, path)
        seen = [name for name, _ in out]
        _need(len(seen) == len(set(seen)), f"group {path!r} holds two links of one name")
        return out

    def _symbol_node(self, address: int, names: bytes, path: str) -> list[tuple[str, int]]:
        self._once(address, f"symbol-table node of {path!r}")
        head = self._at(address, 8, f"symbol-table node of {path!r}")
        _need(head[:4] == b"SNOD" and head[4] == 1, f"group {path!r}: damaged symbol table")
        count = struct.unpack_from("<H", head, 6)[0]
        _need(count <= 2 * self._leaf_k, f"group {path!r}: symbol-table node with {count} "
              "entries")
        body = self._at(address + 8, 40 * count, f"symbol-table node of {path!r}")
        out = []
        for i in range(count):
            name_at, header, cache = struct.unpack_from("<QQI", body, 40 * i)
            _need(cache in (0, 1), f"group {path!r}: a soft link (Keras writes none)")
            end = names.find(b"\0", name_at, name_at + MAX_NAME_BYTES + 1)
            _need(name_at < len(names) and end > name_at,
                  f"group {path!r}: a link name outside its heap")
            name = names[name_at:end].decode("utf-8", "strict")
            _need("/" not in name and name not in (".", ".."),
                  f"group {path!r}: invalid link name {name!r}")
            out.append((name, header))
        return out

    def _dataset(self, messages: list[tuple[int, bytes]], path: str) -> Dataset:
        shape = _dataspace(_one(messages, DATASPACE, path), path)
        datatype = _one(messages, DATATYPE, path)
        _need(len(datatype) >= 8, f"dataset {path!r}: short datatype message")
        layout = _one(messages, LAYOUT, path)
        _need(len(layout) >= 3 and 1 <= layout[0] <= 4, f"dataset {path!r}: invalid layout")
        cls = layout[1] if layout[0] >= 3 else layout[2]
        _need(cls in (0, 1), f"dataset {path!r} has " + {2: "chunked", 3: "virtual"}.get(
            cls, f"class {cls}") + " storage; Keras writes contiguous datasets only")
        _need(layout[0] == 3, f"dataset {path!r}: data layout message version {layout[0]}; "
              "Keras writes version 3")
        if layout[1] == 1:  # contiguous: address and size of the data
            _need(len(layout) >= 18, f"dataset {path!r}: short layout message")
            address, nbytes = struct.unpack_from("<QQ", layout, 2)
            _need(address != UNDEFINED, f"dataset {path!r} has no data stored")
            _need(address + nbytes <= self._size, f"dataset {path!r}: its data lies outside "
                  "the file")
        elif layout[1] == 0:  # compact: the data inside the message
            nbytes = struct.unpack_from("<H", layout, 2)[0]
            _need(4 + nbytes <= len(layout), f"dataset {path!r}: short compact data")
            return Dataset(path, shape, bytes(datatype), -1, nbytes, bytes(layout[4:4 + nbytes]))
        return Dataset(path, shape, bytes(datatype), address, nbytes, None)

    # ---------------------------------------------------------------- data
    def read(self, path: str, shape: tuple[int, ...]) -> np.ndarray:
        """The dataset at `path` as a native-order float32/float64 array of `shape`."""
        ds = self.datasets.get(path)
        _need(ds is not None, f"no dataset {path!r}")
        assert ds is not None
        dtype = _float_dtype(ds.datatype, path)
        _need(ds.shape == shape, f"dataset {path!r}: expected float array of shape {shape}, "
              f"found shape {ds.shape}")
        count = 1
        for d in shape:
            count *= d
        _need(ds.nbytes == count * dtype.itemsize, f"dataset {path!r}: holds {ds.nbytes} "
              f"bytes; its shape and type need {count * dtype.itemsize}")
        if ds.inline is not None:
            return np.frombuffer(ds.inline, dtype).reshape(shape).astype(
                dtype.newbyteorder("="))
        arr = np.empty(shape, dtype)
        self._f.seek(self._base + ds.address)
        got = self._f.readinto(arr.reshape(-1).data.cast("B"))  # type: ignore[attr-defined]
        _need(got == ds.nbytes, f"dataset {path!r}: the file ends early")
        return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))


def _one(messages: list[tuple[int, bytes]], kind: int, path: str) -> bytes:
    found = [data for k, data in messages if k == kind]
    _need(len(found) == 1, f"object {path!r}: {len(found)} messages of type {kind:#x}, "
          "expected one")
    return found[0]


def _dataspace(data: bytes, path: str) -> tuple[int, ...]:
    _need(len(data) >= 8, f"dataset {path!r}: short dataspace message")
    version, rank, flags = data[0], data[1], data[2]
    _need(version in (1, 2) and rank <= MAX_RANK, f"dataset {path!r}: invalid dataspace")
    _need(not flags & 0x2, f"dataset {path!r}: permuted dataspace")
    if version == 2:
        _need(data[3] in (0, 1), f"dataset {path!r}: a null dataspace")
    start = 8 if version == 1 else 4
    _need(len(data) >= start + 8 * rank * (2 if flags & 1 else 1),
          f"dataset {path!r}: short dataspace message")
    return struct.unpack_from(f"<{rank}Q", data, start)


def _float_dtype(data: bytes, path: str) -> np.dtype:
    """float32/float64 (either byte order) from an IEEE datatype message, else refuse."""
    cls, version = data[0] & 0x0F, data[0] >> 4
    size = struct.unpack_from("<I", data, 4)[0]
    ok = cls == 1 and version in (1, 2, 3) and size in _IEEE and len(data) >= 20
    if ok:
        bits0, sign = data[1], data[2]
        props = struct.unpack_from("<HHBBBBI", data, 8)
        want = _IEEE[size]
        # byte order in bit 0 (bit 6 with it means VAX order); no padding bits; the
        # mantissa's leading 1 implied; the IEEE field positions and bias
        ok = (bits0 & ~0x01 == 0x20 and data[3] == 0 and sign == want[0]
              and props[0] == 0 and props[1:] == want[1:])
    _need(ok, f"dataset {path!r}: its data is not IEEE float32 or float64")
    return np.dtype(("<" if not data[1] & 1 else ">") + ("f4" if size == 4 else "f8"))
