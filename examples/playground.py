"""The guide's TensorFlow Playground experiment: a tanh network with hidden
layers of 4 and 2 units on the circle, XOR, gaussian and spiral data sets.

Run:  python examples/playground.py [--hidden 4 2] [--epochs 200]
"""
import argparse

import fastnn
from fastnn.layers import Dense

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, nargs="+", default=[4, 2])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.05)
    args = parser.parse_args()
    for name in ("circle", "xor", "gaussian", "spiral"):
        X, y = getattr(fastnn.datasets, f"make_{name}")(600, noise=args.noise, seed=0)
        layers = [fastnn.Input(shape=(2,))]
        layers += [Dense(units, activation="tanh") for units in args.hidden]
        layers.append(Dense(1, activation="sigmoid"))
        model = fastnn.Sequential(layers, seed=0)
        model.compile(fastnn.optimizers.Adam(0.03), "binary_crossentropy", ["accuracy"])
        h = model.fit(X / 5, y, epochs=args.epochs, batch_size=16, validation_split=0.25,
                      verbose=0)
        print(f"{name:>8}: train accuracy {h.history['accuracy'][-1]:.1%}, "
              f"validation accuracy {h.history['val_accuracy'][-1]:.1%}")
