/* A prototype of an own single-precision GEMM for bench_gemm.py (issue 17, item 2,
 * point 6): how far a plain packed AVX2 micro-kernel is from the BLAS libraries on
 * fastnn's shapes.  Benchmark only, one thread; nothing in csrc/ uses it.
 *
 *     C(M×N) := op(A)·op(B) + beta·C       row-major, op = identity or transpose
 *
 * Blocking (the usual three loops around a register tile): for each block of KC
 * depths, op(B)'s KC×N panel is packed into 16-column strips (zero-padded), then for
 * each block of MC rows op(A)'s MC×KC block is packed into 6-row strips; the 6×16
 * micro-kernel keeps its tile of C in 12 ymm registers over the KC depths and adds
 * it to C at the end (beta applied on the first depth block only, so a forward
 * product whose C holds the bias gets it added in the tile store).
 * Compiled with -mavx2 -mfma; the caller checks the CPU has them.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { TILE_M = 6, TILE_N = 16, BLOCK_K = 256, BLOCK_M = 96 };

static float *packed_a, *packed_b;
static size_t packed_b_floats;

/* op(A)[i][k] and op(B)[k][j] of the stored, row-major operands */
#define OP_A(i, k) (tA ? A[(k) * lda + (i)] : A[(i) * lda + (k)])
#define OP_B(k, j) (tB ? B[(j) * ldb + (k)] : B[(k) * ldb + (j)])

/* 6×16 tile: acc = Σ_k a[k][0..5] ⊗ b[k][0..15], then C := first ? acc + beta·C : acc + C */
static void tile_6x16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                      int64_t rows, int64_t cols, float beta)
{
    /* the loops over r are unrolled so that the 12 accumulators live in registers */
    __m256 acc[TILE_M][2];
#pragma GCC unroll 6
    for (int r = 0; r < TILE_M; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(b + k * TILE_N), b1 = _mm256_load_ps(b + k * TILE_N + 8);
#pragma GCC unroll 6
        for (int r = 0; r < TILE_M; r++) {
            const __m256 ar = _mm256_broadcast_ss(a + k * TILE_M + r);
            acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
        }
    }
    /* Through a local tile, every access to acc has a constant index after unrolling
     * (else GCC keeps acc in memory and stores it on every k: 3-4x slower). */
    float tmp[TILE_M][TILE_N] __attribute__((aligned(32)));
#pragma GCC unroll 6
    for (int r = 0; r < TILE_M; r++) {
        _mm256_store_ps(tmp[r], acc[r][0]);
        _mm256_store_ps(tmp[r] + 8, acc[r][1]);
    }
    if (rows == TILE_M && cols == TILE_N) {
        const __m256 vb = _mm256_set1_ps(beta);
        for (int r = 0; r < TILE_M; r++) {
            float *cr = c + r * ldc;
            __m256 c0 = _mm256_load_ps(tmp[r]), c1 = _mm256_load_ps(tmp[r] + 8);
            if (beta != 0.0f) {  /* beta = 0: C is not read (it may hold anything) */
                c0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), c0);
                c1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), c1);
            }
            _mm256_storeu_ps(cr, c0);
            _mm256_storeu_ps(cr + 8, c1);
        }
        return;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++)
            c[r * ldc + j] = tmp[r][j] + (beta != 0.0f ? beta * c[r * ldc + j] : 0.0f);
}

int gemm_own_avx2(int tA, int tB, int64_t M, int64_t N, int64_t K, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    const int64_t n_strips = (N + TILE_N - 1) / TILE_N;
    const size_t need_b = (size_t)(n_strips * TILE_N * BLOCK_K);
    if (need_b > packed_b_floats) {
        free(packed_b);
        packed_b = aligned_alloc(64, need_b * sizeof(float));
        packed_b_floats = packed_b ? need_b : 0;
    }
    if (!packed_a) packed_a = aligned_alloc(64, (size_t)BLOCK_M * BLOCK_K * sizeof(float));
    if (!packed_a || !packed_b) return 1;
    if (K == 0) {  /* C := beta·C */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta ? beta * C[i * ldc + j] : 0;
        return 0;
    }
    for (int64_t k0 = 0; k0 < K; k0 += BLOCK_K) {
        const int64_t kc = K - k0 < BLOCK_K ? K - k0 : BLOCK_K;
        const float beta_here = k0 == 0 ? beta : 1.0f;
        /* pack op(B)[k0:k0+kc][:] into strips of 16 columns, k-major within a strip */
        for (int64_t s = 0; s < n_strips; s++) {
            float *dst = packed_b + s * TILE_N * kc;
            for (int64_t k = 0; k < kc; k++)
                for (int64_t j = 0; j < TILE_N; j++) {
                    const int64_t col = s * TILE_N + j;
                    dst[k * TILE_N + j] = col < N ? OP_B(k0 + k, col) : 0.0f;
                }
        }
        for (int64_t i0 = 0; i0 < M; i0 += BLOCK_M) {
            const int64_t mc = M - i0 < BLOCK_M ? M - i0 : BLOCK_M;
            const int64_t m_strips = (mc + TILE_M - 1) / TILE_M;
            /* pack op(A)[i0:i0+mc][k0:k0+kc] into strips of 6 rows, k-major */
            for (int64_t s = 0; s < m_strips; s++) {
                float *dst = packed_a + s * TILE_M * kc;
                for (int64_t k = 0; k < kc; k++)
                    for (int64_t r = 0; r < TILE_M; r++) {
                        const int64_t row = i0 + s * TILE_M + r;
                        dst[k * TILE_M + r] = row < M ? OP_A(row, k0 + k) : 0.0f;
                    }
            }
            for (int64_t sb = 0; sb < n_strips; sb++) {
                const int64_t j = sb * TILE_N, cols = N - j < TILE_N ? N - j : TILE_N;
                for (int64_t sa = 0; sa < m_strips; sa++) {
                    const int64_t i = i0 + sa * TILE_M, rows = M - i < TILE_M ? M - i : TILE_M;
                    tile_6x16(kc, packed_a + sa * TILE_M * kc, packed_b + sb * TILE_N * kc,
                              C + i * ldc + j, ldc, rows, cols, beta_here);
                }
            }
        }
    }
    return 0;
}
