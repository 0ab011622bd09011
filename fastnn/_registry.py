"""Name resolution for every family (activations, losses, optimizers, ...).

Names are resolved only through these tables, so a string in a config can never
name arbitrary code.  Lookups are case-insensitive, as in Keras's optimizers.get.
"""
from __future__ import annotations

from typing import Any, Mapping

from ._validation import fail


def resolve(family: str, identifier: Any, table: Mapping[str, Any], base: type | None = None):
    """Return table[name] for a string, or an instance of `base` as is."""
    if base is not None and isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in table:
            return table[key]
        fail(f"{family}.get", f"unknown {family[:-1] if family.endswith('s') else family} "
             f"{identifier!r}", f"one of {sorted(table)}", "identifier", identifier)
    kinds = f"a name from {sorted(table)}" + (f" or a {base.__name__} instance" if base else "")
    fail(f"{family}.get", f"could not interpret {family} identifier", kinds, "identifier",
         identifier, error=TypeError)
