/* fnn_net.h — the plan of a compiled network and the loops that run it:
 * one call trains a whole epoch (or a chunk of one), one call evaluates,
 * one call predicts.  Python is not entered per batch or per layer.
 *
 * Memory (all owned by the caller, never allocated here):
 *   P, G     flat parameters and gradients: W[0], b[0], W[1], b[1], … at the
 *            offsets in each fnn_layer (W: (n_in, n_out) row-major, b: (n_out,))
 *   S1, S2   optimizer slots, same length as P
 *   ws       training workspace of cap·net->ws_units elements: per layer z, a,
 *            δ (and noise mask m, added term n and output a⊙m + n; x̂ and the
 *            statistics of a normalization), the gathered input batch and
 *            targets; rows beyond the batch are unused
 *   ws2      prediction workspace of 2·cap·net->max_width elements
 *
 * Preconditions (Python checks them; FNN_ASSERT in debug builds): layout
 * computed by fnn_net_layout; consecutive layers chain (n_out[l] = n_in[l+1]);
 * 1 <= B <= cap; X: (n, n_in[0]); Y: (n, y_cols); order holds indices in
 * [0, n_rows(X)); labels valid for the loss; out: (n, n_out[last]).
 */
#ifndef FNN_NET_H
#define FNN_NET_H
#include "fnn_common.h"
#include "fnn_optim.h"
#include "fnn_pool.h"
#include "fnn_norm.h"

/* Stage kinds: what a layer of the plan computes before its activation
 * (fnn_norm.h has the normalization math). */
enum {
    FNN_STAGE_DENSE = 0,        /* z = x·W + b */
    FNN_STAGE_BATCHNORM = 1,    /* z = γ x̂ + β, x̂ by the batch's statistics in training
                                   (the moving ones when frozen or not training) */
    FNN_STAGE_LAYERNORM = 2,    /* z = γ x̂ + β, x̂ by each row's statistics */
    FNN_STAGE_STANDARDIZE = 3,  /* z = (x − m)/max(√v, 1e-7), m and v fixed */
    FNN_STAGE_UNITNORM = 4,     /* z = x/‖x‖ per row */
    FNN_N_STAGES = 5
};

/* A CSR matrix of network inputs (scipy.sparse rows), read in place of a dense X:
 * row r holds the values data[p] at the columns indices[p], p in [indptr[r],
 * indptr[r+1]).  Preconditions (fastnn/_sparse.py checks them all once, before any
 * kernel): indptr[0] = 0, indptr non-decreasing, indptr[n_rows] = number of values;
 * 0 <= indices[p] < n_in of the first layer; data finite, of the network's type.  A
 * column may repeat within a row (its values add, as in the dense matrix) and the
 * columns need not be sorted. */
typedef struct {
    const int64_t *indptr;
    const int32_t *indices;
    const void *data;
    ptrdiff_t n_rows;
} fnn_csr;

typedef struct {
    ptrdiff_t n_in, n_out;    /* n_in = n_out for every kind but dense */
    int act;                  /* FNN_ACT_* */
    int kind;                 /* FNN_STAGE_* */
    ptrdiff_t w_off, b_off;   /* offsets into P and G: dense W and b; normalization γ
                                 and β; < 0: none (no bias, scale=False, center=False) */
    ptrdiff_t s_off, s_len;   /* batch norm: moving mean then moving variance,
                                 standardize: mean then variance (then Keras's count):
                                 s_len >= 2·n_out values in P, never trained, zero in
                                 G; s_off < 0: none */
    double epsilon, momentum; /* batch and layer norm */
    double kernel_l1, kernel_l2, bias_l1, bias_l2;  /* on W (or γ) and b (or β) */
    fnn_noise noise;          /* dropout and noise on this layer's output (hidden only) */
    int frozen;               /* trainable = False: its W, b and their optimizer state
                                 are never updated (the gradient is still computed);
                                 a frozen batch norm uses its moving statistics */
    int bf16;                 /* mixed_bfloat16 (dense stages only): its products take
                                 bfloat16 inputs, in the mode net->blas.bf16 names
                                 (fnn_gemm_bf16.h); a sparse first layer's CSR products
                                 (fnn_net_sparse.h) stay float32 */
    /* set by fnn_net_layout: words of net->bf16_pack holding W and Wᵀ packed
       (fnn_gemm_bf16.h), −1 when not a mixed_bfloat16 dense stage (no Wᵀ for layer 0,
       whose input gradient is never made) */
    ptrdiff_t pk_w, pk_wt;
    /* set by fnn_net_layout: offsets into ws, in units of cap elements; ws_xh (x̂) and
       ws_st (statistics: 3·n_out units for batch norm, 2 for layer norm, 1 for unit
       norm), ws_n (the noise's added term) are −1 when unused */
    ptrdiff_t ws_z, ws_a, ws_d, ws_m, ws_ad, ws_n, ws_xh, ws_st;
} fnn_layer;

/* elements of W (or γ) in P */
static inline ptrdiff_t fnn_layer_w_len(const fnn_layer *L)
{
    return L->w_off < 0 ? 0 : L->kind == FNN_STAGE_DENSE ? L->n_in * L->n_out : L->n_out;
}

typedef struct {
    ptrdiff_t n_layers;
    fnn_layer *layers;
    fnn_noise input_noise;    /* dropout and noise on the network input */
    int loss;                 /* FNN_LOSS_* */
    int fused;                /* output delta is a − y (sigmoid+BCE, softmax+CE) */
    int acc;                  /* FNN_ACC_* */
    int want_err;             /* accumulate mae and mse */
    ptrdiff_t y_cols;         /* columns of Y: n_out of the last layer, 1 if sparse,
                                 plus 1 when weighted */
    int weighted;             /* Y's last column is the sample weight w_r: the batch
                                 cost is (1/B) Σ_r w_r ℓ_r, metrics sum w_r m_r */
    ptrdiff_t n_params;
    fnn_blas blas;
    /* fastnn's threads for a training call (fnn_pool.h, fnn_net_par.h): the caller
       sets them around one fnn_net_train; threads >= 2: each step is split (on one
       thread when pool is NULL); threads < 2: the serial step */
    fnn_pool *pool;
    int threads;
    fnn_adapt *adapt;         /* one thread or `threads`, by measured speed; NULL: threads */
    /* non-NULL: the input rows come from this CSR matrix, and the X arguments of
       train, evaluate and predict are ignored (the caller sets it in a copy of the
       plan for one call).  The first layer then runs fnn_net_sparse.h's products;
       it must be a dense stage, with no input noise (Python and _core's _input
       refuse the rest; FNN_ASSERT in a debug build). */
    const fnn_csr *sparse_x;
    /* The weight-packing workspace of one call (the caller allocates it, 64-byte
       aligned, bf16_pack_words words, and sets it in its copy of the plan; NULL: every
       product packs W per call, as fnn_gemm_bf16 does).  Each entry point that runs
       the layers fills it from P first (fnn_net_bf16_pack): train once per step,
       before the step's forward (the optimizer changed W), loss_grad, evaluate,
       predict and predict_par once per call; then the forward (every row block, every
       thread) and the input gradient read it.  Not shared between calls, so two calls
       on one plan may run at once. */
    uint32_t *bf16_pack;
    /* 1: bf16_pack already holds this call's P packed (predict's copy kept while the
       model's weights do not change, _core.pyx _predict_pack), so the entry points
       read it without packing; 0: they pack first, as above */
    int bf16_packed;
    /* set by fnn_net_layout */
    ptrdiff_t bf16_pack_words;
    ptrdiff_t ws_x, ws_xm, ws_xd, ws_xn, ws_y, ws_units, max_width;
} fnn_net;

/* The BLAS table for layer L's products: net->blas, with bfloat16 inputs only for
 * a mixed_bfloat16 layer. */
static inline fnn_blas fnn_layer_blas(const fnn_net *net, const fnn_layer *L)
{
    fnn_blas b = net->blas;
    b.bf16_w = b.bf16_wt = b.bf16_d = NULL;
    if (!L->bf16) b.bf16 = 0;
    else if (net->bf16_pack && b.bf16) {
        if (L->pk_w >= 0) b.bf16_w = net->bf16_pack + L->pk_w;
        if (L->pk_wt >= 0) b.bf16_wt = net->bf16_pack + L->pk_wt;
    }
    return b;
}

/* Training adds, after the bf16_pack_words of the weights, one region per
 * mixed_bfloat16 dense stage for its δ (cap rows × n_out) packed whole, the B of its
 * weight gradient a[l−1]ᵀ·δ[l] (so every row block of that product reads it instead
 * of packing it again): words of all of them, and layer l's (NULL if none). */
ptrdiff_t fnn_net_bf16_delta_words(const fnn_net *net, ptrdiff_t cap);
uint32_t *fnn_net_bf16_delta(const fnn_net *net, ptrdiff_t l, ptrdiff_t cap);

/* net->bf16_pack := W and Wᵀ of every mixed_bfloat16 dense stage, from P, in the mode
 * net->blas.bf16 (nothing when that is off or the buffer NULL) */
void fnn_net_bf16_pack(const fnn_net *net, const float *P);

/* Computes the workspace offsets; returns ws_units. */
ptrdiff_t fnn_net_layout(fnn_net *net);

#define FNN_NET_PROTOS(T, S)                                                          \
    /* Σ_l  l1·Σ|W| + l2·ΣW² (kernel and bias); adds its gradient to G if non-NULL */    \
    double fnn_net_penalty_##S(const fnn_net *net, const T *P, T *G);                  \
    /* One forward + backward on B rows X, Y.  G := ∂C/∂θ of the batch cost            \
       C = (1/B) Σ_r ℓ_r + penalty, which is returned.  rng = NULL: no dropout.        \
       Batch norms use the batch's statistics (Keras's training=True).                  \
       sums[FNN_SUM_*] += per-sample sums (loss: C·B). */                              \
    double fnn_net_loss_grad_##S(const fnn_net *net, const T *P, T *G, T *ws,          \
                                 ptrdiff_t cap, ptrdiff_t B, const T *X, const T *Y,    \
                                 uint64_t *rng, double *sums);                         \
    /* Mini-batch training over rows order[0..n): batches of `batch` rows (the last     \
       may be smaller), each: gather, forward, loss, backward, optimizer step.          \
       Stops before the update of a batch whose cost or gradient is not finite and      \
       returns 1 (the parameters are then those after the last applied batch);          \
       returns 0 otherwise.  *n_done := samples whose batch was applied.  After each    \
       applied step the moving statistics of the batch norms move towards the batch's:  \
       m := momentum·m + (1 − momentum)·batch. */                                       \
    int fnn_net_train_##S(const fnn_net *net, fnn_optim *opt, T *P, T *G, T *S1,       \
                          T *S2, T *ws, ptrdiff_t cap, const T *X, const T *Y,          \
                          const int64_t *order, ptrdiff_t n, ptrdiff_t batch,           \
                          uint64_t *rng, double *sums, ptrdiff_t *n_done);              \
    /* Forward (no dropout; moving statistics) over n rows in chunks of cap. */        \
    void fnn_net_evaluate_##S(const fnn_net *net, const T *P, T *ws, ptrdiff_t cap,     \
                              const T *X, const T *Y, ptrdiff_t n, double *sums);       \
    /* out := network output for n rows of X, in chunks of cap rows. */                 \
    void fnn_net_predict_##S(const fnn_net *net, const T *P, T *ws2, ptrdiff_t cap,     \
                             const T *X, ptrdiff_t n, T *out);                          \
    /* fnn_net_predict in chunks of R rows, on `threads` threads of pool (NULL: the    \
       caller alone), all of them or one as adapt measures (NULL: all); ws holds        \
       threads × 2·R·max_width values; the same output whichever threads run. */      \
    void fnn_net_predict_par_##S(const fnn_net *net, fnn_pool *pool, int threads,       \
                                 fnn_adapt *adapt, const T *P, T *ws, ptrdiff_t R,      \
                                 const T *X, ptrdiff_t n, T *out);                      \
    /* Classic perceptron rule over the n rows of X in order:                           \
       ŷ = u(w·x + b);  w += η (y − ŷ) x;  b += η (y − ŷ).  Returns #mistakes. */       \
    ptrdiff_t fnn_perceptron_epoch_##S(ptrdiff_t n, ptrdiff_t n_in, const T *X,        \
                                       const T *y, double lr, T *w, T *b);

FNN_NET_PROTOS(float, f32)
FNN_NET_PROTOS(double, f64)

/* The same loops compiled for AVX2 + FMA (fnn_isa_avx2.c) and AVX-512
 * (fnn_isa_avx512.c); call them only where fnn_have_avx2() / fnn_have_avx512()
 * (fnn_isa.h) return 1. */
FNN_NET_PROTOS(float, f32_avx2)
FNN_NET_PROTOS(double, f64_avx2)
FNN_NET_PROTOS(float, f32_avx512)
FNN_NET_PROTOS(double, f64_avx512)

#endif
