"""Every public object has a docstring: the classes and functions of
each public module, and their public methods and properties (a method may inherit
its base class's docstring, as help() shows it)."""
import importlib
import inspect

import pytest

from ._needs import needs

# modules that import an optional package at import time, and that package
OPTIONAL = {"fastnn.sklearn": "sklearn"}

MODULES = ["fastnn", "fastnn.activations", "fastnn.callbacks", "fastnn.datasets",
           "fastnn.initializers", "fastnn.layers", "fastnn.losses", "fastnn.metrics",
           "fastnn.model_selection", "fastnn.models", "fastnn.optimizers", "fastnn.perceptron",
           "fastnn.regularizers", "fastnn.saving", "fastnn.schedules", "fastnn.sklearn",
           "fastnn.summary", "fastnn.threads", "fastnn.utils", "fastnn.interop.keras",
           "fastnn.interop.onnx", "fastnn.plot", "fastnn.__main__", "fastnn.errors"]


def public_objects(modules=MODULES):
    seen = set()
    for name in modules:
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        for attr in exported or [a for a in dir(module) if not a.startswith("_")]:
            obj = getattr(module, attr)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            home = getattr(obj, "__module__", "") or ""
            # a module without __all__ exports what it defines, not what it imports
            if not home.startswith("fastnn") or (exported is None and home != name):
                continue
            key = f"{home}.{obj.__qualname__}"
            if key in seen:
                continue
            seen.add(key)
            yield key, obj, (obj.__doc__ or "").strip()
            if inspect.isclass(obj):
                for member in dir(obj):
                    if member.startswith("_"):
                        continue
                    static = inspect.getattr_static(obj, member)
                    if isinstance(static, property):
                        yield f"{key}.{member}", static, inspect.getdoc(static) or ""
                    elif inspect.isfunction(static) or isinstance(static, (classmethod,
                                                                          staticmethod)):
                        yield f"{key}.{member}", static, inspect.getdoc(
                            getattr(obj, member)) or ""


def test_every_public_object_has_a_docstring():
    objects = list(public_objects([m for m in MODULES if m not in OPTIONAL]))
    assert len(objects) > 300  # the walk really covers the package
    missing = [key for key, _, doc in objects if not doc]
    assert not missing, missing


@pytest.mark.parametrize("name", sorted(OPTIONAL))
def test_every_public_object_of_an_optional_module_has_a_docstring(name):
    needs(OPTIONAL[name])
    objects = list(public_objects([name]))
    assert len(objects) > 10
    missing = [key for key, _, doc in objects if not doc]
    assert not missing, missing
