"""The "fraud shape" of issue 19: keras.io's imbalanced-classification example.

Credit-card fraud: 30 standardised features, 227,845 training rows (80 % of the
original 284,807) with 0.17 % positives, 56,962 validation rows; the example's
network Dense 256-256-256-1 relu/relu/relu/sigmoid with Dropout(0.3) after the
second and third layers, Adam(1e-2), binary cross-entropy, batch 2048,
``class_weight = {0: 1/n_0, 1: 1/n_1}`` and validation data every epoch.  The rows
are generated (no download): normal features, the positives shifted on a few of
them, in the example's proportions.  Metrics: none compiled (the example's
TP/FP/TN/FN/precision/recall cost the same few passes over the outputs in each
framework; the training step is what is compared here).

Contenders (each in a child process, every framework limited to --threads
threads, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, the BLAS pools printed:
benchmarks/_children.py):

  fastnn   ``fit(..., class_weight=..., validation_data=...)``
  keras    Keras 3, KERAS_BACKEND=jax, the example's code
  torch    PyTorch 2.13: the same network, per-sample weights from the class
           weights (``BCELoss(reduction="none")``, mean of w·ℓ, as Keras), the
           validation loss under ``torch.no_grad()``

Each child trains 1 warm-up epoch, then --epochs timed epochs (fastnn and Keras:
callback on_epoch_begin → on_epoch_end, validation included; torch: its loop).
--rounds repeats the children in turn; the table gives median epoch seconds and
the ratio to fastnn's median.  Issue 19 measured fastnn ~35 % slower than Keras on
this shape.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_fraud.py \\
        [--threads 1] [--rounds 3] [--epochs 3] [--only fastnn,keras,torch]
"""
from __future__ import annotations

import time

import _common  # noqa: F401  (first: puts the repo root on sys.path if needed)
from _children import epoch_timer, main, report

N_TRAIN, N_VAL, FEATURES, BATCH, POSITIVE = 227_845, 56_962, 30, 2048, 0.0017
CONTENDERS = ("fastnn", "keras", "torch")


def make_data(seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_VAL
    x = rng.standard_normal((n, FEATURES), dtype=np.float32)
    y = (rng.random(n) < POSITIVE).astype(np.float32)
    x[y == 1, :5] += 2.0  # the frauds stand out on a few features
    counts = np.bincount(y[:N_TRAIN].astype(int), minlength=2)
    class_weight = {0: 1.0 / counts[0], 1: 1.0 / counts[1]}
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:]), class_weight


def run_keras_like(keras, train, val, class_weight, epochs, **model_kw):
    model = keras.Sequential([
        keras.Input(shape=(FEATURES,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ], **model_kw)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    times = epoch_timer(keras.callbacks.Callback)
    hist = model.fit(*train, batch_size=BATCH, epochs=1 + epochs, verbose=0,
                     callbacks=[times], validation_data=val, class_weight=class_weight)
    return times.seconds[1:], hist.history["loss"][-1]


def run_torch(train, val, class_weight, epochs, threads):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(FEATURES, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Dropout(0.3),
        torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Dropout(0.3),
        torch.nn.Linear(256, 1), torch.nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, eps=1e-7)
    bce = torch.nn.BCELoss(reduction="none")
    x, y = (torch.from_numpy(a) for a in train)
    xv, yv = (torch.from_numpy(a) for a in val)
    w = torch.from_numpy(np.where(train[1] == 1, class_weight[1], class_weight[0])
                         .astype(np.float32))
    y, yv = y.reshape(-1, 1), yv.reshape(-1, 1)
    rng = np.random.default_rng(0)
    seconds, last = [], 0.0
    for _ in range(1 + epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(N_TRAIN))
        total = 0.0
        for s in range(0, N_TRAIN, BATCH):
            idx = perm[s:s + BATCH]
            loss = (bce(model(x[idx]), y[idx]).squeeze(1) * w[idx]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        model.eval()
        with torch.no_grad():
            float(bce(model(xv), yv).mean())
        seconds.append(time.perf_counter() - t0)
        last = total / N_TRAIN
    return seconds[1:], last


def child(name, epochs, threads):
    train, val, cw = make_data()
    if name == "fastnn":
        import fastnn
        fastnn.set_num_threads(threads)
        out = run_keras_like(fastnn, train, val, cw, epochs, seed=0)
    elif name == "keras":
        import keras
        out = run_keras_like(keras, train, val, cw, epochs)
    else:
        out = run_torch(train, val, cw, epochs, threads)
    report(*out)


def describe():
    return (f"{N_TRAIN} x {FEATURES} train, {N_VAL} validation, {POSITIVE:.2%} positives, "
            f"batch {BATCH}, 30-256-256-256-1 Dropout 0.3, Adam 1e-2, class_weight")


if __name__ == "__main__":
    main(__file__, __doc__, CONTENDERS, CONTENDERS, child, describe)
