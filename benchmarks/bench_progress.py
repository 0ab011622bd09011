"""What the progress bar costs a fit: verbose=0 beside verbose=1 into a terminal and
into a log file, and verbose=2 into the file.

    python benchmarks/bench_progress.py [--quick] [--repeats N]

Workload (W1-like): 2-16-16-1 tanh/tanh/sigmoid, SGD(0.03, momentum=0.9), binary
cross-entropy + accuracy, 4096 circle points, batch 32 (128 batches per epoch), 20
epochs, float32, 1 BLAS thread.  Only ``fit`` is timed (the model is built and
compiled before the clock starts).

Streams:

* ``tty``: a real pseudo-terminal (``os.openpty``), its other end drained by a
  child process, so the bar sees ``isatty()`` and redraws in place, and every byte
  goes through the kernel as it would to a terminal (the terminal's own drawing is
  not fastnn's cost and is not here);
* ``memory tty``: a StringIO whose isatty() is True: the bar redraws as on a
  terminal, with no system call — fastnn's own cost alone;
* ``file``: a file on disk, opened for writing with UTF-8 (what ``> train.log``
  gives): one finished line per epoch.

The configurations run interleaved, round after round, in a shuffled order per
round, so a slow spell of the shared machine hits all of them alike.  Reported,
for the wall-clock time and for this process's CPU time (which other processes
cannot inflate): the median and spread of each, and the median of the per-round
difference to verbose=0 in the same round (the overhead), with its spread.  Last,
the bar's own calls per epoch without training.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn.layers import Dense  # noqa: E402

EPOCHS, BATCH = 20, 32


def make_model():
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(16, activation="tanh"),
                           Dense(16, activation="tanh"), Dense(1, activation="sigmoid")],
                          seed=0)
    m.compile(fastnn.optimizers.SGD(0.03, momentum=0.9), "binary_crossentropy",
              ["accuracy"])
    return m


_DRAIN = """
import os, sys
n = 0
while True:
    try:
        chunk = os.read(0, 65536)
    except OSError:  # EIO: the terminal end was closed
        break
    if not chunk:
        break
    n += len(chunk)
print(n)
"""


class Pty:
    """A pseudo-terminal: `stream` is a text file on its terminal end (isatty() is
    True); a child process reads and discards everything from the other end (a
    thread of this process would compete with fit for the GIL)."""

    def __init__(self):
        master, slave = os.openpty()
        self.stream = open(slave, "w", encoding="utf-8")
        self._child = subprocess.Popen([sys.executable, "-c", _DRAIN], stdin=master,
                                       stdout=subprocess.PIPE, text=True)
        os.close(master)  # the child holds it
        self.bytes = 0

    def close(self):
        self.stream.close()
        self.bytes = int(self._child.communicate(timeout=10)[0] or 0)


class MemoryTTY(io.StringIO):
    """A terminal in memory (isatty() is True, no system calls): the bar's own cost,
    without the kernel's or a reader's."""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.tell() > 1 << 20:  # keep it small
            self.seek(0)
            self.truncate()
        return super().write(text)


def fit_seconds(X, y, verbose: int, stream) -> tuple[float, float]:
    """(wall-clock, CPU time of this process) of one fit, in seconds."""
    m = make_model()
    with contextlib.redirect_stdout(stream) if stream is not None else contextlib.nullcontext():
        t0, c0 = time.perf_counter(), time.process_time()
        m.fit(X, y, batch_size=BATCH, epochs=EPOCHS, verbose=verbose)
        if stream is not None:
            stream.flush()
        return time.perf_counter() - t0, time.process_time() - c0


def bar_calls_per_epoch(stream, verbose: int, epochs: int = 2000) -> float:
    """Microseconds per epoch of the bar's own calls (what fit makes per fast
    epoch: epoch_begin, one chunk, epoch_end), with no training."""
    from fastnn._progress import ProgressBar

    logs = {"accuracy": 0.9, "loss": 0.25}
    bar = ProgressBar(EPOCHS, 128, verbose, stream)
    t0 = time.perf_counter()
    for _ in range(epochs):
        bar.epoch_begin(1)
        bar.chunk(128, dict)
        bar.epoch_end(logs)
    bar.close()
    return (time.perf_counter() - t0) / epochs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="11 rounds instead of 101")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    rounds = args.repeats or (11 if args.quick else 101)
    limit, note = _common.thread_limits(1)
    with limit:
        print(_common.machine_report(note, probe=False))
        X, y = _common.circles(4096)
        tty = Pty()
        folder = tempfile.mkdtemp(prefix="fastnn-bench-progress-")
        log = open(os.path.join(folder, "train.log"), "w", encoding="utf-8")
        memory_tty = MemoryTTY()
        configs = {"verbose=0": (0, None), "verbose=1 tty": (1, tty.stream),
                   "verbose=1 memory tty": (1, memory_tty),
                   "verbose=1 file": (1, log), "verbose=2 file": (2, log)}
        for name, (verbose, stream) in configs.items():  # warm-up, untimed
            fit_seconds(X, y, verbose, stream)
        calls = {name: [] for name in configs}
        try:  # an older fastnn (for comparison) has its bar elsewhere
            import fastnn._progress as progress
            if os.path.dirname(progress.__file__) != os.path.dirname(fastnn.__file__):
                calls = {}  # found beside another fastnn (an editable install's finder)
        except ImportError:
            calls = {}
        tty2 = Pty()  # streams of their own: the counts below are the fits' output
        log2 = open(os.path.join(folder, "calls.log"), "w", encoding="utf-8")
        for _ in range(5 if calls else 0):
            for name, (verbose, stream) in configs.items():
                other = {id(tty.stream): tty2.stream, id(log): log2}.get(id(stream), stream)
                calls[name].append(bar_calls_per_epoch(other, verbose))
        tty2.close()
        log2.close()
        times = {name: [] for name in configs}
        order = list(configs)
        rng = random.Random(0)
        for _ in range(rounds):
            rng.shuffle(order)
            for name in order:
                _common.quiesce(0.02)
                times[name].append(fit_seconds(X, y, *configs[name]))
        log.close()
        with open(log.name, "rb") as f:
            raw = f.read()
        tty.close()
    print(f"\nfit of {len(X)} samples, batch {BATCH}, {EPOCHS} epochs; {rounds} interleaved "
          "rounds (ms)")
    for k, clock in enumerate(("wall-clock", "CPU time of this process (immune to other "
                               "processes; includes the system calls' kernel time)")):
        base = [t[k] for t in times["verbose=0"]]
        rows = []
        for name, pairs in times.items():
            ts = [t[k] for t in pairs]
            diffs = [(t - b) * 1e3 for t, b in zip(ts, base)]
            q = statistics.quantiles(diffs, n=4) if name != "verbose=0" else None
            rows.append([name, f"{_common.median(ts) * 1e3:.2f}",
                         f"{min(ts) * 1e3:.2f}-{max(ts) * 1e3:.2f}",
                         "-" if q is None else f"{statistics.median(diffs):+.3f}",
                         "-" if q is None else f"{q[0]:+.3f} .. {q[2]:+.3f}",
                         "-" if q is None else
                         f"{statistics.median(diffs) / (_common.median(base) * 1e3):+.1%}"])
        print(f"\n{clock}:")
        print(_common.fmt_table(["config", "median", "min-max", "overhead (median of "
                                 "paired diffs)", "diffs IQR", "overhead %"], rows))
    if calls:
        print("\nthe bar's own calls per epoch, no training (median of 5 x 2000 epochs, us): "
              + ", ".join(f"{name} {_common.median(v):.1f}" for name, v in calls.items()))
    lines, returns, escapes = (raw.count(c) for c in (b"\n", b"\r", b"\x1b"))
    print(f"\nbytes through the pty: {tty.bytes:,} over {(rounds + 1) * EPOCHS} epochs; "
          f"the log file: {lines:,} lines, {returns:,} carriage returns, {escapes:,} escape "
          "codes")


if __name__ == "__main__":
    main()
