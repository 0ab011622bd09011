"""The public-style fraud script (tests/test_keras_scripts_public_style.py: FRAUD, the
keras.io imbalanced-classification idioms) run with fastnn and with Keras 3, printing
each one's last-epoch training and validation metrics side by side (issue 19: with
class_weight, fastnn's training precision read 0.977 where Keras read 0.144, because
fastnn weighted its metrics).  Needs keras and jax for the Keras run:

    KERAS_BACKEND=jax python tools/keras_fraud_compare.py [fastnn|keras|both]

fastnn's epoch metrics come from one pass after each epoch, Keras's are running
values during it (dropout on), so the two agree in kind, not to the digit.
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("KERAS_BACKEND", "jax")


def run(which):
    from tests.test_keras_scripts_public_style import FRAUD

    script = FRAUD if which == "fastnn" else FRAUD.replace("import fastnn as keras",
                                                           "import keras")
    with tempfile.TemporaryDirectory() as folder:
        ns = {"folder": folder}
        exec(compile(script, "fraud.py", "exec"), ns)  # noqa: S102 (our own script)
    return {k: v[-1] for k, v in ns["history"].history.items()}


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "both"
    for name in (("fastnn", "keras") if which == "both" else (which,)):
        logs = run(name)
        print(f"{name:7s}", "  ".join(f"{k} {logs[k]:.4g}" for k in sorted(logs)))
