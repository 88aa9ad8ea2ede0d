"""A calendar year added three ways (config, variable, flag) is seen by every command.

In December an operator adds next year's calendar before plans for it
arrive. The folders are resolved once, in the settings, and every command's
calendar comes from the one runtime factory: ``calendar show``, ``deadline
explain``, ``plan validate``, ``plan import`` and ``tick`` all count on 2027.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from duban.cli.main import cli

FAKE_2027 = """\
# 测试数据（虚构）
year: 2027
notice: {number: 测试明电〔2026〕1号, title: 测试用（虚构）2027年节假日安排, date: 2026-11-01}
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
workdays: []
"""

PLAN_2027 = """\
plan:
  id: test-2027
  title: "测试方案（虚构）"
  issuer: "揭阳市人民政府办公室"
  published: 2026-12-28
  plan_year: 2027
  units: jieyang
tasks:
  - no: 1
    title: "测试任务"
    requirements:
      - no: 1
        text: "本方案公布后5个工作日内报送工作方案。"
        units: "市编办"
        deadlines:
          - phrase: "本方案公布后5个工作日内"
            source: cell
"""


def _ways(tmp_path: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """For each way: extra CLI arguments before the command, and environment variables."""
    folder = tmp_path / "calendars"
    folder.mkdir()
    (folder / "2027.yaml").write_text(FAKE_2027, encoding="utf-8")
    cfg = tmp_path / "config.yaml"
    config = f"calendar:\n  extra_dirs: [{folder}]\n"
    cfg.write_text(config, encoding="utf-8")
    return {
        "config": ([], {"DUBAN_CONFIG": str(cfg)}),
        "variable": ([], {"DUBAN_CALENDAR_DIRS": str(folder)}),
        "flag": (["--data-dir", str(folder)], {}),
    }


WAYS = ("config", "variable", "flag")


def invoke(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(cli, args, env=env)


@pytest.mark.parametrize("way", WAYS)
def test_calendar_show_and_deadline_explain_see_the_added_year(tmp_path, way):
    extra, env = _ways(tmp_path)[way]
    shown = invoke([*extra, "calendar", "show", "2027", "--json"], env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["notice"]["number"] == "测试明电〔2026〕1号"
    # 2026-12-30 + 2 working days: 12-31 (Thu), then 2027-01-04 (Mon; 1-1..1-3 off in the added file).
    explained = invoke([*extra, "deadline", "explain", "本方案公布后2个工作日内", "--published", "2026-12-30"], env)
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.stdout)["due"] == "2027-01-04"
    # Without the added year the same phrase cannot be counted (the control: the year really comes from the folder).
    bare = invoke(["deadline", "explain", "本方案公布后2个工作日内", "--published", "2026-12-30"], {})
    assert "due" not in json.loads(bare.stdout)


@pytest.mark.parametrize("way", WAYS)
def test_plan_validate_import_and_tick_see_the_added_year(tmp_path, way, store):
    plan = tmp_path / "plans" / "test-2027.yaml"
    plan.parent.mkdir()
    plan.write_text(PLAN_2027, encoding="utf-8")
    extra, env = _ways(tmp_path)[way]
    env = {**env, "DUBAN_DATABASE_URL": store.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox")}

    control = invoke(["plan", "validate", str(plan), "--json"], {"DUBAN_DATABASE_URL": store.url})
    assert control.exit_code == 1  # without the added year the due cannot be computed
    assert [e["code"] for e in json.loads(control.stdout)["errors"]] == ["calendar-year-missing"]

    validated = invoke([*extra, "plan", "validate", str(plan)], env)
    assert validated.exit_code == 0, validated.output
    imported = invoke([*extra, "plan", "import", str(plan), "--json"], env)
    assert imported.exit_code == 0, imported.output
    rows = invoke([*extra, "obligations", "list", "--plan", "test-2027", "--as-of", "2027-01-04", "--json"], env)
    assert rows.exit_code == 0, rows.output
    # published 2026-12-28 + 5 working days: 12-29, 12-30, 12-31, then 2027-01-04 and 01-05.
    assert [r["due"] for r in json.loads(rows.stdout)] == ["2027-01-05"]
    ticked = invoke([*extra, "tick", "--as-of", "2027-01-04", "--dry-run", "--json"], env)
    assert ticked.exit_code == 0, ticked.output
    assert json.loads(ticked.stdout)["rest_day"] is False  # 2027-01-04 is known to be a working day
