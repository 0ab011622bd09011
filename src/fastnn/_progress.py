"""What ``fit``, ``evaluate`` and ``predict`` print with ``verbose``: Keras 3's
progress bar, honest about where it writes.

Design:

* A terminal (``stream.isatty()``, or a Jupyter kernel's own stream) gets one
  line redrawn in place with ``\\r``, in Keras 3's look::

      Epoch 3/10
      13/13 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9350 - loss: 0.1932

  While the epoch runs the time field is the estimated time left (as Keras);
  once it ends it is the epoch's elapsed time, and ``2ms/step`` is the measured
  training time per batch.  The count is bold and the bar green, unless
  ``NO_COLOR`` is set (https://no-color.org) or ``TERM=dumb``.
* Anything else — a pipe, a log file, a ``StringIO`` — gets finished lines only:
  no ``\\r``, no ANSI codes, one line per epoch (the bar's final state for
  ``verbose=1``, Keras's ``13/13 - 0s - 2ms/step - ...`` for ``verbose=2``).  If
  the stream's encoding cannot write ``━`` the bar is drawn with ``=`` and ``.``.
* fastnn runs the batches of an epoch in C, in chunks of about 50 ms; the bar is
  told once per chunk (:meth:`ProgressBar.chunk`), never per batch, and draws a
  frame only when it is live (``verbose=1`` on a terminal) and at most every
  0.05 s.  It adds no C calls: the chunking is the same as with ``verbose=0``.
* What remains is the line each epoch prints, as in Keras: a few microseconds of
  formatting and one write (the ``Epoch i/N`` line goes out with it after a fast
  epoch; files and pipes are flushed at most every 0.1 s and at the end of fit).
  ``benchmarks/bench_progress.py`` measures it.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from ._validation import check_int

BAR_WIDTH = 20          # Keras 3's width
_FULL, _ASCII = ("━", "━"), ("=", ".")
_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def is_interactive(stream: IO[str]) -> bool:
    """Does `stream` show a redrawn line as one line?  A terminal does; so does a
    Jupyter kernel's output stream (ipykernel's OutStream), as Keras assumes."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed file
        return False
    return type(stream).__module__.startswith("ipykernel")


def _colors_ok() -> bool:
    """ANSI colors, unless NO_COLOR is set, TERM is "dumb", or on a Windows console
    that is not known to read them (Windows Terminal sets WT_SESSION)."""
    env = os.environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    return sys.platform != "win32" or any(k in env for k in ("WT_SESSION", "ANSICON", "TERM"))


def can_write(stream: IO[str], text: str) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not encoding:  # StringIO and friends hold str
        return True
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def format_value(value: Any) -> str:  # any log value; non-numbers print as str()
    """A metric as Keras 3 shows it: 4 decimals, or 4 significant digits in
    scientific notation when it is 1e-3 or smaller in magnitude."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def _order(key: str) -> tuple[bool, str]:
    return key.startswith("val_"), key


def format_logs(logs: dict[str, Any]) -> str:
    """`` - name: value`` for every entry: training entries sorted by name, then
    the ``val_`` ones sorted (Keras 3's order: accuracy, loss, val_accuracy, ...)."""
    return "".join([f" - {k}: {format_value(logs[k])}" for k in sorted(logs, key=_order)])


def format_eta(seconds: float) -> str:
    """``7s``, ``2:05`` or ``1:02:05``, as Keras."""
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def format_step_time(seconds: float, unit: str = "step") -> str:
    """``3s/step``, ``12ms/step`` or ``40us/step``."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class ProgressBar:
    """The lines ``fit(verbose=...)`` prints for `epochs` epochs of `steps` batches.

    ``verbose`` 0 prints nothing, 1 the bar (redrawn per C chunk on a terminal,
    one finished line per epoch elsewhere), 2 one compact line per epoch.  An
    ``Epoch i/N`` line comes before each epoch when there is more than one (as
    Keras 3).  Writes to `stream` (default: ``sys.stdout`` at construction).
    """

    INTERVAL = 0.05  # seconds between in-progress frames, at least

    def __init__(self, epochs: int, steps: int, verbose: int,
                 stream: IO[str] | None = None) -> None:
        self.epochs, self.steps, self.verbose = epochs, max(int(steps), 0), verbose
        self.stream = sys.stdout if stream is None else stream
        interactive = bool(verbose) and is_interactive(self.stream)
        self.live = verbose == 1 and interactive
        self.color = interactive and _colors_ok()
        self.chars = _FULL if not verbose or can_write(self.stream, "━") else _ASCII
        # the terminal's width, read at the first in-progress frame
        self.columns: int | None = None
        self._open = 0  # visible length of the line being redrawn (0: none)
        self.t0 = self.t_done = self._drawn = time.perf_counter()
        self.done = 0
        self._first: tuple[float, int] | None = None  # (time, done) at the first chunk drawn
        self._header = ""  # a deferred "Epoch i/N"
        self._last: float | None = None  # last epoch's time "Epoch i/N"; last epoch's time
        self._flushed = -1.0  # when _write last flushed

    # ------------------------------------------------------------------ fit's hooks
    def epoch_begin(self, epoch: int) -> None:
        """Start the clock; print ``Epoch i/N`` (when N > 1).  After an epoch shorter
        than a second the line goes out with the epoch's first drawing instead: one
        write (one system call on a terminal) per fast epoch, not two."""
        self.t0 = self.t_done = self._drawn = time.perf_counter()
        self.done, self._first = 0, None
        if self.verbose and self.epochs > 1:
            self._header = f"Epoch {epoch + 1}/{self.epochs}\n"
            if self._last is None or self._last >= 1.0:
                self._write("")

    def chunk(self, done: int, logs_fn: Callable[[], dict[str, float]]) -> None:
        """`done` batches of the epoch have run (one C chunk ended).  `logs_fn()`
        gives the running logs; it is called only when the bar is drawn."""
        self.t_done = now = time.perf_counter()
        self.done = done
        # the last chunk is drawn by epoch_end; frames at most every INTERVAL (Keras's
        # 0.05 s), so a fit of fast epochs draws only their finished lines
        if self.live and done < self.steps and now - self._drawn >= self.INTERVAL:
            self._drawn = now
            # the rate since the first chunk (which pays for warm-up), as Keras skips
            # its first step; until there is a second chunk, the rate so far
            if self._first is None:
                self._first = (now, done)
            t1, d1 = self._first
            per_step = (now - t1) / (done - d1) if done > d1 else (now - self.t0) / max(done, 1)
            self._redraw(self._line(done, format_eta(per_step * (self.steps - done)),
                                    per_step, logs_fn()))

    def epoch_end(self, logs: dict[str, Any]) -> None:
        """The epoch's finished line: elapsed time (training and validation), the
        training time per batch, and `logs`."""
        if not self.verbose:
            return
        now = time.perf_counter()
        per_step = (self.t_done - self.t0) / max(self.done, 1) if self.done else \
            (now - self.t0) / max(self.steps, 1)
        elapsed = self._last = now - self.t0
        if self.verbose == 2:
            text = (f"{self._count(self.steps)} - {elapsed:.0f}s - "
                    f"{format_step_time(per_step)}{format_logs(logs)}")
        else:
            text = self._line(self.steps, f"{elapsed:.0f}s", per_step, logs, final=True)
        if self.live:
            self._redraw(text, final=True)
        else:
            self._write(text + "\n")

    def close(self) -> None:
        """End a half-drawn line (an exception or Ctrl-C in mid-epoch) and flush."""
        if self._open or self._header:
            self._write("\n" if self._open else "")
            self._open = 0
        if self.verbose:
            self.stream.flush()

    def _write(self, text: str) -> None:
        """Write and flush; into a file or pipe, flush at most every 0.1 s (fast
        epochs would each pay a system call; ``close`` flushes at the end of fit)."""
        self.stream.write(self._header + text)
        self._header = ""
        now = time.perf_counter()
        if self.live or now - self._flushed >= 0.1:
            self.stream.flush()
            self._flushed = now

    # ------------------------------------------------------------------ drawing
    def _count(self, done: int) -> str:
        digits = len(str(self.steps))
        return f"{done:>{digits}d}/{self.steps}"

    def _line(self, done: int, when: str, per_step: float, logs: dict[str, Any],
              final: bool = False) -> str:
        """``count bar when per_step - logs``, colored on a terminal, cut to the
        terminal's width while it is being redrawn (a wrapped line cannot be)."""
        count = self._count(done)
        filled = BAR_WIDTH if done >= self.steps else int(BAR_WIDTH * done / max(self.steps, 1))
        on, off = self.chars[0] * filled, self.chars[1] * (BAR_WIDTH - filled)
        tail = f" {when} {format_step_time(per_step)}{format_logs(logs)}"
        if self.live and not final:
            if self.columns is None:
                self.columns = shutil.get_terminal_size().columns
            room = self.columns - 1 - len(count) - 1 - BAR_WIDTH
            if len(tail) > room:
                tail = tail[:max(room - 1, 0)] + "…"
        if self.color:
            count = f"{_BOLD}{count}{_RESET}"
            on = f"{_GREEN}{on}{_RESET}" if on else ""
            off = f"{_GREY}{off}{_RESET}" if off else ""
        elif self.chars is _ASCII:
            return f"{count} [{on}{off}]{tail}"
        return f"{count} {on}{off}{tail}"

    def _redraw(self, text: str, final: bool = False) -> None:
        visible = _visible_len(text)
        pad = " " * max(self._open - visible, 0)
        self._write(f"\r{text}{pad}" + ("\n" if final else ""))
        self._open = 0 if final else visible


def _visible_len(text: str) -> int:
    if "\x1b" in text:
        for code in (_BOLD, _GREEN, _GREY, _RESET):
            text = text.replace(code, "")
    return len(text)


def report(steps: int, seconds: float, logs: dict[str, Any], verbose: int,
           stream: IO[str] | None = None) -> None:
    """The one line ``evaluate``/``predict`` print (their work is one C call, so
    there is nothing to redraw): the bar's final state for ``verbose=1``, the
    compact line for ``verbose=2``.  A step is a chunk of rows the C loop ran."""
    if not verbose:
        return
    bar = ProgressBar(1, steps, verbose, stream)
    bar.live = False  # nothing to redraw: write the finished line directly
    now = time.perf_counter()
    bar.t0, bar.t_done, bar.done = now - seconds, now, max(steps, 1)
    bar.epoch_end(logs)
    bar.close()


def check_verbose(func: str, verbose: object) -> int:
    """0, 1 or 2; ``"auto"`` is 1, Keras 3's rule (its ProgbarLogger turns "auto"
    into 1 everywhere; tf.keras 2 chose 2 when logging was not interactive).  fastnn's
    1 already writes plain per-epoch lines when stdout is not a terminal."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    return check_int(func, "verbose", verbose, low=0, high=2)
