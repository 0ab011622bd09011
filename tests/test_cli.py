"""The command line explains itself: bare ``python -m fastnn`` prints
help, every --help has a description and examples, the demo's options say what
they do, and bench --help says what W1-W5 are."""
import re
import subprocess
import sys

import pytest

from fastnn.__main__ import main
from fastnn.bench import workloads

pytestmark = pytest.mark.slow  # starts Python processes


def help_of(argv, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_bare_command_prints_help_and_succeeds():
    out = subprocess.run([sys.executable, "-m", "fastnn"], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: python -m fastnn")
    for word in ("demo", "info", "bench", "examples:", "introductory course on neural networks"):
        assert word in out.stdout, word
    assert out.stderr == ""


def test_main_help_describes_and_shows_examples(capsys, monkeypatch):
    out = help_of([], capsys, monkeypatch)
    assert "fast dense neural networks for the CPU" in out
    assert "examples:\n  python -m fastnn demo" in out
    assert "python -m fastnn bench --quick" in out


def test_demo_help_describes_each_part_and_every_option(capsys, monkeypatch):
    out = help_of(["demo"], capsys, monkeypatch)
    for part in ("perceptron", "XOR", "TensorFlow Playground", "handwritten digits",
                 "introductory course on neural networks with\nPython and Keras"):
        assert part in out, part
    options = out[out.index("options:"):out.index("examples:")]
    for option in ("--seed SEED", "--plots DIR", "--no-plots"):  # each followed by its help
        assert re.search(re.escape(option) + r" +\w", options), option
    assert "seed of the networks' initial weights" in options
    assert "examples:\n  python -m fastnn demo" in out


def test_info_help_describes(capsys, monkeypatch):
    assert "instruction set" in help_of(["info"], capsys, monkeypatch)


def test_bench_help_says_what_each_workload_is_and_no_private_folder(capsys, monkeypatch):
    out = help_of(["bench"], capsys, monkeypatch)
    for w in workloads.WORKLOADS:
        line = re.search(rf"^  {w}  (.+)$", out, re.M)
        assert line and len(line.group(1)) > 20, (w, out)
    assert "2-16-16-1" in out and "784-256-128-10" in out and "1024-4096-4096-1024" in out
    assert "shared/data" not in out and "shared" not in out
    assert "examples:\n  python -m fastnn bench --quick" in out
