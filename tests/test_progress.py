"""What ``verbose`` prints: Keras 3's bar redrawn in place only on
a terminal; into a pipe or a log file one finished line per epoch with no carriage
returns or ANSI codes; updates once per C chunk, with no extra C calls."""
import io
import re
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import training
from fastnn._progress import (ProgressBar, format_eta, format_logs, format_step_time,
                              format_value, is_interactive)
from fastnn.callbacks import LambdaCallback
from fastnn.layers import Dense

TIME = r"\d+(us|ms|s)/step"
METRICS = r" - accuracy: \d\.\d{4} - loss: \d\.\d{4}"
VAL = r" - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}"
BAR_LINE = re.compile(rf"^(\d+)/(\d+) ━{{20}} \d+s {TIME}{METRICS}({VAL})?$")
COMPACT_LINE = re.compile(rf"^(\d+)/(\d+) - \d+s - {TIME}{METRICS}({VAL})?$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeTTY(io.StringIO):
    """A terminal as far as the bar can tell."""

    def isatty(self) -> bool:
        return True


def model():
    m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(8, activation="tanh"),
                           Dense(1, activation="sigmoid")], seed=0)
    m.compile("adam", "binary_crossentropy", ["accuracy"])
    return m


def data(n=64):
    X, y = fastnn.datasets.make_circle(n, noise=0.05, seed=0)
    return X / 5, y


def test_log_file_gets_one_clean_line_per_epoch(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "CHUNK_SECONDS", 1e-12)  # one batch per C call: many chunks
    path = tmp_path / "train.log"
    with open(path, "w", encoding="utf-8") as log:
        monkeypatch.setattr(sys, "stdout", log)
        model().fit(*data(), epochs=3, batch_size=8, validation_split=0.25, verbose=1)
        monkeypatch.undo()
    text = path.read_text(encoding="utf-8")
    assert "\r" not in text and "\x1b" not in text and "\b" not in text
    lines = text.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    for line in lines[1::2]:
        m = BAR_LINE.match(line)
        assert m and m.group(1) == m.group(2) == "6" and m.group(4), line  # 48 rows / 8


@pytest.mark.slow
def test_pipe_with_verbose_auto_gets_clean_lines():
    code = ("import fastnn, numpy as np\nfrom fastnn.layers import Dense\n"
            "X, y = fastnn.datasets.make_circle(64, noise=0.05, seed=0)\n"
            "m = fastnn.Sequential([fastnn.Input(shape=(2,)), Dense(4, activation='tanh'),"
            " Dense(1, activation='sigmoid')], seed=0)\n"
            "m.compile('adam', 'binary_crossentropy', ['accuracy'])\n"
            "m.fit(X / 5, y, epochs=2, batch_size=8)\n")  # verbose='auto'
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         encoding="utf-8", check=True).stdout
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert BAR_LINE.match(lines[1]) and BAR_LINE.match(lines[3]), out


def test_terminal_redraws_one_line_per_chunk(monkeypatch):
    monkeypatch.setattr(training, "CHUNK_SECONDS", 1e-12)  # 8 chunks of one batch per epoch
    monkeypatch.setattr(ProgressBar, "INTERVAL", 0.0)  # a frame after every chunk
    monkeypatch.setenv("NO_COLOR", "1")
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stdout", tty)
    model().fit(*data(), epochs=2, batch_size=8, verbose=1)
    monkeypatch.undo()
    out = tty.getvalue()
    assert "\x1b" not in out  # NO_COLOR
    lines = out.split("\n")
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[4] == ""
    for line in (lines[1], lines[3]):
        frames = line.split("\r")[1:]
        # batches 1..7 redrawn after their chunk, the 8th is the finished line
        assert [int(f.split("/")[0]) for f in frames] == list(range(1, 9))
        for i, frame in enumerate(frames[:-1]):
            assert re.match(rf"^ ?{i + 1}/8 ━{{20}} \d+s {TIME}{METRICS} *$", frame), frame
            # each frame covers the one before it (no leftover characters)
            assert len(frames[i + 1]) >= len(frame.rstrip())
        assert BAR_LINE.match(frames[-1].rstrip()), frames[-1]


def test_terminal_colors_unless_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(ProgressBar, "INTERVAL", 0.0)
    monkeypatch.setenv("TERM", "dumb")
    assert not ProgressBar(2, 4, 1, FakeTTY()).color
    monkeypatch.setenv("TERM", "xterm-256color")
    tty = FakeTTY()
    bar = ProgressBar(2, 4, 1, tty)
    bar.epoch_begin(0)
    bar.chunk(2, lambda: {"loss": 0.5})
    bar.epoch_end({"loss": 0.25})
    out = tty.getvalue()
    assert "\x1b[1m" in out and "\x1b[32m" in out
    final = ANSI.sub("", out.split("\r")[-1])
    assert re.match(rf"^4/4 ━{{20}} \d+s {TIME} - loss: 0\.2500\n$", final), final


def test_the_bar_adds_no_c_calls(monkeypatch):
    """Chunking is the same with and without the bar: updates ride on the C chunks."""
    monkeypatch.setattr(training, "CHUNK_SECONDS", 1e9)  # whole epochs per C call
    calls = []
    real = training._core.train

    def counting(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(training._core, "train", counting)
    X, y = data(256)
    counts = {}
    for verbose in (0, 1, 2):
        calls.clear()
        monkeypatch.setattr(sys, "stdout", FakeTTY())
        model().fit(X, y, epochs=4, batch_size=4, verbose=verbose)
        counts[verbose] = len(calls)
    monkeypatch.undo()
    # the first chunk of a fit is one batch (to time it), then whole epochs: 1 + 4
    assert counts == {0: 5, 1: 5, 2: 5}


def test_frames_at_most_every_interval(monkeypatch):
    """Chunks closer than INTERVAL draw nothing; the finished line is always drawn."""
    tty = FakeTTY()
    bar = ProgressBar(1, 100, 1, tty)
    bar.epoch_begin(0)
    for done in range(1, 100):  # all within microseconds: no frame
        bar.chunk(done, lambda: {"loss": 1.0})
    assert tty.getvalue() == ""
    monkeypatch.setattr(ProgressBar, "INTERVAL", 0.0)
    bar.chunk(99, lambda: {"loss": 1.0})
    assert tty.getvalue().startswith("\r") and " 99/100 " in ANSI.sub("", tty.getvalue())
    bar.chunk(100, lambda: {"loss": 1.0})
    bar.epoch_end({"loss": 0.5})
    assert tty.getvalue().count("\r") == 2 and tty.getvalue().endswith("\n")


def test_logs_are_computed_only_for_a_live_bar(monkeypatch):
    monkeypatch.setattr(ProgressBar, "INTERVAL", 0.0)

    def boom():
        raise AssertionError("logs asked for with nothing to draw")

    for stream, verbose in ((io.StringIO(), 1), (FakeTTY(), 2), (FakeTTY(), 0)):
        bar = ProgressBar(1, 10, verbose, stream)
        bar.epoch_begin(0)
        bar.chunk(5, boom)
    bar = ProgressBar(1, 10, 1, FakeTTY())
    bar.epoch_begin(0)
    seen = []
    bar.chunk(5, lambda: seen.append(1) or {})
    bar.chunk(10, lambda: seen.append(2) or {})  # the last chunk: epoch_end draws it
    assert seen == [1]


def test_verbose_2_and_a_single_epoch(capsys):
    X, y = data()
    model().fit(X, y, epochs=2, batch_size=8, validation_split=0.25, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert all(COMPACT_LINE.match(l) for l in lines[1::2]), lines
    model().fit(X, y, epochs=1, batch_size=8, verbose=1)  # one epoch: no "Epoch" line
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and BAR_LINE.match(lines[0]), lines
    model().fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert capsys.readouterr().out == ""


def test_ascii_stream_gets_an_ascii_bar():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    bar = ProgressBar(1, 4, 1, stream)
    bar.epoch_begin(0)
    bar.chunk(4, dict)
    bar.epoch_end({"loss": 0.5})
    stream.flush()
    assert re.match(rf"^4/4 \[={{20}}\] \d+s {TIME} - loss: 0\.5000\n$", raw.getvalue().decode())


def test_an_exception_mid_epoch_ends_the_bar_line(monkeypatch):
    monkeypatch.setattr(training, "CHUNK_SECONDS", 1e-12)
    monkeypatch.setattr(ProgressBar, "INTERVAL", 0.0)
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stdout", tty)

    def stop(batch, logs):
        if batch == 2:
            raise RuntimeError("stop here")

    with pytest.warns(UserWarning, match="batch hooks"), pytest.raises(RuntimeError):
        model().fit(*data(), epochs=1, batch_size=8, verbose=1,
                    callbacks=[LambdaCallback(on_train_batch_end=stop)])
    monkeypatch.undo()
    out = tty.getvalue()
    # batch index 2 is the third batch: the bar was at 3/8 when the callback raised
    assert out.endswith("\n") and out.count("\n") == 1 and "4/8" not in out
    assert ANSI.sub("", out.split("\r")[-1]).startswith("3/8")


def test_evaluate_and_predict_lines(capsys):
    X, y = data(100)
    m = model()
    m.evaluate(X, y)                      # "auto": the bar's final line
    m.evaluate(X, y, batch_size=30, verbose=2)
    m.predict(X, verbose=1)
    m.evaluate(X, y, verbose=0)
    m.predict(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines
    assert BAR_LINE.match(lines[0]) and lines[0].startswith("1/1 "), lines[0]
    assert COMPACT_LINE.match(lines[1]) and lines[1].startswith("4/4 "), lines[1]
    assert re.match(rf"^1/1 ━{{20}} \d+s {TIME}$", lines[2]), lines[2]


def test_formatting_helpers():
    assert [format_eta(s) for s in (0, 5.9, 125, 3725)] == ["0s", "5s", "2:05", "1:02:05"]
    assert [format_step_time(s) for s in (0, 4e-5, 2e-3, 1.5)] == [
        "0s/step", "40us/step", "2ms/step", "2s/step"]
    assert format_value(0.5) == "0.5000" and format_value(1e-4) == "1.0000e-04"
    assert format_value(np.float32(0.25)) == "0.2500"
    assert format_logs({"val_loss": 1.0, "loss": 2.0, "accuracy": 0.5,
                        "val_accuracy": 0.25}) == (
        " - accuracy: 0.5000 - loss: 2.0000 - val_accuracy: 0.2500 - val_loss: 1.0000")


def test_is_interactive():
    class Closed(io.StringIO):
        def isatty(self):
            raise ValueError("I/O operation on closed file")

    assert is_interactive(FakeTTY()) and not is_interactive(io.StringIO())
    assert not is_interactive(Closed()) and not is_interactive(object())
