/* fnn_dropout.h — inverted dropout.
 *
 *   mask:  M_i := 1/(1 − rate) with probability 1 − rate, else 0
 *   apply: out := A ⊙ M            (so E[out] = A and inference needs no change)
 *   backward is G := G ⊙ M with the same mask (fnn_mul_inplace).
 *
 * Preconditions: n >= 0; 0 < rate < 1; state from fnn_rng_seed.
 */
#ifndef FNN_DROPOUT_H
#define FNN_DROPOUT_H
#include "fnn_common.h"

#define FNN_DROPOUT_PROTOS(T, S)                                                   \
    void fnn_dropout_mask_##S(uint64_t *state, ptrdiff_t n, double rate, T *M);      \
    void fnn_mul_##S(ptrdiff_t n, const T *A, const T *M, T *out);

FNN_DROPOUT_PROTOS(float, f32)
FNN_DROPOUT_PROTOS(double, f64)
FNN_DROPOUT_PROTOS(float, f32_avx2)   /* fnn_isa_avx2.c */
FNN_DROPOUT_PROTOS(double, f64_avx2)
FNN_DROPOUT_PROTOS(float, f32_avx512)   /* fnn_isa_avx512.c */
FNN_DROPOUT_PROTOS(double, f64_avx512)

#endif
