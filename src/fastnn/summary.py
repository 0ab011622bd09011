"""``model.summary()``: the layers, their output shapes and parameter counts in
Keras 3's table::

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                      ┃ Output Shape             ┃        Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━┩
    │ dense (Dense)                     │ (None, 16)               │             48 │
    ├───────────────────────────────────┼──────────────────────────┼────────────────┤
    │ dense_1 (Dense)                   │ (None, 1)                │             17 │
    └───────────────────────────────────┴──────────────────────────┴────────────────┘
     Total params: 65 (260.00 B)
     Trainable params: 65 (260.00 B)
     Non-trainable params: 0 (0.00 B)

Keras draws it with ``rich``; this is plain text (no dependency), with an ASCII
fallback when stdout cannot encode the box characters.
"""
from __future__ import annotations

import math

import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ._progress import can_write
from ._validation import check_bool, check_int, fail
from ._shaping import show, trace

if TYPE_CHECKING:
    from .models import Sequential

# box characters: top, header rule, row rule, bottom (left, fill, joint, right) and bars
_BOX = {"top": "┏━┳┓", "head": "┡━╇┩", "row": "├─┼┤", "bottom": "└─┴┘", "hbar": "┃",
        "bar": "│"}
_ASCII_BOX = {"top": "+-++", "head": "+=++", "row": "+-++", "bottom": "+-++", "hbar": "|",
              "bar": "|"}
_UNITS = ("B", "KB", "MB", "GB", "TB")

# slot arrays each optimizer's update reads and writes (csrc/fnn_optim.c); fastnn keeps
# them for every parameter of the flat buffer
_SLOTS_USED = {"SGD": lambda o: int(o.momentum > 0), "RMSprop": lambda o: 1 + int(o.momentum > 0),
               "Adagrad": lambda o: 1}


def readable_size(n_bytes: float) -> str:
    """``260.00 B``, ``1.50 KB``, ... (powers of 1024, as Keras)."""
    for unit in _UNITS:
        if n_bytes < 1024 or unit == _UNITS[-1]:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def optimizer_state_size(model: Sequential) -> int:
    """Values in the optimizer's state (its slot arrays) once ``fit`` created it; 0 before."""
    size = model.optimizer_slot_size
    if model.optimizer is None or size == 0:
        return 0
    slots = _SLOTS_USED.get(type(model.optimizer).__name__, lambda o: 2)(model.optimizer)
    return slots * size


def _rows(model: Sequential) -> tuple[list[tuple[str, ...]], int, int]:
    """Per layer (name (type), output shape, param count, trainable); the trainable
    and frozen parameter counts."""
    rows: list[tuple[str, ...]] = []
    trainable, frozen = 0, 0
    in_shape = None if model.input_shape is None else model.input_shape[1:]
    shapes = dict(zip(model.layers, trace(model.layers, in_shape)[0]))
    prev = in_shape
    for layer in model.layers:
        kind = type(layer).__name__
        if layer._is_stage:  # Dense and the normalizations: their variables
            if prev is None or prev[0] is None:
                count = "0 (unbuilt)"
            else:
                shown = layer._weight_names(prev[0])
                sizes = [(math.prod(shape), trained and layer.trainable)
                         for name, shape, trained in layer._variables(prev[0])
                         if name in shown]
                n = sum(size for size, _ in sizes)
                count = f"{n:,}"
                trainable += sum(size for size, trained in sizes if trained)
                frozen += sum(size for size, trained in sizes if not trained)
            flag = "Y" if layer.trainable else "N"
        else:
            count, flag = "0", "-"
        prev = shapes[layer] if in_shape is not None else None
        rows.append((f"{layer.name} ({kind})", show(prev), count, flag))
    return rows, trainable, frozen


def _table(header: list[str], rows: list[tuple[str, ...]], widths: list[int],
           align: list[str], box: dict[str, str]) -> list[str]:
    """The box-drawn table, cells wrapped to their column's width."""
    def rule(kind: str) -> str:
        left, fill, joint, right = tuple(box[kind])  # four characters
        return left + joint.join(fill * (w + 2) for w in widths) + right

    def line(cells: Sequence[str], bar: str) -> list[str]:
        wrapped = [textwrap.wrap(c, w, break_on_hyphens=False) or [""]
                   for c, w in zip(cells, widths)]
        out = []
        for i in range(max(len(c) for c in wrapped)):
            parts = []
            for col, w, a in zip(wrapped, widths, align):
                text = col[i] if i < len(col) else ""
                text = {"right": text.rjust, "center": text.center}.get(a, text.ljust)(w)
                parts.append(f" {text} ")
            out.append(bar + bar.join(parts) + bar)
        return out

    lines = [rule("top"), *line(header, box["hbar"]), rule("head")]
    for i, r in enumerate(rows):
        if i:
            lines.append(rule("row"))
        lines.extend(line(r, box["bar"]))
    lines.append(rule("bottom"))
    return lines


def print_summary(model: Sequential, line_length: int | None = None,
                  positions: Sequence[float] | None = None,
                  print_fn: Callable[[str], object] | None = None,
                  show_trainable: bool = False) -> None:
    """Print `model`'s summary, one line per call of `print_fn` (default ``print``).

    line_length : total width; default 88 (100 with ``show_trainable``), at most the
        terminal's width − 4 (Keras 3's rule).
    positions : where each column ends, as fractions of the width (default
        ``[0.45, 0.80, 1.0]``, Keras 3's).
    show_trainable : add a ``Trainable`` column (``Y``, ``N``, or ``-`` for layers
        without weights).
    """
    func = "summary"
    if print_fn is not None and not callable(print_fn):
        fail(func, "invalid type for argument `print_fn`", "a callable or None",
             "print_fn", print_fn, error=TypeError)
    show_trainable = check_bool(func, "show_trainable", show_trainable)
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Trainable"] if show_trainable
                                                           else [])
    align = ["left", "left", "right", "center"][:len(header)]
    default = 88 + 12 * show_trainable
    if line_length is None:
        line_length = min(default, shutil.get_terminal_size().columns - 4)
    else:
        line_length = check_int(func, "line_length", line_length, low=4 * len(header) + 6)
    if positions is None:
        positions = [0.45, 0.80, 1.0]
        if show_trainable:  # room for the word "Trainable" at any width
            positions = [p * (line_length - 13) / line_length for p in positions] + [1.0]
    elif (not isinstance(positions, (list, tuple)) or len(positions) != len(header)
          or not all(isinstance(p, (int, float)) and not isinstance(p, bool)
                     for p in positions)
          or not all(a < b for a, b in zip([0, *positions], positions))
          or positions[-1] > 1):
        fail(func, "invalid argument `positions`",
             f"{len(header)} increasing fractions in (0, 1]", "positions", positions,
             error=TypeError if not isinstance(positions, (list, tuple)) else ValueError)
    widths, end = [], 0
    for p in positions:
        cell = int(p * line_length) - end
        end += cell
        widths.append(cell - 3)
    widths[-1] -= 1
    if min(widths) < 1:
        raise ValueError(f"{func}(): line_length={line_length} is too narrow for the "
                         f"columns at positions={list(positions)}.")
    rows, trainable, frozen = _rows(model)
    rows = [r[:len(header)] for r in rows]
    box = _BOX if print_fn is not None or can_write(sys.stdout, "┏━┃┡╇│├┼└┴") \
        else _ASCII_BOX
    out = print_fn or print
    item = model.dtype.itemsize
    opt = optimizer_state_size(model)
    out(f'Model: "{model.name}"')
    for line in _table(header, rows, widths, align, box):
        out(line)
    out(f" Total params: {trainable + frozen + opt:,} "
        f"({readable_size((trainable + frozen + opt) * item)})")
    out(f" Trainable params: {trainable:,} ({readable_size(trainable * item)})")
    out(f" Non-trainable params: {frozen:,} ({readable_size(frozen * item)})")
    if opt:
        out(f" Optimizer params: {opt:,} ({readable_size(opt * item)})")
