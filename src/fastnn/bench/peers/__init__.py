"""The frameworks fastnn is measured against, one module each.

Every peer module imports its framework lazily (inside functions), so this
package and the suite import with NumPy alone; a peer whose framework is
missing is reported as "not installed".  A module offers:

* ``setup(peer, threads) -> dict`` — import the framework, size its threads,
  return {"versions": {...}, "blas": [...]} (called once per child process);
* ``trainer(peer, case, net, data, weights, seed)`` — an object with
  ``train(epochs)`` (that many shuffled epochs over the training rows, done
  when it returns) and ``predict(X)`` (probabilities / outputs as NumPy);
* ``predictor(peer, case, net, weights, x)`` — a zero-argument callable
  running one ``predict`` on `x`, returning a NumPy array;
* ``unsupported(peer, case) -> str | None`` — why it cannot run a case;
* ``NOTES[peer]`` — what exactly is timed, printed with the results.
"""
from __future__ import annotations

import importlib
import importlib.util

#: peer name -> (module, top-level packages it needs)
REGISTRY = {
    "fastnn": ("fastnn_peer", ()),
    "numpy": ("numpy_peer", ()),
    "torch": ("torch_peer", ("torch",)),
    "jax": ("jax_peer", ("jax", "jaxlib")),
    "jax-step": ("jax_peer", ("jax", "jaxlib")),
    "sklearn": ("sklearn_peer", ("sklearn",)),
    "ort": ("ort_peer", ("onnxruntime", "onnx")),
    "sgemm": ("numpy_peer", ()),  # the GEMM-peak probe, not a framework
}
PEERS = ("numpy", "torch", "jax", "jax-step", "sklearn", "ort")  # selectable with --peers
#: peers with a reduced-precision path measured beside fastnn's: torch's CPU
#: autocast(bfloat16), ONNX Runtime's quantize_dynamic int8 model
REDUCED_PRECISION = ("fastnn", "torch", "ort")


def module(peer: str):
    return importlib.import_module(f"{__name__}.{REGISTRY[peer][0]}")


def installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def missing(peer: str) -> list[str]:
    """Packages `peer` needs that are not installed (found without importing them)."""
    return [p for p in REGISTRY[peer][1] if not installed(p)]


def unsupported(peer: str, case) -> str | None:
    if case.kind == "contended" and peer != "fastnn":
        return "fastnn only: its default thread setting beside a busy process"
    if case.precision != "float32" and peer not in REDUCED_PRECISION:
        return ("float32 only here (bf16: fastnn beside torch autocast; int8: fastnn beside "
                "ONNX Runtime's quantize_dynamic)")
    return module(peer).unsupported(peer, case)


def note(peer: str) -> str:
    return module(peer).NOTES.get(peer, "")

