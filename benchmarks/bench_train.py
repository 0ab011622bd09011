"""Training speed: fastnn vs a hand-written NumPy MLP, side by side.

Same data, same architecture, same initial weights (fastnn's, copied into the
NumPy model), same batch size, same optimizer, both float32 and shuffling
every epoch.  Each workload runs R rounds (R = 9, or 5 with --quick); a round
is, for fastnn then for NumPy: a 0.2 s pause (idle BLAS threads of the other
library go to sleep), one warm-up epoch, one timed epoch.  Interleaving the
two spreads time-varying host noise over both.  The table gives the median
seconds per epoch, samples/s, the speed-up = NumPy s/epoch ÷ fastnn s/epoch
(= fastnn samples/s ÷ NumPy samples/s), and the same ratio of the fastest
epochs ("min"), the least disturbed by noise.

fastnn's epoch is timed inside ``fit(epochs=2)`` by a callback
(on_epoch_begin → on_epoch_end: shuffle, the C batch loop, the loss), so the
one-off cost of a ``fit`` call (argument checks, about 0.1-0.3 ms) is not
counted; the NumPy model's with ``fit(epochs=1)`` (its per-call cost is a few
microseconds).  fastnn is compiled without metrics and the NumPy model
computes its batch loss too, so both do the same work.

Before timing, an agreement check trains both for one epoch without shuffling
from the same weights (on at most 512 samples) and prints the largest weight
difference: the two must compute the same thing for the timings to compare.

--small-gemm N rebuilds fastnn's C plan with another loops/BLAS threshold
(through the internal ``fastnn._kernels._core.Net(..., small_gemm=N)``), to
check a threshold from bench_dense_threshold.py end to end.

    python benchmarks/bench_train.py [--quick] [--threads N] [--small-gemm N]
"""
from __future__ import annotations

import argparse
import time

import _common as C  # first: puts the repo root on sys.path if needed
import numpy as np

# isort: split
from fastnn.bench.numpy_mlp import SGD, Adam, NumpyMLP

import fastnn

WORKLOADS = [
    # name, data key, sizes, activations, loss, optimizer, batch sizes
    ("digits 64-64-10", "digits", [64, 64, 10], ["relu", "softmax"],
     "categorical_crossentropy", ("adam", 0.001), [32]),
    ("circle 2-16-16-1", "circles", [2, 16, 16, 1], ["tanh", "tanh", "sigmoid"],
     "binary_crossentropy", ("sgd", 0.03, 0.9), [1, 32, 256]),
    ("mnist5k 784-256-128-10", "mnist", [784, 256, 128, 10], ["relu", "relu", "softmax"],
     "categorical_crossentropy", ("adam", 0.001), [128]),
]


class EpochTimer(fastnn.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._t0)


def make_optimizers(spec):
    if spec[0] == "adam":
        return fastnn.optimizers.Adam(spec[1]), Adam(spec[1])
    return (fastnn.optimizers.SGD(spec[1], momentum=spec[2]),
            SGD(spec[1], momentum=spec[2]))


def make_pair(sizes, acts, loss, opt_spec, seed=0):
    """(fastnn model, NumPy model) with identical initial weights."""
    f_opt, n_opt = make_optimizers(opt_spec)
    layers = [fastnn.Input(shape=(sizes[0],))]
    layers += [fastnn.layers.Dense(n, activation=a) for n, a in zip(sizes[1:], acts)]
    fm = fastnn.Sequential(layers, dtype="float32", seed=seed)
    fm.compile(optimizer=f_opt, loss=loss)
    nm = NumpyMLP(sizes, acts, loss=loss, optimizer=n_opt, seed=seed)
    nm.set_weights(fm.get_weights())
    return fm, nm


def load(key):
    if key == "digits":
        X, lab = C.digits()
        return X, C.one_hot(lab, 10), None
    if key == "circles":
        X, Y = C.circles(4096)
        return X, Y, None
    data = C.mnist5k()
    if data is None:
        return None, None, f"skipped: {C.MNIST_PATH} not found"
    X, lab = data
    return X, C.one_hot(lab, 10), None


def agreement(X, Y, sizes, acts, loss, opt_spec, batch) -> float:
    n = min(len(X), 512)
    fm, nm = make_pair(sizes, acts, loss, opt_spec)
    fm.fit(X[:n], Y[:n], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    nm.fit(X[:n], Y[:n], batch_size=batch, epochs=1, shuffle=False)
    return max(float(np.abs(a - b).max()) for a, b in zip(fm.get_weights(), nm.get_weights()))


def run(args):
    repeats = 5 if args.quick else 9
    rows, notes, details = [], [], []
    for name, key, sizes, acts, loss, opt_spec, batches in WORKLOADS:
        X, Y, skip = load(key)
        if skip:
            rows.append([name, "-", "-", "-", "-", "-", "-", "-", "-"])
            notes.append(f"{name}: {skip}")
            continue
        n = len(X)
        for bs in batches:
            diff = agreement(X, Y, sizes, acts, loss, opt_spec, bs)
            fm, nm = make_pair(sizes, acts, loss, opt_spec)
            t_f, t_n = [], []
            for _ in range(repeats):  # interleaved rounds: host noise hits both alike
                C.quiesce()
                timer = EpochTimer()  # 2 epochs, the first one is the warm-up
                hist = fm.fit(X, Y, batch_size=bs, epochs=2, verbose=0, shuffle=True,
                              callbacks=[timer])
                t_f.append(timer.times[1])
                C.quiesce()
                nm.fit(X, Y, batch_size=bs, epochs=1, shuffle=True)
                t0 = time.perf_counter()
                n_loss = nm.fit(X, Y, batch_size=bs, epochs=1, shuffle=True)
                t_n.append(time.perf_counter() - t0)
            mf, mn = C.median(t_f), C.median(t_n)
            rows.append([name, str(bs), f"{n}", f"{mf:.4g}", f"{mn:.4g}", f"{n / mf:,.0f}",
                         f"{n / mn:,.0f}", f"{mn / mf:.2f}x", f"{min(t_n) / min(t_f):.2f}x"])
            details.append(
                f"{name} batch {bs}: weight diff after 1 unshuffled epoch {diff:.2e}; "
                f"loss after {2 * repeats} epochs fastnn {hist.history['loss'][-1]:.4f} / "
                f"NumPy {n_loss[-1]:.4f}; s/epoch min..max fastnn {min(t_f):.4g}..{max(t_f):.4g}"
                f", NumPy {min(t_n):.4g}..{max(t_n):.4g}")
            if diff > 1e-3:
                notes.append(f"WARNING {name} batch {bs}: fastnn and NumPy disagree "
                             f"(max weight difference {diff:.3g})")
    return repeats, rows, notes, details


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 timed epochs instead of 9")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit BLAS/OpenMP threads (threadpoolctl; nothing set without it)")
    ap.add_argument("--small-gemm", type=int, default=None,
                    help="override fastnn's loops/BLAS threshold (internal API)")
    args = ap.parse_args()
    from fastnn._kernels import _core

    sg_note = f"default ({getattr(_core, 'DEFAULT_SMALL_GEMM', '?')})"
    if args.small_gemm is not None:
        import functools

        _core.Net = functools.partial(_core.Net, small_gemm=args.small_gemm)
        sg_note = f"{args.small_gemm} (overridden via fastnn._kernels._core.Net)"
    ctx, note = C.thread_limits(args.threads)
    with ctx:
        print(C.machine_report(note))
        print(f"small_gemm  : {sg_note}")
        repeats, rows, notes, details = run(args)
    print()
    print(f"Training throughput, float32, median of {repeats} interleaved rounds "
          "(each: 1 warm-up epoch + 1 timed epoch per implementation)")
    print(C.fmt_table(["workload", "batch", "samples", "fastnn s/epoch", "NumPy s/epoch",
                       "fastnn samples/s", "NumPy samples/s", "speed-up", "speed-up (min)"],
                      rows))
    print()
    for line in details + notes:
        print(line)


if __name__ == "__main__":
    main()
