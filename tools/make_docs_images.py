"""Draw the pictures in docs/images/ with fastnn.plot (needs the "plot" extra).

    python tools/make_docs_images.py [--out docs/images]

Trains the guide's tanh 4-2 network on the Playground circle (the last quarter
held out for validation) and a small softmax network on three Gaussian blobs,
then writes: history.png, boundary.png (the held-out points: its accuracy is
the last val_accuracy), boundary_multiclass.png, activations.png, model.png (the
3-4-2 network of README §2, as its code builds it), and overfitting.png (a
2-128-128-1 network on 60 noisy Gaussian points).  One colour convention, the
TensorFlow Playground's (blue positive / class 1, orange negative / class 0).  The PNGs are reduced to a
256-color palette (Pillow, which matplotlib installs) to keep the repository small.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

import fastnn
from fastnn import plot
from fastnn.layers import Dense, Dropout


def shrink(path: str) -> None:
    """Rewrite a PNG with a 256-color palette (about a quarter of the size)."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(256)
    small.save(path, optimize=True)


def binary_classifier(X: np.ndarray, y: np.ndarray, hidden: tuple[int, ...], activation: str,
                      name: str, learning_rate: float,
                      **fit: Any) -> tuple[fastnn.Sequential, fastnn.callbacks.History]:
    """A 2-input network with `hidden` layers and a sigmoid output, trained by Adam
    (batch 16, seed 0); the model and its History."""
    net = fastnn.Sequential([fastnn.Input(shape=(2,)),
                             *(Dense(units, activation=activation) for units in hidden),
                             Dense(1, activation="sigmoid")], name=name, seed=0)
    net.compile(fastnn.optimizers.Adam(learning_rate), "binary_crossentropy", ["accuracy"])
    return net, net.fit(X, y, batch_size=16, verbose=0, **fit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join("docs", "images"))
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    X, y = fastnn.datasets.make_circle(600, noise=0.05, seed=0)
    X = X / 5
    net, history = binary_classifier(X, y, (4, 2), "tanh", "circle_tanh_4-2", 0.03,
                                     epochs=60, validation_split=0.25)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    B = np.array([[0, 0], [2, 2], [-2, 2]])[labels] + rng.normal(0, 0.7, (400, 2))
    blobs = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(16, activation="relu"),
                               Dropout(0.1), Dense(3, activation="softmax")],
                              name="blobs_relu_16", seed=0)
    blobs.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    blobs.fit(B, labels, epochs=50, verbose=0)
    # an over-sized network on 60 noisy points (README, "Overfitting and its remedies")
    G, g = fastnn.datasets.make_gaussian(400, noise=0.4, seed=0)
    G = G / 5
    _, overfit = binary_classifier(G[:60], g[:60], (128, 128), "relu", "overfitting_128-128",
                                   0.01, epochs=300, validation_data=(G[60:], g[60:]))
    # README §2's network, exactly as its code builds it (seed 0, untrained)
    layers_net = fastnn.Sequential([fastnn.Input(shape=(3,)), Dense(4, activation="relu"),
                                    Dense(2, activation="softmax")], seed=0)
    layers_net.build()  # §2's get_layer_outputs builds it: its initial weights
    held = len(X) // 4  # validation_split=0.25: the last quarter
    print(f"circle_tanh_4-2: val_accuracy {history.history['val_accuracy'][-1]:.1%} "
          f"on the last {held} points")
    pictures = {
        "history.png": lambda p: plot.plot_history(history, p),
        "boundary.png": lambda p: plot.plot_decision_boundary(net, X[-held:], y[-held:], p),
        "boundary_multiclass.png": lambda p: plot.plot_decision_boundary(blobs, B, labels, p),
        "activations.png": lambda p: plot.plot_activations(net, X[:6], p),
        "model.png": lambda p: plot.plot_model(layers_net, p),
        "overfitting.png": lambda p: plot.plot_history(overfit, p),
    }
    for name, draw in pictures.items():
        path = os.path.join(out, name)
        draw(path)
        shrink(path)
        print(f"{path}: {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
