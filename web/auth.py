"""Accounts, roles and the dashboard's security rules (账号、角色与权限).

Four roles, deny by default:

==========  ===================================================================
admin       everything, including the user list (系统管理员)
supervisor  the 督查室: records events, completes, waives, decides extensions,
            reads the audit log
clerk       a unit's contact clerk (联络员), bound to one or more units: completes
            and asks for extensions only on its own units' obligations; records
            events only when it acts for a supervising office (督查室 unit)
viewer      a leader or observer (领导/观察员): reads the dashboard, downloads reports
==========  ===================================================================

The rule table :data:`RULES` is data. A state-changing action names the
engine's own check (:func:`duban.engine.services.events.authorize`), which the service
repeats when it runs: the CLI and the web share one rule. :func:`decide` is the
only place the dashboard asks, so the HTTP matrix tests exercise one function
through every route.

Passwords are hashed with Argon2id (argon2-cffi). Login attempts are written to
``login_attempts`` so the rate limit holds across processes and restarts:
after :data:`ACCOUNT_LIMIT` failures for one account, or :data:`CLIENT_LIMIT`
from one client address, within :data:`WINDOW`, further attempts are refused
until the window passes (a success resets the account's count).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import DubanError
from ..engine.services.events import PermissionDenied, authorize
from ..store import audit
from ..store.models import LoginAttempt, Obligation, Unit, User, UserUnit, utcnow


class WebError(DubanError):
    """Root of the dashboard's errors."""


class AccountError(WebError, ValueError):
    """An account cannot be created or changed as asked (bad name, role, password...)."""


class UnknownUnit(WebError, LookupError):
    """A unit named for a clerk is not in the units directory."""


class UnknownUser(WebError, LookupError):
    """No account with that name."""


class SecretFileError(WebError, PermissionError):
    """The session secret file is readable by others (it must be 0600)."""


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    VIEWER = "viewer"


ROLE_LABELS: Mapping[str, str] = {
    Role.ADMIN: "系统管理员", Role.SUPERVISOR: "督查室", Role.CLERK: "单位联络员", Role.VIEWER: "查看",
}

ACCOUNT_LIMIT = 5
CLIENT_LIMIT = 20
WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
SECRET_ENV = "DUBAN_WEB_SECRET"
SECRET_FILE = Path("var") / "web-secret"


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """Who may do a dashboard action.

    ``service`` names the action in :func:`duban.engine.services.events.authorize` when
    the action changes state: the engine decides those (for the CLI and the web
    alike), so the dashboard never holds a second copy of the rule. Read-only
    actions are decided here by ``roles``.
    """

    label: str
    roles: frozenset[Role] = frozenset()
    service: str | None = None


_ALL = frozenset(Role)
_SUP = frozenset({Role.ADMIN, Role.SUPERVISOR})

RULES: Mapping[str, Rule] = {
    "view": Rule(label="查看看板", roles=_ALL),
    "report.download": Rule(label="下载报表", roles=_ALL),
    "audit.view": Rule(label="查看审计日志", roles=_SUP),
    "users.view": Rule(label="查看账号", roles=frozenset({Role.ADMIN})),
    "event.record": Rule(label="登记触发事件", service="event"),
    "event.correct": Rule(label="更正事件", service="event"),
    "event.retract": Rule(label="撤销事件", service="event"),
    "obligation.complete": Rule(label="登记完成", service="complete"),
    "obligation.waive": Rule(label="免予督办", service="waive"),
    "extension.request": Rule(label="申请延期", service="extend.request"),
    "extension.decide": Rule(label="审批延期", service="extend.decide"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Principal:
    """The logged-in user as the request sees it (never the ORM row)."""

    id: int
    name: str
    role: Role
    display_name: str | None = None
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    unit_names: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    allowed: bool
    reason: str


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def decide(session: Session, principal: Principal | None, action: str, *, obligation: Obligation | None = None,
           requested_by: str | None = None) -> Decision:
    """May ``principal`` do ``action`` (on ``obligation``)? Deny by default.

    State-changing actions ask the engine's own check
    (:func:`duban.engine.services.events.authorize`) with the user's role and units, the
    same check the service will make again when it runs. ``requested_by`` is
    the requester of an extension, who may not decide it (不得自批).
    """
    rule = RULES.get(action)
    if rule is None:
        return Decision(allowed=False, reason=f"unknown action {action!r}")
    if principal is None:
        return Decision(allowed=False, reason="not logged in")
    if rule.service is None:
        if principal.role in rule.roles:
            return Decision(allowed=True, reason="ok")
        return Decision(allowed=False, reason=f"role {principal.role.value!r} may not {action}")
    try:
        authorize(session, rule.service, role=principal.role.value, unit_ids=principal.unit_ids,  # type: ignore[arg-type]
                  obligation=obligation)
    except PermissionDenied as exc:
        return Decision(allowed=False, reason=str(exc))
    if requested_by is not None and _same_person(requested_by, principal.name):
        return Decision(allowed=False, reason=f"{principal.name!r} requested it and may not decide it")
    return Decision(allowed=True, reason="ok")


# --------------------------------------------------------------------------- passwords and accounts


def default_hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's current recommended parameters (RFC 9106 low-memory profile)."""
    return PasswordHasher()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters (got {len(password)})")
    if password.strip() != password:
        raise AccountError("a password may not start or end with white space")


def _resolve_units(session: Session, names: Sequence[str]) -> list[Unit]:
    """Units by short name or alias; ``DIRECTORY:NAME`` when a name repeats across directories."""
    units = list(session.scalars(select(Unit).where(Unit.is_group.is_(False)).order_by(Unit.id)))
    by_name: dict[str, list[Unit]] = {}
    for u in units:
        for key in (u.name, *(str(a) for a in u.aliases or ())):
            for spelled in (key, f"{u.directory}:{key}"):
                if u not in by_name.setdefault(spelled, []):
                    by_name[spelled].append(u)
    out = []
    for name in names:
        found = by_name.get(name, [])
        if not found:
            near = difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, near))}?" if near else \
                ("; import the plans first (duban plan import)" if not units else "")
            raise UnknownUnit(f"no unit {name!r} in the units directory{hint}")
        if len(found) > 1:
            dirs = ", ".join(sorted({u.directory for u in found}))
            raise AccountError(f"unit {name!r} is in several directories ({dirs}); write DIRECTORY:NAME, "
                               f"e.g. {found[0].directory + ':' + found[0].name!r}")
        if found[0] not in out:
            out.append(found[0])
    return out


def _user_json(user: User, units: Sequence[str]) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "display_name": user.display_name, "units": list(units),
            "active": user.active}


def add_user(session: Session, *, name: str, role: str, password: str, units: Sequence[str] = (),
             display_name: str | None = None, actor: str, source: audit.Source = "cli",
             hasher: PasswordHasher | None = None) -> User:
    """Create a dashboard account (audited; the password hash never enters the audit log)."""
    if not NAME_RE.fullmatch(name):
        raise AccountError(f"account name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                           f"starting with a letter or digit")
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}") from None
    if role_ is Role.CLERK and not units:
        raise AccountError(f"a clerk needs at least one unit (--unit), account {name!r}")
    if role_ is not Role.CLERK and units:
        raise AccountError(f"only a clerk is bound to units; role {role!r} takes no --unit")
    check_password_strength(password)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise AccountError(f"account {name!r} already exists")
    resolved = _resolve_units(session, units)
    user = User(name=name, role=role_.value, display_name=display_name,
                password_hash=(hasher or default_hasher()).hash(password), active=True, session_epoch=0)
    session.add(user)
    session.flush()
    for unit in resolved:
        session.add(UserUnit(user_id=user.id, unit_id=unit.id))
    session.flush()
    audit.append(session, actor=actor, source=source, action="user.created", object_type="user", object_id=user.name,
                 after=_user_json(user, [u.name for u in resolved]))
    return user


def set_password(session: Session, name: str, password: str, *, actor: str, source: audit.Source = "cli",
                 hasher: PasswordHasher | None = None) -> User:
    """Replace an account's password; every open session of the account ends (epoch bump)."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UnknownUser(f"no account {name!r}")
    check_password_strength(password)
    user.password_hash = (hasher or default_hasher()).hash(password)
    user.session_epoch += 1
    session.flush()
    audit.append(session, actor=actor, source=source, action="user.password_set", object_type="user",
                 object_id=user.name)
    return user


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountRow:
    name: str
    role: str
    display_name: str | None
    units: tuple[str, ...]
    active: bool
    created_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "display_name": self.display_name, "units": list(self.units),
                "active": self.active, "created_at": self.created_at.isoformat()}


def list_users(session: Session) -> list[AccountRow]:
    units: dict[int, list[str]] = {}
    for uid, uname in session.execute(select(UserUnit.user_id, Unit.name).join(Unit, Unit.id == UserUnit.unit_id)
                                      .order_by(UserUnit.user_id, Unit.id)):
        units.setdefault(uid, []).append(uname)
    return [AccountRow(name=u.name, role=u.role, display_name=u.display_name, units=tuple(units.get(u.id, ())),
                       active=u.active, created_at=u.created_at)
            for u in session.scalars(select(User).order_by(User.id))]


def load_principal(session: Session, user_id: int, epoch: int) -> Principal | None:
    """The principal for a session cookie, or None when the account is gone, disabled or logged out."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    rows = session.execute(select(Unit.id, Unit.name).join(UserUnit, UserUnit.unit_id == Unit.id)
                           .where(UserUnit.user_id == user.id).order_by(Unit.id)).all()
    return Principal(id=user.id, name=user.name, role=Role(user.role), display_name=user.display_name,
                     unit_ids=frozenset(r.id for r in rows), unit_names=tuple(r.name for r in rows))


# --------------------------------------------------------------------------- login and rate limiting


@dataclass(frozen=True, kw_only=True, slots=True)
class LoginResult:
    """``reason``: ok | bad (wrong name or password) | account_locked | client_locked."""

    reason: str
    user_id: int | None = None
    epoch: int = 0

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


# A real Argon2 hash of a random password: verifying an unknown account costs the same
# time as a known one, so response times do not reveal which names exist.
_DUMMY_HASH: str | None = None


def _dummy_hash(hasher: PasswordHasher) -> str:
    global _DUMMY_HASH  # cached immutable data (a constant computed once)
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def recent_failures(session: Session, *, name: str | None = None, client: str | None = None,
                    now: dt.datetime) -> int:
    """Failed attempts inside the window (for an account: since its last success too)."""
    since = now - WINDOW
    stmt = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.ok.is_(False), LoginAttempt.at > since)
    if name is not None:
        last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(LoginAttempt.name == name,
                                                                         LoginAttempt.ok.is_(True),
                                                                         LoginAttempt.at > since))
        stmt = stmt.where(LoginAttempt.name == name)
        if last_ok is not None:
            stmt = stmt.where(LoginAttempt.at > last_ok)
    if client is not None:
        stmt = stmt.where(LoginAttempt.client == client)
    return int(session.scalar(stmt) or 0)


def authenticate(session: Session, *, name: str, password: str, client: str, hasher: PasswordHasher,
                 now: dt.datetime | None = None) -> LoginResult:
    """Check a login and record the attempt (inside the caller's transaction).

    A locked account or client is refused before the password is checked, so a
    guesser learns nothing more once the limit is reached.
    """
    now = now or utcnow()
    name = name.strip()[:100]
    client = client[:100]
    if recent_failures(session, client=client, now=now) >= CLIENT_LIMIT:
        session.add(LoginAttempt(name=name, client=client, at=now, ok=False))
        return LoginResult(reason="client_locked")
    if recent_failures(session, name=name, now=now) >= ACCOUNT_LIMIT:
        session.add(LoginAttempt(name=name, client=client, at=now, ok=False))
        return LoginResult(reason="account_locked")
    user = session.scalar(select(User).where(User.name == name))
    ok = False
    if user is None or not user.active:
        try:
            hasher.verify(_dummy_hash(hasher), password)
        except VerificationError:
            pass
    else:
        try:
            ok = hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok and hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
    session.add(LoginAttempt(name=name, client=client, at=now, ok=ok))
    session.flush()
    if not ok or user is None:
        return LoginResult(reason="bad")
    return LoginResult(reason="ok", user_id=user.id, epoch=user.session_epoch)


def end_sessions(session: Session, user_id: int) -> None:
    """Logout: bump the epoch so every cookie issued to this account stops working."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_epoch += 1


# --------------------------------------------------------------------------- CSRF and the session secret


CSRF_KEY = "csrf"


def csrf_token(cookie_session: MutableMapping[str, Any]) -> str:
    """The session-bound CSRF token, created on first use (every form carries it)."""
    token = cookie_session.get(CSRF_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        cookie_session[CSRF_KEY] = token
    return token


def csrf_ok(cookie_session: Mapping[str, Any], submitted: object) -> bool:
    """True when the form's token matches the session's (constant-time)."""
    expected = cookie_session.get(CSRF_KEY)
    if not isinstance(expected, str) or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def load_secret(base_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    """The key that signs session cookies: ``$DUBAN_WEB_SECRET``, else ``var/web-secret``.

    The file is generated on first use with mode 0600 (never in the
    repository: ``var/`` is ignored). A file others can read is refused rather
    than trusted, since anyone who reads it can forge a session.
    """
    env = os.environ if environ is None else environ
    value = env.get(SECRET_ENV, "")
    if value:
        if len(value) < 32:
            raise SecretFileError(f"${SECRET_ENV} is too short ({len(value)} characters; use at least 32)")
        return value
    path = base_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SecretFileError(f"{str(path)!r} has mode {mode:o}; it must be readable by its owner only "
                                  f"(chmod 600)") from None
        text = path.read_text(encoding="utf-8").strip()
        if len(text) < 32:
            raise SecretFileError(f"{str(path)!r} holds a secret shorter than 32 characters; delete it to regenerate")
        return text
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text(encoding="utf-8").strip()


# --------------------------------------------------------------------------- demo accounts


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoAccount:
    """A demo login printed by ``make run`` (passwords generated fresh on every call)."""

    name: str
    role: str
    units: tuple[str, ...]
    password: str

    def line(self) -> str:
        units = f" [{'、'.join(self.units)}]" if self.units else ""
        return f"{self.name:<16} {self.password:<24} {ROLE_LABELS[self.role]}{units}（演示账号 demo）"


DEMO_ACCOUNTS: tuple[tuple[str, Role, tuple[str, ...], str], ...] = (
    ("demo-admin", Role.ADMIN, (), "演示·系统管理员"),
    ("demo-supervisor", Role.SUPERVISOR, (), "演示·市政府督查室"),
    ("demo-clerk", Role.CLERK, ("市编办",), "演示·市编办联络员"),
    ("demo-viewer", Role.VIEWER, (), "演示·领导查看"),
)


def create_demo_accounts(session: Session, *, actor: str = "make-run", source: audit.Source = "cli",
                         hasher: PasswordHasher | None = None) -> list[DemoAccount]:
    """Create (or re-key) the four demo accounts with freshly generated passwords.

    Called by ``make run`` after the seed plans are imported (the clerk is bound
    to 市编办, which the units directory must hold). Existing demo accounts get a
    new password, so the printed list is always the one that works; their
    sessions end. The names start with ``demo-`` and the display names say 演示.
    """
    hasher = hasher or default_hasher()
    out = []
    for name, role, units, display in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        if session.scalar(select(User.id).where(User.name == name)) is None:
            add_user(session, name=name, role=role.value, password=password, units=units, display_name=display,
                     actor=actor, source=source, hasher=hasher)
        else:
            set_password(session, name, password, actor=actor, source=source, hasher=hasher)
        out.append(DemoAccount(name=name, role=role.value, units=units, password=password))
    return out

