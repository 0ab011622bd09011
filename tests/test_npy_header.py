"""fastnn/_npy_header.py reads a .npy header as numpy does for every header numpy
writes for a plain array, refuses the rest with ValueError, and leaves no
reference cycle behind (numpy's reader, through ast.literal_eval, leaves one per
call: the memory of repeated loads)."""
import gc
import io
import struct

import numpy as np
import pytest

from fastnn._npy_header import parse_header, read_npy_header

from .test_saving import npy  # the .npy bytes numpy writes

MAX = 10_000




def raw(text, version=(1, 0)):
    body = text.encode("latin1")
    length = struct.pack("<H" if version == (1, 0) else "<I", len(body))
    return b"\x93NUMPY" + bytes(version) + length + body


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
@pytest.mark.parametrize("descr", ["<f4", "<f8", ">f4", "|O", "|u1", "<i8"])
@pytest.mark.parametrize("shape", [(), (0,), (1,), (5,), (5, 8), (3, 0, 2), (2**40, 7),
                                   (-5, 8)])
@pytest.mark.parametrize("fortran", [False, True])
def test_same_as_numpy(version, descr, shape, fortran):
    blob = npy(descr, shape, fortran=fortran, version=version) + b"data"
    f = io.BytesIO(blob)
    got = read_npy_header(f, MAX)
    assert f.read() == b"data"  # left at the first data byte
    g = io.BytesIO(blob)
    assert np.lib.format.read_magic(g) == version
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    want_shape, want_fortran, want_dtype = read(g)
    assert got == (want_shape, want_fortran, descr)
    assert np.dtype(descr).str == want_dtype.str
    assert all(type(d) is int for d in got[0]) and type(got[1]) is bool


@pytest.mark.parametrize("text, shape", [
    ("{'shape': (5, 8), 'fortran_order': False, 'descr': '<f4'}", (5, 8)),  # any key order
    ('{"descr": "<f4", "fortran_order": False, "shape": (5,)}\n', (5,)),  # double quotes
    ("  {'descr':'<f4','fortran_order':False,'shape':(5,8,)} \t\r\n", (5, 8)),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (), }" + " " * 200 + "\n", ()),
])
def test_accepts_the_python_literal_forms(text, shape):
    assert parse_header(text) == (shape, False, "<f4")


@pytest.mark.parametrize("text, match", [
    ("", r"expected '\{'"),
    ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (5,)}", "structured dtype"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5)}", "shape is not a tuple"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': 5}", "shape is not a tuple"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5L,)}", "unexpected"),  # Python 2
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (0x5,)}", "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (05,)}", "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (1_0,)}", "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5.0,)}", "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (" + "9" * 30 + ",)}", "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': ((5,),)}", "integer in the shape"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5 8)}", "expected ',' or '\\)'"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", "integer in the shape"),
    ("{'descr': '<f4', 'fortran_order': 0, 'shape': (5,)}", "fortran_order"),
    ("{'descr': '<f4', 'fortran_order': 'False', 'shape': (5,)}", "fortran_order"),
    ("{'descr': True, 'fortran_order': False, 'shape': (5,)}", "descr is not"),
    ("{'descr': '<f4', 'fortran_order': False}", "keys"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'x': 1}", "keys"),
    ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (5,)}", "twice"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}{}", "after the header"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5,)} x", "unexpected"),
    ("{'descr': '<f4' 'fortran_order': False, 'shape': (5,)}", "expected ','"),
    ("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (5,)}", "unexpected"),
    ("{'descr': __import__('os').system('x'), 'fortran_order': False, 'shape': (5,)}",
     "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2+3,)}", "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5,)\0}", "unexpected"),
    ("{descr: '<f4', 'fortran_order': False, 'shape': (5,)}", "unexpected"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5,)", "expected ',' or '}'"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (5,", r"integer in the shape"),
    ("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (5,)}", "unexpected"),
    ("[1]", r"expected '\{'"),
])
def test_refuses_everything_else(text, match):
    with pytest.raises(ValueError, match=match):
        parse_header(text)


@pytest.mark.parametrize("blob, match", [
    (b"", "magic"),
    (b"\x93NUMPZ\x01\x00", "magic"),
    (b"\x93NUMPY\x03\x00" + b"\0" * 200, r"version \(3, 0\)"),
    (b"\x93NUMPY\x01\x01" + b"\0" * 200, r"version \(1, 1\)"),
    (b"\x93NUMPY\x01\x00\x10", "ends early"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr'", "ends early"),
    (b"\x93NUMPY\x02\x00\xff\xff\xff\xff", "4294967295 bytes"),  # read nothing that long
    (raw(" " * (MAX + 1)), f"{MAX + 1} bytes"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': os.sy}" + b"\0" * 160, "unexpected"),
])
def test_refuses_damaged_streams(blob, match):
    with pytest.raises(ValueError, match=match):
        read_npy_header(io.BytesIO(blob), MAX)


def test_latin1_header_text_is_refused_not_misread():
    with pytest.raises(ValueError, match="unexpected"):
        read_npy_header(io.BytesIO(raw("{'descr': '<f4', 'fortran_order': False, "
                                       "'shape': (5,)}\xe9")), MAX)


def test_reading_leaves_no_garbage():
    blobs = [npy("<f4", (5, 8)), npy("<f8", (3,), fortran=True, version=(2, 0))]
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(50):
            for blob in blobs:
                read_npy_header(io.BytesIO(blob), MAX)
            with pytest.raises(ValueError):
                parse_header("{'descr': '<f4', 'fortran_order': False, 'shape': (5)}")
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert garbage == []
