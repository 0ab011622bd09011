/* fnn_isa.c — the portable build's kernel table and the choice of a level's
 * table (fnn_isa.h).  Compiled without any target: it runs on every CPU. */
#include "fnn_isa.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

const fnn_kernels fnn_kernels_baseline = FNN_KERNEL_TABLE();

int fnn_have_avx512_feature(unsigned subleaf, int reg, int bit)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    unsigned int r[4];
    if (!fnn_have_avx512() || __get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, subleaf, r[0], r[1], r[2], r[3]);
    return (int)((r[reg] >> bit) & 1u);
#else
    (void)subleaf; (void)reg; (void)bit;
    return 0;
#endif
}

const fnn_kernels *fnn_isa_kernels(int level)
{
    switch (level) {
    case FNN_ISA_BASELINE: return &fnn_kernels_baseline;
    case FNN_ISA_AVX2: return fnn_have_avx2() ? &fnn_kernels_avx2 : NULL;
    case FNN_ISA_AVX512: return fnn_have_avx512() ? &fnn_kernels_avx512 : NULL;
    default: return NULL;
    }
}
