"""Docs that describe CLI output hold against the real commands: ``plan show --json``, ``simulate --help``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from duban.cli.main import cli

REPO = Path(__file__).resolve().parent.parent
ELLIPSIS = "……"


def _documented_plan() -> dict[str, Any]:
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## `duban plan show PLAN_ID --json`", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, flags=re.S)
    assert block, "docs/cli.md: no JSON example for plan show"
    return json.loads(block.group(1))


def _agrees(doc: Any, real: Any, where: str = "$") -> None:
    """The documented example is the real output, with long texts and lists shortened by '……'."""
    if isinstance(doc, dict):
        assert isinstance(real, dict) and list(doc) == list(real), f"{where}: keys {list(doc)} != {list(real)}"
        for key in doc:
            _agrees(doc[key], real[key], f"{where}.{key}")
    elif isinstance(doc, list):
        assert isinstance(real, list), where
        shortened = bool(doc) and doc[-1] == ELLIPSIS
        items = doc[:-1] if shortened else doc
        assert len(items) <= len(real) if shortened or where.endswith("review") else len(items) == len(real), where
        for i, item in enumerate(items):
            _agrees(item, real[i], f"{where}[{i}]")
    elif isinstance(doc, str) and doc.endswith(ELLIPSIS):
        assert isinstance(real, str) and real.startswith(doc.removesuffix(ELLIPSIS)), f"{where}: {real!r}"
    else:
        assert doc == real, f"{where}: documented {doc!r}, real {real!r}"


def test_the_documented_plan_show_json_is_the_real_output(seeded, env_for):
    result = CliRunner().invoke(cli, ["plan", "show", "jieyang-2016-tax-sharing", "--json"], env=env_for(seeded))
    assert result.exit_code == 0, result.output
    _agrees(_documented_plan(), json.loads(result.stdout))


def test_simulate_help_points_at_the_scenario_format_which_exists():
    result = CliRunner().invoke(cli, ["simulate", "--help"])
    assert result.exit_code == 0 and "docs/scenarios.md" in result.stdout
    doc = (REPO / "docs" / "scenarios.md").read_text(encoding="utf-8")
    from duban.engine.runtime.simulate import _STEP_FIELDS, ACTIONS

    for action in ACTIONS:  # every action and each of its fields is described
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{action}` |"))
        required, optional = _STEP_FIELDS[action]
        for name in (*required, *optional):
            assert f"`{name}`" in row, (action, name)
