/* Timing harness of benchmarks/bench_gemm.py (issue 17, item 2): times row-major
 * single-precision GEMM calls of several libraries without Python in the loop.
 *
 * bench_gemm.py compiles this file with the system C compiler into a temporary
 * shared library, loads it with ctypes, resolves each candidate's sgemm entry
 * point itself (a capsule of scipy.linalg.cython_blas, or dlsym on a library it
 * located) and passes the function pointer here with the kind of its interface.
 * Only the calls are timed: one clock_gettime before and after `reps` calls.
 *
 * Every call computes, row-major as fastnn does,
 *     C(M×N) := op(A)·op(B) + beta·C      op(A): M×K, op(B): K×N
 * with op = identity or transpose (tA, tB), A, B, C dense with leading
 * dimensions lda, ldb, ldc (elements per stored row).
 *
 * Not part of fastnn: no file under csrc/ includes it.
 */
#include <stdint.h>
#include <time.h>

/* The interfaces a candidate's sgemm can have. */
enum gemm_interface {
    /* Fortran BLAS, 32-bit integers (LP64): SciPy's and scipy-openblas32's OpenBLAS */
    GEMM_FORTRAN_LP64 = 0,
    /* Fortran BLAS, 64-bit integers (ILP64): NumPy's bundled OpenBLAS */
    GEMM_FORTRAN_ILP64 = 1,
    /* oneDNN's dnnl_sgemm: row-major, arguments by value, 64-bit dimensions */
    GEMM_DNNL = 2,
    /* BLIS's typed API bli_sgemm: a row stride and a column stride per matrix */
    GEMM_BLIS = 3,
    /* BLIS's expert API bli_sgemm_ex with a given context (cntx_t *: the kernels of
     * one sub-configuration), the runtime object left NULL */
    GEMM_BLIS_EXPERT = 4,
    /* the prototype of gemm_own_kernel.c (fn unused) */
    GEMM_OWN = 5,
};

typedef void (*fortran_lp64_sgemm)(const char *ta, const char *tb, const int32_t *m,
                                   const int32_t *n, const int32_t *k, const float *alpha,
                                   const float *a, const int32_t *lda, const float *b,
                                   const int32_t *ldb, const float *beta, float *c,
                                   const int32_t *ldc);
typedef void (*fortran_ilp64_sgemm)(const char *ta, const char *tb, const int64_t *m,
                                    const int64_t *n, const int64_t *k, const float *alpha,
                                    const float *a, const int64_t *lda, const float *b,
                                    const int64_t *ldb, const float *beta, float *c,
                                    const int64_t *ldc);
typedef int (*dnnl_sgemm_fn)(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha,
                             const float *a, int64_t lda, const float *b, int64_t ldb,
                             float beta, float *c, int64_t ldc);
/* BLIS: trans_t is an enum (BLIS_NO_TRANSPOSE = 0, BLIS_TRANSPOSE = 8), dim_t and
 * inc_t are 64-bit integers; alpha and beta by pointer. */
typedef void (*blis_sgemm_fn)(int ta, int tb, int64_t m, int64_t n, int64_t k,
                              const float *alpha, const float *a, int64_t rsa, int64_t csa,
                              const float *b, int64_t rsb, int64_t csb, const float *beta,
                              float *c, int64_t rsc, int64_t csc);
typedef void (*blis_sgemm_ex_fn)(int ta, int tb, int64_t m, int64_t n, int64_t k,
                                 const float *alpha, const float *a, int64_t rsa,
                                 int64_t csa, const float *b, int64_t rsb, int64_t csb,
                                 const float *beta, float *c, int64_t rsc, int64_t csc,
                                 void *cntx, void *rntm);
#define BLIS_TRANSPOSE_FLAG 8

#ifdef WITH_OWN_KERNEL
int gemm_own_avx2(int tA, int tB, int64_t M, int64_t N, int64_t K, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
#endif

/* One call (`context`: GEMM_BLIS_EXPERT's cntx_t *, else unused); returns 0, or the library's non-zero status (oneDNN), or -1 for an
 * unknown interface. */
int gemm_call(int interface, void *fn, void *context, int tA, int tB, int64_t M, int64_t N,
                     int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                     float beta, float *C, int64_t ldc)
{
    const float one = 1.0f;
    const char ta = tA ? 'T' : 'N', tb = tB ? 'T' : 'N';
    switch (interface) {
    case GEMM_FORTRAN_LP64: {
        /* Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the
         * operands, keep the flags (as fastnn's fnn_gemm_rm does). */
        int32_t m = (int32_t)N, n = (int32_t)M, k = (int32_t)K;
        int32_t la = (int32_t)lda, lb = (int32_t)ldb, lc = (int32_t)ldc;
        ((fortran_lp64_sgemm)fn)(&tb, &ta, &m, &n, &k, &one, B, &lb, A, &la, &beta, C, &lc);
        return 0;
    }
    case GEMM_FORTRAN_ILP64: {
        int64_t m = N, n = M, k = K;
        ((fortran_ilp64_sgemm)fn)(&tb, &ta, &m, &n, &k, &one, B, &ldb, A, &lda, &beta, C,
                                  &ldc);
        return 0;
    }
    case GEMM_DNNL:
        return ((dnnl_sgemm_fn)fn)(ta, tb, M, N, K, one, A, lda, B, ldb, beta, C, ldc);
    case GEMM_BLIS: {
        /* op(X) = X with the stored strides and the transpose flag, as BLIS takes it */
        ((blis_sgemm_fn)fn)(tA ? BLIS_TRANSPOSE_FLAG : 0, tB ? BLIS_TRANSPOSE_FLAG : 0, M, N,
                            K, &one, A, lda, 1, B, ldb, 1, &beta, C, ldc, 1);
        return 0;
    }
    case GEMM_BLIS_EXPERT:
        ((blis_sgemm_ex_fn)fn)(tA ? BLIS_TRANSPOSE_FLAG : 0, tB ? BLIS_TRANSPOSE_FLAG : 0, M, N,
                               K, &one, A, lda, 1, B, ldb, 1, &beta, C, ldc, 1, context, NULL);
        return 0;
#ifdef WITH_OWN_KERNEL
    case GEMM_OWN:
        return gemm_own_avx2(tA, tB, M, N, K, A, lda, B, ldb, beta, C, ldc);
#endif
    default:
        return -1;
    }
}

/* Wall-clock seconds taken by `reps` calls, or -1 if a call failed (then C is
 * undefined); *cpu_seconds gets the process's CPU time over the same calls (on a
 * shared machine a 1-thread window whose CPU time is well below its wall time
 * lost the CPU for that long). */
double time_gemm(int interface, void *fn, void *context, int tA, int tB, int64_t M, int64_t N, int64_t K,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                 float *C, int64_t ldc, int64_t reps, double *cpu_seconds)
{
    struct timespec w0, w1, c0, c1;
    int failed = 0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    clock_gettime(CLOCK_MONOTONIC, &w0);
    for (int64_t r = 0; r < reps; r++)
        failed |= gemm_call(interface, fn, context, tA, tB, M, N, K, A, lda, B, ldb, beta, C, ldc);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    *cpu_seconds = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
    if (failed) return -1.0;
    return (double)(w1.tv_sec - w0.tv_sec) + 1e-9 * (double)(w1.tv_nsec - w0.tv_nsec);
}
