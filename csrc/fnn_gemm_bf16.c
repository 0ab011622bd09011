/* fnn_gemm_bf16.c — the bfloat16-input product of fnn_gemm_bf16.h: packing, the
 * portable emulation, and the choice of the AVX512-BF16 kernel
 * (fnn_gemm_bf16_avx512.c).  Compiled without any target: runs on every CPU.
 *
 * Blocking (both kernels): C is computed in blocks of NR = 32 columns; for each,
 * K in blocks of KC pairs; for each, tiles of MR rows.  Each tile sums its KC pairs
 * from zero in float32, then C := alpha·sum + beta·C for the first K block and
 * C := C + alpha·sum for the next ones, so the two kernels add in the same order. */
#include <stdlib.h>
#include "fnn_gemm_bf16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

int fnn_have_avx512_bf16(void)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    extern int fnn_have_avx512(void); /* F/VL/BW/DQ with the OS's zmm state (fnn_isa.h) */
    unsigned int eax, ebx, ecx, edx;
    if (!fnn_have_avx512()) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    return (eax >> 5) & 1u;
#else
    return 0;
#endif
}

static inline uint32_t fnn_bf16_pair(float even, float odd)
{
    return (uint32_t)fnn_bf16_round(even) | ((uint32_t)fnn_bf16_round(odd) << 16);
}

/* Aw[m·ars + p·acs] = (bf16 A(m, 2p), bf16 A(m, 2p+1)), P = ⌈K/2⌉, zero past K;
 * rows of pairs (ars = P, acs = 1) for A, pairs of rows (ars = 1, acs = M) for Aᵀ,
 * so that the packing reads and writes contiguously either way */
void fnn_bf16_pack_a(int tA, ptrdiff_t M, ptrdiff_t K, const float *A, ptrdiff_t lda,
                     uint32_t *Aw)
{
    const ptrdiff_t P = (K + 1) / 2, K2 = K / 2;
    if (!tA) {
        for (ptrdiff_t m = 0; m < M; m++) {
            const float *a = A + m * lda;
            uint32_t *w = Aw + m * P;
            for (ptrdiff_t p = 0; p < K2; p++) w[p] = fnn_bf16_pair(a[2 * p], a[2 * p + 1]);
            if (K & 1) w[K2] = fnn_bf16_pair(a[K - 1], 0.0f);
        }
        return;
    }
    for (ptrdiff_t p = 0; p < P; p++) { /* A(m, k) = A[k·lda + m]: rows of k contiguous in m */
        const float *e = A + 2 * p * lda, *o = A + (2 * p + 1) * lda;
        if (2 * p + 1 < K)
            for (ptrdiff_t m = 0; m < M; m++) Aw[p * M + m] = fnn_bf16_pair(e[m], o[m]);
        else
            for (ptrdiff_t m = 0; m < M; m++) Aw[p * M + m] = fnn_bf16_pair(e[m], 0.0f);
    }
}

/* Bp[FNN_BF16_BIDX(p, n, P)] = (bf16 B(2p, n), bf16 B(2p+1, n)), zero past K and
 * for N <= n < ldp (N rounded up to NR) */
void fnn_bf16_pack_b(int tB, ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t ldb,
                     uint32_t *Bp, ptrdiff_t ldp)
{
    const ptrdiff_t P = (K + 1) / 2;
    for (ptrdiff_t p = 0; p < P; p++) {
        const int odd = 2 * p + 1 < K;
        for (ptrdiff_t n = 0; n < ldp; n++) {
            uint32_t w = 0;
            if (n < N && !tB)
                w = fnn_bf16_pair(B[2 * p * ldb + n], odd ? B[(2 * p + 1) * ldb + n] : 0.0f);
            else if (n < N) /* B(k, n) = B[n·ldb + k] */
                w = fnn_bf16_pair(B[n * ldb + 2 * p], odd ? B[n * ldb + 2 * p + 1] : 0.0f);
            Bp[FNN_BF16_BIDX(p, n, P)] = w;
        }
    }
}

/* one 32-bit lane of vdpbf16ps: acc + a_odd·b_odd + a_even·b_even, in this order */
static inline float fnn_bf16_dot2(float acc, uint32_t a, uint32_t b)
{
    acc += fnn_bf16_to_f32(a >> 16) * fnn_bf16_to_f32(b >> 16);
    acc += fnn_bf16_to_f32(a & 0xffffu) * fnn_bf16_to_f32(b & 0xffffu);
    return acc;
}

static inline void fnn_bf16_store(float *c, float sum, float alpha, float beta, int first)
{
    if (!first) *c += alpha * sum;
    else if (beta == 0.0f) *c = alpha * sum;
    else *c = alpha * sum + beta * *c;
}

static void fnn_gemm_bf16_packed_emulated(ptrdiff_t M, ptrdiff_t N, ptrdiff_t P, float alpha,
                                          const uint32_t *Aw, ptrdiff_t ars, ptrdiff_t acs,
                                          const uint32_t *Bp,
                                          ptrdiff_t ldp, float beta, float *C, ptrdiff_t ldc)
{
    for (ptrdiff_t n0 = 0; n0 < N; n0 += FNN_BF16_NR) {
        const ptrdiff_t nn = N - n0 < FNN_BF16_NR ? N - n0 : FNN_BF16_NR;
        for (ptrdiff_t p0 = 0; p0 < P; p0 += FNN_BF16_KC) {
            const ptrdiff_t p1 = P - p0 < FNN_BF16_KC ? P : p0 + FNN_BF16_KC;
            for (ptrdiff_t m = 0; m < M; m++) {
                float acc[FNN_BF16_NR] = {0};
                for (ptrdiff_t p = p0; p < p1; p++) {
                    const uint32_t a = Aw[m * ars + p * acs];
                    const uint32_t *b = Bp + FNN_BF16_BIDX(p, n0, P);
                    for (int j = 0; j < FNN_BF16_NR; j++) acc[j] = fnn_bf16_dot2(acc[j], a, b[j]);
                }
                for (ptrdiff_t j = 0; j < nn; j++)
                    fnn_bf16_store(C + m * ldc + n0 + j, acc[j], alpha, beta, p0 == 0);
            }
        }
    }
}

/* Without the packed copies (allocation failed): the same sums, element by element. */
static void fnn_gemm_bf16_direct(int tA, int tB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                                 float alpha, const float *A, ptrdiff_t lda, const float *B,
                                 ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    const ptrdiff_t P = (K + 1) / 2;
#define FNN_AT(m, k) ((k) < K ? (tA ? A[(k) * lda + (m)] : A[(m) * lda + (k)]) : 0.0f)
#define FNN_BT(k, n) ((k) < K ? (tB ? B[(n) * ldb + (k)] : B[(k) * ldb + (n)]) : 0.0f)
    for (ptrdiff_t m = 0; m < M; m++)
        for (ptrdiff_t n = 0; n < N; n++)
            for (ptrdiff_t p0 = 0; p0 < P; p0 += FNN_BF16_KC) {
                const ptrdiff_t p1 = P - p0 < FNN_BF16_KC ? P : p0 + FNN_BF16_KC;
                float acc = 0;
                for (ptrdiff_t p = p0; p < p1; p++)
                    acc = fnn_bf16_dot2(acc, fnn_bf16_pair(FNN_AT(m, 2 * p), FNN_AT(m, 2 * p + 1)),
                                        fnn_bf16_pair(FNN_BT(2 * p, n), FNN_BT(2 * p + 1, n)));
                fnn_bf16_store(C + m * ldc + n, acc, alpha, beta, p0 == 0);
            }
#undef FNN_AT
#undef FNN_BT
}

void fnn_gemm_bf16(int mode, int tA, int tB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                   float alpha, const float *A, ptrdiff_t lda, const float *B,
                   ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    FNN_ASSERT(M >= 0 && N >= 0 && K >= 0);
    FNN_ASSERT(mode == FNN_BF16_EMULATED || mode == FNN_BF16_AVX512);
    if (M == 0 || N == 0) return;
    if (K == 0) { /* C := beta·C (no products): one "first block" with a zero sum */
        for (ptrdiff_t m = 0; m < M; m++)
            for (ptrdiff_t n = 0; n < N; n++) fnn_bf16_store(C + m * ldc + n, 0.0f, alpha, beta, 1);
        return;
    }
    const ptrdiff_t P = (K + 1) / 2;
    const ptrdiff_t ldp = (N + FNN_BF16_NR - 1) / FNN_BF16_NR * FNN_BF16_NR;
    const size_t words = (size_t)(M * P) + (size_t)(P * ldp);
    uint32_t *buf = aligned_alloc(64, (words * 4 + 63) / 64 * 64);
    if (!buf) {
        fnn_gemm_bf16_direct(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    uint32_t *Bp = buf, *Aw = buf + P * ldp; /* Bp first: 64-byte aligned rows */
    const ptrdiff_t ars = tA ? 1 : P, acs = tA ? M : 1;
    if (mode == FNN_BF16_AVX512) {
        fnn_bf16_pack_b_avx512(tB, K, N, B, ldb, Bp, ldp);
        fnn_bf16_pack_a_avx512(tA, M, K, A, lda, Aw);
        fnn_gemm_bf16_packed_avx512(M, N, P, alpha, Aw, ars, acs, Bp, ldp, beta, C, ldc);
    } else {
        fnn_bf16_pack_b(tB, K, N, B, ldb, Bp, ldp);
        fnn_bf16_pack_a(tA, M, K, A, lda, Aw);
        fnn_gemm_bf16_packed_emulated(M, N, P, alpha, Aw, ars, acs, Bp, ldp, beta, C, ldc);
    }
    free(buf);
}
