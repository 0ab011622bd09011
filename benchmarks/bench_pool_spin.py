"""W3 (784-256-128-10, Adam, batch 128) training speed with fastnn's pool polling for
its next loop (FASTNN_SPIN_US, default 50 µs) or sleeping at once (0), in alternating
fresh processes: the paired check behind the pool's poll (csrc/fnn_pool.c).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_pool_spin.py [--pairs 3]

Each process fits 12,000 rows of uniform noise, one epoch per fit call, and prints the
best of 5 epochs in samples/s; run it on a quiet machine (it measures wall time).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile_w3 import W3_SETUP  # noqa: E402  (the same net and data)

CHILD = W3_SETUP + r"""
threads = int(sys.argv[1])
with fastnn.num_threads(threads):
    m.fit(X, y, batch_size=128, epochs=1, verbose=0)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        m.fit(X, y, batch_size=128, epochs=1, verbose=0)
        best = min(best, time.perf_counter() - t0)
print(f"{len(X) / best / 1e3:.1f}")
"""


def run(threads: int, spin_us: str | None) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "FASTNN_SPIN_US")}
    if spin_us is not None:
        env["FASTNN_SPIN_US"] = spin_us
    out = subprocess.run([sys.executable, "-c", CHILD, str(threads)], env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pairs", type=int, default=3)
    args = p.parse_args()
    for i in range(args.pairs):
        sleep, poll = run(2, "0"), run(2, None)
        print(f"pair {i + 1}: 2 threads, sleep at once {sleep} k samples/s, "
              f"poll 50 us {poll} k samples/s")
    print(f"1 thread: {run(1, None)} k samples/s")


if __name__ == "__main__":
    main()
