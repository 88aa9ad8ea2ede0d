"""Digest composition and layout: one card per requirement and unit, caps, sections, phone width."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import load_workbook

from duban.engine.reminders.compose import Fact, Mailbox, Sent, compose, lines, unit_summaries
from duban.engine.reminders.policy import PolicyError, default_policy, parse_policy
from duban.notifiers.model import RankRow
from duban.notifiers.render import SAMPLE_SENDER, mime_bytes, render_digest

POLICY = default_policy()
AS_OF = dt.date(2016, 10, 10)
URL = "https://duban.jieyang.example"


def fact(oid: int, *, req: int = 1, unit: str = "市地税局", wd: int = 3, checkin: bool = False,
         label: str = "全年工作", due: dt.date = dt.date(2016, 10, 13)) -> Fact:
    return Fact(occurrence_id=oid, occurrence_key=f"k{oid}", label=label, due=due, checkin=checkin, wd=wd,
                obligation_id=1000 + oid, requirement_id=req, unit_id=hash(unit) % 1000, unit=unit,
                directory="jieyang", plan_title="揭府办函〔2016〕71号", task_no=req, task_title="推进财政预决算信息公开" * 2,
                requirement_no=1, requirement_text="每季度向社会公开本部门工作进展情况，公开内容应当包括工作安排、完成情况、存在问题及下一步措施。" * 2,
                phrase="全年工作；每季度公示")


def test_parts_of_one_requirement_and_unit_make_one_card_listing_every_part():
    items = lines([(fact(1, wd=55, label="全年工作", due=dt.date(2016, 12, 31)), "before_10", "x"),
                   (fact(2, wd=3, label="每季度公示（本季度）", due=dt.date(2016, 9, 30)), "before_5", "y"),
                   (fact(3, req=2, wd=3), "before_5", "y")], POLICY, URL)
    assert len(items) == 2
    card = next(i for i in items if i.task_no == 1)
    assert card.working_days_left == 3 and card.stage == "before_5"  # the most urgent part leads
    assert card.parts == ("每季度公示（本季度）：9月30日截止", "全年工作：12月31日截止")
    assert card.link == f"{URL}/obligations/1002"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["市编办", "市地税局", "榕城区人民政府"]),
                          st.integers(-30, 10), st.booleans()), min_size=1, max_size=150))
def test_no_requirement_twice_and_never_more_cards_than_the_cap(rows):
    box = Mailbox(email="ducha@gov.jieyang.example", name="督查室", roles={"clerk", "supervisor"})
    facts = [fact(i, req=req, unit=unit, wd=wd, checkin=ck) for i, (req, unit, wd, ck) in enumerate(rows)]
    for f in facts:
        box.units[f.unit] = None
        if f.wd >= 0:
            box.sent[("changes", "clerk")].append(Sent(fact=f, stage="before_5", label="截止前5个工作日提醒"))
        box.state[("weekly", "clerk")].append(f)
    box.state[("escalation", "supervisor")].extend(f for f in facts if f.wd < 0 and not f.checkin)
    box.summary[("escalation", "supervisor")] = unit_summaries(facts, yellow_within=5)
    digest = compose(box, key="2016-10-10/ducha@gov.jieyang.example", as_of=AS_OF, policy=POLICY, dashboard_url=URL)
    assert digest.inline_items <= POLICY.max_items
    for section in digest.sections:
        cap = POLICY.max_items if section.role == "clerk" and section.kind != "escalation" else POLICY.escalation_max_items
        assert len(section.items) <= cap
        keys = [(i.plan_title, i.task_no, i.requirement_no, i.unit) for i in section.items]
        assert len(keys) == len(set(keys))
    hidden = sum(s.hidden for s in digest.sections)
    xlsx = [a for a in digest.attachments if a.filename.endswith(".xlsx")]
    assert bool(hidden) == bool(xlsx)
    if xlsx:  # the attachment holds every item of each capped list
        wb = load_workbook(io.BytesIO(xlsx[0].data))
        capped = [s for s in digest.sections if s.hidden]
        assert [ws.max_row - 1 for ws in wb.worksheets] == [s.total for s in capped]


def test_a_missed_checkin_is_counted_apart_from_overdue():
    rows = unit_summaries([fact(1, wd=-4), fact(2, req=2, wd=-9, checkin=True), fact(3, req=3, wd=2)],
                          yellow_within=5)
    assert [(r.overdue, r.longest_overdue, r.missed_checkins, r.due_soon) for r in rows] == [(1, 4, 1, 1)]


def test_digest_settings_are_validated_with_their_path():
    data = {"ruleset": "reminders", "version": "1", "colours": {"yellow_within": "5"},
            "digest": {"weekly_on": "mondy", "max_items": "51"}, "checkins": {"stages": ["before_7"]},
            "stages": [{"id": "before_5", "ladder": "true", "when": {"before": "5"}, "to": ["clerk"], "label": "x"}]}
    with pytest.raises(PolicyError) as info:
        parse_policy(data, source="t.yaml")
    paths = {d.path: d.code for d in info.value.diagnostics}
    assert paths["digest.weekly_on"] == "bad-choice" and "monday" in str(info.value)
    assert paths["digest.max_items"] == "out-of-range"
    data["digest"] = {"weekly_on": "friday"}
    with pytest.raises(PolicyError) as info:
        parse_policy(data, source="t.yaml")
    assert {d.path: d.code for d in info.value.diagnostics} == {"checkins.stages[0]": "unknown-stage"}
    data["checkins"] = {"stages": ["before_5"]}
    assert parse_policy(data, source="t.yaml").weekly_on == 4


def test_weekly_day_moves_past_a_holiday_within_its_week():
    from duban.engine.deadlines.calendar import WorkingCalendar
    cal = WorkingCalendar.default()
    days = [dt.date(2016, 10, 1) + dt.timedelta(days=i) for i in range(17)]
    assert [d for d in days if POLICY.is_weekly_day(d, cal.is_workday)] == [
        dt.date(2016, 10, 8), dt.date(2016, 10, 10), dt.date(2016, 10, 17)]  # National Day: the make-up Saturday


def big_supervisor_digest():
    box = Mailbox(email="ducha@gov.jieyang.example", name="督查室", roles={"clerk", "supervisor"})
    facts = [fact(i, req=i, unit=u, wd=-i % 17 - 1, checkin=i % 9 == 0)
             for i, u in enumerate(["产业转移园管委会", "大南海工业区管委会", "市食品药品监督管理局", "市人力资源社会保障局"] * 20)]
    for f in facts:
        box.units[f.unit] = None
        box.sent[("changes", "clerk")].append(Sent(fact=f, stage="overdue_1", label="已逾期提醒"))
    box.state[("escalation", "supervisor")].extend(facts)
    box.summary[("escalation", "supervisor")] = unit_summaries(facts, yellow_within=5)
    box.ranking = tuple(RankRow(rank=i + 1, unit=u, assessed=9, on_time=9 - i, overdue=i, on_time_rate=(9 - i) / 9)
                        for i, u in enumerate(["市编办", "市地税局", "揭阳高新区管委会", "大南海工业区管委会"]))
    from duban.notifiers.chart import ranking_chart
    box.chart = ranking_chart(box.ranking, title="督办通报（2016年第41周）")
    box.notes.append("工作日历只覆盖到2016年12月31日（还剩60天）。")
    return compose(box, key="2016-10-10/ducha@gov.jieyang.example", as_of=AS_OF, policy=POLICY, dashboard_url=URL)


def test_sections_attachments_and_chart_travel_in_one_message():
    digest = big_supervisor_digest()
    msg = render_digest(digest, sender=SAMPLE_SENDER, message_id_domain="duban.example",
                        now=dt.datetime(2016, 10, 10, 9, tzinfo=dt.timezone.utc))
    assert msg.subject == f"【督办】逾期事项升级提醒（{digest.sections[0].total}项）"
    parsed = email.message_from_bytes(mime_bytes(msg), policy=email.policy.default)
    types = [p.get_content_type() for p in parsed.walk()]
    assert types[0] == "multipart/mixed" and "image/png" in types
    html = parsed.get_body(("html",)).get_content()
    assert 'src="cid:bulletin-chart@duban"' in html and "按时率" in html and "未报进展" in html
    assert mime_bytes(msg) == mime_bytes(msg)


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("width", [360, 420, 1024])
def test_the_html_digest_fits_a_phone_without_horizontal_scrolling(tmp_path, width):
    from playwright.sync_api import sync_playwright

    digest = big_supervisor_digest()
    msg = render_digest(digest, sender=SAMPLE_SENDER, message_id_domain="duban.example")
    png = next(a for a in digest.attachments if a.content_type == "image/png")
    (tmp_path / "chart.png").write_bytes(png.data)
    page_file = tmp_path / "digest.html"
    page_file.write_text(msg.html.replace("cid:bulletin-chart@duban", "chart.png"), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(page_file.as_uri())
            scroll = page.evaluate("document.documentElement.scrollWidth")
            widest = page.evaluate("Math.max(...[...document.querySelectorAll('body *')]"
                                   ".map(e => e.getBoundingClientRect().right))")
            if width == 420:
                page.screenshot(path=str(tmp_path / "digest-420.png"), full_page=False)
        finally:
            browser.close()
    assert scroll <= width and widest <= width + 0.5
