"""Overfitting shown, not told: an over-sized network memorises a small noisy
training set, and each remedy from the guide (README §9) — L2 regularization,
dropout, early stopping — shrinks the gap between training and validation loss.

Run:  python examples/overfitting.py
"""

import fastnn
from fastnn.callbacks import EarlyStopping
from fastnn.layers import Dense, Dropout


def data(seed=0):
    X, y = fastnn.datasets.make_gaussian(400, noise=0.4, seed=seed)
    X = X / 5
    return X[:60], y[:60], X[60:], y[60:]   # 60 noisy training points, 340 for validation


def model(variant, seed=0):
    reg = fastnn.regularizers.l2(1e-2) if variant == "l2" else None
    layers = [fastnn.Input(shape=(2,)), Dense(128, activation="relu", kernel_regularizer=reg)]
    if variant == "dropout":
        layers.append(Dropout(0.5))
    layers.append(Dense(128, activation="relu", kernel_regularizer=reg))
    if variant == "dropout":
        layers.append(Dropout(0.5))
    layers.append(Dense(1, activation="sigmoid"))
    m = fastnn.Sequential(layers, seed=seed)
    m.compile(fastnn.optimizers.Adam(0.01), "binary_crossentropy", ["accuracy"])
    return m


def gaps(seed=0, epochs=300):
    """{variant: (train loss, validation loss, gap)}, losses without penalties."""
    X, y, Xv, yv = data(seed)
    out = {}
    for variant in ("plain", "l2", "dropout", "early_stopping"):
        m = model(variant, seed)
        cbs = [EarlyStopping(patience=10, restore_best_weights=True)] \
            if variant == "early_stopping" else []
        m.fit(X, y, epochs=epochs, batch_size=16, validation_data=(Xv, yv), verbose=0,
              callbacks=cbs)
        # data loss only (evaluate would add the L2 penalty to both sides alike)
        plain = model("plain", seed)
        plain.build()
        plain.set_weights(m.get_weights())
        train, val = (plain.evaluate(a, b, verbose=0)[0] for a, b in ((X, y), (Xv, yv)))
        out[variant] = (train, val, val - train)
    return out


if __name__ == "__main__":
    for variant, (train, val, gap) in gaps().items():
        print(f"{variant:>15}: train loss {train:.3f}  validation loss {val:.3f}  gap {gap:.3f}")
