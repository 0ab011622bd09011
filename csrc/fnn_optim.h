/* fnn_optim.h — optimizer updates: one fused pass over the flat parameter
 * buffer P (all layers' W and b back to back) with its gradient G and the
 * optimizer's state slots S1, S2 (same length; unused slots may be NULL).
 * Update rules, Keras's (η = lr, t = iterations after this step):
 *
 *   SGD       μ = 0:     w −= η g
 *             μ > 0:     v = μ v − η g;  w += v               (S1 = v)
 *             nesterov:  v = μ v − η g;  w += μ v − η g
 *   RMSprop   v = ρ v + (1 − ρ) g²;  Δ = η g / √(v + ε)   (ε inside the root)
 *             μ = 0: w −= Δ;  μ > 0: m = μ m + Δ; w −= m  (S1 = v, S2 = m)
 *   Adam      m += (1 − β1)(g − m);  v += (1 − β2)(g² − v)
 *             w −= η √(1 − β2ᵗ)/(1 − β1ᵗ) · m / (√v + ε)  ("epsilon hat": ε
 *             added after the bias correction)          (S1 = m, S2 = v)
 *   AdamW     w −= η λ w  (decoupled weight decay, before the Adam step)
 *   Adagrad   s += g²;  w −= η g / √(s + ε)               (S1 = s)
 *   Nadam     Keras's: μ_t = β1 (1 − ½·0.96^(0.004 t)), Π_t = Π_{s<=t} μ_s (u_product,
 *             kept by the caller and advanced here); m, v as Adam;
 *             m̂ = μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t);
 *             v̂ = v / (1 − β2ᵗ);  w −= η m̂ / (√v̂ + ε)          (S1 = m, S2 = v)
 *   Adamax    m += (1 − β1)(g − m);  u = max(β2 u, |g|);
 *             w −= η / (1 − β1ᵗ) · m / (u + ε)                   (S1 = m, S2 = u)
 *
 * Gradient clipping (fnn_net_train, before the update, Keras's order): clipnorm
 * scales each weight tensor's gradient to norm <= clipnorm; global_clipnorm
 * scales all of them together to global norm <= global_clipnorm; clipvalue
 * clamps every element to [−clipvalue, clipvalue].  0 turns each off.
 *
 * Preconditions: n >= 0; hyper-parameters in range (Python checks them);
 * slots the rule uses are non-NULL; P, G, S1, S2 do not overlap.
 */
#ifndef FNN_OPTIM_H
#define FNN_OPTIM_H
#include <math.h>
#include "fnn_common.h"

/* Learning-rate schedule kinds (fastnn/schedules.py has the formulas' parameters). */
enum {
    FNN_SCHED_NONE = 0,          /* the constant lr */
    FNN_SCHED_EXPONENTIAL = 1,
    FNN_SCHED_INVERSE_TIME = 2,
    FNN_SCHED_PIECEWISE = 3,
    FNN_SCHED_POLYNOMIAL = 4,
    FNN_SCHED_COSINE = 5,        /* with a linear warm-up */
    FNN_N_SCHEDS = 6
};

typedef struct {
    int kind;           /* FNN_OPT_* */
    int nesterov;
    double lr, momentum, rho, beta_1, beta_2, epsilon, weight_decay;
    int64_t iterations; /* steps taken so far; each update adds one */
    double clipnorm, clipvalue, global_clipnorm; /* 0: off */
    double u_product;   /* Nadam: Π_{s<=iterations} μ_s (1 before the first step) */
    /* learning-rate schedule (fastnn/schedules.py), evaluated at every step from the
       step count before it; sched: FNN_SCHED_* */
    int sched, s_staircase, s_cycle, s_n;
    double s_init, s_steps, s_rate, s_end, s_power, s_alpha, s_warm_steps, s_warm_target;
    const double *s_bounds, *s_values; /* piecewise: s_n boundaries, s_n + 1 values */
} fnn_optim;

/* the learning rate of the next step (Keras's schedule formulas) */
static inline double fnn_sched_lr(const fnn_optim *o)
{
    const double step = (double)o->iterations;
    switch (o->sched) {
    case FNN_SCHED_EXPONENTIAL: {
        const double p = step / o->s_steps;
        return o->s_init * pow(o->s_rate, o->s_staircase ? floor(p) : p);
    }
    case FNN_SCHED_INVERSE_TIME: {
        const double p = step / o->s_steps;
        return o->s_init / (1.0 + o->s_rate * (o->s_staircase ? floor(p) : p));
    }
    case FNN_SCHED_PIECEWISE:
        for (int i = 0; i < o->s_n; i++)
            if (step <= o->s_bounds[i]) return o->s_values[i];
        return o->s_values[o->s_n];
    case FNN_SCHED_POLYNOMIAL: {
        double steps = o->s_steps, s = step;
        if (o->s_cycle) {
            const double c = ceil(s / steps);
            steps *= c > 1.0 ? c : 1.0;
        } else if (s > steps) {
            s = steps;
        }
        return (o->s_init - o->s_end) * pow(1.0 - s / steps, o->s_power) + o->s_end;
    }
    case FNN_SCHED_COSINE: {
        if (step < o->s_warm_steps)
            return o->s_init + (o->s_warm_target - o->s_init) * step / o->s_warm_steps;
        double s = step - o->s_warm_steps;
        if (s > o->s_steps) s = o->s_steps;
        const double cosine = 0.5 * (1.0 + cos(3.14159265358979323846 * s / o->s_steps));
        return o->s_warm_target * ((1.0 - o->s_alpha) * cosine + o->s_alpha);
    }
    default:
        return o->lr;
    }
}

/* An upper bound of every |value| the next step can compute, intermediate results
 * included, when |P|, |S1|, |S2| <= state and |G| <= grad (finite); from the rules
 * above with √(v + ε) >= √ε and √v + ε >= ε.  Loose (ε in the denominators), but it
 * only has to stay far below the type's largest value: fnn_net_train checks a step
 * exactly (fnn_optim_finite) only when this bound comes near it. */
static inline double fnn_optim_bound(const fnn_optim *o, double state, double grad)
{
    const double lr = fabs(fnn_sched_lr(o)), mu = fabs(o->momentum), eps = o->epsilon;
    const double t = (double)o->iterations + 1.0, M = state, g = grad;
    /* moment-like slots and the other intermediates every rule shares */
    const double m = M + g, base = fmax(fmax(m, M + g * g), lr * g);
    const double root = fmax(1.0, 1.0 / sqrt(eps)); /* 1 / √(· + ε) <= this */
    switch (o->kind) {
    case FNN_OPT_SGD:
        return fmax(base, M + (1.0 + mu) * (mu * M + lr * g) + lr * g);
    case FNN_OPT_RMSPROP:
        return fmax(base, M + mu * M + 2.0 * lr * g * root);
    case FNN_OPT_ADAM:
    case FNN_OPT_ADAMW: {
        const double alpha = lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t));
        return fmax(base, M * (1.0 + lr * fabs(o->weight_decay)) + alpha * m * (1.0 + 1.0 / eps));
    }
    case FNN_OPT_NADAM: {
        const double b1 = o->beta_1;
        const double mu_t = b1 * (1.0 - 0.5 * pow(0.96, 0.004 * t));
        const double mu_next = b1 * (1.0 - 0.5 * pow(0.96, 0.004 * (t + 1.0)));
        const double prod = o->u_product * mu_t, prod_next = prod * mu_next;
        const double cm = fabs(mu_next / (1.0 - prod_next)), cg = fabs((1.0 - mu_t) / (1.0 - prod));
        const double vc = 1.0 / (1.0 - pow(o->beta_2, t));
        const double sum = cm * m + cg * g;
        return fmax(fmax(base, (M + g * g) * vc), M + fmax(1.0, lr) * sum * (1.0 + 1.0 / eps));
    }
    case FNN_OPT_ADAMAX: {
        const double alpha = lr / (1.0 - pow(o->beta_1, t));
        return fmax(base, M + alpha * m * (1.0 + 1.0 / eps));
    }
    default: /* Adagrad */
        return fmax(base, M + 2.0 * lr * g * root);
    }
}

#define FNN_OPTIM_PROTOS(T, S)                                                      \
    void fnn_optim_step_##S(fnn_optim *opt, ptrdiff_t n, T *P, const T *G, T *S1,    \
                            T *S2);                                                 \
    /* 1 when fnn_optim_step(opt, n, ...) would leave every value of P, S1, S2         \
       finite (the same arithmetic, nothing stored, opt unchanged) */                \
    int fnn_optim_finite_##S(const fnn_optim *opt, ptrdiff_t n, const T *P,          \
                             const T *G, const T *S1, const T *S2);                   \
    /* fnn_optim_step, returning the largest |value| it stored in P, S1, S2 */         \
    double fnn_optim_step_max_##S(fnn_optim *opt, ptrdiff_t n, T *P, const T *G,       \
                                  T *S1, T *S2);                                       \
    /* max |p[i]| over n values; +inf when one is NaN or infinite (0 when n = 0) */     \
    double fnn_max_abs_##S(ptrdiff_t n, const T *p);

FNN_OPTIM_PROTOS(float, f32)
FNN_OPTIM_PROTOS(double, f64)
FNN_OPTIM_PROTOS(float, f32_avx2)   /* fnn_isa_avx2.c */
FNN_OPTIM_PROTOS(double, f64_avx2)
FNN_OPTIM_PROTOS(float, f32_avx512)   /* fnn_isa_avx512.c */
FNN_OPTIM_PROTOS(double, f64_avx512)

#endif
