"""XOR, which no single neuron can learn, learned by a 2-2-1 network with
backpropagation — and a look inside its hidden layer.

Run:  python examples/xor_mlp.py
"""
import numpy as np

import fastnn
from fastnn.layers import Dense

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y = np.array([0, 1, 1, 0])

if __name__ == "__main__":
    model = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(2, activation="tanh"),
                               Dense(1, activation="sigmoid")], dtype="float64", seed=4)
    model.compile(optimizer=fastnn.optimizers.SGD(0.5, momentum=0.9),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y, epochs=500, batch_size=4, verbose=0)
    print("final loss", round(history.history["loss"][-1], 4),
          "accuracy", history.history["accuracy"][-1])
    hidden, output = model.get_layer_outputs(X)
    for x, h, o in zip(X, hidden, output):
        print(f"x={x.astype(int).tolist()}  hidden a[1]={np.round(h, 3).tolist()}  "
              f"output={o[0]:.3f}")
