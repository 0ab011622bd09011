/* fnn_isa_avx2.c — the whole training and inference path compiled a second
 * time for x86-64 CPUs with AVX2 and FMA (Haswell, 2013, and later), under
 * the names *_avx2, with its table fnn_kernels_avx2 (fnn_isa.h).  The shipped
 * build stays portable (no -march=native): fastnn/_kernels/_core.pyx asks
 * fnn_have_avx2() at import and calls these only where the CPU has both.
 * On other compilers or CPUs the same names are compiled without the target,
 * so every symbol exists and fnn_have_avx2() returns 0.
 *
 * FMA is enabled, but GCC fuses a·b + c only where C allows it: setup.py's
 * -std=c11 (ISO mode) implies -ffp-contract=off, so neither this build nor the
 * AVX-512 one contains an FMA instruction and every level computes the same
 * bits as the baseline (tests/test_isa.py).  Contraction (#pragma GCC optimize
 * ("fp-contract=fast") here) was measured faster on the 2-16-16-1 net and no
 * faster where BLAS dominates; it would give up that identity (bench notes in
 * benchmarks/README.md). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx2,fma")
#define FNN_HAVE_AVX2_TARGET 1
#endif

#define FNN_ISA _avx2
#include "fnn_isa_build.h"

int fnn_have_avx2(void)
{
#ifdef FNN_HAVE_AVX2_TARGET
    /* libgcc's CPUID reading also requires the OS to save the ymm state (XCR0) */
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}
