/* fnn_net.c — forward, backprop and the epoch loop over a plan (fnn_net.h).
 *
 * Backpropagation, in the notes' notation, per batch:
 *   forward   z[l] = a[l−1]·W[l] + b[l],  a[l] = f(z[l])  (a[l] ⊙ m[l] under dropout)
 *   output    δ[L] = ∂C/∂a[L] ⊙ f'(z[L])  or the fused  δ[L] = a[L] − y
 *   recursion δ[l−1] = (δ[l]·W[l]ᵀ) ⊙ m[l−1] ⊙ f'(z[l−1])
 *   gradients ∂C/∂W[l] = a[l−1]ᵀ·δ[l],  ∂C/∂b[l] = Σ_rows δ[l]  (+ penalty gradient)
 * A normalization layer takes the place of the product (fnn_net_stages.h); a sparse
 * input (net->sparse_x) goes through the first layer's CSR products
 * (fnn_net_sparse.h), that layer being dense.
 * (About 630 lines: the epoch loop, its overflow guard, its frozen-layer update,
 * the wide step and the bf16 weight packing
 * share this file's helpers; the layer kinds, the sparse first layer and the split
 * step are in the three headers it includes.)
 */
#ifndef FNN_T
#include <float.h>
#include <math.h>
#include <string.h>
#include "fnn_net.h"
#include "fnn_dense.h"
#include "fnn_activations.h"
#include "fnn_losses.h"
#include "fnn_regularize.h"
#include "fnn_dropout.h"
#include "fnn_gemm_bf16.h"

ptrdiff_t fnn_net_layout(fnn_net *net)
{
    ptrdiff_t u = 0, widest = 1;
    const ptrdiff_t n0 = net->layers[0].n_in;
    net->ws_x = u; u += n0;
    net->ws_xm = net->ws_xd = net->ws_xn = -1;
    if (net->input_noise.n > 0) {
        net->ws_xm = u; u += n0; net->ws_xd = u; u += n0;
        if (fnn_noise_additive(&net->input_noise)) { net->ws_xn = u; u += n0; }
    }
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        fnn_layer *L = &net->layers[l];
        const ptrdiff_t w = L->n_out;
        widest = w > widest ? w : widest;
        L->ws_z = u; u += w;
        if (L->act == FNN_ACT_LINEAR) L->ws_a = L->ws_z; /* a = z: share */
        else { L->ws_a = u; u += w; }
        L->ws_d = u; u += w;
        L->ws_m = L->ws_ad = L->ws_n = L->ws_xh = L->ws_st = -1;
        if (L->noise.n > 0) {
            L->ws_m = u; u += w; L->ws_ad = u; u += w;
            if (fnn_noise_additive(&L->noise)) { L->ws_n = u; u += w; }
        }
        if (L->kind == FNN_STAGE_BATCHNORM) { /* per feature: mean, var, 1/std, then the
                                                 chunks' partial sums in double (bn_part) */
            L->ws_xh = u; u += w; L->ws_st = u; u += 8 * w + 1;
        } else if (L->kind == FNN_STAGE_LAYERNORM) { /* per row: mean, 1/std */
            L->ws_xh = u; u += w; L->ws_st = u; u += 2;
        } else if (L->kind == FNN_STAGE_UNITNORM) { /* per row: 1/‖x‖ */
            L->ws_st = u; u += 1;
        }
    }
    net->ws_y = u; u += net->y_cols;
    ptrdiff_t pk = 0; /* multiples of 32 words: each region stays 64-byte aligned */
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        fnn_layer *L = &net->layers[l];
        L->pk_w = L->pk_wt = -1;
        if (!L->bf16 || L->kind != FNN_STAGE_DENSE) continue;
        L->pk_w = pk; pk += fnn_bf16_packed_words(L->n_in, L->n_out);
        if (l > 0) { L->pk_wt = pk; pk += fnn_bf16_packed_words(L->n_out, L->n_in); }
    }
    net->bf16_pack_words = pk;
    net->max_width = widest;
    net->ws_units = u;
    return u;
}

ptrdiff_t fnn_net_bf16_delta_words(const fnn_net *net, ptrdiff_t cap)
{
    ptrdiff_t words = 0;
    for (ptrdiff_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].pk_w >= 0) words += fnn_bf16_packed_words(cap, net->layers[l].n_out);
    return words;
}

uint32_t *fnn_net_bf16_delta(const fnn_net *net, ptrdiff_t l, ptrdiff_t cap)
{
    if (!net->bf16_pack || net->blas.bf16 == FNN_BF16_OFF || net->layers[l].pk_w < 0)
        return NULL;
    ptrdiff_t off = net->bf16_pack_words;
    for (ptrdiff_t j = 0; j < l; j++)
        if (net->layers[j].pk_w >= 0) off += fnn_bf16_packed_words(cap, net->layers[j].n_out);
    return net->bf16_pack + off;
}

void fnn_net_bf16_pack(const fnn_net *net, const float *P)
{
    const int mode = net->blas.bf16;
    if (!net->bf16_pack || mode == FNN_BF16_OFF) return;
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        const fnn_layer *L = &net->layers[l];
        const float *W = P + L->w_off; /* n_in × n_out, row-major */
        if (L->pk_w >= 0) /* op(B) = W: K = n_in, N = n_out */
            fnn_bf16_pack_full(mode, 0, W, L->n_out, L->n_in, L->n_out,
                               net->bf16_pack + L->pk_w);
        if (L->pk_wt >= 0) /* op(B) = Wᵀ: K = n_out, N = n_in */
            fnn_bf16_pack_full(mode, 1, W, L->n_out, L->n_out, L->n_in,
                               net->bf16_pack + L->pk_wt);
    }
}

#define FNN_TEMPLATE_FILE "fnn_net.c"
#include "fnn_instantiate.h"
#else

/* the call's packed bfloat16 weights from P (fnn_net.h, bf16_pack); float32 only */
static inline void FNN_(pack_weights)(const fnn_net *net, const FNN_T *P)
{
    if (sizeof(FNN_T) == sizeof(float) && !net->bf16_packed)
        fnn_net_bf16_pack(net, (const float *)P);
}

/* The B of layer l's weight gradient, δ (B rows × n_out), packed whole into its region
 * of net->bf16_pack and set in lb (when the layer is mixed and the product is one);
 * float32 only.  Run before the rows of that product are split between threads. */
static inline void FNN_(pack_delta)(const fnn_net *net, ptrdiff_t l, ptrdiff_t cap,
                                    ptrdiff_t B, const FNN_T *delta, fnn_blas *lb)
{
    const fnn_layer *L = &net->layers[l];
    if (sizeof(FNN_T) != sizeof(float) || L->kind != FNN_STAGE_DENSE || !L->bf16 ||
        B * L->n_in * L->n_out < lb->small_gemm)
        return;
    uint32_t *dp = fnn_net_bf16_delta(net, l, cap);
    if (!dp) return;
    fnn_bf16_pack_full(lb->bf16, 0, (const float *)delta, L->n_out, B, L->n_out, dp);
    lb->bf16_d = dp;
}

/* 1 when the gradient reaches the update as the backward pass leaves it: no penalty
 * gradient added after it and no clipping (then its size can be measured piece by
 * piece as it is made: fnn_net_par.h). */
static int FNN_(plain_gradient)(const fnn_net *net, const fnn_optim *opt)
{
    if (opt->clipnorm > 0 || opt->global_clipnorm > 0 || opt->clipvalue > 0) return 0;
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        const fnn_layer *L = &net->layers[l];
        if (L->kernel_l1 > 0 || L->kernel_l2 > 0 || L->bias_l1 > 0 || L->bias_l2 > 0)
            return 0;
    }
    return 1;
}

/* trainable = False (Keras): a frozen layer's weights and optimizer slots are never
 * updated.  Range k of the parameters (k < 2·n_layers: layer k/2's W, then its b); 0
 * when that range is frozen or empty. */
static int FNN_(trainable_range)(const fnn_net *net, ptrdiff_t k, ptrdiff_t *off,
                                 ptrdiff_t *len)
{
    const fnn_layer *L = &net->layers[k / 2];
    if (L->frozen) return 0;
    *off = k % 2 ? L->b_off : L->w_off;
    *len = k % 2 ? (L->b_off >= 0 ? L->n_out : 0) : fnn_layer_w_len(L);
    return *len > 0;
}

/* 1 when the update goes range by range: a frozen layer, or values in P that are not
   trained (moving statistics, a Normalization's mean and variance) */
static int FNN_(any_frozen)(const fnn_net *net)
{
    for (ptrdiff_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].frozen || net->layers[l].s_off >= 0) return 1;
    return 0;
}

/* G := 0 over the values of P that are not trained */
static void FNN_(zero_fixed)(const fnn_net *net, FNN_T *G)
{
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        const fnn_layer *L = &net->layers[l];
        if (L->s_off >= 0) memset(G + L->s_off, 0, (size_t)L->s_len * sizeof(FNN_T));
    }
}

/* max |a[i]| over the trainable ranges of a, or of all n_params when none is frozen */
static double FNN_(trainable_max)(const fnn_net *net, int frozen, const FNN_T *a)
{
    if (!a) return 0;
    if (!frozen) return FNN_(fnn_max_abs)(net->n_params, a);
    double top = 0;
    ptrdiff_t off, len;
    for (ptrdiff_t k = 0; k < 2 * net->n_layers; k++)
        if (FNN_(trainable_range)(net, k, &off, &len))
            top = fmax(top, FNN_(fnn_max_abs)(len, a + off));
    return top;
}

/* fnn_optim_finite over the trainable ranges */
static int FNN_(trainable_finite)(const fnn_net *net, int frozen, const fnn_optim *opt,
                                  const FNN_T *P, const FNN_T *G, const FNN_T *S1,
                                  const FNN_T *S2)
{
    if (!frozen) return FNN_(fnn_optim_finite)(opt, net->n_params, P, G, S1, S2);
    ptrdiff_t off, len;
    for (ptrdiff_t k = 0; k < 2 * net->n_layers; k++)
        if (FNN_(trainable_range)(net, k, &off, &len) &&
            !FNN_(fnn_optim_finite)(opt, len, P + off, G + off, S1 ? S1 + off : NULL,
                                    S2 ? S2 + off : NULL))
            return 0;
    return 1;
}

/* The update of the trainable ranges only, each by a copy of the optimizer taken
 * before the step (elementwise rules: the bits of one whole-buffer step there), then
 * the count advances once; returns the largest |value| stored. */
static double FNN_(trainable_step)(const fnn_net *net, fnn_optim *opt, FNN_T *P,
                                   const FNN_T *G, FNN_T *S1, FNN_T *S2)
{
    double top = 0;
    ptrdiff_t off, len;
    for (ptrdiff_t k = 0; k < 2 * net->n_layers; k++) {
        if (!FNN_(trainable_range)(net, k, &off, &len)) continue;
        fnn_optim o = *opt;
        top = fmax(top, FNN_(fnn_optim_step_max)(&o, len, P + off, G + off,
                                                 S1 ? S1 + off : NULL, S2 ? S2 + off : NULL));
    }
    FNN_(fnn_optim_step)(opt, 0, P, G, S1, S2); /* the count, the schedule, Nadam's product */
    return top;
}

double FNN_(fnn_net_penalty)(const fnn_net *net, const FNN_T *P, FNN_T *G)
{
    double pen = 0;
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        const fnn_layer *L = &net->layers[l];
        if (L->w_off >= 0 && (L->kernel_l1 > 0 || L->kernel_l2 > 0))
            pen += FNN_(fnn_regularize)(fnn_layer_w_len(L), P + L->w_off, L->kernel_l1,
                                        L->kernel_l2, G ? G + L->w_off : NULL);
        if (L->b_off >= 0 && (L->bias_l1 > 0 || L->bias_l2 > 0))
            pen += FNN_(fnn_regularize)(L->n_out, P + L->b_off, L->bias_l1, L->bias_l2,
                                        G ? G + L->b_off : NULL);
    }
    return pen;
}

#include "fnn_net_stages.h"
#include "fnn_net_sparse.h"

/* Forward over B rows (of X, or rows / row0 + r of net->sparse_x); returns the input
 * of layer 0 as used (with its noise in training; NULL for a sparse input).
 * training: batch statistics; with rng also the dropout and noise. */
static const FNN_T *FNN_(forward)(const fnn_net *net, const FNN_T *P, FNN_T *ws,
                                  ptrdiff_t cap, ptrdiff_t B, const FNN_T *X,
                                  const int64_t *rows, ptrdiff_t row0, uint64_t *rng,
                                  int training)
{
    const FNN_T *in = X;
    const ptrdiff_t n0 = net->layers[0].n_in;
    FNN_(sparse_plan_assert)(net);
    if (!training) rng = NULL;
    if (rng && net->input_noise.n > 0) {
        FNN_T *m = ws + cap * net->ws_xm, *xd = ws + cap * net->ws_xd;
        FNN_T *add = net->ws_xn >= 0 ? ws + cap * net->ws_xn : NULL;
        FNN_(fnn_noise_draw)(rng, &net->input_noise, B * n0, m, add);
        FNN_(fnn_mul_add)(B * n0, X, m, add, xd);
        in = xd;
    }
    const FNN_T *x0 = in;
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        const fnn_layer *L = &net->layers[l];
        FNN_T *z = ws + cap * L->ws_z, *a = ws + cap * L->ws_a;
        if (l == 0 && net->sparse_x)
            FNN_(sparse_first_forward)(net, P, B, rows, row0, z);
        else
            FNN_(stage_forward)(net, L, P, ws, cap, 0, B, in, z, training);
        FNN_(fnn_act_forward)(L->act, B, L->n_out, z, a);
        in = a;
        if (rng && L->noise.n > 0) {
            FNN_T *m = ws + cap * L->ws_m, *ad = ws + cap * L->ws_ad;
            FNN_T *add = L->ws_n >= 0 ? ws + cap * L->ws_n : NULL;
            FNN_(fnn_noise_draw)(rng, &L->noise, B * L->n_out, m, add);
            FNN_(fnn_mul_add)(B * L->n_out, a, m, add, ad);
            in = ad;
        }
    }
    return x0;
}

/* Σ_r w_r ℓ_r over B rows (w_r = 1 unweighted) and, unless delta is NULL, δ = ∂C/∂(a or
   z) of C = (1/batch) Σ_r w_r ℓ_r (Keras's "sum over batch size"; batch = B but for a
   slice of a split step); metric sums weighted by w_r and, in the _PLAIN slots,
   unweighted.  Weighted rows go one at a time
   through the unweighted kernels. */
static double FNN_(weighted_loss)(const fnn_net *net, ptrdiff_t B, ptrdiff_t batch,
                                  const FNN_T *zo, const FNN_T *ao, const FNN_T *Y,
                                  FNN_T *delta, double *sums)
{
    const ptrdiff_t k = net->layers[net->n_layers - 1].n_out, ys = net->y_cols;
    if (!net->weighted) {
        const double data = FNN_(fnn_loss_rows)(net->loss, net->fused, B, batch, k, zo, ao, Y,
                                                delta);
        double m[FNN_N_SUMS] = {0};
        FNN_(fnn_metrics)(net->acc, net->want_err, B, k, ao, Y, m);
        for (int s = FNN_SUM_ACC; s <= FNN_SUM_MSE; s++) { /* weights 1: both sums alike */
            sums[s] += m[s];
            sums[s + FNN_SUM_ACC_PLAIN - FNN_SUM_ACC] += m[s];
        }
        return data;
    }
    double data = 0;
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *y = Y + r * ys;
        const FNN_T w = y[ys - 1];
        FNN_T *d = delta ? delta + r * k : NULL;
        data += (double)w * FNN_(fnn_loss)(net->loss, net->fused, 1, k, zo + r * k,
                                           ao + r * k, y, d);
        if (d) {
            const FNN_T s = w / (FNN_T)batch;
            for (ptrdiff_t j = 0; j < k; j++) d[j] *= s;
        }
        double m[FNN_N_SUMS] = {0};
        FNN_(fnn_metrics)(net->acc, net->want_err, 1, k, ao + r * k, y, m);
        for (int s = FNN_SUM_ACC; s <= FNN_SUM_MSE; s++) {
            sums[s] += (double)w * m[s];
            sums[s + FNN_SUM_ACC_PLAIN - FNN_SUM_ACC] += m[s];
        }
    }
    return data;
}

/* fnn_net_loss_grad on B rows: of X, or rows[0..B) of net->sparse_x */
static double FNN_(loss_grad_rows)(const fnn_net *net, const FNN_T *P, FNN_T *G,
                                   FNN_T *ws, ptrdiff_t cap, ptrdiff_t B, const FNN_T *X,
                                   const int64_t *rows, const FNN_T *Y, uint64_t *rng,
                                   double *sums)
{
    FNN_ASSERT(B >= 1 && B <= cap);
    const ptrdiff_t last = net->n_layers - 1;
    const FNN_T *x0 = FNN_(forward)(net, P, ws, cap, B, X, rows, 0, rng, 1);
    FNN_(zero_fixed)(net, G);
    const fnn_layer *Lo = &net->layers[last];
    FNN_T *zo = ws + cap * Lo->ws_z, *ao = ws + cap * Lo->ws_a, *d = ws + cap * Lo->ws_d;
    const double data = FNN_(weighted_loss)(net, B, B, zo, ao, Y, d, sums);
    if (!net->fused) FNN_(fnn_act_backward)(Lo->act, B, Lo->n_out, zo, ao, d);
    for (ptrdiff_t l = last; l >= 0; l--) {
        const fnn_layer *L = &net->layers[l];
        const fnn_layer *Lp = l > 0 ? &net->layers[l - 1] : NULL;
        const FNN_T *in = !Lp ? x0 : ws + cap * (Lp->noise.n > 0 && rng ? Lp->ws_ad : Lp->ws_a);
        FNN_T *dprev = Lp ? ws + cap * Lp->ws_d : NULL;
        if (!Lp && net->sparse_x) { /* a dense layer (sparse_plan_assert) */
            FNN_(sparse_backward_weights)(net->sparse_x, rows, 0, B, L->n_in, L->n_out,
                                          ws + cap * L->ws_d, G + L->w_off);
            if (L->b_off >= 0)
                FNN_(fnn_dense_backward_bias)(B, L->n_out, ws + cap * L->ws_d, G + L->b_off);
            continue;
        }
        FNN_(stage_backward)(net, L, P, G, ws, cap, B, in, dprev);
        if (Lp) {
            if (rng && Lp->noise.n > 0)
                FNN_(fnn_mul)(B * Lp->n_out, dprev, ws + cap * Lp->ws_m, dprev);
            FNN_(fnn_act_backward)(Lp->act, B, Lp->n_out, ws + cap * Lp->ws_z,
                                   ws + cap * Lp->ws_a, dprev);
        }
    }
    const double cost = data / (double)B + FNN_(fnn_net_penalty)(net, P, G);
    sums[FNN_SUM_LOSS] += cost * (double)B;
    return cost;
}

double FNN_(fnn_net_loss_grad)(const fnn_net *net, const FNN_T *P, FNN_T *G, FNN_T *ws,
                               ptrdiff_t cap, ptrdiff_t B, const FNN_T *X,
                               const FNN_T *Y, uint64_t *rng, double *sums)
{
    FNN_(pack_weights)(net, P);
    return FNN_(loss_grad_rows)(net, P, G, ws, cap, B, X, NULL, Y, rng, sums);
}

#include "fnn_net_par.h"

/* G := G scaled by min(1, c/‖G‖) per weight tensor (clipnorm), then over all of
   them (global_clipnorm); then clamped to [−clipvalue, clipvalue] (Keras's order). */
static void FNN_(scale_to_norm)(FNN_T *g, ptrdiff_t n, double limit, double norm)
{
    if (norm > limit) {
        const FNN_T s = (FNN_T)(limit / norm);
        for (ptrdiff_t i = 0; i < n; i++) g[i] *= s;
    }
}
static double FNN_(sq_norm)(const FNN_T *g, ptrdiff_t n)
{
    double s = 0;
    for (ptrdiff_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return s;
}
static void FNN_(clip_gradients)(const fnn_net *net, const fnn_optim *opt, FNN_T *G)
{
    if (opt->clipnorm > 0) {
        for (ptrdiff_t l = 0; l < net->n_layers; l++) {
            const fnn_layer *L = &net->layers[l];
            if (L->w_off >= 0) {
                FNN_T *gw = G + L->w_off;
                const ptrdiff_t nw = fnn_layer_w_len(L);
                FNN_(scale_to_norm)(gw, nw, opt->clipnorm, sqrt(FNN_(sq_norm)(gw, nw)));
            }
            if (L->b_off >= 0) {
                FNN_T *gb = G + L->b_off;
                FNN_(scale_to_norm)(gb, L->n_out, opt->clipnorm,
                                    sqrt(FNN_(sq_norm)(gb, L->n_out)));
            }
        }
    }
    if (opt->global_clipnorm > 0)
        FNN_(scale_to_norm)(G, net->n_params, opt->global_clipnorm,
                            sqrt(FNN_(sq_norm)(G, net->n_params)));
    if (opt->clipvalue > 0) {
        const FNN_T c = (FNN_T)opt->clipvalue;
        for (ptrdiff_t i = 0; i < net->n_params; i++)
            G[i] = G[i] > c ? c : (G[i] < -c ? -c : G[i]);
    }
}

/* After an applied step: each batch norm's moving statistics move towards the batch's
   (Keras: moving := moving·momentum + batch·(1 − momentum)); a frozen one keeps them. */
static void FNN_(update_moving)(const fnn_net *net, FNN_T *P, const FNN_T *ws, ptrdiff_t cap)
{
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        const fnn_layer *L = &net->layers[l];
        if (L->kind != FNN_STAGE_BATCHNORM || L->frozen) continue;
        const ptrdiff_t n = L->n_out;
        const FNN_T *st = ws + cap * L->ws_st;  /* batch mean, then batch variance */
        const FNN_T mom = (FNN_T)L->momentum, rest = (FNN_T)(1.0 - L->momentum);
        FNN_T *mm = P + L->s_off;
        for (ptrdiff_t j = 0; j < 2 * n; j++) mm[j] = mm[j] * mom + st[j] * rest;
    }
}

/* A "wide" step: the weights outweigh the batch's activations (Σ n_in·n_out ≥
 * 2·B·Σ n_in over the dense layers), so splitting the batch into row chunks would
 * make every chunk pack every weight matrix again (fnn_net_par.h); instead the step
 * runs the serial code with each big product split by columns over the threads
 * (fnn_blas.split, fnn_dense.c), and the optimizer by ranges. */
static int FNN_(wide_step)(const fnn_net *net, ptrdiff_t B)
{
    double weights = 0, inputs = 0;
    for (ptrdiff_t l = 0; l < net->n_layers; l++) {
        const fnn_layer *L = &net->layers[l];
        if (L->kind != FNN_STAGE_DENSE || L->bf16) continue;
        weights += (double)L->n_in * (double)L->n_out;
        inputs += (double)L->n_in;
    }
    return inputs > 0 && weights >= 2.0 * (double)B * inputs;
}

int FNN_(fnn_net_train)(const fnn_net *net, fnn_optim *opt, FNN_T *P, FNN_T *G,
                        FNN_T *S1, FNN_T *S2, FNN_T *ws, ptrdiff_t cap, const FNN_T *X,
                        const FNN_T *Y, const int64_t *order, ptrdiff_t n,
                        ptrdiff_t batch, uint64_t *rng, double *sums, ptrdiff_t *n_done)
{
    const ptrdiff_t n0 = net->layers[0].n_in, ky = net->y_cols;
    FNN_T *xb = ws + cap * net->ws_x, *yb = ws + cap * net->ws_y;
    FNN_ASSERT(batch >= 1 && batch <= cap);
    *n_done = 0;
    /* No update that would leave a weight or a slot NaN or infinite is ever applied
       (a non-finite gradient, or a finite one that overflows), so the state after a
       stop is that of the last applied batch and no copy is kept to go back to.  The
       exact test (fnn_optim_finite: the update's arithmetic, nothing stored) runs
       only when a bound from the state's and the gradient's largest values
       (fnn_optim_bound) comes near overflow; the steps keep the state's largest value
       current as they store it (fnn_optim_step_max). */
    const double safe = (sizeof(FNN_T) == sizeof(float) ? (double)FLT_MAX : DBL_MAX) / 16;
    const int frozen = FNN_(any_frozen)(net);
    double state_top = fmax(FNN_(trainable_max)(net, frozen, P),
                            fmax(FNN_(trainable_max)(net, frozen, S1),
                                 FNN_(trainable_max)(net, frozen, S2)));
    const int plain = FNN_(plain_gradient)(net, opt) && !frozen;
    for (ptrdiff_t start = 0; start < n; start += batch) {
        const ptrdiff_t B = n - start < batch ? n - start : batch;
        double batch_sums[FNN_N_SUMS] = {0};
        double cost = 0;
        int split = 0;
        double grad_top = -1; /* -1: not measured yet */
        int all = 0, wide = 0;
        double t0 = 0;
        const fnn_net *step = net;
        fnn_net wide_net;
        FNN_(pack_weights)(net, P); /* W changed at the last step's update */
        if (net->threads > 1) { /* fastnn's threads (fnn_net_par.h); without the pool
                                   (another thread's fit holds it) the same split on one
                                   thread: the same bits */
            all = !net->pool ? 0 : net->adapt ? fnn_adapt_choose(net->adapt) : 1;
            t0 = fnn_now();
            wide = FNN_(wide_step)(net, B);
            if (wide) { /* the serial step, its big products split by columns */
                wide_net = *net;
                wide_net.blas.split = 1;
                wide_net.blas.pool = net->pool;
                wide_net.blas.threads = all ? net->threads : 1;
                step = &wide_net;
            } else {
                cost = FNN_(par_loss_grad)(net, all ? net->threads : 1, P, G, ws, cap, B, X,
                                           Y, order + start, rng, batch_sums, &split,
                                           plain ? &grad_top : NULL);
            }
        }
        if (!split) {
            for (ptrdiff_t r = 0; r < B; r++) { /* gather the batch rows (a sparse input's
                                                   rows are read in place, by order) */
                const int64_t src = order[start + r];
                if (!net->sparse_x)
                    fnn_copy_row(xb + r * n0, X + src * n0, (size_t)n0 * sizeof(FNN_T));
                fnn_copy_row(yb + r * ky, Y + src * ky, (size_t)ky * sizeof(FNN_T));
            }
            cost = FNN_(loss_grad_rows)(step, P, G, ws, cap, B, xb, order + start, yb, rng,
                                        batch_sums);
        }
        if (!isfinite(cost)) return 1;
        if (opt->clipnorm > 0 || opt->global_clipnorm > 0 || opt->clipvalue > 0)
            FNN_(clip_gradients)(net, opt, G);
        if (!split || grad_top < 0) grad_top = FNN_(trainable_max)(net, frozen, G);
        if (!(grad_top <= DBL_MAX)) return 1; /* a NaN or infinite gradient */
        if (!(state_top <= safe && fnn_optim_bound(opt, state_top, grad_top) <= safe) &&
            !FNN_(trainable_finite)(net, frozen, opt, P, G, S1, S2))
            return 1;
        for (int s = 0; s < FNN_N_SUMS; s++) sums[s] += batch_sums[s];
        if (frozen)
            state_top = FNN_(trainable_step)(net, opt, P, G, S1, S2);
        else if (split || wide)
            state_top = FNN_(par_optim_step)(net, all ? net->threads : 1, opt, P, G, S1, S2);
        else
            state_top = FNN_(fnn_optim_step_max)(opt, net->n_params, P, G, S1, S2);
        FNN_(update_moving)(net, P, ws, cap);
        if ((split || wide) && net->pool && net->adapt)
            fnn_adapt_record(net->adapt, all, (fnn_now() - t0) / (double)B);
        *n_done += B;
    }
    return 0;
}

void FNN_(fnn_net_evaluate)(const fnn_net *net, const FNN_T *P, FNN_T *ws, ptrdiff_t cap,
                            const FNN_T *X, const FNN_T *Y, ptrdiff_t n, double *sums)
{
    const ptrdiff_t n0 = net->layers[0].n_in, ky = net->y_cols;
    const fnn_layer *Lo = &net->layers[net->n_layers - 1];
    double data = 0;
    FNN_(pack_weights)(net, P);
    for (ptrdiff_t start = 0; start < n; start += cap) {
        const ptrdiff_t B = n - start < cap ? n - start : cap;
        const FNN_T *y = Y + start * ky;
        FNN_(forward)(net, P, ws, cap, B, X ? X + start * n0 : NULL, NULL, start, NULL, 0);
        const FNN_T *zo = ws + cap * Lo->ws_z, *ao = ws + cap * Lo->ws_a;
        data += FNN_(weighted_loss)(net, B, B, zo, ao, y, NULL, sums);
    }
    sums[FNN_SUM_LOSS] += data + (double)n * FNN_(fnn_net_penalty)(net, P, NULL);
}

/* fnn_net_predict over rows row0.. of net->sparse_x (X unused) or of X */
static void FNN_(predict_rows)(const fnn_net *net, const FNN_T *P, FNN_T *ws2,
                               ptrdiff_t cap, const FNN_T *X, ptrdiff_t row0, ptrdiff_t n,
                               FNN_T *out)
{
    const ptrdiff_t n0 = net->layers[0].n_in, last = net->n_layers - 1;
    const ptrdiff_t k = net->layers[last].n_out;
    FNN_T *buf[2] = {ws2, ws2 + cap * net->max_width};
    for (ptrdiff_t start = 0; start < n; start += cap) {
        const ptrdiff_t B = n - start < cap ? n - start : cap;
        const FNN_T *in = net->sparse_x ? NULL : X + start * n0;
        for (ptrdiff_t l = 0; l <= last; l++) {
            const fnn_layer *L = &net->layers[l];
            FNN_T *z = l == last ? out + start * k : buf[l & 1];
            if (l == 0 && net->sparse_x)
                FNN_(sparse_first_forward)(net, P, B, NULL, row0 + start, z);
            else
                FNN_(stage_forward)(net, L, P, NULL, 0, 0, B, in, z, 0);
            FNN_(fnn_act_forward)(L->act, B, L->n_out, z, z);
            in = z;
        }
    }
}

void FNN_(fnn_net_predict)(const fnn_net *net, const FNN_T *P, FNN_T *ws2, ptrdiff_t cap,
                           const FNN_T *X, ptrdiff_t n, FNN_T *out)
{
    FNN_(pack_weights)(net, P);
    FNN_(predict_rows)(net, P, ws2, cap, X, 0, n, out);
}

/* fnn_net_predict split into chunks of R rows, each run whole (every layer) by one
 * thread in that thread's own ping-pong buffers. */
typedef struct {
    const fnn_net *net;
    const FNN_T *P, *X;
    FNN_T *ws, *out;
    ptrdiff_t n, R, ws_each;
} FNN_(par_predict);

static void FNN_(par_predict_rows)(void *vc, ptrdiff_t item, int thread)
{
    const FNN_(par_predict) *c = (const FNN_(par_predict) *)vc;
    const ptrdiff_t r0 = item * c->R, rows = c->n - r0 < c->R ? c->n - r0 : c->R;
    const fnn_net *net = c->net;
    FNN_(predict_rows)(net, c->P, c->ws + thread * c->ws_each, c->R,
                       net->sparse_x ? NULL : c->X + r0 * net->layers[0].n_in, r0, rows,
                       c->out + r0 * net->layers[net->n_layers - 1].n_out);
}

void FNN_(fnn_net_predict_par)(const fnn_net *net, fnn_pool *pool, int threads,
                               fnn_adapt *adapt, const FNN_T *P, FNN_T *ws, ptrdiff_t R,
                               const FNN_T *X, ptrdiff_t n, FNN_T *out)
{
    FNN_(par_predict) c = {net, P, X, ws, out, n, R, 2 * R * net->max_width};
    const int all = !pool || threads < 2 ? 0 : adapt ? fnn_adapt_choose(adapt) : 1;
    const double t0 = fnn_now();
    FNN_(pack_weights)(net, P); /* once, then read by every thread */
    fnn_pool_run_w(pool, all ? threads : 1, FNN_(par_predict_rows), &c, (n + R - 1) / R);
    if (pool && threads >= 2 && adapt) fnn_adapt_record(adapt, all, (fnn_now() - t0) / (double)n);
}

ptrdiff_t FNN_(fnn_perceptron_epoch)(ptrdiff_t n, ptrdiff_t n_in, const FNN_T *X,
                                     const FNN_T *y, double lr, FNN_T *w, FNN_T *b)
{
    ptrdiff_t mistakes = 0;
    const FNN_T eta = (FNN_T)lr;
    for (ptrdiff_t r = 0; r < n; r++) {
        const FNN_T *x = X + r * n_in;
        FNN_T z = *b;
        for (ptrdiff_t i = 0; i < n_in; i++) z += w[i] * x[i];
        const FNN_T err = y[r] - (z >= 0 ? (FNN_T)1 : (FNN_T)0);
        if (err != 0) {
            mistakes++;
            for (ptrdiff_t i = 0; i < n_in; i++) w[i] += eta * err * x[i];
            *b += eta * err;
        }
    }
    return mistakes;
}

#endif /* FNN_T */
