"""fastnn itself, used as its users would: ``Sequential`` + ``compile`` + ``fit``."""
from __future__ import annotations

import numpy as np

NOTES = {"fastnn": "Sequential.fit(x, y, batch_size, epochs=k, shuffle=True, verbose=0): one "
                   "call per window (the batch loop runs in C); predict(x)"}


def unsupported(peer, case):
    if case.kind == "peak":
        return "measured by the sgemm probe"
    return None


def setup(peer, threads):
    import scipy

    import fastnn
    from fastnn._kernels import _core

    from ..machine import blas_pools

    try:
        fastnn.set_num_threads(threads)
    except ImportError:  # threadpoolctl missing: the environment variables did it
        pass
    return {"versions": {"fastnn": fastnn.__version__, "numpy": np.__version__,
                         "scipy": scipy.__version__},
            "isa": str(_core.get_isa()), "blas": blas_pools()}


def build(net, weights, seed=0):
    import fastnn

    layers = [fastnn.Input(shape=(net.sizes[0],))]
    layers += [fastnn.layers.Dense(n, activation=a) for n, a in zip(net.sizes[1:], net.acts)]
    model = fastnn.Sequential(layers, dtype="float32", seed=seed)
    if net.optimizer[0] == "sgd":
        opt = fastnn.optimizers.SGD(net.optimizer[1], momentum=net.optimizer[2])
    else:
        opt = fastnn.optimizers.Adam(net.optimizer[1])
    model.compile(optimizer=opt, loss=net.loss)
    model.set_weights(weights)
    return model


class Trainer:
    def __init__(self, case, net, data, weights, seed):
        self.model = build(net, weights, seed)
        self.X, self.y, self.batch = data["X"], data["y"], case.batch

    def train(self, epochs):
        self.model.fit(self.X, self.y, batch_size=self.batch, epochs=epochs, verbose=0,
                       shuffle=True)

    def predict(self, X):
        return self.model.predict(X)


def trainer(peer, case, net, data, weights, seed):
    return Trainer(case, net, data, weights, seed)


def predictor(peer, case, net, weights, x):
    if case.kind == "noop":
        from fastnn._kernels import _core

        return _core.get_isa
    model = build(net, weights)
    predict = model.predict
    return lambda: predict(x)
