"""The digest (督办提醒汇总): what one recipient is told in one tick.

The tick (:mod:`duban.engine`) decides *who* must be reminded of *what*; it
builds one :class:`Digest` per recipient per tick, holding one
:class:`DigestItem` per obligation occurrence that reached a reminder stage.
Everything below that decision (rendering, MIME, delivery) reads only these
values, so a digest can be replayed, rendered again or sent by another
notifier without touching the store.

The values carry display text the tick already chose (the Chinese stage label,
the deadline phrase as written in the plan): rendering never re-derives
domain decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeAlias, get_args

from ..errors import DubanError

Colour: TypeAlias = Literal["green", "yellow", "red"]
Role: TypeAlias = Literal["clerk", "leader", "supervisor"]

COLOURS: tuple[str, ...] = get_args(Colour)
ROLES: tuple[str, ...] = get_args(Role)

#: The reminder stages, in the order an obligation passes through them.
#: ``escalate_*`` stages go to the unit's leader (单位负责人) and to the
#: supervising office (督查室) rather than to the contact clerk.
STAGES: tuple[str, ...] = (
    "before_10",
    "before_5",
    "before_1",
    "due_day",
    "overdue_1",
    "overdue_repeat",
    "escalate_leader",
    "escalate_supervisor",
    "weekly",
)
ESCALATION_STAGES: frozenset[str] = frozenset({"escalate_leader", "escalate_supervisor"})

#: What a section of a digest is (one email per recipient per working day holds several):
#: ``changes`` — items that reached a new stage today (10/5/1 days before, due day, first overdue);
#: ``weekly`` — the weekly repeat of what is still overdue and of missed check-ins (每周汇总);
#: ``escalation`` — a summary by unit for a leader or the supervising office (升级督办);
#: ``bulletin`` — the weekly 督办通报 ranking units, with a chart.
SectionKind: TypeAlias = Literal["changes", "cc", "weekly", "escalation", "bulletin"]
SECTION_KINDS: tuple[str, ...] = get_args(SectionKind)
#: Section titles of a single-role digest (built from ``items`` alone).
DEFAULT_TITLES = {"clerk": "督办事项", "leader": "逾期升级督办（按督办规定抄送您）", "supervisor": "逾期升级督办（报督查室）"}


class DigestValueError(DubanError, ValueError):
    """A digest or digest item holds a value outside its vocabulary."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestItem:
    """One obligation occurrence a recipient is reminded of (督办事项).

    ``occurrence_key`` tells occurrences of a recurring or triggered
    obligation apart ("final", "2016-Q3", "event:12").
    ``working_days_left`` counts on the official calendar; it is negative
    when the item is that many working days overdue (已逾期).
    """

    obligation_id: int
    occurrence_key: str
    plan_title: str
    task_no: int
    task_title: str
    requirement_no: int
    requirement_text: str
    unit: str
    deadline_phrase: str
    due: date
    working_days_left: int
    colour: Colour
    stage: str
    stage_label: str
    #: Every due part of this requirement for this unit (one line per requirement
    #: and unit, never the same requirement twice): "全年工作：2016年12月31日前".
    parts: tuple[str, ...] = ()
    #: A check-in (进展报送): asks for progress, not completion; urged, never "overdue".
    checkin: bool = False
    #: The one link to act on the item (the dashboard page with its forms); "" for the digest's link.
    link: str = ""
    #: Every obligation whose parts the card folds (the head's included): what the outbox row records.
    obligation_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise DigestValueError(f"unknown colour {self.colour!r}; expected one of {COLOURS}")
        if self.stage not in STAGES:
            raise DigestValueError(f"unknown reminder stage {self.stage!r}; expected one of {STAGES}")

    @property
    def overdue(self) -> bool:
        """True once the due date has passed (逾期)."""
        return self.working_days_left < 0

    @property
    def escalated(self) -> bool:
        """True for an escalation stage (逾期升级)."""
        return self.stage in ESCALATION_STAGES


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitSummary:
    """One row of an escalation summary (按单位汇总): where a unit stands today."""

    unit: str
    overdue: int
    due_soon: int
    longest_overdue: int  # working days, 0 when nothing is overdue
    missed_checkins: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RankRow:
    """One row of the weekly 督办通报: a unit's on-time rate and overdue count."""

    rank: int
    unit: str
    assessed: int
    on_time: int
    overdue: int
    on_time_rate: float | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Attachment:
    """A file carried by the message: the full list (.xlsx) or the bulletin chart (.png).

    ``content_id`` set: an inline image the HTML shows with ``<img src="cid:…">``.
    """

    filename: str
    content_type: str  # "image/png", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    data: bytes
    content_id: str = ""

    def __post_init__(self) -> None:
        if "/" not in self.content_type or not self.filename:
            raise DigestValueError(f"an attachment needs a file name and a type/subtype, got "
                                   f"{self.filename!r}, {self.content_type!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestSection:
    """One part of a recipient's daily email: what it is, for which role, which items inline.

    ``total`` counts every item of the section; ``items`` holds those shown
    inline (at most the policy's cap), the rest are in the attachment.
    """

    kind: SectionKind
    role: Role
    title: str
    items: tuple[DigestItem, ...] = ()
    total: int = 0
    summary: tuple[UnitSummary, ...] = ()
    ranking: tuple[RankRow, ...] = ()
    chart_cid: str = ""
    link: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SECTION_KINDS:
            raise DigestValueError(f"unknown section kind {self.kind!r}; expected one of {SECTION_KINDS}")
        if self.role not in ROLES:
            raise DigestValueError(f"unknown section role {self.role!r}; expected one of {ROLES}")
        if self.total < len(self.items):
            raise DigestValueError(f"section {self.title!r}: total {self.total} < {len(self.items)} inline items")

    @property
    def hidden(self) -> int:
        """Items not shown inline (listed in the attachment)."""
        return self.total - len(self.items)


@dataclass(frozen=True, kw_only=True, slots=True)
class Digest:
    """Everything one recipient is told in one tick (one e-mail, one outbox row).

    ``key`` is the outbox key the tick made (unique per recipient and tick);
    it also fixes the message's Message-ID, so a resend after a crash is
    recognisable as the same message. ``notes`` carries remarks outside the
    item table, e.g. for the supervisor: units whose contact has no valid
    address and were therefore not reminded directly.
    """

    key: str
    recipient_name: str
    recipient_email: str
    recipient_role: Role
    units: tuple[str, ...]
    as_of: date
    items: tuple[DigestItem, ...]
    dashboard_url: str
    notes: tuple[str, ...] = ()
    #: The parts of the email. Empty: one section built from ``items`` for ``recipient_role``.
    sections: tuple[DigestSection, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if self.recipient_role not in ROLES:
            raise DigestValueError(
                f"unknown recipient role {self.recipient_role!r}; expected one of {ROLES}"
            )
        if not self.key:
            raise DigestValueError(f"a digest needs a non-empty outbox key, got {self.key!r}")
        # The link goes into an <a href>: autoescaping stops markup, not a javascript: URL.
        if not self.dashboard_url.startswith(("https://", "http://")):
            raise DigestValueError(f"dashboard_url must be an http(s) URL, got {self.dashboard_url!r}")

    @property
    def escalation(self) -> bool:
        """True when the digest escalates (升级): to a leader or the supervisor."""
        if self.sections:
            return any(s.kind == "escalation" for s in self.sections)
        return self.recipient_role != "clerk" or any(item.escalated for item in self.items)

    @property
    def parts(self) -> tuple[DigestSection, ...]:
        """The sections to show: ``sections``, or one built from ``items`` (the single-role form)."""
        if self.sections:
            return self.sections
        kind: SectionKind = "changes" if self.recipient_role == "clerk" else "escalation"
        return (DigestSection(kind=kind, role=self.recipient_role, title=DEFAULT_TITLES[self.recipient_role],
                              items=self.items,
                              total=len(self.items)),)

    @property
    def inline_items(self) -> int:
        """Cards shown in the email, all sections together (the policy caps it)."""
        return sum(len(s.items) for s in self.parts)

    def count(self, colour: Colour) -> int:
        """How many items carry ``colour``."""
        return sum(1 for item in self.items if item.colour == colour)
