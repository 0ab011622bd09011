"""Learning-rate schedules: Keras's formulas, evaluated per
optimizer step inside the C loop — checked against the Python formula at every
step of a run — saved and resumed exactly, and never a Python call per batch."""
import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense
from fastnn.optimizers import schedules

from ._resume import straight_and_saved_half

SCHEDULES = [
    schedules.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5),
    schedules.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True),
    schedules.InverseTimeDecay(0.1, decay_steps=3, decay_rate=2.0),
    schedules.PiecewiseConstantDecay([4, 10], [0.1, 0.05, 0.01]),
    schedules.PolynomialDecay(0.1, decay_steps=12, end_learning_rate=0.01, power=2.0),
    schedules.PolynomialDecay(0.1, decay_steps=7, cycle=True),
    schedules.CosineDecay(0.01, decay_steps=10, alpha=0.1, warmup_target=0.1, warmup_steps=4),
    # no warmup_target: Keras skips the warm-up (this once crashed on None − float)
    schedules.CosineDecay(0.05, decay_steps=10, alpha=0.1, warmup_steps=4),
]


def keras_reference(schedule, step):
    """Keras's documented formulas, written out again here."""
    c = schedule.get_config()
    name = type(schedule).__name__
    if name == "ExponentialDecay":
        p = step / c["decay_steps"]
        return c["initial_learning_rate"] * c["decay_rate"] ** (np.floor(p) if c["staircase"]
                                                                else p)
    if name == "InverseTimeDecay":
        return c["initial_learning_rate"] / (1 + c["decay_rate"] * step / c["decay_steps"])
    if name == "PiecewiseConstantDecay":
        return c["values"][int(np.searchsorted(c["boundaries"], step, side="left"))]
    if name == "PolynomialDecay":
        steps = c["decay_steps"]
        if c["cycle"]:
            steps *= max(1, np.ceil(step / steps))
        s = min(step, steps)
        return (c["initial_learning_rate"] - c["end_learning_rate"]) * \
            (1 - s / steps) ** c["power"] + c["end_learning_rate"]
    if c["warmup_target"] is None:  # no warm-up at all
        peak, warm = c["initial_learning_rate"], 0
    else:
        peak, warm = c["warmup_target"], c["warmup_steps"]
    if step < warm:
        return c["initial_learning_rate"] + (peak - c["initial_learning_rate"]) * step / warm
    s = min(step - warm, c["decay_steps"])
    return peak * ((1 - c["alpha"]) * 0.5 * (1 + np.cos(np.pi * s / c["decay_steps"]))
                   + c["alpha"])


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: repr(s)[:40])
def test_schedule_runs_in_the_c_loop_per_step(schedule):
    """Plain SGD on w with a constant gradient: w moves by exactly lr(step)·g at every
    step, so the weight trajectory reveals the rate C used at each step."""
    for step in range(20):
        assert schedule(step) == pytest.approx(keras_reference(schedule, step), rel=1e-12)
    m = fastnn.Sequential([fastnn.Input(shape=(1,)), Dense(1, use_bias=False)], dtype="float64",
                          seed=0)
    m.compile(fastnn.optimizers.SGD(schedule), "mse")
    m.set_weights([np.array([[0.0]])])
    X, y = np.array([[1.0]]), np.array([[1e6]])   # gradient ≈ −2e6, nearly constant
    moves = []
    for _ in range(16):
        before = m.get_weights()[0][0, 0]
        m.fit(X, y, epochs=1, verbose=0)
        moves.append(m.get_weights()[0][0, 0] - before)
    want = [2 * (1e6 - w) * schedule(k) for k, w in enumerate(np.cumsum([0.0] + moves[:-1]))]
    np.testing.assert_allclose(moves, want, rtol=1e-10)
    assert m.optimizer.learning_rate == pytest.approx(schedule(16))
    # 16 steps in one C call: the same trajectory, so the rate changed inside the call
    m2 = fastnn.Sequential([fastnn.Input(shape=(1,)), Dense(1, use_bias=False)],
                           dtype="float64", seed=0)
    m2.compile(fastnn.optimizers.SGD(schedule), "mse")
    m2.set_weights([np.array([[0.0]])])
    m2.fit(np.ones((16, 1)), np.full((16, 1), 1e6), batch_size=1, epochs=1, shuffle=False,
           verbose=0)
    w = 0.0
    for k in range(16):
        w += 2 * (1e6 - w) * schedule(k)
    assert m2.get_weights()[0][0, 0] == pytest.approx(w, rel=1e-10)


def test_schedules_with_many_steps_per_call_and_resume(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((256, 3)), rng.integers(0, 2, 256)

    def make():
        m = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(8, activation="tanh"),
                               Dense(1, activation="sigmoid")], seed=1)
        m.compile(fastnn.optimizers.Adam(schedules.CosineDecay(1e-3, 40, warmup_target=0.05,
                                                               warmup_steps=10)),
                  "binary_crossentropy")
        return m

    one, _, again = straight_and_saved_half(make, X, y, 6, tmp_path / "m.fastnn",
                                            batch_size=16)
    assert isinstance(again.optimizer._schedule, schedules.CosineDecay)
    again.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(one.get_weights(), again.get_weights()))


def test_schedule_rules():
    opt = fastnn.optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="cannot be set"):
        opt.learning_rate = 0.01
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="len\\(values\\)"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1])
    with pytest.warns(UserWarning, match="Python function"):
        fn_opt = fastnn.optimizers.SGD(lambda step: 0.1 / (1 + step))
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(1)], seed=0)
    m.compile(fn_opt, "mse")
    m.fit(np.ones((8, 2)), np.ones(8), batch_size=2, epochs=2, verbose=0)
    assert fn_opt.learning_rate == pytest.approx(0.1 / 9)
    with pytest.raises(ValueError, match="Python function"):
        m.save("never-written.fastnn")
    restored = fastnn.optimizers.get(fastnn.optimizers.serialize(opt))
    assert isinstance(restored._schedule, schedules.ExponentialDecay)
