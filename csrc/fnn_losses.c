/* fnn_losses.c — see fnn_losses.h for the formulas and conventions. */
#ifndef FNN_T
#include <math.h>
#include "fnn_losses.h"
#include "fnn_fastmath.h"
#define FNN_TEMPLATE_FILE "fnn_losses.c"
#include "fnn_instantiate.h"
#else

/* clip(a, ε, 1 − ε) with both bounds rounded to FNN_T (in float32 1 − 1e-7 is
   1 − 2⁻²³).  `inside` (the clip's derivative) is 1 on the closed interval, as
   TensorFlow's clip_by_value, and for NaN, which passes through unchanged. */
static inline FNN_T FNN_(clip_prob)(FNN_T a, int *inside)
{
    const FNN_T lo = (FNN_T)FNN_PROB_EPS, hi = (FNN_T)1 - (FNN_T)FNN_PROB_EPS;
    *inside = !(a < lo) & !(a > hi);
    return a < lo ? lo : (a > hi ? hi : a);
}

/* log Σ_j e^{z_j}, stable */
static inline double FNN_(logsumexp)(ptrdiff_t k, const FNN_T *z)
{
    FNN_T m = z[0];
    double s = 0;
    for (ptrdiff_t j = 1; j < k; j++) m = z[j] > m ? z[j] : m;
    for (ptrdiff_t j = 0; j < k; j++) s += FNN_EXP(z[j] - m);
    return (double)m + log(s);
}

double FNN_(fnn_loss)(int loss, int fused, ptrdiff_t B, ptrdiff_t k, const FNN_T *Z,
                      const FNN_T *A, const FNN_T *Y, FNN_T *delta)
{
    return FNN_(fnn_loss_rows)(loss, fused, B, B, k, Z, A, Y, delta);
}

#ifndef FNN_SOFTPLUS_BATCH
#define FNN_SOFTPLUS_BATCH 256 /* elements whose softplus terms are computed at once */
/* log(1 + e^{−|z|}) of the elements of Z in order, FNN_SOFTPLUS_BATCH at a time through
   the vectorised float32 kernel (fnn_fastmath.h) */
typedef struct {
    const float *Z;
    ptrdiff_t total, start, n;
    float value[FNN_SOFTPLUS_BATCH];
} fnn_softplus_stream;
static inline float fnn_softplus_at(fnn_softplus_stream *s, ptrdiff_t i)
{
    if (i >= s->start + s->n) {
        s->start = i;
        s->n = s->total - i < FNN_SOFTPLUS_BATCH ? s->total - i : FNN_SOFTPLUS_BATCH;
        fnn_fast_softplus_negabs_f32(s->n, s->Z + i, s->value);
    }
    return s->value[i - s->start];
}
#endif
/* log(1 + e^{−|z|}) of element i of the rows: vectorised in float32, libm in float64 */
static inline FNN_T FNN_(softplus_negabs)(fnn_softplus_stream *s, ptrdiff_t i, FNN_T z)
{
    if (sizeof(FNN_T) == sizeof(float)) return (FNN_T)fnn_softplus_at(s, i);
    return FNN_LOG1P(FNN_EXP(-FNN_FABS(z)));
}

double FNN_(fnn_loss_rows)(int loss, int fused, ptrdiff_t B, ptrdiff_t batch, ptrdiff_t k,
                           const FNN_T *Z, const FNN_T *A, const FNN_T *Y, FNN_T *delta)
{
    double total = 0;
    const int sparse = loss == FNN_LOSS_SPARSE_CCE;
    const ptrdiff_t ky = sparse ? 1 : k;
    const FNN_T inv_b = batch > 0 ? (FNN_T)1 / (FNN_T)batch : (FNN_T)0;
    const FNN_T inv_bk = inv_b / (FNN_T)k;
    fnn_softplus_stream softplus; /* its values are filled when first read */
    softplus.Z = (const float *)Z;
    softplus.total = B * k;
    softplus.start = softplus.n = 0;
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *z = Z + r * k, *a = A + r * k, *y = Y + r * ky;
        FNN_T *d = delta ? delta + r * k : NULL;
        double l = 0;
        int inside;
        switch (loss) {
        case FNN_LOSS_MSE: /* ℓ = (1/k) Σ (a − y)²      ∂C/∂a = 2 (a − y)/(B k) */
            for (ptrdiff_t j = 0; j < k; j++) {
                const FNN_T e = a[j] - y[j];
                l += (double)e * e;
                if (d) d[j] = (FNN_T)2 * e * inv_bk;
            }
            l /= (double)k;
            break;
        case FNN_LOSS_BCE:
            if (fused) { /* ℓ = (1/k) Σ max(z, 0) − z y + log(1 + e^{−|z|})   ∂C/∂z = (a − y)/(B k) */
                for (ptrdiff_t j = 0; j < k; j++) {
                    const FNN_T zj = z[j];
                    l += (double)(zj > 0 ? zj : 0) - (double)zj * y[j] +
                         (double)FNN_(softplus_negabs)(&softplus, r * k + j, zj);
                    if (d) d[j] = (a[j] - y[j]) * inv_bk;
                }
            } else {
                /* ℓ = −(1/k) Σ y log a + (1 − y) log(1 − a)
                   ∂C/∂a = (a − y) / (a (1 − a)) / (B k) */
                for (ptrdiff_t j = 0; j < k; j++) {
                    const FNN_T ac = FNN_(clip_prob)(a[j], &inside);
                    l -= (double)y[j] * FNN_LOG(ac) +
                         (double)((FNN_T)1 - y[j]) * FNN_LOG((FNN_T)1 - ac);
                    if (d)
                        d[j] = inside ? (ac - y[j]) / (ac * ((FNN_T)1 - ac)) * inv_bk
                                      : (FNN_T)0;
                }
            }
            l /= (double)k;
            break;
        case FNN_LOSS_CCE:
            if (fused) {
                const double lse = FNN_(logsumexp)(k, z);
                FNN_T ysum = 0;
                for (ptrdiff_t j = 0; j < k; j++) {
                    l += (double)y[j] * (lse - (double)z[j]);
                    ysum += y[j];
                }
                /* ∂C/∂z = (a Σy − y)/B, which is (a − y)/B for a distribution y */
                if (d)
                    for (ptrdiff_t j = 0; j < k; j++) d[j] = (a[j] * ysum - y[j]) * inv_b;
            } else { /* ℓ = −Σ y log a      ∂C/∂a = −y/(a B) */
                for (ptrdiff_t j = 0; j < k; j++) {
                    const FNN_T ac = FNN_(clip_prob)(a[j], &inside);
                    l -= (double)y[j] * FNN_LOG(ac);
                    if (d) d[j] = inside ? -y[j] / ac * inv_b : (FNN_T)0;
                }
            }
            break;
        /* The elementwise losses below: ℓ = (1/k) Σ_j g(a_j, y_j), ∂C/∂a_j = g'(a_j)/(B k),
           e = a − y (Keras's formulas; hinge targets are ±1, converted in Python). */
        case FNN_LOSS_MAE: /* g = |e|      g' = sign(e) (0 at 0, NaN kept) */
            for (ptrdiff_t j = 0; j < k; j++) {
                const FNN_T e = a[j] - y[j];
                l += (double)FNN_FABS(e);
                if (d) d[j] = (e > 0 ? (FNN_T)1 : (e < 0 ? (FNN_T)-1 : e * 0)) * inv_bk;
            }
            l /= (double)k;
            break;
        case FNN_LOSS_HUBER: /* δ = 1: g = ½e² for |e| <= 1, |e| − ½ beyond; g' = clip(e, −1, 1) */
            for (ptrdiff_t j = 0; j < k; j++) {
                const FNN_T e = a[j] - y[j], ae = FNN_FABS(e);
                l += ae <= 1 ? 0.5 * (double)e * e : (double)ae - 0.5;
                if (d) d[j] = (e > 1 ? (FNN_T)1 : (e < -1 ? (FNN_T)-1 : e)) * inv_bk;
            }
            l /= (double)k;
            break;
        case FNN_LOSS_LOG_COSH: /* g = log cosh e = |e| + log1p(e^{−2|e|}) − log 2; g' = tanh e */
            for (ptrdiff_t j = 0; j < k; j++) {
                const FNN_T e = a[j] - y[j], ae = FNN_FABS(e);
                l += (double)ae + (double)FNN_LOG1P(FNN_EXP(-2 * ae)) - 0.69314718055994530942;
                if (d) d[j] = FNN_TANH(e) * inv_bk;
            }
            l /= (double)k;
            break;
        case FNN_LOSS_POISSON: /* g = a − y log(a + ε)     g' = 1 − y/(a + ε) */
            for (ptrdiff_t j = 0; j < k; j++) {
                const FNN_T ae = a[j] + (FNN_T)FNN_PROB_EPS;
                l += (double)a[j] - (double)y[j] * FNN_LOG(ae);
                if (d) d[j] = ((FNN_T)1 - y[j] / ae) * inv_bk;
            }
            l /= (double)k;
            break;
        case FNN_LOSS_KLD: /* ℓ = Σ_j y_c log(y_c / a_c), both clipped to [ε, 1]:
                              ∂C/∂a = −y_c / a_c / B where a is inside the clip */
            for (ptrdiff_t j = 0; j < k; j++) {
                const FNN_T yc = y[j] < (FNN_T)FNN_PROB_EPS ? (FNN_T)FNN_PROB_EPS
                                 : (y[j] > 1 ? (FNN_T)1 : y[j]);
                const FNN_T ac = a[j] < (FNN_T)FNN_PROB_EPS ? (FNN_T)FNN_PROB_EPS
                                 : (a[j] > 1 ? (FNN_T)1 : a[j]);
                const int in = !(a[j] < (FNN_T)FNN_PROB_EPS) & !(a[j] > 1);
                l += (double)yc * FNN_LOG(yc / ac);
                if (d) d[j] = in ? -yc / ac * inv_b : (FNN_T)0;
            }
            break;
        case FNN_LOSS_HINGE: /* g = max(1 − y a, 0)     g' = −y where 1 − y a > 0 */
        case FNN_LOSS_SQUARED_HINGE: /* g = max(1 − y a, 0)²   g' = −2 y max(1 − y a, 0) */
            for (ptrdiff_t j = 0; j < k; j++) {
                const FNN_T m = (FNN_T)1 - y[j] * a[j];
                const FNN_T h = m > 0 ? m : (m <= 0 ? (FNN_T)0 : m); /* NaN kept */
                if (loss == FNN_LOSS_HINGE) {
                    l += (double)h;
                    if (d) d[j] = (m > 0 ? -y[j] : (m <= 0 ? (FNN_T)0 : m)) * inv_bk;
                } else {
                    l += (double)h * h;
                    if (d) d[j] = (FNN_T)-2 * y[j] * h * inv_bk;
                }
            }
            l /= (double)k;
            break;
        default: { /* sparse CCE: y holds the class index c */
            FNN_ASSERT(loss == FNN_LOSS_SPARSE_CCE);
            const ptrdiff_t c = (ptrdiff_t)y[0];
            FNN_ASSERT(c >= 0 && c < k);
            if (fused) {
                l = FNN_(logsumexp)(k, z) - (double)z[c];
                if (d) {
                    for (ptrdiff_t j = 0; j < k; j++) d[j] = a[j] * inv_b;
                    d[c] -= inv_b;
                }
            } else {
                const FNN_T ac = FNN_(clip_prob)(a[c], &inside);
                l = -(double)FNN_LOG(ac);
                if (d) {
                    for (ptrdiff_t j = 0; j < k; j++) d[j] = 0;
                    d[c] = inside ? -inv_b / ac : (FNN_T)0;
                }
            }
        }
        }
        total += l;
    }
    return total;
}

static inline ptrdiff_t FNN_(argmax)(ptrdiff_t k, const FNN_T *v)
{
    ptrdiff_t best = 0;
    for (ptrdiff_t j = 1; j < k; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

void FNN_(fnn_metrics)(int acc, int want_err, ptrdiff_t B, ptrdiff_t k, const FNN_T *A,
                       const FNN_T *Y, double *sums)
{
    const ptrdiff_t ky = acc == FNN_ACC_SPARSE ? 1 : k;
    double s_acc = 0, s_mae = 0, s_mse = 0;
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *a = A + r * k, *y = Y + r * ky;
        switch (acc) {
        case FNN_ACC_BINARY: {
            ptrdiff_t hits = 0;
            for (ptrdiff_t j = 0; j < k; j++)
                hits += (a[j] > (FNN_T)0.5) == (y[j] > (FNN_T)0.5);
            s_acc += (double)hits / (double)k;
            break;
        }
        case FNN_ACC_CATEGORICAL:
            s_acc += FNN_(argmax)(k, a) == FNN_(argmax)(k, y);
            break;
        case FNN_ACC_SPARSE:
            s_acc += FNN_(argmax)(k, a) == (ptrdiff_t)y[0];
            break;
        default: break;
        }
        if (want_err) {
            double e1 = 0, e2 = 0;
            for (ptrdiff_t j = 0; j < k; j++) {
                const double e = (double)a[j] - (double)y[j];
                e1 += fabs(e);
                e2 += e * e;
            }
            s_mae += e1 / (double)k;
            s_mse += e2 / (double)k;
        }
    }
    sums[FNN_SUM_ACC] += s_acc;
    sums[FNN_SUM_MAE] += s_mae;
    sums[FNN_SUM_MSE] += s_mse;
}

#endif /* FNN_T */
