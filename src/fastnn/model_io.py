"""Files and handles of a model (a mixin of Sequential): ``save``,
``save_weights``, ``load_weights`` (fastnn's model file, :mod:`fastnn.saving`),
``export`` (ONNX, :mod:`fastnn.interop.onnx`), ``c_handle`` (the Cython API,
fastnn/capi.pxd) and pickling, which goes through the model file."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from ._kernels import _core
from ._state import ModelState

if TYPE_CHECKING:
    from .models import Sequential


class ModelIO(ModelState):
    """Saving, exporting and pickling for :class:`fastnn.Sequential` (a mixin; it is
    mixed into Sequential only, so it passes ``cast("Sequential", self)`` on)."""
    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Save the whole model to `filepath` (fastnn's file format; ``.fastnn`` is the
        usual suffix): architecture, weights, compile settings and the training state
        (optimizer slots, step count, learning rate, random streams), so
        ``fastnn.load_model`` gives a model that trains on exactly as this one would.
        A path ending in ``.keras`` gets a Keras 3 file that ``keras.saving.load_model``
        loads (and fastnn reads back with all of the above; needs the ``keras`` extra,
        see ``fastnn.interop.keras_out``); other ``.h5`` names are refused.
        The write is atomic: the previous file stays intact until the new one is
        complete.  Safe while other threads predict; raises RuntimeError while ``fit``
        runs in another thread."""
        from . import saving

        saving.save_by_suffix(cast("Sequential", self), filepath, "model", overwrite)

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Save only the weights (with the architecture they belong to); a path ending in
        ``.weights.h5`` gets Keras 3's weights file (``keras`` extra)."""
        from . import saving

        saving.save_by_suffix(cast("Sequential", self), filepath, "weights", overwrite)

    def load_weights(self, filepath: str | os.PathLike[str], *,
                     allow_nonfinite: bool = False) -> None:
        """Set the weights from a file written by ``save_weights`` or ``save``; the
        Dense layers must have the same shapes.  The optimizer state is kept."""
        from . import saving

        saving.load_weights(cast("Sequential", self), filepath, allow_nonfinite=allow_nonfinite)

    def export(self, filepath: str | os.PathLike[str], format: str = "onnx",
               verbose: bool = True, overwrite: bool = True) -> None:
        """Export for inference in another runtime (Keras 3's name).  ``format="onnx"``
        writes an ONNX model (opset 17, dynamic batch axis, the model's dtype) that
        ONNX Runtime runs with the outputs of ``predict``; see
        ``fastnn.interop.onnx``.  Needs the ``onnx`` extra."""
        if format != "onnx":
            raise ValueError(f"export(): unsupported format {format!r}. Expected 'onnx' "
                             "(fastnn exports ONNX only; model.save writes fastnn's own file).")
        from .interop import onnx

        onnx.export(cast("Sequential", self), filepath, overwrite=overwrite)
        if verbose:
            print(f"Saved the ONNX model to {filepath!s}")

    def c_handle(self) -> _core.CHandle:
        """The C-level entry for Cython code (``cimport fastnn.capi``): an object
        holding the C plan and a copy of the current weights, whose ``capsule`` gives
        the ``fastnn_handle`` that ``fastnn.capi.forward`` runs nogil.  A snapshot:
        later training does not change it.  See fastnn/capi.pxd."""
        self._check_not_training("c_handle")
        self._ensure_built("c_handle")
        with self._reading("c_handle"):
            net = self._net
            assert net is not None  # _ensure_built made it
            return _core.CHandle(net, net.params)

    def __reduce__(self) -> tuple[Callable[[bytes], Sequential], tuple[bytes]]:
        # copy and serialise through the model file: arrays and JSON, no C pointers
        from . import saving

        return saving.model_from_bytes, (saving.model_to_bytes(cast("Sequential", self)),)
