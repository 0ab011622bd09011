"""Print fastnn's internal import graph; find cycles and upward imports.

    python tools/import_graph.py            # layers, edges, sizes; exit 1 on a cycle
    python tools/import_graph.py --check    # only the verdict (what the test runs)
    python tools/import_graph.py --sizes    # module sizes in lines, largest first
    python tools/import_graph.py --private-reads   # X._name reads of Sequential's
                                                   # private names outside its own modules

Read from the source with ``ast`` (nothing is imported, no dependency).  An edge
A -> B means module A imports module B at run time: at module level or inside a
function (a lazy import still runs, so it still ties the two modules together).
Imports under ``if TYPE_CHECKING:`` are type-only and left out.  ``from . import
x`` is an edge to the submodule ``x`` when there is one, else to the package's
``__init__``; importing ``fastnn.sub.y`` from outside ``fastnn.sub`` also runs
``fastnn/sub/__init__``, which is counted as an edge too.

With no cycle the graph is a partial order, so every module gets a *level*: 0
when it imports no fastnn module, else one more than the highest level it
imports.  An *upward import* is an edge from a module to one that (transitively)
imports it back: exactly the edges inside a cycle, so "no cycle" and "no upward
import" are one check.  The verdict also lists every such edge, by module, so a
new cycle says which import closed it.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "fastnn"


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Map dotted module name -> path for every .py file of the package."""
    out = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST):
    """Yield the Import/ImportFrom nodes not under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(node, ast.If) and _is_type_checking(node.test) and child in node.body:
                continue
            stack.append(child)


def _with_parents(name: str, importer: str, modules: dict[str, Path]) -> list[str]:
    """``name`` and the packages whose ``__init__`` importing it runs: its
    parents, less those of ``importer`` (already initialised before it runs)."""
    parts = name.split(".")
    mine = importer.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1)
            if ".".join(parts[:i]) in modules
            and (i == len(parts) or parts[:i] != mine[:i])]


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The fastnn modules ``name`` imports at run time."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                targets.append(sub if sub in modules else target)
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                for mod in _with_parents(target, name, modules) or [target]:
                    if mod in modules and mod != name:
                        found.add(mod)
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = module_files(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def strongly_connected(g: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative); components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(g[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def levels(g: dict[str, set[str]], cycles: list[list[str]]) -> dict[str, int]:
    """Longest import chain below each module (a cycle counts as one node)."""
    rep = {m: comp[0] for comp in cycles for m in comp}
    memo: dict[str, int] = {}

    def level(node: str, seen: frozenset[str]) -> int:
        node = rep.get(node, node)
        if node in memo:
            return memo[node]
        members = next((c for c in cycles if node in c), [node])
        below = {rep.get(d, d) for m in members for d in g[m]} - {node} - seen
        memo[node] = 1 + max((level(d, seen | {node}) for d in below), default=-1)
        return memo[node]

    return {m: level(m, frozenset()) for m in g}


def upward_edges(g: dict[str, set[str]], cycles: list[list[str]]) -> list[tuple[str, str]]:
    comp_of = {m: i for i, comp in enumerate(cycles) for m in comp}
    return sorted((a, b) for a in g for b in g[a]
                  if a in comp_of and comp_of.get(b) == comp_of[a])


def sizes(root: Path = ROOT) -> dict[str, int]:
    return {name: len(path.read_text().splitlines())
            for name, path in module_files(root).items()}


def _class_of(root: Path, module: str, name: str) -> tuple[str, ast.ClassDef] | None:
    """The class `name` as module `module` sees it: defined there, or imported there
    with ``from .x import name`` (followed to where it is defined)."""
    modules = module_files(root)
    if module not in modules:
        return None
    path = modules[module]
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return module, node
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(
                (a.asname or a.name) == name for a in node.names):
            anchor = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join(anchor + ([node.module] if node.module else []))
            real = next(a.name for a in node.names if (a.asname or a.name) == name)
            return _class_of(root, target, real)
    return None


def private_reads(root: Path = ROOT, cls: str = "Sequential") -> list[tuple[str, int, str]]:
    """(module, line, "x._name") for every ``x._name`` (x not ``self``/``cls``) outside
    the modules that define `cls` (of fastnn.models) and its base classes (its mixins),
    where ``_name`` is a private attribute or method those classes define.  By name: a few hits may be another
    class's attribute of the same name."""
    own_modules, names = set(), set()
    todo = [(f"{PACKAGE}.models", cls)]
    while todo:
        found = _class_of(root, *todo.pop())
        if found is None:
            continue
        module, node = found
        own_modules.add(module)
        todo += [(module, b.id) for b in node.bases if isinstance(b, ast.Name)]
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(sub.name)
            elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) \
                    and isinstance(sub.value, ast.Name) and sub.value.id == "self":
                names.add(sub.attr)
            elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
                names.add(sub.target.id)
    names = {n for n in names if n.startswith("_") and not n.startswith("__")}
    out = []
    for module, path in module_files(root).items():
        if module in own_modules:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in names and not (
                    isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                owner = ast.unparse(node.value)
                out.append((module, node.lineno, f"{owner}.{node.attr}"))
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="print only the verdict")
    parser.add_argument("--sizes", action="store_true", help="print module sizes")
    parser.add_argument("--private-reads", action="store_true",
                        help="list reads of Sequential's private attributes elsewhere")
    parser.add_argument("--root", type=Path, default=ROOT, help="the src/ folder")
    args = parser.parse_args(argv)
    if args.private_reads:
        reads = private_reads(args.root)
        for module, line, text in reads:
            print(f"{module}:{line}: {text}")
        per: dict[str, int] = {}
        for module, _, _ in reads:
            per[module] = per.get(module, 0) + 1
        print(", ".join(f"{m} {k}" for m, k in sorted(per.items(), key=lambda kv: -kv[1])))
        print(f"{len(reads)} reads in {len(per)} modules")
        return 0
    g = graph(args.root)
    cycles = strongly_connected(g)
    if args.sizes:
        n = sizes(args.root)
        for name in sorted(n, key=lambda k: (-n[k], k)):
            print(f"{n[name]:6d}  {name}")
        print(f"{sum(n.values()):6d}  total ({len(n)} modules)")
        return 0
    if not args.check:
        lv = levels(g, cycles)
        for depth in range(max(lv.values()) + 1):
            print(f"level {depth}:")
            for name in sorted(m for m in g if lv[m] == depth):
                deps = ", ".join(sorted(g[name])) or "-"
                print(f"  {name} -> {deps}")
    up = upward_edges(g, cycles)
    for comp in cycles:
        print(f"CYCLE ({len(comp)} modules): {' '.join(comp)}")
    for a, b in up:
        print(f"UPWARD IMPORT: {a} -> {b}")
    if cycles:
        return 1
    print(f"ok: {len(g)} modules, {sum(map(len, g.values()))} run-time imports, "
          "no cycle, no upward import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
