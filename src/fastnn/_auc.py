"""The areas under a curve of ``fastnn.metrics.AUC`` (see fastnn/metrics.py's
docstring): the exact ROC AUC of all (target, score) pairs, and Keras's
thresholded AUC — confusion counts at Keras's thresholds, PR or ROC curve,
interpolation (PR: Davis & Goadrich), minoring or majoring sums."""
from __future__ import annotations

from typing import Any

import numpy as np


def exact_auc(true: np.ndarray, score: np.ndarray, w: np.ndarray) -> float:
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


def is_exact(p: dict[str, Any]) -> bool:
    """The default AUC (ROC, interpolation, no thresholds given) is computed exactly."""
    return (str(p.get("curve", "ROC")).upper() == "ROC" and p.get("thresholds") is None
            and p.get("summation_method", "interpolation") == "interpolation")


def keras_thresholds(p: dict[str, Any]) -> np.ndarray:
    """Keras's AUC thresholds (float32): −ε, the inner ones, 1 + ε."""
    eps = 1e-7
    given = p.get("thresholds")
    if given is None:
        n = p.get("num_thresholds", 200)
        inner = [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)]
    else:
        inner = sorted(float(t) for t in (given if isinstance(given, (list, tuple))
                                          else [given]))
    return np.array([0.0 - eps, *inner, 1.0 + eps], np.float32)


def keras_auc(true: np.ndarray, score: np.ndarray, w: np.ndarray,
               p: dict[str, Any]) -> float:
    """Keras's thresholded AUC (see the module docstring) of one (set of) outputs."""
    th = keras_thresholds(p)
    nt = len(th)
    # a prediction counts as positive at threshold t when score > t (float32, as Keras);
    # above[i] = how many thresholds lie below score i
    above = np.searchsorted(th, score.astype(np.float32), side="left")

    def over(mask: np.ndarray) -> np.ndarray:  # Σ w [score > t_j] for each threshold j
        hist = np.bincount(above[mask], weights=w[mask], minlength=nt + 1)
        return np.cumsum(hist[::-1])[::-1][1:]

    tp, fp = over(true), over(~true)
    fn, tn = w[true].sum() - tp, w[~true].sum() - fp

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # Keras's divide_no_nan
        out = np.zeros_like(a)
        np.divide(a, b, out=out, where=b != 0)
        return out

    curve = str(p.get("curve", "ROC")).upper()
    method = str(p.get("summation_method", "interpolation"))
    if curve == "PR" and method == "interpolation":
        dtp = tp[:-1] - tp[1:]
        pos = tp + fp
        dp = pos[:-1] - pos[1:]
        slope = ratio(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * pos[1:]
        both = (pos[:-1] > 0) & (pos[1:] > 0)
        safe = np.where(both, ratio(pos[:-1], np.maximum(pos[1:], 0)), 1.0)
        return float(np.sum(ratio(slope * (dtp + intercept * np.log(safe)),
                                  np.maximum(tp[1:] + fn[1:], 0))))
    recall = ratio(tp, tp + fn)
    x, y = (ratio(fp, fp + tn), recall) if curve == "ROC" else (recall, ratio(tp, tp + fp))
    heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
               "majoring": np.maximum(y[:-1], y[1:])}[method]
    return float(np.sum((x[:-1] - x[1:]) * heights))
