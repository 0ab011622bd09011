/* fnn_fastmath.h — float32 exp, sigmoid and tanh over arrays, 4, 8 or 16 lanes
 * at a time with GCC/Clang vector extensions (SSE2 on the x86-64 baseline, AVX2
 * and AVX-512 in the fnn_isa_*.c builds, NEON on arm64, generic code elsewhere),
 * replacing one libm call per element.
 *
 *   exp(x) = 2ⁿ·eʳ,  n = round(x / ln 2),  r = x − n·ln 2 (Cody–Waite, two
 *            parts),  |r| <= ln2/2,  eʳ by its degree-6 Taylor polynomial
 *            (truncation < 1.3e-7 relative); 2ⁿ built in the exponent bits.
 *            x is clamped to [−87.34, 88] so 2ⁿ stays a normal float; results
 *            below FLT_MIN (x < −87.34) are flushed to 0 (absolute error < 1.2e-38).
 *   sigmoid(x) = 1/(1 + e) for x >= 0 and e/(1 + e) otherwise, e = exp(−|x|).
 *   expm1(y) = eʸ − 1 = 2ⁿ·q(r) + (2ⁿ − 1) for y >= 0, with n and r as for exp and
 *            q(r) = eʳ − 1 by its degree-7 Taylor polynomial (truncation < 1.7e-8
 *            relative): no cancellation, so it stays accurate as y → 0.
 *   softplus(−|x|) = log1p(t), t = e^{−|x|} ∈ [0, 1] (the log term of the
 *            cross-entropy from logits): u = 1 + t rounded, u = 2ᵉ·m with m in
 *            [√½, √2), log m = 2·atanh(s) = 2s(1 + s²/3 + … + s⁸/9), s = (m − 1)/(m + 1),
 *            |s| <= 0.172 (truncation < 2.3e-9 relative), plus (t − (u − 1))/u for the
 *            rounding of u: accurate for t → 0 as for t = 1.
 *   tanh(x) = sign(x)·E/(E + 2), E = expm1(2|x|), |x| clamped to 9 (tanh 9 rounds
 *            to 1 in float32): one formula for every x, no branch to select.
 *
 * float64 (half as many lanes): the same formulas with degree-13 polynomials
 * (truncation < 4.2e-18 relative on |r| <= ln2/2), ln 2 in two parts of fdlibm's
 * split, 2ⁿ from the bits of the rounded value (no float-to-integer conversion),
 * 2ⁿ applied as two factors so that subnormal results come out by gradual
 * underflow (x < −745.2 gives 0), tanh's |x| clamped to 20 (tanh 20 rounds to 1).
 *
 * Measured error against float64 / long double (tests/test_kernels.py::
 * test_fast_float32_math, test_fast_float64_math): see the bounds asserted there.
 * No -ffast-math: a NaN input gives a NaN output.
 */
#ifndef FNN_FASTMATH_H
#define FNN_FASTMATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

/* 4 lanes (16 bytes) on the baseline, 8 (32 bytes) where AVX2 is enabled,
 * 16 (64 bytes, one zmm register) where AVX-512F is */
#define FNN_REP4(c) (c), (c), (c), (c)
#if defined(__AVX512F__)
#define FNN_VLEN 16
#define FNN_V4(c) ((fnn_v4f){FNN_REP4(c), FNN_REP4(c), FNN_REP4(c), FNN_REP4(c)})
#elif defined(__AVX2__)
#define FNN_VLEN 8
#define FNN_V4(c) ((fnn_v4f){FNN_REP4(c), FNN_REP4(c)})
#else
#define FNN_VLEN 4
#define FNN_V4(c) ((fnn_v4f){FNN_REP4(c)})
#endif
typedef float fnn_v4f __attribute__((vector_size(4 * FNN_VLEN)));
typedef int32_t fnn_v4i __attribute__((vector_size(4 * FNN_VLEN)));
#define FNN_V4I(c) ((fnn_v4i){0} + (c)) /* every lane c */

static inline fnn_v4f fnn_vsel(fnn_v4i mask, fnn_v4f a, fnn_v4f b)
{
    return (fnn_v4f)((mask & (fnn_v4i)a) | (~mask & (fnn_v4i)b));
}

/* r = x − n·ln 2 with n = round(x/ln 2), |x| <= 88; 2ⁿ into *two_n */
static inline fnn_v4f fnn_vreduce(fnn_v4f x, fnn_v4f *two_n)
{
    const fnn_v4f shifter = FNN_V4(12582912.0f); /* 1.5·2²³: adding it rounds */
    const fnn_v4f t = x * FNN_V4(1.44269504088896341f) + shifter;
    const fnn_v4f n = t - shifter;
    *two_n = (fnn_v4f)((__builtin_convertvector(n, fnn_v4i) + 127) << 23);
    return (x - n * FNN_V4(0.693145751953125f)) - n * FNN_V4(1.42860682030941723212e-6f);
}

static inline fnn_v4f fnn_vexp(fnn_v4f x)
{
    const fnn_v4i tiny = x < FNN_V4(-87.33654f); /* e^x below FLT_MIN: flush to 0 */
    x = fnn_vsel(x < FNN_V4(-87.33654f), FNN_V4(-87.33654f), x);
    x = fnn_vsel(x > FNN_V4(88.0f), FNN_V4(88.0f), x);
    fnn_v4f two_n;
    const fnn_v4f r = fnn_vreduce(x, &two_n);
    fnn_v4f p = FNN_V4(1.0f / 720.0f);
    p = p * r + FNN_V4(1.0f / 120.0f);
    p = p * r + FNN_V4(1.0f / 24.0f);
    p = p * r + FNN_V4(1.0f / 6.0f);
    p = p * r + FNN_V4(0.5f);
    p = p * r + FNN_V4(1.0f);
    p = p * r + FNN_V4(1.0f);
    return fnn_vsel(tiny, FNN_V4(0.0f), p * two_n);
}

/* sigmoid(x) = 1/(1 + e) for x >= 0 and e/(1 + e) otherwise, e = exp(−|x|), for the
 * vector type V (mask type M, splat S, exp and select functions of that width) */
#define FNN_DEFINE_VSIGMOID(name, V, M, S, vexp, vsel)                          \
    static inline V name(V x)                                                   \
    {                                                                           \
        const M neg = x < S(0.0);                                               \
        const V e = vexp(vsel(neg, x, -x));                                     \
        const V inv = S(1.0) / (S(1.0) + e);                                    \
        return vsel(neg, e * inv, inv);                                         \
    }
FNN_DEFINE_VSIGMOID(fnn_vsigmoid, fnn_v4f, fnn_v4i, FNN_V4, fnn_vexp, fnn_vsel)

/* eʸ − 1 for 0 <= y <= 88 (or NaN) */
static inline fnn_v4f fnn_vexpm1_pos(fnn_v4f y)
{
    fnn_v4f two_n;
    const fnn_v4f r = fnn_vreduce(y, &two_n);
    fnn_v4f q = FNN_V4(1.0f / 5040.0f);
    q = q * r + FNN_V4(1.0f / 720.0f);
    q = q * r + FNN_V4(1.0f / 120.0f);
    q = q * r + FNN_V4(1.0f / 24.0f);
    q = q * r + FNN_V4(1.0f / 6.0f);
    q = q * r + FNN_V4(0.5f);
    q = q * r + FNN_V4(1.0f);
    q = q * r;
    return two_n * q + (two_n - FNN_V4(1.0f));
}

static inline fnn_v4f fnn_vtanh(fnn_v4f x)
{
    const fnn_v4i sign = (fnn_v4i)x & FNN_V4I((int32_t)0x80000000u);
    fnn_v4f ax = (fnn_v4f)((fnn_v4i)x ^ sign);
    ax = fnn_vsel(ax > FNN_V4(9.0f), FNN_V4(9.0f), ax); /* NaN stays NaN */
    const fnn_v4f e = fnn_vexpm1_pos(ax + ax);
    return (fnn_v4f)((fnn_v4i)(e / (e + FNN_V4(2.0f))) | sign);
}

/* log(1 + e^{−|x|}) */
static inline fnn_v4f fnn_vsoftplus_negabs(fnn_v4f x)
{
    const fnn_v4f ax = (fnn_v4f)((fnn_v4i)x & FNN_V4I(0x7fffffff));
    const fnn_v4f t = fnn_vexp(-ax);
    const fnn_v4f u = FNN_V4(1.0f) + t;
    const fnn_v4i high = u >= FNN_V4(1.41421356f);
    const fnn_v4f m = fnn_vsel(high, u * FNN_V4(0.5f), u);
    const fnn_v4f s = (m - FNN_V4(1.0f)) / (m + FNN_V4(1.0f));
    const fnn_v4f s2 = s * s;
    fnn_v4f p = FNN_V4(1.0f / 9.0f);
    p = p * s2 + FNN_V4(1.0f / 7.0f);
    p = p * s2 + FNN_V4(1.0f / 5.0f);
    p = p * s2 + FNN_V4(1.0f / 3.0f);
    p = p * s2 + FNN_V4(1.0f);
    const fnn_v4f log_m = (s + s) * p;
    const fnn_v4f fix = (t - (u - FNN_V4(1.0f))) / u;
    return fnn_vsel(high, FNN_V4(0.693147181f), FNN_V4(0.0f)) + (log_m + fix);
}

/* out[i] := f(in[i]) for i < n, `lanes` elements of type T at a time in vectors of
 * type VT; out may alias in.  The tail is padded into one more vector, so every
 * element goes through the same code. */
#define FNN_DEFINE_ARRAY_MAP_T(name, vf, T, VT, lanes)                          \
    static inline void name(ptrdiff_t n, const T *in, T *out)                  \
    {                                                                           \
        ptrdiff_t i = 0;                                                        \
        for (; i + (lanes) <= n; i += (lanes)) {                                \
            VT v;                                                               \
            memcpy(&v, in + i, sizeof v);                                       \
            v = vf(v);                                                          \
            memcpy(out + i, &v, sizeof v);                                      \
        }                                                                       \
        if (i < n) {                                                            \
            T buf[lanes] = {0};                                                 \
            memcpy(buf, in + i, (size_t)(n - i) * sizeof(T));                   \
            VT v;                                                               \
            memcpy(&v, buf, sizeof v);                                          \
            v = vf(v);                                                          \
            memcpy(buf, &v, sizeof v);                                          \
            memcpy(out + i, buf, (size_t)(n - i) * sizeof(T));                  \
        }                                                                       \
    }
#define FNN_DEFINE_ARRAY_MAP(name, vf) FNN_DEFINE_ARRAY_MAP_T(name, vf, float, fnn_v4f, FNN_VLEN)

/* ---- float64 ---- */
typedef double fnn_v8d __attribute__((vector_size(4 * FNN_VLEN)));
typedef int64_t fnn_v8l __attribute__((vector_size(4 * FNN_VLEN)));
#define FNN_VLEN_D (FNN_VLEN / 2)
#define FNN_V8D(c) ((fnn_v8d){0} + (double)(c))
#define FNN_V8L(c) ((fnn_v8l){0} + (int64_t)(c))

static inline fnn_v8d fnn_vsel_d(fnn_v8l mask, fnn_v8d a, fnn_v8d b)
{
    return (fnn_v8d)((mask & (fnn_v8l)a) | (~mask & (fnn_v8l)b));
}

/* n = round(x/ln 2) (returned, as an integer) and r = x − n·ln 2, for |x| <= 746 */
static inline fnn_v8d fnn_vreduce_d(fnn_v8d x, fnn_v8l *n_int)
{
    const fnn_v8d shifter = FNN_V8D(6755399441055744.0); /* 1.5·2⁵²: adding it rounds */
    const fnn_v8d t = x * FNN_V8D(1.4426950408889634074) + shifter;
    const fnn_v8d n = t - shifter;
    *n_int = (fnn_v8l)t - (fnn_v8l)shifter; /* n sits in t's low mantissa bits */
    return (x - n * FNN_V8D(6.93147180369123816490e-01)) - n * FNN_V8D(1.90821492927058770002e-10);
}

/* 2ⁿ as a double, for −1022 <= n <= 1023 */
static inline fnn_v8d fnn_vpow2_d(fnn_v8l n) { return (fnn_v8d)((n + 1023) << 52); }

/* eʳ − 1 − r − r²/2 … as Horner from the degree-13 term down to r (no constant) */
static inline fnn_v8d fnn_vexpm1_poly_d(fnn_v8d r)
{
    fnn_v8d q = FNN_V8D(1.0 / 6227020800.0);
    q = q * r + FNN_V8D(1.0 / 479001600.0);
    q = q * r + FNN_V8D(1.0 / 39916800.0);
    q = q * r + FNN_V8D(1.0 / 3628800.0);
    q = q * r + FNN_V8D(1.0 / 362880.0);
    q = q * r + FNN_V8D(1.0 / 40320.0);
    q = q * r + FNN_V8D(1.0 / 5040.0);
    q = q * r + FNN_V8D(1.0 / 720.0);
    q = q * r + FNN_V8D(1.0 / 120.0);
    q = q * r + FNN_V8D(1.0 / 24.0);
    q = q * r + FNN_V8D(1.0 / 6.0);
    q = q * r + FNN_V8D(0.5);
    q = q * r + FNN_V8D(1.0);
    return q * r; /* eʳ − 1 */
}

static inline fnn_v8d fnn_vexp_d(fnn_v8d x)
{
    const fnn_v8l zero = x < FNN_V8D(-745.2); /* e^x rounds to 0 */
    x = fnn_vsel_d(x < FNN_V8D(-745.2), FNN_V8D(-745.2), x);
    x = fnn_vsel_d(x > FNN_V8D(709.8), FNN_V8D(709.8), x);
    fnn_v8l n;
    const fnn_v8d r = fnn_vreduce_d(x, &n);
    /* 2ⁿ in two factors, each a normal double for −1075 <= n <= 1024, so results near
       the top and in the subnormal range come out right (gradual underflow) */
    const fnn_v8l h = n >> 1;
    const fnn_v8d e = FNN_V8D(1.0) + fnn_vexpm1_poly_d(r);
    return fnn_vsel_d(zero, FNN_V8D(0.0), fnn_vpow2_d(h) * (fnn_vpow2_d(n - h) * e));
}

FNN_DEFINE_VSIGMOID(fnn_vsigmoid_d, fnn_v8d, fnn_v8l, FNN_V8D, fnn_vexp_d, fnn_vsel_d)

static inline fnn_v8d fnn_vtanh_d(fnn_v8d x)
{
    const fnn_v8l sign = (fnn_v8l)x & FNN_V8L(INT64_MIN);
    fnn_v8d ax = (fnn_v8d)((fnn_v8l)x ^ sign);
    ax = fnn_vsel_d(ax > FNN_V8D(20.0), FNN_V8D(20.0), ax); /* NaN stays NaN */
    fnn_v8l n;
    const fnn_v8d r = fnn_vreduce_d(ax + ax, &n); /* n <= 58 */
    const fnn_v8d p = fnn_vpow2_d(n);
    const fnn_v8d e = p * fnn_vexpm1_poly_d(r) + (p - FNN_V8D(1.0)); /* expm1(2|x|) */
    return (fnn_v8d)((fnn_v8l)(e / (e + FNN_V8D(2.0))) | sign);
}

#define FNN_DEFINE_ARRAY_MAP_D(name, vf) \
    FNN_DEFINE_ARRAY_MAP_T(name, vf, double, fnn_v8d, FNN_VLEN_D)

FNN_DEFINE_ARRAY_MAP_D(fnn_fast_exp_f64, fnn_vexp_d)
FNN_DEFINE_ARRAY_MAP_D(fnn_fast_sigmoid_f64, fnn_vsigmoid_d)
FNN_DEFINE_ARRAY_MAP_D(fnn_fast_tanh_f64, fnn_vtanh_d)

FNN_DEFINE_ARRAY_MAP(fnn_fast_exp_f32, fnn_vexp)
FNN_DEFINE_ARRAY_MAP(fnn_fast_sigmoid_f32, fnn_vsigmoid)
FNN_DEFINE_ARRAY_MAP(fnn_fast_tanh_f32, fnn_vtanh)
FNN_DEFINE_ARRAY_MAP(fnn_fast_softplus_negabs_f32, fnn_vsoftplus_negabs)

#endif
