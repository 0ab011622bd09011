"""Hostile model files: outcome, time and peak memory of ``fastnn.load_model`` on
each, every load in a fresh child process (its peak RSS from ``getrusage``, so C
allocations count too), next to a clean load of the same model.

    python benchmarks/bench_hostile_files.py

Needs h5py (the test extra) to WRITE the files; fastnn never reads them with it.
The cases follow issue 18's families; tests/test_hostile_files.py checks the same
outcomes (this script only adds the figures).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHAIN = ROOT / "tests" / "data" / "functional_chain.keras"
SHAPES = {"layers/dense/vars/0": (6, 12), "layers/dense/vars/1": (12,),
          "layers/dense_1/vars/0": (12, 3), "layers/dense_1/vars/1": (3,)}
KERNEL = "layers/dense/vars/0"

CHILD = """
import resource, sys, time
t0 = time.perf_counter()
import fastnn
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
try:
    fastnn.load_model(sys.argv[1])
    outcome = "loaded"
except fastnn.ModelFileError as e:
    outcome = "ModelFileError: " + e.reason[:70]
except OSError as e:
    outcome = type(e).__name__
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{dt * 1e3:.1f}\\t{(peak - base) / 1024:.1f}\\t{outcome}")
"""


def members():
    with zipfile.ZipFile(CHAIN) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def weights(build=None, skip=(), **kw):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    with h5py.File(buf, "w", **kw) as f:
        for name, shape in SHAPES.items():
            if name not in skip:
                f[name] = rng.standard_normal(shape).astype(np.float32)
        if build:
            build(f)
    return buf.getvalue()


def keras(folder, name, blob, extra=(), compression=zipfile.ZIP_STORED):
    path = folder / name
    items = members()
    items["model.weights.h5"] = blob
    with zipfile.ZipFile(path, "w", compression) as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": that is the point
        for n, b in list(items.items()) + list(extra):
            zf.writestr(n, b)
    return path


def cases(folder):
    secret = folder / "secret.bin"
    secret.write_bytes(b"SECRET" * 100)
    out = {"clean .keras (reference)": CHAIN}

    def ext(target):
        return lambda f: f.create_dataset(KERNEL, shape=(6, 12), dtype="f4",
                                          external=[(target, 0, 288)])
    for label, target in (("external: a local file", str(secret)),
                          ("external: /proc/self/environ", "/proc/self/environ"),
                          ("external: /dev/zero", "/dev/zero")):
        out[label] = keras(folder, f"{len(out)}.keras", weights(ext(target), {KERNEL}))

    def vds(f):
        layout = h5py.VirtualLayout(shape=(6, 12), dtype="f4")
        layout[:] = h5py.VirtualSource(".", KERNEL, shape=(6, 12))
        f.create_virtual_dataset(KERNEL, layout)
    out["virtual dataset mapping itself"] = keras(folder, "vds.keras", weights(vds, {KERNEL}))
    out["chunked 2^40 floats, fill value"] = keras(folder, "huge.keras", weights(
        lambda f: f.create_dataset(KERNEL, shape=(2**20, 2**20), dtype="f4",
                                   chunks=(1024, 1024), fillvalue=1.0), {KERNEL}))
    out["gzip bomb dataset"] = keras(folder, "gz.keras", weights(
        lambda f: f.create_dataset("optimizer/vars/0", data=np.zeros((8192, 8192), "f4"),
                                   compression="gzip", chunks=(8192, 8192))))
    bomb = folder / "deflate.keras"
    info = zipfile.ZipInfo("model.weights.h5")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(bomb, "w") as zf:
        for n, b in members().items():
            if n != "model.weights.h5":
                zf.writestr(n, b)
        with zf.open(info, "w", force_zip64=True) as o:
            for _ in range(1024):
                o.write(bytes(1 << 20))
    out["zip member deflate bomb (1 GiB)"] = bomb
    out["soft link"] = keras(folder, "soft.keras", weights(
        lambda f: f.__setitem__(KERNEL, h5py.SoftLink("/layers/dense/vars/1")), {KERNEL}))
    items = members()
    cfg = json.loads(items["config.json"])
    cfg["config"]["name"] = "other"
    out["duplicate config.json"] = keras(folder, "dup.keras", items["model.weights.h5"],
                                         [("config.json", json.dumps(cfg).encode())])
    nan = np.ones((6, 12), np.float32)
    nan[0, 0] = np.nan
    out["NaN weights"] = keras(folder, "nan.keras", weights(
        lambda f: f.create_dataset(KERNEL, data=nan), {KERNEL}))
    fifo = folder / "fifo.keras"
    os.mkfifo(fifo)
    out["a FIFO as the path"] = fifo
    (folder / "zero.keras").symlink_to("/dev/zero")
    out["a symlink to /dev/zero"] = folder / "zero.keras"
    out["/dev/urandom"] = Path("/dev/urandom")
    return out


def main():
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("| case | file size | outcome | time (ms) | peak memory above import (MiB) |")
        print("|---|---|---|---|---|")
        for label, path in cases(folder).items():
            size = os.stat(path).st_size if Path(path).is_file() else 0
            res = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env,
                                 capture_output=True, text=True, timeout=300)
            if res.returncode:
                print(f"| {label} | {size} | CRASHED ({res.returncode}) {res.stderr[-200:]} |")
                continue
            ms, mib, outcome = res.stdout.strip().split("\t")
            print(f"| {label} | {size:,} B | {outcome} | {ms} | {mib} |")


if __name__ == "__main__":
    main()
