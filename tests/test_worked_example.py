"""A 2-2-1 network worked by hand (T9), so a reader can check every number.

    x = [1, 2], y = 1
    W1 = [[0.1, 0.2],      b1 = [0.1, -0.1]     (kernel rows are inputs, Keras layout)
          [0.3, 0.4]]
    W2 = [[0.5], [-0.5]],  b2 = [0.2]
    hidden relu, output linear, loss mse, SGD(learning_rate=0.1), batch of 1

Forward
    z1 = x·W1 + b1 = [1·0.1 + 2·0.3 + 0.1, 1·0.2 + 2·0.4 − 0.1] = [0.8, 0.9]
    a1 = relu(z1)  = [0.8, 0.9]
    z2 = a1·W2 + b2 = 0.8·0.5 − 0.9·0.5 + 0.2 = 0.15 = a2
    C  = (a2 − y)² = (−0.85)² = 0.7225
Backward
    δ2 = 2 (a2 − y) = −1.7
    ∂C/∂W2 = a1ᵀ δ2 = [[−1.36], [−1.53]],  ∂C/∂b2 = −1.7
    δ1 = (δ2 W2ᵀ) ⊙ relu'(z1) = [−0.85, 0.85]
    ∂C/∂W1 = xᵀ δ1 = [[−0.85, 0.85], [−1.7, 1.7]],  ∂C/∂b1 = [−0.85, 0.85]
Update w ← w − 0.1·∂C/∂w
    W1 = [[0.185, 0.115], [0.47, 0.23]],  b1 = [0.185, −0.185]
    W2 = [[0.636], [−0.347]],             b2 = [0.37]
Prediction after the step
    z1 = [0.185 + 0.94 + 0.185, 0.115 + 0.46 − 0.185] = [1.31, 0.39]
    z2 = 1.31·0.636 − 0.39·0.347 + 0.37 = 0.83316 − 0.13533 + 0.37 = 1.06783
"""
import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense

START = [np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([0.1, -0.1]),
         np.array([[0.5], [-0.5]]), np.array([0.2])]
AFTER = [np.array([[0.185, 0.115], [0.47, 0.23]]), np.array([0.185, -0.185]),
         np.array([[0.636], [-0.347]]), np.array([0.37])]


def model(dtype):
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(2, activation="relu"), Dense(1)],
                          dtype=dtype, seed=0)
    m.compile(optimizer=fastnn.optimizers.SGD(learning_rate=0.1), loss="mse")
    m.set_weights(START)
    return m


@pytest.mark.parametrize("dtype,check", [
    ("float64", lambda a, b: np.testing.assert_almost_equal(a, b, decimal=6)),
    ("float32", lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)),
])
def test_one_sgd_step_by_hand(dtype, check):
    m = model(dtype)
    x, y = np.array([[1.0, 2.0]]), np.array([1.0])
    check(m.predict(x)[0, 0], 0.15)
    h = m.fit(x, y, epochs=1, batch_size=1, shuffle=False, verbose=0)
    check(h.history["loss"][0], 0.7225)  # the loss of the batch, before its update
    for got, want in zip(m.get_weights(), AFTER):
        check(got, want)
    check(m.predict(x)[0, 0], 1.06783)
