"""Hostile model files: every loader gives ModelFileError or the right
model — no outside read, no crash, no hang, bounded memory — for files crafted
as an attacker would, with the public h5py API and by hand.

The Keras cases start from tests/data/functional_chain.keras (a 6-12-3 chain:
kernels at layers/dense/vars/0 (6, 12) and layers/dense_1/vars/0 (12, 3)) and
replace its weights file.  libhdf5 (through h5py) only ever WRITES these files
here; fastnn reads them with its own reader (fastnn/interop/_hdf5.py).
"""
from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import fastnn

from .test_saving import load_refused
from ._needs import needs  # noqa: E402

h5py = needs("h5py")

DATA = Path(__file__).parent / "data"
CHAIN = DATA / "functional_chain.keras"
SHAPES = {"layers/dense/vars/0": (6, 12), "layers/dense/vars/1": (12,),
          "layers/dense_1/vars/0": (12, 3), "layers/dense_1/vars/1": (3,)}
KERNEL = "layers/dense/vars/0"
SECRET = b"SECRET-" * 64  # 448 bytes, more than the 288 of the first kernel
MEMORY_CAP = 64 << 20     # the bound: 64 MiB + twice the model (1 KB here)


def members(path=CHAIN):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_zip(path, items, compression=zipfile.ZIP_STORED):
    """`items`: [(name, bytes)], duplicates allowed (zipfile warns, and writes them)."""
    with zipfile.ZipFile(path, "w", compression) as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile's "Duplicate name" warning
        for name, blob in items:
            zf.writestr(name, blob)
    return path


def weights_h5(build=None, skip=(), **file_kw):
    """HDF5 bytes laid out as Keras writes functional_chain's weights; `build(f)`
    adds the hostile part, `skip` leaves those datasets out for it."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with h5py.File(buf, "w", **file_kw) as f:
        for name, shape in SHAPES.items():
            if name not in skip:
                f[name] = rng.standard_normal(shape).astype(np.float32)
        if build is not None:
            build(f)
    return buf.getvalue()


def keras_file(tmp_path, weights, name="m.keras", extra=(), compression=zipfile.ZIP_STORED):
    items = members()
    items["model.weights.h5"] = weights
    return write_zip(tmp_path / name, list(items.items()) + list(extra), compression)


class OpenedPaths:
    """Every path opened (os.open and builtins.open) while active."""

    def __init__(self, monkeypatch):
        self.paths = []
        real_os_open, real_open = os.open, builtins.open

        def os_open(path, *a, **k):
            self.paths.append(os.fspath(path))
            return real_os_open(path, *a, **k)

        def b_open(file, *a, **k):
            if not isinstance(file, int):
                self.paths.append(os.fspath(file))
            return real_open(file, *a, **k)

        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(builtins, "open", b_open)
        monkeypatch.setattr(io, "open", b_open)


def refused(path, pattern, monkeypatch=None):
    """load_model(path) raises ModelFileError matching `pattern`, within the memory
    cap, opening no path but `path`."""
    opened = OpenedPaths(monkeypatch) if monkeypatch is not None else None
    info, peak = load_refused(path, pattern)
    assert peak < MEMORY_CAP, peak
    if opened is not None:
        assert set(opened.paths) <= {str(path)}, opened.paths
    assert SECRET[:20].decode() not in str(info.value)
    return info.value


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.bin"
    path.write_bytes(SECRET)
    return path


# ------------------------------------------------------------ reads outside the file
@pytest.mark.parametrize("where", ["absolute", "relative", "/etc/os-release",
                                   "/proc/self/environ", "/dev/zero", "/dev/urandom",
                                   "short"])
def test_external_storage_is_refused(tmp_path, secret, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    target = {"absolute": str(secret), "relative": "secret.bin", "short": str(secret)}.get(
        where, where)
    nbytes = 6 * 12 * 4 if where != "short" else 100  # short: h5py pads with zeros

    def build(f):
        f.create_dataset(KERNEL, shape=(6, 12), dtype="f4",
                         external=[(target, 0, nbytes)] if where != "short"
                         else [(target, 0, nbytes), (target, 0, 6 * 12 * 4 - nbytes)])
    path = keras_file(tmp_path, weights_h5(build, skip={KERNEL}))
    refused(path, "external data files", monkeypatch)


def test_virtual_datasets_are_refused(tmp_path, secret, monkeypatch):
    src = tmp_path / "source.h5"
    with h5py.File(src, "w") as f:
        f["data"] = np.frombuffer(SECRET[:288], np.float32).reshape(6, 12)

    def mapping(source_file, source_name="data"):
        def build(f):
            layout = h5py.VirtualLayout(shape=(6, 12), dtype="f4")
            layout[:] = h5py.VirtualSource(source_file, source_name, shape=(6, 12))
            f.create_virtual_dataset(KERNEL, layout)
        return build
    cases = {"another file": mapping(str(src)), "missing source": mapping("nowhere.h5"),
             "itself": mapping(".", KERNEL)}  # the interpreter-crashing self-map in libhdf5
    for name, build in cases.items():
        path = keras_file(tmp_path, weights_h5(build, skip={KERNEL}), f"{name}.keras")
        refused(path, "virtual storage", monkeypatch)


def test_soft_external_and_cyclic_links_are_refused(tmp_path, secret, monkeypatch):
    target = tmp_path / "target.h5"
    with h5py.File(target, "w") as f:
        f["data"] = np.ones((6, 12), np.float32)

    def soft(f):
        f["elsewhere"] = np.ones((6, 12), np.float32)
        f[KERNEL] = h5py.SoftLink("/elsewhere")

    def external(f):
        f[KERNEL] = h5py.ExternalLink(str(target), "/data")

    def hard_cycle(f):
        f[KERNEL] = np.ones((6, 12), np.float32)
        f["layers/dense/vars/up"] = f["layers"]

    def hard_twice(f):
        f[KERNEL] = np.ones((6, 12), np.float32)
        f["layers/dense_1/vars/0"] = f[KERNEL]  # same object at two paths

    for build, pattern in ((soft, "soft link"), (external, "link"),
                           (hard_cycle, "reached twice"), (hard_twice, "reached twice")):
        path = keras_file(tmp_path, weights_h5(build, skip={KERNEL, "layers/dense_1/vars/0"}
                                               if build is hard_twice else {KERNEL}))
        refused(path, pattern, monkeypatch)


# ------------------------------------------------------------ memory and filters
@pytest.mark.parametrize("kind", ["gzip", "lzf", "szip?", "scaleoffset", "fletcher32",
                                  "shuffle", "chunked", "huge_chunked"])
def test_filters_and_chunked_layouts_are_refused(tmp_path, kind):
    def build(f):
        if kind == "huge_chunked":  # declared 2**40 floats of fill value, 0 stored
            f.create_dataset(KERNEL, shape=(2**20, 2**20), dtype="f4", chunks=(1024, 1024),
                             fillvalue=1.0)
            return
        options = {"gzip": dict(compression="gzip"), "lzf": dict(compression="lzf"),
                   "scaleoffset": dict(scaleoffset=2), "fletcher32": dict(fletcher32=True),
                   "shuffle": dict(shuffle=True), "chunked": dict(chunks=(3, 4))}
        if kind not in options:
            pytest.skip("szip is not in every h5py build")
        f.create_dataset(KERNEL, data=np.ones((6, 12), np.float32), **options[kind])
    path = keras_file(tmp_path, weights_h5(build, skip={KERNEL}))
    refused(path, "filter pipeline|chunked storage")


def test_compression_bomb_of_the_zip_member_is_refused(tmp_path, monkeypatch):
    # 64 MiB of zeros deflate to 64 KB; the config allows a few KB of weights (and
    # the weights file's metadata), so inflating it is refused before it starts
    bomb = zipfile.ZipInfo("model.weights.h5")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    items = members()
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("metadata.json", "config.json"):
            zf.writestr(name, items[name])
        with zf.open(bomb, "w", force_zip64=True) as out:
            block = bytes(1 << 20)
            for _ in range(64):
                out.write(block)
    assert path.stat().st_size < 1 << 20
    refused(path, "inflates to", monkeypatch)


def test_a_recompressed_keras_file_loads_the_same(tmp_path):
    plain = fastnn.load_model(CHAIN)
    path = write_zip(tmp_path / "deflated.keras", list(members().items()),
                     zipfile.ZIP_DEFLATED)
    again = fastnn.load_model(path)
    for a, b in zip(plain.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ silently wrong models
def test_duplicate_members_are_refused(tmp_path):
    items = members()
    for dup in ("config.json", "model.weights.h5"):
        other = items[dup] if dup == "model.weights.h5" else json.dumps(
            {**json.loads(items[dup]), "extra": 1}).encode()
        path = write_zip(tmp_path / f"dup_{dup}.keras", list(items.items()) + [(dup, other)])
        refused(path, "duplicate zip members")


def test_unallocated_dataset_is_refused(tmp_path):
    # no data written: libhdf5 would return the fill value (zeros) as the weights
    path = keras_file(tmp_path, weights_h5(
        lambda f: f.create_dataset(KERNEL, shape=(6, 12), dtype="f4"), skip={KERNEL}))
    refused(path, "no data stored")


@pytest.mark.parametrize("dtype", ["i4", "f2", "c8", "S4"])
def test_non_float_weights_are_refused(tmp_path, dtype):
    path = keras_file(tmp_path, weights_h5(
        lambda f: f.create_dataset(KERNEL, data=np.ones((6, 12), dtype)), skip={KERNEL}))
    refused(path, "not IEEE float32 or float64")


def test_big_endian_floats_load_as_their_values(tmp_path):
    kernel = np.arange(72, dtype=">f4").reshape(6, 12) / 7
    path = keras_file(tmp_path, weights_h5(lambda f: f.create_dataset(KERNEL, data=kernel),
                                           skip={KERNEL}))
    np.testing.assert_array_equal(fastnn.load_model(path).get_weights()[0], kernel)


def test_nonfinite_weights_are_a_model_file_error(tmp_path):
    kernel = np.ones((6, 12), np.float32)
    kernel[2, 3] = np.nan
    path = keras_file(tmp_path, weights_h5(lambda f: f.create_dataset(KERNEL, data=kernel),
                                           skip={KERNEL}))
    refused(path, "NaN or infinite")
    with pytest.raises(fastnn.ModelFileError, match="fastnn's own files only"):
        fastnn.load_model(path, allow_nonfinite=True)


def test_new_style_hdf5_is_refused_by_name(tmp_path):
    path = keras_file(tmp_path, weights_h5(libver="latest"))
    refused(path, "superblock version")


# ------------------------------------------------------------ paths
def test_paths_that_are_not_regular_files(tmp_path):
    (tmp_path / "zero.keras").symlink_to("/dev/zero")
    for device in ("/dev/zero", "/dev/urandom", tmp_path / "zero.keras"):
        refused(device, "a device, not a regular file")
    with pytest.raises(IsADirectoryError):
        fastnn.load_model(tmp_path)
    with pytest.raises(FileNotFoundError):
        fastnn.load_model(tmp_path / "missing.keras")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "s.keras"))
        refused(tmp_path / "s.keras", "a socket")
    finally:
        sock.close()


def test_a_fifo_is_refused_without_blocking(tmp_path):
    # in a child, so that a regression blocks that child, not the test run; the
    # timeout is a hang detector (the load takes milliseconds), never a speed check
    fifo = tmp_path / "m.keras"
    os.mkfifo(fifo)
    code = ("import fastnn, sys\n"
            "try:\n    fastnn.load_model(sys.argv[1])\n"
            "except fastnn.ModelFileError as e:\n    print('refused:', e.reason)\n")
    out = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True,
                         text=True, timeout=120)
    assert "refused: it is a FIFO, not a regular file" in out.stdout, out


# ------------------------------------------------------------ one exception type
@pytest.mark.slow
def test_mutated_weights_files_give_model_file_error_or_a_model(tmp_path):
    """700 seeded mutations of the HDF5 member, its zip CRC recomputed so that the
    HDF5 reader meets every damaged byte: each load raises ModelFileError or returns
    a model with the right shapes, within the memory cap."""
    items = members()
    blob = items["model.weights.h5"]
    rng = np.random.default_rng(18)
    outcomes = {"refused": 0, "loaded": 0}
    tracemalloc.start()
    try:
        for i in range(700):
            data = bytearray(blob)
            for _ in range(int(rng.integers(1, 4))):
                at = int(rng.integers(0, min(len(data), 4096)) if i % 2 else
                         rng.integers(0, len(data)))
                data[at] = int(rng.integers(0, 256)) if i % 3 else data[at] ^ 0xFF
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                for name, payload in items.items():
                    zf.writestr(name, bytes(data) if name == "model.weights.h5" else payload)
            path = tmp_path / "mut.keras"
            path.write_bytes(buf.getvalue())
            try:
                model = fastnn.load_model(path)
            except fastnn.ModelFileError:
                outcomes["refused"] += 1
            else:
                assert [w.shape for w in model.get_weights()] == [(6, 12), (12,), (12, 3), (3,)]
                outcomes["loaded"] += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_CAP
    assert outcomes["refused"] > 50 and outcomes["loaded"] > 50, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["functional_chain.keras", "fastnn"])
def test_every_flipped_byte_from_a_path_is_refused_or_harmless(tmp_path, fixture):
    """Each byte of a whole file (zip directory included) inverted in turn, loaded
    from a path: ModelFileError, or the very same weights (a byte the format
    ignores, such as a date)."""
    if fixture == "fastnn":
        m = fastnn.Sequential([fastnn.Input(shape=(3,)), fastnn.layers.Dense(4),
                               fastnn.layers.Dense(2)], seed=1)
        m.compile("adam", "mse")
        m.save(tmp_path / "orig.fastnn")
        original = (tmp_path / "orig.fastnn").read_bytes()
    else:
        original = (DATA / fixture).read_bytes()
    want = fastnn.load_model(tmp_path / "orig.fastnn" if fixture == "fastnn"
                             else DATA / fixture).get_weights()
    path = tmp_path / "flip"
    step = max(1, len(original) // 3000)
    for i in range(0, len(original), step):
        data = bytearray(original)
        data[i] ^= 0xFF
        path.write_bytes(bytes(data))
        try:
            got = fastnn.load_model(path).get_weights()
        except fastnn.ModelFileError:
            continue
        assert all(np.array_equal(a, b) for a, b in zip(got, want)), f"byte {i}"
    for cut in range(0, len(original), max(1, len(original) // 200)):  # truncations
        path.write_bytes(original[:cut])
        with pytest.raises(fastnn.ModelFileError):
            fastnn.load_model(path)


# ------------------------------------------------------------ the fastnn container
def saved_bytes(tmp_path):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fastnn.layers.Dense(2)], seed=1)
    m.save(tmp_path / "ok.fastnn")
    return (tmp_path / "ok.fastnn").read_bytes()


def test_bytes_outside_the_members_are_refused(tmp_path):
    blob = saved_bytes(tmp_path)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
        cd = zf.start_dir
    second = infos[1].header_offset
    cases = {
        "before": (b"junk" * 8 + blob, "does not start|bytes between|overlaps|not a"),
        "between": (None, "bytes between|overlaps"),
        "after_directory": (blob[:-22] + b"junk" + blob[-22:], "bytes between the "
                            "central directory|end record|BadZipFile"),
        "appended": (blob + b"junk", "end record"),
        "comment": (blob[:-2] + b"\x04\x00" + b"hey!", "end record"),
        "before_directory": (blob[:cd] + b"junk" + blob[cd:], "bytes between|central"),
    }
    for name, (data, pattern) in cases.items():
        if name == "between":  # rebuild with 4 bytes slipped between two members
            data = _shift_members(blob, second, b"junk")
        path = tmp_path / f"{name}.fastnn"
        path.write_bytes(data)
        refused(path, pattern)


def _shift_members(blob, at, insert):
    """`blob` with `insert` placed at offset `at`, every later offset fixed up, so that
    a zip reader accepts it and only the gap is wrong."""
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        start_dir = zf.start_dir
    data = bytearray(blob[:at] + insert + blob[at:])
    shift = len(insert)
    pos = start_dir + shift
    while data[pos:pos + 4] == b"PK\x01\x02":  # central directory entries
        offset = int.from_bytes(data[pos + 42:pos + 46], "little")
        if offset >= at:
            data[pos + 42:pos + 46] = (offset + shift).to_bytes(4, "little")
        n = sum(int.from_bytes(data[pos + k:pos + k + 2], "little") for k in (28, 30, 32))
        pos += 46 + n
    end = len(data) - 22
    data[end + 16:end + 20] = (start_dir + shift).to_bytes(4, "little")
    return bytes(data)


def test_a_keras_file_named_fastnn_gets_the_same_checks(tmp_path, secret, monkeypatch):
    def build(f):
        f.create_dataset(KERNEL, shape=(6, 12), dtype="f4", external=[(str(secret), 0, 288)])
    path = keras_file(tmp_path, weights_h5(build, skip={KERNEL}), name="m.fastnn")
    refused(path, "external data files", monkeypatch)


def test_a_clean_load_opens_only_the_model_file(tmp_path, monkeypatch):
    opened = OpenedPaths(monkeypatch)
    fastnn.load_model(CHAIN)
    assert opened.paths == [str(CHAIN)]


def test_the_crc_of_the_weights_member_is_checked(tmp_path):
    items = members()
    path = write_zip(tmp_path / "m.keras", list(items.items()))
    data = bytearray(path.read_bytes())
    blob = items["model.weights.h5"]
    at = bytes(data).index(blob) + len(blob) - 300  # inside the last kernel's floats
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    refused(path, "bad CRC-32")
    assert zlib.crc32(blob) == zipfile.ZipFile(CHAIN).getinfo("model.weights.h5").CRC


# ------------------------------------------------------------ the reader reads what h5py wrote
def test_the_reader_agrees_with_h5py_on_keras_like_files():
    """Seeded trees as Keras lays them out, with large groups (B-trees of several
    levels), attributes, int64 and string datasets beside the floats, compact
    storage and both byte orders: every dataset is found, and each float one reads
    back equal to what h5py wrote."""
    from fastnn.interop._hdf5 import Reader

    rng = np.random.default_rng(7)
    for trial in range(6):
        buf, written = io.BytesIO(), {}
        with h5py.File(buf, "w") as f:
            for i in range(int(rng.integers(1, 300))):
                path = f"layers/dense_{i % 37}/vars/{i}" if trial % 2 else f"optimizer/vars/{i}"
                shape = tuple(int(d) for d in rng.integers(1, 9, size=int(rng.integers(1, 3))))
                dtype = rng.choice(["<f4", "<f8", ">f4", ">f8"])
                written[path] = rng.standard_normal(shape).astype(dtype)
                f[path] = written[path]
                f[path].parent.attrs["name"] = f"n{i}"
            f["optimizer/iterations"] = np.int64(trial)
            f["metadata"] = np.bytes_(b"x" * 30)
            space = h5py.h5s.create_simple((5,))
            plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            plist.set_layout(h5py.h5d.COMPACT)
            h5py.h5d.create(f.id, b"compact", h5py.h5t.IEEE_F64LE, space, plist).write(
                h5py.h5s.ALL, h5py.h5s.ALL, np.arange(5.0))
            written["compact"] = np.arange(5.0)
        blob = buf.getvalue()
        reader = Reader(io.BytesIO(blob), 0, len(blob))
        assert set(reader.datasets) == set(written) | {"optimizer/iterations", "metadata"}
        for path, want in written.items():
            got = reader.read(path, want.shape)
            assert got.dtype.isnative and got.dtype.itemsize == want.dtype.itemsize
            np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------ normalization layers
def _resign(cfg, name, arr):
    cfg["arrays"][name]["sha256"] = hashlib.sha256(arr.tobytes()).hexdigest()
    return cfg


def test_hostile_files_with_normalization_layers(tmp_path):
    """fastnn files of a model with every normalization layer, with a
    negative variance, a missing statistics member, a bad momentum, a config whose
    variables differ from the members, a member of the wrong shape."""
    from .test_normalization_layers import full_model
    from .test_saving import members as zip_members, rewrite

    m, _, _ = full_model()
    base = tmp_path / "base.fastnn"
    m.save(base)
    cfg = json.loads(zip_members(base)["config.json"])
    name = "weights/2/moving_variance.npy"
    neg = -np.ones(8, np.float32)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, neg)
    cases = {
        "negative_variance": (dict(changes={name: buf.getvalue(),
                                            "config.json": _resign(json.loads(json.dumps(
                                                cfg)), name, neg)}), "negative variance"),
        "missing_moving_mean": (dict(drop=("weights/2/moving_mean.npy",)),
                                "listed|missing|differ"),
        "bad_momentum": (dict(changes={"config.json": _edit(cfg, "BatchNormalization",
                                                            "momentum", 7.0)}), "momentum"),
        "center_flipped": (dict(changes={"config.json": _edit(cfg, "LayerNormalization",
                                                              "center", False)}),
                           "arrays listed in config.json differ"),
        "shape_changed": (dict(changes={"config.json": _shape(cfg, name, [9])}),
                          "shape"),
    }
    for case, (kw, pattern) in cases.items():
        path = tmp_path / f"{case}.fastnn"
        rewrite(base, path, **kw)
        with pytest.raises(fastnn.ModelFileError, match=pattern):
            fastnn.load_model(path)


def _edit(cfg, class_name, key, value):
    out = json.loads(json.dumps(cfg))
    for spec in out["model"]["config"]["layers"]:
        if spec["class_name"] == class_name:
            spec["config"][key] = value
    return out


def _shape(cfg, name, shape):
    out = json.loads(json.dumps(cfg))
    out["arrays"][name]["shape"] = shape
    return out
