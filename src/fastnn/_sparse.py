"""Sparse inputs: ``scipy.sparse`` CSR and CSC matrices and arrays as ``x``.

The bag-of-words models (10,000 multi-hot features, ~1 % non-zero) train on the
rows of a CSR matrix read in place by the C loops: the first layer's forward is
``z = b + Σ_p v_p W[j_p, :]`` over a row's non-zeros and its weight gradient a
scatter into the rows of W of the batch's features (csrc/fnn_net_sparse.h).  The
results are those of the densified matrix to float tolerance: the gradient keeps
the dense meaning (zero rows included), so every optimizer, penalty and clipping
rule sees what it sees on ``x.toarray()``.  The whole matrix is never densified.

Every structural fact C relies on is checked here, with messages for users, before
any array reaches C (which checks the structure once more when the CSRRows is made):
the format, dtypes of indices and values, ``indptr`` (length, start, monotone, end),
indices in range, values finite after the cast to the model's dtype.  Repeated
columns in a row add up and unsorted columns are allowed, as in ``toarray()``.
CSC input is validated as CSC (its own indptr and indices), then converted to CSR.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._kernels._core import CSRRows, all_finite

__all__ = ["is_sparse", "as_sparse_rows", "n_samples", "CSRRows"]

_INDEX_TYPES = (np.int32, np.int64)


def is_sparse(x: Any) -> bool:
    """True for a scipy.sparse matrix or array, without importing scipy.sparse for
    plain arrays."""
    if isinstance(x, (np.ndarray, list, tuple, CSRRows)) or x is None:
        return False
    module = type(x).__module__ or ""
    if not module.startswith("scipy.sparse"):
        return False
    import scipy.sparse as sp
    return bool(sp.issparse(x))


def n_samples(x: Any) -> int:
    """len(x) for a sparse matrix (its rows) or anything np.asarray takes."""
    if is_sparse(x):
        return int(x.shape[0])
    return len(np.asarray(x))


def _check_compressed(func: str, name: str, x: Any, n_major: int, n_minor: int,
                      axis: str) -> tuple[np.ndarray, np.ndarray]:
    """indptr (as int64) and indices (as given) of a CSR (axis 'row') or CSC
    ('column') matrix after every structural check."""
    indptr, indices = x.indptr, x.indices
    for part, arr in (("indptr", indptr), ("indices", indices)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1:
            raise TypeError(f"{func}(): {name}.{part} must be a 1-D numpy array. Received: "
                            f"{type(arr).__name__}")
        if arr.dtype.type not in _INDEX_TYPES:
            raise TypeError(f"{func}(): {name}.{part} must hold int32 or int64 indices. "
                            f"Received: {name}.{part}.dtype={str(arr.dtype)!r}")
    if len(indptr) != n_major + 1:
        raise ValueError(f"{func}(): malformed sparse {name}: indptr must have "
                         f"{n_major + 1} entries (one per {axis}, plus one) for shape "
                         f"{x.shape}. Received: len({name}.indptr)={len(indptr)}")
    ip = indptr.astype(np.int64, copy=False)
    nnz = len(indices)
    if ip[0] != 0:
        raise ValueError(f"{func}(): malformed sparse {name}: indptr[0] must be 0. "
                         f"Received: {name}.indptr[0]={int(ip[0])}")
    steps = np.diff(ip)
    if n_major and steps.min() < 0:
        bad = int(np.flatnonzero(steps < 0)[0])
        raise ValueError(f"{func}(): malformed sparse {name}: indptr must never decrease. "
                         f"Received: {name}.indptr[{bad}]={int(ip[bad])} > "
                         f"{name}.indptr[{bad + 1}]={int(ip[bad + 1])}")
    if ip[-1] != nnz or len(x.data) != nnz:
        raise ValueError(f"{func}(): malformed sparse {name}: indptr[-1], len(indices) and "
                         f"len(data) must be equal (the number of stored values). Received: "
                         f"indptr[-1]={int(ip[-1])}, len(indices)={nnz}, "
                         f"len(data)={len(x.data)}")
    if nnz:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= n_minor:
            bad = int(np.flatnonzero((indices < 0) | (indices >= n_minor))[0])
            other = "column" if axis == "row" else "row"
            raise ValueError(f"{func}(): malformed sparse {name}: {other} index "
                             f"{int(indices[bad])} at position {bad} is outside "
                             f"[0, {n_minor}) for shape {x.shape}")
    return ip, indices


def as_sparse_rows(func: str, name: str, x: Any, dtype: np.dtype,
                   n_features: int | None = None, allow_empty: bool = False) -> CSRRows:
    """`x` (a scipy.sparse CSR/CSC matrix or array) as checked CSR rows of `dtype`."""
    fmt = getattr(x, "format", None)
    shape = getattr(x, "shape", None)
    if fmt not in ("csr", "csc"):
        raise TypeError(f"{func}(): sparse `{name}` must be in CSR or CSC format; convert it "
                        f"with {name}.tocsr(). Received: format {fmt!r}")
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(f"{func}(): sparse `{name}` must be 2-D (n_samples, n_features). "
                         f"Received: shape {shape}")
    n, m = int(shape[0]), int(shape[1])
    data = x.data
    if not isinstance(data, np.ndarray) or data.ndim != 1 or data.dtype.kind not in "biuf":
        raise TypeError(f"{func}(): sparse `{name}` must hold bool, integer or float values. "
                        f"Received: {name}.dtype={str(getattr(data, 'dtype', type(data)))!r}")
    if m == 0:
        raise ValueError(f"{func}(): argument `{name}` has no features. Expected at least 1 "
                         f"column. Received: {name}.shape={shape}")
    if m > np.iinfo(np.int32).max:
        raise ValueError(f"{func}(): sparse `{name}` has {m} columns; at most 2**31 - 1 are "
                         "supported")
    if n_features is not None and m != n_features:
        raise ValueError(f"{func}(): {name} has {m} features, but the model was built for "
                         f"{n_features}. Received: {name}.shape={shape}")
    if n == 0 and not allow_empty:
        raise ValueError(f"{func}(): argument `{name}` has no samples. Expected at least 1 "
                         f"row. Received: {name}.shape={shape}")
    if fmt == "csr":
        indptr, indices = _check_compressed(func, name, x, n, m, "row")
    else:
        indptr, indices = _check_compressed(func, name, x, m, n, "column")
    values = np.array(data, dtype=dtype, order="C")  # a copy: the caller's may change
    if not all_finite(values):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValueError(f"{func}(): argument `{name}` contains NaN or infinity (after "
                         f"conversion to {np.dtype(dtype)}) at stored value {bad}. Expected "
                         "finite values.")
    if fmt == "csc":  # checked as CSC above: scipy may now convert it safely
        import scipy.sparse as sp
        csr = sp.csc_matrix((values, indices, indptr), shape=(n, m), copy=False).tocsr()
        indptr, indices, values = csr.indptr, csr.indices, csr.data
    # copies owned by the CSRRows (made read-only there): the caller's matrix may change
    return CSRRows(np.array(indptr, dtype=np.int64, order="C"),
                   np.array(indices, dtype=np.int32, order="C"),
                   np.ascontiguousarray(values, dtype=dtype), m)
