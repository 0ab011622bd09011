"""Every id set of csrc/ has one source: the C headers assign the numbers, csrc.pxd
declares each member, fastnn._kernels._core builds its IntEnums from those
declarations, and the Python modules bind their constants from the IntEnums.  These
tests hold the three views equal, so none can drift from the C."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from fastnn import (activations, losses, noise, normalization, optimizers, schedules,
                    training)
from fastnn import _epoch_results, _training_checks
from fastnn._kernels import _core

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "csrc"
SRC = ROOT / "src" / "fastnn"

# header prefix -> (the IntEnum of _core, its count constant in C, that count in _core)
ENUMS = {
    "FNN_ACT_": (_core.ActivationId, "FNN_N_ACTS", _core.N_ACTS),
    "FNN_LOSS_": (_core.LossId, "FNN_N_LOSSES", _core.N_LOSSES),
    "FNN_ACC_": (_core.AccuracyKind, "FNN_N_ACCS", _core.N_ACCS),
    "FNN_SUM_": (_core.SumSlot, "FNN_N_SUMS", _core.N_SUMS),
    "FNN_OPT_": (_core.OptimizerId, "FNN_N_OPTS", _core.N_OPTS),
    "FNN_SCHED_": (_core.ScheduleKind, "FNN_N_SCHEDS", _core.N_SCHEDS),
    "FNN_STAGE_": (_core.StageKind, "FNN_N_STAGES", _core.N_STAGES),
    "FNN_NOISE_": (_core.NoiseKind, "FNN_N_NOISE_KINDS", _core.N_NOISE_KINDS),
}


def header_enums() -> dict[str, int]:
    """NAME -> value of every member of every `enum { ... }` in csrc/*.h, numbered as
    C numbers them (an explicit value, else one more than the member before)."""
    values: dict[str, int] = {}
    for path in sorted(CSRC.glob("*.h")):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        for body in re.findall(r"\benum\s*\{(.*?)\}", text, flags=re.S):
            nxt = 0
            for item in filter(None, (part.strip() for part in body.split(","))):
                name, _, value = (s.strip() for s in item.partition("="))
                nxt = int(value, 0) if value else nxt
                assert name not in values, f"{name} defined twice in csrc/"
                values[name] = nxt
                nxt += 1
    return values


C = header_enums()


@pytest.mark.parametrize("prefix", sorted(ENUMS))
def test_core_enum_equals_the_c_header(prefix):
    """Each IntEnum of _core lists exactly the header's members, with the header's
    values (a member added in C and not in csrc.pxd/_core fails here), and the count
    constant is one past the largest id."""
    enum, count_name, count = ENUMS[prefix]
    in_c = {name[len(prefix):]: v for name, v in C.items() if name.startswith(prefix)}
    assert {m.name: m.value for m in enum} == in_c
    assert C[count_name] == count == max(in_c.values()) + 1


def test_the_other_c_constants_python_reads():
    define = re.search(r"#define FNN_MAX_NOISE (\d+)", (CSRC / "fnn_norm.h").read_text())
    assert define is not None and int(define.group(1)) == _core.MAX_NOISE
    isa = {name: v for name, v in C.items() if name.startswith("FNN_ISA_")}
    assert {_core.ISAS[v]: v for v in isa.values()} == {
        name[len("FNN_ISA_"):].lower(): v for name, v in isa.items()}
    assert len(_core.ISAS) == C["FNN_N_ISAS"]


def plain_int(value):
    assert type(value) is int  # a plain int: repr, pickles and saved files stay as before
    return value


def test_python_constants_are_the_c_ids():
    """Every constant a Python module keeps for a C id is the C's value."""
    for m in _core.ActivationId:
        assert plain_int(getattr(activations, m.name)) == m
    for m in _core.LossId:
        assert plain_int(getattr(losses, m.name)) == m
    for m in _core.OptimizerId:
        assert plain_int(getattr(optimizers, m.name + "_ID")) == m
    for m in _core.ScheduleKind:
        assert plain_int(getattr(schedules, m.name)) == m
    for m in _core.AccuracyKind:
        assert plain_int(getattr(_training_checks, "ACC_" + m.name)) == m
    for m in _core.NoiseKind:
        assert plain_int(getattr(noise, "NOISE_" + m.name)) == m
    for m in _core.StageKind:
        if m != _core.StageKind.DENSE:
            assert plain_int(getattr(normalization, "STAGE_" + m.name)) == m
    for name in ("LOSS", "ACC", "MAE", "MSE"):
        assert plain_int(getattr(training, "SUM_" + name)) == _core.SumSlot[name]
    for name in ("ACC", "MAE", "MSE"):  # one offset takes each sum to its unweighted twin
        assert training.PLAIN == _core.SumSlot[name + "_PLAIN"] - _core.SumSlot[name]
    assert _epoch_results.N_SUMS == _core.N_SUMS


def test_every_c_id_has_a_python_name():
    """A loss, activation, optimizer or schedule added in C is reachable by name."""
    assert set(losses.NAMES) == set(_core.LossId)
    assert set(activations.NAMES) == set(_core.ActivationId)
    assert {cls._kind for cls in vars(optimizers).values()
            if isinstance(cls, type) and issubclass(cls, optimizers.Optimizer)
            and hasattr(cls, "_kind")} == set(_core.OptimizerId)
    assert {cls._kind for cls in schedules.ALL_OBJECTS_DICT.values()} == (
        set(_core.ScheduleKind) - {_core.ScheduleKind.NONE})


# tuples of numbered constants that are not C ids (the value says why)
PYTHON_ONLY = {
    "STREAM_INIT, STREAM_SHUFFLE, STREAM_DROPOUT": "rng stream numbers fastnn picks to "
    "seed independent streams (rng_seed's `stream`); C assigns them no meaning",
    "N_POINTS, EPOCHS, BATCH, LEARNING_RATE": "the demo's settings (__main__.py), not ids",
}


def test_no_module_numbers_c_ids_itself():
    """No `A, B, C = range(N)` (or `= 0, 1, 2`) tuple of constants in the package
    except the Python-only ones above: a new copy of a C id set would drift."""
    found = []
    pattern = re.compile(r"^\(?([A-Z][A-Z0-9_]*(?:,\s*[A-Z][A-Z0-9_]*)+)\)?\s*=\s*"
                         r"(range\(|\d+\s*,)", re.M)
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        for match in pattern.finditer(text):
            names = re.sub(r"\s+", " ", match.group(1))
            if names not in PYTHON_ONLY:
                found.append(f"{path.relative_to(SRC)}: {names}")
    assert not found


def test_core_compares_no_id_with_a_bare_number():
    """_core.pyx names every id it tests (loss == FNN_LOSS_SPARSE_CCE, not loss == 3)."""
    text = (SRC / "_kernels" / "_core.pyx").read_text()
    ids = r"(?:loss|acc|act|kind|sched|mode|level)"
    bare = re.findall(rf"\b(?:o\.|c\.|net\.c\.)?{ids}\w*\s*(?:==|!=|<=|>=|<|>)\s*\d", text)
    assert bare == []
