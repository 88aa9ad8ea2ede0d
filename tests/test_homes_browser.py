"""The role homes and the emails in a real browser: Debian's chromium via Playwright, against uvicorn.

One SQLite store: the seed plans plus a small plan naming 市编办 as a co-unit,
replayed with the demo scenario from publication to Monday 2016-10-17 (the
real tick writes the outbox: daily changes, weekly digests, escalations, the
督办通报). Then, as a user would: each role logs in and lands on its home
(a clerk's 我的待办, the supervisor's 督办通报 with its chart image loaded,
a leader's unit summary); a clerk reports progress (进展情况) from a card and
finds it on the obligation page, a supervisor finds it in the audit log; at
420 px nothing scrolls sideways, neither the homes nor the emails. The
screenshots go to ``test-artifacts/screenshots/`` (``DUBAN_UPDATE_SCREENSHOTS=1``: to ``docs/``, referenced
from docs/web.md and docs/notifications.md); the emails' text versions to ``test-artifacts/emails/``.
No sleeps: every step waits for an element or a navigation.
"""

from __future__ import annotations

import base64
import os
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import dated_url, scratch_runtime
from argon2 import PasswordHasher
from duban.engine.runtime.build import Runtime
from duban.engine.runtime.simulate import load_scenario, simulate
from duban.store.models import AuditRecord, Notification, NotificationAttachment, ProgressReport
from duban.web.auth import add_user
from duban.web.server import ServerHandle, start_in_thread
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select
from test_homes import CO_PLAN

REPO = Path(__file__).resolve().parent.parent
# Screenshots go to test-artifacts/ on every run; DUBAN_UPDATE_SCREENSHOTS=1 writes them into docs/
# instead (a deliberate refresh of the pictures the docs show), so a test run never edits the tree.
DOCS = REPO / "docs" if os.environ.get("DUBAN_UPDATE_SCREENSHOTS") == "1" else REPO / "test-artifacts" / "screenshots"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START, AS_OF = dt.date(2016, 6, 21), dt.date(2016, 10, 17)  # a Monday: weekly digests and the 督办通报
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "pw-browser-homes-1"
USERS = {"clerk": "hb-clerk", "supervisor": "hb-supervisor", "viewer": "hb-viewer"}
PHONE = 420
NO_SIDEWAYS = "document.documentElement.scrollWidth <= window.innerWidth"
MAX_SHOT = 2600  # px of a long page kept in a docs/ screenshot (the top: what a reader sees first)


def shot(page: Page, name: str) -> None:
    """A full-width screenshot of the page's top ``MAX_SHOT`` pixels, into docs/."""
    width, height = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    page.screenshot(path=str(DOCS / name), full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": min(height, MAX_SHOT)})

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")


@dataclass
class Live:
    server: ServerHandle
    runtime: Runtime
    browser: Browser

    def url(self, path: str) -> str:
        return dated_url(self.server.url, path, AS_OF.isoformat())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("homes-browser")
    (tmp / "plans").mkdir()
    (tmp / "plans" / "co.yaml").write_text(CO_PLAN, encoding="utf-8")
    settings, rt = scratch_runtime(tmp, [REPO / "rules" / "plans", tmp / "plans"])
    with rt.sessions() as s, s.begin():
        add_user(s, name=USERS["clerk"], password=PASSWORD, role="clerk", units=("市编办",),
                 display_name="市编办 李四", actor="test", hasher=FAST)
        add_user(s, name=USERS["supervisor"], password=PASSWORD, role="supervisor", display_name="督查室 张三",
                 actor="test", hasher=FAST)
        add_user(s, name=USERS["viewer"], password=PASSWORD, role="viewer", display_name="市领导 王五",
                 actor="test", hasher=FAST)
    simulate(rt, START, AS_OF, scenario=load_scenario(REPO / "rules" / "scenarios" / "jieyang-2016-demo.yaml"))
    server = start_in_thread(settings, "127.0.0.1", 0, runtime=rt, secret="homes-browser-" + "k" * 40, hasher=FAST)
    ARTIFACTS.mkdir(exist_ok=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield Live(server=server, runtime=rt, browser=browser)
        finally:
            browser.close()
            server.stop()
            rt.engine.dispose()


def login(live: Live, role: str, *, width: int = 1280) -> Page:
    """Log in from the bare login page: the server picks the landing page (the role's home)."""
    context = live.browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{live.server.url}/login")
    page.fill("input[name=name]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    return page


def landed(page: Page) -> str:
    return page.url.split("?", 1)[0].rsplit("/", 1)[-1]


def test_a_clerk_lands_on_its_todo_list_which_fits_a_phone(live: Live) -> None:
    page = login(live, "clerk")
    assert landed(page) == "home"
    page.goto(live.url("/home"))
    expect(page.locator("h1")).to_have_text("我的待办")
    expect(page.locator("#lead li.todo").first).to_be_visible()
    first = page.locator("#lead li.todo").first.get_attribute("data-status")
    assert first in ("overdue", "checkin_missed")  # the most urgent first
    expect(page.locator("#counts .tile[data-status=checkin_missed] .n")).not_to_have_text("0")
    expect(page.locator("#co li.todo")).to_have_count(1)  # 配合事项: the co-unit plan's requirement
    shot(page, "web-home-clerk.png")
    page.set_viewport_size({"width": PHONE, "height": 900})
    page.reload()
    assert page.evaluate(NO_SIDEWAYS)
    page.screenshot(path=str(DOCS / "web-home-clerk-phone.png"), full_page=False)
    page.context.close()


def test_a_supervisor_lands_on_the_bulletin_with_its_chart_and_trend(live: Live) -> None:
    page = login(live, "supervisor")
    assert landed(page) == "bulletin"
    page.goto(live.url("/home"))  # /home sends a supervisor to the bulletin, keeping the day
    page.wait_for_url("**/bulletin?as_of=2016-10-17")
    chart = page.locator("#chart img.chart")
    expect(chart).to_be_visible()
    page.wait_for_function("document.querySelector('#chart img.chart').complete")
    assert chart.evaluate("img => img.naturalWidth") > 0
    expect(page.locator("#trend .weeks li")).to_have_count(8)
    assert page.locator("#ranking li.rank-row").count() > 20
    expect(page.locator("#overall-rate")).to_contain_text("%")
    shot(page, "web-bulletin.png")
    page.set_viewport_size({"width": PHONE, "height": 900})
    page.reload()
    page.wait_for_function("document.querySelector('#chart img.chart').complete")
    assert page.evaluate(NO_SIDEWAYS)
    page.context.close()


def test_a_leader_lands_on_the_unit_summary(live: Live) -> None:
    page = login(live, "viewer")
    assert landed(page) == "summary"
    page.goto(live.url("/home"))
    page.wait_for_url("**/summary?as_of=2016-10-17")
    page.locator("li.rank-row[data-unit=市编办] a").click()
    expect(page.locator("h1")).to_have_text("市编办 · 单位概况")
    expect(page.locator("#score")).to_contain_text("督办通报排名")
    expect(page.locator("#missed li.todo").first).to_be_visible()
    shot(page, "web-summary-leader.png")
    page.set_viewport_size({"width": PHONE, "height": 900})
    page.reload()
    assert page.evaluate(NO_SIDEWAYS)
    page.context.close()


def test_a_clerk_reports_progress_from_a_card_and_the_supervisor_reads_it_in_the_audit_log(live: Live) -> None:
    page = login(live, "clerk", width=PHONE)
    page.goto(live.url("/home"))
    card = page.locator("#lead li.todo[data-status=checkin_missed]").first
    oid = card.get_attribute("data-obligation")
    card.get_by_role("link", name="报送进展").click()  # one click from the home to the form
    form = page.locator("#progress-form")
    expect(form).to_be_visible()
    form.locator("input[name=on]").fill("2016-10-17")
    form.locator("textarea[name=text]").fill("第三季度：已在门户网站开设政策解读专栏，发布解读材料6篇。")
    form.locator("textarea[name=evidence]").fill("https://www.jieyang.example/zcjd/2016q3")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("已报送进展情况")
    expect(page.locator(".flash")).to_contain_text("2016-09-30 检查点")
    expect(page.locator("#progress .progress-list")).to_contain_text("已在门户网站开设政策解读专栏")
    expect(page.locator("#status")).not_to_contain_text("未报进展")
    page.locator("#progress").screenshot(path=str(DOCS / "web-progress.png"))
    page.context.close()

    sup = login(live, "supervisor")
    sup.goto(live.url(f"/audit?action=obligation.progress&object_id={oid}"))
    row = sup.locator("table.audit tbody tr").first
    expect(row.locator(".action")).to_have_text("obligation.progress")
    expect(row).to_contain_text(USERS["clerk"])
    expect(row).to_contain_text("web")
    sup.context.close()
    with live.runtime.sessions() as s:
        report = s.scalars(select(ProgressReport).where(ProgressReport.obligation_id == int(oid or 0))).one()
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "obligation.progress")).one()
    assert report.actor == USERS["clerk"] and report.occurrence_id is not None
    assert (rec.source, rec.object_id) == ("web", oid)


# --------------------------------------------------------------------------- the emails (docs/notifications.md)


def _example(live: Live, where: object, order: object) -> Notification:
    with live.runtime.sessions() as s:
        return s.scalars(select(Notification).where(where).order_by(order, Notification.id).limit(1)).one()


def _inline_images(live: Live, row: Notification) -> str:
    """The HTML with its ``cid:`` images as data URIs, as a mail client shows them."""
    html = row.body_html or ""
    with live.runtime.sessions() as s:
        for att in s.scalars(select(NotificationAttachment).where(
                NotificationAttachment.notification_key == row.key, NotificationAttachment.content_id.is_not(None))):
            data = base64.b64encode(att.data).decode()
            html = html.replace(f"cid:{att.content_id.strip('<>')}", f"data:{att.content_type};base64,{data}")
    return html


def test_one_example_of_each_email_reads_on_a_phone(live: Live) -> None:
    bianban = "clerk@bianban.jieyang.example"
    examples = {
        "daily": _example(live, (Notification.recipient_role == "clerk")
                          & Notification.stage.in_(("before_10", "before_5", "before_1", "due", "overdue"))
                          & (Notification.recipient == bianban), Notification.scheduled_for.desc()),
        "weekly": _example(live, (Notification.stage == "weekly") & (Notification.recipient == bianban)
                           & (Notification.scheduled_for == AS_OF), Notification.id),
        "escalation": _example(live, Notification.stage.in_(("escalate_leader", "escalate_supervisor"))
                               & (Notification.recipient_role == "leader"), Notification.scheduled_for.desc()),
        "bulletin": _example(live, (Notification.stage == "bulletin") & (Notification.scheduled_for == AS_OF),
                             Notification.id),
    }
    out = ARTIFACTS / "emails"
    out.mkdir(parents=True, exist_ok=True)
    context = live.browser.new_context(viewport={"width": PHONE, "height": 900}, locale="zh-CN")
    page = context.new_page()
    for name, row in examples.items():
        headers = (f"Subject: {row.subject}\nTo: {row.recipient_name} <{row.recipient}>\n"
                   f"Date: {row.scheduled_for.isoformat()}\n\n")
        (out / f"{name}.txt").write_text(headers + row.body_text, encoding="utf-8")
        page.set_content(_inline_images(live, row))
        assert page.evaluate(NO_SIDEWAYS), f"the {name} email scrolls sideways at {PHONE} px"
        for img in page.locator("img").all():
            assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        shot(page, f"email-{name}.png")
    context.close()
