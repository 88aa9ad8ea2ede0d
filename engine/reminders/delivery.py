"""Delivery: hand committed outbox rows to the notifier, record what became of them.

The tick writes digests as ``pending`` rows in the same transaction as its
decisions; this step sends them afterwards. Each chunk of rows is sent, then
its results are committed with one audit record per message. A crash between
the send and the commit leaves the rows pending, so they are sent again with
the same Message-ID (the outbox notifier rewrites the same file; an SMTP
server may see the message twice — documented in docs/notifications.md).

Statuses: ``pending`` → ``sent``; ``retry`` (a 4xx, a dropped connection, a
rate limit: tried again at ``next_attempt_at``, up to ``max_attempts``);
``failed`` (a 5xx, or too many attempts): reported to the supervising office
in its next digest and in the audit log. Nothing is ever dropped.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from ...notifiers.abc import DeliveryResult, HeaderValueError, Notifier, OutgoingMessage
from ...notifiers.model import Attachment
from ...notifiers.render import check_address
from ...store import audit
from ...store.models import Notification, NotificationAttachment

ProgressFn = Callable[[int, int], None]


@dataclass(kw_only=True)
class DeliveryReport:
    attempted: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, object]:
        return {"attempted": self.attempted, **dict(self.statuses)}


def deliver_pending(
    sessions: sessionmaker[Session],
    notifier: Notifier,
    *,
    now: dt.datetime,
    sender: str,
    chunk: int = 200,
    max_attempts: int = 8,
    source: audit.Source = "scheduler",
) -> DeliveryReport:
    """Send every pending row and every retry whose time has come (as of ``now``)."""
    report = DeliveryReport()
    last_id = 0
    while True:
        with sessions() as session, session.begin():
            rows = session.scalars(
                select(Notification)
                .where(Notification.id > last_id,
                       or_(Notification.status == "pending",
                           (Notification.status == "retry") & (Notification.next_attempt_at <= now)))
                .order_by(Notification.id).limit(chunk)
            ).all()
            if not rows:
                return report
            last_id = rows[-1].id
            files = _attachments(session, [r.key for r in rows])
            sendable: list[Notification] = []
            messages: list[OutgoingMessage] = []
            outcomes: list[tuple[Notification, DeliveryResult]] = []
            for r in rows:
                try:
                    messages.append(_message(r, sender, files.get(r.key, ())))
                    sendable.append(r)
                except (HeaderValueError, ValueError, IndexError) as exc:
                    # A row that cannot become a message fails alone (reported the next working day).
                    outcomes.append((r, DeliveryResult(key=r.key, status="failed",
                                                       detail=f"cannot be encoded: {exc}")))
            results = notifier.send_batch(messages) if messages else []
            if len(results) != len(sendable):
                raise RuntimeError(f"notifier {notifier.name!r} returned {len(results)} results for "
                                   f"{len(sendable)} messages")
            outcomes.extend(zip(sendable, results))
            outcomes.sort(key=lambda pair: pair[0].id)
            for row, res in outcomes:
                if res.key != row.key:
                    raise RuntimeError(f"notifier {notifier.name!r} answered for {res.key!r}, expected {row.key!r}")
                before = {"status": row.status, "attempts": row.attempts}
                row.attempts += 1
                if res.status == "sent":
                    row.status, row.sent_at, row.last_error = "sent", now, None
                elif res.status == "retry" and row.attempts < max_attempts:
                    row.status = "retry"
                    row.next_attempt_at = now + dt.timedelta(seconds=res.retry_after or 60)
                    row.last_error = res.detail
                else:
                    row.status = "failed"
                    row.last_error = res.detail or "too many attempts"
                report.attempted += 1
                report.statuses[row.status] += 1
                audit.append(session, actor=notifier.name, source=source, action=f"notification.{row.status}",
                             object_type="notification", object_id=row.key, before=before,
                             after={"status": row.status, "attempts": row.attempts, "recipient": row.recipient,
                                    **({"detail": row.last_error} if row.last_error else {})})


def _message(row: Notification, sender: str, files: tuple[Attachment, ...]) -> OutgoingMessage:
    """The stored row as a message; raises if its recipient cannot go into a header."""
    check_address("recipient", row.recipient, row.recipient_name or "")
    return OutgoingMessage(key=row.key, message_id=row.message_id, sender=sender,
                           recipient=str(Address(display_name=row.recipient_name, addr_spec=row.recipient)),
                           subject=row.subject, text=row.body_text, html=row.body_html or "",
                           created=row.created_at, attachments=files)


def _attachments(session: Session, keys: list[str]) -> dict[str, tuple[Attachment, ...]]:
    """The stored files of these outbox rows, in their order (a resend carries the same bytes)."""
    out: dict[str, list[Attachment]] = {}
    for row in session.scalars(select(NotificationAttachment).where(NotificationAttachment.notification_key.in_(keys))
                               .order_by(NotificationAttachment.notification_key, NotificationAttachment.position)):
        out.setdefault(row.notification_key, []).append(
            Attachment(filename=row.filename, content_type=row.content_type, data=row.data,
                       content_id=row.content_id or ""))
    return {k: tuple(v) for k, v in out.items()}
