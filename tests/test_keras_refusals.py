"""Every Keras idiom fastnn refuses (tools/keras_refusals.py, whose table the README's
Keras section summarizes) is refused early with an exception that says what fastnn
runs instead — none is accepted, none fails with a bare Python error."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import ModelFileError

TOOL = Path(__file__).resolve().parent.parent / "tools" / "keras_refusals.py"
spec = importlib.util.spec_from_file_location("keras_refusals", TOOL)
refusals = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refusals)
BARE = ("got an unexpected keyword argument", "object has no attribute",
        "is not callable", "KeyError")
# refused by Python's own argument check or attribute lookup, before any fastnn code:
# clear about the name, silent about what fastnn has instead (the report lists them)
PYTHON_ONLY = {"`compile(distribute=...)` (TF 2 Keras)", "`model.stateless_call(...)`"}


@pytest.mark.parametrize("idiom,func", refusals.IDIOMS, ids=[i for i, _ in refusals.IDIOMS])
def test_the_idiom_is_refused_with_a_message_that_says_why(idiom, func):
    where, kind, message = refusals.run(func)
    assert kind is not None, f"{idiom} was accepted"
    assert kind in ("TypeError", "ValueError", "ImportError", "AttributeError",
                    "KerasFileError", "ModelFileError"), (kind, message)
    if idiom in PYTHON_ONLY:
        return
    assert where != "(Python, before any fastnn code)", (idiom, message)
    assert not any(b in message for b in BARE), message
    # it says what is expected or what fastnn runs instead
    assert any(w in message.lower() for w in ("fastnn", "expected", "must", "keras")), message


@pytest.mark.parametrize("idiom,func", refusals.ACCEPTED, ids=[i for i, _ in refusals.ACCEPTED])
def test_the_settings_that_change_nothing_are_accepted(idiom, func):
    assert refusals.run(func)[1] is None, idiom


def _small():
    return fastnn.Sequential([fastnn.Input(shape=(4,)), fastnn.layers.Dense(1)])


@pytest.mark.parametrize("base", [fastnn.optimizers.Optimizer, fastnn.optimizers.Adam])
def test_an_optimizer_subclass_is_refused_at_compile_not_run_as_its_base(base):
    class Mine(base):
        def update_step(self, gradient, variable, learning_rate):
            pass
    model = _small()
    with pytest.raises(TypeError, match=r"Mine is a custom Optimizer class.*"
                                        r"Supported optimizers: \[.*'adam'"):
        model.compile(optimizer=Mine(learning_rate=0.1), loss="mse")
    assert model.optimizer is None  # nothing half-set


@pytest.mark.parametrize("cls,kwargs", [(fastnn.optimizers.Adam, {"amsgrad": True}),
                                        (fastnn.optimizers.SGD, {"use_ema": True}),
                                        (fastnn.optimizers.Adam, {"weight_decay": 0.1})])
def test_an_optimizer_option_fastnn_lacks_is_named_with_the_accepted_ones(cls, kwargs):
    with pytest.raises(TypeError) as info:
        cls(**kwargs)
    message = str(info.value)
    assert f"has no {next(iter(kwargs))}" in message
    assert "learning_rate" in message and "clipnorm" in message


@pytest.mark.parametrize("module,name", [(fastnn.layers, "Dot"),
                                         (fastnn.layers, "RandomFlip"),
                                         (fastnn.layers, "RMSNormalization"),
                                         (fastnn.optimizers, "Lion"),
                                         (fastnn.optimizers, "Ftrl"),
                                         (fastnn.mixed_precision, "LossScaleOptimizer")])
def test_a_keras_name_fastnn_lacks_says_so_on_import(module, name):
    with pytest.raises(ImportError, match=f"has no {name}: fastnn"):
        getattr(module, name)
    with pytest.raises(AttributeError):  # a name Keras does not have either: Python's error
        getattr(module, "NoSuchName")


def test_keras_distribution_says_fastnn_has_none():
    with pytest.raises(AttributeError, match="no device or data-parallel distribution"):
        fastnn.distribution


def _h5py():
    return pytest.importorskip("h5py")


def test_a_legacy_keras_h5_model_file_is_named_as_such(tmp_path):
    h5py = _h5py()
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = '{"class_name": "Sequential", "config": {}}'
    with pytest.raises(ModelFileError, match=r"legacy \.h5 model format.*save it as \.keras"):
        fastnn.models.load_model(path)


def test_legacy_keras_h5_weights_are_named_as_such(tmp_path):
    h5py = _h5py()
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        g = f.create_group("dense")
        g.create_dataset("dense/kernel:0", data=np.zeros((4, 1)))
        g.create_dataset("dense/bias:0", data=np.zeros(1))
    model = _small()
    before = model.get_weights()
    with pytest.raises(ModelFileError, match=r"not Keras 3's \.weights\.h5 layout.*legacy"):
        model.load_weights(path)
    assert all((a == b).all() for a, b in zip(before, model.get_weights()))


def _compiled():
    model = _small()
    model.compile(optimizer="sgd", loss="mse")
    return model


_X = np.random.default_rng(1).standard_normal((16, 4)).astype(np.float32)
_Y = _X[:, 0].copy()


def test_validation_freq_other_than_1_is_refused_before_training():
    model = _compiled()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"validates after every epoch.*validation_freq=1"
                                         r".*Received: validation_freq=2"):
        model.fit(_X, _Y, validation_split=0.25, validation_freq=2, verbose=0)
    assert all((a == b).all() for a, b in zip(before, model.get_weights()))


def test_validation_batch_size_changes_nothing_and_is_checked():
    a, b = _compiled(), _compiled()
    b.set_weights(a.get_weights())
    ha = a.fit(_X, _Y, validation_split=0.25, epochs=2, shuffle=False, verbose=0)
    hb = b.fit(_X, _Y, validation_split=0.25, epochs=2, shuffle=False, verbose=0,
               validation_batch_size=3)
    assert ha.history == hb.history
    with pytest.raises(ValueError, match="validation_batch_size"):
        _compiled().fit(_X, _Y, validation_split=0.25, validation_batch_size=0, verbose=0)


@pytest.mark.parametrize("fmt", ["tf", "h5", "keras"])
def test_save_format_is_refused_and_nothing_is_written(tmp_path, fmt):
    path = tmp_path / "model"
    with pytest.raises(ValueError, match=r"picks the format from the file name.*"
                                         r"Expected save_format=None"):
        _compiled().save(path, save_format=fmt)
    assert not path.exists()


def test_an_unbatched_dataset_says_to_batch_it():
    model = _compiled()
    with pytest.raises(ValueError, match=r"one sample, not a batch.*dataset\.batch"):
        model.fit(iter(list(zip(_X, _Y))), epochs=1, verbose=0)


def test_activity_regularizer_refusal_names_what_fastnn_regularizes():
    with pytest.raises(ValueError, match=r"no activity regularizers.*penalizes weights only"
                                         r" \(kernel_regularizer, bias_regularizer\)"):
        fastnn.layers.Dense(3, activity_regularizer="l2")
    with pytest.raises(ValueError, match=r"no constraints.*without projecting"):
        fastnn.layers.Dense(3, kernel_constraint="max_norm")
