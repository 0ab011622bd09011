"""The public namespace of fastnn's layers (Keras's ``keras.layers``): every layer
class, the table that names them (:data:`ALL_OBJECTS_DICT`, which model configs
resolve through) and the refusal of anything else.  The classes live by concern:
Input, Dense and Dropout in fastnn/_core_layers.py; Activation, ReLU, Softmax,
Flatten and Reshape in fastnn/_shaping.py; the normalizations in
fastnn/normalization.py and fastnn/_adapt.py; the noise layers in fastnn/noise.py.

Only fastnn's own layer classes run: the C loop cannot call a subclass's Python
``call``, so ``Sequential.add`` refuses any other class (:func:`check_supported`),
and importing a Keras layer fastnn lacks says so (``__getattr__`` at the end).
"""
from __future__ import annotations

from typing import Any

from ._adapt import Normalization
from ._core_layers import Dense, Dropout, Input, InputLayer, Layer
from ._shaping import Activation, Flatten, ReLU, Reshape, Softmax
from ._validation import fail
from .noise import AlphaDropout, GaussianDropout, GaussianNoise
from .normalization import BatchNormalization, LayerNormalization, UnitNormalization


ALL_OBJECTS_DICT: dict[str, type[Layer]] = {
    "Activation": Activation, "AlphaDropout": AlphaDropout,
    "BatchNormalization": BatchNormalization, "Dense": Dense, "Dropout": Dropout,
    "Flatten": Flatten, "GaussianDropout": GaussianDropout, "GaussianNoise": GaussianNoise,
    "InputLayer": InputLayer, "LayerNormalization": LayerNormalization,
    "Normalization": Normalization, "ReLU": ReLU, "Reshape": Reshape, "Softmax": Softmax,
    "UnitNormalization": UnitNormalization}


def check_supported(func: str, layer: object) -> None:
    """Refuse anything but fastnn's own layer classes: a subclass's ``call`` (or any
    Python code) would never run in the C loop — a silently different model."""
    if type(layer) in ALL_OBJECTS_DICT.values():
        return
    supported = ", ".join(sorted(ALL_OBJECTS_DICT))
    if isinstance(layer, Layer) or hasattr(layer, "call"):
        raise TypeError(
            f"{func}(): {type(layer).__name__} is a custom layer class; fastnn runs its own "
            f"layers in C and cannot call a layer's Python code. Supported layers: "
            f"{supported} (an Activation layer takes any of fastnn.activations). "
            f"Received: layer={layer!r}")
    fail(func, "invalid layer", f"one of fastnn's layers ({supported})", "layer", layer,
         error=TypeError)


# Keras layers fastnn does not have: importing one says so (Python's own message would
# be a bare "cannot import name"); an ImportError, so `from fastnn.layers import X`
# shows it too.
_NOT_IN_FASTNN = frozenset({
    "GroupNormalization", "SpectralNormalization", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "ActivityRegularization", "Rescaling", "Discretization", "CategoryEncoding",
    "StringLookup", "IntegerLookup", "TextVectorization", "Hashing", "Embedding", "Lambda",
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "SimpleRNN",
    "LSTM", "GRU", "Bidirectional", "TimeDistributed", "RepeatVector", "Permute",
    "MultiHeadAttention", "Attention", "Concatenate", "Add", "Multiply", "Average",
    "Masking", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "PReLU", "LeakyReLU", "ELU",
    "Identity", "EinsumDense",
    # the rest of Keras 3's keras.layers classes
    "Subtract", "Dot", "Maximum", "Minimum", "ThresholdedReLU", "RMSNormalization",
    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "RNN", "SimpleRNNCell", "LSTMCell",
    "GRUCell", "StackedRNNCells", "Wrapper", "AdditiveAttention", "GroupQueryAttention",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling3D",
    "MaxPooling1D", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "ZeroPadding1D", "ZeroPadding3D",
    "Cropping1D", "Cropping3D", "UpSampling1D", "UpSampling3D", "HashedCrossing",
    "Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation", "RandomZoom",
    "RandomTranslation", "RandomContrast", "RandomBrightness", "RandomHeight",
    "RandomWidth", "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomShear",
    "RandomSharpness", "RandomPerspective", "RandomPosterization", "RandomInvert",
    "RandomErasing", "RandomGaussianBlur", "RandomElasticTransform", "RandomColorJitter",
    "RandomColorDegeneration", "AutoContrast", "Equalization", "Solarization", "MixUp",
    "CutMix", "RandAugment", "AugMix", "Pipeline", "MelSpectrogram", "STFTSpectrogram",
    "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "ReversibleEmbedding"})


def __getattr__(name: str) -> Any:
    if name in _NOT_IN_FASTNN:
        raise ImportError(
            f"fastnn.layers has no {name}: fastnn trains dense networks in C from the "
            f"layers {', '.join(sorted(ALL_OBJECTS_DICT))} (an Activation layer takes any "
            "of fastnn.activations). Remove the layer, or train this model with Keras.")
    raise AttributeError(f"module 'fastnn.layers' has no attribute {name!r}")
