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
 * Preconditions: B >= 1 (batch norm in training: the whole batch), n >= 1, eps > 0.
 */
#ifndef FNN_NORM_H
#define FNN_NORM_H
#include "fnn_common.h"

enum {
    FNN_NOISE_DROPOUT = 1,
    FNN_NOISE_GAUSSIAN = 2,
    FNN_NOISE_GAUSSIAN_DROPOUT = 3,
    FNN_NOISE_ALPHA_DROPOUT = 4
};
#define FNN_MAX_NOISE 4
typedef struct {
    int n;                            /* operations in the chain, 0: none */
    int kind[FNN_MAX_NOISE];          /* FNN_NOISE_* */
    double rate[FNN_MAX_NOISE];       /* rate p, or the standard deviation s */
} fnn_noise;

/* whether the chain adds a term (N is needed) */
static inline int fnn_noise_additive(const fnn_noise *noise)
{
    for (int k = 0; k < noise->n; k++)
        if (noise->kind[k] == FNN_NOISE_GAUSSIAN || noise->kind[k] == FNN_NOISE_ALPHA_DROPOUT)
            return 1;
    return 0;
}

#define FNN_NORM_PROTOS(T, S)                                                          \
    /* training: mean, var := batch statistics, istd := 1/√(var + eps); Xh := x̂ */      \
    void fnn_bn_forward_train_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *gamma,  \
                                  const T *beta, double eps, T *mean, T *var, T *istd,  \
                                  T *Xh, T *Z);                                         \
    /* with given statistics m, v (moving ones); istd and Xh kept when non-NULL */      \
    void fnn_bn_forward_fixed_##S(ptrdiff_t B, ptrdiff_t n, const T *X, const T *gamma,  \
                                  const T *beta, const T *m, const T *v, double eps,    \
                                  T *istd, T *Xh, T *Z);                                \
    /* dgamma, dbeta (when non-NULL) := Σ_r; dX (when non-NULL) := ∂/∂X; batch: the    \
       statistics are the batch's (training), else fixed */                             \
    void fnn_bn_backward_##S(ptrdiff_t B, ptrdiff_t n, const T *Xh, const T *istd,       \
                             const T *gamma, const T *dZ, int batch, T *dgamma,         \
                             T *dbeta, T *dX);                                          \
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
