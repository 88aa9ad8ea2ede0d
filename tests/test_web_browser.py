"""The dashboard in a real browser: Debian's chromium driven by Playwright, against uvicorn.

One SQLite store with the seed plans, one server on a free port, one browser
for the module. The flows a newcomer does: log in, read the overview (its
screenshot is kept in ``test-artifacts/``), record the provincial document
task 6 waits for and watch its obligations leave "待触发", complete one with
evidence, find it in the audit log; and the refusals: a clerk on another
unit's obligation, a form stripped of its CSRF token. No sleeps: every step
waits for an element or a navigation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import dated_url, scratch_runtime
from argon2 import PasswordHasher
from duban.store.models import AuditRecord, Obligation, Occurrence, Unit
from duban.web.auth import add_user
from duban.web.server import ServerHandle, start_in_thread
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PLAN = "jieyang-2016-disclosure"
AS_OF = "2016-08-02"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
USERS = {"supervisor": ("b-supervisor", "pw-supervisor-123"), "clerk": ("b-clerk", "pw-clerk-1234567")}


@dataclass
class Live:
    server: ServerHandle
    runtime: object
    browser: Browser
    task6: list[int]
    clerk_own: int
    clerk_other: int

    def url(self, path: str) -> str:
        return dated_url(self.server.url, path, AS_OF)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("browser")
    settings, rt = scratch_runtime(tmp, [REPO / "rules" / "plans"])
    with rt.sessions() as s, s.begin():
        add_user(s, name=USERS["supervisor"][0], password=USERS["supervisor"][1], role="supervisor",
                 display_name="督查室 张三", actor="test", hasher=FAST)
        add_user(s, name=USERS["clerk"][0], password=USERS["clerk"][1], role="clerk", units=("市编办",),
                 display_name="市编办 李四", actor="test", hasher=FAST)
        task6 = list(s.scalars(select(Obligation.id).where(Obligation.trigger_key == "gd_negative_list_doc")
                               .order_by(Obligation.id)))
        own_unit = s.scalar(select(Unit.id).where(Unit.name == "市编办"))

        def first_open(where: object) -> int:
            return s.scalars(select(Obligation.id).join(Occurrence, Occurrence.obligation_id == Obligation.id)
                             .where(where, Obligation.state == "active", Occurrence.state == "open")
                             .order_by(Obligation.id).limit(1)).one()

        clerk_own = first_open(Obligation.unit_id == own_unit)
        clerk_other = first_open(Obligation.unit_id != own_unit)
    server = start_in_thread(settings, "127.0.0.1", 0, runtime=rt, secret="browser-test-" + "k" * 40, hasher=FAST)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield Live(server=server, runtime=rt, browser=browser, task6=task6, clerk_own=clerk_own,
                       clerk_other=clerk_other)
        finally:
            browser.close()
            server.stop()
            rt.engine.dispose()


def login(live: Live, role: str, *, width: int = 1280) -> Page:
    context = live.browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(live.url("/"))
    expect(page.locator("h1")).to_have_text("登录督办看板")  # sent to the login page first
    name, password = USERS[role]
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_selector("#by-status")
    return page


def test_record_the_provincial_document_complete_with_evidence_and_read_the_audit_log(live: Live) -> None:
    page = login(live, "supervisor")
    # the overview: counts by colour, the 29 tasks (and the notice body), the units
    expect(page.locator(".tile[data-status=dormant] .n")).not_to_have_text("0")
    expect(page.locator("#by-task tbody tr")).to_have_count(30)
    shot = ARTIFACTS / "overview.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    dormant_before = int(page.locator(".tile[data-status=dormant] .n").inner_text())

    target = live.task6[0]
    page.goto(live.url(f"/obligations/{target}"))
    expect(page.locator("#status")).to_have_text("待触发")

    # task 6 waits for the provincial negative-list document: record it
    page.goto(live.url("/triggers"))
    card = page.locator("section.trigger[data-key=gd_negative_list_doc]")
    expect(card.locator(".waiting")).to_have_text(str(len(live.task6)))
    card.locator("summary").click()
    form = card.locator("form.record-event")
    form.locator("input[name=on]").fill("2016-08-01")
    form.locator("input[name=doc_number]").fill("粤府〔2016〕88号")
    form.locator("input[name=title]").fill("广东省实行市场准入负面清单制度改革试点实施方案")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("已登记事件")
    expect(page.locator("section.trigger[data-key=gd_negative_list_doc] .waiting")).to_have_text("0")

    # its obligations left "待触发": due 10 working days after the document (the configured default)
    page.goto(live.url(f"/obligations/{target}"))
    expect(page.locator("#status")).to_have_text("进行中")
    expect(page.locator("#next-due")).to_have_text("2016-08-15")
    page.goto(live.url("/"))
    expect(page.locator(".tile[data-status=dormant] .n")).to_have_text(str(dormant_before - len(live.task6)))

    # complete it with evidence
    page.goto(live.url(f"/obligations/{target}"))
    complete = page.locator("#complete-form")
    complete.locator("input[name=on]").fill("2016-08-02")
    complete.locator("textarea[name=evidence]").fill("https://example.gov.cn/fgj/negative-list-2016")
    complete.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("已登记完成")
    expect(page.locator("#status")).to_have_text("已完成")
    expect(page.locator("#occurrences")).to_contain_text("https://example.gov.cn/fgj/negative-list-2016")

    # and read both in the audit log, with the chain verified
    page.goto(live.url(f"/audit?object_type=obligation&object_id={target}"))
    row = page.locator("table.audit tbody tr").first
    expect(row.locator(".action")).to_have_text("obligation.completed")
    expect(row).to_contain_text(USERS["supervisor"][0])
    expect(row).to_contain_text("web")
    expect(page.locator("#chain .ok")).to_contain_text("哈希链完整")
    page.goto(live.url("/audit?action=event.recorded"))
    expect(page.locator("table.audit tbody tr").first).to_contain_text("event.recorded")
    page.context.close()


def test_a_clerk_is_refused_on_another_units_obligation(live: Live) -> None:
    page = login(live, "clerk", width=390)  # a phone-width screen
    page.goto(live.url(f"/obligations/{live.clerk_own}"))
    expect(page.locator("#complete-form")).to_be_visible()
    token = page.locator("#complete-form input[name=csrf]").input_value()
    page.goto(live.url(f"/obligations/{live.clerk_other}"))
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#complete-form")).to_have_count(0)  # no form offered...
    before = _audit_count(live)
    reply = page.request.post(live.url(f"/obligations/{live.clerk_other}/complete"),  # ...and a forged post refused
                              form={"csrf": token, "on": "2016-08-02", "evidence": "not mine"})
    assert reply.status == 403 and "无权登记完成" in reply.text()
    assert _audit_count(live) == before + 1
    with live.runtime.sessions() as s:  # type: ignore[attr-defined]
        rec = s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()
        state = s.scalars(select(Occurrence.state).where(Occurrence.obligation_id == live.clerk_other)).all()
    assert (rec.action, rec.actor, rec.after["action"]) == ("web.denied", USERS["clerk"][0], "obligation.complete")
    assert "done" not in state
    page.context.close()


def test_a_form_without_its_csrf_token_is_rejected(live: Live) -> None:
    page = login(live, "supervisor")
    page.goto(live.url(f"/obligations/{live.clerk_own}"))
    page.locator("#complete-form input[name=csrf]").evaluate("el => el.remove()")
    page.locator("#complete-form textarea[name=evidence]").fill("https://example.gov.cn/x")
    page.locator("#complete-form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("无权操作")
    expect(page.locator(".message")).to_contain_text("CSRF")
    page.goto(live.url(f"/obligations/{live.clerk_own}"))
    expect(page.locator("#occurrences")).not_to_contain_text("https://example.gov.cn/x")
    page.context.close()


def _audit_count(live: Live) -> int:
    with live.runtime.sessions() as s:  # type: ignore[attr-defined]
        return len(s.scalars(select(AuditRecord.seq)).all())

