"""Losses: names, ids shared with the C kernels, and which last layer suits each.

Per-sample losses ℓ (k outputs); the reported loss is the mean over samples:

* ``mse`` — ℓ = (1/k) Σ_j (a_j − y_j)²
* ``binary_crossentropy`` — ℓ = −(1/k) Σ_j y_j log a_j + (1 − y_j) log(1 − a_j)
* ``categorical_crossentropy`` — ℓ = −Σ_j y_j log a_j   (y one-hot or a distribution)
* ``sparse_categorical_crossentropy`` — ℓ = −log a_c   (y an integer label c)

With a sigmoid output, binary cross-entropy is computed from the logits z
(exact, no clipping) and its gradient is the fused δ = a − y; the same holds for
softmax with (sparse) categorical cross-entropy.  Other pairs clip a to
[1e-7, 1 − 1e-7] (Keras's epsilon) and backpropagate through f'.

Which last layer goes with which loss (the course notes' table):

===================================  ===================  ==============================
problem                              last activation      loss
===================================  ===================  ==============================
binary classification                sigmoid              binary_crossentropy
multiclass, single label             softmax              categorical_crossentropy
multiclass, multilabel               sigmoid              binary_crossentropy
regression, any values               linear (None)        mse
regression, values in [0, 1]         sigmoid              mse or binary_crossentropy
===================================  ===================  ==============================
"""
from __future__ import annotations

from . import activations as A
from ._registry import resolve

MSE, BCE, CCE, SPARSE_CCE = range(4)

ALL_OBJECTS_DICT = {
    "mse": MSE,
    "mean_squared_error": MSE,
    "binary_crossentropy": BCE,
    "categorical_crossentropy": CCE,
    "sparse_categorical_crossentropy": SPARSE_CCE,
}
NAMES = {MSE: "mse", BCE: "binary_crossentropy", CCE: "categorical_crossentropy",
         SPARSE_CCE: "sparse_categorical_crossentropy"}

# (last activation, loss) pairs that the table above recommends.
STANDARD_PAIRS = {
    (A.SIGMOID, BCE), (A.SOFTMAX, CCE), (A.SOFTMAX, SPARSE_CCE),
    (A.LINEAR, MSE), (A.SIGMOID, MSE), (A.TANH, MSE), (A.RELU, MSE),
}
FUSED_PAIRS = {(A.SIGMOID, BCE), (A.SOFTMAX, CCE), (A.SOFTMAX, SPARSE_CCE)}


def get(identifier) -> int:
    """Loss id for a name."""
    return resolve("losses", identifier, ALL_OBJECTS_DICT)


def suggestion(loss: int) -> str:
    return {
        BCE: "binary_crossentropy expects a sigmoid output (binary or multilabel)",
        CCE: "categorical_crossentropy expects a softmax output",
        SPARSE_CCE: "sparse_categorical_crossentropy expects a softmax output",
        MSE: "mse expects a linear output (any values) or sigmoid (values in [0, 1])",
    }[loss]
