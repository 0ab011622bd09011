/* fnn_net_sparse.h — the first layer's products when its input is a CSR matrix
 * (fnn_csr, fnn_net.h); part of fnn_net.c's template (included there).
 *
 * For the batch rows x_r (row src_r of the CSR matrix), with the values v_p at the
 * columns j_p of that row:
 *   forward   z_r = b + Σ_p v_p · W[j_p, :]          (Z = X·W + b without the zeros)
 *   weights   ∂C/∂W = Xᵀ·δ:  ∂C/∂W[j, :] = Σ_r Σ_{p: j_p = j} v_p · δ_r
 * The weight gradient keeps the dense layer's meaning: every row of ∂C/∂W is
 * written, zero for the features no row of the batch holds, so that clipping,
 * penalties and every optimizer (whose momentum and Adam moments move all rows)
 * see what they see on the densified matrix.  No input gradient: the input is
 * data.  Cost O(nnz · n_out) per product, plus O(n_in · n_out) to clear ∂C/∂W. */

/* Source row of batch row r: rows[r], or row0 + r when rows is NULL. */
static inline ptrdiff_t FNN_(csr_row)(const int64_t *rows, ptrdiff_t row0, ptrdiff_t r)
{
    return rows ? (ptrdiff_t)rows[r] : row0 + r;
}

/* Z := X[rows]·W + b over B rows (b may be NULL). */
static void FNN_(sparse_forward)(const fnn_csr *X, const int64_t *rows, ptrdiff_t row0,
                                 ptrdiff_t B, ptrdiff_t n_out, const FNN_T *W,
                                 const FNN_T *b, FNN_T *Z)
{
    const FNN_T *v = (const FNN_T *)X->data;
    for (ptrdiff_t r = 0; r < B; r++) {
        const ptrdiff_t src = FNN_(csr_row)(rows, row0, r);
        FNN_ASSERT(src >= 0 && src < X->n_rows);
        FNN_T *restrict z = Z + r * n_out;
        if (b) fnn_copy_row(z, b, (size_t)n_out * sizeof(FNN_T));
        else memset(z, 0, (size_t)n_out * sizeof(FNN_T));
        for (int64_t p = X->indptr[src]; p < X->indptr[src + 1]; p++) {
            const FNN_T a = v[p];
            const FNN_T *restrict w = W + (ptrdiff_t)X->indices[p] * n_out;
            for (ptrdiff_t j = 0; j < n_out; j++) z[j] += a * w[j];
        }
    }
}

/* dW (n_in, n_out) := X[rows]ᵀ·δ over B rows. */
static void FNN_(sparse_backward_weights)(const fnn_csr *X, const int64_t *rows,
                                          ptrdiff_t row0, ptrdiff_t B, ptrdiff_t n_in,
                                          ptrdiff_t n_out, const FNN_T *delta, FNN_T *dW)
{
    const FNN_T *v = (const FNN_T *)X->data;
    memset(dW, 0, (size_t)(n_in * n_out) * sizeof(FNN_T));
    for (ptrdiff_t r = 0; r < B; r++) {
        const ptrdiff_t src = FNN_(csr_row)(rows, row0, r);
        FNN_ASSERT(src >= 0 && src < X->n_rows);
        const FNN_T *restrict d = delta + r * n_out;
        for (int64_t p = X->indptr[src]; p < X->indptr[src + 1]; p++) {
            const FNN_T a = v[p];
            FNN_ASSERT(X->indices[p] >= 0 && X->indices[p] < n_in);
            FNN_T *restrict g = dW + (ptrdiff_t)X->indices[p] * n_out;
            for (ptrdiff_t j = 0; j < n_out; j++) g[j] += a * d[j];
        }
    }
}

/* The plan's promise for a sparse input (fastnn/_training_checks.py refuses the
 * rest): layer 0 is a dense stage and the input has no dropout or noise. */
static inline void FNN_(sparse_plan_assert)(const fnn_net *net)
{
    FNN_ASSERT(!net->sparse_x || (net->layers[0].kind == FNN_STAGE_DENSE &&
                                  net->input_noise.n == 0));
    (void)net;
}

/* Layer 0's forward product on B batch rows of the CSR matrix net->sparse_x (rows[r],
 * or row0 + r when rows is NULL). */
static void FNN_(sparse_first_forward)(const fnn_net *net, const FNN_T *P, ptrdiff_t B,
                                       const int64_t *rows, ptrdiff_t row0, FNN_T *z)
{
    const fnn_layer *L = &net->layers[0];
    FNN_(sparse_plan_assert)(net);
    FNN_(sparse_forward)(net->sparse_x, rows, row0, B, L->n_out, P + L->w_off,
                         L->b_off >= 0 ? P + L->b_off : NULL, z);
}
