/* fnn_isa_avx512.c — the whole training and inference path compiled a third
 * time, for x86-64 CPUs with AVX-512 F, VL, BW and DQ (Skylake-SP 2017, Ice
 * Lake, Sapphire Rapids, AMD Zen 4 and 5), under the names *_avx512 with the
 * table fnn_kernels_avx512 (fnn_isa.h).  fastnn/_kernels/_core.pyx calls these
 * only where fnn_have_avx512() returns 1.
 *
 * prefer-vector-width=512: GCC's tunings for several AVX-512 CPUs (and its
 * generic tuning in some versions) keep the vectoriser at 256-bit ymm even when
 * AVX-512 is enabled; this asks for 512-bit zmm loops.  The float32 exp, sigmoid
 * and tanh of fnn_fastmath.h run 16 lanes (they test __AVX512F__).  No FMA is
 * emitted, as in the AVX2 build (see fnn_isa_avx2.c).
 * On other compilers or CPUs the same names are compiled without the target,
 * so every symbol exists and fnn_have_avx512() returns 0. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
#define FNN_HAVE_AVX512_TARGET 1
#include <cpuid.h>
#endif

#define FNN_ISA _avx512
#include "fnn_isa_build.h"

int fnn_have_avx512(void)
{
#ifdef FNN_HAVE_AVX512_TARGET
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
          && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
          && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0;
    /* The OS must save and restore the opmask, upper-zmm0-15 and zmm16-31 states
     * (XCR0 bits 5, 6, 7) besides SSE and ymm (bits 1, 2).  GCC 12's libgcc
     * checks this before it reports avx512f (its cpuinfo.o tests XCR0 & 0xe6),
     * but an older or another compiler's runtime may not: read XCR0 here too
     * (XGETBV may run once CPUID.1:ECX.OSXSAVE is set). */
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE)) return 0;
    unsigned int xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    return (xcr0_lo & 0xE6u) == 0xE6u;
#else
    return 0;
#endif
}
