"""Tests for fastnn.model_selection: splits, K-fold splitters, cross_validate."""

from __future__ import annotations

import sys
import types
from collections import Counter

import numpy as np
import pytest

from fastnn.model_selection import (
    KFold,
    StratifiedKFold,
    cross_validate,
    train_val_test_split,
)

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def check_partition(folds, n_samples, n_splits):
    """Common K-fold invariants; returns the list of test-fold sizes."""
    assert len(folds) == n_splits
    seen = []
    for train, test in folds:
        assert train.dtype == np.int64 and test.dtype == np.int64
        assert train.ndim == 1 and test.ndim == 1
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # sorted, unique
        assert np.intersect1d(train, test).size == 0
        assert np.array_equal(np.union1d(train, test), np.arange(n_samples))
        seen.append(test)
    all_test = np.concatenate(seen)
    assert np.array_equal(np.sort(all_test), np.arange(n_samples))  # each index once
    return [len(t) for t in seen]


def expected_fold_sizes(n_samples, n_splits):
    q, r = divmod(n_samples, n_splits)
    return [q + 1] * r + [q] * (n_splits - r)


IMBALANCED_Y = np.repeat([0, 1, 2], [50, 30, 7])  # 87 samples, 3 classes


# ---------------------------------------------------------------------------
# KFold
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize(("n_samples", "n_splits"), [(10, 3), (10, 10), (7, 2), (100, 5), (11, 4)])
def test_kfold_partition_and_sizes(n_samples, n_splits, shuffle):
    kf = KFold(n_splits, shuffle=shuffle, seed=0)
    folds = list(kf.split(np.zeros((n_samples, 3))))
    sizes = check_partition(folds, n_samples, n_splits)
    assert sizes == expected_fold_sizes(n_samples, n_splits)
    assert kf.get_n_splits() == n_splits


def test_kfold_unshuffled_folds_are_contiguous_blocks():
    folds = [test.tolist() for _, test in KFold(3).split(list(range(10)))]
    assert folds == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_kfold_unshuffled_blocks_follow_scikit_learn_sizes():
    # scikit-learn's rule: the first n % k folds get one extra sample.
    folds = list(KFold(4).split(np.zeros((23, 2))))
    tests = [te.tolist() for _, te in folds]
    assert tests == [
        list(range(0, 6)),
        list(range(6, 12)),
        list(range(12, 18)),
        list(range(18, 23)),
    ]
    assert folds[1][0].tolist() == list(range(0, 6)) + list(range(12, 23))


def test_kfold_shuffle_determinism():
    x = np.zeros((50, 2))
    a = [te for _, te in KFold(5, shuffle=True, seed=42).split(x)]
    b = [te for _, te in KFold(5, shuffle=True, seed=42).split(x)]
    kf = KFold(5, shuffle=True, seed=42)
    c1 = [te for _, te in kf.split(x)]
    c2 = [te for _, te in kf.split(x)]
    d = [te for _, te in KFold(5, shuffle=True, seed=43).split(x)]
    unshuffled = [te for _, te in KFold(5).split(x)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert all(np.array_equal(p, q) for p, q in zip(c1, c2, strict=True))
    assert all(np.array_equal(p, q) for p, q in zip(a, c1, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a, d, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a, unshuffled, strict=True))


def test_kfold_seed_ignored_without_shuffle():
    x = np.zeros(9)
    a = [te.tolist() for _, te in KFold(3, seed=1).split(x)]
    b = [te.tolist() for _, te in KFold(3, seed=2).split(x)]
    assert a == b


def test_kfold_properties_and_repr():
    kf = KFold(4, shuffle=True, seed=3)
    assert (kf.n_splits, kf.shuffle, kf.seed) == (4, True, 3)
    assert repr(kf) == "KFold(n_splits=4, shuffle=True, seed=3)"
    with pytest.raises(AttributeError):
        kf.n_splits = 1  # read-only: cannot bypass validation


def test_kfold_split_validates_eagerly():
    kf = KFold(5)
    # The error comes from split() itself, not from the first next().
    with pytest.raises(ValueError, match=r"n_splits=5 folds from n_samples=3"):
        kf.split(np.zeros(3))


def test_kfold_does_not_mutate_input():
    x = np.arange(12.0).reshape(6, 2)
    before = x.copy()
    list(KFold(3, shuffle=True, seed=0).split(x, x[:, 0]))
    assert np.array_equal(x, before)


# ---------------------------------------------------------------------------
# StratifiedKFold
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("n_splits", [2, 5, 7])
def test_stratified_kfold_keeps_class_ratios(n_splits, shuffle):
    y = IMBALANCED_Y
    folds = list(StratifiedKFold(n_splits, shuffle=shuffle, seed=0).split(np.zeros((len(y), 2)), y))
    sizes = check_partition(folds, len(y), n_splits)
    assert sizes == expected_fold_sizes(len(y), n_splits)
    totals = Counter(y.tolist())
    for _, test in folds:
        counts = Counter(y[test].tolist())
        for cls, total in totals.items():
            # Within one sample of the exact share: floor or ceil of total / k.
            assert abs(counts.get(cls, 0) - total / n_splits) < 1.0


def test_stratified_kfold_interleaved_labels():
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat([3, 7], [40, 10]))  # arbitrary label values
    for _, test in StratifiedKFold(5).split(np.zeros(50), y):
        assert Counter(y[test].tolist()) == {3: 8, 7: 2}


def test_stratified_kfold_onehot_and_column_match_labels():
    y = IMBALANCED_Y
    onehot = np.eye(3)[y]
    column = y[:, None]
    x = np.zeros((len(y), 1))
    skf = StratifiedKFold(4, shuffle=True, seed=9)
    ref = list(skf.split(x, y))
    for variant in (onehot, column, y.astype(np.float32), y.tolist()):
        for (tr, te), (rtr, rte) in zip(skf.split(x, variant), ref, strict=True):
            assert np.array_equal(tr, rtr) and np.array_equal(te, rte)


def test_stratified_kfold_shuffle_determinism():
    y = IMBALANCED_Y
    x = np.zeros(len(y))
    a = [te for _, te in StratifiedKFold(5, shuffle=True, seed=1).split(x, y)]
    b = [te for _, te in StratifiedKFold(5, shuffle=True, seed=1).split(x, y)]
    c = [te for _, te in StratifiedKFold(5, shuffle=True, seed=2).split(x, y)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))


def test_stratified_kfold_warns_on_small_class():
    y = np.array([0] * 10 + [1] * 2)
    skf = StratifiedKFold(3)
    with pytest.warns(
        UserWarning, match=r"least populated class.*only 2 member.*n_splits=3"
    ) as rec:
        folds = skf.split(np.zeros(12), y)  # warns at the call, before iteration
    assert rec[0].filename == __file__  # stacklevel points at the caller
    folds = list(folds)
    check_partition(folds, 12, 3)


def test_stratified_kfold_too_many_splits():
    with pytest.raises(ValueError, match=r"StratifiedKFold\.split\(\): cannot make n_splits=5"):
        StratifiedKFold(5).split(np.zeros(4), np.array([0, 0, 1, 1]))


def test_stratified_kfold_does_not_mutate_input():
    y = IMBALANCED_Y.copy()
    list(StratifiedKFold(3, shuffle=True, seed=0).split(np.zeros(len(y)), y))
    assert np.array_equal(y, IMBALANCED_Y)


# ---------------------------------------------------------------------------
# Bad input for the splitters
# ---------------------------------------------------------------------------

SPLITTER_CTOR_BAD = [
    (
        {"n_splits": 1},
        ValueError,
        r"argument `n_splits`\. Expected an int >= 2\. Received: n_splits=1",
    ),
    ({"n_splits": 0}, ValueError, r"argument `n_splits`"),
    ({"n_splits": -2}, ValueError, r"argument `n_splits`"),
    ({"n_splits": 2.0}, TypeError, r"invalid type for argument `n_splits`"),
    ({"n_splits": True}, TypeError, r"invalid type for argument `n_splits`"),
    ({"n_splits": None}, TypeError, r"invalid type for argument `n_splits`"),
    ({"n_splits": "5"}, TypeError, r"invalid type for argument `n_splits`"),
    ({"shuffle": 1}, TypeError, r"invalid type for argument `shuffle`\. Expected a bool"),
    ({"shuffle": "yes"}, TypeError, r"argument `shuffle`"),
    ({"shuffle": None}, TypeError, r"argument `shuffle`"),
    ({"seed": -1}, ValueError, r"invalid value for argument `seed`"),
    ({"seed": 1.5}, TypeError, r"invalid type for argument `seed`"),
    ({"seed": "x"}, TypeError, r"invalid type for argument `seed`"),
    ({"seed": False}, TypeError, r"invalid type for argument `seed`"),
]


@pytest.mark.parametrize("cls", [KFold, StratifiedKFold])
@pytest.mark.parametrize(
    ("kwargs", "exc", "match"), SPLITTER_CTOR_BAD, ids=[repr(k) for k, _, _ in SPLITTER_CTOR_BAD]
)
def test_splitter_constructor_bad_input(cls, kwargs, exc, match):
    with pytest.raises(exc, match=rf"^{cls.__name__}\(\): .*{match}"):
        cls(**kwargs)


Y6 = np.array([0, 1, 0, 1, 0, 1])
SPLIT_BAD = [
    # (cls, x, y, exc, match)
    (KFold, None, None, TypeError, r"argument `x`.*Received: x=None"),
    (KFold, "abcdef", None, TypeError, r"unsupported dtype <U6 for argument `x`.*x\.dtype='<U6'"),
    (KFold, np.array(["a"] * 6), None, TypeError, r"unsupported dtype <U1 for argument `x`"),
    (KFold, np.zeros(6, dtype=object), None, TypeError, r"unsupported dtype object for arg.* `x`"),
    (
        KFold,
        np.zeros(6, dtype=complex),
        None,
        TypeError,
        r"unsupported dtype complex128 for argument `x`\. Expected bool, integer or float data",
    ),
    (KFold, 5.0, None, ValueError, r"argument `x` is a scalar\..*Received: x=5\.0$"),
    (
        KFold,
        [[1, 2], [3]],
        None,
        ValueError,
        r"argument `x` is not a rectangular array.*Received: x=\[\[1, 2\], \[3\]\]$",
    ),
    (
        KFold,
        np.zeros(6),
        np.zeros(5),
        ValueError,
        r"x and y have different numbers of samples.*len\(x\)=6, len\(y\)=5",
    ),
    (KFold, np.zeros(2), None, ValueError, r"cannot make n_splits=3 folds from n_samples=2"),
    (KFold, np.zeros((0, 2)), None, ValueError, r"n_samples=0"),
    (StratifiedKFold, np.zeros(6), None, TypeError, r"argument `y`.*Received: y=None"),
    (StratifiedKFold, np.zeros(6), Y6[:5], ValueError, r"different numbers of samples"),
    (
        StratifiedKFold,
        np.zeros(6),
        np.array(["a", "b"] * 3),
        TypeError,
        r"unsupported dtype <U1 for argument `y`",
    ),
    (
        StratifiedKFold,
        np.zeros(6),
        np.array([0, 1, np.nan, 1, 0, 1]),
        ValueError,
        r"argument `y` contains NaN or infinity.* at indices \[2\]\. Expected finite values",
    ),
    (
        StratifiedKFold,
        np.zeros(6),
        np.zeros((6, 2, 2)),
        ValueError,
        r"invalid shape for argument `y`\. Expected 1-D class labels.*y\.shape=\(6, 2, 2\)",
    ),
    (StratifiedKFold, np.zeros(6), np.zeros((6, 0)), ValueError, r"`y`.*y\.shape=\(6, 0\)"),
    (StratifiedKFold, np.zeros(2), Y6[:2], ValueError, r"cannot make n_splits=3"),
]


@pytest.mark.parametrize(
    ("cls", "x", "y", "exc", "match"),
    SPLIT_BAD,
    ids=[f"{c.__name__}-{i}" for i, (c, *_rest) in enumerate(SPLIT_BAD)],
)
def test_split_bad_input(cls, x, y, exc, match):
    splitter = cls(3)
    with pytest.raises(exc, match=rf"^{cls.__name__}\.split\(\): .*{match}"):
        splitter.split(x, y)


# ---------------------------------------------------------------------------
# train_val_test_split
# ---------------------------------------------------------------------------


def split_indices(parts):
    """With x = arange(n), the x parts are the selected indices."""
    return parts[0], parts[1], parts[2]


@pytest.mark.parametrize(
    ("n", "val_size", "test_size", "expected"),
    [
        (100, 0.15, 0.15, (70, 15, 15)),
        (10, 0.15, 0.15, (6, 2, 2)),  # fractions are rounded up
        (10, 0.2, 0.3, (5, 2, 3)),  # 0.2 * 10 must not become 3 by round-off
        (3, 0.15, 0.15, (1, 1, 1)),
        (20, 3, 4, (13, 3, 4)),  # counts
        (20, 0.1, 5, (13, 2, 5)),  # mixed
        (20, np.float64(0.25), np.int64(5), (10, 5, 5)),
    ],
)
def test_split_sizes(n, val_size, test_size, expected):
    x = np.arange(n)
    parts = train_val_test_split(x, x * 10, val_size=val_size, test_size=test_size, seed=0)
    assert tuple(len(p) for p in parts[:3]) == expected
    assert tuple(len(p) for p in parts[3:]) == expected


@pytest.mark.parametrize("shuffle", [True, False])
def test_split_disjoint_covering_and_aligned(shuffle):
    n = 57
    x = np.arange(n)
    y = x * 10 + 1
    x_tr, x_va, x_te, y_tr, y_va, y_te = train_val_test_split(
        x, y, 0.2, 0.1, shuffle=shuffle, seed=3
    )
    everything = np.concatenate([x_tr, x_va, x_te])
    assert np.array_equal(np.sort(everything), x)  # disjoint and covering
    for xp, yp in ((x_tr, y_tr), (x_va, y_va), (x_te, y_te)):
        assert np.array_equal(yp, xp * 10 + 1)  # rows stay aligned
        assert xp.dtype == x.dtype and yp.dtype == y.dtype


def test_split_without_shuffle_is_ordered_blocks():
    x = np.arange(20)
    x_tr, x_va, x_te, *_ = train_val_test_split(x, x, 0.25, 0.25, shuffle=False)
    assert x_tr.tolist() == list(range(10))
    assert x_va.tolist() == list(range(10, 15))
    assert x_te.tolist() == list(range(15, 20))


def test_split_seed_determinism():
    x = np.arange(200.0).reshape(100, 2)
    y = np.arange(100)
    a = train_val_test_split(x, y, seed=11)
    b = train_val_test_split(x, y, seed=11)
    c = train_val_test_split(x, y, seed=12)
    assert all(p.tobytes() == q.tobytes() for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[5], c[5])
    # The shuffle really shuffles.
    assert not np.array_equal(np.sort(a[3]), a[3])


def test_split_multidimensional_x_and_list_inputs():
    x = np.arange(24.0).reshape(6, 2, 2)
    y = [[i, -i] for i in range(6)]
    parts = train_val_test_split(x, y, 2, 2, seed=0)
    assert parts[0].shape == (2, 2, 2) and parts[3].shape == (2, 2)
    for xp, yp in zip(parts[:3], parts[3:], strict=True):
        assert np.array_equal(xp[:, 0, 0] / 4, yp[:, 0])


@pytest.mark.parametrize("shuffle", [True, False])
def test_split_stratified_ratios(shuffle):
    y = np.repeat([0, 1], [80, 20])
    x = np.arange(100)
    x_tr, x_va, x_te, y_tr, y_va, y_te = train_val_test_split(
        x, y, 0.2, 0.2, shuffle=shuffle, stratify=y, seed=0
    )
    assert Counter(y_tr.tolist()) == {0: 48, 1: 12}
    assert Counter(y_va.tolist()) == {0: 16, 1: 4}
    assert Counter(y_te.tolist()) == {0: 16, 1: 4}
    assert np.array_equal(np.sort(np.concatenate([x_tr, x_va, x_te])), x)
    assert np.array_equal(y[x_te], y_te)


@pytest.mark.parametrize("seed", range(5))
def test_split_stratified_within_one_per_class(seed):
    y = IMBALANCED_Y
    n = len(y)
    x = np.arange(n)
    parts = train_val_test_split(x, y, 0.15, 0.25, stratify=np.eye(3)[y], seed=seed)
    sizes = [len(p) for p in parts[:3]]
    assert sizes == [n - 14 - 22, 14, 22]  # ceil(13.05), ceil(21.75)
    for part, frac in zip(parts[3:], [(n - 36) / n, 14 / n, 22 / n], strict=True):
        counts = Counter(part.tolist())
        for cls, total in Counter(y.tolist()).items():
            assert abs(counts.get(cls, 0) - total * frac) < 1.0


def test_split_stratified_tiny_classes_still_partition():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 2, 3])
    x = np.arange(9)
    parts = train_val_test_split(x, y, 1, 1, stratify=y, seed=0)
    assert [len(p) for p in parts[:3]] == [7, 1, 1]
    assert np.array_equal(np.sort(np.concatenate(parts[:3])), x)


def test_split_does_not_mutate_and_returns_copies():
    x = np.arange(40.0).reshape(20, 2)
    y = np.arange(20) % 2
    x0, y0 = x.copy(), y.copy()
    parts = train_val_test_split(x, y, stratify=y, seed=0)
    assert np.array_equal(x, x0) and np.array_equal(y, y0)
    for p in parts:
        assert not np.shares_memory(p, x) and not np.shares_memory(p, y)
    parts_ns = train_val_test_split(x, y, shuffle=False)
    for p in parts_ns:
        assert not np.shares_memory(p, x) and not np.shares_memory(p, y)


X10 = np.arange(10)
SPLIT3_BAD = [
    # (kwargs, exc, match)
    ({"x": None}, TypeError, r"argument `x`.*Received: x=None"),
    ({"y": None}, TypeError, r"argument `y`.*Received: y=None"),
    ({"x": np.array(["a"] * 10)}, TypeError, r"unsupported dtype <U1 for argument `x`"),
    ({"y": np.zeros(10, dtype=complex)}, TypeError, r"unsupported dtype complex128 for arg.* `y`"),
    ({"x": 3}, ValueError, r"argument `x` is a scalar.*Received: x=3$"),
    ({"y": np.arange(9)}, ValueError, r"different numbers of samples.*len\(y\)=9"),
    (
        {"val_size": 0.0},
        ValueError,
        r"invalid value for argument `val_size`.*Received: val_size=0\.0",
    ),
    ({"val_size": 1.0}, ValueError, r"argument `val_size`"),
    ({"val_size": -0.1}, ValueError, r"argument `val_size`"),
    ({"val_size": float("nan")}, ValueError, r"argument `val_size`.*nan"),
    ({"val_size": 0}, ValueError, r"argument `val_size`.*int >= 1.*Received: val_size=0$"),
    ({"val_size": -2}, ValueError, r"argument `val_size`"),
    (
        {"val_size": True},
        TypeError,
        (
            r"invalid type for argument `val_size`\. Expected a float in \(0, 1\).*"
            r"or an int >= 1.*Received: val_size=True$"
        ),
    ),
    ({"val_size": None}, TypeError, r"invalid type for argument `val_size`"),
    ({"val_size": "0.1"}, TypeError, r"invalid type for argument `val_size`"),
    ({"test_size": 1.5}, ValueError, r"argument `test_size`"),
    ({"test_size": float("inf")}, ValueError, r"argument `test_size`"),
    ({"test_size": False}, TypeError, r"invalid type for argument `test_size`"),
    (
        {"val_size": 0.5, "test_size": 0.5},
        ValueError,
        r"`val_size` and `test_size`.*adding up to less than 1.*val_size \+ test_size=1\.0$",
    ),
    (
        {"val_size": 5, "test_size": 5},
        ValueError,
        r"every part to get at least 1 sample.*'train': 0, 'val': 5, 'test': 5",
    ),
    ({"val_size": 9, "test_size": 0.1}, ValueError, r"'train': 0"),
    ({"x": np.arange(2), "y": np.arange(2)}, ValueError, r"n_samples=2"),
    ({"shuffle": 1}, TypeError, r"invalid type for argument `shuffle`"),
    ({"shuffle": None}, TypeError, r"argument `shuffle`"),
    ({"stratify": np.arange(9)}, ValueError, r"different numbers of samples.*len\(stratify\)=9"),
    ({"stratify": np.array(["a"] * 10)}, TypeError, r"unsupported dtype <U1 for arg.* `stratify`"),
    (
        {"stratify": np.r_[np.nan, np.zeros(9)]},
        ValueError,
        r"argument `stratify` contains NaN or infinity.*at indices \[0\]",
    ),
    ({"stratify": np.zeros((10, 2, 1))}, ValueError, r"invalid shape for argument `stratify`"),
    ({"stratify": 1}, ValueError, r"argument `stratify` is a scalar"),
    ({"seed": -1}, ValueError, r"invalid value for argument `seed`.*Received: seed=-1$"),
    ({"seed": 2**64}, ValueError, r"invalid value for argument `seed`.*<= 18446744073709551615"),
    ({"seed": 2.0}, TypeError, r"invalid type for argument `seed`"),
    ({"seed": "0"}, TypeError, r"invalid type for argument `seed`"),
]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"), SPLIT3_BAD, ids=[str(i) for i in range(len(SPLIT3_BAD))]
)
def test_train_val_test_split_bad_input(kwargs, exc, match):
    args = {"x": X10, "y": X10, **kwargs}
    with pytest.raises(exc, match=rf"^train_val_test_split\(\): .*{match}"):
        train_val_test_split(**args)


# ---------------------------------------------------------------------------
# cross_validate, with a duck-typed fake model
# ---------------------------------------------------------------------------


class FakeModel:
    """Records what it was fit and evaluated on; scores are simple functions of the data."""

    def __init__(self, name="template", loss=None):
        self.name = name
        self.loss = loss  # what a compiled fastnn.Sequential exposes; decides stratification
        self.fit_calls = []
        self.eval_calls = []

    def fit(self, x, y, **kwargs):
        self.fit_calls.append((np.array(x), np.array(y), kwargs))
        return self

    def evaluate(self, x, y, verbose=1, return_dict=False):
        self.eval_calls.append(
            (np.array(x), np.array(y), {"verbose": verbose, "return_dict": return_dict})
        )
        if not return_dict:  # pragma: no cover - cross_validate always asks for a dict
            raise AssertionError("cross_validate must request return_dict=True")
        # x holds sample indices in its first column, so these are checkable.
        return {"loss": float(np.mean(x[:, 0])), "accuracy": np.float32(len(x) / 100)}


@pytest.fixture
def clones(monkeypatch):
    """Install a stub fastnn.models whose clone_model records each copy."""
    made = []

    def clone_model(model):
        if not isinstance(model, FakeModel):  # pragma: no cover
            raise TypeError("not a model")
        copy = FakeModel(name=f"clone{len(made)}", loss=getattr(model, "loss", None))
        made.append(copy)
        return copy

    monkeypatch.setitem(
        sys.modules, "fastnn.models", types.SimpleNamespace(clone_model=clone_model)
    )
    return made


def make_xy(n=30, classes=True):
    x = np.column_stack([np.arange(n, dtype=np.float64), np.ones(n)])
    y = (np.arange(n) % 3).astype(np.int64) if classes else np.linspace(0.0, 1.0, n) ** 2
    return x, y


@pytest.mark.parametrize(
    "cv",
    [KFold(4), KFold(3, shuffle=True, seed=5), StratifiedKFold(5, shuffle=True, seed=1)],
    ids=repr,
)
def test_cross_validate_fits_and_evaluates_on_the_right_folds(clones, cv):
    x, y = make_xy()
    template = FakeModel()
    result = cross_validate(template, x, y, cv=cv, fit_kwargs={"epochs": 3})
    expected = list(cv.split(x, y))
    assert len(clones) == len(expected) == cv.get_n_splits()
    assert template.fit_calls == [] and template.eval_calls == []  # the template is untouched
    for model, (train, test) in zip(clones, expected, strict=True):
        assert len(model.fit_calls) == 1 and len(model.eval_calls) == 1
        fx, fy, fkw = model.fit_calls[0]
        ex, ey, ekw = model.eval_calls[0]
        assert np.array_equal(fx, x[train]) and np.array_equal(fy, y[train])
        assert np.array_equal(ex, x[test]) and np.array_equal(ey, y[test])
        assert fkw == {"verbose": 0, "epochs": 3}
        assert ekw == {"verbose": 0, "return_dict": True}
    # Scores: per fold, then mean and population std over folds.
    losses = [float(np.mean(test)) for _, test in expected]
    accs = [float(np.float32(len(test) / 100)) for _, test in expected]
    assert result["fold_scores"] == [
        {"loss": lo, "accuracy": ac} for lo, ac in zip(losses, accs, strict=True)
    ]
    assert all(type(v) is float for fs in result["fold_scores"] for v in fs.values())
    assert result["mean"] == pytest.approx({"loss": np.mean(losses), "accuracy": np.mean(accs)})
    assert result["std"] == pytest.approx({"loss": np.std(losses), "accuracy": np.std(accs)})
    assert "models" not in result


CLASSIFICATION_LOSSES = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]


def assert_folds(clones, x, expected):
    """Each clone was evaluated on the matching test fold of `expected`."""
    assert len(clones) == len(expected)
    for model, (_, test) in zip(clones, expected, strict=True):
        assert np.array_equal(model.eval_calls[0][0], x[test])


@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
def test_cross_validate_int_cv_stratifies_for_a_classifier(clones, loss):
    x, y = make_xy(30)
    cross_validate(FakeModel(loss=loss), x, y, cv=5, seed=7)
    expected = list(StratifiedKFold(5, shuffle=True, seed=7).split(x, y))
    # Sanity: the stratified folds differ from the plain shuffled ones.
    plain = list(KFold(5, shuffle=True, seed=7).split(x))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(expected, plain, strict=True))
    assert_folds(clones, x, expected)


@pytest.mark.parametrize(
    ("variant", "loss"),
    [
        ("onehot", "categorical_crossentropy"),
        ("column", "sparse_categorical_crossentropy"),
        ("float_integral", "sparse_categorical_crossentropy"),
        ("binary_column", "binary_crossentropy"),
        ("binary_onehot", "binary_crossentropy"),
    ],
)
def test_cross_validate_int_cv_recognises_label_formats(clones, variant, loss):
    x, y = make_xy(30)
    y2 = y % 2
    y_variant = {
        "onehot": np.eye(3)[y],
        "column": y[:, None],
        "float_integral": y.astype(float),
        "binary_column": y2[:, None].astype(np.float32),
        "binary_onehot": np.eye(2)[y2],
    }[variant]
    labels = y2 if variant.startswith("binary") else y
    cross_validate(FakeModel(loss=loss), x, y_variant, cv=3, seed=2)
    expected = list(StratifiedKFold(3, shuffle=True, seed=2).split(x, labels))
    for model, (_, test) in zip(clones, expected, strict=True):
        assert np.array_equal(model.eval_calls[0][1], y_variant[test])


@pytest.mark.parametrize("loss", ["mse", None, "no attribute", len])
def test_cross_validate_int_cv_uses_kfold_for_a_non_classifier(clones, loss):
    # Integer class-like targets: the model, not the values of y, decides.
    x, y = make_xy(20)
    model = FakeModel(loss=loss)
    if loss == "no attribute":
        del model.loss
    cross_validate(model, x, y, cv=4, seed=3)
    assert_folds(clones, x, list(KFold(4, shuffle=True, seed=3).split(x)))


def test_cross_validate_int_cv_uses_kfold_for_regression_targets(clones):
    x, y = make_xy(20, classes=False)
    cross_validate(FakeModel(loss="mse"), x, y, cv=4, seed=3)
    assert_folds(clones, x, list(KFold(4, shuffle=True, seed=3).split(x)))


@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
def test_cross_validate_int_cv_uses_kfold_when_y_is_not_labels(clones, loss):
    # Soft targets (probabilities) are not class labels, whatever the loss.
    x, _ = make_xy(20)
    y = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    cross_validate(FakeModel(loss=loss), x, y, cv=4, seed=3)
    assert_folds(clones, x, list(KFold(4, shuffle=True, seed=3).split(x)))


def test_cross_validate_int_cv_uses_kfold_for_multilabel_binary_crossentropy(clones):
    x, _ = make_xy(24)
    y = np.zeros((24, 3))
    y[::2, 0] = 1
    y[::3, 1] = 1  # several rows carry more than one 1
    y[1::4, 2] = 1
    assert (y.sum(axis=1) > 1).any()
    cross_validate(FakeModel(loss="binary_crossentropy"), x, y, cv=4, seed=3)
    assert_folds(clones, x, list(KFold(4, shuffle=True, seed=3).split(x)))


@pytest.mark.parametrize(
    ("loss", "out", "expected"),
    [
        ("binary_crossentropy", "sigmoid", "StratifiedKFold"),
        ("mean_squared_error", "linear", "KFold"),  # alias; .loss is the canonical "mse"
    ],
)
def test_cross_validate_reads_the_loss_of_a_real_sequential(monkeypatch, loss, out, expected):
    import fastnn
    import fastnn.model_selection as ms
    from fastnn.layers import Dense

    made = []

    def recording(cls):
        class Recording(cls):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                made.append(cls.__name__)

        return Recording

    monkeypatch.setattr(ms, "KFold", recording(KFold))
    monkeypatch.setattr(ms, "StratifiedKFold", recording(StratifiedKFold))
    model = fastnn.Sequential(
        [fastnn.Input(shape=(2,)), Dense(1, activation=out)], dtype="float64", seed=0
    )
    model.compile("sgd", loss)
    x = np.random.default_rng(0).normal(size=(24, 2))
    y = (x[:, 0] > 0).astype(np.int64)  # integer-valued 0/1 targets either way
    result = cross_validate(model, x, y, cv=3, seed=0, fit_kwargs={"epochs": 1})
    assert made == [expected] and len(result["fold_scores"]) == 3


def test_cross_validate_explicit_splitter_ignores_the_loss(clones):
    x, y = make_xy(20)
    cv = KFold(4)
    cross_validate(FakeModel(loss="sparse_categorical_crossentropy"), x, y, cv=cv)
    assert_folds(clones, x, list(cv.split(x)))


def test_cross_validate_seed_determinism_and_shuffle(clones):
    x, y = make_xy(30)
    r1 = cross_validate(FakeModel(), x, y, cv=3, seed=0)
    r2 = cross_validate(FakeModel(), x, y, cv=3, seed=0)
    assert r1 == r2
    # cv=int shuffles: the first fold is not the unshuffled block.
    assert not np.array_equal(clones[0].eval_calls[0][0], x[:10])


def test_cross_validate_return_models_and_verbose_override(clones):
    x, y = make_xy(12)
    result = cross_validate(
        FakeModel(), x, y, cv=KFold(3), fit_kwargs={"verbose": 2}, return_models=True
    )
    assert result["models"] == clones and len(clones) == 3
    assert all(m.fit_calls[0][2] == {"verbose": 2} for m in clones)


def test_cross_validate_does_not_mutate_inputs(clones):
    x, y = make_xy(15)
    x0, y0 = x.copy(), y.copy()
    fit_kwargs = {"epochs": 1}
    cross_validate(FakeModel(), x, y, cv=3, fit_kwargs=fit_kwargs)
    assert np.array_equal(x, x0) and np.array_equal(y, y0)
    assert fit_kwargs == {"epochs": 1}


def test_cross_validate_keeps_dtypes(clones):
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.int32) % 2
    cross_validate(FakeModel(), x, y, cv=2, seed=0)
    fx, fy, _ = clones[0].fit_calls[0]
    assert fx.dtype == np.float32 and fy.dtype == np.int32


def test_cross_validate_warns_through_stratified_kfold(clones):
    x, y = make_xy(10)
    y = np.array([0] * 8 + [1] * 2)
    with pytest.warns(UserWarning, match=r"^cross_validate\(\): the least populated class"):
        result = cross_validate(FakeModel(loss="binary_crossentropy"), x, y, cv=3, seed=0)
    assert len(result["fold_scores"]) == 3
    # A regression model gets KFold, hence no warning (warnings are errors in the suite).
    result = cross_validate(FakeModel(loss="mse"), x, y, cv=3, seed=0)
    assert len(result["fold_scores"]) == 3


def test_cross_validate_rejects_bad_evaluate_result(monkeypatch):
    class BadModel(FakeModel):
        def evaluate(self, x, y, verbose=1, return_dict=False):
            return [0.5, 0.9]

    class NaNameModel(FakeModel):
        def evaluate(self, x, y, verbose=1, return_dict=False):
            return {"loss": "low"}

    x, y = make_xy(9)
    for cls, match in (
        (BadModel, r"evaluate.*bad result on fold 0.*dict of metric name.*result=\[0\.5, 0\.9\]"),
        (NaNameModel, r"bad result on fold 0.*Received: result\['loss'\]='low'$"),
    ):
        stub = types.SimpleNamespace(clone_model=lambda model, cls=cls: cls())
        monkeypatch.setitem(sys.modules, "fastnn.models", stub)
        with pytest.raises(TypeError, match=rf"^cross_validate\(\): .*{match}"):
            cross_validate(FakeModel(), x, y, cv=3)


X12, Y12 = make_xy(12)
CV_BAD = [
    # (kwargs, exc, match)
    ({"model": None}, TypeError, r"argument `model`.*Received: model=None"),
    ({"x": None}, TypeError, r"argument `x`"),
    ({"y": None}, TypeError, r"argument `y`"),
    ({"x": np.array([["a", "b"]] * 12)}, TypeError, r"unsupported dtype <U1 for argument `x`"),
    ({"y": Y12[:-1]}, ValueError, r"different numbers of samples.*len\(y\)=11"),
    ({"cv": 1}, ValueError, r"invalid value for argument `cv`\. Expected an int >= 2\. .*cv=1$"),
    ({"cv": np.int64(0)}, ValueError, r"invalid value for argument `cv`.*Received: cv=0$"),
    (
        {"cv": True},
        TypeError,
        (
            r"invalid type for argument `cv`\. Expected an int >= 2 or a KFold/StratifiedKFold "
            r"instance\. Received: cv=True$"
        ),
    ),
    ({"cv": 3.0}, TypeError, r"invalid type for argument `cv`"),
    ({"cv": "5"}, TypeError, r"invalid type for argument `cv`"),
    ({"cv": None}, TypeError, r"invalid type for argument `cv`"),
    ({"cv": [(np.arange(6), np.arange(6, 12))]}, TypeError, r"invalid type for argument `cv`"),
    ({"cv": 13}, ValueError, r"cannot make n_splits=13 folds from n_samples=12"),
    ({"cv": KFold(20)}, ValueError, r"cannot make n_splits=20"),
    ({"fit_kwargs": [("epochs", 1)]}, TypeError, r"invalid type for argument `fit_kwargs`"),
    ({"fit_kwargs": {1: 2}}, TypeError, r"argument `fit_kwargs`.*str keys.*fit_kwargs=\{1: 2\}"),
    (
        {"fit_kwargs": {"x": 1}},
        ValueError,
        r"invalid value for argument `fit_kwargs`.*other than `x` and `y`.*fit_kwargs=\{'x': 1\}",
    ),
    ({"fit_kwargs": {"epochs": 2, "y": 1}}, ValueError, r"argument `fit_kwargs`.*'y': 1\}$"),
    ({"return_models": 1}, TypeError, r"invalid type for argument `return_models`"),
    ({"seed": -1}, ValueError, r"invalid value for argument `seed`"),
    ({"seed": 0.5}, TypeError, r"invalid type for argument `seed`"),
]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"), CV_BAD, ids=[str(i) for i in range(len(CV_BAD))]
)
def test_cross_validate_bad_input(clones, kwargs, exc, match):
    args = {"model": FakeModel(), "x": X12, "y": Y12, "cv": 3, **kwargs}
    with pytest.raises(exc, match=rf"^cross_validate\(\): .*{match}"):
        cross_validate(**args)
    assert clones == []  # validation happens before any model is cloned or trained


def test_arrays_go_through_fastnn_shared_check():
    """model_selection checks its arrays with fastnn._validation's as_numeric_array
    (no dtype change), so a masked array is refused as everywhere in fastnn instead
    of being split by the values under its mask."""
    masked = np.ma.array(np.arange(10.0), mask=np.arange(10) % 2 == 0)
    with pytest.raises(TypeError, match=r"^train_val_test_split\(\): argument `x` is a "
                                        r"masked array.*5 masked entries"):
        train_val_test_split(masked, np.arange(10))
    with pytest.raises(TypeError, match=r"^KFold\.split\(\): argument `x` is a masked array"):
        KFold(3).split(masked)
