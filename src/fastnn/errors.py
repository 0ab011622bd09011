"""Every exception and warning class fastnn defines, in one pure-Python module.

Nothing here imports numpy or the compiled extension, so these classes (and the
modules that only need them) import before fastnn is built.  The modules that raise
them re-export them under their old names (``fastnn.ModelFileError``,
``fastnn._validation.NotFittedError``, ``fastnn.interop.keras_out.KerasFileError``,
...), so code that catches them by those names keeps working.
"""
from __future__ import annotations

__all__ = [
    "NotFittedError",
    "ModelFileError",
    "NonFiniteLossError",
    "KerasFileError",
    "PartialFitWithEarlyStopping",
    "ConvergenceWarning",
    "MismatchedLossWarning",
    "ZeroGradientWarning",
]


class NotFittedError(ValueError, AttributeError):
    """The model has no weights yet (not built, or not given an input size)."""


class ModelFileError(ValueError):
    """A model file is malformed, damaged, of a newer format, or not a fastnn file.

    ``path`` is the file and ``reason`` what is wrong with it."""

    def __init__(self, path: object, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{path!r} is not a valid fastnn model file: {reason}")

    def __reduce__(self) -> tuple[type[ModelFileError], tuple[object, str]]:
        return type(self), (self.path, self.reason)


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the last finite weights were kept."""


class KerasFileError(ValueError):
    """The model cannot be written as a Keras file (the message says what to use)."""


class PartialFitWithEarlyStopping(AttributeError, ValueError):
    """partial_fit with early_stopping=True: MLP's ValueError, and an AttributeError so
    that ``hasattr(est, "partial_fit")`` is False (scikit-learn's checks and
    meta-estimators then do not call it; MLP's own fails check_fit_score_takes_y)."""


class Invalid(Exception):
    """Internal to the file readers (``fastnn._untrusted.need``): a reason a file is
    invalid, turned into :class:`ModelFileError` with the file's name before it
    reaches the caller.  Not part of the public API (not in ``__all__``)."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped before it converged."""


class MismatchedLossWarning(UserWarning):
    """The last layer's activation and the loss do not form a standard pair."""


class ZeroGradientWarning(UserWarning):
    """Backpropagation through an activation whose derivative is zero almost everywhere."""
