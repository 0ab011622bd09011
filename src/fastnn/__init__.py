"""fastnn — fast dense neural networks for the CPU, with a Keras-like API.

Its guide (README.md; ``python -m fastnn demo`` trains its examples) walks
through the ideas of an introductory course on neural networks with Python and
Keras; the docstrings call that course's conventions "the guide's".

>>> import fastnn
>>> model = fastnn.Sequential([fastnn.Input(shape=(2,)),
...                            fastnn.layers.Dense(4, activation="tanh"),
...                            fastnn.layers.Dense(1, activation="sigmoid")], seed=0)
>>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""
from . import (activations, callbacks, datasets, initializers, layers, losses,
               mixed_precision, model_selection, optimizers, plot, regularizers, utils)
from .errors import (ConvergenceWarning, MismatchedLossWarning, ModelFileError,
                     NonFiniteLossError, NotFittedError, ZeroGradientWarning)
from ._version import __version__
from .layers import Input
from .models import Sequential, clone_model
from .functional import Model
from .perceptron import Perceptron
from .quantization import QuantizedModel, quantize
from .saving import load_model
from .threads import get_num_threads, num_threads, set_num_threads
from . import models as _models

# keras.models.load_model's place; set here, at the top, because saving builds
# Sequentials and so imports fastnn.models (which must not import it back)
_models.load_model = load_model



# Keras modules fastnn has no counterpart for: `import fastnn as keras` scripts that
# reach them get a message saying why, not a bare AttributeError
_KERAS_ONLY = {
    "constraints": "fastnn's layers take no weight constraints (kernel_constraint=None)",
    "applications": "fastnn trains dense networks; it has no pretrained image models",
    "preprocessing": "fastnn takes NumPy arrays, scipy.sparse matrices, generators and "
                     "PyDataset-style sequences; prepare data with NumPy or scikit-learn",
    "ops": "fastnn runs its layers in C and has no tensor operations for Python code",
    "backend": "fastnn has one backend, its C kernels",
    "distribution": "fastnn trains on the CPU cores of one machine "
                    "(fastnn.set_num_threads); it has no device or data-parallel "
                    "distribution",
    "Layer": "fastnn runs its own layers in C (see fastnn.layers); it cannot call a "
             "custom layer's Python code",
}


def __getattr__(name: str) -> object:
    if name in _KERAS_ONLY:
        raise AttributeError(f"module 'fastnn' has no attribute {name!r}: "
                             f"{_KERAS_ONLY[name]}.")
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")


def get_include() -> str:
    """The folder to put on Cython's include path to ``cimport fastnn.capi``."""
    import os

    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


__all__ = [
    "get_include",
    "Sequential", "Model", "Input", "load_model", "ModelFileError", "set_num_threads",
    "get_num_threads", "num_threads", "Perceptron", "clone_model", "layers", "activations", "losses",
    "optimizers", "regularizers", "initializers", "callbacks", "datasets",
    "mixed_precision", "model_selection", "plot", "utils", "NotFittedError", "NonFiniteLossError", "ConvergenceWarning",
    "MismatchedLossWarning", "ZeroGradientWarning", "__version__", "quantize",
    "QuantizedModel",
]
