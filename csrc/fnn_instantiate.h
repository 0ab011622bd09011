/* fnn_instantiate.h — compile the generic kernel file FNN_TEMPLATE_FILE once
 * for float (names ending _f32) and once for double (_f64).  When FNN_ISA is
 * defined (fnn_isa_avx2.c), it is appended to every name: fnn_dense_forward_f32_avx2.
 *
 * In a kernel file: FNN_T is the element type, FNN_(name) the suffixed name,
 * FNN_GEMM(blas) the matching BLAS gemm pointer. */
#ifndef FNN_ISA
#define FNN_ISA /* empty: the portable baseline */
#endif
#define FNN_PASTE_(a, b, c) a##b##c
#define FNN_PASTE(a, b, c) FNN_PASTE_(a, b, c)

#define FNN_T float
#define FNN_(name) FNN_PASTE(name, _f32, FNN_ISA)
#define FNN_GEMM(blas) ((blas)->sgemm)
#define FNN_GEMV(blas) ((blas)->sgemv)
#define FNN_EXP expf
#define FNN_LOG logf
#define FNN_LOG1P log1pf
#define FNN_TANH tanhf
#define FNN_SQRT sqrtf
#define FNN_FABS fabsf
#define FNN_EXPM1 expm1f
#define FNN_ERF erff
#define FNN_BITS uint32_t /* an unsigned integer as wide as FNN_T */
#include FNN_TEMPLATE_FILE
#undef FNN_T
#undef FNN_
#undef FNN_GEMM
#undef FNN_GEMV
#undef FNN_EXP
#undef FNN_LOG
#undef FNN_LOG1P
#undef FNN_TANH
#undef FNN_SQRT
#undef FNN_FABS
#undef FNN_EXPM1
#undef FNN_ERF
#undef FNN_BITS

#define FNN_T double
#define FNN_(name) FNN_PASTE(name, _f64, FNN_ISA)
#define FNN_GEMM(blas) ((blas)->dgemm)
#define FNN_GEMV(blas) ((blas)->dgemv)
#define FNN_EXP exp
#define FNN_LOG log
#define FNN_LOG1P log1p
#define FNN_TANH tanh
#define FNN_SQRT sqrt
#define FNN_FABS fabs
#define FNN_EXPM1 expm1
#define FNN_ERF erf
#define FNN_BITS uint64_t
#include FNN_TEMPLATE_FILE
#undef FNN_T
#undef FNN_
#undef FNN_GEMM
#undef FNN_GEMV
#undef FNN_EXP
#undef FNN_LOG
#undef FNN_LOG1P
#undef FNN_TANH
#undef FNN_SQRT
#undef FNN_FABS
#undef FNN_EXPM1
#undef FNN_ERF
#undef FNN_BITS
#undef FNN_TEMPLATE_FILE
