"""Settings: the embedded ``config.yaml``, another file, then the environment.

Order of precedence (the Flask/Starlette habit): built-in file → the file
named by ``DUBAN_CONFIG`` (replaces it) → ``DUBAN_*`` environment variables
for single values → command-line flags (``--data-dir``). Every key, its type,
range, default and variable is declared once in :mod:`.schema`; this module
only applies that table.

Everything is checked **at load**, so a bad value stops a command before it
does anything, with ``FILE:LINE: CODE key: message`` and a "did you mean"
(a misspelt zone, a check-in day that does not exist, an unknown key, a
policy override the ruleset refuses). A key left out takes the schema's
default, the same value the shipped file writes. Relative paths are resolved
against the config file's folder. Secrets never live in the file: the SMTP
password is read from the environment variable the file names.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ...errors import DubanError
from ...notifiers.render import parse_mailbox
from ...notifiers.smtp import DEFAULT_PORTS
from ..common.strictyaml import (Diagnostic, NodeReader, YamlMap, YamlNode, YamlScalar, YamlSeq, did_you_mean,
                                 read_yaml, to_plain)
from ..reminders.policy import PolicyError, load_policy
from .schema import SCHEMA, Key, by_path, sections

PACKAGE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PACKAGE_DIR / "config.yaml"

ENV_CONFIG = "DUBAN_CONFIG"
#: ``DUBAN_*`` variable → the key it overrides (from the schema).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {key.env: tuple(key.path.split(".")) for key in SCHEMA if key.env}
CALENDAR_DIRS_ENV = by_path("calendar.extra_dirs").env or "DUBAN_CALENDAR_DIRS"
NOTIFIER_KINDS = by_path("notifier.kind").choices

_INT = re.compile(r"[+-]?\d+")
_MMDD = re.compile(r"(\d{2})-(\d{2})")
_DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                     r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECTIONS = sections()


class ConfigError(DubanError, ValueError):
    """The configuration is invalid; lists every problem as ``FILE:LINE: CODE path: message``."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("invalid configuration:\n" + "\n".join(d.format() for d in diagnostics))


class Secret:
    """A value that prints as stars (Starlette's habit), so logs never leak it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    hour: int = 9
    minute: int = 0
    misfire_grace_seconds: int = 43200
    working_days_only: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything duban reads from configuration, typed and checked.

    ``values`` holds every key of the schema by its dotted path (the typed,
    resolved value, defaults included); the named fields are the views the
    rest of the code reads.
    """

    source: Path
    database_url: str
    timezone: str = "Asia/Shanghai"
    calendar_dirs: tuple[Path, ...] = ()
    plan_dirs: tuple[Path, ...] = ()
    units_dirs: tuple[Path, ...] = ()
    schedule: Schedule = field(default_factory=Schedule)
    ruleset: Path = PACKAGE_DIR / "rules" / "rulesets" / "reminders.yaml"
    reminder_overrides: Mapping[str, Any] = field(default_factory=dict)
    trigger_default_offset_working_days: int = 10
    ongoing_checkins: tuple[tuple[int, int], ...] = ((6, 30), (9, 30))
    notifier: Mapping[str, Any] = field(default_factory=dict)
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    web_base_url: str = "http://127.0.0.1:8000"
    values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    def smtp_password(self) -> Secret:
        """The SMTP password from the environment variable the config names (never the file)."""
        env = str(self.notifier.get("smtp", {}).get("password_env") or "DUBAN_SMTP_PASSWORD")
        return Secret(os.environ.get(env, ""))


# --------------------------------------------------------------------------- casting one value


class _Bad(DubanError):
    """A value that does not fit its key: a stable code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _in_range(key: Key, number: float, text: str) -> None:
    low, high = key.minimum, key.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise _Bad("out-of-range", f"{text!r} is outside {key.allowed()}")


def _cast(key: Key, text: str, base: Path) -> Any:
    """One scalar's text → the key's typed value (raises :class:`_Bad`)."""
    kind = key.kind
    if kind == "text":
        return text
    if kind == "choice":
        value = dict(key.aliases).get(text, text)
        if value not in key.choices:
            raise _Bad("bad-choice", f"{text!r} is not one of {', '.join(key.choices)}"
                       f"{did_you_mean(text, key.choices, cutoff=0.5)}")
        return value
    if kind == "int":
        if not _INT.fullmatch(text):
            raise _Bad("bad-number", f"{text!r} is not a whole number")
        _in_range(key, int(text), text)
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise _Bad("bad-number", f"{text!r} is not a number of seconds") from None
        if not math.isfinite(number):
            raise _Bad("bad-number", f"{text!r} is not a finite number")
        _in_range(key, number, text)
        return number
    if kind == "bool":
        if text not in ("true", "false"):
            raise _Bad("bad-bool", f"{text!r} is not true or false (yes/no/on/off are not accepted)")
        return text == "true"
    if kind in ("path", "paths"):
        return _path(key, text, base)
    if kind == "database-url":
        return _database_url(text, base)
    if kind == "http-url":
        return _http_url(key, text)
    if kind == "timezone":
        if text not in _zones():
            raise _Bad("bad-timezone", f"{text!r} is not a time zone of the IANA database"
                       f"{did_you_mean(text, sorted(_zones()), cutoff=0.8)}")
        return text
    if kind == "mmdd-list":
        return _mmdd(text)
    if kind == "mailbox":
        try:
            parse_mailbox(key.path, text)
        except ValueError as exc:
            raise _Bad("bad-address", f"{text!r} is not a mailbox like '督办系统 <duban@gov.example>': {exc}") from None
        return text
    if kind == "domain":
        if not text.isascii() or not _DOMAIN.fullmatch(text):
            raise _Bad("bad-domain", f"{text!r} is not an ASCII domain name (an IDN in its xn-- form)")
        return text
    if kind == "env-name":
        if not _ENV_NAME.fullmatch(text):
            raise _Bad("bad-name", f"{text!r} is not an environment variable name (letters, digits, _)")
        return text
    raise AssertionError(f"schema kind {kind!r} has no reader")  # a schema bug, caught by the tests


def _path(key: Key, text: str, base: Path) -> Path:
    if not text.strip():
        raise _Bad("empty-value", "expected a path, got an empty value")
    candidate = Path(text).expanduser()
    path = candidate if candidate.is_absolute() else (base / candidate).resolve()
    if key.must_exist == "dir" and not path.is_dir():
        raise _Bad("not-found", f"{text!r} is not a folder ({path})")
    if key.must_exist == "file" and not path.is_file():
        raise _Bad("not-found", f"{text!r} is not a file ({path})")
    return path


def _database_url(text: str, base: Path) -> str:
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise _Bad("bad-url", f"{text!r} is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database).expanduser()
        database = database if database.is_absolute() else (base / database).resolve()
        return parsed.set(database=str(database)).render_as_string(hide_password=False)
    return text


def _http_url(key: Key, text: str) -> str:
    if text == "" and key.default == "":
        return text
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = text.split("?", 1)[0]  # a robot URL's query carries its key: never echo it
        raise _Bad("bad-url", f"{shown!r} is not an http(s) URL with a host")
    return text


def _mmdd(text: str) -> tuple[int, int]:
    match = _MMDD.fullmatch(text)
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        try:
            dt.date(2016, month, day)  # a leap year: 02-29 is a real check-in day
            return month, day
        except ValueError:
            pass
    raise _Bad("bad-date", f"{text!r} is not a day of the year MM-DD (e.g. \"06-30\")")


# --------------------------------------------------------------------------- reading the sources


class _Loader:
    """Collects typed values from the file, the environment and flags; every problem at once."""

    def __init__(self, display: str, base: Path) -> None:
        self.display = display
        self.base = base
        self.reader = NodeReader(display)
        self.values: dict[str, Any] = {}
        self.where: dict[str, tuple[str, int]] = {}   # key → (file or $VARIABLE, line)

    def error(self, key: str, code: str, message: str) -> None:
        file, line = self.where.get(key, (self.display, 1))
        self.reader.errors.append(Diagnostic(file=file, line=line, code=code, path=key, message=message))

    def read_file(self, node: YamlNode, section: str = "") -> None:
        fields = self.reader.mapping(node, section, optional=_SECTIONS[section])
        for name, value in (fields or {}).items():
            path = f"{section}.{name}" if section else name
            if path in _SECTIONS:
                self.read_file(value, path)
            else:
                self.where[path] = (self.display, value.line)
                self.read_node(by_path(path), value)

    def read_node(self, key: Key, node: YamlNode) -> None:
        if key.kind == "mapping":
            if isinstance(node, YamlMap):
                self.values[key.path] = to_plain(node)
            else:
                self.reader.wrong_type(node, key.path, "a mapping")
            return
        if key.kind in ("paths", "mmdd-list"):
            items = self.reader.sequence(node, key.path, empty_code=None)
            if items is None:
                return
            out = []
            for i, item in enumerate(items):
                item_path = f"{key.path}[{i}]"
                if not isinstance(item, YamlScalar):
                    self.reader.wrong_type(item, item_path, "text")
                    continue
                try:
                    out.append(_cast(key, item.value, self.base))
                except _Bad as bad:
                    self.reader.error(item.line, bad.code, item_path, bad.message)
            self.values[key.path] = tuple(out)
            return
        text = self.reader.text(node, key.path, allow_empty=True)
        if text is None:
            return
        if text == "" and key.default is None and key.kind != "http-url":
            return  # an empty optional value means "not set": the documented default applies
        try:
            self.values[key.path] = _cast(key, text, self.base)
        except _Bad as bad:
            self.reader.error(node.line, bad.code, key.path, bad.message)

    def read_text(self, key: Key, texts: Sequence[str], origin: str) -> None:
        """Values from the environment or a flag (one text each; lists already split).

        Relative paths here are relative to the current folder, where the
        person typing them is. A list key that ``env_appends`` keeps the
        file's entries and adds these after them.
        """
        try:
            typed = [_cast(key, text, Path.cwd()) for text in texts]
        except _Bad as bad:
            self.where[key.path] = (origin, 1)
            self.error(key.path, bad.code, f"{bad.message} (from {origin})")
            return
        if key.kind == "paths":
            self.values[key.path] = (*(self.value(key.path) if key.env_appends else ()), *typed)
        else:
            self.values[key.path] = typed[0]
        self.where[key.path] = (origin, 1)

    def value(self, path: str) -> Any:
        """The key's value, or its default.

        A default is what the shipped ``config.yaml`` says, so its relative
        paths resolve against the shipped file's folder whichever file is read.
        """
        if path in self.values:
            return self.values[path]
        key = by_path(path)
        if key.default is None or key.kind == "mapping":
            return key.default
        if key.kind == "paths":
            return tuple(_path(key, p, PACKAGE_DIR) for p in key.default)
        if key.kind == "mmdd-list":
            return tuple(_mmdd(p) for p in key.default)
        return _cast(key, _plain(key.default), PACKAGE_DIR)


def _plain(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_settings(path: Path | None = None, *, environ: Mapping[str, str] | None = None,
                  calendar_dirs: Sequence[Path | str] = ()) -> Settings:
    """Read and check the configuration: ``path``, else ``$DUBAN_CONFIG``, else the embedded file.

    ``calendar_dirs`` are the command line's ``--data-dir`` folders: they come
    after the file's ``calendar.extra_dirs`` and ``$DUBAN_CALENDAR_DIRS``, so
    every command sees the same calendar years. Raises :class:`ConfigError`
    listing every problem.
    """
    env = os.environ if environ is None else environ
    source = Path(path or env.get(ENV_CONFIG) or DEFAULT_CONFIG).expanduser().resolve()
    display = str(source)
    node, diags = read_yaml(source, display=display)
    loader = _Loader(display, source.parent)
    loader.reader.errors.extend(diags)
    if node is not None:
        loader.read_file(node)
    for key in SCHEMA:
        if key.env and env.get(key.env):
            raw = env[key.env]
            texts = [t for t in raw.split(os.pathsep) if t] if key.kind == "paths" else [raw]
            loader.read_text(key, texts, f"${key.env}")
    if calendar_dirs:
        loader.read_text(by_path("calendar.extra_dirs"), [str(p) for p in calendar_dirs], "--data-dir")
    settings = _build(loader, source)
    if loader.reader.errors:
        raise ConfigError(loader.reader.errors)
    return settings


# --------------------------------------------------------------------------- building Settings


def _nested(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``notifier.smtp.port`` … → ``{"smtp": {"port": …}}`` for the keys under ``prefix``."""
    out: dict[str, Any] = {}
    for path, value in values.items():
        if not path.startswith(prefix):
            continue
        *parents, name = path[len(prefix):].split(".")
        target = out
        for part in parents:
            target = target.setdefault(part, {})
        target[name] = str(value) if isinstance(value, Path) else value
    return out


def _build(loader: _Loader, source: Path) -> Settings:
    values = {key.path: loader.value(key.path) for key in SCHEMA}
    if values["notifier.smtp.port"] is None:  # the same port whether `port:` is written or left out
        values["notifier.smtp.port"] = DEFAULT_PORTS[values["notifier.smtp.mode"]]
    _check_together(loader, values)
    schedule = Schedule(hour=values["schedule.hour"], minute=values["schedule.minute"],
                        misfire_grace_seconds=values["schedule.misfire_grace_seconds"],
                        working_days_only=values["schedule.working_days_only"])
    return Settings(
        source=source,
        database_url=values["database.url"],
        timezone=values["timezone"],
        calendar_dirs=tuple(values["calendar.extra_dirs"]),
        plan_dirs=tuple(values["plans.dirs"]),
        units_dirs=tuple(values["plans.units_dirs"]),
        schedule=schedule,
        ruleset=values["reminders.ruleset"],
        reminder_overrides=values["reminders.overrides"],
        trigger_default_offset_working_days=values["triggers.default_offset_working_days"],
        ongoing_checkins=tuple(values["ongoing.checkins"]),
        notifier=_nested(values, "notifier."),
        web_host=values["web.host"],
        web_port=values["web.port"],
        web_base_url=values["web.base_url"],
        values=values,
    )


def _check_together(loader: _Loader, values: Mapping[str, Any]) -> None:
    """Rules that span keys: the configured notifier is complete, the policy overrides fit the ruleset."""
    kind = values["notifier.kind"]
    if kind == "webhook":
        url, url_env = values["notifier.webhook.url"], values["notifier.webhook.url_env"]
        if url and url_env:
            loader.error("notifier.webhook.url_env", "conflict", "give url or url_env, not both")
        elif not url and not url_env:
            loader.error("notifier.webhook.url", "missing-value",
                         "required with notifier.kind webhook (or url_env naming a variable, or $DUBAN_WEBHOOK_URL)")
    if kind == "smtp" and values["notifier.smtp.username"] and values["notifier.smtp.mode"] == "plain":
        loader.error("notifier.smtp.username", "insecure-login",
                     "a login over mode 'plain' would send the password unencrypted; use mode starttls or ssl")
    ruleset = values["reminders.ruleset"]
    if not isinstance(ruleset, Path) or not ruleset.is_file():
        return  # already reported
    try:
        load_policy(ruleset, overrides=values["reminders.overrides"] or None, overrides_source=loader.display)
    except PolicyError as exc:
        file, line = loader.where.get("reminders.overrides", (loader.display, 1))
        for d in exc.diagnostics:
            if d.file == loader.display:  # an override: point at its line in the config file
                path = f"reminders.overrides.{d.path}" if d.path else "reminders.overrides"
                loader.reader.errors.append(Diagnostic(file=file, line=line, code=d.code, path=path,
                                                       message=d.message))
            else:
                loader.reader.errors.append(d)
