/* fnn_losses.h — losses, their output gradients, and the accuracy/error metrics.
 *
 * Shapes: Z, A: (B, k) pre-activations and activations of the last layer;
 *         Y: (B, k) targets, or (B, 1) integer-valued class labels for the
 *         sparse loss / sparse accuracy.
 *
 * fnn_loss returns Σ_rows ℓ_r, the per-sample losses summed over the batch
 * (the batch cost is C = (1/B) Σ ℓ_r).  If delta != NULL it writes
 *   fused = 0:  delta := ∂C/∂a                 (backprop then applies f')
 *   fused = 1:  delta := ∂C/∂z = (a − y)/(B·k)  for sigmoid + BCE   (k outputs)
 *                                (a − y)/B      for softmax + CCE / sparse CCE
 * `fused` is valid only for those pairs (Python decides; see losses.py).
 * Fused pairs compute ℓ from z, exactly and without clipping:
 *   sigmoid+BCE: ℓ = (1/k) Σ_j max(z,0) − z·y + log(1 + e^{−|z|})
 *   softmax+CCE: ℓ = Σ_j y_j (logsumexp(z) − z_j)
 * Unfused cross-entropies clip a to [ε, 1 − ε], ε = FNN_PROB_EPS, with the bounds
 * rounded to the working type, and their gradient is that of the clipped
 * expression (0 where a lies strictly outside the bounds; NaN stays NaN).
 *
 * Preconditions: B >= 0, k >= 1; sparse labels integral in [0, k);
 * BCE targets in [0, 1]; delta does not alias Z, A, Y.
 */
#ifndef FNN_LOSSES_H
#define FNN_LOSSES_H
#include "fnn_common.h"

#define FNN_LOSS_PROTOS(T, S)                                                     \
    double fnn_loss_##S(int loss, int fused, ptrdiff_t B, ptrdiff_t k, const T *Z, \
                        const T *A, const T *Y, T *delta);                        \
    /* the same over B rows of a larger batch of `batch` rows: delta is ∂C/∂(a or z) \
       of that batch's cost C = (1/batch) Σ ℓ_r (a slice of a parallel step) */     \
    double fnn_loss_rows_##S(int loss, int fused, ptrdiff_t B, ptrdiff_t batch,    \
                             ptrdiff_t k, const T *Z, const T *A, const T *Y,      \
                             T *delta);                                           \
    /* sums[FNN_SUM_ACC] += Σ_rows accuracy (kind acc);  if want_err:             \
       sums[FNN_SUM_MAE] += Σ_rows mean_j |a−y|, sums[FNN_SUM_MSE] += Σ mean (a−y)² */ \
    void fnn_metrics_##S(int acc, int want_err, ptrdiff_t B, ptrdiff_t k,           \
                         const T *A, const T *Y, double *sums);

FNN_LOSS_PROTOS(float, f32)
FNN_LOSS_PROTOS(double, f64)
FNN_LOSS_PROTOS(float, f32_avx2)   /* fnn_isa_avx2.c */
FNN_LOSS_PROTOS(double, f64_avx2)
FNN_LOSS_PROTOS(float, f32_avx512)   /* fnn_isa_avx512.c */
FNN_LOSS_PROTOS(double, f64_avx512)

#endif
