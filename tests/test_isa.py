"""The kernels exist three times: portable (baseline), AVX2+FMA and AVX-512,
chosen at import from the CPU's features.  Every level the CPU has must compute
the same network as the baseline; a level it lacks is skipped, with the reason."""
import os
import platform
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import fastnn
from fastnn._kernels import _core
from fastnn.layers import Dense, Dropout

pytestmark = pytest.mark.slow  # starts Python processes

ISAS = _core.available_isas()
HIGHER = [name for name in _core.ISAS if name != "baseline"]


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


def test_levels_names_and_set_isa():
    assert _core.ISAS == ("baseline", "avx2", "avx512")
    assert ISAS == _core.ISAS[:len(ISAS)]  # baseline first, no level skipped
    assert _core.get_isa() in ISAS
    with pytest.raises(ValueError, match="expected one of"):
        _core.set_isa("avx1024")
    before = _core.get_isa()
    for name in ISAS:
        previous = _core.set_isa(name)
        assert _core.get_isa() == name
        assert _core.set_isa(previous) == name
    assert _core.get_isa() == before


@pytest.mark.parametrize("isa", HIGHER)
def test_a_level_the_cpu_lacks_is_refused(isa):
    if isa in ISAS:
        pytest.skip(f"this CPU runs {isa}: nothing to refuse")
    before = _core.get_isa()
    with pytest.raises(ValueError, match="cannot run"):
        _core.set_isa(isa)
    assert _core.get_isa() == before


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"
                         and "gcc" in (sysconfig.get_config_var("CC") or "")),
                    reason="needs Linux /proc/cpuinfo on x86-64 and a GCC build (elsewhere "
                           "the levels are compiled without their targets and never offered)")
def test_detection_agrees_with_the_kernel():
    """Linux lists avx2/avx512* in /proc/cpuinfo only where the CPU has them and the
    kernel enabled their register state, the same facts fnn_have_*() read."""
    flags = cpu_flags()
    assert ("avx2" in ISAS) == ({"avx2", "fma"} <= flags)
    assert ("avx512" in ISAS) == ({"avx512f", "avx512vl", "avx512bw", "avx512dq"} <= flags)


@pytest.mark.parametrize("isa", HIGHER)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_isas_train_the_same_network(isa, dtype):
    """5 epochs of Adam on every level against the baseline give the same bits.
    The levels differ only in vector width: no reduction is reordered (the
    dense dot products fix their 8 partial sums in the source), the float32
    exp/tanh/sigmoid compute each lane alone, and GCC contracts no a·b + c into
    an FMA under -std=c11 (csrc/fnn_isa_avx2.c).  Turning contraction on would
    change the last bits: then compare within float64 1e-9, float32 1e-3 (T7)."""
    if isa not in ISAS:
        pytest.skip(f"this CPU cannot run {isa} (available: {', '.join(ISAS)})")
    (l0, p0, e0), (l1, p1, e1) = (train(name, dtype) for name in ("baseline", isa))
    np.testing.assert_array_equal(l1, l0)
    np.testing.assert_array_equal(p1, p0)
    np.testing.assert_array_equal(e1, e0)


def isa_in_subprocess(value):
    code = "from fastnn._kernels import _core; print(_core.get_isa())"
    env = dict(os.environ, FASTNN_ISA=value)
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip(), out.stderr


@pytest.mark.parametrize("isa", _core.ISAS)
def test_environment_forces_each_level(isa):
    got, err = isa_in_subprocess(isa)
    if isa in ISAS:
        assert got == isa and "FASTNN_ISA" not in err
    else:  # the best level below it, with a warning naming what is available
        below = [name for name in ISAS if _core.ISAS.index(name) < _core.ISAS.index(isa)]
        assert got == below[-1]
        assert "RuntimeWarning" in err and "cannot run it" in err


def test_environment_unknown_name_warns_and_uses_the_best():
    got, err = isa_in_subprocess("AVX-512")
    assert got == ISAS[-1]
    assert "RuntimeWarning" in err and "'avx-512' is not one of" in err


@pytest.mark.parametrize("want,available,got,warned", [
    ("", ("baseline", "avx2", "avx512"), "avx512", None),
    ("", ("baseline",), "baseline", None),
    (" AVX2 ", ("baseline", "avx2", "avx512"), "avx2", None),
    ("avx512", ("baseline", "avx2"), "avx2", "cannot run it (available: baseline, avx2)"),
    ("avx512", ("baseline",), "baseline", "cannot run it"),
    ("avx2", ("baseline",), "baseline", "cannot run it"),
    ("sse9", ("baseline", "avx2"), "avx2", "'sse9' is not one of"),
])
def test_choice_at_import(want, available, got, warned):
    """The policy the import applies to FASTNN_ISA, on CPUs this one may not be."""
    name, message = _core._choose_isa(want, available)
    assert name == got
    assert (message is None) if warned is None else (warned in message)


def test_environment_default_is_the_best_level():
    code = "from fastnn._kernels import _core; print(_core.get_isa())"
    env = {k: v for k, v in os.environ.items() if k != "FASTNN_ISA"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ISAS[-1]


def test_capi_handle_keeps_the_level_it_was_made_with():
    m = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(4, activation="tanh"), Dense(1)],
                          seed=0)
    previous = _core.set_isa("baseline")
    try:
        handle = m.c_handle()
    finally:
        _core.set_isa(previous)
    assert handle.isa == "baseline" and m.c_handle().isa == previous


def test_info_reports_the_isa(capsys):
    from fastnn.__main__ import main

    main(["info"])
    out = capsys.readouterr().out
    assert f"instruction set: {_core.get_isa()}" in out
    assert f"available: {', '.join(ISAS)}" in out
