"""The ``duban calendar`` contract, through the real command group (click's CliRunner).

Scripts outside the repository rely on ``add-workdays``: its output, its
batch format and its exit codes (0 done, 2 bad input, 3 a year not covered).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from duban.cli.main import cli
from duban.engine.deadlines.calendar import CALENDAR_DIRS_ENV, DEFAULT_DIR


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["calendar", *args], input=input, env=env)


FAKE_2027 = """\
# 测试数据（虚构）
year: 2027
notice: {number: 测试明电〔2026〕1号, title: 测试用（虚构）2027年节假日安排, date: 2026-11-01}
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
workdays: []
"""


# --------------------------------------------------------------------------- add-workdays START N


def test_add_workdays_prints_the_date() -> None:
    result = run("add-workdays", "2016-06-23", "30")
    assert result.exit_code == 0
    assert result.stdout == "2016-08-04\n"


@pytest.mark.parametrize(("start", "n", "expected"), [
    ("2016-10-01", "1", "2016-10-08"),   # from a holiday to a 调休 Saturday
    ("2016-10-08", "1", "2016-10-09"),   # the start, a make-up workday, does not count
    ("2016-10-01", "0", "2016-10-01"),
])
def test_add_workdays_edge_cases(start: str, n: str, expected: str) -> None:
    result = run("add-workdays", start, n)
    assert (result.exit_code, result.stdout) == (0, expected + "\n")


def test_uncovered_year_exits_3_naming_the_year() -> None:
    result = run("add-workdays", "2026-12-30", "5")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "2027" in result.stderr
    assert "2027.yaml" in result.stderr and "docs/calendar.md" in result.stderr


@pytest.mark.parametrize(("args", "fragment"), [
    (("2016-02-30", "5"), "impossible date '2016-02-30'"),
    (("2016/06/23", "5"), "expected a date YYYY-MM-DD"),
    (("2016-06-23", "-5"), "got '-5'"),
    (("2016-06-23", "five"), "got 'five'"),
    (("2016-06-23",), "missing START and N"),
    ((), "missing START and N"),
])
def test_bad_input_exits_2_with_a_clear_message(args: tuple[str, ...], fragment: str) -> None:
    result = run("add-workdays", *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert result.stdout == ""


# --------------------------------------------------------------------------- --batch


BATCH_IN = "\n".join([
    '{"start": "2016-06-23", "working_days": 30}',
    "",
    '{"start": "2026-12-30", "working_days": 5}',
    "not json",
    '{"start": "2016-02-30", "working_days": 1}',
    '{"start": "2016-06-23", "working_days": -1}',
    '{"start": "2016-06-23"}',
    '["2016-06-23", 3]',
    '{"start": "2016-10-01", "working_days": 0, "id": "extra keys are ignored"}',
]) + "\n"


def _check_batch(stdout: str) -> None:
    answers = [json.loads(line) for line in stdout.splitlines()]
    assert len(answers) == 8  # one per non-blank input line, in order
    assert answers[0] == {"date": "2016-08-04"}
    assert "2027" in answers[1]["error"]
    assert answers[2]["error"].startswith("line 4: not JSON")
    assert "impossible date '2016-02-30'" in answers[3]["error"]
    assert "working_days" in answers[4]["error"] and "-1" in answers[4]["error"]
    assert "missing 'working_days'" in answers[5]["error"]
    assert "expected an object" in answers[6]["error"]
    assert answers[7] == {"date": "2016-10-01"}


def test_batch_from_stdin() -> None:
    result = run("add-workdays", "--batch", "-", input=BATCH_IN)
    assert result.exit_code == 0
    _check_batch(result.stdout)


def test_batch_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(BATCH_IN, encoding="utf-8")
    result = run("add-workdays", "--batch", str(path))
    assert result.exit_code == 0
    _check_batch(result.stdout)


def test_batch_and_positional_arguments_exclude_each_other() -> None:
    result = run("add-workdays", "--batch", "-", "2016-06-23", "30", input="")
    assert result.exit_code == 2
    assert "not both" in result.stderr


# --------------------------------------------------------------------------- years / is-workday / show


def test_years_lists_every_notice() -> None:
    result = run("years")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2016  国办发明电〔2015〕18号  2015-12-10")
    assert any("国办发明电〔2019〕3号" in line for line in lines)
    assert any("国办发明电〔2020〕1号" in line for line in lines)
    assert lines[-1].startswith("covered: 2016-01-01 … 2026-12-31")


def test_years_json() -> None:
    result = run("years", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["covered"] == {"first": 2016, "last": 2026}
    assert [y["year"] for y in data["years"]] == list(range(2016, 2027))
    y2020 = data["years"][4]
    assert y2020["number"] == "国办发明电〔2019〕16号"
    assert y2020["amendments"][0]["number"] == "国办发明电〔2020〕1号"
    assert y2020["source"].endswith("2020.yaml")


@pytest.mark.parametrize(("day", "workday", "kind", "name"), [
    ("2016-02-06", True, "makeup_workday", "春节"),
    ("2016-02-08", False, "holiday", "春节"),
    ("2016-02-20", False, "weekend", None),
    ("2016-02-22", True, "workday", None),
])
def test_is_workday(day: str, workday: bool, kind: str, name: str | None) -> None:
    result = run("is-workday", day, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"date": day, "workday": workday, "kind": kind, "name": name}
    text = run("is-workday", day)
    assert text.stdout.startswith(f"{day} {'working day' if workday else 'rest day'}")


def test_is_workday_of_an_uncovered_year_exits_3() -> None:
    result = run("is-workday", "2027-01-04")
    assert result.exit_code == 3 and "2027" in result.stderr


def test_show_a_year() -> None:
    result = run("show", "2019")
    assert result.exit_code == 0
    assert "国办发明电〔2018〕15号" in result.stdout
    assert "2018-12-30 … 2019-01-01" in result.stdout
    assert "劳动节  [国办发明电〔2019〕3号]" in result.stdout
    data = json.loads(run("show", "2019", "--json").stdout)
    assert data["working_days"] == 250
    assert data["holidays"][3] == {"name": "劳动节", "from": "2019-05-01", "to": "2019-05-04", "days": 4,
                                   "source": "国办发明电〔2019〕3号"}
    assert run("show", "2030").exit_code == 3


# --------------------------------------------------------------------------- operator data


def test_data_dir_adds_a_year(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(FAKE_2027, encoding="utf-8")
    result = CliRunner().invoke(cli, ["calendar", "--data-dir", str(tmp_path), "add-workdays", "2026-12-30", "2"])
    assert (result.exit_code, result.stdout) == (0, "2027-01-04\n")


def test_data_dirs_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(FAKE_2027, encoding="utf-8")
    result = run("years", env={CALENDAR_DIRS_ENV: str(tmp_path)})
    assert result.exit_code == 0
    assert "2027  测试明电〔2026〕1号" in result.stdout


def test_broken_data_exits_1_listing_the_problems(tmp_path: Path) -> None:
    text = (DEFAULT_DIR / "2026.yaml").read_text(encoding="utf-8").replace("2026-10-10", "2026-10-12")
    (tmp_path / "2026.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["calendar", "--data-dir", str(tmp_path), "years"])
    assert result.exit_code == 1
    assert "2026.yaml" in result.stderr and "not-weekend" in result.stderr


def test_help_explains_the_terms() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "调休上班" in result.stdout and "国办发明电" in result.stdout
    assert "strictly after START" in run("add-workdays", "--help").stdout
