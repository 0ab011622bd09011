/* fnn_gemm_bf16.h — float32 products with bfloat16 inputs and float32 sums, for the
 * "mixed_bfloat16" policy (fastnn/mixed_precision.py).
 *
 *   C := alpha·op(A)·op(B) + beta·C     row-major, op = transpose if tA / tB,
 *   where every element of A and B is first rounded to bfloat16 (8 significant bits,
 *   round to nearest even) and the products and sums are float32.
 *
 * A product of two bfloat16 numbers is exact in float32 (8 + 8 significant bits),
 * so the only roundings are those of the inputs and of each float32 addition.
 * The operands are packed per call into pairs along K (one 32-bit word holds the
 * bfloat16 of elements k = 2p and 2p + 1: the layout of AVX512-BF16's vdpbf16ps);
 * the packed copies are the only memory this kernel allocates (freed before it
 * returns; on allocation failure it falls back to the packing-free emulation).
 *
 * Modes (fnn_blas.bf16): FNN_BF16_EMULATED runs portable C that follows
 * vdpbf16ps's definition (per 32-bit lane: acc += a_odd·b_odd, then acc +=
 * a_even·b_even, each a float32 addition); FNN_BF16_AVX512 runs vdpbf16ps, only
 * where fnn_have_avx512_bf16() returns 1.  The two agree up to the hardware's
 * handling of subnormal numbers (vdpbf16ps treats them as zero) and its internal
 * order of the pair's two additions; tests/test_bf16.py measures the difference.
 *
 * Preconditions: M, N, K >= 0 and < 2^31; pointers valid for the shapes; C does not
 * alias A or B. */
#ifndef FNN_GEMM_BF16_H
#define FNN_GEMM_BF16_H
#include "fnn_common.h"

enum { FNN_BF16_OFF = 0, FNN_BF16_EMULATED = 1, FNN_BF16_AVX512 = 2 };

/* bfloat16 bits of x, rounded to nearest even; a NaN stays a (quiet) NaN; a
 * subnormal x gives a zero of its sign (vdpbf16ps treats subnormal inputs as zero,
 * so the emulation does too) */
static inline uint16_t fnn_bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float fnn_bf16_to_f32(uint32_t bits16)
{
    uint32_t u = bits16 << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* 1 if this CPU and OS run AVX-512 F/BW/VL with AVX512_BF16 (CPUID.(7,1):EAX[5]) */
int fnn_have_avx512_bf16(void);

/* mode: FNN_BF16_EMULATED or FNN_BF16_AVX512 (the latter only where supported) */
void fnn_gemm_bf16(int mode, int tA, int tB, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                   float alpha, const float *A, ptrdiff_t lda, const float *B,
                   ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc);

/* the packing and the micro-kernels, shared by fnn_gemm_bf16.c and
 * fnn_gemm_bf16_avx512.c (see the comment there) */
#define FNN_BF16_NR 32  /* columns of C per tile: two 16-lane vectors */
#define FNN_BF16_MR 8   /* rows of C per tile */
#define FNN_BF16_KC 128 /* pairs of K per block (a 32-column block of B: 16 KiB) */
/* B is packed in panels of NR columns, each P pairs deep and contiguous (a panel's
 * K block is 16 KiB of consecutive memory, which stays in L1; rows of a plain
 * row-major copy lie a multiple of 1 KiB apart and compete for the same sets):
 * the word of pair p, column n (N rounded up to NR, zeros beyond N) is at */
#define FNN_BF16_BIDX(p, n, P) \
    (((n) / FNN_BF16_NR) * FNN_BF16_NR * (P) + (p) * FNN_BF16_NR + (n) % FNN_BF16_NR)
void fnn_bf16_pack_a(int tA, ptrdiff_t M, ptrdiff_t K, const float *A, ptrdiff_t lda,
                     uint32_t *Aw);
void fnn_bf16_pack_b(int tB, ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t ldb,
                     uint32_t *Bp, ptrdiff_t ldp);
void fnn_bf16_pack_a_avx512(int tA, ptrdiff_t M, ptrdiff_t K, const float *A, ptrdiff_t lda,
                            uint32_t *Aw);
void fnn_bf16_pack_b_avx512(int tB, ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t ldb,
                            uint32_t *Bp, ptrdiff_t ldp);
void fnn_gemm_bf16_packed_avx512(ptrdiff_t M, ptrdiff_t N, ptrdiff_t P, float alpha,
                                 const uint32_t *Aw, ptrdiff_t ars, ptrdiff_t acs,
                                 const uint32_t *Bp, ptrdiff_t ldp, float beta, float *C,
                                 ptrdiff_t ldc);

#endif
