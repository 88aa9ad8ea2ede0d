"""Packaging: one top-level name, ``duban``, with its data files, built without a single warning.

The builds run setuptools' PEP 517 hooks in a child interpreter with
``-W error``: a deprecated ``project.license`` table, a data folder missing
from the package list or any other setuptools warning fails the test instead
of printing on every ``make run``. They build from a copy of the sources so
the working tree gets no ``build/`` or ``*.egg-info`` of the test's making
(and a stale ``build/`` cannot leak old modules into the wheel).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: The one notice setuptools prints for every editable install of a package-dir
#: mapping ("be careful with folders named like your package"); the Makefile
#: filters exactly this message and nothing else.
EDITABLE_NOTICE = "ignore:Editable installation"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("src") / "duban"
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "var", "*.egg-info", "__pycache__", "tests", "bench",
        "test-artifacts", ".hypothesis", ".pytest_cache", "drafts"))
    return target


def _build(sources: Path, out: Path, hook: str, *warning_filters: str) -> Path:
    """Run one build hook with every warning an error; return the wheel."""
    out.mkdir()
    code = f"import setuptools.build_meta as b; print(b.{hook}({str(out)!r}))"
    args = [sys.executable, "-W", "error", *(f"-W{f}" for f in warning_filters), "-c", code]
    result = subprocess.run(args, cwd=sources, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]
    (wheel,) = out.glob("duban-*.whl")
    return wheel


def test_the_wheel_builds_without_warnings_with_one_top_level_package_and_its_data(sources, tmp_path):
    wheel = _build(sources, tmp_path / "wheel", "build_wheel")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert zf.read(top_level).decode().split() == ["duban"]
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"duban", "duban-0.1.0.dist-info"}
    assert "License-Expression: MIT" in metadata
    for needed in ("duban/engine/reminders/tick.py", "duban/store/migrations/versions/0001_initial_schema.py",
                   "duban/store/migrations/script.py.mako",
                   "duban/rules/calendars/cn/2016.yaml", "duban/rules/calendars/README.md",
                   "duban/rules/plans/jieyang-2016-disclosure.yaml", "duban/rules/units/jieyang.yaml",
                   "duban/rules/rulesets/reminders.yaml", "duban/rules/scenarios/jieyang-2016-demo.yaml",
                   "duban/notifiers/templates/digest.html.j2", "duban/engine/services/templates/report.html.j2",
                   "duban/web/templates/base.html", "duban/web/static/duban.css",
                   "duban/config.yaml", "duban/cli/main.py"):
        assert needed in names, needed
    assert not any(n.startswith(("duban/tests/", "duban/bench/", "duban/.venv", "duban/docs/")) for n in names)


def test_every_data_file_in_the_tree_is_in_the_wheel(sources, tmp_path):
    """A data folder added later and forgotten in pyproject.toml would ship a broken install."""
    wheel = _build(sources, tmp_path / "wheel", "build_wheel")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for folder in ("rules", "notifiers/templates", "engine/services/templates", "web/templates", "web/static"):
        for path in (sources / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert f"duban/{path.relative_to(sources).as_posix()}" in names, path


def test_the_editable_install_builds_without_warnings(sources, tmp_path):
    _build(sources, tmp_path / "editable", "build_editable", EDITABLE_NOTICE)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert f'PYTHONWARNINGS="{EDITABLE_NOTICE}"' in makefile  # `make` installs with exactly this filter


def test_a_bare_import_of_a_card_folder_fails():
    result = subprocess.run([sys.executable, "-c", "import engine"], cwd="/", capture_output=True, text=True)
    assert result.returncode != 0 and "No module named 'engine'" in result.stderr
