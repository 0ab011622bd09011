"""scikit-learn's 8x8 handwritten digits: train / validation / test split, a
64-64-10 relu/softmax network with Adam and early stopping, test accuracy.
Needs scikit-learn (pip install -e ".[demo]").

Run:  python examples/digits.py
"""
import fastnn
from fastnn.callbacks import EarlyStopping
from fastnn.layers import Dense, Dropout
from fastnn.model_selection import train_val_test_split

if __name__ == "__main__":
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(
        X / 16.0, y, val_size=0.15, test_size=0.2, stratify=y, seed=0)
    model = fastnn.Sequential([fastnn.Input(shape=(64,)), Dense(64, activation="relu"),
                               Dropout(0.1), Dense(10, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.summary()
    model.fit(X_tr, y_tr, epochs=100, batch_size=32, validation_data=(X_val, y_val), verbose=2,
              callbacks=[EarlyStopping(patience=8, restore_best_weights=True)])
    loss, accuracy = model.evaluate(X_te, y_te, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.1%}")
