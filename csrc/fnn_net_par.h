/* fnn_net_par.h — one training step split over fastnn's threads (fnn_pool.h); part
 * of fnn_net.c's template (included there, so it shares that file's helpers).
 *
 * The batch's B rows are cut into chunks of R rows (R depends on B only).  Phase 1,
 * one item per chunk: gather the chunk's rows, forward, loss, and the backward
 * recursion δ[l−1] = (δ[l]·W[l]ᵀ) ⊙ m ⊙ f'(z[l−1]) — all row-local, written into
 * the chunk's rows of the step's workspace.  Phase 2, one item per block of rows of
 * a layer's weight gradient: ∂C/∂W[l] rows i0..i1 = a[l−1][:, i0..i1]ᵀ·δ[l] over all
 * B rows (and ∂C/∂b[l] with the first block), so no gradient is ever summed across
 * threads.  Every product is single-threaded; the dropout masks are drawn before
 * phase 1 in the serial loop's order, and the loss and metric sums are kept per
 * chunk and added in chunk order: a step gives the same bits whichever threads run
 * which items, and on one thread (fnn_adapt's other mode) too.
 *
 * A batch norm on batch statistics needs the whole batch between two row-local
 * stretches, so phase 1 becomes passes over the same chunks, cut at each such layer:
 * forward up to it, ending with each chunk's sums of its input; (the caller adds them
 * in chunk order: the mean) a pass of the chunks' squared deviations (the variance);
 * the next forward pass starts by normalizing.  Backward the same way: down to the
 * batch norm's δ, ending with each chunk's Σδ and Σδ·x̂; (added in chunk order: ∂β,
 * ∂γ) then from its input gradient on down.  fnn_bn_forward_train and
 * fnn_bn_backward reduce by the same chunks, so the statistics are those of one
 * thread, bit for bit.
 *
 * A sparse input (fnn_net_sparse.h) is read in place by the chunks in the gather
 * pass (the first, the only one that runs layer 0, a dense layer), and the first
 * layer's weight gradient is one item: a scatter over all B rows. */

#define FNN_PAR_CHUNKS 16     /* at most this many row chunks per step */
#define FNN_PAR_MIN_ROWS 64   /* and at least this many rows per chunk */
#define FNN_PAR_ITEMS 256     /* weight-gradient blocks per step */
#define FNN_PAR_PACKED 64     /* layers whose δ may be packed whole per step */
#define FNN_PAR_BLOCK_MACS ((ptrdiff_t)1 << 23)  /* multiply-adds per block, at least */

typedef struct {
    const fnn_net *net;
    const FNN_T *P;
    FNN_T *G, *ws;
    ptrdiff_t cap, B, R;
    const FNN_T *X, *Y;
    const int64_t *order;     /* the step's B source rows */
    int dropout;
    double data[FNN_PAR_CHUNKS];
    double sums[FNN_PAR_CHUNKS][FNN_N_SUMS];
    ptrdiff_t n_items;
    ptrdiff_t item_layer[FNN_PAR_ITEMS], item_i0[FNN_PAR_ITEMS], item_i1[FNN_PAR_ITEMS];
    int grad_max;              /* 1: each item measures its rows' max |gradient| */
    double item_gmax[FNN_PAR_ITEMS];
    /* the pass: forward over layers [from, to) (gathering first when gather), then the
       sums of the input of batch norm `stat` (stat >= 0) or the loss and the backward
       down to δ[low]; a backward pass (from < 0) goes from δ[to] down to δ[low]; a
       backward ends with the sums of δ[low] when layer low is a batch norm on batch
       statistics; sqdev: the squared deviations of batch norm `stat`'s input */
    ptrdiff_t from, to, stat, low;
    int gather, sqdev;
    /* per layer: its δ packed for the weight gradient (fnn_net_bf16_delta), or NULL;
       layers from FNN_PAR_PACKED on pack theirs per product */
    const uint32_t *delta_pack[FNN_PAR_PACKED];
} FNN_(par_step);

static int FNN_(batch_stats)(const fnn_layer *L)
{
    return L->kind == FNN_STAGE_BATCHNORM && !L->frozen;
}

/* Row 0 of layer l's input in the workspace (masked under dropout). */
static FNN_T *FNN_(par_input)(const FNN_(par_step) *s, ptrdiff_t l)
{
    const fnn_net *net = s->net;
    if (l == 0)
        return s->ws + s->cap * (s->dropout && net->input_noise.n > 0 ? net->ws_xd : net->ws_x);
    const fnn_layer *Lp = &net->layers[l - 1];
    return s->ws + s->cap * (s->dropout && Lp->noise.n > 0 ? Lp->ws_ad : Lp->ws_a);
}

/* δ[l−1] from δ[l] on chunk c's rows (r0, b), for l = top down to low + 1, then the
 * sums of δ[low] when that layer is a batch norm on batch statistics. */
static void FNN_(par_back)(FNN_(par_step) *s, ptrdiff_t c, ptrdiff_t r0, ptrdiff_t b,
                           ptrdiff_t top, ptrdiff_t low)
{
    const fnn_net *net = s->net;
    FNN_T *ws = s->ws;
    const ptrdiff_t cap = s->cap, C = (s->B + s->R - 1) / s->R;
    for (ptrdiff_t l = top; l > low; l--) { /* δ[l−1] on this chunk's rows */
        const fnn_layer *L = &net->layers[l], *Lp = &net->layers[l - 1];
        const ptrdiff_t wp = Lp->n_out;
        FNN_T *dprev = ws + cap * Lp->ws_d + r0 * wp;
        const FNN_T *d = ws + cap * L->ws_d + r0 * L->n_out;
        if (L->kind == FNN_STAGE_DENSE) {
            const fnn_blas lb = fnn_layer_blas(net, L);
            FNN_(fnn_dense_backward_input)(&lb, b, s->B, L->n_in, L->n_out, d,
                                           s->P + L->w_off, dprev);
        } else if (FNN_(batch_stats)(L)) { /* with the batch's sums (par_loss_grad) */
            const ptrdiff_t n = L->n_out;
            const double *part = FNN_(bn_part)(L, ws, cap);
            FNN_(fnn_bn_input_grad)(b, n, ws + cap * L->ws_xh + r0 * n,
                                    ws + cap * L->ws_st + 2 * n,
                                    L->w_off >= 0 ? s->P + L->w_off : NULL, d, part,
                                    part + C * n, (double)s->B, dprev);
        } else {
            FNN_(stage_backward_rows)(L, s->P, ws, cap, r0, b,
                                      FNN_(par_input)(s, l) + r0 * L->n_in, d, dprev);
        }
        if (s->dropout && Lp->noise.n > 0)
            FNN_(fnn_mul)(b * wp, dprev, ws + cap * Lp->ws_m + r0 * wp, dprev);
        FNN_(fnn_act_backward)(Lp->act, b, wp, ws + cap * Lp->ws_z + r0 * wp,
                               ws + cap * Lp->ws_a + r0 * wp, dprev);
    }
    const fnn_layer *Lb = &net->layers[low];
    if (FNN_(batch_stats)(Lb)) {
        const ptrdiff_t n = Lb->n_out;
        double *part = FNN_(bn_part)(Lb, ws, cap);
        FNN_(fnn_bn_grad_sums)(b, n, ws + cap * Lb->ws_d + r0 * n, ws + cap * Lb->ws_xh + r0 * n,
                               part + c * n, part + (C + c) * n);
    }
}

static void FNN_(par_rows)(void *vs, ptrdiff_t c)
{
    FNN_(par_step) *s = (FNN_(par_step) *)vs;
    const fnn_net *net = s->net;
    FNN_T *ws = s->ws;
    const ptrdiff_t cap = s->cap, r0 = c * s->R;
    const ptrdiff_t b = s->B - r0 < s->R ? s->B - r0 : s->R;
    const ptrdiff_t n0 = net->layers[0].n_in, ky = net->y_cols, last = net->n_layers - 1;
    FNN_T *xb = ws + cap * net->ws_x + r0 * n0, *yb = ws + cap * net->ws_y + r0 * ky;
    if (s->sqdev) { /* batch norm `stat`: this chunk's Σ (x − mean)² */
        const fnn_layer *L = &net->layers[s->stat];
        const ptrdiff_t n = L->n_out;
        FNN_(fnn_bn_sqdev)(b, n, FNN_(par_input)(s, s->stat) + r0 * n, ws + cap * L->ws_st,
                           FNN_(bn_part)(L, ws, cap) + c * n);
        return;
    }
    if (s->from < 0) { /* a backward pass */
        FNN_(par_back)(s, c, r0, b, s->to, s->low);
        return;
    }
    if (s->gather) {
        for (ptrdiff_t r = 0; r < b; r++) { /* gather this chunk's rows */
            const int64_t src = s->order[r0 + r];
            if (!net->sparse_x) /* a sparse input's rows are read in place, by order */
                fnn_copy_row(xb + r * n0, s->X + src * n0, (size_t)n0 * sizeof(FNN_T));
            fnn_copy_row(yb + r * ky, s->Y + src * ky, (size_t)ky * sizeof(FNN_T));
        }
        if (s->dropout && net->input_noise.n > 0)
            FNN_(fnn_mul_add)(b * n0, xb, ws + cap * net->ws_xm + r0 * n0,
                              net->ws_xn >= 0 ? ws + cap * net->ws_xn + r0 * n0 : NULL,
                              FNN_(par_input)(s, 0) + r0 * n0);
    }
    for (ptrdiff_t l = s->from; l < s->to; l++) { /* forward */
        const fnn_layer *L = &net->layers[l];
        const ptrdiff_t w = L->n_out;
        FNN_T *z = ws + cap * L->ws_z + r0 * w, *a = ws + cap * L->ws_a + r0 * w;
        const FNN_T *in = FNN_(par_input)(s, l) + r0 * L->n_in;
        if (l == 0 && net->sparse_x) { /* in the gather pass only (from = 0) */
            FNN_(sparse_first_forward)(net, s->P, b, s->order + r0, 0, z);
        } else if (FNN_(batch_stats)(L)) { /* the batch's statistics, from the passes before */
            const FNN_T *st = ws + cap * L->ws_st;
            FNN_(fnn_bn_apply)(b, w, in, L->w_off >= 0 ? s->P + L->w_off : NULL,
                               L->b_off >= 0 ? s->P + L->b_off : NULL, st, st + 2 * w,
                               ws + cap * L->ws_xh + r0 * w, z);
        } else {
            FNN_(stage_forward)(net, L, s->P, ws, cap, r0, b, in, z, 1);
        }
        FNN_(fnn_act_forward)(L->act, b, w, z, a);
        if (s->dropout && L->noise.n > 0)
            FNN_(fnn_mul_add)(b * w, a, ws + cap * L->ws_m + r0 * w,
                              L->ws_n >= 0 ? ws + cap * L->ws_n + r0 * w : NULL,
                              ws + cap * L->ws_ad + r0 * w);
    }
    if (s->stat >= 0) { /* batch norm `stat`: this chunk's sums of its input */
        const fnn_layer *L = &net->layers[s->stat];
        FNN_(fnn_bn_sum)(b, L->n_out, FNN_(par_input)(s, s->stat) + r0 * L->n_out,
                         FNN_(bn_part)(L, ws, cap) + c * L->n_out);
        return;
    }
    const fnn_layer *Lo = &net->layers[last];
    const ptrdiff_t k = Lo->n_out;
    FNN_T *zo = ws + cap * Lo->ws_z + r0 * k, *ao = ws + cap * Lo->ws_a + r0 * k;
    FNN_T *d = ws + cap * Lo->ws_d + r0 * k;
    memset(s->sums[c], 0, sizeof s->sums[c]);
    s->data[c] = FNN_(weighted_loss)(net, b, s->B, zo, ao, yb, d, s->sums[c]);
    if (!net->fused) FNN_(fnn_act_backward)(Lo->act, b, k, zo, ao, d);
    FNN_(par_back)(s, c, r0, b, last, s->low);
}

/* The passes of phase 1 (see the top of this file) over `chunks` chunks; the batch
 * norms' sums added in chunk order between them; their ∂γ, ∂β into G (and into
 * *gmax, the largest |value|, when grad_max). */
static void FNN_(par_phase1)(FNN_(par_step) *s, int threads, ptrdiff_t chunks, double *gmax)
{
    const fnn_net *net = s->net;
    const ptrdiff_t last = net->n_layers - 1;
    ptrdiff_t from = 0, top_bn = -1;
    s->gather = 1;
    s->sqdev = 0;
    for (ptrdiff_t l = 0; l <= last; l++) { /* forward, cut at each batch norm */
        const fnn_layer *L = &net->layers[l];
        if (!FNN_(batch_stats)(L)) continue;
        const ptrdiff_t n = L->n_out;
        FNN_T *st = s->ws + s->cap * L->ws_st;
        double *part = FNN_(bn_part)(L, s->ws, s->cap);
        s->from = from; s->to = l; s->stat = l;
        fnn_pool_run(net->pool, threads, FNN_(par_rows), s, chunks);
        fnn_bn_combine(chunks, n, part);
        for (ptrdiff_t j = 0; j < n; j++) st[j] = (FNN_T)(part[j] / (double)s->B);
        s->sqdev = 1;
        fnn_pool_run(net->pool, threads, FNN_(par_rows), s, chunks);
        s->sqdev = 0;
        fnn_bn_combine(chunks, n, part);
        for (ptrdiff_t j = 0; j < n; j++) {
            st[n + j] = (FNN_T)(part[j] / (double)s->B);
            st[2 * n + j] = (FNN_T)(1.0 / sqrt(part[j] / (double)s->B + L->epsilon));
        }
        s->gather = 0;
        from = l;
        top_bn = l;
    }
    s->from = from; s->to = last + 1; s->stat = -1; s->low = top_bn < 0 ? 0 : top_bn;
    fnn_pool_run(net->pool, threads, FNN_(par_rows), s, chunks);
    *gmax = 0;
    for (ptrdiff_t l = top_bn; l >= 0; l--) { /* backward, from batch norm to batch norm */
        const fnn_layer *L = &net->layers[l];
        if (!FNN_(batch_stats)(L)) continue;
        const ptrdiff_t n = L->n_out;
        double *part = FNN_(bn_part)(L, s->ws, s->cap);
        fnn_bn_combine(chunks, n, part);
        fnn_bn_combine(chunks, n, part + chunks * n);
        for (ptrdiff_t j = 0; j < n; j++) {
            if (L->w_off >= 0) s->G[L->w_off + j] = (FNN_T)part[chunks * n + j];
            if (L->b_off >= 0) s->G[L->b_off + j] = (FNN_T)part[j];
        }
        if (L->w_off >= 0) *gmax = fmax(*gmax, FNN_(fnn_max_abs)(n, s->G + L->w_off));
        if (L->b_off >= 0) *gmax = fmax(*gmax, FNN_(fnn_max_abs)(n, s->G + L->b_off));
        if (l == 0) break;
        ptrdiff_t low = l - 1;
        while (low > 0 && !FNN_(batch_stats)(&net->layers[low])) low--;
        s->from = -1; s->to = l; s->low = low;
        fnn_pool_run(net->pool, threads, FNN_(par_rows), s, chunks);
    }
}

static void FNN_(par_weights)(void *vs, ptrdiff_t i)
{
    FNN_(par_step) *s = (FNN_(par_step) *)vs;
    const ptrdiff_t l = s->item_layer[i], i0 = s->item_i0[i];
    const fnn_layer *L = &s->net->layers[l];
    const FNN_T *delta = s->ws + s->cap * L->ws_d;
    if (L->kind != FNN_STAGE_DENSE) { /* a layer norm's γ and β, over all rows */
        FNN_(stage_backward_params)(L, s->P, s->G, s->ws, s->cap, s->B, 1);
        if (s->grad_max) {
            double top = 0;
            if (L->w_off >= 0) top = FNN_(fnn_max_abs)(L->n_out, s->G + L->w_off);
            if (L->b_off >= 0) top = fmax(top, FNN_(fnn_max_abs)(L->n_out, s->G + L->b_off));
            s->item_gmax[i] = top;
        }
        return;
    }
    if (l == 0 && s->net->sparse_x) /* one item, all rows (par_plan) */
        FNN_(sparse_backward_weights)(s->net->sparse_x, s->order, 0, s->B, L->n_in, L->n_out,
                                      delta, s->G + L->w_off);
    else {
        fnn_blas lb = fnn_layer_blas(s->net, L);
        lb.bf16_d = l < FNN_PAR_PACKED ? s->delta_pack[l] : NULL; /* packed before the items */
        FNN_(fnn_dense_backward_weights)(&lb, s->B, L->n_in, L->n_out,
                                         FNN_(par_input)(s, l), delta, i0, s->item_i1[i],
                                         s->G + L->w_off);
    }
    if (i0 == 0 && L->b_off >= 0)
        FNN_(fnn_dense_backward_bias)(s->B, L->n_out, delta, s->G + L->b_off);
    if (s->grad_max) { /* while the rows are in cache (fnn_net_train's overflow test) */
        double top = FNN_(fnn_max_abs)((s->item_i1[i] - i0) * L->n_out,
                                       s->G + L->w_off + i0 * L->n_out);
        if (i0 == 0 && L->b_off >= 0)
            top = fmax(top, FNN_(fnn_max_abs)(L->n_out, s->G + L->b_off));
        s->item_gmax[i] = top;
    }
}

/* The weight-gradient blocks of a step (up to 8 per layer, or 1 when that makes too
 * many); 0 when even one per layer is too many. */
static int FNN_(par_plan)(FNN_(par_step) *s)
{
    const fnn_net *net = s->net;
    for (ptrdiff_t most = 4; most >= 1; most = most > 1 ? 1 : 0) {
        int full = 0;
        s->n_items = 0;
        for (ptrdiff_t l = 0; l < net->n_layers && !full; l++) {
            const fnn_layer *L = &net->layers[l];
            if (FNN_(batch_stats)(L)) continue;  /* ∂γ, ∂β: from the sums (par_phase1) */
            if (L->kind != FNN_STAGE_DENSE) {  /* one item for γ and β, if any */
                if (L->w_off < 0 && L->b_off < 0) continue;
                if (s->n_items == FNN_PAR_ITEMS) { full = 1; break; }
                s->item_layer[s->n_items] = l;
                s->item_i0[s->n_items] = 0;
                s->item_i1[s->n_items] = L->n_in;
                s->n_items++;
                continue;
            }
            ptrdiff_t blocks = s->B * L->n_in * L->n_out / FNN_PAR_BLOCK_MACS;
            blocks = blocks < 1 ? 1 : (blocks > most ? most : blocks);
            blocks = blocks > L->n_in ? L->n_in : blocks;
            if (l == 0 && net->sparse_x) blocks = 1; /* a scatter over all the batch's rows */
            const ptrdiff_t rows = (L->n_in + blocks - 1) / blocks;
            for (ptrdiff_t i0 = 0; i0 < L->n_in; i0 += rows) {
                if (s->n_items == FNN_PAR_ITEMS) {
                    full = 1;
                    break;
                }
                s->item_layer[s->n_items] = l;
                s->item_i0[s->n_items] = i0;
                s->item_i1[s->n_items] = i0 + rows < L->n_in ? i0 + rows : L->n_in;
                s->n_items++;
            }
        }
        if (!full) return 1;
    }
    return 0;
}

/* fnn_net_loss_grad on the rows order[0..B) of X, Y, split into items run on `threads`
 * threads of net->pool; returns 0 in *ok (and does nothing) when the step cannot be
 * split.  With grad_max non-NULL (the gradient goes to the update as it is made), each
 * item also measures its rows, and *grad_max := max |G| (+inf if one is not finite). */
static double FNN_(par_loss_grad)(const fnn_net *net, int threads, const FNN_T *P, FNN_T *G,
                                  FNN_T *ws, ptrdiff_t cap, ptrdiff_t B, const FNN_T *X,
                                  const FNN_T *Y, const int64_t *order, uint64_t *rng,
                                  double *sums, int *ok, double *grad_max)
{
    FNN_(par_step) s;
    s.net = net; s.P = P; s.G = G; s.ws = ws; s.cap = cap; s.B = B;
    s.X = X; s.Y = Y; s.order = order; s.dropout = rng != NULL;
    s.grad_max = grad_max != NULL;
    s.R = fnn_chunk_rows(B); /* = max(⌈B/FNN_PAR_CHUNKS⌉, FNN_PAR_MIN_ROWS) */
    *ok = FNN_(par_plan)(&s);
    if (!*ok) return 0;
    if (rng) { /* the masks, in the order the serial forward draws them */
        const ptrdiff_t n0 = net->layers[0].n_in;
        if (net->input_noise.n > 0)
            FNN_(fnn_noise_draw)(rng, &net->input_noise, B * n0, ws + cap * net->ws_xm,
                                 net->ws_xn >= 0 ? ws + cap * net->ws_xn : NULL);
        for (ptrdiff_t l = 0; l < net->n_layers; l++) {
            const fnn_layer *L = &net->layers[l];
            if (L->noise.n > 0)
                FNN_(fnn_noise_draw)(rng, &L->noise, B * L->n_out, ws + cap * L->ws_m,
                                     L->ws_n >= 0 ? ws + cap * L->ws_n : NULL);
        }
    }
    const ptrdiff_t chunks = (B + s.R - 1) / s.R;
    FNN_(zero_fixed)(net, G);
    double bn_gmax;
    FNN_(par_phase1)(&s, threads, chunks, &bn_gmax);
    for (ptrdiff_t l = 0; l < net->n_layers && l < FNN_PAR_PACKED; l++) {
        fnn_blas lb = fnn_layer_blas(net, &net->layers[l]);
        if (l > 0 || !net->sparse_x)
            FNN_(pack_delta)(net, l, cap, B, ws + cap * net->layers[l].ws_d, &lb);
        s.delta_pack[l] = lb.bf16_d;
    }
    fnn_pool_run(net->pool, threads, FNN_(par_weights), &s, s.n_items);
    double data = 0;
    for (ptrdiff_t c = 0; c < chunks; c++) {
        data += s.data[c];
        for (int k = 0; k < FNN_N_SUMS; k++) sums[k] += s.sums[c][k];
    }
    const double cost = data / (double)B + FNN_(fnn_net_penalty)(net, P, G);
    sums[FNN_SUM_LOSS] += cost * (double)B;
    if (grad_max) {
        double top = bn_gmax;
        for (ptrdiff_t i = 0; i < s.n_items; i++) top = fmax(top, s.item_gmax[i]);
        *grad_max = top;
    }
    return cost;
}

/* The optimizer step over ranges of the parameters on the pool's threads: each range
 * is updated by a copy of the optimizer taken before the step (its learning rate and
 * bias corrections are the step's, whichever range), then the optimizer itself
 * advances once with an empty range.  Elementwise rules only: the same bits as one
 * fnn_optim_step. */
#define FNN_PAR_UPDATE_ITEMS 16

typedef struct {
    fnn_optim before;
    ptrdiff_t n, per;
    FNN_T *P, *S1, *S2;
    const FNN_T *G;
    double top[FNN_PAR_UPDATE_ITEMS]; /* per range: the largest |value| stored */
} FNN_(par_update);

static void FNN_(par_update_range)(void *vu, ptrdiff_t i)
{
    FNN_(par_update) *u = (FNN_(par_update) *)vu;
    fnn_optim o = u->before;
    const ptrdiff_t lo = i * u->per, len = u->n - lo < u->per ? u->n - lo : u->per;
    u->top[i] = FNN_(fnn_optim_step_max)(&o, len, u->P + lo, u->G + lo,
                                         u->S1 ? u->S1 + lo : NULL, u->S2 ? u->S2 + lo : NULL);
}

/* Returns the largest |value| stored. */
static double FNN_(par_optim_step)(const fnn_net *net, int threads, fnn_optim *opt, FNN_T *P,
                                   const FNN_T *G, FNN_T *S1, FNN_T *S2)
{
    FNN_(par_update) u;
    u.before = *opt;
    u.n = net->n_params;
    u.per = (u.n + FNN_PAR_UPDATE_ITEMS - 1) / FNN_PAR_UPDATE_ITEMS;
    u.P = P; u.G = G; u.S1 = S1; u.S2 = S2;
    const ptrdiff_t ranges = (u.n + u.per - 1) / u.per;
    fnn_pool_run(net->pool, threads, FNN_(par_update_range), &u, ranges);
    FNN_(fnn_optim_step)(opt, 0, P, G, S1, S2); /* the count, the schedule, Nadam's product */
    double top = 0;
    for (ptrdiff_t i = 0; i < ranges; i++) top = fmax(top, u.top[i]);
    return top;
}
