"""One role type, one permissions module, one audit filter, no web/app ↔ web/views cycle (issue 10, item 2)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CODE = [p for d in ("engine", "store", "web", "cli", "notifiers") for p in (REPO / d).rglob("*.py")]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom):
            out.add("." * node.level + (node.module or ""))
            out.update("." * node.level + (node.module + "." if node.module else "") + a.name for a in node.names)
    return out


def test_roles_and_the_self_approval_rule_are_defined_once() -> None:
    roles, same_person = [], []
    for path in CODE:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef) and node.name == "Role":
                roles.append(path.relative_to(REPO).as_posix())
            if isinstance(node, ast.FunctionDef) and "same_person" in node.name:
                same_person.append(path.relative_to(REPO).as_posix())
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("Role", "ROLES")
                                                    for t in node.targets):
                roles.append(path.relative_to(REPO).as_posix())
    assert roles == ["engine/services/permissions.py"]
    assert same_person == ["engine/services/permissions.py"]


def test_one_audit_filter() -> None:
    for path in CODE:
        if path.name == "audit.py" and path.parent.name == "store":
            continue
        text = path.read_text(encoding="utf-8")
        # An obligation's own trail (web/readmodel.py) looks records up by object; filtering by the
        # user's criteria (actor, source, action prefix, since) is store.audit.filter_query's alone.
        for needle in ("AuditRecord.actor ==", "AuditRecord.source ==", "AuditRecord.action.startswith",
                       "AuditRecord.at >="):
            assert needle not in text, (path, needle)


def test_the_web_app_and_its_views_do_not_import_each_other() -> None:
    views, app = _imports(REPO / "web" / "views.py"), _imports(REPO / "web" / "app.py")
    assert not any(name.startswith(".app") for name in views)
    assert ".views.routes" in app or ".views" in app
    assert not any(name.startswith((".app", ".views")) for name in _imports(REPO / "web" / "context.py"))
