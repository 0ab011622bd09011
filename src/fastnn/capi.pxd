# fastnn/capi.pxd — the C-level entry for Cython code: a compiled model's forward
# pass on raw pointers, nogil, from your own loops.
#
#     cimport fastnn.capi as capi
#
#     handle = model.c_handle()          # keeps the plan and a copy of the weights alive
#     cdef capi.fastnn_handle *h = capi.handle_of(handle)
#     with nogil:
#         for i in prange(n):           # any number of threads at once
#             capi.forward(h, &X[i, 0], 1, &out[i, 0])
#
# The handle is a snapshot: the weights are copied when c_handle() is called, so
# training the model afterwards never changes (or tears) what the handle computes;
# call c_handle() again for the new weights.  `x` holds n_rows × n_in values and
# `out` n_rows × n_out values, C order, of the model's dtype (float64 when is64,
# else float32); forward returns 0, or -1 when it could not allocate its workspace.
# Keep the handle object referenced while you use the pointer.  Build your
# extension with include_path=[fastnn.get_include()]; no header or library of
# fastnn is needed (the struct is defined here, the code is reached through the
# function pointer).
from cpython.pycapsule cimport PyCapsule_GetPointer

cdef extern from *:
    """
    typedef int (*fastnn_forward_fn)(const void *ctx, const void *x, Py_ssize_t n_rows,
                                     void *out);
    typedef struct {
        const void *ctx;
        fastnn_forward_fn forward;
        Py_ssize_t n_in, n_out;
        int is64;
    } fastnn_handle;
    """
    ctypedef int (*fastnn_forward_fn)(const void *ctx, const void *x, Py_ssize_t n_rows,
                                      void *out) noexcept nogil
    ctypedef struct fastnn_handle:
        const void *ctx
        fastnn_forward_fn forward
        Py_ssize_t n_in, n_out
        int is64


cdef inline fastnn_handle *handle_of(object c_handle) except NULL:
    """The C handle inside the object model.c_handle() returned."""
    return <fastnn_handle *>PyCapsule_GetPointer(c_handle.capsule, b"fastnn.capi.handle")


cdef inline int forward(const fastnn_handle *h, const void *x, Py_ssize_t n_rows,
                        void *out) noexcept nogil:
    """out := the network's output for the n_rows rows of x (thread-safe, no GIL)."""
    return h.forward(h.ctx, x, n_rows, out)
