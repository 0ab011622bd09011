"""Single-sample predict beside the floor: the cost of calling into C at all.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 1 python benchmarks/bench_latency.py

Rows (best of 7 timeit windows, per call, float32, one row already in the
model's dtype):

* floor: a no-op call into a compiled extension from Python — ``_core.get_isa()``
  (a Cython function returning a constant) and, for scale, ``math.floor(0.5)``;
* ``_core.predict_fast(net, x)``: fastnn's C entry (checks, read guard, forward);
* ``model.predict(x)``: the public call (one attribute read more, then the above);

for the 2-16-16-1 tanh net and the 784-256-128-10 relu net.
"""
from __future__ import annotations

import math
import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn._kernels import _core  # noqa: E402
from fastnn.layers import Dense  # noqa: E402


def per_call(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e9  # ns


def main():
    floor = per_call(_core.get_isa, 200_000)
    print(f"floor: no-op extension call _core.get_isa() {floor:.0f} ns; "
          f"math.floor(0.5) {per_call(lambda: math.floor(0.5), 200_000):.0f} ns "
          "(both include timeit's lambda/call overhead where shown)")
    for sizes, act in (((2, 16, 16, 1), "tanh"), ((784, 256, 128, 10), "relu")):
        model = fastnn.Sequential([fastnn.Input(shape=(sizes[0],))] +
                                  [Dense(u, activation=act) for u in sizes[1:]], seed=0)
        model.build()
        x = np.ones((1, sizes[0]), np.float32)
        number = 100_000 if sizes[0] == 2 else 5_000
        fast = per_call(lambda: _core.predict_fast(model._net, x), number)
        public = per_call(lambda: model.predict(x), number)
        name = "-".join(map(str, sizes))
        print(f"{name:18} _core.predict_fast {fast:8.0f} ns   model.predict {public:8.0f} ns"
              f"   = {public / floor:.1f} x the no-op call")
    print("command: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 1 python "
          "benchmarks/bench_latency.py")


if __name__ == "__main__":
    main()
