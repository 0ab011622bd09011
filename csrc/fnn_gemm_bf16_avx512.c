/* fnn_gemm_bf16_avx512.c — the packing and micro-kernel of fnn_gemm_bf16.h on
 * AVX512-BF16 (Intel Cooper Lake and Sapphire Rapids on, AMD Zen 4 and 5).  Only
 * this file is compiled for the target, so the rest of the build stays portable;
 * fnn_gemm_bf16 calls it only where fnn_have_avx512_bf16() returns 1.
 *
 * A tile of R <= 8 rows × 32 columns of C is 2R vectors of float32 sums.  For each
 * pair p along K: two vectors of the panel's packed words (16 columns × 2 bfloat16
 * each) and, per row, A's word of the pair broadcast to all lanes; vdpbf16ps adds
 * a_odd·b_odd + a_even·b_even to each lane.  Packing rounds with vcvtne2ps2bf16
 * (nearest even; subnormal inputs to zero, as fnn_bf16_round). */
#include "fnn_gemm_bf16.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16")
#include <immintrin.h>

static inline __mmask16 fnn_bf16_mask(ptrdiff_t n) /* the first min(n, 16) lanes, n may be <= 0 */
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* word i = (bf16 e[i], bf16 o[i]), i < 16 */
static inline __m512i fnn_bf16_interleave(__m512 e, __m512 o)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25,
                                         9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2,
                                         17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(o, e));
}

/* 16 words: the pairs from k on of a contiguous row of K floats (zeros past K) */
static inline __m512i fnn_bf16_row_pairs(const float *row, ptrdiff_t k, ptrdiff_t K)
{
    const __m512 lo = _mm512_maskz_loadu_ps(fnn_bf16_mask(K - k), row + k);
    const __m512 hi = _mm512_maskz_loadu_ps(fnn_bf16_mask(K - k - 16), row + k + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* r[i] (16 words each) := column i of the 16×16 block of words r[0..15] */
static inline void fnn_bf16_transpose16(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) { /* pairs of rows interleaved within 128-bit lanes */
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) { /* four rows' words 4q+0..3 per lane */
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int h = 0; h < 16; h += 8) /* lanes 0, 2 and 1, 3 of rows 0-3 with rows 4-7 */
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0xdd);
        }
    for (int i = 0; i < 8; i++) { /* then the two halves of 8 rows */
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    }
}

void fnn_bf16_pack_a_avx512(int tA, const float *A, ptrdiff_t lda, ptrdiff_t K, ptrdiff_t m0,
                            ptrdiff_t mn, ptrdiff_t p0, ptrdiff_t pn, uint32_t *Ablk)
{
    if (!tA) {
        for (ptrdiff_t m = 0; m < mn; m++)
            for (ptrdiff_t p = 0; p < pn; p += 16)
                _mm512_mask_storeu_epi32(Ablk + m * FNN_BF16_KC + p, fnn_bf16_mask(pn - p),
                                         fnn_bf16_row_pairs(A + (m0 + m) * lda,
                                                            2 * (p0 + p), K));
        return;
    }
    for (ptrdiff_t p = 0; p < pn; p++) {
        const ptrdiff_t k = 2 * (p0 + p);
        const float *e = A + k * lda + m0, *o = A + (k + 1) * lda + m0;
        for (ptrdiff_t m = 0; m < mn; m += 16) {
            const __mmask16 msk = fnn_bf16_mask(mn - m);
            const __m512 ve = _mm512_maskz_loadu_ps(msk, e + m);
            const __m512 vo = k + 1 < K ? _mm512_maskz_loadu_ps(msk, o + m) : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(Ablk + p * FNN_BF16_MC + m, msk, fnn_bf16_interleave(ve, vo));
        }
    }
}

void fnn_bf16_pack_b_avx512(int tB, const float *B, ptrdiff_t ldb, ptrdiff_t K, ptrdiff_t N,
                            ptrdiff_t p0, ptrdiff_t pn, ptrdiff_t n0, uint32_t *Bblk)
{
    if (!tB) {
        for (ptrdiff_t p = 0; p < pn; p++) {
            const ptrdiff_t k = 2 * (p0 + p);
            const float *e = B + k * ldb + n0, *o = B + (k + 1) * ldb + n0;
            for (int h = 0; h < 2; h++) {
                const __mmask16 msk = fnn_bf16_mask(N - n0 - 16 * h);
                const __m512 ve = _mm512_maskz_loadu_ps(msk, e + 16 * h);
                const __m512 vo = k + 1 < K ? _mm512_maskz_loadu_ps(msk, o + 16 * h)
                                            : _mm512_setzero_ps();
                _mm512_store_si512((void *)(Bblk + p * FNN_BF16_NR + 16 * h),
                                   fnn_bf16_interleave(ve, vo));
            }
        }
        return;
    }
    /* op(B)(k, n) = B[n·ldb + k]: 16 stored rows n converted 16 pairs at a time are a
     * 16×16 block of words with n down and p across; transposed in registers, its
     * rows are 16 pairs' words for 16 columns of the panel */
    for (ptrdiff_t j0 = 0; j0 < FNN_BF16_NR; j0 += 16)
        for (ptrdiff_t p = 0; p < pn; p += 16) {
            __m512i r[16];
            for (int i = 0; i < 16; i++)
                r[i] = n0 + j0 + i < N ? fnn_bf16_row_pairs(B + (n0 + j0 + i) * ldb, 2 * (p0 + p), K)
                                       : _mm512_setzero_si512();
            fnn_bf16_transpose16(r);
            for (ptrdiff_t t = 0; t < 16 && p + t < pn; t++)
                _mm512_store_si512((void *)(Bblk + (p + t) * FNN_BF16_NR + j0), r[t]);
        }
}

static inline __attribute__((always_inline)) void fnn_bf16_tile(
    const int R, ptrdiff_t pn, const uint32_t *Aw, ptrdiff_t ars, ptrdiff_t acs,
    const uint32_t *Bblk, float alpha, float beta, int first, float *C, ptrdiff_t ldc,
    __mmask16 k0, __mmask16 k1)
{
    __m512 acc[FNN_BF16_MR][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (ptrdiff_t p = 0; p < pn; p++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(Bblk + p * FNN_BF16_NR));
        const __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(Bblk + p * FNN_BF16_NR + 16));
        for (int r = 0; r < R; r++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)Aw[r * ars + p * acs]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < R; r++)
        for (int h = 0; h < 2; h++) {
            const __mmask16 k = h ? k1 : k0;
            float *c = C + r * ldc + 16 * h;
            __m512 s = _mm512_mul_ps(va, acc[r][h]);
            if (!first) s = _mm512_add_ps(_mm512_maskz_loadu_ps(k, c), s);
            else if (beta != 0.0f)
                s = _mm512_add_ps(s, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(k, c)));
            _mm512_mask_storeu_ps(c, k, s);
        }
}

void fnn_bf16_block_avx512(ptrdiff_t mn, ptrdiff_t nn, ptrdiff_t pn, float alpha,
                           const uint32_t *Ablk, ptrdiff_t ars, ptrdiff_t acs,
                           const uint32_t *Bblk, float beta, int first, float *C,
                           ptrdiff_t ldc)
{
    const __mmask16 k0 = fnn_bf16_mask(nn), k1 = fnn_bf16_mask(nn - 16);
    ptrdiff_t m = 0;
    for (; m + FNN_BF16_MR <= mn; m += FNN_BF16_MR)
        fnn_bf16_tile(FNN_BF16_MR, pn, Ablk + m * ars, ars, acs, Bblk, alpha, beta, first,
                      C + m * ldc, ldc, k0, k1);
    switch (mn - m) {
#define FNN_BF16_REST(R) \
    case R: fnn_bf16_tile(R, pn, Ablk + m * ars, ars, acs, Bblk, alpha, beta, first, C + m * ldc, ldc, k0, k1); break;
        FNN_BF16_REST(1) FNN_BF16_REST(2) FNN_BF16_REST(3) FNN_BF16_REST(4)
        FNN_BF16_REST(5) FNN_BF16_REST(6) FNN_BF16_REST(7)
#undef FNN_BF16_REST
    default: break;
    }
}

#else /* another compiler or architecture: never called (fnn_have_avx512_bf16() is 0);
       * the portable code keeps the symbols defined */
void fnn_bf16_pack_a_avx512(int tA, const float *A, ptrdiff_t lda, ptrdiff_t K, ptrdiff_t m0,
                            ptrdiff_t mn, ptrdiff_t p0, ptrdiff_t pn, uint32_t *Ablk)
{
    fnn_bf16_pack_a(tA, A, lda, K, m0, mn, p0, pn, Ablk);
}
void fnn_bf16_pack_b_avx512(int tB, const float *B, ptrdiff_t ldb, ptrdiff_t K, ptrdiff_t N,
                            ptrdiff_t p0, ptrdiff_t pn, ptrdiff_t n0, uint32_t *Bblk)
{
    fnn_bf16_pack_b(tB, B, ldb, K, N, p0, pn, n0, Bblk);
}
void fnn_bf16_block_avx512(ptrdiff_t mn, ptrdiff_t nn, ptrdiff_t pn, float alpha,
                           const uint32_t *Ablk, ptrdiff_t ars, ptrdiff_t acs,
                           const uint32_t *Bblk, float beta, int first, float *C,
                           ptrdiff_t ldc)
{
    (void)mn; (void)nn; (void)pn; (void)alpha; (void)Ablk; (void)ars; (void)acs; (void)Bblk;
    (void)beta; (void)first; (void)C; (void)ldc;
}
#endif
