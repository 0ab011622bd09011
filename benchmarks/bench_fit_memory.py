"""Peak memory of ``fit`` against issue 17's budget (item 5).

    python benchmarks/bench_fit_memory.py [--threads 1]

Budget: peak ≤ data + 4 × parameters + one batch of activations + a small constant
(the 4: the weights, their gradient and Adam's two slots).  Each case runs in a fresh
child process, which builds the data and the model, resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``, Linux), fits, and reads the peak back (``VmHWM``).  The
growth over the resident size before the model is made (interpreter, fastnn, data) is
compared with the budget's model part: 4 × parameters + the workspace, which holds one
batch of every layer's z, a, δ.  The rest is the constant.  Reproduce a commit's figures with its
checkout on ``PYTHONPATH``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (puts this repository's fastnn on the path)

CASES = {  # name: (layer sizes, rows, batch, first layer frozen)
    "wide 1024-4096-4096-1024": ((1024, 4096, 4096, 1024), 2048, 256, False),
    "wide, first layer frozen": ((1024, 4096, 4096, 1024), 2048, 256, True),
    "mnist 784-256-128-10": ((784, 256, 128, 10), 12_000, 128, False),
}

CHILD = r"""
import json, sys
import numpy as np
import fastnn
from fastnn.layers import Dense
sizes, rows, batch, frozen, threads = json.loads(sys.argv[1])
def kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
rng = np.random.default_rng(0)
X = rng.standard_normal((rows, sizes[0]), dtype=np.float32)
Y = rng.standard_normal((rows, sizes[-1]), dtype=np.float32)
m = fastnn.Sequential([fastnn.Input(shape=(sizes[0],))]
                      + [Dense(n, activation="relu") for n in sizes[1:-1]] + [Dense(sizes[-1])],
                      dtype="float32", seed=0)
m.compile(optimizer="adam", loss="mse")
m.fit(X[:batch], Y[:batch], batch_size=batch, epochs=1, verbose=0)  # imports, first pages
del m
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak mark to the current resident size
before = kib("VmRSS:")  # the interpreter, fastnn and the data
m = fastnn.Sequential([fastnn.Input(shape=(sizes[0],))]
                      + [Dense(n, activation="relu") for n in sizes[1:-1]] + [Dense(sizes[-1])],
                      dtype="float32", seed=0)
m.layers[0].trainable = not frozen  # Keras's transfer-learning idiom
m.compile(optimizer="adam", loss="mse")
with fastnn.num_threads(threads):
    m.fit(X, Y, batch_size=batch, epochs=2, verbose=0)
peak = kib("VmHWM:")
params = sum(w.size for w in m.get_weights())
ws_rows = batch * sum(3 * n for n in sizes[1:]) + batch * (sizes[0] + sizes[-1])
print(json.dumps({"before_kib": before, "peak_kib": peak, "params": params,
                  "workspace": ws_rows, "data": X.size + Y.size}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if not os.path.exists("/proc/self/clear_refs"):
        sys.exit("needs Linux's /proc/self/clear_refs to reset the peak-RSS mark")
    print(f"fit's peak memory, float32, Adam, {args.threads} thread(s); "
          "MiB = 2^20 bytes; growth = peak during fit − resident before fit")
    print(f"{'net':<26} {'params':>8} {'growth':>8} {'4×params':>9} {'workspace':>10} "
          f"{'rest':>7}  {'growth / params':>15}")
    for name, (sizes, rows, batch, frozen) in CASES.items():
        out = subprocess.run([sys.executable, "-c", CHILD,
                              json.dumps([sizes, rows, batch, frozen, args.threads])],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        mib = 1 / 1024
        growth = (r["peak_kib"] - r["before_kib"]) * mib
        params = r["params"] * 4 / 2**20
        ws = r["workspace"] * 4 / 2**20
        print(f"{name:<26} {params:>7.1f}M {growth:>7.1f}M {4 * params:>8.1f}M {ws:>9.1f}M "
              f"{growth - 4 * params - ws:>6.1f}M  {growth / params:>14.2f}×")
    print("reproduce: python benchmarks/bench_fit_memory.py "
          f"--threads {args.threads}")


if __name__ == "__main__":
    main()
