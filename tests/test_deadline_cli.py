"""``duban deadline explain|forms``: the command-line contract scripts outside the repo rely on.

explain: one JSON object (the spec, ``ensure_ascii=False``) on stdout, exit 0;
an unreadable phrase: a message on stderr, nothing on stdout, exit 2.
explain --batch FILE|-: one JSON line per input line, in order, the spec or
``{"error": ...}``; exit 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from duban.cli.main import cli
from duban.engine.deadlines.phrases import KNOWN_FORMS


def duban(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# ------------------------------------------------------------------------- explain PHRASE

@pytest.mark.parametrize(("args", "expected"), [
    (["2016 年 12 月底前完成"], {"kind": "fixed", "due": "2016-12-31"}),
    (["6月30日前", "--plan-year", "2016"], {"kind": "fixed", "due": "2016-06-30"}),
    (["全年工作", "--plan-year", "2016"], {"kind": "ongoing", "until": "2016-12-31"}),
    (["本方案公布后30个工作日内", "--published", "2016-06-23"],
     {"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}, "due": "2016-08-04"}),
    (["本方案公布后30个工作日内"], {"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}}),
    (["待省相关文 件出台后"], {"kind": "triggered", "event": "provincial_document_issued", "offset": None}),
])
def test_explain_prints_the_spec_as_one_json_object(args: list[str], expected: dict[str, Any]) -> None:
    result = duban("deadline", "explain", *args)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == expected


def test_explain_writes_chinese_as_is() -> None:
    result = duban("deadline", "explain", "中考 3 月高 考 11 月")
    assert result.exit_code == 0
    assert "中考: 3月; 高考: 11月" in result.stdout  # not \u escapes
    assert json.loads(result.stdout)["months"] == [3, 11]


@pytest.mark.parametrize(("args", "code"), [
    (["下周一"], "unknown-phrase"),
    (["9月31日", "--plan-year", "2016"], "impossible-date"),
    (["6月30日前"], "needs-plan-year"),
])
def test_an_unreadable_phrase_exits_2_with_the_message_on_stderr(args: list[str], code: str) -> None:
    result = duban("deadline", "explain", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert code in result.stderr and repr(args[0]) in result.stderr


def test_unknown_phrase_lists_the_known_forms() -> None:
    result = duban("deadline", "explain", "下周一")
    assert "known forms" in result.stderr and KNOWN_FORMS[0] in result.stderr


@pytest.mark.parametrize("args", [
    [],                                                      # neither PHRASE nor --batch
    ["2016年底前", "--published", "2016-02-30"],            # an impossible publication date
    ["2016年底前", "--published", "23/06/2016"],
    ["2016年底前", "--plan-year", "twenty"],
    ["2016年底前", "--batch", "-"],                           # both
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = duban("deadline", "explain", *args, input="")
    assert result.exit_code == 2
    assert result.stdout == ""


# ------------------------------------------------------------------------- explain --batch

BATCH_IN = [
    {"phrase": "2016年12月底前完成"},
    {"phrase": "6月30日前", "plan_year": 2016},
    {"phrase": "6月30日前", "plan_year": None},
    {"phrase": "本方案公布后30个工作日内", "plan_year": 2016, "published": "2016-06-23"},
    {"phrase": "下周一", "plan_year": 2016},
    {"phrase": "2017年2月29日"},
    {"phrase": "全年工作", "plan_year": "2016", "published": None},
    {"phrase": "2016年底前", "published": "2016-02-30"},
    {"phrase": "2016年底前", "plan_year": "MMXVI"},
]
BATCH_OUT: list[dict[str, Any]] = [
    {"kind": "fixed", "due": "2016-12-31"},
    {"kind": "fixed", "due": "2016-06-30"},
    {"code": "needs-plan-year"},
    {"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}, "due": "2016-08-04"},
    {"code": "unknown-phrase"},
    {"code": "impossible-date"},
    {"kind": "ongoing", "until": "2016-12-31"},
    {"code": "bad-input"},
    {"code": "bad-input"},
]


def _check_batch(out: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert len(out) == len(expected)
    for got, want in zip(out, expected):
        if "code" in want:
            assert set(got) == {"error", "code"} and got["code"] == want["code"]
            assert "\n" not in got["error"]
        else:
            assert got == want


def test_batch_answers_every_line_in_order(tmp_path: Path) -> None:
    path = tmp_path / "phrases.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in BATCH_IN) + "\n", encoding="utf-8")
    result = duban("deadline", "explain", "--batch", str(path))
    assert result.exit_code == 0
    _check_batch(json_lines(result), BATCH_OUT)


def test_batch_reads_stdin_and_reports_bad_lines_in_place() -> None:
    lines = [json.dumps(BATCH_IN[0], ensure_ascii=False), "not json", "", json.dumps([1, 2]),
             json.dumps({"plan_year": 2016}), json.dumps(BATCH_IN[1], ensure_ascii=False)]
    result = duban("deadline", "explain", "--batch", "-", input="\n".join(lines) + "\n")
    assert result.exit_code == 0
    out = json_lines(result)
    _check_batch(out, [BATCH_OUT[0], {"code": "bad-input"}, {"code": "bad-input"}, {"code": "bad-input"},
                       BATCH_OUT[1]])  # the blank line is no input and gets no answer
    assert out[1]["error"].startswith("line 2:")
    assert out[3]["error"].startswith("line 5:")


def test_batch_error_names_the_phrase() -> None:
    result = duban("deadline", "explain", "--batch", "-", input=json.dumps({"phrase": "下周一"}) + "\n")
    (answer,) = json_lines(result)
    assert "'下周一'" in answer["error"]


def test_batch_of_nothing_prints_nothing() -> None:
    result = duban("deadline", "explain", "--batch", "-", input="")
    assert result.exit_code == 0 and result.stdout == ""


# ------------------------------------------------------------------------- forms

def test_forms_lists_every_known_form() -> None:
    result = duban("deadline", "forms")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"- {form}" for form in KNOWN_FORMS]
