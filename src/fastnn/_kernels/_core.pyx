# Design:
#   fastnn/*.py (validation, names, bookkeeping)  ->  this module  ->  csrc/*.c
#   This module is the thin, typed boundary.  It re-checks only the O(1) facts
#   the C kernels rely on (dtype, contiguity, sizes, chaining of layers), takes
#   raw pointers from NumPy arrays, dispatches float32 / float64, and releases
#   the GIL around every kernel call.  All user-facing validation (values,
#   labels, NaN/inf, names, ranges) happened before, in fastnn/_validation.py.
#   `Net` owns the C plan of one compiled model (fnn_net): layer sizes,
#   activation ids, offsets into the flat parameter buffer, regularization and
#   dropout rates, loss id and the BLAS pointers taken from SciPy.
#   Functions whose name ends in `_kernel` expose one C kernel each, for the
#   tests that hold every kernel equal to its twin in fastnn/_reference.py.
#   Every call goes through one table of C function pointers (csrc/fnn_isa.h):
#   the portable build, its AVX2+FMA twin (csrc/fnn_isa_avx2.c) or its AVX-512
#   twin (csrc/fnn_isa_avx512.c), as chosen at import or by set_isa().
#   One module on purpose (over 400 lines): every wrapper shares the Net type,
#   the ISA switch and the BLAS table; a split would need cross-module cimports
#   of Net.  The Cython API for users (fastnn/capi.pxd) ends this file.
cimport numpy as cnp
from libc.stdint cimport uint32_t, uint64_t, int64_t, int32_t, int8_t, uint8_t
from libc.math cimport floor, isfinite
cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
from libc.stdlib cimport malloc, free
from libc.string cimport memset
from cpython.pythread cimport PyThread_get_thread_ident
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_New
from fastnn.capi cimport fastnn_handle
from fastnn._kernels.csrc cimport *

import os
import warnings
from collections import namedtuple
from enum import IntEnum

import numpy as np
from scipy.linalg import cython_blas

from fastnn import _blas as _blas_choice  # pure Python: imports nothing of fastnn

cnp.import_array()

# ---- the ids of csrc/, one source ---------------------------------------------
# C assigns every id (csrc/fnn_common.h, fnn_net.h, fnn_norm.h, fnn_optim.h);
# csrc.pxd declares them member by member; these IntEnums are made from those
# declarations, so the values are the compiled C ones.  fastnn/*.py binds its
# constants from here (activations.RELU = ActivationId.RELU, ...) and never writes
# a number of its own; tests/test_enums.py holds all three equal.


class ActivationId(IntEnum):
    LINEAR = FNN_ACT_LINEAR
    SIGMOID = FNN_ACT_SIGMOID
    TANH = FNN_ACT_TANH
    RELU = FNN_ACT_RELU
    SOFTMAX = FNN_ACT_SOFTMAX
    STEP = FNN_ACT_STEP
    SIGN = FNN_ACT_SIGN
    LEAKY_RELU = FNN_ACT_LEAKY_RELU
    ELU = FNN_ACT_ELU
    SELU = FNN_ACT_SELU
    GELU = FNN_ACT_GELU
    SOFTPLUS = FNN_ACT_SOFTPLUS
    SWISH = FNN_ACT_SWISH
    RELU_KERAS = FNN_ACT_RELU_KERAS  # relu with ReLU'(0) = 0 (Keras, PyTorch)


class LossId(IntEnum):
    MSE = FNN_LOSS_MSE
    BCE = FNN_LOSS_BCE
    CCE = FNN_LOSS_CCE
    SPARSE_CCE = FNN_LOSS_SPARSE_CCE
    MAE = FNN_LOSS_MAE
    HUBER = FNN_LOSS_HUBER
    LOG_COSH = FNN_LOSS_LOG_COSH
    POISSON = FNN_LOSS_POISSON
    KLD = FNN_LOSS_KLD
    HINGE = FNN_LOSS_HINGE
    SQUARED_HINGE = FNN_LOSS_SQUARED_HINGE


class AccuracyKind(IntEnum):
    NONE = FNN_ACC_NONE
    BINARY = FNN_ACC_BINARY
    CATEGORICAL = FNN_ACC_CATEGORICAL
    SPARSE = FNN_ACC_SPARSE


class SumSlot(IntEnum):
    """Slots of the metric sums every loop adds to (the last three unweighted)."""
    LOSS = FNN_SUM_LOSS
    ACC = FNN_SUM_ACC
    MAE = FNN_SUM_MAE
    MSE = FNN_SUM_MSE
    ACC_PLAIN = FNN_SUM_ACC_PLAIN
    MAE_PLAIN = FNN_SUM_MAE_PLAIN
    MSE_PLAIN = FNN_SUM_MSE_PLAIN


class OptimizerId(IntEnum):
    SGD = FNN_OPT_SGD
    RMSPROP = FNN_OPT_RMSPROP
    ADAM = FNN_OPT_ADAM
    ADAMW = FNN_OPT_ADAMW
    ADAGRAD = FNN_OPT_ADAGRAD
    NADAM = FNN_OPT_NADAM
    ADAMAX = FNN_OPT_ADAMAX


class ScheduleKind(IntEnum):
    NONE = FNN_SCHED_NONE  # the constant learning rate
    EXPONENTIAL = FNN_SCHED_EXPONENTIAL
    INVERSE_TIME = FNN_SCHED_INVERSE_TIME
    PIECEWISE = FNN_SCHED_PIECEWISE
    POLYNOMIAL = FNN_SCHED_POLYNOMIAL
    COSINE = FNN_SCHED_COSINE


class StageKind(IntEnum):
    DENSE = FNN_STAGE_DENSE
    BATCHNORM = FNN_STAGE_BATCHNORM
    LAYERNORM = FNN_STAGE_LAYERNORM
    STANDARDIZE = FNN_STAGE_STANDARDIZE
    UNITNORM = FNN_STAGE_UNITNORM


class NoiseKind(IntEnum):
    DROPOUT = FNN_NOISE_DROPOUT
    GAUSSIAN = FNN_NOISE_GAUSSIAN  # rate: the standard deviation
    GAUSSIAN_DROPOUT = FNN_NOISE_GAUSSIAN_DROPOUT
    ALPHA_DROPOUT = FNN_NOISE_ALPHA_DROPOUT


# how many of each (one past the largest id), and the longest noise chain
N_ACTS, N_LOSSES, N_ACCS, N_SUMS = FNN_N_ACTS, FNN_N_LOSSES, FNN_N_ACCS, FNN_N_SUMS
N_OPTS, N_SCHEDS, N_STAGES = FNN_N_OPTS, FNN_N_SCHEDS, FNN_N_STAGES
N_NOISE_KINDS, MAX_NOISE = FNN_N_NOISE_KINDS, FNN_MAX_NOISE

# ---- settings that cross into C, by name ----------------------------------------
# Each is a namedtuple whose fields are the C struct's (csrc/fnn_optim.h fnn_optim,
# csrc/fnn_net.h fnn_layer): callers build them by keyword, _make_optim and Net read
# them by attribute, so no caller counts positions.

OptimizerSettings = namedtuple(
    "OptimizerSettings",
    "kind lr nesterov momentum rho beta_1 beta_2 epsilon weight_decay iterations "
    "clipnorm clipvalue global_clipnorm u_product schedule",
    defaults=(False, 0.0, 0.0, 0.0, 0.0, 1e-7, 0.0, 0, 0.0, 0.0, 0.0, 1.0, None),
    module=__name__)  # (namedtuple would guess the module wrong in a compiled module)
OptimizerSettings.__doc__ = """fnn_optim's fields: kind (OptimizerId), lr, the rule's
hyper-parameters (0 where the rule has none), iterations (steps taken), the three
clips (0: off), u_product (Nadam's momentum product; 1 for the others) and schedule
(a ScheduleSettings, or None for the constant lr)."""

ScheduleSettings = namedtuple(
    "ScheduleSettings",
    "kind init steps rate end power alpha warm_steps warm_target staircase cycle "
    "boundaries values",
    defaults=(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, False, None, None),
    module=__name__)
ScheduleSettings.__doc__ = """fnn_optim's s_* fields: kind (ScheduleKind), init (lr0),
steps, rate, end, power, alpha, warm_steps, warm_target, staircase, cycle and, for
PIECEWISE, float64 arrays of boundaries and values (kept referenced by the caller
while C reads them)."""

LayerSpec = namedtuple(
    "LayerSpec",
    "n_in n_out act w_off b_off kernel_l1 kernel_l2 bias_l1 bias_l2 noise frozen kind "
    "s_off epsilon momentum s_len bf16",
    defaults=(-1, 0.0, 0.0, 0.0, 0.0, (), False, FNN_STAGE_DENSE, -1, 0.0, 0.0, 0, False),
    module=__name__)
LayerSpec.__doc__ = """One stage of a Net (fnn_layer): sizes, act (ActivationId),
offsets into the parameter buffer (w_off; b_off -1: no bias), the four regularization
rates, noise (a dropout rate or (NoiseKind, rate) pairs applied to its output),
frozen, kind (StageKind) and, for a normalization, s_off/s_len (its statistics),
epsilon and momentum; bf16: mixed_bfloat16 products (Dense, float32 only)."""


# Instruction set of the kernels, lowest first.  Each level is the whole C path
# compiled again (csrc/fnn_isa.h); _K points to the table of the one in use, so
# a call is one indirect jump, whatever the level.
_ISA_LEVELS = {FNN_ISA_BASELINE: "baseline", FNN_ISA_AVX2: "avx2", FNN_ISA_AVX512: "avx512"}
ISAS = tuple(_ISA_LEVELS[level] for level in range(FNN_N_ISAS))  # indexed by FNN_ISA_*
cdef const fnn_kernels *_K = fnn_isa_kernels(FNN_ISA_BASELINE)
cdef int _LEVEL = FNN_ISA_BASELINE


def available_isas():
    """Instruction sets this CPU (and this build) can run the kernels with, lowest
    first: always "baseline"; "avx2" with AVX2 and FMA; "avx512" with AVX-512
    F, VL, BW and DQ (each only where the OS saves the wider registers)."""
    return tuple(name for level, name in enumerate(ISAS) if fnn_isa_kernels(level) != NULL)


def get_isa():
    """The instruction set in use: "baseline", "avx2" or "avx512"."""
    return ISAS[_LEVEL]


def set_isa(str name):
    """Choose the instruction set ("baseline", "avx2" or "avx512"); returns the
    previous one.  ValueError for an unknown name or one this CPU cannot run.
    Affects the calls started afterwards, in every thread; a model's
    c_handle() keeps the level it was made with."""
    global _K, _LEVEL
    if name not in ISAS:
        raise ValueError(f"set_isa(): expected one of {ISAS}, received {name!r}")
    cdef int level = ISAS.index(name)
    cdef const fnn_kernels *k = fnn_isa_kernels(level)
    if k == NULL:
        raise ValueError(f"set_isa(): this CPU cannot run {name!r}; expected one of "
                         f"{available_isas()}")
    previous = get_isa()
    _K, _LEVEL = k, level
    return previous


def _choose_isa(str want, tuple available):
    """The level to start with: the best available one, or the one FASTNN_ISA
    (`want`) names.  Returns (name, warning text or None): a level the CPU lacks
    falls back to the best available one below it, an unknown name to the best
    level; either is warned about, and the import never fails."""
    best = available[len(available) - 1]
    want = want.strip().lower()
    if not want:
        return best, None
    if want not in ISAS:
        return best, f"FASTNN_ISA={want!r} is not one of {ISAS}; using {best!r}"
    if want not in available:
        below = max((name for name in available if ISAS.index(name) < ISAS.index(want)),
                    key=ISAS.index)
        return below, (f"FASTNN_ISA={want!r}: this CPU cannot run it (available: "
                       f"{', '.join(available)}); using {below!r}")
    return want, None


_start, _warning = _choose_isa(os.environ.get("FASTNN_ISA", ""), available_isas())
if _warning is not None:
    warnings.warn(_warning, RuntimeWarning)
set_isa(_start)
del _start, _warning

# Direct loops below this many multiply-adds per product; BLAS above it.
# SciPy's OpenBLAS has fast small-matrix kernels, so the crossover is low:
# training 2-16-16-1 (batch 32/256) and 64-64-10 (batch 32) was fastest with
# 8192 among 0, 1024, 2048, 4096, 8192, 16384, 131072 (2026-11-27, this 2-core
# x86-64; see benchmarks/bench_dense_threshold.py for the per-shape timings).
# One value serves every instruction set: re-measured 2026-12-02 under avx2 and
# avx512 (OpenBLAS's SkylakeX kernels), the per-shape crossover was the same for
# both (best single threshold over the grid 128..256 multiply-adds each), and
# end to end 256 was not faster than 8192 on either (W1 batch 1/256, W2).
DEFAULT_SMALL_GEMM = 8192

# SciPy's BLAS (scipy.linalg.cython_blas), taken from the capsules it exports the
# way `cimport scipy.linalg.cython_blas` would: each is named by its C signature
# (d and s are SciPy's typedefs of double and float), so a changed prototype
# raises ValueError here.  Looking them up at import keeps SciPy out of the
# build: only the run needs it.
cdef void *_blas_function(str name, str real) except NULL:
    cdef str T = f"__pyx_t_5scipy_6linalg_11cython_blas_{real} *"
    cdef str head = "char *, char *, int *, int *, int *" if name.endswith("gemm") \
        else "char *, int *, int *"
    sig = f"void ({head}, {T}, {T}, int *, {T}, int *, {T}, {T}, int *)"
    return PyCapsule_GetPointer(cython_blas.__pyx_capi__[name], sig.encode())


cdef fnn_sgemm_t _sgemm = <fnn_sgemm_t>_blas_function("sgemm", "s")
cdef fnn_dgemm_t _dgemm = <fnn_dgemm_t>_blas_function("dgemm", "d")
cdef fnn_sgemv_t _sgemv = <fnn_sgemv_t>_blas_function("sgemv", "s")
cdef fnn_dgemv_t _dgemv = <fnn_dgemv_t>_blas_function("dgemv", "d")

# A newer OpenBLAS when fastnn._blas finds one (scipy-openblas32: the same Fortran
# interface, LP64, faster on small products); SciPy's pointers above otherwise.  Set
# once, here, before any network copies them into its fnn_blas.
_chosen_blas = _blas_choice.chosen()
if _chosen_blas is not None and _chosen_blas["sgemm"] and _chosen_blas["dgemm"] \
        and _chosen_blas["sgemv"] and _chosen_blas["dgemv"]:
    _sgemm = <fnn_sgemm_t><Py_ssize_t>_chosen_blas["sgemm"]
    _dgemm = <fnn_dgemm_t><Py_ssize_t>_chosen_blas["dgemm"]
    _sgemv = <fnn_sgemv_t><Py_ssize_t>_chosen_blas["sgemv"]
    _dgemv = <fnn_dgemv_t><Py_ssize_t>_chosen_blas["dgemv"]
del _chosen_blas


cdef fnn_blas _make_blas(Py_ssize_t small_gemm):
    cdef fnn_blas blas
    memset(&blas, 0, sizeof(blas))  # no split products (fnn_common.h) unless a step sets it
    blas.sgemm = _sgemm
    blas.dgemm = _dgemm
    blas.sgemv = _sgemv
    blas.dgemv = _dgemv
    blas.small_gemm = small_gemm
    blas.bf16 = FNN_BF16_OFF
    blas.bf16_w = blas.bf16_wt = NULL
    return blas


# mixed_bfloat16 (fastnn/mixed_precision.py): the float32 products of a Net made
# with mixed=True take bfloat16 inputs (csrc/fnn_gemm_bf16.h).  vdpbf16ps at the
# avx512 level on a CPU with AVX512_BF16; elsewhere (lower levels, other CPUs) the
# portable emulation, which computes the same sums in the same order.
cdef int _HAVE_BF16 = fnn_have_avx512_bf16()


cdef inline int _bf16_mode(bint mixed) noexcept:
    if not mixed:
        return FNN_BF16_OFF
    if _HAVE_BF16 and _LEVEL == FNN_ISA_AVX512:
        return FNN_BF16_AVX512
    return FNN_BF16_EMULATED


def bf16_kernel():
    """The kernel mixed_bfloat16's products run on now: "avx512_bf16" (vdpbf16ps) or
    "emulated" (portable C with the same rounding of the inputs and float32 sums)."""
    return "avx512_bf16" if _bf16_mode(True) == FNN_BF16_AVX512 else "emulated"


def gemm_kernel(A, B, C, bint tA=False, bint tB=False, float alpha=1.0,
                float beta=0.0, str kernel="auto", packed=None):
    """C := alpha·op(A)·op(B) + beta·C on float32 C-contiguous 2-D arrays, for tests
    and benchmarks: kernel "sgemm" (the float32 BLAS every product uses), or with A
    and B rounded to bfloat16: "auto" (as mixed_bfloat16 now), "emulated",
    "avx512_bf16".  packed: None (B packed by the product, block by block), or the
    uint32 array pack_bf16(B, tB, kernel) returned (a layer's W packed once)."""
    cdef int mode = FNN_BF16_OFF
    if kernel == "sgemm":
        pass
    elif kernel == "auto":
        mode = _bf16_mode(True)
    elif kernel == "emulated":
        mode = FNN_BF16_EMULATED
    elif kernel == "avx512_bf16":
        if not _HAVE_BF16:
            raise ValueError("gemm_kernel: this CPU has no AVX512_BF16")
        mode = FNN_BF16_AVX512
    else:
        raise ValueError(f"gemm_kernel: kernel must be 'sgemm', 'auto', 'emulated' or "
                         f"'avx512_bf16', received {kernel!r}")
    for name, a in (("A", A), ("B", B), ("C", C)):
        if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != 2 \
                or not a.flags.c_contiguous:
            raise TypeError(f"gemm_kernel: {name} must be a C-contiguous 2-D float32 array")
    if not C.flags.writeable:
        raise ValueError("gemm_kernel: C must be writable")
    cdef Py_ssize_t M = A.shape[1] if tA else A.shape[0]
    cdef Py_ssize_t K = A.shape[0] if tA else A.shape[1]
    cdef Py_ssize_t N = B.shape[0] if tB else B.shape[1]
    if (B.shape[1] if tB else B.shape[0]) != K or C.shape[0] != M or C.shape[1] != N:
        raise ValueError(f"gemm_kernel: shapes do not chain: op(A) {M}x{K}, "
                         f"op(B) {(B.shape[1] if tB else B.shape[0])}x{N}, C {C.shape}")
    if M * K >= 2**31 or K * N >= 2**31 or M * N >= 2**31:
        raise ValueError("gemm_kernel: a dimension product reaches 2^31")
    cdef const float *pa = <const float *>cnp.PyArray_DATA(<cnp.ndarray>A)
    cdef const float *pb = <const float *>cnp.PyArray_DATA(<cnp.ndarray>B)
    cdef float *pc = <float *>cnp.PyArray_DATA(<cnp.ndarray>C)
    cdef Py_ssize_t lda = max(A.shape[1], 1), ldb = max(B.shape[1], 1), ldc = max(N, 1)
    cdef fnn_blas blas = _make_blas(0)
    blas.bf16 = mode
    cdef const uint32_t *pk = NULL
    if packed is not None:
        if mode == FNN_BF16_OFF:
            raise ValueError("gemm_kernel: packed is for the bfloat16 kernels")
        if (not isinstance(packed, np.ndarray) or packed.dtype != np.uint32
                or packed.shape != (fnn_bf16_packed_words(K, N) + 16,)
                or packed.ctypes.data % 4 or packed[-1] != _pack_tag(mode, tB, K, N)):
            raise ValueError("gemm_kernel: packed must be what pack_bf16 made of this B, "
                             "tB and kernel")
        pk = _aligned64(<const uint32_t *>cnp.PyArray_DATA(<cnp.ndarray>packed))
        if pk - <const uint32_t *>cnp.PyArray_DATA(<cnp.ndarray>packed) != packed[-2]:
            raise ValueError("gemm_kernel: packed was copied to another alignment; "
                             "pack B again")
    with nogil:
        if pk != NULL:
            fnn_gemm_bf16_packed(mode, tA, M, N, K, alpha, pa, lda, pk, beta, pc, ldc)
        else:
            fnn_gemm_rm_f32(&blas, tA, tB, M, N, K, alpha, pa, lda, pb, ldb, beta, pc, ldc)


cdef inline const uint32_t *_aligned64(const uint32_t *p) noexcept:
    return <const uint32_t *>((<size_t>p + 63) & ~(<size_t>63))


cdef inline uint32_t _pack_tag(int mode, bint tB, Py_ssize_t K, Py_ssize_t N) noexcept:
    return <uint32_t>((mode * 2 + tB) * 1000003 + K * 7919 + N) & 0xffffffffu


def pack_bf16(B, bint tB=False, str kernel="auto"):
    """op(B) packed whole for gemm_kernel(..., packed=): what a mixed_bfloat16 layer
    does to W (and Wᵀ) once per weight change (csrc/fnn_gemm_bf16.h,
    fnn_bf16_pack_full); for tests and benchmarks.  The last word tags the shape, tB
    and kernel it was made for."""
    cdef int mode
    if kernel == "auto":
        mode = _bf16_mode(True)
    elif kernel == "emulated":
        mode = FNN_BF16_EMULATED
    elif kernel == "avx512_bf16" and _HAVE_BF16:
        mode = FNN_BF16_AVX512
    else:
        raise ValueError(f"pack_bf16: kernel must be 'auto', 'emulated' or 'avx512_bf16' "
                         f"(on a CPU with AVX512_BF16), received {kernel!r}")
    if not isinstance(B, np.ndarray) or B.dtype != np.float32 or B.ndim != 2 \
            or not B.flags.c_contiguous:
        raise TypeError("pack_bf16: B must be a C-contiguous 2-D float32 array")
    cdef Py_ssize_t K = B.shape[1] if tB else B.shape[0]
    cdef Py_ssize_t N = B.shape[0] if tB else B.shape[1]
    if K < 1 or N < 1 or K * N >= 2**31:
        raise ValueError(f"pack_bf16: B of shape {B.shape} is empty or too large")
    cdef Py_ssize_t words = fnn_bf16_packed_words(K, N)
    out = np.zeros(words + 16, np.uint32)  # room to align (numpy: <= 12 words), offset, tag
    cdef const float *pb = <const float *>cnp.PyArray_DATA(<cnp.ndarray>B)
    cdef uint32_t *po = <uint32_t *>_aligned64(<const uint32_t *>cnp.PyArray_DATA(<cnp.ndarray>out))
    cdef Py_ssize_t ldb = B.shape[1]
    with nogil:
        fnn_bf16_pack_full(mode, tB, pb, ldb, K, N, po)
    out[-2] = po - <uint32_t *>cnp.PyArray_DATA(<cnp.ndarray>out)  # words skipped to align
    out[-1] = _pack_tag(mode, tB, K, N)
    return out


cdef cnp.ndarray _array(object arr, str name, int typenum, str dtype_name, bint writable):
    """`arr` after checking it is an aligned C-contiguous ndarray of `typenum`
    (writeable if asked): what every pointer handed to C needs."""
    if not cnp.PyArray_Check(arr):
        raise TypeError(f"{name}: expected a numpy.ndarray, received {type(arr).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>arr
    if not cnp.PyArray_EquivTypenums(cnp.PyArray_TYPE(a), typenum):
        raise TypeError(f"{name}: expected dtype {dtype_name}, received {a.dtype}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{name}: expected a C-contiguous array")
    if writable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name}: expected a writeable array")
    if not cnp.PyArray_ISALIGNED(a):
        raise ValueError(f"{name}: expected an aligned array")
    return a


cdef void *_data(object arr, str name, bint is64, Py_ssize_t size,
                 bint exact, bint writable) except? NULL:
    """Pointer to the data of a float64 (is64) or float32 `arr` after checking its
    order and size (exactly `size` elements, or at least `size`)."""
    cdef cnp.ndarray a = _array(arr, name, cnp.NPY_FLOAT64 if is64 else cnp.NPY_FLOAT32,
                                "float64" if is64 else "float32", writable)
    if (exact and cnp.PyArray_SIZE(a) != size) or cnp.PyArray_SIZE(a) < size:
        raise ValueError(f"{name}: expected {size} elements, received {cnp.PyArray_SIZE(a)}")
    return cnp.PyArray_DATA(a)


cdef void *_vector(object arr, str name, bint int64, bint writable,
                   Py_ssize_t *size) except? NULL:
    """Pointer to the data of a float64 (int64) array of any length, its length in
    *size.  (Not a typed memoryview: that pulls some 18,000 lines of Cython's
    support code into _core.c, a quarter of its compile time.)"""
    cdef cnp.ndarray a = _array(arr, name, cnp.NPY_INT64 if int64 else cnp.NPY_FLOAT64,
                                "int64" if int64 else "float64", writable)
    size[0] = cnp.PyArray_SIZE(a)
    return cnp.PyArray_DATA(a)


cdef Py_ssize_t _rows(object X, Py_ssize_t n_cols, str func) except -1:
    """Rows of X after checking it is a 2-D ndarray with n_cols columns."""
    if not cnp.PyArray_Check(X):
        raise TypeError(f"{func}: X must be a numpy.ndarray, received {type(X).__name__}")
    if cnp.PyArray_NDIM(<cnp.ndarray>X) != 2 or cnp.PyArray_DIM(<cnp.ndarray>X, 1) != n_cols:
        raise ValueError(f"{func}: X must be 2-D with {n_cols} columns")
    return cnp.PyArray_DIM(<cnp.ndarray>X, 0)


cdef int _check_sparse_labels(Net net, void *py, Py_ssize_t n) except -1:
    """Sparse labels index the output row in C: each must be an integer in [0, n_out)."""
    cdef Py_ssize_t i, bad = -1
    cdef double v, k = <double>net.n_out
    if net.c.loss != FNN_LOSS_SPARSE_CCE and net.c.acc != FNN_ACC_SPARSE:
        return 0
    cdef Py_ssize_t stride = net.y_cols  # the label, then the weight when weighted
    with nogil:
        for i in range(n):
            v = (<double *>py)[i * stride] if net.is64 else <double>(<float *>py)[i * stride]
            if not (v >= 0 and v < k and v == floor(v)):
                bad = i
                break
    if bad >= 0:
        raise ValueError(f"sparse labels must be integers in [0, {net.n_out}); row {bad} is not")
    return 0


cdef Py_ssize_t _workspace_rows(Net net, Py_ssize_t cap, str func) except -1:
    if cap < 1 or cap > PY_SSIZE_T_MAX // (net.ws_units * 8):
        raise ValueError(f"{func}: workspace rows out of range: {cap}")
    return cap


cdef uint64_t *_rng(object state) except? NULL:
    if not cnp.PyArray_Check(state):
        raise TypeError("rng state: expected a numpy.ndarray")
    cdef cnp.ndarray a = <cnp.ndarray>state
    if (cnp.PyArray_TYPE(a) != cnp.NPY_UINT64 or not cnp.PyArray_IS_C_CONTIGUOUS(a)
            or cnp.PyArray_SIZE(a) != 4 or not cnp.PyArray_ISWRITEABLE(a)):
        raise ValueError("rng state: expected a writeable C-contiguous uint64 array of 4 words")
    return <uint64_t *>cnp.PyArray_DATA(a)


cdef class CSRRows:
    """Rows of a CSR matrix as the C loops read them in place of a dense X (fnn_csr,
    csrc/fnn_net.h): indptr int64 (n_rows + 1), indices int32, data float32/float64,
    n_cols columns.  fastnn/_sparse.py makes it after its user-facing checks; the
    constructor checks the structure once more, in one pass in C (indptr[0] = 0,
    non-decreasing, indptr[n_rows] = nnz = len(indices) = len(data), every index in
    [0, n_cols), every value finite), so no malformed matrix reaches a kernel.  Its
    arrays are made read-only; repeated or unsorted columns are allowed (they add)."""
    cdef readonly object indptr, indices, data
    cdef readonly Py_ssize_t n_rows, n_cols, nnz
    cdef readonly bint is64
    cdef fnn_csr c

    def __cinit__(self, indptr, indices, data, Py_ssize_t n_cols):
        cdef cnp.ndarray ip = _array(indptr, "indptr", cnp.NPY_INT64, "int64", False)
        cdef cnp.ndarray ix = _array(indices, "indices", cnp.NPY_INT32, "int32", False)
        if not cnp.PyArray_Check(data) or (<cnp.ndarray>data).dtype.type not in (np.float32,
                                                                                np.float64):
            raise TypeError("CSRRows: data must be a float32 or float64 numpy.ndarray")
        self.is64 = (<cnp.ndarray>data).dtype.type is np.float64
        cdef cnp.ndarray dv = _array(data, "data", cnp.NPY_FLOAT64 if self.is64 else
                                     cnp.NPY_FLOAT32, "float", False)
        if cnp.PyArray_NDIM(ip) != 1 or cnp.PyArray_SIZE(ip) < 1 or \
                cnp.PyArray_NDIM(ix) != 1 or cnp.PyArray_NDIM(dv) != 1:
            raise ValueError("CSRRows: indptr (at least 1 entry), indices and data must be 1-D")
        if n_cols < 1 or n_cols > 2147483647:
            raise ValueError(f"CSRRows: n_cols must be in [1, 2**31 - 1], got {n_cols}")
        cdef Py_ssize_t n = cnp.PyArray_SIZE(ip) - 1, nnz = cnp.PyArray_SIZE(ix)
        if cnp.PyArray_SIZE(dv) != nnz:
            raise ValueError(f"CSRRows: {nnz} indices but {cnp.PyArray_SIZE(dv)} values")
        cdef const int64_t *pp = <const int64_t *>cnp.PyArray_DATA(ip)
        cdef const int32_t *pi = <const int32_t *>cnp.PyArray_DATA(ix)
        cdef Py_ssize_t r, bad_row = -1, bad_index = -1
        with nogil:
            if pp[0] != 0 or pp[n] != nnz:
                bad_row = n
            else:
                for r in range(n):
                    if pp[r + 1] < pp[r]:
                        bad_row = r
                        break
                for r in range(nnz):
                    if pi[r] < 0 or pi[r] >= n_cols:
                        bad_index = r
                        break
        if bad_row >= 0:
            raise ValueError(f"CSRRows: indptr must start at 0, never decrease and end at "
                             f"nnz={nnz} (first fault at row {bad_row})")
        if bad_index >= 0:
            raise ValueError(f"CSRRows: column index {pi[bad_index]} at position {bad_index} "
                             f"is outside [0, {n_cols})")
        if not _all_finite(cnp.PyArray_DATA(dv), nnz, self.is64):
            raise ValueError("CSRRows: data holds NaN or infinite values")
        for a in (ip, ix, dv):
            a.setflags(write=False)
        self.indptr, self.indices, self.data = ip, ix, dv
        self.n_rows, self.n_cols, self.nnz = n, n_cols, nnz
        self.c.indptr = pp
        self.c.indices = pi
        self.c.data = cnp.PyArray_DATA(dv)
        self.c.n_rows = n

    @property
    def shape(self):
        return (self.n_rows, self.n_cols)

    def __len__(self):
        return self.n_rows

    def rows(self, Py_ssize_t start, Py_ssize_t stop):
        """Rows start..stop-1 (0 <= start <= stop <= n_rows) as a CSRRows sharing
        indices and data."""
        if not (0 <= start <= stop <= self.n_rows):
            raise ValueError(f"CSRRows.rows: need 0 <= {start} <= {stop} <= {self.n_rows}")
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        return CSRRows(self.indptr[start:stop + 1] - lo, self.indices[lo:hi],
                       self.data[lo:hi], self.n_cols)


cdef Py_ssize_t _input(Net net, object X, str func, fnn_csr *csr, const void **px) except -1:
    """Rows of the input X: a CSRRows (*csr := its matrix, *px := NULL) or a 2-D
    C-contiguous ndarray of the model's dtype (*px := its data)."""
    cdef CSRRows s
    cdef Py_ssize_t n
    if isinstance(X, CSRRows):
        s = <CSRRows>X
        if s.n_cols != net.n_in:
            raise ValueError(f"{func}: X must have {net.n_in} columns, received {s.n_cols}")
        if s.is64 != net.is64:
            raise TypeError(f"{func}: X must hold {'float64' if net.is64 else 'float32'} "
                            "values")
        if net.c.input_noise.n > 0 or net.c.layers[0].kind != FNN_STAGE_DENSE:
            raise ValueError(f"{func}: a sparse X goes straight into a dense first layer "
                             "(no input noise or normalization; csrc/fnn_net_sparse.h)")
        csr[0] = s.c
        px[0] = NULL
        return s.n_rows
    n = _rows(X, net.n_in, func)
    px[0] = _data(X, "X", net.is64, n * net.n_in, True, False)
    return n


cdef class StateGuard:
    """Readers/writer state of one model (the discipline is in fastnn/models.py).

    `readers` counts the reads running now (predict, evaluate, get_weights,
    save); `writer` is the ident of the thread changing the model, 0 if none.
    Both change only with the GIL held, and try_read checks and counts in one
    step without releasing it, so a read either is counted before a writer
    raises its flag (and the writer waits for it) or sees the flag."""
    cdef public Py_ssize_t readers
    cdef public unsigned long writer
    # writes ended so far: whatever was computed from the weights while it had one
    # value (predict's packed bfloat16 weights) is valid while it keeps it
    cdef public unsigned long long writes

    cpdef bint try_read(self):
        """Count one more read unless another thread is writing."""
        if self.writer != 0 and self.writer != PyThread_get_thread_ident():
            return False
        self.readers += 1
        return True

    cpdef void end_read(self):
        self.readers -= 1


cdef class Net:
    """The C plan of one compiled network (read-only once built).

    layers: a sequence of LayerSpec (one per stage); input_noise: the noise on the
    network's input (a dropout rate or (NoiseKind, rate) pairs); the rest by keyword:
    loss (LossId), fused (the loss takes the logits), acc (AccuracyKind), want_err
    (sum MAE and MSE), y_cols (target columns: 1 for SPARSE_CCE, else n_out, + 1
    weight column when weighted), n_params (the flat buffer's length), is64.
    `params` (the flat buffer the plan indexes) and `guard` (the model's
    StateGuard) are attached by the model, so that one attribute read gives a
    plan and the buffer it belongs to.
    """
    cdef fnn_net c
    cdef fnn_adapt adapt  # fit's choice of one thread or all, by speed (fnn_pool.h)
    cdef fnn_adapt predict_adapt  # the same for predict_threads (used by the pool's holder)
    cdef readonly bint is64
    cdef readonly Py_ssize_t n_in, n_out, y_cols, n_params, ws_units, max_width
    @property
    def adapt_state(self):
        """(seconds per row on one thread, on all threads, mode 0/1, steps chosen) of
        fit's thread choice (fnn_pool.h fnn_adapt); 0 seconds: not measured yet."""
        return (self.adapt.seconds[0], self.adapt.seconds[1], self.adapt.mode,
                self.adapt.choices)

    cdef public object params
    cdef public StateGuard guard
    cdef readonly bint mixed  # a layer is mixed_bfloat16 (fnn_layer.bf16)
    cdef void *pack_raw  # fit's packed bf16 weights and δ (_attach_bf16_pack)
    cdef size_t pack_bytes
    # predict's packed bf16 weights (_predict_pack): packed from the buffer at
    # pred_params when guard.writes was pred_writes; pred_users calls read them now
    cdef void *pred_raw
    cdef const void *pred_params
    cdef unsigned long long pred_writes
    cdef Py_ssize_t pred_users

    def __cinit__(self, layers, input_noise, *, int loss, bint fused, int acc,
                  bint want_err, Py_ssize_t y_cols, Py_ssize_t n_params, bint is64,
                  Py_ssize_t small_gemm=DEFAULT_SMALL_GEMM, bint weighted=False):
        cdef Py_ssize_t n = len(layers), l, w_len
        cdef int kind
        if n < 1:
            raise ValueError("Net: expected at least one layer")
        for l in range(n):
            if not isinstance(layers[l], LayerSpec):
                raise TypeError(f"Net: layer {l} must be a LayerSpec, received "
                                f"{type(layers[l]).__name__}")
        self.c.layers = <fnn_layer *>malloc(n * sizeof(fnn_layer))
        if self.c.layers == NULL:
            raise MemoryError()
        self.c.n_layers = n
        for l in range(n):
            spec = layers[l]
            n_in, n_out, act, w_off, b_off = (spec.n_in, spec.n_out, spec.act, spec.w_off,
                                              spec.b_off)
            kind, s_off, eps, mom, s_len = (spec.kind, spec.s_off, spec.epsilon,
                                            spec.momentum, spec.s_len)
            if spec.bf16 and (is64 or kind != FNN_STAGE_DENSE):
                raise ValueError(f"Net: layer {l}: mixed_bfloat16 is for the float32 products "
                                 "of a Dense stage; the model is float64 or the stage is not Dense")
            if n_in < 1 or n_out < 1 or not (0 <= act < FNN_N_ACTS) or not (0 <= kind < FNN_N_STAGES):
                raise ValueError(f"Net: bad layer {l}: {spec}")
            if kind != FNN_STAGE_DENSE and n_in != n_out:
                raise ValueError(f"Net: layer {l}: a normalization keeps the width")
            if l > 0 and n_in != layers[l - 1].n_out:
                raise ValueError(f"Net: layer {l} takes {n_in} inputs, previous gives "
                                 f"{layers[l - 1].n_out}")
            w_len = n_in * n_out if kind == FNN_STAGE_DENSE else n_out
            if ((kind == FNN_STAGE_DENSE and w_off < 0) or w_off + w_len > n_params
                    or b_off + n_out > n_params or s_off + s_len > n_params):
                raise ValueError(f"Net: layer {l} parameters fall outside the buffer")
            if ((kind == FNN_STAGE_BATCHNORM or kind == FNN_STAGE_STANDARDIZE) != (s_off >= 0)
                    or (s_off >= 0 and s_len < 2 * n_out)):
                raise ValueError(f"Net: layer {l}: statistics offset {s_off} for kind {kind}")
            if (kind == FNN_STAGE_BATCHNORM or kind == FNN_STAGE_LAYERNORM) and not (
                    eps > 0 and 0.0 <= mom <= 1.0):
                raise ValueError(f"Net: layer {l}: bad epsilon or momentum")
            self.c.layers[l] = fnn_layer(n_in=n_in, n_out=n_out, act=act, kind=kind,
                                         w_off=w_off, b_off=b_off, s_off=s_off,
                                         s_len=s_len if s_off >= 0 else 0, epsilon=eps,
                                         momentum=mom, kernel_l1=spec.kernel_l1,
                                         kernel_l2=spec.kernel_l2, bias_l1=spec.bias_l1,
                                         bias_l2=spec.bias_l2,
                                         noise=_make_noise(spec.noise, l == n - 1),
                                         frozen=spec.frozen, bf16=spec.bf16, pk_w=-1, pk_wt=-1,
                                         ws_z=0, ws_a=0,
                                         ws_d=0, ws_m=0, ws_ad=0, ws_n=0, ws_xh=0, ws_st=0)
        self.c.input_noise = _make_noise(input_noise, False)
        if not (0 <= loss < FNN_N_LOSSES) or not (0 <= acc < FNN_N_ACCS):
            raise ValueError("Net: bad loss or accuracy kind")
        cdef bint sparse = loss == FNN_LOSS_SPARSE_CCE
        if ((sparse != (acc == FNN_ACC_SPARSE) and acc != FNN_ACC_NONE)
                or (sparse and want_err)):
            raise ValueError("Net: sparse labels go with the sparse loss and accuracy only")
        self.n_out = layers[n - 1].n_out
        if y_cols != (1 if sparse else self.n_out) + weighted:
            raise ValueError("Net: y_cols does not match the loss (and weight column)")
        self.c.loss = loss
        self.c.fused = fused
        self.c.acc = acc
        self.c.want_err = want_err
        self.c.y_cols = y_cols
        self.c.weighted = weighted
        self.c.n_params = n_params
        self.c.blas = _make_blas(small_gemm)
        self.mixed = False
        for l in range(n):
            self.mixed = self.mixed or self.c.layers[l].bf16
        self.c.blas.bf16 = _bf16_mode(self.mixed)
        self.ws_units = fnn_net_layout(&self.c)
        self.max_width = self.c.max_width
        self.is64 = is64
        self.n_in = layers[0].n_in
        self.y_cols = y_cols
        self.n_params = n_params

    def __dealloc__(self):
        free(self.c.layers)
        free(self.pack_raw)
        free(self.pred_raw)


cdef fnn_noise _make_noise(spec, bint last) except *:
    """A noise chain (fnn_norm.h) from a dropout rate or a sequence of (NoiseKind,
    rate) pairs (GAUSSIAN's rate: its standard deviation); none on the last layer."""
    cdef fnn_noise z
    memset(&z, 0, sizeof(z))
    if isinstance(spec, (int, float)):
        spec = [(FNN_NOISE_DROPOUT, spec)] if spec != 0 else []
    spec = list(spec)
    if len(spec) > FNN_MAX_NOISE or (spec and last):
        raise ValueError(f"Net: bad noise chain {spec}")
    for k, (kind, rate) in enumerate(spec):
        gaussian = kind == FNN_NOISE_GAUSSIAN
        if not (1 <= kind < FNN_N_NOISE_KINDS) or not (rate > 0) or (
                not gaussian and not rate < 1) or (gaussian and not rate < 1e300):
            raise ValueError(f"Net: bad noise {kind, rate}")
        z.kind[k] = kind
        z.rate[k] = rate
    z.n = len(spec)
    return z


cdef inline void _sync_bf16(Net net) noexcept:
    # the level may have changed since the Net was built (set_isa); the GIL is held
    net.c.blas.bf16 = _bf16_mode(net.mixed)


cdef inline void _call_plan(fnn_net *c, Net net, const fnn_csr *csr) noexcept:
    """c := this call's copy of the model's plan (bf16 mode synced first), reading the
    rows of `csr` when it is not NULL.  Filled in place: the plan is a large struct,
    and each copy of it returned by value cost a `rep movs` (~50 ns per predict)."""
    _sync_bf16(net)
    c[0] = net.c
    c.sparse_x = csr
    c.bf16_pack = NULL
    c.bf16_packed = 0


cdef void *_attach_bf16_pack(fnn_net *c, Py_ssize_t rows, Py_ssize_t cap=0,
                             Net owner=None) except? NULL:
    """Sets this call's packed-weights workspace (csrc/fnn_net.h, bf16_pack) in the
    call's plan `c`: the weights, and with cap > 0 the δ regions of a training call's
    cap rows.  owner given (a fit: one writer at a time, fastnn/_state.py): the Net's
    own buffer, kept across calls (grown when needed), and NULL is returned; else a
    block the caller free()s after the call, or NULL when none is needed: not
    mixed_bfloat16, or `rows` within one row block of the bf16 kernel (W would be
    packed once per product anyway)."""
    if c.blas.bf16 == FNN_BF16_OFF or c.bf16_pack_words == 0 or rows <= FNN_BF16_MC:
        return NULL
    cdef size_t need = (<size_t>c.bf16_pack_words
                        + <size_t>(fnn_net_bf16_delta_words(c, cap) if cap > 0 else 0)) * 4 + 64
    cdef void *raw
    if owner is not None:
        if owner.pack_bytes < need:
            free(owner.pack_raw)
            owner.pack_raw = NULL
            owner.pack_bytes = 0
            owner.pack_raw = malloc(need)
            if owner.pack_raw == NULL:
                raise MemoryError()
            owner.pack_bytes = need
        raw = owner.pack_raw
    else:
        raw = malloc(need)
        if raw == NULL:
            raise MemoryError()
    c.bf16_pack = <uint32_t *>((<size_t>raw + 63) & ~(<size_t>63))
    return NULL if owner is not None else raw


cdef void *_predict_pack(fnn_net *c, Net net, const void *pp, Py_ssize_t n,
                         bint *cached) except? NULL:
    """A predict's packed bfloat16 weights, set in its plan `c`: the Net's copy when P
    is the model's own buffer and no thread is writing the model (packed again after
    each write, with the GIL held, when no call is reading it; cached[0] set, and the
    caller calls _predict_pack_done after the call), else _attach_bf16_pack's.  A
    one-row predict packed the whole W each call before (21 µs for 784×256)."""
    cached[0] = False
    if c.blas.bf16 == FNN_BF16_OFF or c.bf16_pack_words == 0:
        return NULL
    cdef StateGuard guard = net.guard
    if (guard is None or guard.writer != 0 or type(net.params) is not cnp.ndarray
            or pp != cnp.PyArray_DATA(<cnp.ndarray>net.params)):
        return _attach_bf16_pack(c, n)
    cdef bint stale = (net.pred_raw == NULL or net.pred_params != pp
                       or net.pred_writes != guard.writes)
    if stale and net.pred_users > 0:  # another call reads the old copy: pack for this one
        return _attach_bf16_pack(c, n)
    if net.pred_raw == NULL:
        net.pred_raw = malloc(<size_t>c.bf16_pack_words * 4 + 64)
        if net.pred_raw == NULL:
            raise MemoryError()
    c.bf16_pack = <uint32_t *>((<size_t>net.pred_raw + 63) & ~(<size_t>63))
    if stale:  # packed with the GIL held: no other call starts reading meanwhile
        fnn_net_bf16_pack(c, <const float *>pp)
        net.pred_params, net.pred_writes = pp, guard.writes
    c.bf16_packed = 1
    net.pred_users += 1
    cached[0] = True
    return NULL


cdef inline void _predict_pack_done(Net net, bint cached) noexcept:
    if cached:
        net.pred_users -= 1


# ---- int8 inference (csrc/fnn_quant.h; fastnn/quantization.py) ----------------
cdef int _HAVE_VNNI = fnn_have_avx512_vnni()


cdef inline int _int8_mode() noexcept:
    return FNN_INT8_VNNI if (_HAVE_VNNI and _LEVEL == FNN_ISA_AVX512) else FNN_INT8_PORTABLE


def int8_kernel():
    """Where int8 products run now: "avx512_vnni" (vpdpbusd) or "portable" (the
    same integer sums and float epilogue, the same bits)."""
    return "avx512_vnni" if _int8_mode() == FNN_INT8_VNNI else "portable"


def int8_pack(wq):
    """(packed words, column sums) of an int8 (K, N) C-contiguous kernel."""
    if not isinstance(wq, np.ndarray) or wq.dtype != np.int8 or wq.ndim != 2 \
            or not wq.flags.c_contiguous:
        raise TypeError("int8_pack: wq must be a C-contiguous 2-D int8 array")
    cdef Py_ssize_t K = wq.shape[0], N = wq.shape[1]
    if not (1 <= K < 65536 and 1 <= N < 2**31 // max(K, 1)):
        raise ValueError(f"int8_pack: kernel shape {wq.shape} outside 1 <= K < 65536")
    cdef cnp.ndarray Wp = np.zeros(fnn_int8_packed_words(K, N), np.int32)
    cdef cnp.ndarray ws = np.zeros(N, np.int32)
    fnn_int8_pack(K, N, <const int8_t *>cnp.PyArray_DATA(<cnp.ndarray>wq),
                  <int32_t *>cnp.PyArray_DATA(Wp), <int32_t *>cnp.PyArray_DATA(ws))
    return Wp, ws


Int8Layer = namedtuple("Int8Layer", "n_in n_out act packed col_sums scales bias",
                       module=__name__)  # (namedtuple would guess the module wrong here)
Int8Layer.__doc__ = """One layer of an int8 network: n_in (K) inputs, n_out (N) outputs,
act (ActivationId), packed (int8_pack's int32 words), col_sums (its int32 column sums),
scales (float32, one per output) and bias (float32 or None)."""


cdef class Int8Net:
    """An int8 network checked once (fastnn/quantization.py makes one per model): its
    Int8Layer tuples — shapes chain, arrays sized and typed, activations known — and
    the C description of each layer (fnn_int8_layer) that ``predict`` hands to
    fnn_int8_network.  Keeps the layers' arrays alive."""
    cdef fnn_int8_layer *spec
    cdef readonly tuple layers
    cdef readonly Py_ssize_t n_in, n_out
    # the blocks' scratch, kept between calls (a fresh buffer of megabytes per call
    # comes from mmap, whose pages the kernel zeroes each time: ~5 % of a 10,000-row
    # predict); a call that finds it in use (another thread's predict) makes its own
    cdef unsigned char *cache
    cdef size_t cache_bytes
    cdef bint cache_busy

    def __cinit__(self, tuple layers):
        self.spec = NULL
        self.cache = NULL
        self.cache_bytes = 0
        self.cache_busy = False
        cdef Py_ssize_t L = len(layers), l
        if L < 1:
            raise ValueError("Int8Net: no layer")
        prev = layers[0].n_in if isinstance(layers[0], Int8Layer) else None
        for l in range(L):
            if not isinstance(layers[l], Int8Layer):
                raise TypeError(f"Int8Net: layer {l} must be an Int8Layer")
            K, N, act = layers[l].n_in, layers[l].n_out, layers[l].act
            Wp, wsum, wsc, b = (layers[l].packed, layers[l].col_sums, layers[l].scales,
                                layers[l].bias)
            if K != prev or not (1 <= K < 65536) or N < 1:
                raise ValueError(f"Int8Net: layer {l} takes {K} inputs (1 to 65535), "
                                 f"gets {prev}")
            if not (0 <= act < FNN_N_ACTS):
                raise ValueError(f"Int8Net: layer {l} has activation id {act}")
            for name, arr, dt, size in (("Wp", Wp, np.int32, fnn_int8_packed_words(K, N)),
                                        ("wsum", wsum, np.int32, N),
                                        ("wscale", wsc, np.float32, N)):
                if not isinstance(arr, np.ndarray) or arr.dtype != dt or arr.size != size \
                        or not arr.flags.c_contiguous:
                    raise ValueError(f"Int8Net: layer {l} {name} must be {size} "
                                     f"{np.dtype(dt)}")
            if b is not None and (not isinstance(b, np.ndarray) or b.dtype != np.float32
                                  or b.size != N or not b.flags.c_contiguous):
                raise ValueError(f"Int8Net: layer {l} bias must be {N} float32")
            prev = N
        self.spec = <fnn_int8_layer *>malloc(L * sizeof(fnn_int8_layer))
        if self.spec == NULL:
            raise MemoryError()
        for l in range(L):
            b = layers[l].bias
            self.spec[l].K, self.spec[l].N = layers[l].n_in, layers[l].n_out
            self.spec[l].act = layers[l].act
            self.spec[l].Wp = <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray>layers[l].packed)
            self.spec[l].wsum = <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray>layers[l].col_sums)
            self.spec[l].ws = <const float *>cnp.PyArray_DATA(<cnp.ndarray>layers[l].scales)
            self.spec[l].b = NULL if b is None else <const float *>cnp.PyArray_DATA(<cnp.ndarray>b)
        self.layers = layers
        self.n_in, self.n_out = layers[0].n_in, prev

    def __dealloc__(self):
        free(self.spec)
        free(self.cache)

    def __reduce__(self):
        return Int8Net, (self.layers,)

    cdef unsigned char *_scratch(self, size_t bytes, bint *own) except? NULL:
        """`bytes` + 64 of scratch (the caller aligns its start to 64 bytes): the cache
        when free (taken under the GIL), else a buffer of this call's own (*own set:
        the caller frees it)."""
        cdef unsigned char *p
        own[0] = self.cache_busy
        if not own[0]:
            if bytes + 64 > self.cache_bytes:
                free(self.cache)
                self.cache = <unsigned char *>malloc(bytes + 64)
                self.cache_bytes = bytes + 64 if self.cache != NULL else 0
                if self.cache == NULL:
                    raise MemoryError()
            self.cache_busy = True
            return self.cache
        p = <unsigned char *>malloc(bytes + 64)
        if p == NULL:
            raise MemoryError()
        return p

    def predict(self, X, str kernel="auto", int threads=1):
        """Outputs for float32 rows X (n, n_in), in blocks of 1024 rows (each with its
        own input scales) shared by `threads` of fastnn's threads (fnn_pool.h; on the
        caller alone when another thread holds the pool)."""
        cdef int mode
        if kernel == "auto":
            mode = _int8_mode()
        elif kernel == "portable":
            mode = FNN_INT8_PORTABLE
        elif kernel == "avx512_vnni":
            mode = FNN_INT8_VNNI
            if not _HAVE_VNNI:
                raise ValueError("int8_predict: this CPU has no AVX512_VNNI")
        else:
            raise ValueError(f"int8_predict: kernel must be 'auto', 'portable' or "
                             f"'avx512_vnni', received {kernel!r}")
        if threads < 1:
            raise ValueError(f"int8_predict: threads must be >= 1, got {threads}")
        # (C-level checks: a one-row predict is a few microseconds)
        if not self._final_form(X):
            if not isinstance(X, np.ndarray) or X.dtype != np.float32 or X.ndim != 2 \
                    or not X.flags.c_contiguous:
                raise TypeError("int8_predict: X must be a C-contiguous 2-D float32 array")
            raise ValueError(f"int8_predict: the network takes {self.n_in} inputs, X has "
                             f"{X.shape[1]} columns")
        cdef int nonfinite
        out = self._run(<cnp.ndarray>X, mode, threads, &nonfinite)
        if nonfinite & 1:  # found by the pass that takes each block's range
            raise ValueError("int8_predict: X contains NaN or infinity. Expected finite "
                             "values.")
        if nonfinite:
            raise FloatingPointError("int8 predict: a hidden layer's outputs overflowed to "
                                     "infinity or NaN (inputs too large for the weights, "
                                     "or an activation such as 'exponential' overflowing); "
                                     "scale the inputs, or predict with the float model")
        return out

    def predict_fast(self, X):
        """predict(X) on one thread for X already in final form (a C-contiguous,
        aligned float32 ndarray, not a subclass, of n_in columns and at most one block
        of rows), else None, as also when X holds NaN or inf: the caller then takes the
        converting, fully checked path (fastnn/quantization.py).  All checks are C."""
        if type(X) is not cnp.ndarray or not self._final_form(X) \
                or cnp.PyArray_DIMS(<cnp.ndarray>X)[0] > FNN_INT8_BLOCK:
            return None
        cdef int nonfinite
        out = self._run(<cnp.ndarray>X, _int8_mode(), 1, &nonfinite)
        return None if nonfinite else out

    cdef bint _final_form(self, X):
        return (isinstance(X, cnp.ndarray)
                and cnp.PyArray_TYPE(<cnp.ndarray>X) == cnp.NPY_FLOAT32
                and cnp.PyArray_NDIM(<cnp.ndarray>X) == 2
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>X)
                and cnp.PyArray_ISALIGNED(<cnp.ndarray>X)
                and cnp.PyArray_DIMS(<cnp.ndarray>X)[1] == self.n_in)

    cdef object _run(self, cnp.ndarray X, int mode, int threads, int *nonfinite):
        """The outputs for X in final form; *nonfinite := fnn_int8_network's flags (the
        outputs are not set when they are not 0)."""
        cdef Py_ssize_t n = cnp.PyArray_DIMS(X)[0]
        cdef cnp.npy_intp dims[2]
        dims[0], dims[1] = n, self.n_out
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, cnp.NPY_FLOAT32, 0)
        nonfinite[0] = 0
        if n == 0:
            return out
        cdef Py_ssize_t blocks = (n + FNN_INT8_BLOCK - 1) // FNN_INT8_BLOCK
        cdef int t = <int>min(threads, blocks)
        cdef int L = <int>len(self.layers)
        cdef const float *px = <const float *>cnp.PyArray_DATA(X)
        cdef float *po = <float *>cnp.PyArray_DATA(out)
        cdef fnn_pool *pool = NULL
        cdef bint own
        cdef unsigned char *raw = self._scratch(
            <size_t>t * fnn_int8_scratch_bytes(L, self.spec), &own)
        cdef unsigned char *scratch = raw + (64 - <size_t>raw % 64) % 64
        try:
            if n <= 16:  # a few rows take about a microsecond: keep the GIL
                nonfinite[0] = fnn_int8_network(mode, _K.act_forward_f32, L, self.spec, n, px,
                                             po, scratch, NULL, 1)
            else:
                with nogil:
                    if t > 1:
                        pool = fnn_pool_acquire(t)  # NULL: another thread's loop holds it
                    nonfinite[0] = fnn_int8_network(mode, _K.act_forward_f32, L, self.spec, n,
                                                 px, po, scratch, pool,
                                                 t if pool != NULL else 1)
                    fnn_pool_release(pool)
        finally:
            if own:
                free(raw)
            else:
                self.cache_busy = False
        return out


def int8_predict(tuple layers, X, str kernel="auto", int threads=1):
    """``Int8Net(layers).predict(X, kernel, threads)``: the layers checked on every
    call (a QuantizedModel keeps its Int8Net instead)."""
    return Int8Net(layers).predict(X, kernel, threads)


cdef fnn_optim _make_optim(object opt) except *:
    """fnn_optim from an OptimizerSettings (fastnn.optimizers.Optimizer._c_params); the
    piecewise arrays of its schedule must stay referenced by the caller during the call."""
    if not isinstance(opt, OptimizerSettings):
        raise TypeError(f"expected an OptimizerSettings, received {type(opt).__name__}")
    cdef fnn_optim o
    cdef Py_ssize_t n_bounds, n_values
    memset(&o, 0, sizeof(o))
    o.kind, o.nesterov, o.lr = opt.kind, opt.nesterov, opt.lr
    o.momentum, o.rho, o.beta_1, o.beta_2 = opt.momentum, opt.rho, opt.beta_1, opt.beta_2
    o.epsilon, o.weight_decay, o.iterations = opt.epsilon, opt.weight_decay, opt.iterations
    o.clipnorm, o.clipvalue = opt.clipnorm, opt.clipvalue
    o.global_clipnorm, o.u_product = opt.global_clipnorm, opt.u_product
    if not (0 <= o.kind < FNN_N_OPTS):
        raise ValueError(f"unknown optimizer kind {o.kind}")
    sched = opt.schedule
    if sched is None:
        return o
    if not isinstance(sched, ScheduleSettings):
        raise TypeError(f"schedule: expected a ScheduleSettings or None, received "
                        f"{type(sched).__name__}")
    o.sched, o.s_init, o.s_steps, o.s_rate = sched.kind, sched.init, sched.steps, sched.rate
    o.s_end, o.s_power, o.s_alpha = sched.end, sched.power, sched.alpha
    o.s_warm_steps, o.s_warm_target = sched.warm_steps, sched.warm_target
    o.s_staircase, o.s_cycle = sched.staircase, sched.cycle
    if not (0 <= o.sched < FNN_N_SCHEDS):
        raise ValueError(f"unknown schedule kind {o.sched}")
    if o.sched == FNN_SCHED_PIECEWISE:
        o.s_bounds = <const double *>_vector(sched.boundaries, "boundaries", False, False,
                                             &n_bounds)
        o.s_values = <const double *>_vector(sched.values, "values", False, False, &n_values)
        if n_values != n_bounds + 1 or n_bounds == 0:
            raise ValueError("piecewise schedule: need len(values) == len(boundaries) + 1")
        o.s_n = <int>n_bounds
    return o


def set_blas_threads_setter(Py_ssize_t address):
    """The address of the BLAS's ``void f(int)`` thread-count setter (OpenBLAS's
    openblas_set_num_threads, found by fastnn._blas), which fastnn's worker threads
    call with 1 when they start (fnn_pool.h); 0: none."""
    fnn_pool_set_blas_threads_setter(<void (*)(int) noexcept nogil>address)


def train(Net net not None, opt, P, G, S1, S2, ws, Py_ssize_t cap, X, Y, order,
          Py_ssize_t batch, rng, sums, int threads=1):
    """Mini-batch training over the rows `order` of X, Y, each step split over
    `threads` of fastnn's threads when more than 1 (fnn_net_par.h; the products
    should then be single-threaded in the caller too).

    Returns (status, n_done, iterations): status 1 means a batch cost was not
    finite and training stopped before applying it."""
    cdef bint d = net.is64
    cdef fnn_csr csr
    cdef const void *px
    cdef Py_ssize_t n_rows = _input(net, X, "train", &csr, &px)
    cdef fnn_net c
    _call_plan(&c, net, &csr if px == NULL else NULL)
    cdef Py_ssize_t n_order, n_done = 0
    cdef int status
    cdef fnn_optim o = _make_optim(opt)
    cdef Py_ssize_t n_sums
    cdef double *ps = <double *>_vector(sums, "sums", False, True, &n_sums)
    if batch < 1 or batch > cap or n_sums < FNN_N_SUMS:
        raise ValueError(f"train: need 1 <= batch <= cap and {FNN_N_SUMS} sums (N_SUMS)")
    cdef void *py = _data(Y, "Y", d, n_rows * net.y_cols, True, False)
    cdef void *pp = _data(P, "P", d, net.n_params, True, True)
    cdef void *pg = _data(G, "G", d, net.n_params, True, True)
    cdef void *s1 = _data(S1, "S1", d, net.n_params, True, True)
    cdef void *s2 = _data(S2, "S2", d, net.n_params, True, True)
    cdef void *pw = _data(ws, "ws", d, _workspace_rows(net, cap, "train") * net.ws_units,
                          False, True)
    _check_sparse_labels(net, py, n_rows)
    cdef const int64_t *po = <const int64_t *>_vector(order, "order", True, False, &n_order)
    cdef Py_ssize_t i
    for i in range(n_order):
        if po[i] < 0 or po[i] >= n_rows:
            raise ValueError("train: order holds an index outside X")
    cdef uint64_t *r = _rng(rng)
    if n_order == 0:
        return 0, 0, o.iterations
    cdef const fnn_kernels *k = _K
    cdef unsigned int fpenv
    cdef fnn_pool *pool = NULL
    # a step of more than one row block, or one whose input gradient is a product
    _attach_bf16_pack(&c, max(batch, FNN_BF16_MC + 1), cap, net)
    with nogil:
        fpenv = fnn_ftz_enter()  # subnormals flushed to zero while training (fnn_fpenv.h)
        pool = fnn_pool_acquire(threads)  # NULL: one thread (or another fit holds it)
        c.pool = pool
        c.threads = threads  # > 1 without a pool: the split on this thread alone
        c.adapt = &net.adapt
        if d:
            status = k.net_train_f64(&c, &o, <double *>pp, <double *>pg, <double *>s1,
                                     <double *>s2, <double *>pw, cap, <const double *>px,
                                     <const double *>py, po, n_order, batch, r, ps, &n_done)
        else:
            status = k.net_train_f32(&c, &o, <float *>pp, <float *>pg, <float *>s1,
                                     <float *>s2, <float *>pw, cap, <const float *>px,
                                     <const float *>py, po, n_order, batch, r, ps, &n_done)
        fnn_pool_release(pool)
        fnn_ftz_leave(fpenv)
    return status, n_done, o.iterations


def loss_grad(Net net not None, P, G, ws, Py_ssize_t cap, X, Y, rng, sums):
    """G := gradient of the batch cost on all rows of X, Y; returns the cost."""
    cdef bint d = net.is64
    cdef Py_ssize_t B = _rows(X, net.n_in, "loss_grad")
    cdef double cost
    cdef Py_ssize_t n_sums
    cdef double *ps = <double *>_vector(sums, "sums", False, True, &n_sums)
    if B < 1 or B > cap or n_sums < FNN_N_SUMS:
        raise ValueError(f"loss_grad: need 1 <= len(X) <= cap and {FNN_N_SUMS} sums (N_SUMS)")
    cdef void *px = _data(X, "X", d, B * net.n_in, True, False)
    cdef void *py = _data(Y, "Y", d, B * net.y_cols, True, False)
    cdef void *pp = _data(P, "P", d, net.n_params, True, False)
    cdef void *pg = _data(G, "G", d, net.n_params, True, True)
    cdef void *pw = _data(ws, "ws", d, _workspace_rows(net, cap, "loss_grad") * net.ws_units,
                          False, True)
    _check_sparse_labels(net, py, B)
    cdef uint64_t *r = NULL if rng is None else _rng(rng)
    cdef const fnn_kernels *k = _K
    cdef fnn_net c
    _call_plan(&c, net, NULL)
    cdef void *pack = _attach_bf16_pack(&c, FNN_BF16_MC + 1, cap)
    with nogil:
        if d:
            cost = k.net_loss_grad_f64(&c, <const double *>pp, <double *>pg, <double *>pw,
                                       cap, B, <const double *>px, <const double *>py, r, ps)
        else:
            cost = k.net_loss_grad_f32(&c, <const float *>pp, <float *>pg, <float *>pw,
                                       cap, B, <const float *>px, <const float *>py, r, ps)
    free(pack)
    return cost


def evaluate(Net net not None, P, ws, Py_ssize_t cap, X, Y, sums):
    """Adds the loss (with penalty) and metric sums over all rows of X, Y."""
    cdef bint d = net.is64
    cdef fnn_csr csr
    cdef const void *px
    cdef Py_ssize_t n = _input(net, X, "evaluate", &csr, &px)
    cdef fnn_net c
    _call_plan(&c, net, &csr if px == NULL else NULL)
    cdef Py_ssize_t n_sums
    cdef double *ps = <double *>_vector(sums, "sums", False, True, &n_sums)
    if cap < 1 or n_sums < FNN_N_SUMS:
        raise ValueError(f"evaluate: need cap >= 1 and {FNN_N_SUMS} sums (N_SUMS)")
    cdef void *py = _data(Y, "Y", d, n * net.y_cols, True, False)
    cdef void *pp = _data(P, "P", d, net.n_params, True, False)
    cdef void *pw = _data(ws, "ws", d, _workspace_rows(net, cap, "evaluate") * net.ws_units,
                          False, True)
    _check_sparse_labels(net, py, n)
    cdef const fnn_kernels *k = _K
    cdef void *pack = _attach_bf16_pack(&c, n)
    with nogil:
        if d:
            k.net_evaluate_f64(&c, <const double *>pp, <double *>pw, cap,
                               <const double *>px, <const double *>py, n, ps)
        else:
            k.net_evaluate_f32(&c, <const float *>pp, <float *>pw, cap,
                               <const float *>px, <const float *>py, n, ps)
    free(pack)


cdef enum:
    STACK_WS = 4096  # doubles of stack workspace for small predictions
    SMALL_WORK = 4096  # rows x parameters below which predict keeps the GIL


cdef inline void _predict_rows(const fnn_net *c, const void *pp, void *w, Py_ssize_t cap,
                               const void *px, Py_ssize_t n, void *po, bint d,
                               const fnn_kernels *k) noexcept nogil:
    _forward_plan(c, pp, w, cap, px, n, po, d, k)


cdef inline void _forward_plan(const fnn_net *c, const void *pp, void *w, Py_ssize_t cap,
                               const void *px, Py_ssize_t n, void *po, bint d,
                               const fnn_kernels *k) noexcept nogil:
    if d:
        k.net_predict_f64(c, <const double *>pp, <double *>w, cap, <const double *>px, n,
                          <double *>po)
    else:
        k.net_predict_f32(c, <const float *>pp, <float *>w, cap, <const float *>px, n,
                          <float *>po)


# ---- the Cython API (fastnn/capi.pxd) -----------------------------------------
cdef struct _capi_ctx:
    const fnn_net *plan
    const void *params
    bint is64
    const fnn_kernels *k  # the instruction set when the handle was made
    Py_ssize_t max_width


cdef int _capi_forward(const void *ctx, const void *x, Py_ssize_t n, void *out) noexcept nogil:
    """fastnn_forward_fn: the plan's forward over n rows, a workspace per call."""
    cdef const _capi_ctx *c = <const _capi_ctx *>ctx
    cdef double stack[STACK_WS]
    cdef Py_ssize_t cap = min(n, 1024)
    cdef size_t need = 2 * cap * c.max_width * (8 if c.is64 else 4)
    cdef void *w = <void *>stack
    if n <= 0:
        return 0
    if need > sizeof(stack):
        w = malloc(need)
        if w == NULL:
            return -1
    _forward_plan(c.plan, c.params, w, cap, x, n, out, c.is64, c.k)
    if w != <void *>stack:
        free(w)
    return 0


cdef class CHandle:
    """What ``model.c_handle()`` returns: a plan and a private copy of the weights,
    alive as long as this object, and ``capsule`` holding the fastnn_handle."""
    cdef readonly Net net
    cdef readonly object params
    cdef readonly str isa  # the instruction set its forward runs with
    cdef _capi_ctx ctx
    cdef fastnn_handle handle

    def __cinit__(self, Net net not None, params):
        self.net = net
        self.params = np.array(params, dtype=np.float64 if net.is64 else np.float32,
                               order="C", copy=True)
        if self.params.shape != (net.n_params,):
            raise ValueError("CHandle: params do not fit the plan")
        self.ctx.plan = &net.c
        self.ctx.params = cnp.PyArray_DATA(<cnp.ndarray>self.params)
        self.ctx.is64 = net.is64
        self.ctx.k = _K
        _sync_bf16(net)
        self.isa = get_isa()
        self.ctx.max_width = net.max_width
        self.handle.ctx = &self.ctx
        self.handle.forward = _capi_forward
        self.handle.n_in = net.n_in
        self.handle.n_out = net.n_out
        self.handle.is64 = net.is64

    @property
    def capsule(self):
        return PyCapsule_New(&self.handle, b"fastnn.capi.handle", NULL)

cdef int _warn_if_not_finite(const void *po, Py_ssize_t size, bint d) except -1:
    if not _all_finite(po, size, d):
        warnings.warn("predict(): the network produced NaN or infinite outputs (an "
                      "overflow inside it, e.g. inputs too large for the weights, or "
                      "non-finite weights).", RuntimeWarning, stacklevel=3)
    return 0


cdef cnp.ndarray _predict_core(Net net, const void *pp, const void *px, Py_ssize_t n,
                               const fnn_csr *csr=NULL):
    """The output rows for n checked input rows (of px, or of csr when given): the one
    implementation behind predict and predict_fast (workspace on the stack when it
    fits)."""
    cdef bint d = net.is64
    cdef fnn_net c
    _call_plan(&c, net, csr)
    cdef cnp.npy_intp dims[2]
    dims[0] = n
    dims[1] = net.n_out
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims,
                                             cnp.NPY_FLOAT64 if d else cnp.NPY_FLOAT32, 0)
    if n == 0:
        return out
    cdef double stack[STACK_WS]
    cdef Py_ssize_t item = 8 if d else 4
    cdef Py_ssize_t cap = min(n, 1024)  # rows per chunk: large enough for BLAS to pay off
    cdef size_t need = 2 * cap * net.max_width * item
    cdef void *w = <void *>stack
    if need > sizeof(stack):  # the ping-pong buffers do not fit on the stack
        w = malloc(need)
        if w == NULL:
            raise MemoryError()
    cdef void *po = cnp.PyArray_DATA(out)
    cdef const fnn_kernels *k = _K
    cdef void *pack
    cdef bint cached
    try:
        pack = _predict_pack(&c, net, pp, n, &cached)
    except MemoryError:
        if w != <void *>stack:
            free(w)
        raise
    if n * net.n_params < SMALL_WORK:  # under ~1 µs: releasing the GIL would cost more
        _predict_rows(&c, pp, w, cap, px, n, po, d, k)
    else:
        with nogil:
            _predict_rows(&c, pp, w, cap, px, n, po, d, k)
    _predict_pack_done(net, cached)
    free(pack)
    if w != <void *>stack:
        free(w)
    _warn_if_not_finite(po, n * net.n_out, d)
    return out


def predict(Net net not None, P, X):
    """Network output for the rows of X (2-D, n_in columns, model dtype, C order;
    or a CSRRows).

    Thread-safe: the workspace is per call (on the stack when it fits)."""
    cdef bint d = net.is64
    cdef fnn_csr csr
    cdef const void *px
    cdef Py_ssize_t n = _input(net, X, "predict", &csr, &px)
    cdef void *pp = _data(P, "P", d, net.n_params, True, False)
    return _predict_core(net, pp, px, n, &csr if px == NULL else NULL)


PREDICT_CHUNK = 256  # rows per item of a split predict (fnn_net_predict_par)
cdef Py_ssize_t _split_predict_above = 1 << 62


def set_split_predict_above(Py_ssize_t multiply_adds):
    """predict_fast declines (returns None) from this many rows × parameters on, so
    that the caller can run the prediction on fastnn's threads (fastnn/threads.py)."""
    global _split_predict_above
    _split_predict_above = multiply_adds




def predict_threads(Net net not None, P, X, int threads):
    """predict() split into chunks of PREDICT_CHUNK rows on `threads` of fastnn's
    threads (fnn_pool.h; the products should be single-threaded meanwhile), all of
    them or one as measured (fnn_adapt); on the caller alone when another thread holds
    the pool.  The split depends on the row count only, so the output does not
    depend on which threads ran."""
    cdef bint d = net.is64
    cdef fnn_csr csr
    cdef const void *px
    cdef Py_ssize_t n = _input(net, X, "predict", &csr, &px)
    cdef fnn_net c
    _call_plan(&c, net, &csr if px == NULL else NULL)
    cdef void *pp = _data(P, "P", d, net.n_params, True, False)
    if threads < 1:
        raise ValueError(f"predict_threads: threads must be >= 1, got {threads}")
    cdef cnp.npy_intp dims[2]
    dims[0] = n
    dims[1] = net.n_out
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims,
                                             cnp.NPY_FLOAT64 if d else cnp.NPY_FLOAT32, 0)
    if n == 0:
        return out
    cdef Py_ssize_t R = PREDICT_CHUNK
    cdef size_t item = 8 if d else 4
    cdef void *w = malloc(<size_t>threads * 2 * R * net.max_width * item)
    if w == NULL:
        raise MemoryError()
    cdef void *po = cnp.PyArray_DATA(out)
    cdef const fnn_kernels *k = _K
    cdef fnn_pool *pool
    cdef void *pack
    cdef bint cached
    try:
        pack = _predict_pack(&c, net, pp, n, &cached)
    except MemoryError:
        free(w)
        raise
    with nogil:
        pool = fnn_pool_acquire(threads)  # NULL: another thread's loop holds it
        if d:
            k.net_predict_par_f64(&c, pool, threads, &net.predict_adapt,
                                  <const double *>pp, <double *>w, R, <const double *>px, n,
                                  <double *>po)
        else:
            k.net_predict_par_f32(&c, pool, threads, &net.predict_adapt,
                                  <const float *>pp, <float *>w, R, <const float *>px, n,
                                  <float *>po)
        fnn_pool_release(pool)
    _predict_pack_done(net, cached)
    free(pack)
    free(w)
    _warn_if_not_finite(po, n * net.n_out, d)
    return out


cdef bint _all_finite(const void *p, Py_ssize_t n, bint is64) noexcept nogil:
    # finite ⇔ the exponent bits are not all ones; OR-ing that test over a block has
    # no branch per element, so the compiler vectorises it (one pass, memory speed)
    cdef Py_ssize_t i, start, stop, block = 4096
    cdef const uint32_t *pf = <const uint32_t *>p
    cdef const uint64_t *pd = <const uint64_t *>p
    cdef uint32_t bad
    start = 0
    while start < n:
        stop = min(start + block, n)
        bad = 0
        if is64:
            for i in range(start, stop):
                bad |= (pd[i] & 0x7FF0000000000000ULL) == 0x7FF0000000000000ULL
        else:
            for i in range(start, stop):
                bad |= (pf[i] & 0x7F800000U) == 0x7F800000U
        if bad:
            return False
        start = stop
    return True


def all_finite(cnp.ndarray a not None):
    """True when the C-contiguous float32/float64 array `a` holds no NaN or inf —
    np.isfinite(a).all() without its temporary array (one pass, GIL released)."""
    if a.dtype.type not in (np.float32, np.float64) or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise TypeError("all_finite(): expected a C-contiguous float32 or float64 array")
    cdef bint is64 = a.dtype.type is np.float64
    cdef const void *p = cnp.PyArray_DATA(a)
    cdef Py_ssize_t n = a.size
    cdef bint ok
    with nogil:
        ok = _all_finite(p, n, is64)
    return ok


def predict_fast(Net net not None, X):
    """predict() with the plan's own buffer, for input already in final form, or None.

    Returns the output when X is a C-contiguous, aligned, 2-D ndarray (not a
    subclass) of the model dtype with n_in columns and only finite values, and
    no other thread is changing the model; otherwise None, and the caller takes
    the converting, fully checked path.  All checks are C; the read is counted
    in the model's guard while it runs."""
    cdef StateGuard guard = net.guard
    if type(X) is not cnp.ndarray or type(net.params) is not cnp.ndarray or guard is None:
        return None
    cdef cnp.ndarray a = <cnp.ndarray>X
    if (cnp.PyArray_NDIM(a) != 2 or cnp.PyArray_DIM(a, 1) != net.n_in
            or cnp.PyArray_TYPE(a) != <int>(cnp.NPY_FLOAT64 if net.is64 else cnp.NPY_FLOAT32)
            or not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a)):
        return None
    if cnp.PyArray_DIM(a, 0) * net.n_params >= _split_predict_above:
        return None  # large enough for fastnn's threads: the caller's policy decides
    cdef cnp.ndarray p = <cnp.ndarray>net.params
    if (cnp.PyArray_SIZE(p) != net.n_params or cnp.PyArray_TYPE(p) != cnp.PyArray_TYPE(a)
            or not cnp.PyArray_IS_C_CONTIGUOUS(p) or not cnp.PyArray_ISALIGNED(p)):
        return None
    if not guard.try_read():  # counted from here: a writer now waits for this read
        return None
    cdef bint finite
    cdef Py_ssize_t size = cnp.PyArray_SIZE(a)
    try:
        if size < SMALL_WORK:  # a few rows: releasing the GIL would cost more than the check
            finite = _all_finite(cnp.PyArray_DATA(a), size, net.is64)
        else:
            with nogil:
                finite = _all_finite(cnp.PyArray_DATA(a), size, net.is64)
        if not finite:
            return None
        return _predict_core(net, cnp.PyArray_DATA(p), cnp.PyArray_DATA(a),
                             cnp.PyArray_DIM(a, 0))
    finally:
        guard.readers -= 1


# ---- random numbers ---------------------------------------------------------

def rng_seed(state, uint64_t seed, uint64_t stream):
    fnn_rng_seed(_rng(state), seed, stream)


def rng_permutation(state, Py_ssize_t n):
    cdef uint64_t *r = _rng(state)
    out = np.empty(n, dtype=np.int64)
    cdef int64_t *o = <int64_t *>cnp.PyArray_DATA(<cnp.ndarray>out)
    if n > 0:
        with nogil:
            fnn_rng_permutation(r, n, o)
    return out


def rng_fill(state, out, str dist, double a, double b, bint truncated=False):
    """Fill `out` (float32/float64, C order) with uniform(a, b) or normal(a, b)."""
    cdef uint64_t *r = _rng(state)
    cdef bint d = out.dtype == np.float64
    cdef Py_ssize_t n = out.size
    cdef void *p = _data(out, "out", d, n, True, True)
    if dist == "uniform":
        if d: fnn_rng_fill_uniform_f64(r, n, a, b, <double *>p)
        else: fnn_rng_fill_uniform_f32(r, n, a, b, <float *>p)
    elif dist == "normal":
        if d: fnn_rng_fill_normal_f64(r, n, a, b, truncated, <double *>p)
        else: fnn_rng_fill_normal_f32(r, n, a, b, truncated, <float *>p)
    else:
        raise ValueError(f"rng_fill: unknown distribution {dist!r}")


def perceptron_epoch(X, y, double lr, w, b):
    """One pass of the perceptron rule over the rows of X; returns #mistakes."""
    cdef bint d = X.dtype == np.float64
    if X.ndim != 2:
        raise ValueError("perceptron_epoch: X must be 2-D")
    cdef Py_ssize_t n = X.shape[0], n_in = X.shape[1]
    cdef void *px = _data(X, "X", d, n * n_in, True, False)
    cdef void *py = _data(y, "y", d, n, True, False)
    cdef void *pw = _data(w, "w", d, n_in, True, True)
    cdef void *pb = _data(b, "b", d, 1, True, True)
    cdef Py_ssize_t mistakes
    with nogil:
        if d:
            mistakes = fnn_perceptron_epoch_f64(n, n_in, <const double *>px, <const double *>py,
                                                lr, <double *>pw, <double *>pb)
        else:
            mistakes = fnn_perceptron_epoch_f32(n, n_in, <const float *>px, <const float *>py,
                                                lr, <float *>pw, <float *>pb)
    return mistakes


# ---- one C kernel each, for the kernel-vs-reference tests -------------------

cdef bint _is64(x) except -1:
    if not cnp.PyArray_Check(x):
        raise TypeError("expected a numpy.ndarray")
    return (<cnp.ndarray>x).dtype == np.float64


def dense_forward_kernel(X, W, b, Z, Py_ssize_t small_gemm=DEFAULT_SMALL_GEMM,
                         bint mixed=False):
    cdef bint d = _is64(X)
    cdef Py_ssize_t B = X.shape[0], n_in = X.shape[1], n_out = W.shape[1]
    if W.shape[0] != n_in or n_in < 1 or n_out < 1:
        raise ValueError("dense_forward_kernel: W must be (n_in, n_out)")
    cdef fnn_blas blas = _make_blas(small_gemm)
    blas.bf16 = _bf16_mode(mixed and not d)
    cdef void *px = _data(X, "X", d, B * n_in, True, False)
    cdef void *pw = _data(W, "W", d, n_in * n_out, True, False)
    cdef void *pb = NULL if b is None else _data(b, "b", d, n_out, True, False)
    cdef void *pz = _data(Z, "Z", d, B * n_out, True, True)
    if d: _K.dense_forward_f64(&blas, B, n_in, n_out, <double *>px, <double *>pw, <double *>pb, <double *>pz)
    else: _K.dense_forward_f32(&blas, B, n_in, n_out, <float *>px, <float *>pw, <float *>pb, <float *>pz)


def dense_backward_kernel(X, delta, W, dW, db, dX, Py_ssize_t small_gemm=DEFAULT_SMALL_GEMM,
                          bint mixed=False):
    cdef bint d = _is64(X)
    cdef Py_ssize_t B = X.shape[0], n_in = X.shape[1], n_out = W.shape[1]
    if W.shape[0] != n_in or n_in < 1 or n_out < 1:
        raise ValueError("dense_backward_kernel: W must be (n_in, n_out)")
    cdef fnn_blas blas = _make_blas(small_gemm)
    blas.bf16 = _bf16_mode(mixed and not d)
    cdef void *px = _data(X, "X", d, B * n_in, True, False)
    cdef void *pd = _data(delta, "delta", d, B * n_out, True, False)
    cdef void *pw = _data(W, "W", d, n_in * n_out, True, False)
    cdef void *pdw = _data(dW, "dW", d, n_in * n_out, True, True)
    cdef void *pdb = NULL if db is None else _data(db, "db", d, n_out, True, True)
    cdef void *pdx = NULL if dX is None else _data(dX, "dX", d, B * n_in, True, True)
    if d: _K.dense_backward_f64(&blas, B, n_in, n_out, <double *>px, <double *>pd, <double *>pw,
                                <double *>pdw, <double *>pdb, <double *>pdx)
    else: _K.dense_backward_f32(&blas, B, n_in, n_out, <float *>px, <float *>pd, <float *>pw,
                                <float *>pdw, <float *>pdb, <float *>pdx)


def act_forward_kernel(int act, Z, A):
    cdef bint d = _is64(Z)
    if Z.ndim != 2 or Z.shape[1] < 1 or not (0 <= act < FNN_N_ACTS):
        raise ValueError("act_forward_kernel: Z must be 2-D, act a valid id")
    cdef Py_ssize_t B = Z.shape[0], n = Z.shape[1]
    cdef void *pz = _data(Z, "Z", d, B * n, True, False)
    cdef void *pa = _data(A, "A", d, B * n, True, True)
    if d: _K.act_forward_f64(act, B, n, <double *>pz, <double *>pa)
    else: _K.act_forward_f32(act, B, n, <float *>pz, <float *>pa)


def act_backward_kernel(int act, Z, A, G):
    cdef bint d = _is64(Z)
    if Z.ndim != 2 or Z.shape[1] < 1 or not (0 <= act < FNN_N_ACTS):
        raise ValueError("act_backward_kernel: Z must be 2-D, act a valid id")
    cdef Py_ssize_t B = Z.shape[0], n = Z.shape[1]
    cdef void *pz = _data(Z, "Z", d, B * n, True, False)
    cdef void *pa = _data(A, "A", d, B * n, True, False)
    cdef void *pg = _data(G, "G", d, B * n, True, True)
    if d: _K.act_backward_f64(act, B, n, <double *>pz, <double *>pa, <double *>pg)
    else: _K.act_backward_f32(act, B, n, <float *>pz, <float *>pa, <float *>pg)


def loss_kernel(int loss_id, bint fused, Z, A, Y, delta):
    """Returns Σ_rows ℓ_r; writes delta unless it is None.  Labels must be valid."""
    cdef bint d = _is64(Z)
    cdef int loss = loss_id
    if Z.ndim != 2 or Z.shape[1] < 1 or not (0 <= loss < FNN_N_LOSSES):
        raise ValueError("loss_kernel: Z must be 2-D, loss_id a valid id")
    cdef bint sparse = loss == FNN_LOSS_SPARSE_CCE
    cdef Py_ssize_t B = Z.shape[0], k = Z.shape[1], ky = 1 if sparse else k
    cdef void *pz = _data(Z, "Z", d, B * k, True, False)
    cdef void *pa = _data(A, "A", d, B * k, True, False)
    cdef void *py = _data(Y, "Y", d, B * ky, True, False)
    cdef void *pd = NULL if delta is None else _data(delta, "delta", d, B * k, True, True)
    if sparse and (np.any(Y < 0) or np.any(Y >= k) or np.any(Y != np.floor(Y))):
        raise ValueError("loss_kernel: sparse labels must be integers in [0, k)")
    if d: return _K.loss_f64(loss, fused, B, k, <double *>pz, <double *>pa, <double *>py, <double *>pd)
    return _K.loss_f32(loss, fused, B, k, <float *>pz, <float *>pa, <float *>py, <float *>pd)


def metrics_kernel(int acc, bint want_err, A, Y):
    cdef bint d = _is64(A)
    if A.ndim != 2 or A.shape[1] < 1 or not (0 <= acc < FNN_N_ACCS):
        raise ValueError("metrics_kernel: A must be 2-D, acc a valid id")
    cdef bint sparse = acc == FNN_ACC_SPARSE
    cdef Py_ssize_t B = A.shape[0], k = A.shape[1], ky = 1 if sparse else k
    if sparse and want_err:
        raise ValueError("metrics_kernel: errors need dense targets")
    if sparse and (np.any(Y < 0) or np.any(Y >= k) or np.any(Y != np.floor(Y))):
        raise ValueError("metrics_kernel: sparse labels must be integers in [0, k)")
    cdef void *pa = _data(A, "A", d, B * k, True, False)
    cdef void *py = _data(Y, "Y", d, B * ky, True, False)
    sums = np.zeros(FNN_N_SUMS)
    cdef double *s = <double *>cnp.PyArray_DATA(<cnp.ndarray>sums)
    if d: fnn_metrics_f64(acc, want_err, B, k, <double *>pa, <double *>py, s)
    else: fnn_metrics_f32(acc, want_err, B, k, <float *>pa, <float *>py, s)
    return sums


def regularize_kernel(W, double l1, double l2, G):
    cdef bint d = _is64(W)
    cdef Py_ssize_t n = W.size
    cdef void *pw = _data(W, "W", d, n, True, False)
    cdef void *pg = NULL if G is None else _data(G, "G", d, n, True, True)
    if d: return fnn_regularize_f64(n, <double *>pw, l1, l2, <double *>pg)
    return fnn_regularize_f32(n, <float *>pw, l1, l2, <float *>pg)


def dropout_mask_kernel(state, double rate, M):
    cdef bint d = _is64(M)
    cdef Py_ssize_t n = M.size
    if not (0.0 < rate < 1.0):
        raise ValueError("dropout_mask_kernel: rate must be in (0, 1)")
    cdef uint64_t *r = _rng(state)
    cdef void *pm = _data(M, "M", d, n, True, True)
    if d: fnn_dropout_mask_f64(r, n, rate, <double *>pm)
    else: fnn_dropout_mask_f32(r, n, rate, <float *>pm)


def noise_draw_kernel(state, spec, M, N=None):
    """fnn_noise_draw: M (and N, the added term) of the noise chain `spec`, a sequence
    of (NoiseKind, rate) pairs (fnn_norm.h)."""
    cdef bint d = _is64(M)
    cdef Py_ssize_t n = M.size
    cdef fnn_noise z = _make_noise(spec, False)
    cdef uint64_t *r = _rng(state)
    cdef void *pm = _data(M, "M", d, n, True, True)
    cdef void *pn = NULL
    if N is not None:
        pn = _data(N, "N", d, n, True, True)
    if d: fnn_noise_draw_f64(r, &z, n, <double *>pm, <double *>pn)
    else: fnn_noise_draw_f32(r, &z, n, <float *>pm, <float *>pn)


def optim_bound(opt, double state, double grad):
    """fnn_optim_bound: a bound of every |value| the next step computes when |P|, |S1|,
    |S2| <= state and |G| <= grad (the test of fit's overflow guard)."""
    cdef fnn_optim o = _make_optim(opt)
    return fnn_optim_bound(&o, state, grad)


def optim_finite_kernel(opt, P, G, S1, S2):
    """fnn_optim_finite: 1 when the step would store only finite values (nothing
    stored, the count unchanged)."""
    cdef bint d = _is64(P)
    cdef Py_ssize_t n = P.size
    cdef fnn_optim o = _make_optim(opt)
    cdef void *pp = _data(P, "P", d, n, True, False)
    cdef void *pg = _data(G, "G", d, n, True, False)
    cdef void *s1 = _data(S1, "S1", d, n, True, False)
    cdef void *s2 = _data(S2, "S2", d, n, True, False)
    if d:
        return bool(fnn_optim_finite_f64(&o, n, <const double *>pp, <const double *>pg,
                                         <const double *>s1, <const double *>s2))
    return bool(fnn_optim_finite_f32(&o, n, <const float *>pp, <const float *>pg,
                                     <const float *>s1, <const float *>s2))


def optim_step_kernel(opt, P, G, S1, S2):
    """One optimizer update; returns the new iteration count."""
    cdef bint d = _is64(P)
    cdef Py_ssize_t n = P.size
    cdef fnn_optim o = _make_optim(opt)
    cdef void *pp = _data(P, "P", d, n, True, True)
    cdef void *pg = _data(G, "G", d, n, True, False)
    cdef void *s1 = _data(S1, "S1", d, n, True, True)
    cdef void *s2 = _data(S2, "S2", d, n, True, True)
    if d: _K.optim_step_f64(&o, n, <double *>pp, <double *>pg, <double *>s1, <double *>s2)
    else: _K.optim_step_f32(&o, n, <float *>pp, <float *>pg, <float *>s1, <float *>s2)
    return o.iterations
