"""A notice of any layout → one :class:`~.draft.DraftPlan`, and a units directory for a new government.

This is the generic drafter behind ``duban plan draft``: :mod:`.formats` reads
the file, :mod:`.layout` finds the requirements, this module reads the head
(title, 文号, issuer, date), compiles the deadline phrases and assembles the
plan with a review note on every inference. Units are the names as written:
with a units directory (``--units``) they are matched like the table reader
does; without one, :func:`draft_units` drafts ``rules/units/<id>.yaml`` naming
every unit, with group phrases (各县（市、区）人民政府, 市有关单位) left as groups
whose members a person must fill in, and no addresses (flagged).

The seed's tab-separated table (序号 工作任务 具体要求 牵头落实单位 完成时限) keeps
its dedicated reader (:func:`.draft.draft_plans`), which handles the
extraction traps of that layout (shifted rows, shared cells, garbled names).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ...errors import PhraseError
from ..deadlines.phrases import WorkdayCounter, compile_phrase
from ..deadlines.spec import Triggered
from ..plans.units import UnitDirectory
from .values import DraftDeadline, DraftPlan, DraftRequirement, DraftTask, NoticeReadError, ReviewNote
from .formats import Document, Paragraph
from .infer import fold
from .layout import Found, find_requirements
from .textutil import tidy
from .yamlout import yaml_quote as _yq

__all__ = ["NoticeHead", "draft_document", "draft_units", "read_head", "render_units_yaml"]

_DOC_NO = re.compile(r"[\u4e00-\u9fff]{1,12}\s*[〔［\[【(（]\s*\d{4}\s*[〕］\]】)）]\s*\d{1,4}\s*号")
_DATE = re.compile(r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日$")
_META_DATE = re.compile(r"(?:成文日期|发文日期|发布日期|生成日期|公开日期)[:：]\s*(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
_TITLE = re.compile(r"(?:关于.{2,60}的(?:通知|意见|决定|通报|函)|.{4,60}(?:方案|要点|计划|分解表|清单|安排|实施意见))$")
_ISSUER = re.compile(r"^(?:.{2,30}(?:人民政府|办公室|办公厅|局|委员会|中心|管委会))$")
#: the 版记's "2019年5月23日印发": the printing date, when the signature date is not on a line of its own
_PRINTED = re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日印发")
_RUN_ON_TITLE = re.compile(r"关于(?:印发|转发|下发)[《“].{2,60}?[》”]的通知")
_META_ISSUER = re.compile(r"(?:发布机构|发文机关|信息来源)[:：]\s*(?P<x>\S{2,30})")


@dataclass(frozen=True, kw_only=True, slots=True)
class NoticeHead:
    """What the head says; None where the page does not show it (the plan file then says so)."""

    title: str | None
    issuer: str | None
    doc_number: str | None
    published: dt.date | None


def read_head(document: Document) -> NoticeHead:
    """Title, issuer, 文号 and date, from the first lines and the signature (any arrangement)."""
    paragraphs = [b.text for b in document.blocks if isinstance(b, Paragraph)]
    folded = [fold(p) for p in paragraphs]
    doc_no = next((m.group().replace(" ", "") for p in folded[:40] for m in [_DOC_NO.search(p)] if m), None)
    if doc_no and "文件" in doc_no:  # the red header "…委员会文件" runs into the 文号 on one line
        doc_no = doc_no.rsplit("文件", 1)[1]
    title = next((p for p, f in zip(paragraphs[:40], folded[:40], strict=False) if _TITLE.search(f)
                  and len(f) <= 80), None)
    published: dt.date | None = None
    issuer: str | None = None
    for i, f in enumerate(folded):
        m = _DATE.match(f)
        if m:
            published = _date(m)
            for back in range(i - 1, max(i - 3, -1), -1):
                if _ISSUER.match(folded[back]) and "关于" not in folded[back]:
                    issuer = paragraphs[back].strip()
                    break
            break
    if published is None:
        published = next((_date(m) for f in folded[:40] for m in [_META_DATE.search(f)] if m), None)
    run_on = "".join(folded[:40])  # a head extracted as one run (PDF text): search across the lines
    if published is None:
        published = next((_date(m) for m in [_PRINTED.search(run_on)] if m), None)
    if title is None:
        m = _RUN_ON_TITLE.search(run_on)
        title = m.group() if m else None
        after_no = run_on.split(doc_no, 1)[-1] if doc_no else run_on  # the issuer follows the 文号
        by = re.search(r"[\u4e00-\u9fff]{2,30}(?:人民政府|办公室|办公厅|局|委员会|中心|管委会)(?=关于)", after_no)
        issuer = issuer or (by.group() if m and by else None)
    if issuer is None:
        issuer = next((m.group("x") for f in folded[:40] for m in [_META_ISSUER.search(f)] if m), None)
    if issuer is None and title:
        m = re.match(r"(.{2,30}?)关于", fold(title))
        issuer = m.group(1) if m else None
    if title:
        title = tidy(re.sub(r"^.*?〕\d+号", "", title))
    return NoticeHead(title=title, issuer=issuer, doc_number=doc_no, published=published)


def _date(m: re.Match[str]) -> dt.date | None:
    try:
        return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    except ValueError:
        return None


def _plan_year(head: NoticeHead, text: str) -> tuple[int, bool]:
    """The plan year: from the title, then the date, then the most frequent year in the text."""
    for value in (head.title or "", head.doc_number or ""):
        m = re.search(r"(20\d{2})\s*年", fold(value)) or re.search(r"(20\d{2})", fold(value))
        if m:
            return int(m.group(1)), True
    if head.published:
        return head.published.year, True
    years = re.findall(r"(20\d{2})\s*年", fold(text))
    if years:
        return int(max(set(years), key=years.count)), False
    return dt.date.today().year, False


def _deadline(phrase: str, plan_year: int, published: dt.date, calendar: WorkdayCounter | None,
              source: str) -> tuple[DraftDeadline, str | None]:
    try:
        spec = compile_phrase(phrase, plan_year=plan_year, published=published, calendar=calendar)
    except PhraseError as exc:
        error = f"{exc.code}: {str(exc).splitlines()[0]}"
        return (DraftDeadline(phrase=phrase, source=source, spec=None, status="unreadable", error=error),  # type: ignore[arg-type]
                f"【待核】无法读取时限“{phrase}”（{error}）：暂以显式规格占位（持续工作，只提醒不计期限），请改写。")
    if any(isinstance(leaf, Triggered) for leaf in spec.leaves()):
        return (DraftDeadline(phrase=phrase, source=source, spec=None, status="unreadable",  # type: ignore[arg-type]
                              error="waits for an event"),
                f"【待核】“{phrase}”等待某一事件：请在 triggers: 中声明事件后改写，暂以占位规格。")
    ambiguous = any(leaf.ambiguous for leaf in (spec, *spec.leaves()))
    note = f"【待核】“{phrase}”读法不确定，请确认。" if ambiguous else None
    return DraftDeadline(phrase=phrase, source=source, spec=spec,  # type: ignore[arg-type]
                         status="ambiguous" if ambiguous else "compiled"), note


def _units_id(issuer: str | None, source: str) -> str:
    digest = hashlib.sha1((issuer or source).encode("utf-8")).hexdigest()[:8]
    return f"draft-{digest}"


def draft_document(document: Document, *, directory: UnitDirectory | None = None, units_id: str | None = None,
                   calendar: WorkdayCounter | None = None) -> DraftPlan:
    """Draft one plan from a document of any layout.

    Raises :class:`~.values.NoticeReadError` naming what was expected when no
    requirement is found (no plan table by header vocabulary, no outline item
    with units, no body duty with a deadline) and the head does not show a
    work-plan notice either; a plan notice without requirements (only targets,
    or cut off before its duties) drafts with no tasks and a note saying so.
    """
    found = find_requirements(document)
    head = read_head(document)
    if not found and not _is_plan_notice(head):
        first = next((b for b in document.blocks), None)
        where = f"line {first.line}" if first is not None else "an empty file"
        raise NoticeReadError(document.source, (
            f"no plan found (from {where}): expected a table whose header names a task/requirement column "
            "(工作任务/重点任务/具体要求/工作内容) and a unit or deadline column (牵头单位/责任单位/配合单位/完成时限), "
            "or outline items (一、（一）1.（1）) with units (牵头单位：…／（…负责）), "
            "or a body sentence naming a unit with a deadline"))
    plan_year, sure = _plan_year(head, document.text)
    published = head.published or dt.date(plan_year, 1, 1)
    notes: list[str] = []
    if not found:
        notes.append(_no_requirement_note(document))
    if head.published is None:
        notes.append(f"【待核】原文未载成文日期，published 暂填 {published.isoformat()}")
    if not sure:
        notes.append(f"【待核】原文未载方案年份，plan_year 暂填 {plan_year}")
    tasks: list[DraftTask] = []
    index: dict[tuple[str | None, str | None], int] = {}
    for item in found:
        key = (item.task_no, item.task_title) if item.shape != "body" else ("0", None)
        if key not in index:
            index[key] = len(tasks)
            title = item.task_title or (f"第{item.task_no}项" if item.task_no and item.shape != "body" else None)
            tasks.append(DraftTask(no=len(tasks) + 1, title=title or "通知正文中的职责（无任务标题）",
                                   requirements=(), line=item.line))
        t = index[key]
        tasks[t] = replace(tasks[t], requirements=(*tasks[t].requirements,
                                                   _requirement(item, len(tasks[t].requirements) + 1, plan_year,
                                                                published, calendar, directory)))
    return DraftPlan(id=_plan_id(head, document.source, plan_year), title=head.title or "（原文未载标题）",
                     issuer=head.issuer or "（原文未载发文机关）", published=published, plan_year=plan_year,
                     units_id=directory.id if directory else (units_id or _units_id(head.issuer, document.source)),
                     tasks=tuple(tasks), doc_number=head.doc_number, source=document.source,
                     first_line=found[0].line if found else 0, last_line=found[-1].line if found else 0,
                     notes=tuple(notes))


#: A title that names a work plan (方案、要点、计划…), as opposed to any other notice.
_PLAN_TITLE = re.compile(r"方案|要点|计划|分工|分解|清单|任务|实施意见|工作安排")
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)])\s*\S")


def _is_plan_notice(head: NoticeHead) -> bool:
    """Whether the head shows a real work-plan notice: a plan's title and its 文号 or signature date.

    Such a notice drafts even when no requirement is found on the page (a
    page cut off before the duties, a plan of targets only): an empty draft
    that says so is more use to the clerk than an error, and validation
    still refuses to import a plan without tasks.
    """
    return bool(head.title and _PLAN_TITLE.search(fold(head.title)) and (head.doc_number or head.published))


def _no_requirement_note(document: Document) -> str:
    """The plan-level note of a plan notice in which no requirement was found, naming what was read."""
    headings = [re.split(r"[\s。，,.；;:：]", tidy(b.text))[0][:20] for b in document.blocks
                if isinstance(b, Paragraph) and _HEADING.match(fold(b.text).strip())][:4]
    seen = f"读到的标题：{'；'.join(headings)}；" if headings else ""
    return ("【待核】这是一份工作方案通知，但原文中没有找到带责任单位或时限的要求（表格、带单位的条目、"
            f"正文中写明单位和时限的句子都没有）：{seen}可能原文只列了目标、或页面在要求之前被截断。"
            "tasks 为空，须按原件补上要求后才能通过 validate 与 import。")


def _plan_id(head: NoticeHead, source: str, year: int) -> str:
    digest = hashlib.sha1(f"{head.title}|{head.doc_number}|{source}".encode()).hexdigest()[:8]
    return f"p{year}-{digest}"


def _requirement(item: Found, no: int, plan_year: int, published: dt.date, calendar: WorkdayCounter | None,
                 directory: UnitDirectory | None) -> DraftRequirement:
    review = [ReviewNote(field="text" if n.startswith("【拆分】") else ("deadline" if "时限" in n else "units"),
                         note=n) for n in item.notes]
    deadlines: list[DraftDeadline] = []
    for phrase in item.deadlines:
        entry, note = _deadline(phrase, plan_year, published, calendar,
                                "cell" if item.deadline_source == "cell" else "text")
        deadlines.append(entry)
        if note:
            review.append(ReviewNote(field="deadline", note=note))
    if not deadlines:
        deadlines.append(DraftDeadline(phrase="（原文未写时限）", source="cell", spec=None, status="unreadable",
                                       error="no deadline written"))
        review.append(ReviewNote(field="deadline", note="【待核】原文未写完成时限：暂以占位规格（持续工作），"
                                                        "请按方案年份或上级要求写明时限。"))
    known = tuple(n for n in item.lead if directory is None or directory.lookup(n) is not None)
    unknown = tuple(n for n in item.lead if n not in known)
    co_known = tuple(n for n in item.co if directory is None or directory.lookup(n) is not None)
    for name in (*unknown, *(n for n in item.co if n not in co_known)):
        review.append(ReviewNote(field="units", note=f"【待核】“{name}”不在单位名录中，未列入"))
    if item.co:
        review.append(ReviewNote(field="units", note=f"【待核】配合单位读作：{'、'.join(item.co)}（核对牵头与配合的区分）"))
    units = "、".join(known) if known else "、".join(item.lead) or "（原文未写责任单位）"
    return DraftRequirement(no=no, text=tidy(item.text), units=units, unit_names=known or item.lead,
                            unknown_units=unknown, deadlines=tuple(deadlines), review=tuple(review), line=item.line,
                            co_units="、".join(co_known), co_unit_names=co_known)


# =========================================================================== units directory

_GROUP = re.compile(r"^(?:各|全)|有关|相关|等$|及|各.{0,6}(?:单位|部门)$|[（(].*[、,].*[）)]")


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftUnits:
    """A units directory drafted from plans: named units, and group phrases awaiting members."""

    id: str
    name: str
    units: tuple[str, ...]
    groups: tuple[str, ...]


def draft_units(plans: Sequence[DraftPlan], *, directory_id: str, name: str) -> DraftUnits:
    """Every unit the plans name, split into single units and groups (各…, …有关单位, …等)."""
    names: dict[str, None] = {}
    for plan in plans:
        for _task, req in plan.requirements():
            for n in (*req.unit_names, *req.co_unit_names):
                names.setdefault(n)
    units = tuple(n for n in names if not _GROUP.search(fold(n)))
    groups = tuple(n for n in names if _GROUP.search(fold(n)))
    return DraftUnits(id=directory_id, name=name, units=units, groups=groups)


def render_units_yaml(draft: DraftUnits) -> str:
    """``rules/units/<id>.yaml`` for review: addresses empty and flagged, groups with a members request."""
    out = [f"# 草稿（duban plan draft 自动生成）：{draft.name}单位名录，未经人工核对。",
           "# 【待核】每个单位的联络员邮箱未填：请补 officials（name, role: clerk/leader, email）后再启用提醒。",
           "# 【待核】每个单位组（各…、…有关单位）需列出成员单位：members 为空时 validate 报 empty-units。",
           "directory:", f"  id: {draft.id}", f"  name: {_yq(draft.name)}", f"supervisor: {_yq(draft.units[0] if draft.units else draft.name)}",
           "", "units:"]
    for unit in draft.units:
        out += [f"  - name: {_yq(unit)}  # 【待核】地址未填"]
    if not draft.units:
        out.append("  []")
    if draft.groups:
        out += ["", "groups:"]
        for group in draft.groups:
            out += [f"  - name: {_yq(group)}", "    members: []",
                    f"    note: {_yq('【待核】请列出“' + group + '”包括哪些单位（成员须在上方 units 中）')}"]
    return "\n".join(out) + "\n"
