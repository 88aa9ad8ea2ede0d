"""The dashboard's pages and forms (看板页面与表单).

Each handler reads through :mod:`duban.web.readmodel` and changes state only
through the engine's services (:mod:`duban.engine.services.events`,
:mod:`duban.engine.services.extensions`) with ``source="web"``, the logged-in user as
actor and the user's role and units, so the audit log reads the same as for
the CLI. Handlers check the object-level permission first (``page.require``),
so a refusal is audited before any service runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..engine.services import completions as completion_service
from ..engine.services import events as event_service
from ..engine.services import extensions as extension_service
from ..engine.services import reports
from ..store import audit
from ..store.models import AuditRecord, Event, Extension, Obligation, Trigger, Unit
from . import readmodel
from .homes import routes as home_routes
from .inbox import routes as inbox_routes
from .auth import CLIENT_LIMIT, PAIR_LIMIT, WINDOW, authenticate, csrf_ok, end_sessions, list_users
from .freshness import Scope
from .context import CSP, BadRequest, Page, PageNotFound, WebContext, bounded_int, read_form, render, route

ALL = "all"
AUTO_VERIFY_MAX = 100_000  # audit chains up to this length are verified on every view (cached by head)


def _scope(page: Page, plans: list[readmodel.PlanInfo]) -> str | None:
    """The plan a page is about: ``?plan=ID``, ``?plan=all`` (None), else the newest plan."""
    wanted = page.param("plan")
    if wanted == ALL:
        return None
    if wanted is not None:
        if wanted not in {p.id for p in plans}:
            raise PageNotFound(f"没有方案 {wanted!r}")
        return wanted
    return plans[0].id if plans else None


def _int(value: str | None, what: str) -> int | None:
    return None if value is None else bounded_int(value, what)


def _path_int(page: Page, name: str) -> int:
    return bounded_int(page.request.path_params[name], name)


# --------------------------------------------------------------------------- pages


def overview(page: Page) -> Response:
    plans = readmodel.list_plan_infos(page.db)
    plan_id = _scope(page, plans)

    def compute() -> readmodel.Overview:
        return readmodel.overview(page.db, as_of=page.as_of, calendar=page.web.runtime.calendar, plan_id=plan_id,
                                  due_soon_within=page.web.runtime.due_soon_within)

    # the same for every user: cached until the audit head moves (in any process); one plan's overview
    # is kept while the head moves for changes to other plans only
    ov = page.cached("overview", compute=compute) if plan_id is None else \
        page.cached_for(Scope(plan_id=plan_id), "overview", compute=compute)
    return page.render_cached("overview.html", ov, page.can("report.download"), ov=ov, scope=plan_id or ALL)


def plan_page(page: Page) -> Response:
    plan_id = page.request.path_params["plan_id"]
    view = page.cached_for(Scope(plan_id=plan_id), "plan", compute=lambda: readmodel.plan_view(
        page.db, plan_id, as_of=page.as_of, calendar=page.web.runtime.calendar,
        due_soon_within=page.web.runtime.due_soon_within))
    if view is None:
        raise PageNotFound(f"没有方案 {plan_id!r}")
    return page.render_cached("plan.html", view, page.can("report.download"), view=view)


def units_index(page: Page) -> Response:
    return page.render("units.html", units=page.cached("units", compute=lambda: readmodel.list_unit_rows(page.db)))


def unit_page(page: Page) -> Response:
    unit_id = _path_int(page, "unit_id")
    plans = readmodel.list_plan_infos(page.db)
    wanted = page.param("plan")
    plan_id = wanted if wanted in {p.id for p in plans} else None
    view = page.cached_for(Scope(unit_id=unit_id), "unit", plan_id, compute=lambda: readmodel.unit_view(
        page.db, unit_id, as_of=page.as_of, calendar=page.web.runtime.calendar,
        due_soon_within=page.web.runtime.due_soon_within, plan_id=plan_id))
    if view is None:
        raise PageNotFound(f"没有单位 {unit_id!r}")
    mine = unit_id in page.user.unit_ids
    return page.render_cached("unit.html", view, page.can("report.download"), mine, plan_id, view=view, plans=plans,
                              plan_id=plan_id, mine=mine)


def obligation_page(page: Page) -> Response:
    oid = _path_int(page, "obligation_id")
    view = page.cached_for(Scope(obligation_id=oid), "obligation", compute=lambda: readmodel.obligation_view(
        page.db, oid, as_of=page.as_of, calendar=page.web.runtime.calendar,
        due_soon_within=page.web.runtime.due_soon_within))
    if view is None:
        raise PageNotFound(f"没有督办事项 {oid!r}")
    ob = page.db.get(Obligation, oid)
    allowed = {a: page.can(a, obligation=ob) for a in
               ("obligation.complete", "obligation.waive", "extension.request")}
    deciders = {e.id: page.can("extension.decide", requested_by=e.requested_by)
                for e in view.extensions if e.status == "requested"}
    return page.render("obligation.html", view=view, allowed=allowed, deciders=deciders,
                       default_on=min(page.as_of, page.web.today()))


def triggers_page(page: Page) -> Response:
    plans = readmodel.list_plan_infos(page.db)
    wanted = page.param("plan")
    plan_id = wanted if wanted in {p.id for p in plans} else None
    triggers = event_service.list_triggers(page.db, plan=plan_id)
    ids = {(t.plan_id, t.key): t.id for t in page.db.scalars(select(Trigger))}
    waiting: dict[tuple[str, str], int] = {}
    until = readmodel.due_soon_until(page.web.runtime.calendar, page.as_of, page.web.runtime.due_soon_within)
    for t in triggers:
        statuses = readmodel.statuses_of(page.db, t.obligation_ids, as_of=page.as_of, until=until)
        waiting[(t.plan, t.key)] = sum(1 for s, _ in statuses.values() if s == "dormant")
    events = event_service.list_events(page.db, plan=plan_id)
    return page.render("triggers.html", triggers=triggers, ids=ids, waiting=waiting, events=events, plans=plans,
                       plan_id=plan_id, can_record=page.can("event.record"), can_correct=page.can("event.correct"),
                       can_retract=page.can("event.retract"), default_on=min(page.as_of, page.web.today()))


def extensions_page(page: Page) -> Response:
    rows = extension_service.list_extensions(page.db)
    pending = [r for r in rows if r.status == "requested"]
    decided = [r for r in reversed(rows) if r.status != "requested"][:100]
    deciders = {r.id: page.can("extension.decide", requested_by=r.requested_by) for r in pending}
    return page.render("extensions.html", pending=pending, decided=decided, deciders=deciders)


def timeline_page(page: Page) -> Response:
    plans = readmodel.list_plan_infos(page.db)
    plan_id = _scope(page, plans)
    mine = page.param("mine") == "1" and bool(page.user.unit_ids)
    months = _int(page.param("months"), "months") or 6
    if not 1 <= months <= 24:
        raise BadRequest(f"months={months} 超出范围（1–24）")
    view = readmodel.timeline(page.db, as_of=page.as_of, months=months, plan_id=plan_id,
                              unit_ids=sorted(page.user.unit_ids) if mine else None)
    return page.render("timeline.html", months=view, plans=plans, scope=plan_id or ALL, mine=mine,
                       n_months=months)


AUDIT_FILTERS = ("actor", "action", "object_type", "object_id", "source", "since")


def _audit_filter(page: Page, f: dict[str, str | None]) -> audit.AuditFilter:
    """The page's query as the one audit filter (:class:`duban.store.audit.AuditFilter`)."""
    since = None
    if f["since"]:
        try:
            day = dt.date.fromisoformat(f["since"])
        except ValueError:
            raise BadRequest(f"since={f['since'][:40]!r} 不是有效日期") from None
        since = audit.start_of_day(day, ZoneInfo(page.web.settings.timezone))
    return audit.AuditFilter(since=since, actor=f["actor"], action=f["action"], object_type=f["object_type"],
                             object_id=f["object_id"], source=f["source"])


def audit_page(page: Page) -> Response:
    f = {k: page.param(k) for k in AUDIT_FILTERS}
    stmt = audit.filter_query(select(AuditRecord), _audit_filter(page, f))
    lines, more = readmodel.audit_page(page.db, stmt, before_seq=_int(page.param("before"), "before"))
    head = page.web.head_key(page.db)
    verify_key = ("verify", head)
    result: audit.VerifyResult | None = None
    if head[0] <= AUTO_VERIFY_MAX or page.param("verify") == "1":
        result = page.web.cache.get_or_compute(verify_key, lambda: audit.verify(page.db))
    return page.render("audit.html", lines=lines, more=more, filters=f, result=result, head=head,
                       sources=audit.SOURCES)


def users_page(page: Page) -> Response:
    return page.render("users.html", users=list_users(page.db))


REPORT_TYPES = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def report_download(page: Page) -> Response:
    plan_id, fmt = page.request.path_params["plan_id"], page.request.path_params["fmt"]
    if fmt not in REPORT_TYPES:
        raise PageNotFound(f"没有 {fmt!r} 格式的报表（可选 html、csv、xlsx）")
    page.require("report.download", object_type="plan", object_id=plan_id)
    try:
        report = reports.build_report(page.db, plan_id, as_of=page.as_of, calendar=page.web.runtime.calendar,
                                      due_soon_within=page.web.runtime.due_soon_within)
    except reports.ReportError as exc:
        raise PageNotFound(str(exc)) from None
    name = f"{plan_id}-{page.as_of.isoformat()}.{fmt}"
    body: bytes
    if fmt == "html":
        body = reports.render_html(report).encode("utf-8")
    elif fmt == "csv":
        body = ("\ufeff" + reports.render_csv(report)).encode("utf-8")
    else:
        body = reports.render_xlsx(report)
    disposition = "inline" if fmt == "html" else "attachment"
    headers = {"content-disposition": f'{disposition}; filename="{name}"'}
    if fmt == "html":  # the report's own inline style, allowed by its hash and nothing wider
        hashes = " ".join(reports.style_sources(body.decode("utf-8")))
        headers["content-security-policy"] = CSP.replace("style-src 'self'", f"style-src 'self' {hashes}")
    return Response(body, media_type=REPORT_TYPES[fmt], headers=headers)


def unit_calendar(page: Page) -> Response:
    unit = page.db.get(Unit, _path_int(page, "unit_id"))
    if unit is None:
        raise PageNotFound("没有该单位")
    page.require("report.download", object_type="unit", object_id=unit.id)
    try:
        data = reports.calendar_feed(page.db, unit.name, now=page.web.now(),
                                     domain=str(page.web.settings.notifier.get("message_id_domain", "duban.example")),
                                     base_url=page.web.settings.web_base_url)
    except reports.ReportError as exc:
        raise BadRequest(str(exc)) from None
    return Response(data, media_type="text/calendar; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="unit-{unit.id}.ics"'})


# --------------------------------------------------------------------------- forms (state changes)


def _obligation(page: Page) -> Obligation:
    ob = page.db.get(Obligation, _path_int(page, "obligation_id"))
    if ob is None or ob.state == "retired":
        raise PageNotFound("没有该督办事项")
    return ob


def complete_form(page: Page) -> Response:
    ob = _obligation(page)
    page.require("obligation.complete", obligation=ob, object_type="obligation", object_id=ob.id)
    on = page.required_date("on", not_after_today=True)
    occ = completion_service.complete(
        page.db, ob.id, on=on, evidence=page.field("evidence", required=True) or "", actor=page.user.name,
        calendar=page.web.runtime.calendar, occurrence=page.field("occurrence"), source="web",
        role=page.user.role.value, unit_ids=page.user.unit_ids)
    page.flash(f"已登记完成：{occ.label}（{on.isoformat()}）" + (f"，逾期完成（{occ.late_by} 个工作日）" if occ.completed_on and occ.completed_on > occ.due else ""))
    return page.redirect(f"/obligations/{ob.id}")


def waive_form(page: Page) -> Response:
    ob = _obligation(page)
    page.require("obligation.waive", obligation=ob, object_type="obligation", object_id=ob.id)
    completion_service.waive(page.db, ob.id, reason=page.field("reason", required=True) or "", actor=page.user.name,
                        source="web", occurrence=page.field("occurrence"), role=page.user.role.value,
                        unit_ids=page.user.unit_ids)
    page.flash("已免予督办")
    return page.redirect(f"/obligations/{ob.id}")


def extension_request_form(page: Page) -> Response:
    ob = _obligation(page)
    page.require("extension.request", obligation=ob, object_type="obligation", object_id=ob.id)
    until = page.required_date("until")
    ext = extension_service.request_extension(
        page.db, ob.id, until=until, reason=page.field("reason", required=True) or "", actor=page.user.name,
        occurrence=page.field("occurrence"), source="web", role=page.user.role, unit_ids=page.user.unit_ids,
        calendar=page.web.runtime.calendar)
    page.flash(f"已提交延期申请（第 {ext.id} 号），等待督查室审批")
    return page.redirect(f"/obligations/{ob.id}")


def _extension(page: Page) -> Extension:
    ext = page.db.get(Extension, _path_int(page, "extension_id"))
    if ext is None:
        raise PageNotFound("没有该延期申请")
    return ext


def extension_approve_form(page: Page) -> Response:
    ext = _extension(page)
    page.require("extension.decide", requested_by=ext.requested_by, object_type="extension", object_id=ext.id)
    extension_service.approve_extension(page.db, ext.id, actor=page.user.name, note=page.field("note"),
                                        source="web", role=page.user.role, unit_ids=page.user.unit_ids,
                                        calendar=page.web.runtime.calendar)
    page.flash(f"已批准延期申请第 {ext.id} 号：到期日改为 {ext.until.isoformat()}")
    return page.redirect(f"/obligations/{ext.obligation_id}")


def extension_reject_form(page: Page) -> Response:
    ext = _extension(page)
    page.require("extension.decide", requested_by=ext.requested_by, object_type="extension", object_id=ext.id)
    extension_service.reject_extension(page.db, ext.id, actor=page.user.name,
                                       reason=page.field("reason", required=True) or "", source="web",
                                       role=page.user.role.value, unit_ids=page.user.unit_ids)
    page.flash(f"已驳回延期申请第 {ext.id} 号")
    return page.redirect(f"/obligations/{ext.obligation_id}")


def record_event_form(page: Page) -> Response:
    trigger = page.db.get(Trigger, _path_int(page, "trigger_id"))
    if trigger is None:
        raise PageNotFound("没有该触发条件")
    page.require("event.record", plan_id=trigger.plan_id, object_type="trigger",
                 object_id=f"{trigger.plan_id}:{trigger.key}")
    on = page.required_date("on", not_after_today=True)
    received = page.date_field("received", required=False, not_after_today=True)
    ((ev, stats),) = event_service.record_event(
        page.db, trigger_key=trigger.key, plan=trigger.plan_id, on=on, actor=page.user.name,
        proj=page.web.runtime.projection, doc_number=page.field("doc_number"), title=page.field("title"),
        received=received, note=page.field("note"), source="web", role=page.user.role.value,
        unit_ids=page.user.unit_ids)
    page.flash(f"已登记事件第 {ev.id} 号（{on.isoformat()}）：启动 {stats.added} 项到期批次")
    return page.redirect("/triggers", plan=trigger.plan_id)


def _event(page: Page) -> Event:
    ev = page.db.get(Event, _path_int(page, "event_id"))
    if ev is None:
        raise PageNotFound("没有该事件")
    return ev


def correct_event_form(page: Page) -> Response:
    ev = _event(page)
    page.require("event.correct", plan_id=ev.trigger.plan_id, object_type="event", object_id=ev.id)
    on = page.required_date("on", not_after_today=True)
    stats = event_service.correct_event(page.db, ev.id, on=on, actor=page.user.name,
                                        proj=page.web.runtime.projection, reason=page.field("reason"), source="web",
                                        role=page.user.role.value, unit_ids=page.user.unit_ids)
    page.flash(f"已更正事件第 {ev.id} 号的日期为 {on.isoformat()}（{stats.moved} 项到期日随之调整）")
    return page.redirect("/triggers")


def retract_event_form(page: Page) -> Response:
    ev = _event(page)
    page.require("event.retract", plan_id=ev.trigger.plan_id, object_type="event", object_id=ev.id)
    stats = event_service.retract_event(page.db, ev.id, reason=page.field("reason", required=True) or "",
                                        actor=page.user.name, proj=page.web.runtime.projection, source="web",
                                        role=page.user.role.value, unit_ids=page.user.unit_ids)
    page.flash(f"已撤销事件第 {ev.id} 号（取消 {stats.cancelled} 项到期批次）")
    return page.redirect("/triggers")


# --------------------------------------------------------------------------- login and logout


#: Where a login without a destination lands: the role's home (web/homes.py).
HOME = "/home"


def _safe_next(value: str | None) -> str:
    """Only local paths: an open redirect after login would hand the session to a phishing page."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _login_page(web: WebContext, request: Request, *, status: int = 200, error: str | None = None,
                name: str = "") -> Response:
    wanted = request.query_params.get("next")
    return render(web, request, "login.html", status_code=status, error=error, name=name,
                  next=_safe_next(wanted) if wanted else "")


async def login(request: Request) -> Response:
    web: WebContext = request.app.state.web
    if request.method == "GET":
        return _login_page(web, request)
    form = await read_form(request)
    try:
        return await run_in_threadpool(_login_post, web, request, form)
    finally:
        await form.close()


def _login_post(web: WebContext, request: Request, form: Any) -> Response:
    if not csrf_ok(request.session, form.get("csrf")):
        return render(web, request, "error.html", status_code=403, user=None, title="无权操作",
                      message="登录表单已失效（CSRF 校验失败），请刷新页面后重试。")
    name = str(form.get("name") or "").strip()[:100]
    password = str(form.get("password") or "")[:1024]
    client = request.client.host if request.client else "unknown"
    result = authenticate(web.runtime.sessions, name=name, password=password, client=client, hasher=web.hasher,
                          now=web.now())
    if result.reason == "backoff":
        response = _login_page(web, request, status=429, name=name,
                               error=f"该账号近期登录失败较多，请 {result.retry_after} 秒后再试。")
        response.headers["retry-after"] = str(result.retry_after)
        return response
    if result.reason in ("account_locked", "client_locked"):
        minutes = int(WINDOW.total_seconds() // 60)
        limit = PAIR_LIMIT if result.reason == "account_locked" else CLIENT_LIMIT
        response = _login_page(web, request, status=429, name=name,
                               error=f"登录失败次数过多（{minutes} 分钟内超过 {limit} 次），请 {minutes} 分钟后再试。")
        response.headers["retry-after"] = str(result.retry_after)
        return response
    if not result.ok:
        return _login_page(web, request, status=401, name=name, error="账号或密码不正确。")
    request.session.clear()  # a fresh session (and CSRF token) for the logged-in user
    request.session.update(uid=result.user_id, ep=result.epoch, iat=int(web.now().timestamp()))
    wanted = str(form.get("next") or "") or request.query_params.get("next")
    target = _safe_next(wanted) if wanted else HOME
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    web: WebContext = request.app.state.web
    form = await read_form(request)
    try:
        ok = csrf_ok(request.session, form.get("csrf"))
    finally:
        await form.close()
    if not ok:
        return render(web, request, "error.html", status_code=403, user=None, title="无权操作",
                      message="表单已失效（CSRF 校验失败），请刷新页面后重试。")
    uid = request.session.get("uid")
    if isinstance(uid, int):
        await run_in_threadpool(_end_sessions, web, uid)
    request.session.clear()
    return RedirectResponse("/login?" + urlencode({"bye": "1"}), status_code=303)


def _end_sessions(web: WebContext, uid: int) -> None:
    with web.runtime.sessions() as db, db.begin():
        end_sessions(db, uid)


# --------------------------------------------------------------------------- the route table


def routes() -> list[BaseRoute]:
    post = ("POST",)
    return [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        route("/", overview),
        route("/plans/{plan_id}", plan_page),
        route("/units", units_index),
        route("/units/{unit_id:int}", unit_page),
        route("/units/{unit_id:int}/calendar.ics", unit_calendar),
        route("/obligations/{obligation_id:int}", obligation_page),
        route("/obligations/{obligation_id:int}/complete", complete_form, methods=post),
        route("/obligations/{obligation_id:int}/waive", waive_form, methods=post),
        route("/obligations/{obligation_id:int}/extensions", extension_request_form, methods=post),
        route("/extensions", extensions_page),
        route("/extensions/{extension_id:int}/approve", extension_approve_form, methods=post),
        route("/extensions/{extension_id:int}/reject", extension_reject_form, methods=post),
        route("/triggers", triggers_page),
        route("/triggers/{trigger_id:int}/events", record_event_form, methods=post),
        route("/events/{event_id:int}/correct", correct_event_form, methods=post),
        route("/events/{event_id:int}/retract", retract_event_form, methods=post),
        route("/timeline", timeline_page),
        route("/audit", audit_page, action="audit.view"),
        route("/users", users_page, action="users.view"),
        route("/reports/{plan_id}.{fmt}", report_download),
        *inbox_routes(),
        *home_routes(),
    ]
