"""Where a W3 training step's time goes (issue 17): ``perf`` samples of a fit of the
784-256-128-10 net (relu, relu, softmax; Adam; batch 128; float32), grouped by what
the code does.

    python benchmarks/profile_w3.py [--threads 1] [--seconds 10]

Needs Linux ``perf`` (the samples are of this process tree's user and kernel time,
so the shares do not depend much on other load; the rate printed does).  The
child makes its data, warms up with one epoch, and the recording starts after
that (``perf record -D``).  Run with the OpenBLAS variables unset, as a user's
process has them: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# the W3 net on 12,000 rows of uniform noise, as `m`, `X`, `y` (bench_pool_spin.py too)
W3_SETUP = r"""
import sys, time
import numpy as np
import fastnn
from fastnn.layers import Dense
X = np.random.default_rng(0).random((12000, 784), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, 12000)
m = fastnn.Sequential([fastnn.Input(shape=(784,)), Dense(256, activation="relu"),
                       Dense(128, activation="relu"), Dense(10, activation="softmax")], seed=0)
m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""

CHILD = W3_SETUP + r"""
threads, seconds = int(sys.argv[1]), float(sys.argv[2])
with fastnn.num_threads(threads):
    m.fit(X, y, batch_size=128, epochs=1, verbose=0)
    print("ready", flush=True)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        m.fit(X, y, batch_size=128, epochs=2, verbose=0)
        n += 2 * len(X)
    print(f"{n / (time.perf_counter() - t0) / 1e3:.1f} k samples/s", flush=True)
"""

# (category, test on "dso symbol"), first match wins
CATEGORIES = [
    ("GEMM micro-kernel", r"openblas.*\s[sd]gemm_kernel"),
    ("GEMM packing (operand copies)", r"openblas.*\s[sd]gemm_(it|ot|in|on)copy"),
    ("GEMM other (driver, beta scaling)", r"openblas"),
    ("memset (beta=0 zeroing in GEMM, bias broadcast)", r"libc.*memset"),
    ("batch gather (memcpy of rows)", r"libc.*mem(move|cpy)"),
    ("optimizer update + its finiteness check", r"fnn_optim_(step|finite)"),
    ("activations and their derivatives", r"fnn_act_"),
    ("loss, metrics, output delta", r"fnn_(loss|metrics|weighted_loss)"),
    ("bias gradient", r"fnn_dense_backward_bias"),
    ("other fastnn C", r"_core\.cpython|fnn_"),
    ("fastnn's pool, locks", r"fnn_pool|pthread|futex"),
    ("math library (exp, log)", r"libm[.-]"),
    ("Python interpreter", r"libpython|python3"),
    ("OS kernel (page faults, scheduling)", r"\[kernel"),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    if shutil.which("perf") is None:
        sys.exit("needs Linux perf (e.g. apt install linux-perf)")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        # wait for the child's "ready" line: the recording starts after the warm-up
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(args.threads),
                                  str(args.seconds)], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "ready":
            sys.exit(f"child failed: {line!r}")
        rec = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-p", str(child.pid),
                                "-o", data], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        rate = child.stdout.read().strip()
        child.wait()
        rec.wait()
        rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                              "--sort", "dso,sym", "-q"], capture_output=True, text=True,
                             check=True).stdout
    shares: dict[str, float] = {}
    for raw in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(.*)", raw)
        if not m:
            continue
        pct, what = float(m.group(1)), m.group(2)
        cat = next((c for c, rx in CATEGORIES if re.search(rx, what)), "other")
        shares[cat] = shares.get(cat, 0.0) + pct
    print(f"W3 fit, {args.threads} thread(s): {rate} while recorded")
    print(f"{'where':<50} {'share':>6}")
    for cat, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"{cat:<50} {pct:>5.1f}%")
    print("reproduce: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "
          f"python benchmarks/profile_w3.py --threads {args.threads} --seconds {args.seconds:g}")


if __name__ == "__main__":
    main()
