"""The notifier interface: one rendered message in, one delivery result out.

Every notifier (outbox folder, SMTP, webhook) implements :class:`Notifier`.
The sender loop hands it a batch of pending outbox rows, already rendered to
:class:`OutgoingMessage`, and records one :class:`DeliveryResult` per message:

- ``"sent"``: handed over; the outbox row is done.
- ``"retry"``: not handed over, or not known to be; keep the row pending and
  try again no earlier than ``retry_after`` seconds from now. Nothing is ever
  dropped silently: a rate limit, a 4xx answer, a refused connection or a
  connection lost mid-transaction all end here.
- ``"failed"``: refused for good (a 5xx answer, an HTTP 4xx, an unsafe header
  value); retrying would not help, so the caller escalates it to a person.

The errors a notifier or the renderer raise on purpose live here too, so a
caller imports the whole contract from one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, Sequence, TypeAlias, get_args, runtime_checkable

from ..errors import DubanError
from .model import Attachment

Status: TypeAlias = Literal["sent", "retry", "failed"]
STATUSES: tuple[str, ...] = get_args(Status)


class HeaderValueError(DubanError, ValueError):
    """A value bound for a mail header is unsafe (CR/LF/NUL, an encoded word, a bad address).

    Data from plan files and unit registers ends up in headers (names,
    addresses, unit names in the subject); a line break there would let it add
    headers of its own (header injection, 邮件头注入). The tick catches this
    for a recipient and reports the unit to the supervisor instead of sending.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"unsafe value for mail header field {field!r}: {value!r} ({reason})")


class ResultValueError(DubanError, ValueError):
    """A delivery result was built with an unknown status or without its retry delay."""


class NotifierConfigError(DubanError, ValueError):
    """Notifier settings are incomplete or wrong; every problem is listed at once."""

    def __init__(self, kind: str, problems: Sequence[str]) -> None:
        self.kind = kind
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid settings for notifier {kind!r}:\n{lines}")


@dataclass(frozen=True, kw_only=True, slots=True)
class OutgoingMessage:
    """A rendered digest, ready for any notifier.

    ``sender`` and ``recipient`` are mailbox strings (``"督办系统 <duban@x.example>"``)
    checked by the renderer and checked again when headers are built.
    ``message_id`` is derived from ``key`` alone, so every rendering of the
    same digest carries the same Message-ID. ``created`` is the composition
    time (the Date header); it is fixed at render time so that rebuilding the
    MIME message gives identical bytes, and a resend is byte-for-byte the
    message first attempted. ``None`` means "now" when the MIME message is built.
    """

    key: str
    message_id: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    created: datetime | None = None
    #: Files (the full list as .xlsx) and inline images (the bulletin chart), stored with the row.
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryResult:
    """What became of one message (see the module docstring for the statuses)."""

    key: str
    status: Status
    detail: str = ""
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ResultValueError(f"unknown delivery status {self.status!r}; expected one of {STATUSES}")
        if self.status == "retry" and (self.retry_after is None or self.retry_after < 0):
            raise ResultValueError(f"a 'retry' result needs retry_after >= 0 seconds, got {self.retry_after!r}")


@runtime_checkable
class Notifier(Protocol):
    """Delivers rendered messages. Built by :func:`duban.notifiers.factory.build_notifier`."""

    @property
    def name(self) -> str:
        """The notifier kind ("outbox", "smtp", "webhook"), for logs and the outbox table."""
        ...

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        """Deliver ``messages``; return one result per message, in the same order.

        Must not raise for a problem with one message or with the far end:
        that is a ``"retry"`` or ``"failed"`` result.
        """
        ...

    def close(self) -> None:
        """Release connections or handles; the notifier may not be used afterwards."""
        ...
