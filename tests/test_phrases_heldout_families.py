"""The families of the held-out corpus's misses (``heldout/SOURCES.md``), each read by a rule.

The examples vary the corpus's words (other events, units, numbers, months), so a rule fitted to
one held-out row fails here. Plan year 2020 unless a row says otherwise; published 2020-03-05.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from duban.engine.deadlines.phrases import compile_phrase, normalise
from duban.errors import PhraseError

PUBLISHED = dt.date(2020, 3, 5)


def spec(phrase: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("plan_year", 2020)
    return compile_phrase(phrase, **kwargs).to_json()


def core(data: dict[str, Any]) -> dict[str, Any]:
    if "parts" in data:
        data = {**data, "parts": [core(p) for p in data["parts"]]}
    return {k: v for k, v in data.items() if k not in ("note", "ambiguous", "description", "event")}


@pytest.mark.parametrize(("phrase", "expected"), [
    # non-time numbers: counts, names, ratios, rooms, annexes, plan periods and quoted names
    ("到2023年,新建4G基站300个", {"kind": "fixed", "due": "2023-12-31"}),
    ("9月15日前将汇总表(附件3)报县财政局", {"kind": "fixed", "due": "2020-09-15"}),
    ("于6月10日前送至206室", {"kind": "fixed", "due": "2020-06-10"}),
    ("第三季度:按1:2比例配备辅导员", {"kind": "fixed", "due": "2020-09-30"}),
    ("10月底前编制2021-2025年发展规划", {"kind": "fixed", "due": "2020-10-31"}),
    ("5月8日前上报“2020年防汛值班表”", {"kind": "fixed", "due": "2020-05-08"}),
    # an event in any wording before 之日起, without 自
    ("材料补正之日起15个工作日内", {"kind": "triggered", "offset": {"working_days": 15}}),
    # windows in other words
    ("办理时限最长4小时", {"kind": "triggered", "offset": {"hours": 4}}),
    # period words: 首个月, slash rates
    ("每季度的首个月15日前", {"kind": "recurring", "freq": "quarterly", "months": [1, 4, 7, 10], "day": 15}),
    ("不少于1次/季度", {"kind": "recurring", "freq": "quarterly"}),
    ("至少2次/年", {"kind": "recurring", "freq": "annual"}),
    # one rhythm named twice is one duty
    ("实行双月报,于双月10日前报送", {"kind": "recurring", "freq": "annual", "months": [2, 4, 6, 8, 10, 12], "day": 10}),
    ("每月报送,每月5日前", {"kind": "recurring", "freq": "monthly", "day": 5}),
    # a narrower date inside a period replaces it
    ("第二季度(5月20日前)", {"kind": "fixed", "due": "2020-05-20"}),
    ("2020年9月(9月15日前)完成", {"kind": "fixed", "due": "2020-09-15"}),
    # a window bounds the rhythm beside it
    ("3月2日至3月20日期间,每日17时前报送", {"kind": "recurring", "freq": "daily", "start": "2020-03-02",
                                    "until": "2020-03-20"}),
    ("每周一报送(4月1日至6月30日)", {"kind": "recurring", "freq": "weekly", "weekday": 1,
                               "start": "2020-04-01", "until": "2020-06-30"}),
    # pinyin glosses of mirror sites
    ("于5月10日前報(bào)送", {"kind": "fixed", "due": "2020-05-10"}),
])
def test_families_read_confidently_enough(phrase: str, expected: dict[str, Any]) -> None:
    assert core(spec(phrase)) == expected


@pytest.mark.parametrize(("phrase", "kwargs", "expected"), [
    # relative months: from the document's date, flagged
    ("力争本月底前完成", {"published": PUBLISHED}, {"kind": "fixed", "due": "2020-03-31"}),
    ("下月上旬", {"published": dt.date(2020, 12, 2)}, {"kind": "fixed", "due": "2021-01-10"}),
    # schedules, 前后, a past year, holiday and activity windows, report names beside a date
    ("预计10月中旬完工", {}, {"kind": "fixed", "due": "2020-10-20"}),
    ("面试时间拟定于:8月3日", {}, {"kind": "fixed", "due": "2020-08-03"}),
    ("例会在每月15日前后召开", {}, {"kind": "recurring", "freq": "monthly", "day": 15}),
    ("已于2019年11月底完成", {}, {"kind": "fixed", "due": "2019-11-30"}),
    ("国庆节放假时间为10月1日至8日", {}, {"kind": "fixed", "start": "2020-10-01", "due": "2020-10-08"}),
    ("检查期间(2020年6月1日至6月15日)", {}, {"kind": "fixed", "start": "2020-06-01", "due": "2020-06-15"}),
    ("于1月15日前报送2019年年报和第四季度报表", {"plan_year": 2020}, {"kind": "fixed", "due": "2020-01-15"}),
    # left-over period words beside a reading
    ("每年必须4次以上召开季度安全会议", {}, {"kind": "recurring", "freq": "annual"}),
    ("每年至少组织两次季度调度会议", {}, {"kind": "composite", "parts": [
        {"kind": "recurring", "freq": "annual"}, {"kind": "recurring", "freq": "quarterly"}]}),
    # a one-off or another date beside a rhythm or a date
    ("每月20日前(本次于4月25日前)", {}, {"kind": "composite", "parts": [
        {"kind": "recurring", "freq": "monthly", "day": 20}, {"kind": "fixed", "due": "2020-04-25"}]}),
])
def test_doubtful_families_are_flagged(phrase: str, kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    got = spec(phrase, **kwargs)
    flagged = got.get("ambiguous") or any(p.get("ambiguous") for p in got.get("parts", []))
    assert flagged, got
    assert core(got) == expected


def test_a_year_that_labels_the_clause_goes_when_its_dates_share_it() -> None:
    assert core(spec("2020年中考报名时间为6月1日至6月5日")) == {
        "kind": "fixed", "start": "2020-06-01", "due": "2020-06-05"}
    assert spec("2019年中考报名时间为6月1日至6月5日").get("ambiguous") is True


def test_relative_months_need_the_publication_date() -> None:
    with pytest.raises(PhraseError) as info:
        compile_phrase("本月底前", plan_year=2020)
    assert info.value.code == "needs-published"


@pytest.mark.parametrize("phrase", ["季度防范会议", "按1:3比例", "附件2", "6月30日前7"])
def test_no_time_meaning_or_unread_digits_are_still_refused(phrase: str) -> None:
    with pytest.raises(PhraseError) as info:
        compile_phrase(phrase, plan_year=2020)
    assert info.value.code == "unknown-phrase"


def test_normalise_drops_glosses_and_keeps_ratios_and_rates() -> None:
    assert normalise("發(fā)布現(xiàn)場") == "发布现场"
    assert normalise("按1:3比例") == "按1比3比例"
    assert normalise("至少1次/半年") == "每半年至少1次"
    assert normalise("10∶30前") == "前"
