/* fnn_quant.c — int8 dense inference (fnn_quant.h): packing, input quantization and
 * the portable kernel; the VNNI kernel is in fnn_quant_avx512.c.  No target flags. */
#include <math.h>
#include <stdatomic.h>
#include "fnn_quant.h"

#include "fnn_isa.h"
#include "fnn_pool.h"

#define FNN_Q_NR 32

int fnn_have_avx512_vnni(void) { return fnn_have_avx512_feature(0, 2, 11); }

ptrdiff_t fnn_int8_packed_words(ptrdiff_t K, ptrdiff_t N)
{
    return (K + 3) / 4 * ((N + FNN_Q_NR - 1) / FNN_Q_NR * FNN_Q_NR);
}

ptrdiff_t fnn_int8_row_bytes(ptrdiff_t K) { return (K + 3) / 4 * 4; }

/* the word of quad q, column n: panels of 32 columns, each Q quads deep */
#define FNN_Q_IDX(q, n, Q) (((n) / FNN_Q_NR) * FNN_Q_NR * (Q) + (q) * FNN_Q_NR + (n) % FNN_Q_NR)

void fnn_int8_pack(ptrdiff_t K, ptrdiff_t N, const int8_t *wq, int32_t *Wp, int32_t *wsum)
{
    const ptrdiff_t Q = (K + 3) / 4, Np = (N + FNN_Q_NR - 1) / FNN_Q_NR * FNN_Q_NR;
    for (ptrdiff_t n = 0; n < Np; n++) {
        int32_t s = 0;
        for (ptrdiff_t q = 0; q < Q; q++) {
            uint32_t w = 0;
            for (int t = 0; t < 4; t++) {
                const ptrdiff_t k = 4 * q + t;
                const int8_t v = (n < N && k < K) ? wq[k * N + n] : 0;
                s += v;
                w |= (uint32_t)(uint8_t)v << (8 * t);
            }
            Wp[FNN_Q_IDX(q, n, Q)] = (int32_t)w;
        }
        if (n < N) wsum[n] = s;
    }
}

int fnn_int8_range(const float *X, ptrdiff_t n, float *range)
{
    float lo = 0.0f, hi = 0.0f;
    uint32_t bad = 0; /* exponent bits all ones: NaN or ±inf */
    for (ptrdiff_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, X + i, 4);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
        lo = X[i] < lo ? X[i] : lo;
        hi = X[i] > hi ? X[i] : hi;
    }
    range[0] = lo;
    range[1] = hi;
    return bad != 0;
}

int fnn_int8_quantize_rows(int mode, ptrdiff_t B, ptrdiff_t K, const float *X, uint8_t *Xq,
                           float *xs, int *zp, const float *range)
{
    const ptrdiff_t row = fnn_int8_row_bytes(K);
    float lo = 0.0f, hi = 0.0f;
    if (range) { /* min and max are exact in any order: the same as either pass below */
        lo = range[0];
        hi = range[1];
    } else if (mode == FNN_INT8_VNNI) {
        if (fnn_int8_quantize_rows_avx512(B, K, X, Xq, 0.0f, 0, &lo, &hi, 0)) return 1;
    } else {
        float r[2];
        if (fnn_int8_range(X, B * K, r)) return 1;
        lo = r[0];
        hi = r[1];
    }
    float scale = (hi - lo) / 255.0f;
    int z = 0;
    if (scale > 0.0f) {
        float zf = nearbyintf(0.0f - lo / scale);
        z = zf < 0.0f ? 0 : zf > 255.0f ? 255 : (int)zf;
    } else {
        scale = 1.0f; /* all zeros: every xq = 0 = zp */
    }
    *xs = scale;
    *zp = z;
    if (mode == FNN_INT8_VNNI) {
        fnn_int8_quantize_rows_avx512(B, K, X, Xq, scale, z, NULL, NULL, 1);
        return 0;
    }
    for (ptrdiff_t r = 0; r < B; r++) {
        uint8_t *q = Xq + r * row;
        const float *x = X + r * K;
        for (ptrdiff_t k = 0; k < K; k++) {
            float v = nearbyintf(x[k] / scale) + (float)z;
            q[k] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
        }
        for (ptrdiff_t k = K; k < row; k++) q[k] = (uint8_t)z; /* (z − zp)·0 = 0 either way */
    }
    return 0;
}

void fnn_int8_dense(int mode, ptrdiff_t B, ptrdiff_t K, ptrdiff_t N, const uint8_t *Xq,
                    float xs, int zp, const int32_t *Wp, const int32_t *wsum,
                    const float *ws, const float *b, float *Z)
{
    FNN_ASSERT(K >= 1 && K < 65536 && N >= 1 && B >= 0);
    if (mode == FNN_INT8_VNNI) {
        fnn_int8_dense_vnni(B, K, N, Xq, xs, zp, Wp, wsum, ws, b, Z, NULL, 0, NULL);
        return;
    }
    const ptrdiff_t Q = (K + 3) / 4, row = fnn_int8_row_bytes(K);
    for (ptrdiff_t i = 0; i < B; i++) {
        const uint8_t *x = Xq + i * row;
        for (ptrdiff_t n = 0; n < N; n++) {
            int32_t acc = 0;
            for (ptrdiff_t q = 0; q < Q; q++) {
                const uint32_t w = (uint32_t)Wp[FNN_Q_IDX(q, n, Q)];
                for (int t = 0; t < 4; t++)
                    acc += (int32_t)x[4 * q + t] * (int32_t)(int8_t)(uint8_t)(w >> (8 * t));
            }
            const float scale = xs * ws[n];
            const float z = (float)(acc - zp * wsum[n]) * scale;
            Z[i * N + n] = b ? z + b[n] : z;
        }
    }
}

/* ---- the network, block by block ---------------------------------------------------- */
static ptrdiff_t fnn_q_round64(ptrdiff_t bytes) { return (bytes + 63) / 64 * 64; }

ptrdiff_t fnn_int8_scratch_bytes(int L, const fnn_int8_layer *layers)
{
    ptrdiff_t rowb = 0, width = 0;
    for (int l = 0; l < L; l++) {
        const ptrdiff_t r = fnn_int8_row_bytes(layers[l].K);
        rowb = r > rowb ? r : rowb;
        width = layers[l].N > width ? layers[l].N : width;
    }
    return fnn_q_round64(FNN_INT8_BLOCK * rowb)
           + 2 * fnn_q_round64(FNN_INT8_BLOCK * width * (ptrdiff_t)sizeof(float));
}

typedef struct {
    int mode, L;
    fnn_int8_act act;
    const fnn_int8_layer *layers;
    ptrdiff_t n, per_thread, width;
    const float *X;
    float *Y;
    unsigned char *scratch;  /* per_thread bytes for each thread */
    _Atomic int *nonfinite;  /* |= 1: a block's input holds a NaN or inf; |= 2: a hidden
                                layer's output does (an overflow) */
} fnn_q_run;

/* block `item` through every layer: quantize its input (one scale for the block),
 * the integer product with the float epilogue, the activation */
static void fnn_q_block(void *vctx, ptrdiff_t item, int thread)
{
    const fnn_q_run *c = (const fnn_q_run *)vctx;
    const ptrdiff_t start = item * FNN_INT8_BLOCK;
    const ptrdiff_t B = c->n - start < FNN_INT8_BLOCK ? c->n - start : FNN_INT8_BLOCK;
    unsigned char *buf = c->scratch + thread * c->per_thread;
    uint8_t *xq = buf;
    float *z0 = (float *)(buf + c->per_thread
                          - 2 * fnn_q_round64(FNN_INT8_BLOCK * c->width * (ptrdiff_t)sizeof(float)));
    float *z1 = z0 + fnn_q_round64(FNN_INT8_BLOCK * c->width * (ptrdiff_t)sizeof(float)) / 4;
    const float *in = c->X + start * c->layers[0].K;
    float range[2]; /* the next layer's input range, when the VNNI kernel took it */
    int ranged = 0;
    for (int l = 0; l < c->L; l++) {
        const fnn_int8_layer *ly = &c->layers[l];
        const int last = l == c->L - 1;
        float *z = last ? c->Y + start * ly->N : (l & 1 ? z1 : z0);
        float xs;
        int zp;
        if (fnn_int8_quantize_rows(c->mode, B, ly->K, in, xq, &xs, &zp, ranged ? range : NULL)) {
            /* 1: the input; 2: a hidden layer's output (an overflow) */
            atomic_fetch_or_explicit(c->nonfinite, l == 0 ? 1 : 2, memory_order_relaxed);
            return;
        }
        if (c->mode == FNN_INT8_VNNI) { /* activation and range fused into the strips */
            if (fnn_int8_dense_vnni(B, ly->K, ly->N, xq, xs, zp, ly->Wp, ly->wsum, ly->ws,
                                    ly->b, z, c->act, ly->act, last ? NULL : range)
                && !last) {
                atomic_fetch_or_explicit(c->nonfinite, 2, memory_order_relaxed);
                return;
            }
            ranged = !last;
        } else {
            fnn_int8_dense(c->mode, B, ly->K, ly->N, xq, xs, zp, ly->Wp, ly->wsum, ly->ws,
                           ly->b, z);
            c->act(ly->act, B, ly->N, z, z);
        }
        in = z;
    }
}

int fnn_int8_network(int mode, fnn_int8_act act, int L, const fnn_int8_layer *layers,
                     ptrdiff_t n, const float *X, float *Y, unsigned char *scratch,
                     struct fnn_pool *pool, int threads)
{
    _Atomic int nonfinite = 0;
    ptrdiff_t width = 0;
    for (int l = 0; l < L; l++) width = layers[l].N > width ? layers[l].N : width;
    fnn_q_run c = {mode, L, act, layers, n, fnn_int8_scratch_bytes(L, layers), width, X, Y,
                   scratch, &nonfinite};
    const ptrdiff_t blocks = (n + FNN_INT8_BLOCK - 1) / FNN_INT8_BLOCK;
    fnn_pool_run_w(pool, threads < (int)blocks ? threads : (int)blocks, fnn_q_block, &c,
                   blocks);
    return atomic_load(&nonfinite);
}
