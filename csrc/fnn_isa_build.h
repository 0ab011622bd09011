/* fnn_isa_build.h — the body of every fnn_isa_<level>.c: the generic kernel files
 * compiled once more under the names *_f32<FNN_ISA> and *_f64<FNN_ISA>, and their
 * table fnn_kernels<FNN_ISA>.  Include it after the file's `#pragma GCC target`,
 * with FNN_ISA defined (e.g. _avx2), so that every function below takes the target. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "fastnn.h"
#include "fnn_fastmath.h"
#include "fnn_isa.h"

#define FNN_TEMPLATE_FILE "fnn_dense.c"
#include "fnn_instantiate.h"
#define FNN_TEMPLATE_FILE "fnn_activations.c"
#include "fnn_instantiate.h"
#define FNN_TEMPLATE_FILE "fnn_losses.c"
#include "fnn_instantiate.h"
#define FNN_TEMPLATE_FILE "fnn_regularize.c"
#include "fnn_instantiate.h"
#define FNN_TEMPLATE_FILE "fnn_dropout.c"
#include "fnn_instantiate.h"
#define FNN_TEMPLATE_FILE "fnn_norm.c"
#include "fnn_instantiate.h"
#define FNN_TEMPLATE_FILE "fnn_optim.c"
#include "fnn_instantiate.h"
#define FNN_TEMPLATE_FILE "fnn_net.c"
#include "fnn_instantiate.h"

#define FNN_TABLE_NAME_(S) fnn_kernels##S
#define FNN_TABLE_NAME(S) FNN_TABLE_NAME_(S)
const fnn_kernels FNN_TABLE_NAME(FNN_ISA) = FNN_KERNEL_TABLE(FNN_ISA);
