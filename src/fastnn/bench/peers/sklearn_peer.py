"""scikit-learn's ``MLPClassifier``, set up to train the same network the same way.

Settings: the hidden sizes and activation of the net, ``solver="sgd"`` with
``momentum``, ``nesterovs_momentum=False`` and a constant rate (W1), or
``solver="adam"`` with ``epsilon=1e-7`` (W2, W3); ``alpha=0`` (its default
L2 penalty is 1e-4, the other peers have none), ``batch_size`` of the case,
``shuffle=True``, ``early_stopping=False``, and ``tol=0`` with a huge
``n_iter_no_change`` so that it never stops early.  Its SGD momentum rule is
Keras's; its output layer and loss (logistic + log-loss for one output,
softmax + log-loss for ten) are chosen by itself and match the nets.

Initial weights: one ``fit`` with ``max_iter=1`` on one row per class creates
the fitted attributes; ``coefs_`` / ``intercepts_`` are then replaced by the
suite's weights and ``warm_start=True`` is set, so the next ``fit`` starts
from exactly those weights (with a new optimizer: scikit-learn creates one
per ``fit`` call).  What is timed: one ``fit(X, y)`` call with
``max_iter=k`` per window (k epochs, its input validation included).  Its
float32 input keeps the computation in float32.  W4 (MSE regression) and W5
(inference) are not run: the issue asks scikit-learn for W1-W3 only.
"""
from __future__ import annotations

import warnings

import numpy as np

NOTES = {"sklearn": "MLPClassifier(alpha=0, tol=0, never early-stopping, warm_start): one "
                    "fit(X, y) with max_iter=k per window, optimizer state restarts per fit; "
                    "predict = predict_proba"}


def unsupported(peer, case):
    if case.kind != "train":
        return "training workloads W1-W3 only"
    if case.workload == "W4":
        return "W4 is MSE regression; MLPClassifier is W1-W3 only"
    return None


def setup(peer, threads):
    import sklearn

    from ..machine import blas_pools, limit_blas_threads

    limit_blas_threads(threads)
    return {"versions": {"scikit-learn": sklearn.__version__}, "blas": blas_pools()}


class Trainer:
    def __init__(self, case, net, data, weights, seed):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        self.warning = ConvergenceWarning
        acts = set(net.acts[:-1])
        if len(acts) != 1:
            raise ValueError("MLPClassifier needs one hidden activation")
        kw = dict(hidden_layer_sizes=net.sizes[1:-1], activation=acts.pop(), alpha=0.0,
                  batch_size=case.batch, shuffle=True, random_state=seed, tol=0.0,
                  n_iter_no_change=10**9, early_stopping=False, max_iter=1)
        if net.optimizer[0] == "sgd":
            kw.update(solver="sgd", learning_rate="constant", learning_rate_init=net.optimizer[1],
                      momentum=net.optimizer[2], nesterovs_momentum=False)
        else:
            kw.update(solver="adam", learning_rate_init=net.optimizer[1], epsilon=1e-7)
        self.clf = MLPClassifier(**kw)
        self.X, self.y = data["X"], data["y"].ravel().astype(np.int64)
        first = np.unique(self.y, return_index=True)[1]  # one row per class
        with warnings.catch_warnings():  # batch_size > rows: clipped, as intended here
            warnings.simplefilter("ignore", UserWarning)
            self._fit(self.X[first], self.y[first])
        self.clf.coefs_ = [w.copy() for w in weights[0::2]]
        self.clf.intercepts_ = [b.copy() for b in weights[1::2]]
        self.clf.set_params(warm_start=True)

    def _fit(self, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self.warning)
            self.clf.fit(X, y)

    def train(self, epochs):
        self.clf.set_params(max_iter=epochs)
        self._fit(self.X, self.y)

    def predict(self, X):
        p = self.clf.predict_proba(X)
        return p[:, 1:] if p.shape[1] == 2 and self.clf.n_outputs_ == 1 else p


def trainer(peer, case, net, data, weights, seed):
    return Trainer(case, net, data, weights, seed)


def predictor(peer, case, net, weights, x):  # pragma: no cover - unsupported() refuses
    raise NotImplementedError
