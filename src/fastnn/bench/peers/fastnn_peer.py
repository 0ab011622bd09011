"""fastnn itself, used as its users would: ``Sequential`` + ``compile`` + ``fit``."""
from __future__ import annotations

import numpy as np

NOTES = {"fastnn": "Sequential.fit(x, y, batch_size, epochs=k, shuffle=True, verbose=0): one "
                   "call per window (the batch loop runs in C); predict(x); bf16 cases: "
                   "every Dense(..., dtype='mixed_bfloat16'); int8 cases: "
                   "fastnn.quantize(model).predict(x)"}


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
    info = blas_pools()
    info.append({"note": f"fastnn: mixed_bfloat16 products by {fastnn.mixed_precision.kernel()}, "
                         f"int8 products by {fastnn.quantization.kernel()}"})
    return {"versions": {"fastnn": fastnn.__version__, "numpy": np.__version__,
                         "scipy": scipy.__version__},
            "isa": str(_core.get_isa()), "blas": info}


def build(net, weights, seed=0, precision="float32"):
    """The suite's net with its initial weights, compiled; precision "bf16": every
    Dense layer under the mixed_bfloat16 policy (int8 models are quantized from the
    float32 one: see predictor)."""
    import fastnn

    policy = "mixed_bfloat16" if precision == "bf16" else "float32"
    layers = [fastnn.Input(shape=(net.sizes[0],))]
    layers += [fastnn.layers.Dense(n, activation=a, dtype=policy)
               for n, a in zip(net.sizes[1:], net.acts)]
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
        if case.precision == "int8":
            raise ValueError("int8 models are for inference (fastnn.quantize)")
        self.model = build(net, weights, seed, case.precision)
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
    model = build(net, weights, precision=case.precision)
    if case.precision == "int8":
        import fastnn

        model = fastnn.quantize(model)
    predict = model.predict
    return lambda: predict(x)
