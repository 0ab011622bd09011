"""Keras files out: ``model.save("m.keras")`` writes a Keras 3 file,
``save_weights("m.weights.h5")`` Keras's weights file (fastnn/interop/keras_out.py).

Checked three ways, none needing Keras in CI:
* against real Keras once: tests/data/make_keras_out_fixtures.py saved fastnn models
  to tests/data/fastnn_written/ and stored what Keras 3.15 made of them
  (keras_out_expected.npz: predictions, the restored optimizer and its variables);
  here fastnn's predictions must equal Keras's, and fastnn must still write exactly
  those files (so Keras's verdict still applies);
* against Keras's own files: the structure (config.json keys, HDF5 paths) of a
  fastnn-written file equals the real fixture of the same model;
* fastnn → .keras → fastnn: same predictions, and training resumes exactly as from
  fastnn's own file (optimizer slots, step count, random streams).
"""
import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import layers as fl
from fastnn.interop import _keras_training, keras_out
from tests._needs import needs

h5py = needs("h5py")
DATA = os.path.join(os.path.dirname(__file__), "data")
WRITTEN = os.path.join(DATA, "fastnn_written")
EXPECTED = dict(np.load(os.path.join(DATA, "keras_out_expected.npz")))
NAMES = sorted(f[:-6] for f in os.listdir(WRITTEN) if f.endswith(".keras"))
# keys Keras 3.15 writes that fastnn leaves out (Keras fills the defaults; older Keras 3
# releases refuse keys they do not know)
OMITTED = {"quantization_config", "optional", "ragged", "input_axes", "output_axes"}


def h5_contents(data: bytes) -> dict:
    out = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(
            name, np.asarray(obj[()]) if isinstance(obj, h5py.Dataset) else None))
    return out


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_the_fixtures_cover_every_optimizer():
    kinds = {str(EXPECTED[f"{n}_optimizer"]).split(":")[0] for n in NAMES}
    assert kinds == {"", "Adam", "SGD", "RMSprop", "Nadam", "Adagrad", "Adamax", "AdamW"}


@pytest.mark.parametrize("name", NAMES)
def test_keras_predicted_what_fastnn_predicts(name):
    model = fastnn.load_model(os.path.join(WRITTEN, f"{name}.keras"))
    x, y = EXPECTED[f"{name}_x"], EXPECTED[f"{name}_y"]
    got = model.predict(x, verbose=0)
    # float32: both compute the same dense products in float32, summed in different
    # orders (rounding ~1e-7 relative per layer, 7 layers at most).  float64 (the
    # model with elu/selu/gelu/softplus/swish): measured 1.9e-7 relative at most, from
    # Keras's side (its float64 gelu is 2.2e-8 relative from SciPy's exact formula,
    # fastnn's 3.5e-12), grown through the layers after it; 1e-6 bounds it
    tol = dict(rtol=1e-6, atol=1e-9) if x.dtype == np.float64 else dict(rtol=2e-5,
                                                                        atol=2e-6)
    np.testing.assert_allclose(got, y, **tol)
    assert str(EXPECTED[f"{name}_warnings"]) == ""  # Keras loaded everything silently


@pytest.mark.parametrize("name", [n for n in NAMES if str(EXPECTED[f"{n}_optimizer"])])
def test_keras_restored_the_optimizer_fastnn_wrote(name):
    model = fastnn.load_model(os.path.join(WRITTEN, f"{name}.keras"))
    kind, steps = str(EXPECTED[f"{name}_optimizer"]).split(":")
    assert type(model.optimizer).__name__ == kind
    assert model.optimizer.iterations == int(steps) > 0
    snap = keras_out.take_snapshot(model, "model")
    mine = _keras_training.optimizer_vars(model, snap)
    theirs = [EXPECTED[k] for k in sorted((k for k in EXPECTED
                                           if k.startswith(f"{name}_optvar_")),
                                          key=lambda k: int(k.rsplit("_", 1)[1]))]
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                   rtol=1e-6)  # the rate is a float32 in both
    assert any(np.any(v != 0) for v in mine[2:]), "trained: the slots are not all zero"


@pytest.mark.parametrize("name", NAMES)
def test_fastnn_still_writes_these_files(name, tmp_path):
    path = os.path.join(WRITTEN, f"{name}.keras")
    model = fastnn.load_model(path)
    model.save(tmp_path / "again.keras")
    old, new = members(path), members(tmp_path / "again.keras")
    assert list(old) == list(new) == ["metadata.json", "config.json", "model.weights.h5",
                                      "fastnn.json"]
    assert json.loads(old["config.json"]) == json.loads(new["config.json"])
    a, b = h5_contents(old["model.weights.h5"]), h5_contents(new["model.weights.h5"])
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] is None) == (b[key] is None)
        if a[key] is not None:
            assert a[key].dtype == b[key].dtype
            np.testing.assert_array_equal(a[key], b[key])
    x1, x2 = json.loads(old["fastnn.json"]), json.loads(new["fastnn.json"])
    x1.pop("fastnn_version"), x2.pop("fastnn_version")
    assert x1 == x2


def test_keras_weights_file_fixture():
    model = fastnn.load_model(os.path.join(WRITTEN, "acts_adam.keras"))
    fresh = fastnn.Sequential.from_config(model.get_config())
    fresh.load_weights(os.path.join(WRITTEN, "acts.weights.h5"))
    np.testing.assert_allclose(fresh.predict(EXPECTED["acts_adam_x"], verbose=0),
                               EXPECTED["weights_y"], rtol=2e-5, atol=2e-6)


def _keys(obj, depth=0):
    """The nested key structure of a JSON object (names and values aside)."""
    if isinstance(obj, dict):
        return {k: _keys(v, depth + 1) for k, v in obj.items()
                if k not in OMITTED and k != "shared_object_id"}
    if isinstance(obj, list):
        return [_keys(v, depth + 1) for v in obj if isinstance(v, (dict, list))]
    return None


@pytest.mark.parametrize("fixture,written", [
    ("sequential_activations", "acts_adam"),
    ("sequential_image_activations", "image_uncompiled")])
def test_structure_equals_a_real_keras_file(fixture, written):
    real = members(os.path.join(DATA, f"{fixture}.keras"))
    ours = members(os.path.join(WRITTEN, f"{written}.keras"))
    r, o = json.loads(real["config.json"]), json.loads(ours["config.json"])
    o_compile, r["compile_config"] = o.pop("compile_config"), None
    r.pop("compile_config")
    assert _keys(r) == _keys(o)
    for lr, lo in zip(r["config"]["layers"], o["config"]["layers"]):
        assert lr["class_name"] == lo["class_name"]
        for key in ("units", "activation", "use_bias", "rate", "batch_shape"):
            assert lr["config"].get(key) == lo["config"].get(key)
        assert lr.get("build_config") == lo.get("build_config")
    hr, ho = h5_contents(real["model.weights.h5"]), h5_contents(ours["model.weights.h5"])
    ours_layers = {k: v for k, v in ho.items() if not k.startswith("optimizer")}
    assert hr.keys() == ours_layers.keys()
    assert all((hr[k] is None and ho[k] is None) or hr[k].shape == ho[k].shape for k in hr)
    meta = json.loads(ours["metadata.json"])
    assert set(json.loads(real["metadata.json"])) <= set(meta)
    if o_compile is not None:  # Keras's compile_config keys
        assert set(o_compile) == {"optimizer", "loss", "loss_weights", "metrics",
                                  "weighted_metrics", "run_eagerly", "steps_per_execution",
                                  "jit_compile"}


# ------------------------------------------------------------------ round trips
OPTIMIZERS = [fastnn.optimizers.Adam(0.01), fastnn.optimizers.SGD(0.05, momentum=0.9),
              fastnn.optimizers.SGD(0.05), fastnn.optimizers.RMSprop(0.01, momentum=0.3),
              fastnn.optimizers.Adagrad(0.1), fastnn.optimizers.Nadam(0.01),
              fastnn.optimizers.Adamax(0.01), fastnn.optimizers.AdamW(0.01)]


def _model(opt, frozen=False):
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), fl.Dense(8, activation="relu"),
                           fl.Dropout(0.25), fl.Dense(3, activation="softmax")], seed=7)
    m.layers[0].trainable = not frozen
    m.compile(opt, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=lambda o: type(o).__name__ +
                         str(getattr(o, "momentum", "")))
def test_resume_after_keras_file_is_exact(opt, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((48, 4)), rng.integers(0, 3, 48)
    m = _model(type(opt).from_config(opt.get_config()))
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    m.save(tmp_path / "m.keras")
    m.save(tmp_path / "m.fastnn")
    a, b = fastnn.load_model(tmp_path / "m.keras"), fastnn.load_model(tmp_path / "m.fastnn")
    np.testing.assert_array_equal(a.predict(x, verbose=0), m.predict(x, verbose=0))
    ha = a.fit(x, y, epochs=2, batch_size=16, verbose=0).history
    hb = b.fit(x, y, epochs=2, batch_size=16, verbose=0).history
    assert ha == hb
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_frozen_layers_have_no_keras_slots_and_resume_while_frozen(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((32, 4)), rng.integers(0, 3, 32)
    m = _model(fastnn.optimizers.Adam(0.01), frozen=True)
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    m.save(tmp_path / "m.keras")
    names = [n for n in h5_contents(members(tmp_path / "m.keras")["model.weights.h5"])
             if n.startswith("optimizer/vars/")]
    assert len(names) == 2 + 2 * 2  # iteration, rate, (m, v) of the last kernel and bias
    a = fastnn.load_model(tmp_path / "m.keras")
    ha = a.fit(x, y, epochs=1, batch_size=8, verbose=0).history
    hm = m.fit(x, y, epochs=1, batch_size=8, verbose=0).history
    assert ha == hm


def test_relu_conventions_and_names_come_back(tmp_path):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(4, activation="relu",
                                                              name="a"),
                           fl.Dense(2, activation="relu_keras", name="b")], name="net")
    m.save(tmp_path / "m.keras")
    cfg = json.loads(members(tmp_path / "m.keras")["config.json"])
    assert [l["config"].get("activation") for l in cfg["config"]["layers"][1:]] == \
        ["relu", "relu"]  # one function to Keras: ReLU'(0) differs in training only
    back = fastnn.load_model(tmp_path / "m.keras")
    assert [l.get_config()["activation"] for l in back.layers] == ["relu", "relu_keras"]
    assert back.name == "net" and [l.name for l in back.layers] == ["a", "b"]


def test_layer_names_stay_unique_for_keras(tmp_path):
    m = fastnn.Sequential([fl.Dense(4, input_shape=(3,), name="input_layer"), fl.Dense(2)])
    m.save(tmp_path / "m.keras")
    cfg = json.loads(members(tmp_path / "m.keras")["config.json"])
    names = [l["config"]["name"] for l in cfg["config"]["layers"]]
    assert names == ["input_layer_1", "input_layer", "dense"]
    back = fastnn.load_model(tmp_path / "m.keras")
    assert [l.name for l in back.layers] == ["input_layer", "dense"]


def test_unexpressible_models_are_refused_before_writing(tmp_path):
    target = tmp_path / "m.keras"
    target.write_bytes(b"previous")
    for act in ("step", "sign"):
        m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(2, activation=act)])
        with pytest.raises(ValueError, match=f"'{act}', which Keras does not have.*"
                                             r"\.fastnn"):
            m.save(target)
    assert target.read_bytes() == b"previous"
    with pytest.raises(ValueError, match="does not know its input size"):
        fastnn.Sequential([fl.Dense(2)]).save(tmp_path / "u.keras")
    assert not (tmp_path / "u.keras").exists()


@pytest.mark.parametrize("name,kind", [("m.h5", "model"), ("m.hdf5", "model"),
                                       ("w.h5", "weights")])
def test_h5_names_are_refused_with_what_to_use(name, kind, tmp_path):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(2)])
    save = m.save if kind == "model" else m.save_weights
    with pytest.raises(ValueError, match=r"\.keras|\.weights\.h5"):
        save(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_a_failing_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "m.keras"
    target.write_bytes(b"previous")
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(2)])

    def boom(*args):
        raise OSError("disk full")
    monkeypatch.setattr(keras_out.zipfile.ZipFile, "writestr", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(target)
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.keras"]


def test_without_h5py_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(2)])
    with pytest.raises(ImportError, match=r"fastnn-mlp\[keras\]"):
        m.save(tmp_path / "m.keras")
    m.save(tmp_path / "m.fastnn")  # fastnn's own file needs nothing


def test_weights_file_round_trip_and_mismatch(tmp_path):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(4, activation="tanh"),
                           fl.Dense(2, use_bias=False)], seed=3)
    m.save_weights(tmp_path / "w.weights.h5")
    other = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(4, activation="tanh"),
                               fl.Dense(2, use_bias=False)], seed=4)
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(m.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrong = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(5), fl.Dense(2)])
    with pytest.raises(ValueError, match="shape"):
        wrong.load_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="no input size"):
        fastnn.Sequential([fl.Dense(4), fl.Dense(2)]).load_weights(tmp_path / "w.weights.h5")


def _rewrite(path, out, name, transform):
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, transform(data) if info.filename == name else data)


def test_fastnn_json_must_agree_with_the_keras_config(tmp_path):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(4, activation="tanh"),
                           fl.Dense(2)], seed=3)
    m.save(tmp_path / "m.keras")

    def other_activation(data):
        cfg = json.loads(data)
        cfg["model"]["config"]["layers"][1]["config"]["activation"] = "sigmoid"
        return json.dumps(cfg).encode()
    _rewrite(tmp_path / "m.keras", tmp_path / "bad.keras", "fastnn.json", other_activation)
    with pytest.raises(fastnn.ModelFileError, match="different models"):
        fastnn.load_model(tmp_path / "bad.keras")

    def other_weights(data):
        buf = io.BytesIO(data)
        with h5py.File(buf, "r+") as f:
            f["layers/dense/vars/0"][0, 0] += 1.0
        return buf.getvalue()
    _rewrite(tmp_path / "m.keras", tmp_path / "bad2.keras", "model.weights.h5",
             other_weights)
    with pytest.raises(fastnn.ModelFileError, match="differs from the one fastnn.json"):
        fastnn.load_model(tmp_path / "bad2.keras")
    # without fastnn.json it is a plain Keras file: Keras's model, read as any other
    with zipfile.ZipFile(tmp_path / "bad2.keras") as src, \
            zipfile.ZipFile(tmp_path / "plain.keras", "w") as dst:
        for info in src.infolist():
            if info.filename != "fastnn.json":
                dst.writestr(info, src.read(info))
    plain = fastnn.load_model(tmp_path / "plain.keras")
    assert plain.get_weights()[0][0, 0] == pytest.approx(m.get_weights()[0][0, 0] + 1.0)


def _compiled(tmp_path):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), fl.Dense(4, activation="tanh"),
                           fl.Dense(2)], seed=3)
    m.compile("adam", "mse")
    m.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)
    m.save(tmp_path / "m.keras")
    return tmp_path / "m.keras"


def _drop_optimizer_var(data):
    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as f:
        del f["optimizer/vars/3"]
    return buf.getvalue()


@pytest.mark.parametrize("transform,match", [
    (lambda d: b"{not json", "JSON|Expecting"),
    (lambda d: d.replace(b'"iterations": 1', b'"iterations": NaN'), "NaN"),
    (lambda d: d.replace(b'"kind": "model"', b'"kind": "weights"'), "not a fastnn model"),
    (lambda d: d.replace(b'"optimizer/slot_2.npy"', b'"optimizer/slot_9.npy"'),
     "arrays listed"),
    (lambda d: d + b" " * (1 << 20), "too large"),
    (lambda d: json.dumps([1, 2]).encode(), "not a fastnn model"),
])
def test_hostile_fastnn_json_is_refused(tmp_path, transform, match):
    path = _compiled(tmp_path)
    _rewrite(path, tmp_path / "bad.keras", "fastnn.json", transform)
    with pytest.raises(fastnn.ModelFileError, match=match):
        fastnn.load_model(tmp_path / "bad.keras")


def test_missing_optimizer_variable_is_refused(tmp_path):
    path = _compiled(tmp_path)
    _rewrite(path, tmp_path / "bad.keras", "model.weights.h5", _drop_optimizer_var)
    with pytest.raises(fastnn.ModelFileError, match="optimizer variables"):
        fastnn.load_model(tmp_path / "bad.keras")


def test_fastnn_files_saved_as_keras_by_older_versions_still_load(tmp_path):
    from fastnn import saving

    m = _model(fastnn.optimizers.Adam(0.01))
    m.fit(np.ones((8, 4)), np.zeros(8), epochs=1, verbose=0)
    saving.save(m, tmp_path / "old.keras")  # what model.save("old.keras") wrote before
    back = fastnn.load_model(tmp_path / "old.keras")
    np.testing.assert_array_equal(back.predict(np.ones((2, 4))), m.predict(np.ones((2, 4))))
    assert back.optimizer.iterations == m.optimizer.iterations


def test_a_batchnorm_model_goes_into_a_real_keras_file_without_a_warning(tmp_path):
    """save('m.keras') of a model with BatchNormalization writes a Keras file (no
    fallback to fastnn's format), which load_model reads back whole."""
    import warnings

    from fastnn.layers import BatchNormalization, Dense

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((64, 5)), rng.integers(0, 2, 64)
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), Dense(8, activation="relu"),
                           BatchNormalization(), Dense(1, activation="sigmoid")], seed=2)
    m.compile("adam", "binary_crossentropy")
    m.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "m.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.save(path)
    with zipfile.ZipFile(path) as zf:
        assert "model.weights.h5" in zf.namelist()
    back = fastnn.load_model(path)
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_noise_layers_are_written_as_keras_writes_them(tmp_path):
    """GaussianNoise, GaussianDropout and AlphaDropout go into a real Keras file: their
    config.json entries have the keys and values of the real Keras 3.15 fixture's
    (tests/data/sequential_normalizations.keras; checked once with real Keras: it loads
    such a file and predicts within 9e-8), and fastnn reads the file back exactly."""
    from fastnn.layers import AlphaDropout, Dense, GaussianDropout, GaussianNoise

    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((64, 5)).astype(np.float32), rng.integers(0, 2, 64)
    m = fastnn.Sequential([fastnn.Input(shape=(5,)), GaussianNoise(0.1),
                           Dense(8, activation="relu"), GaussianDropout(0.2),
                           Dense(8, activation="tanh"), AlphaDropout(0.1),
                           Dense(1, activation="sigmoid")], seed=1)
    m.compile("adam", "binary_crossentropy")
    m.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "noise.keras"
    m.save(path)
    with zipfile.ZipFile(path) as zf:
        mine = {layer["class_name"]: layer
                for layer in json.loads(zf.read("config.json"))["config"]["layers"]}
    fixture = os.path.join(os.path.dirname(__file__), "data", "sequential_normalizations.keras")
    with zipfile.ZipFile(fixture) as zf:
        real = {layer["class_name"]: layer
                for layer in json.loads(zf.read("config.json"))["config"]["layers"]}
    for cls in ("GaussianNoise", "GaussianDropout", "AlphaDropout"):
        a, b = mine[cls], real[cls]
        assert sorted(a) == sorted(b) and sorted(a["config"]) == sorted(b["config"]), cls
        for key in ("seed", "noise_shape"):
            if key in b["config"]:
                assert a["config"][key] == b["config"][key], (cls, key)
    assert mine["GaussianNoise"]["config"]["stddev"] == 0.1
    assert mine["AlphaDropout"]["config"]["rate"] == 0.1
    back = fastnn.load_model(path)
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    assert back.optimizer.iterations == m.optimizer.iterations
