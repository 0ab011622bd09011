/* fnn_rng.c — xoshiro256** with splitmix64 seeding (public-domain algorithms
 * by D. Blackman and S. Vigna, written here from their description). */
#ifndef FNN_T
#include <math.h>
#include "fnn_rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void fnn_rng_seed(uint64_t *state, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (int i = 0; i < 4; i++) state[i] = splitmix64(&x);
    if (!(state[0] | state[1] | state[2] | state[3])) state[0] = 1;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fnn_rng_next(uint64_t *s)
{
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double fnn_rng_uniform(uint64_t *state)
{
    return (double)(fnn_rng_next(state) >> 11) * 0x1.0p-53;
}

double fnn_rng_normal(uint64_t *state)
{
    double u, v, s;
    do {
        u = 2.0 * fnn_rng_uniform(state) - 1.0;
        v = 2.0 * fnn_rng_uniform(state) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

/* unbiased integer in [0, n) by rejection (Lemire's multiply-shift) */
static uint64_t bounded(uint64_t *state, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)fnn_rng_next(state) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        const uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = (unsigned __int128)fnn_rng_next(state) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void fnn_rng_permutation(uint64_t *state, ptrdiff_t n, int64_t *out)
{
    for (ptrdiff_t i = 0; i < n; i++) out[i] = i;
    for (ptrdiff_t i = n - 1; i > 0; i--) {
        const ptrdiff_t j = (ptrdiff_t)bounded(state, (uint64_t)i + 1);
        const int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

#define FNN_TEMPLATE_FILE "fnn_rng.c"
#include "fnn_instantiate.h"
#else

void FNN_(fnn_rng_fill_uniform)(uint64_t *state, ptrdiff_t n, double low, double high,
                                FNN_T *out)
{
    const double width = high - low;
    for (ptrdiff_t i = 0; i < n; i++) out[i] = (FNN_T)(low + width * fnn_rng_uniform(state));
}

void FNN_(fnn_rng_fill_normal)(uint64_t *state, ptrdiff_t n, double mean, double std,
                               int truncated, FNN_T *out)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        double g = fnn_rng_normal(state);
        while (truncated && fabs(g) > 2.0) g = fnn_rng_normal(state);
        out[i] = (FNN_T)(mean + std * g);
    }
}

#endif /* FNN_T */
