/* fnn_optim.c — see fnn_optim.h for the update rules. */
#ifndef FNN_T
#include <math.h>
#include "fnn_optim.h"
#define FNN_TEMPLATE_FILE "fnn_optim.c"
#include "fnn_instantiate.h"
#else

void FNN_(fnn_optim_step)(fnn_optim *opt, ptrdiff_t n, FNN_T *restrict P,
                          const FNN_T *restrict G, FNN_T *restrict S1,
                          FNN_T *restrict S2)
{
    const double lr_d = fnn_sched_lr(opt); /* before the count advances: Keras's step */
    const FNN_T lr = (FNN_T)lr_d, eps = (FNN_T)opt->epsilon;
    const FNN_T mu = (FNN_T)opt->momentum;
    opt->iterations += 1;
    switch (opt->kind) {
    case FNN_OPT_SGD:
        if (opt->momentum == 0.0) {
            for (ptrdiff_t i = 0; i < n; i++) P[i] -= lr * G[i];
        } else if (opt->nesterov) {
            for (ptrdiff_t i = 0; i < n; i++) {
                const FNN_T v = mu * S1[i] - lr * G[i];
                S1[i] = v;
                P[i] += mu * v - lr * G[i];
            }
        } else {
            for (ptrdiff_t i = 0; i < n; i++) {
                const FNN_T v = mu * S1[i] - lr * G[i];
                S1[i] = v;
                P[i] += v;
            }
        }
        break;
    case FNN_OPT_RMSPROP: {
        const FNN_T rho = (FNN_T)opt->rho, one_m_rho = (FNN_T)(1.0 - opt->rho);
        for (ptrdiff_t i = 0; i < n; i++) {
            const FNN_T g = G[i];
            const FNN_T v = rho * S1[i] + one_m_rho * g * g;
            S1[i] = v;
            const FNN_T step = lr * g / FNN_SQRT(v + eps);
            if (opt->momentum > 0.0) {
                S2[i] = mu * S2[i] + step;
                P[i] -= S2[i];
            } else {
                P[i] -= step;
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
            S1[i] = m;
            S2[i] = v;
            P[i] -= decay * P[i];
            P[i] -= alpha * m / (FNN_SQRT(v) + eps);
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
            S1[i] = m;
            S2[i] = v;
            P[i] -= lr * (cm * m + cg * g) / (FNN_SQRT(v * vc) + eps);
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
            S1[i] = m;
            S2[i] = u;
            P[i] -= alpha * m / (u + eps);
        }
        break;
    }
    default: /* Adagrad */
        FNN_ASSERT(opt->kind == FNN_OPT_ADAGRAD);
        for (ptrdiff_t i = 0; i < n; i++) {
            const FNN_T g = G[i];
            const FNN_T s = S1[i] + g * g;
            S1[i] = s;
            P[i] -= lr * g / FNN_SQRT(s + eps);
        }
    }
}

#endif /* FNN_T */
