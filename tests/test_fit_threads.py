"""fit on fastnn's own threads (csrc/fnn_pool.h, csrc/fnn_net_par.h): a step split
into row chunks and weight-gradient blocks computes the gradient of the serial step,
gives the same bits for any thread count of 2 or more (and whichever mode fnn_adapt
picks: the split is the same on one thread), and survives fork()."""
from __future__ import annotations

import multiprocessing
import os

import numpy as np
import pytest

import fastnn
from fastnn import threads as fthreads
from fastnn.layers import Dense, Dropout

pytestmark = pytest.mark.skipif(
    fthreads._openblas_local_threads() is None,
    reason="the OpenBLAS fastnn calls has no thread controls here: fit keeps one fastnn thread")


def data(n=600, d=96, k=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, rng.integers(0, k, n)


def model(dtype="float64", dropout=0.0, d=96, k=5, loss="sparse_categorical_crossentropy"):
    layers = [fastnn.Input(shape=(d,)), Dense(256, activation="tanh")]
    layers += [Dropout(dropout)] if dropout else []
    layers += [Dense(192, activation="relu"), Dense(k, activation="softmax")]
    m = fastnn.Sequential(layers, dtype=dtype, seed=3)
    m.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return m


def fit(threads, batch=160, **kw):
    X, y = data()
    sw = kw.pop("sample_weight", None)
    m = model(**kw)
    with fastnn.num_threads(threads):
        h = m.fit(X, y, batch_size=batch, epochs=2, verbose=0, sample_weight=sw)
    return m.get_weights(), h.history


def test_the_step_is_split():
    # 160 × 256 × 192 multiply-adds in the largest product: above the threshold
    assert 160 * 256 * 192 >= fthreads.SINGLE_THREAD_BELOW
    want = min(fthreads._openblas_threads(), len(os.sched_getaffinity(0)))
    with fthreads.fit_thread_policy(fthreads.SINGLE_THREAD_BELOW) as n:
        assert n == want
    with fthreads.fit_thread_policy(fthreads.SINGLE_THREAD_BELOW - 1) as n:
        assert n == 1


@pytest.mark.parametrize("kw", [{}, {"dropout": 0.3}, {"dtype": "float32"},
                                {"sample_weight": np.linspace(0.5, 2.0, 600)}],
                         ids=["plain", "dropout", "float32", "weighted"])
def test_same_bits_for_any_thread_count_above_one(kw):
    two, h2 = fit(2, **dict(kw))
    three, h3 = fit(3, **dict(kw))
    again, _ = fit(2, **dict(kw))
    for a, b, c in zip(two, three, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert h2 == h3


@pytest.mark.parametrize("kw", [{}, {"dropout": 0.3}, {"sample_weight": np.linspace(0.5, 2, 600)},
                                {"loss": "categorical_crossentropy"}],
                         ids=["plain", "dropout", "weighted", "one-hot"])
def test_split_step_computes_the_serial_gradient(kw):
    """float64: the split step differs from the serial one only in the order of
    floating-point sums (row chunks, then per-chunk loss sums), so after 2 epochs of
    Adam (8 steps) the weights agree to ~1e-12 relative; 1e-9 leaves room for the
    growth of rounding differences through the optimizer."""
    kw = dict(kw)
    if kw.get("loss") == "categorical_crossentropy":
        X, y = data()
        Y = np.eye(5)[y]
        out = []
        for t in (1, 2):
            m = model(loss="categorical_crossentropy")
            with fastnn.num_threads(t):
                m.fit(X, Y, batch_size=160, epochs=2, verbose=0)
            out.append(m.get_weights())
        one, two = out
    else:
        one, h1 = fit(1, **dict(kw))
        two, h2 = fit(2, **dict(kw))
        np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-10)
        np.testing.assert_allclose(h1["accuracy"], h2["accuracy"], rtol=1e-12)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_the_last_short_batch_and_a_batch_smaller_than_a_chunk():
    one, _ = fit(1, batch=590)  # 590 rows, then 10
    two, _ = fit(2, batch=590)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def _fit_in_child(q):
    try:
        w, _ = fit(2)
        q.put(("ok", float(np.abs(w[0]).sum())))
    except Exception as exc:  # reported to the parent
        q.put(("error", repr(exc)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fit_after_fork_in_a_child():
    """The parent's workers do not exist in a forked child: the child's first fit
    makes its own.  The timeout only detects a hang (the fit takes well under 1 s)."""
    parent, _ = fit(2)  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_fit_in_child, args=(q,))
    p.start()
    p.join(120)
    if p.is_alive():
        p.kill()
        pytest.fail("fit in a forked child hung")
    status, value = q.get(timeout=10)
    assert status == "ok", value
    assert value == pytest.approx(float(np.abs(parent[0]).sum()), rel=0, abs=0)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(not os.path.isfile(os.path.join(ROOT, "csrc", "fnn_pool.c")),
                    reason="needs the source checkout (csrc/)")
@pytest.mark.slow
def test_the_pool_runs_every_item_once_under_thread_sanitizer(tmp_path):
    """18,000 loops on 2-4 threads, built with -fsanitize=thread: a data race in the
    pool (the claim counter, the generation, the wake-up and finish signals) is
    reported and fails the run; a lost or repeated item fails the count."""
    import shutil
    import subprocess

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    exe = tmp_path / "pool_stress"
    build = subprocess.run([cc, "-O1", "-g", "-std=c11", "-fsanitize=thread",
                            "-I", os.path.join(ROOT, "csrc"),
                            os.path.join(ROOT, "tests", "pool_stress.c"),
                            os.path.join(ROOT, "csrc", "fnn_pool.c"), "-o", str(exe),
                            "-lpthread"], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"no ThreadSanitizer here: {build.stderr[-200:]}")
    env = {k: v for k, v in os.environ.items()  # an ASan run preloads its runtime:
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}  # not with TSan
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600,
                         env={**env, "TSAN_OPTIONS": "halt_on_error=1"})
    assert run.returncode == 0 and run.stdout.startswith("OK 0"), run.stdout + run.stderr


def test_concurrent_fits_give_the_bits_of_a_lone_fit():
    """SciPy's OpenBLAS keeps one process-wide thread count: fits running at the same
    time in several threads must neither see each other's setting nor split their
    steps differently (the policy lowers the count once for all of them)."""
    import threading

    def one():
        w, _ = fit(2)
        return w

    alone = one()
    results, errors = [], []

    def worker():
        try:
            for _ in range(3):
                results.append(one())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 9
    for w in results:
        for a, b in zip(w, alone):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_a_wide_step_splits_its_products_by_columns(dropout):
    """Weights far larger than the batch's activations (fnn_net.c wide_step: here
    1.1 M weights against 2·40·2112 activation inputs): the serial step with each big
    product split by blocks of columns over the threads (fnn_dense.c) — the blocks
    depend on the shapes only, so 2 and 3 threads give the same bits; against one
    thread (unsplit products) only the order of sums differs (float64: 1e-9)."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((200, 64)), rng.integers(0, 4, 200)

    def run(threads):
        layers = [fastnn.Input(shape=(64,)), Dense(1024, activation="relu")]
        layers += [Dropout(dropout)] if dropout else []
        layers += [Dense(1024, activation="tanh"), Dense(4, activation="softmax")]
        m = fastnn.Sequential(layers, dtype="float64", seed=5)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        with fastnn.num_threads(threads):
            h = m.fit(X, y, batch_size=40, epochs=2, verbose=0)
        return m.get_weights(), h.history["loss"]

    (one, l1), (two, l2), (three, l3) = run(1), run(2), run(3)
    assert l2 == l3
    np.testing.assert_allclose(l1, l2, rtol=1e-10)
    for a, b, c in zip(one, two, three):
        np.testing.assert_array_equal(b, c)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
