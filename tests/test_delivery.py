"""From a tick to a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.runtime.settings import load_settings
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import load_plans
from duban.engine.runtime.build import Runtime, build_runtime
from duban.notifiers.smtp import SmtpNotifier
from duban.store.models import AuditRecord, Notification
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
CAL = WorkingCalendar.default()
DAY = dt.date(2016, 7, 25)


class Server:
    """An SMTP server that answers DATA as told: ``ok``, ``451-once`` (then 250) or ``550``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.received: list[email.message.EmailMessage] = []
        self.connections = 0
        self.refused_once: set[str] = set()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        if self.mode == "550":
            return "550 5.1.1 mailbox unavailable"
        if self.mode == "451-once" and msg["Message-ID"] not in self.refused_once:
            self.refused_once.add(msg["Message-ID"])
            return "451 4.3.0 try again later"
        self.received.append(msg)
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest) -> Iterator[tuple[Server, int]]:
    handler = Server(getattr(request, "param", "ok"))
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def seeded_runtime(store, tmp_path: Path, port: int) -> Runtime:
    settings = load_settings(environ={"DUBAN_DATABASE_URL": store.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox"),
                                      "DUBAN_NOTIFIER": "smtp"})
    rt = build_runtime(settings, engine=store.engine)
    # Explicit construction (what the factory does), with no real waiting between retries.
    rt.notifier_factory = lambda: SmtpNotifier("127.0.0.1", port, mode="plain", backoff_base=0.0,
                                               sleep=lambda _s: None)
    result = load_plans([REPO / "rules" / "plans"], units_dirs=[REPO / "rules" / "units"], calendar=CAL)
    with rt.sessions() as s, s.begin():
        import_result(s, result, calendar=CAL, actor="test")
    return rt


def statuses(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return dict(s.execute(select(Notification.status, func.count()).group_by(Notification.status)).tuples().all())


def test_every_digest_reaches_the_server_once_over_reused_connections(store, tmp_path, smtp_server):
    server, port = smtp_server
    rt = seeded_runtime(store, tmp_path, port)
    result, report = rt.run_tick(DAY)
    assert result.digests > 20 and report is not None
    assert statuses(rt) == {"sent": result.digests}
    assert len(server.received) == result.digests
    assert server.connections <= -(-result.digests // 200)  # one connection per delivery chunk
    ids = [m["Message-ID"] for m in server.received]
    assert len(set(ids)) == len(ids)
    msg = server.received[0]
    assert "督办" in str(msg["Subject"])
    assert msg.get_body(("html",)) is not None and msg.get_body(("plain",)) is not None
    rt.run_tick(DAY)  # a re-run delivers nothing again
    assert len(server.received) == result.digests
    with rt.sessions() as s:
        assert s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.action == "notification.sent")).scalar_one() == result.digests


@pytest.mark.parametrize("smtp_server", ["451-once"], indirect=True)
def test_a_temporary_refusal_is_retried_and_delivered(store, tmp_path, smtp_server):
    server, port = smtp_server
    rt = seeded_runtime(store, tmp_path, port)
    result, _ = rt.run_tick(DAY)
    assert statuses(rt) == {"sent": result.digests}
    assert len(server.received) == result.digests and len(server.refused_once) == result.digests


@pytest.mark.parametrize("smtp_server", ["550"], indirect=True)
def test_a_permanent_refusal_is_marked_failed_and_reported_to_the_supervisor(store, tmp_path, smtp_server):
    server, port = smtp_server
    rt = seeded_runtime(store, tmp_path, port)
    result, _ = rt.run_tick(DAY)
    assert statuses(rt) == {"failed": result.digests} and not server.received
    with rt.sessions() as s:
        rows = s.scalars(select(Notification).where(Notification.status == "failed")).all()
        assert all("550" in (r.last_error or "") for r in rows)
    # The next working day's tick tells the supervising office which mails bounced (the outbox folder
    # notifier stands in for the mail server, which still refuses).
    from duban.notifiers.outbox import OutboxNotifier

    rt.notifier_factory = lambda: OutboxNotifier(tmp_path / "outbox")
    next_day = CAL.next_workday(DAY, inclusive=False)
    rt.run_tick(next_day)
    with rt.sessions() as s:
        # One email per address and day: the note travels in the office's digest of that day (its own row's
        # stage says so when nothing else is in it).
        reports = [n for n in s.scalars(select(Notification).where(Notification.scheduled_for == next_day))
                   if "被邮件服务器拒收" in n.body_text]
    assert reports and all(r.recipient_role == "supervisor" and r.status == "sent" for r in reports)
    assert all("550" in r.body_text for r in reports)
    assert all("拒收" in r.body_text and "550" in r.body_text for r in reports)
