"""scikit-learn's MLP test-suite, ported: the behaviour cases of
``sklearn/neural_network/tests/test_mlp.py`` (scikit-learn 1.9), written here from
its cases, each run against ``MLPClassifier``/``MLPRegressor`` *and* fastnn's
estimators, which must agree.  ``tools/sklearn_mlp_aliased.py`` runs the original
file itself with the classes aliased.

Cases of the original that are about MLP's internals or about what fastnn lacks,
and what stands for them here:

====================================  ==========================================
original case                         why it does not apply as written
====================================  ==========================================
test_fit                              sets MLP's private state (coefs_ lists,
                                      _coef_velocity, ...) before partial_fit;
                                      here: the same worked example through the
                                      public model_.set_weights, against MLP.
test_gradient                         checks MLP's private _loss_grad_lbfgs by
                                      finite differences; fastnn's C gradients are
                                      checked in tests/test_gradients.py.
test_warm_start,                      run here with adam or sgd as well (behaviour
test_multilabel_classification,       that is not lbfgs's); the lbfgs cases run
test_multioutput_regression,          with lbfgs (test_lbfgs_fits_...), and
test_predict_proba_multilabel         tests/test_sklearn_lbfgs.py compares runs.
test_sparse_matrices                  sparse X: fastnn refuses sparse
                                      input with TypeError (no sparse first layer
                                      yet); tested here.
test_learning_rate_warmstart,         read MLP's private _optimizer.learning_rate;
test_adaptive_learning_rate           here through each one's own optimizer.
test_mlp_vs_poisson_glm_equivalent    loss="poisson": fastnn has no exponential
                                      output unit (refused by name).
====================================  ==========================================
"""
import pickle
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import (load_digits, load_iris, make_classification,  # noqa: E402
                              make_multilabel_classification, make_regression)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, scale  # noqa: E402

from fastnn.sklearn import FastNNClassifier, FastNNRegressor  # noqa: E402

ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]


def _mlp_rate(est):
    return est._optimizer.learning_rate  # MLP keeps its optimizer private


def _fastnn_rate(est):
    return est.model_.optimizer.learning_rate


IMPLS = {"mlp": (MLPClassifier, MLPRegressor, _mlp_rate),
         "fastnn": (FastNNClassifier, FastNNRegressor, _fastnn_rate)}


@pytest.fixture(params=sorted(IMPLS))
def impl(request):
    """(Classifier, Regressor, current learning rate of a fitted estimator)."""
    return IMPLS[request.param]


def _digits(n_class):
    X, y = load_digits(n_class=n_class, return_X_y=True)
    return MinMaxScaler().fit_transform(X[:200]), y[:200]


X_MULTI, Y_MULTI = _digits(3)
X_BIN, Y_BIN = _digits(2)
X_DIG, Y_DIG = load_digits(n_class=2, return_X_y=True)  # unscaled, for the dtype cases
X_REG, Y_REG = make_regression(n_samples=200, n_features=10, bias=20.0, noise=100.0,
                               random_state=7)
Y_REG = scale(Y_REG)
X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def test_alpha_shrinks_the_weights(impl):
    Clf = impl[0]
    sizes = []
    for alpha in np.arange(2):
        clf = quiet(Clf(hidden_layer_sizes=10, alpha=alpha, random_state=1).fit,
                    X_BIN[:100], Y_BIN[:100])
        sizes.append(np.sum([np.abs(c).sum() for c in clf.coefs_]))
    assert sizes[1] < sizes[0]


def test_worked_example_one_step():
    """The original's hand-computed network (3 inputs, 2 logistic units, 1 output;
    one sample of class 0; sgd, lr 0.1, alpha 0.1, no momentum): one partial_fit
    step from those weights, fastnn against MLP (MLP's set up through fit, then its
    weights overwritten in place) and against the original's rounded results."""
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    W = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([[0.1], [0.2]])]
    b = [np.array([0.1, 0.1]), np.array([1.0])]
    params = dict(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic",
                  random_state=1, max_iter=1, hidden_layer_sizes=2, momentum=0)
    mlp, fnn = MLPClassifier(**params), FastNNClassifier(**params)
    for est in (mlp, fnn):
        est.partial_fit(X, y, classes=[0, 1])
    for i in range(2):
        mlp.coefs_[i][...], mlp.intercepts_[i][...] = W[i], b[i]
    fnn.model_.set_weights([W[0], b[0], W[1], b[1]])
    mlp.partial_fit(X, y)
    fnn.partial_fit(X, y)
    for got, want in zip(fnn.coefs_ + fnn.intercepts_, mlp.coefs_ + mlp.intercepts_):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    # the original's hand numbers, to 3 decimals
    np.testing.assert_array_almost_equal(
        fnn.coefs_[0], [[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]],
        decimal=3)
    np.testing.assert_array_almost_equal(fnn.coefs_[1], [[0.04706], [0.154089]], decimal=3)
    np.testing.assert_array_almost_equal(fnn.intercepts_[0], [0.098333, 0.09626], decimal=3)
    np.testing.assert_array_almost_equal(fnn.intercepts_[1], 0.9235, decimal=3)
    np.testing.assert_almost_equal(fnn.predict_proba(X)[0, 1], 0.739, decimal=3)


@pytest.mark.parametrize("data", ["multi", "binary"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_classification_learns_the_training_set(impl, data, activation):
    """The original's lbfgs classification case, with adam: every activation fits
    the digits subsets, and predict returns labels of y's dtype."""
    X, y = (X_MULTI, Y_MULTI) if data == "multi" else (X_BIN, Y_BIN)
    clf = quiet(impl[0](hidden_layer_sizes=50, max_iter=300, activation=activation,
                        learning_rate_init=0.01, random_state=1).fit, X[:150], y[:150])
    assert clf.score(X[:150], y[:150]) > 0.95
    pred = clf.predict(X[150:])
    assert pred.shape == (50,) and pred.dtype.kind == y.dtype.kind


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_regression_learns_the_training_set(impl, activation):
    reg = quiet(impl[1](hidden_layer_sizes=50, max_iter=300, activation=activation,
                        learning_rate_init=0.01, random_state=1).fit, X_REG, Y_REG)
    # the original's bars were for lbfgs; adam's 300 epochs reach less with the sigmoid
    assert reg.score(X_REG, Y_REG) > {"identity": 0.65, "logistic": 0.8}.get(activation, 0.84)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_lbfgs_fits_classification_and_regression(impl, activation):
    """The original's lbfgs cases, with lbfgs, its bars and its max_fun case."""
    for X, y in ((X_MULTI, Y_MULTI), (X_BIN, Y_BIN)):
        clf = quiet(impl[0](solver="lbfgs", hidden_layer_sizes=50, max_iter=150,
                            random_state=1, activation=activation).fit, X[:150], y[:150])
        assert clf.score(X[:150], y[:150]) > 0.95
        assert clf.predict(X[150:]).dtype.kind == y.dtype.kind
    reg = quiet(impl[1](solver="lbfgs", hidden_layer_sizes=50, max_iter=200, tol=1e-3,
                        random_state=1, activation=activation).fit, X_REG, Y_REG)
    assert reg.score(X_REG, Y_REG) > (0.80 if activation == "identity" else 0.98)
    with pytest.warns(ConvergenceWarning):
        clf = impl[0](solver="lbfgs", hidden_layer_sizes=50, max_iter=150, max_fun=10,
                      random_state=1, activation=activation).fit(X_MULTI, Y_MULTI)
    assert clf.n_iter_ <= 10


def test_invscaling_rate_after_warm_starts(impl):
    X, y = [[3, 2], [1, 6], [5, 6], [-2, -4]], [1, 1, 1, 0]
    for schedule in ("invscaling", "constant"):
        clf = impl[0](solver="sgd", hidden_layer_sizes=4, learning_rate=schedule,
                      max_iter=1, power_t=0.25, warm_start=True)
        quiet(clf.fit, X, y)
        before = impl[2](clf)
        quiet(clf.fit, X, y)
        after = impl[2](clf)
        if schedule == "constant":
            assert before == after
        else:  # t_ = 8 samples seen over two one-epoch fits
            assert after == pytest.approx(clf.learning_rate_init / 9 ** 0.25, rel=1e-15)


def test_multilabel(impl):
    X, Y = make_multilabel_classification(n_samples=50, random_state=0,
                                          return_indicator=True)
    clf = quiet(impl[0](hidden_layer_sizes=50, alpha=1e-5, max_iter=500, random_state=0,
                        learning_rate_init=0.01).fit, X, Y)
    assert clf.score(X, Y) > 0.97
    clf = impl[0](solver="sgd", hidden_layer_sizes=50, random_state=0, activation="logistic",
                  alpha=1e-5, learning_rate_init=0.2)
    for _ in range(100):
        clf.partial_fit(X, Y, classes=[0, 1, 2, 3, 4])
    assert clf.score(X, Y) > 0.9
    quiet(impl[0](early_stopping=True).fit, X, Y).predict(X)  # no stratification
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and (np.abs(proba.sum(axis=1) - 1) > 1e-5).any()
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_multioutput_regression(impl):
    X, y = make_regression(n_samples=200, n_targets=5, random_state=11)
    reg = quiet(impl[1](hidden_layer_sizes=50, max_iter=500, learning_rate_init=0.01,
                        random_state=1).fit, X, y / y.std())
    assert reg.score(X, y / y.std()) > 0.9


def test_partial_fit_class_errors(impl):
    Clf = impl[0]
    clf = Clf(solver="sgd").partial_fit([[3, 2]], [0], classes=[0, 1])
    with pytest.raises(ValueError):
        clf.partial_fit([[3, 2]], [0], classes=[1, 2])
    with pytest.raises(ValueError):  # y has a label outside classes
        Clf(solver="sgd").partial_fit([[3, 2], [1, 6]], [1, 0], classes=[2])
    assert not hasattr(Clf(solver="lbfgs"), "partial_fit")


def test_partial_fit_equals_fit_for_classification(impl):
    for X, y in ((X_MULTI, Y_MULTI), (X_BIN, Y_BIN)):
        fitted = quiet(impl[0](solver="sgd", max_iter=50, random_state=1, tol=0,
                               alpha=1e-5, learning_rate_init=0.2).fit, X, y)
        partial = impl[0](solver="sgd", random_state=1, alpha=1e-5, learning_rate_init=0.2)
        for _ in range(50):
            partial.partial_fit(X, y, classes=np.unique(y))
        np.testing.assert_array_equal(fitted.predict(X), partial.predict(X))
        assert partial.score(X, y) > 0.95


def test_partial_fit_equals_fit_for_regression(impl):
    for momentum in (0, 0.9):
        params = dict(solver="sgd", activation="relu", random_state=1,
                      learning_rate_init=0.01, batch_size=len(X_REG), momentum=momentum)
        fitted = quiet(impl[1](max_iter=100, **params).fit, X_REG, Y_REG)
        partial = impl[1](**params)
        for _ in range(100):
            partial.partial_fit(X_REG, Y_REG)
        np.testing.assert_allclose(fitted.predict(X_REG), partial.predict(X_REG))
        assert partial.score(X_REG, Y_REG) > 0.65


def test_partial_fit_labels_not_in_the_first_chunk(impl):
    clf = impl[0](random_state=0)
    clf.partial_fit([[1], [2], [3]], ["a", "b", "c"], classes=["a", "b", "c", "d"])
    clf.partial_fit([[4]], ["d"])
    assert clf.score([[1], [2], [3], [4]], ["a", "b", "c", "d"]) > 0


def test_non_finite_weights_raise_value_error(impl):
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            impl[1]().fit(X, rng.standard_normal(size=10))


@pytest.mark.parametrize("data", ["binary", "multiclass"])
def test_predict_proba(impl, data):
    X, y = (X_BIN[:50], Y_BIN[:50]) if data == "binary" else (X_MULTI[:50], Y_MULTI[:50])
    clf = quiet(impl[0](hidden_layer_sizes=5, activation="logistic", max_iter=300,
                        learning_rate_init=0.05, random_state=0).fit, X, y)
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    assert proba.shape == (50, len(np.unique(y)))
    np.testing.assert_array_equal(proba.argmax(axis=1), log_proba.argmax(axis=1))
    np.testing.assert_allclose(log_proba, np.log(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_shuffle_changes_the_training(impl):
    X, y = make_regression(n_samples=50, n_features=5, n_targets=1, random_state=0)
    coefs = {}
    for shuffle in (True, False):
        runs = [quiet(impl[1](hidden_layer_sizes=1, max_iter=1, batch_size=1, random_state=0,
                              shuffle=shuffle).fit, X, y).coefs_[0] for _ in range(2)]
        assert np.array_equal(runs[0], runs[1])  # same seed: same result
        coefs[shuffle] = runs[0]
    assert not np.array_equal(coefs[True], coefs[False])


def test_sparse_input_is_refused_with_type_error():
    from scipy import sparse
    with pytest.raises(TypeError, match="sparse"):
        FastNNClassifier().fit(sparse.csr_matrix(X_BIN[:50]), Y_BIN[:50])
    clf = quiet(FastNNClassifier(max_iter=5).fit, X_BIN[:50], Y_BIN[:50])
    with pytest.raises(TypeError, match="sparse"):
        clf.predict(sparse.csr_array(X_BIN[:50]))


def test_tolerance_stops_early(impl):
    clf = impl[0](tol=0.5, max_iter=3000, solver="sgd").fit([[3, 2], [1, 6]], [1, 0])
    assert clf.n_iter_ < clf.max_iter


def test_verbose_prints_iterations(impl, capsys):
    clf = impl[0](solver="sgd", max_iter=2, verbose=10, hidden_layer_sizes=2)
    quiet(clf.fit, [[3, 2], [1, 6]], [1, 0])
    clf.partial_fit([[3, 2], [1, 6]], [1, 0])
    assert capsys.readouterr().out.count("Iteration") == 3


@pytest.mark.parametrize("kind", [0, 1])
def test_early_stopping(impl, kind):
    Est = impl[kind]
    X, y = X_BIN[:100], Y_BIN[:100]
    est = Est(tol=0.2, max_iter=3000, solver="sgd", early_stopping=True).fit(X, y)
    assert est.n_iter_ < 3000 and est.best_loss_ is None
    scores = est.validation_scores_
    assert isinstance(scores, list) and len(scores) == est.n_iter_
    assert max(scores) == est.best_validation_score_
    assert est.best_validation_score_ + 0.2 > scores[-2]
    assert est.best_validation_score_ + 0.2 > scores[-1]
    est = Est(tol=0.2, max_iter=3000, solver="sgd").fit(X, y)
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert est.best_loss_ is not None


def test_adaptive_rate_falls_below_its_floor(impl):
    clf = impl[0](tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive")
    clf.fit([[3, 2], [1, 6]], [1, 0])
    assert clf.n_iter_ < 3000 and impl[2](clf) < 1e-6


def test_warm_start_keeps_the_class_set(impl):
    base = dict(hidden_layer_sizes=2, warm_start=True, random_state=42, tol=1e-2,
                max_iter=20)
    clf = quiet(impl[0](**base).fit, X_IRIS, Y_IRIS)
    quiet(clf.fit, X_IRIS, Y_IRIS)
    quiet(clf.fit, X_IRIS, np.array([0] * 40 + [1] * 40 + [2] * 70))
    for other in ([0] * 75 + [1] * 75, [0] * 50 + [1] * 50 + [3] * 50,
                  [0] * 37 + [1] * 37 + [2] * 38 + [3] * 38, np.arange(150) % 5):
        clf = quiet(impl[0](**base).fit, X_IRIS, Y_IRIS)
        with pytest.raises(ValueError, match=re.escape(str(np.unique(other)))):
            clf.fit(X_IRIS, np.asarray(other))


@pytest.mark.parametrize("kind", [0, 1])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_warm_start_runs_max_iter_each_fit(impl, kind, solver):
    est = impl[kind](hidden_layer_sizes=2, solver=solver, warm_start=True, max_iter=3,
                     n_iter_no_change=np.inf, random_state=0)
    for max_iter in (3, 3, 7):
        est.set_params(max_iter=max_iter)
        with pytest.warns(ConvergenceWarning):
            est.fit(X_IRIS, Y_IRIS)
        assert est.n_iter_ == max_iter


def test_n_iter_no_change(impl):
    for patience in (2, 5, 10, 50):
        clf = impl[0](tol=0.01, max_iter=3000, solver="sgd", n_iter_no_change=patience)
        clf.fit(X_BIN[:100], Y_BIN[:100])
        assert clf._no_improvement_count == patience + 1 and clf.n_iter_ < 3000


def test_n_iter_no_change_inf_runs_to_max_iter(impl):
    clf = impl[0](tol=1e9, max_iter=200, solver="sgd", n_iter_no_change=np.inf)
    quiet(clf.fit, X_BIN[:100], Y_BIN[:100])
    assert clf.n_iter_ == 200 and clf._no_improvement_count == 199


def test_early_stopping_split_is_stratified_for_binary_only(impl):
    with pytest.raises(ValueError, match="The least populated class"):
        impl[0](early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])
    # 10 classes, 60 samples, 6 held out: not stratified, so no "test_size" error
    X, y = np.random.default_rng(0).normal(size=(60, 4)), np.arange(60) % 10
    clf = quiet(impl[0](early_stopping=True, max_iter=5).fit, X, y)
    assert len(clf.validation_scores_) == clf.n_iter_


def test_early_stopping_with_string_labels(impl):
    X, y = make_classification(n_samples=200, n_features=10, n_classes=3, n_informative=5,
                               random_state=42)
    y = np.array(["class_a", "class_b", "class_c"], dtype=object)[y]
    clf = quiet(impl[0](early_stopping=True, max_iter=50, random_state=42).fit, X, y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert np.isfinite(clf.validation_scores_).all()


@pytest.mark.parametrize("kind", [0, 1])
def test_float32_input_trains_in_float32(impl, kind):
    """float32 in: float32 weights (and regression outputs); predictions agree with a
    float64 fit within float32 training's drift (the original's tolerances)."""
    est = impl[kind](alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1, max_iter=100,
                     tol=1e-1 if kind == 0 else 1e-3)
    X64, y = X_DIG[:300], Y_DIG[:300]
    f64 = quiet(est.fit, X64, y)
    pred64 = f64.predict(X_DIG[300:])
    f32 = quiet(impl[kind](**est.get_params()).fit, X64.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in f32.coefs_ + f32.intercepts_)
    assert all(c.dtype == np.float64 for c in f64.coefs_ + f64.intercepts_)
    pred32 = f32.predict(X_DIG[300:].astype(np.float32))
    if kind == 0:
        np.testing.assert_array_equal(pred64, pred32)
    else:
        assert pred32.dtype == np.float32
        np.testing.assert_allclose(pred64, pred32, rtol=5e-4)


def test_partial_fit_after_unpickling(impl):
    reg = quiet(impl[1](hidden_layer_sizes=(42,), random_state=42, learning_rate_init=0.01,
                        max_iter=200).fit, [[2]], [4])
    again = pickle.loads(pickle.dumps(reg))
    for _ in range(200):
        again.partial_fit([[2]], [1])
    np.testing.assert_allclose(again.predict([[2]]), [1], rtol=1e-4)


@pytest.mark.parametrize("kind", [0, 1])
def test_early_stopping_keeps_feature_names_quiet(impl, kind):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(10, 2), columns=["colname_a", "colname_b"])
    y = pd.Series(np.full(10, 1), name="colname_y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        quiet(impl[kind](early_stopping=True, validation_fraction=0.2).fit, X, y)


@pytest.mark.parametrize("kind", [0, 1])
def test_warm_start_with_early_stopping_adds_scores(impl, kind):
    est = impl[kind](max_iter=10, random_state=0, warm_start=True, early_stopping=True)
    quiet(est.fit, X_IRIS, Y_IRIS)
    first = len(est.validation_scores_)
    quiet(est.set_params(max_iter=20).fit, X_IRIS, Y_IRIS)
    assert len(est.validation_scores_) > first


@pytest.mark.parametrize("kind", [0, 1])
def test_partial_fit_with_early_stopping_raises(impl, kind):
    est = quiet(impl[kind](early_stopping=True, random_state=0).fit, X_IRIS, Y_IRIS)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        est.partial_fit(X_IRIS, Y_IRIS)


def test_diverging_loss_with_early_stopping(impl):
    reg = impl[1](hidden_layer_sizes=100, activation="identity", solver="sgd",
                  learning_rate_init=1, max_iter=20, early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_IRIS, Y_IRIS)
    last = reg.validation_scores_[-1]
    assert isinstance(last, float) and np.isnan(last)
    assert all(np.isfinite(c).all() for c in reg.coefs_)  # the best weights are back


def test_unit_sample_weight_with_early_stopping_equals_none(impl):
    X, y = make_regression(n_samples=100, n_features=2, n_informative=2, random_state=42)
    params = dict(hidden_layer_sizes=10, early_stopping=True, tol=1e-2,
                  learning_rate_init=0.01, batch_size=10, random_state=42)
    a = quiet(impl[1](**params).fit, X, y, sample_weight=np.ones_like(y))
    b = quiet(impl[1](**params).fit, X, y)
    np.testing.assert_allclose(a.predict(X), b.predict(X))


def test_validation_set_of_one_sample_is_refused(impl):
    X, y = make_regression(n_samples=2, n_features=5, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        impl[1](early_stopping=True, random_state=0).fit(X, y)


def test_every_mlp_parameter_is_accepted():
    for mlp, ours in ((MLPClassifier(), FastNNClassifier), (MLPRegressor(), FastNNRegressor)):
        est = ours(**mlp.get_params())
        assert set(mlp.get_params()) <= set(est.get_params())
        assert all(est.get_params()[k] == v for k, v in mlp.get_params().items())
