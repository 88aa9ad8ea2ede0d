"""The SMTP notifier: one connection per batch, honest results for every message.

Failure semantics (the contract the sender loop relies on):

- **4xx** (a temporary refusal at MAIL, RCPT or end of DATA) is retried inline
  on the same connection, after ``backoff_base * 2**n`` seconds (capped at
  ``backoff_cap``), up to ``max_attempts`` tries in all; then ``"retry"`` with
  ``retry_after``.
- **5xx** is ``"failed"``, with the server's reply in ``detail``: the address
  or the message is refused for good, so the caller escalates to a person.
- **A dropped connection before the message data was sent** (the server
  closed an idle connection, reset it at MAIL or RCPT): nothing was delivered,
  so the notifier reconnects once and tries the same message again.
- **A dropped connection (or a timeout) after the message data was sent but
  before the server's 250** is ambiguous: the server may have queued the
  message or not. The notifier does not guess; the message is ``"retry"``.
  The resend carries the same Message-ID and Date (fixed at render time, see
  :mod:`duban.notifiers.render`). If the first attempt did get through, the
  recipient receives the digest twice: nothing in SMTP prevents that. Because
  both copies are the same message with the same Message-ID, clients that
  de-duplicate or thread by Message-ID show it once, and a reader or an
  operator can see it is a resend, not a new reminder. Delivery is
  at-least-once: never silently lost, occasionally doubled.
- **Cannot connect, TLS or login fails**: this message and the rest of the
  batch are ``"retry"``: the problem is the server or the settings, not the
  recipients, and escalating every recipient would be wrong. ``detail`` says
  what happened, for the operator.
- **Rate limit** (``max_per_minute``): once that many messages went out in the
  last 60 seconds, the rest of the batch is ``"retry"`` with ``retry_after``
  the seconds until the window frees a slot. Nothing is dropped.

Passwords come from an environment variable named in the settings
(:func:`duban.notifiers.factory.build_notifier`), never from a config file.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Literal, Sequence, TypeAlias, get_args

from .abc import DeliveryResult, HeaderValueError, NotifierConfigError, OutgoingMessage
from .render import mime_bytes, parse_mailbox

__all__ = ["DEFAULT_PORTS", "MODES", "Mode", "SmtpNotifier", "wire_bytes"]

Mode: TypeAlias = Literal["plain", "starttls", "ssl"]
MODES: tuple[str, ...] = get_args(Mode)
DEFAULT_PORTS: dict[str, int] = {"plain": 25, "starttls": 587, "ssl": 465}

_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


class _ConnectionLostError(Exception):
    """The server went away mid-transaction; ``after_data`` says whether it is ambiguous."""

    def __init__(self, after_data: bool, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.after_data = after_data
        self.cause = cause


class _CannotConnectError(Exception):
    """Connecting, STARTTLS or AUTH failed: the whole rest of the batch waits."""


@dataclass(frozen=True, kw_only=True, slots=True)
class _Reply:
    code: int
    text: str
    stage: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.code} {self.text}".strip()


def wire_bytes(message: OutgoingMessage) -> bytes:
    """The DATA payload for ``message``: CRLF line ends, dot-stuffed, ending in ``CRLF.CRLF``.

    Rendering makes the message pure 7-bit ASCII (base64 bodies, RFC 2047
    headers), so no server needs 8BITMIME or SMTPUTF8 for it.
    """
    raw = mime_bytes(message, linesep="\r\n")  # ends with CRLF
    return _DOT_AT_LINE_START.sub(b"..", raw) + b".\r\n"


class SmtpNotifier:
    """Sends messages over SMTP (plain, STARTTLS or implicit TLS), one connection per batch.

    ``sleep`` and ``clock`` are injectable so tests can run the backoff and the
    rate limit without waiting; production uses :func:`time.sleep` and
    :func:`time.monotonic`.
    """

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        mode: Mode = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        max_per_minute: int | None = None,
        max_attempts: int = 3,
        backoff_base: float = 2.0,
        backoff_cap: float = 30.0,
        retry_after: float = 300.0,
        local_hostname: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in MODES:
            raise NotifierConfigError("smtp", [f"unknown mode {mode!r}; expected one of {MODES}"])
        self.host = host
        self.port = DEFAULT_PORTS[mode] if port is None else port
        self.mode: Mode = mode
        self.username = username
        self._password = password
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.max_per_minute = max_per_minute
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after = retry_after
        self.local_hostname = local_hostname
        self._sleep = sleep
        self._clock = clock
        self._conn: smtplib.SMTP | None = None
        self._recent: deque[float] = deque()

    def __repr__(self) -> str:
        password = "'***'" if self._password else "None"
        return (
            f"SmtpNotifier(host={self.host!r}, port={self.port!r}, mode={self.mode!r}, "
            f"username={self.username!r}, password={password})"
        )

    # ------------------------------------------------------------------ batch

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        """Send ``messages`` over one connection; one result per message, in order."""
        results: list[DeliveryResult] = []
        try:
            for index, message in enumerate(messages):
                wait = self._rate_limit_wait()
                if wait is not None:
                    detail = f"rate limit: {self.max_per_minute} messages per minute reached"
                    results.extend(self._retry(m.key, detail, wait) for m in messages[index:])
                    break
                try:
                    envelope_from = parse_mailbox("sender", message.sender).addr_spec
                    envelope_to = parse_mailbox("recipient", message.recipient).addr_spec
                    data = wire_bytes(message)
                except HeaderValueError as exc:
                    results.append(DeliveryResult(key=message.key, status="failed", detail=str(exc)))
                    continue
                try:
                    results.append(self._deliver(message.key, envelope_from, envelope_to, data))
                except _CannotConnectError as exc:
                    results.extend(self._retry(m.key, str(exc), self.retry_after) for m in messages[index:])
                    break
        finally:
            self._disconnect()
        return results

    def close(self) -> None:
        """Drop the connection if one is open (a batch already closes its own)."""
        self._disconnect()

    # ------------------------------------------------------------------ one message

    def _deliver(self, key: str, envelope_from: str, envelope_to: str, data: bytes) -> DeliveryResult:
        reconnected = False
        attempt = 1
        self._recent.append(self._clock())  # the rate limit counts messages, not tries
        while True:
            conn = self._connection()
            try:
                reply = self._transaction(conn, envelope_from, envelope_to, data)
            except _ConnectionLostError as lost:
                self._disconnect(polite=False)
                if lost.after_data:
                    return self._retry(
                        key,
                        "connection lost after the message data was sent, before the server's reply; "
                        f"it may or may not have been delivered, a resend keeps the Message-ID ({lost})",
                        self.retry_after,
                    )
                if reconnected:
                    return self._retry(key, f"connection lost twice before DATA ({lost})", self.retry_after)
                reconnected = True
                continue
            if 200 <= reply.code < 300:
                return DeliveryResult(key=key, status="sent", detail=str(reply))
            self._reset_transaction(reply)
            if 500 <= reply.code < 600:
                return DeliveryResult(key=key, status="failed", detail=str(reply))
            if attempt >= self.max_attempts:
                return self._retry(key, f"temporary refusal after {attempt} attempts: {reply}", self.retry_after)
            self._sleep(min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))
            attempt += 1

    def _transaction(self, conn: smtplib.SMTP, envelope_from: str, envelope_to: str, data: bytes) -> _Reply:
        """MAIL, RCPT, DATA by hand, so a drop before and after the data can be told apart."""
        after_data = False
        try:
            code, text = conn.mail(envelope_from)
            if code != 250:
                return _Reply(code=code, text=_text(text), stage="MAIL FROM")
            code, text = conn.rcpt(envelope_to)
            if code not in (250, 251):
                return _Reply(code=code, text=_text(text), stage="RCPT TO")
            code, text = conn.docmd("DATA")
            if code != 354:
                return _Reply(code=code, text=_text(text), stage="DATA")
            after_data = True
            conn.send(data)
            code, text = conn.getreply()
            return _Reply(code=code, text=_text(text), stage="end of DATA")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _ConnectionLostError(after_data, exc) from exc

    def _reset_transaction(self, reply: _Reply) -> None:
        """RSET after a refusal so the connection serves the next try; 421 means it is gone."""
        if reply.code == 421 or self._conn is None:
            self._disconnect(polite=False)
            return
        try:
            self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._disconnect(polite=False)

    # ------------------------------------------------------------------ connection

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        where = f"{self.host}:{self.port} ({self.mode})"
        conn: smtplib.SMTP | None = None
        try:
            if self.mode == "ssl":
                conn = smtplib.SMTP_SSL(
                    self.host, self.port, local_hostname=self.local_hostname,
                    timeout=self.timeout, context=self._context(),
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
            conn.ehlo()
            if self.mode == "starttls":
                # No fallback to plain text: a server without STARTTLS is a settings problem.
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self._password or "")
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(conn)
            raise _CannotConnectError(f"SMTP login as {self.username!r} refused by {where}: "
                                 f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            _close_quietly(conn)
            raise _CannotConnectError(f"cannot open an SMTP session with {where}: {type(exc).__name__}: {exc}") from exc
        self._conn = conn
        return conn

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _disconnect(self, *, polite: bool = True) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if polite:
            try:
                conn.quit()
                return
            except (smtplib.SMTPException, OSError):
                pass
        _close_quietly(conn)

    # ------------------------------------------------------------------ rate limit

    def _rate_limit_wait(self) -> float | None:
        """Seconds until a slot frees in the 60 s window, or None if one is free."""
        if self.max_per_minute is None:
            return None
        now = self._clock()
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        if len(self._recent) < self.max_per_minute:
            return None
        return max(0.0, 60.0 - (now - self._recent[0]))

    @staticmethod
    def _retry(key: str, detail: str, retry_after: float) -> DeliveryResult:
        return DeliveryResult(key=key, status="retry", detail=detail, retry_after=retry_after)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()
