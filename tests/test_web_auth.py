"""The dashboard over HTTP: who may do what (role × action × ownership), on SQLite and PostgreSQL.

A real uvicorn server (``start_in_thread``) serves each backend's store with
the seed plans imported; a small cookie-keeping client speaks HTTP to it. Every
refusal must be a 403 with exactly one ``web.denied`` audit row naming the
user; every allowed action must go through the engine's service with
``source="web"`` and the user as actor; an anonymous visitor sees nothing.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import stat
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from duban.cli.main import cli
from duban.engine.runtime.settings import load_settings
from duban.engine.deadlines.spec import Offset
from duban.engine.services.events import record_event
from duban.engine.services.extensions import request_extension
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import load_plans
from duban.engine.runtime.build import build_runtime
from duban.store.db import make_engine, session_factory, upgrade
from duban.store.models import (
    AuditRecord,
    Extension,
    LoginAttempt,
    Obligation,
    Occurrence,
    Trigger,
    Unit,
    User,
    UserUnit,
)
from duban.web.auth import (
    ACCOUNT_LIMIT,
    AccountError,
    Role,
    SecretFileError,
    add_user,
    create_demo_accounts,
    load_secret,
)
from duban.web.server import ServerError, ServerHandle, bind, start_in_thread
from helpers import create_database, database_url, drop_database
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "rules" / "plans"
PLAN = "jieyang-2016-disclosure"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests only: real hashes, cheap
SECRET = "test-secret-" + "s" * 40
CLERK_UNIT = "市编办"
ROLES = ("admin", "supervisor", "clerk", "viewer")
ON = "2016-09-01"
UNTIL = "2018-01-31"


# --------------------------------------------------------------------------- a small HTTP client


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    text: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]


@dataclass
class Client:
    """Keeps the session cookie like a browser; never follows redirects (the tests read them)."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, data: dict[str, Any] | None = None) -> Reply:
        parts = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode({k: v for k, v in data.items() if v is not None})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            reply = Reply(status=resp.status, headers=resp.getheaders(), text=resp.read().decode("utf-8", "replace"))
        finally:
            conn.close()
        for cookie in reply.cookies():
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in cookie.lower() or value in ("", "null"):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, Any]) -> Reply:
        return self.request("POST", path, data)

    def csrf(self, path: str = "/login") -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, name: str, password: str) -> Reply:
        return self.post("/login", {"csrf": self.csrf(), "name": name, "password": password, "next": "/"})


# --------------------------------------------------------------------------- the world: a seeded store and a server


@dataclass
class World:
    backend: str
    server: ServerHandle
    sessions: Any
    users: dict[str, tuple[str, str]]
    clients: dict[str, Client]
    own: list[int]
    other: list[int]
    clerk_unit: int
    other_unit: int
    triggers: dict[str, int]
    events: dict[str, int]
    extensions: dict[str, int]

    def anonymous(self) -> Client:
        return Client(self.server.url)

    def last_audit(self) -> AuditRecord:
        with self.sessions() as s:
            return s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()

    def audit_count(self) -> int:
        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def seed(url: str, tmp: Path) -> tuple[Any, Any]:
    """Migrate, import the seed plans; return (settings, runtime) on the store."""
    settings = load_settings(environ={"DUBAN_DATABASE_URL": url, "DUBAN_OUTBOX_DIR": str(tmp / "outbox")})
    engine = make_engine(url)
    upgrade(engine)
    runtime = build_runtime(settings, engine=engine)
    result = load_plans([PLANS], units_dirs=list(settings.units_dirs), calendar=runtime.calendar)
    assert result.ok, result.errors
    with runtime.sessions() as s, s.begin():
        import_result(s, result, calendar=runtime.calendar, actor="test", source="cli",
                      default_offset=Offset(unit="working_days", amount=settings.trigger_default_offset_working_days),
                      checkins=settings.ongoing_checkins)
    return settings, runtime


def open_obligations(s: Any, unit: int, n: int, *, own: bool = True) -> list[int]:
    """``n`` live obligations with an open due instance, of ``unit`` (or, ``own=False``, of any other unit)."""
    where = Obligation.unit_id == unit if own else Obligation.unit_id != unit
    ids = s.scalars(select(Obligation.id).join(Occurrence, Occurrence.obligation_id == Obligation.id)
                    .where(where, Obligation.state == "active", Obligation.kind != "triggered",
                           Occurrence.state == "open").distinct().order_by(Obligation.id).limit(n)).all()
    assert len(ids) == n, (unit, len(ids))
    return list(ids)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("web")
    dropper = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'duban.db'}"
    else:
        pg_admin = request.getfixturevalue("pg_admin")
        template = request.getfixturevalue("pg_template")
        name = create_database(pg_admin, prefix="duban_w", template=template)
        url = database_url(pg_admin, name)

        def dropper() -> None:
            drop_database(pg_admin, name)

    settings, runtime = seed(url, tmp)
    users = {role: (f"t-{role}", f"pw-{role}-0123456789") for role in ROLES}
    with runtime.sessions() as s, s.begin():
        for role, (name, password) in users.items():
            add_user(s, name=name, role=role, password=password, units=(CLERK_UNIT,) if role == "clerk" else (),
                     actor="test", hasher=FAST)
        clerk_unit = s.scalar(select(Unit.id).where(Unit.name == CLERK_UNIT))
        own = open_obligations(s, clerk_unit, 13)
        other = open_obligations(s, clerk_unit, 24, own=False)
        other_unit = s.get(Obligation, other[0]).unit_id
        triggers = {t.key: t.id for t in s.scalars(select(Trigger).where(Trigger.plan_id == PLAN))}
        events = {}
        for role in ROLES:
            for what in ("correct", "retract"):
                ((ev, _),) = record_event(s, trigger_key="major_emergency", plan=PLAN, on=dt.date(2016, 9, 2),
                                          actor="setup", proj=runtime.projection, title=f"{what}-{role}")
                events[f"{what}-{role}"] = ev.id
        extensions = {role: request_extension(s, other[12 + i], until=dt.date(2018, 1, 31), reason="setup",
                                              actor="setup-clerk").id for i, role in enumerate(ROLES)}
    server = start_in_thread(settings, "127.0.0.1", 0, runtime=runtime, secret=SECRET, hasher=FAST)
    clients = {}
    for role, (name, password) in users.items():
        c = Client(server.url)
        reply = c.login(name, password)
        assert reply.status == 303, reply.text
        clients[role] = c
    yield World(backend=request.param, server=server, sessions=runtime.sessions, users=users, clients=clients,
                own=own, other=other, clerk_unit=clerk_unit, other_unit=other_unit, triggers=triggers, events=events,
                extensions=extensions)
    server.stop()
    runtime.engine.dispose()
    if dropper:
        dropper()


# --------------------------------------------------------------------------- the matrix: pages


def page_paths(w: World) -> dict[str, str]:
    return {
        "overview": "/?as_of=2016-09-01",
        "overview-all": "/?plan=all&as_of=2016-09-01",
        "plan": f"/plans/{PLAN}?as_of=2016-09-01",
        "units": "/units",
        "unit-own": f"/units/{w.clerk_unit}",
        "unit-other": f"/units/{w.other_unit}",
        "obligation-own": f"/obligations/{w.own[12]}",
        "obligation-other": f"/obligations/{w.other[23]}",
        "triggers": "/triggers",
        "extensions": "/extensions",
        "timeline": "/timeline?as_of=2016-07-01",
        "report-csv": f"/reports/{PLAN}.csv?as_of=2016-09-01",
        "report-html": f"/reports/{PLAN}.html?as_of=2016-09-01",
        "calendar-ics": f"/units/{w.clerk_unit}/calendar.ics",
        "audit": "/audit",
        "users": "/users",
    }


PAGE_RULES = {"audit": {"admin", "supervisor"}, "users": {"admin"}}
PAGES = ["overview", "overview-all", "plan", "units", "unit-own", "unit-other", "obligation-own",
         "obligation-other", "triggers", "extensions", "timeline", "report-csv", "report-html", "calendar-ics",
         "audit", "users"]
DENIED_ACTION = {"audit": "audit.view", "users": "users.view"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PAGES)
def test_page_matrix(world: World, role: str, name: str) -> None:
    path = page_paths(world)[name]
    before = world.audit_count()
    reply = world.clients[role].get(path)
    allowed = role in PAGE_RULES.get(name, set(ROLES))
    if allowed:
        assert reply.status == 200, reply.text[:500]
        assert world.audit_count() == before  # reading writes nothing
    else:
        assert reply.status == 403
        assert world.audit_count() == before + 1
        rec = world.last_audit()
        assert (rec.action, rec.actor, rec.source) == ("web.denied", world.users[role][0], "web")
        assert rec.after["action"] == DENIED_ACTION[name] and rec.after["role"] == role


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(world: World, name: str) -> None:
    path = page_paths(world)[name]
    reply = world.anonymous().get(path)
    assert reply.status == 303
    location = reply.header("location") or ""
    assert location.startswith("/login?next=") and urllib.parse.unquote(location.split("next=", 1)[1]) == path


# --------------------------------------------------------------------------- the matrix: actions


@dataclass(frozen=True)
class Action:
    """A form post: where it goes, what it sends, who may, and the audit action it writes when allowed."""

    rule: str
    allowed: frozenset[str]
    audited_as: str


ACTIONS: dict[str, Action] = {
    "complete-own": Action(rule="obligation.complete", allowed=frozenset({"admin", "supervisor", "clerk"}),
                           audited_as="obligation.completed"),
    "complete-other": Action(rule="obligation.complete", allowed=frozenset({"admin", "supervisor"}),
                             audited_as="obligation.completed"),
    "waive-other": Action(rule="obligation.waive", allowed=frozenset({"admin", "supervisor"}),
                          audited_as="obligation.waived"),
    "waive-own": Action(rule="obligation.waive", allowed=frozenset({"admin", "supervisor"}),
                        audited_as="obligation.waived"),
    "extend-own": Action(rule="extension.request", allowed=frozenset({"admin", "supervisor", "clerk"}),
                         audited_as="extension.requested"),
    "extend-other": Action(rule="extension.request", allowed=frozenset({"admin", "supervisor"}),
                           audited_as="extension.requested"),
    "approve": Action(rule="extension.decide", allowed=frozenset({"admin", "supervisor"}),
                      audited_as="extension.approved"),
    "reject": Action(rule="extension.decide", allowed=frozenset({"admin", "supervisor"}),
                     audited_as="extension.rejected"),
    "record-event": Action(rule="event.record", allowed=frozenset({"admin", "supervisor"}),
                           audited_as="event.recorded"),
    "correct-event": Action(rule="event.correct", allowed=frozenset({"admin", "supervisor"}),
                            audited_as="event.corrected"),
    "retract-event": Action(rule="event.retract", allowed=frozenset({"admin", "supervisor"}),
                            audited_as="event.retracted"),
}
EVENT_TRIGGERS = {"admin": "gd_negative_list_doc", "supervisor": "central_soe_disclosure_rules",
                  "clerk": "mep_eia_participation_rules", "viewer": "gd_major_decision_doc"}


def action_request(w: World, name: str, role: str) -> tuple[str, dict[str, Any]]:
    """The path and form of ``name`` for ``role`` — each role acts on its own objects, so cases never collide."""
    i = ROLES.index(role)
    if name == "complete-own":
        return f"/obligations/{w.own[i]}/complete", {"on": ON, "evidence": f"https://example.gov.cn/{role}"}
    if name == "complete-other":
        return f"/obligations/{w.other[i]}/complete", {"on": ON, "evidence": f"https://example.gov.cn/{role}"}
    if name == "waive-other":
        return f"/obligations/{w.other[4 + i]}/waive", {"reason": "已并入其他事项"}
    if name == "waive-own":
        return f"/obligations/{w.own[8 + i]}/waive", {"reason": "已并入其他事项"}
    if name == "extend-own":
        return f"/obligations/{w.own[4 + i]}/extensions", {"until": UNTIL, "reason": "需要省里的数据"}
    if name == "extend-other":
        return f"/obligations/{w.other[8 + i]}/extensions", {"until": UNTIL, "reason": "需要省里的数据"}
    if name == "approve":
        return f"/extensions/{w.extensions[role]}/approve", {"note": "同意"}
    if name == "reject":  # the same request as approve: whichever runs second for a role is refused as decided
        return f"/extensions/{w.extensions[role]}/reject", {"reason": "理由不足"}
    if name == "record-event":
        return f"/triggers/{w.triggers[EVENT_TRIGGERS[role]]}/events", {"on": ON, "doc_number": f"粤府〔2016〕{i}号"}
    if name == "correct-event":
        return f"/events/{w.events['correct-' + role]}/correct", {"on": "2016-09-05", "reason": "日期录错"}
    if name == "retract-event":
        return f"/events/{w.events['retract-' + role]}/retract", {"reason": "登记错误"}
    raise AssertionError(name)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", [n for n in ACTIONS if n != "reject"])
def test_action_matrix(world: World, role: str, name: str) -> None:
    action = ACTIONS[name]
    client = world.clients[role]
    path, form = action_request(world, name, role)
    before = world.audit_count()
    reply = client.post(path, {"csrf": client.csrf("/"), **form})
    rec = world.last_audit()
    if role in action.allowed:
        assert reply.status == 303, reply.text[:800]
        assert world.audit_count() == before + 1  # exactly the service's own record
        assert (rec.action, rec.actor, rec.source) == (action.audited_as, world.users[role][0], "web")
    else:
        assert reply.status == 403, reply.text[:800]
        assert world.audit_count() == before + 1
        assert (rec.action, rec.actor, rec.source) == ("web.denied", world.users[role][0], "web")
        assert rec.after["action"] == action.rule and rec.after["role"] == role


@pytest.mark.parametrize("role", ROLES)
def test_reject_is_a_supervisors_decision_too(world: World, role: str) -> None:
    """Reject on a fresh request (approve has its own) — same rule, its own audit action."""
    with world.sessions() as s, s.begin():
        ext = request_extension(s, world.other[16 + ROLES.index(role)], until=dt.date(2018, 2, 28),
                                reason="setup", actor="setup-clerk")
    client = world.clients[role]
    reply = client.post(f"/extensions/{ext.id}/reject", {"csrf": client.csrf("/"), "reason": "理由不足"})
    rec = world.last_audit()
    if role in ACTIONS["reject"].allowed:
        assert reply.status == 303 and rec.action == "extension.rejected" and rec.actor == world.users[role][0]
    else:
        assert reply.status == 403 and rec.action == "web.denied" and rec.after["action"] == "extension.decide"


def test_a_clerk_sees_only_its_own_forms(world: World) -> None:
    clerk = world.clients["clerk"]
    own = clerk.get(f"/obligations/{world.own[12]}").text
    other = clerk.get(f"/obligations/{world.other[23]}").text
    assert 'id="complete-form"' in own and 'id="extension-form"' in own and 'id="waive-form"' not in own
    assert 'id="complete-form"' not in other and 'id="extension-form"' not in other
    sup = world.clients["supervisor"].get(f"/obligations/{world.other[23]}").text
    assert 'id="complete-form"' in sup and 'id="waive-form"' in sup


def test_nobody_decides_their_own_extension_request(world: World) -> None:
    sup = world.clients["supervisor"]
    path, form = f"/obligations/{world.other[20]}/extensions", {"until": UNTIL, "reason": "自己申请"}
    assert sup.post(path, {"csrf": sup.csrf("/"), **form}).status == 303
    with world.sessions() as s:
        ext_id = s.scalar(select(Extension.id).where(Extension.obligation_id == world.other[20]))
    reply = sup.post(f"/extensions/{ext_id}/approve", {"csrf": sup.csrf("/")})
    assert reply.status == 403
    rec = world.last_audit()
    assert rec.action == "web.denied" and rec.after["action"] == "extension.decide"
    assert "may not decide" in (rec.reason or "")


def test_anonymous_posts_are_refused_without_touching_anything(world: World) -> None:
    before = world.audit_count()
    anon = world.anonymous()
    for name in ACTIONS:
        path, form = action_request(world, name, "admin")
        assert anon.post(path, {"csrf": anon.csrf(), **form}).status == 403
    assert world.audit_count() == before  # nothing changed; anonymous noise is not audited (no log flooding)


# --------------------------------------------------------------------------- CSRF, sessions, login


def test_a_form_without_or_with_a_wrong_csrf_token_is_refused_and_audited(world: World) -> None:
    admin = world.clients["admin"]
    path, form = f"/obligations/{world.other[21]}/complete", {"on": ON, "evidence": "https://example.gov.cn/x"}
    for token in (None, "forged-token-" + "x" * 40):
        before = world.audit_count()
        reply = admin.post(path, {"csrf": token, **form})
        assert reply.status == 403 and "CSRF" in reply.text
        assert world.audit_count() == before + 1
        rec = world.last_audit()
        assert rec.action == "web.denied" and rec.object_type == "csrf" and rec.actor == world.users["admin"][0]
    with world.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Occurrence).where(
            Occurrence.obligation_id == world.other[21], Occurrence.state == "done")) == 0
    # the login form is protected too (login CSRF)
    anon = world.anonymous()
    anon.get("/login")
    assert anon.post("/login", {"name": "t-admin", "password": "pw-admin-0123456789"}).status == 403


def test_session_cookie_flags_and_security_headers(world: World) -> None:
    c = world.anonymous()
    reply = c.get("/login")
    cookie = next(v for v in reply.cookies() if v.startswith("duban_session="))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # served over http here; https sets it (next test)
    assert reply.header("x-frame-options") == "DENY" and reply.header("x-content-type-options") == "nosniff"
    assert "frame-ancestors 'none'" in (reply.header("content-security-policy") or "")
    assert reply.header("cache-control") == "no-store"


def test_https_marks_the_cookie_secure(tmp_path: Path) -> None:
    settings = load_settings(environ={"DUBAN_DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db"),
                                      "DUBAN_WEB_BASE_URL": "https://duban.example"})
    with start_in_thread(settings, "127.0.0.1", 0, secret=SECRET, hasher=FAST) as server:
        cookie = next(v for v in Client(server.url).get("/login").cookies() if v.startswith("duban_session="))
    assert "; secure" in cookie.lower() and "httponly" in cookie.lower()


def test_logout_ends_every_copy_of_the_session(world: World) -> None:
    c = Client(world.server.url)
    name, password = world.users["viewer"]
    assert c.login(name, password).status == 303
    stolen = dict(c.cookies)
    assert c.get("/").status == 200
    reply = c.post("/logout", {"csrf": c.csrf("/")})
    assert reply.status == 303 and (reply.header("location") or "").startswith("/login")
    replay = Client(world.server.url, cookies=stolen)
    assert replay.get("/").status == 303  # the old cookie is dead: the account's epoch moved on
    assert world.clients["viewer"].get("/").status == 303  # so is every other session of the account
    world.clients["viewer"] = Client(world.server.url)
    assert world.clients["viewer"].login(name, password).status == 303


def test_a_forged_cookie_is_nobody(world: World) -> None:
    c = Client(world.server.url, cookies={"duban_session": "eyJ1aWQiOiAxLCAiZXAiOiAwfQ==.forged.sig"})
    assert c.get("/").status == 303


def test_login_rate_limit_per_account(world: World) -> None:
    with world.sessions() as s, s.begin():
        add_user(s, name="t-locked", role="viewer", password="right-password-1", actor="test", hasher=FAST)
    c = world.anonymous()
    for _ in range(ACCOUNT_LIMIT):
        assert c.login("t-locked", "wrong-password-x").status == 401
    reply = c.login("t-locked", "right-password-1")  # even the right password: locked for the window
    assert reply.status == 429 and "次数过多" in reply.text
    with world.sessions() as s:
        rows = s.execute(select(LoginAttempt.ok).where(LoginAttempt.name == "t-locked")).scalars().all()
    assert rows.count(False) == ACCOUNT_LIMIT and True not in rows  # a refused attempt leaves no row


def test_login_success_clears_the_account_count_and_refuses_open_redirects(world: World) -> None:
    with world.sessions() as s, s.begin():
        add_user(s, name="t-retry", role="viewer", password="right-password-2", actor="test", hasher=FAST)
    c = world.anonymous()
    for _ in range(ACCOUNT_LIMIT - 1):
        assert c.login("t-retry", "nope-nope-nope").status == 401
    token = c.csrf("/login?next=//evil.example/x")
    reply = c.post("/login?next=//evil.example/x", {"csrf": token, "name": "t-retry",
                                                    "password": "right-password-2", "next": "//evil.example/x"})
    assert reply.status == 303 and reply.header("location") == "/"
    c2 = world.anonymous()
    assert c2.login("t-retry", "nope-nope-nope").status == 401  # counted afresh after the success
    assert c2.login("t-retry", "right-password-2").status == 303


def test_unknown_account_and_bad_as_of(world: World) -> None:
    c = world.anonymous()
    reply = c.login("nobody-here", "whatever-123456")
    assert reply.status == 401 and "账号或密码不正确" in reply.text
    assert world.clients["viewer"].get("/?as_of=2016-13-40").status == 400
    assert world.clients["viewer"].get("/plans/no-such-plan").status == 404
    assert world.clients["viewer"].get("/obligations/999999999").status == 404


def test_a_completion_in_the_future_is_refused(world: World) -> None:
    admin = world.clients["admin"]
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    reply = admin.post(f"/obligations/{world.other[22]}/complete",
                       {"csrf": admin.csrf("/"), "on": tomorrow, "evidence": "x"})
    assert reply.status == 400 and "晚于今天" in reply.text


# --------------------------------------------------------------------------- accounts, CLI and the secret


def test_user_cli_add_list_passwd_and_demo(store, env_for) -> None:
    env = env_for(store)
    runner = CliRunner()
    assert runner.invoke(cli, ["plan", "import", str(PLANS)], env=env).exit_code == 0
    res = runner.invoke(cli, ["user", "add", "lin-yu", "--role", "clerk", "--unit", CLERK_UNIT, "--password-stdin",
                              "--display-name", "林瑜"], input="a-long-password-1\n", env=env)
    assert res.exit_code == 0, res.output
    bad = runner.invoke(cli, ["user", "add", "x-clerk", "--role", "clerk", "--password-stdin"], input="pw-long-enough\n",
                        env=env)
    assert bad.exit_code == 1 and "needs at least one unit" in bad.stderr
    typo = runner.invoke(cli, ["user", "add", "y-clerk", "--role", "clerk", "--unit", "市编", "--password-stdin"],
                         input="pw-long-enough\n", env=env)
    assert typo.exit_code == 1 and "did you mean" in typo.stderr and "市编办" in typo.stderr
    short = runner.invoke(cli, ["user", "add", "z", "--role", "viewer", "--password-stdin"], input="short\n", env=env)
    assert short.exit_code == 1 and "at least 10" in short.stderr
    listed = json.loads(runner.invoke(cli, ["user", "list", "--json"], env=env).stdout)
    assert listed == [{"name": "lin-yu", "role": "clerk", "display_name": "林瑜", "units": [CLERK_UNIT],
                       "active": True, "created_at": listed[0]["created_at"]}]
    with store.sessions() as s:
        user = s.scalars(select(User)).one()
        assert user.password_hash.startswith("$argon2id$") and "a-long-password-1" not in user.password_hash
        created = s.scalars(select(AuditRecord).where(AuditRecord.action == "user.created")).one()
        assert "password" not in json.dumps(created.after) and created.source == "cli"
    assert runner.invoke(cli, ["user", "passwd", "lin-yu", "--password-stdin"], input="another-password-2\n",
                         env=env).exit_code == 0
    with store.sessions() as s:
        assert s.scalar(select(User.session_epoch).where(User.name == "lin-yu")) == 1
    demo = runner.invoke(cli, ["user", "demo"], env=env)
    assert demo.exit_code == 0 and "demo-clerk" in demo.stdout and "演示" in demo.stdout
    names = [r["name"] for r in json.loads(runner.invoke(cli, ["user", "list", "--json"], env=env).stdout)]
    assert names == ["lin-yu", "demo-admin", "demo-supervisor", "demo-clerk", "demo-viewer"]


def test_demo_accounts_get_fresh_passwords_every_time(store, tmp_path: Path) -> None:
    seed(store.url, tmp_path)
    factory = session_factory(store.engine)
    with factory() as s, s.begin():
        first = {a.name: a.password for a in create_demo_accounts(s, hasher=FAST)}
    with factory() as s, s.begin():
        second = {a.name: a.password for a in create_demo_accounts(s, hasher=FAST)}
        roles = dict(s.execute(select(User.name, User.role)).tuples().all())
    assert set(first) == set(second) == {"demo-admin", "demo-supervisor", "demo-clerk", "demo-viewer"}
    assert all(first[n] != second[n] and len(second[n]) >= 16 for n in first)
    assert roles["demo-clerk"] == Role.CLERK and roles["demo-supervisor"] == Role.SUPERVISOR


def test_the_session_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    first = load_secret(tmp_path, environ={})
    path = tmp_path / "var" / "web-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 32
    assert load_secret(tmp_path, environ={}) == first
    assert load_secret(tmp_path, environ={"DUBAN_WEB_SECRET": "e" * 40}) == "e" * 40
    with pytest.raises(SecretFileError):
        load_secret(tmp_path, environ={"DUBAN_WEB_SECRET": "short"})
    os.chmod(path, 0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        load_secret(tmp_path, environ={})


def test_a_port_in_use_fails_loudly(tmp_path: Path) -> None:
    taken = bind("127.0.0.1", 0)
    try:
        settings = load_settings(environ={"DUBAN_DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")})
        with pytest.raises(ServerError, match="cannot listen"):
            start_in_thread(settings, "127.0.0.1", taken.getsockname()[1], secret=SECRET, hasher=FAST)
    finally:
        taken.close()


def test_a_unit_name_found_in_two_directories_must_be_qualified(store, tmp_path: Path) -> None:
    seed(store.url, tmp_path)
    factory = session_factory(store.engine)
    with factory() as s, s.begin():
        s.add(Unit(name=CLERK_UNIT, directory="shantou", is_group=False, is_supervisor=False, aliases=[]))
    with factory() as s, s.begin():
        with pytest.raises(AccountError, match="several directories"):
            add_user(s, name="amb", role="clerk", password="long-enough-pw", units=(CLERK_UNIT,), actor="t",
                     hasher=FAST)
    with factory() as s, s.begin():
        user = add_user(s, name="amb", role="clerk", password="long-enough-pw", units=(f"jieyang:{CLERK_UNIT}",),
                        actor="t", hasher=FAST)
        unit = s.scalar(select(Unit).join(UserUnit, UserUnit.unit_id == Unit.id).where(UserUnit.user_id == user.id))
    assert unit is not None and unit.directory == "jieyang"


def test_the_audit_page_filters_pages_and_verifies(world: World) -> None:
    viewer, sup = world.clients["viewer"], world.clients["supervisor"]
    for _ in range(101):  # refusals are audited: enough of them for a second page
        assert viewer.get("/users").status == 403
    page = sup.get("/audit?action=web.*&source=web")
    assert page.status == 200 and "哈希链完整" in page.text
    assert set(re.findall(r'<td class="action">([^<]+)</td>', page.text)) == {"web.denied"}
    mine = sup.get(f"/audit?actor={world.users['viewer'][0]}&object_type=route")
    assert set(re.findall(r'<td class="action">([^<]+)</td>', mine.text)) == {"web.denied"}
    first = sup.get("/audit")
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td><td class="nowrap">', first.text)]
    assert len(seqs) == 100 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="(/audit\?before=\d+[^"]*)"', first.text)
    assert older, "a second page exists"
    nxt = sup.get(older.group(1).replace("&amp;", "&"))
    more = [int(s) for s in re.findall(r'<td class="num">(\d+)</td><td class="nowrap">', nxt.text)]
    assert more and max(more) == min(seqs) - 1
    assert sup.get("/audit?since=2016-99-01").status == 400
    empty = sup.get("/audit?since=2999-01-01")
    assert empty.status == 200 and "无审计记录" in empty.text


# --------------------------------------------------------------------------- hardening (issue 14): limits, bounds, sessions


def test_out_of_range_query_and_path_values_are_400_with_security_headers(world: World) -> None:
    """Row 8: ?as_of=9999-12-31, since=0001-01-01 and huge ids gave 500s without security headers."""
    c = world.clients["supervisor"]
    for path in ("/?as_of=9999-12-31", "/timeline?as_of=0001-01-01", "/audit?since=0001-01-01",
                 "/audit?since=9999-12-31", "/audit?before=99999999999999999999",
                 "/obligations/99999999999999999999", "/units/99999999999999999999/calendar.ics",
                 "/timeline?months=99999999999999999999999"):
        reply = c.get(path)
        assert reply.status == 400, (path, reply.status)
        assert reply.header("content-security-policy") and reply.header("x-frame-options") == "DENY", path
    token = c.csrf(f"/obligations/{world.other[0]}")
    reply = c.post("/extensions/99999999999999999999/approve", {"csrf": token})
    assert reply.status == 400


def test_bodies_over_the_limit_are_refused_before_reading(world: World) -> None:
    """Row 1: an anonymous 1.5 GB POST to /login grew the server by 1 GB; an upload went to /tmp in full."""
    parts = urllib.parse.urlsplit(world.server.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:  # declares 1.5 GB and sends none of it: the answer must come without waiting for the body
        conn.putrequest("POST", "/login")
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(1_500_000_000))
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413 and resp.getheader("content-security-policy")
    finally:
        conn.close()
    # A chunked body with no Content-Length is counted while it streams.
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        chunks = (b"name=" + b"a" * 65536 for _ in range(64))  # 4 MiB
        conn.request("POST", "/login", body=chunks, headers={"Content-Type": "application/x-www-form-urlencoded"},
                     encode_chunked=True)
        assert conn.getresponse().status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading and closed: also a refusal
    finally:
        conn.close()
    c = world.anonymous()
    token = c.csrf()
    assert c.post("/login", {"csrf": token, "name": "x" * 300_000, "password": "y"}).status == 413


def test_the_session_has_an_absolute_lifetime(world: World) -> None:
    """Row 11: a session never expired while in use (re-signed on every response)."""
    import base64

    from itsdangerous import TimestampSigner

    with world.sessions() as s:
        user = s.scalar(select(User).where(User.name == world.users["viewer"][0]))
        uid, epoch = user.id, user.session_epoch

    def cookie(iat: float) -> str:
        data = base64.b64encode(json.dumps({"uid": uid, "ep": epoch, "iat": int(iat)}).encode())
        return TimestampSigner(SECRET).sign(data).decode()

    now = dt.datetime.now(dt.timezone.utc).timestamp()
    fresh = Client(world.server.url, cookies={"duban_session": cookie(now - 60)})
    assert fresh.get("/units").status == 200
    stale = Client(world.server.url, cookies={"duban_session": cookie(now - 9 * 3600)})
    reply = stale.get("/units")
    assert reply.status == 303 and reply.header("location", ).startswith("/login")


def test_the_html_report_style_is_allowed_by_its_own_policy(world: World) -> None:
    """Row 11: the report's inline style was blocked by the app's own CSP."""
    import base64
    import hashlib

    reply = world.clients["viewer"].get(f"/reports/{PLAN}.html?as_of=2016-09-01")
    assert reply.status == 200
    style = re.search(r"<style>(.*?)</style>", reply.text, re.S)
    assert style
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    policy = reply.header("content-security-policy") or ""
    assert f"'sha256-{digest}'" in policy and "unsafe-inline" not in policy and "script-src 'none'" in policy
