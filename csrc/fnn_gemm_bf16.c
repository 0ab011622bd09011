/* fnn_gemm_bf16.c — the bfloat16-input product of fnn_gemm_bf16.h: the blocking,
 * the portable packing and emulation, and the choice of the AVX512-BF16 kernel
 * (fnn_gemm_bf16_avx512.c).  Compiled without any target: runs on every CPU. */
#include "fnn_gemm_bf16.h"

#include "fnn_isa.h"

int fnn_have_avx512_bf16(void) { return fnn_have_avx512_feature(1, 0, 5); }

static inline uint32_t fnn_bf16_pair(float even, float odd)
{
    return (uint32_t)fnn_bf16_round(even) | ((uint32_t)fnn_bf16_round(odd) << 16);
}

void fnn_bf16_pack_a(int tA, const float *A, ptrdiff_t lda, ptrdiff_t K, ptrdiff_t m0,
                     ptrdiff_t mn, ptrdiff_t p0, ptrdiff_t pn, uint32_t *Ablk)
{
    for (ptrdiff_t m = 0; m < mn; m++)
        for (ptrdiff_t p = 0; p < pn; p++) {
            const ptrdiff_t k = 2 * (p0 + p);
            /* op(A)(m, k) = A[m·lda + k], or A[k·lda + m] transposed */
            const float e = tA ? A[k * lda + m0 + m] : A[(m0 + m) * lda + k];
            const float o = k + 1 >= K ? 0.0f : tA ? A[(k + 1) * lda + m0 + m]
                                                   : A[(m0 + m) * lda + k + 1];
            Ablk[tA ? p * FNN_BF16_MC + m : m * FNN_BF16_KC + p] = fnn_bf16_pair(e, o);
        }
}

void fnn_bf16_pack_b(int tB, const float *B, ptrdiff_t ldb, ptrdiff_t K, ptrdiff_t N,
                     ptrdiff_t p0, ptrdiff_t pn, ptrdiff_t n0, uint32_t *Bblk)
{
    for (ptrdiff_t p = 0; p < pn; p++)
        for (ptrdiff_t j = 0; j < FNN_BF16_NR; j++) {
            const ptrdiff_t k = 2 * (p0 + p), n = n0 + j;
            uint32_t w = 0;
            if (n < N) { /* op(B)(k, n) = B[k·ldb + n], or B[n·ldb + k] transposed */
                const float e = tB ? B[n * ldb + k] : B[k * ldb + n];
                const float o = k + 1 >= K ? 0.0f : tB ? B[n * ldb + k + 1] : B[(k + 1) * ldb + n];
                w = fnn_bf16_pair(e, o);
            }
            Bblk[p * FNN_BF16_NR + j] = w;
        }
}

/* one 32-bit lane of vdpbf16ps: acc + a_odd·b_odd + a_even·b_even, in this order */
static inline float fnn_bf16_dot2(float acc, uint32_t a, uint32_t b)
{
    acc += fnn_bf16_to_f32(a >> 16) * fnn_bf16_to_f32(b >> 16);
    acc += fnn_bf16_to_f32(a & 0xffffu) * fnn_bf16_to_f32(b & 0xffffu);
    return acc;
}

static void fnn_bf16_block_emulated(ptrdiff_t mn, ptrdiff_t nn, ptrdiff_t pn, float alpha,
                                    const uint32_t *Ablk, ptrdiff_t ars, ptrdiff_t acs,
                                    const uint32_t *Bblk, float beta, int first, float *C,
                                    ptrdiff_t ldc)
{
    for (ptrdiff_t m = 0; m < mn; m++) {
        float acc[FNN_BF16_NR] = {0};
        for (ptrdiff_t p = 0; p < pn; p++) {
            const uint32_t a = Ablk[m * ars + p * acs];
            for (int j = 0; j < FNN_BF16_NR; j++)
                acc[j] = fnn_bf16_dot2(acc[j], a, Bblk[p * FNN_BF16_NR + j]);
        }
        for (ptrdiff_t j = 0; j < nn; j++) {
            float *c = C + m * ldc + j;
            if (!first) *c += alpha * acc[j];
            else if (beta == 0.0f) *c = alpha * acc[j];
            else *c = alpha * acc[j] + beta * *c;
        }
    }
}

ptrdiff_t fnn_bf16_packed_words(ptrdiff_t K, ptrdiff_t N)
{
    return (K + 1) / 2 * ((N + FNN_BF16_NR - 1) / FNN_BF16_NR * FNN_BF16_NR);
}

void fnn_bf16_pack_full(int mode, int tB, const float *B, ptrdiff_t ldb, ptrdiff_t K,
                        ptrdiff_t N, uint32_t *Bp)
{
    const ptrdiff_t P = (K + 1) / 2;
    for (ptrdiff_t n0 = 0; n0 < N; n0 += FNN_BF16_NR) {
        uint32_t *panel = Bp + n0 * P; /* (n0 / NR)·P·NR words before this panel */
        for (ptrdiff_t p0 = 0; p0 < P; p0 += FNN_BF16_KC) {
            const ptrdiff_t pn = P - p0 < FNN_BF16_KC ? P - p0 : FNN_BF16_KC;
            if (mode == FNN_BF16_AVX512)
                fnn_bf16_pack_b_avx512(tB, B, ldb, K, N, p0, pn, n0, panel + p0 * FNN_BF16_NR);
            else
                fnn_bf16_pack_b(tB, B, ldb, K, N, p0, pn, n0, panel + p0 * FNN_BF16_NR);
        }
    }
}

/* The blocking of fnn_gemm_bf16.h over op(B) given as B (packed here, one panel of a
 * K block at a time, once per row block) or as Bp (packed before: read in place). */
static void fnn_bf16_drive(int mode, int tA, int tB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                           float alpha, const float *A, ptrdiff_t lda, const float *B,
                           ptrdiff_t ldb, const uint32_t *Bp, float beta, float *C,
                           ptrdiff_t ldc)
{
    FNN_ASSERT(M >= 0 && N >= 0 && K >= 0);
    FNN_ASSERT(mode == FNN_BF16_EMULATED || mode == FNN_BF16_AVX512);
    if (M == 0 || N == 0) return;
    if (K == 0) { /* no products: C := beta·C */
        for (ptrdiff_t m = 0; m < M; m++)
            for (ptrdiff_t n = 0; n < N; n++)
                C[m * ldc + n] = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
        return;
    }
    uint32_t Ablk[FNN_BF16_MC * FNN_BF16_KC] __attribute__((aligned(64)));
    uint32_t Bblk[FNN_BF16_KC * FNN_BF16_NR] __attribute__((aligned(64)));
    const int native = mode == FNN_BF16_AVX512;
    const ptrdiff_t P = (K + 1) / 2;
    const ptrdiff_t ars = tA ? 1 : FNN_BF16_KC, acs = tA ? FNN_BF16_MC : 1;
    /* columns in groups of NC: a K block of a group's packed panels (128 KiB) stays
     * in L2 while every row block reads it; A's row block is packed once per group */
    const ptrdiff_t NC = Bp ? FNN_BF16_NC : N;
    for (ptrdiff_t p0 = 0; p0 < P; p0 += FNN_BF16_KC) {
        const ptrdiff_t pn = P - p0 < FNN_BF16_KC ? P - p0 : FNN_BF16_KC;
        for (ptrdiff_t g0 = 0; g0 < N; g0 += NC)
        for (ptrdiff_t m0 = 0; m0 < M; m0 += FNN_BF16_MC) {
            const ptrdiff_t mn = M - m0 < FNN_BF16_MC ? M - m0 : FNN_BF16_MC;
            const ptrdiff_t g1 = N - g0 < NC ? N : g0 + NC;
            if (native) fnn_bf16_pack_a_avx512(tA, A, lda, K, m0, mn, p0, pn, Ablk);
            else fnn_bf16_pack_a(tA, A, lda, K, m0, mn, p0, pn, Ablk);
            for (ptrdiff_t n0 = g0; n0 < g1; n0 += FNN_BF16_NR) {
                const ptrdiff_t nn = N - n0 < FNN_BF16_NR ? N - n0 : FNN_BF16_NR;
                float *c = C + m0 * ldc + n0;
                const uint32_t *bw = Bblk;
                if (Bp) bw = Bp + n0 * P + p0 * FNN_BF16_NR; /* fnn_bf16_pack_full's layout */
                else if (native) fnn_bf16_pack_b_avx512(tB, B, ldb, K, N, p0, pn, n0, Bblk);
                else fnn_bf16_pack_b(tB, B, ldb, K, N, p0, pn, n0, Bblk);
                if (native)
                    fnn_bf16_block_avx512(mn, nn, pn, alpha, Ablk, ars, acs, bw, beta,
                                          p0 == 0, c, ldc);
                else
                    fnn_bf16_block_emulated(mn, nn, pn, alpha, Ablk, ars, acs, bw, beta,
                                            p0 == 0, c, ldc);
            }
        }
    }
}

void fnn_gemm_bf16(int mode, int tA, int tB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                   float alpha, const float *A, ptrdiff_t lda, const float *B,
                   ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    fnn_bf16_drive(mode, tA, tB, M, N, K, alpha, A, lda, B, ldb, NULL, beta, C, ldc);
}

void fnn_gemm_bf16_packed(int mode, int tA, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                          float alpha, const float *A, ptrdiff_t lda, const uint32_t *Bp,
                          float beta, float *C, ptrdiff_t ldc)
{
    fnn_bf16_drive(mode, tA, 0, M, N, K, alpha, A, lda, NULL, 0, Bp, beta, C, ldc);
}
