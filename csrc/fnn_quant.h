/* fnn_quant.h — int8 inference of a dense layer, as ONNX Runtime's dynamic
 * quantization computes it (quantize_dynamic: DynamicQuantizeLinear, MatMulInteger,
 * then the float scale and bias):
 *
 *   weights   wq[k][j] = round(W[k][j] / ws[j]) in [-127, 127], ws[j] = max_k |W[k][j]| / 127
 *             (symmetric, per output column; fastnn/quantization.py makes them)
 *   inputs    per block of rows: lo = min(0, min X), hi = max(0, max X),
 *             xs = (hi − lo) / 255, zp = round(−lo / xs) in [0, 255],
 *             xq = clamp(round(x / xs) + zp, 0, 255)        (round: to nearest even)
 *   output    Z[i][j] = (float)(Σ_k (xq[i][k] − zp)·wq[k][j]) · (xs·ws[j]) + b[j]
 *
 * The sum is exact in int32 (|terms| <= 255·127, K < 2^16 here), so the VNNI
 * kernel (vpdpbusd, fnn_quant_avx512.c) and the portable loops give the same bits.
 * Weights are packed once per model into quads along K (a 32-bit word holds wq
 * of k = 4q .. 4q+3), in panels of 32 columns like fnn_gemm_bf16.h.
 * Preconditions: 1 <= K < 65536, N >= 1, B >= 0; buffers as sized below. */
#ifndef FNN_QUANT_H
#define FNN_QUANT_H
#include "fnn_common.h"

enum { FNN_INT8_PORTABLE = 1, FNN_INT8_VNNI = 2 };

/* 1 if this CPU and OS run AVX-512 F/BW/VL with AVX512_VNNI (CPUID.(7,0):ECX[11]) */
int fnn_have_avx512_vnni(void);

/* int32 words of the packed weights: ⌈K/4⌉ · (N rounded up to 32) */
ptrdiff_t fnn_int8_packed_words(ptrdiff_t K, ptrdiff_t N);
/* bytes per quantized input row: K rounded up to 4 (zeros beyond K) */
ptrdiff_t fnn_int8_row_bytes(ptrdiff_t K);

/* Wp := wq (K×N row-major int8) packed; wsum[j] := Σ_k wq[k][j] */
void fnn_int8_pack(ptrdiff_t K, ptrdiff_t N, const int8_t *wq, int32_t *Wp, int32_t *wsum);

/* Xq (B rows of fnn_int8_row_bytes(K)) := X (B×K float32) quantized as above;
 * *xs, *zp := the block's scale and zero point.  All-zero X: xs = 1, zp = 0.
 * Returns 1, and sets nothing, when X holds a NaN or an infinity (found by the pass
 * that takes the range, so checking the input costs no pass of its own); else 0. */
int fnn_int8_quantize_rows(int mode, ptrdiff_t B, ptrdiff_t K, const float *X, uint8_t *Xq,
                           float *xs, int *zp, const float *range);
/* range[0], range[1] := min(0, X), max(0, X) over n floats (exact in any order);
 * returns 1 when X holds a NaN or an infinity.  Given to fnn_int8_quantize_rows as
 * `range` (non-NULL), it skips that pass: the block is known finite, its range given. */
int fnn_int8_range(const float *X, ptrdiff_t n, float *range);
/* its vector loops (the same divisions and roundings), fnn_quant_avx512.c; pass 0
 * returns 1 when X holds a NaN or an infinity */
int fnn_int8_quantize_rows_avx512(ptrdiff_t B, ptrdiff_t K, const float *X, uint8_t *Xq,
                                  float scale, int zp, float *lo, float *hi, int pass);

/* A = activation `id` of Z (B×n), in place allowed (fnn_kernels.act_forward_f32) */
typedef void (*fnn_int8_act)(int id, ptrdiff_t B, ptrdiff_t n, const float *Z, float *A);

/* Z (B×N) := the output above (b may be NULL) */
void fnn_int8_dense(int mode, ptrdiff_t B, ptrdiff_t K, ptrdiff_t N, const uint8_t *Xq,
                    float xs, int zp, const int32_t *Wp, const int32_t *wsum,
                    const float *ws, const float *b, float *Z);
/* The VNNI kernel, in strips of 6 rows; act non-NULL: each strip then goes through
 * activation act_id in place and, range non-NULL, its min(0, ·), max(0, ·) into range
 * (the next layer's, as fnn_int8_range gives), returning 1 if a NaN or inf came out */
int fnn_int8_dense_vnni(ptrdiff_t B, ptrdiff_t K, ptrdiff_t N, const uint8_t *Xq, float xs,
                        int zp, const int32_t *Wp, const int32_t *wsum, const float *ws,
                        const float *b, float *Z, fnn_int8_act act, int act_id, float *range);

/* One layer of an int8 network: K inputs, N outputs, activation id `act`, packed
 * weights, column sums, per-column weight scales, bias (NULL: none). */
typedef struct {
    ptrdiff_t K, N;
    int act;
    const int32_t *Wp, *wsum;
    const float *ws, *b;
} fnn_int8_layer;


/* Rows per block: each block of an input has its own scale and zero point per layer
 * (ONNX Runtime's per-batch quantization for batches of up to this many rows). */
enum { FNN_INT8_BLOCK = 1024 };

/* Scratch bytes one thread needs for fnn_int8_network (64-byte aligned parts). */
ptrdiff_t fnn_int8_scratch_bytes(int L, const fnn_int8_layer *layers);

struct fnn_pool;
/* Y (n×N of the last layer) := the network on X (n×K of the first), block by block,
 * the blocks shared by `threads` threads of `pool` (NULL or threads < 2: the caller
 * alone); scratch: 64-byte aligned, threads × fnn_int8_scratch_bytes bytes.  The
 * blocks depend on n only, so Y does not depend on the thread count.  Returns 0, or
 * (Y then not set) 1 when X holds a NaN or an infinity, | 2 when a hidden layer's
 * output does (an overflow inside the network). */
int fnn_int8_network(int mode, fnn_int8_act act, int L, const fnn_int8_layer *layers,
                      ptrdiff_t n, const float *X, float *Y, unsigned char *scratch,
                      struct fnn_pool *pool, int threads);

#endif
