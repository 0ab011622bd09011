/* fnn_regularize.h — L1 / L2 weight penalties (Keras convention: no ½, no 1/n).
 *
 *   penalty = l1·Σ|w| + l2·Σw²          returned
 *   G      += l1·sign(w) + 2·l2·w        if G != NULL   (sign(0) = 0)
 *
 * Preconditions: n >= 0; l1, l2 finite and >= 0.
 */
#ifndef FNN_REGULARIZE_H
#define FNN_REGULARIZE_H
#include "fnn_common.h"

#define FNN_REG_PROTOS(T, S)                                                       \
    double fnn_regularize_##S(ptrdiff_t n, const T *W, double l1, double l2, T *G);

FNN_REG_PROTOS(float, f32)
FNN_REG_PROTOS(double, f64)
FNN_REG_PROTOS(float, f32_avx2)   /* fnn_isa_avx2.c */
FNN_REG_PROTOS(double, f64_avx2)
FNN_REG_PROTOS(float, f32_avx512)   /* fnn_isa_avx512.c */
FNN_REG_PROTOS(double, f64_avx512)

#endif
