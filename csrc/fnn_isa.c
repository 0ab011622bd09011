/* fnn_isa.c — the portable build's kernel table and the choice of a level's
 * table (fnn_isa.h).  Compiled without any target: it runs on every CPU. */
#include "fnn_isa.h"

const fnn_kernels fnn_kernels_baseline = FNN_KERNEL_TABLE();

const fnn_kernels *fnn_isa_kernels(int level)
{
    switch (level) {
    case FNN_ISA_BASELINE: return &fnn_kernels_baseline;
    case FNN_ISA_AVX2: return fnn_have_avx2() ? &fnn_kernels_avx2 : NULL;
    case FNN_ISA_AVX512: return fnn_have_avx512() ? &fnn_kernels_avx512 : NULL;
    default: return NULL;
    }
}
