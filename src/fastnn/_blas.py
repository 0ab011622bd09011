"""Which BLAS library fastnn's C code calls for its matrix products.

fastnn never links a BLAS at build time: ``fastnn._kernels._core`` takes the
Fortran-interface ``sgemm``/``dgemm``/``sgemv``/``dgemv`` pointers at import.  Two
sources, in this order of preference:

1. ``scipy-openblas32`` — the official OpenBLAS wheel that SciPy itself builds
   against (LP64, every symbol prefixed ``scipy_``), a newer OpenBLAS than the
   copy inside SciPy's wheels (0.3.34 against 0.3.30 in SciPy 1.17).  Its small
   products are faster: the GEMMs of a W3 step (784-256-128-10, batch 128) took
   9 % less time on an AMD Zen 4 and 13-17 % less on a Zen 3 (benchmarks/README.md,
   "GEMM by measurement").  It is a dependency of fastnn where its wheels exist.
2. SciPy's own OpenBLAS through ``scipy.linalg.cython_blas`` (always present).

``FASTNN_BLAS=scipy`` (or ``scipy-openblas32``) in the environment forces one;
an unknown value is an error at import.  This module imports nothing of fastnn,
so the compiled extension can call it while it initialises.
"""
from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable
from typing import TypedDict

#: values FASTNN_BLAS accepts
CHOICES = ("auto", "scipy", "scipy-openblas32")


class BlasLibrary(TypedDict):
    """A loaded BLAS: the function addresses fastnn calls and how to control its
    threads (``set_threads`` takes the process-wide count; None: not available);
    ``set_address``: the setter's address, for fastnn's worker threads."""
    name: str
    path: str
    version: str
    corename: str
    sgemm: int
    dgemm: int
    sgemv: int
    dgemv: int
    set_threads: Callable[[int], None] | None
    get_threads: Callable[[], int] | None
    set_address: int


def requested() -> str:
    """The FASTNN_BLAS setting ('auto' when unset), checked."""
    value = os.environ.get("FASTNN_BLAS", "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(f"FASTNN_BLAS: expected one of {', '.join(CHOICES)}, "
                         f"received {value!r}")
    return value


def _address(lib: ctypes.CDLL, name: str) -> int:
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value or 0


def _text(lib: ctypes.CDLL, name: str) -> str:
    fn = getattr(lib, name, None)
    if fn is None:
        return ""
    fn.argtypes, fn.restype = [], ctypes.c_char_p
    return (fn() or b"").decode("ascii", "replace").strip()


def _describe(name: str, path: str, lib: ctypes.CDLL, prefix: str) -> BlasLibrary:
    config = _text(lib, prefix + "openblas_get_config")  # "OpenBLAS 0.3.34 DYNAMIC_ARCH ..."
    words = config.split()
    version = words[1] if len(words) > 1 and words[0] == "OpenBLAS" else ""
    setter = getattr(lib, prefix + "openblas_set_num_threads", None)
    getter = getattr(lib, prefix + "openblas_get_num_threads", None)
    if setter is not None:
        setter.argtypes, setter.restype = [ctypes.c_int], None
    if getter is not None:
        getter.argtypes, getter.restype = [], ctypes.c_int
    return BlasLibrary(name=name, path=path, version=version,
                       corename=_text(lib, prefix + "openblas_get_corename"),
                       sgemm=_address(lib, prefix + "sgemm_"),
                       dgemm=_address(lib, prefix + "dgemm_"),
                       sgemv=_address(lib, prefix + "sgemv_"),
                       dgemv=_address(lib, prefix + "dgemv_"),
                       set_threads=setter, get_threads=getter,
                       set_address=0 if setter is None else _address(lib, prefix + "openblas_set_num_threads"))


def _scipy_openblas32() -> BlasLibrary | None:
    """scipy-openblas32's library, loaded, or None when it is not installed (or
    lacks a function fastnn needs)."""
    try:
        import scipy_openblas32  # type: ignore[import-untyped]
    except ImportError:
        return None
    paths = sorted(glob.glob(os.path.join(scipy_openblas32.get_lib_dir(),
                                          "*scipy_openblas*")))
    paths = [p for p in paths if p.endswith((".so", ".dylib", ".dll"))]
    if not paths:
        return None
    try:
        lib = ctypes.CDLL(paths[0])  # RTLD_LOCAL: its names stay out of the process's
        found = _describe("scipy-openblas32", paths[0], lib, "scipy_")
    except (OSError, AttributeError):
        return None
    return found


def _scipy() -> BlasLibrary | None:
    """SciPy's bundled OpenBLAS (the library behind scipy.linalg.cython_blas) as far as
    it can be found for its thread controls; its function addresses are taken from
    cython_blas by the extension itself (0 here)."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library)
    try:
        with open("/proc/self/maps") as maps:  # Linux: where it was loaded from
            paths = sorted({line.split()[-1] for line in maps
                            if "scipy_openblas" in line and "openblas64" not in line
                            and "scipy_openblas32" not in line
                            and line.rstrip().endswith(".so")})
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        prefix = "scipy_" if hasattr(lib, "scipy_openblas_get_num_threads") else ""
        if hasattr(lib, prefix + "openblas_get_num_threads"):
            found = _describe("scipy", path, lib, prefix)
            found["sgemm"] = found["dgemm"] = found["sgemv"] = found["dgemv"] = 0
            return found
    return None


_chosen: BlasLibrary | None = None
_looked = False


def chosen() -> BlasLibrary | None:
    """The library fastnn calls (looked up once): scipy-openblas32 unless
    FASTNN_BLAS says otherwise or it is missing, else SciPy's (addresses 0: the
    extension keeps cython_blas's pointers).  None: SciPy's, its controls unknown."""
    global _chosen, _looked
    if not _looked:
        want = requested()
        found = _scipy_openblas32() if want in ("auto", "scipy-openblas32") else None
        if found is None and want == "scipy-openblas32":
            raise ImportError("FASTNN_BLAS=scipy-openblas32, but the scipy-openblas32 "
                              "package is not installed: pip install scipy-openblas32")
        _chosen = found if found is not None else _scipy()
        _looked = True
    return _chosen


def describe() -> str:
    """One line: which BLAS fastnn calls (for bench reports and bug reports)."""
    lib = chosen()
    if lib is None:
        return "SciPy's BLAS (scipy.linalg.cython_blas)"
    core = f" {lib['corename']}" if lib["corename"] else ""
    return f"{lib['name']} OpenBLAS {lib['version'] or '?'}{core}"
