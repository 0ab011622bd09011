/* fnn_activations.h — activations f and their derivatives, applied to a
 * (B, n) block of pre-activations.
 *
 *   forward:  A := f(Z)              A may alias Z (in-place), also for softmax
 *   backward: G := G ⊙ f'(Z)         in place on G = ∂C/∂a, giving ∂C/∂z;
 *             softmax applies its Jacobian:  g_i := a_i (g_i − Σ_j g_j a_j)
 *
 * Preconditions: B >= 0, n >= 1, id a valid FNN_ACT_*; Z and A hold the same
 * forward pass (backward reads whichever is cheaper); G does not alias Z or A.
 */
#ifndef FNN_ACTIVATIONS_H
#define FNN_ACTIVATIONS_H
#include "fnn_common.h"

#define FNN_ACT_PROTOS(T, S)                                                      \
    void fnn_act_forward_##S(int id, ptrdiff_t B, ptrdiff_t n, const T *Z, T *A);  \
    void fnn_act_backward_##S(int id, ptrdiff_t B, ptrdiff_t n, const T *Z,         \
                              const T *A, T *G);

FNN_ACT_PROTOS(float, f32)
FNN_ACT_PROTOS(double, f64)
FNN_ACT_PROTOS(float, f32_avx2)   /* fnn_isa_avx2.c */
FNN_ACT_PROTOS(double, f64_avx2)
FNN_ACT_PROTOS(float, f32_avx512)   /* fnn_isa_avx512.c */
FNN_ACT_PROTOS(double, f64_avx512)

#endif
