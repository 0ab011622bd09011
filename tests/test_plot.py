"""fastnn.plot: the pictures are written as valid PNGs of the
figure's size, hold what they claim (panels, labelled lines, the layer outputs, one
circle per drawn neuron), and every function checks its input; without matplotlib
each raises an ImportError naming the extra."""
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from ._needs import needs  # noqa: E402

matplotlib = needs("matplotlib")
matplotlib.use("Agg")

import fastnn  # noqa: E402
from fastnn import plot  # noqa: E402
from fastnn.layers import Dense, Dropout  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from the PNG header; fails on anything that is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == PNG_MAGIC and head[12:16] == b"IHDR", head
    return struct.unpack(">II", head[16:24])


def check_png(path, fig, min_bytes=5000):
    w, h = png_size(path)
    fw, fh = fig.get_size_inches() * 100  # dpi 100
    assert (w, h) == (round(fw), round(fh)), ((w, h), (fw, fh))
    assert os.path.getsize(path) >= min_bytes
    assert not [p for p in os.listdir(os.path.dirname(path)) if p.startswith(".")]


@pytest.fixture(scope="module")
def circle():
    X, y = fastnn.datasets.make_circle(300, noise=0.05, seed=0)
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(4, activation="tanh"),
                           Dense(2, activation="tanh"), Dense(1, activation="sigmoid")], seed=0)
    m.compile(fastnn.optimizers.Adam(0.03), "binary_crossentropy", ["accuracy"])
    h = m.fit(X / 5, y, epochs=40, batch_size=16, validation_split=0.25, verbose=0)
    return m, X / 5, y, h


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 240)
    X = np.array([[0, 0], [2, 2], [-2, 2]])[labels] + rng.normal(0, 0.5, (240, 2))
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(16, activation="relu"),
                           Dropout(0.1), Dense(3, activation="softmax")], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    m.fit(X, labels, epochs=30, verbose=0)
    return m, X, labels


# ---------------------------------------------------------------------------- history
def test_plot_history(circle, tmp_path):
    _, _, _, h = circle
    path = tmp_path / "history.png"
    fig = plot.plot_history(h, path)
    check_png(path, fig)
    # the loss named (from the model that History trained), axes labelled in words
    assert [ax.get_title() for ax in fig.axes] == [
        "loss: binary_crossentropy (lower is better)", "accuracy"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss: binary crossentropy", "accuracy"]
    assert all(ax.get_xlabel().startswith("epoch") for ax in fig.axes)
    for ax, name in zip(fig.axes, ["loss", "accuracy"]):
        lines = ax.get_lines()
        assert [l.get_label() for l in lines] == [f"training ({name})",
                                                  f"validation (val_{name})"]
        np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, 41))
        np.testing.assert_allclose(lines[1].get_ydata(), h.history[f"val_{name}"])
    # the .history dict, no validation, resumed epochs (History.epoch)
    fig = plot.plot_history({"loss": [1.0, 0.5], "mae": [2, 1], "val_mae": [3, 2]})
    assert [ax.get_title() for ax in fig.axes] == ["loss (lower is better)", "mae"]
    assert [l.get_label() for l in fig.axes[0].get_lines()] == ["training (loss)"]
    fig = plot.plot_history({"loss": [1.0, 0.5]}, loss="mse")
    assert fig.axes[0].get_title() == "loss: mse (lower is better)"
    with pytest.raises(TypeError, match=r"plot_history\(\): invalid type for argument `loss`"):
        plot.plot_history({"loss": [1.0, 0.5]}, loss=3)
    m = circle[0]
    h2 = fastnn.clone_model(m).fit(circle[1], circle[2], epochs=5, initial_epoch=3, verbose=0)
    x = plot.plot_history(h2).axes[0].get_lines()[0].get_xdata()
    np.testing.assert_array_equal(x, [4, 5])


@pytest.mark.parametrize("history, error, match", [
    ({}, ValueError, r"plot_history\(\): the history is empty"),
    ([1, 2], TypeError, r"invalid type for argument `history`.*History"),
    ({"loss": [1, 2], "val_loss": [1]}, ValueError, r"'val_loss' has 1, expected 2"),
    ({"loss": ["a", "b"]}, TypeError, r"invalid values for 'loss'"),
    ({"loss": 3.0}, TypeError, r"invalid values for 'loss'"),
    ({1: [1.0]}, TypeError, r"invalid key"),
])
def test_plot_history_errors(history, error, match):
    with pytest.raises(error, match=match):
        plot.plot_history(history)


# ---------------------------------------------------------------------------- boundary
def test_decision_boundary_binary(circle, tmp_path):
    m, X, y, _ = circle
    path = tmp_path / "boundary.png"
    fig = plot.plot_decision_boundary(m, X, y, path, resolution=50)
    check_png(path, fig)
    ax, cbar = fig.axes
    assert cbar.get_ylabel() == "P(class 1), the model's output"
    assert ax.get_xlabel() == "first input feature, x[:, 0]"
    assert ax.get_ylabel() == "second input feature, x[:, 1]"
    # the Playground's colours: class 0 orange, class 1 blue, in the points and the legend
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    colours = ax.collections[-1].get_facecolors()[:, :3]
    for label, hexa in ((0, "#f59322"), (1, "#0877bd")):
        np.testing.assert_allclose(colours[y == label], np.tile(to_rgb(hexa), ((y == label).sum(), 1)),
                                   atol=1e-6)
    img = ax.get_images()[0].get_array()
    assert img.shape == (50, 50) and 0 <= img.min() and img.max() <= 1
    # the image is the model's output on the grid: its corner is the grid's corner
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * 0.1
    corner = m.predict(np.array([[lo[0] - pad[0], lo[1] - pad[1]]]))[0, 0]
    np.testing.assert_allclose(img[0, 0], corner, rtol=1e-5)
    points = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(points, X)
    acc = np.mean((m.predict(X)[:, 0] > 0.5) == y)
    assert f"accuracy on the 300 points drawn: {acc:.1%}" in ax.get_title()


def test_decision_boundary_multiclass(blobs, tmp_path):
    m, X, labels = blobs
    path = tmp_path / "multi.png"
    onehot = fastnn.utils.to_categorical(labels, 3)
    fig = plot.plot_decision_boundary(m, X, onehot, path, resolution=40)
    check_png(path, fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1",
                                                                   "class 2"]
    img = ax.get_images()[0].get_array()
    assert img.shape == (40, 40, 3)
    acc = np.mean(m.predict(X).argmax(axis=1) == labels)
    assert f"{acc:.1%}" in ax.get_title() and acc > 0.8


def test_decision_boundary_errors(circle, blobs):
    m, X, y, _ = circle
    wide = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(1)])
    cases = [
        (lambda: plot.plot_decision_boundary(wide, X, y), ValueError,
         r"takes 3 input features; a decision boundary is drawn for 2-D inputs only"),
        (lambda: plot.plot_decision_boundary(m, np.c_[X, X[:, 0]], y), ValueError,
         r"features, but the model expects 2|x must have 2 columns"),
        (lambda: plot.plot_decision_boundary(m, X[:, 0], y), ValueError, r"must be 2-D"),
        (lambda: plot.plot_decision_boundary(m, X, y[:-1]), ValueError,
         r"different numbers of samples.*len\(x\)=300, len\(y\)=299"),
        (lambda: plot.plot_decision_boundary(m, X, np.zeros((300, 2, 2))), ValueError,
         r"y must be labels"),
        (lambda: plot.plot_decision_boundary(m, X, 5), ValueError, r"y must be labels"),
        (lambda: plot.plot_decision_boundary(m, X, np.zeros((300, 0))), ValueError,
         r"y must be labels"),
        (lambda: plot.plot_decision_boundary("model", X, y), TypeError,
         r"invalid type for argument `model`. Expected a fastnn.Sequential"),
        (lambda: plot.plot_decision_boundary(fastnn.Sequential([Dense(1)]), X, y),
         fastnn.NotFittedError, r"has no weights yet"),
        (lambda: plot.plot_decision_boundary(m, X, y, resolution=5), ValueError,
         r"invalid value for argument `resolution`"),
        (lambda: plot.plot_decision_boundary(m, X, y, path=3), TypeError,
         r"invalid type for argument `path`"),
        (lambda: plot.plot_decision_boundary(m, X, y, path="b.jpg"), ValueError,
         r"unsupported file type.*\.png, \.svg or \.pdf"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match):
            call()
    assert issubclass(fastnn.NotFittedError, ValueError)


# ---------------------------------------------------------------------------- activations
def test_plot_activations(circle, tmp_path):
    m, X, _, _ = circle
    path = tmp_path / "act.png"
    fig = plot.plot_activations(m, X[:5], path)
    check_png(path, fig)
    images = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]
    assert len(images) == 4  # input + 3 Dense layers (the others are colorbars)
    expected = [X[:5].astype(np.float32), *m.get_layer_outputs(X[:5])]
    for got, want in zip(images, expected):
        np.testing.assert_array_equal(np.asarray(got), want)
    titles = [ax.get_title() for ax in fig.axes if ax.get_images()]
    assert titles == ["input\n2 features", "dense\n4 units, tanh", "dense_1\n2 units, tanh",
                      "dense_2\n1 unit, sigmoid"]
    # small maps print their numbers (row 0 of the first Dense layer)
    panels = [ax for ax in fig.axes if ax.get_images()]
    texts = [t.get_text() for t in panels[1].texts]
    assert texts[:4] == [f"{v:.2f}" for v in expected[1][0]]
    # one colour map for every layer, the output's too: orange low, blue high
    for ax in panels:
        cmap = ax.get_images()[0].get_cmap()
        np.testing.assert_allclose(cmap(0.0)[:3], to_rgb("#f59322"), atol=0.01)
        np.testing.assert_allclose(cmap(1.0)[:3], to_rgb("#0877bd"), atol=0.01)


def test_plot_activations_errors(circle):
    m = circle[0]
    with pytest.raises(ValueError, match=r"x has 3 features, but the model expects 2"):
        plot.plot_activations(m, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"must be 2-D"):
        plot.plot_activations(m, np.zeros(2))
    with pytest.raises(ValueError, match=r"x has 101 samples; pass a few"):
        plot.plot_activations(m, np.zeros((101, 2)))
    with pytest.raises(TypeError, match=r"unsupported dtype"):
        plot.plot_activations(m, np.array([["a", "b"]]))
    with pytest.raises(fastnn.NotFittedError):
        plot.plot_activations(fastnn.Sequential([Dense(2)]), np.zeros((1, 2)))


# ---------------------------------------------------------------------------- model
def test_plot_model(tmp_path):
    from matplotlib.patches import Circle

    m = fastnn.Sequential([fastnn.Input(shape=(64,)), Dense(32, activation="relu"),
                           Dropout(0.2), Dense(8, activation="relu", trainable=False),
                           Dense(10, activation="softmax")], seed=0)
    path = tmp_path / "model.png"
    fig = plot.plot_model(m, path)  # input size known, no weights yet: gray lines
    check_png(path, fig)
    ax = fig.axes[0]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 9 + 9 + 8 + 10  # wide layers: their first 5 and last 4 units
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("⋮") == 2
    assert "dense\n32 units (9 shown)\nrelu" in texts
    assert "dense_1\n8 units\nrelu\n(frozen)" in texts
    assert "dropout\nrate 0.2" in texts
    assert len(ax.get_lines()) == 9 * 9 + 9 * 8 + 8 * 10
    assert {l.get_color() for l in ax.get_lines()} == {"0.6"}
    m.build()
    fig = plot.plot_model(m)
    colors = [l.get_color() for l in fig.axes[0].get_lines()]
    w = m.layers[-1].kernel  # the last 8 x 10 lines are the output layer's weights
    assert colors[-80:] == ["#0877bd" if v > 0 else "#f59322" for v in w.ravel()]
    # 64·32 + 32 + 32·8 + 8 + 8·10 + 10
    assert fig._suptitle.get_text() == '"sequential": 3 Dense layers, 2,434 parameters'
    assert "lines: weights" in fig.axes[0].texts[-1].get_text()


def test_plot_model_errors():
    with pytest.raises(ValueError, match=r"input size is unknown"):
        plot.plot_model(fastnn.Sequential([Dense(3), Dense(1)]))
    with pytest.raises(TypeError, match=r"invalid type for argument `model`"):
        plot.plot_model(None)
    with pytest.raises(ValueError, match=r"no Dense layer"):
        plot.plot_model(fastnn.Sequential([fastnn.Input(shape=(2,))]))


# ---------------------------------------------------------------------------- files, extra
def test_write_replaces_atomically_and_keeps_old_file_on_error(circle, tmp_path, monkeypatch):
    m, X, y, h = circle
    path = tmp_path / "pic.png"
    plot.plot_history(h, str(path))
    before = path.read_bytes()
    from matplotlib.figure import Figure

    def broken(self, *a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.plot_model(m, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["pic.png"]
    plot.plot_model(m, tmp_path / "pic.svg")
    assert (tmp_path / "pic.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_without_matplotlib_each_function_names_the_extra(circle, monkeypatch):
    m, X, y, h = circle
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    for call in (lambda: plot.plot_history(h), lambda: plot.plot_model(m),
                 lambda: plot.plot_decision_boundary(m, X, y),
                 lambda: plot.plot_activations(m, X[:3])):
        with pytest.raises(ImportError, match=r'pip install matplotlib .*pip install -e "\.\[plot\]"'):
            call()


@pytest.mark.slow
def test_import_fastnn_does_not_import_matplotlib():
    code = "import sys, fastnn, fastnn.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


@pytest.mark.slow
def test_demo_writes_its_pictures(tmp_path, monkeypatch, capsys):
    from fastnn.__main__ import main

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # skip the digits part
    folder = tmp_path / "pics"
    assert main(["demo", "--plots", str(folder)]) == 0
    out = capsys.readouterr().out
    names = sorted(os.listdir(folder))
    assert names == ["boundary_circle_4-2.png", "boundary_gaussian_4-2.png",
                     "boundary_spiral_32-32.png", "boundary_spiral_4-2.png",
                     "boundary_xor_4-2.png", "history_spiral_32-32.png"]
    for name in names:
        assert png_size(folder / name)[0] > 300 and str(folder / name) in out
    # and what each picture shows
    assert "boundary_*: a network's output over the plane" in out
    assert "history_spiral_32-32: loss and accuracy per epoch" in out
    assert main(["demo", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Pictures:" not in out and ".png" not in out
