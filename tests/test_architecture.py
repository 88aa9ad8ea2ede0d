"""The house rules of the code, checked on every run: imports point down only, no cycles, small modules.

The rooms and their order are described in ``engine/__init__.py`` and docs/architecture.md. A
module may import its own room, or a room in a lower layer. Rooms of one layer are siblings that
never import each other (the services, reminders and drafting rooms; store and notifiers). Every
import counts, including those inside functions: a lazy import that breaks an import-time cycle
is still a cycle in the design. Only ``if TYPE_CHECKING:`` blocks are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOT = "duban"
SOURCE_DIRS = ("engine", "store", "notifiers", "web", "cli", "rules")

# room → layer; a module imports only its own room or a room of a lower layer.
LAYERS: dict[str, int] = {
    "duban.errors": 0,
    "duban.zh": 0,
    "duban.rules": 0,
    "duban.store": 1,
    "duban.notifiers": 1,
    "duban.engine.common": 2,
    "duban.engine.deadlines": 3,
    "duban.engine.plans": 4,
    "duban.engine.services": 5,
    "duban.engine.reminders": 5,
    "duban.engine.drafting": 5,
    "duban.engine.inbox": 6,
    "duban.engine.runtime": 7,
    "duban.web": 8,
    "duban.cli": 9,
    "duban.__main__": 10,
    "duban": 0,  # the root package: only the version string
}
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80
EXEMPT_FROM_SIZE = ("store/migrations/",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([ROOT, *parts])


def _sources() -> Iterator[Path]:
    yield REPO / "__init__.py"
    yield REPO / "__main__.py"
    yield REPO / "errors.py"
    yield REPO / "zh.py"
    for folder in SOURCE_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def _room(module: str) -> str | None:
    best = None
    for room in LAYERS:
        if (module == room or module.startswith(room + ".")) and (best is None or len(room) > len(best)):
            best = room
    return best


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every duban import in ``path``, lazy ones included."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == ROOT or target.startswith(ROOT + ".")):
                continue
            for alias in node.names:  # `from ..engine import events` imports a module
                candidate = f"{target}.{alias.name}"
                yield node.lineno, candidate if _exists(candidate) else target


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (REPO / rel).with_suffix(".py").is_file() or (REPO / rel / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _sources():
        graph.setdefault(_module_name(path), set()).update(t for _line, t in _imports(path))
    return graph


def test_imports_point_down_only() -> None:
    problems = []
    for path in _sources():
        source = _module_name(path)
        src_room = _room(source)
        assert src_room is not None, f"{path}: not in any room of LAYERS"
        for line, target in _imports(path):
            dst_room = _room(target)
            assert dst_room is not None, f"{path}:{line}: {target} is not in any room of LAYERS"
            if dst_room == src_room or dst_room == "duban":
                continue
            if LAYERS[dst_room] >= LAYERS[src_room]:
                problems.append(f"{path.relative_to(REPO)}:{line}: {src_room} (layer {LAYERS[src_room]}) "
                                f"imports {target} ({dst_room}, layer {LAYERS[dst_room]})")
    assert not problems, "imports that point up or sideways:\n" + "\n".join(problems)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_level_import_cycles() -> None:
    graph = {m: {t for t in targets if t != m and not m.startswith(t + ".")} for m, targets in _graph().items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _sized_sources() -> list[Path]:
    return [p for p in _sources() if not any(str(p.relative_to(REPO)).startswith(e) for e in EXEMPT_FROM_SIZE)]


def test_no_module_is_too_long() -> None:
    long = {str(p.relative_to(REPO)): n for p in _sized_sources()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_too_long() -> None:
    long = []
    for path in _sized_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({n} lines)")
    assert long == []


ENGINE_ROOMS = sorted(p.parent.name for p in (REPO / "engine").glob("*/__init__.py"))


def test_every_engine_room_has_a_layer() -> None:
    assert [r for r in ENGINE_ROOMS if f"duban.engine.{r}" not in LAYERS] == []


@pytest.mark.parametrize("room", ENGINE_ROOMS)
def test_every_room_says_what_lives_there(room: str) -> None:
    init = REPO / "engine" / room / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc) > 80, f"{init}: say what lives in this room and what it may import"
