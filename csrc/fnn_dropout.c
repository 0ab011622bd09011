/* fnn_dropout.c — see fnn_dropout.h. */
#ifndef FNN_T
#include "fnn_dropout.h"
#include "fnn_rng.h"
#define FNN_TEMPLATE_FILE "fnn_dropout.c"
#include "fnn_instantiate.h"
#else

void FNN_(fnn_dropout_mask)(uint64_t *state, ptrdiff_t n, double rate, FNN_T *M)
{
    const FNN_T scale = (FNN_T)(1.0 / (1.0 - rate));
    /* compare 53-bit uniforms with the rate: keep with probability 1 − rate */
    for (ptrdiff_t i = 0; i < n; i++) M[i] = fnn_rng_uniform(state) >= rate ? scale : (FNN_T)0;
}

void FNN_(fnn_mul)(ptrdiff_t n, const FNN_T *A, const FNN_T *M, FNN_T *out)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = A[i] * M[i];
}

#endif /* FNN_T */
