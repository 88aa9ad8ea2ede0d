"""The role homes (各角色首页) and the web progress form (进展情况).

After login without a destination a user lands on ``/home``, which depends
on the role:

* a clerk (联络员) sees 我的待办: its units' lead duties and 配合事项, most
  urgent first, each card one click from the completion and progress forms;
* a supervisor or admin is sent to ``/bulletin``, the 督办通报: units ranked
  by on-time rate and overdue count (the scores of the weekly email), its
  chart (``/bulletin/chart.png``, the email's own PNG) and the trend of the
  last weeks;
* a viewer (领导/观察员) is sent to ``/summary``, the units' summary, one
  unit's at ``/summary?unit=ID``.

The long flat list (``/``, ``/units/ID``) stays one click away on every home.
The progress form posts to ``/obligations/ID/progress`` and calls
:func:`duban.engine.services.progress.record_progress` with ``source="web"``
and the account's role and units — the right to report progress is the right
to complete (``obligation.complete``), checked here first so a refusal is
audited, and by the service again.
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from ..engine.services import progress as progress_service
from ..engine.services.permissions import Role
from ..notifiers.chart import ranking_chart
from ..notifiers.model import RankRow
from ..store.models import Obligation, Occurrence
from . import homes_model, readmodel
from .context import BadRequest, Page, PageNotFound, bounded_int, route

#: Rows in the chart (the email draws the same number).
CHART_ROWS = 20


def _board(page: Page) -> homes_model.Bulletin | None:
    """The 督办通报 of ``?directory=`` (default: the first), cached until the audit head moves."""
    wanted = page.param("directory")
    key = ("bulletin", page.as_of, wanted, page.web.head_key(page.db))
    return page.web.cache.get_or_compute(key, lambda: homes_model.bulletin(
        page.db, as_of=page.as_of, calendar=page.web.runtime.calendar, directory=wanted, due_soon_within=page.web.runtime.due_soon_within))


def home(page: Page) -> Response:
    """``/home``: 我的待办 for a clerk; the others go to their own home."""
    if page.user.role == Role.CLERK.value:
        labels = readmodel.unit_labels(page.db, page.user.unit_ids)
        units = sorted(labels.items())
        view = page.cached("clerk_home", tuple(units), compute=lambda: homes_model.clerk_home(
            page.db, units, as_of=page.as_of, calendar=page.web.runtime.calendar,
            due_soon_within=page.web.runtime.due_soon_within))
        return page.render("home_clerk.html", view=view, supervising=page.can("event.record"))
    target = "/summary" if page.user.role == Role.VIEWER.value else "/bulletin"
    return RedirectResponse(page.link(target), status_code=303)


def bulletin_page(page: Page) -> Response:
    board = _board(page)
    if board is None:
        return page.render("bulletin.html", board=None, points="", weeks=homes_model.TREND_WEEKS)
    rates = [p.rate for p in board.trend]
    return page.render("bulletin.html", board=board, points=homes_model.polyline(rates),
                       spark={line.unit: homes_model.polyline(line.trend, width=96, height=24, pad=2)
                              for line in board.lines},
                       weeks=homes_model.TREND_WEEKS)


def bulletin_chart(page: Page) -> Response:
    """The ranking chart as a PNG: the very image the weekly 督办通报 email carries inline."""
    board = _board(page)
    if board is None:
        raise PageNotFound("没有方案，无法生成通报图表")
    iso = page.as_of.isocalendar()
    rows = [RankRow(rank=line.rank, unit=line.unit, assessed=line.assessed, on_time=line.on_time,
                    overdue=line.overdue, on_time_rate=line.on_time_rate) for line in board.lines]
    key = ("bulletin.png", page.as_of, board.directory, page.web.head_key(page.db))
    png = page.web.cache.get_or_compute(key, lambda: ranking_chart(
        rows, title=f"督办通报（{iso.year}年第{iso.week}周）按时完成率", limit=CHART_ROWS))
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=300"})


def summary_page(page: Page) -> Response:
    """A leader's home: every unit's line of the 督办通报, or one unit's summary (``?unit=ID``)."""
    board = _board(page)
    wanted = page.param("unit")
    if wanted is None:
        return page.render("summary.html", board=board, view=None)
    unit_id = bounded_int(wanted, "unit")
    view = homes_model.unit_summary(page.db, unit_id, as_of=page.as_of, calendar=page.web.runtime.calendar,
                                    due_soon_within=page.web.runtime.due_soon_within,
                                    board=board)
    if view is None:
        raise PageNotFound(f"没有单位 {unit_id!r}")
    spark = homes_model.polyline(view.line.trend, width=240, height=60, pad=4) if view.line else ""
    return page.render("summary.html", board=board, view=view, spark=spark)


def progress_form(page: Page) -> Response:
    """Record a progress report (进展情况); it answers the open check-in it is for."""
    ob = page.db.get(Obligation, bounded_int(page.request.path_params["obligation_id"], "obligation_id"))
    if ob is None or ob.state == "retired":
        raise PageNotFound("没有该督办事项")
    page.require("obligation.complete", obligation=ob, object_type="obligation", object_id=ob.id)
    on = page.required_date("on", not_after_today=True)
    text = page.field("text")
    if text is None:
        raise BadRequest("表单缺少“进展情况”")
    report = progress_service.record_progress(
        page.db, ob.id, on=on, text=text, evidence=page.field("evidence"), actor=page.user.name,
        calendar=page.web.runtime.calendar, source="web", role=page.user.role.value, unit_ids=page.user.unit_ids)
    checkin = page.db.get(Occurrence, report.occurrence_id) if report.occurrence_id else None
    answered = f"，已答复 {checkin.due.isoformat()} 检查点（{checkin.label}）" if checkin else ""
    page.flash(f"已报送进展情况（{on.isoformat()}）{answered}")
    return page.redirect(f"/obligations/{ob.id}#progress")


def routes() -> list[BaseRoute]:
    """The homes' routes, added to the dashboard's table in :func:`.views.routes`."""
    return [
        route("/home", home),
        route("/bulletin", bulletin_page),
        route("/bulletin/chart.png", bulletin_chart),
        route("/summary", summary_page),
        route("/obligations/{obligation_id:int}/progress", progress_form, methods=("POST",)),
    ]
