"""Senders that share one outbox: claim rows, send them, record what became of each.

:mod:`.delivery` assumes one sender per database. With several engine
processes on one PostgreSQL (issue 15) every process sends, so a row must be
handed to exactly one of them. A sender **claims** a chunk of rows in one
short transaction, then sends without holding any lock, then records the
results in a second transaction:

1. claim: ``UPDATE notifications SET claimed_by = me, claimed_until = now + ttl
   WHERE id IN (SELECT id … FOR UPDATE SKIP LOCKED LIMIT n)``. On PostgreSQL,
   ``SKIP LOCKED`` lets concurrent senders take disjoint chunks without
   waiting for each other; on SQLite the single writer lock makes the same
   statement atomic (SQLAlchemy leaves ``FOR UPDATE`` out there). A row is
   claimable when it is due (``pending``, or ``retry`` whose time has come) and
   nobody holds a live claim on it.
2. send: the claimed rows go to the notifier, outside any transaction (an
   SMTP conversation may take seconds; no row or table lock is held).
3. record: each result is written only if the row is still claimed by this
   sender (a fencing check), with one audit record per attempt, and the claim
   is cleared.

A sender killed between 1 and 3 leaves its claim; it expires after ``ttl``
and another sender takes the rows over, resending with the same Message-ID
(at-least-once, as docs/notifications.md explains for SMTP). A sender that
dies before sending anything costs a delay of one ``ttl``, never a message.

Retries follow :class:`RetryPolicy`: an exponential backoff, and a
**lifetime** after which a row still not delivered is ``expired`` — never
silently dropped: the expiry is audited and the supervising office (督查室)
gets a digest listing every expired message, written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ...notifiers.abc import DeliveryResult, Notifier, OutgoingMessage
from ...notifiers.model import Digest
from ...notifiers.render import DigestRenderer, check_address, render_digest
from ...errors import DubanError
from ...store import audit
from ...store.models import Notification, Official, Unit
from .delivery import DeliveryReport, _attachments

#: The outbox stage of a supervisor's report about expired messages (never itself reported on expiry).
EXPIRED_REPORT_STAGE = "delivery_expired"


class NotifierContractError(DubanError, RuntimeError):
    """The notifier answered for the wrong messages: nothing of the chunk is recorded."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """When a row the notifier could not hand over is tried again, and when it is given up.

    The n-th failed attempt waits ``min(cap, base * 2**(n-1))`` seconds, or
    the notifier's own ``retry_after`` if that is longer (a rate limit knows
    best). A row still undelivered ``lifetime`` after it was written is
    ``expired`` (like an MTA's queue lifetime); ``max_attempts``, if set,
    marks it ``failed`` earlier.
    """

    base: float = 60.0
    cap: float = 3600.0
    lifetime: dt.timedelta = dt.timedelta(days=2)
    max_attempts: int | None = None

    def delay(self, attempts: int, retry_after: float | None) -> dt.timedelta:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        backoff = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=max(backoff, retry_after or 0.0))


@dataclass(frozen=True, kw_only=True, slots=True)
class SenderConfig:
    """Who this sender is and how it claims: its id, the claim's lifetime, the chunk size."""

    worker: str
    sender: str
    message_id_domain: str
    dashboard_url: str
    claim_ttl: dt.timedelta = dt.timedelta(minutes=5)
    chunk: int = 100
    retry: RetryPolicy = RetryPolicy()
    renderer: DigestRenderer | None = None


def _due(now: dt.datetime):  # type: ignore[no-untyped-def]
    """Rows that may be claimed at ``now``: due to send, and without a live claim."""
    return and_(
        or_(Notification.status == "pending",
            and_(Notification.status == "retry", Notification.next_attempt_at <= now)),
        or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now),
    )


def claim(sessions: sessionmaker[Session], *, worker: str, now: dt.datetime, limit: int,
          ttl: dt.timedelta) -> list[int]:
    """Claim up to ``limit`` due rows for ``worker``; their ids, oldest first.

    One statement, committed at once: concurrent senders on PostgreSQL skip
    each other's locked rows instead of queueing behind them.
    """
    picked = (select(Notification.id).where(_due(now)).order_by(Notification.id).limit(limit)
              .with_for_update(skip_locked=True))
    with sessions() as session, session.begin():
        ids = session.scalars(
            update(Notification).where(Notification.id.in_(picked.scalar_subquery()))
            .values(claimed_by=worker, claimed_until=now + ttl).returning(Notification.id)
            .execution_options(synchronize_session=False)).all()
    return sorted(ids)


def deliver_claimed(sessions: sessionmaker[Session], notifier: Notifier, cfg: SenderConfig, *,
                    now: dt.datetime | None = None, source: audit.Source = "scheduler",
                    max_chunks: int | None = None) -> DeliveryReport:
    """Claim, send and record chunk after chunk until nothing is due (or ``max_chunks`` ran).

    ``now`` fixes the clock (replays, tests); without it every chunk reads the
    wall clock afresh, so a claim made late in a long drain still lasts a full
    ``claim_ttl`` (a stale start time would hand out claims that have already
    lapsed, and another sender would take the same rows).
    """
    report = DeliveryReport()
    done = 0
    while max_chunks is None or done < max_chunks:
        at = now or audit.utcnow()
        ids = claim(sessions, worker=cfg.worker, now=at, limit=cfg.chunk, ttl=cfg.claim_ttl)
        if not ids:
            break
        _send_chunk(sessions, notifier, cfg, ids, now=now or audit.utcnow(), source=source, report=report)
        done += 1
    return report


def _send_chunk(sessions: sessionmaker[Session], notifier: Notifier, cfg: SenderConfig, ids: Sequence[int], *,
                now: dt.datetime, source: audit.Source, report: DeliveryReport) -> None:
    with sessions() as session:  # read the claimed rows; no transaction stays open while sending
        rows = session.scalars(select(Notification).where(Notification.id.in_(ids),
                                                          Notification.claimed_by == cfg.worker)
                               .order_by(Notification.id)).all()
        files = _attachments(session, [r.key for r in rows])
    if not rows:
        return
    messages = [OutgoingMessage(key=r.key, message_id=r.message_id, sender=cfg.sender,
                                recipient=str(Address(display_name=r.recipient_name, addr_spec=r.recipient)),
                                subject=r.subject, text=r.body_text, html=r.body_html or "",
                                created=r.created_at, attachments=files.get(r.key, ())) for r in rows]
    results = notifier.send_batch(messages)
    if [res.key for res in results] != [m.key for m in messages]:
        raise NotifierContractError(f"notifier {notifier.name!r} answered for {len(results)} message(s) that do not "
                                    f"match the {len(messages)} it was given")
    _record(sessions, notifier.name, cfg, dict(zip([r.id for r in rows], results)), now=now, source=source,
            report=report)


def _record(sessions: sessionmaker[Session], actor: str, cfg: SenderConfig, results: dict[int, DeliveryResult], *,
            now: dt.datetime, source: audit.Source, report: DeliveryReport) -> None:
    """Write each result if the row is still ours; one audit record per attempt; expiries reported."""
    expired: list[Notification] = []
    with sessions() as session, session.begin():
        rows = session.scalars(select(Notification).where(Notification.id.in_(list(results)))
                               .order_by(Notification.id).with_for_update()).all()
        for row in rows:
            if row.claimed_by != cfg.worker:  # our claim lapsed and another sender took the row over
                continue
            res = results[row.id]
            before = {"status": row.status, "attempts": row.attempts}
            row.attempts += 1
            row.claimed_by, row.claimed_until = None, None
            if res.status == "sent":
                row.status, row.sent_at, row.last_error = "sent", now, None
            elif res.status == "failed" or (cfg.retry.max_attempts and row.attempts >= cfg.retry.max_attempts):
                row.status, row.last_error = "failed", res.detail or "too many attempts"
            elif now - row.created_at >= cfg.retry.lifetime:
                row.status = "expired"
                row.last_error = f"not delivered within {cfg.retry.lifetime}: {res.detail}"
                expired.append(row)
            else:
                row.status, row.last_error = "retry", res.detail
                row.next_attempt_at = now + cfg.retry.delay(row.attempts, res.retry_after)
            report.attempted += 1
            report.statuses[row.status] += 1
            after = {"status": row.status, "attempts": row.attempts, "recipient": row.recipient}
            if row.last_error:
                after["detail"] = row.last_error
            if row.status == "retry" and row.next_attempt_at is not None:
                after["next_attempt_at"] = row.next_attempt_at.isoformat()
            audit.append(session, actor=actor, source=source, action=f"notification.{row.status}",
                         object_type="notification", object_id=row.key, before=before, after=after, at=now)
        reportable = [r for r in expired if r.stage != EXPIRED_REPORT_STAGE]
        if reportable:
            _report_expired(session, cfg, reportable, now=now, report=report)


def _report_expired(session: Session, cfg: SenderConfig, rows: Sequence[Notification], *, now: dt.datetime,
                    report: DeliveryReport) -> None:
    """One digest per supervising-office official naming every expired message (same transaction).

    The key is derived from the expired rows' keys, so a re-run of the same
    records cannot write the report twice.
    """
    tag = hashlib.sha256("\n".join(sorted(r.key for r in rows)).encode()).hexdigest()[:16]
    notes = tuple(f"{r.scheduled_for} 发给 {r.recipient} 的督办邮件在 {cfg.retry.lifetime} 内未能送达"
                  f"（{r.last_error or '邮件服务器不可用'}），已过期，请电话通知。" for r in rows)
    day = rows[0].scheduled_for
    supervisors = session.execute(
        select(Official.name, Official.email).join(Unit, Unit.id == Official.unit_id)
        .where(Unit.is_supervisor.is_(True), Official.role.in_(("clerk", "leader"))).order_by(Official.id)).all()
    for name, address in supervisors:
        if not _valid(address):
            continue
        key = f"{day.isoformat()}/supervisor/{address}/delivery-expired/{tag}"
        if session.scalar(select(Notification.id).where(Notification.key == key)) is not None:
            continue
        digest = Digest(key=key, recipient_name=name, recipient_email=address, recipient_role="supervisor",
                        units=(), as_of=day, items=(), dashboard_url=cfg.dashboard_url, notes=notes)
        msg = render_digest(digest, sender=cfg.sender, message_id_domain=cfg.message_id_domain,
                            renderer=cfg.renderer, now=now)
        session.add(Notification(key=key, recipient=address, recipient_name=name, recipient_role="supervisor",
                                 stage=EXPIRED_REPORT_STAGE, obligation_ids=sorted({i for r in rows
                                                                                    for i in r.obligation_ids}),
                                 due=None, scheduled_for=day, status="pending", attempts=0,
                                 message_id=msg.message_id, subject=msg.subject, body_text=msg.text,
                                 body_html=msg.html, created_at=now))
        report.statuses["expiry_reported"] += 1
        audit.append(session, actor="scheduler", source="scheduler", action="notification.expiry_reported",
                     object_type="notification", object_id=key, after={"expired": sorted(r.key for r in rows)},
                     at=now)


def _valid(address: str | None) -> bool:
    if not address:
        return False
    try:
        check_address("recipient", address)
    except DubanError:
        return False
    return True
