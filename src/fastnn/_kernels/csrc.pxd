# csrc.pxd — the one mirror of the C kernels' prototypes (csrc/fastnn.h).
# Preconditions are documented in the C headers; callers in .pyx check them.
from libc.stdint cimport uint64_t, uint32_t, int64_t, int32_t, int8_t, uint8_t

cdef extern from "fastnn.h" nogil:
    # Every id set of csrc/, member by member: the one place Cython (and, through
    # fastnn._kernels._core's IntEnums, Python) learns the numbers.  C (fnn_common.h,
    # fnn_net.h, fnn_norm.h, fnn_optim.h) assigns them; tests/test_enums.py holds this
    # list equal to the headers.
    enum:  # activations (fnn_common.h)
        FNN_ACT_LINEAR
        FNN_ACT_SIGMOID
        FNN_ACT_TANH
        FNN_ACT_RELU
        FNN_ACT_SOFTMAX
        FNN_ACT_STEP
        FNN_ACT_SIGN
        FNN_ACT_LEAKY_RELU
        FNN_ACT_ELU
        FNN_ACT_SELU
        FNN_ACT_GELU
        FNN_ACT_SOFTPLUS
        FNN_ACT_SWISH
        FNN_ACT_RELU_KERAS
        FNN_N_ACTS
    enum:  # losses (fnn_common.h)
        FNN_LOSS_MSE
        FNN_LOSS_BCE
        FNN_LOSS_CCE
        FNN_LOSS_SPARSE_CCE
        FNN_LOSS_MAE
        FNN_LOSS_HUBER
        FNN_LOSS_LOG_COSH
        FNN_LOSS_POISSON
        FNN_LOSS_KLD
        FNN_LOSS_HINGE
        FNN_LOSS_SQUARED_HINGE
        FNN_N_LOSSES
    enum:  # accuracy kinds (fnn_common.h)
        FNN_ACC_NONE
        FNN_ACC_BINARY
        FNN_ACC_CATEGORICAL
        FNN_ACC_SPARSE
        FNN_N_ACCS
    enum:  # slots of the metric sums (fnn_common.h)
        FNN_SUM_LOSS
        FNN_SUM_ACC
        FNN_SUM_MAE
        FNN_SUM_MSE
        FNN_SUM_ACC_PLAIN
        FNN_SUM_MAE_PLAIN
        FNN_SUM_MSE_PLAIN
        FNN_N_SUMS
    enum:  # optimizers (fnn_common.h)
        FNN_OPT_SGD
        FNN_OPT_RMSPROP
        FNN_OPT_ADAM
        FNN_OPT_ADAMW
        FNN_OPT_ADAGRAD
        FNN_OPT_NADAM
        FNN_OPT_ADAMAX
        FNN_N_OPTS
    enum:  # learning-rate schedules (fnn_optim.h)
        FNN_SCHED_NONE
        FNN_SCHED_EXPONENTIAL
        FNN_SCHED_INVERSE_TIME
        FNN_SCHED_PIECEWISE
        FNN_SCHED_POLYNOMIAL
        FNN_SCHED_COSINE
        FNN_N_SCHEDS
    enum:  # stage kinds (fnn_net.h)
        FNN_STAGE_DENSE
        FNN_STAGE_BATCHNORM
        FNN_STAGE_LAYERNORM
        FNN_STAGE_STANDARDIZE
        FNN_STAGE_UNITNORM
        FNN_N_STAGES
    enum:  # noise kinds (fnn_norm.h)
        FNN_NOISE_DROPOUT
        FNN_NOISE_GAUSSIAN
        FNN_NOISE_GAUSSIAN_DROPOUT
        FNN_NOISE_ALPHA_DROPOUT
        FNN_N_NOISE_KINDS
        FNN_MAX_NOISE
    ctypedef void (*fnn_sgemm_t)(char *, char *, int *, int *, int *, float *, float *,
                                 int *, float *, int *, float *, float *, int *)
    ctypedef void (*fnn_dgemm_t)(char *, char *, int *, int *, int *, double *, double *,
                                 int *, double *, int *, double *, double *, int *)
    ctypedef void (*fnn_sgemv_t)(char *, int *, int *, float *, float *, int *, float *, int *,
                                 float *, float *, int *)
    ctypedef void (*fnn_dgemv_t)(char *, int *, int *, double *, double *, int *, double *, int *,
                                 double *, double *, int *)
    ctypedef struct fnn_blas:
        fnn_sgemm_t sgemm
        fnn_dgemm_t dgemm
        fnn_sgemv_t sgemv
        fnn_dgemv_t dgemv
        Py_ssize_t small_gemm
        int bf16
        const uint32_t *bf16_w
        const uint32_t *bf16_wt

    ctypedef struct fnn_optim:
        int kind
        int nesterov
        double lr, momentum, rho, beta_1, beta_2, epsilon, weight_decay
        int64_t iterations
        double clipnorm, clipvalue, global_clipnorm, u_product
        int sched, s_staircase, s_cycle, s_n
        double s_init, s_steps, s_rate, s_end, s_power, s_alpha, s_warm_steps, s_warm_target
        const double *s_bounds
        const double *s_values

    ctypedef struct fnn_noise:
        int n
        int kind[FNN_MAX_NOISE]
        double rate[FNN_MAX_NOISE]

    ctypedef struct fnn_layer:
        Py_ssize_t n_in, n_out
        int act
        int kind
        Py_ssize_t w_off, b_off, s_off, s_len
        double epsilon, momentum
        double kernel_l1, kernel_l2, bias_l1, bias_l2
        fnn_noise noise
        int frozen
        int bf16
        Py_ssize_t pk_w, pk_wt
        Py_ssize_t ws_z, ws_a, ws_d, ws_m, ws_ad, ws_n, ws_xh, ws_st

    ctypedef struct fnn_csr:
        const int64_t *indptr
        const int32_t *indices
        const void *data
        Py_ssize_t n_rows

    ctypedef struct fnn_net:
        Py_ssize_t n_layers
        fnn_layer *layers
        fnn_noise input_noise
        int loss, fused, acc, want_err
        Py_ssize_t y_cols, n_params
        int weighted
        fnn_blas blas
        fnn_pool *pool
        int threads
        fnn_adapt *adapt
        const fnn_csr *sparse_x
        uint32_t *bf16_pack
        int bf16_packed
        Py_ssize_t bf16_pack_words
        Py_ssize_t ws_x, ws_xm, ws_xd, ws_xn, ws_y, ws_units, max_width

    Py_ssize_t fnn_net_layout(fnn_net *net)
    Py_ssize_t fnn_net_bf16_delta_words(const fnn_net *net, Py_ssize_t cap)
    void fnn_net_bf16_pack(const fnn_net *net, const float *P) nogil

    # bfloat16-input products (fnn_gemm_bf16.h)
    enum:
        FNN_BF16_OFF
        FNN_BF16_EMULATED
        FNN_BF16_AVX512
        FNN_BF16_MC
    # int8 dense inference (fnn_quant.h)
    enum:
        FNN_INT8_PORTABLE
        FNN_INT8_VNNI
    int fnn_have_avx512_vnni()
    Py_ssize_t fnn_int8_packed_words(Py_ssize_t K, Py_ssize_t N)
    Py_ssize_t fnn_int8_row_bytes(Py_ssize_t K)
    void fnn_int8_pack(Py_ssize_t K, Py_ssize_t N, const int8_t *wq, int32_t *Wp, int32_t *wsum)
    int fnn_int8_quantize_rows(int mode, Py_ssize_t B, Py_ssize_t K, const float *X, uint8_t *Xq,
                               float *xs, int *zp, const float *range)
    void fnn_int8_dense(int mode, Py_ssize_t B, Py_ssize_t K, Py_ssize_t N, const uint8_t *Xq,
                        float xs, int zp, const int32_t *Wp, const int32_t *wsum,
                        const float *ws, const float *b, float *Z)
    ctypedef struct fnn_int8_layer:
        Py_ssize_t K, N
        int act
        const int32_t *Wp
        const int32_t *wsum
        const float *ws
        const float *b
    ctypedef void (*fnn_int8_act)(int, Py_ssize_t, Py_ssize_t, const float *, float *) noexcept nogil
    enum:
        FNN_INT8_BLOCK
    Py_ssize_t fnn_int8_scratch_bytes(int L, const fnn_int8_layer *layers)
    int fnn_int8_network(int mode, fnn_int8_act act, int L, const fnn_int8_layer *layers,
                         Py_ssize_t n, const float *X, float *Y, unsigned char *scratch,
                         fnn_pool *pool, int threads) nogil
    int fnn_have_avx512_bf16()
    void fnn_gemm_rm_f32(const fnn_blas *blas, int tA, int tB, Py_ssize_t M, Py_ssize_t N,
                         Py_ssize_t K, float alpha, const float *A, Py_ssize_t lda,
                         const float *B, Py_ssize_t ldb, float beta, float *C, Py_ssize_t ldc)
    void fnn_gemm_bf16(int mode, int tA, int tB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                       float alpha, const float *A, Py_ssize_t lda, const float *B,
                       Py_ssize_t ldb, float beta, float *C, Py_ssize_t ldc)
    Py_ssize_t fnn_bf16_packed_words(Py_ssize_t K, Py_ssize_t N)
    void fnn_bf16_pack_full(int mode, int tB, const float *B, Py_ssize_t ldb, Py_ssize_t K,
                            Py_ssize_t N, uint32_t *Bp)
    void fnn_gemm_bf16_packed(int mode, int tA, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                              float alpha, const float *A, Py_ssize_t lda, const uint32_t *Bp,
                              float beta, float *C, Py_ssize_t ldc)

    # fastnn's threads (fnn_pool.h)
    ctypedef struct fnn_pool:
        pass
    ctypedef struct fnn_adapt:
        double seconds[2]
        long choices
        int mode, probing, skip
    fnn_pool *fnn_pool_acquire(int threads)
    void fnn_pool_release(fnn_pool *pool)
    void fnn_pool_set_blas_threads_setter(void (*setter)(int))

    # dense
    void fnn_dense_forward_f32(const fnn_blas *blas, Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out,
                               const float *X, const float *W, const float *b, float *Z)
    void fnn_dense_forward_f64(const fnn_blas *blas, Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out,
                               const double *X, const double *W, const double *b, double *Z)
    void fnn_dense_backward_f32(const fnn_blas *blas, Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out,
                                const float *X, const float *delta, const float *W,
                                float *dW, float *db, float *dX)
    void fnn_dense_backward_f64(const fnn_blas *blas, Py_ssize_t B, Py_ssize_t n_in, Py_ssize_t n_out,
                                const double *X, const double *delta, const double *W,
                                double *dW, double *db, double *dX)
    # activations
    void fnn_act_forward_f32(int id, Py_ssize_t B, Py_ssize_t n, const float *Z, float *A)
    void fnn_act_forward_f64(int id, Py_ssize_t B, Py_ssize_t n, const double *Z, double *A)
    void fnn_act_backward_f32(int id, Py_ssize_t B, Py_ssize_t n, const float *Z, const float *A, float *G)
    void fnn_act_backward_f64(int id, Py_ssize_t B, Py_ssize_t n, const double *Z, const double *A, double *G)
    # losses and metrics
    double fnn_loss_f32(int loss, int fused, Py_ssize_t B, Py_ssize_t k, const float *Z,
                        const float *A, const float *Y, float *delta)
    double fnn_loss_f64(int loss, int fused, Py_ssize_t B, Py_ssize_t k, const double *Z,
                        const double *A, const double *Y, double *delta)
    void fnn_metrics_f32(int acc, int want_err, Py_ssize_t B, Py_ssize_t k, const float *A,
                         const float *Y, double *sums)
    void fnn_metrics_f64(int acc, int want_err, Py_ssize_t B, Py_ssize_t k, const double *A,
                         const double *Y, double *sums)
    # regularization, dropout, optimizers
    double fnn_regularize_f32(Py_ssize_t n, const float *W, double l1, double l2, float *G)
    double fnn_regularize_f64(Py_ssize_t n, const double *W, double l1, double l2, double *G)
    void fnn_noise_draw_f32(uint64_t *state, const fnn_noise *noise, Py_ssize_t count,
                            float *M, float *add)
    void fnn_noise_draw_f64(uint64_t *state, const fnn_noise *noise, Py_ssize_t count,
                            double *M, double *add)
    void fnn_dropout_mask_f32(uint64_t *state, Py_ssize_t n, double rate, float *M)
    void fnn_dropout_mask_f64(uint64_t *state, Py_ssize_t n, double rate, double *M)
    double fnn_optim_bound(const fnn_optim *o, double state, double grad)
    int fnn_optim_finite_f32(const fnn_optim *opt, Py_ssize_t n, const float *P, const float *G,
                             const float *S1, const float *S2)
    int fnn_optim_finite_f64(const fnn_optim *opt, Py_ssize_t n, const double *P, const double *G,
                             const double *S1, const double *S2)
    void fnn_optim_step_f32(fnn_optim *opt, Py_ssize_t n, float *P, const float *G, float *S1, float *S2)
    void fnn_optim_step_f64(fnn_optim *opt, Py_ssize_t n, double *P, const double *G, double *S1, double *S2)
    # rng
    void fnn_rng_seed(uint64_t *state, uint64_t seed, uint64_t stream)
    void fnn_rng_permutation(uint64_t *state, Py_ssize_t n, int64_t *out)
    void fnn_rng_fill_uniform_f32(uint64_t *state, Py_ssize_t n, double low, double high, float *out)
    void fnn_rng_fill_uniform_f64(uint64_t *state, Py_ssize_t n, double low, double high, double *out)
    void fnn_rng_fill_normal_f32(uint64_t *state, Py_ssize_t n, double mean, double std, int truncated, float *out)
    void fnn_rng_fill_normal_f64(uint64_t *state, Py_ssize_t n, double mean, double std, int truncated, double *out)
    # network loops
    double fnn_net_penalty_f32(const fnn_net *net, const float *P, float *G)
    double fnn_net_penalty_f64(const fnn_net *net, const double *P, double *G)
    double fnn_net_loss_grad_f32(const fnn_net *net, const float *P, float *G, float *ws, Py_ssize_t cap,
                                 Py_ssize_t B, const float *X, const float *Y, uint64_t *rng, double *sums)
    double fnn_net_loss_grad_f64(const fnn_net *net, const double *P, double *G, double *ws, Py_ssize_t cap,
                                 Py_ssize_t B, const double *X, const double *Y, uint64_t *rng, double *sums)
    int fnn_net_train_f32(const fnn_net *net, fnn_optim *opt, float *P, float *G, float *S1, float *S2,
                          float *ws, Py_ssize_t cap, const float *X, const float *Y, const int64_t *order,
                          Py_ssize_t n, Py_ssize_t batch, uint64_t *rng, double *sums, Py_ssize_t *n_done)
    int fnn_net_train_f64(const fnn_net *net, fnn_optim *opt, double *P, double *G, double *S1, double *S2,
                          double *ws, Py_ssize_t cap, const double *X, const double *Y, const int64_t *order,
                          Py_ssize_t n, Py_ssize_t batch, uint64_t *rng, double *sums, Py_ssize_t *n_done)
    void fnn_net_evaluate_f32(const fnn_net *net, const float *P, float *ws, Py_ssize_t cap,
                              const float *X, const float *Y, Py_ssize_t n, double *sums)
    void fnn_net_evaluate_f64(const fnn_net *net, const double *P, double *ws, Py_ssize_t cap,
                              const double *X, const double *Y, Py_ssize_t n, double *sums)
    void fnn_net_predict_f32(const fnn_net *net, const float *P, float *ws2, Py_ssize_t cap,
                             const float *X, Py_ssize_t n, float *out)
    void fnn_net_predict_f64(const fnn_net *net, const double *P, double *ws2, Py_ssize_t cap,
                             const double *X, Py_ssize_t n, double *out)
    Py_ssize_t fnn_perceptron_epoch_f32(Py_ssize_t n, Py_ssize_t n_in, const float *X, const float *y,
                                        double lr, float *w, float *b)
    Py_ssize_t fnn_perceptron_epoch_f64(Py_ssize_t n, Py_ssize_t n_in, const double *X, const double *y,
                                        double lr, double *w, double *b)
    unsigned int fnn_ftz_enter()
    void fnn_ftz_leave(unsigned int old)
    # the same loops compiled for AVX2 + FMA and for AVX-512 (csrc/fnn_isa.h):
    # one table of function pointers per instruction-set level
    enum:
        FNN_ISA_BASELINE
        FNN_ISA_AVX2
        FNN_ISA_AVX512
        FNN_N_ISAS
    ctypedef struct fnn_kernels:
        double (*net_loss_grad_f32)(const fnn_net *, const float *, float *, float *, Py_ssize_t,
                                    Py_ssize_t, const float *, const float *, uint64_t *, double *) noexcept nogil
        double (*net_loss_grad_f64)(const fnn_net *, const double *, double *, double *, Py_ssize_t,
                                    Py_ssize_t, const double *, const double *, uint64_t *, double *) noexcept nogil
        int (*net_train_f32)(const fnn_net *, fnn_optim *, float *, float *, float *, float *,
                             float *, Py_ssize_t, const float *, const float *, const int64_t *,
                             Py_ssize_t, Py_ssize_t, uint64_t *, double *, Py_ssize_t *) noexcept nogil
        int (*net_train_f64)(const fnn_net *, fnn_optim *, double *, double *, double *, double *,
                             double *, Py_ssize_t, const double *, const double *, const int64_t *,
                             Py_ssize_t, Py_ssize_t, uint64_t *, double *, Py_ssize_t *) noexcept nogil
        void (*net_evaluate_f32)(const fnn_net *, const float *, float *, Py_ssize_t, const float *,
                                 const float *, Py_ssize_t, double *) noexcept nogil
        void (*net_evaluate_f64)(const fnn_net *, const double *, double *, Py_ssize_t,
                                 const double *, const double *, Py_ssize_t, double *) noexcept nogil
        void (*net_predict_f32)(const fnn_net *, const float *, float *, Py_ssize_t, const float *,
                                Py_ssize_t, float *) noexcept nogil
        void (*net_predict_f64)(const fnn_net *, const double *, double *, Py_ssize_t,
                                const double *, Py_ssize_t, double *) noexcept nogil
        void (*dense_forward_f32)(const fnn_blas *, Py_ssize_t, Py_ssize_t, Py_ssize_t, const float *,
                                  const float *, const float *, float *) noexcept nogil
        void (*dense_forward_f64)(const fnn_blas *, Py_ssize_t, Py_ssize_t, Py_ssize_t, const double *,
                                  const double *, const double *, double *) noexcept nogil
        void (*dense_backward_f32)(const fnn_blas *, Py_ssize_t, Py_ssize_t, Py_ssize_t, const float *,
                                   const float *, const float *, float *, float *, float *) noexcept nogil
        void (*dense_backward_f64)(const fnn_blas *, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                                   const double *, const double *, const double *, double *,
                                   double *, double *) noexcept nogil
        void (*act_forward_f32)(int, Py_ssize_t, Py_ssize_t, const float *, float *) noexcept nogil
        void (*act_forward_f64)(int, Py_ssize_t, Py_ssize_t, const double *, double *) noexcept nogil
        void (*act_backward_f32)(int, Py_ssize_t, Py_ssize_t, const float *, const float *, float *) noexcept nogil
        void (*act_backward_f64)(int, Py_ssize_t, Py_ssize_t, const double *, const double *,
                                 double *) noexcept nogil
        double (*loss_f32)(int, int, Py_ssize_t, Py_ssize_t, const float *, const float *,
                           const float *, float *) noexcept nogil
        double (*loss_f64)(int, int, Py_ssize_t, Py_ssize_t, const double *, const double *,
                           const double *, double *) noexcept nogil
        void (*optim_step_f32)(fnn_optim *, Py_ssize_t, float *, const float *, float *, float *) noexcept nogil
        void (*optim_step_f64)(fnn_optim *, Py_ssize_t, double *, const double *, double *, double *) noexcept nogil
        void (*net_predict_par_f32)(const fnn_net *, fnn_pool *, int, fnn_adapt *, const float *,
                                    float *, Py_ssize_t, const float *, Py_ssize_t, float *) noexcept nogil
        void (*net_predict_par_f64)(const fnn_net *, fnn_pool *, int, fnn_adapt *, const double *,
                                    double *, Py_ssize_t, const double *, Py_ssize_t, double *) noexcept nogil
    int fnn_have_avx2()
    int fnn_have_avx512()
    const fnn_kernels *fnn_isa_kernels(int level)
