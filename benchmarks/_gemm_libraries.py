"""The GEMM candidates of bench_gemm.py: where each library lives, its sgemm entry
point, how to set its thread count, and what it says about itself.

Each ``load_<name>()`` returns a :class:`Candidate`, or raises
:class:`Unavailable` with a sentence saying why (not installed, symbol not
found).  Libraries are loaded with ctypes (``RTLD_LOCAL``: the three OpenBLAS
builds export the same symbol names and must not resolve to one another);
the function pointers go to the C harness (gemm_harness.c), which times the
calls.  The interface numbers below are those of ``enum gemm_interface`` there.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from typing import Callable

FORTRAN_LP64, FORTRAN_ILP64, DNNL, BLIS, BLIS_EXPERT, OWN_KERNEL = 0, 1, 2, 3, 4, 5


class Unavailable(Exception):
    """A candidate that cannot be measured here; the message says why."""


@dataclass
class Candidate:
    key: str                       # column name in the tables
    title: str                     # what it is, one line
    interface: int                 # enum gemm_interface of gemm_harness.c
    sgemm: int                     # address of the entry point
    set_threads: Callable[[int], None]
    get_threads: Callable[[], int]
    about: Callable[[], str]       # version and the kernel it runs
    library: str                   # the shared object the code is in
    context: int = 0               # BLIS_EXPERT: the cntx_t * passed to bli_sgemm_ex
    notes: list[str] = field(default_factory=list)


def _symbol(lib: ctypes.CDLL, *names: str):
    """The first of `names` that `lib` exports (a ctypes function), or None."""
    for name in names:
        try:
            return getattr(lib, name)
        except AttributeError:
            continue
    return None


def _address(fn) -> int:
    return ctypes.cast(fn, ctypes.c_void_p).value or 0


def _site_dir(package: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(f"{package} is not installed")
    return os.path.dirname(list(spec.submodule_search_locations)[0])


def _one_file(pattern: str, what: str) -> str:
    found = sorted(glob.glob(pattern))
    if not found:
        raise Unavailable(f"{what} not found ({os.path.basename(pattern)})")
    return found[0]


def _openblas(key: str, title: str, path: str, ilp64: bool) -> Candidate:
    """An OpenBLAS of the scipy-openblas builds: symbols prefixed ``scipy_``, the ILP64
    build also suffixed ``64_`` (Fortran names) or ``64`` + ``_`` (C names); the
    unprefixed names of older builds are tried after them."""
    lib = ctypes.CDLL(path)
    s = "64_" if ilp64 else ""
    sgemm = _symbol(lib, f"scipy_sgemm_{s}", f"sgemm_{s}")
    if sgemm is None:
        raise Unavailable(f"no sgemm symbol in {os.path.basename(path)}")
    c = "64_" if ilp64 else ""
    setter = _symbol(lib, f"scipy_openblas_set_num_threads{c}", f"openblas_set_num_threads{c}")
    getter = _symbol(lib, f"scipy_openblas_get_num_threads{c}", f"openblas_get_num_threads{c}")
    corename = _symbol(lib, f"scipy_openblas_get_corename{c}", f"openblas_get_corename{c}")
    config = _symbol(lib, f"scipy_openblas_get_config{c}", f"openblas_get_config{c}")
    for fn in (corename, config):
        fn.restype = ctypes.c_char_p
    setter.argtypes = [ctypes.c_int]
    getter.restype = ctypes.c_int

    def about() -> str:
        return f"{config().decode()}; kernel {corename().decode()}"

    return Candidate(key, title, FORTRAN_ILP64 if ilp64 else FORTRAN_LP64, _address(sgemm),
                     setter, getter, about, path,
                     notes=[f"sgemm symbol {sgemm.__name__}, thread setter {setter.__name__}"])


def load_scipy() -> Candidate:
    """What fastnn calls today: SciPy's bundled OpenBLAS, through the function
    pointer scipy.linalg.cython_blas exports (a Cython wrapper around it)."""
    libs = os.path.join(_site_dir("scipy"), "scipy.libs")
    path = _one_file(os.path.join(libs, "libscipy_openblas*.so*"), "SciPy's OpenBLAS")
    from scipy.linalg import cython_blas

    capsule = cython_blas.__pyx_capi__["sgemm"]
    name_of = ctypes.pythonapi.PyCapsule_GetName
    name_of.restype, name_of.argtypes = ctypes.c_char_p, [ctypes.py_object]
    pointer_of = ctypes.pythonapi.PyCapsule_GetPointer
    pointer_of.restype, pointer_of.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                                ctypes.c_char_p]
    cand = _openblas("scipy", "SciPy's bundled OpenBLAS (cython_blas, as fastnn calls it)",
                     path, ilp64=False)
    cand.sgemm = pointer_of(capsule, name_of(capsule))
    cand.notes.append("timed through scipy.linalg.cython_blas.sgemm, the pointer fastnn uses")
    return cand


def load_numpy() -> Candidate:
    libs = os.path.join(_site_dir("numpy"), "numpy.libs")
    path = _one_file(os.path.join(libs, "libscipy_openblas64_*.so*"), "NumPy's OpenBLAS")
    return _openblas("numpy", "NumPy's bundled OpenBLAS (ILP64)", path, ilp64=True)


def load_openblas32() -> Candidate:
    try:
        import scipy_openblas32
    except ImportError:
        raise Unavailable("scipy-openblas32 is not installed (pip install scipy-openblas32)")
    path = os.path.join(scipy_openblas32.get_lib_dir(),
                        scipy_openblas32.get_library(fullname=True))
    return _openblas("openblas32", "scipy-openblas32 wheel (OpenBLAS, LP64)", path, ilp64=False)


def _open_blis():
    try:
        import blis.cy
    except ImportError:
        raise Unavailable("blis is not installed (pip install blis)")
    lib = ctypes.CDLL(blis.cy.__file__)
    if _symbol(lib, "bli_sgemm") is None:
        raise Unavailable("bli_sgemm is not exported by blis.cy")
    lib.bli_thread_set_num_threads.argtypes = [ctypes.c_int64]
    lib.bli_thread_get_num_threads.restype = ctypes.c_int64
    lib.bli_info_get_version_str.restype = ctypes.c_char_p
    lib.bli_arch_query_id.restype = ctypes.c_int
    lib.bli_arch_string.restype, lib.bli_arch_string.argtypes = ctypes.c_char_p, [ctypes.c_int]
    return lib, blis.cy.__file__


def _blis_about(lib, kernels: str) -> Callable[[], str]:
    def about() -> str:
        found = lib.bli_arch_string(lib.bli_arch_query_id()).decode()
        threading = "on" if lib.bli_info_get_enable_threading() else "off (1 thread only)"
        return (f"BLIS {lib.bli_info_get_version_str().decode()}; configuration chosen for "
                f"this CPU: {found}; kernels timed: {kernels}; threading {threading}")
    return about


def load_blis() -> Candidate:
    """cython-blis (`blis` on PyPI) compiles BLIS into its extension module and exports
    BLIS's C API from it, so bli_sgemm is called directly, as C would; it runs the
    sub-configuration BLIS picks for this CPU."""
    lib, path = _open_blis()
    chosen = lib.bli_arch_string(lib.bli_arch_query_id()).decode()
    return Candidate("blis", "BLIS (cython-blis wheel, bli_sgemm, as BLIS picks)", BLIS,
                     _address(lib.bli_sgemm), lambda n: lib.bli_thread_set_num_threads(n),
                     lambda: int(lib.bli_thread_get_num_threads()),
                     _blis_about(lib, chosen), path)


# A cntx_t of BLIS 0.7 is a few kilobytes; this leaves ample room.
_BLIS_CONTEXT_BYTES = 1 << 20
_blis_contexts: list = []  # keeps the context buffers alive


def load_blis_zen2() -> Candidate:
    """The same library with its AMD Zen 2 kernels forced: the BLIS 0.7 inside cython-blis
    predates Zen 3 and falls back to its generic (unvectorised C) kernels on one; its
    expert API takes a context, which bli_cntx_init_zen2 fills with the Zen 2 kernels
    (AVX2+FMA: the 6x16 sgemm micro-kernel of its Haswell family)."""
    lib, path = _open_blis()
    init = _symbol(lib, "bli_cntx_init_zen2", "bli_cntx_init_haswell")
    expert = _symbol(lib, "bli_sgemm_ex")
    if init is None or expert is None:
        raise Unavailable("bli_sgemm_ex or bli_cntx_init_zen2 is not exported by blis.cy")
    lib.bli_init()
    context = ctypes.create_string_buffer(_BLIS_CONTEXT_BYTES)
    init(context)
    _blis_contexts.append(context)
    kernels = init.__name__.replace("bli_cntx_init_", "")
    return Candidate("blis-zen2", f"BLIS, bli_sgemm_ex with the {kernels} kernels forced",
                     BLIS_EXPERT, _address(expert),
                     lambda n: lib.bli_thread_set_num_threads(n),
                     lambda: int(lib.bli_thread_get_num_threads()),
                     _blis_about(lib, kernels), path,
                     context=ctypes.addressof(context))


def _dnnl_path() -> str:
    for d in [os.path.join(sys.prefix, "lib"), *os.environ.get("LD_LIBRARY_PATH", "").split(":")]:
        hits = sorted(glob.glob(os.path.join(d, "libdnnl.so*"))) if d else []
        if hits:
            return hits[0]
    raise Unavailable("oneDNN is not installed (pip install onednn: libdnnl.so in "
                      "<prefix>/lib)")


def load_onednn() -> Candidate:
    """oneDNN's dnnl_sgemm (row-major).  The PyPI wheel's CPU runtime is TBB, whose
    worker count follows the process's CPU affinity: bench_gemm.py runs each thread
    count in a process pinned to that many CPUs, and checks TBB's count here."""
    path = _dnnl_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise Unavailable(f"libdnnl.so does not load ({e}); bench_gemm.py puts its folder "
                          "on LD_LIBRARY_PATH for the timing processes")
    tbb = None
    try:
        tbb = ctypes.CDLL(os.path.join(os.path.dirname(path), "libtbb.so.12"))
    except OSError:
        pass
    concurrency = _symbol(tbb, "_ZN3tbb6detail2r115max_concurrencyEPKNS0_2d115task_arena_baseE") \
        if tbb else None

    class Version(ctypes.Structure):
        _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                    ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                    ("gpu_runtime", ctypes.c_uint)]

    lib.dnnl_version.restype = ctypes.POINTER(Version)
    lib.dnnl_get_effective_cpu_isa.restype = ctypes.c_int
    runtimes = {1: "sequential", 2: "OpenMP", 4: "TBB", 8: "threadpool", 512: "SYCL"}

    def threads() -> int:
        if concurrency is None:
            return -1
        concurrency.restype, concurrency.argtypes = ctypes.c_int, [ctypes.c_void_p]
        return int(concurrency(None))

    def about() -> str:
        v = lib.dnnl_version().contents
        isa = lib.dnnl_get_effective_cpu_isa()
        return (f"oneDNN {v.major}.{v.minor}.{v.patch}; CPU runtime "
                f"{runtimes.get(v.cpu_runtime, v.cpu_runtime)}; effective ISA enum "
                f"{isa:#x} ({_DNNL_ISA.get(isa, 'see dnnl_types.h')})")

    def set_threads(n: int) -> None:
        have = threads()
        if have not in (-1, n):
            raise RuntimeError(f"oneDNN (TBB) would run {have} threads, not {n}: the process "
                               "is not pinned to that many CPUs")

    return Candidate("onednn", "oneDNN (onednn wheel, dnnl_sgemm)", DNNL,
                     _address(lib.dnnl_sgemm), set_threads, threads, about, path)


# dnnl_cpu_isa_t values of oneDNN 3.x (dnnl_types.h) for the ISAs an x86-64 can report
_DNNL_ISA = {0x1: "sse41", 0x3: "avx", 0x7: "avx2", 0x407: "avx2_vnni", 0xc07: "avx2_vnni_2",
             0x27: "avx512_core", 0x67: "avx512_core_vnni", 0xe7: "avx512_core_bf16"}


def load_mkl_in_torch() -> Candidate:
    """Intel MKL as PyTorch's CPU wheel links it in: libtorch_cpu.so exports MKL's
    Fortran sgemm_ (LP64), so it is timed like the OpenBLAS builds."""
    try:
        import torch
    except ImportError:
        raise Unavailable("torch is not installed (MKL is measured from PyTorch's CPU wheel)")
    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    lib = ctypes.CDLL(path)
    sgemm = _symbol(lib, "sgemm_")
    # the C (by value) name: the lower-case mkl_set_num_threads_local here is the
    # Fortran alias, which takes a pointer
    setter = _symbol(lib, "MKL_Set_Num_Threads_Local")
    if sgemm is None or setter is None:
        raise Unavailable("this torch build does not export MKL's sgemm_")
    lib.mkl_get_max_threads.restype = ctypes.c_int
    version = _symbol(lib, "MKL_Get_Version_String")

    def set_threads(n: int) -> None:
        torch.set_num_threads(n)
        setter(ctypes.c_int(n))  # this thread's MKL count (the one that calls)

    def about() -> str:
        buf = ctypes.create_string_buffer(256)
        if version is not None:
            version(buf, ctypes.c_int(len(buf)))
        return (f"{buf.value.decode().strip() or 'MKL'} (in torch {torch.__version__}); "
                f"torch CPU capability {torch.backends.cpu.get_cpu_capability()}")

    return Candidate("mkl", "Intel MKL inside PyTorch's CPU wheel (sgemm_)", FORTRAN_LP64,
                     _address(sgemm), set_threads, lambda: int(lib.mkl_get_max_threads()),
                     about, path)


LOADERS = {"scipy": load_scipy, "numpy": load_numpy, "openblas32": load_openblas32,
           "blis": load_blis, "blis-zen2": load_blis_zen2, "onednn": load_onednn,
           "mkl": load_mkl_in_torch}
