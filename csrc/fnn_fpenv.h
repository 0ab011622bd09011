/* fnn_fpenv.h — flush subnormal numbers to zero while training.
 *
 * Exponentially decaying state (Adam's and RMSprop's moments, momentum's
 * velocity) of a parameter whose gradient is zero — a dead ReLU unit, a dropped
 * input — shrinks by β each step and becomes subnormal after a few hundred
 * steps; x86 then takes a microcode assist on every operation touching it.
 * Measured: Adam at batch 1 on a 64-512-512-10 ReLU net with dropout, 20 % of
 * the first moments subnormal after one epoch and the next epochs 3.8× slower.
 * As TensorFlow does on CPUs, the epoch loop runs with FTZ (results below the
 * smallest normal number become 0) and DAZ (such inputs read as 0): a value
 * below 1.2e-38 (float32) or 2.2e-308 (float64) is zero in training.  The mode
 * is per thread; fnn_ftz_enter saves it and fnn_ftz_leave puts it back, so
 * predict, evaluate and the caller's own code are unaffected.  Elsewhere than
 * x86-64 both are no-ops. */
#ifndef FNN_FPENV_H
#define FNN_FPENV_H

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
static inline unsigned int fnn_ftz_enter(void)
{
    const unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
static inline void fnn_ftz_leave(unsigned int old) { _mm_setcsr(old); }
#else
static inline unsigned int fnn_ftz_enter(void) { return 0; }
static inline void fnn_ftz_leave(unsigned int old) { (void)old; }
#endif

#endif
