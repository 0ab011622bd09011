"""scipy.sparse CSR/CSC input (fastnn/_sparse.py, csrc/fnn_net_sparse.h): training,
evaluation and prediction on sparse rows give the results of the densified matrix,
and a malformed matrix is refused before any kernel reads it.

Tolerances.  float64: the sparse products sum a row's non-zeros in column order,
the dense ones (BLAS) in their own blocked order over all columns, so results
differ by rounding only (~1e-16 relative per product); after one epoch of a few
steps the weights agree to ~1e-13, and rtol 1e-9 leaves room for the optimizers
that divide by a running gradient size.  float32: the same differences at ~1e-7
relative; atol 2e-5 on weights of size ~0.1-1 after a few steps of lr 1e-3..1e-2
covers Adam-like steps on gradients a rounding apart."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

import fastnn
from fastnn import optimizers as O
from fastnn import threads as fthreads
from fastnn._sparse import CSRRows
from fastnn.layers import Dense, Dropout

N, D = 150, 60

OPTIMIZERS = {
    "sgd": lambda: O.SGD(0.05),
    "momentum": lambda: O.SGD(0.05, momentum=0.9),
    "nesterov": lambda: O.SGD(0.05, momentum=0.9, nesterov=True),
    "sgd_clip": lambda: O.SGD(0.05, clipnorm=0.5),
    "rmsprop": lambda: O.RMSprop(0.01),
    "adam": lambda: O.Adam(0.01),
    "adamw": lambda: O.AdamW(0.01, weight_decay=0.01),
    "adagrad": lambda: O.Adagrad(0.05),
    "nadam": lambda: O.Nadam(0.01),
    "adamax": lambda: O.Adamax(0.01),
}


def data(fmt="csr", dtype=np.float64, n=N, d=D, density=0.08, seed=0):
    rng = np.random.default_rng(seed)
    x = sp.random(n, d, density=density, format=fmt, dtype=dtype, random_state=seed)
    x.data = np.round(x.data * 4) / 4 + 0.25  # counts-like values, none zero
    y = (np.asarray(x[:, :d // 2].sum(axis=1)).ravel() > 0.5).astype(dtype)
    return x, y, rng


def model(dtype="float64", optimizer="adam", dropout=0.3, d=D, l2=0.0, seed=7):
    reg = fastnn.regularizers.L2(l2) if l2 else None
    layers = [fastnn.Input(shape=(d,)), Dense(16, activation="relu", kernel_regularizer=reg)]
    layers += [Dropout(dropout)] if dropout else []
    layers += [Dense(8, activation="relu"), Dense(1, activation="sigmoid")]
    m = fastnn.Sequential(layers, dtype=dtype, seed=seed)
    m.compile(optimizer=OPTIMIZERS[optimizer](), loss="binary_crossentropy",
              metrics=["accuracy"])
    return m


def close(dtype):
    return dict(rtol=1e-9, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=2e-5)


def fit_both(x, y, dtype, optimizer="adam", epochs=1, **fit_kw):
    a, b = model(dtype, optimizer), model(dtype, optimizer)
    ha = a.fit(x, y, epochs=epochs, batch_size=32, verbose=0, **fit_kw)
    dense_kw = dict(fit_kw)
    if "validation_data" in dense_kw:
        xv, yv = dense_kw["validation_data"]
        dense_kw["validation_data"] = (xv.toarray(), yv)
    hb = b.fit(x.toarray(), y, epochs=epochs, batch_size=32, verbose=0, **dense_kw)
    return a, b, ha.history, hb.history


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("shuffle", [True, False])
def test_sparse_fit_equals_densified_fit(fmt, dtype, optimizer, shuffle):
    x, y, _ = data(fmt, np.dtype(dtype).type)
    a, b, ha, hb = fit_both(x, y, dtype, optimizer, shuffle=shuffle)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, **close(dtype))
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-9 if dtype == "float64" else 1e-5)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x.toarray(), verbose=0),
                               **close(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_validation_data_weights_and_evaluate_sparse(dtype):
    x, y, rng = data("csr", np.dtype(dtype).type)
    xv, yv, _ = data("csc", np.dtype(dtype).type, n=40, seed=1)
    a, b, ha, hb = fit_both(x, y, dtype, "rmsprop", epochs=2, validation_data=(xv, yv),
                            class_weight={0: 1.0, 1: 3.0})
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(ha[key], hb[key], rtol=1e-5)
    np.testing.assert_allclose(a.evaluate(xv, yv, verbose=0),
                               b.evaluate(xv.toarray(), yv, verbose=0), rtol=1e-5)
    split_a, split_b = model(dtype), model(dtype)
    h1 = split_a.fit(x, y, validation_split=0.25, epochs=1, batch_size=32, verbose=0).history
    h2 = split_b.fit(x.toarray(), y, validation_split=0.25, epochs=1, batch_size=32,
                     verbose=0).history
    np.testing.assert_allclose(h1["val_loss"], h2["val_loss"], rtol=1e-5)


def test_sparse_arrays_regularizer_frozen_layer_and_one_batch_calls():
    x, y, _ = data("csr")
    xa = sp.csr_array(x)
    a, b = model(), model()
    for m in (a, b):
        m.layers[0].kernel_regularizer = None
    a2, b2 = model(l2=1e-3), model(l2=1e-3)
    a2.layers[0].trainable = b2.layers[0].trainable = False
    for (ma, mb) in ((a, b), (a2, b2)):
        ma.fit(xa, y, epochs=1, batch_size=32, verbose=0)
        mb.fit(x.toarray(), y, epochs=1, batch_size=32, verbose=0)
        for wa, wb in zip(ma.get_weights(), mb.get_weights()):
            np.testing.assert_allclose(wa, wb, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.train_on_batch(xa[:20], y[:20]),
                               b.train_on_batch(x[:20].toarray(), y[:20]), rtol=1e-9)
    np.testing.assert_allclose(a.test_on_batch(xa, y), b.test_on_batch(x.toarray(), y),
                               rtol=1e-9)
    np.testing.assert_allclose(a.predict_on_batch(xa), b.predict_on_batch(x.toarray()),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a(x), b(x.toarray()), rtol=1e-9, atol=1e-12)


def test_duplicate_and_unsorted_columns_add_as_in_toarray():
    x, y, _ = data("csr")
    # each row's entries twice, in reverse order: values add, as in toarray()
    rows = [x.indices[x.indptr[r]:x.indptr[r + 1]] for r in range(N)]
    vals = [x.data[x.indptr[r]:x.indptr[r + 1]] for r in range(N)]
    indices = np.concatenate([np.concatenate([c[::-1], c]) for c in rows]).astype(np.int32)
    data_ = np.concatenate([np.concatenate([v[::-1] / 2, v / 2]) for v in vals])
    indptr = np.concatenate([[0], np.cumsum([2 * len(c) for c in rows])])
    dup = sp.csr_matrix((data_, indices, indptr), shape=x.shape)
    assert not dup.has_canonical_format
    np.testing.assert_allclose(dup.toarray(), x.toarray())
    a, b = model(), model()
    a.fit(dup, y, epochs=1, batch_size=32, verbose=0)
    b.fit(x.toarray(), y, epochs=1, batch_size=32, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-9, atol=1e-12)


def test_empty_rows_int64_indices_and_integer_values():
    x, y, _ = data("csr", density=0.03)  # several rows with no non-zero at all
    assert (np.diff(x.indptr) == 0).any()
    x64 = sp.csr_matrix((np.ones(x.nnz, np.int64), x.indices.astype(np.int64),
                         x.indptr.astype(np.int64)), shape=x.shape)
    a, b = model(), model()
    a.fit(x64, y, epochs=1, batch_size=32, verbose=0)
    b.fit(x64.toarray(), y, epochs=1, batch_size=32, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(a.predict(x64[:0], verbose=0).shape, (0, 1))


@pytest.mark.skipif(fthreads._openblas_local_threads() is None,
                    reason="no thread controls for the OpenBLAS fastnn calls: one fastnn thread")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_split_step_over_threads_equals_densified(dtype):
    """A wide second layer makes the step large enough to split (fnn_net_par.h): the
    sparse rows are read in place by the row chunks and the first layer's gradient is
    one scatter item."""
    x, y, _ = data("csr", np.dtype(dtype).type, n=300, d=200)
    out = []
    for xx in (x, x.toarray()):
        m = fastnn.Sequential([fastnn.Input(shape=(200,)), Dense(256, activation="relu"),
                               Dropout(0.2), Dense(256, activation="relu"),
                               Dense(1, activation="sigmoid")], dtype=dtype, seed=3)
        m.compile(optimizer="adam", loss="binary_crossentropy")
        assert 128 * 256 * 256 >= fthreads.SINGLE_THREAD_BELOW
        with fastnn.num_threads(2):
            m.fit(xx, y, epochs=2, batch_size=128, verbose=0)
        assert m._fit_net.adapt_state[3] > 0  # steps that went through the split
        out.append(m.get_weights())
        with fastnn.num_threads(2):
            out.append(m.predict(xx, verbose=0))
    for wa, wb in zip(out[0], out[2]):
        np.testing.assert_allclose(wa, wb, **close(dtype))
    np.testing.assert_allclose(out[1], out[3], **close(dtype))


# ---------------------------------------------------------------- malformed input
def broken(change):
    x, y, _ = data("csr")
    x = x.copy()
    change(x)
    return x, y


def _set(x, name, value):
    setattr(x, name, value)


MALFORMED = {
    "indptr decreases": (lambda x: x.indptr.__setitem__(5, x.indptr[6] + 1),
                         ValueError, "indptr must never decrease"),
    "indptr start": (lambda x: x.indptr.__setitem__(0, 1), ValueError, r"indptr\[0\] must be 0"),
    "indptr end": (lambda x: x.indptr.__setitem__(-1, x.nnz - 1), ValueError,
                   r"indptr\[-1\], len\(indices\) and len\(data\) must be equal"),
    "indptr length": (lambda x: _set(x, "indptr", x.indptr[:-1].copy()), ValueError,
                      "indptr must have 151 entries"),
    "index too large": (lambda x: x.indices.__setitem__(3, D), ValueError,
                        f"column index {D} at position 3 is outside"),
    "index negative": (lambda x: x.indices.__setitem__(0, -1), ValueError,
                       "column index -1 at position 0 is outside"),
    "float indices": (lambda x: _set(x, "indices", x.indices.astype(np.float64)), TypeError,
                      "int32 or int64 indices"),
    "nan value": (lambda x: x.data.__setitem__(2, np.nan), ValueError, "NaN or infinity"),
    "inf value": (lambda x: x.data.__setitem__(2, np.inf), ValueError, "NaN or infinity"),
    "data length": (lambda x: _set(x, "data", x.data[:-1].copy()), ValueError,
                    r"len\(data\) must be equal"),
    "complex values": (lambda x: _set(x, "data", x.data.astype(complex)), TypeError,
                       "bool, integer or float values"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_csr_is_refused_with_a_clear_error(case):
    change, error, message = MALFORMED[case]
    x, y = broken(change)
    m = model()
    before = [w.copy() for w in m.get_weights()]
    for call in (lambda: m.fit(x, y, verbose=0), lambda: m.predict(x),
                 lambda: m.evaluate(x, y, verbose=0),
                 lambda: model().fit(data()[0], y, validation_data=(x, y), verbose=0)):
        with pytest.raises(error, match=message):
            call()
    for w, w0 in zip(m.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_other_refusals_say_what_to_do():
    x, y, _ = data("csr")
    with pytest.raises(ValueError, match="has 60 features, but the model was built for 61"):
        model(d=61).fit(x, y, verbose=0)
    m = fastnn.Sequential([fastnn.Input(shape=(D,)), Dropout(0.2), Dense(1)])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match="straight into the first Dense.*Dropout.*toarray"):
        m.fit(x, y, verbose=0)
    with pytest.raises(TypeError, match=r"x\[:n\]\.toarray\(\)"):
        model().get_layer_outputs(x)
    csc = x.tocsc()
    csc.indices[0] = N  # a row index out of range, in the CSC's own structure
    with pytest.raises(ValueError, match=f"row index {N} at position 0 is outside"):
        model().fit(csc, y, verbose=0)


def test_csr_rows_checks_the_structure_again_in_c():
    ok = (np.array([0, 1, 3], np.int64), np.array([0, 1, 2], np.int32), np.ones(3))
    assert len(CSRRows(*ok, 3)) == 2
    with pytest.raises(ValueError, match="never decrease"):
        CSRRows(np.array([0, 3, 2, 3], np.int64), ok[1], ok[2], 3)
    with pytest.raises(ValueError, match="outside"):
        CSRRows(ok[0], np.array([0, 1, 3], np.int32), ok[2], 3)
    with pytest.raises(ValueError, match="NaN"):
        CSRRows(*ok[:2], np.array([1.0, np.nan, 1.0]), 3)
    with pytest.raises(TypeError, match="int32"):
        CSRRows(ok[0], ok[1].astype(np.int64), ok[2], 3)
    with pytest.raises(ValueError, match="3 indices but 2 values"):
        CSRRows(*ok[:2], np.ones(2), 3)
    rows = CSRRows(*ok, 3)
    with pytest.raises(ValueError):
        rows.indptr[1] = 5  # read-only: the checked structure cannot change afterwards


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_structures_are_refused_or_match_toarray(draw):
    """Whatever indptr / indices a user's matrix holds, fastnn either refuses it with
    ValueError or TypeError, or computes what its densified copy gives."""
    n, d = draw.draw(st.integers(1, 6)), draw.draw(st.integers(1, 5))
    nnz = draw.draw(st.integers(0, 12))
    indptr = np.array(draw.draw(st.lists(st.integers(-2, nnz + 2), min_size=n + 1,
                                         max_size=n + 1)), np.int32)
    if draw.draw(st.booleans()):  # a well-formed indptr half the time: indices decide
        indptr = np.concatenate([[0], np.sort(np.clip(indptr[1:-1], 0, nnz)), [nnz]])
    indices = np.array(draw.draw(st.lists(st.integers(-2, d + 1), min_size=nnz,
                                          max_size=nnz)), np.int32)
    x = sp.csr_matrix((n, d))
    x.indptr, x.indices, x.data = indptr, indices, np.ones(nnz)
    m = fastnn.Sequential([fastnn.Input(shape=(d,)), Dense(3, activation="tanh"), Dense(1)],
                          dtype="float64", seed=1)
    m.compile("sgd", "mse")
    try:
        out = m.predict(x)
    except (ValueError, TypeError):
        return

    dense = np.zeros((n, d))
    for r in range(n):
        for p in range(indptr[r], indptr[r + 1]):
            dense[r, indices[p]] += 1.0
    np.testing.assert_allclose(out, m.predict(dense), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- public-style scripts
# The textbook's IMDB and Reuters bag-of-words models (chapter 4), written with a
# sparse multi-hot matrix as such scripts' users do to save memory, with only the import
# changed.  Stand-in data of the same shapes: word-index lists whose label decides
# which words are frequent, so that a working model learns it.
IMDB_SCRIPT = '''
import numpy as np
from scipy import sparse
import fastnn as keras
from fastnn import layers

def load_data(num_words, n, seed, classes=2):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    seqs = [np.concatenate([rng.integers(1, num_words, 80),
                            rng.integers(100 + 50 * c, 150 + 50 * c, 20)]) for c in labels]
    return seqs, labels

def vectorize_sequences(sequences, dimension=10000):
    rows = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
    cols = np.concatenate(sequences)
    x = sparse.csr_matrix((np.ones(len(cols), "float32"), (rows, cols)),
                          shape=(len(sequences), dimension))
    x.data[:] = 1.0  # multi-hot: a word seen twice is still 1
    return x

(train_data, train_labels), (test_data, test_labels) = (load_data(10000, 3000, 0),
                                                        load_data(10000, 1000, 1))
x_train, x_test = vectorize_sequences(train_data), vectorize_sequences(test_data)
y_train = np.asarray(train_labels).astype("float32")
y_test = np.asarray(test_labels).astype("float32")
model = keras.Sequential([
    layers.Dense(16, activation="relu"),
    layers.Dense(16, activation="relu"),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
x_val, partial_x_train = x_train[:1000], x_train[1000:]
y_val, partial_y_train = y_train[:1000], y_train[1000:]
history = model.fit(partial_x_train, partial_y_train, epochs=4, batch_size=512,
                    validation_data=(x_val, y_val), verbose=0)
history_dict = history.history
results = model.evaluate(x_test, y_test, verbose=0)
predictions = model.predict(x_test, verbose=0)

# Reuters: 46 topics, one-hot targets, a wider hidden layer
(train_data, train_labels), (test_data, test_labels) = (load_data(10000, 3000, 2, 46),
                                                        load_data(10000, 500, 3, 46))
x_train, x_test = vectorize_sequences(train_data), vectorize_sequences(test_data)
y_train = keras.utils.to_categorical(train_labels)
y_test = keras.utils.to_categorical(test_labels)
reuters = keras.Sequential([
    layers.Dense(64, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(46, activation="softmax"),
])
reuters.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
reuters.fit(x_train, y_train, epochs=6, batch_size=512, validation_split=0.2, verbose=0)
reuters_results = reuters.evaluate(x_test, y_test, verbose=0)
'''


def test_imdb_and_reuters_bag_of_words_scripts_with_sparse_inputs():
    ns: dict = {}
    exec(compile(IMDB_SCRIPT, "imdb_script.py", "exec"), ns)  # noqa: S102 (our own text)
    assert sorted(ns["history_dict"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert ns["results"][1] > 0.9, ns["results"]  # it learned the frequent words
    assert ns["predictions"].shape == (1000, 1)
    assert ns["reuters_results"][1] > 0.8, ns["reuters_results"]


def test_sparse_batches_from_a_generator_are_refused_with_the_way_out():
    x, y, _ = data("csr")
    m = model()

    def batches():
        for i in range(0, N, 50):
            yield x[i:i + 50], y[i:i + 50]
    for call in (lambda: m.fit(batches(), verbose=0), lambda: m.predict(batches()),
                 lambda: m.evaluate(batches(), verbose=0)):
        with pytest.raises(TypeError, match=r"x\[0\] x is a scipy\.sparse matrix.*whole "
                                            r"sparse matrix as x.*toarray"):
            call()


def test_epoch_metrics_read_the_sparse_rows():
    """AUC and precision are computed once per epoch from a forward pass over x (and
    the validation rows): the same on the sparse matrix as on its dense copy."""
    x, y, _ = data("csr")
    hs = []
    for xx in (x, x.toarray()):
        m = model(optimizer="adam")
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["AUC", "precision"])
        hs.append(m.fit(xx, y, epochs=2, batch_size=32, verbose=0,
                        validation_split=0.2).history)
    assert sorted(hs[0]) == sorted(hs[1])
    for key in hs[0]:
        np.testing.assert_allclose(hs[0][key], hs[1][key], rtol=1e-9, err_msg=key)

