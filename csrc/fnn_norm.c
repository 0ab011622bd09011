/* fnn_norm.c — see fnn_norm.h for the math. */
#ifndef FNN_T
#include <math.h>
#include "fnn_norm.h"
#include "fnn_dropout.h"
#include "fnn_rng.h"

#define FNN_TEMPLATE_FILE "fnn_norm.c"
#include "fnn_instantiate.h"
#else

void FNN_(fnn_bn_sum)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, double *Sum)
{
    for (ptrdiff_t j = 0; j < n; j++) Sum[j] = 0;
    for (ptrdiff_t r = 0; r < B; r++)
        for (ptrdiff_t j = 0; j < n; j++) Sum[j] += X[r * n + j];
}

void FNN_(fnn_bn_sqdev)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, const FNN_T *mean,
                        double *Sum)
{
    for (ptrdiff_t j = 0; j < n; j++) Sum[j] = 0;
    for (ptrdiff_t r = 0; r < B; r++)
        for (ptrdiff_t j = 0; j < n; j++) {
            const double c = (double)X[r * n + j] - (double)mean[j];
            Sum[j] += c * c;
        }
}

void FNN_(fnn_bn_apply)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, const FNN_T *gamma,
                        const FNN_T *beta, const FNN_T *mean, const FNN_T *istd, FNN_T *Xh,
                        FNN_T *Z)
{
    for (ptrdiff_t r = 0; r < B; r++)
        for (ptrdiff_t j = 0; j < n; j++) {
            const FNN_T xh = (X[r * n + j] - mean[j]) * istd[j];
            Xh[r * n + j] = xh;
            Z[r * n + j] = (gamma ? gamma[j] * xh : xh) + (beta ? beta[j] : (FNN_T)0);
        }
}

void FNN_(fnn_bn_grad_sums)(ptrdiff_t B, ptrdiff_t n, const FNN_T *dZ, const FNN_T *Xh,
                            double *Sb, double *Sg)
{
    for (ptrdiff_t j = 0; j < n; j++) Sb[j] = Sg[j] = 0;
    for (ptrdiff_t r = 0; r < B; r++)
        for (ptrdiff_t j = 0; j < n; j++) {
            Sb[j] += dZ[r * n + j];
            Sg[j] += (double)dZ[r * n + j] * Xh[r * n + j];
        }
}

void FNN_(fnn_bn_input_grad)(ptrdiff_t B, ptrdiff_t n, const FNN_T *Xh, const FNN_T *istd,
                             const FNN_T *gamma, const FNN_T *dZ, const double *Sb,
                             const double *Sg, double batch, FNN_T *dX)
{
    for (ptrdiff_t r = 0; r < B; r++)
        for (ptrdiff_t j = 0; j < n; j++) {
            const double g = gamma ? gamma[j] : 1.0;
            dX[r * n + j] = (FNN_T)(g * istd[j] * (dZ[r * n + j] - Sb[j] / batch
                                                   - Xh[r * n + j] * (Sg[j] / batch)));
        }
}

void FNN_(fnn_bn_forward_train)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, const FNN_T *gamma,
                                const FNN_T *beta, double eps, FNN_T *mean, FNN_T *var,
                                FNN_T *istd, FNN_T *Xh, FNN_T *Z, double *part)
{
    const ptrdiff_t R = fnn_chunk_rows(B), C = (B + R - 1) / R;
    for (ptrdiff_t c = 0; c < C; c++) {
        const ptrdiff_t r0 = c * R, b = B - r0 < R ? B - r0 : R;
        FNN_(fnn_bn_sum)(b, n, X + r0 * n, part + c * n);
    }
    fnn_bn_combine(C, n, part);
    for (ptrdiff_t j = 0; j < n; j++) mean[j] = (FNN_T)(part[j] / (double)B);
    for (ptrdiff_t c = 0; c < C; c++) {
        const ptrdiff_t r0 = c * R, b = B - r0 < R ? B - r0 : R;
        FNN_(fnn_bn_sqdev)(b, n, X + r0 * n, mean, part + c * n);
    }
    fnn_bn_combine(C, n, part);
    for (ptrdiff_t j = 0; j < n; j++) {
        var[j] = (FNN_T)(part[j] / (double)B);
        istd[j] = (FNN_T)(1.0 / sqrt(part[j] / (double)B + eps));
    }
    FNN_(fnn_bn_apply)(B, n, X, gamma, beta, mean, istd, Xh, Z);
}

void FNN_(fnn_bn_forward_fixed)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, const FNN_T *gamma,
                                const FNN_T *beta, const FNN_T *m, const FNN_T *v, double eps,
                                FNN_T *istd, FNN_T *Xh, FNN_T *Z)
{
    for (ptrdiff_t r = 0; r < B; r++)
        for (ptrdiff_t j = 0; j < n; j++) {
            const FNN_T is = (FNN_T)(1.0 / sqrt((double)v[j] + eps));
            const FNN_T xh = (X[r * n + j] - m[j]) * is;
            if (Xh) Xh[r * n + j] = xh;
            Z[r * n + j] = (gamma ? gamma[j] * xh : xh) + (beta ? beta[j] : (FNN_T)0);
        }
    if (istd)
        for (ptrdiff_t j = 0; j < n; j++) istd[j] = (FNN_T)(1.0 / sqrt((double)v[j] + eps));
}

/* dgamma := Σ_r dZ·Xh, dbeta := Σ_r dZ per feature over B rows (each when non-NULL) */
static void FNN_(param_sums)(ptrdiff_t B, ptrdiff_t n, const FNN_T *dZ, const FNN_T *Xh,
                             FNN_T *dgamma, FNN_T *dbeta)
{
    if (!dgamma && !dbeta) return;
    for (ptrdiff_t j = 0; j < n; j++) {
        double sb = 0, sg = 0;
        for (ptrdiff_t r = 0; r < B; r++) {
            sb += dZ[r * n + j];
            sg += (double)dZ[r * n + j] * Xh[r * n + j];
        }
        if (dgamma) dgamma[j] = (FNN_T)sg;
        if (dbeta) dbeta[j] = (FNN_T)sb;
    }
}

void FNN_(fnn_bn_backward)(ptrdiff_t B, ptrdiff_t n, const FNN_T *Xh, const FNN_T *istd,
                           const FNN_T *gamma, const FNN_T *dZ, int batch, FNN_T *dgamma,
                           FNN_T *dbeta, FNN_T *dX, double *part)
{
    if (batch) {
        const ptrdiff_t R = fnn_chunk_rows(B), C = (B + R - 1) / R;
        double *sb = part, *sg = part + C * n;
        for (ptrdiff_t c = 0; c < C; c++) {
            const ptrdiff_t r0 = c * R, b = B - r0 < R ? B - r0 : R;
            FNN_(fnn_bn_grad_sums)(b, n, dZ + r0 * n, Xh + r0 * n, sb + c * n, sg + c * n);
        }
        fnn_bn_combine(C, n, sb);
        fnn_bn_combine(C, n, sg);
        for (ptrdiff_t j = 0; j < n; j++) {
            if (dgamma) dgamma[j] = (FNN_T)sg[j];
            if (dbeta) dbeta[j] = (FNN_T)sb[j];
        }
        if (dX) FNN_(fnn_bn_input_grad)(B, n, Xh, istd, gamma, dZ, sb, sg, (double)B, dX);
        return;
    }
    FNN_(param_sums)(B, n, dZ, Xh, dgamma, dbeta);
    if (!dX) return;
    for (ptrdiff_t r = 0; r < B; r++) /* fixed statistics: an affine map per feature */
        for (ptrdiff_t j = 0; j < n; j++)
            dX[r * n + j] = (FNN_T)((gamma ? (double)gamma[j] : 1.0) * istd[j] * dZ[r * n + j]);
}

void FNN_(fnn_ln_forward)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, const FNN_T *gamma,
                          const FNN_T *beta, double eps, FNN_T *stats, FNN_T *Xh, FNN_T *Z)
{
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *x = X + r * n;
        double s = 0, q = 0;
        for (ptrdiff_t j = 0; j < n; j++) s += x[j];
        const double mu = s / (double)n;
        for (ptrdiff_t j = 0; j < n; j++) q += (x[j] - mu) * (x[j] - mu);
        const double is = 1.0 / sqrt(q / (double)n + eps);
        if (stats) { stats[2 * r] = (FNN_T)mu; stats[2 * r + 1] = (FNN_T)is; }
        for (ptrdiff_t j = 0; j < n; j++) {
            const FNN_T xh = (FNN_T)((x[j] - mu) * is);
            if (Xh) Xh[r * n + j] = xh;
            Z[r * n + j] = (gamma ? gamma[j] * xh : xh) + (beta ? beta[j] : (FNN_T)0);
        }
    }
}

void FNN_(fnn_ln_backward)(ptrdiff_t B, ptrdiff_t n, const FNN_T *Xh, const FNN_T *stats,
                           const FNN_T *gamma, const FNN_T *dZ, FNN_T *dgamma, FNN_T *dbeta,
                           FNN_T *dX)
{
    FNN_(param_sums)(B, n, dZ, Xh, dgamma, dbeta);
    if (!dX) return;
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *dz = dZ + r * n, *xh = Xh + r * n;
        double s1 = 0, s2 = 0;
        for (ptrdiff_t j = 0; j < n; j++) {
            const double g = gamma ? (double)gamma[j] * dz[j] : dz[j];
            s1 += g;
            s2 += g * xh[j];
        }
        const double m1 = s1 / (double)n, m2 = s2 / (double)n, is = stats[2 * r + 1];
        for (ptrdiff_t j = 0; j < n; j++) {
            const double g = gamma ? (double)gamma[j] * dz[j] : dz[j];
            dX[r * n + j] = (FNN_T)(is * (g - m1 - xh[j] * m2));
        }
    }
}

/* Keras's Normalization: (x − m) / max(√v, backend.epsilon() = 1e-7) */
static double FNN_(standardize_scale)(FNN_T v)
{
    const double s = sqrt((double)v);
    return 1.0 / (s > 1e-7 ? s : 1e-7);
}

void FNN_(fnn_standardize_forward)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, const FNN_T *m,
                                   const FNN_T *v, FNN_T *Z)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        const FNN_T s = (FNN_T)FNN_(standardize_scale)(v[j]);
        for (ptrdiff_t r = 0; r < B; r++) Z[r * n + j] = (X[r * n + j] - m[j]) * s;
    }
}

void FNN_(fnn_standardize_backward)(ptrdiff_t B, ptrdiff_t n, const FNN_T *v, const FNN_T *dZ,
                                    FNN_T *dX)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        const FNN_T s = (FNN_T)FNN_(standardize_scale)(v[j]);
        for (ptrdiff_t r = 0; r < B; r++) dX[r * n + j] = dZ[r * n + j] * s;
    }
}

void FNN_(fnn_unitnorm_forward)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, FNN_T *inv, FNN_T *Z)
{
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *x = X + r * n;
        double q = 0;
        for (ptrdiff_t j = 0; j < n; j++) q += (double)x[j] * x[j];
        const double iv = q > 1e-24 ? 1.0 / sqrt(q) : 1e12; /* 1/max(‖x‖, 1e-12) */
        if (inv) inv[r] = (FNN_T)iv;
        for (ptrdiff_t j = 0; j < n; j++) Z[r * n + j] = (FNN_T)(x[j] * iv);
    }
}

void FNN_(fnn_unitnorm_backward)(ptrdiff_t B, ptrdiff_t n, const FNN_T *X, const FNN_T *inv,
                                 const FNN_T *Z, const FNN_T *dZ, FNN_T *dX)
{
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *x = X + r * n, *z = Z + r * n, *dz = dZ + r * n;
        double q = 0, p = 0;
        for (ptrdiff_t j = 0; j < n; j++) {
            q += (double)x[j] * x[j];
            p += (double)z[j] * dz[j];
        }
        const double iv = inv[r];
        if (!(q > 1e-24)) p = 0; /* the floor: z = x·1e12, a linear map */
        for (ptrdiff_t j = 0; j < n; j++) dX[r * n + j] = (FNN_T)(iv * (dz[j] - z[j] * p));
    }
}

void FNN_(fnn_noise_draw)(uint64_t *state, const fnn_noise *noise, ptrdiff_t count, FNN_T *M,
                          FNN_T *add)
{
    if (noise->n == 1 && noise->kind[0] == FNN_NOISE_DROPOUT && !add) {
        FNN_(fnn_dropout_mask)(state, count, noise->rate[0], M); /* plain Dropout's bits */
        return;
    }
    for (ptrdiff_t i = 0; i < count; i++) {
        double m = 1, c = 0;
        for (int k = 0; k < noise->n; k++) {
            const double p = noise->rate[k];
            double mk = 1, ck = 0;
            switch (noise->kind[k]) {
            case FNN_NOISE_DROPOUT:
                mk = fnn_rng_uniform(state) >= p ? 1.0 / (1.0 - p) : 0.0;
                break;
            case FNN_NOISE_GAUSSIAN:
                ck = p * fnn_rng_normal(state);
                break;
            case FNN_NOISE_GAUSSIAN_DROPOUT:
                mk = 1.0 + sqrt(p / (1.0 - p)) * fnn_rng_normal(state);
                break;
            case FNN_NOISE_ALPHA_DROPOUT: {
                const double ap = -1.6732632423543772848170429916717 *
                                  1.0507009873554804934193349852946;
                const double a = 1.0 / sqrt((1.0 - p) * (1.0 + p * ap * ap)), b = -a * ap * p;
                const int keep = fnn_rng_uniform(state) >= p;
                mk = keep ? a : 0.0;
                ck = (keep ? 0.0 : a * ap) + b;
                break;
            }
            }
            m *= mk; /* (x m + c) mk + ck */
            c = c * mk + ck;
        }
        M[i] = (FNN_T)m;
        if (add) add[i] = (FNN_T)c;
    }
}

void FNN_(fnn_mul_add)(ptrdiff_t n, const FNN_T *A, const FNN_T *M, const FNN_T *N, FNN_T *out)
{
    if (!N) {
        for (ptrdiff_t i = 0; i < n; i++) out[i] = A[i] * M[i];
        return;
    }
    for (ptrdiff_t i = 0; i < n; i++) out[i] = A[i] * M[i] + N[i];
}

#endif /* FNN_T */
