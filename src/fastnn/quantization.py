"""Dynamic int8 quantization for inference, as ONNX Runtime's ``quantize_dynamic``:
``fastnn.quantize(model, "int8")``.

Each Dense kernel W (n_in, units) becomes int8 per output column, symmetric:
``ws[j] = max_k |W[k, j]| / 127``, ``wq = round(W / ws)`` in [-127, 127] (round half
to even; a zero column keeps ``ws = 1``).  At predict time each layer's input
block (up to 1,024 rows) is quantized to uint8 with ONNX's DynamicQuantizeLinear
(asymmetric over the block's range extended to include 0), the products are
exact int32 sums (csrc/fnn_quant.h; VNNI's vpdpbusd where the CPU has AVX512_VNNI
and the "avx512" level is in use, portable loops with the same bits elsewhere),
and ``z = float(Σ (xq − zp)·wq) · (xs·ws[j]) + b[j]``; biases and activations stay
float32.

The quantized model is a frozen snapshot for inference: ``predict``, ``save`` (a
fastnn model file of kind "int8" holding the float32 weights it was made from,
which determine the int8 ones; ``fastnn.load_model`` returns a QuantizedModel
again) and ``export_onnx`` (DynamicQuantizeLinear + MatMulInteger, which ONNX
Runtime runs).  It cannot be trained: quantize after training.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._kernels import _core
from ._validation import as_float_array, check_finite, fail
from .threads import predict_thread_policy

MODES = ("int8",)


def quantize_kernel(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(wq int8 (n_in, units), ws float32 (units,)) of a float kernel, as above."""
    W = np.asarray(W, np.float32)
    amax = np.abs(W).max(axis=0)
    ws = np.where(amax > 0, amax / np.float32(127), np.float32(1)).astype(np.float32)
    wq = np.clip(np.rint(W / ws), -127, 127).astype(np.int8)
    return np.ascontiguousarray(wq), ws


class QuantizedModel:
    """An int8 snapshot of a float32 Sequential (see the module docstring)."""

    def __init__(self, model: Any) -> None:
        from .models import Sequential
        if not isinstance(model, Sequential):
            fail("quantize", "invalid type for argument `model`", "a fastnn.Sequential",
                 "model", model, error=TypeError)
        if model.dtype != np.float32:
            fail("quantize", "int8 quantization starts from float32 weights",
                 "a float32 model", "model.dtype", model.dtype.name)
        if not model.built:
            fail("quantize", "the model has no weights yet", "a built model (fit or "
                 "build first)", "model.built", False)
        # its own copy: the float model may go on training
        self._source = model.__class__.from_config(model.get_config())
        self._source.build((None, model.input_dim))
        self._source.set_weights(model.get_weights())
        self.name = model.name
        self.input_dim = model.input_dim
        shape = model.input_shape
        self._input_shape = shape[1:] if shape is not None and len(shape) > 2 else None
        layers: list[_core.Int8Layer] = []
        self._onnx_parts: list[tuple[Any, ...]] = []
        for layer in self._source.dense_layers:
            w = layer.get_weights()
            wq, ws = quantize_kernel(w[0])
            Wp, wsum = _core.int8_pack(wq)
            bias = np.ascontiguousarray(w[1], np.float32) if layer.use_bias else None
            layers.append(_core.Int8Layer(n_in=wq.shape[0], n_out=wq.shape[1], act=layer._act,
                                          packed=Wp, col_sums=wsum, scales=ws, bias=bias))
            self._onnx_parts.append((layer, wq, ws, bias))
        self._layers: tuple[_core.Int8Layer, ...] = tuple(layers)
        self._net = _core.Int8Net(self._layers)  # checked once; predict runs it

    @property
    def quantized_layers(self) -> list[tuple[Any, ...]]:
        """Per Dense layer (layer, int8 kernel, per-column scale, float bias): what an
        ONNX export writes."""
        return list(self._onnx_parts)

    @property
    def sample_shape(self) -> tuple[int | None, ...] | None:
        """One sample's shape when the model takes samples that are not flat (e.g.
        (28, 28)); None for flat samples."""
        return self._input_shape

    @property
    def units(self) -> int:
        """Outputs of the last layer."""
        return int(self._layers[-1].n_out)

    def predict(self, x: ArrayLike, verbose: int = 0) -> np.ndarray:
        """Outputs for the rows of `x` (n, n_features) (or (n, *input_shape)), float32."""
        if type(x) is np.ndarray:  # already float32, 2-D, C order: checked in C
            out = self._net.predict_fast(x)
            if out is not None:
                return out
        X = as_float_array("predict", "x", x, np.dtype(np.float32), ndim=None,
                           allow_empty=True, finite=False)  # the kernel's range pass checks
        if self._input_shape is not None and X.ndim > 2 and X.shape[1:] == self._input_shape:
            X = X.reshape(len(X), -1)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            fail("predict", "x has the wrong shape",
                 f"(n_samples, {self.input_dim})", "x.shape", X.shape)
        X = np.ascontiguousarray(X)
        try:
            if len(X) <= 1024:  # one block: one thread
                return self._net.predict(X)
            n_params = sum(layer[0] * layer[1] for layer in self._layers)  # K·N per layer
            with predict_thread_policy(len(X), n_params) as threads:  # blocks over threads
                return self._net.predict(X, threads=max(threads, 1))
        except ValueError:
            check_finite("predict", "x", X)  # NaN or inf: the message that says where
            raise

    __call__ = predict

    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Write a fastnn model file of kind "int8" (atomically)."""
        from . import _model_file
        _model_file.save(self._source, filepath, kind="int8", overwrite=overwrite)

    def float_model(self) -> Any:
        """A copy of the float32 model this was quantized from."""
        from .models import clone_model
        m = clone_model(self._source)
        m.build((None, self.input_dim))
        m.set_weights(self._source.get_weights())
        return m

    def export_onnx(self, filepath: str | os.PathLike[str]) -> None:
        """Write the int8 graph as ONNX (DynamicQuantizeLinear, MatMulInteger)."""
        from .interop import onnx as _onnx
        _onnx.export_int8(self, filepath)

    def __repr__(self) -> str:
        sizes = [self.input_dim] + [layer[1] for layer in self._layers]
        return f"<QuantizedModel int8 {'-'.join(map(str, sizes))}>"


def quantize(model: Any, mode: str = "int8") -> QuantizedModel:
    """An int8 copy of a trained float32 ``model`` for inference (see the module
    docstring); the model itself is unchanged."""
    if mode not in MODES:
        fail("quantize", "unknown quantization mode", " or ".join(map(repr, MODES)), "mode",
             mode, error=TypeError if not isinstance(mode, str) else ValueError)
    return QuantizedModel(model)


def kernel() -> str:
    """Where int8 products run now: "avx512_vnni" or "portable" (same results)."""
    return _core.int8_kernel()
