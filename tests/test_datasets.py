"""Tests for fastnn.datasets: the TensorFlow-Playground-style 2-D data sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastnn.datasets import make_circle, make_gaussian, make_spiral, make_xor

GENERATORS = [make_circle, make_xor, make_gaussian, make_spiral]
gen_param = pytest.mark.parametrize("make", GENERATORS, ids=lambda f: f.__name__)


# ---------------------------------------------------------------------------
# Output contract
# ---------------------------------------------------------------------------


@gen_param
@pytest.mark.parametrize("n_samples", [2, 3, 101, 500])
@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_shapes_dtypes_and_balance(make, n_samples, noise):
    X, y = make(n_samples, noise=noise, seed=0)
    assert X.shape == (n_samples, 2)
    assert y.shape == (n_samples,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.flags.c_contiguous
    assert np.all(np.isfinite(X))
    assert set(np.unique(y).tolist()) == {0, 1}
    assert np.sum(y == 0) == n_samples // 2
    assert np.sum(y == 1) == n_samples - n_samples // 2


@gen_param
def test_defaults(make):
    X, y = make()
    assert X.shape == (500, 2) and y.shape == (500,)
    assert np.sum(y == 1) == 250


@gen_param
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_same_seed_is_bitwise_identical(make, noise):
    X1, y1 = make(200, noise=noise, seed=123)
    X2, y2 = make(200, noise=noise, seed=123)
    assert X1.tobytes() == X2.tobytes()
    assert np.array_equal(y1, y2)


@gen_param
def test_numpy_integer_seed_matches_python_int(make):
    X1, y1 = make(50, noise=0.1, seed=7)
    X2, y2 = make(np.int64(50), noise=np.float64(0.1), seed=np.uint8(7))
    assert X1.tobytes() == X2.tobytes() and np.array_equal(y1, y2)


@gen_param
def test_different_seeds_differ(make):
    X1, _ = make(200, noise=0.1, seed=1)
    X2, _ = make(200, noise=0.1, seed=2)
    assert not np.array_equal(X1, X2)


@gen_param
def test_rows_are_shuffled(make):
    _, y = make(200, seed=0)
    # Unshuffled output would be 100 zeros followed by 100 ones.
    assert not np.array_equal(y, np.sort(y))


@gen_param
def test_global_numpy_rng_is_not_used(make):
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    make(50, noise=0.1, seed=3)
    assert np.array_equal(np.random.get_state()[1], state)


@gen_param
def test_noise_moves_points(make):
    X0, _ = make(300, noise=0.0, seed=5)
    X1, _ = make(300, noise=0.1, seed=5)
    assert not np.allclose(X0, X1)
    # The jitter has standard deviation noise * 5 per coordinate, so the
    # data never explodes: |x| <= 5 + 6 sigma for 600 coordinates.
    assert np.abs(X1).max() < 5.0 + 6 * 0.5 + (4.0 if make is make_gaussian else 0.0)


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


def test_circle_geometry():
    X, y = make_circle(1000, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    inner, outer = r[y == 1], r[y == 0]
    assert inner.max() <= 2.5 + 1e-12
    assert outer.min() >= 3.5 - 1e-12 and outer.max() <= 5.0 + 1e-12
    assert inner.max() < outer.min()
    # Angles cover the whole circle for both classes.
    for cls in (0, 1):
        angles = np.arctan2(X[y == cls, 1], X[y == cls, 0])
        counts, _ = np.histogram(angles, bins=4, range=(-math.pi, math.pi))
        assert np.all(counts > 0)


def test_xor_geometry():
    X, y = make_xor(1000, noise=0.0, seed=0)
    prod = X[:, 0] * X[:, 1]
    assert np.array_equal(y == 1, prod >= 0)
    # Kept off the axes by the padding, inside the [-5, 5] square.
    assert np.abs(X).min() >= 0.3 - 1e-12
    assert np.abs(X).max() <= 5.0 + 1e-12
    # All four quadrants are populated.
    quadrants = set(zip(np.sign(X[:, 0]).tolist(), np.sign(X[:, 1]).tolist(), strict=True))
    assert quadrants == {(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)}


def test_gaussian_geometry():
    X, y = make_gaussian(2000, noise=0.0, seed=0)
    # Standard error of each mean is about 0.71 / sqrt(1000) ~ 0.022.
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2.0, 2.0], atol=0.1)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-2.0, -2.0], atol=0.1)
    np.testing.assert_allclose(X[y == 1].std(axis=0), [math.sqrt(0.5)] * 2, rtol=0.1)


def test_gaussian_noise_widens_blobs():
    X, y = make_gaussian(2000, noise=0.2, seed=0)
    expected_std = math.sqrt(0.5 + (5 * 0.2) ** 2)
    np.testing.assert_allclose(X[y == 0].std(axis=0), [expected_std] * 2, rtol=0.1)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-2.0, -2.0], atol=0.2)


def test_spiral_geometry():
    X, y = make_spiral(400, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.min() > 0.0 and r.max() <= 5.0 + 1e-12
    # The class-1 arm is the class-0 arm rotated by half a turn: as sets of
    # points, X[y == 1] == -X[y == 0] when both arms have the same length.
    arm0 = X[y == 0][np.argsort(np.hypot(*X[y == 0].T))]
    arm1 = X[y == 1][np.argsort(np.hypot(*X[y == 1].T))]
    np.testing.assert_allclose(arm1, -arm0, atol=1e-12)
    # Along each arm the angle grows by 1.75 turns in total.
    theta = np.unwrap(np.arctan2(arm0[:, 0], arm0[:, 1]))
    assert abs(abs(theta[-1] - theta[0]) - 2 * math.pi * 1.75 * (199 / 200)) < 1e-9


def test_spiral_first_points_do_not_collide():
    X, y = make_spiral(2, seed=0)
    assert not np.allclose(X[0], X[1])


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

BAD_INPUTS = [
    # (kwargs, exception, match)
    ({"n_samples": 0}, ValueError, r"argument `n_samples`.*int >= 2.*Received: n_samples=0"),
    ({"n_samples": 1}, ValueError, r"argument `n_samples`.*Received: n_samples=1"),
    ({"n_samples": -3}, ValueError, r"argument `n_samples`.*Received: n_samples=-3"),
    ({"n_samples": 2.5}, TypeError, r"invalid type for argument `n_samples`.*n_samples=2\.5"),
    ({"n_samples": True}, TypeError, r"invalid type for argument `n_samples`.*n_samples=True"),
    ({"n_samples": None}, TypeError, r"invalid type for argument `n_samples`.*n_samples=None"),
    ({"n_samples": "10"}, TypeError, r"invalid type for argument `n_samples`.*n_samples='10'"),
    (
        {"noise": -1},
        ValueError,
        r"invalid value for argument `noise`\. Expected a finite float >= 0\. Received: noise=-1\.0$",
    ),
    ({"noise": -1e-300}, ValueError, r"argument `noise`"),
    ({"noise": float("nan")}, ValueError, r"argument `noise`.*noise=nan"),
    ({"noise": float("inf")}, ValueError, r"argument `noise`.*noise=inf"),
    ({"noise": "a"}, TypeError, r"invalid type for argument `noise`.*noise='a'"),
    ({"noise": None}, TypeError, r"invalid type for argument `noise`"),
    ({"noise": False}, TypeError, r"invalid type for argument `noise`"),
    ({"noise": 0.1 + 0j}, TypeError, r"invalid type for argument `noise`"),
    ({"seed": -1}, ValueError, r"invalid value for argument `seed`\. Expected an int >= 0.*=-1$"),
    ({"seed": 2**64}, ValueError, r"invalid value for argument `seed`.*<= 18446744073709551615"),
    ({"seed": 1.5}, TypeError, r"invalid type for argument `seed`.*seed=1\.5"),
    ({"seed": "x"}, TypeError, r"invalid type for argument `seed`.*seed='x'"),
    ({"seed": True}, TypeError, r"invalid type for argument `seed`"),
]


@gen_param
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"), BAD_INPUTS, ids=[repr(k) for k, _, _ in BAD_INPUTS]
)
def test_bad_input(make, kwargs, exc, match):
    args = {"n_samples": 10, "noise": 0.0, "seed": 0, **kwargs}
    with pytest.raises(exc, match=rf"^{make.__name__}\(\): .*{match}"):
        make(**args)


@gen_param
def test_noise_accepts_int_zero(make):
    X, _ = make(10, noise=0, seed=0)
    assert X.shape == (10, 2)


@gen_param
def test_seed_accepts_the_full_numpy_range(make):
    X1, y1 = make(10, seed=2**64 - 1)
    X2, y2 = make(10, seed=np.uint64(2**64 - 1))
    assert X1.tobytes() == X2.tobytes() and np.array_equal(y1, y2)
