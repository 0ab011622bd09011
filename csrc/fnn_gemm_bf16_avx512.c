/* fnn_gemm_bf16_avx512.c — the micro-kernel of fnn_gemm_bf16.h on AVX512-BF16
 * (Intel Cooper Lake and Sapphire Rapids on, AMD Zen 4 and 5).  Only this file is
 * compiled for the target, so the rest of the build stays portable; fnn_gemm_bf16
 * calls it only where fnn_have_avx512_bf16() returns 1.
 *
 * A tile of R <= 8 rows × 32 columns of C is 2R vectors of float32 sums.  For each
 * pair p along K: two vectors of B's packed words (16 columns × 2 bfloat16 each)
 * and, per row, A's word of the pair broadcast to all lanes; vdpbf16ps adds
 * a_odd·b_odd + a_even·b_even to each lane. */
#include "fnn_gemm_bf16.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16")
#include <immintrin.h>

/* word i of the result = (bf16 e[i], bf16 o[i]), i < 16, rounded to nearest even */
static inline __m512i fnn_bf16_interleave(__m512 e, __m512 o)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25,
                                         9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2,
                                         17, 1, 16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(o, e));
}

static inline __mmask16 fnn_bf16_mask(ptrdiff_t n) /* the first min(n, 16) lanes */
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* fnn_bf16_pack_a with vcvtne2ps2bf16 (the same rounding, fnn_gemm_bf16.c) */
void fnn_bf16_pack_a_avx512(int tA, ptrdiff_t M, ptrdiff_t K, const float *A, ptrdiff_t lda,
                            uint32_t *Aw)
{
    const ptrdiff_t P = (K + 1) / 2;
    if (!tA) { /* a row's 32 floats from k = 2p on are the 16 pairs from p on */
        for (ptrdiff_t m = 0; m < M; m++) {
            const float *a = A + m * lda;
            uint32_t *w = Aw + m * P;
            for (ptrdiff_t p = 0; p < P; p += 16) {
                const ptrdiff_t k = 2 * p;
                const __m512 lo = _mm512_maskz_loadu_ps(fnn_bf16_mask(K - k), a + k);
                const __m512 hi = _mm512_maskz_loadu_ps(fnn_bf16_mask(K - k - 16), a + k + 16);
                _mm512_mask_storeu_epi32(w + p, fnn_bf16_mask(P - p),
                                         (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
            }
        }
        return;
    }
    for (ptrdiff_t p = 0; p < P; p++) { /* pairs of rows k = 2p, 2p+1, contiguous in m */
        const float *e = A + 2 * p * lda, *o = A + (2 * p + 1) * lda;
        const int odd = 2 * p + 1 < K;
        for (ptrdiff_t m = 0; m < M; m += 16) {
            const __mmask16 k = fnn_bf16_mask(M - m);
            const __m512 ve = _mm512_maskz_loadu_ps(k, e + m);
            const __m512 vo = odd ? _mm512_maskz_loadu_ps(k, o + m) : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(Aw + p * M + m, k, fnn_bf16_interleave(ve, vo));
        }
    }
}

/* fnn_bf16_pack_b with vcvtne2ps2bf16 */
void fnn_bf16_pack_b_avx512(int tB, ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t ldb,
                            uint32_t *Bp, ptrdiff_t ldp)
{
    const ptrdiff_t P = (K + 1) / 2;
    if (!tB) {
        for (ptrdiff_t p = 0; p < P; p++) {
            const float *e = B + 2 * p * ldb, *o = B + (2 * p + 1) * ldb;
            const int odd = 2 * p + 1 < K;
            for (ptrdiff_t n = 0; n < ldp; n += 16) { /* zeros from N to ldp */
                const __mmask16 k = n < N ? fnn_bf16_mask(N - n) : 0;
                const __m512 ve = _mm512_maskz_loadu_ps(k, e + n);
                const __m512 vo = odd ? _mm512_maskz_loadu_ps(k, o + n) : _mm512_setzero_ps();
                _mm512_store_si512((void *)(Bp + FNN_BF16_BIDX(p, n, P)),
                                   fnn_bf16_interleave(ve, vo));
            }
        }
        return;
    }
    /* B(k, n) = B[n·ldb + k]: row n of the stored matrix is column n of Bp, converted
     * 16 pairs at a time and scattered down the column (NR words apart in a panel) */
    const __m512i down = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7,
                                                              6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32(FNN_BF16_NR));
    for (ptrdiff_t n = 0; n < N; n++) {
        const float *b = B + n * ldb;
        for (ptrdiff_t p = 0; p < P; p += 16) {
            const ptrdiff_t k = 2 * p;
            const __m512 lo = _mm512_maskz_loadu_ps(fnn_bf16_mask(K - k), b + k);
            const __m512 hi = _mm512_maskz_loadu_ps(fnn_bf16_mask(K - k - 16), b + k + 16);
            _mm512_mask_i32scatter_epi32(Bp + FNN_BF16_BIDX(p, n, P), fnn_bf16_mask(P - p), down,
                                         (__m512i)_mm512_cvtne2ps_pbh(hi, lo), 4);
        }
    }
    for (ptrdiff_t p = 0; p < P; p++)
        for (ptrdiff_t n = N; n < ldp; n++) Bp[FNN_BF16_BIDX(p, n, P)] = 0;
}

static inline __attribute__((always_inline)) void fnn_bf16_tile(
    const int R, ptrdiff_t p0, ptrdiff_t p1, const uint32_t *Aw, ptrdiff_t ars, ptrdiff_t acs,
    const uint32_t *Bp, ptrdiff_t ldp, float alpha, float beta, float *C, ptrdiff_t ldc,
    __mmask16 k0, __mmask16 k1)
{
    __m512 acc[FNN_BF16_MR][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (ptrdiff_t p = p0; p < p1; p++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(Bp + p * FNN_BF16_NR));
        const __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(Bp + p * FNN_BF16_NR + 16));
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
            if (p0 > 0) s = _mm512_add_ps(_mm512_maskz_loadu_ps(k, c), s);
            else if (beta != 0.0f)
                s = _mm512_add_ps(s, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(k, c)));
            _mm512_mask_storeu_ps(c, k, s);
        }
}

void fnn_gemm_bf16_packed_avx512(ptrdiff_t M, ptrdiff_t N, ptrdiff_t P, float alpha,
                                 const uint32_t *Aw, ptrdiff_t ars, ptrdiff_t acs,
                                 const uint32_t *Bp, ptrdiff_t ldp, float beta, float *C,
                                 ptrdiff_t ldc)
{
    for (ptrdiff_t n0 = 0; n0 < N; n0 += FNN_BF16_NR) {
        const ptrdiff_t nn = N - n0;
        const __mmask16 k0 = nn >= 16 ? 0xffff : (__mmask16)((1u << nn) - 1);
        const __mmask16 k1 = nn >= 32 ? 0xffff : nn <= 16 ? 0 : (__mmask16)((1u << (nn - 16)) - 1);
        for (ptrdiff_t p0 = 0; p0 < P; p0 += FNN_BF16_KC) {
            const ptrdiff_t p1 = P - p0 < FNN_BF16_KC ? P : p0 + FNN_BF16_KC;
            const uint32_t *b = Bp + n0 * P; /* the panel of columns n0.. */
            ptrdiff_t m = 0;
            for (; m + FNN_BF16_MR <= M; m += FNN_BF16_MR)
                fnn_bf16_tile(FNN_BF16_MR, p0, p1, Aw + m * ars, ars, acs, b, ldp, alpha, beta,
                              C + m * ldc + n0, ldc, k0, k1);
            switch (M - m) {
#define FNN_BF16_REST(R) \
    case R: fnn_bf16_tile(R, p0, p1, Aw + m * ars, ars, acs, b, ldp, alpha, beta, C + m * ldc + n0, ldc, k0, k1); break;
                FNN_BF16_REST(1) FNN_BF16_REST(2) FNN_BF16_REST(3) FNN_BF16_REST(4)
                FNN_BF16_REST(5) FNN_BF16_REST(6) FNN_BF16_REST(7)
#undef FNN_BF16_REST
            default: break;
            }
        }
    }
}

#else /* another compiler or architecture: never called (fnn_have_avx512_bf16() is 0);
       * the portable code keeps the symbols defined */
void fnn_bf16_pack_a_avx512(int tA, ptrdiff_t M, ptrdiff_t K, const float *A, ptrdiff_t lda,
                            uint32_t *Aw)
{
    fnn_bf16_pack_a(tA, M, K, A, lda, Aw);
}
void fnn_bf16_pack_b_avx512(int tB, ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t ldb,
                            uint32_t *Bp, ptrdiff_t ldp)
{
    fnn_bf16_pack_b(tB, K, N, B, ldb, Bp, ldp);
}
void fnn_gemm_bf16_packed_avx512(ptrdiff_t M, ptrdiff_t N, ptrdiff_t P, float alpha,
                                 const uint32_t *Aw, ptrdiff_t ars, ptrdiff_t acs,
                                 const uint32_t *Bp, ptrdiff_t ldp, float beta, float *C,
                                 ptrdiff_t ldc)
{
    (void)M; (void)N; (void)P; (void)alpha; (void)Aw; (void)ars; (void)acs; (void)Bp;
    (void)ldp; (void)beta; (void)C; (void)ldc;
}
#endif
