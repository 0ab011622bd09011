/* fnn_quant_avx512.c — the VNNI kernel of fnn_quant.h (vpdpbusd: per 32-bit lane,
 * acc += Σ_t u8(a)[t]·s8(b)[t] over the lane's 4 bytes), compiled for AVX-512 VNNI
 * in this file only; called where fnn_have_avx512_vnni() returns 1.  Tiles of 6 rows ×
 * 64 columns, and of R <= 6 rows × 32 columns for the rest, sum over the whole depth
 * in int32 vectors; one row has its own path (fnn_q_one_row). */
#include "fnn_quant.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")
#include <immintrin.h>
#include <string.h>

/* acc += vpdpbusd(a, b) in inline assembly: GCC 12 compiles the intrinsic with a
 * register copy (and a stack store) per accumulator per step in these loops
 * (measured: the 6×64 tile ran at 175 GMAC/s with the intrinsic, 399 with this) */
#define FNN_DPBUSD(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))

/* The float epilogue of fnn_quant.h, Z := (acc − zp·wsum)·(xs·ws) + b, for the 16
 * columns from n0 (lanes of mask k): its per-column constants, then one vector */
typedef struct { __m512 scale, bias; __m512i corr; } fnn_q_cols;
static inline __attribute__((always_inline)) fnn_q_cols fnn_q_cols_at(
    ptrdiff_t n0, __mmask16 k, float xs, int zp, const int32_t *wsum, const float *ws,
    const float *b)
{
    fnn_q_cols c;
    c.scale = _mm512_mul_ps(_mm512_set1_ps(xs), _mm512_maskz_loadu_ps(k, ws + n0));
    c.bias = b ? _mm512_maskz_loadu_ps(k, b + n0) : _mm512_setzero_ps();
    c.corr = _mm512_mullo_epi32(_mm512_set1_epi32(zp), _mm512_maskz_loadu_epi32(k, wsum + n0));
    return c;
}
static inline __attribute__((always_inline)) __m512 fnn_q_out(__m512i acc, const fnn_q_cols *c,
                                                              const float *b)
{
    const __m512 z = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, c->corr)), c->scale);
    return b ? _mm512_add_ps(z, c->bias) : z;
}

/* the first min(n, 16) lanes (none for n <= 0) */
static inline __attribute__((always_inline)) __mmask16 fnn_q_mask(ptrdiff_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* min/max (and NaN/inf: vfpclassps QNaN, SNaN, ±inf) of n floats into the running
 * vectors; masked-off lanes read as 0, which min(0, ·) and max(0, ·) include anyway */
static inline __attribute__((always_inline)) void fnn_q_range(const float *Z, ptrdiff_t n, __m512 *lo, __m512 *hi,
                               __mmask16 *bad)
{
    for (ptrdiff_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512 x = _mm512_maskz_loadu_ps(m, Z + i);
        *bad |= _mm512_fpclass_ps_mask(x, 0x99);
        *lo = _mm512_min_ps(*lo, x);
        *hi = _mm512_max_ps(*hi, x);
    }
}


static inline __attribute__((always_inline)) void fnn_q_tile(
    const int R, ptrdiff_t Q, const uint8_t *X, ptrdiff_t row, const int32_t *P,
    __m512i acc[8][2])
{
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (ptrdiff_t q = 0; q < Q; q++) {
        const __m512i b0 = _mm512_loadu_si512((const void *)(P + q * 32));
        const __m512i b1 = _mm512_loadu_si512((const void *)(P + q * 32 + 16));
        for (int r = 0; r < R; r++) {
            int32_t a4;
            memcpy(&a4, X + r * row + 4 * q, 4);
            const __m512i a = _mm512_set1_epi32(a4);
            FNN_DPBUSD(acc[r][0], a, b0);
            FNN_DPBUSD(acc[r][1], a, b1);
        }
    }
}

/* A tile of 6 rows × 64 columns (two 32-column panels, P0 and P1) in 24 named int32
 * vectors, stored to T (6 rows of 64) at the end: each broadcast quad of X feeds four
 * vpdpbusd (the 8×32 tile: two).  Named variables, not an array: with an array GCC
 * copied the accumulators between registers every quad (~40 % of the loop). */
static void fnn_q_tile6x64(ptrdiff_t Q, const uint8_t *X, ptrdiff_t row, const int32_t *P0,
                           const int32_t *P1, int32_t *T)
{
#define FNN_Q_ROWS(F) F(0) F(1) F(2) F(3) F(4) F(5)
#define FNN_Q_ZERO(r) __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0, \
                              c##r##2 = c##r##0, c##r##3 = c##r##0;
    FNN_Q_ROWS(FNN_Q_ZERO)
    const uint8_t *x0 = X, *x1 = X + row, *x2 = X + 2 * row, *x3 = X + 3 * row,
                  *x4 = X + 4 * row, *x5 = X + 5 * row;
    for (ptrdiff_t q = 0; q < Q; q++) {
        const __m512i b0 = _mm512_loadu_si512((const void *)(P0 + q * 32));
        const __m512i b1 = _mm512_loadu_si512((const void *)(P0 + q * 32 + 16));
        const __m512i b2 = _mm512_loadu_si512((const void *)(P1 + q * 32));
        const __m512i b3 = _mm512_loadu_si512((const void *)(P1 + q * 32 + 16));
#define FNN_Q_STEP(r) { int32_t a4; memcpy(&a4, x##r + 4 * q, 4); \
            const __m512i a = _mm512_set1_epi32(a4); \
            FNN_DPBUSD(c##r##0, a, b0); FNN_DPBUSD(c##r##1, a, b1); \
            FNN_DPBUSD(c##r##2, a, b2); FNN_DPBUSD(c##r##3, a, b3); }
        FNN_Q_ROWS(FNN_Q_STEP)
    }
#define FNN_Q_STORE(r) _mm512_storeu_si512((void *)(T + r * 64), c##r##0); \
    _mm512_storeu_si512((void *)(T + r * 64 + 16), c##r##1); \
    _mm512_storeu_si512((void *)(T + r * 64 + 32), c##r##2); \
    _mm512_storeu_si512((void *)(T + r * 64 + 48), c##r##3);
    FNN_Q_ROWS(FNN_Q_STORE)
#undef FNN_Q_ROWS
#undef FNN_Q_ZERO
#undef FNN_Q_STEP
#undef FNN_Q_STORE
}

/* One row (a one-sample predict): fnn_q_tile's sums for R = 1, with four pairs of
 * accumulators over the quads (q mod 4) so that the dependent vpdpbusd of one pair do
 * not wait on each other, and quads of four zero bytes skipped (they add 0·w: inputs
 * of 0 with zero point 0, as in images and after ReLU); integer sums, so the same
 * bits in any grouping. */
static void fnn_q_row(ptrdiff_t Q, const uint8_t *X, const int32_t *P, __m512i acc[8][2])
{
    __m512i a0[4], a1[4];
    for (int u = 0; u < 4; u++) a0[u] = a1[u] = _mm512_setzero_si512();
    ptrdiff_t q = 0;
    for (; q + 4 <= Q; q += 4)
        for (int u = 0; u < 4; u++) {
            int32_t a4;
            memcpy(&a4, X + 4 * (q + u), 4);
            if (a4 == 0) continue;
            const __m512i a = _mm512_set1_epi32(a4);
            const __m512i b0 = _mm512_loadu_si512((const void *)(P + (q + u) * 32));
            const __m512i b1 = _mm512_loadu_si512((const void *)(P + (q + u) * 32 + 16));
            FNN_DPBUSD(a0[u], a, b0);
            FNN_DPBUSD(a1[u], a, b1);
        }
    for (; q < Q; q++) {
        int32_t a4;
        memcpy(&a4, X + 4 * q, 4);
        const __m512i a = _mm512_set1_epi32(a4);
        const __m512i b0 = _mm512_loadu_si512((const void *)(P + q * 32));
        const __m512i b1 = _mm512_loadu_si512((const void *)(P + q * 32 + 16));
        FNN_DPBUSD(a0[0], a, b0);
        FNN_DPBUSD(a1[0], a, b1);
    }
    acc[0][0] = _mm512_add_epi32(_mm512_add_epi32(a0[0], a0[1]), _mm512_add_epi32(a0[2], a0[3]));
    acc[0][1] = _mm512_add_epi32(_mm512_add_epi32(a1[0], a1[1]), _mm512_add_epi32(a1[2], a1[3]));
}

/* One row against G panels (32·G columns, from column g0) at once, over the non-zero
 * quads of X only (their indices in nz: found once for all panels, without a branch
 * per quad; a data-dependent branch per quad mispredicted on images); 2·G named
 * accumulators (an array of them stayed in memory), G = 8, 4, 2 or 1; integer sums, so
 * the same bits as every other path.  The epilogue: Z := (acc − zp·wsum)·xs·ws + b. */
static inline __attribute__((always_inline)) void fnn_q_row_store(
    __m512i acc, ptrdiff_t n0, ptrdiff_t N, float xs, int zp, const int32_t *wsum,
    const float *ws, const float *b, float *Z)
{
    const __mmask16 k = fnn_q_mask(N - n0);
    const fnn_q_cols c = fnn_q_cols_at(n0, k, xs, zp, wsum, ws, b);
    _mm512_mask_storeu_ps(Z + n0, k, fnn_q_out(acc, &c, b));
}

#define FNN_Q_ROW_GROUP(G, PANELS)                                                        \
    static void fnn_q_row_g##G(ptrdiff_t Q, ptrdiff_t N, ptrdiff_t g0, const uint16_t *nz, \
                               ptrdiff_t n_nz, const uint8_t *X, const int32_t *P,        \
                               float xs, int zp, const int32_t *wsum, const float *ws,    \
                               const float *b, float *Z)                                  \
    {                                                                                     \
        PANELS(FNN_Q_ZERO)                                                                \
        for (ptrdiff_t i = 0; i < n_nz; i++) {                                            \
            const ptrdiff_t q = nz[i];                                                    \
            int32_t a4;                                                                   \
            memcpy(&a4, X + 4 * q, 4);                                                    \
            const __m512i a = _mm512_set1_epi32(a4);                                      \
            PANELS(FNN_Q_PANEL)                                                           \
        }                                                                                 \
        PANELS(FNN_Q_STORE)                                                               \
    }
#define FNN_Q_ZERO(p) __m512i c##p##0 = _mm512_setzero_si512(), c##p##1 = c##p##0;
#define FNN_Q_PANEL(p) {                                                                  \
        const __m512i b0 = _mm512_loadu_si512((const void *)(P + p * 32 * Q + q * 32));   \
        const __m512i b1 = _mm512_loadu_si512((const void *)(P + p * 32 * Q + q * 32 + 16)); \
        FNN_DPBUSD(c##p##0, a, b0);                                                       \
        FNN_DPBUSD(c##p##1, a, b1); }
#define FNN_Q_STORE(p)                                                                    \
    fnn_q_row_store(c##p##0, g0 + 32 * p, N, xs, zp, wsum, ws, b, Z);                     \
    fnn_q_row_store(c##p##1, g0 + 32 * p + 16, N, xs, zp, wsum, ws, b, Z);
#define FNN_Q_P1(F) F(0)
#define FNN_Q_P2(F) F(0) F(1)
#define FNN_Q_P4(F) F(0) F(1) F(2) F(3)
#define FNN_Q_P8(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7)
FNN_Q_ROW_GROUP(1, FNN_Q_P1)
FNN_Q_ROW_GROUP(2, FNN_Q_P2)
FNN_Q_ROW_GROUP(4, FNN_Q_P4)
FNN_Q_ROW_GROUP(8, FNN_Q_P8)
#undef FNN_Q_ROW_GROUP
#undef FNN_Q_ZERO
#undef FNN_Q_PANEL
#undef FNN_Q_STORE

/* Z (one row) := the output, in groups of panels (Q <= 16384: K < 65536) */
static void fnn_q_one_row(ptrdiff_t Q, ptrdiff_t N, const uint8_t *X, float xs, int zp,
                          const int32_t *Wp, const int32_t *wsum, const float *ws,
                          const float *b, float *Z)
{
    uint16_t nz[16384]; /* 32 KiB on the stack, as the bf16 kernel's blocks */
    ptrdiff_t n_nz = 0;
    for (ptrdiff_t q = 0; q < Q; q++) { /* a quad of four zero bytes adds 0 to Σ xq·w */
        int32_t a4;                      /* (the zero point enters through wsum) */
        memcpy(&a4, X + 4 * q, 4);
        nz[n_nz] = (uint16_t)q;
        n_nz += a4 != 0;
    }
    const ptrdiff_t panels = (N + 31) / 32;
    for (ptrdiff_t p0 = 0; p0 < panels;) { /* groups of 8, then 4, 2, 1 panels */
        const ptrdiff_t left = panels - p0, g0 = 32 * p0;
        const int32_t *P = Wp + g0 * Q;
        if (left >= 8) {
            fnn_q_row_g8(Q, N, g0, nz, n_nz, X, P, xs, zp, wsum, ws, b, Z);
            p0 += 8;
        } else if (left >= 4) {
            fnn_q_row_g4(Q, N, g0, nz, n_nz, X, P, xs, zp, wsum, ws, b, Z);
            p0 += 4;
        } else if (left >= 2) {
            fnn_q_row_g2(Q, N, g0, nz, n_nz, X, P, xs, zp, wsum, ws, b, Z);
            p0 += 2;
        } else {
            fnn_q_row_g1(Q, N, g0, nz, n_nz, X, P, xs, zp, wsum, ws, b, Z);
            p0 += 1;
        }
    }
}

/* pass 0: *lo, *hi := min(0, X), max(0, X), and 1 returned if X holds a NaN or an
 * infinity (vfpclassps: QNaN, SNaN, ±inf); pass 1: Xq := clamp(round(x / scale) + zp)
 * (a true division and round to nearest even, as the portable loop) */
int fnn_int8_quantize_rows_avx512(ptrdiff_t B, ptrdiff_t K, const float *X, uint8_t *Xq,
                                  float scale, int zp, float *lo, float *hi, int pass)
{
    const ptrdiff_t row = fnn_int8_row_bytes(K);
    if (pass == 0) {
        __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
        __mmask16 bad = 0;
        fnn_q_range(X, B * K, &vlo, &vhi, &bad);
        *lo = _mm512_reduce_min_ps(vlo);
        *hi = _mm512_reduce_max_ps(vhi);
        return bad != 0;
    }
    const __m512 vs = _mm512_set1_ps(scale), vz = _mm512_set1_ps((float)zp);
    const __m512 v0 = _mm512_setzero_ps(), v255 = _mm512_set1_ps(255.0f);
    for (ptrdiff_t r = 0; r < B; r++) {
        const float *x = X + r * K;
        uint8_t *q = Xq + r * row;
        for (ptrdiff_t k = 0; k < K; k += 16) {
            const __mmask16 m = K - k >= 16 ? 0xffff : (__mmask16)((1u << (K - k)) - 1);
            __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + k), vs);
            v = _mm512_add_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), vz);
            v = _mm512_min_ps(_mm512_max_ps(v, v0), v255);
            _mm_mask_storeu_epi8(q + k, m, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
        }
        for (ptrdiff_t k = K; k < row; k++) q[k] = (uint8_t)zp;
    }
    return 0;
}

/* Z rows i .. i+R (R <= 6), columns n0 .. N: the 8×32 tile code (fnn_q_tile, or
 * fnn_q_row for one row) panel by panel, with the float epilogue */
static void fnn_q_strip_panels(int R, ptrdiff_t n0, ptrdiff_t Q, ptrdiff_t N, const uint8_t *X,
                               ptrdiff_t row, float xs, int zp, const int32_t *Wp,
                               const int32_t *wsum, const float *ws, const float *b, float *Z)
{
    for (; n0 < N; n0 += 32) {
        const int32_t *P = Wp + n0 * Q;
        __m512i acc[8][2];
        switch (R) {
#define FNN_Q_CASE(RR) case RR: fnn_q_tile(RR, Q, X, row, P, acc); break;
            FNN_Q_CASE(6) FNN_Q_CASE(5) FNN_Q_CASE(4) FNN_Q_CASE(3) FNN_Q_CASE(2)
#undef FNN_Q_CASE
        case 1: fnn_q_row(Q, X, P, acc); break;
        default: return;
        }
        for (int h = 0; h < 2; h++) {
            const __mmask16 k = fnn_q_mask(N - n0 - 16 * h);
            const fnn_q_cols c = fnn_q_cols_at(n0 + 16 * h, k, xs, zp, wsum, ws, b);
            for (int r = 0; r < R; r++)
                _mm512_mask_storeu_ps(Z + r * N + n0 + 16 * h, k, fnn_q_out(acc[r][h], &c, b));
        }
    }
}

/* Chunks of 48 rows: each pair of full panels through the chunk's 6-row strips in 6×64
 * tiles (the pair's 50 KiB of weights stay near L1 for the 8 strips), the rest in the
 * 8×32 tiles; then, while the chunk (48 KiB of Z for 256 columns) is in L2, the
 * activation and the next layer's range: separate passes over Z for those read it
 * from L3.  (Strips of 6 rows through every column, with W read from L2 per strip,
 * measured 0.5–1 ms slower on 10k rows of the 784-256-128-10 net.) */
enum { FNN_Q_CHUNK = 48 };

int fnn_int8_dense_vnni(ptrdiff_t B, ptrdiff_t K, ptrdiff_t N, const uint8_t *Xq, float xs,
                        int zp, const int32_t *Wp, const int32_t *wsum, const float *ws,
                        const float *b, float *Z, fnn_int8_act act, int act_id, float *range)
{
    const ptrdiff_t Q = (K + 3) / 4, row = fnn_int8_row_bytes(K);
    __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (ptrdiff_t c0 = 0; c0 < B; c0 += FNN_Q_CHUNK) {
        const ptrdiff_t rows = B - c0 < FNN_Q_CHUNK ? B - c0 : FNN_Q_CHUNK;
        const ptrdiff_t full = rows / 6 * 6;
        ptrdiff_t n64 = 0; /* columns before n64 done in 6×64 tiles for the full strips */
        if (B == 1) { /* a one-sample predict: every panel at once */
            fnn_q_one_row(Q, N, Xq, xs, zp, Wp, wsum, ws, b, Z);
        } else {
            if (full > 0)
                for (; n64 + 64 <= N; n64 += 64) {
                    const ptrdiff_t n0 = n64;
                    const int32_t *P0 = Wp + n0 * Q, *P1 = P0 + 32 * Q;
                    fnn_q_cols cols[4];
                    for (int h = 0; h < 4; h++)
                        cols[h] = fnn_q_cols_at(n0 + 16 * h, 0xffff, xs, zp, wsum, ws, b);
                    for (ptrdiff_t i = c0; i < c0 + full; i += 6) {
                        int32_t T[6 * 64] __attribute__((aligned(64)));
                        fnn_q_tile6x64(Q, Xq + i * row, row, P0, P1, T);
                        for (int r = 0; r < 6; r++)
                            for (int h = 0; h < 4; h++) {
                                const __m512i acc = _mm512_load_si512((const void *)(T + r * 64 + 16 * h));
                                _mm512_storeu_ps(Z + (i + r) * N + n0 + 16 * h,
                                                 fnn_q_out(acc, &cols[h], b));
                            }
                    }
                }
            for (ptrdiff_t i = c0; i < c0 + rows; i += 6) {
                const int R = c0 + rows - i >= 6 ? 6 : (int)(c0 + rows - i);
                fnn_q_strip_panels(R, R == 6 ? n64 : 0, Q, N, Xq + i * row, row, xs, zp, Wp,
                                   wsum, ws, b, Z + i * N);
            }
        }
        if (act) {
            act(act_id, rows, N, Z + c0 * N, Z + c0 * N);
            if (range) fnn_q_range(Z + c0 * N, rows * N, &vlo, &vhi, &bad);
        }
    }
    if (range) {
        range[0] = _mm512_reduce_min_ps(vlo);
        range[1] = _mm512_reduce_max_ps(vhi);
    }
    return bad != 0;
}

#else
int fnn_int8_quantize_rows_avx512(ptrdiff_t B, ptrdiff_t K, const float *X, uint8_t *Xq,
                                  float scale, int zp, float *lo, float *hi, int pass)
{
    (void)B; (void)K; (void)X; (void)Xq; (void)scale; (void)zp; (void)lo; (void)hi; (void)pass;
    return 0;
}
int fnn_int8_dense_vnni(ptrdiff_t B, ptrdiff_t K, ptrdiff_t N, const uint8_t *Xq, float xs,
                        int zp, const int32_t *Wp, const int32_t *wsum, const float *ws,
                        const float *b, float *Z, fnn_int8_act act, int act_id, float *range)
{
    /* a compiler without this file's kernel: the portable loops, then the same steps */
    fnn_int8_dense(FNN_INT8_PORTABLE, B, K, N, Xq, xs, zp, Wp, wsum, ws, b, Z);
    if (!act) return 0;
    act(act_id, B, N, Z, Z);
    return range ? fnn_int8_range(Z, B * N, range) : 0;
}
#endif
