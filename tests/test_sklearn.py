"""fastnn's scikit-learn estimators: scikit-learn's own estimator checks,
the model-selection tools with n_jobs, pickling, and a real Dask cluster."""
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from ._needs import needs  # noqa: E402

sklearn = needs("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, load_iris, make_multilabel_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastnn  # noqa: E402
from fastnn.sklearn import FastNNClassifier, FastNNRegressor  # noqa: E402

# the checks train with the default max_iter on small sets, as they do MLP's
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
ROOT = Path(fastnn.__file__).resolve().parent.parent


# the defaults, and the configurations MLPClassifier's users use (each with its sample-weight checks)
CONFIGS = [{}, {"solver": "sgd"}, {"early_stopping": True, "validation_fraction": 0.2},
           {"activation": "tanh"}]


# early_stopping: validation_fraction 0.2, as the checks' 10-sample sets leave 1 held-out
# sample at 0.1, which MLP and fastnn refuse ("The validation set is too small")


def expected_failures(estimator):
    if estimator.early_stopping:
        return {"check_sample_weight_equivalence_on_dense_data":
                "early stopping holds out a random part of the rows: of the weighted rows "
                "and of their repetitions that part differs, so the two fits see different "
                "data (MLP's split has the same limit)"}
    return {}


@parametrize_with_checks([cls(**config) for config in CONFIGS
                          for cls in (FastNNClassifier, FastNNRegressor)],
                         expected_failed_checks=expected_failures, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def digits(n=600):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def test_classifier_targets_of_every_kind():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = FastNNClassifier((16,), max_iter=1000, random_state=0).fit(X, names)
    assert list(clf.classes_) == list(names[[0, 50, 100]]) and clf.score(X, names) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1)
    assert np.allclose(np.exp(clf.predict_log_proba(X)), proba)
    binary = FastNNClassifier((8,), max_iter=1000, random_state=0).fit(X, y == 2)
    assert binary.n_outputs_ == 1 and binary.out_activation_ == "logistic"
    assert binary.predict_proba(X).shape == (150, 2) and binary.score(X, y == 2) > 0.9
    Xm, Ym = make_multilabel_classification(200, n_features=10, n_classes=4, random_state=0)
    multi = FastNNClassifier((32,), max_iter=300, random_state=0).fit(Xm, Ym)
    assert multi.predict(Xm).shape == (200, 4) and set(np.unique(multi.predict(Xm))) <= {0, 1}
    assert (multi.predict(Xm) == Ym).mean() > 0.8
    assert [c.shape for c in multi.coefs_] == [(10, 32), (32, 4)]
    assert [b.shape for b in multi.intercepts_] == [(32,), (4,)]


def test_regressor_single_and_multi_output():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (400, 3))
    Y = np.column_stack([np.sin(2 * X[:, 0]), X[:, 1] * X[:, 2]])
    reg = FastNNRegressor((32,), activation="tanh", learning_rate_init=0.01, max_iter=400,
                          random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (400, 2) and reg.score(X, Y) > 0.9
    one = clone(reg).fit(X, Y[:, 0])
    assert one.predict(X).shape == (400,) and one.n_iter_ == len(one.loss_curve_) >= 1
    logistic = FastNNRegressor((8,), output_activation="logistic", max_iter=50,
                               random_state=0).fit(X, (Y[:, 0] + 1) / 2)
    assert ((logistic.predict(X) > 0) & (logistic.predict(X) < 1)).all()


def test_mlp_parameters_mean_the_same():
    X, y = digits(300)
    base = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    for solver in ("sgd", "adam", "rmsprop", "adagrad", "adamw"):
        clf = FastNNClassifier(solver=solver, **base).fit(X, y)
        assert clf.n_iter_ >= 1 and np.isfinite(clf.loss_)
    small = FastNNClassifier(alpha=1.0, **base).fit(X, y)
    big = FastNNClassifier(alpha=1e-6, **base).fit(X, y)
    assert np.abs(small.coefs_[0]).sum() < np.abs(big.coefs_[0]).sum()  # L2 shrinks
    early = FastNNClassifier(early_stopping=True, n_iter_no_change=3,
                             **{**base, "max_iter": 200}).fit(X, y)
    assert early.best_loss_ is None and len(early.validation_scores_) == early.n_iter_
    assert early.n_iter_ < 200 and early.best_validation_score_ == max(early.validation_scores_)
    stopped = FastNNClassifier(tol=10.0, n_iter_no_change=2, **{**base, "max_iter": 100})
    assert stopped.fit(X, y).n_iter_ == 4  # as MLP: stops when the count exceeds 2
    with pytest.raises(ValueError, match="activation"):
        FastNNClassifier(activation="softmax").fit(X, y)


def test_partial_fit_and_warm_start():
    X, y = digits(400)
    clf = FastNNClassifier((32,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    for _ in range(10):
        clf.partial_fit(X, y, classes=np.arange(10))
    # as MLP: n_iter_ counts this call's iterations, t_ and loss_curve_ keep counting
    assert clf.n_iter_ == 1 and clf.t_ == 10 * 400 and len(clf.loss_curve_) == 10
    assert clf.score(X, y) > 0.8
    warm = FastNNClassifier((32,), max_iter=5, warm_start=True, random_state=0)
    warm.fit(X, y)
    first = warm.coefs_[0].copy()
    warm.fit(X, y)
    assert warm.n_iter_ == 5 and len(warm.loss_curve_) == 10 and warm.t_ == 10 * 400
    assert not np.array_equal(first, warm.coefs_[0])


def test_partial_fit_refuses_early_stopping():
    """MLP's rule: partial_fit has no held-out part, so early_stopping=True is an
    error, on the first call and after an early-stopped fit (was: silently watched
    the training loss), and it changes nothing."""
    X, y = digits(200)
    clf = FastNNClassifier((8,), early_stopping=True, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y, classes=np.arange(10))
    assert not hasattr(clf, "model_")
    clf.fit(X, y)
    before = [w.copy() for w in clf.coefs_]
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, clf.coefs_))
    clf.set_params(early_stopping=False).partial_fit(X, y)  # best_loss_ was None
    assert clf.best_loss_ == clf.loss_ and np.isfinite(clf.loss_)


@pytest.mark.slow
def test_pipeline_grid_search_and_cross_val_with_n_jobs():
    X, y = digits(500)
    pipe = make_pipeline(StandardScaler(), FastNNClassifier(
        (16,), learning_rate_init=0.01, max_iter=30, random_state=0))
    grid = {"fastnnclassifier__alpha": [1e-4, 1e-2],
            "fastnnclassifier__hidden_layer_sizes": [(8,), (16,)]}
    serial = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    assert np.array_equal(serial.cv_results_["mean_test_score"],
                          parallel.cv_results_["mean_test_score"])
    assert serial.best_score_ > 0.8
    scores = cross_val_score(clone(pipe), X, y, cv=3, n_jobs=2)
    assert np.array_equal(scores, cross_val_score(clone(pipe), X, y, cv=3, n_jobs=1))
    search = RandomizedSearchCV(pipe, {"fastnnclassifier__learning_rate_init": [1e-3, 1e-2]},
                                n_iter=2, cv=2, random_state=0).fit(X, y)
    assert search.best_estimator_.predict(X).shape == (500,)


@pytest.mark.slow
def test_pickle_predicts_bitwise_the_same_and_seeds_cross_processes(tmp_path):
    X, y = digits(300)
    clf = FastNNClassifier((16,), max_iter=10, random_state=3).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))
    joblib = needs("joblib")
    joblib.dump(clf, tmp_path / "clf.joblib")
    assert np.array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X),
                          clf.predict_proba(X))
    code = ("import numpy as np, sys; from sklearn.datasets import load_digits\n"
            "from fastnn.sklearn import FastNNClassifier\n"
            "X, y = load_digits(return_X_y=True); X, y = X[:300] / 16.0, y[:300]\n"
            "c = FastNNClassifier((16,), max_iter=10, random_state=3).fit(X, y)\n"
            "np.save(sys.argv[1], c.coefs_[0])\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code, str(tmp_path / "c.npy")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert np.array_equal(np.load(tmp_path / "c.npy"), clf.coefs_[0])


@pytest.mark.slow
def test_thread_settings(tmp_path):
    needs("threadpoolctl")
    with fastnn.num_threads(1):
        assert fastnn.get_num_threads() == 1
    with pytest.raises(ValueError):
        fastnn.set_num_threads(0)
    assert not fastnn.threads.in_worker_process()
    fastnn.threads.one_thread_per_worker()  # the main process keeps the user's setting
    code = ("import fastnn, numpy, multiprocessing as mp\n"
            "def work(_):\n"
            "    fastnn.threads.one_thread_per_worker()\n"
            "    return fastnn.get_num_threads()\n"
            "if __name__ == '__main__':\n"
            "    with mp.get_context('spawn').Pool(1) as pool:\n"
            "        print(pool.map(work, [0]))\n")
    script = tmp_path / "worker_threads_probe.py"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")]))
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[1]"


@pytest.mark.slow
def test_grid_search_on_a_real_dask_cluster():
    distributed = needs("distributed")
    import joblib

    X, y = digits(400)
    grid = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(8,), (16,)]}
    est = FastNNClassifier(max_iter=20, random_state=0)
    serial = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(est, grid, cv=3, n_jobs=-1).fit(X, y)
        workers = client.run(lambda: os.getpid())
    assert len(workers) == 2
    assert np.array_equal(serial.cv_results_["mean_test_score"],
                          on_dask.cv_results_["mean_test_score"])
    assert np.array_equal(serial.best_estimator_.predict_proba(X),
                          on_dask.best_estimator_.predict_proba(X))


# ---------------------------------------------------------------- MLP's rules
BAD_PARAMS = [
    ("hidden_layer_sizes", 0, ValueError), ("hidden_layer_sizes", "10", TypeError),
    ("hidden_layer_sizes", (10, True), TypeError), ("activation", "softmax", ValueError),
    ("solver", "SGD", ValueError), ("solver", None, TypeError), ("alpha", -1.0, ValueError),
    ("alpha", float("nan"), ValueError), ("alpha", "1", TypeError),
    ("batch_size", 0, ValueError), ("batch_size", "big", ValueError),
    ("learning_rate", "optimal", ValueError), ("learning_rate_init", 0.0, ValueError),
    ("learning_rate_init", float("inf"), ValueError), ("power_t", -0.5, ValueError),
    ("max_iter", 0, ValueError), ("max_iter", 2.0, TypeError), ("shuffle", 1, TypeError),
    ("tol", -1e-4, ValueError), ("momentum", 1.0, ValueError), ("momentum", True, TypeError),
    ("validation_fraction", 1.0, ValueError), ("beta_1", 1.0, ValueError),
    ("beta_2", -0.1, ValueError), ("epsilon", 0.0, ValueError),
    ("n_iter_no_change", 0, ValueError), ("n_iter_no_change", 2.5, TypeError),
    ("max_fun", 0, ValueError), ("dropout", 1.0, ValueError), ("dtype", "float16", ValueError),
    ("dtype", np.float32, TypeError), ("warm_start", "yes", TypeError),
]


@pytest.mark.parametrize("key, value, error", BAD_PARAMS)
@pytest.mark.parametrize("cls", [FastNNClassifier, FastNNRegressor])
def test_bad_parameter_is_refused_by_fit_with_its_name(cls, key, value, error):
    est = cls(**{key: value})
    with pytest.raises(error, match=key):
        est.fit(np.zeros((20, 2)), np.arange(20) % 2)
    assert not hasattr(est, "model_")


def test_fit_and_partial_fit_check_the_parameters_once_per_call(monkeypatch):
    """One check of the estimator's parameters per fit / partial_fit call (the
    partial_fit rule too, however the method is reached)."""
    from fastnn.sklearn import _base
    from fastnn.sklearn._base import FastNNBase
    calls = {"params": 0, "own": 0, "partial": 0}

    def counting(key, fn):
        def wrapper(*args):
            calls[key] += 1
            return fn(*args)
        return wrapper

    monkeypatch.setattr(_base, "check_params", counting("params", _base.check_params))
    for key, name in (("own", "_check_own_params"), ("partial", "_check_partial_fit")):
        monkeypatch.setattr(FastNNBase, name, counting(key, getattr(FastNNBase, name)))
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2
    reg = FastNNRegressor((3,), max_iter=2)
    monkeypatch.setattr(FastNNRegressor, "_check_own_params",
                        counting("own", FastNNRegressor._check_own_params))
    for est in (FastNNClassifier((3,), max_iter=2), reg):
        for key in calls:
            calls[key] = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter reached
            est.fit(X, y)
        assert calls == {"params": 1, "own": 1, "partial": 0}
        kwargs = {"classes": [0, 1]} if isinstance(est, FastNNClassifier) else {}
        est.partial_fit(X, y, **kwargs)
        assert calls == {"params": 2, "own": 2, "partial": 1}
        type(est).partial_fit(est, X, y, **kwargs)  # looked up on the class
        assert calls == {"params": 3, "own": 3, "partial": 2}
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        FastNNRegressor.partial_fit(FastNNRegressor(early_stopping=True), X, y)


def test_refused_loss_and_sparse_say_what_to_use():
    from scipy import sparse
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2
    with pytest.raises(ValueError, match="poisson.*exponential"):
        FastNNRegressor(loss="poisson").fit(X, y)
    with pytest.raises(TypeError, match="sparse.*toarray"):
        FastNNRegressor().fit(sparse.csc_matrix(X), y)
    FastNNClassifier(max_fun=10, learning_rate="adaptive", power_t=0.1, max_iter=2,
                     n_iter_no_change=np.inf).fit(X, y)  # accepted


def test_sample_weight_checks_and_meaning():
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 3
    clf = FastNNClassifier((4,), max_iter=3, random_state=0)
    for bad, match in ((-np.ones(30), ">= 0"), (np.ones(29), r"shape \(30,\)"),
                       (np.zeros(30), "all zero")):
        with pytest.raises(ValueError, match=match):
            clf.fit(X, y, sample_weight=bad)
    assert not hasattr(clf, "model_")
    # without alpha, scaling every weight by the same factor changes nothing (MLP
    # divides by Σw); with alpha the weights act as repetitions: 3 each is 3x the data
    # against the same penalty; weight 0 is the same as leaving the sample out (one
    # batch holds all samples)
    for alpha, same in ((0.0, True), (0.1, False)):
        a = clone(clf).set_params(alpha=alpha).fit(X, y, sample_weight=np.full(30, 3.0))
        b = clone(clf).set_params(alpha=alpha).fit(X, y)
        assert np.allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12, atol=1e-14) == same
    sw = np.r_[np.ones(20), np.zeros(10)]
    c = clone(clf).set_params(shuffle=False).fit(X, y, sample_weight=sw)
    d = clone(clf).set_params(shuffle=False).fit(X[:20], y[:20])
    np.testing.assert_allclose(c.coefs_[0], d.coefs_[0], rtol=1e-12, atol=1e-14)
    part = FastNNRegressor((4,), random_state=0).partial_fit(X, y * 1.0, sample_weight=sw)
    assert part.n_iter_ == 1


def test_dtype_rule_and_forced_dtype():
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    assert FastNNClassifier(max_iter=2).fit(X.astype(np.float32), y).coefs_[0].dtype == \
        np.float32
    for dtype in (np.float64, np.int64, np.float16, bool):
        est = FastNNRegressor(max_iter=2).fit(X.astype(dtype), y)
        assert est.coefs_[0].dtype == np.float64 and est.predict(X).dtype == np.float64
    forced = FastNNRegressor(max_iter=2, dtype="float32").fit(X, y)
    assert forced.predict(X).dtype == np.float32


def test_one_class_and_failed_warm_start_leave_the_model():
    X = np.random.default_rng(0).normal(size=(20, 3))
    one = FastNNClassifier((4,), max_iter=5).fit(X, np.full(20, "only"))
    assert list(one.predict(X[:3])) == ["only"] * 3
    assert one.predict_proba(X).shape == (20, 2)  # MLP's shape for one class
    warm = FastNNClassifier((4,), max_iter=5, warm_start=True, random_state=0)
    warm.fit(X, np.arange(20) % 3)
    before = [w.copy() for w in warm.coefs_ + warm.intercepts_]
    with pytest.raises(ValueError, match=r"warm_start.*\[0 1 2\].*\[0 1\]"):
        warm.fit(X, np.arange(20) % 2)
    assert all(np.array_equal(a, b) for a, b in zip(before, warm.coefs_ + warm.intercepts_))
    assert list(warm.classes_) == [0, 1, 2]


def test_batch_size_larger_than_the_data_warns_and_clips():
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.warns(UserWarning, match="clipped to 20"):
        FastNNClassifier(batch_size=50, max_iter=1).fit(X, y)
