"""Build the example: python setup.py build_ext --inplace (needs Cython and fastnn)."""
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

import fastnn

openmp = [] if sys.platform == "win32" else ["-fopenmp"]
setup(
    name="nogil_predict",
    ext_modules=cythonize(
        [Extension("nogil_predict", ["nogil_predict.pyx"], extra_compile_args=openmp,
                   extra_link_args=openmp)],
        include_path=[fastnn.get_include()],
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False},
    ),
)
