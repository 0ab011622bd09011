"""Scripts written the way public Keras MLP tutorials write them (our own text, from
the idioms such scripts use), run with only the imports changed to fastnn.  Downloads are
replaced by generated data of the same shapes, made so that a working model learns
it; each script asserts that it trained."""
import numpy as np
import pytest

# the data stand-ins every script shares: "digits" whose class is a bright band
DATA = '''
import numpy as np
def load_digits(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.integers(0, 80, (n, 28, 28)).astype("uint8")
    for i, c in enumerate(y):
        x[i, 2 * c + 4:2 * c + 7, 4:24] = 255
    return x, y
(x_train, y_train), (x_test, y_test) = load_digits(1500, 0), load_digits(400, 1)
'''

# 1. the first network of most courses: Flatten(input_shape=(28, 28)), logits, and
#    calling the untrained model on one image
FLATTEN_MNIST = '''
import fastnn as keras
from fastnn import layers

x_train, x_test = x_train / 255.0, x_test / 255.0
model = keras.models.Sequential([
    layers.Flatten(input_shape=(28, 28)),
    layers.Dense(128, activation="relu"),
    layers.Dropout(0.2),
    layers.Dense(10),
])
predictions = model(x_train[:1])
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
model.summary()
history = model.fit(x_train, y_train, epochs=3, verbose=0)
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
'''

# 2. Keras 2's mnist_mlp: Dense then Activation layers, one-hot targets, RMSprop
ACTIVATION_MLP = '''
from fastnn.models import Sequential
from fastnn.layers import Dense, Dropout, Activation
from fastnn.optimizers import RMSprop
from fastnn.utils import to_categorical

x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
Y_train, Y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
model = Sequential()
model.add(Dense(256, input_dim=784))
model.add(Activation("relu"))
model.add(Dropout(0.2))
model.add(Dense(10))
model.add(Activation("softmax"))
model.compile(loss="categorical_crossentropy", optimizer=RMSprop(), metrics=["accuracy"])
history = model.fit(x_train, Y_train, batch_size=128, epochs=4, verbose=0,
                    validation_data=(x_test, Y_test))
test_loss, test_acc = model.evaluate(x_test, Y_test, verbose=0)
model.save(folder + "/mlp.keras")
'''

# 3. data that does not come as one array: a PyDataset subclass and a generator
GENERATOR_FED = '''
import math
import fastnn as keras

class DigitBatches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)
    def __getitem__(self, idx):
        lo = idx * self.batch_size
        hi = min(lo + self.batch_size, len(self.x))
        return self.x[lo:hi].astype("float32") / 255.0, self.y[lo:hi]

def test_batches(batch_size=50):
    while True:
        for lo in range(0, len(x_test), batch_size):
            yield (x_test[lo:lo + batch_size].astype("float32") / 255.0,
                   y_test[lo:lo + batch_size])

inputs = keras.Input(shape=(28, 28))
model = keras.Sequential([inputs, keras.layers.Flatten(),
                          keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(DigitBatches(x_train, y_train, 64, workers=2), epochs=3,
                    validation_data=test_batches(), validation_steps=8, verbose=0)
test_loss, test_acc = model.evaluate(test_batches(), steps=8, verbose=0)
'''

# 4. the imbalanced-data tutorial's output bias, and the Sequential guide's model(x)
IMBALANCED_BIAS = '''
import numpy as np
import fastnn as keras

keras.utils.set_random_seed(7)
rng = np.random.default_rng(2)
features = rng.standard_normal((3000, 12)).astype("float32")
labels = (features[:, 0] + 0.5 * features[:, 1] > 2.2).astype("float32")  # ~3 % positive
neg, pos = np.bincount(labels.astype(int))
initial_bias = np.log([pos / neg])
output_bias = keras.initializers.Constant(initial_bias[0])
model = keras.Sequential([
    keras.layers.Dense(16, activation="relu", input_shape=(features.shape[-1],)),
    keras.layers.Dropout(0.5),
    keras.layers.Dense(1, activation="sigmoid", bias_initializer=output_bias),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss=keras.losses.BinaryCrossentropy(),
              metrics=[keras.metrics.Precision(name="precision"),
                       keras.metrics.Recall(name="recall"), keras.metrics.AUC(name="auc")])
first_predictions = model.predict(features[:10], verbose=0)
model.layers[-1].bias.assign([0.0])
zero_bias_loss = model.evaluate(features, labels, verbose=0)[0]
model.layers[-1].bias.assign(initial_bias)
bias_loss = model.evaluate(features, labels, verbose=0)[0]
history = model.fit(features, labels, batch_size=256, epochs=40, verbose=0,
                    validation_split=0.2)

guide = keras.Sequential([keras.layers.Dense(2, activation="relu", name="layer1"),
                          keras.layers.Dense(3, activation="relu", name="layer2"),
                          keras.layers.Dense(4, name="layer3")])
weights_before = len(guide.weights)
y = guide(np.ones((3, 3)))
weights_after = len(guide.weights)
'''


# 5. the keras.io imbalanced-classification ("fraud") example: class weights 1/count,
#    FN/FP/TN/TP/precision/recall metrics, a checkpoint per epoch as .keras, and (as the
#    TensorFlow imbalanced-data tutorial) a checkpoint every N batches; the output bias
#    set by assign
FRAUD = '''
import os
import numpy as np
import fastnn as keras

rng = np.random.default_rng(5)
features = rng.standard_normal((6000, 29)).astype("float32")
targets = (features[:, 0] - features[:, 1] + 0.3 * rng.standard_normal(6000) > 3.0)
targets = targets.astype("uint8")[:, None]                       # ~1.5 % positive
num_val_samples = int(len(features) * 0.2)
train_features, train_targets = features[:-num_val_samples], targets[:-num_val_samples]
val_features, val_targets = features[-num_val_samples:], targets[-num_val_samples:]
counts = np.bincount(train_targets[:, 0])
weight_for_0, weight_for_1 = 1.0 / counts[0], 1.0 / counts[1]
mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std

model = keras.Sequential([
    keras.Input(shape=train_features.shape[1:]),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.layers[-1].bias.assign(np.log([counts[1] / counts[0]]))
metrics = [keras.metrics.FalseNegatives(name="fn"), keras.metrics.FalsePositives(name="fp"),
           keras.metrics.TrueNegatives(name="tn"), keras.metrics.TruePositives(name="tp"),
           keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
              metrics=metrics)
callbacks = [keras.callbacks.ModelCheckpoint(os.path.join(folder,
                                                          "fraud_model_at_epoch_{epoch}.keras")),
             keras.callbacks.ModelCheckpoint(os.path.join(folder, "every_3_batches.keras"),
                                             save_freq=3)]
class_weight = {0: weight_for_0, 1: weight_for_1}
history = model.fit(train_features, train_targets, batch_size=2048, epochs=4, verbose=0,
                    callbacks=callbacks, validation_data=(val_features, val_targets),
                    class_weight=class_weight)
'''


# 6. the keras.io functional-API guide's MNIST model, and the Sequential guide's layer
#    called on data by itself (it creates its weights on the first call)
FUNCTIONAL = '''
import numpy as np
import fastnn as keras
from fastnn import layers

inputs = keras.Input(shape=(784,))
x = layers.Dense(64, activation="relu")(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.summary()
x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=4, validation_split=0.2,
                    verbose=0)
test_scores = model.evaluate(x_test, y_test, verbose=0)
model.save(folder + "/functional.keras")
del model
model = keras.models.load_model(folder + "/functional.keras")

layer = layers.Dense(3)
weights_before = len(layer.weights)
out = layer(np.ones((1, 4)))
weights_after = len(layer.weights)
'''


def run(script, tmp_path):
    namespace = {"folder": str(tmp_path)}
    exec(compile(DATA + script, "script.py", "exec"), namespace)  # noqa: S102 (our own text)
    return namespace


def test_flatten_mnist_course_network(tmp_path, capsys):
    ns = run(FLATTEN_MNIST, tmp_path)
    assert ns["predictions"].shape == (1, 10)
    assert ns["history"].history["loss"][-1] < ns["history"].history["loss"][0]
    assert ns["test_acc"] > 0.9
    out = capsys.readouterr().out
    assert "flatten (Flatten)" in out and "(None, 784)" in out and "101,770" in out


def test_keras2_mlp_with_activation_layers(tmp_path):
    ns = run(ACTIVATION_MLP, tmp_path)
    assert ns["test_acc"] > 0.9 and ns["history"].history["val_accuracy"][-1] > 0.9
    import fastnn

    restored = fastnn.load_model(tmp_path / "mlp.keras")
    x = ns["x_test"][:20]
    assert np.array_equal(restored.predict(x), ns["model"].predict(x))


def test_generator_and_pydataset_fed_model(tmp_path):
    ns = run(GENERATOR_FED, tmp_path)
    assert ns["test_acc"] > 0.9 and ns["history"].history["val_accuracy"][-1] > 0.9


def test_imbalanced_output_bias_and_sequential_guide(tmp_path):
    ns = run(IMBALANCED_BIAS, tmp_path)
    prior = ns["pos"] / (ns["pos"] + ns["neg"])
    # the bias makes the untrained model predict about the base rate (tutorial's check;
    # without it the median is near 0.5)
    assert abs(np.median(ns["first_predictions"]) - prior) < 0.1
    assert ns["bias_loss"] < ns["zero_bias_loss"]
    assert ns["history"].history["val_auc"][-1] > 0.9
    assert ns["weights_before"] == 0 and ns["weights_after"] == 6
    assert ns["y"].shape == (3, 4)


def test_fraud_example_class_weights_leave_metrics_unweighted(tmp_path):
    import fastnn

    ns = run(FRAUD, tmp_path)
    h, model = ns["history"].history, ns["model"]
    x, y = ns["train_features"], ns["train_targets"][:, 0]
    # Keras 3: class_weight weights the loss only, so the confusion counts are counts
    # of samples (weighted by 1/count they would add up to 2)
    cells = [h[k][-1] for k in ("fn", "fp", "tn", "tp")]
    assert sum(cells) == len(x) and all(c == int(c) for c in cells)
    # fastnn's epoch metrics come from the model's predictions at the epoch's end
    pred = model.predict(x, verbose=0)[:, 0] > 0.5
    tp, fp = np.sum(pred & (y == 1)), np.sum(pred & (y == 0))
    assert h["tp"][-1] == tp and h["fp"][-1] == fp
    assert h["precision"][-1] == pytest.approx(tp / (tp + fp))
    assert h["val_recall"][-1] > 0.6  # the class weights made it find the positives
    for epoch in range(1, 5):
        assert fastnn.load_model(tmp_path / f"fraud_model_at_epoch_{epoch}.keras")
    # 4800 samples / 2048 = 3 batches per epoch, 12 in all: saved after batches 3, 6, 9,
    # 12, the last being the end of training
    last = fastnn.load_model(tmp_path / "every_3_batches.keras")
    assert last.optimizer.iterations == 12
    np.testing.assert_array_equal(last.predict(x[:50]), model.predict(x[:50]))


def test_functional_api_guide_and_a_layer_called_alone(tmp_path, capsys):
    ns = run(FUNCTIONAL, tmp_path)
    assert ns["test_scores"][1] > 0.9 and ns["history"].history["val_accuracy"][-1] > 0.9
    assert "mnist_model" in capsys.readouterr().out
    assert [l.name for l in ns["model"].layers] == ["dense", "dense_1", "dense_2"]
    assert ns["model"].evaluate(ns["x_test"], ns["y_test"], verbose=0)[1] == \
        ns["test_scores"][1]
    assert ns["weights_before"] == 0 and ns["weights_after"] == 2
    assert ns["out"].shape == (1, 3)
