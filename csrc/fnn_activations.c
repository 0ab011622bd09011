/* fnn_activations.c — every activation with its derivative beside it.
 *
 * Conventions chosen here (and documented in fastnn/activations.py):
 *  - step u(z) = 1 if z >= 0 else 0; sign(z) = 1 if z >= 0 else -1 (the notes).
 *    Both have derivative 0 almost everywhere; Python warns before training
 *    through them.
 *  - ReLU'(0) = 1, as in the notes, so the derivative reads z, not a.
 *    relu_keras is the same function with ReLU'(0) = 0, the convention of
 *    Keras, TensorFlow, JAX and PyTorch (a zero-initialised layer stays dead).
 *  - sigmoid never evaluates exp of a positive argument (no overflow for z << 0).
 *  - softmax subtracts the row maximum before exp.
 *  - NaN in gives NaN out, in every forward and backward pass (IEEE-faithful):
 *    comparisons are written so that NaN takes the pass-through branch, and the
 *    derivatives of relu, step and sign turn a NaN z into a NaN gradient.  An
 *    overflow inside the network (inf − inf) therefore shows in the output. */
#ifndef FNN_T
#include <math.h>
#include <string.h>
#include "fnn_activations.h"
#include "fnn_fastmath.h"
#define FNN_TEMPLATE_FILE "fnn_activations.c"
#include "fnn_instantiate.h"
#else

/* ---- sigmoid:  a = 1 / (1 + e^{-z})          a' = a (1 − a) ---------------- */
static void FNN_(sigmoid_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    if (sizeof(FNN_T) == sizeof(float)) /* vectorised (fnn_fastmath.h) */
        fnn_fast_sigmoid_f32(n, (const float *)Z, (float *)A);
    else
        fnn_fast_sigmoid_f64(n, (const double *)Z, (double *)A);
}
static void FNN_(sigmoid_bwd)(ptrdiff_t n, const FNN_T *A, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) G[i] *= A[i] * ((FNN_T)1 - A[i]);
}

/* ---- tanh:     a = tanh z                    a' = 1 − a² --------------------- */
static void FNN_(tanh_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    if (sizeof(FNN_T) == sizeof(float))
        fnn_fast_tanh_f32(n, (const float *)Z, (float *)A);
    else
        fnn_fast_tanh_f64(n, (const double *)Z, (double *)A);
}
static void FNN_(tanh_bwd)(ptrdiff_t n, const FNN_T *A, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) G[i] *= (FNN_T)1 - A[i] * A[i];
}

/* ---- relu:     a = max(z, 0)                 a' = 1[z >= 0] ------------------ */
static void FNN_(relu_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    for (ptrdiff_t i = 0; i < n; i++) A[i] = Z[i] < 0 ? (FNN_T)0 : Z[i];
}
static void FNN_(relu_bwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        G[i] = z >= 0 ? G[i] : (z < 0 ? (FNN_T)0 : z);
    }
}

/* ---- relu_keras: a = max(z, 0)               a' = 1[z > 0] ------------------- */
static void FNN_(relu_keras_bwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        G[i] = z > 0 ? G[i] : (z <= 0 ? (FNN_T)0 : z);
    }
}

/* ---- step:     a = u(z) = 1[z >= 0]          a' = 0 (a.e.) ------------------- */
/* ---- sign:     a = 1 if z >= 0 else −1       a' = 0 (a.e.) ------------------- */
static void FNN_(step_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A, FNN_T low)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        A[i] = z >= 0 ? (FNN_T)1 : (z < 0 ? low : z);
    }
}
static void FNN_(step_bwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) G[i] = Z[i] == Z[i] ? (FNN_T)0 : Z[i];
}

/* ---- leaky_relu: a = z if z >= 0 else α z     a' = 1 if z >= 0 else α  (α = 0.2,
 *      Keras's activation default) ------------------------------------------ */
#define FNN_LEAKY_SLOPE 0.2
static void FNN_(leaky_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        A[i] = z < 0 ? (FNN_T)FNN_LEAKY_SLOPE * z : z;
    }
}
static void FNN_(leaky_bwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        G[i] = z >= 0 ? G[i] : (z < 0 ? (FNN_T)FNN_LEAKY_SLOPE * G[i] : z);
    }
}

/* ---- elu:   a = z if z > 0 else α (e^z − 1)       a' = 1 if z > 0 else a + α
 * ---- selu:  λ·elu(z) with α = 1.67326324, λ = 1.05070098 (Klambauer et al.)
 *            a' = λ if z > 0 else a + λα ------------------------------------- */
#define FNN_SELU_ALPHA 1.6732632423543772848170429916717
#define FNN_SELU_SCALE 1.0507009873554804934193349852946
static void FNN_(elu_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A, FNN_T alpha, FNN_T scale)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        A[i] = scale * (z > 0 ? z : alpha * FNN_EXPM1(z));
    }
}
static void FNN_(elu_bwd)(ptrdiff_t n, const FNN_T *Z, const FNN_T *A, FNN_T *G,
                          FNN_T alpha, FNN_T scale)
{
    for (ptrdiff_t i = 0; i < n; i++)
        G[i] *= Z[i] > 0 ? scale : A[i] + scale * alpha; /* NaN z: A is NaN */
}

/* ---- gelu:  a = z Φ(z) = ½ z (1 + erf(z/√2))      a' = Φ(z) + z φ(z),
 *            φ(z) = e^{−z²/2}/√(2π)  (exact form, Keras's default) ------------- */
static void FNN_(gelu_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        A[i] = (FNN_T)0.5 * z * ((FNN_T)1 + FNN_ERF(z * (FNN_T)0.70710678118654752440));
    }
}
static void FNN_(gelu_bwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        const FNN_T cdf = (FNN_T)0.5 * ((FNN_T)1 + FNN_ERF(z * (FNN_T)0.70710678118654752440));
        const FNN_T pdf = FNN_EXP((FNN_T)-0.5 * z * z) * (FNN_T)0.39894228040143267794;
        G[i] *= cdf + z * pdf;
    }
}

/* ---- softplus: a = log(1 + e^z) = max(z, 0) + log1p(e^{−|z|})   a' = σ(z) ---- */
static inline FNN_T FNN_(sigma)(FNN_T z)
{
    if (z >= 0) return (FNN_T)1 / ((FNN_T)1 + FNN_EXP(-z));
    const FNN_T e = FNN_EXP(z);
    return e / ((FNN_T)1 + e);
}
static void FNN_(softplus_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T z = Z[i];
        A[i] = (z > 0 ? z : (FNN_T)0) + FNN_LOG1P(FNN_EXP(-FNN_FABS(z)));
    }
}
static void FNN_(softplus_bwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) G[i] *= FNN_(sigma)(Z[i]);
}

/* ---- swish / silu: a = z σ(z)                 a' = σ(z) + a (1 − σ(z)) ------- */
static void FNN_(swish_fwd)(ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    for (ptrdiff_t i = 0; i < n; i++) A[i] = Z[i] * FNN_(sigma)(Z[i]);
}
static void FNN_(swish_bwd)(ptrdiff_t n, const FNN_T *Z, const FNN_T *A, FNN_T *G)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T s = FNN_(sigma)(Z[i]);
        G[i] *= s + A[i] * ((FNN_T)1 - s);
    }
}

/* ---- softmax:  a_i = e^{z_i − m} / Σ_j e^{z_j − m},  m = max_j z_j
 *               ∂C/∂z_i = a_i (g_i − Σ_j g_j a_j) ---------------------------- */
static void FNN_(softmax_fwd)(ptrdiff_t B, ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *z = Z + r * n;
        FNN_T *a = A + r * n;
        FNN_T m = z[0], s = 0;
        for (ptrdiff_t j = 1; j < n; j++) m = z[j] > m ? z[j] : m;
        for (ptrdiff_t j = 0; j < n; j++) a[j] = z[j] - m;
        if (sizeof(FNN_T) == sizeof(float)) fnn_fast_exp_f32(n, (const float *)a, (float *)a);
        else fnn_fast_exp_f64(n, (const double *)a, (double *)a);
        for (ptrdiff_t j = 0; j < n; j++) s += a[j];
        const FNN_T inv = (FNN_T)1 / s;
        for (ptrdiff_t j = 0; j < n; j++) a[j] *= inv;
    }
}
static void FNN_(softmax_bwd)(ptrdiff_t B, ptrdiff_t n, const FNN_T *A, FNN_T *G)
{
    for (ptrdiff_t r = 0; r < B; r++) {
        const FNN_T *a = A + r * n;
        FNN_T *g = G + r * n;
        FNN_T s = 0;
        for (ptrdiff_t j = 0; j < n; j++) s += g[j] * a[j];
        for (ptrdiff_t j = 0; j < n; j++) g[j] = a[j] * (g[j] - s);
    }
}

void FNN_(fnn_act_forward)(int id, ptrdiff_t B, ptrdiff_t n, const FNN_T *Z, FNN_T *A)
{
    const ptrdiff_t total = B * n;
    switch (id) {
    case FNN_ACT_SIGMOID: FNN_(sigmoid_fwd)(total, Z, A); break;
    case FNN_ACT_TANH: FNN_(tanh_fwd)(total, Z, A); break;
    case FNN_ACT_RELU:
    case FNN_ACT_RELU_KERAS: FNN_(relu_fwd)(total, Z, A); break;
    case FNN_ACT_SOFTMAX: FNN_(softmax_fwd)(B, n, Z, A); break;
    case FNN_ACT_STEP: FNN_(step_fwd)(total, Z, A, (FNN_T)0); break;
    case FNN_ACT_SIGN: FNN_(step_fwd)(total, Z, A, (FNN_T)-1); break;
    case FNN_ACT_LEAKY_RELU: FNN_(leaky_fwd)(total, Z, A); break;
    case FNN_ACT_ELU: FNN_(elu_fwd)(total, Z, A, (FNN_T)1, (FNN_T)1); break;
    case FNN_ACT_SELU:
        FNN_(elu_fwd)(total, Z, A, (FNN_T)FNN_SELU_ALPHA, (FNN_T)FNN_SELU_SCALE);
        break;
    case FNN_ACT_GELU: FNN_(gelu_fwd)(total, Z, A); break;
    case FNN_ACT_SOFTPLUS: FNN_(softplus_fwd)(total, Z, A); break;
    case FNN_ACT_SWISH: FNN_(swish_fwd)(total, Z, A); break;
    default: /* linear */
        FNN_ASSERT(id == FNN_ACT_LINEAR);
        if (A != Z) memcpy(A, Z, (size_t)total * sizeof(FNN_T));
    }
}

void FNN_(fnn_act_backward)(int id, ptrdiff_t B, ptrdiff_t n, const FNN_T *Z,
                            const FNN_T *A, FNN_T *G)
{
    const ptrdiff_t total = B * n;
    switch (id) {
    case FNN_ACT_SIGMOID: FNN_(sigmoid_bwd)(total, A, G); break;
    case FNN_ACT_TANH: FNN_(tanh_bwd)(total, A, G); break;
    case FNN_ACT_RELU: FNN_(relu_bwd)(total, Z, G); break;
    case FNN_ACT_RELU_KERAS: FNN_(relu_keras_bwd)(total, Z, G); break;
    case FNN_ACT_SOFTMAX: FNN_(softmax_bwd)(B, n, A, G); break;
    case FNN_ACT_STEP:
    case FNN_ACT_SIGN: FNN_(step_bwd)(total, Z, G); break;
    case FNN_ACT_LEAKY_RELU: FNN_(leaky_bwd)(total, Z, G); break;
    case FNN_ACT_ELU: FNN_(elu_bwd)(total, Z, A, G, (FNN_T)1, (FNN_T)1); break;
    case FNN_ACT_SELU:
        FNN_(elu_bwd)(total, Z, A, G, (FNN_T)FNN_SELU_ALPHA, (FNN_T)FNN_SELU_SCALE);
        break;
    case FNN_ACT_GELU: FNN_(gelu_bwd)(total, Z, G); break;
    case FNN_ACT_SOFTPLUS: FNN_(softplus_bwd)(total, Z, G); break;
    case FNN_ACT_SWISH: FNN_(swish_bwd)(total, Z, A, G); break;
    default: FNN_ASSERT(id == FNN_ACT_LINEAR); /* a' = 1 */
    }
}

#endif /* FNN_T */
