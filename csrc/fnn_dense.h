/* fnn_dense.h — the dense layer: forward product and its gradients.
 *
 * Shapes (row-major):  X: (B, n_in)   W: (n_in, n_out)   b: (n_out,)   Z: (B, n_out)
 *
 * Preconditions (checked by Python, FNN_ASSERT in debug builds):
 *   B >= 0, n_in >= 1, n_out >= 1, B*n_in, n_in*n_out, B*n_out < 2^31;
 *   pointers valid for the sizes above; b may be NULL (no bias);
 *   outputs do not alias inputs.
 */
#ifndef FNN_DENSE_H
#define FNN_DENSE_H
#include "fnn_common.h"

#define FNN_DENSE_PROTOS(T, S)                                                   \
    /* Z := X·W + b       (the notes' z = W·x + b, one row per sample) */        \
    void fnn_dense_forward_##S(const fnn_blas *blas, ptrdiff_t B, ptrdiff_t n_in, \
                               ptrdiff_t n_out, const T *X, const T *W,          \
                               const T *b, T *Z);                                \
    /* dW := Xᵀ·δ,  db := Σ_rows δ,  dX := δ·Wᵀ (dX may be NULL)   δ: (B, n_out) */ \
    void fnn_dense_backward_##S(const fnn_blas *blas, ptrdiff_t B, ptrdiff_t n_in, \
                                ptrdiff_t n_out, const T *X, const T *delta,     \
                                const T *W, T *dW, T *db, T *dX);                \
    /* its parts, for a step split over threads (fnn_net_par.h): db; rows i0..i1 of  \
       dW; dX of B rows of a batch of layer_B rows (the BLAS-or-loops choice is the  \
       whole layer's, so the parts compute what fnn_dense_backward computes) */      \
    void fnn_dense_backward_bias_##S(ptrdiff_t B, ptrdiff_t n_out, const T *delta,  \
                                     T *db);                                      \
    void fnn_dense_backward_weights_##S(const fnn_blas *blas, ptrdiff_t B,          \
                                        ptrdiff_t n_in, ptrdiff_t n_out, const T *X, \
                                        const T *delta, ptrdiff_t i0, ptrdiff_t i1, \
                                        T *dW);                                   \
    void fnn_dense_backward_input_##S(const fnn_blas *blas, ptrdiff_t B,            \
                                      ptrdiff_t layer_B, ptrdiff_t n_in,            \
                                      ptrdiff_t n_out, const T *delta, const T *W,  \
                                      T *dX);                                     \
    /* C := alpha·op(A)·op(B) + beta·C, row-major, op = transpose if tA/tB */     \
    void fnn_gemm_rm_##S(const fnn_blas *blas, int tA, int tB, ptrdiff_t M,      \
                         ptrdiff_t N, ptrdiff_t K, T alpha, const T *A,          \
                         ptrdiff_t lda, const T *Bm, ptrdiff_t ldb, T beta, T *C, \
                         ptrdiff_t ldc);

FNN_DENSE_PROTOS(float, f32)
FNN_DENSE_PROTOS(double, f64)
FNN_DENSE_PROTOS(float, f32_avx2)   /* fnn_isa_avx2.c */
FNN_DENSE_PROTOS(double, f64_avx2)
FNN_DENSE_PROTOS(float, f32_avx512)   /* fnn_isa_avx512.c */
FNN_DENSE_PROTOS(double, f64_avx512)

#endif
