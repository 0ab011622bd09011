"""fastnn.errors: every exception and warning class fastnn defines lives there, in a
module that imports without the compiled extension (as does the NumPy reference
model), and the old names still catch them."""
from __future__ import annotations

import ast
import builtins
import pathlib
import subprocess
import sys
import textwrap

import fastnn
import fastnn.errors as errors

SRC = pathlib.Path(fastnn.__file__).parent

# Run in a fresh interpreter where importing fastnn._kernels._core fails, as in a
# checkout that was never built.  fastnn/__init__.py itself builds Sequential (which
# needs the extension), so the child registers the package's folder without running
# its __init__ and imports the submodules from it; the last check shows that the
# refusal is real (a module that needs the extension does fail to import).
CHILD = textwrap.dedent(r"""
    import importlib.abc, importlib.util, sys, types

    class NoExtension(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "fastnn._kernels._core":
                raise ImportError("fastnn._kernels._core refused (no build in this test)")
            return None

    sys.meta_path.insert(0, NoExtension())
    spec = importlib.util.find_spec("fastnn")  # finds the folder, runs nothing
    package = types.ModuleType("fastnn")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["fastnn"] = package

    import numpy as np
    import fastnn.errors as errors
    import fastnn._reference as ref
    import fastnn._validation as validation
    assert "fastnn._kernels._core" not in sys.modules
    assert validation.ModelFileError is errors.ModelFileError
    try:
        raise errors.ModelFileError("m.fastnn", "truncated")
    except ValueError as exc:
        assert "truncated" in str(exc)
    Z = ref.dense_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))
    assert Z.shape == (2, 4) and (Z == 3).all()
    try:
        import fastnn.models
    except ImportError as exc:
        assert "refused" in str(exc), exc
    else:
        raise AssertionError("fastnn.models imported without the extension")
    print("imported without the extension")
""")


def test_errors_and_reference_import_without_the_compiled_extension():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=120, cwd=SRC.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "imported without the extension"


def _exception_classes_defined(path: pathlib.Path) -> list[str]:
    """Names of the classes a source file defines that derive from an exception (a
    built-in one, or one of fastnn.errors, or one defined before in the same file)."""
    known = {name for name in dir(builtins)
             if isinstance(getattr(builtins, name), type)
             and issubclass(getattr(builtins, name), BaseException)}
    known |= {name for name in vars(errors) if isinstance(getattr(errors, name), type)
              and issubclass(getattr(errors, name), BaseException)}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            bases = {b.id if isinstance(b, ast.Name) else
                     b.attr if isinstance(b, ast.Attribute) else "" for b in node.bases}
            if bases & known:
                known.add(node.name)
                found.append(node.name)
    return found


def test_every_exception_class_is_defined_in_errors():
    elsewhere = {str(p.relative_to(SRC)): names for p in sorted(SRC.rglob("*.py"))
                 if p.name != "errors.py" and (names := _exception_classes_defined(p))}
    assert not elsewhere, f"define these in fastnn/errors.py (and re-export): {elsewhere}"
    defined = _exception_classes_defined(SRC / "errors.py")
    assert set(errors.__all__) | {"Invalid"} == set(defined)


def test_the_old_names_are_the_same_classes():
    from fastnn import _untrusted, _validation
    from fastnn.interop import keras_out
    for name in ["NotFittedError", "ModelFileError", "NonFiniteLossError",
                 "ConvergenceWarning", "MismatchedLossWarning", "ZeroGradientWarning"]:
        assert getattr(fastnn, name) is getattr(errors, name) is getattr(_validation, name)
    assert keras_out.KerasFileError is errors.KerasFileError
    assert _untrusted.Invalid is errors.Invalid


def test_partial_fit_refusal_is_the_errors_class():
    from ._needs import needs
    needs("sklearn")
    from fastnn.sklearn import FastNNClassifier
    from fastnn.sklearn import _base
    assert _base.PartialFitWithEarlyStopping is errors.PartialFitWithEarlyStopping
    assert not hasattr(FastNNClassifier(early_stopping=True), "partial_fit")
