/* fnn_net.h — the plan of a compiled network and the loops that run it:
 * one call trains a whole epoch (or a chunk of one), one call evaluates,
 * one call predicts.  Python is not entered per batch or per layer.
 *
 * Memory (all owned by the caller, never allocated here):
 *   P, G     flat parameters and gradients: W[0], b[0], W[1], b[1], … at the
 *            offsets in each fnn_layer (W: (n_in, n_out) row-major, b: (n_out,))
 *   S1, S2   optimizer slots, same length as P
 *   ws       training workspace of cap·net->ws_units elements: per layer z, a,
 *            δ (and dropout mask m and masked output a⊙m), the gathered input
 *            batch and targets; rows beyond the batch are unused
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

typedef struct {
    ptrdiff_t n_in, n_out;
    int act;                  /* FNN_ACT_* */
    ptrdiff_t w_off, b_off;   /* offsets into P and G; b_off < 0: no bias */
    double kernel_l1, kernel_l2, bias_l1, bias_l2;
    double dropout;           /* dropout rate on this layer's output (hidden only) */
    int frozen;               /* trainable = False: its W, b and their optimizer state
                                 are never updated (the gradient is still computed) */
    /* set by fnn_net_layout: offsets into ws, in units of cap elements */
    ptrdiff_t ws_z, ws_a, ws_d, ws_m, ws_ad;
} fnn_layer;

typedef struct {
    ptrdiff_t n_layers;
    fnn_layer *layers;
    double input_dropout;     /* dropout rate on the network input */
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
    /* set by fnn_net_layout */
    ptrdiff_t ws_x, ws_xm, ws_xd, ws_y, ws_units, max_width;
} fnn_net;

/* Computes the workspace offsets; returns ws_units. */
ptrdiff_t fnn_net_layout(fnn_net *net);

#define FNN_NET_PROTOS(T, S)                                                          \
    /* Σ_l  l1·Σ|W| + l2·ΣW² (kernel and bias); adds its gradient to G if non-NULL */    \
    double fnn_net_penalty_##S(const fnn_net *net, const T *P, T *G);                  \
    /* One forward + backward on B rows X, Y.  G := ∂C/∂θ of the batch cost            \
       C = (1/B) Σ_r ℓ_r + penalty, which is returned.  rng = NULL: no dropout.        \
       sums[FNN_SUM_*] += per-sample sums (loss: C·B). */                              \
    double fnn_net_loss_grad_##S(const fnn_net *net, const T *P, T *G, T *ws,          \
                                 ptrdiff_t cap, ptrdiff_t B, const T *X, const T *Y,    \
                                 uint64_t *rng, double *sums);                         \
    /* Mini-batch training over rows order[0..n): batches of `batch` rows (the last     \
       may be smaller), each: gather, forward, loss, backward, optimizer step.          \
       Stops before the update of a batch whose cost or gradient is not finite and      \
       returns 1 (the parameters are then those after the last applied batch);          \
       returns 0 otherwise.  *n_done := samples whose batch was applied. */             \
    int fnn_net_train_##S(const fnn_net *net, fnn_optim *opt, T *P, T *G, T *S1,       \
                          T *S2, T *ws, ptrdiff_t cap, const T *X, const T *Y,          \
                          const int64_t *order, ptrdiff_t n, ptrdiff_t batch,           \
                          uint64_t *rng, double *sums, ptrdiff_t *n_done);              \
    /* Forward (no dropout) over n rows in chunks of cap; sums as for training. */      \
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
