"""Command line: ``python -m fastnn demo``, ``python -m fastnn info`` and
``python -m fastnn bench`` (the benchmark suite, fastnn.bench)."""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

from ._version import __version__


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def _plots_folder(plots: str | None) -> str | None:
    """Where the demo's pictures go: `plots`, created if needed; a fresh temporary
    folder for "auto"; None (no pictures) for None or without matplotlib."""
    if plots is None:
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print('(no pictures: matplotlib is not installed; pip install "fastnn[plot]")')
        return None
    if plots == "auto":
        import tempfile

        return tempfile.mkdtemp(prefix="fastnn-demo-")
    os.makedirs(plots, exist_ok=True)
    return plots


def demo(seed: int = 0, plots: str | None = None) -> dict[str, float]:
    """Train the course notes' examples and print each result; returns them.

    plots : a folder for the pictures (decision boundaries of the Playground runs,
        the training history of the last one), "auto" for a new temporary folder,
        or None for none; needs matplotlib (``pip install "fastnn[plot]"``).
    """
    import fastnn
    from fastnn import datasets
    from fastnn.layers import Dense

    folder = _plots_folder(plots)
    written = []
    results = {}
    gates = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    _section("Perceptron (one neuron, step activation, perceptron rule)")
    for name, y in (("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1]), ("XOR", [0, 1, 1, 0])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", fastnn.ConvergenceWarning)
            p = fastnn.Perceptron(learning_rate=1.0, max_epochs=50).fit(gates, y)
        acc = p.score(gates, y)
        results[f"perceptron_{name}"] = acc
        note = (f"converged after {len(p.errors_)} epochs" if p.converged_ else
                "never converges: XOR is not linearly separable" if caught else "")
        print(f"{name:>4}: predictions {p.predict(gates).tolist()} accuracy {acc:.0%}  ({note})")

    _section("Multilayer network on XOR (2-4-1, tanh + sigmoid)")
    model = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(4, activation="tanh"),
                               Dense(1, activation="sigmoid")], seed=seed)
    model.compile(optimizer=fastnn.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(gates, [0, 1, 1, 0], epochs=300, batch_size=4, verbose=0)
    out = model.predict(gates).ravel()
    results["mlp_xor"] = float(np.mean((out > 0.5) == np.array([0, 1, 1, 0])))
    print(f"outputs {[round(float(v), 3) for v in out]} accuracy {results['mlp_xor']:.0%}")

    _section("Playground data sets, the notes' tanh 4-2 network")
    runs = [(name, (4, 2)) for name in ("circle", "xor", "gaussian", "spiral")]
    runs.append(("spiral", (16, 16)))  # 4-2 is too small for the spiral, as in the Playground
    for name, (h1, h2) in runs:
        X, y = getattr(datasets, f"make_{name}")(600, noise=0.05, seed=seed)
        X = X / 5.0
        net = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(h1, activation="tanh"),
                                 Dense(h2, activation="tanh"), Dense(1, activation="sigmoid")],
                                name=f"{name}_tanh_{h1}-{h2}", seed=seed)
        net.compile(optimizer=fastnn.optimizers.Adam(0.03), loss="binary_crossentropy",
                    metrics=["accuracy"])
        t0 = time.perf_counter()
        h = net.fit(X, y, epochs=200, batch_size=16, validation_split=0.25, verbose=0)
        dt = time.perf_counter() - t0
        results[f"playground_{name}_{h1}-{h2}"] = h.history["val_accuracy"][-1]
        print(f"{name:>8}, tanh {h1}-{h2}: validation accuracy "
              f"{h.history['val_accuracy'][-1]:.1%} (200 epochs in {dt:.2f} s)")
        if folder is not None:
            path = os.path.join(folder, f"boundary_{name}_{h1}-{h2}.png")
            fastnn.plot.plot_decision_boundary(net, X, y, path, resolution=120)
            written.append(path)
    if folder is not None:
        written.append(os.path.join(folder, f"history_{name}_{h1}-{h2}.png"))
        fastnn.plot.plot_history(h, written[-1])
        print("pictures:\n  " + "\n  ".join(written))

    _section("Handwritten digits (scikit-learn's 8x8 set), 64-64-10 relu/softmax, Adam")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("scikit-learn is not installed: pip install 'fastnn[demo]'")
        return results
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, X_te, y_tr, y_val, y_te = fastnn.model_selection.train_val_test_split(
        X / 16.0, y, val_size=0.15, test_size=0.2, stratify=y, seed=seed)
    net = fastnn.Sequential([fastnn.Input(shape=(64,)), Dense(64, activation="relu"),
                             Dense(10, activation="softmax")], seed=seed)
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    net.fit(X_tr, y_tr, epochs=40, batch_size=32, validation_data=(X_val, y_val), verbose=0,
            callbacks=[fastnn.callbacks.EarlyStopping(patience=5, restore_best_weights=True)])
    dt = time.perf_counter() - t0
    acc = net.evaluate(X_te, y_te, verbose=0, return_dict=True)["accuracy"]
    results["digits_test_accuracy"] = acc
    print(f"test accuracy {acc:.1%} on {len(X_te)} held-out digits (trained in {dt:.2f} s)")
    return results


def info() -> None:
    import scipy

    import fastnn
    from fastnn._kernels import _core

    print(f"fastnn {fastnn.__version__}")
    print(f"numpy {np.__version__}, scipy {scipy.__version__} (BLAS via scipy.linalg.cython_blas)")
    print(f"dense layers use direct C loops below {_core.DEFAULT_SMALL_GEMM} multiply-adds "
          "per product, BLAS gemm above")
    print(f"instruction set: {_core.get_isa()} (available: {', '.join(_core.available_isas())}; "
          f"FASTNN_ISA={'|'.join(_core.ISAS)} forces one)")
    print("dtypes: float32 (default), float64")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # its own parser: python -m fastnn bench --help
        from .bench.cli import main as bench_main

        return bench_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m fastnn")
    parser.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="train the course notes' examples and print the results")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--plots", metavar="DIR", default="auto",
                   help="folder for the pictures (needs matplotlib); default: a new "
                        "temporary folder, whose paths are printed")
    d.add_argument("--no-plots", dest="plots", action="store_const", const=None,
                   help="draw no pictures")
    sub.add_parser("info", help="versions and build facts")
    sub.add_parser("bench", help="the benchmark suite against NumPy, PyTorch, JAX, "
                   "scikit-learn and ONNX Runtime (python -m fastnn bench --help)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.seed, args.plots)
    else:
        info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
