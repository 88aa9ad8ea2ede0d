"""The 落实情况 report (HTML, CSV, xlsx), per-unit scores and .ics feeds, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from duban.engine.services import reports
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.store.models import Obligation, Occurrence, Requirement, Task, Unit
from helpers import YELLOW, run
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
PLAN = "jieyang-2016-disclosure"
TAX = "jieyang-2016-tax-sharing"
CAL = WorkingCalendar.default()


def ok(env: dict[str, str], *args: str) -> str:
    code, out, err = run(env, *args)
    assert code == 0, (args, err)
    return out


def ob_id(s, plan: str, task: int, req: int, unit: str) -> int:
    return s.execute(select(Obligation.id).join(Unit, Unit.id == Obligation.unit_id).join(Requirement).join(Task)
                     .where(Obligation.plan_id == plan, Task.no == task, Requirement.no == req, Unit.name == unit)
                     .order_by(Obligation.id)).scalars().first()


@pytest.fixture
def story(seeded, env_for):
    """Task 6's provincial document, completions (on time, late, hostile evidence), a waiver and an extension."""
    env = env_for(seeded)
    ok(env, "event", "record", "gd_negative_list_doc", "--date", "2016-09-05", "--doc-number", "粤府〔2016〕99号",
       "--actor", "督查室")
    with seeded.sessions() as s:
        ids = {u: ob_id(s, PLAN, 6, 1, u) for u in ("市发展改革局", "榕城区人民政府", "揭东区人民政府", "揭西县人民政府")}
        ids["0.1/市发展改革局"] = ob_id(s, PLAN, 0, 1, "市发展改革局")
        ids["0.1/市财政局"] = ob_id(s, PLAN, 0, 1, "市财政局")
        ids["0.1/市教育局"] = ob_id(s, PLAN, 0, 1, "市教育局")
        ids["29"] = ob_id(s, PLAN, 29, 1, "市政府办公室")
    ok(env, "complete", str(ids["市发展改革局"]), "--date", "2016-09-21", "--evidence",
       "http://www.jieyang.gov.cn/fgj/fmqd.html", "--actor", "发改")
    ok(env, "waive", str(ids["榕城区人民政府"]), "--reason", "不适用", "--actor", "督查室")
    ok(env, "extend", "request", str(ids["揭东区人民政府"]), "--until", "2016-10-31", "--reason", "r", "--actor", "揭东")
    ok(env, "extend", "approve", "1", "--actor", "督查室")
    ok(env, "complete", str(ids["0.1/市发展改革局"]), "--date", "2016-08-04", "--evidence", "<script>alert(1)</script>",
       "--actor", "发改")
    ok(env, "complete", str(ids["0.1/市财政局"]), "--date", "2016-08-03", "--evidence", "javascript:alert(1)",
       "--actor", "财政")
    ok(env, "complete", str(ids["0.1/市教育局"]), "--date", "2016-08-02", "--evidence", "=1+1", "--actor", "教育")
    return seeded, env, ids


def rows_by(report: reports.Report) -> dict[tuple[int, str | None], reports.ReportRow]:
    return {(r.obligation_id, r.occurrence): r for r in report.rows}


def test_the_report_rows_say_what_happened(story):
    store, _env, ids = story
    with store.sessions() as s:
        report = reports.build_report(s, PLAN, as_of=dt.date(2016, 9, 30), calendar=CAL, due_soon_within=YELLOW)
    rows = rows_by(report)
    done = rows[(ids["市发展改革局"], "final")]
    assert (done.status, done.completed_on, done.late_by) == ("late", dt.date(2016, 9, 21), 1)
    assert done.evidence_url == "http://www.jieyang.gov.cn/fgj/fmqd.html" and done.status_zh == "逾期完成"
    assert done.phrase == "待省相关文件出台后" and done.unit == "市发展改革局" and done.task_title == "推进市场准入负面清单公开"
    assert rows[(ids["榕城区人民政府"], "final")].status == "waived"
    extended = rows[(ids["揭东区人民政府"], "final")]
    assert (extended.due, extended.original_due, extended.status) == (dt.date(2016, 10, 31), dt.date(2016, 9, 20), "open")
    overdue = rows[(ids["揭西县人民政府"], "final")]
    assert (overdue.status, overdue.late_by, overdue.completed_on) == ("overdue", 8, None)  # 21–23, 26–30 Sep
    assert rows[(ids["0.1/市财政局"], "final")].status == "done"
    assert rows[(ids["29"], None)].status == "dormant" and rows[(ids["29"], None)].due is None
    assert sum(report.counts.values()) == len(report.rows)
    assert [(r.task_no, r.requirement_no) for r in report.rows] == sorted((r.task_no, r.requirement_no)
                                                                         for r in report.rows)
    # As of an earlier day the later completion has not happened yet.
    with store.sessions() as s:
        earlier = rows_by(reports.build_report(s, PLAN, as_of=dt.date(2016, 9, 19), calendar=CAL, due_soon_within=YELLOW))
    row = earlier[(ids["市发展改革局"], "final")]
    assert (row.status, row.completed_on, row.evidence) == ("due_soon", None, None)


def test_html_report_is_chinese_escaped_and_printable(story, tmp_path):
    _store, env, _ids = story
    out = ok(env, "report", "--plan", PLAN, "--as-of", "2016-09-30")
    assert out.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in out
    assert "揭阳市2016年政府信息公开工作要点分工方案落实情况" in out and "揭府办函〔2016〕71号" in out
    assert "统计截至2016年9月30日" in out and "@media print" in out
    assert '<a href="http://www.jieyang.gov.cn/fgj/fmqd.html"' in out
    assert "<script>" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert 'href="javascript' not in out and "javascript:alert(1)" in out  # shown, never a link
    assert "延期，原定2016-09-20" in out and "待触发" in out and "逾期未完成" in out
    target = tmp_path / "report.html"
    ok(env, "report", "--plan", PLAN, "--as-of", "2016-09-30", "--format", "html", "-o", str(target))
    assert target.read_text(encoding="utf-8") == out


def test_csv_and_xlsx_reports(story, tmp_path):
    store, env, ids = story
    out = ok(env, "report", "--plan", PLAN, "--as-of", "2016-09-30", "--format", "csv")
    table = list(csv.reader(io.StringIO(out)))
    assert tuple(table[0]) == reports.HEADERS
    by_id = {int(r[-1]): r for r in table[1:] if r[-1]}
    late = by_id[ids["市发展改革局"]]
    assert late[6:12] == ["2016-09-20", "", "逾期完成", "2016-09-21", "http://www.jieyang.gov.cn/fgj/fmqd.html", "1"]
    assert by_id[ids["0.1/市教育局"]][10] == "'=1+1"  # never a spreadsheet formula
    target = tmp_path / "report.csv"
    ok(env, "report", "--plan", PLAN, "--as-of", "2016-09-30", "--format", "csv", "-o", str(target))
    assert target.read_bytes().startswith("\ufeff".encode())  # Excel reads the Chinese correctly
    xlsx = tmp_path / "report.xlsx"
    ok(env, "report", "--plan", PLAN, "--as-of", "2016-09-30", "--format", "xlsx", "-o", str(xlsx))
    wb = load_workbook(xlsx)
    ws = wb["落实情况"]
    assert "落实情况（截至2016年9月30日）" in ws["A1"].value
    assert tuple(c.value for c in ws[2]) == reports.HEADERS
    data = {row[-1].value: row for row in ws.iter_rows(min_row=3)}
    late_row = data[ids["市发展改革局"]]
    assert late_row[6].value.date() == dt.date(2016, 9, 20) and late_row[9].value.date() == dt.date(2016, 9, 21)
    assert late_row[8].value == "逾期完成" and late_row[11].value == 1
    formula = data[ids["0.1/市教育局"]][10]
    assert formula.value == "=1+1" and formula.data_type == "s"
    with store.sessions() as s:
        n = len(reports.build_report(s, PLAN, as_of=dt.date(2016, 9, 30), calendar=CAL, due_soon_within=YELLOW).rows)
    assert ws.max_row == n + 2 and wb["汇总"]["B" + str(wb["汇总"].max_row)].value == n
    code, _out, err = run(env, "report", "--plan", "nope", "--format", "csv")
    assert code == 1 and "jieyang-2016-disclosure" in err


def test_scores_per_unit(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        ids = {u[:2]: ob_id(s, TAX, 1, 1, f"{u}涉税信息交换与共享工作联席会议")
               for u in ("榕城区", "揭东区", "揭西县", "惠来县", "普宁市")}
    ok(env, "complete", str(ids["榕城"]), "--date", "2016-06-29", "--evidence", "报送表", "--actor", "榕城")
    ok(env, "complete", str(ids["揭东"]), "--date", "2016-06-30", "--evidence", "报送表", "--actor", "揭东")
    ok(env, "complete", str(ids["揭西"]), "--date", "2016-07-05", "--evidence", "报送表", "--actor", "揭西")
    ok(env, "waive", str(ids["普宁"]), "--reason", "已合并报送", "--actor", "市地税局")
    scores = {s["unit"][:2]: s for s in json.loads(ok(env, "scores", "--plan", TAX, "--as-of", "2016-07-15", "--json"))}
    assert scores["榕城"] == {"unit": "榕城区涉税信息交换与共享工作联席会议", "assessed": 1, "on_time": 1, "late": 0,
                            "overdue": 0, "waived": 0, "pending": 0, "on_time_rate": 1.0,
                            "avg_late_working_days": None}
    assert (scores["揭西"]["late"], scores["揭西"]["on_time_rate"], scores["揭西"]["avg_late_working_days"]) == (1, 0.0, 3.0)
    assert (scores["惠来"]["overdue"], scores["惠来"]["avg_late_working_days"]) == (1, 11.0)  # 1 Jul – 15 Jul
    assert (scores["普宁"]["assessed"], scores["普宁"]["waived"], scores["普宁"]["on_time_rate"]) == (0, 1, None)
    order = [s["unit"][:2] for s in json.loads(ok(env, "scores", "--plan", TAX, "--as-of", "2016-07-15", "--json"))]
    assert order == ["揭东", "榕城", "揭西", "惠来", "普宁"]  # best first
    # Before the due date nothing is assessed yet.
    early = json.loads(ok(env, "scores", "--plan", TAX, "--as-of", "2016-06-28", "--json"))
    assert {s["assessed"] for s in early} == {0} and {s["pending"] for s in early if s["waived"] == 0} == {1}
    text = ok(env, "scores", "--plan", TAX, "--as-of", "2016-07-15")
    assert "100%" in text and "惠来县" in text


def test_calendar_feed_for_a_unit(story, tmp_path):
    store, env, ids = story
    target = tmp_path / "fagai.ics"
    ok(env, "calendar-feed", "--unit", "市发展改革局", "-o", str(target))
    cal = Calendar.from_ical(target.read_bytes())
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Shanghai" and str(cal["VERSION"]) == "2.0"
    events = cal.walk("VEVENT")
    with store.sessions() as s:
        n = len(s.scalars(select(Occurrence.id).join(Obligation).join(Unit)
                          .where(Unit.name == "市发展改革局", Obligation.state != "retired")).all())
    assert len(events) == n and len({str(e["UID"]) for e in events}) == n
    for e in events:
        start, end = e.decoded("DTSTART"), e.decoded("DTEND")
        assert type(start) is dt.date and end == start + dt.timedelta(days=1)  # all-day events
    task6 = [e for e in events if "第6项第1条" in str(e["SUMMARY"])]
    assert len(task6) == 1 and str(task6[0]["SUMMARY"]).startswith("【已完成】")
    assert task6[0].decoded("DTSTART") == dt.date(2016, 9, 20)
    # The same due instance keeps its UID when its date moves (here: the event is corrected).
    ok(env, "event", "correct", "1", "--date", "2016-09-06", "--actor", "督查室")
    again = Calendar.from_ical(ok(env, "calendar-feed", "--unit", "揭西县人民政府").encode())
    first = Calendar.from_ical(target.read_bytes())
    assert {str(e["UID"]) for e in first.walk("VEVENT")} == {str(e["UID"]) for e in Calendar.from_ical(
        ok(env, "calendar-feed", "--unit", "市发展改革局").encode()).walk("VEVENT")}
    moved = [e for e in again.walk("VEVENT") if "第6项第1条" in str(e["SUMMARY"])]
    assert moved[0].decoded("DTSTART") == dt.date(2016, 9, 21)
    # A waived instance is published as cancelled, so a subscribed calendar drops it.
    rong = Calendar.from_ical(ok(env, "calendar-feed", "--unit", "榕城区人民政府").encode())
    assert [str(e["STATUS"]) for e in rong.walk("VEVENT") if "第6项第1条" in str(e["SUMMARY"])] == ["CANCELLED"]
    code, _out, err = run(env, "calendar-feed", "--unit", "发改局")
    assert code == 1 and "did you mean '市发展改革局'" in err
    code, _out, err = run(env, "calendar-feed", "--unit", "各县（市、区）人民政府（管委会）")
    assert code == 1 and "榕城区人民政府" in err
