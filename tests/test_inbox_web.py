"""The 收文 page over HTTP and in a real browser (Debian's chromium via Playwright, against uvicorn).

One SQLite store with the seed plans and one scanned document (财税〔2016〕140号,
a real national tax policy notice of the corpus): the matcher proposes the
trigger ``national_tax_policy_doc``. A supervisor reads the proposal and its
reasons, accepts it, and the trigger's duties start (the obligation page shows
an open due instance with its date); the audit log shows ``inbox.accepted``.
Refusals: a clerk of another unit gets no buttons and a forged POST is a 403
with a ``web.denied`` row; a POST without its CSRF token is refused. No sleeps.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import dated_url, scratch_runtime
from argon2 import PasswordHasher
from duban.engine.inbox.config import load_inbox_config
from duban.engine.inbox.records import IncomingDocument
from duban.engine.inbox.service import scan
from duban.store.models import AuditRecord, Event, InboxProposal, Obligation, Occurrence
from duban.web.auth import add_user
from duban.web.server import ServerHandle, start_in_thread
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "fixtures" / "inbox" / "documents.jsonl"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AS_OF = "2016-12-28"
TRIGGER = "national_tax_policy_doc"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only: real hashes, cheap
USERS = {"supervisor": ("i-supervisor", "pw-supervisor-123"), "clerk": ("i-clerk", "pw-clerk-1234567")}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")


@dataclass
class Live:
    server: ServerHandle
    runtime: object
    browser: Browser
    proposal: int
    duties: list[int]

    def url(self, path: str) -> str:
        return dated_url(self.server.url, path, AS_OF)


def corpus_document(doc_id: str) -> IncomingDocument:
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == doc_id:
            return IncomingDocument.make(title=row["title"], text=row["text"], source=f"test:{doc_id}",
                                         doc_number=row["doc_no"], issuer=row["issuer"], link=row["url"],
                                         date=dt.date.fromisoformat(row["date"]))
    raise KeyError(doc_id)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("inbox-web")
    settings, rt = scratch_runtime(tmp, [REPO / "rules" / "plans"])
    with rt.sessions() as s, s.begin():
        add_user(s, name=USERS["supervisor"][0], password=USERS["supervisor"][1], role="supervisor",
                 display_name="督查室 张三", actor="test", hasher=FAST)
        add_user(s, name=USERS["clerk"][0], password=USERS["clerk"][1], role="clerk", units=("市编办",),
                 display_name="市编办 李四", actor="test", hasher=FAST)
        scanned = scan(s, [corpus_document("d015")], load_inbox_config())
        [proposal] = [p.id for p in scanned.proposals if p.trigger == TRIGGER]
        duties = list(s.scalars(select(Obligation.id).where(Obligation.trigger_key == TRIGGER).order_by(Obligation.id)))
    server = start_in_thread(settings, "127.0.0.1", 0, runtime=rt, secret="inbox-test-" + "k" * 40, hasher=FAST)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield Live(server=server, runtime=rt, browser=browser, proposal=proposal, duties=duties)
        finally:
            browser.close()
            server.stop()
            rt.engine.dispose()


def login(live: Live, role: str) -> Page:
    context = live.browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(live.url("/"))
    name, password = USERS[role]
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_selector("#by-status")
    return page


def _count(live: Live, model: type, *where: object) -> int:
    with live.runtime.sessions() as s:  # type: ignore[attr-defined]
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _status(live: Live) -> str:
    with live.runtime.sessions() as s:  # type: ignore[attr-defined]
        return s.scalars(select(InboxProposal.status).where(InboxProposal.id == live.proposal)).one()


def test_anonymous_http_sees_nothing(live: Live) -> None:
    context = live.browser.new_context()
    reply = context.request.get(live.url("/inbox"), max_redirects=0)
    assert reply.status in (302, 303) and "/login" in (reply.headers.get("location") or "")
    reply = context.request.post(live.url(f"/inbox/{live.proposal}/accept"), form={}, max_redirects=0)
    assert reply.status in (302, 303, 403)
    assert _status(live) == "proposed" and _count(live, Event) == 0
    context.close()


def test_a_clerk_of_another_unit_cannot_accept(live: Live) -> None:
    page = login(live, "clerk")
    page.goto(live.url("/inbox"))
    card = page.locator(f"#proposal-{live.proposal}")
    expect(card).to_contain_text("财税〔2016〕140号")
    expect(card.locator("button.primary")).to_have_count(0)  # no button offered...
    token = page.locator("form input[name=csrf]").first.input_value()
    denied = _count(live, AuditRecord, AuditRecord.action == "web.denied")
    reply = page.request.post(live.url(f"/inbox/{live.proposal}/accept"), form={"csrf": token})  # ...a forged post
    assert reply.status == 403
    assert _count(live, AuditRecord, AuditRecord.action == "web.denied") == denied + 1
    assert _status(live) == "proposed" and _count(live, Event) == 0
    page.context.close()


def test_a_post_without_its_csrf_token_is_refused(live: Live) -> None:
    page = login(live, "supervisor")
    reply = page.request.post(live.url(f"/inbox/{live.proposal}/accept"), form={})  # the session cookie, no token
    assert reply.status == 403 and "CSRF" in reply.text()
    page.goto(live.url("/inbox"))
    page.locator(f"#proposal-{live.proposal} input[name=csrf]").first.evaluate("el => el.remove()")
    page.locator(f"#proposal-{live.proposal} button.primary").click()
    expect(page.locator("h1")).to_have_text("无权操作")
    assert _status(live) == "proposed" and _count(live, Event) == 0
    page.context.close()


def test_a_supervisor_accepts_and_the_duties_start(live: Live) -> None:
    """Runs after the refusals (pytest keeps file order): the proposal is still open here."""
    page = login(live, "supervisor")
    duty = live.duties[0]
    page.goto(live.url(f"/obligations/{duty}"))
    expect(page.locator("body")).to_contain_text("待触发")
    page.goto(live.url("/inbox"))
    card = page.locator(f"#proposal-{live.proposal}")
    expect(card).to_contain_text("财政部 国家税务总局关于明确金融 房地产开发 教育辅助服务等增值税政策的通知")
    expect(card).to_contain_text(TRIGGER)
    expect(card.locator("ul li").first).to_contain_text("共同词语")  # the reasons a person checks
    expect(card).to_contain_text("发文机关级别：部委")
    expect(card).to_contain_text("属于所等文件的系列")
    card.locator("button.primary").click()
    accepted = f"已采纳收文建议第 {live.proposal} 号"
    expect(page.locator("body")).to_contain_text(accepted)
    assert _status(live) == "accepted"
    with live.runtime.sessions() as s:  # type: ignore[attr-defined]
        event = s.scalars(select(Event)).one()  # the only event: the accepted document
        assert (event.occurred_on, event.doc_number) == (dt.date(2016, 12, 21), "财税〔2016〕140号")
        due = s.scalars(select(Occurrence.due).where(Occurrence.obligation_id == duty, Occurrence.state == "open")).all()
    assert due, "the accepted document must start the duty"
    page.goto(live.url(f"/obligations/{duty}"))
    expect(page.locator("#occurrences")).to_contain_text(min(due).isoformat())
    expect(page.locator("#occurrences tr.occ-open").first).to_be_visible()
    page.goto(live.url("/audit?action=inbox.accepted"))
    row = page.locator("table.audit tbody tr").first
    expect(row).to_contain_text("inbox.accepted")
    expect(row).to_contain_text(USERS["supervisor"][0])
    page.goto(live.url("/audit?action=event.recorded"))
    expect(page.locator("table.audit tbody tr").first).to_contain_text("event.recorded")
    page.context.close()
