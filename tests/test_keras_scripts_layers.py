"""Public-style Keras scripts with the normalization layers (our own text, in the
style of tests/test_keras_scripts_public_style.py), run with only the imports
changed to fastnn: the TensorFlow regression tutorial's Normalization + adapt then
Dense models, and an MNIST MLP with BatchNormalization.  Downloads are replaced by
generated data of the same shapes; each script asserts that it trained."""
import numpy as np
import pytest

from .test_keras_scripts_public_style import run

# the TensorFlow "Basic regression: predict fuel efficiency" idioms: an adapted
# Normalization per feature, a one-feature model with axis=None fed 1-D arrays,
# a DNN on the normalized features, mean absolute error, validation_split, and the
# model saved and reloaded.  The stand-in for auto-mpg: 9 features of very
# different scales (cylinders, displacement, horsepower, weight, ..., one-hot
# origin) and an MPG that falls with horsepower and weight.
REGRESSION = '''
import numpy as np
import pytest
import fastnn as keras
from fastnn import layers

rng = np.random.default_rng(0)
n = 398
origin = np.eye(3)[rng.integers(0, 3, n)]
features = np.column_stack([rng.integers(3, 9, n), rng.uniform(70, 455, n),
                            rng.uniform(46, 230, n), rng.uniform(1600, 5100, n),
                            rng.uniform(8, 25, n), rng.integers(70, 83, n), origin])
mpg = (50 - 0.08 * features[:, 2] - 0.004 * features[:, 3]
       + 0.6 * (features[:, 5] - 70) + rng.normal(0, 1.5, n))
train_features, test_features = features[:318], features[318:]
train_labels, test_labels = mpg[:318], mpg[318:]

normalizer = layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))

horsepower = np.array(train_features[:, 2])
horsepower_normalizer = layers.Normalization(input_shape=[1,], axis=None)
horsepower_normalizer.adapt(horsepower)
horsepower_model = keras.Sequential([
    horsepower_normalizer,
    layers.Dense(units=1)
])
horsepower_model.summary()
untrained = horsepower_model.predict(horsepower[:10])
horsepower_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1),
                         loss='mean_absolute_error')
history = horsepower_model.fit(train_features[:, 2], train_labels, epochs=100,
                               verbose=0, validation_split=0.2)
hp_test = horsepower_model.evaluate(test_features[:, 2], test_labels, verbose=0)

def build_and_compile_model(norm):
    model = keras.Sequential([
        norm,
        layers.Dense(64, activation='relu'),
        layers.Dense(64, activation='relu'),
        layers.Dense(1)
    ])
    model.compile(loss='mean_absolute_error', optimizer=keras.optimizers.Adam(0.001))
    return model

dnn_model = build_and_compile_model(normalizer)
dnn_model.summary()
dnn_history = dnn_model.fit(train_features, train_labels, validation_split=0.2,
                            verbose=0, epochs=100)
dnn_test = dnn_model.evaluate(test_features, test_labels, verbose=0)
test_predictions = dnn_model.predict(test_features).flatten()
dnn_model.save(folder + '/dnn_model.keras')
reloaded = keras.models.load_model(folder + '/dnn_model.keras')
reloaded_predictions = reloaded.predict(test_features).flatten()
'''

# an MNIST MLP with batch normalization between a bias-free Dense and its
# activation (the usual placement), dropout, and validation_split
BATCHNORM_MNIST = '''
import fastnn as keras
from fastnn import layers

x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(256, use_bias=False),
    layers.BatchNormalization(),
    layers.Activation("relu"),
    layers.Dropout(0.3),
    layers.Dense(128, use_bias=False),
    layers.BatchNormalization(),
    layers.Activation("relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.summary()
history = model.fit(x_train, y_train, batch_size=128, epochs=5, validation_split=0.1,
                    verbose=0)
score = model.evaluate(x_test, y_test, verbose=0)
'''


def test_tensorflow_regression_tutorial(tmp_path, capsys):
    # the adapted Normalization goes into a real Keras file, which load_model reads back
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback, no warning
        ns = run(REGRESSION, tmp_path)
    spread = np.abs(ns["test_labels"] - ns["test_labels"].mean()).mean()
    # horsepower alone explains part of MPG; all features most of it (MAE)
    assert ns["hp_test"] < 0.8 * spread
    assert ns["dnn_test"] < 0.45 * spread  # measured 0.28-0.35 over 6 unseeded runs
    assert ns["history"].history["loss"][-1] < ns["history"].history["loss"][0]
    assert ns["untrained"].shape == (10, 1)
    np.testing.assert_array_equal(ns["reloaded_predictions"], ns["test_predictions"])
    out = capsys.readouterr().out
    # Keras's counts: an adapted Normalization has mean, variance and count
    assert "normalization (Normalization)" in out and "│            3 │" in out


def test_mnist_mlp_with_batch_normalization(tmp_path, capsys):
    ns = run(BATCHNORM_MNIST, tmp_path)
    assert ns["score"][1] > 0.9 and ns["history"].history["val_accuracy"][-1] > 0.9
    out = capsys.readouterr().out
    # Keras 3 prints 1,024 for the first BatchNormalization (4 × 256) and these totals
    assert "1,024" in out and "Trainable params: 235,530" in out
    assert "Non-trainable params: 768" in out
