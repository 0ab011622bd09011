/* fnn_norm.h — the normalization stages of a plan (fnn_net.h): batch and layer
 * normalization, a fixed standardization (Keras's Normalization) and unit
 * normalization; and the noise of GaussianNoise, GaussianDropout, AlphaDropout.
 *
 * Shapes: X, Z, dZ, dX, Xh (the normalized input x̂): (B, n) row-major.
 * Statistics are accumulated in double whatever T is.
 *
 *   batch norm, training   μ_j = (1/B) Σ_r x_rj,  σ²_j = (1/B) Σ_r (x_rj − μ_j)²  (biased,
 *                          as Keras), x̂ = (x − μ)/√(σ² + ε),  z = γ x̂ + β
 *   batch norm, inference  the same with the moving μ, σ² (fnn_bn_forward_fixed)
 *   backward (training)    ∂β_j = Σ_r dz_rj,  ∂γ_j = Σ_r dz_rj x̂_rj,
 *                          dx_rj = γ_j/√(σ²_j+ε) · (dz_rj − ∂β_j/B − x̂_rj ∂γ_j/B)
 *   layer norm             the same statistics per row r over the n features;
 *                          dx_r = (1/√(σ²_r+ε)) (g_r − mean_j g_rj − x̂_r mean_j(g_rj x̂_rj)),
 *                          g = γ ⊙ dz
 *   standardize            z = (x − m)/max(√v, 1e-7),  dx = dz/max(√v, 1e-7)
 *   unit norm              z = x/max(‖x‖, 1e-12) (Keras 3's ops.normalize);
 *                          dx = (dz − z (z·dz))/‖x‖ when ‖x‖ > 1e-12, else dz·1e12
 *
 * gamma or beta NULL: γ = 1 or β = 0 (scale=False, center=False).  Stats pointers
 * may be NULL in inference (nothing kept for a backward pass).
 *
 * Noise (fnn_noise_draw): a chain of up to FNN_MAX_NOISE operations, each
 * out = in ⊙ m + c per element, composed into out = x ⊙ M + N:
 *   dropout           m = keep/(1 − p) (keep ~ Bernoulli(1 − p)), c = 0
 *   gaussian noise    m = 1, c ~ N(0, s²)
 *   gaussian dropout  m ~ N(1, p/(1 − p)), c = 0
 *   alpha dropout     m = a·keep, c = a·α'(1 − keep) + b, α' = −λα (SELU's), a =
 *                     ((1 − p)(1 + p α'²))^−½, b = −a α' p   (Keras 3's AlphaDropout)
 * The backward pass multiplies by M.  N is written only when add is non-NULL.
 *
 * Batch statistics and the sums of the batch-norm backward are reduced in a fixed
 * way: per chunk of fnn_chunk_rows(B) rows (rows in order, in double), then the
 * chunks' sums in chunk order — so a step split over threads by those chunks
 * (fnn_net_par.h) gets the bits of one thread.
 *
 * Preconditions: B >= 1 (batch norm in training: the whole batch), n >= 1, eps > 0.
 */
#ifndef FNN_NORM_H
#define FNN_NORM_H
#include "fnn_common.h"

/* Noise kinds (0 is no kind: a chain holds n operations, each 1..FNN_N_NOISE_KINDS-1). */
enum {
    FNN_NOISE_DROPOUT = 1,
    FNN_NOISE_GAUSSIAN = 2,          /* rate: the standard deviation */
    FNN_NOISE_GAUSSIAN_DROPOUT = 3,
    FNN_NOISE_ALPHA_DROPOUT = 4,
    FNN_N_NOISE_KINDS = 5
};
#define FNN_MAX_NOISE 4
typedef struct {
    int n;                            /* operations in the chain, 0: none */
    int kind[FNN_MAX_NOISE];          /* FNN_NOISE_* */
    double rate[FNN_MAX_NOISE];       /* rate p, or the standard deviation s */
} fnn_noise;

/* Rows per chunk of a batch of B rows: at most 16 chunks of at least 64 rows (the split
   of a training step over threads, fnn_net_par.h, uses the same chunks). */
static inline ptrdiff_t fnn_chunk_rows(ptrdiff_t B)
{
    const ptrdiff_t R = (B + 15) / 16;
    return R < 64 ? 64 : R;
}

/* part[0..n) := Σ_c part[c·n .. (c+1)·n), the C chunks' sums added in chunk order */
static inline void fnn_bn_combine(ptrdiff_t C, ptrdiff_t n, double *part)
{
    for (ptrdiff_t c = 1; c < C; c++)
        for (ptrdiff_t j = 0; j < n; j++) part[j] += part[c * n + j];
}

/* whether the chain adds a term (N is needed) */
static inline int fnn_noise_additive(const fnn_noise *noise)
{
    for (int k = 0; k < noise->n; k++)
        if (noise->kind[k] == FNN_NOISE_GAUSSIAN || noise->kind[k] == FNN_NOISE_ALPHA_DROPOUT)
            return 1;
    return 0;
}

#define FNN_NORM_PROTOS(T, S)                                                          \
    /* the pieces of batch norm in training, on B rows (a chunk or a batch):           \
       S[j] := Σ_r X[r,j];  S[j] := Σ_r (X[r,j] − mean[j])²                             \
       Z := γ (X − mean)·istd + β with Xh := (X − mean)·istd                            \
       Sb[j] := Σ_r dZ[r,j],  Sg[j] := Σ_r dZ[r,j]·Xh[r,j]                              \
       dX := γ·istd·(dZ − Sb/batch − Xh·Sg/batch)  (Sb, Sg: the batch's sums) */        \
    void fnn_bn_sum_##S(ptrdiff_t B, ptrdiff_t n, const T *X, double *Sum);              \
    void fnn_bn_sqdev_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *mean,           \
                          double *Sum);                                                 \
    void fnn_bn_apply_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *gamma,          \
                          const T *beta, const T *mean, const T *istd, T *Xh, T *Z);    \
    void fnn_bn_grad_sums_##S(ptrdiff_t B, ptrdiff_t n, const T *dZ, const T *Xh,        \
                              double *Sb, double *Sg);                                  \
    void fnn_bn_input_grad_##S(ptrdiff_t B, ptrdiff_t n, const T *Xh, const T *istd,     \
                               const T *gamma, const T *dZ, const double *Sb,           \
                               const double *Sg, double batch, T *dX);                  \
    /* training on a whole batch, reduced by chunks (the bits of the split step):       \
       mean, var := batch statistics, istd := 1/√(var + eps); part: 2·C·n doubles of    \
       scratch, C = ⌈B/fnn_chunk_rows(B)⌉ */                                              \
    void fnn_bn_forward_train_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *gamma,  \
                                  const T *beta, double eps, T *mean, T *var, T *istd,  \
                                  T *Xh, T *Z, double *part);                           \
    /* with given statistics m, v (moving ones); istd and Xh kept when non-NULL */      \
    void fnn_bn_forward_fixed_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *gamma,  \
                                  const T *beta, const T *m, const T *v, double eps,    \
                                  T *istd, T *Xh, T *Z);                                \
    /* dgamma, dbeta (when non-NULL) := Σ_r; dX (when non-NULL) := ∂/∂X; batch: the    \
       statistics are the batch's (training: the sums reduced by chunks in part, 2·C·n  \
       doubles), else fixed (part unused) */                                            \
    void fnn_bn_backward_##S(ptrdiff_t B, ptrdiff_t n, const T *Xh, const T *istd,       \
                             const T *gamma, const T *dZ, int batch, T *dgamma,         \
                             T *dbeta, T *dX, double *part);                            \
    /* per row: stats (B, 2) := (mean, 1/√(var + eps)) when non-NULL; Xh likewise */     \
    void fnn_ln_forward_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *gamma,        \
                            const T *beta, double eps, T *stats, T *Xh, T *Z);          \
    /* dgamma, dbeta += Σ_r (when non-NULL); dX := ∂/∂X on the same rows (non-NULL) */    \
    void fnn_ln_backward_##S(ptrdiff_t B, ptrdiff_t n, const T *Xh, const T *stats,      \
                             const T *gamma, const T *dZ, T *dgamma, T *dbeta, T *dX);  \
    void fnn_standardize_forward_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *m,   \
                                     const T *v, T *Z);                                 \
    void fnn_standardize_backward_##S(ptrdiff_t B, ptrdiff_t n, const T *v, const T *dZ, \
                                      T *dX);                                           \
    /* inv (B,) := 1/max(‖x‖, 1e-12) when non-NULL */                                  \
    void fnn_unitnorm_forward_##S(ptrdiff_t B, ptrdiff_t n, const T *X, T *inv, T *Z);   \
    void fnn_unitnorm_backward_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *inv,   \
                                   const T *Z, const T *dZ, T *dX);                     \
    /* M (and N when add is non-NULL) for count elements, drawn from state */          \
    void fnn_noise_draw_##S(uint64_t *state, const fnn_noise *noise, ptrdiff_t count,    \
                            T *M, T *add);                                              \
    /* out := A ⊙ M + N */                                                               \
    void fnn_mul_add_##S(ptrdiff_t n, const T *A, const T *M, const T *N, T *out);

FNN_NORM_PROTOS(float, f32)
FNN_NORM_PROTOS(double, f64)
FNN_NORM_PROTOS(float, f32_avx2)
FNN_NORM_PROTOS(double, f64_avx2)
FNN_NORM_PROTOS(float, f32_avx512)
FNN_NORM_PROTOS(double, f64_avx512)

#endif
