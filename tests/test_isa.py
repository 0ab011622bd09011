"""The network loops exist twice: portable (baseline) and AVX2+FMA, chosen at
import from the CPU's features.  Both must compute the same network."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn._kernels import _core
from fastnn.layers import Dense, Dropout

ISAS = _core.available_isas()


def train(isa, dtype):
    previous = _core.set_isa(isa)
    try:
        X, y = fastnn.datasets.make_spiral(256, noise=0.05, seed=0)
        m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(40, activation="tanh"),
                               Dropout(0.1), Dense(40, activation="relu"),
                               Dense(2, activation="softmax")], dtype=dtype, seed=3)
        m.compile(fastnn.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
        h = m.fit(X / 5, y, epochs=5, batch_size=32, verbose=0)
        return h.history["loss"], m.predict(X / 5), m.evaluate(X / 5, y, verbose=0)
    finally:
        _core.set_isa(previous)


def test_baseline_always_available_and_selectable():
    assert "baseline" in ISAS and _core.get_isa() in ISAS
    with pytest.raises(ValueError, match="expected one of"):
        _core.set_isa("avx512")


@pytest.mark.skipif(len(ISAS) < 2, reason="this CPU has no AVX2+FMA")
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-9), ("float32", 1e-3)])
def test_isas_train_the_same_network(dtype, rtol):
    """FMA rounds once where the baseline rounds twice, so results agree to
    rounding: 5 epochs of Adam keep float64 within 1e-9 and float32 within 1e-3
    (T7: training amplifies float32 rounding differences)."""
    (l0, p0, e0), (l1, p1, e1) = (train(isa, dtype) for isa in ("baseline", "avx2"))
    np.testing.assert_allclose(l1, l0, rtol=rtol)
    np.testing.assert_allclose(p1, p0, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(e1, e0, rtol=rtol)


def test_environment_forces_baseline():
    code = "from fastnn._kernels import _core; print(_core.get_isa())"
    env = dict(os.environ, FASTNN_ISA="baseline")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "baseline"


def test_info_reports_the_isa(capsys):
    from fastnn.__main__ import main

    main(["info"])
    assert f"instruction set: {_core.get_isa()}" in capsys.readouterr().out
