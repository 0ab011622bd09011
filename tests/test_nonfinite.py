"""IEEE-faithful NaN: NaN in gives NaN out for every activation and its
derivative, in the C kernels on every ISA and in their NumPy twins, so an overflow
inside a network shows in its output instead of a clean-looking number."""
import numpy as np
import pytest

import fastnn
from fastnn import _reference as ref
from fastnn import activations as A
from fastnn._kernels import _core
from fastnn.layers import Dense

ACTS = sorted(A.ALL_OBJECTS_DICT.items(), key=lambda kv: kv[1])


@pytest.fixture(params=_core.available_isas())
def isa(request):
    previous = _core.set_isa(request.param)
    yield request.param
    _core.set_isa(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,act", ACTS)
def test_nan_in_nan_out_forward_and_backward(isa, name, act, dtype):
    # 19 columns: the vectorised float32 paths see full vectors and a tail
    Z = np.linspace(-3, 3, 2 * 19).astype(dtype).reshape(2, 19)
    Z[0, 3] = Z[1, 17] = np.nan
    Act = np.empty_like(Z)
    _core.act_forward_kernel(act, Z, Act)
    want = ref.act_forward(act, Z)
    nan_rows = [0, 1] if act == A.SOFTMAX else None  # softmax: the whole row
    if nan_rows:
        assert np.isnan(Act).all() and np.isnan(want).all()
    else:
        assert np.array_equal(np.isnan(Act), np.isnan(Z)), name
        assert np.array_equal(np.isnan(want), np.isnan(Z)), name
    G = np.ones_like(Z)
    _core.act_backward_kernel(act, Z, Act, G)
    want_g = ref.act_backward(act, Z, want, np.ones_like(Z))
    if act == A.LINEAR:  # a' = 1: the gradient does not depend on z
        assert not np.isnan(G).any() and not np.isnan(want_g).any()
    else:
        assert np.isnan(G[0, 3]) and np.isnan(G[1, 17]), name
        assert np.array_equal(np.isnan(G), np.isnan(want_g)), name


def overflow_model(act):
    """x = (3e38, 0) → linear layer z = (2·3e38, 2·3e38) = (inf, inf) in float32 →
    Dense(1, act) with kernel (1, −1): z = inf − inf = NaN → act → sigmoid."""
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(2), Dense(1, activation=act),
                           Dense(1, activation="sigmoid")], seed=0)
    m.compile("sgd", "binary_crossentropy")
    m.set_weights([np.array([[2.0, 2.0], [0.0, 0.0]]), np.zeros(2),
                   np.array([[1.0], [-1.0]]), np.zeros(1), np.ones((1, 1)), np.zeros(1)])
    return m


HUGE = np.array([[3e38, 0.0]], np.float32)


@pytest.mark.parametrize("act", ["relu", "step", "sign", "linear", "tanh", "sigmoid"])
def test_overflow_inside_the_network_is_not_a_clean_prediction(act):
    """Before: ReLU (step, sign) turned the NaN into 0 (−1) and the prediction was a
    clean-looking 0.5 (0.27), with no warning."""
    m = overflow_model(act)
    with pytest.warns(RuntimeWarning, match="NaN or infinite outputs"):
        out = m.predict(HUGE)
    assert np.isnan(out).all()
    assert np.isfinite(m.predict(np.array([[0.1, 0.2]], np.float32))).all()  # no warning


def test_nonfinite_training_is_reported_not_hidden():
    m = overflow_model("relu")
    with pytest.raises(fastnn.NonFiniteLossError):
        m.fit(HUGE, np.array([1]), epochs=1, verbose=0)
    assert all(np.isfinite(w).all() for w in m.get_weights())


def test_layer_views_cannot_be_made_writable():
    m = overflow_model("relu")
    layer = m.layers[0]
    for view in (layer.kernel, layer.bias):
        assert not view.flags.writeable
        with pytest.raises(ValueError):
            view.setflags(write=True)
        with pytest.raises(ValueError):
            view[...] = np.nan
    before = m.get_weights()
    m.set_weights([w + 1 for w in before])
    assert np.array_equal(layer.kernel, before[0] + 1)  # still a live view
