"""Name resolution for every family (activations, losses, optimizers, ...).

Names are resolved only through these tables, so a string in a config can never
name arbitrary code.  Lookups are case-insensitive, as in Keras's optimizers.get.
"""
from __future__ import annotations

import difflib
from typing import Any, Mapping, TypeVar, overload

from ._validation import fail

_T = TypeVar("_T")


_SINGULAR = {"activations": "activation", "losses": "loss", "optimizers": "optimizer",
             "regularizers": "regularizer", "initializers": "initializer",
             "metrics": "metric"}


_V = TypeVar("_V")
_B = TypeVar("_B")


@overload
def resolve(family: str, identifier: Any, table: Mapping[str, _V], *,
            caller: str | None = ..., argument: str = ...) -> _V: ...
@overload
def resolve(family: str, identifier: Any, table: Mapping[str, _V], base: type[_B], *,
            caller: str | None = ..., argument: str = ...) -> _V | _B: ...
def resolve(family: str, identifier: Any, table: Mapping[str, Any],
            base: type | None = None, *, caller: str | None = None,
            argument: str = "identifier") -> Any:
    """Return table[name] for a string, or an instance of `base` as is.

    An error names `caller` (the user's call, e.g. ``"compile"`` or ``"Dense"``)
    and its `argument`, and suggests the closest names (difflib)."""
    func = caller or f"{family}.get"
    if base is not None and isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in table:
            return table[key]
        close = difflib.get_close_matches(key, list(table), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        fail(func, f"unknown {_SINGULAR.get(family, family)} {identifier!r}{hint}",
             f"one of {sorted(table)}", argument, identifier)
    kinds = f"a name from {sorted(table)}" + (f" or a {base.__name__} instance" if base else "")
    fail(func, f"could not interpret {family} identifier", kinds, argument,
         identifier, error=TypeError)


def from_config_dict(family: str, identifier: dict[str, Any], table: Mapping[str, Any]) -> Any:
    """Rebuild an object from ``{"class_name": name, "config": {...}}``."""
    cls = resolve(family, identifier.get("class_name"), table)
    config = identifier.get("config", {})
    if not isinstance(config, dict):
        fail(f"{family}.get", "invalid config", "a dict of keyword arguments", "config", config,
             error=TypeError)
    try:
        return cls.from_config(config)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc) and "positional argument" not in str(exc):
            raise  # a house-format TypeError from the constructor itself
        fail(f"{family}.get", f"invalid config for {cls.__name__} ({exc})",
             "the constructor's keyword arguments", "config", config, error=TypeError)


class FromConfig:
    """``from_config`` (the constructor's keyword arguments) and a repr built from
    ``get_config``, for the families whose config is exactly those arguments."""

    def get_config(self) -> dict[str, Any]:
        """The constructor's keyword arguments."""
        raise NotImplementedError

    @classmethod
    def from_config(cls: type[_T], config: dict[str, Any]) -> _T:
        """A new object from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

