"""``model.summary()``: the layers, their output shapes and parameter counts, as
Keras prints them."""
from __future__ import annotations

from ._validation import fail
from .layers import Dense


def print_summary(model, print_fn=None) -> None:
    """Print `model`'s layers, output shapes and parameter counts through `print_fn`
    (default ``print``)."""
    if print_fn is not None and not callable(print_fn):
        fail("summary", "invalid type for argument `print_fn`", "a callable or None",
             "print_fn", print_fn, error=TypeError)
    print_fn = print_fn or print
    rows = [("Layer (type)", "Output Shape", "Param #")]
    n_in = model._input_dim
    total = 0
    for layer in model.layers:
        if isinstance(layer, Dense):
            count = (n_in * layer.units + (layer.units if layer.use_bias else 0)
                     if n_in is not None else None)
            total += count or 0
            n_in = layer.units
        else:
            count = 0
        shape = f"(None, {n_in})" if n_in is not None else "?"
        rows.append((f"{layer.name} ({type(layer).__name__})", shape,
                     "?" if count is None else str(count)))
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
    line = "-" * sum(widths)
    print_fn(f'Model: "{model.name}"')
    print_fn(line)
    for i, r in enumerate(rows):
        print_fn("".join(c.ljust(w) for c, w in zip(r, widths)))
        print_fn("=" * sum(widths) if i == 0 else line)
    print_fn(f"Total params: {total if model._input_dim is not None else '?'}")
    print_fn(f"dtype: {model.dtype.name}")
