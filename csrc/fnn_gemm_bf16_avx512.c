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

static inline __attribute__((always_inline)) void fnn_bf16_tile(
    const int R, ptrdiff_t p0, ptrdiff_t p1, ptrdiff_t P, const uint32_t *Aw,
    const uint32_t *Bp, ptrdiff_t ldp, float alpha, float beta, float *C, ptrdiff_t ldc,
    __mmask16 k0, __mmask16 k1)
{
    __m512 acc[FNN_BF16_MR][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (ptrdiff_t p = p0; p < p1; p++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(Bp + p * ldp));
        const __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(Bp + p * ldp + 16));
        for (int r = 0; r < R; r++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)Aw[r * P + p]);
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
                                 const uint32_t *Aw, const uint32_t *Bp, ptrdiff_t ldp,
                                 float beta, float *C, ptrdiff_t ldc)
{
    for (ptrdiff_t n0 = 0; n0 < N; n0 += FNN_BF16_NR) {
        const ptrdiff_t nn = N - n0;
        const __mmask16 k0 = nn >= 16 ? 0xffff : (__mmask16)((1u << nn) - 1);
        const __mmask16 k1 = nn >= 32 ? 0xffff : nn <= 16 ? 0 : (__mmask16)((1u << (nn - 16)) - 1);
        for (ptrdiff_t p0 = 0; p0 < P; p0 += FNN_BF16_KC) {
            const ptrdiff_t p1 = P - p0 < FNN_BF16_KC ? P : p0 + FNN_BF16_KC;
            const uint32_t *b = Bp + n0;
            ptrdiff_t m = 0;
            for (; m + FNN_BF16_MR <= M; m += FNN_BF16_MR)
                fnn_bf16_tile(FNN_BF16_MR, p0, p1, P, Aw + m * P, b, ldp, alpha, beta,
                              C + m * ldc + n0, ldc, k0, k1);
            switch (M - m) {
#define FNN_BF16_REST(R) \
    case R: fnn_bf16_tile(R, p0, p1, P, Aw + m * P, b, ldp, alpha, beta, C + m * ldc + n0, ldc, k0, k1); break;
                FNN_BF16_REST(1) FNN_BF16_REST(2) FNN_BF16_REST(3) FNN_BF16_REST(4)
                FNN_BF16_REST(5) FNN_BF16_REST(6) FNN_BF16_REST(7)
#undef FNN_BF16_REST
            default: break;
            }
        }
    }
}

#else /* another compiler or architecture: never called (fnn_have_avx512_bf16() is 0) */
void fnn_gemm_bf16_packed_avx512(ptrdiff_t M, ptrdiff_t N, ptrdiff_t P, float alpha,
                                 const uint32_t *Aw, const uint32_t *Bp, ptrdiff_t ldp,
                                 float beta, float *C, ptrdiff_t ldc)
{
    (void)M; (void)N; (void)P; (void)alpha; (void)Aw; (void)Bp; (void)ldp; (void)beta;
    (void)C; (void)ldc;
}
#endif
