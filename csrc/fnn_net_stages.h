/* fnn_net_stages.h — what one layer of the plan computes, by kind (fnn_net.h
 * FNN_STAGE_*: dense, or a normalization of fnn_norm.h), forward and backward; part of
 * fnn_net.c's template (included there), used by its serial loops and by the split
 * step (fnn_net_par.h). */

/* A batch norm's scratch for the chunks' partial sums: 2·16·n doubles at most, after
 * its mean, var and 1/std in ws_st (8·n + 1 units of cap >= 1 elements hold them). */
static double *FNN_(bn_part)(const fnn_layer *L, FNN_T *ws, ptrdiff_t cap)
{
    uintptr_t p = (uintptr_t)(ws + cap * L->ws_st + 3 * L->n_out);
    return (double *)((p + 7) & ~(uintptr_t)7);
}

/* z := layer L's output before its activation for the B rows `in`, which are rows
 * r0.. of the batch (the row-wise statistics go to those rows of the workspace);
 * training: a batch norm takes the batch's statistics (then r0 = 0 and B is the whole
 * batch).  ws NULL: inference, nothing kept for a backward pass. */
static void FNN_(stage_forward)(const fnn_net *net, const fnn_layer *L, const FNN_T *P,
                                FNN_T *ws, ptrdiff_t cap, ptrdiff_t r0, ptrdiff_t B,
                                const FNN_T *in, FNN_T *z, int training)
{
    const ptrdiff_t n = L->n_out;
    const FNN_T *g = L->w_off >= 0 ? P + L->w_off : NULL;
    const FNN_T *b = L->b_off >= 0 ? P + L->b_off : NULL;
    FNN_T *xh = ws && L->ws_xh >= 0 ? ws + cap * L->ws_xh + r0 * n : NULL;
    FNN_T *st = ws && L->ws_st >= 0 ? ws + cap * L->ws_st : NULL;
    switch (L->kind) {
    case FNN_STAGE_BATCHNORM:
        if (training && !L->frozen && st)
            FNN_(fnn_bn_forward_train)(B, n, in, g, b, L->epsilon, st, st + n, st + 2 * n, xh, z,
                                       FNN_(bn_part)(L, ws, cap));
        else
            FNN_(fnn_bn_forward_fixed)(B, n, in, g, b, P + L->s_off, P + L->s_off + n,
                                       L->epsilon, st ? st + 2 * n : NULL, xh, z);
        break;
    case FNN_STAGE_LAYERNORM:
        FNN_(fnn_ln_forward)(B, n, in, g, b, L->epsilon, st ? st + 2 * r0 : NULL, xh, z);
        break;
    case FNN_STAGE_STANDARDIZE:
        FNN_(fnn_standardize_forward)(B, n, in, P + L->s_off, P + L->s_off + n, z);
        break;
    case FNN_STAGE_UNITNORM:
        FNN_(fnn_unitnorm_forward)(B, n, in, st ? st + r0 : NULL, z);
        break;
    default: {
        const fnn_blas lb = fnn_layer_blas(net, L); /* bfloat16 inputs when mixed */
        FNN_(fnn_dense_forward)(&lb, B, L->n_in, n, in, P + L->w_off, b, z);
    }
    }
}

/* dX (B rows r0.. of the batch) := ∂C/∂(input) of a normalization layer from its δ;
 * not for a dense layer nor a batch norm on batch statistics (those need the whole
 * batch: stage_backward). */
static void FNN_(stage_backward_rows)(const fnn_layer *L, const FNN_T *P, const FNN_T *ws,
                                      ptrdiff_t cap, ptrdiff_t r0, ptrdiff_t B,
                                      const FNN_T *in, const FNN_T *d, FNN_T *dX)
{
    const ptrdiff_t n = L->n_out;
    const FNN_T *g = L->w_off >= 0 ? P + L->w_off : NULL;
    const FNN_T *xh = L->ws_xh >= 0 ? ws + cap * L->ws_xh + r0 * n : NULL;
    const FNN_T *st = L->ws_st >= 0 ? ws + cap * L->ws_st : NULL;
    switch (L->kind) {
    case FNN_STAGE_BATCHNORM: /* fixed statistics */
        FNN_(fnn_bn_backward)(B, n, xh, st + 2 * n, g, d, 0, NULL, NULL, dX, NULL);
        break;
    case FNN_STAGE_LAYERNORM:
        FNN_(fnn_ln_backward)(B, n, xh, st + 2 * r0, g, d, NULL, NULL, dX);
        break;
    case FNN_STAGE_STANDARDIZE:
        FNN_(fnn_standardize_backward)(B, n, P + L->s_off + n, d, dX);
        break;
    case FNN_STAGE_UNITNORM:
        FNN_(fnn_unitnorm_backward)(B, n, in, st + r0, ws + cap * L->ws_z + r0 * n, d, dX);
        break;
    }
}

/* The gradient of a normalization layer's γ and β over the batch's B rows into G
 * (where it has them). */
static void FNN_(stage_backward_params)(const fnn_layer *L, const FNN_T *P, FNN_T *G,
                                        FNN_T *ws, ptrdiff_t cap, ptrdiff_t B, int training)
{
    const ptrdiff_t n = L->n_out;
    FNN_T *dg = L->w_off >= 0 ? G + L->w_off : NULL, *db = L->b_off >= 0 ? G + L->b_off : NULL;
    if (!dg && !db) return;
    const FNN_T *xh = ws + cap * L->ws_xh, *st = ws + cap * L->ws_st, *d = ws + cap * L->ws_d;
    if (L->kind == FNN_STAGE_BATCHNORM)
        FNN_(fnn_bn_backward)(B, n, xh, st + 2 * n, NULL, d, training && !L->frozen, dg, db,
                              NULL, FNN_(bn_part)(L, ws, cap));
    else if (L->kind == FNN_STAGE_LAYERNORM)
        FNN_(fnn_ln_backward)(B, n, xh, st, NULL, d, dg, db, NULL);
}

/* Layer l's backward over the whole batch: its parameters' gradient into G and, when
 * dprev is non-NULL, δ·∂z/∂(input) into dprev. */
static void FNN_(stage_backward)(const fnn_net *net, const fnn_layer *L, const FNN_T *P,
                                 FNN_T *G, FNN_T *ws, ptrdiff_t cap, ptrdiff_t B,
                                 const FNN_T *in, FNN_T *dprev)
{
    const FNN_T *d = ws + cap * L->ws_d;
    if (L->kind == FNN_STAGE_DENSE) {
        fnn_blas lb = fnn_layer_blas(net, L); /* bfloat16 inputs when mixed */
        FNN_(pack_delta)(net, L - net->layers, cap, B, d, &lb);
        FNN_(fnn_dense_backward)(&lb, B, L->n_in, L->n_out, in, d, P + L->w_off,
                                 G + L->w_off, L->b_off >= 0 ? G + L->b_off : NULL, dprev);
        return;
    }
    if (L->kind == FNN_STAGE_BATCHNORM && !L->frozen) { /* through the batch statistics */
        const FNN_T *st = ws + cap * L->ws_st;
        FNN_(fnn_bn_backward)(B, L->n_out, ws + cap * L->ws_xh, st + 2 * L->n_out,
                              L->w_off >= 0 ? P + L->w_off : NULL, d, 1,
                              L->w_off >= 0 ? G + L->w_off : NULL,
                              L->b_off >= 0 ? G + L->b_off : NULL, dprev,
                              FNN_(bn_part)(L, ws, cap));
        return;
    }
    FNN_(stage_backward_params)(L, P, G, ws, cap, B, 1);
    if (dprev) FNN_(stage_backward_rows)(L, P, ws, cap, 0, B, in, d, dprev);
}

