"""The fastnn model file's public functions: ``fastnn.load_model`` (and the
functions ``model.save``, ``save_weights``, ``load_weights`` and pickling use,
kept here under their old names).  The format is specified in docs/file-format.md.

Design:

* A zip of ``config.json`` and uncompressed (stored) ``.npy`` members: one kernel
  and one bias per Dense layer, the optimizer's two state slots.  The random
  streams, step count and learning rate are in ``config.json``, so a loaded model
  trains on exactly as the saved one would have.  Which members and entries a
  model has is :mod:`fastnn._model_file` (the model <-> archive mapping); the zip
  container, its checks and the atomic write are :mod:`fastnn._archive`, which
  knows nothing of models.
* Loading trusts nothing in the file.  Names resolve only through fastnn's tables
  (``Sequential.from_config``, ``optimizers.get``, ``losses.get``); nothing is
  imported or evaluated, and arrays are plain little-endian floats read from
  their ``.npy`` headers.  Every expected shape is computed from the config, and
  every header and member size is checked against it, before the first array is
  allocated; an array is never larger than the bytes really in the file.  Each
  array carries a SHA-256 in the config and each member the zip CRC-32, so a
  damaged byte is an error, never a different model.  Every failure is one
  :class:`fastnn.ModelFileError` naming the file and the reason.
* Saving writes a temporary file in the target folder, fsyncs it, renames it over
  the target (atomic on POSIX) and fsyncs the folder: an exception or a kill at
  any moment leaves the previous file as it was.  The bytes are deterministic
  (fixed member dates), so the same model saves to the same file.
"""
from __future__ import annotations

import os
import zipfile
from typing import IO

from . import _model_file
from ._archive import atomic_write, check_path, write_archive
from ._model_file import save, snapshot
from ._model_file import to_bytes as model_to_bytes
from ._model_io import save_by_suffix
from ._untrusted import open_regular
from ._validation import check_bool
from .errors import ModelFileError
from .models import Sequential
from .quantization import quantize

__all__ = ["load_model", "save", "save_by_suffix", "snapshot", "model_from_archive", "model_to_bytes", "model_from_bytes", "atomic_write",
           "write_archive", "check_path"]


def load_model(filepath: str | os.PathLike[str], compile: bool = True, *,
               allow_nonfinite: bool = False) -> Sequential:
    """The model saved at `filepath` by ``model.save`` — or a Keras 3 ``.keras`` file
    (see ``fastnn.interop.keras``; needs the ``keras`` extra): architecture, weights and,
    with ``compile=True``, the compile settings and the whole training state
    (optimizer slots, step count, learning rate, random streams), so ``fit``
    continues exactly where the saved model stopped.  ``compile=False`` gives an
    inference-only model.  Any malformed file raises :class:`fastnn.ModelFileError`;
    nothing in the file is ever executed."""
    path = check_path("load_model", filepath)
    compile = check_bool("load_model", "compile", compile)
    allow_nonfinite = check_bool("load_model", "allow_nonfinite", allow_nonfinite)
    f, size = open_regular(path)  # opened once: the content, not the name, picks the reader
    with f:
        if _is_keras_file(f):
            from .interop import keras

            return keras.load(f, size, path, compile, allow_nonfinite, cls=Sequential)
        if f.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:  # Keras 2's legacy model.h5
            raise ModelFileError(
                path, "an HDF5 file (Keras's legacy .h5 model format), which fastnn does "
                "not read; load it in Keras and save it as .keras (keras.saving."
                "load_model(path).save('model.keras')), which fastnn loads, or read its "
                "weights with model.load_weights from a Keras 3 .weights.h5 file")
        f.seek(0)
        return model_from_archive(f, path, compile, allow_nonfinite)


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_keras_file(f: IO[bytes]) -> bool:
    """A Keras 3 .keras file (a zip with config.json and model.weights.h5)?  Anything
    unreadable is left to the fastnn reader, which reports it."""
    try:
        with zipfile.ZipFile(f) as zf:
            names = set(zf.namelist())
    except Exception:  # damaged: the fastnn reader says how
        return False
    finally:
        f.seek(0)
    return "model.weights.h5" in names and "config.json" in names


def model_from_archive(source: str | IO[bytes], where: str, compile: bool = True,
                       allow_nonfinite: bool = False) -> Sequential:
    """A model from the bytes or path `source` of a model file (`where` names it in
    errors); a QuantizedModel for a file of kind "int8"."""
    config, arrays, model = _model_file.read(source, where, Sequential)
    int8 = config["kind"] == "int8"  # a QuantizedModel's file: quantize the weights again
    with _model_file.describing_model(where):
        model = _model_file.assemble(config, arrays, model, where, compile and not int8,
                                     allow_nonfinite)
        if not int8:
            return model
        if not model.built:
            raise ValueError("an int8 file without weights")
        return quantize(model, "int8")  # type: ignore[return-value]


def model_from_bytes(data: bytes) -> Sequential:
    """A model from a model file's bytes (pickles made by fastnn before the model
    <-> archive mapping moved to fastnn._model_file name this function)."""
    return _model_file.from_bytes(data, Sequential)
