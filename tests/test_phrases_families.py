"""Issue 12's phrase families, one representative each (the corpus test scores the real phrases).

Each family is read by a rule, never by fitting one phrase: these examples vary the words the
corpus used, so a rule that only matched its corpus phrase fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from duban.engine.deadlines.phrases import compile_phrase
from duban.errors import PhraseError


def spec(phrase: str, plan_year: int | None = 2020) -> dict[str, Any]:
    return compile_phrase(phrase, plan_year=plan_year).to_json()


def core(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "note"}


@pytest.mark.parametrize(("phrase", "expected"), [
    # lists that share a unit
    ("6月3、10、17日", {"kind": "composite", "parts": [{"kind": "fixed", "due": f"2020-06-{d}"}
                                                    for d in ("03", "10", "17")]}),
    ("3月、7月和11月底前", {"kind": "composite", "parts": [{"kind": "fixed", "due": "2020-03-31"},
                                                      {"kind": "fixed", "due": "2020-07-31"},
                                                      {"kind": "fixed", "due": "2020-11-30"}]}),
    # a rhythm and the dates that say which of its periods are due
    ("每月底(分别在3月、6月底)", {"kind": "recurring", "freq": "monthly", "day": "last", "months": [3, 6]}),
    # update intervals
    ("栏目更新间隔不得超过3个月", {"kind": "recurring", "freq": "monthly", "interval": 3}),
    ("间隔不超过1周", {"kind": "recurring", "freq": "weekly"}),
    # starts that a rhythm after them takes
    ("从2021年第三季度起,每季度第1个月的15日前", {"kind": "recurring", "freq": "quarterly",
                                         "months": [1, 4, 7, 10], "day": 15, "start": "2021-07-01"}),
    ("从今年3月1日起,每月", {"kind": "recurring", "freq": "monthly", "start": "2020-03-01"}),
    ("于每季度末月10日前", {"kind": "recurring", "freq": "quarterly", "months": [3, 6, 9, 12], "day": 10}),
    # cadences written with 一
    ("一月一通报", {"kind": "recurring", "freq": "monthly"}),
    ("原则上三个月召开一次", {"kind": "recurring", "freq": "monthly", "interval": 3}),
    ("年中", {"kind": "fixed", "due": "2020-06-30"}),
    ("2021年年中", {"kind": "fixed", "due": "2021-06-30"}),
    # names of periods are not left-over time words
    ("每年年末提交本年度工作总结", {"kind": "recurring", "freq": "annual", "months": [12], "day": "last"}),
    ("并于9月1日前将《2019年工作总结》报市政府", {"kind": "fixed", "due": "2020-09-01"}),
    ("2020年1月5日至2020年1月9日,共5天", {"kind": "fixed", "start": "2020-01-05", "due": "2020-01-09"}),
])
def test_confident_families(phrase: str, expected: dict[str, Any]) -> None:
    got = spec(phrase)
    assert not got.get("ambiguous"), got
    assert core(got) == expected


@pytest.mark.parametrize(("phrase", "expected"), [
    ("可以延长15日", {"kind": "triggered", "event": "time_limit_extended", "offset": {"days": 15},
                  "description": "延长办理期限 (an extension is granted)"}),
    ("延长期限最长不得超过20个工作日", {"kind": "triggered", "event": "time_limit_extended",
                                  "offset": {"working_days": 20},
                                  "description": "延长办理期限 (an extension is granted)"}),
    ("最长不能超过45天", {"kind": "triggered", "event": "unspecified_event", "offset": {"days": 45}}),
    ("30分钟内", {"kind": "triggered", "event": "unspecified_event", "offset": {"hours": 1}}),
    ("用2-3年时间", {"kind": "relative", "anchor": "plan_published", "offset": {"years": 3}}),
    ("力争通过5年努力", {"kind": "relative", "anchor": "plan_published", "offset": {"years": 5}}),
    ("即日起至11月30日", {"kind": "fixed", "due": "2020-11-30"}),
    ("有效期至2022年6月30日", {"kind": "fixed", "due": "2022-06-30"}),
    ("到2024年前", {"kind": "fixed", "due": "2023-12-31"}),
    ("年初", {"kind": "fixed", "due": "2020-01-31"}),
    ("于每周四前", {"kind": "recurring", "freq": "weekly", "weekday": 4}),
    ("每个工作日", {"kind": "recurring", "freq": "daily"}),
    ("每年开展3次以上", {"kind": "recurring", "freq": "annual"}),
    # the year's targets, due at its end (issue 12, session 3: was ongoing; the alternative is in the note)
    ("全面完成全年目标", {"kind": "fixed", "due": "2020-12-31"}),
    ("定于2020年11月", {"kind": "fixed", "due": "2020-11-30"}),
    ("1998年底前建成的住宅", {"kind": "fixed", "due": "1998-12-31"}),
    ("7月上旬至8月中旬为汛期", {"kind": "fixed", "start": "2020-07-01", "due": "2020-08-20"}),
    ("月后10日前(2月免报)", {"kind": "recurring", "freq": "monthly", "lag": {"days": 10}}),
    # 一月内 is mostly 一个月内 (session 3: was January; the alternative is in the note)
    ("应在一月内报告", {"kind": "triggered", "event": "unspecified_event", "offset": {"months": 1}}),
    ("持续推进(2020年3月-2020年5月)", {"kind": "fixed", "start": "2020-03-01", "due": "2020-05-31"}),
    ("事故发生后,应当立即报告", {"kind": "triggered", "event": "major_emergency", "offset": {"hours": 0},
                           "per_event": True}),
])
def test_doubtful_families_are_flagged_with_the_alternative(phrase: str, expected: dict[str, Any]) -> None:
    got = spec(phrase)
    assert got.get("ambiguous") is True, got
    assert got.get("note"), got
    assert core({k: v for k, v in got.items() if k != "ambiguous"}) == expected


@pytest.mark.parametrize(("phrase", "code"), [
    ("下周一", "unknown-phrase"),                 # a one-off day relative to an unknown today
    ("从2021年1月1日起", "no-deadline"),           # a start with no rhythm after it
    ("每月累计3次的予以通报", "no-deadline"),       # a count that triggers a sanction
    ("自3月2日以后", "no-deadline"),               # a start alone
])
def test_refusals(phrase: str, code: str) -> None:
    with pytest.raises(PhraseError) as info:
        compile_phrase(phrase, plan_year=2020)
    assert info.value.code == code


def test_a_changed_month_in_a_list_is_kept_per_item() -> None:
    """The expanded list keeps each item's own month: "5月30、31日" stays in May."""
    assert core(spec("5月30、31日")) == {"kind": "composite", "parts": [
        {"kind": "fixed", "due": "2020-05-30"}, {"kind": "fixed", "due": "2020-05-31"}]}
