"""The perceptron of the guide (README §1) on the logic gates: it learns AND and OR
(linearly separable) and never learns XOR (not separable).

Run:  python examples/perceptron_gates.py
"""
import warnings

import numpy as np

import fastnn

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}

if __name__ == "__main__":
    for name, y in GATES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastnn.ConvergenceWarning)
            p = fastnn.Perceptron(learning_rate=1.0, max_epochs=50).fit(X, y)
        print(f"{name:>3}: w={p.weights_.tolist()} b={p.bias_:+.1f} "
              f"predictions={p.predict(X).tolist()} mistakes per epoch={p.errors_[:8]}"
              f"{' ...' if len(p.errors_) > 8 else ''}")
