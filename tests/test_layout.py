"""The library's shape (issue 29): no import loop among the project's own modules, lazy imports included,
and rooms that stay small enough to read: a module over 450 lines, a function over 80 or a page over 160
has become two things."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("seq2seq", "classroom", "ui", "pages", "bench")
CATALOGUES = {"ui/strings_en.py", "ui/strings_ko.py"}  # the interface's words, one string each
MAX_MODULE, MAX_FUNCTION, MAX_PAGE = 450, 80, 160


def project_files() -> list[Path]:
    files = [ROOT / "app.py", ROOT / "serve.py"]
    for package in PACKAGES:
        files += sorted(
            p
            for p in (ROOT / package).rglob("*.py")
            if not {".venv", "work"} & set(p.relative_to(ROOT).parts)
        )
    return files


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imported(path.read_text(encoding="utf-8"), name, package, modules)


def imported(source: str, name: str, package: str, modules: set[str]) -> set[str]:
    """The project modules that module `name` imports anywhere in it (top level or inside a function)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # seq2seq.viz.alignment.x -> seq2seq.viz.alignment
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = project_files()
    modules = {module_name(p) for p in files}
    graph = {module_name(p): imports(p, modules) for p in files}
    for name in graph:  # a package's __init__ runs before any of its modules: an edge it cannot avoid
        graph[name] -= {p for p in graph if name.startswith(p + ".")}
    return graph


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of two or more modules (Tarjan's algorithm), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                loops.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return loops


def function_lengths(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_the_loop_finder_sees_lazy_and_relative_imports():
    """The check itself: an import inside a function counts, relative names resolve, and two modules
    that import each other are one loop."""
    lazy = "def f():\n    from .model import ATTENTIONS\n    from seq2seq.viz import style\n"
    modules = {"seq2seq", "seq2seq.config", "seq2seq.model", "seq2seq.viz", "seq2seq.viz.style"}
    found = imported(lazy, "seq2seq.config", "seq2seq", modules)
    assert found == {"seq2seq.model", "seq2seq.viz", "seq2seq.viz.style"}
    assert import_loops({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_loop_among_the_projects_modules():
    assert import_loops(import_graph()) == []


@pytest.mark.parametrize("path", project_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_rooms_stay_small(path):
    rel = str(path.relative_to(ROOT))
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if rel.startswith("pages/") or rel == "app.py":
        assert lines < MAX_PAGE, f"{rel} has {lines} lines: a page is thin"
    elif rel not in CATALOGUES:
        assert lines <= MAX_MODULE, f"{rel} has {lines} lines: it holds two things"
    long = [(name, n) for name, n in function_lengths(path) if n > MAX_FUNCTION]
    assert not long, f"{rel}: {long}"


def test_the_model_library_knows_nothing_of_lessons_or_the_interface():
    """seq2seq/ is the model library: the lesson (classroom/) and the explorer (ui/) build on it, never
    the other way round."""
    files = project_files()
    modules = {module_name(p) for p in files}
    for path in (p for p in files if module_name(p).startswith("seq2seq")):
        outside = {m for m in imports(path, modules) if not m.startswith("seq2seq")}
        assert not outside, (module_name(path), outside)
        assert "lesson" not in path.name
