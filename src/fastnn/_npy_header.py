"""The .npy header of a model file's array member, read by fastnn itself.

A .npy member starts with the magic ``\\x93NUMPY``, a version (1.0: a 2-byte header
length; 2.0: 4 bytes), then the header: the repr of a dict, padded with spaces and a
newline, e.g. ``{'descr': '<f4', 'fortran_order': False, 'shape': (5, 8), }``.

numpy's reader (``np.lib.format.read_array_header_1_0``) parses that text with
``ast.literal_eval``, whose nested helper functions refer to each other through
closure cells: every call leaves a reference cycle (4 functions and their cells)
that only the cycle collector frees, and a model file has one header per array.
This reader accepts the subset numpy writes — a dict of the three keys, string
values without escapes, True/False, a tuple of integers — with a regular-expression
tokenizer and a loop, so it creates no cycle, and it rejects everything else
(structured dtypes, Python-2 headers, expressions) with ValueError.  The caller
compares the result with what the config declares.
"""
from __future__ import annotations

import re
import struct
from typing import IO

MAGIC = b"\x93NUMPY"
_LENGTH_FORMAT = {(1, 0): "<H", (2, 0): "<I"}  # version -> the header length's struct
KEYS = frozenset({"descr", "fortran_order", "shape"})

# one token after optional whitespace: a quoted string without escapes, an integer
# (no leading zeros, at most 20 digits), True/False, or punctuation
_TOKEN = re.compile(r"""[ \t\r\n]*(?:
      (?P<str>'[^'\\\n]*'|"[^"\\\n]*")
    | (?P<int>-?(?:0|[1-9][0-9]{0,19}))(?![0-9A-Za-z_.])
    | (?P<bool>True|False)(?![0-9A-Za-z_])
    | (?P<punct>[{}():,\[\]])
    )""", re.VERBOSE)
_END = ("end", "")
_Token = tuple[str, str]


def read_npy_header(f: IO[bytes], max_header_bytes: int) -> tuple[tuple[int, ...], bool, str]:
    """Read the magic, version and header of a .npy stream positioned at its start;
    return (shape, fortran_order, descr) and leave `f` at the first data byte.
    Raises ValueError for anything but a well-formed version 1.0 or 2.0 header of at
    most `max_header_bytes` bytes."""
    magic = f.read(len(MAGIC) + 2)
    if len(magic) != len(MAGIC) + 2 or magic[:len(MAGIC)] != MAGIC:
        raise ValueError("not a .npy array (no \\x93NUMPY magic string)")
    version = (magic[-2], magic[-1])
    fmt = _LENGTH_FORMAT.get(version)
    if fmt is None:
        raise ValueError(f"unsupported .npy version {version}; expected (1, 0) or (2, 0)")
    raw = f.read(struct.calcsize(fmt))
    if len(raw) != struct.calcsize(fmt):
        raise ValueError("the .npy header ends early")
    (length,) = struct.unpack(fmt, raw)
    if length > max_header_bytes:
        raise ValueError(f"the .npy header is {length} bytes (at most {max_header_bytes})")
    text = f.read(length)
    if len(text) != length:
        raise ValueError("the .npy header ends early")
    return parse_header(text.decode("latin1"))


def parse_header(text: str) -> tuple[tuple[int, ...], bool, str]:
    """(shape, fortran_order, descr) from a .npy header's dict text."""
    toks = _tokens(text)
    fields: dict[str, object] = {}
    i = _expect(toks, 0, "{")
    while toks[i] != ("punct", "}"):
        kind, key = toks[i]
        if kind != "str":
            raise ValueError(f"expected a quoted key, found {key or 'the end'!r}")
        if key[1:-1] in fields:
            raise ValueError(f"key {key} appears twice")
        i = _expect(toks, i + 1, ":")
        fields[key[1:-1]], i = _value(toks, i)
        if toks[i] == ("punct", ","):
            i += 1
        elif toks[i] != ("punct", "}"):
            raise ValueError(f"expected ',' or '}}', found {toks[i][1] or 'the end'!r}")
    if toks[i + 1] != _END:
        raise ValueError(f"{toks[i + 1][1]!r} after the header's dict")
    if set(fields) != KEYS:
        raise ValueError(f"the header has the keys {sorted(fields)}; expected {sorted(KEYS)}")
    descr, fortran, shape = fields["descr"], fields["fortran_order"], fields["shape"]
    if not isinstance(descr, str):
        raise ValueError(f"descr is not a dtype string: {descr!r}")
    if not isinstance(fortran, bool):
        raise ValueError(f"fortran_order is not True or False: {fortran!r}")
    if not isinstance(shape, tuple):
        raise ValueError(f"shape is not a tuple of integers: {shape!r}")
    return shape, fortran, descr


def _tokens(text: str) -> list[_Token]:
    toks: list[_Token] = []
    pos = 0
    while True:
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        kind = m.lastgroup
        assert kind is not None  # every alternative is a named group
        toks.append((kind, m.group(kind)))
        pos = m.end()
    rest = text[pos:]
    if rest.strip(" \t\r\n"):
        raise ValueError(f"unexpected {rest[:20].lstrip()!r} at character {pos}")
    toks.append(_END)
    return toks


def _expect(toks: list[_Token], i: int, punct: str) -> int:
    if toks[i] != ("punct", punct):
        raise ValueError(f"expected {punct!r}, found {toks[i][1] or 'the end'!r}")
    return i + 1


def _value(toks: list[_Token], i: int) -> tuple[object, int]:
    """One value at toks[i]: a string, a bool, or a tuple of integers; and the index
    after it."""
    kind, text = toks[i]
    if kind == "str":
        return text[1:-1], i + 1
    if kind == "bool":
        return text == "True", i + 1
    if kind == "int":
        return int(text), i + 1
    if text == "[":
        raise ValueError("a structured dtype (a list as descr) is not supported")
    i = _expect(toks, i, "(")
    dims: list[int] = []
    comma = False
    while toks[i] != ("punct", ")"):
        kind, text = toks[i]
        if kind != "int":
            raise ValueError(f"expected an integer in the shape, found {text or 'the end'!r}")
        dims.append(int(text))
        comma = toks[i + 1] == ("punct", ",")
        if not comma and toks[i + 1] != ("punct", ")"):
            raise ValueError(f"expected ',' or ')', found {toks[i + 1][1] or 'the end'!r}")
        i += 2 if comma else 1
    if len(dims) == 1 and not comma:
        return dims[0], i + 1  # (5) is the integer 5, not a tuple (as Python reads it)
    return tuple(dims), i + 1
