/* fnn_optim.c — see fnn_optim.h for the update rules. */
#ifndef FNN_T
#include <math.h>
#include <string.h>
#include "fnn_optim.h"
#define FNN_TEMPLATE_FILE "fnn_optim.c"
#include "fnn_instantiate.h"
#else

/* |x| as the bits of its IEEE encoding without the sign: for |x| these order as the
 * values do, NaN and ±inf above every finite value, and an integer maximum is a
 * reduction the compiler vectorises (a floating-point one it may not reorder). */
static inline FNN_BITS FNN_(magnitude)(FNN_T x)
{
    FNN_BITS u;
    memcpy(&u, &x, sizeof u);
    return u & (((FNN_BITS)-1) >> 1);
}

static inline FNN_T FNN_(from_magnitude)(FNN_BITS u)
{
    FNN_T x;
    memcpy(&x, &u, sizeof x);
    return x; /* NaN or +inf when a non-finite value was seen */
}

/* One pass of the rule over n elements.  check = 0: the update, in place.  check = 1:
 * the same arithmetic on local copies, nothing stored, and the result is 1 when every
 * new value (P, S1, S2) would be finite (x − x is 0 exactly for finite x) — one
 * formula per rule, so the check predicts exactly what the update would store.  `check`
 * is a constant at both call sites, so each is compiled without the other's branches. */
static inline __attribute__((always_inline)) int FNN_(optim_pass)(
    fnn_optim *opt, ptrdiff_t n, FNN_T *restrict P, const FNN_T *restrict G,
    FNN_T *restrict S1, FNN_T *restrict S2, const int check, FNN_T *largest)
{
#define FNN_PUT(dst, val)                                   \
    do {                                                    \
        const FNN_T put_ = (val);                           \
        if (check) {                                        \
            bad |= !(put_ - put_ == 0);                     \
        } else {                                            \
            (dst) = put_;                                   \
            const FNN_BITS mag_ = FNN_(magnitude)(put_);    \
            top = mag_ > top ? mag_ : top;                  \
        }                                                   \
    } while (0)
    const double lr_d = fnn_sched_lr(opt); /* before the count advances: Keras's step */
    const FNN_T lr = (FNN_T)lr_d, eps = (FNN_T)opt->epsilon;
    const FNN_T mu = (FNN_T)opt->momentum;
    int bad = 0;
    FNN_BITS top = 0; /* the largest |value| stored, as bits (unused: optimised away) */
    opt->iterations += 1;
    switch (opt->kind) {
    case FNN_OPT_SGD:
        if (opt->momentum == 0.0) {
            for (ptrdiff_t i = 0; i < n; i++) FNN_PUT(P[i], P[i] - lr * G[i]);
        } else if (opt->nesterov) {
            for (ptrdiff_t i = 0; i < n; i++) {
                const FNN_T v = mu * S1[i] - lr * G[i];
                FNN_PUT(S1[i], v);
                FNN_PUT(P[i], P[i] + (mu * v - lr * G[i]));
            }
        } else {
            for (ptrdiff_t i = 0; i < n; i++) {
                const FNN_T v = mu * S1[i] - lr * G[i];
                FNN_PUT(S1[i], v);
                FNN_PUT(P[i], P[i] + v);
            }
        }
        break;
    case FNN_OPT_RMSPROP: {
        const FNN_T rho = (FNN_T)opt->rho, one_m_rho = (FNN_T)(1.0 - opt->rho);
        for (ptrdiff_t i = 0; i < n; i++) {
            const FNN_T g = G[i];
            const FNN_T v = rho * S1[i] + one_m_rho * g * g;
            FNN_PUT(S1[i], v);
            const FNN_T step = lr * g / FNN_SQRT(v + eps);
            if (opt->momentum > 0.0) {
                const FNN_T m = mu * S2[i] + step;
                FNN_PUT(S2[i], m);
                FNN_PUT(P[i], P[i] - m);
            } else {
                FNN_PUT(P[i], P[i] - step);
            }
        }
        break;
    }
    case FNN_OPT_ADAM:
    case FNN_OPT_ADAMW: {
        const double t = (double)opt->iterations;
        const FNN_T alpha = (FNN_T)(lr_d * sqrt(1.0 - pow(opt->beta_2, t)) /
                                    (1.0 - pow(opt->beta_1, t)));
        const FNN_T c1 = (FNN_T)(1.0 - opt->beta_1), c2 = (FNN_T)(1.0 - opt->beta_2);
        const FNN_T decay = (FNN_T)(opt->kind == FNN_OPT_ADAMW ? lr_d * opt->weight_decay : 0.0);
        for (ptrdiff_t i = 0; i < n; i++) {
            const FNN_T g = G[i];
            const FNN_T m = S1[i] + c1 * (g - S1[i]);
            const FNN_T v = S2[i] + c2 * (g * g - S2[i]);
            FNN_PUT(S1[i], m);
            FNN_PUT(S2[i], v);
            FNN_T w = P[i];
            w -= decay * w;
            FNN_PUT(P[i], w - alpha * m / (FNN_SQRT(v) + eps));
        }
        break;
    }
    case FNN_OPT_NADAM: {
        const double t = (double)opt->iterations, b1 = opt->beta_1;
        const double mu_t = b1 * (1.0 - 0.5 * pow(0.96, 0.004 * t));
        const double mu_next = b1 * (1.0 - 0.5 * pow(0.96, 0.004 * (t + 1.0)));
        const double prod = opt->u_product * mu_t, prod_next = prod * mu_next;
        opt->u_product = prod;
        const FNN_T cm = (FNN_T)(mu_next / (1.0 - prod_next));
        const FNN_T cg = (FNN_T)((1.0 - mu_t) / (1.0 - prod));
        const FNN_T vc = (FNN_T)(1.0 / (1.0 - pow(opt->beta_2, t)));
        const FNN_T c1 = (FNN_T)(1.0 - b1), c2 = (FNN_T)(1.0 - opt->beta_2);
        for (ptrdiff_t i = 0; i < n; i++) {
            const FNN_T g = G[i];
            const FNN_T m = S1[i] + c1 * (g - S1[i]);
            const FNN_T v = S2[i] + c2 * (g * g - S2[i]);
            FNN_PUT(S1[i], m);
            FNN_PUT(S2[i], v);
            FNN_PUT(P[i], P[i] - lr * (cm * m + cg * g) / (FNN_SQRT(v * vc) + eps));
        }
        break;
    }
    case FNN_OPT_ADAMAX: {
        const double t = (double)opt->iterations;
        const FNN_T alpha = (FNN_T)(lr_d / (1.0 - pow(opt->beta_1, t)));
        const FNN_T c1 = (FNN_T)(1.0 - opt->beta_1), b2 = (FNN_T)opt->beta_2;
        for (ptrdiff_t i = 0; i < n; i++) {
            const FNN_T g = G[i], ag = FNN_FABS(g);
            const FNN_T m = S1[i] + c1 * (g - S1[i]);
            const FNN_T u = b2 * S2[i] > ag ? b2 * S2[i] : ag;
            FNN_PUT(S1[i], m);
            FNN_PUT(S2[i], u);
            FNN_PUT(P[i], P[i] - alpha * m / (u + eps));
        }
        break;
    }
    default: /* Adagrad */
        FNN_ASSERT(opt->kind == FNN_OPT_ADAGRAD);
        for (ptrdiff_t i = 0; i < n; i++) {
            const FNN_T g = G[i];
            const FNN_T s = S1[i] + g * g;
            FNN_PUT(S1[i], s);
            FNN_PUT(P[i], P[i] - lr * g / FNN_SQRT(s + eps));
        }
    }
    *largest = FNN_(from_magnitude)(top);
    return !bad;
#undef FNN_PUT
}

void FNN_(fnn_optim_step)(fnn_optim *opt, ptrdiff_t n, FNN_T *restrict P,
                          const FNN_T *restrict G, FNN_T *restrict S1,
                          FNN_T *restrict S2)
{
    FNN_T unused;
    (void)FNN_(optim_pass)(opt, n, P, G, S1, S2, 0, &unused);
}

double FNN_(fnn_optim_step_max)(fnn_optim *opt, ptrdiff_t n, FNN_T *P, const FNN_T *G,
                                FNN_T *S1, FNN_T *S2)
{
    FNN_T top;
    (void)FNN_(optim_pass)(opt, n, P, G, S1, S2, 0, &top);
    return (double)top;
}

int FNN_(fnn_optim_finite)(const fnn_optim *opt, ptrdiff_t n, const FNN_T *P,
                           const FNN_T *G, const FNN_T *S1, const FNN_T *S2)
{
    fnn_optim o = *opt; /* the step's scalars; the caller's count does not advance */
    FNN_T unused;
    return FNN_(optim_pass)(&o, n, (FNN_T *)P, G, (FNN_T *)S1, (FNN_T *)S2, 1, &unused);
}

double FNN_(fnn_max_abs)(ptrdiff_t n, const FNN_T *p)
{
    FNN_BITS top = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_BITS m = FNN_(magnitude)(p[i]);
        top = m > top ? m : top;
    }
    const FNN_T t = FNN_(from_magnitude)(top);
    return t - t == 0 ? (double)t : INFINITY; /* NaN or inf seen: +inf */
}

#endif /* FNN_T */
