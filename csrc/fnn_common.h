/* fnn_common.h — shared definitions for every fastnn C kernel.
 *
 * Conventions (see DESIGN.md):
 *  - Every kernel exists twice, for float (suffix _f32) and double (_f64).
 *    A kernel file is written once against the type FNN_T and the name
 *    macro FNN_(), and instantiated for both types by fnn_instantiate.h.
 *  - Matrices are row-major.  Dimensions are `n_samples` (B), `n_in`, `n_out`.
 *    A dense kernel W has shape (n_in, n_out), Keras's layout.
 *  - Python validates and C trusts: preconditions are written in each header
 *    and checked only by FNN_ASSERT in a debug build (-DFNN_DEBUG).
 *  - No kernel allocates memory and none keeps mutable static state.
 */
#ifndef FNN_COMMON_H
#define FNN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef FNN_DEBUG
#include <assert.h>
#define FNN_ASSERT(cond) assert(cond)
#else
#define FNN_ASSERT(cond) ((void)0)
#endif

/* Activation ids (src/fastnn/_kernels/csrc.pxd mirrors every enum of csrc/; Python reads
 * them from fastnn._kernels._core, never as numbers of its own). */
enum {
    FNN_ACT_LINEAR = 0,
    FNN_ACT_SIGMOID = 1,
    FNN_ACT_TANH = 2,
    FNN_ACT_RELU = 3,
    FNN_ACT_SOFTMAX = 4,
    FNN_ACT_STEP = 5,
    FNN_ACT_SIGN = 6,
    FNN_ACT_LEAKY_RELU = 7,
    FNN_ACT_ELU = 8,
    FNN_ACT_SELU = 9,
    FNN_ACT_GELU = 10,
    FNN_ACT_SOFTPLUS = 11,
    FNN_ACT_SWISH = 12,
    FNN_ACT_RELU_KERAS = 13,  /* relu with ReLU'(0) = 0 (Keras, PyTorch) */
    FNN_N_ACTS = 14
};

/* Loss ids. */
enum {
    FNN_LOSS_MSE = 0,
    FNN_LOSS_BCE = 1,
    FNN_LOSS_CCE = 2,
    FNN_LOSS_SPARSE_CCE = 3,
    FNN_LOSS_MAE = 4,
    FNN_LOSS_HUBER = 5,
    FNN_LOSS_LOG_COSH = 6,
    FNN_LOSS_POISSON = 7,
    FNN_LOSS_KLD = 8,
    FNN_LOSS_HINGE = 9,
    FNN_LOSS_SQUARED_HINGE = 10,
    FNN_N_LOSSES = 11
};

/* Accuracy kinds. */
enum {
    FNN_ACC_NONE = 0,
    FNN_ACC_BINARY = 1,      /* mean over outputs of [a > 0.5] == [y > 0.5] */
    FNN_ACC_CATEGORICAL = 2, /* argmax a == argmax y */
    FNN_ACC_SPARSE = 3,      /* argmax a == integer label */
    FNN_N_ACCS = 4
};

/* Slots of the metric sums every loop accumulates (sum over samples). */
enum {
    FNN_SUM_LOSS = 0,  /* data loss + regularization penalty */
    FNN_SUM_ACC = 1,
    FNN_SUM_MAE = 2,
    FNN_SUM_MSE = 3,
    /* with per-sample weights the three above are weighted (Σ w m); these are the
       same sums unweighted (Σ m), for the metrics Keras leaves unweighted (compile's
       `metrics`, as opposed to `weighted_metrics`); without weights they stay 0 */
    FNN_SUM_ACC_PLAIN = 4,
    FNN_SUM_MAE_PLAIN = 5,
    FNN_SUM_MSE_PLAIN = 6,
    FNN_N_SUMS = 7
};

/* Optimizer ids. */
enum {
    FNN_OPT_SGD = 0,
    FNN_OPT_RMSPROP = 1,
    FNN_OPT_ADAM = 2,
    FNN_OPT_ADAMW = 3,
    FNN_OPT_ADAGRAD = 4,
    FNN_OPT_NADAM = 5,
    FNN_OPT_ADAMAX = 6,
    FNN_N_OPTS = 7
};

/* Probabilities are clipped to [FNN_PROB_EPS, 1 - FNN_PROB_EPS] in the
 * unfused cross-entropies (Keras's backend epsilon). */
#define FNN_PROB_EPS 1e-7

/* BLAS, Fortran interface: scipy-openblas32's, or as exported by
 * scipy.linalg.cython_blas (fastnn/_blas.py chooses).
 * fastnn never links a BLAS: the pointers are looked up at run time. */
typedef void (*fnn_sgemm_t)(char *transa, char *transb, int *m, int *n, int *k,
                            float *alpha, float *a, int *lda, float *b, int *ldb,
                            float *beta, float *c, int *ldc);
typedef void (*fnn_dgemm_t)(char *transa, char *transb, int *m, int *n, int *k,
                            double *alpha, double *a, int *lda, double *b, int *ldb,
                            double *beta, double *c, int *ldc);
typedef void (*fnn_sgemv_t)(char *trans, int *m, int *n, float *alpha, float *a, int *lda,
                            float *x, int *incx, float *beta, float *y, int *incy);
typedef void (*fnn_dgemv_t)(char *trans, int *m, int *n, double *alpha, double *a, int *lda,
                            double *x, int *incx, double *beta, double *y, int *incy);
typedef struct {
    fnn_sgemm_t sgemm;
    fnn_dgemm_t dgemm;
    fnn_sgemv_t sgemv;
    fnn_dgemv_t dgemv;
    /* Products with B*n_in*n_out below this many multiply-adds use direct
     * loops: a BLAS call costs more than the arithmetic for small layers. */
    ptrdiff_t small_gemm;
    /* float32 products of at least small_gemm multiply-adds with bfloat16 inputs
     * (fnn_gemm_bf16.h: FNN_BF16_OFF, _EMULATED or _AVX512); float64 ignores it */
    int bf16;
    /* Products of at least FNN_SPLIT_GEMM_MACS multiply-adds split by blocks of
     * columns of the result over `pool` (fnn_dense.c; a "wide" training step,
     * fnn_net.c): split 0 never; pool NULL or threads < 2: the same blocks on the
     * calling thread.  The blocks depend on the shape only, so the bits do not
     * depend on the threads. */
    int split;
    int threads;
    struct fnn_pool *pool;
    /* under bf16: this layer's W (K = n_in × N = n_out) and Wᵀ packed whole by
     * fnn_bf16_pack_full in that mode (fnn_net_bf16_pack), or NULL: packed per call */
    const uint32_t *bf16_w, *bf16_wt;
    /* under bf16: δ of the weight gradient packed whole (fnn_net_bf16_delta), or NULL */
    const uint32_t *bf16_d;
} fnn_blas;

/* memcpy of a short row (a batch row of a narrow input, a bias): a call into libc
 * costs more than the copy for a few elements, so rows up to 256 bytes are moved
 * in fixed-size pieces the compiler inlines. */
static inline void fnn_copy_row(void *restrict dst, const void *restrict src, size_t bytes)
{
    if (bytes > 256) {
        memcpy(dst, src, bytes);
        return;
    }
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    for (; bytes >= 32; bytes -= 32, d += 32, s += 32) memcpy(d, s, 32);
    if (bytes >= 16) { memcpy(d, s, 16); d += 16; s += 16; bytes -= 16; }
    if (bytes >= 8) { memcpy(d, s, 8); d += 8; s += 8; bytes -= 8; }
    if (bytes >= 4) { memcpy(d, s, 4); d += 4; s += 4; bytes -= 4; }
    for (; bytes > 0; bytes--) *d++ = *s++;
}

#endif /* FNN_COMMON_H */
