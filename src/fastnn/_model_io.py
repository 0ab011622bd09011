"""Files and handles of a model (a mixin of Sequential): ``save``,
``save_weights``, ``load_weights`` (fastnn's model file, :mod:`fastnn._model_file`),
``export`` (ONNX, :mod:`fastnn.interop.onnx`), ``c_handle`` (the Cython API,
fastnn/capi.pxd) and pickling, which goes through the model file.  The functions below the class
pick the file kind by name (``.keras``, ``.weights.h5``: fastnn.interop) or by
content, so the model <-> archive mapping (fastnn._model_file) knows no interop."""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np

from . import _model_file
from ._archive import check_path
from ._kernels import _core
from ._shaping import variable_layout
from ._state import SequentialAttributes
from ._untrusted import open_regular
from ._validation import check_bool

if TYPE_CHECKING:
    from .layers import Layer
    from .models import Sequential


class SavedState(NamedTuple):
    """Copies of what a model file holds beside the config, taken at one moment:
    ``variables`` maps "j/name" (stage j's kernel, bias, gamma, ..., in
    :meth:`ModelIO.own_variable_shapes`'s order) to an array; ``rng`` the three random
    streams' generator states (fastnn.training.STREAM_* order); ``slots`` the
    optimizer's two state arrays, None before the first fit; ``stages`` the layers
    the C loop runs (Dense and the normalizations: stage j of the keys) and
    ``widths`` the number of inputs each receives."""
    variables: dict[str, np.ndarray]
    rng: tuple[np.ndarray, ...]
    slots: tuple[np.ndarray, np.ndarray] | None
    stages: tuple[Layer, ...]
    widths: tuple[int, ...]


class ModelIO(SequentialAttributes):
    """Saving, exporting and pickling for :class:`fastnn.Sequential` (a mixin; it is
    mixed into Sequential only, so it passes ``cast("Sequential", self)`` on)."""
    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True,
             save_format: str | None = None) -> None:
        """Save the whole model to `filepath` (fastnn's file format; ``.fastnn`` is the
        usual suffix): architecture, weights, compile settings and the training state
        (optimizer slots, step count, learning rate, random streams), so
        ``fastnn.load_model`` gives a model that trains on exactly as this one would.
        A path ending in ``.keras`` gets a Keras 3 file that ``keras.saving.load_model``
        loads (and fastnn reads back with all of the above; needs the ``keras`` extra,
        see ``fastnn.interop.keras_out``); other ``.h5`` names are refused.
        The write is atomic: the previous file stays intact until the new one is
        complete.  Safe while other threads predict; raises RuntimeError while ``fit``
        runs in another thread.  ``save_format`` (Keras 2's) is refused: the name's
        suffix picks the format, and fastnn writes no TensorFlow SavedModel."""
        if save_format is not None:
            raise ValueError(
                "save(): fastnn picks the format from the file name ('.keras': a Keras 3 "
                "file; any other name: fastnn's own file) and writes no TensorFlow "
                "SavedModel or legacy HDF5 ('tf', 'h5'); for an ONNX graph use "
                "model.export(path). Expected save_format=None. "
                f"Received: save_format={save_format!r}")
        save_by_suffix(cast("Sequential", self), filepath, "model", overwrite)

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
        """Save only the weights (with the architecture they belong to); a path ending in
        ``.weights.h5`` gets Keras 3's weights file (``keras`` extra)."""
        save_by_suffix(cast("Sequential", self), filepath, "weights", overwrite)

    def load_weights(self, filepath: str | os.PathLike[str], *,
                     allow_nonfinite: bool = False) -> None:
        """Set the weights from a file written by ``save_weights`` or ``save`` (or a
        Keras ``.weights.h5``); the layers with weights (Dense, normalizations) must
        have the same shapes.  The optimizer state is kept."""
        func = "load_weights"
        path = check_path(func, filepath)
        allow_nonfinite = check_bool(func, "allow_nonfinite", allow_nonfinite)
        self._check_not_training(func)
        f, size = open_regular(path)
        with f:
            if f.read(8) == b"\x89HDF\r\n\x1a\n":  # Keras's .weights.h5
                from .interop import keras

                if self._input_dim is None:
                    raise ValueError(f"{func}(): {path!r} is a Keras weights file, which holds "
                                     "no input size; give the model an Input(shape=...) (or "
                                     "build or fit it) before loading weights into it.")
                self._ensure_built(func)  # the layers' shapes, from get_weights
                weights = keras.read_weights_file(f, size, path, cast("Sequential", self))
                _model_file.check_finite(
                    path, {f"weights[{i}]": w for i, w in enumerate(weights)}, allow_nonfinite)
                with self._writing():
                    self._ensure_built_locked(func)
                    self._set_dense_weights(weights)
                return
        config, arrays, saved = _model_file.read(path, path, self._file_class())
        saved_dim = config["input_dim"]
        weights = [] if saved_dim is None else [
            arrays[f"weights/{key}.npy"] for key in saved.own_variable_shapes(saved_dim)]
        _model_file.check_finite(path, arrays, allow_nonfinite)
        _model_file.check_variances(path, arrays)
        with self._writing():
            input_dim = self._input_dim if self._input_dim is not None else saved_dim
            mine = [] if input_dim is None else [
                shape for _, _, _, shape in variable_layout(self._stages, input_dim)]
            theirs = [w.shape for w in weights]
            if not theirs or mine != theirs:
                raise ValueError(f"{func}(): the file's weights do not fit this model. Expected "
                                 f"shapes {mine}. Received: {theirs} from {path!r}.")
            previous, self._input_dim = self._input_dim, input_dim
            try:
                self._ensure_built_locked(func)
            except BaseException:
                self._input_dim = previous
                raise
            self._set_dense_weights(weights)

    # ------------------------------------------------- the state a file writer reads
    def own_variable_shapes(self, input_dim: int | None = None) -> dict[str, tuple[int, ...]]:
        """{"j/name": shape} of every variable the model keeps for `input_dim` input
        features (default: its own input size; {} when unknown), in the flat buffer's
        order (fastnn._shaping.variable_layout).  Nothing is created."""
        n = self._input_dim if input_dim is None else input_dim
        if n is None:
            return {}
        return {f"{j}/{name}": shape for j, _, name, shape in variable_layout(self._stages, n)}

    @contextlib.contextmanager
    def state_for_saving(self, func: str, need_weights: bool = False
                         ) -> Iterator[SavedState]:
        """Yield a :class:`SavedState` while holding the model's read lock, so that what
        the caller reads of the model meanwhile (config, compile settings) is of the
        same moment; predicts may run alongside.  The weights predict would create are
        created first (``need_weights``: NotFittedError when they cannot be).
        RuntimeError while fit() runs in another thread."""
        self._check_not_training(func)
        if need_weights or (self._input_dim is not None and self._dense):
            self._ensure_built(func)
        with self._reading(func):
            variables: dict[str, np.ndarray] = {}
            if self._params is not None:
                assert self._input_dim is not None  # built
                offsets = [o for layer in self._stages for o in self._offsets_of(layer)]
                for (key, shape), off in zip(self.own_variable_shapes().items(), offsets):
                    size = math.prod(shape)
                    variables[key] = self._params[off:off + size].reshape(shape).copy()
            slots = None if self._slots is None else (self._slots[0].copy(),
                                                      self._slots[1].copy())
            stages = tuple(self._stages) if self._params is not None else ()
            yield SavedState(variables, tuple(self._rng[i].copy() for i in range(3)), slots,
                             stages, tuple(self._dense_inputs[layer] for layer in stages))

    def load_own_state(self, input_dim: int | None, variables: dict[str, np.ndarray],
                       rng: Sequence[np.ndarray] | None = None) -> None:
        """Create the weights for `input_dim` features (None: none, for a model that
        has no input size) and set each variable that `variables` holds (keys and
        shapes of :meth:`own_variable_shapes`, checked by the caller: a model file's
        reader), then the random streams' states if given.  For a model just made
        from a config (unbuilt, not shared yet)."""
        shapes = self.own_variable_shapes(input_dim) if input_dim is not None else {}
        for key, arr in variables.items():
            if shapes.get(key) != arr.shape:
                raise ValueError(f"load_own_state(): {key} has shape {arr.shape}; the model "
                                 f"expects {shapes.get(key)}")
        if input_dim is not None:
            self._build(input_dim)
            assert self._params is not None  # just built
            offsets = [o for layer in self._stages for o in self._offsets_of(layer)]
            for key, off in zip(shapes, offsets):
                value = variables.get(key)
                if value is not None:
                    self._params[off:off + value.size] = value.reshape(-1)
            self._guard.writes += 1  # as a write section ends (fastnn/_state.py)
        if rng is not None:
            for i, state in enumerate(rng):
                self._rng[i][:] = state

    def load_optimizer_slots(self, slots: tuple[np.ndarray, np.ndarray]) -> None:
        """Set the optimizer's two state arrays (of a compiled, built model) from a
        model file, as fit() left them."""
        size = 0 if self._params is None else self._params.size
        if self.optimizer is None or len(slots) != 2 or any(
                s.shape != (size,) for s in slots):
            raise ValueError(f"load_optimizer_slots(): expected two arrays of shape "
                             f"({size},) for a compiled model. Received: "
                             f"{[getattr(s, 'shape', s) for s in slots]}")
        self._slots = (np.ascontiguousarray(slots[0], self.dtype),
                       np.ascontiguousarray(slots[1], self.dtype))

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

    def __reduce__(self) -> tuple[Callable[[bytes, type[Sequential]], Sequential],
                                  tuple[bytes, type[Sequential]]]:
        # copy and serialise through the model file: arrays and JSON, no C pointers
        model = cast("Sequential", self)
        return _model_file.from_bytes, (_model_file.to_bytes(model), self._file_class())


def save_by_suffix(model: Sequential, filepath: str | os.PathLike[str], kind: str,
                   overwrite: bool) -> None:
    """``model.save`` / ``save_weights``: a Keras file for ``.keras`` (model) and
    ``.weights.h5`` (weights), fastnn's own file otherwise; other ``.h5`` names (Keras's
    legacy HDF5 model format) are refused."""
    func = "save_weights" if kind == "weights" else "save"
    path = check_path(func, filepath)
    overwrite = check_bool(func, "overwrite", overwrite)
    lower = path.lower()
    if kind == "model" and lower.endswith(".keras"):
        from .interop import keras_out

        return keras_out.save_keras(model, path, overwrite)
    if kind == "weights" and lower.endswith(".weights.h5"):
        from .interop import keras_out

        return keras_out.save_weights_h5(model, path, overwrite)
    if lower.endswith((".h5", ".hdf5")):
        what = ("Keras's legacy HDF5 model format" if kind == "model" else
                "an HDF5 weights file whose name does not end in .weights.h5")
        raise ValueError(
            f"{func}(): {path!r} asks for {what}, which fastnn does not write. Use "
            + ("'.keras' (a Keras 3 file Keras and fastnn load) or '.fastnn' (fastnn's own "
               "file)" if kind == "model" else "a name ending in '.weights.h5' (Keras 3's "
               "weights file) or '.fastnn'") + f". Received: filepath={path!r}")
    _model_file.save(model, path, kind=kind, overwrite=overwrite)
