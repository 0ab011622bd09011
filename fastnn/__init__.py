"""fastnn — fast dense neural networks for the CPU, with a Keras-like API.

>>> import fastnn
>>> model = fastnn.Sequential([fastnn.Input(shape=(2,)),
...                            fastnn.layers.Dense(4, activation="tanh"),
...                            fastnn.layers.Dense(1, activation="sigmoid")], seed=0)
>>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""
from . import (activations, callbacks, datasets, initializers, layers, losses,
               model_selection, optimizers, regularizers)
from ._validation import (ConvergenceWarning, MismatchedLossWarning, NonFiniteLossError,
                          NotFittedError, ZeroGradientWarning)
from .layers import Input
from .models import Sequential, clone_model
from .perceptron import Perceptron

__version__ = "0.1.0"

__all__ = [
    "Sequential", "Input", "Perceptron", "clone_model", "layers", "activations", "losses",
    "optimizers", "regularizers", "initializers", "callbacks", "datasets",
    "model_selection", "NotFittedError", "NonFiniteLossError", "ConvergenceWarning",
    "MismatchedLossWarning", "ZeroGradientWarning", "__version__",
]
