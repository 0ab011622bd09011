"""``model.summary()`` in Keras 3's table: output shapes, parameter
counts with their memory, frozen layers, optimizer state, and its arguments."""
import io
import sys

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Dropout

GOLDEN = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┓
┃ Layer (type)             ┃ Output Shape       ┃  Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━┩
│ dense (Dense)            │ (None, 16)         │       48 │
├──────────────────────────┼────────────────────┼──────────┤
│ dropout (Dropout)        │ (None, 16)         │        0 │
├──────────────────────────┼────────────────────┼──────────┤
│ dense_1 (Dense)          │ (None, 1)          │       17 │
└──────────────────────────┴────────────────────┴──────────┘
 Total params: 65 (260.00 B)
 Trainable params: 65 (260.00 B)
 Non-trainable params: 0 (0.00 B)"""


def model(**kw):
    return fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(16, activation="tanh"),
                              Dropout(0.5), Dense(1, activation="sigmoid", **kw)], seed=0)


def lines_of(m, **kw):
    out = []
    m.summary(print_fn=out.append, **kw)
    return out


def test_golden_table():
    out = lines_of(model(), line_length=60)
    assert "\n".join(out) == GOLDEN  # 16·2 + 16 = 48, 1·16 + 1 = 17; float32: 4 B each
    assert all(len(line) == 60 for line in out[1:10])


def test_frozen_layers_optimizer_state_and_float64():
    m = model(trainable=False)
    text = "\n".join(lines_of(m, line_length=60))
    assert " Trainable params: 48 (192.00 B)" in text
    assert " Non-trainable params: 17 (68.00 B)" in text
    assert "Optimizer params" not in text
    m.compile("adam", "binary_crossentropy")
    m.fit(np.zeros((8, 2)), np.zeros(8), verbose=0)
    text = "\n".join(lines_of(m, line_length=60))
    # Adam keeps two slots (m, v) for each of the 65 values of the flat buffer
    assert " Optimizer params: 130 (520.00 B)" in text
    assert " Total params: 195 (780.00 B)" in text
    m.compile(fastnn.optimizers.SGD(0.1), "binary_crossentropy")  # no momentum: no state
    m.fit(np.zeros((8, 2)), np.zeros(8), verbose=0)
    assert "Optimizer params" not in "\n".join(lines_of(m, line_length=60))
    m64 = fastnn.Sequential([fastnn.Input(shape=(1000,)), Dense(1000)], dtype="float64")
    text = "\n".join(lines_of(m64))
    assert "1,001,000" in text and " Total params: 1,001,000 (7.64 MB)" in text


def test_unbuilt_model_and_show_trainable():
    m = fastnn.Sequential([Dense(3), Dense(1, trainable=False)])
    out = lines_of(m, line_length=80, show_trainable=True)
    rows = [l for l in out if l.startswith("│")]
    assert len(rows) == 2 and all("?" in r and "0 (unbuilt)" in r for r in rows)
    assert rows[0].rstrip("│ ").endswith("Y") and rows[1].rstrip("│ ").endswith("N")
    assert "Trainable" in out[2] and " Total params: 0 (0.00 B)" in out
    drop = lines_of(model(), line_length=80, show_trainable=True)
    assert [r.rstrip("│ ")[-1] for r in drop if r.startswith("│")] == ["Y", "-", "Y"]


def test_default_width_follows_the_terminal(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "70")
    model().summary()
    out = capsys.readouterr().out.splitlines()
    assert len(out[1]) == 66  # Keras 3: min(88, columns - 4)
    monkeypatch.setenv("COLUMNS", "200")
    assert len(lines_of(model())[1]) == 88


def test_ascii_fallback_and_print_fn_lines(monkeypatch):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    model().summary(line_length=60)
    monkeypatch.undo()
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "+=====" in text and "| dense (Dense)" in text
    out = lines_of(model(), line_length=60)
    assert all("\n" not in line for line in out) and len(out) == 13


def test_long_names_wrap_inside_their_cell():
    m = fastnn.Sequential([fastnn.Input(shape=(2,)),
                           Dense(1, name="a_rather_long_layer_name_that_cannot_fit")])
    out = lines_of(m, line_length=50)
    assert all(len(l) == 50 for l in out[1:-3])
    assert "a_rather_long_layer_name_that_cannot_fit" in "".join(
        l[2:l.index("│", 1)].strip() for l in out if l.startswith("│"))


@pytest.mark.parametrize("kw, error, match", [
    ({"print_fn": 3}, TypeError, r"summary\(\): invalid type for argument `print_fn`"),
    ({"line_length": "80"}, TypeError, r"invalid type for argument `line_length`"),
    ({"line_length": 10}, ValueError, r"invalid value for argument `line_length`.*>= 18"),
    ({"positions": [0.5, 1.0]}, ValueError, r"invalid argument `positions`.*3 increasing"),
    ({"positions": [0.5, 0.4, 1.0]}, ValueError, r"invalid argument `positions`"),
    ({"positions": [0.3, 0.6, 1.5]}, ValueError, r"invalid argument `positions`"),
    ({"positions": "abc"}, TypeError, r"invalid argument `positions`"),
    ({"show_trainable": "yes"}, TypeError, r"invalid type for argument `show_trainable`"),
    ({"line_length": 20, "positions": [0.1, 0.9, 1.0]}, ValueError, r"too narrow"),
])
def test_argument_errors(kw, error, match):
    with pytest.raises(error, match=match):
        model().summary(**kw)
