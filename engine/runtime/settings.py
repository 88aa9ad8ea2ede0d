"""Settings: the embedded ``config.yaml``, another file, then the environment.

Order of precedence (the Flask/Starlette habit): built-in file → the file
named by ``DUBAN_CONFIG`` (replaces it) → ``DUBAN_*`` environment variables
for single values. The file is read with the strict YAML reader: every value
is text, cast here; an unknown key is an error naming the key and its line.
Relative paths are resolved against the config file's folder, so the
defaults work from a checkout and a deployment's own file points where it
likes. Secrets never live in the file: the SMTP password is read from the
environment variable the file names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ...errors import DubanError
from ..common.strictyaml import Diagnostic, NodeReader, YamlNode, YamlScalar, YamlSeq, read_yaml, to_plain

PACKAGE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PACKAGE_DIR / "config.yaml"

ENV_CONFIG = "DUBAN_CONFIG"
ENV_OVERRIDES = {
    "DUBAN_DATABASE_URL": ("database", "url"),
    "DUBAN_NOTIFIER": ("notifier", "kind"),
    "DUBAN_OUTBOX_DIR": ("notifier", "outbox_dir"),
    "DUBAN_WEB_HOST": ("web", "host"),
    "DUBAN_WEB_PORT": ("web", "port"),
    "DUBAN_WEB_BASE_URL": ("web", "base_url"),
}

NOTIFIER_KINDS = ("outbox", "smtp", "webhook")


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
    """Everything duban reads from configuration, typed."""

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

    @property
    def base_dir(self) -> Path:
        return self.source.parent

    def smtp_password(self) -> Secret:
        """The SMTP password from the environment variable the config names (never the file)."""
        env = str(self.notifier.get("smtp", {}).get("password_env") or "DUBAN_SMTP_PASSWORD")
        return Secret(os.environ.get(env, ""))


# --------------------------------------------------------------------------- schema

_INT = re.compile(r"-?\d+")
_MMDD = re.compile(r"(\d{2})-(\d{2})")

_SCHEMA: dict[str, Any] = {
    "database": {"url": str},
    "timezone": str,
    "calendar": {"extra_dirs": list},
    "plans": {"dirs": list, "units_dirs": list},
    "schedule": {"hour": int, "minute": int, "misfire_grace_seconds": int, "working_days_only": bool},
    "reminders": {"ruleset": str, "overrides": dict},
    "triggers": {"default_offset_working_days": int},
    "ongoing": {"checkins": list},
    "notifier": {
        "kind": str, "sender": str, "message_id_domain": str, "outbox_dir": str, "templates_dir": str,
        "contact": str,
        "smtp": {"host": str, "port": int, "mode": str, "username": str, "password_env": str,
                 "max_per_minute": int},
        "webhook": {"url": str, "format": str},
    },
    "web": {"host": str, "port": int, "base_url": str},
}


def _read(reader: NodeReader, node: YamlNode, schema: Any, path: str, out: dict[str, Any],
          lines: dict[str, int]) -> None:
    """Walk a mapping against the schema, casting scalars and collecting errors."""
    fields = reader.mapping(node, path, optional=tuple(schema))
    if fields is None:
        return
    for key, value in fields.items():
        sub = f"{path}.{key}" if path else key
        lines[sub] = value.line
        kind = schema[key]
        if isinstance(kind, dict):
            inner: dict[str, Any] = {}
            _read(reader, value, kind, sub, inner, lines)
            out[key] = inner
        elif kind is str:
            text = reader.text(value, sub, allow_empty=True)
            if text is not None:
                out[key] = text
        elif kind is int:
            text = reader.matching(value, sub, _INT, code="bad-number", what="a whole number")
            if text is not None:
                out[key] = int(text)
        elif kind is bool:
            flag = reader.boolean(value, sub)
            if flag is not None:
                out[key] = flag
        elif kind is list:
            items = reader.sequence(value, sub, empty_code=None)
            if items is not None:
                out[key] = [to_plain(i) for i in items if isinstance(i, YamlScalar) or reader.wrong_type(i, sub, "text")]
        elif kind is dict:
            if isinstance(value, (YamlScalar, YamlSeq)):
                reader.wrong_type(value, sub, "a mapping")
            else:
                out[key] = to_plain(value)


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def load_settings(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the configuration: ``path``, else ``$DUBAN_CONFIG``, else the embedded file."""
    env = os.environ if environ is None else environ
    source = Path(path or env.get(ENV_CONFIG) or DEFAULT_CONFIG).expanduser().resolve()
    display = str(source)
    node, diags = read_yaml(source, display=display)
    reader = NodeReader(display)
    reader.errors.extend(diags)
    raw: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if node is not None:
        _read(reader, node, _SCHEMA, "", raw, lines)
    for name, target in ENV_OVERRIDES.items():
        if env.get(name):
            value: Any = env[name]
            if target == ("web", "port"):
                if not _INT.fullmatch(value):
                    reader.error(1, "bad-number", f"${name}", f"{value!r} (from the environment) is not a port number")
                    continue
                value = int(value)
            _set(raw, target, value)
            lines[".".join(target)] = 0  # 0: the value came from the environment, not the file
    settings = _build(raw, source, reader, lines)
    if reader.errors:
        raise ConfigError(reader.errors)
    return settings


def _build(raw: dict[str, Any], source: Path, reader: NodeReader, lines: dict[str, int]) -> Settings:
    base = source.parent

    def error(path: str, code: str, message: str) -> None:
        line = lines.get(path, 1)
        where = path if line else f"{path} (from the environment)"
        reader.error(line or 1, code, where, message)

    def resolve(p: str) -> Path:
        candidate = Path(p).expanduser()
        return candidate if candidate.is_absolute() else (base / candidate).resolve()

    url = raw.get("database", {}).get("url", "sqlite:///var/duban.db")
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a good text
        error("database.url", "bad-url", f"{url!r} is not a database URL: {exc}")
        parsed = make_url("sqlite:///var/duban.db")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        url = parsed.set(database=str(resolve(parsed.database))).render_as_string(hide_password=False)

    checkins: list[tuple[int, int]] = []
    for text in raw.get("ongoing", {}).get("checkins", ["06-30", "09-30"]):
        m = _MMDD.fullmatch(str(text))
        if not m:
            error("ongoing.checkins", "bad-date", f"{text!r} is not MM-DD")
            continue
        checkins.append((int(m.group(1)), int(m.group(2))))

    notifier = dict(raw.get("notifier", {}))
    kind = notifier.setdefault("kind", "outbox")
    if kind not in NOTIFIER_KINDS:
        error("notifier.kind", "bad-choice", f"{kind!r} is not one of {', '.join(NOTIFIER_KINDS)}")
    notifier["outbox_dir"] = str(resolve(notifier.get("outbox_dir", "var/outbox")))
    if notifier.get("templates_dir"):
        notifier["templates_dir"] = str(resolve(notifier["templates_dir"]))
    notifier.setdefault("sender", "督办系统 <duban@jieyang.example>")
    notifier.setdefault("message_id_domain", "duban.example")

    sched = raw.get("schedule", {})
    schedule = Schedule(**sched)
    if not (0 <= schedule.hour <= 23 and 0 <= schedule.minute <= 59):
        error("schedule.hour", "bad-number", f"{schedule.hour:02d}:{schedule.minute:02d} is not a time of day")

    web = raw.get("web", {})
    reminders = raw.get("reminders", {})
    return Settings(
        source=source,
        database_url=url,
        timezone=raw.get("timezone", "Asia/Shanghai"),
        calendar_dirs=tuple(resolve(p) for p in raw.get("calendar", {}).get("extra_dirs", [])),
        plan_dirs=tuple(resolve(p) for p in raw.get("plans", {}).get("dirs", ["rules/plans"])),
        units_dirs=tuple(resolve(p) for p in raw.get("plans", {}).get("units_dirs", ["rules/units"])),
        schedule=schedule,
        ruleset=resolve(reminders.get("ruleset", "rules/rulesets/reminders.yaml")),
        reminder_overrides=reminders.get("overrides", {}),
        trigger_default_offset_working_days=raw.get("triggers", {}).get("default_offset_working_days", 10),
        ongoing_checkins=tuple(checkins),
        notifier=notifier,
        web_host=web.get("host", "127.0.0.1"),
        web_port=web.get("port", 8000),
        web_base_url=web.get("base_url", "http://127.0.0.1:8000"),
    )
