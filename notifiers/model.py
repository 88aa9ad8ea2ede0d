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
)
ESCALATION_STAGES: frozenset[str] = frozenset({"escalate_leader", "escalate_supervisor"})


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
        return self.recipient_role != "clerk" or any(item.escalated for item in self.items)

    def count(self, colour: Colour) -> int:
        """How many items carry ``colour``."""
        return sum(1 for item in self.items if item.colour == colour)
