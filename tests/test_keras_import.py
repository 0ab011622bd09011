"""Keras 3 files in: fixtures made once with Keras
(tests/data/make_keras_fixtures.py, with Keras's predictions in
keras_expected.npz), plus crafted malformed files.  Tolerance against Keras:
rtol 1e-5, atol 1e-6 — float32 rounding; Keras on JAX computes its float64
models with float32-size error too (1.4e-7 measured), while fastnn's float64
matches a NumPy float64 forward pass to 1e-12."""
import copy
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from ._needs import needs  # noqa: E402

h5py = needs("h5py")

import fastnn  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = np.load(DATA / "keras_expected.npz") if (DATA / "keras_expected.npz").exists() \
    else None
pytestmark = pytest.mark.skipif(EXPECTED is None, reason="tests/data is not present")


@pytest.mark.parametrize("name", ["sequential_activations", "sequential_new_activations",
                                  "sequential_float64", "functional_chain",
                                  "sequential_image_activations", "sequential_reshape",
                                  # normalization and noise layers; the
                                  # 'unsupported_layer' file is a BatchNormalization
                                  # made before fastnn had one
                                  "sequential_batchnorm", "sequential_normalizations",
                                  "normalization_given", "functional_batchnorm",
                                  "unsupported_layer"])
def test_keras_models_predict_as_in_keras(name):
    model = fastnn.load_model(DATA / f"{name}.keras")
    X, want = EXPECTED[f"{name}_x"], EXPECTED[f"{name}_y"]
    got = model.predict(X)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not model.optimizer  # inference model: compile it to train


def test_image_inputs_and_weightless_layers_from_keras(tmp_path):
    """Input((4, 3)), Flatten, Activation, ReLU, Softmax, Reshape: the loaded
    model takes the images, and saves and loads in fastnn's format."""
    model = fastnn.load_model(DATA / "sequential_image_activations.keras")
    assert model._input_shape == (4, 3)
    assert [type(l).__name__ for l in model.layers] == [
        "Flatten", "Dense", "Activation", "Dropout", "Dense", "Activation", "Dense",
        "Activation"]
    X = EXPECTED["sequential_image_activations_x"]
    with pytest.raises(ValueError, match=r"samples of shape \(4, 3\)"):
        model.predict(X.reshape(len(X), 12))
    model.save(tmp_path / "m.fastnn")
    assert np.array_equal(fastnn.load_model(tmp_path / "m.fastnn").predict(X), model.predict(X))


def test_float64_matches_a_numpy_forward_exactly():
    path = DATA / "sequential_float64.keras"
    with zipfile.ZipFile(path) as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5"))) as f:
        W0, b0 = f["layers/dense/vars/0"][()], f["layers/dense/vars/1"][()]
        W1, b1 = f["layers/dense_1/vars/0"][()], f["layers/dense_1/vars/1"][()]
    X = EXPECTED["sequential_float64_x"]
    model = fastnn.load_model(path)
    assert model.dtype == np.float64
    np.testing.assert_allclose(model.predict(X), np.tanh(X @ W0 + b0) @ W1 + b1,
                               rtol=1e-12, atol=1e-13)


def test_loaded_model_keeps_names_regularizers_and_trains():
    model = fastnn.load_model(DATA / "sequential_activations.keras")
    assert [l.name for l in model.layers][:2] == ["dense", "dropout"]
    assert model.layers[2].kernel_regularizer.l2 == pytest.approx(1e-3)
    assert model.layers[3].use_bias is False
    model.compile("adam", "categorical_crossentropy")
    X = EXPECTED["sequential_activations_x"]
    model.fit(X, np.eye(4)[np.arange(len(X)) % 4], epochs=1, verbose=0)


@pytest.mark.parametrize("name,pattern", [
    ("unsupported_activation", "uses activation 'hard_sigmoid'"),
    ("unsupported_constraint", "kernel_constraint .*MaxNorm"),
    ("lambda_layer", "layer 'lambda' is a 'Lambda'"),
    ("unfoldable_activation", r"Activation 'activation_\d+' follows Dense 'dense_\d+', which "
                              "already applies 'relu'"),
])
def test_what_fastnn_lacks_is_refused_by_name(name, pattern):
    with pytest.raises(fastnn.ModelFileError, match=pattern):
        fastnn.load_model(DATA / f"{name}.keras")


def rewrite(src, dst, config=None, weights=None, drop=()):
    with zipfile.ZipFile(src) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    if config is not None:
        items["config.json"] = json.dumps(config).encode()
    if weights is not None:
        items["model.weights.h5"] = weights
    with zipfile.ZipFile(dst, "w") as zf:
        for n, blob in items.items():
            if n not in drop:
                zf.writestr(n, blob)


def base_config():
    with zipfile.ZipFile(DATA / "functional_chain.keras") as zf:
        return json.loads(zf.read("config.json"))


def h5_with(shape):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["layers/dense/vars/0"] = np.zeros(shape, np.float32)
        f["layers/dense/vars/1"] = np.zeros(12, np.float32)
        f["layers/dense_1/vars/0"] = np.zeros((12, 3), np.float32)
        f["layers/dense_1/vars/1"] = np.zeros(3, np.float32)
    return buf.getvalue()


def crafted():
    cfg = base_config()
    custom = copy.deepcopy(cfg)
    custom["config"]["layers"][1]["registered_name"] = "my_package>EvilDense"
    foreign = copy.deepcopy(cfg)
    foreign["config"]["layers"][1]["module"] = "my_package.layers"
    branch = copy.deepcopy(cfg)
    branch["config"]["layers"][3]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] \
        = "features"
    mixed = copy.deepcopy(cfg)
    mixed["config"]["layers"][1]["config"]["dtype"]["config"]["name"] = "mixed_float16"
    return {
        "custom_object": ({"config": custom}, "custom object"),
        "foreign_module": ({"config": foreign}, "module 'my_package.layers'"),
        "not_a_chain": ({"config": branch}, "not fed by the layer before it"),
        "mixed_precision": ({"config": mixed}, "dtype policy 'mixed_float16'"),
        "kernel_shape": ({"weights": h5_with((5, 12))}, r"expected float array of shape"),
        "weights_not_hdf5": ({"weights": b"not hdf5"}, "Keras file"),
        "config_not_json": ({"config": None, "raw_config": b"{"}, "JSONDecodeError"),
    }


@pytest.mark.parametrize("case", sorted(crafted()))
def test_crafted_keras_files(case, tmp_path):
    spec, pattern = crafted()[case]
    path = tmp_path / f"{case}.keras"
    if "raw_config" in spec:
        rewrite(DATA / "functional_chain.keras", path)
        with zipfile.ZipFile(path) as zf:
            items = {n: zf.read(n) for n in zf.namelist()}
        items["config.json"] = spec["raw_config"]
        with zipfile.ZipFile(path, "w") as zf:
            for n, blob in items.items():
                zf.writestr(n, blob)
    else:
        rewrite(DATA / "functional_chain.keras", path, spec.get("config"), spec.get("weights"))
    with pytest.raises(fastnn.ModelFileError, match=pattern):
        fastnn.load_model(path)


def test_compile_settings_are_not_silently_dropped(tmp_path):
    cfg = base_config()
    cfg["compile_config"] = {"optimizer": "adam", "loss": "mse"}
    rewrite(DATA / "functional_chain.keras", tmp_path / "c.keras", cfg)
    with pytest.warns(UserWarning, match="compile settings"):
        fastnn.load_model(tmp_path / "c.keras")
    fastnn.load_model(tmp_path / "c.keras", compile=False)  # asked for none: no warning


def test_normalization_layers_fastnn_cannot_run_are_refused(tmp_path):
    """Keras settings fastnn lacks, and a file whose variances are negative."""
    with zipfile.ZipFile(DATA / "sequential_batchnorm.keras") as zf:
        config = json.loads(zf.read("config.json"))
        weights = zf.read("model.weights.h5")
    cases = [("synchronized", True, "synchronized=True is not supported"),
             ("renorm", True, "renorm=True is not supported"),
             ("axis", 0, "over axis 0"),
             ("gamma_constraint", {"class_name": "NonNeg", "config": {}},
              "gamma_constraint .* is not supported"),
             ("momentum", 2.0, "momentum 2.0")]
    for key, value, pattern in cases:
        cfg = json.loads(json.dumps(config))
        cfg["config"]["layers"][2]["config"][key] = value
        rewrite(DATA / "sequential_batchnorm.keras", tmp_path / "bad.keras", config=cfg)
        with pytest.raises(fastnn.ModelFileError, match=pattern):
            fastnn.load_model(tmp_path / "bad.keras")
    buf = io.BytesIO()
    with h5py.File(io.BytesIO(weights)) as src, h5py.File(buf, "w") as dst:
        for name in ("layers/dense/vars/0", "layers/dense/vars/1"):
            dst[name] = src[name][()]
        def copy(path, obj):
            if isinstance(obj, h5py.Dataset) and path not in dst:
                dst[path] = -np.abs(obj[()]) if path.endswith(
                    "batch_normalization/vars/3") else obj[()]
        src.visititems(copy)
    rewrite(DATA / "sequential_batchnorm.keras", tmp_path / "neg.keras",
            weights=buf.getvalue())
    with pytest.raises(fastnn.ModelFileError, match="negative variance"):
        fastnn.load_model(tmp_path / "neg.keras")
