"""The README's Python snippets run as written, in order, in one namespace."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_snippets_run(capsys):
    if not README.exists():
        pytest.skip("README.md is not next to the tests (installed without the source tree)")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our own README)
    out = capsys.readouterr().out
    assert "['accuracy', 'loss', 'val_accuracy', 'val_loss']" in out
    assert "\nTrue\n" in out  # the saved and loaded model predict bitwise the same
