"""Metrics computed exactly from a whole epoch's predictions: ``precision``,
``recall``, ``auc``, ``top_k_categorical_accuracy`` (k = 5) and ``r2_score``
(Keras's names).  ``accuracy``, ``mae``, ``mse`` and ``rmse`` are accumulated per
batch in C instead.

They need every prediction at once (a ranking for the AUC, totals for the
ratios), so ``fit`` computes them at the end of each epoch from one forward pass
over the training data with the epoch's final weights (``evaluate`` and the
validation data use their own forward pass): a training ``precision`` is that of
the model after the epoch, not Keras's running value during it.  With sample
weights every count is weighted.

* precision = TP / (TP + FP), recall = TP / (TP + FN): every output unit is a
  binary decision (prediction > 0.5, target > 0.5 — or > 0 for ±1 hinge targets;
  integer labels are one-hot encoded first), counted together (micro average).
* auc: the exact area under the ROC curve of all (target, prediction) pairs —
  Keras approximates it with 200 thresholds; this is the exact value its
  approximation converges to (ties count one half).
* top_k_categorical_accuracy: the true class is among the 5 highest outputs.
* r2_score: 1 − Σ w (y − ŷ)² / Σ w (y − ȳ)² per output, averaged over outputs.
"""
from __future__ import annotations

import numpy as np

EPOCH_METRICS = ("precision", "recall", "auc", "top_k_categorical_accuracy", "r2_score")


def _dense(T, k, sparse):
    if sparse:
        return np.eye(k)[T[:, 0].astype(np.int64)]
    return T


def _truth(T, hinge):
    return T > (0 if hinge else 0.5)


def compute(name, P, T, sparse, hinge, w=None):
    """The metric `name` for predictions P (n, k), targets T, weights w (n,)."""
    P = np.asarray(P, np.float64)
    n, k = P.shape
    T = _dense(np.asarray(T, np.float64), k, sparse)
    w = np.ones(n) if w is None else np.asarray(w, np.float64)
    if name in ("precision", "recall"):
        pred, true = P > 0.5, _truth(T, hinge)
        W = np.broadcast_to(w[:, None], P.shape)
        tp = W[pred & true].sum()
        other = W[pred & ~true].sum() if name == "precision" else W[~pred & true].sum()
        return float(tp / (tp + other)) if tp + other > 0 else 0.0
    if name == "auc":
        return _auc(_truth(T, hinge).ravel(), P.ravel(), np.repeat(w, k))
    if name == "top_k_categorical_accuracy":
        labels = T.argmax(axis=1)
        top = np.argsort(-P, axis=1, kind="stable")[:, :5]
        return float(np.sum(w * (top == labels[:, None]).any(axis=1)) / max(w.sum(), 1e-300))
    if name == "r2_score":
        mean = (w[:, None] * T).sum(axis=0) / w.sum()
        res = (w[:, None] * (T - P) ** 2).sum(axis=0)
        tot = (w[:, None] * (T - mean) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(tot > 0, 1 - res / tot, np.where(res > 0, 0.0, 1.0))
        return float(r2.mean())
    raise ValueError(f"unknown epoch metric {name!r}")


def _auc(true, score, w):
    """Exact weighted ROC AUC: P(score of a positive > score of a negative) + ½ P(tie)."""
    pos, neg = w[true].sum(), w[~true].sum()
    if pos == 0 or neg == 0:
        return 0.0
    order = np.argsort(score, kind="stable")
    s, t, ww = score[order], true[order], w[order]
    uniq, start = np.unique(s, return_index=True)
    neg_w = np.add.reduceat(np.where(t, 0.0, ww), start)
    pos_w = np.add.reduceat(np.where(t, ww, 0.0), start)
    below = np.concatenate([[0.0], np.cumsum(neg_w)[:-1]])
    return float(np.sum(pos_w * (below + 0.5 * neg_w)) / (pos * neg))
