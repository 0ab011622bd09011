"""Command line: ``python -m fastnn demo``, ``python -m fastnn info`` and
``python -m fastnn bench`` (the benchmark suite, fastnn.bench)."""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ._version import __version__

if TYPE_CHECKING:
    from .callbacks import History
    from .models import Sequential

# The demo prints plain ASCII (no colour codes, no carriage returns, no arrows):
# it reads the same on any terminal, in a log file and on a cp1252 console.
PLOT_EXTRA = 'pip install -e ".[plot]"'
DEMO_EXTRA = 'pip install -e ".[demo]"'
GATES = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)  # the logic gates' inputs
PLAYGROUND = ("circle", "xor", "gaussian", "spiral")
N_POINTS, EPOCHS, BATCH, LEARNING_RATE = 600, 200, 16, 0.03  # the Playground runs
SHAPES = {"circle": "a disc of one class inside a ring of the other",
          "xor": "four quadrants, the class flipping from each to the next",
          "gaussian": "two clouds of points, one per class",
          "spiral": "two spiral arms wound around each other"}


def _section(title: str, text: str) -> None:
    """A section's title bar, then `text`: what it shows and why."""
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))
    print(text.strip("\n"))


def _new_folder() -> str:
    """A new temporary folder for what the demo writes (its path is printed)."""
    import tempfile

    return tempfile.mkdtemp(prefix="fastnn-demo-")


def _plots_folder(plots: str | None) -> tuple[str | None, str]:
    """Where the demo's pictures go — `plots`, created if needed; a fresh temporary
    folder for "auto"; None (no pictures) for None or without matplotlib — and, when
    there are none, a note that says why and how to get them."""
    if plots is None:
        return None, ("No pictures (--no-plots). Without that flag the demo draws each "
                      "network's\ndecision boundary into a temporary folder or into "
                      f"--plots DIR; it needs\nmatplotlib: {PLOT_EXTRA}.")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None, f"No pictures: matplotlib is not installed; {PLOT_EXTRA} adds it."
    if plots == "auto":
        return _new_folder(), ""
    os.makedirs(plots, exist_ok=True)
    return plots, ""


def _perceptron(results: dict[str, float]) -> None:
    """The guide's single neuron on the AND, OR and XOR gates."""
    import fastnn

    _section("1. The perceptron: one neuron", """
A perceptron is a single neuron: it weighs its two inputs, adds a bias and
outputs 1 when the sum is >= 0, else 0 (a step activation). The perceptron rule
corrects the weights after each mistake. Its decision boundary is a straight
line, so it learns a logic gate only if one line separates the 1s from the 0s.
""")
    print("Inputs [0, 0] [0, 1] [1, 0] [1, 1]; at most 50 epochs (passes over them):")
    for name, y in (("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1]), ("XOR", [0, 1, 1, 0])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastnn.ConvergenceWarning)
            p = fastnn.Perceptron(learning_rate=1.0, max_epochs=50).fit(GATES, y)
        acc = p.score(GATES, y)
        results[f"perceptron_{name}"] = acc
        note = (f"converged in {len(p.errors_)} epochs" if p.converged_ else
                f"still wrong after {p.max_epochs} epochs")
        print(f"{name:>3}: learned {p.predict(GATES).tolist()}, target {y}: {acc:.0%}, {note}")
    print("""\
AND and OR are linearly separable, so the rule finds a line. XOR is 1 for [0, 1]
and [1, 0] and 0 for [0, 0] and [1, 1]: no straight line puts those apart, so a
single neuron never learns it. That is why neural networks have hidden layers.""")


def _mlp_xor(results: dict[str, float], seed: int) -> None:
    """A 2-4-1 tanh/sigmoid network learning XOR by backpropagation."""
    import fastnn
    from fastnn.layers import Dense

    _section("2. A hidden layer learns XOR", """
Network: 2 inputs -> 4 tanh neurons (the hidden layer) -> 1 sigmoid neuron (the
output, read as the probability of a 1). Backpropagation with the Adam optimizer
(learning rate 0.05) lowers the binary cross-entropy loss; 300 epochs over the
same 4 inputs.
""")
    model = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(4, activation="tanh"),
                               Dense(1, activation="sigmoid")], seed=seed)
    model.compile(optimizer=fastnn.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(GATES, [0, 1, 1, 0], epochs=300, batch_size=4, verbose=0)
    out = model.predict(GATES).ravel()
    results["mlp_xor"] = float(np.mean((out > 0.5) == np.array([0, 1, 1, 0])))
    print(f"outputs {[round(float(v), 3) for v in out]} (target [0, 1, 1, 0]): "
          f"accuracy {results['mlp_xor']:.0%}")
    if results["mlp_xor"] == 1.0:
        print("Each output is on the right side of 0.5: the hidden neurons bend the plane\n"
              "so that the output neuron can separate what one line could not.")
    else:
        print("Not every output is on the right side of 0.5 yet with this seed; more\n"
              "epochs (or another --seed) get there: the hidden layer makes XOR learnable.")


def _fit_playground(X: np.ndarray, y: np.ndarray, hidden: tuple[int, int], name: str,
                    seed: int) -> tuple[Sequential, History, float]:
    """The Playground network on (X, y): len(X[0]) inputs, two tanh layers of
    `hidden` neurons, one sigmoid output; Adam, EPOCHS epochs in batches of BATCH,
    the last quarter held out.  Returns the model, its history and fit's seconds."""
    import fastnn
    from fastnn.layers import Dense

    net = fastnn.Sequential([fastnn.Input(shape=(X.shape[1],)),
                             Dense(hidden[0], activation="tanh"),
                             Dense(hidden[1], activation="tanh"),
                             Dense(1, activation="sigmoid")], name=name, seed=seed)
    net.compile(optimizer=fastnn.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy",
                metrics=["accuracy"])
    t0 = time.perf_counter()
    h = net.fit(X, y, epochs=EPOCHS, batch_size=BATCH, validation_split=0.25, verbose=0)
    return net, h, time.perf_counter() - t0


def _playground(results: dict[str, float], seed: int, plots: str | None) -> str | None:
    """The guide's tanh 4-2 network on the Playground's four data sets, then the
    Playground's two remedies for the spiral, and the pictures; returns the
    pictures' folder (None without pictures)."""
    import fastnn
    from fastnn import datasets

    folder, no_pictures = _plots_folder(plots)
    held_out = N_POINTS // 4
    shapes = "\n".join(f"  {name:<9} {SHAPES[name]}" for name in PLAYGROUND)
    _section("3. TensorFlow Playground data sets", textwrap.fill(
        "The TensorFlow Playground (playground.tensorflow.org) is the browser tool the "
        "guide uses to watch a network learn: points in the plane, two classes, and a "
        "network whose shape you choose. Its four classification data sets, as made by "
        f"fastnn.datasets ({N_POINTS} points each, a little noise, coordinates scaled to "
        "-1..1):", width=80) + "\n" + shapes + "\n" + textwrap.fill(
        "The guide's network: 2 inputs (x, y) -> 4 tanh -> 2 tanh -> 1 sigmoid, here with "
        f"Adam (learning rate {LEARNING_RATE}, batch {BATCH}), {EPOCHS} epochs on "
        f"{N_POINTS - held_out} points; the accuracy is on the other {held_out}, which "
        "training never sees (50 % is a coin toss).", width=80))
    written = []

    def run(X: np.ndarray, y: np.ndarray, hidden: tuple[int, int], key: str,
            label: str) -> tuple[Sequential, History, float]:
        net, h, dt = _fit_playground(X, y, hidden, key, seed)
        acc = float(h.history["val_accuracy"][-1])
        results[f"playground_{key}"] = acc
        print(f"  {label:<26} validation accuracy {acc:6.1%}  ({EPOCHS} epochs in {dt:.2f} s)")
        if folder is not None and X.shape[1] == 2:
            written.append(os.path.join(folder, f"boundary_{key}.png"))
            # the held-out points: the title's accuracy is the validation accuracy above
            fastnn.plot.plot_decision_boundary(net, X[-held_out:], y[-held_out:], written[-1],
                                               resolution=120)
        return net, h, acc

    for name in PLAYGROUND:
        raw, y = getattr(datasets, f"make_{name}")(N_POINTS, noise=0.05, seed=seed)
        run(raw / 5.0, y, (4, 2), f"{name}_4-2", f"{name}, 4-2")
    raw, y = datasets.make_spiral(N_POINTS, noise=0.05, seed=seed)  # the same points again
    small = results["playground_spiral_4-2"]
    coin = ", hardly better than a coin toss" if small < 0.7 else ""
    print("\n" + textwrap.fill(
        f"The spiral is the hard one: {small:.1%} for the 4-2 network{coin}. Its two arms "
        "wind around each other, and 4 + 2 tanh neurons can bend the boundary only a "
        "few times. The Playground's two remedies, on the same points:", width=80))
    print("""\
  more features: the Playground's feature boxes add sin(x), sin(y), x^2, y^2
  and x*y to the inputs; here the same 4-2 network gets x, y, sin(x), sin(y);
  more neurons: 2 -> 32 tanh -> 32 tanh -> 1 sigmoid, on x and y alone.""")
    run(np.column_stack([raw / 5.0, np.sin(raw)]), y, (4, 2), "spiral_sin_4-2",
        "spiral, 4-2, sin features")
    _, h, _ = run(raw / 5.0, y, (32, 32), "spiral_32-32", "spiral, 32-32")
    if folder is None:
        print("\n" + no_pictures)
        return None
    written.append(os.path.join(folder, "history_spiral_32-32.png"))
    fastnn.plot.plot_history(h, written[-1])
    print("\nPictures:\n  " + "\n  ".join(written))
    print("""\
boundary_*: a network's output over the plane (blue: class 1, orange: class 0,
  black line: output 0.5, the decision boundary) with the points on top, as the
  Playground draws it; the points are the held-out ones, so the title's
  accuracy is the validation accuracy printed above.
history_spiral_32-32: loss and accuracy per epoch of the 32-32 network,
  training beside validation.""")
    return folder


def _digits(results: dict[str, float], seed: int, folder: str | None) -> None:
    """scikit-learn's 8x8 digits with a 64-64-10 relu/softmax network, saved into
    `folder` (a new temporary folder when None) and loaded back."""
    import fastnn
    from fastnn.layers import Dense

    _section("4. Handwritten digits", """
scikit-learn's digits: 1797 grey 8x8 images of handwritten 0 to 9, each read as
64 numbers. Network: 64 inputs -> 64 relu -> 10 softmax (one probability per
digit), Adam, at most 40 epochs: training stops early once the loss on a
validation set (15 %) stops improving. The test set (20 %) stays out of
training and gives the score.
""")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print(f"Skipped: this part needs scikit-learn ({DEMO_EXTRA} adds it).")
        return
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, X_te, y_tr, y_val, y_te = fastnn.model_selection.train_val_test_split(
        X / 16.0, y, val_size=0.15, test_size=0.2, stratify=y, seed=seed)
    net = fastnn.Sequential([fastnn.Input(shape=(64,)), Dense(64, activation="relu"),
                             Dense(10, activation="softmax")], seed=seed)
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    h = net.fit(X_tr, y_tr, epochs=40, batch_size=32, validation_data=(X_val, y_val),
                verbose=0,
                callbacks=[fastnn.callbacks.EarlyStopping(patience=5, restore_best_weights=True)])
    dt = time.perf_counter() - t0
    acc = net.evaluate(X_te, y_te, verbose=0, return_dict=True)["accuracy"]
    results["digits_test_accuracy"] = acc
    wrong = int(np.sum(net.predict(X_te).argmax(axis=1) != y_te))
    print(f"test accuracy {acc:.1%}: {wrong} of the {len(X_te)} held-out digits wrong "
          f"({len(h.history['loss'])} epochs in {dt:.2f} s);\n"
          "a random guess would be right 1 time in 10.")
    path = os.path.join(folder or _new_folder(), "digits_64-64-10.fastnn")
    net.save(path)
    again = fastnn.load_model(path)
    same = bool(np.array_equal(again.predict(X_te), net.predict(X_te)))
    results["digits_reloaded_identical"] = float(same)
    print(f"Saved the trained network (architecture, weights, optimizer state) to\n  {path}\n"
          f"and loaded it back with fastnn.load_model(path): its predictions are "
          f"{'identical' if same else 'DIFFERENT'}.")


WHERE_NEXT = """
  README.md           the guide: quick start, the training toolkit (callbacks,
                      regularization, metrics), saving and loading, performance
  examples/           the sections above as scripts to read and change (in the
                      repository): perceptron_gates.py, xor_mlp.py (a look
                      inside the hidden layer), playground.py --hidden 32 32,
                      digits.py; also overfitting.py (L2, dropout, early
                      stopping) and capi/ (fastnn called from Cython)
  help(fastnn)        the API, e.g. help(fastnn.Sequential.fit)
  model.save("m.fastnn"), fastnn.load_model("m.fastnn")
                      save a trained model, load it back later
  python -m fastnn bench --quick
                      fastnn's speed beside NumPy, PyTorch, JAX, scikit-learn
  python -m fastnn info
                      versions and the build (instruction set, BLAS)"""


GUIDE = ("Its guide (README.md) walks through the ideas of an introductory course on "
         "neural networks\nwith Python and Keras, with fastnn code; the demo trains the "
         "guide's examples.")
DEMO_DESCRIPTION = """\
Train the examples of fastnn's guide one after the other, explaining each as it
goes and printing its result (plain text, the same on a terminal and in a log):

  1. a single neuron (the perceptron) on the AND, OR and XOR logic gates
  2. a hidden layer learning XOR
  3. the TensorFlow Playground's four 2-D data sets (circle, xor, gaussian,
     spiral) with the guide's 4-2 tanh network, and a bigger one for the spiral
  4. handwritten digits (needs scikit-learn: pip install -e ".[demo]"), saved
     and loaded back

The pictures (decision boundaries, a training history; pip install -e ".[plot]")
and the saved model go into a folder whose paths are printed. A few seconds.

The guide follows the concepts of an introductory course on neural networks with
Python and Keras."""


def demo(seed: int = 0, plots: str | None = None) -> dict[str, float]:
    """Train the guide's examples, explain each and print its result; returns
    the scores by name (``"perceptron_AND"``, ``"mlp_xor"``, ``"playground_spiral_4-2"``,
    ``"digits_test_accuracy"``, ...).

    seed : the networks' seed (and the Playground data's).
    plots : a folder for the pictures (the decision boundaries of the Playground
        runs on x and y, the training history of the 32-32 spiral network), "auto"
        for a new temporary folder, or None for none; needs matplotlib
        (``pip install -e ".[plot]"``); without it the demo says how to get them.

    Prints plain ASCII text, the same on a terminal and in a log file.
    """
    t0 = time.perf_counter()
    print("fastnn demo: the examples of fastnn's guide (README.md), which follows an\n"
          "introductory course on neural networks with Python and Keras, trained here\n"
          "one after the other: a single neuron on logic gates, a hidden layer on XOR,\n"
          "the TensorFlow Playground's 2-D data sets and handwritten digits.")
    results: dict[str, float] = {}
    _perceptron(results)
    _mlp_xor(results, seed)
    folder = _playground(results, seed, plots)
    _digits(results, seed, folder)
    _section("Where to go next", WHERE_NEXT)
    print(f"\n(the demo took {time.perf_counter() - t0:.1f} s)")
    return results


def info() -> None:
    """Print fastnn's, NumPy's and SciPy's versions and the C kernels' build facts."""
    import scipy

    import fastnn
    from fastnn._kernels import _core

    print(f"fastnn {fastnn.__version__}")
    from fastnn import _blas

    print(f"numpy {np.__version__}, scipy {scipy.__version__}; products by {_blas.describe()} "
          f"(FASTNN_BLAS={'|'.join(_blas.CHOICES)} chooses)")
    print(f"dense layers use direct C loops below {_core.DEFAULT_SMALL_GEMM} multiply-adds "
          "per product, BLAS gemm above")
    print(f"instruction set: {_core.get_isa()} (available: {', '.join(_core.available_isas())}; "
          f"FASTNN_ISA={'|'.join(_core.ISAS)} forces one)")
    print("dtypes: float32 (default), float64")


def main(argv: list[str] | None = None) -> int:
    """``python -m fastnn demo|info|bench ...``: run the command `argv` names (default:
    the process's arguments) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # its own parser: python -m fastnn bench --help
        from .bench.cli import main as bench_main

        return bench_main(argv[1:])
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m fastnn", formatter_class=raw,
        description="fastnn: fast dense neural networks for the CPU, with a Keras-like API "
                    "over C\nkernels. " + GUIDE,
        epilog="examples:\n"
               "  python -m fastnn demo            train the guide's examples, explaining each\n"
               "  python -m fastnn demo --help     what the demo shows, and its options\n"
               "  python -m fastnn info            versions and the build\n"
               "  python -m fastnn bench --quick   speed beside NumPy, PyTorch, JAX, ...")
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="{demo,info,bench}")
    d = sub.add_parser(
        "demo", formatter_class=raw, help="train the guide's examples, explaining each",
        description=DEMO_DESCRIPTION,
        epilog="examples:\n"
               "  python -m fastnn demo                  pictures into a new temporary folder\n"
               "  python -m fastnn demo --plots pics     pictures into ./pics\n"
               "  python -m fastnn demo --seed 1 --no-plots")
    d.add_argument("--seed", type=int, default=0,
                   help="seed of the networks' initial weights, of their training and of "
                        "the Playground's data (default 0); the same seed prints the same "
                        "results")
    d.add_argument("--plots", metavar="DIR", default="auto",
                   help="folder for the pictures (needs matplotlib); default: a new "
                        "temporary folder, whose paths are printed")
    d.add_argument("--no-plots", dest="plots", action="store_const", const=None,
                   help="draw no pictures")
    sub.add_parser("info", help="versions and build facts",
                   description="Print fastnn's, NumPy's and SciPy's versions, the instruction "
                               "set the C kernels use and the BLAS they call.")
    sub.add_parser("bench", help="the benchmark suite against NumPy, PyTorch, JAX, "
                   "scikit-learn and ONNX Runtime (python -m fastnn bench --help)")
    args = parser.parse_args(argv)
    if args.command is None:  # bare `python -m fastnn`: say what there is
        parser.print_help()
        return 0
    if args.command == "demo":
        demo(args.seed, args.plots)
    else:
        info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
