"""Build of fastnn's compiled core: one Cython extension over the C kernels in csrc/.

FASTNN_DEBUG=1 turns on Cython bounds/wraparound/initialized/None checks and the
C asserts (FNN_ASSERT, -DFNN_DEBUG).  FASTNN_ANNOTATE=1 writes Cython's HTML
annotation.  Shipped builds use -O3 with no -march=native and no -ffast-math, so
the wheel runs on any x86-64 and NaN/inf checks stay valid.
"""
import os
import sys
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTNN_DEBUG", "0") not in ("", "0")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

if sys.platform == "win32":
    extra_compile_args = ["/O2"] + (["/DFNN_DEBUG"] if DEBUG else [])
else:
    # -fno-math-errno lets sqrt vectorise (errno is never read); NaN/inf semantics stay
    extra_compile_args = ["-O3", "-std=c11", "-fno-math-errno", "-Wno-unused-function"]
    # Python's own flags carry -DNDEBUG; -UNDEBUG after them turns assert() back on
    extra_compile_args += ["-O0", "-g", "-DFNN_DEBUG", "-UNDEBUG"] if DEBUG else ["-DNDEBUG"]

csources = sorted(glob("csrc/*.c"))
extensions = [
    Extension(
        "fastnn._kernels._core",
        ["fastnn/_kernels/_core.pyx", *csources],
        include_dirs=["csrc", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile_args,
        depends=glob("csrc/*.h"),
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        annotate=os.environ.get("FASTNN_ANNOTATE") == "1",
    ),
)
