/* fnn_rng.h — the one PRNG of fastnn: xoshiro256** (Blackman & Vigna), seeded
 * through splitmix64.  Its whole state is 4 uint64 words owned by the caller
 * (one array per stream: initializers, shuffling, dropout), so there is no
 * global state and equal seeds give equal streams on every platform.
 *
 * Preconditions: state points to 4 words not all zero (fnn_rng_seed ensures it).
 */
#ifndef FNN_RNG_H
#define FNN_RNG_H
#include "fnn_common.h"

void fnn_rng_seed(uint64_t *state, uint64_t seed, uint64_t stream);
uint64_t fnn_rng_next(uint64_t *state);
/* uniform double in [0, 1) with 53 random bits */
double fnn_rng_uniform(uint64_t *state);
/* standard normal (Marsaglia polar method, one draw per call) */
double fnn_rng_normal(uint64_t *state);
/* out := a uniformly random permutation of 0..n-1 (Fisher–Yates) */
void fnn_rng_permutation(uint64_t *state, ptrdiff_t n, int64_t *out);

#define FNN_RNG_PROTOS(T, S)                                                      \
    /* out[i] := low + (high − low)·U[0,1) */                                      \
    void fnn_rng_fill_uniform_##S(uint64_t *state, ptrdiff_t n, double low,         \
                                  double high, T *out);                           \
    /* out[i] := mean + std·N(0,1), redrawn while |N| > 2 when truncated */         \
    void fnn_rng_fill_normal_##S(uint64_t *state, ptrdiff_t n, double mean,         \
                                 double std, int truncated, T *out);

FNN_RNG_PROTOS(float, f32)
FNN_RNG_PROTOS(double, f64)

#endif
