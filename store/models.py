"""The SQL store's tables as typed SQLAlchemy 2 models.

How a plan lives in SQL:

* ``plans`` → ``tasks`` → ``requirements`` → ``deadline_entries``: the plan file,
  row for row (verbatim text, units as written, phrase, compiled spec).
* ``units`` (and ``group_members`` for groups such as 各县（市、区）人民政府（管委会）),
  ``officials``: the units directory.
* ``assignments``: which unit leads (牵头) or cooperates on a requirement, and
  whether that was inherited from a merged cell; ``role = 'co'`` marks a
  co-responsible unit (配合单位), which owes no obligation of its own.
* ``obligations``: one per requirement × unit × deadline part — what the
  engine supervises. ``occurrences``: its concrete due instances (one for a
  fixed deadline, one per period for recurring ones, one per event for
  per-event triggered ones).
* ``obligation_summary``: live obligations counted by plan, task, unit and
  next due dates, kept by :mod:`duban.store.summary` for the dashboard.
* ``triggers`` and ``events``: outside events that start triggered deadlines.
* ``stage_records`` + ``notifications``: what the tick decided and the outbox
  it wrote, in one transaction, with unique keys so a re-run never doubles.
* ``audit_log``: append-only, hash-chained (the database refuses UPDATE and
  DELETE on it).

Timestamps are stored in UTC (:class:`UTCDateTime`) and shown in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names: Alembic migrations and both databases agree.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC timestamp on every backend.

    SQLite has no time zone type; storing naive UTC and re-attaching UTC on read
    gives identical behaviour on SQLite and PostgreSQL. Naive input is refused:
    a timestamp without a zone is a bug waiting for daylight (or Beijing) time.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware UTC timestamps only")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=dt.timezone.utc) if value is not None else None


def utcnow() -> dt.datetime:
    """The current instant in UTC (for row timestamps only; decisions take ``as_of``)."""
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# ----------------------------------------------------------------------------- plans


class Plan(Base):
    """One notice's work plan (工作方案), as imported from its plan file."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    doc_number: Mapped[str | None] = mapped_column(Text)  # 文号
    published: Mapped[dt.date] = mapped_column(Date)
    plan_year: Mapped[int] = mapped_column(Integer)
    units_directory: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    tasks: Mapped[list[Task]] = relationship(back_populates="plan", order_by="Task.no", cascade="all, delete-orphan")
    triggers: Mapped[list[Trigger]] = relationship(back_populates="plan", cascade="all, delete-orphan")


class Task(Base):
    """A 工作任务 row of the plan's table (task 0 holds the notice body's duties)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("plan_id", "no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    no: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="tasks")
    requirements: Mapped[list[Requirement]] = relationship(
        back_populates="task", order_by="Requirement.no", cascade="all, delete-orphan"
    )


class Requirement(Base):
    """A numbered 具体要求 of a task, verbatim, with its units cell as written."""

    __tablename__ = "requirements"
    __table_args__ = (UniqueConstraint("task_id", "no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    no: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    units_as_written: Mapped[str] = mapped_column(Text)
    co_units_as_written: Mapped[str | None] = mapped_column(Text)  # the 配合单位 cell, None when there is none
    role: Mapped[str] = mapped_column(String(20), default="lead")
    inherited: Mapped[list[Any]] = mapped_column(default=list)
    review: Mapped[list[Any]] = mapped_column(default=list)

    task: Mapped[Task] = relationship(back_populates="requirements")
    deadlines: Mapped[list[DeadlineEntry]] = relationship(
        back_populates="requirement", order_by="DeadlineEntry.ordinal", cascade="all, delete-orphan"
    )
    assignments: Mapped[list[Assignment]] = relationship(back_populates="requirement", cascade="all, delete-orphan")


class DeadlineEntry(Base):
    """One deadline of a requirement: the phrase verbatim and its compiled spec."""

    __tablename__ = "deadline_entries"
    __table_args__ = (UniqueConstraint("requirement_id", "ordinal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("requirements.id"))
    ordinal: Mapped[int] = mapped_column(Integer)
    phrase: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # cell | text | inherited
    spec: Mapped[dict[str, Any]] = mapped_column()
    spec_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger_key: Mapped[str | None] = mapped_column(String(100))

    requirement: Mapped[Requirement] = relationship(back_populates="deadlines")


# ----------------------------------------------------------------------------- units


class Unit(Base):
    """A unit (单位) or a group of units named collectively (e.g. the annex list)."""

    __tablename__ = "units"
    # Short names repeat across cities (every city has a 市财政局): unique per directory.
    __table_args__ = (UniqueConstraint("directory", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str | None] = mapped_column(Text)
    directory: Mapped[str] = mapped_column(String(100))
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    is_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)  # the 督查 office of its directory
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(Text)

    officials: Mapped[list[Official]] = relationship(back_populates="unit", cascade="all, delete-orphan")


class GroupMember(Base):
    """Membership of a unit in a group (groups expand when obligations are made)."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class Official(Base):
    """A person at a unit who receives reminders: clerk, leader, member, contact."""

    __tablename__ = "officials"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    post: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)

    unit: Mapped[Unit] = relationship(back_populates="officials")


class Assignment(Base):
    """A unit's part in a requirement: its role is the requirement's (``lead``/``cooperating``) or ``co``.

    ``co`` rows are the requirement's co-responsible units (配合单位): no
    obligation of their own, copied on the lead's reminders, listed on their
    配合事项 page (:func:`duban.engine.services.queries.co_unit_items`).
    """

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("requirement_id", "unit_id"),
        Index("ix_assignments_unit_id_role", "unit_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("requirements.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(20), default="lead")
    inherited: Mapped[bool] = mapped_column(Boolean, default=False)  # from a merged (blank) cell
    via_group: Mapped[str | None] = mapped_column(String(200))  # the group name as written, if expanded

    requirement: Mapped[Requirement] = relationship(back_populates="assignments")
    unit: Mapped[Unit] = relationship()


# ----------------------------------------------------------------------------- obligations


class Obligation(Base):
    """What one unit owes for one requirement under one deadline part.

    ``okey`` is the natural key (plan/task/requirement/unit/deadline/part), so a
    re-import updates rows in place and history (occurrences, reminders, audit)
    stays attached. An obligation removed from the plan is retired, never
    deleted.
    """

    __tablename__ = "obligations"

    id: Mapped[int] = mapped_column(primary_key=True)
    okey: Mapped[str] = mapped_column(String(400), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("requirements.id"), index=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadline_entries.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    part: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    spec: Mapped[dict[str, Any]] = mapped_column()  # the leaf spec
    trigger_key: Mapped[str | None] = mapped_column(String(100))
    # active | done | waived | retired (the per-date status is derived from occurrences)
    state: Mapped[str] = mapped_column(String(20), default="active")

    requirement: Mapped[Requirement] = relationship()
    unit: Mapped[Unit] = relationship()
    deadline: Mapped[DeadlineEntry] = relationship()
    occurrences: Mapped[list[Occurrence]] = relationship(
        back_populates="obligation", order_by="Occurrence.due", cascade="all, delete-orphan"
    )


class Occurrence(Base):
    """A concrete due instance of an obligation (the unit the tick reminds about)."""

    __tablename__ = "occurrences"
    __table_args__ = (
        UniqueConstraint("obligation_id", "key"),
        Index("ix_occurrences_state_due", "state", "due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id"))
    key: Mapped[str] = mapped_column(String(100))  # "final", "2016-Q3", "event:12", "checkin:2016-09-30"
    label: Mapped[str] = mapped_column(Text)
    due: Mapped[dt.date] = mapped_column(Date)
    checkin: Mapped[bool] = mapped_column(Boolean, default=False)
    # open | done | waived | cancelled (a retracted event's occurrence)
    state: Mapped[str] = mapped_column(String(20), default="open")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)
    late_by: Mapped[int | None] = mapped_column(Integer)  # working days, when completed late

    obligation: Mapped[Obligation] = relationship(back_populates="occurrences")


class ObligationSummary(Base):
    """Live obligations counted by what their status on any day depends on (migration 0008).

    One row per (plan, task, unit, settled status, next open due, next open
    non-check-in due) with the number ``n`` of live obligations sharing them;
    ``settled`` is the status that no day changes (done, waived, dormant, open
    without a due date), and the two dates are NULL when it is set. The
    dashboard derives every per-status count for any ``as_of`` from these few
    thousand rows. Derived data: :mod:`duban.store.summary` keeps it right in
    the transactions that change obligations or their due instances, and can
    rebuild and verify it.
    """

    __tablename__ = "obligation_summary"
    __table_args__ = (
        Index("ix_obligation_summary_plan_id", "plan_id"),
        # A refresh deletes (unit, task) groups; a unit's page reads its rows.
        Index("ix_obligation_summary_unit_id_task_id", "unit_id", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(100))
    task_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(Integer)
    settled: Mapped[str | None] = mapped_column(String(20))
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    next_deadline: Mapped[dt.date | None] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)


# ----------------------------------------------------------------------------- events


class Trigger(Base):
    """An outside event a plan waits for (a provincial document, a budget vote...)."""

    __tablename__ = "triggers"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    key: Mapped[str] = mapped_column(String(100))
    event_kind: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="triggers")


class Event(Base):
    """A recorded occurrence of a trigger, with its provenance (文号, title...)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id"), index=True)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    occurred_at: Mapped[dt.datetime | None] = mapped_column()
    doc_number: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | retracted
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    trigger: Mapped[Trigger] = relationship()


# ----------------------------------------------------------------------------- the tick


class StageRecord(Base):
    """That a reminder stage was handled for an occurrence (sent or skipped).

    The unique constraint is the idempotency guarantee: a tick that crashed and
    re-runs cannot record — and so cannot send — the same stage twice.
    """

    __tablename__ = "stage_records"
    __table_args__ = (UniqueConstraint("occurrence_id", "stage", "repeat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"), index=True)
    stage: Mapped[str] = mapped_column(String(50))
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    action: Mapped[str] = mapped_column(String(10))  # send | skip
    tick_date: Mapped[dt.date] = mapped_column(Date)
    notification_key: Mapped[str | None] = mapped_column(String(300))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """An outbox row: one digest for one recipient, rendered at decision time.

    ``key`` is unique (recipient, tick day, stage family); the sender delivers
    ``pending``/``retry`` rows and a resend reuses ``message_id``.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
        # Rows still to deliver only (migration 0007): the senders' claim query scans these.
        Index("ix_notifications_to_send", "id", sqlite_where=text("status IN ('pending', 'retry')"),
              postgresql_where=text("status IN ('pending', 'retry')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    recipient: Mapped[str] = mapped_column(Text)
    recipient_name: Mapped[str] = mapped_column(Text)
    recipient_role: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(50))
    obligation_ids: Mapped[list[Any]] = mapped_column(default=list)
    due: Mapped[dt.date | None] = mapped_column(Date)  # the earliest due date in the digest
    scheduled_for: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | retry | sent | failed | expired
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    # A sender's claim (engine/reminders/claims.py): who is delivering the row, until when.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[dt.datetime | None] = mapped_column()


class NotificationAttachment(Base):
    """A file carried by an outbox message (the full list as .xlsx, the bulletin chart as .png).

    Stored at decision time with the message, so a resend carries the very
    bytes first attempted. ``content_id`` set: an inline image of the HTML.
    """

    __tablename__ = "notification_attachments"
    __table_args__ = (UniqueConstraint("notification_key", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_key: Mapped[str] = mapped_column(String(300), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(100))
    content_id: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ProgressReport(Base):
    """A progress report (进展情况) on an obligation: text and evidence, not a completion.

    ``occurrence_id`` names the check-in it answers, if any; the check-in is
    then closed (reported), the obligation itself stays open.
    """

    __tablename__ = "progress_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id"), index=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("occurrences.id"))
    reported_on: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TickRun(Base):
    """One tick: the day it evaluated and what it did (for operators)."""

    __tablename__ = "tick_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Lease(Base):
    """A named lease so only one ``duban run`` works on a database at a time."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column()
    # Bumped on every change of holder: a fencing token (engine/runtime/leader.py).
    epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# ----------------------------------------------------------------------------- audit


class AuditRecord(Base):
    """One state change, append-only and hash-chained (see :mod:`duban.store.audit`)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # cli | web | scheduler
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(200), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC of hash under $DUBAN_AUDIT_KEY (migration 0004)


# ----------------------------------------------------------------------------- extensions and users


class Extension(Base):
    """A request to move a due date (延期申请); only a supervisor may approve it, never its requester."""

    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id"), index=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"))
    until: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="requested")  # requested | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(Text)
    original_due: Mapped[dt.date] = mapped_column(Date)


class User(Base):
    """A dashboard account: admin, supervisor, clerk (bound to units) or viewer."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)  # bumped on logout/password change
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UserUnit(Base):
    """The units a clerk acts for."""

    __tablename__ = "user_units"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class LoginAttempt(Base):
    """Login attempts, for rate limiting (per account and per client address)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_name_at", "name", "at"), Index("ix_login_attempts_client_at", "client", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)


# ----------------------------------------------------------------------------- the inbox (收文)


class InboxDocument(Base):
    """A document that arrived through an inbox source (folder, mailbox, list page or feed).

    ``key`` identifies the document across sources (normalised 文号, else
    title + issuer + date): the same notice mailed and published is one row,
    ``sources`` lists every place it was seen.
    """

    __tablename__ = "inbox_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    doc_number: Mapped[str | None] = mapped_column(Text)  # 文号
    issuer: Mapped[str | None] = mapped_column(Text)
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    link: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    sources: Mapped[list[Any]] = mapped_column(default=list)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InboxProposal(Base):
    """That a document may start a trigger: a proposal a person accepts (→ an event) or rejects.

    One row per document × trigger, ever: a rejected proposal stays, so the
    same document is never proposed again for that trigger.
    """

    __tablename__ = "inbox_proposals"
    __table_args__ = (UniqueConstraint("document_id", "plan_id", "trigger_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("inbox_documents.id"), index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    trigger_key: Mapped[str] = mapped_column(String(100))
    score_milli: Mapped[int] = mapped_column(Integer)  # score × 1000 (0–1000)
    rank: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="proposed")  # proposed | accepted | rejected
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision_reason: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))

    document: Mapped[InboxDocument] = relationship()
