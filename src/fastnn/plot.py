"""Pictures of training and of the inside of a network (the guide's "black box"):
``plot_history``, ``plot_decision_boundary``, ``plot_activations``, ``plot_model``.
(About 490 lines: four pictures, each with its own input checks and one colour
convention, sharing the import, model and file helpers at the top.)

Optional: the ``plot`` extra (matplotlib).  matplotlib is imported
inside each function, so ``import fastnn`` never needs it.  Each function returns
a ``matplotlib.figure.Figure`` made without pyplot (no global figure list to
fill, no window opened; Jupyter shows a returned Figure) and, given ``path``,
writes it as PNG (or SVG/PDF by the suffix) to a temporary file in the same
folder and then renames it, so the path never holds half a picture.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from . import activations as A
from ._install_hints import install_hint
from ._validation import NotFittedError, as_float_array, check_int, fail

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .callbacks import History
    from .layers import Dense
    from .models import Sequential

__all__ = ["plot_history", "plot_decision_boundary", "plot_activations", "plot_model"]

# One colour convention in every picture, TensorFlow Playground's: blue for positive
# values and class 1, orange for negative values and class 0, white-grey between.
_ORANGE, _BLUE = "#f59322", "#0877bd"
_PLAYGROUND = [_ORANGE, "#e8eaeb", _BLUE]  # low / negative / 0, middle, high / positive / 1
_MORE_CLASSES = ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
                 "#d62728"]  # classes 2, 3, ... after orange (0) and blue (1)
_TRAIN, _VAL = "0.15", "#7b3294"  # history lines: neither class colour
_MAX_NODES = 10  # plot_model: wider layers show their first 5 and last 4 units


def _matplotlib() -> type[Figure]:
    """The Figure class, imported now (a clear error without the extra)."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("fastnn.plot needs matplotlib, which is not installed: "
                          + install_hint("plot", "matplotlib")) from exc
    del matplotlib
    return Figure


def _check_path(func: str, path: object) -> str | None:
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        fail(func, "invalid type for argument `path`", "a file path (str or os.PathLike) "
             "or None", "path", path, error=TypeError)
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    if ext not in ("png", "svg", "pdf"):
        fail(func, "unsupported file type", "a path ending in .png, .svg or .pdf", "path", path)
    return path


def _save(fig: Figure, path: str | None) -> None:
    """Write `fig` through fastnn._archive's atomic write (temporary file beside `path`,
    fsync, rename, the target's or the umask's permissions)."""
    if path is None:
        return
    from ._archive import atomic_write

    ext = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    atomic_write("plot", path, lambda f: fig.savefig(f, format=ext, dpi=100))


def _check_model(func: str, model: object, weights: bool = True) -> Sequential:
    from .models import Sequential

    if not isinstance(model, Sequential):
        fail(func, "invalid type for argument `model`", "a fastnn.Sequential", "model", model,
             error=TypeError)
    if not model.dense_layers:
        raise ValueError(f"{func}(): the model has no Dense layer.")
    if weights and not model.built:
        if model.input_dim is None:
            raise NotFittedError(f"{func}(): the model has no weights yet. Give it an input "
                                 "shape (fastnn.Input(shape=(n,))) or fit it first.")
        model.build()
    if model.input_dim is None:
        raise ValueError(f"{func}(): the model's input size is unknown. Give it an input "
                         "shape (fastnn.Input(shape=(n,))) or fit it first.")
    return model


# ---------------------------------------------------------------------------- history
def _history_dict(func: str, history: object) -> tuple[dict[str, np.ndarray], np.ndarray]:
    epochs = None
    if hasattr(history, "history") and isinstance(getattr(history, "history"), dict):
        epochs = getattr(history, "epoch", None)
        history = history.history
    if not isinstance(history, dict):
        fail(func, "invalid type for argument `history`",
             "a History (what fit returns) or its .history dict", "history", history,
             error=TypeError)
    if not history:
        raise ValueError(f"{func}(): the history is empty (fit ran 0 epochs?).")
    series, n = {}, None
    for key, values in history.items():
        if not isinstance(key, str):
            fail(func, "invalid key in `history`", "metric names (str)", "key", key,
                 error=TypeError)
        arr = np.asarray(values) if isinstance(values, (list, tuple, np.ndarray)) else None
        if arr is None or arr.ndim != 1 or arr.dtype.kind not in "biuf":
            fail(func, f"invalid values for {key!r} in `history`",
                 "a list of numbers per metric", key, values, error=TypeError)
        if len(arr) == 0 or (n is not None and len(arr) != n):
            raise ValueError(f"{func}(): every metric needs one value per epoch; "
                             f"{key!r} has {len(arr)}, expected {n or 'at least 1'}.")
        n = len(arr)
        series[key] = arr.astype(np.float64)
    if epochs is not None and len(epochs) == n:
        x = np.asarray(epochs, dtype=np.int64) + 1
    else:
        assert n is not None  # the history is not empty
        x = np.arange(1, n + 1)
    return series, x


def plot_history(history: History | dict[str, Sequence[float]],
                 path: str | os.PathLike[str] | None = None, *,
                 loss: str | None = None) -> Figure:
    """Loss and every metric per epoch, training beside validation.

    history : the :class:`fastnn.callbacks.History` that ``fit`` returns, or its
        ``.history`` dict (``{"loss": [...], "val_loss": [...], ...}``).
    path : where to write the picture (``.png`` by default), or None.
    loss : the loss's name for the loss panel (default: the trained model's,
        ``history.model.loss``, when there is one).

    One panel per quantity (the loss first), its y axis naming it; a solid line
    for the training data, a dashed one for the validation data.  Returns the Figure.
    """
    func = "plot_history"
    if loss is None:
        loss = getattr(getattr(history, "model", None), "loss", None)
    elif not isinstance(loss, str):
        fail(func, "invalid type for argument `loss`", "the loss's name (str) or None",
             "loss", loss, error=TypeError)
    series, x = _history_dict(func, history)
    path = _check_path(func, path)
    Figure = _matplotlib()
    from matplotlib.ticker import MaxNLocator

    names = [k for k in series if not k.startswith("val_")]
    names += [k[4:] for k in series if k.startswith("val_") and k[4:] not in series]
    names.sort(key=lambda k: (k != "loss", list(series).index(k) if k in series else 0))
    cols = min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        marker = "o" if len(x) <= 30 else None
        if name in series:
            ax.plot(x, series[name], color=_TRAIN, marker=marker, ms=3,
                    label=f"training ({name})")
        if f"val_{name}" in series:
            ax.plot(x, series[f"val_{name}"], color=_VAL, marker=marker, ms=3, ls="--",
                    label=f"validation (val_{name})")
        if name == "loss":
            what = f"loss: {loss}" if isinstance(loss, str) else "loss"
            ax.set_title(f"{what} (lower is better)", fontsize=10)
            ax.set_ylabel(what.replace("_", " "))
        else:
            ax.set_title(name, fontsize=10)
            ax.set_ylabel(name.replace("_", " "))
        ax.set_xlabel("epoch (one pass over the training data)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    _save(fig, path)
    return fig


# ---------------------------------------------------------------------------- boundary
def _class_labels(func: str, y: ArrayLike, n: int) -> np.ndarray:
    """Integer classes from labels (n,), (n, 1) or one-hot / probability rows (n, k)."""
    arr = as_float_array(func, "y", y, np.dtype(np.float64), ndim=None, allow_empty=True)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2 and arr.shape[1] > 1:
        labels = arr.argmax(axis=1).astype(np.float64)
    elif arr.ndim == 1 and arr.shape[0]:
        labels = arr
    else:
        raise ValueError(f"{func}(): y must be labels of shape (n_samples,) or one-hot rows "
                         f"(n_samples, n_classes). Received: y.shape={arr.shape}.")
    if len(labels) != n:
        raise ValueError(f"{func}(): x and y have different numbers of samples. Received: "
                         f"len(x)={n}, len(y)={len(labels)}.")
    return labels


def plot_decision_boundary(model: Sequential, x: ArrayLike, y: ArrayLike,
                           path: str | os.PathLike[str] | None = None, *,
                           resolution: int = 200) -> Figure:
    """What a model with 2 inputs predicts over the plane, with the samples on top
    (TensorFlow Playground's picture).

    model : a fastnn.Sequential with 2 input features (built or fitted).
    x : (n_samples, 2) points; the grid spans them with a 10 % margin.
    y : their labels — classes (n_samples,) or one-hot rows — or, for a
        regression model, target values.
    path : where to write the picture, or None.
    resolution : grid points per axis (10 to 1000).

    Colours are the TensorFlow Playground's: blue for class 1, orange for class 0.
    One output unit: the output (for a sigmoid, P(class 1)) as an orange–blue map
    with the 0.5 contour, the decision boundary.  Several units (softmax): each grid
    point takes its most likely class's colour (0 orange, 1 blue, then green,
    purple, ...), paler where the model is less sure, with the class borders
    drawn.  The legend names the points' classes; the title's accuracy is over
    the points drawn (pass the validation points to see the validation accuracy).
    Returns the Figure.
    """
    func = "plot_decision_boundary"
    model = _check_model(func, model)
    if model.input_dim != 2:
        raise ValueError(f"{func}(): the model takes {model.input_dim} input features; "
                         "a decision boundary is drawn for 2-D inputs only.")
    X = as_float_array(func, "x", x, np.dtype(np.float64))
    if X.shape[1] != 2:
        raise ValueError(f"{func}(): x must have 2 columns (points in the plane). "
                         f"Received: x.shape={X.shape}.")
    labels = _class_labels(func, y, len(X))
    resolution = check_int(func, "resolution", resolution, low=10, high=1000)
    path = _check_path(func, path)
    Figure = _matplotlib()
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap, Normalize, to_rgb
    from matplotlib.lines import Line2D

    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * 0.1, 1e-3)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G0, G1 = np.meshgrid(g0, g1)
    grid = np.column_stack([G0.ravel(), G1.ravel()])
    out = model.predict(grid)
    P = model.predict(X)
    last = model.dense_layers[-1]
    k = last.units
    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    ax = fig.add_subplot()
    extent = (g0[0], g0[-1], g1[0], g1[-1])
    if k == 1:
        Z = out[:, 0].reshape(G0.shape)
        prob = last._act == A.SIGMOID
        vmin, vmax = (0.0, 1.0) if prob else (float(min(Z.min(), labels.min())),
                                               float(max(Z.max(), labels.max())))
        norm = Normalize(vmin, vmax)
        # the Playground's colors: orange for 0 (negative), blue for 1 (positive)
        cmap = LinearSegmentedColormap.from_list("playground", _PLAYGROUND)
        im = ax.imshow(Z, origin="lower", extent=extent, aspect="auto", cmap=cmap,
                       norm=norm, alpha=0.6, interpolation="bilinear")
        if prob and Z.min() < 0.5 < Z.max():
            ax.contour(G0, G1, Z, levels=[0.5], colors="0.2", linewidths=1.2)
        ax.scatter(X[:, 0], X[:, 1], c=labels, cmap=cmap, norm=norm, s=18,
                   edgecolors="white", linewidths=0.6)
        fig.colorbar(im, ax=ax, label="P(class 1), the model's output" if prob
                     else "model output")
        score = np.mean((P[:, 0] > 0.5) == (labels > 0.5)) if prob else None
        if prob:
            ax.legend(handles=[_dot(Line2D, _ORANGE, "class 0"), _dot(Line2D, _BLUE, "class 1")],
                      loc="upper right", fontsize=8, framealpha=0.85, title="points",
                      title_fontsize=8)
    else:
        palette = [to_rgb(c) for c in ([_ORANGE, _BLUE] + _MORE_CLASSES * k)[:k]]
        cls = out.argmax(axis=1)
        conf = (out.max(axis=1) - 1.0 / k) / (1.0 - 1.0 / k)  # 0: a toss-up, 1: certain
        rgb = np.asarray(palette)[cls]
        shade = 0.12 + 0.38 * np.clip(conf, 0, 1)[:, None]
        img = np.clip((1 - shade) + shade * rgb, 0.0, 1.0)  # blended with white
        ax.imshow(img.reshape(*G0.shape, 3), origin="lower", extent=extent, aspect="auto",
                  interpolation="nearest")
        C = cls.reshape(G0.shape)
        if len(np.unique(C)) > 1:
            ax.contour(G0, G1, C, levels=np.arange(k - 1) + 0.5, colors="k",
                       linewidths=0.8)
        known = np.clip(labels.astype(np.int64), 0, k - 1)
        ax.scatter(X[:, 0], X[:, 1], c=known, cmap=ListedColormap(palette), vmin=-0.5,
                   vmax=k - 0.5, s=18, edgecolors="white", linewidths=0.6)
        ax.legend(handles=[_dot(Line2D, palette[i], f"class {i}") for i in range(k)],
                  loc="upper right", fontsize=8, framealpha=0.85, title="points",
                  title_fontsize=8)
        score = np.mean(P.argmax(axis=1) == labels)
    title = f'"{model.name}": what it predicts over the plane'
    if score is not None:
        title += f"\naccuracy on the {len(X)} points drawn: {score:.1%}"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("first input feature, x[:, 0]")
    ax.set_ylabel("second input feature, x[:, 1]")
    _save(fig, path)
    return fig


def _dot(Line2D: type, color: object, label: str) -> object:
    """A legend entry drawn like the scatter's points."""
    return Line2D([], [], ls="", marker="o", ms=6, mfc=color, mec="white", label=label)


# ---------------------------------------------------------------------------- activations
def _scale(act: int, values: np.ndarray) -> tuple[list[str], float, float]:
    """(colours low to high, vmin, vmax) for a layer's activations: the Playground's
    orange-grey-blue map, with grey at 0 for signed values and at 0.5 for
    probabilities; values that cannot be negative (relu) go from grey to blue."""
    if act in (A.SIGMOID, A.SOFTMAX, A.STEP):
        return _PLAYGROUND, 0.0, 1.0
    if act in (A.TANH, A.SIGN):
        return _PLAYGROUND, -1.0, 1.0
    top = float(np.abs(values).max()) or 1.0
    if values.min() >= 0:
        return _PLAYGROUND[1:], 0.0, top
    return _PLAYGROUND, -top, top


def plot_activations(model: Sequential, x: ArrayLike,
                     path: str | os.PathLike[str] | None = None) -> Figure:
    """Every layer's activations a[l] for a few inputs, as heat maps: a look inside
    the network (the guide's "black box").

    model : a built or fitted fastnn.Sequential.
    x : (n_samples, n_features) inputs, a few rows (each row is one sample; up
        to 100).
    path : where to write the picture, or None.

    One panel per layer — the input, then each Dense layer (Dropout is off at
    inference, so it has none) — rows are samples, columns units, with the
    activation's range as colour scale (tanh −1..1, sigmoid/softmax 0..1, ...) in
    one colour map, the Playground's (blue high or positive, orange low or
    negative); small maps also print their numbers.  Returns the Figure.
    """
    func = "plot_activations"
    model = _check_model(func, model)
    try:
        n = len(x)  # type: ignore[arg-type]
    except TypeError:  # not a sequence: get_layer_outputs says what it expects
        n = 0
    if n > 100:
        raise ValueError(f"{func}(): x has {n} samples; pass a few (at most 100), "
                         "e.g. x[:8].")
    outs = model.get_layer_outputs(x)  # x checked as predict checks it
    # the input panel: the samples as the C loop read them (an image model's flattened)
    X = np.asarray(x, dtype=model.dtype).reshape(len(outs[0]), -1)
    path = _check_path(func, path)
    Figure = _matplotlib()
    from matplotlib.colors import LinearSegmentedColormap

    panels: list[tuple[str | None, str, int, np.ndarray]] = [
        ("input", f"{X.shape[1]} features", A.LINEAR, X)]
    panels += [(layer.name, f"{layer.units} unit{'s' * (layer.units != 1)}, "
                f"{A.NAMES[layer._act]}",
                layer._act, a) for layer, a in zip(model.dense_layers, outs)]
    widths = [min(max(p[3].shape[1], 2), 16) for p in panels]
    fig = Figure(figsize=(min(1.0 + 0.3 * sum(widths) + 1.0 * len(panels), 16),
                          1.6 + min(0.3 * len(X), 6)), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    for ax, (name, sub, act, a) in zip(axes, panels):
        colours, vmin, vmax = _scale(act, a)
        cmap = LinearSegmentedColormap.from_list("playground", colours)
        im = ax.imshow(a, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                       interpolation="nearest")
        ax.set_title(f"{name}\n{sub}", fontsize=9)
        ax.set_xlabel("feature" if name == "input" else "unit (neuron)", fontsize=8)
        ax.tick_params(labelsize=7)
        if a.shape[1] <= 20:
            ax.set_xticks(range(a.shape[1]))
        ax.set_yticks(range(len(X)) if len(X) <= 20 else [])
        if a.size <= 64 and a.shape[1] <= 8:
            for (i, j), v in np.ndenumerate(a):
                t = (v - vmin) / ((vmax - vmin) or 1.0)  # position on the map, 0..1
                strong = t > 0.75 if len(colours) == 2 else abs(t - 0.5) > 0.35
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if strong else "black")
        fig.colorbar(im, ax=ax, shrink=0.9, pad=0.02).ax.tick_params(labelsize=7)
    axes[0].set_ylabel("sample (one input row)")
    fig.suptitle(f'"{model.name}": activations of every layer for {len(X)} inputs',
                 fontsize=10)
    _save(fig, path)
    return fig


# ---------------------------------------------------------------------------- architecture
def _shown(n: int) -> list[int | None]:
    """Which units of an n-wide layer are drawn; None marks the elided ones."""
    if n <= _MAX_NODES:
        return list(range(n))
    return [0, 1, 2, 3, 4, None, n - 4, n - 3, n - 2, n - 1]


def plot_model(model: Sequential, path: str | os.PathLike[str] | None = None) -> Figure:
    """The architecture as a layered diagram: one column of circles (neurons) per
    layer, input on the left, layers wider than 10 units shown as their first 5
    and last 4 with "…" between; each column labelled with the layer's name, size
    and activation, Dropout rates and frozen (``trainable=False``) layers noted.

    Once the model has weights, each line's colour is its weight's sign (the
    Playground's: blue positive, orange negative) and its strength the weight's
    magnitude.

    model : a fastnn.Sequential whose input size is known.
    path : where to write the picture, or None.
    Returns the Figure.
    """
    func = "plot_model"
    model = _check_model(func, model, weights=False)
    path = _check_path(func, path)
    Figure = _matplotlib()
    from matplotlib.patches import Circle
    from .layers import Dense, Dropout

    assert model.input_dim is not None  # _check_model saw to it
    # (name, units, the Dense layer or None for the input, note) per column
    cols: list[tuple[str | None, int, Dense | None, str]] = [
        ("input", model.input_dim, None, "")]
    drops = []  # Dropout notes between columns
    for layer in model.layers:
        if isinstance(layer, Dense):
            note = "" if layer.trainable else "\n(frozen)"
            cols.append((layer.name, layer.units, layer, note))
        elif isinstance(layer, Dropout):
            drops.append((len(cols) - 1, f"{layer.name}\nrate {layer.rate:g}"))
    tallest = max(len(_shown(c[1])) for c in cols)
    dx, last = 3.0, len(cols) - 1  # column spacing, in node spacings
    top, bottom = (tallest - 1) / 2 + 1.1, -(tallest - 1) / 2 - 2.4
    inch = 0.5  # per node spacing: the figure has the diagram's proportions
    fig = Figure(figsize=(inch * (last * dx + 3.2), inch * (top - bottom) + 0.5),
                 layout="constrained")
    ax = fig.add_subplot()
    pos = []
    for i, (_, n, _, _) in enumerate(cols):
        shown = _shown(n)
        ys = (len(shown) - 1) / 2 - np.arange(len(shown))
        pos.append([(u, i * dx, y) for u, y in zip(shown, ys)])
    kernels = [c[2].kernel if model.built and c[2] is not None else None for c in cols]
    for i in range(1, len(cols)):
        W = kernels[i]
        scale = float(np.abs(W).max()) if W is not None and W.size else 0.0
        busy = len(pos[i - 1]) * len(pos[i]) > 40
        for u, x0, y0 in pos[i - 1]:
            for v, x1, y1 in pos[i]:
                if u is None or v is None:
                    continue
                if W is None or scale == 0:
                    color, alpha = "0.6", 0.35
                else:
                    w = float(W[u, v])
                    color = _BLUE if w > 0 else _ORANGE
                    alpha = (0.05 + 0.55 * abs(w) / scale) if busy else (0.1 + 0.8 * abs(w) / scale)
                ax.plot([x0, x1], [y0, y1], color=color, alpha=alpha, lw=0.8, zorder=1)
    for i, (name, n, dense, note) in enumerate(cols):
        face = "#d9d9d9" if i == 0 else "#f7f7f7"  # neutral: colour means sign
        frozen = dense is not None and not dense.trainable
        for u, x0, y0 in pos[i]:
            if u is None:
                ax.text(x0, y0, "⋮", ha="center", va="center", fontsize=14, zorder=3)
                continue
            ax.add_patch(Circle((x0, y0), 0.3, facecolor=face, zorder=2, lw=1.2,
                                edgecolor="0.5" if frozen else "0.15", ls="--" if frozen else "-"))
        act = "" if dense is None else f"\n{A.NAMES[dense._act]}"
        width = f"{n} {'feature' if i == 0 else 'unit'}{'s' if n != 1 else ''}"
        if n > _MAX_NODES:
            width += " (9 shown)"
        ax.text(i * dx, -(tallest - 1) / 2 - 0.7, f"{name}\n{width}{act}{note}", ha="center",
                va="top", fontsize=8)
    for i, text in drops:
        ax.text((i + 0.5) * dx, (tallest - 1) / 2 + 0.5, text, ha="center", va="bottom",
                fontsize=7, style="italic", color="0.3")
    if any(k is not None for k in kernels):
        ax.text(last * dx / 2, bottom + 0.15, "lines: weights (blue > 0, orange < 0; the "
                "stronger the line, the larger |w|)", ha="center", va="bottom", fontsize=7,
                color="0.35")
    ax.set_xlim(-1.6, last * dx + 1.6)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.axis("off")
    n_params = sum(w.size for d in model.dense_layers for w in d.get_weights()
                   ) if model.built else None
    sub = f", {n_params:,} parameters" if n_params is not None else ""
    fig.suptitle(f'"{model.name}": {len(cols) - 1} Dense layers{sub}', fontsize=10)
    _save(fig, path)
    return fig
