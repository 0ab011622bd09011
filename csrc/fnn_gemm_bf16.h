/* fnn_gemm_bf16.h — float32 products with bfloat16 inputs and float32 sums, for the
 * "mixed_bfloat16" policy (fastnn/mixed_precision.py).
 *
 *   C := alpha·op(A)·op(B) + beta·C     row-major, op = transpose if tA / tB,
 *   where every element of A and B is first rounded to bfloat16 (8 significant bits,
 *   round to nearest even) and the products and sums are float32.
 *
 * A product of two bfloat16 numbers is exact in float32 (8 + 8 significant bits),
 * so the only roundings are those of the inputs and of each float32 addition.
 * The operands are packed per call, block by block into buffers on the stack (48
 * KiB) — or op(B) once, whole, into the caller's buffer (fnn_bf16_pack_full: a
 * layer's W or Wᵀ, packed once per weight change, fnn_net.h) — into pairs along K (one 32-bit word holds the bfloat16 of elements k = 2p
 * and 2p + 1: the layout of AVX512-BF16's vdpbf16ps).
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

/* op(B) given packed whole: words of fnn_bf16_pack_full for a K×N op(B) */
ptrdiff_t fnn_bf16_packed_words(ptrdiff_t K, ptrdiff_t N);
/* Bp (64-byte aligned, fnn_bf16_packed_words(K, N) words) := op(B) packed as the
 * blocks below read it: panel after panel of NR columns, each ⌈K/2⌉ pairs deep (word
 * (p, n) at Bp[(n − n % NR)·⌈K/2⌉ + p·NR + n % NR]), so a K block of a panel is the
 * Bblk the per-call packing would make, bit for bit */
void fnn_bf16_pack_full(int mode, int tB, const float *B, ptrdiff_t ldb, ptrdiff_t K,
                        ptrdiff_t N, uint32_t *Bp);
/* fnn_gemm_bf16 with op(B) from fnn_bf16_pack_full (made in the same mode): the same
 * sums in the same order, so the same bits */
void fnn_gemm_bf16_packed(int mode, int tA, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                          float alpha, const float *A, ptrdiff_t lda, const uint32_t *Bp,
                          float beta, float *C, ptrdiff_t ldc);

/* Blocking, shared by fnn_gemm_bf16.c and fnn_gemm_bf16_avx512.c: K in blocks of
 * KC pairs; within one (when op(B) comes packed whole: and a group of NC columns),
 * rows in blocks of MC (their pairs packed into a 32 KiB stack buffer); within one,
 * columns in panels of NR (packed per call: the panel's pairs packed into another 16
 * KiB, so B is packed once per row block, ⌈M/MC⌉ times in all; packed whole: read in
 * place); then tiles of MR rows.  Each tile sums its KC pairs from zero in float32,
 * then C := alpha·sum + beta·C for the first K block and C := C + alpha·sum for the
 * next ones, so both kernels, and both ways of giving op(B), add in the same order.
 * No allocation (fastnn's kernels never allocate). */
#define FNN_BF16_NR 32  /* columns per panel: two 16-lane vectors */
#define FNN_BF16_MR 8   /* rows per tile */
#define FNN_BF16_MC 64  /* rows per block */
#define FNN_BF16_KC 128 /* pairs of K per block */
#define FNN_BF16_NC 256 /* columns per group when op(B) comes packed whole: a K block
                           of a group is KC·NC words = 128 KiB, kept in L2 */

/* Ablk := pairs p0 .. p0+pn of rows m0 .. m0+mn of op(A): word (m, p) at
 * Ablk[m·KC + p] (A), or Ablk[p·MC + m] (Aᵀ: pairs of stored rows, contiguous in m) */
void fnn_bf16_pack_a(int tA, const float *A, ptrdiff_t lda, ptrdiff_t K, ptrdiff_t m0,
                     ptrdiff_t mn, ptrdiff_t p0, ptrdiff_t pn, uint32_t *Ablk);
/* Bblk := pairs p0 .. p0+pn of columns n0 .. n0+NR of op(B): word (p, n) at
 * Bblk[p·NR + n], zero for columns >= N */
void fnn_bf16_pack_b(int tB, const float *B, ptrdiff_t ldb, ptrdiff_t K, ptrdiff_t N,
                     ptrdiff_t p0, ptrdiff_t pn, ptrdiff_t n0, uint32_t *Bblk);
void fnn_bf16_pack_a_avx512(int tA, const float *A, ptrdiff_t lda, ptrdiff_t K, ptrdiff_t m0,
                            ptrdiff_t mn, ptrdiff_t p0, ptrdiff_t pn, uint32_t *Ablk);
void fnn_bf16_pack_b_avx512(int tB, const float *B, ptrdiff_t ldb, ptrdiff_t K, ptrdiff_t N,
                            ptrdiff_t p0, ptrdiff_t pn, ptrdiff_t n0, uint32_t *Bblk);
/* C rows 0..mn, columns 0..nn (<= NR) += the block's product as described above */
void fnn_bf16_block_avx512(ptrdiff_t mn, ptrdiff_t nn, ptrdiff_t pn, float alpha,
                           const uint32_t *Ablk, ptrdiff_t ars, ptrdiff_t acs,
                           const uint32_t *Bblk, float beta, int first, float *C,
                           ptrdiff_t ldc);

#endif
