"""The implementation-status report (落实情况), per-unit scores (绩效考核) and .ics feeds.

The notice promises that the city office "统一在市政府门户网站公布落实情况":
:func:`build_report` gives that table — one row per due instance of every
live obligation of a plan (a dormant triggered duty gets one row saying it
waits for its event) — and :func:`render_html`, :func:`render_csv` and
:func:`render_xlsx` write it for the portal, for a spreadsheet, for print.

Status of a due instance *as of* a day (the report's words; the dashboard's
per-obligation statuses are in :mod:`duban.engine.services.queries`):

=========  ===============  ====================================================
done       按时完成           completed on or before its due date
late       逾期完成           completed after it (by ``late_by`` working days, 0 when only rest days passed)
waived     免予督办           waived by a supervisor
overdue    逾期未完成         not completed and its due date has passed
due_soon   即将到期           due within 5 working days (incl. the day)
open       未到期             due later
dormant    待触发             a triggered duty whose event has not happened
=========  ===============  ====================================================

A completion dated after ``as_of`` does not count yet, so a report for any
past day can be reproduced. Lateness is counted in working days on the
official calendar: the working days in (due, completed] — or (due, as_of]
while still overdue.

Scores (:func:`unit_scores`) count only *assessed* instances: those completed
by ``as_of`` or whose due date has passed; check-ins of ongoing work
(全年工作检查点) and waived instances are not scored.

* ``on_time_rate`` = completed on time / assessed (``None`` with nothing assessed)
* ``overdue``      = assessed instances still not completed
* ``avg_late_working_days`` = mean lateness over late completions *and*
  still-overdue instances (so not finishing never scores better than
  finishing late); ``None`` when nothing was late.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import difflib
import functools
import hashlib
import io
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...store import audit
from ...store.models import (
    DeadlineEntry,
    Extension,
    GroupMember,
    Obligation,
    Occurrence,
    Plan,
    Requirement,
    Task,
    Unit,
)
from ..deadlines.calendar import WorkingCalendar
from ...errors import DubanError
from ...zh import cn_date
from .queries import co_units_by_requirement
from .completions import is_late

TEMPLATES = Path(__file__).resolve().parent / "templates"

Status = Literal["done", "late", "waived", "overdue", "due_soon", "open", "dormant"]
STATUS_ZH: dict[str, str] = {"done": "按时完成", "late": "逾期完成", "waived": "免予督办", "overdue": "逾期未完成",
                             "due_soon": "即将到期", "open": "未到期", "dormant": "待触发"}


class ReportError(DubanError, LookupError):
    """No such plan or unit to report on."""


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportRow:
    """One line of the 落实情况 table: one due instance of one unit's obligation."""

    obligation_id: int
    task_no: int
    task_title: str
    requirement_no: int
    requirement_text: str
    unit: str
    phrase: str
    occurrence: str | None
    label: str | None
    due: dt.date | None
    original_due: dt.date | None  # before an approved extension (延期)
    checkin: bool
    status: Status
    completed_on: dt.date | None
    evidence: str | None
    late_by: int | None  # working days: late completion, or overdue so far
    co_units: str = ""  # 配合单位 of the requirement, as the lead's row shows them

    @property
    def status_zh(self) -> str:
        return STATUS_ZH[self.status]

    @property
    def evidence_url(self) -> str | None:
        """The evidence when it is a plain web address (only http/https become links)."""
        return self.evidence if self.evidence and _URL.fullmatch(self.evidence.strip()) else None

    def to_json(self) -> dict[str, Any]:
        return {"obligation_id": self.obligation_id, "task": self.task_no, "task_title": self.task_title,
                "requirement": self.requirement_no, "requirement_text": self.requirement_text, "unit": self.unit,
                "deadline": self.phrase, "occurrence": self.occurrence, "label": self.label,
                "due": _iso(self.due), "original_due": _iso(self.original_due), "checkin": self.checkin,
                "status": self.status, "completed_on": _iso(self.completed_on), "evidence": self.evidence,
                "late_by_working_days": self.late_by}


_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    plan_id: str
    title: str
    doc_number: str | None
    issuer: str
    as_of: dt.date
    rows: tuple[ReportRow, ...]
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan_id, "title": self.title, "doc_number": self.doc_number,
                "as_of": self.as_of.isoformat(), "counts": self.counts, "rows": [r.to_json() for r in self.rows]}


def _plan(session: Session, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        known = session.scalars(select(Plan.id).order_by(Plan.id)).all()
        raise ReportError(f"no plan {plan_id!r} in the store; imported plans: {', '.join(known) or '(none)'}")
    return plan


def _status(*, state: str, due: dt.date, completed_on: dt.date | None, late_by: int | None, as_of: dt.date,
            calendar: WorkingCalendar, due_soon_within: int) -> tuple[Status, int | None]:
    """An instance's status and lateness as of a day (a completion after ``as_of`` has not happened yet)."""
    if state == "waived":
        return "waived", None
    if state == "done" and completed_on is not None and completed_on <= as_of:
        return ("late", late_by or 0) if is_late(due, completed_on) else ("done", 0)
    if due < as_of:
        return "overdue", max(0, calendar.workdays_between(due, as_of))
    if calendar.workdays_between(as_of, due) <= due_soon_within:
        return "due_soon", None
    return "open", None


def build_report(session: Session, plan_id: str, *, as_of: dt.date, calendar: WorkingCalendar,
                 due_soon_within: int) -> Report:
    """The 落实情况 table of a plan as of a day, in plan order (task, requirement, unit, due)."""
    plan = _plan(session, plan_id)
    extended: dict[int, dt.date] = dict(session.execute(
        select(Extension.occurrence_id, func.min(Extension.original_due))
        .join(Obligation, Obligation.id == Extension.obligation_id)
        .where(Extension.status == "approved", Obligation.plan_id == plan_id)
        .group_by(Extension.occurrence_id)).tuples().all())
    stmt = (
        select(Obligation.id, Obligation.kind, Obligation.state, Task.no, Task.title, Requirement.id, Requirement.no,
               Requirement.text, Unit.name, DeadlineEntry.phrase, Occurrence.id, Occurrence.key, Occurrence.label,
               Occurrence.due, Occurrence.checkin, Occurrence.state, Occurrence.completed_on, Occurrence.evidence,
               Occurrence.late_by)
        .join(Requirement, Requirement.id == Obligation.requirement_id)
        .join(Task, Task.id == Requirement.task_id)
        .join(Unit, Unit.id == Obligation.unit_id)
        .join(DeadlineEntry, DeadlineEntry.id == Obligation.deadline_id)
        .outerjoin(Occurrence, (Occurrence.obligation_id == Obligation.id) & (Occurrence.state != "cancelled"))
        .where(Obligation.plan_id == plan_id, Obligation.state != "retired")
        .order_by(Task.no, Requirement.no, DeadlineEntry.ordinal, Obligation.part, Unit.id, Occurrence.due,
                  Occurrence.key)
    )
    rows: list[ReportRow] = []
    found = session.execute(stmt).all()
    co = {req: "、".join(name for _uid, name in units)
          for req, units in co_units_by_requirement(session, [r[5] for r in found]).items()}
    for (oid, kind, ob_state, task_no, task_title, req_id, req_no, req_text, unit, phrase, occ_id, key, label, due,
         checkin, occ_state, completed_on, evidence, late_by) in found:
        if occ_id is None:  # no due instance (yet): dormant trigger, or a window without its anchor
            status: Status = "waived" if ob_state == "waived" else ("dormant" if kind == "triggered" else "open")
            rows.append(ReportRow(obligation_id=oid, task_no=task_no, task_title=task_title, requirement_no=req_no,
                                  requirement_text=req_text, unit=unit, phrase=phrase, occurrence=None, label=None,
                                  due=None, original_due=None, checkin=False, status=status, completed_on=None,
                                  evidence=None, late_by=None, co_units=co.get(req_id, "")))
            continue
        status, late = _status(state=occ_state, due=due, completed_on=completed_on, late_by=late_by, as_of=as_of,
                               calendar=calendar, due_soon_within=due_soon_within)
        shown = status in ("done", "late")
        rows.append(ReportRow(obligation_id=oid, task_no=task_no, task_title=task_title, requirement_no=req_no,
                              requirement_text=req_text, unit=unit, phrase=phrase, occurrence=key, label=label,
                              due=due, original_due=extended.get(occ_id), checkin=checkin, status=status,
                              completed_on=completed_on if shown else None, evidence=evidence if shown else None,
                              late_by=late, co_units=co.get(req_id, "")))
    counts = Counter(r.status for r in rows)
    return Report(plan_id=plan.id, title=plan.title, doc_number=plan.doc_number, issuer=plan.issuer, as_of=as_of,
                  rows=tuple(rows), counts={s: counts.get(s, 0) for s in STATUS_ZH})


# --------------------------------------------------------------------------- renderings


@functools.cache
def _jinja() -> jinja2.Environment:
    """HTML only, autoescaped, strict: a missing variable is an error, not a blank cell."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["cn_date"] = cn_date
    return env


_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def style_sources(html: str) -> tuple[str, ...]:
    """CSP ``style-src`` hash sources for the inline style blocks of a rendered report.

    The report is a self-contained page (it is also saved and published as a
    file), so its style stays inline; the dashboard serves it with a policy
    that allows exactly these blocks and nothing else (issue 14, row 11).
    """
    return tuple("'sha256-" + base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode("ascii") + "'"
                 for block in _STYLE_BLOCK.findall(html))


def render_html(report: Report, *, issuer_office: str | None = None) -> str:
    """A self-contained, printable HTML page in Chinese, fit for the government portal."""
    groups: dict[tuple[int, str], list[ReportRow]] = defaultdict(list)
    for row in report.rows:
        groups[(row.task_no, row.task_title)].append(row)
    return _jinja().get_template("report.html.j2").render(
        report=report, groups=list(groups.items()), status_zh=STATUS_ZH, issuer_office=issuer_office or report.issuer,
        total=len(report.rows))


HEADERS = ("序号", "工作任务", "具体要求", "牵头落实单位", "配合单位", "完成时限", "到期日", "原定到期日（延期前）", "完成情况",
           "完成日期", "佐证材料", "逾期（工作日）", "督办事项编号")


_DATE_COLUMNS = tuple(HEADERS.index(h) + 1 for h in ("到期日", "原定到期日（延期前）", "完成日期"))
_STATUS_COLUMN = HEADERS.index("完成情况") + 1


def _cells(row: ReportRow) -> list[Any]:
    due = row.due
    return [row.task_no, row.task_title, f"{row.requirement_no}. {row.requirement_text}", row.unit, row.co_units,
            row.phrase + (f"（{row.label}）" if row.label and row.occurrence != "final" else ""),
            due, row.original_due, row.status_zh, row.completed_on, row.evidence, row.late_by, row.obligation_id]


def _csv_safe(value: Any) -> Any:
    """A report cell as CSV text; formulas neutralised by the audit export's own rule (:func:`audit.csv_safe`)."""
    if isinstance(value, str):
        return audit.csv_safe(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def render_csv(report: Report) -> str:
    """CSV with a header row; written UTF-8 with a BOM so Excel opens the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in report.rows:
        writer.writerow([_csv_safe(v) for v in _cells(row)])
    return buf.getvalue()


def render_xlsx(report: Report) -> bytes:
    """An .xlsx workbook: the table (real date cells, frozen header, print set-up) and a summary sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "落实情况"
    title = f"{report.title}落实情况（截至{cn_date(report.as_of)}）"
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(list(HEADERS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    red = Font(color="C00000")
    for row in report.rows:
        ws.append(_cells(row))
        r = ws.max_row
        for c in ws[r]:
            if isinstance(c.value, str):
                c.data_type = "s"  # user text starting with "=" stays text, never a formula
            c.alignment = Alignment(vertical="top", wrap_text=True)
        for col in _DATE_COLUMNS:
            ws.cell(r, col).number_format = "yyyy-mm-dd"
        if row.status in ("overdue", "late"):
            ws.cell(r, _STATUS_COLUMN).font = red
    for i, width in enumerate((6, 18, 48, 16, 16, 22, 12, 12, 10, 12, 36, 8, 8), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    summary = wb.create_sheet("汇总")
    summary.append(["完成情况", "条数"])
    for status, n in report.counts.items():
        summary.append([STATUS_ZH[status], n])
    summary.append(["合计", len(report.rows)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- scores


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitScore:
    """One unit's record on one plan as of a day (绩效考核)."""

    unit: str
    assessed: int
    on_time: int
    late: int
    overdue: int
    waived: int
    pending: int
    on_time_rate: float | None
    avg_late_working_days: float | None

    def to_json(self) -> dict[str, Any]:
        return {"unit": self.unit, "assessed": self.assessed, "on_time": self.on_time, "late": self.late,
                "overdue": self.overdue, "waived": self.waived, "pending": self.pending,
                "on_time_rate": self.on_time_rate, "avg_late_working_days": self.avg_late_working_days}


def unit_scores(report: Report) -> list[UnitScore]:
    """Per-unit on-time rate, overdue count and average lateness, best first (see the module docstring)."""
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    lateness: dict[str, list[int]] = defaultdict(list)
    for row in report.rows:
        tally = tallies[row.unit]
        if row.checkin:
            continue
        if row.status in ("done", "late", "overdue"):
            tally["assessed"] += 1
            tally[{"done": "on_time"}.get(row.status, row.status)] += 1
            if row.status != "done":
                lateness[row.unit].append(row.late_by or 0)
        elif row.status == "waived":
            tally["waived"] += 1
        else:
            tally["pending"] += 1
    out = []
    for unit, t in tallies.items():
        late = lateness.get(unit, [])
        out.append(UnitScore(unit=unit, assessed=t["assessed"], on_time=t["on_time"], late=t["late"],
                             overdue=t["overdue"], waived=t["waived"], pending=t["pending"],
                             on_time_rate=round(t["on_time"] / t["assessed"], 4) if t["assessed"] else None,
                             avg_late_working_days=round(sum(late) / len(late), 2) if late else None))
    out.sort(key=lambda s: (s.on_time_rate is None, -(s.on_time_rate or 0.0), s.overdue,
                            s.avg_late_working_days or 0.0, s.unit))
    return out


# --------------------------------------------------------------------------- calendar feed


def _unit(session: Session, name: str, directory: str | None = None) -> Unit:
    """A unit by short name or alias (in ``directory`` when names repeat across cities)."""
    candidates = [u for u in session.scalars(select(Unit).order_by(Unit.id))
                  if (u.name == name or name in (u.aliases or [])) and directory in (None, u.directory)]
    exact = [u for u in candidates if u.name == name]
    candidates = exact or candidates
    if len(candidates) > 1:
        raise ReportError(f"unit {name!r} is in several directories "
                          f"({', '.join(sorted(u.directory for u in candidates))}): name the directory")
    unit = candidates[0] if candidates else None
    if unit is None:
        names = session.scalars(select(Unit.name)).all()
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        raise ReportError(f"no unit {name!r}" + (f"; did you mean {', '.join(map(repr, close))}?" if close else ""))
    if unit.is_group:
        members = session.scalars(select(Unit.name).join(GroupMember, GroupMember.member_id == Unit.id)
                                  .where(GroupMember.group_id == unit.id).order_by(Unit.id)).all()
        raise ReportError(f"{name!r} is a group of units; ask for one of its members: {', '.join(members)}")
    return unit


def occurrence_uid(okey: str, occurrence_key: str, domain: str) -> str:
    """A UID that stays the same for a due instance across re-imports and moved dates (RFC 5545 §3.8.4.7)."""
    digest = hashlib.sha256(f"{okey}#{occurrence_key}".encode()).hexdigest()[:32]
    return f"{digest}@{domain}"


def calendar_feed(session: Session, unit_name: str, *, now: dt.datetime, domain: str = "duban.example",
                  base_url: str | None = None, directory: str | None = None, tz: str = "Asia/Shanghai") -> bytes:
    """An RFC 5545 calendar of a unit's due dates: one all-day event per due instance.

    Completed instances stay (marked 已完成) so the calendar shows the record;
    cancelled or waived ones are published as ``STATUS:CANCELLED`` under the
    same UID, so a subscribed calendar removes what it showed before.
    """
    from icalendar import Calendar, Event as VEvent, Timezone

    unit = _unit(session, unit_name, directory)
    cal = Calendar()
    cal.add("prodid", "-//duban//督办 deadline feed//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"督办时限：{unit.name}")
    cal.add("x-wr-timezone", tz)  # the configured time zone (北京时间 by default)
    cal.add_component(Timezone.from_tzid(tz, first_date=dt.date(2000, 1, 1)))
    stamp = now.astimezone(dt.timezone.utc)
    stmt = (
        select(Obligation.id, Obligation.okey, Plan.title, Task.no, Requirement.no, Requirement.text,
               DeadlineEntry.phrase, Occurrence.key, Occurrence.label, Occurrence.due, Occurrence.state,
               Occurrence.completed_on)
        .join(Occurrence, Occurrence.obligation_id == Obligation.id)
        .join(Requirement, Requirement.id == Obligation.requirement_id)
        .join(Task, Task.id == Requirement.task_id)
        .join(Plan, Plan.id == Obligation.plan_id)
        .join(DeadlineEntry, DeadlineEntry.id == Obligation.deadline_id)
        .where(Obligation.unit_id == unit.id, Obligation.state != "retired")
        .order_by(Occurrence.due, Obligation.id, Occurrence.key)
    )
    for oid, okey, plan_title, task_no, req_no, text, phrase, key, label, due, state, completed_on in \
            session.execute(stmt):
        ev = VEvent()
        ev.add("uid", occurrence_uid(okey, key, domain))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", due)
        ev.add("dtend", due + dt.timedelta(days=1))
        prefix = "【已完成】" if state == "done" else ""
        short = text if len(text) <= 30 else text[:30] + "…"
        ev.add("summary", f"{prefix}督办：第{task_no}项第{req_no}条 {short}")
        lines = [f"{plan_title}", f"第{task_no}项第{req_no}条：{text}", f"完成时限：{phrase}"]
        if label:
            lines.append(f"本期：{label}")
        if state == "done" and completed_on:
            lines.append(f"已于{cn_date(completed_on)}完成")
        lines.append(f"督办事项编号：{oid}")
        if base_url:
            lines.append(f"督办系统：{base_url.rstrip('/')}/")
        ev.add("description", "\n".join(lines))
        ev.add("status", "CANCELLED" if state in ("cancelled", "waived") else "CONFIRMED")
        ev.add("transp", "TRANSPARENT")
        ev.add("categories", ["督办"])
        cal.add_component(ev)
    return cal.to_ical()


def write_bytes(data: bytes | str, path: Path) -> None:
    """Write a rendering to a file (text as UTF-8; CSV gets a BOM for Excel)."""
    if isinstance(data, str):
        encoding = "utf-8-sig" if path.suffix.lower() == ".csv" else "utf-8"
        path.write_text(data, encoding=encoding, newline="")
    else:
        path.write_bytes(data)


__all__: Sequence[str] = (
    "Report", "ReportRow", "ReportError", "STATUS_ZH", "UnitScore", "build_report", "calendar_feed",
    "occurrence_uid", "render_csv", "render_html", "render_xlsx", "unit_scores",
)
