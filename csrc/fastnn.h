/* fastnn.h — umbrella header: every C kernel of fastnn. */
#ifndef FASTNN_H
#define FASTNN_H
#include "fnn_common.h"
#include "fnn_dense.h"
#include "fnn_gemm_bf16.h"
#include "fnn_quant.h"
#include "fnn_activations.h"
#include "fnn_losses.h"
#include "fnn_regularize.h"
#include "fnn_dropout.h"
#include "fnn_norm.h"
#include "fnn_optim.h"
#include "fnn_rng.h"
#include "fnn_pool.h"
#include "fnn_net.h"
#include "fnn_fpenv.h"
#include "fnn_isa.h"
#endif
