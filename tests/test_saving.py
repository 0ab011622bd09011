"""The model file: round trips, exact resume, atomic saves, hostile
files, threads.  The crafted-file table and the bit-flip fuzz load every damaged
file under tracemalloc, so a file that makes the loader allocate what it declares
instead of what it holds fails here."""
import copy
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import saving
from fastnn.layers import Dense, Dropout
from fastnn.regularizers import l1, l1_l2, l2

ROOT = Path(fastnn.__file__).resolve().parent.parent
ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "softmax", "step", "sign"]


def data(n=64, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, k, n)


def small_model(dtype="float32", fitted=True):
    X, y = data()
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(8, activation="tanh"), Dropout(0.2),
                           Dense(3, activation="softmax")], dtype=dtype, seed=3)
    m.compile(fastnn.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    if fitted:
        m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    return m


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y)
                                      for x, y in zip(wa, wb))


def env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")]))


# ---------------------------------------------------------------------------- round trips
def zoo():
    """A model per (dtype, activation, bias), with regularizers and dropout."""
    models = []
    for dtype in ("float32", "float64"):
        for i, act in enumerate(ACTIVATIONS):
            layers = [Dense(6, activation=act, use_bias=bool(i % 2), input_shape=(4,),
                            kernel_regularizer=l2(0.01), bias_regularizer=l1(0.001)),
                      Dropout(0.25),
                      Dense(3, activation=act, kernel_regularizer=l1_l2(0.01, 0.02))]
            m = fastnn.Sequential(layers, dtype=dtype, seed=i, name=f"zoo_{dtype}_{act}")
            if act not in ("step", "sign"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    m.compile("rmsprop", "mse", ["mae"])
                    X = np.random.default_rng(i).standard_normal((32, 4))
                    m.fit(X, np.tanh(X[:, :3]), epochs=2, verbose=0)
            models.append(m)
    return models


@pytest.mark.slow
def test_round_trip_in_a_fresh_process(tmp_path):
    X = np.random.default_rng(7).standard_normal((50, 4))
    paths = []
    for m in zoo():
        path = tmp_path / f"{m.name}.fastnn"
        m.save(path)
        np.save(tmp_path / f"{m.name}.npy", m.predict(X))
        paths.append(str(path))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import sys, numpy as np, fastnn\n"
        "X = np.load(sys.argv[1])\n"
        "for p in sys.argv[2:]:\n"
        "    m = fastnn.load_model(p)\n"
        "    np.save(p[:-len('.fastnn')] + '.loaded.npy', m.predict(X))\n"
        "    print(m.name, m.dtype)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "X.npy"), *paths],
                         capture_output=True, text=True, env=env(), timeout=120)
    assert out.returncode == 0, out.stderr
    for m, line in zip(zoo(), out.stdout.splitlines()):
        assert line == f"{m.name} {m.dtype}"
        mine = np.load(tmp_path / f"{m.name}.npy")
        theirs = np.load(tmp_path / f"{m.name}.loaded.npy")
        assert theirs.dtype == m.dtype and np.array_equal(mine, theirs), m.name


def test_loaded_model_keeps_config_and_compile_settings(tmp_path):
    m = small_model()
    m.save(tmp_path / "m.fastnn")
    n = fastnn.load_model(tmp_path / "m.fastnn")
    assert n.get_config() == m.get_config() and n.name == m.name and n.seed == m.seed
    assert n.loss == m.loss and n._metric_names == m._metric_names
    assert fastnn.optimizers.serialize(n.optimizer) == fastnn.optimizers.serialize(m.optimizer)
    assert n.optimizer.iterations == m.optimizer.iterations > 0
    X, y = data()
    assert n.evaluate(X, y, verbose=0) == m.evaluate(X, y, verbose=0)


@pytest.mark.parametrize("opt", [fastnn.optimizers.Adam(0.01),
                                 fastnn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                                 fastnn.optimizers.RMSprop(0.01, momentum=0.5),
                                 fastnn.optimizers.AdamW(0.01), fastnn.optimizers.Adagrad(0.1)],
                         ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_resume_is_bitwise_equal_to_one_run(tmp_path, opt, dtype):
    X, y = data(200)

    def make():
        m = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(16, activation="relu"),
                               Dropout(0.3), Dense(8, activation="tanh"), Dropout(0.1),
                               Dense(3, activation="softmax")], dtype=dtype, seed=11)
        m.compile(fastnn.optimizers.get(fastnn.optimizers.serialize(opt)),
                  "sparse_categorical_crossentropy", ["accuracy"])
        return m

    one = make()
    one.fit(X, y, epochs=6, batch_size=16, verbose=0, shuffle=True)
    first = make()
    first.fit(X, y, epochs=3, batch_size=16, verbose=0, shuffle=True)
    first.save(tmp_path / "half.fastnn")
    second = fastnn.load_model(tmp_path / "half.fastnn")
    second.fit(X, y, epochs=3, batch_size=16, verbose=0, shuffle=True)
    assert same_weights(one, second)
    assert second.optimizer.iterations == one.optimizer.iterations
    assert np.array_equal(second._slots[0], one._slots[0])


def test_compile_false_gives_an_inference_only_model(tmp_path):
    m = small_model()
    m.save(tmp_path / "m.fastnn")
    n = fastnn.load_model(tmp_path / "m.fastnn", compile=False)
    X, y = data()
    assert n.optimizer is None and np.array_equal(n.predict(X), m.predict(X))
    with pytest.raises(RuntimeError, match="compiled"):
        n.fit(X, y, verbose=0)


def test_unbuilt_and_uncompiled_models_round_trip(tmp_path):
    m = fastnn.Sequential([Dense(4, activation="relu"), Dense(1)], seed=5)
    m.save(tmp_path / "a.fastnn")
    n = fastnn.load_model(tmp_path / "a.fastnn")
    assert not n.built and n.optimizer is None and n.get_config() == m.get_config()
    m.compile("sgd", "mse")
    m.save(tmp_path / "b.fastnn")
    n = fastnn.load_model(tmp_path / "b.fastnn")
    X = np.ones((3, 2))
    m.fit(X, np.ones(3), verbose=0)
    n.fit(X, np.ones(3), verbose=0)
    assert same_weights(m, n)


def test_same_model_same_bytes(tmp_path):
    m = small_model()
    m.save(tmp_path / "a.fastnn")
    m.save(tmp_path / "b.fastnn")
    assert (tmp_path / "a.fastnn").read_bytes() == (tmp_path / "b.fastnn").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["a.fastnn", "b.fastnn"]  # no temp files left


def test_pickle_and_deepcopy_predict_bitwise_the_same():
    import pickle

    m = small_model()
    X, y = data()
    for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m), copy.copy(m)):
        assert clone is not m and np.array_equal(clone.predict(X), m.predict(X))
        clone.fit(X, y, verbose=0)
        assert not same_weights(clone, m)  # independent state


# ---------------------------------------------------------------------------- weights files
def test_save_weights_load_weights(tmp_path):
    m = small_model()
    m.save_weights(tmp_path / "w.fastnn")
    fresh = small_model(fitted=False)
    its = fresh.optimizer.iterations
    fresh.load_weights(tmp_path / "w.fastnn")
    assert same_weights(fresh, m) and fresh.optimizer.iterations == its
    other = fastnn.Sequential([Dense(8, activation="tanh"), Dense(3)])  # input from the file
    other.load_weights(tmp_path / "w.fastnn")
    assert same_weights(other, m)
    m.save(tmp_path / "full.fastnn")  # a full model file serves too
    fresh = small_model(fitted=False)
    fresh.load_weights(tmp_path / "full.fastnn")
    assert same_weights(fresh, m)
    cfg = json.loads(members(tmp_path / "w.fastnn")["config.json"])
    assert cfg["kind"] == "weights" and cfg["state"] is None and cfg["compile"] is None
    assert not fastnn.load_model(tmp_path / "w.fastnn").optimizer  # architecture + weights
    cfg["state"] = {}
    rewrite(tmp_path / "w.fastnn", tmp_path / "w2.fastnn", {"config.json": cfg})
    with pytest.raises(fastnn.ModelFileError, match="weights file holds no"):
        fastnn.load_model(tmp_path / "w2.fastnn")


def test_load_weights_into_a_different_architecture_changes_nothing(tmp_path):
    small_model().save_weights(tmp_path / "w.fastnn")
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(7), Dense(3)], seed=0)
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"do not fit this model.*\(5, 7\)"):
        m.load_weights(tmp_path / "w.fastnn")
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    unbuilt = fastnn.Sequential([Dense(7), Dense(3)])
    with pytest.raises(ValueError, match="do not fit"):
        unbuilt.load_weights(tmp_path / "w.fastnn")
    assert not unbuilt.built and unbuilt._input_dim is None
    dropout_last = fastnn.Sequential([Dense(8), Dense(3), Dropout(0.5)])  # cannot be built
    with pytest.raises(ValueError, match="Dropout cannot be the last layer"):
        dropout_last.load_weights(tmp_path / "w.fastnn")
    assert not dropout_last.built and dropout_last._input_dim is None


# ---------------------------------------------------------------------------- arguments
def test_path_errors(tmp_path):
    m = small_model()
    with pytest.raises(FileNotFoundError):
        fastnn.load_model(tmp_path / "missing.fastnn")
    with pytest.raises(FileNotFoundError):
        m.save(tmp_path / "no" / "folder" / "m.fastnn")
    for bad in (None, 3, b"m.fastnn"):
        with pytest.raises(TypeError, match="filepath"):
            m.save(bad)
        with pytest.raises(TypeError, match="filepath"):
            fastnn.load_model(bad)
    with pytest.raises(ValueError, match="filepath"):
        fastnn.load_model("")
    with pytest.raises(TypeError, match="compile"):
        fastnn.load_model(tmp_path / "m.fastnn", compile="yes")
    m.save(tmp_path / "m.fastnn")
    before = (tmp_path / "m.fastnn").read_bytes()
    with pytest.raises(FileExistsError):
        small_model(fitted=False).save(tmp_path / "m.fastnn", overwrite=False)
    assert (tmp_path / "m.fastnn").read_bytes() == before
    assert os.listdir(tmp_path) == ["m.fastnn"]


# ---------------------------------------------------------------------------- hostile files
def members(path):
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rewrite(src, dst, changes=(), drop=(), compress=(), extra=()):
    """Copy the archive `src` to `dst` with members replaced (a dict becomes JSON),
    dropped, DEFLATEd, or added (as (name, bytes) pairs, duplicates allowed)."""
    items = members(src)
    items.update({k: json.dumps(v).encode() if isinstance(v, dict) else v
                  for k, v in dict(changes).items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(dst, "w") as zf:
            for name, blob in [*items.items(), *extra]:
                if name in drop:
                    continue
                kind = zipfile.ZIP_DEFLATED if name in compress else zipfile.ZIP_STORED
                zf.writestr(name, blob, compress_type=kind)


def npy(descr, shape, payload=b"", fortran=False, version=(1, 0)):
    buf = io.BytesIO()
    d = {"descr": descr, "fortran_order": fortran, "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buf, d)
    else:
        np.lib.format.write_array_header_2_0(buf, d)
    return buf.getvalue() + payload


def edit_config(**edits):
    def apply(cfg):
        for dotted, value in edits.items():
            *parents, last = dotted.split(".")
            node = cfg
            for p in parents:
                node = node[int(p)] if isinstance(node, list) else node[p]
            if isinstance(node, list):
                node[int(last)] = value
            else:
                node[last] = value
        return cfg
    return apply


class Payload:
    def __reduce__(self):
        return os.system, ("touch PAYLOAD_RAN",)


KERNEL = "weights/0/kernel.npy"


def case_files(base, tmp):
    """name -> (path of a crafted file, regex its ModelFileError must match)."""
    import pickle

    cfg = json.loads(members(base)["config.json"])
    out = {}

    def add(name, pattern, **kw):
        path = tmp / f"{name}.fastnn"
        if "raw" in kw:
            path.write_bytes(kw["raw"])
        else:
            changes = dict(kw.get("changes", {}))
            if "config" in kw:
                changes["config.json"] = kw["config"](copy.deepcopy(cfg))
            rewrite(base, path, changes, kw.get("drop", ()), kw.get("compress", ()),
                    kw.get("extra", ()))
        out[name] = (path, pattern)

    blob = base.read_bytes()
    add("pickle_payload", "not a zip archive", raw=pickle.dumps(Payload()))
    add("object_array", "dtype '\\|O'", changes={KERNEL: npy("|O", (5, 8), pickle.dumps(
        np.array([Payload()] * 40, dtype=object).reshape(5, 8)))})
    add("huge_header_shape", r"shape \(100000, 100000\) differs",
        changes={KERNEL: npy("<f4", (100000, 100000), b"\0" * 64)})
    add("huge_matching_header",
        "holds 160 bytes of data; its header declares 4000000000",
        config=lambda c: _huge(c), changes={KERNEL: npy("<f4", (10000, 100000), b"\0" * 160)})
    add("too_many_parameters", "parameters",
        config=edit_config(**{"input_dim": 2**30, "model.config.layers.0.config.shape": [2**30]}))
    add("negative_shape", r"shape \(-5, 8\) differs", changes={KERNEL: npy("<f4", (-5, 8))})
    add("shape_differs_from_config", r"shape \(6, 8\) differs",
        changes={KERNEL: npy("<f4", (6, 8), b"\0" * 192)})
    add("big_endian", "dtype '>f4'", changes={KERNEL: npy(">f4", (5, 8), b"\0" * 160)})
    add("float64_in_float32_model", "dtype '<f8'", changes={KERNEL: npy("<f8", (5, 8), b"\0" * 320)})
    add("fortran_order", "Fortran", changes={KERNEL: npy("<f4", (5, 8), b"\0" * 160, True)})
    add("structured_dtype", "dtype", changes={KERNEL: npy([("a", "<f4")], (5, 8), b"\0" * 160)})
    add("npy_version_3", "version", changes={KERNEL: b"\x93NUMPY\x03\x00" + b"\0" * 200})
    add("garbage_npy_header", "unreadable .npy header",
        changes={KERNEL: b"\x93NUMPY\x01\x00\x10\x00{'descr': os.sy}" + b"\0" * 160})
    add("data_after_array", "holds 164 bytes",
        changes={KERNEL: members(base)[KERNEL] + b"\0" * 4})
    add("data_changed_sha256", "SHA-256",
        changes={KERNEL: members(base)[KERNEL][:-4] + b"\x00\x00\x80\x3f"})
    add("nan_weights", "NaN", config=lambda c: _rehash(c, KERNEL, np.nan),
        changes={KERNEL: _npy_of(np.full((5, 8), np.nan, np.float32))})
    add("zip_bomb", "compressed", changes={KERNEL: b"\0" * (64 << 20)}, compress={KERNEL})
    add("compressed_config", "compressed", compress={"config.json"})
    add("nested_json", "nested too deeply",
        changes={"config.json": b"[" * 100000 + b"]" * 100000})
    add("big_config", r"config.json is 2097163 bytes \(at most 1048576\)",
        changes={"config.json": b'{"pad": "' + b"x" * (2 << 20) + b'"}'})
    add("bad_json", "JSONDecodeError", changes={"config.json": b'{"format": "fastnn.model",'})
    add("json_nan", "NaN, which is not JSON",
        changes={"config.json": members(base)["config.json"].replace(
            b'"learning_rate": 0.01', b'"learning_rate": NaN')})
    add("config_not_object", "not a JSON object", changes={"config.json": b"[1, 2]"})
    add("not_utf8", "UnicodeDecodeError", changes={"config.json": b'{"a": "\xff"}'})
    add("other_format", "does not name the format", config=edit_config(format="keras"))
    add("future_version", r"unsupported format version 99 \(this fastnn .* reads versions up "
        "to 1\\)", config=edit_config(format_version=99))
    add("version_not_int", "invalid format_version", config=edit_config(format_version="1"))
    add("unknown_top_key", "keys", config=edit_config(code="import os"))
    add("unknown_layer", "unknown layer class", config=edit_config(
        **{"model.config.layers.1.class_name": "Lambda"}))
    add("module_path_layer", "unknown layer class", config=edit_config(
        **{"model.config.layers.1.class_name": "os.system"}))
    add("unknown_activation", "unknown activation 'evil'", config=edit_config(
        **{"model.config.layers.1.config.activation": "evil"}))
    add("layer_kwarg", "invalid config for layer 1", config=edit_config(
        **{"model.config.layers.1.config.function": "os.system"}))
    add("layer_not_dict", "invalid config", config=edit_config(**{"model.config.layers.1": 3}))
    add("too_many_layers", "at most 1000 layers", config=edit_config(
        **{"model.config.layers": [{"class_name": "Dropout", "config": {"rate": 0.1}}] * 1001}))
    add("unknown_optimizer", "unknown optimizer 'os.system'", config=edit_config(
        **{"compile.optimizer.class_name": "os.system"}))
    add("bad_learning_rate", "learning_rate", config=edit_config(
        **{"compile.optimizer.config.learning_rate": -1}))
    add("unknown_loss", "unknown loss", config=edit_config(**{"compile.loss": "ctc"}))
    add("zero_rng_state", "random stream 'dropout'", config=edit_config(
        **{"state.rng.dropout": [0, 0, 0, 0]}))
    add("negative_iterations", "invalid iterations", config=edit_config(
        **{"state.iterations": -1}))
    add("input_dim_mismatch", "input_dim differs", config=edit_config(input_dim=6))
    add("listing_differs", "arrays listed", config=edit_config(**{"arrays": {}}))
    add("bad_sha_entry", "entry for", config=lambda c: {
        **c, "arrays": {**c["arrays"], KERNEL: {"shape": [5, 8], "dtype": "<f4", "sha256": 1}}})
    add("overlapping_members", "overlaps the next member", raw=_overlapping(base))
    add("bad_metric", "invalid compile settings: .*unknown metric 'bogus'",
        config=edit_config(**{"compile.metrics": ["bogus"]}))
    add("metric_object_bad_argument", "invalid compile settings: .*unexpected keyword",
        config=edit_config(**{"compile.metrics": [
            {"class_name": "Precision", "config": {"evil": "os.system"}}]}))
    add("metric_object_unknown_class",
        "invalid compile settings: .*unknown metric .builtins.eval.",
        config=edit_config(**{"compile.metrics": [
            {"class_name": "builtins.eval", "config": {}}]}))
    add("from_logits_not_bool", "invalid from_logits",
        config=edit_config(**{"compile.from_logits": 1}))
    add("from_logits_on_mse", "invalid compile settings: .*cross-entropies only",
        config=edit_config(**{"compile.from_logits": True, "compile.loss": "mse"}))
    add("dropout_last", "Dropout cannot be the last layer", config=lambda c: {
        **c, "model": {**c["model"], "config": {**c["model"]["config"], "layers": [
            *c["model"]["config"]["layers"],
            {"class_name": "Dropout", "config": {"rate": 0.5, "name": "extra"}}]}}})
    add("missing_member", r"members \['weights/1/bias.npy'\] are missing", drop=("weights/1/bias.npy",))
    add("extra_member", r"unexpected members \['evil.py'\]", extra=[("evil.py", b"import os")])
    add("duplicate_member", "duplicate", extra=[(KERNEL, members(base)[KERNEL])])
    add("no_config", "no config.json", drop=("config.json",))
    add("empty_file", "empty", raw=b"")
    add("random_bytes", "not a zip archive", raw=np.random.default_rng(0).bytes(4096))
    add("zip_magic_then_garbage", "BadZipFile", raw=b"PK\x03\x04" + b"\0" * 100)
    add("text_file", "not a zip archive", raw=b"model = 'fastnn'\n")
    for pct in (10, 50, 99):
        add(f"truncated_{pct}pct", "BadZipFile|EOF|not a zip", raw=blob[:len(blob) * pct // 100])
    return out


def _overlapping(base):
    """The base file with the central directory pointing the bias member into the
    kernel member's data: a member hidden inside another (the nesting that lets a
    small file declare arrays much larger than itself)."""
    import struct

    blob = bytearray(base.read_bytes())
    with zipfile.ZipFile(base) as zf:
        kernel = zf.getinfo(KERNEL).header_offset
    name = b"weights/0/bias.npy"
    at = blob.index(b"PK\x01\x02" + bytes(24)[:0])  # first central directory record
    while True:
        at = blob.index(b"PK\x01\x02", at)
        n = struct.unpack_from("<H", blob, at + 28)[0]
        if bytes(blob[at + 46:at + 46 + n]) == name:
            struct.pack_into("<I", blob, at + 42, kernel + 40)
            return bytes(blob)
        at += 46


def _npy_of(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr)
    return buf.getvalue()


def _rehash(cfg, name, value):
    import hashlib

    arr = np.full(cfg["arrays"][name]["shape"], value, np.float32)
    cfg["arrays"][name]["sha256"] = hashlib.sha256(arr.tobytes()).hexdigest()
    return cfg


def _huge(cfg):
    cfg["input_dim"] = 10000
    cfg["model"]["config"]["layers"][0]["config"]["shape"] = [10000]
    cfg["model"]["config"]["layers"][1]["config"]["units"] = 100000
    cfg["arrays"][KERNEL]["shape"] = [10000, 100000]
    cfg["arrays"]["weights/0/bias.npy"]["shape"] = [100000]
    cfg["arrays"]["weights/1/kernel.npy"]["shape"] = [100000, 3]
    for slot in ("optimizer/slot_1.npy", "optimizer/slot_2.npy"):
        cfg["arrays"][slot]["shape"] = [10000 * 100000 + 100000 + 300003]
    return cfg


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crafted")
    base = tmp / "base.fastnn"
    small_model().save(base)
    assert fastnn.load_model(base).built  # the base file itself is valid
    return case_files(base, tmp)


def _case_names():
    # the case names, without building the files (kept in step by test_case_list)
    src = Path(__file__).read_text()
    names = re.findall(r'add\("([a-z0-9_]+)"', src)
    return names + [f"truncated_{p}pct" for p in (10, 50, 99)]


def load_refused(path, pattern):
    """(the ModelFileError of load_model(path), matching `pattern`; peak traced bytes)."""
    tracemalloc.start()
    try:
        with pytest.raises(fastnn.ModelFileError, match=pattern) as info:
            fastnn.load_model(path)
        return info, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("case", _case_names())
def test_crafted_file(crafted, case, monkeypatch, tmp_path):
    path, pattern = crafted[case]
    monkeypatch.chdir(tmp_path)  # where the pickle payload would touch its file
    info, peak = load_refused(path, pattern)
    assert info.value.path == str(path) and str(path) in str(info.value)
    assert peak < 16 << 20, f"{case}: the loader allocated {peak} bytes"
    assert not (tmp_path / "PAYLOAD_RAN").exists()


def test_case_list(crafted):
    assert sorted(crafted) == sorted(_case_names())


def test_bit_flips_never_load_a_different_model(tmp_path):
    m = small_model()
    path = tmp_path / "m.fastnn"
    m.save(path)
    blob = bytearray(path.read_bytes())
    rng = np.random.default_rng(2026)
    errors = identical = 0
    X, _ = data()
    expected = m.predict(X)
    for i in range(600):
        flipped = bytearray(blob)
        bit = int(rng.integers(len(blob) * 8))
        flipped[bit // 8] ^= 1 << (bit % 8)
        try:
            loaded = saving.model_from_archive(io.BytesIO(bytes(flipped)), f"flip {i}")
        except fastnn.ModelFileError:
            errors += 1
            continue
        assert same_weights(loaded, m) and np.array_equal(loaded.predict(X), expected), bit
        assert loaded.get_config() == m.get_config()
        assert saving.snapshot(loaded)[0] == saving.snapshot(m)[0], bit
        identical += 1
    print(f"{errors} errors, {identical} identical loads")
    assert errors + identical == 600 and errors > 500


# ---------------------------------------------------------------------------- atomic save
def test_exception_mid_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.fastnn"
    small_model(fitted=False).save(path)
    before = path.read_bytes()
    calls = {"n": 0}
    real = np.lib.format.write_array_header_1_0

    def failing(fp, d):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(fp, d)

    monkeypatch.setattr(np.lib.format, "write_array_header_1_0", failing)
    with pytest.raises(OSError, match="No space"):
        small_model().save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.fastnn"]
    monkeypatch.undo()
    fastnn.load_model(path)


KILL_CHILD = """
import sys, numpy as np, fastnn
from fastnn.layers import Dense
path = sys.argv[1]
m = fastnn.Sequential([fastnn.Input(shape=(1000,)), Dense(4000), Dense(1000)], seed=1)
m.compile("adam", "mse")
m.fit(np.ones((4, 1000)), np.ones((4, 1000)), verbose=0)   # 3 arrays of 32 MB to write
if len(sys.argv) > 2:  # stop inside save(), the data written, before the rename
    import os, time
    def fsync(fd):
        print("mid-save", flush=True)
        time.sleep(600)
    os.fsync = fsync
print("ready", flush=True)
while True:
    m.save(path)
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_save_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "m.fastnn"
    old = small_model()
    old.save(path)
    before = path.read_bytes()
    killed_mid_save = 0
    # the kills at fixed delays land wherever the busy or idle machine puts them; the
    # last one is sure to land inside save() (the child waits there to be killed)
    for delay in (0.0, 0.02, 0.1, 0.3, "mid-save"):
        args = [str(path)] + (["stop"] if delay == "mid-save" else [])
        child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, *args], env=env(),
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            if delay == "mid-save":
                assert child.stdout.readline().strip() == "mid-save"
            else:
                time.sleep(delay)
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        blob = path.read_bytes()
        if blob == before:
            assert same_weights(fastnn.load_model(path), old)
        else:  # the kill came after a complete save: the new model, whole
            assert fastnn.load_model(path).count_params() == 1000 * 4000 + 4000 + 4000 * 1000 + 1000
        for name in os.listdir(tmp_path):  # a kill may leave the temp file, nothing else
            assert name == "m.fastnn" or name.startswith(".m.fastnn.tmp-"), name
            if name != "m.fastnn":
                killed_mid_save += 1
                os.unlink(tmp_path / name)
    assert killed_mid_save >= 1  # at least one kill really landed inside save()


# ---------------------------------------------------------------------------- threads
def test_save_while_other_threads_predict(tmp_path):
    m = small_model()
    X, _ = data(2000)
    expected = m.predict(X)
    stop, bad = threading.Event(), []

    def reader():
        while not stop.is_set():
            if not np.array_equal(m.predict(X), expected):
                bad.append(1)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(20):
            m.save(tmp_path / "m.fastnn")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not bad and same_weights(fastnn.load_model(tmp_path / "m.fastnn"), m)


def test_save_during_fit_in_another_thread_raises(tmp_path):
    m = small_model()
    X, y = data(20000)
    started, result = threading.Event(), {}

    class Signal(fastnn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.set()
            time.sleep(0.3)  # fit is running while the main thread saves

    t = threading.Thread(target=lambda: result.setdefault(
        "h", m.fit(X, y, epochs=1, verbose=0, callbacks=[Signal()])))
    t.start()
    started.wait(10)
    try:
        with pytest.raises(RuntimeError, match="being trained"):
            m.save(tmp_path / "m.fastnn")
        with pytest.raises(RuntimeError, match="being trained"):
            m.load_weights(tmp_path / "m.fastnn")
    finally:
        t.join()
    assert not (tmp_path / "m.fastnn").exists() and "h" in result


def test_save_from_a_callback_during_fit(tmp_path):
    m = small_model()
    X, y = data()

    class Checkpoint(fastnn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.save(tmp_path / f"e{epoch}.fastnn")

    m.fit(X, y, epochs=2, verbose=0, callbacks=[Checkpoint()])
    assert same_weights(fastnn.load_model(tmp_path / "e1.fastnn"), m)


# ---------------------------------------------------------------------------- code safety
def test_no_code_execution_paths_in_the_loader():
    """A9: the loader and the registry never deserialise objects or import by name."""
    banned = re.compile(r"\bpickle\b|allow_pickle\s*=\s*True|\beval\(|\bexec\(|importlib|"
                        r"__import__|\bnp\.load\(")
    for name in ("saving.py", "_archive.py", "_model_file.py", "_config.py", "_registry.py",
                 "interop/keras.py"):
        text = (ROOT / "fastnn" / name).read_text()
        assert not banned.search(text), f"{name}: {banned.search(text).group()}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under AddressSanitizer freed memory stays resident in its "
                           "quarantine (256 MB): RSS growth measures the quarantine")
@pytest.mark.slow
def test_no_growth_over_repeated_save_and_load(tmp_path):
    import gc
    import resource

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    m = small_model()
    path, bad = tmp_path / "m.fastnn", tmp_path / "bad.fastnn"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 64)

    def rounds(n):
        for _ in range(n):
            m.save(path)
            fastnn.load_model(path)
            with pytest.raises(fastnn.ModelFileError):
                fastnn.load_model(bad)

    rounds(50)
    gc.collect()
    before, refs = rss(), sys.getrefcount(m)
    rounds(400)
    gc.collect()
    assert rss() - before < 4 and sys.getrefcount(m) == refs
