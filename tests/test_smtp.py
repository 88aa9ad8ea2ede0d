"""The SMTP notifier against a real aiosmtpd server on 127.0.0.1 (an ephemeral port).

The server's handler scripts the answers (451 then 250, 550, a drop after the
data) and records every connection and every message it accepted, which the
tests parse as a recipient would.
"""

from __future__ import annotations

import dataclasses
import email.policy
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from duban.notifiers.abc import NotifierConfigError, OutgoingMessage
from duban.notifiers.factory import build_notifier
from duban.notifiers.render import SAMPLE_SENDER, render_digest, sample_digest
from duban.notifiers.smtp import SmtpNotifier

NOW = datetime(2016, 8, 1, 1, 0, tzinfo=timezone.utc)


class ScriptedHandler:
    """Accepts mail, except where ``script`` says otherwise.

    ``script`` maps (command, n) to an action for the n-th time (1-based) that
    command is seen: a reply line such as ``"451 4.3.0 Try again"``, or
    ``"drop"`` to cut the connection before replying.
    """

    def __init__(self, script: dict[tuple[str, int], str] | None = None) -> None:
        self.script = dict(script or {})
        self.seen: dict[str, int] = {}
        self.peers: list[tuple[str, int]] = []
        self.delivered: list[tuple[Envelope, EmailMessage]] = []
        self.attempted: list[EmailMessage] = []

    def _action(self, command: str, server: SMTP) -> str | None:
        self.seen[command] = self.seen.get(command, 0) + 1
        action = self.script.get((command, self.seen[command]))
        if action == "drop":
            assert server.transport is not None
            server.transport.abort()
        return action

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        if session.peer not in self.peers:  # a STARTTLS upgrade says EHLO again on the same connection
            self.peers.append(session.peer)
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        action = self._action("MAIL", server)
        if action is not None:
            return action
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        action = self._action("RCPT", server)
        if action is not None:
            return action
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = BytesParser(policy=email.policy.default).parsebytes(envelope.content)
        assert isinstance(parsed, EmailMessage)
        self.attempted.append(parsed)
        action = self._action("DATA", server)
        if action is not None:
            return action
        self.delivered.append((envelope, parsed))
        return "250 2.0.0 queued"

    @property
    def connections(self) -> int:
        return len(self.peers)


class EphemeralController(Controller):
    """aiosmtpd's Controller on port 0: read back the port the kernel chose."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtpd() -> Iterator[Any]:
    """Start a server with the given handler; stopped at the end of the test."""
    controllers: list[Controller] = []

    def start(handler: ScriptedHandler, **kwargs: Any) -> Controller:
        controller = EphemeralController(handler, hostname="127.0.0.1", port=0, **kwargs)
        controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        controller.stop()


class Sleeps:
    """Records the backoff instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def messages(n: int) -> list[OutgoingMessage]:
    out = []
    for index in range(n):
        digest = dataclasses.replace(
            sample_digest(),
            key=f"2016-08-01:clerk:{index}",
            recipient_email=f"clerk{index}@dishui.jieyang.example",
            recipient_name=f"联络员{index}",
        )
        out.append(render_digest(digest, sender=SAMPLE_SENDER, message_id_domain="duban.example", now=NOW))
    return out


def notifier(controller: Controller, **kwargs: Any) -> SmtpNotifier:
    options: dict[str, Any] = {"mode": "plain", "timeout": 10.0, "backoff_base": 0.0, "sleep": Sleeps()}
    options.update(kwargs)
    return SmtpNotifier("127.0.0.1", controller.port, **options)


# --------------------------------------------------------------------------- delivery


def test_several_messages_go_over_one_connection(smtpd: Any) -> None:
    handler = ScriptedHandler()
    sender = notifier(smtpd(handler))
    batch = messages(5)
    results = sender.send_batch(batch)
    assert [r.status for r in results] == ["sent"] * 5
    assert [r.key for r in results] == [m.key for m in batch]
    assert "250" in results[0].detail
    assert handler.connections == 1
    assert len(handler.delivered) == 5
    for message, (envelope, received) in zip(batch, handler.delivered, strict=True):
        assert envelope.mail_from == "duban@duban.example"
        assert envelope.rcpt_tos == [received["To"].addresses[0].addr_spec]
        assert received["Message-ID"] == message.message_id
        assert received["Subject"] == "【督办】市地税局完成时限提醒（3项，其中已逾期1项）"
        assert received["To"].addresses[0].display_name == message.recipient.split(" <")[0]
        assert received["From"].addresses[0].display_name == "督办系统"
        assert received["Date"] == "Mon, 01 Aug 2016 09:00:00 +0800"
        text = received.get_body(preferencelist=("plain",))
        assert text is not None and "调整县级联席会议成员" in text.get_content()
    sender.close()


def test_a_second_batch_opens_a_fresh_connection(smtpd: Any) -> None:
    handler = ScriptedHandler()
    sender = notifier(smtpd(handler))
    batch = messages(2)
    assert [r.status for r in sender.send_batch(batch[:1])] == ["sent"]
    assert [r.status for r in sender.send_batch(batch[1:])] == ["sent"]
    assert handler.connections == 2


def test_451_is_retried_inline_then_delivered(smtpd: Any) -> None:
    handler = ScriptedHandler({("DATA", 1): "451 4.3.0 Mailbox busy, try again"})
    sleeps = Sleeps()
    sender = notifier(smtpd(handler), sleep=sleeps, backoff_base=0.5)
    [result] = sender.send_batch(messages(1))
    assert result.status == "sent"
    assert sleeps.calls == [0.5]
    assert len(handler.delivered) == 1 and len(handler.attempted) == 2
    assert handler.connections == 1


def test_persistent_4xx_ends_as_retry_with_exponential_backoff(smtpd: Any) -> None:
    handler = ScriptedHandler({("RCPT", n): "450 4.2.1 Mailbox temporarily unavailable" for n in range(1, 5)})
    sleeps = Sleeps()
    sender = notifier(smtpd(handler), sleep=sleeps, backoff_base=1.0, max_attempts=4, retry_after=120.0)
    batch = messages(2)
    results = sender.send_batch(batch)
    assert [r.status for r in results] == ["retry", "sent"]
    assert results[0].retry_after == 120.0
    assert "450" in results[0].detail and "RCPT" in results[0].detail
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert [received["Message-ID"] for _, received in handler.delivered] == [batch[1].message_id]
    assert handler.connections == 1


def test_550_fails_with_the_reply_and_the_connection_serves_the_next(smtpd: Any) -> None:
    handler = ScriptedHandler({("RCPT", 1): "550 5.1.1 <clerk0@dishui.jieyang.example>: User unknown"})
    sender = notifier(smtpd(handler))
    results = sender.send_batch(messages(2))
    assert [r.status for r in results] == ["failed", "sent"]
    assert results[0].retry_after is None
    assert "550 5.1.1 <clerk0@dishui.jieyang.example>: User unknown" in results[0].detail
    assert handler.connections == 1
    assert len(handler.delivered) == 1


def test_554_at_end_of_data_fails(smtpd: Any) -> None:
    handler = ScriptedHandler({("DATA", 1): "554 5.7.1 Message rejected as spam"})
    [result] = notifier(smtpd(handler)).send_batch(messages(1))
    assert result.status == "failed"
    assert result.detail == "end of DATA: 554 5.7.1 Message rejected as spam"


def test_a_drop_after_data_is_retry_and_the_resend_keeps_the_message_id(smtpd: Any) -> None:
    handler = ScriptedHandler({("DATA", 1): "drop"})
    sender = notifier(smtpd(handler), retry_after=90.0)
    batch = messages(2)
    results = sender.send_batch(batch)
    # The first is ambiguous (the server had the whole message); the second goes on a new connection.
    assert [r.status for r in results] == ["retry", "sent"]
    assert results[0].retry_after == 90.0
    assert "may or may not have been delivered" in results[0].detail
    assert handler.connections == 2

    [again] = sender.send_batch(batch[:1])
    assert again.status == "sent"
    first_attempt, resend = handler.attempted[0], handler.delivered[-1][1]
    assert first_attempt["Message-ID"] == resend["Message-ID"] == batch[0].message_id
    assert first_attempt["Date"] == resend["Date"]
    assert handler.connections == 3


def test_a_drop_before_data_reconnects_once_and_delivers(smtpd: Any) -> None:
    handler = ScriptedHandler({("MAIL", 2): "drop"})
    sender = notifier(smtpd(handler))
    results = sender.send_batch(messages(3))
    assert [r.status for r in results] == ["sent"] * 3
    assert len(handler.delivered) == 3
    assert handler.connections == 2


def test_a_second_drop_before_data_gives_up_on_that_message(smtpd: Any) -> None:
    handler = ScriptedHandler({("MAIL", 1): "drop", ("MAIL", 2): "drop"})
    sender = notifier(smtpd(handler))
    results = sender.send_batch(messages(2))
    assert [r.status for r in results] == ["retry", "sent"]
    assert "lost twice" in results[0].detail


def test_rate_limit_leaves_the_rest_as_retry(smtpd: Any) -> None:
    handler = ScriptedHandler()
    clock = Clock()
    sender = notifier(smtpd(handler), max_per_minute=2, clock=clock)
    batch = messages(5)
    results = sender.send_batch(batch)
    assert [r.status for r in results] == ["sent", "sent", "retry", "retry", "retry"]
    assert [r.key for r in results] == [m.key for m in batch]
    assert {r.retry_after for r in results[2:]} == {60.0}
    assert "rate limit" in results[2].detail
    assert len(handler.delivered) == 2

    clock.now += 45
    results = sender.send_batch(batch[2:])
    assert [r.status for r in results] == ["retry"] * 3
    assert results[0].retry_after == 15.0

    clock.now += 15
    results = sender.send_batch(batch[2:])
    assert [r.status for r in results] == ["sent", "sent", "retry"]
    assert [received["Message-ID"] for _, received in handler.delivered] == [m.message_id for m in batch[:4]]


def test_no_server_means_retry_for_the_whole_batch() -> None:
    with socket.socket() as probe:  # a port that is bound but not listening: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        sender = SmtpNotifier("127.0.0.1", port, mode="plain", timeout=5.0, retry_after=42.0)
        results = sender.send_batch(messages(3))
    assert [r.status for r in results] == ["retry"] * 3
    assert {r.retry_after for r in results} == {42.0}
    assert "cannot open an SMTP session" in results[0].detail


def test_an_unsafe_stored_message_fails_without_touching_the_server(smtpd: Any) -> None:
    handler = ScriptedHandler()
    bad = dataclasses.replace(messages(1)[0], recipient="x@evil.example\r\nBcc: spy@evil.example")
    results = notifier(smtpd(handler)).send_batch([bad, *messages(1)])
    assert [r.status for r in results] == ["failed", "sent"]
    assert len(handler.delivered) == 1


# --------------------------------------------------------------------------- STARTTLS and login


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, made by the openssl CLI."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_with_login_from_an_environment_variable(smtpd: Any, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes, bool]] = []

    def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password, session.ssl is not None))
        return AuthResult(success=data.password == b"s3cret-pw", handled=False)  # unhandled: the server says 535

    handler = ScriptedHandler()
    controller = smtpd(
        handler, tls_context=server_context, require_starttls=True, authenticator=authenticator,
        auth_require_tls=True,
    )
    settings = {
        "kind": "smtp", "host": "127.0.0.1", "port": str(controller.port), "mode": "starttls",
        "username": "duban", "password_env": "DUBAN_TEST_SMTP_PASSWORD", "ca_file": str(cert), "timeout": "10",
    }
    sender = build_notifier(settings, environ={"DUBAN_TEST_SMTP_PASSWORD": "s3cret-pw"})
    assert isinstance(sender, SmtpNotifier)
    assert "s3cret" not in repr(sender)
    results = sender.send_batch(messages(2))
    assert [r.status for r in results] == ["sent", "sent"]
    assert logins == [(b"duban", b"s3cret-pw", True)]
    assert handler.connections == 1

    wrong = build_notifier(settings, environ={"DUBAN_TEST_SMTP_PASSWORD": "wrong"})
    results = wrong.send_batch(messages(2))
    assert [r.status for r in results] == ["retry", "retry"]
    assert "login as 'duban' refused" in results[0].detail


def test_starttls_refuses_an_untrusted_certificate(smtpd: Any, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = ScriptedHandler()
    controller = smtpd(handler, tls_context=server_context, require_starttls=True)
    sender = SmtpNotifier("127.0.0.1", controller.port, mode="starttls", timeout=10.0)  # system CAs only
    [result] = sender.send_batch(messages(1))
    assert result.status == "retry"
    assert "CERTIFICATE_VERIFY_FAILED" in result.detail
    assert handler.delivered == []


# --------------------------------------------------------------------------- settings


def test_the_password_is_never_read_from_settings() -> None:
    with pytest.raises(NotifierConfigError) as caught:
        build_notifier({"kind": "smtp", "host": "mail.example", "username": "duban", "password": "hunter2"})
    text = str(caught.value)
    assert "password_env" in text
    assert "hunter2" not in text


def test_smtp_settings_problems_are_listed_together() -> None:
    with pytest.raises(NotifierConfigError) as caught:
        build_notifier(
            {"kind": "smtp", "mode": "tls", "port": "0", "username": "duban", "password_env": "NOPE_NOT_SET",
             "max_per_minute": "many"},
            environ={},
        )
    problems = "\n".join(caught.value.problems)
    for expected in ("host: required", "mode: 'tls'", "port:", "'NOPE_NOT_SET' is not set", "max_per_minute"):
        assert expected in problems
    with pytest.raises(NotifierConfigError, match="unencrypted"):
        build_notifier(
            {"kind": "smtp", "host": "mail.example", "mode": "plain", "username": "u", "password_env": "PW"},
            environ={"PW": "x"},
        )


def test_a_password_smtplib_cannot_send_is_refused_without_showing_it() -> None:
    with pytest.raises(NotifierConfigError, match="non-ASCII") as caught:
        build_notifier(
            {"kind": "smtp", "host": "mail.example", "username": "duban", "password_env": "PW"},
            environ={"PW": "督办-secret"},
        )
    assert "督办-secret" not in str(caught.value)


def test_smtp_default_ports_follow_the_mode() -> None:
    assert build_notifier({"kind": "smtp", "host": "mail.example", "mode": "ssl"}).port == 465  # type: ignore[attr-defined]
    assert build_notifier({"kind": "smtp", "host": "mail.example"}).port == 587  # type: ignore[attr-defined]
    assert build_notifier({"kind": "smtp", "host": "mail.example", "mode": "plain"}).port == 25  # type: ignore[attr-defined]
