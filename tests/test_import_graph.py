"""fastnn's modules import one another in one direction: tools/import_graph.py finds no
cycle (which is also no upward import: see its docstring), and it does find the
kinds of cycle it is meant to."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "import_graph.py"


def _tool():
    spec = importlib.util.spec_from_file_location("import_graph", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_import_cycle_and_no_upward_import():
    tool = _tool()
    g = tool.graph()
    assert len(g) > 50 and "fastnn.models" in g  # it read the package
    assert "fastnn._model_file" in g["fastnn._model_io"]
    cycles = tool.strongly_connected(g)
    assert cycles == [], "\n".join(
        f"{a} -> {b}" for a, b in tool.upward_edges(g, cycles))


@pytest.mark.slow
def test_the_command_says_so():
    out = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no cycle, no upward import" in out.stdout


def _package(root, files):
    for name, text in files.items():
        path = root / "fastnn" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_it_finds_a_cycle_closed_by_a_lazy_import_and_ignores_type_only_ones(tmp_path):
    tool = _tool()
    root = _package(tmp_path, {
        "__init__.py": "from .a import A\n",
        "a.py": "from . import b\nA = 1\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n"
                "def f():\n    from .c import C\n",
        "c.py": "from .a import A\nC = 2\n",
        "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .e import E\n",
        "e.py": "from .d import x\nE = 3\n",
        "sub/__init__.py": "from .x import X\n",
        "sub/x.py": "from .y import Y\nX = 1\n",
        "sub/y.py": "from ..sub import x\nY = 1\n",
    })
    g = tool.graph(root)
    assert g["fastnn.b"] == {"fastnn.c"}          # lazy: counted; TYPE_CHECKING: not
    assert g["fastnn.d"] == set()                 # type-only
    assert g["fastnn.e"] == {"fastnn.d"}
    cycles = tool.strongly_connected(g)
    assert ["fastnn.a", "fastnn.b", "fastnn.c"] in cycles
    assert ["fastnn.sub.x", "fastnn.sub.y"] in cycles
    assert not any("fastnn.d" in c for c in cycles)
    assert ("fastnn.b", "fastnn.c") in tool.upward_edges(g, cycles)
    assert tool.main(["--check", "--root", str(root)]) == 1
    levels = tool.levels(g, cycles)
    assert levels["fastnn.d"] == 0 and levels["fastnn.e"] == 1


def test_it_lists_reads_of_sequentials_private_attributes_outside_its_modules(tmp_path):
    tool = _tool()
    root = _package(tmp_path, {
        "__init__.py": "",
        "_base.py": "class Base:\n    def _lock(self):\n        return other_model._size\n",
        "models.py": "from ._base import Base\nclass Sequential(Base):\n"
                     "    def __init__(self):\n        self._size = 1\n        self.public = 2\n",
        "other.py": "def f(model):\n    model._lock()\n    return model._size + model.public"
                    " + model._unrelated\n",
    })
    assert tool.private_reads(root) == [("fastnn.other", 2, "model._lock"),
                                        ("fastnn.other", 3, "model._size")]


def test_no_module_reads_a_private_attribute_of_sequential():
    # layers reach their model through models.LayerHost, the file and export code through
    # ModelIO's state_for_saving / load_own_state and public properties
    reads = _tool().private_reads()
    assert reads == [], "\n".join(f"{m}:{line}: {text}" for m, line, text in reads)
