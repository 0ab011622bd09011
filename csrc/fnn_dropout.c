/* fnn_dropout.c — see fnn_dropout.h. */
#ifndef FNN_T
#include <math.h>
#include "fnn_dropout.h"
#include "fnn_rng.h"
#define FNN_TEMPLATE_FILE "fnn_dropout.c"
#include "fnn_instantiate.h"
#else

/* The mask from four xoshiro256** generators run side by side in the lanes of one
 * vector (integer operations only: the same bits at every instruction-set level),
 * seeded by splitmix64 from one draw of the caller's stream, which so advances by
 * exactly one draw per mask.  Each 64-bit output gives two 32-bit uniforms u, and an
 * element is kept when u >= ⌈rate·2³²⌉: probability 1 − rate to within 2⁻³².  One
 * draw per element through the caller's stream (a function call and a serial
 * chain each) was a fifth of a wide dropout net's step. */
typedef uint64_t FNN_(u64x4) __attribute__((vector_size(32)));
typedef uint32_t FNN_(u32x8) __attribute__((vector_size(32)));

static uint64_t FNN_(mask_splitmix)(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* One xoshiro256** step in each of the four lanes: result = rotl(s1·5, 7)·9, read
 * as eight 32-bit uniforms (in memory order). */
static inline FNN_(u32x8) FNN_(mask_next)(FNN_(u64x4) *s0, FNN_(u64x4) *s1, FNN_(u64x4) *s2,
                                          FNN_(u64x4) *s3)
{
    const FNN_(u64x4) m5 = (*s1 << 2) + *s1;
    const FNN_(u64x4) r7 = (m5 << 7) | (m5 >> 57);
    const FNN_(u64x4) out = (r7 << 3) + r7;
    const FNN_(u64x4) t = *s1 << 17;
    *s2 ^= *s0;
    *s3 ^= *s1;
    *s1 ^= *s2;
    *s0 ^= *s3;
    *s2 ^= t;
    *s3 = (*s3 << 45) | (*s3 >> 19);
    return (FNN_(u32x8))out;
}

void FNN_(fnn_dropout_mask)(uint64_t *state, ptrdiff_t n, double rate, FNN_T *M)
{
    const FNN_T scale = (FNN_T)(1.0 / (1.0 - rate));
    const double below = ceil(rate * 4294967296.0);
    const uint32_t drop_below = below > 4294967295.0 ? 4294967295u : (uint32_t)below;
    uint64_t seed = fnn_rng_next(state);
    FNN_(u64x4) s[4];
    for (int w = 0; w < 4; w++)
        for (int lane = 0; lane < 4; lane++) s[w][lane] = FNN_(mask_splitmix)(&seed);
    for (int lane = 0; lane < 4; lane++) /* xoshiro's one forbidden state */
        if (!(s[0][lane] | s[1][lane] | s[2][lane] | s[3][lane])) s[0][lane] = 1;
    FNN_(u64x4) s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const FNN_(u32x8) u = FNN_(mask_next)(&s0, &s1, &s2, &s3);
        for (int k = 0; k < 8; k++) M[i + k] = u[k] >= drop_below ? scale : (FNN_T)0;
    }
    if (i < n) {
        const FNN_(u32x8) u = FNN_(mask_next)(&s0, &s1, &s2, &s3);
        for (int k = 0; i + k < n; k++) M[i + k] = u[k] >= drop_below ? scale : (FNN_T)0;
    }
}

void FNN_(fnn_mul)(ptrdiff_t n, const FNN_T *A, const FNN_T *M, FNN_T *out)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = A[i] * M[i];
}

#endif /* FNN_T */
