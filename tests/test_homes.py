"""The role homes and the web progress form over HTTP, on SQLite and PostgreSQL (real uvicorn).

A store with the seed plans and a small plan naming 市编办 as a co-unit; on
2016-10-10 the 9-30 check-in of every 全年工作 duty has passed. Checked here:
a login without a destination lands on the role's home; a clerk's 我的待办
holds exactly its units' actionable duties, most urgent first, and its
配合事项; a missed check-in is counted as 未报进展, never as 逾期; the
督办通报 ranks units exactly as the weekly email's scores do and serves the
chart as a PNG; a viewer reaches one unit's summary; the progress form records
a report (audited with ``source=web``), closes the check-in and is refused
on another unit's duty and without its CSRF token.
"""

from __future__ import annotations

import datetime as dt
import http.client
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from duban.engine.runtime.build import Runtime, build_runtime
from duban.engine.runtime.scores import directory_ranking
from duban.engine.runtime.settings import load_settings
from duban.engine.services.queries import CHECKIN_MISSED
from duban.store.models import AuditRecord, Obligation, Occurrence, ProgressReport, Unit
from duban.web import homes_model, readmodel
from duban.web.auth import add_user
from duban.web.server import ServerHandle, start_in_thread
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "pw-homes-123456"
AS_OF = dt.date(2016, 10, 10)
CO_PLAN = """\
plan:
  id: co-homes
  title: "配合事项测试方案"
  issuer: "揭阳市人民政府办公室"
  published: 2016-06-23
  plan_year: 2016
  units: jieyang
tasks:
  - no: 1
    title: "推进编制信息公开"
    requirements:
      - no: 1
        text: "公开机构编制目录。"
        units: "市财政局"
        co_units: "市编办"
        deadlines:
          - phrase: "2016年9月底前"
            source: cell
"""


@dataclass
class Client:
    """Keeps the session cookie; never follows redirects (the tests read them)."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, data: dict[str, Any] | None = None) -> tuple[int, dict[str, str], bytes]:
        parts = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            status, head, payload = resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()
        for key, value in head:
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return status, {k.lower(): v for k, v in head}, payload

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path)

    def csrf(self, path: str = "/login") -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.get(path)[2].decode())
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, name: str) -> str:
        """Log in from the bare login page (no destination): returns where the server sends us."""
        status, head, _ = self.request("POST", "/login", {"csrf": self.csrf(), "name": name, "password": PASSWORD})
        assert status == 303
        return head["location"]


@dataclass
class World:
    runtime: Runtime
    server: ServerHandle
    clerk_unit: int

    def client(self, name: str) -> Client:
        c = Client(self.server.url)
        assert c.login(name) == "/home"
        return c


def _page(path: str) -> str:
    sep = "&" if "?" in path else "?"
    return f"{path}{sep}as_of={AS_OF.isoformat()}"


@pytest.fixture
def world(seeded: Any, tmp_path: Path) -> Iterator[World]:
    settings = load_settings(environ={"DUBAN_DATABASE_URL": seeded.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "out")})
    rt = build_runtime(settings, engine=seeded.engine)
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "co.yaml").write_text(CO_PLAN, encoding="utf-8")
    from duban.engine.plans.importer import import_result
    from duban.engine.plans.planfile import load_plans
    from helpers import CAL, CHECKINS, DEFAULT_OFFSET

    result = load_plans([folder], units_dirs=[REPO / "rules" / "units"], calendar=CAL)
    with rt.sessions() as s, s.begin():
        import_result(s, result, calendar=CAL, actor="test", default_offset=DEFAULT_OFFSET, checkins=CHECKINS)
        for name, role, units in (("h-clerk", "clerk", ("市编办",)), ("h-sup", "supervisor", ()),
                                  ("h-viewer", "viewer", ()), ("h-admin", "admin", ())):
            add_user(s, name=name, role=role, password=PASSWORD, units=units, actor="test", hasher=FAST)
        unit = s.scalars(select(Unit.id).where(Unit.name == "市编办")).one()
    server = start_in_thread(settings, "127.0.0.1", 0, runtime=rt, secret="homes-test-" + "k" * 40, hasher=FAST)
    try:
        yield World(runtime=rt, server=server, clerk_unit=unit)
    finally:
        server.stop()


def test_each_role_lands_on_its_home_and_a_clerk_sees_its_duties_by_urgency(world: World) -> None:
    rt = world.runtime
    clerk = world.client("h-clerk")
    status, _, body = clerk.get(_page("/home"))
    html = body.decode()
    assert status == 200 and "<h1>我的待办</h1>" in html
    shown = [int(x) for x in re.findall(r'data-obligation="(\d+)"', html)]
    statuses = re.findall(r'<li class="todo [a-z]+" data-status="(\w+)" data-obligation', html)
    with rt.sessions() as s:
        until = readmodel.due_soon_until(rt.calendar, AS_OF, rt.due_soon_within)
        own = s.scalars(select(Obligation.id).where(Obligation.unit_id == world.clerk_unit)).all()
        truth = readmodel.statuses_of(s, own, as_of=AS_OF, until=until)
    actionable = {oid for oid, (st, _) in truth.items() if st in homes_model.ACTIONABLE}
    assert set(shown) == actionable and len(shown) == len(actionable)  # all of them, nobody else's
    assert statuses == sorted(statuses, key=readmodel.ORDER.index)  # most urgent first
    assert {"overdue", CHECKIN_MISSED} <= set(statuses)
    # the counts tell a missed check-in (未报进展) apart from a missed deadline (逾期)
    for st in ("overdue", CHECKIN_MISSED):
        tile = re.search(rf'data-status="{st}"><span class="n">(\d+)</span>', html)
        assert tile and int(tile.group(1)) == sum(1 for s_, _ in truth.values() if s_ == st)
    assert "配合事项测试方案" not in html and "公开机构编制目录" in html  # the co-unit item, lead 市财政局
    assert f'href="/units/{world.clerk_unit}?as_of=' in html  # the long flat list, one click away

    sup = world.client("h-sup")
    status, head, _ = sup.get(_page("/home"))
    assert status == 303 and head["location"] == _page("/bulletin")
    viewer = world.client("h-viewer")
    status, head, _ = viewer.get(_page("/home"))
    assert status == 303 and head["location"] == _page("/summary")
    status, _, body = viewer.get(_page(f"/summary?unit={world.clerk_unit}"))
    assert status == 200 and "市编办 · 单位概况" in body.decode() and 'id="missed"' in body.decode()


def test_the_bulletin_ranks_as_the_weekly_email_and_serves_its_chart(world: World) -> None:
    rt = world.runtime
    sup = world.client("h-admin")
    status, _, body = sup.get(_page("/bulletin"))
    html = body.decode()
    assert status == 200
    shown = re.findall(r'<li class="rank-row[^"]*" data-unit="([^"]+)"', html)
    with rt.sessions() as s:
        expected = [r.unit for r in directory_ranking(rt.calendar, due_soon_within=rt.due_soon_within)(s, AS_OF, "jieyang")]
    assert shown == expected and len(shown) > 20
    assert len(re.findall(r'<li data-day="', html)) == homes_model.TREND_WEEKS
    status, head, png = sup.get(_page("/bulletin/chart.png"))
    assert status == 200 and head["content-type"] == "image/png" and png.startswith(b"\x89PNG\r\n\x1a\n")
    clerk = world.client("h-clerk")  # every account may read the bulletin; nobody anonymous
    assert clerk.get(_page("/bulletin/chart.png"))[0] == 200
    assert Client(world.server.url).get(_page("/bulletin/chart.png"))[0] == 303


def test_the_progress_form_answers_the_check_in_and_is_audited(world: World) -> None:
    rt = world.runtime
    with rt.sessions() as s:
        own, other = (s.scalars(
            select(Obligation.id).join(Occurrence, Occurrence.obligation_id == Obligation.id)
            .where(where, Occurrence.checkin.is_(True), Occurrence.state == "open", Occurrence.due < AS_OF)
            .order_by(Obligation.id).limit(1)).one()
            for where in (Obligation.unit_id == world.clerk_unit, Obligation.unit_id != world.clerk_unit))
    clerk = world.client("h-clerk")
    token = clerk.csrf(_page(f"/obligations/{own}"))
    form = {"csrf": token, "on": "2016-10-09", "text": "已完成门户网站栏目改版，正在整理第三季度公开清单。",
            "evidence": "https://www.jieyang.example/bb/2016q3"}
    status, head, _ = clerk.request("POST", _page(f"/obligations/{own}/progress"), form)
    assert status == 303 and head["location"].startswith(f"/obligations/{own}?")
    html = clerk.get(_page(f"/obligations/{own}"))[2].decode()
    assert "已完成门户网站栏目改版" in html and "答复 2016-09-30 检查点" in html
    with rt.sessions() as s:
        report = s.scalars(select(ProgressReport).where(ProgressReport.obligation_id == own)).one()
        checkin = s.get(Occurrence, report.occurrence_id)
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "obligation.progress")).one()
        status_now = readmodel.statuses_of(s, [own], as_of=AS_OF,
                                           until=readmodel.due_soon_until(rt.calendar, AS_OF, rt.due_soon_within))[own][0]
    assert checkin is not None and checkin.state == "done" and checkin.checkin
    assert (rec.actor, rec.source, rec.object_id) == ("h-clerk", "web", str(own))
    assert status_now != CHECKIN_MISSED  # no longer urged; the duty itself stays open
    # another unit's duty: refused and audited; a post without its token: refused
    status, _, body = clerk.request("POST", _page(f"/obligations/{other}/progress"), {**form, "csrf": token})
    assert status == 403 and "无权登记完成" in body.decode()
    status, _, _ = clerk.request("POST", _page(f"/obligations/{own}/progress"), {k: v for k, v in form.items()
                                                                                    if k != "csrf"})
    assert status == 403
    status, _, body = clerk.request("POST", _page(f"/obligations/{own}/progress"), {**form, "text": " "})
    assert status == 400 and "进展情况" in body.decode()
    with rt.sessions() as s:
        assert len(s.scalars(select(ProgressReport)).all()) == 1
        denied = s.scalars(select(AuditRecord).where(AuditRecord.action == "web.denied")).all()
    assert [(d.object_type, d.after["action"]) for d in denied] == [("obligation", "obligation.complete"),
                                                                      ("csrf", "view")]
