"""Files and handles of a model (a mixin of Sequential): ``save``,
``save_weights``, ``load_weights`` (fastnn's model file, :mod:`fastnn.saving`),
``export`` (ONNX, :mod:`fastnn.interop.onnx`), ``c_handle`` (the Cython API,
fastnn/capi.pxd) and pickling, which goes through the model file."""
from __future__ import annotations

from ._kernels import _core


class ModelIO:
    """Saving, exporting and pickling for :class:`fastnn.Sequential` (a mixin)."""
    def save(self, filepath, overwrite: bool = True) -> None:
        """Save the whole model to `filepath` (fastnn's file format; ``.fastnn`` is the
        usual suffix): architecture, weights, compile settings and the training state
        (optimizer slots, step count, learning rate, random streams), so
        ``fastnn.load_model`` gives a model that trains on exactly as this one would.
        The write is atomic: the previous file stays intact until the new one is
        complete.  Safe while other threads predict; raises RuntimeError while ``fit``
        runs in another thread."""
        from . import saving

        saving.save(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Save only the weights (with the architecture they belong to)."""
        from . import saving

        saving.save(self, filepath, kind="weights", overwrite=overwrite)

    def load_weights(self, filepath, *, allow_nonfinite: bool = False) -> None:
        """Set the weights from a file written by ``save_weights`` or ``save``; the
        Dense layers must have the same shapes.  The optimizer state is kept."""
        from . import saving

        saving.load_weights(self, filepath, allow_nonfinite=allow_nonfinite)

    def export(self, filepath, format="onnx", verbose=True, overwrite: bool = True) -> None:
        """Export for inference in another runtime (Keras 3's name).  ``format="onnx"``
        writes an ONNX model (opset 17, dynamic batch axis, the model's dtype) that
        ONNX Runtime runs with the outputs of ``predict``; see
        ``fastnn.interop.onnx``.  Needs ``pip install "fastnn[onnx]"``."""
        if format != "onnx":
            raise ValueError(f"export(): unsupported format {format!r}. Expected 'onnx' "
                             "(fastnn exports ONNX only; model.save writes fastnn's own file).")
        from .interop import onnx

        onnx.export(self, filepath, overwrite=overwrite)
        if verbose:
            print(f"Saved the ONNX model to {filepath!s}")

    def c_handle(self):
        """The C-level entry for Cython code (``cimport fastnn.capi``): an object
        holding the C plan and a copy of the current weights, whose ``capsule`` gives
        the ``fastnn_handle`` that ``fastnn.capi.forward`` runs nogil.  A snapshot:
        later training does not change it.  See fastnn/capi.pxd."""
        self._check_not_training("c_handle")
        self._ensure_built("c_handle")
        with self._reading("c_handle"):
            net = self._net
            return _core.CHandle(net, net.params)

    def __reduce__(self):
        # copy and serialise through the model file: arrays and JSON, no C pointers
        from . import saving

        return saving.model_from_bytes, (saving.model_to_bytes(self),)
