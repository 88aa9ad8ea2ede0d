"""The 收文 page: documents that arrived and the triggers they may start, decided in one step.

Everyone who may view the dashboard sees the proposals; only those who may
record an event for the plan (an operator or supervisor, or a clerk of the
directory's supervising office — the ``event.record`` rule of the events page)
get the accept and reject buttons, and the service checks again. Accepting
goes through :func:`duban.engine.inbox.service.accept`, i.e. through
``record_event``, exactly as the events page and ``duban event record`` do.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from ..engine.inbox import service as inbox_service
from .context import Page, PageNotFound, route

_STATUSES = ("proposed", "accepted", "rejected")


def inbox_page(page: Page) -> Response:
    status = page.param("status", "proposed")
    status = status if status in _STATUSES else None
    rows = inbox_service.list_proposals(page.db, status=status)
    can_decide = {r.id: page.can("event.record", plan_id=r.plan) for r in rows if r.status == "proposed"}
    return page.render("inbox.html", rows=rows, status=status, can_decide=can_decide,
                       default_on=min(page.as_of, page.web.today()))


def _proposal_plan(page: Page, proposal_id: int) -> str:
    rows = [r for r in inbox_service.list_proposals(page.db) if r.id == proposal_id]
    if not rows:
        raise PageNotFound("没有该收文建议")
    return rows[0].plan


def accept_form(page: Page) -> Response:
    pid = int(page.request.path_params["proposal_id"])
    plan = _proposal_plan(page, pid)
    page.require("event.record", plan_id=plan, object_type="inbox_proposal", object_id=pid)
    on = page.date_field("on", required=False, not_after_today=True)
    ev, stats = inbox_service.accept(page.db, pid, actor=page.user.name, proj=page.web.runtime.projection, on=on,
                                     source="web", role=page.user.role.value, unit_ids=page.user.unit_ids)
    page.flash(f"已采纳收文建议第 {pid} 号：登记事件第 {ev.id} 号，启动 {stats.added} 项到期批次")
    return page.redirect("/inbox")


def reject_form(page: Page) -> Response:
    pid = int(page.request.path_params["proposal_id"])
    plan = _proposal_plan(page, pid)
    page.require("event.record", plan_id=plan, object_type="inbox_proposal", object_id=pid)
    reason = page.field("reason", required=True) or ""
    inbox_service.reject(page.db, pid, actor=page.user.name, reason=reason, source="web",
                         role=page.user.role.value, unit_ids=page.user.unit_ids)
    page.flash(f"已驳回收文建议第 {pid} 号（同一文件不再为该触发条件提出）")
    return page.redirect("/inbox")


def routes() -> list[BaseRoute]:
    """The inbox's routes, added to the dashboard's table in :func:`.views.routes`."""
    post = ("POST",)
    return [
        route("/inbox", inbox_page),
        route("/inbox/{proposal_id:int}/accept", accept_form, methods=post),
        route("/inbox/{proposal_id:int}/reject", reject_form, methods=post),
    ]
