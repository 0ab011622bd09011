"""Two-dimensional toy data sets in the style of the TensorFlow Playground.

fastnn's guide (README.md, after an introductory neural-network course) trains
a small ``tanh`` network (two hidden layers of 4 and 2 units) on the classification data sets of the
TensorFlow Playground (https://playground.tensorflow.org): *circle*, *XOR*,
*gaussian* and *spiral*. This module generates the same four shapes so the
guide's experiments can be reproduced offline, in a script or a test.

Every generator has the same signature and the same contract:

``make_<name>(n_samples=500, noise=0.0, seed=None) -> (X, y)``

* ``X`` is a fresh C-contiguous ``float64`` array of shape ``(n_samples, 2)``.
  Like the Playground, the points live roughly in the square ``[-5, 5]²``.
* ``y`` is a fresh ``int64`` array of shape ``(n_samples,)`` with labels in
  ``{0, 1}`` (the Playground colours them orange/blue and uses ±1). Class 0
  always gets ``n_samples // 2`` points and class 1 the other
  ``n_samples - n_samples // 2``.
* ``noise`` is a fraction of the data range: every coordinate receives
  independent Gaussian jitter with standard deviation ``noise * 5`` (5 is the
  half-width of the Playground's square), so ``noise=0.1`` moves points by
  about half a unit. Labels are assigned *before* the jitter, so a large
  ``noise`` pushes points across the class boundary, as in the Playground.
* The rows are shuffled, so a tail split (``validation_split``) sees both
  classes.
* ``seed`` is ``None`` (fresh entropy) or an int in ``[0, 2**64 - 1]`` fed to
  :func:`numpy.random.default_rng`; the same seed gives bitwise-identical
  output.

Bad arguments raise before any work is done: ``TypeError`` for a wrong type
(``bool`` is not accepted as an int or a float) and ``ValueError`` for a
wrong value.

Examples
--------
>>> from fastnn.datasets import make_circle
>>> X, y = make_circle(200, noise=0.05, seed=0)
>>> X.shape, X.dtype, y.shape, y.dtype
((200, 2), dtype('float64'), (200,), dtype('int64'))
>>> int((y == 0).sum()), int((y == 1).sum())
(100, 100)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import check_float, check_int, check_seed

__all__ = ["make_circle", "make_xor", "make_gaussian", "make_spiral"]

#: Half-width of the Playground's square; also the unit the ``noise`` scales.
_SCALE: float = 5.0
#: Circle: the inner disc has radius up to ``0.5 * R`` and the ring spans
#: ``[0.7 * R, R]``, leaving an empty gap of ``0.2 * R`` between the classes.
_CIRCLE_RADIUS: float = 5.0
_CIRCLE_INNER_MAX: float = 0.5
_CIRCLE_OUTER_MIN: float = 0.7
#: XOR: points keep at least this distance from both axes.
_XOR_PADDING: float = 0.3
#: Gaussian: blob centres and the per-coordinate standard deviation of the
#: blobs at ``noise=0`` (the Playground's variance of 0.5).
_GAUSS_CENTER: float = 2.0
_GAUSS_STD: float = math.sqrt(0.5)
#: Spiral: number of turns of each arm and its outer radius.
_SPIRAL_TURNS: float = 1.75
_SPIRAL_RADIUS: float = 5.0


def _validate(func: str, n_samples: Any, noise: Any, seed: Any) -> tuple[int, float, int | None]:
    """Validate the three shared arguments, in signature order."""
    return (
        check_int(func, "n_samples", n_samples, low=2),
        check_float(func, "noise", noise, low=0),
        check_seed(func, seed),
    )


# ---------------------------------------------------------------------------
# Shared tail: labels, jitter, shuffle
# ---------------------------------------------------------------------------


def _class_sizes(n_samples: int) -> tuple[int, int]:
    """Return ``(n_class0, n_class1)``: ``n // 2`` and ``n - n // 2``."""
    n0 = n_samples // 2
    return n0, n_samples - n0


def _finish(
    X0: np.ndarray, X1: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Stack the two classes, add the jitter, shuffle rows, fix dtypes."""
    X = np.concatenate([X0, X1], axis=0).astype(np.float64, copy=False)
    y = np.concatenate([np.zeros(len(X0), dtype=np.int64), np.ones(len(X1), dtype=np.int64)])
    if noise > 0.0:
        X = X + rng.normal(0.0, noise * _SCALE, size=X.shape)
    order = rng.permutation(len(X))
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order]


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Points ``(r cos θ, r sin θ)`` as an ``(n, 2)`` array."""
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


# ---------------------------------------------------------------------------
# Public generators
# ---------------------------------------------------------------------------


def make_circle(
    n_samples: int = 500, noise: float = 0.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A disc (class 1) surrounded by a ring (class 0): the Playground's *circle*.

    With ``R = 5``, class 1 points have a radius drawn uniformly in
    ``[0, 0.5 R]`` and class 0 points a radius drawn uniformly in
    ``[0.7 R, R]``; angles are uniform in ``[0, 2π)``. Without noise the two
    classes are separated by an empty annulus of width ``0.2 R``, so they are
    separable by a circle but not by a line: a network with no hidden layer
    cannot learn it from ``(x1, x2)`` alone.

    Parameters
    ----------
    n_samples : int, default=500
        Total number of points, an int >= 2. Class 0 gets
        ``n_samples // 2`` points and class 1 the rest.
    noise : float, default=0.0
        Standard deviation of the Gaussian jitter added to each coordinate,
        as a fraction of the data half-width 5 (``noise=0.1`` gives a
        standard deviation of 0.5). A finite float >= 0.
    seed : int or None, default=None
        Seed for :func:`numpy.random.default_rng`. ``None`` or an int in
        ``[0, 2**64 - 1]``.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, 2), dtype float64
        The points, rows shuffled.
    y : numpy.ndarray of shape (n_samples,), dtype int64
        The labels, 1 for the inner disc and 0 for the ring.

    Raises
    ------
    TypeError
        If an argument has the wrong type (``bool`` is rejected).
    ValueError
        If ``n_samples < 2``, ``noise`` is negative or not finite, or
        ``seed`` is outside ``[0, 2**64 - 1]``.

    Examples
    --------
    >>> X, y = make_circle(100, seed=0)
    >>> r = np.hypot(X[:, 0], X[:, 1])
    >>> bool(r[y == 1].max() < r[y == 0].min())
    True
    """
    n_samples, noise, seed = _validate("make_circle", n_samples, noise, seed)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n_samples)
    R = _CIRCLE_RADIUS
    # Class 1: inside the disc of radius 0.5 R.
    r1 = rng.uniform(0.0, _CIRCLE_INNER_MAX * R, size=n1)
    a1 = rng.uniform(0.0, 2.0 * np.pi, size=n1)
    # Class 0: the ring between 0.7 R and R.
    r0 = rng.uniform(_CIRCLE_OUTER_MIN * R, R, size=n0)
    a0 = rng.uniform(0.0, 2.0 * np.pi, size=n0)
    return _finish(_polar(r0, a0), _polar(r1, a1), noise, rng)


def make_xor(
    n_samples: int = 500, noise: float = 0.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Four quadrants labelled by the sign of ``x1 * x2``: the Playground's *XOR*.

    Each coordinate has a magnitude drawn uniformly in ``[0.3, 5]`` (the
    padding of 0.3 keeps points off the axes) and a random sign. Class 1
    points lie in the same-sign quadrants (``x1 * x2 > 0``), class 0 points
    in the opposite-sign quadrants (``x1 * x2 < 0``), so class 0 is exactly
    ``(x1 >= 0) XOR (x2 >= 0)``: the classic problem a single perceptron
    cannot learn.

    Parameters
    ----------
    n_samples : int, default=500
        Total number of points, an int >= 2. Class 0 gets
        ``n_samples // 2`` points and class 1 the rest.
    noise : float, default=0.0
        Standard deviation of the Gaussian jitter added to each coordinate,
        as a fraction of the data half-width 5. A finite float >= 0. Labels
        are assigned before the jitter.
    seed : int or None, default=None
        Seed for :func:`numpy.random.default_rng`. ``None`` or an int in
        ``[0, 2**64 - 1]``.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, 2), dtype float64
        The points, rows shuffled.
    y : numpy.ndarray of shape (n_samples,), dtype int64
        1 where ``x1 * x2 >= 0`` (before noise), else 0.

    Raises
    ------
    TypeError
        If an argument has the wrong type (``bool`` is rejected).
    ValueError
        If ``n_samples < 2``, ``noise`` is negative or not finite, or
        ``seed`` is outside ``[0, 2**64 - 1]``.

    Examples
    --------
    >>> X, y = make_xor(100, seed=0)
    >>> bool(np.all((X[:, 0] * X[:, 1] >= 0) == (y == 1)))
    True
    """
    n_samples, noise, seed = _validate("make_xor", n_samples, noise, seed)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n_samples)

    def quadrant_points(n: int, same_sign: bool) -> np.ndarray:
        magnitude = rng.uniform(_XOR_PADDING, _SCALE, size=(n, 2))
        sign_x = rng.choice(np.array([-1.0, 1.0]), size=n)
        sign_y = sign_x if same_sign else -sign_x
        points: np.ndarray = magnitude * np.column_stack([sign_x, sign_y])
        return points

    X1 = quadrant_points(n1, same_sign=True)
    X0 = quadrant_points(n0, same_sign=False)
    return _finish(X0, X1, noise, rng)


def make_gaussian(
    n_samples: int = 500, noise: float = 0.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs: the Playground's *gaussian* data set.

    Class 1 is centred at ``(2, 2)`` and class 0 at ``(-2, -2)``. Each blob
    has a per-coordinate standard deviation of ``sqrt(0.5) ≈ 0.71`` at
    ``noise=0``; the jitter adds variance, so the total per-coordinate
    standard deviation is ``sqrt(0.5 + (5 * noise)**2)``. Without noise the
    classes are (almost surely) linearly separable.

    Parameters
    ----------
    n_samples : int, default=500
        Total number of points, an int >= 2. Class 0 gets
        ``n_samples // 2`` points and class 1 the rest.
    noise : float, default=0.0
        Standard deviation of the extra Gaussian jitter on each coordinate,
        as a fraction of the data half-width 5. A finite float >= 0.
    seed : int or None, default=None
        Seed for :func:`numpy.random.default_rng`. ``None`` or an int in
        ``[0, 2**64 - 1]``.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, 2), dtype float64
        The points, rows shuffled.
    y : numpy.ndarray of shape (n_samples,), dtype int64
        1 for the blob at ``(2, 2)``, 0 for the blob at ``(-2, -2)``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (``bool`` is rejected).
    ValueError
        If ``n_samples < 2``, ``noise`` is negative or not finite, or
        ``seed`` is outside ``[0, 2**64 - 1]``.

    Examples
    --------
    >>> X, y = make_gaussian(1000, seed=0)
    >>> np.round(X[y == 1].mean(axis=0)).tolist()
    [2.0, 2.0]
    """
    n_samples, noise, seed = _validate("make_gaussian", n_samples, noise, seed)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n_samples)
    X1 = rng.normal(_GAUSS_CENTER, _GAUSS_STD, size=(n1, 2))
    X0 = rng.normal(-_GAUSS_CENTER, _GAUSS_STD, size=(n0, 2))
    return _finish(X0, X1, noise, rng)


def make_spiral(
    n_samples: int = 500, noise: float = 0.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spiral arms: the Playground's *spiral* data set.

    Each class is an Archimedean spiral of 1.75 turns growing from the
    origin to radius 5. For class ``c`` with ``m`` points, point ``i`` sits
    at the fraction ``s = (i + 0.5) / m`` of the arm:

    .. math::

        r = 5 s, \\qquad \\theta = 2\\pi \\cdot 1.75 \\, s + c \\pi,
        \\qquad (x_1, x_2) = (r \\sin\\theta, r \\cos\\theta)

    so the class 1 arm is the class 0 arm rotated by half a turn. (The half
    step offset keeps the first point of each arm off the origin, where the
    two arms would otherwise meet with different labels.) Without noise the
    points are evenly spaced along each arm and only their order depends on
    ``seed``.

    Parameters
    ----------
    n_samples : int, default=500
        Total number of points, an int >= 2. Class 0 gets
        ``n_samples // 2`` points and class 1 the rest.
    noise : float, default=0.0
        Standard deviation of the Gaussian jitter added to each coordinate,
        as a fraction of the data half-width 5. A finite float >= 0.
    seed : int or None, default=None
        Seed for :func:`numpy.random.default_rng`. ``None`` or an int in
        ``[0, 2**64 - 1]``.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, 2), dtype float64
        The points, rows shuffled.
    y : numpy.ndarray of shape (n_samples,), dtype int64
        The arm each point belongs to, 0 or 1.

    Raises
    ------
    TypeError
        If an argument has the wrong type (``bool`` is rejected).
    ValueError
        If ``n_samples < 2``, ``noise`` is negative or not finite, or
        ``seed`` is outside ``[0, 2**64 - 1]``.

    Examples
    --------
    >>> X, y = make_spiral(200, seed=0)
    >>> bool(np.hypot(X[:, 0], X[:, 1]).max() <= 5.0)
    True
    """
    n_samples, noise, seed = _validate("make_spiral", n_samples, noise, seed)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n_samples)

    def arm(m: int, label: int) -> np.ndarray:
        s = (np.arange(m, dtype=np.float64) + 0.5) / m
        radius = _SPIRAL_RADIUS * s
        theta = 2.0 * np.pi * _SPIRAL_TURNS * s + label * np.pi
        return np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])

    return _finish(arm(n0, 0), arm(n1, 1), noise, rng)
