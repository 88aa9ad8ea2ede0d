"""Digest composition (汇总): from today's facts and decisions to one email per recipient.

The tick hands this module plain values — the open occurrences it looked at
(:class:`Fact`), the stages it decided to send today, and who receives what
(:class:`Mailbox`) — and gets back one :class:`~duban.notifiers.model.Digest`
per address. Everything here is pure (no store, no clock), so what a reader
is told can be tested on its own:

* **one line per requirement and unit**: every due part of the same
  requirement for the same unit is folded into one card listing the parts,
  the most urgent part giving the card its due date and colour;
* **sections**, one email: a 督查室 address that is also a unit's clerk gets
  one email with a section per role (changes today, the weekly repeat, the
  escalation summary, the weekly 督办通报);
* **caps**: at most ``policy.max_items`` cards inline in the whole email and
  ``policy.escalation_max_items`` in an escalation summary; the full lists
  travel as one .xlsx attachment, and every section links to the dashboard
  page that shows the same list.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ...notifiers.model import (
    Attachment,
    Digest,
    DigestItem,
    DigestSection,
    RankRow,
    Role,
    SectionKind,
    UnitSummary,
)
from ...notifiers.sheets import XLSX_TYPE, ListSheet, items_workbook
from .policy import ReminderPolicy

#: Section order in an email: what happened today first, then the weekly views.
_ORDER: Mapping[SectionKind, int] = {"escalation": 0, "changes": 1, "cc": 2, "weekly": 3, "bulletin": 4}
_ROLE_RANK: Mapping[str, int] = {"clerk": 0, "leader": 1, "supervisor": 2}


@dataclass(frozen=True, kw_only=True, slots=True)
class Fact:
    """One open due occurrence the tick looked at, with its working days to the due date."""

    occurrence_id: int
    occurrence_key: str
    label: str
    due: dt.date
    checkin: bool
    wd: int
    obligation_id: int
    requirement_id: int
    unit_id: int
    unit: str
    directory: str
    plan_title: str
    task_no: int
    task_title: str
    requirement_no: int
    requirement_text: str
    phrase: str

    @property
    def line_key(self) -> tuple[int, int]:
        """The card a fact belongs to: one per requirement and unit."""
        return self.requirement_id, self.unit_id


@dataclass(frozen=True, kw_only=True, slots=True)
class Sent:
    """A stage sent today for a fact, with its Chinese label."""

    fact: Fact
    stage: str
    label: str


@dataclass(kw_only=True)
class Mailbox:
    """Everything one address receives today, by section, before caps and rendering."""

    email: str
    name: str
    roles: set[str] = field(default_factory=set)
    units: dict[str, None] = field(default_factory=dict)
    #: The units directories (plans' supervising offices) whose items the mailbox holds.
    directories: set[str] = field(default_factory=set)
    #: Why the email exists besides its items (``delivery_failed``, ``recipient_problem``): the outbox row's stage.
    flags: set[str] = field(default_factory=set)
    #: (kind, role) → the sent stages for the section (changes, escalation today).
    sent: dict[tuple[SectionKind, Role], list[Sent]] = field(default_factory=lambda: defaultdict(list))
    #: (kind, role) → the still-open facts the section lists besides today's changes.
    state: dict[tuple[SectionKind, Role], list[Fact]] = field(default_factory=lambda: defaultdict(list))
    summary: dict[tuple[SectionKind, Role], tuple[UnitSummary, ...]] = field(default_factory=dict)
    ranking: tuple[RankRow, ...] = ()
    chart: bytes = b""
    links: dict[tuple[SectionKind, Role], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def role(self) -> Role:
        """The most senior role the address holds today (the outbox row's role)."""
        return max(self.roles or {"clerk"}, key=lambda r: _ROLE_RANK[r])  # type: ignore[return-value]

    @property
    def empty(self) -> bool:
        return not (any(self.sent.values()) or any(self.state.values()) or self.ranking or self.notes)


# --------------------------------------------------------------------------- lines

def _part_text(fact: Fact) -> str:
    return f"{fact.label}：{fact.due.month}月{fact.due.day}日截止"


def lines(facts_and_stages: Iterable[tuple[Fact, str, str]], policy: ReminderPolicy,
          link: str) -> list[DigestItem]:
    """One card per requirement and unit, listing all its due parts, most urgent first.

    ``facts_and_stages`` holds (fact, stage, stage label); a card takes the
    stage of its most urgent part (the lowest working days to due), so the
    same requirement never appears twice in a section. A card of one part
    (the usual case) is built without the folding.
    """
    groups: dict[tuple[int, int], list[tuple[Fact, str, str]]] = {}
    for entry in facts_and_stages:
        key = (entry[0].requirement_id, entry[0].unit_id)
        members = groups.get(key)
        if members is None:
            groups[key] = [entry]
        else:
            members.append(entry)
    colour = policy.colour
    out = []
    for members in groups.values():
        if len(members) == 1:
            head, stage, label = members[0]
            parts: tuple[str, ...] = (_part_text(head),)
            all_checkins = head.checkin
            obligation_ids: tuple[int, ...] = (head.obligation_id,)
        else:
            members.sort(key=lambda e: (e[0].wd, e[0].due, e[0].occurrence_key))
            head, stage, label = members[0]
            parts = tuple(dict.fromkeys(_part_text(f) for f, _s, _l in sorted(members, key=lambda e: e[0].due)))
            all_checkins = all(f.checkin for f, _s, _l in members)
            obligation_ids = tuple(sorted({f.obligation_id for f, _s, _l in members}))
        out.append(DigestItem(
            obligation_id=head.obligation_id, occurrence_key=head.occurrence_key, plan_title=head.plan_title,
            task_no=head.task_no, task_title=head.task_title, requirement_no=head.requirement_no,
            requirement_text=head.requirement_text, unit=head.unit, deadline_phrase=head.phrase, due=head.due,
            working_days_left=head.wd, colour=colour(head.wd), stage=stage, stage_label=label,
            parts=parts, checkin=all_checkins, link=f"{link}/obligations/{head.obligation_id}",
            obligation_ids=obligation_ids))
    out.sort(key=lambda i: (i.checkin, i.working_days_left, i.due, i.task_no, i.requirement_no, i.unit))
    return out


def unit_summaries(facts: Iterable[Fact], *, yellow_within: int,
                   units: Iterable[str] | None = None) -> tuple[UnitSummary, ...]:
    """Where each unit stands today (overdue, due soon, longest overdue, missed check-ins), worst first.

    Counted in cards (requirement × unit), like the lists; ``units`` limits
    the table to those units.
    """
    wanted = set(units) if units is not None else None
    overdue: dict[str, set[tuple[int, int]]] = defaultdict(set)
    soon: dict[str, set[tuple[int, int]]] = defaultdict(set)
    missed: dict[str, set[tuple[int, int]]] = defaultdict(set)
    longest: dict[str, int] = defaultdict(int)
    for f in facts:
        if wanted is not None and f.unit not in wanted:
            continue
        if f.checkin:
            if f.wd < 0:
                missed[f.unit].add(f.line_key)
        elif f.wd < 0:
            overdue[f.unit].add(f.line_key)
            longest[f.unit] = max(longest[f.unit], -f.wd)
        elif f.wd <= yellow_within:
            soon[f.unit].add(f.line_key)
    names = set(overdue) | set(soon) | set(missed)
    rows = [UnitSummary(unit=u, overdue=len(overdue[u]), due_soon=len(soon[u]), longest_overdue=longest[u],
                        missed_checkins=len(missed[u])) for u in names]
    rows.sort(key=lambda r: (-r.overdue, -r.longest_overdue, -r.missed_checkins, -r.due_soon, r.unit))
    return tuple(rows)


# --------------------------------------------------------------------------- sections

_TITLES: Mapping[tuple[SectionKind, str], str] = {
    ("changes", "clerk"): "今日新提醒",
    ("cc", "clerk"): "抄送：配合事项（牵头单位的今日提醒）",
    ("weekly", "clerk"): "每周汇总：仍逾期事项与待报进展",
    ("escalation", "leader"): "逾期升级：报单位负责人",
    ("escalation", "supervisor"): "逾期升级：报督查室",
    ("weekly", "leader"): "每周汇总：本单位逾期情况",
    ("weekly", "supervisor"): "每周汇总：各单位逾期情况",
    ("bulletin", "supervisor"): "督办通报：各单位落实情况排名",
}


def _weekly_label(fact: Fact) -> str:
    return "进展情况未报送（催报）" if fact.checkin else f"仍逾期{-fact.wd}个工作日"


def compose(box: Mailbox, *, key: str, as_of: dt.date, policy: ReminderPolicy, dashboard_url: str) -> Digest:
    """The digest of one address: sections in order, caps applied, the full lists attached."""
    budget = policy.max_items
    listed: set[tuple[str, int, int, str]] = set()  # one line per requirement and unit in the whole email
    sections: list[DigestSection] = []
    sheets: list[ListSheet] = []
    kinds = sorted(set(box.sent) | set(box.state) | set(box.summary) | ({("bulletin", "supervisor")}
                   if box.ranking else set()), key=lambda k: (_ORDER[k[0]], -_ROLE_RANK[k[1]]))
    for kind, role in kinds:
        today = box.sent.get((kind, role), [])
        fresh = lines(((s.fact, s.stage, s.label) for s in today), policy, dashboard_url)
        state = box.state.get((kind, role))
        if state:
            seen = {(i.obligation_id, i.unit) for i in fresh}
            today_lines = {s.fact.line_key for s in today}
            rest = lines(((f, "weekly", _weekly_label(f)) for f in state if f.line_key not in today_lines),
                         policy, dashboard_url)
            fresh += [i for i in rest if (i.obligation_id, i.unit) not in seen]
        items = []
        for i in fresh:
            card = (i.plan_title, i.task_no, i.requirement_no, i.unit)  # :func:`_card_key`
            if card not in listed:
                items.append(i)
        listed.update((i.plan_title, i.task_no, i.requirement_no, i.unit) for i in items)
        summary = box.summary.get((kind, role), ())
        if not items and not summary and kind != "bulletin":
            continue
        cap = min(budget, policy.escalation_max_items if kind in ("escalation", "bulletin") or role != "clerk"
                  else policy.max_items)
        shown = tuple(items[:max(cap, 0)])
        budget -= len(shown)
        title = _TITLES.get((kind, role), "督办提醒")
        if len(shown) < len(items):
            sheets.append(ListSheet(title=title, items=tuple(items)))
        sections.append(DigestSection(
            kind=kind, role=role, title=title, items=shown, total=len(items), summary=summary,
            ranking=box.ranking if kind == "bulletin" else (),
            chart_cid=_CHART_CID if kind == "bulletin" and box.chart else "",
            link=box.links.get((kind, role), dashboard_url)))
    attachments: list[Attachment] = []
    if box.chart and any(s.kind == "bulletin" for s in sections):
        attachments.append(Attachment(filename="督办通报.png", content_type="image/png", data=box.chart,
                                      content_id=_CHART_CID))
    if sheets:
        attachments.append(Attachment(filename=f"督办事项清单{as_of.isoformat()}.xlsx", content_type=XLSX_TYPE,
                                      data=items_workbook(sheets, as_of=as_of)))
    all_items = tuple(i for s in sections for i in s.items)
    return Digest(key=key, recipient_name=box.name, recipient_email=box.email, recipient_role=box.role,
                  units=tuple(box.units), as_of=as_of, items=all_items, dashboard_url=dashboard_url,
                  notes=tuple(dict.fromkeys(box.notes)), sections=tuple(sections), attachments=tuple(attachments))


_CHART_CID = "bulletin-chart@duban"


def _card_key(item: DigestItem) -> tuple[str, int, int, str]:
    """A card's identity in an email: the requirement (plan, task, number) and the unit."""
    return item.plan_title, item.task_no, item.requirement_no, item.unit


def cap_check(digest: Digest, policy: ReminderPolicy) -> None:
    """Raise if a digest shows more cards than the policy allows (a guard the tests also use)."""
    if digest.inline_items > policy.max_items:
        raise ValueError(f"digest {digest.key!r} shows {digest.inline_items} cards, more than {policy.max_items}")


def ranked(rows: Sequence[RankRow]) -> tuple[RankRow, ...]:
    """Ranks renumbered 1..n in the order given (the scores' own order: best first)."""
    return tuple(RankRow(rank=i, unit=r.unit, assessed=r.assessed, on_time=r.on_time, overdue=r.overdue,
                         on_time_rate=r.on_time_rate) for i, r in enumerate(rows, start=1))
