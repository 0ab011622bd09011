# A Cython extension that runs a fastnn model on raw pointers, without the GIL,
# from its own parallel loop (fastnn/capi.pxd).  Build it with setup.py beside it.
from cython.parallel cimport prange

cimport fastnn.capi as capi

import numpy as np


def predict_rows(model, float[:, ::1] X not None):
    """The model's output for each row of X, one forward call per row, rows spread
    over OpenMP threads (or one thread where OpenMP is absent)."""
    handle = model.c_handle()                 # referenced until the function returns
    cdef capi.fastnn_handle *h = capi.handle_of(handle)
    if h.is64 or X.shape[1] != h.n_in:
        raise ValueError(f"expected float32 rows of {h.n_in} features")
    out = np.empty((X.shape[0], h.n_out), dtype=np.float32)
    cdef float[:, ::1] o = out
    cdef Py_ssize_t i, n = X.shape[0]
    cdef int failures = 0
    with nogil:
        for i in prange(n, schedule="static"):
            failures += capi.forward(h, &X[i, 0], 1, &o[i, 0]) != 0
    if failures:
        raise MemoryError("fastnn forward could not allocate its workspace")
    return out
