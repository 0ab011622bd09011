/* fnn_regularize.c — see fnn_regularize.h. */
#ifndef FNN_T
#include <math.h>
#include "fnn_regularize.h"
#define FNN_TEMPLATE_FILE "fnn_regularize.c"
#include "fnn_instantiate.h"
#else

double FNN_(fnn_regularize)(ptrdiff_t n, const FNN_T *W, double l1, double l2, FNN_T *G)
{
    double s1 = 0, s2 = 0;
    const FNN_T c1 = (FNN_T)l1, c2 = (FNN_T)(2.0 * l2);
    for (ptrdiff_t i = 0; i < n; i++) {
        const FNN_T w = W[i];
        s1 += FNN_FABS(w);
        s2 += (double)w * w;
        if (G) G[i] += c1 * (FNN_T)((w > 0) - (w < 0)) + c2 * w;
    }
    return l1 * s1 + l2 * s2;
}

#endif /* FNN_T */
