"""docs/cli-reference.md is the commands' own ``--help``: a new option cannot land undocumented."""

from __future__ import annotations

import difflib
from pathlib import Path

from duban.cli.main import cli
from duban.cli.reference import render

REPO = Path(__file__).resolve().parent.parent


def test_docs_cli_md_equals_the_commands_help() -> None:
    written = (REPO / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    generated = render()
    diff = "".join(difflib.unified_diff(written.splitlines(True), generated.splitlines(True),
                                        "docs/cli-reference.md", "generated", n=1))
    assert written == generated, ("docs/cli-reference.md is out of date; run "
                                  "`.venv/bin/python -m duban.cli.reference > docs/cli-reference.md`\n" + diff[:4000])


def test_every_command_is_in_the_reference() -> None:
    text = render()
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert f"## `duban {name}`" in text
