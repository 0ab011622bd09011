"""fastnn's scikit-learn estimators next to MLPClassifier, and their parallel runs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sklearn.py

(The two variables force OpenBLAS's AVX2 kernels on this workplace's machines;
users do not have them, so they are unset, and the kernel OpenBLAS then picks
is printed.)  Three measurements, one run:

1. fit time of ``FastNNClassifier`` and ``MLPClassifier`` on scikit-learn's digits
   (1437 training images, 64 → 64 relu → 10), the same parameters (adam,
   learning_rate_init=1e-3, batch 200, alpha=1e-4, 100 epochs: tol=0 and
   n_iter_no_change=max_iter so both run every epoch), median of 5 fits, with the
   test accuracy;
2. a ``GridSearchCV`` of 24 fits (4 alphas × 2 widths × 3 folds) with
   ``n_jobs=1`` and ``n_jobs=2`` (joblib's loky processes): wall time and speedup;
3. the same grid on a Dask ``LocalCluster`` (2 worker processes, 1 thread each)
   through ``joblib.parallel_backend("dask")``: wall time, cluster start excluded.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (puts this repository's fastnn on the path)

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

import fastnn  # noqa: E402
from fastnn.sklearn import FastNNClassifier  # noqa: E402

warnings.filterwarnings("ignore")


def timed_fit(make, X, y, repeat=5):
    times = []
    for seed in range(repeat):
        est = make(seed)
        t = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times), est


def main():
    for line in _common.threadpool_summary():
        print("BLAS:", line)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    params = dict(hidden_layer_sizes=(64,), solver="adam", learning_rate_init=1e-3,
                  batch_size=200, alpha=1e-4, max_iter=100, tol=0.0, n_iter_no_change=100)
    print(f"fastnn {fastnn.__version__}, scikit-learn {__import__('sklearn').__version__}, "
          f"numpy {np.__version__}")
    print("\n1. fit on digits (1437 x 64 -> 64 relu -> 10), 100 epochs, median of 5 fits")
    rows = {}
    for name, cls in (("MLPClassifier", MLPClassifier), ("FastNNClassifier", FastNNClassifier),
                      ("FastNNClassifier float32",
                       lambda **kw: FastNNClassifier(dtype="float32", **kw))):
        med, lo, hi, est = timed_fit(lambda s: cls(random_state=s, **params), Xtr, ytr)
        rows[name] = med
        print(f"   {name:26} {med * 1e3:8.1f} ms (min {lo * 1e3:.1f}, max {hi * 1e3:.1f})  "
              f"test accuracy {est.score(Xte, yte):.4f}")
    for name in ("FastNNClassifier", "FastNNClassifier float32"):
        print(f"   MLPClassifier / {name}: {rows['MLPClassifier'] / rows[name]:.1f}x")

    grid = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2], "hidden_layer_sizes": [(32,), (64,)]}
    est = FastNNClassifier(max_iter=50, random_state=0)
    print("\n2. GridSearchCV, 24 fits (4 alphas x 2 widths x 3 folds), 50 epochs each")
    walls = {}
    for _ in range(3):
        for label, n_jobs, blas in (("n_jobs=1", 1, None), ("n_jobs=1, 1 BLAS thread", 1, 1),
                                    ("n_jobs=2 (1 BLAS thread each)", 2, None)):
            t = time.perf_counter()
            with fastnn.num_threads(blas) if blas else contextlib.nullcontext():
                search = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(Xtr, ytr)
            walls.setdefault(label, []).append(time.perf_counter() - t)
    for label, w in walls.items():
        print(f"   {label:30} {min(w):.2f} s (runs: {', '.join(f'{v:.2f}' for v in w)})")
    two = min(walls["n_jobs=2 (1 BLAS thread each)"])
    print(f"   speedup of n_jobs=2 over n_jobs=1: {min(walls['n_jobs=1']) / two:.2f}x; over "
          f"n_jobs=1 with 1 BLAS thread: {min(walls['n_jobs=1, 1 BLAS thread']) / two:.2f}x "
          f"(best score {search.best_score_:.4f}; the first n_jobs=2 run starts the workers)")

    try:
        import distributed
        import joblib
    except ImportError:
        print("\n3. Dask: distributed not installed (pip install -e \".[dask]\")")
        return
    print("\n3. the same grid on a Dask LocalCluster (2 processes x 1 thread)")
    t0 = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        start = time.perf_counter() - t0
        for _ in range(2):
            t = time.perf_counter()
            with joblib.parallel_backend("dask"):
                on_dask = GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(Xtr, ytr)
            print(f"   grid on Dask: {time.perf_counter() - t:.2f} s "
                  f"(cluster start {start:.2f} s, not included)")
    same = np.array_equal(on_dask.cv_results_["mean_test_score"],
                          search.cv_results_["mean_test_score"])
    print(f"   scores identical to n_jobs=1/2: {same}")
    print("\ncommand: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python "
          "benchmarks/bench_sklearn.py")


if __name__ == "__main__":
    main()
