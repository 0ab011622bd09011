/* fnn_isa.h — the instruction-set levels and the table of kernels each provides.
 *
 * The network loops and the kernels they use are compiled three times:
 * portable (csrc/fnn_*.c, SSE2 on x86-64), AVX2+FMA (fnn_isa_avx2.c) and
 * AVX-512 (fnn_isa_avx512.c).  fastnn/_kernels/_core.pyx keeps one pointer to
 * a table and calls through it, so a call costs one indirect jump whatever the
 * level; the table is chosen at import and by set_isa(). */
#ifndef FNN_ISA_H
#define FNN_ISA_H
#include "fnn_common.h"
#include "fnn_dense.h"
#include "fnn_activations.h"
#include "fnn_losses.h"
#include "fnn_optim.h"
#include "fnn_net.h"

enum { FNN_ISA_BASELINE = 0, FNN_ISA_AVX2 = 1, FNN_ISA_AVX512 = 2, FNN_N_ISAS = 3 };

typedef struct {
    double (*net_loss_grad_f32)(const fnn_net *, const float *, float *, float *, ptrdiff_t,
                                ptrdiff_t, const float *, const float *, uint64_t *, double *);
    double (*net_loss_grad_f64)(const fnn_net *, const double *, double *, double *, ptrdiff_t,
                                ptrdiff_t, const double *, const double *, uint64_t *, double *);
    int (*net_train_f32)(const fnn_net *, fnn_optim *, float *, float *, float *, float *,
                         float *, ptrdiff_t, const float *, const float *, const int64_t *,
                         ptrdiff_t, ptrdiff_t, uint64_t *, double *, ptrdiff_t *);
    int (*net_train_f64)(const fnn_net *, fnn_optim *, double *, double *, double *, double *,
                         double *, ptrdiff_t, const double *, const double *, const int64_t *,
                         ptrdiff_t, ptrdiff_t, uint64_t *, double *, ptrdiff_t *);
    void (*net_evaluate_f32)(const fnn_net *, const float *, float *, ptrdiff_t, const float *,
                             const float *, ptrdiff_t, double *);
    void (*net_evaluate_f64)(const fnn_net *, const double *, double *, ptrdiff_t,
                             const double *, const double *, ptrdiff_t, double *);
    void (*net_predict_f32)(const fnn_net *, const float *, float *, ptrdiff_t, const float *,
                            ptrdiff_t, float *);
    void (*net_predict_f64)(const fnn_net *, const double *, double *, ptrdiff_t,
                            const double *, ptrdiff_t, double *);
    /* single kernels, for the kernel-vs-reference tests */
    void (*dense_forward_f32)(const fnn_blas *, ptrdiff_t, ptrdiff_t, ptrdiff_t, const float *,
                              const float *, const float *, float *);
    void (*dense_forward_f64)(const fnn_blas *, ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *,
                              const double *, const double *, double *);
    void (*dense_backward_f32)(const fnn_blas *, ptrdiff_t, ptrdiff_t, ptrdiff_t, const float *,
                               const float *, const float *, float *, float *, float *);
    void (*dense_backward_f64)(const fnn_blas *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                               const double *, const double *, const double *, double *,
                               double *, double *);
    void (*act_forward_f32)(int, ptrdiff_t, ptrdiff_t, const float *, float *);
    void (*act_forward_f64)(int, ptrdiff_t, ptrdiff_t, const double *, double *);
    void (*act_backward_f32)(int, ptrdiff_t, ptrdiff_t, const float *, const float *, float *);
    void (*act_backward_f64)(int, ptrdiff_t, ptrdiff_t, const double *, const double *,
                             double *);
    double (*loss_f32)(int, int, ptrdiff_t, ptrdiff_t, const float *, const float *,
                       const float *, float *);
    double (*loss_f64)(int, int, ptrdiff_t, ptrdiff_t, const double *, const double *,
                       const double *, double *);
    void (*optim_step_f32)(fnn_optim *, ptrdiff_t, float *, const float *, float *, float *);
    void (*optim_step_f64)(fnn_optim *, ptrdiff_t, double *, const double *, double *, double *);
    void (*net_predict_par_f32)(const fnn_net *, fnn_pool *, int, fnn_adapt *, const float *,
                                float *, ptrdiff_t, const float *, ptrdiff_t, float *);
    void (*net_predict_par_f64)(const fnn_net *, fnn_pool *, int, fnn_adapt *, const double *,
                                double *, ptrdiff_t, const double *, ptrdiff_t, double *);
} fnn_kernels;

/* The table of the kernels whose names end in S (empty for the baseline). */
#define FNN_KERNEL_TABLE(S) FNN_KERNEL_TABLE_(S)
#define FNN_KERNEL_TABLE_(S)                              \
    {                                                     \
        .net_loss_grad_f32 = fnn_net_loss_grad_f32##S,    \
        .net_loss_grad_f64 = fnn_net_loss_grad_f64##S,    \
        .net_train_f32 = fnn_net_train_f32##S,            \
        .net_train_f64 = fnn_net_train_f64##S,            \
        .net_evaluate_f32 = fnn_net_evaluate_f32##S,      \
        .net_evaluate_f64 = fnn_net_evaluate_f64##S,      \
        .net_predict_f32 = fnn_net_predict_f32##S,        \
        .net_predict_f64 = fnn_net_predict_f64##S,        \
        .dense_forward_f32 = fnn_dense_forward_f32##S,    \
        .dense_forward_f64 = fnn_dense_forward_f64##S,    \
        .dense_backward_f32 = fnn_dense_backward_f32##S,  \
        .dense_backward_f64 = fnn_dense_backward_f64##S,  \
        .act_forward_f32 = fnn_act_forward_f32##S,        \
        .act_forward_f64 = fnn_act_forward_f64##S,        \
        .act_backward_f32 = fnn_act_backward_f32##S,      \
        .act_backward_f64 = fnn_act_backward_f64##S,      \
        .loss_f32 = fnn_loss_f32##S,                      \
        .loss_f64 = fnn_loss_f64##S,                      \
        .optim_step_f32 = fnn_optim_step_f32##S,          \
        .optim_step_f64 = fnn_optim_step_f64##S,          \
        .net_predict_par_f32 = fnn_net_predict_par_f32##S, \
        .net_predict_par_f64 = fnn_net_predict_par_f64##S  \
    }

extern const fnn_kernels fnn_kernels_baseline, fnn_kernels_avx2, fnn_kernels_avx512;

/* 1 if this CPU and OS can run the level's build: AVX2 and FMA with the ymm
 * state enabled; AVX-512 F/VL/BW/DQ with the opmask and zmm states enabled.
 * 0 elsewhere (other architectures and compilers build the same code without
 * the target, so every symbol exists). */
int fnn_have_avx2(void);
int fnn_have_avx512(void);
/* 1 if fnn_have_avx512() and bit `bit` of register `reg` (0 eax, 1 ebx, 2 ecx,
 * 3 edx) of CPUID leaf 7, sub-leaf `subleaf` is set (AVX512_BF16: 1, 0, 5;
 * AVX512_VNNI: 0, 2, 11); 0 elsewhere */
int fnn_have_avx512_feature(unsigned subleaf, int reg, int bit);

/* The kernels of `level` (FNN_ISA_*), or NULL when the level is unknown or
 * fnn_have_*() says this CPU cannot run it. */
const fnn_kernels *fnn_isa_kernels(int level);

#endif
