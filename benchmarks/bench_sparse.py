"""Sparse input: epoch time of the IMDB bag-of-words model, side by side.

The shape of the textbook's IMDB example (issue 19): 25,000 reviews × 10,000
multi-hot word features, ~1 % non-zero (100 distinct words a review, generated,
with a label that depends on which words occur), Dense 10000-16-16-1 relu/relu/
sigmoid, binary cross-entropy, RMSprop (Keras defaults), batch 512, shuffled every
epoch, float32.  Contenders, each written as its best users would:

  fastnn-sparse  ``fit`` on the scipy CSR matrix (rows read in place by C)
  fastnn-dense   ``fit`` on ``x.toarray()`` (1 GB)
  torch-sparse   PyTorch 2.13: per epoch one CSR row gather of the permutation
                 (scipy), per batch a ``torch.sparse_csr_tensor`` of a row slice
                 and ``torch.sparse.mm`` for the first layer; RMSprop
  torch-dense    PyTorch on the dense tensor, per batch ``X[idx]``
  keras-dense    Keras 3 (KERAS_BACKEND=jax) on ``x.toarray()``
  keras-sparse   Keras 3 (KERAS_BACKEND=jax) on the CSR matrix with
                 ``Input(sparse=True)`` (Keras turns it into JAX BCOO batches; their
                 number of non-zeros varies, and JAX recompiles for each new shape,
                 so its epochs take 15-60 s here: run it with --only)

Each contender runs in a child process with every framework limited to
--threads threads and OpenBLAS free to pick its kernel (OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset); each child prints the BLAS pools threadpoolctl sees
(benchmarks/_children.py).
A child trains 1 warm-up epoch (JIT compilation for Keras) and --epochs timed
epochs (callback on_epoch_begin → on_epoch_end for fastnn and Keras: the epoch's
whole batch loop; the loop itself for PyTorch); fastnn's children also time one
whole ``fit(epochs=1)`` call (argument checks, the CSR validation and copy
included).  --rounds repeats the set of children in turn (rounds spread the
noise of a shared machine over all); the table gives the median epoch seconds
over all rounds, and the ratio to fastnn-sparse's median.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sparse.py \\
        [--threads 1] [--rounds 3] [--epochs 3] [--only fastnn-sparse,keras-sparse]
"""
from __future__ import annotations

import time

import _common  # noqa: F401  (first: puts the repo root on sys.path if needed)
from _children import epoch_timer, main, report

N, D, WORDS, BATCH = 25000, 10000, 100, 512
CONTENDERS = ("fastnn-sparse", "fastnn-dense", "torch-sparse", "torch-dense", "keras-dense",
              "keras-sparse")
DEFAULT = CONTENDERS[:-1]


def make_data(n=N, d=D, words=WORDS, seed=0):
    """(CSR float32 multi-hot x, float32 labels): `words` distinct word indices a row;
    the label says whether more of them fall in the first 500 words than expected."""
    import numpy as np
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.integers(0, d, (n, words + 20)), axis=1)
    keep = np.ones_like(idx, dtype=bool)
    keep[:, 1:] = idx[:, 1:] != idx[:, :-1]
    rows = np.repeat(np.arange(n), keep.sum(axis=1))
    cols = idx[keep]
    x = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(n, d))
    hits = np.asarray(x[:, :500].sum(axis=1)).ravel()
    y = (hits > np.median(hits)).astype(np.float32)
    return x, y


# ---------------------------------------------------------------- children
def run_fastnn(x, y, epochs, threads, sparse):
    import fastnn
    fastnn.set_num_threads(threads)
    xx = x if sparse else x.toarray()
    model = fastnn.Sequential([fastnn.Input(shape=(D,)), fastnn.layers.Dense(16, activation="relu"),
                               fastnn.layers.Dense(16, activation="relu"),
                               fastnn.layers.Dense(1, activation="sigmoid")], seed=0)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    times = epoch_timer(fastnn.callbacks.Callback)
    hist = model.fit(xx, y, batch_size=BATCH, epochs=1 + epochs, verbose=0, callbacks=[times])
    t0 = time.perf_counter()
    model.fit(xx, y, batch_size=BATCH, epochs=1, verbose=0)
    return times.seconds[1:], hist.history["loss"][-1], time.perf_counter() - t0


def run_keras(x, y, epochs, threads, sparse):
    import keras
    x = x if sparse else x.toarray()
    model = keras.Sequential([keras.Input(shape=(D,), sparse=sparse),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    times = epoch_timer(keras.callbacks.Callback)
    hist = model.fit(x, y, batch_size=BATCH, epochs=1 + epochs, verbose=0, callbacks=[times])
    return times.seconds[1:], hist.history["loss"][-1], None


def run_torch(x, y, epochs, threads, sparse):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    W1 = torch.nn.Parameter(torch.empty(D, 16))
    torch.nn.init.xavier_uniform_(W1)  # Glorot, as Keras and fastnn
    b1 = torch.nn.Parameter(torch.zeros(16))
    rest = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                               torch.nn.Linear(16, 1))
    params = [W1, b1, *rest.parameters()]
    # Keras's RMSprop: rho 0.9, eps 1e-7, lr 1e-3 (torch's alpha is rho)
    opt = torch.optim.RMSprop(params, lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    yt = torch.from_numpy(y).reshape(-1, 1)
    xd = None if sparse else torch.from_numpy(x.toarray())
    rng = np.random.default_rng(0)
    seconds, last = [], 0.0
    for _ in range(1 + epochs):
        t0 = time.perf_counter()
        perm = rng.permutation(N)
        xp = x[perm] if sparse else None  # one C++ row gather per epoch
        permt = torch.from_numpy(perm)
        total = 0.0
        for s in range(0, N, BATCH):
            if sparse:
                xs = xp[s:s + BATCH]
                xb = torch.sparse_csr_tensor(torch.from_numpy(xs.indptr.astype(np.int64)),
                                             torch.from_numpy(xs.indices.astype(np.int64)),
                                             torch.from_numpy(xs.data), size=xs.shape)
                h = torch.sparse.mm(xb, W1) + b1
            else:
                h = xd[permt[s:s + BATCH]] @ W1 + b1
            yb = yt[permt[s:s + BATCH]]
            loss = loss_fn(rest(h), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss) * len(yb)
        seconds.append(time.perf_counter() - t0)
        last = total / N
    return seconds[1:], last, None


def child(name, epochs, threads):
    x, y = make_data()
    if name.startswith("fastnn"):
        out = run_fastnn(x, y, epochs, threads, name == "fastnn-sparse")
    elif name.startswith("torch"):
        out = run_torch(x, y, epochs, threads, name == "torch-sparse")
    else:
        out = run_keras(x, y, epochs, threads, name == "keras-sparse")
    seconds, loss, call = out
    report(seconds, loss, fit_call=call)


def describe():
    x, _ = make_data()
    return (f"{N} x {D} CSR float32, nnz {x.nnz} ({x.nnz / N / D:.2%}), batch {BATCH}, "
            "10000-16-16-1 relu/relu/sigmoid, rmsprop")


if __name__ == "__main__":
    main(__file__, __doc__, CONTENDERS, DEFAULT, child, describe,
         extra_cols=[("fit(epochs=1) s", "fit_call")])
