"""Build a notifier from a plain settings mapping: explicit construction, no entry points.

``settings["kind"]`` picks the notifier; every other key is that notifier's
setting (docs/notifications.md lists them). Values may be typed (from JSON or
code) or strings (from a strict YAML loader that keeps every scalar a
string); numbers and booleans are cast on read. Unknown keys are errors, with
a "did you mean", and every problem of a mapping is reported at once in one
:class:`~duban.notifiers.abc.NotifierConfigError`.

Secrets never come from the mapping: the SMTP password is read from the
environment variable named by ``password_env``, and a webhook URL carrying a
robot key can be given as ``url_env`` instead of ``url``.
"""

from __future__ import annotations

import difflib
import os
import ssl
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from .abc import Notifier, NotifierConfigError
from .outbox import OutboxNotifier
from .smtp import MODES, SmtpNotifier
from .webhook import FORMATS, WebhookNotifier, redact_url

__all__ = ["KINDS", "build_notifier"]

KINDS: tuple[str, ...] = ("outbox", "smtp", "webhook")

_KEYS: Mapping[str, frozenset[str]] = {
    "outbox": frozenset({"folder", "retry_after"}),
    "smtp": frozenset({
        "host", "port", "mode", "username", "password_env", "timeout", "max_per_minute",
        "max_attempts", "backoff_base", "backoff_cap", "retry_after", "ca_file", "local_hostname",
    }),
    "webhook": frozenset({"url", "url_env", "format", "timeout", "max_bytes", "retry_after", "env_proxies"}),
}
_DEFAULT_OUTBOX = "var/outbox"
_T = TypeVar("_T")
_D = TypeVar("_D")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class _Reader:
    """Reads typed values out of one settings mapping, collecting every problem."""

    def __init__(self, kind: str, settings: Mapping[str, Any]) -> None:
        self.kind = kind
        self.settings = settings
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def _get(self, key: str, cast: Callable[[Any], _T], expected: str, default: _D) -> _T | _D:
        value = self.settings.get(key)
        if value is None or value == "":
            return default
        try:
            return cast(value)
        except (TypeError, ValueError):
            self.fail(f"{key}: expected {expected}, got {value!r}")
            return default

    def text(self, key: str, default: str | None = None) -> str | None:
        def cast(value: Any) -> str:
            if not isinstance(value, str):
                raise TypeError
            return value

        return self._get(key, cast, "a string", default)

    def integer(self, key: str, default: int | None = None, *, minimum: int = 0) -> int | None:
        def cast(value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise TypeError
            number = int(value)
            if number < minimum:
                raise ValueError
            return number

        return self._get(key, cast, f"an integer >= {minimum}", default)

    def number(self, key: str, default: float) -> float:
        def cast(value: Any) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise TypeError
            number = float(value)
            if not number >= 0 or number == float("inf"):
                raise ValueError
            return number

        result: float = self._get(key, cast, "a number of seconds >= 0", default)
        return result

    def flag(self, key: str, default: bool) -> bool:
        def cast(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            raise ValueError

        result: bool = self._get(key, cast, "true or false", default)
        return result

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default) or default
        if value not in choices:
            self.fail(f"{key}: {value!r} is not one of {choices}")
            return default
        return value

    def check_keys(self, allowed: frozenset[str]) -> None:
        for key in sorted(set(self.settings) - allowed - {"kind"}, key=str):
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            self.fail(f"unknown setting {key!r}{suggestion}; known: {', '.join(sorted(allowed))}")

    def done(self) -> None:
        if self.problems:
            raise NotifierConfigError(self.kind, self.problems)


def build_notifier(settings: Mapping[str, Any], *, environ: Mapping[str, str] | None = None) -> Notifier:
    """Build the notifier ``settings["kind"]`` names ("outbox", "smtp" or "webhook").

    ``environ`` is where secrets are looked up (default: :data:`os.environ`);
    tests pass a mapping of their own.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    kind = settings.get("kind")
    if kind not in KINDS:
        raise NotifierConfigError(
            str(kind), [f"kind: unknown notifier kind {kind!r}; expected one of {', '.join(KINDS)}"]
        )
    reader = _Reader(kind, settings)
    reader.check_keys(_KEYS[kind])
    if kind == "outbox":
        return _outbox(reader)
    if kind == "smtp":
        return _smtp(reader, env)
    return _webhook(reader, env)


def _outbox(reader: _Reader) -> OutboxNotifier:
    folder = reader.text("folder", _DEFAULT_OUTBOX) or _DEFAULT_OUTBOX
    retry_after = reader.number("retry_after", 300.0)
    reader.done()
    return OutboxNotifier(Path(folder), retry_after=retry_after)


def _smtp(reader: _Reader, env: Mapping[str, str]) -> SmtpNotifier:
    if "password" in reader.settings:
        reader.fail(
            "password: passwords are not read from settings; put the password in an environment "
            "variable and name it in password_env"
        )
    host = reader.text("host")
    if not host:
        reader.fail("host: required (the SMTP server's host name)")
    mode = reader.choice("mode", MODES, "starttls")
    port = reader.integer("port", None, minimum=1)
    username = reader.text("username")
    password_env = reader.text("password_env")
    password: str | None = None
    if password_env:
        password = env.get(password_env)
        if password is None:
            reader.fail(f"password_env: the environment variable {password_env!r} is not set")
        elif not password.isascii():
            # smtplib encodes AUTH exchanges as ASCII; say so now rather than at the first send.
            reader.fail(f"password_env: the password in {password_env!r} has non-ASCII characters, "
                        "which Python's smtplib cannot send")
    elif username:
        reader.fail("password_env: required with username (the name of the variable holding the password)")
    if username and mode == "plain":
        reader.fail("username: a login over mode 'plain' would send the password unencrypted; "
                    "use mode 'starttls' or 'ssl'")
    max_per_minute = reader.integer("max_per_minute", None, minimum=1)
    max_attempts = reader.integer("max_attempts", 3, minimum=1)
    timeout = reader.number("timeout", 30.0)
    backoff_base = reader.number("backoff_base", 2.0)
    backoff_cap = reader.number("backoff_cap", 30.0)
    retry_after = reader.number("retry_after", 300.0)
    local_hostname = reader.text("local_hostname")
    ca_file = reader.text("ca_file")
    context: ssl.SSLContext | None = None
    if ca_file:
        if not Path(ca_file).is_file():
            reader.fail(f"ca_file: {ca_file!r} is not a file")
        else:
            try:
                context = ssl.create_default_context(cafile=ca_file)
            except (ssl.SSLError, OSError) as exc:
                reader.fail(f"ca_file: cannot load {ca_file!r}: {exc}")
    reader.done()
    return SmtpNotifier(
        host or "",
        port,
        mode=mode,  # type: ignore[arg-type]
        username=username,
        password=password,
        timeout=timeout,
        ssl_context=context,
        max_per_minute=max_per_minute,
        max_attempts=max_attempts or 3,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        retry_after=retry_after,
        local_hostname=local_hostname,
    )


def _webhook(reader: _Reader, env: Mapping[str, str]) -> WebhookNotifier:
    url = reader.text("url")
    url_env = reader.text("url_env")
    if url and url_env:
        reader.fail("url, url_env: give one of them, not both")
    elif url_env:
        url = env.get(url_env)
        if not url:
            reader.fail(f"url_env: the environment variable {url_env!r} is not set")
    elif not url:
        reader.fail("url: required (or url_env naming an environment variable that holds it)")
    if url:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            reader.fail(f"url: {redact_url(url)!r} is not an http(s) URL with a host")
    # "generic" is the documented name of duban's own JSON payload; "json" stays accepted.
    format = reader.choice("format", ("generic", *FORMATS), "json")
    format = "json" if format == "generic" else format
    timeout = reader.number("timeout", 10.0)
    max_bytes = reader.integer("max_bytes", 4000, minimum=256)
    retry_after = reader.number("retry_after", 300.0)
    env_proxies = reader.flag("env_proxies", True)
    reader.done()
    return WebhookNotifier(
        url or "",
        format=format,  # type: ignore[arg-type]
        timeout=timeout,
        max_bytes=max_bytes or 4000,
        retry_after=retry_after,
        env_proxies=env_proxies,
    )
