/* fnn_dense.c — dense forward and backward (see fnn_dense.h for shapes).
 *
 * Small products run as direct loops whose innermost loop walks a contiguous
 * row of W or δ (so the compiler vectorises it); products of at least
 * blas->small_gemm multiply-adds go to BLAS (gemm, or gemv for one sample).
 * Under mixed_bfloat16 (float32 with blas->bf16 set) every product of at least
 * small_gemm multiply-adds goes to fnn_gemm_rm's bfloat16 kernel, one sample and
 * n_in <= 2 included; smaller ones stay float32 loops (more exact, and cheaper).
 * Measured exceptions (benchmarks/bench_dense_threshold.py): with n_in <= 2
 * the loops win at every size, and so does the backward pass of one sample. */
#ifndef FNN_SPLIT_GEMM_MACS
/* A product this big splits (fnn_blas.split) into blocks of at least this many
 * columns of the result, at most FNN_SPLIT_GEMM_BLOCKS blocks: each block packs its
 * slice of op(B) (the weights, in a forward step: packed once per step in all, not
 * once per chunk of rows, which for a wide net means once more from memory per
 * chunk) and all of op(A) (the batch's activations, a few MB that stay in cache:
 * M·K values per block against its M·K·N/blocks multiply-adds). */
#define FNN_SPLIT_GEMM_MACS ((double)(1 << 24))
#define FNN_SPLIT_GEMM_COLS 256
#define FNN_SPLIT_GEMM_BLOCKS 8
#include "fnn_pool.h"
#endif
#ifndef FNN_T
#include <string.h>
#include "fnn_dense.h"
#include "fnn_gemm_bf16.h"
#include "fnn_fastmath.h" /* FNN_VLEN: float lanes of one vector register at this level */
#define FNN_TEMPLATE_FILE "fnn_dense.c"
#include "fnn_instantiate.h"
#else

/* ---- small products without BLAS: C := β·C + A·P, register-blocked ------------
 * C is M×N (row stride ldc), A is M×K read as A[r·a_rs + k·a_cs] (so Xᵀ is A with
 * the strides swapped), P is K×N with rows of p_rs elements, p_rs a multiple of the
 * vector length and P readable up to the padded row end.  Each output element is
 * c = (β ? c : 0) + a₀p₀ + a₁p₁ + … in this order, one multiply and one add per
 * term (no FMA, as everywhere: every ISA level gives the same bits).  A block of
 * RB rows × CV vectors of columns stays in registers over the whole K loop, so the
 * sums are chains in registers, not loads and stores of C per term. */
#define FNN_VN ((ptrdiff_t)(FNN_VLEN * 4 / (ptrdiff_t)sizeof(FNN_T))) /* lanes */
/* elements of the padded copy a small product may make on the stack: 16 KiB, well
 * inside the smallest thread stacks in use (musl: 128 KiB) */
#define FNN_SMALL_PACK ((ptrdiff_t)(16384 / sizeof(FNN_T)))
typedef FNN_T FNN_(vec) __attribute__((vector_size(FNN_VLEN * 4)));

static inline __attribute__((always_inline)) void FNN_(small_block)(
    int rb, int cv, ptrdiff_t K, const FNN_T *A, ptrdiff_t a_rs, ptrdiff_t a_cs,
    const FNN_T *P, ptrdiff_t p_rs, FNN_T *C, ptrdiff_t ldc, ptrdiff_t valid, int beta)
{
    /* valid: columns of C in this block (< cv·FNN_VN only for the last block) */
    FNN_(vec) acc[8][2];
    for (int r = 0; r < rb; r++)
        for (int v = 0; v < cv; v++) {
            FNN_(vec) t = {0};
            ptrdiff_t n = valid - v * FNN_VN;
            n = n > FNN_VN ? FNN_VN : n;
            /* a whole vector: a fixed-size copy the compiler turns into one load
               (a variable size is a call into libc) */
            if (beta && n == FNN_VN) memcpy(&t, C + r * ldc + v * FNN_VN, sizeof t);
            else if (beta && n > 0) memcpy(&t, C + r * ldc + v * FNN_VN, (size_t)n * sizeof(FNN_T));
            acc[r][v] = t;
        }
    for (ptrdiff_t k = 0; k < K; k++) {
        FNN_(vec) p[2];
        for (int v = 0; v < cv; v++) memcpy(&p[v], P + k * p_rs + v * FNN_VN, sizeof p[v]);
        for (int r = 0; r < rb; r++) {
            const FNN_T a = A[r * a_rs + k * a_cs];
            for (int v = 0; v < cv; v++) acc[r][v] = acc[r][v] + a * p[v];
        }
    }
    for (int r = 0; r < rb; r++)
        for (int v = 0; v < cv; v++) {
            ptrdiff_t n = valid - v * FNN_VN;
            n = n > FNN_VN ? FNN_VN : n;
            if (n == FNN_VN) memcpy(C + r * ldc + v * FNN_VN, &acc[r][v], sizeof acc[r][v]);
            else if (n > 0) memcpy(C + r * ldc + v * FNN_VN, &acc[r][v], (size_t)n * sizeof(FNN_T));
        }
}

static void FNN_(small_product)(ptrdiff_t M, ptrdiff_t K, ptrdiff_t N, const FNN_T *A,
                                ptrdiff_t a_rs, ptrdiff_t a_cs, const FNN_T *P,
                                ptrdiff_t p_rs, FNN_T *C, ptrdiff_t ldc, int beta)
{
    ptrdiff_t j = 0;
    /* two vectors of columns at a time (the second may be partial) */
    for (; j + FNN_VN < N; j += 2 * FNN_VN) {
        const ptrdiff_t valid = N - j < 2 * FNN_VN ? N - j : 2 * FNN_VN;
        ptrdiff_t r = 0;
        for (; r + 4 <= M; r += 4)
            FNN_(small_block)(4, 2, K, A + r * a_rs, a_rs, a_cs, P + j, p_rs, C + r * ldc + j,
                              ldc, valid, beta);
        for (; r < M; r++)
            FNN_(small_block)(1, 2, K, A + r * a_rs, a_rs, a_cs, P + j, p_rs, C + r * ldc + j,
                              ldc, valid, beta);
    }
    if (j < N) { /* one vector of columns (maybe partial): more rows per block */
        ptrdiff_t r = 0;
        for (; r + 8 <= M; r += 8)
            FNN_(small_block)(8, 1, K, A + r * a_rs, a_rs, a_cs, P + j, p_rs, C + r * ldc + j,
                              ldc, N - j, beta);
        for (; r < M; r++)
            FNN_(small_block)(1, 1, K, A + r * a_rs, a_rs, a_cs, P + j, p_rs, C + r * ldc + j,
                              ldc, N - j, beta);
    }
}

/* Rows of a K×N matrix (row stride ld; transposed: element (k, n) at S[n·ld + k])
 * copied into `pad` with rows of the padded width (zeros beyond N); the padded width,
 * or 0 when it does not fit in FNN_SMALL_PACK elements. */
static ptrdiff_t FNN_(small_pad)(ptrdiff_t K, ptrdiff_t N, const FNN_T *S, ptrdiff_t ld,
                                 int transposed, FNN_T *pad)
{
    const ptrdiff_t w = (N + FNN_VN - 1) / FNN_VN * FNN_VN;
    if (K * w > FNN_SMALL_PACK) return 0;
    for (ptrdiff_t k = 0; k < K; k++) {
        FNN_T *row = pad + k * w;
        if (transposed)
            for (ptrdiff_t n = 0; n < N; n++) row[n] = S[n * ld + k];
        else
            memcpy(row, S + k * ld, (size_t)N * sizeof(FNN_T));
        for (ptrdiff_t n = N; n < w; n++) row[n] = 0;
    }
    return w;
}

/* ---- one sample: z := z + x·W, W (K×N, row-major) streamed once ------------------
 * z[j] = z[j] + x₀W[0][j] + x₁W[1][j] + … in this order (one multiply and one add per
 * term, as small_block: the same bits as a one-row small product).  A row whose x[i]
 * is 0 only adds zeros — weights are finite (every path that sets them checks it) —
 * so it is skipped: a one-sample product is bound by reading W (L2's bandwidth), and
 * ReLU outputs and images are mostly zeros.  (Skipping can only turn a result of −0
 * into +0 or back, never change a non-zero value.) */
#define FNN_ROW_CHUNK 512 /* rows whose non-zero indices are gathered at a time */

static inline __attribute__((always_inline)) void FNN_(row_block)(
    int cv, ptrdiff_t n, const int32_t *idx, const FNN_T *x, const FNN_T *W, ptrdiff_t N,
    FNN_T *z)
{
    FNN_(vec) acc[8];
    for (int v = 0; v < cv; v++) memcpy(&acc[v], z + v * FNN_VN, sizeof acc[v]);
    for (ptrdiff_t t = 0; t < n; t++) {
        const FNN_T a = x[idx[t]];
        const FNN_T *w = W + (ptrdiff_t)idx[t] * N;
        for (int v = 0; v < cv; v++) {
            FNN_(vec) p;
            memcpy(&p, w + v * FNN_VN, sizeof p);
            acc[v] = acc[v] + a * p;
        }
    }
    for (int v = 0; v < cv; v++) memcpy(z + v * FNN_VN, &acc[v], sizeof acc[v]);
}

static void FNN_(row_product)(ptrdiff_t K, ptrdiff_t N, const FNN_T *x, const FNN_T *W,
                              FNN_T *z)
{
    int32_t idx[FNN_ROW_CHUNK];
    for (ptrdiff_t i0 = 0; i0 < K; i0 += FNN_ROW_CHUNK) {
        const ptrdiff_t i1 = K - i0 < FNN_ROW_CHUNK ? K : i0 + FNN_ROW_CHUNK;
        ptrdiff_t n = 0;
        for (ptrdiff_t i = i0; i < i1; i++) {
            idx[n] = (int32_t)i;
            n += x[i] != 0;
        }
        ptrdiff_t j = 0;
        for (; j + 8 * FNN_VN <= N; j += 8 * FNN_VN) FNN_(row_block)(8, n, idx, x, W + j, N, z + j);
        if (j + 4 * FNN_VN <= N) { FNN_(row_block)(4, n, idx, x, W + j, N, z + j); j += 4 * FNN_VN; }
        if (j + 2 * FNN_VN <= N) { FNN_(row_block)(2, n, idx, x, W + j, N, z + j); j += 2 * FNN_VN; }
        if (j + FNN_VN <= N) { FNN_(row_block)(1, n, idx, x, W + j, N, z + j); j += FNN_VN; }
        for (; j < N; j++) { /* the last columns, fewer than a vector */
            FNN_T acc = z[j];
            for (ptrdiff_t t = 0; t < n; t++) acc = acc + x[idx[t]] * W[(ptrdiff_t)idx[t] * N + j];
            z[j] = acc;
        }
    }
}

/* One block of columns [j0, j1) of a split product (fnn_gemm_rm). */
typedef struct {
    const fnn_blas *blas;
    int tA, tB;
    ptrdiff_t M, N, K, lda, ldb, ldc, per;
    FNN_T alpha, beta;
    const FNN_T *A, *Bm;
    FNN_T *C;
} FNN_(split_gemm);

static void FNN_(split_gemm_block)(void *vs, ptrdiff_t i)
{
    const FNN_(split_gemm) *s = (const FNN_(split_gemm) *)vs;
    fnn_blas one = *s->blas;
    one.split = 0;
    const ptrdiff_t j0 = i * s->per, j1 = s->N - j0 < s->per ? s->N : j0 + s->per;
    /* columns j0.. of op(B): of B itself, or rows j0.. of B when transposed */
    const FNN_T *Bj = s->tB ? s->Bm + j0 * s->ldb : s->Bm + j0;
    FNN_(fnn_gemm_rm)(&one, s->tA, s->tB, s->M, j1 - j0, s->K, s->alpha, s->A, s->lda, Bj,
                      s->ldb, s->beta, s->C + j0, s->ldc);
}

void FNN_(fnn_gemm_rm)(const fnn_blas *blas, int tA, int tB, ptrdiff_t M, ptrdiff_t N,
                       ptrdiff_t K, FNN_T alpha, const FNN_T *A, ptrdiff_t lda,
                       const FNN_T *Bm, ptrdiff_t ldb, FNN_T beta, FNN_T *C,
                       ptrdiff_t ldc)
{
    if (blas->split && blas->bf16 == FNN_BF16_OFF && N >= 2 * FNN_SPLIT_GEMM_COLS &&
        (double)M * (double)N * (double)K >= FNN_SPLIT_GEMM_MACS) {
        ptrdiff_t blocks = N / FNN_SPLIT_GEMM_COLS;
        blocks = blocks > FNN_SPLIT_GEMM_BLOCKS ? FNN_SPLIT_GEMM_BLOCKS : blocks;
        FNN_(split_gemm) s = {blas, tA, tB, M, N, K, lda, ldb, ldc, 0, alpha, beta, A, Bm, C};
        s.per = ((N + blocks - 1) / blocks + 15) / 16 * 16; /* whole vectors per block */
        fnn_pool_run(blas->pool, blas->threads, FNN_(split_gemm_block), &s,
                     (N + s.per - 1) / s.per);
        return;
    }
    /* Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the
     * operands and keep the transpose flags. */
    char ta = tA ? 'T' : 'N', tb = tB ? 'T' : 'N';
    int m = (int)N, n = (int)M, k = (int)K;
    int la = (int)lda, lb = (int)ldb, lc = (int)ldc;
    FNN_ASSERT(M >= 0 && N >= 0 && K >= 0);
    if (M == 0 || N == 0) return;
    if (sizeof(FNN_T) == sizeof(float) && blas->bf16 != FNN_BF16_OFF) {
        /* mixed_bfloat16: the same product with inputs rounded to bfloat16 */
        fnn_gemm_bf16(blas->bf16, tA, tB, M, N, K, (float)alpha, (const float *)A, lda,
                      (const float *)Bm, ldb, (float)beta, (float *)C, ldc);
        return;
    }
    FNN_GEMM(blas)(&tb, &ta, &m, &n, &k, &alpha, (FNN_T *)Bm, &lb, (FNN_T *)A, &la,
                   &beta, C, &lc);
}

/* Σ_j a[j]·b[j] with 8 independent partial sums: the compiler turns them into
 * vector lanes (a plain running sum is a serial chain it may not reorder). */
static inline FNN_T FNN_(dot)(ptrdiff_t n, const FNN_T *restrict a, const FNN_T *restrict b)
{
    FNN_T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[j + k] * b[j + k];
    FNN_T s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

void FNN_(fnn_dense_forward)(const fnn_blas *blas, ptrdiff_t B, ptrdiff_t n_in,
                             ptrdiff_t n_out, const FNN_T *X, const FNN_T *W,
                             const FNN_T *b, FNN_T *Z)
{
    FNN_ASSERT(B >= 0 && n_in >= 1 && n_out >= 1);
    for (ptrdiff_t r = 0; r < B; r++) {
        FNN_T *z = Z + r * n_out;
        if (b) fnn_copy_row(z, b, (size_t)n_out * sizeof(FNN_T));
        else memset(z, 0, (size_t)n_out * sizeof(FNN_T));
    }
    const int bf16 = sizeof(FNN_T) == sizeof(float) && blas->bf16 != FNN_BF16_OFF;
    if (B == 1 && !bf16 && n_in < INT32_MAX && n_in * n_out >= blas->small_gemm) {
        /* one sample of a layer worth a BLAS call: z := z + x·W, W read once (faster
         * than BLAS's gemv: benchmarks/README.md, W5a); one unit: a dot product.
         * Smaller layers keep the loops below (the same sums in the same order,
         * without gathering the non-zero inputs first: ~10 ns less per layer) */
        if (n_out == 1) Z[0] += FNN_(dot)(n_in, X, W);
        else FNN_(row_product)(n_in, n_out, X, W, Z);
        return;
    }
    if ((n_in > 2 || bf16) && B * n_in * n_out >= blas->small_gemm) {
        /* Z := 1·X·W + 1·Z   (Z holds the broadcast bias) */
        if (bf16 && blas->bf16_w) { /* W packed once for the whole call or step */
            fnn_gemm_bf16_packed(blas->bf16, 0, B, n_out, n_in, 1.0f, (const float *)X, n_in,
                                 blas->bf16_w, 1.0f, (float *)Z, n_out);
            return;
        }
        FNN_(fnn_gemm_rm)(blas, 0, 0, B, n_out, n_in, (FNN_T)1, X, n_in, W, n_out,
                          (FNN_T)1, Z, n_out);
        return;
    }
    if (n_out == 1) { /* one unit: a dot product per row, W is a contiguous vector */
        for (ptrdiff_t r = 0; r < B; r++) Z[r] += FNN_(dot)(n_in, X + r * n_in, W);
        return;
    }
    FNN_T pad[FNN_SMALL_PACK];
    const ptrdiff_t w = n_out % FNN_VN ? FNN_(small_pad)(n_in, n_out, W, n_out, 0, pad) : n_out;
    if (w) {
        FNN_(small_product)(B, n_in, n_out, X, n_in, 1, w == n_out ? W : pad, w, Z, n_out, 1);
        return;
    }
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *x = X + r * n_in;
        FNN_T *restrict z = Z + r * n_out;
        for (ptrdiff_t i = 0; i < n_in; i++) {
            const FNN_T xi = x[i];
            const FNN_T *restrict wr = W + i * n_out;
            for (ptrdiff_t j = 0; j < n_out; j++) z[j] += xi * wr[j];
        }
    }
}

/* The backward products go to BLAS for B > 1 rows, more than 2 inputs and at least
 * small_gemm multiply-adds of the whole layer (the same choice for every part, so a
 * layer computed in parts — fnn_net_par.h — takes the path the whole one takes). */
static inline int FNN_(backward_gemm)(const fnn_blas *blas, ptrdiff_t B, ptrdiff_t n_in,
                                      ptrdiff_t n_out)
{
    const int bf16 = sizeof(FNN_T) == sizeof(float) && blas->bf16 != FNN_BF16_OFF;
    return ((B > 1 && n_in > 2) || bf16) && B * n_in * n_out >= blas->small_gemm;
}

void FNN_(fnn_dense_backward_bias)(ptrdiff_t B, ptrdiff_t n_out, const FNN_T *delta, FNN_T *db)
{
    /* db[j] = δ[0][j] + δ[1][j] + … in row order, a vector of columns summed in a
     * register (a sum kept in db would wait on its own store at every row) */
    ptrdiff_t j = 0;
    for (; j + FNN_VN <= n_out; j += FNN_VN) {
        FNN_(vec) acc = {0};
        for (ptrdiff_t r = 0; r < B; r++) {
            FNN_(vec) d;
            memcpy(&d, delta + r * n_out + j, sizeof d);
            acc = acc + d;
        }
        memcpy(db + j, &acc, sizeof acc);
    }
    for (; j < n_out; j++) {
        FNN_T acc = 0;
        for (ptrdiff_t r = 0; r < B; r++) acc += delta[r * n_out + j];
        db[j] = acc;
    }
}

void FNN_(fnn_dense_backward_weights)(const fnn_blas *blas, ptrdiff_t B, ptrdiff_t n_in,
                                      ptrdiff_t n_out, const FNN_T *X, const FNN_T *delta,
                                      ptrdiff_t i0, ptrdiff_t i1, FNN_T *dW)
{
    /* rows i0..i1 of ∂C/∂W = Xᵀ·δ */
    FNN_ASSERT(0 <= i0 && i0 <= i1 && i1 <= n_in);
    if (FNN_(backward_gemm)(blas, B, n_in, n_out)) {
        if (sizeof(FNN_T) == sizeof(float) && blas->bf16 != FNN_BF16_OFF && blas->bf16_d) {
            fnn_gemm_bf16_packed(blas->bf16, 1, i1 - i0, n_out, B, 1.0f, (const float *)X + i0,
                                 n_in, blas->bf16_d, 0.0f, (float *)dW + i0 * n_out, n_out);
            return;
        }
        FNN_(fnn_gemm_rm)(blas, 1, 0, i1 - i0, n_out, B, (FNN_T)1, X + i0, n_in, delta, n_out,
                          (FNN_T)0, dW + i0 * n_out, n_out);
        return;
    }
    memset(dW + i0 * n_out, 0, (size_t)((i1 - i0) * n_out) * sizeof(FNN_T));
    if (n_out == 1) { /* dW += δ_r x_r: contiguous in i */
        for (ptrdiff_t r = 0; r < B; r++) {
            const FNN_T *restrict x = X + r * n_in;
            const FNN_T d = delta[r];
            for (ptrdiff_t i = i0; i < i1; i++) dW[i] += d * x[i];
        }
        return;
    }
    FNN_T pad[FNN_SMALL_PACK];
    const ptrdiff_t w = n_out % FNN_VN ? FNN_(small_pad)(B, n_out, delta, n_out, 0, pad) : n_out;
    if (w) { /* dW rows i0..i1 = Xᵀ·δ: A = Xᵀ (strides swapped), P = δ */
        FNN_(small_product)(i1 - i0, B, n_out, X + i0, 1, n_in, w == n_out ? delta : pad, w,
                            dW + i0 * n_out, n_out, 0);
        return;
    }
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *x = X + r * n_in;
        const FNN_T *restrict d = delta + r * n_out;
        for (ptrdiff_t i = i0; i < i1; i++) {
            const FNN_T xi = x[i];
            FNN_T *restrict dw = dW + i * n_out;
            for (ptrdiff_t j = 0; j < n_out; j++) dw[j] += xi * d[j];
        }
    }
}

void FNN_(fnn_dense_backward_input)(const fnn_blas *blas, ptrdiff_t B, ptrdiff_t layer_B,
                                    ptrdiff_t n_in, ptrdiff_t n_out, const FNN_T *delta,
                                    const FNN_T *W, FNN_T *dX)
{
    /* ∂C/∂X = δ·Wᵀ over B rows of a batch of layer_B rows (the path follows layer_B) */
    if (FNN_(backward_gemm)(blas, layer_B, n_in, n_out)) {
        if (sizeof(FNN_T) == sizeof(float) && blas->bf16 != FNN_BF16_OFF && blas->bf16_wt) {
            fnn_gemm_bf16_packed(blas->bf16, 0, B, n_in, n_out, 1.0f, (const float *)delta,
                                 n_out, blas->bf16_wt, 0.0f, (float *)dX, n_in);
            return;
        }
        FNN_(fnn_gemm_rm)(blas, 0, 1, B, n_in, n_out, (FNN_T)1, delta, n_out, W, n_out,
                          (FNN_T)0, dX, n_in);
        return;
    }
    if (n_out == 1) {
        for (ptrdiff_t r = 0; r < B; r++)
            for (ptrdiff_t i = 0; i < n_in; i++) dX[r * n_in + i] = delta[r] * W[i];
        return;
    }
    FNN_T pad[FNN_SMALL_PACK];
    const ptrdiff_t w = B > 1 ? FNN_(small_pad)(n_out, n_in, W, n_out, 1, pad) : 0;
    if (w) { /* dX = δ·Wᵀ with Wᵀ copied (padded) */
        FNN_(small_product)(B, n_out, n_in, delta, n_out, 1, pad, w, dX, n_in, 0);
        return;
    }
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *restrict d = delta + r * n_out;
        FNN_T *dx = dX + r * n_in;
        for (ptrdiff_t i = 0; i < n_in; i++) dx[i] = FNN_(dot)(n_out, d, W + i * n_out);
    }
}

void FNN_(fnn_dense_backward)(const fnn_blas *blas, ptrdiff_t B, ptrdiff_t n_in,
                              ptrdiff_t n_out, const FNN_T *X, const FNN_T *delta,
                              const FNN_T *W, FNN_T *dW, FNN_T *db, FNN_T *dX)
{
    /* ∂C/∂W[l] = a[l-1]ᵀ·δ[l]   ∂C/∂b[l] = Σ_rows δ[l]   ∂C/∂a[l-1] = δ[l]·W[l]ᵀ */
    FNN_ASSERT(B >= 0 && n_in >= 1 && n_out >= 1);
    if (db) FNN_(fnn_dense_backward_bias)(B, n_out, delta, db);
    FNN_(fnn_dense_backward_weights)(blas, B, n_in, n_out, X, delta, 0, n_in, dW);
    if (dX) FNN_(fnn_dense_backward_input)(blas, B, B, n_in, n_out, delta, W, dX);
}

#endif /* FNN_T */
