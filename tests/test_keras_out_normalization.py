"""Keras files out for the normalization layers (BatchNormalization, LayerNormalization,
Normalization, UnitNormalization): fastnn/interop/keras_out.py.

Checked as tests/test_keras_out.py checks the Dense layers:
* real Keras's verdict: tests/data/make_keras_out_fixtures.py saved two fastnn models
  with every normalization layer (norms_adam, norm_given_sgd) and stored what Keras
  3.15 predicted from them and which optimizer variables it restored; the
  parametrized tests of test_keras_out.py compare fastnn with those values;
* Keras's own files: a real Keras file read by fastnn and written again has the
  structure of the original (config keys and values, HDF5 paths, shapes) and the same
  weights;
* fastnn -> .keras -> fastnn: the same predictions, and training resumes to the same
  bits (optimizer slots, moving statistics, step count and random streams).
"""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import layers as fl
from tests._needs import needs

h5py = needs("h5py")
DATA = os.path.join(os.path.dirname(__file__), "data")
NORM_KEYS = ("axis", "epsilon", "center", "scale", "momentum", "invert", "mean",
             "variance", "rms_scaling", "synchronized", "renorm", "renorm_momentum",
             "beta_initializer", "gamma_initializer", "moving_mean_initializer",
             "moving_variance_initializer", "beta_regularizer", "gamma_regularizer")


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _h5(data):
    out = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(
            obj, h5py.Dataset) else None)
    return out


def _strip(obj):
    """A config without the ids Keras adds for shared objects."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k != "shared_object_id"}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


@pytest.mark.parametrize("fixture", ["sequential_normalizations", "sequential_batchnorm",
                                     "normalization_given"])
def test_a_real_keras_file_comes_back_out_as_keras_wrote_it(fixture, tmp_path):
    real = _members(os.path.join(DATA, f"{fixture}.keras"))
    model = fastnn.load_model(os.path.join(DATA, f"{fixture}.keras"))
    model.save(tmp_path / "again.keras")
    ours = _members(tmp_path / "again.keras")
    r = json.loads(real["config.json"])["config"]["layers"]
    o = json.loads(ours["config.json"])["config"]["layers"]
    assert [l["class_name"] for l in r] == [l["class_name"] for l in o]
    for lr, lo in zip(r, o):
        if "Normalization" not in lr["class_name"]:
            continue
        # every key Keras wrote is there (the ones only recent Keras knows aside)
        assert set(lr["config"]) - {"quantization_config"} == set(lo["config"]), \
            lr["class_name"]
        for key in NORM_KEYS:
            if key in lr["config"]:
                assert _strip(lo["config"][key]) == _strip(lr["config"][key]), (
                    lr["class_name"], key)
        assert ("build_config" in lr) == ("build_config" in lo)
    hr, ho = _h5(real["model.weights.h5"]), _h5(ours["model.weights.h5"])
    layers_r = {k: v for k, v in hr.items() if k.startswith("layers/")}
    layers_o = {k: v for k, v in ho.items() if k.startswith("layers/")}
    assert layers_r.keys() == layers_o.keys()
    for key, value in layers_r.items():
        assert layers_o[key].dtype == value.dtype, key  # the count stays an int32
        np.testing.assert_array_equal(layers_o[key], value)


def _data(n_in=6, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((96, n_in)) * 2.0 + 0.5).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 1.0).astype(np.int64) + (x[:, 2] > 0.5)


LAYERS = {
    "batchnorm": lambda: [fl.BatchNormalization()],
    "batchnorm_options": lambda: [fl.BatchNormalization(
        center=False, momentum=0.8, epsilon=0.01, gamma_regularizer=fastnn.regularizers.l2(1e-3),
        moving_variance_initializer="ones")],
    "batchnorm_no_scale": lambda: [fl.BatchNormalization(scale=False)],
    "layernorm": lambda: [fl.LayerNormalization(beta_regularizer=fastnn.regularizers.l1(1e-3))],
    "layernorm_no_center": lambda: [fl.LayerNormalization(center=False, epsilon=1e-5)],
    "unitnorm": lambda: [fl.UnitNormalization()],
}


@pytest.mark.parametrize("opt", [fastnn.optimizers.Adam(0.01),
                                 fastnn.optimizers.RMSprop(0.01, momentum=0.5),
                                 fastnn.optimizers.SGD(0.05, momentum=0.9)],
                         ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_round_trip_predicts_and_resumes_exactly(kind, opt, tmp_path):
    x, y = _data()
    norm = fl.Normalization()
    norm.adapt(x)
    m = fastnn.Sequential([fastnn.Input(shape=(6,)), norm, fl.Dense(10, activation="relu"),
                           *LAYERS[kind](), fl.Dense(3, activation="softmax")], seed=5)
    m.compile(fastnn.optimizers.get(fastnn.optimizers.serialize(opt)),
              "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "m.keras"
    m.save(path)
    back = fastnn.load_model(path)
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert back.optimizer.iterations == m.optimizer.iterations
    # the same optimizer state: written again, every Keras variable (the layers' and
    # the optimizer's: iteration, learning rate, slots) is the same array
    back.save(tmp_path / "again.keras")
    first = _h5(_members(path)["model.weights.h5"])
    again = _h5(_members(tmp_path / "again.keras")["model.weights.h5"])
    assert first.keys() == again.keys()
    assert any(k.startswith("optimizer/vars/") for k in first)
    for key, value in first.items():
        assert again[key].dtype == value.dtype, key
        np.testing.assert_array_equal(again[key], value, err_msg=key)
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    back.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_given_normalization_has_no_keras_variables_and_comes_back(tmp_path):
    m = fastnn.Sequential([fastnn.Input(shape=(3,)),
                           fl.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 1.0]),
                           fl.Dense(2)], seed=3)
    m.build()
    m.save(tmp_path / "m.keras")
    h5 = _h5(_members(tmp_path / "m.keras")["model.weights.h5"])
    assert sorted(h5) == ["layers/dense/vars/0", "layers/dense/vars/1"]
    x = np.random.default_rng(1).standard_normal((8, 3))
    np.testing.assert_array_equal(fastnn.load_model(tmp_path / "m.keras").predict(x),
                                  m.predict(x))


def test_what_keras_cannot_hold_is_refused_before_writing(tmp_path):
    x, _ = _data(4)
    norm = fl.Normalization(axis=None)
    norm.adapt(x)
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), norm, fl.Dense(2)], seed=1)
    m.build()
    path = tmp_path / "m.keras"
    with pytest.raises(fastnn.errors.KerasFileError, match="axis=None.*Keras keeps scalars"):
        m.save(path)
    assert not path.exists()
    m.save(tmp_path / "m.fastnn")  # fastnn's own file holds it
    norm = fl.Normalization()
    m = fastnn.Sequential([fastnn.Input(shape=(4,)), norm, fl.Dense(2)], seed=1)
    norm.adapt(x)
    norm.weights[2].assign(7.0)  # Keras's count: 0 in every Keras 3 file
    with pytest.raises(fastnn.errors.KerasFileError, match="count 7.0; Keras 3 keeps 0"):
        m.save(path)
    assert not path.exists()


def _norm_model(seed):
    x, y = _data()
    norm = fl.Normalization()
    norm.adapt(x)
    m = fastnn.Sequential([fastnn.Input(shape=(6,)), norm, fl.Dense(8, activation="relu"),
                           fl.BatchNormalization(center=False), fl.Dense(5),
                           fl.LayerNormalization(), fl.UnitNormalization(),
                           fl.BatchNormalization(scale=False), fl.Dense(3)], seed=seed)
    m.compile("adam", "mse")
    return m, x, y


def test_save_weights_h5_with_normalizations_loads_back(tmp_path):
    m, x, y = _norm_model(5)
    m.fit(x, np.eye(3)[y], epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "w.weights.h5"
    m.save_weights(path)
    with h5py.File(path, "r") as f:  # Keras's groups, numbered by class in layer order
        for group, n in [("normalization", 3), ("dense", 2), ("batch_normalization", 3),
                         ("dense_1", 2), ("layer_normalization", 2),
                         ("unit_normalization", 0), ("batch_normalization_1", 3),
                         ("dense_2", 2)]:
            assert sorted(f[f"layers/{group}/vars"]) == [str(i) for i in range(n)], group
        assert f["layers/normalization/vars/2"].dtype == np.int32
    other, _, _ = _norm_model(9)  # other initial weights and moving statistics
    other.build()
    assert not np.array_equal(other.predict(x), m.predict(x))
    other.load_weights(path)
    for a, b in zip(other.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(other.predict(x), m.predict(x))


def test_a_real_keras_weights_file_with_normalizations_loads(tmp_path):
    """The layers' part of a Keras-written model.weights.h5 is Keras's save_weights
    file: fastnn's model of the same fixture takes its weights back from it."""
    fixture = os.path.join(DATA, "sequential_normalizations.keras")
    model = fastnn.load_model(fixture)
    expected = model.get_weights()
    path = tmp_path / "keras.weights.h5"
    path.write_bytes(_members(fixture)["model.weights.h5"])
    model.set_weights([w + 1.0 for w in expected])
    model.load_weights(path)
    assert len(model.get_weights()) == len(expected) > 2 * len(model.dense_layers)
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


def test_a_weights_file_that_does_not_fit_the_normalizations_is_refused(tmp_path):
    m, x, _ = _norm_model(5)
    m.build()
    good = tmp_path / "w.weights.h5"
    m.save_weights(good)
    before = m.get_weights()
    def drop(f):
        del f["layers/batch_normalization/vars/1"]

    def weights_in_unit_normalization(f):
        f["layers/unit_normalization/vars"].create_dataset("0", data=np.ones(5, np.float32))

    def a_group_of_no_layer(f):
        f.create_group("layers/dense_9/vars").create_dataset("0", data=np.ones(4))

    def short_gamma(f):
        del f["layers/layer_normalization/vars/0"]
        f["layers/layer_normalization/vars"].create_dataset("0", data=np.ones(4, np.float32))

    for what, change in [
            (r"batch_normalization/vars holds weights \['0', '2'\].*needs \['0', '1', '2'\]",
             drop),
            (r"unit_normalization/vars holds weights \['0'\]", weights_in_unit_normalization),
            (r"no layer for: \['layers/dense_9/vars/0'\]", a_group_of_no_layer),
            (r"layer_normalization/vars/0'.*shape \(5,\), found shape \(4,\)", short_gamma)]:
        bad = tmp_path / "bad.weights.h5"
        bad.write_bytes(good.read_bytes())
        with h5py.File(bad, "r+") as f:
            change(f)
        with pytest.raises(fastnn.errors.ModelFileError, match=what):
            m.load_weights(bad)
        for a, b in zip(m.get_weights(), before):  # nothing was written
            np.testing.assert_array_equal(a, b)


def test_keras_loaded_fastnns_normalization_weights_file():
    """tests/data/make_keras_out_fixtures.py saved the norms_adam model with
    save_weights("norms.weights.h5") and real Keras 3.15 (JAX) loaded it with
    load_weights into a Keras Sequential built alike, silently, and predicted
    norms_weights_y; fastnn's model of the same architecture with other initial weights
    takes the file and predicts that.  The file holds the variables norms_adam.keras
    holds (the layers' part of its model.weights.h5)."""
    written = os.path.join(DATA, "fastnn_written")
    expected = np.load(os.path.join(DATA, "keras_out_expected.npz"))
    wpath = os.path.join(written, "norms.weights.h5")
    with open(wpath, "rb") as f:
        mine = _h5(f.read())
    keras_file = _h5(_members(os.path.join(written, "norms_adam.keras"))["model.weights.h5"])
    layers = {k: v for k, v in keras_file.items() if k.startswith("layers/")}
    assert layers.keys() == mine.keys()
    for key, value in layers.items():
        assert mine[key].dtype == value.dtype, key
        np.testing.assert_array_equal(mine[key], value, err_msg=key)
    saved = fastnn.load_model(os.path.join(written, "norms_adam.keras"))
    fresh = fastnn.Sequential.from_config(saved.get_config())
    fresh.build()
    x = expected["norms_adam_x"]
    assert not np.allclose(fresh.predict(x), expected["norms_weights_y"])
    fresh.load_weights(wpath)
    assert str(expected["norms_weights_warnings"]) == ""  # Keras loaded it silently
    # float32 on both sides, products summed in different orders: ~1e-7 relative per
    # layer over 8 layers, as test_keras_out's bound for the .keras files
    np.testing.assert_allclose(fresh.predict(x), expected["norms_weights_y"],
                               rtol=2e-5, atol=2e-6)
    np.testing.assert_array_equal(fresh.predict(x), saved.predict(x))


@pytest.mark.parametrize("member, value, error, what", [
    ("layers/batch_normalization/vars/2", -1.0, ValueError, "negative variance"),
    ("layers/normalization/vars/1", -1.0, ValueError, "negative variance"),
    ("layers/batch_normalization/vars/1", np.nan, fastnn.errors.ModelFileError,
     "NaN or infinite")])
def test_a_weights_file_with_impossible_statistics_is_refused(member, value, error, what,
                                                              tmp_path):
    m, x, _ = _norm_model(5)
    m.build()
    path = tmp_path / "w.weights.h5"
    m.save_weights(path)
    with h5py.File(path, "r+") as f:
        f[member][...] = value
    before = m.get_weights()
    with pytest.raises(error, match=what):
        m.load_weights(path)
    for a, b in zip(m.get_weights(), before):
        np.testing.assert_array_equal(a, b)
