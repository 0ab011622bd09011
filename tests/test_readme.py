"""The README is a guide people paste from: each ```python block runs on its own
(in a fresh namespace, as when pasted alone into Python), prints what the README
says it prints, and raises no warning the README does not mention.  Each block
also goes through Python's interactive prompt line by line (``code.InteractiveConsole``
reads a paste as the standard REPL of Python 3.10-3.12 does: a blank line ends an
indented block, and a line back at the left margin right after one is a
SyntaxError), with the same expectations.  Its links to
pictures and sections resolve, and its test command is the one CI runs.

``py`` blocks are shown but not run (they need a Dask scheduler)."""
import code as codemod
import contextlib
import io
import re
import traceback
import warnings
from pathlib import Path

import pytest

import fastnn

from ._needs import needs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# what each section's block must print (substrings of its standard output);
# the figures are the README's own comments, so a change in them fails here
EXPECTED = {
    "fastnn": ["[0. 1. 1. 0.]\n"],   # the opening example, above every section
    "Quick start: train, plot, save, reload": ["1.0\n[0. 1. 1. 0.]\n", 'Model: "sequential"',
                                               "Trainable params: 17", "\nTrue\n"],
    "1. The neuron and the perceptron": [
        "AND [0 0 0 1] w = [2. 1.] b = -3.0 accuracy 1.0",
        "OR [0 1 1 1] w = [1. 1.] b = -1.0 accuracy 1.0",
        "XOR [1 1 0 0] w = [-1.  0.] b = 0.0 accuracy 0.5"],
    "2. Layers and the dot product": ["(3, 4) (4,)\nTrue\n26\n"],
    "3. Activation functions": ["    step [0. 0. 0. 1. 1. 1. 1.]",
                                "    relu [0. 0. 0. 0. 1. 2. 3.]",
                                "[[0.09  0.245 0.665]]"],
    "4. Loss functions": ["True\nTrue\n"],
    "5. Gradient descent and the learning rate": [
        "learning rate 0.001  loss 0.703 -> 0.701, accuracy 0.54",
        "learning rate 1.0    loss 0.700 -> 0.047, accuracy 0.99",
        "learning rate 100.0  loss 74.960 -> 105.844, accuracy 0.53"],
    "6. Momentum and adaptive optimizers": ["SGD           loss 0.676, accuracy 0.67",
                                            "momentum 0.9  loss 0.159, accuracy 0.99",
                                            "Adam          loss 0.226, accuracy 0.99"],
    "7. Backpropagation": ["True\n"],
    "8. Training, validation and test sets": [
        "['accuracy', 'loss', 'val_accuracy', 'val_loss']\nTrue\n"],
    "9. Overfitting and its remedies": [
        "no remedy       300 epochs  loss: training 0.000, validation 1.621",
        "early stopping   12 epochs  loss: training 0.084, validation 0.223"],
    "10. K-fold cross-validation": ["[1.0, 1.0, 1.0, 0.988, 1.0]\n0.997 0.005\n"],
    "12. The Playground and the black box": ["1.0\n", "['activations.png', 'boundary.png', "
                                             "'model.png']"],
    "Losses and metrics": ["['auc', 'binary_accuracy', 'loss', 'p', 'val_auc', "
                           "'val_binary_accuracy', 'val_loss', 'val_p']"],
    "Callbacks": ["epoch 10: val_loss 0.538, learning rate 0.05\n",
                  "epoch 60: val_loss 0.389, learning rate 0.0007813\n",
                  "stopped after 62 of 200 epochs; best val_loss 0.388\n0.388 0.388\n"],
    "Saving, loading and resuming": ["True\nTrue\n"],
    "Threads, Ctrl-C and non-finite values": ["True\n"],
    "Keras models in, ONNX out, C for Cython": ["True\n"],
}
# the warnings a block may raise, because its text says so
ALLOWED_WARNINGS = {"1. The neuron and the perceptron": (fastnn.ConvergenceWarning,)}


def _needs_of(code: str) -> None:
    """Skip a block that uses an optional extra which is not installed."""
    if re.search(r"\bplot\.|import plot\b", code):
        needs("matplotlib")
    if "sklearn" in code:
        needs("sklearn")
    if ".export(" in code:  # without onnx the block prints the install hint instead
        needs("onnx")


def _text() -> str:
    if not README.exists():
        pytest.skip("README.md is not next to the tests (installed without the source tree)")
    return README.read_text(encoding="utf-8")


def _blocks() -> list[tuple[str, str]]:
    """(the heading above it, code) for every ```python block, in order."""
    out, heading = [], ""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    for part in re.split(r"(```python\n.*?```)", text, flags=re.S):
        if part.startswith("```python\n"):
            out.append((heading, part[len("```python\n"):-3]))
        else:
            titles = re.findall(r"^#{1,3} (.+)$", part, re.M)
            heading = titles[-1] if titles else heading
    return out


BLOCKS = _blocks()


def test_every_section_with_an_expectation_has_a_block():
    _text()
    assert len(BLOCKS) >= 20
    headings = [h for h, _ in BLOCKS]
    assert set(EXPECTED) <= set(headings), set(EXPECTED) - set(headings)


@pytest.mark.parametrize("heading,code", BLOCKS, ids=[f"{i}-{h[:30]}" for i, (h, _) in
                                                      enumerate(BLOCKS)])
@pytest.mark.slow
def test_block_runs_on_its_own(heading, code, tmp_path, monkeypatch):
    _needs_of(code)
    monkeypatch.chdir(tmp_path)   # a block that writes relative paths writes here
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        exec(compile(code, f"README.md: {heading}", "exec"), {"__name__": "__main__"})  # noqa: S102
    allowed = ALLOWED_WARNINGS.get(heading, ())
    unexpected = [f"{w.category.__name__}: {w.message}" for w in caught
                  if not issubclass(w.category, allowed)]
    assert not unexpected, unexpected
    for wanted in EXPECTED.get(heading, []):
        assert wanted in out.getvalue(), f"{heading!r} did not print {wanted!r}:\n{out.getvalue()}"


class _Prompt(codemod.InteractiveConsole):
    """The interactive prompt, recording errors instead of printing them."""

    def __init__(self) -> None:
        super().__init__({"__name__": "__main__"}, filename="<stdin>")
        self.errors: list[str] = []

    def showsyntaxerror(self, *args, **kwargs) -> None:
        self.errors.append(traceback.format_exc(limit=0))

    def showtraceback(self) -> None:
        self.errors.append(traceback.format_exc())


@pytest.mark.parametrize("heading,code", BLOCKS, ids=[f"{i}-{h[:30]}" for i, (h, _) in
                                                      enumerate(BLOCKS)])
@pytest.mark.slow
def test_block_pastes_into_the_interactive_prompt(heading, code, tmp_path, monkeypatch):
    _needs_of(code)
    monkeypatch.chdir(tmp_path)
    prompt = _Prompt()
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        for line in code.splitlines():
            prompt.push(line)
        prompt.push("")               # the Enter that ends a last indented block
    assert not prompt.errors, f"{heading!r} pasted line by line:\n" + "\n".join(prompt.errors)
    allowed = ALLOWED_WARNINGS.get(heading, ())
    unexpected = [f"{w.category.__name__}: {w.message}" for w in caught
                  if not issubclass(w.category, allowed)]
    assert not unexpected, unexpected
    # the prompt also echoes each expression's value: drop the echoed object reprs
    printed = re.sub(r"(?m)^<[^\n]* at 0x[0-9a-f]+>\n", "", out.getvalue())
    for wanted in EXPECTED.get(heading, []):
        assert wanted in printed, f"{heading!r} did not print {wanted!r}:\n{printed}"


def test_the_prompt_check_catches_a_line_after_a_loop_body():
    """The check above can fail: a README example that no longer runs is reported."""
    prompt = _Prompt()
    with contextlib.redirect_stdout(io.StringIO()):
        for line in ["for i in range(2):", "    x = i", "print(x)", ""]:
            prompt.push(line)
    assert prompt.errors and "SyntaxError" in prompt.errors[0]


def test_pictures_and_section_links_resolve():
    text = _text()
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(pictures) >= 6
    for path in pictures + re.findall(r"\]\((docs/[^)#]+)\)", text):
        assert (ROOT / path).is_file(), path
    # GitHub's anchors: lower case, punctuation dropped, spaces to hyphens
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#{1,4} (.+)$", text, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert len(links) >= 15
    assert not set(links) - anchors, set(links) - anchors


def test_readme_test_command_is_the_one_ci_runs():
    text = _text()
    commands = re.findall(r"```bash\n(.*?)```", text, re.S)
    test_command = next(c.strip() for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
