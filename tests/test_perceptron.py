import numpy as np
import pytest

import fastnn

GATES = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


@pytest.mark.parametrize("name,y", [("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1])])
def test_perceptron_learns_linearly_separable_gates(name, y):
    p = fastnn.Perceptron().fit(GATES, y)
    assert p.converged_ and p.errors_[-1] == 0
    np.testing.assert_array_equal(p.predict(GATES), y)
    # the learned line really separates: z >= 0 exactly for the 1s
    z = p.decision_function(GATES)
    assert ((z >= 0) == np.array(y, bool)).all()


def test_perceptron_cannot_learn_xor():
    with pytest.warns(fastnn.ConvergenceWarning, match="not be linearly separable"):
        p = fastnn.Perceptron(max_epochs=200).fit(GATES, [0, 1, 1, 0])
    assert not p.converged_
    assert min(p.errors_) >= 1  # every epoch misclassifies at least one point
    assert p.score(GATES, [0, 1, 1, 0]) < 1.0
    # no line separates XOR: any (w, b) gets at least one of the four points wrong
    rng = np.random.default_rng(0)
    for w0, w1, b in rng.uniform(-3, 3, (2000, 3)):
        pred = (GATES @ np.array([w0, w1]) + b >= 0).astype(int)
        assert (pred != [0, 1, 1, 0]).any()


def test_mlp_learns_xor_where_the_perceptron_cannot():
    from fastnn.layers import Dense

    y = np.array([0, 1, 1, 0])
    for seed in range(3):
        m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(4, activation="tanh"),
                               Dense(1, activation="sigmoid")], seed=seed)
        m.compile(optimizer=fastnn.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
        h = m.fit(GATES, y, epochs=300, batch_size=4, verbose=0)
        np.testing.assert_array_equal((m.predict(GATES)[:, 0] > 0.5).astype(int), y)
        assert h.history["accuracy"][-1] == 1.0


def test_2_2_1_network_learns_xor_with_sgd_momentum():
    from fastnn.layers import Dense

    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(2, activation="tanh"),
                           Dense(1, activation="sigmoid")], seed=4, dtype="float64")
    m.compile(optimizer=fastnn.optimizers.SGD(0.5, momentum=0.9), loss="binary_crossentropy")
    m.fit(GATES, [0, 1, 1, 0], epochs=500, batch_size=4, verbose=0)
    np.testing.assert_array_equal((m.predict(GATES)[:, 0] > 0.5).astype(int), [0, 1, 1, 0])
