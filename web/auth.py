"""Accounts, logins, sessions and the dashboard's security plumbing (账号、登录与会话).

Roles and who may do what are :mod:`duban.engine.services.permissions`, the
one permissions module the CLI and the services use too; :func:`decide` here
only adapts a logged-in :class:`Principal` to it, so the HTTP matrix tests
exercise the same rule through every route.

Passwords are hashed with Argon2id (argon2-cffi). Login attempts are written to
``login_attempts`` so throttling holds across processes and restarts. It is
atomic (issue 14, row 2): an attempt first takes a lock (SQLite: its write
lock, taken by inserting the attempt; PostgreSQL: an advisory lock), counts,
and either reserves its place as a failure or is refused and leaves nothing
behind; the password is checked after the lock is released and a success
turns the reservation into ``ok``. So 30 simultaneous guesses check at most
:data:`PAIR_LIMIT` passwords. The limits (issue 14, row 3):

* per address **and** account: :data:`PAIR_LIMIT` failures in :data:`WINDOW`
  lock that pair only — a stranger cannot lock the owner out by guessing;
* per address: :data:`CLIENT_LIMIT` failures in the window block the address
  (its refused attempts are not counted against any account);
* per account, from every address: after :data:`PAIR_LIMIT` failures each
  further attempt from an address the account has not logged in from in
  :data:`TRUSTED_FOR` waits a short backoff (doubling, at most
  :data:`BACKOFF_CAP`) — slows a distributed guesser, never locks the owner;
* the table prunes itself on every attempt (failures older than the window,
  successes older than :data:`TRUSTED_FOR`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from ..engine.services import permissions
from ..engine.services.permissions import ACCOUNT_ROLES, ROLE_LABELS, Decision, Role
from ..errors import DubanError
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


PAIR_LIMIT = 5
ACCOUNT_LIMIT = PAIR_LIMIT  # the name the tests and docs used first: failures per address and account
CLIENT_LIMIT = 20
WINDOW = dt.timedelta(minutes=15)
BACKOFF_CAP = dt.timedelta(seconds=10)
TRUSTED_FOR = dt.timedelta(days=30)
SESSION_LIFETIME = dt.timedelta(hours=8)  # absolute: from login, however busy the session (issue 14, row 11)
MIN_PASSWORD = 10
#: Letters of any script (张三 as well as lin-yu), digits, '.', '_' and '-'; no spaces or control characters.
NAME_RE = re.compile(r"[^\W_][\w.\-]{0,63}")
SECRET_ENV = "DUBAN_WEB_SECRET"
SECRET_FILE = Path("var") / "web-secret"


# --------------------------------------------------------------------------- principals


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


def decide(session: Session, principal: Principal | None, action: str, *, obligation: Obligation | None = None,
           plan_id: str | None = None, requested_by: str | None = None) -> Decision:
    """May ``principal`` do ``action`` (on ``obligation``, in ``plan_id``)? Deny by default.

    The answer is :func:`duban.engine.services.permissions.decide`'s, the same
    rule the service applies again when it runs.
    """
    if principal is None:
        return Decision(allowed=False, reason="not logged in")
    return permissions.decide(session, name=principal.name, role=principal.role, unit_ids=principal.unit_ids,
                              action=action, obligation=obligation, plan_id=plan_id, requested_by=requested_by)


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
        raise AccountError(f"account name {name!r}: use 1-64 letters (any script, e.g. 张三), digits, '.', '_' "
                           f"or '-', starting with a letter or digit")
    if role not in ACCOUNT_ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(r.value for r in ACCOUNT_ROLES)}")
    role_ = Role(role)
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


def disable_user(session: Session, name: str, *, actor: str, reason: str | None = None,
                 source: audit.Source = "cli") -> User:
    """Disable an account: it can no longer log in, and every open session ends (epoch bump).

    The row stays (the audit log names it); ``user enable`` is deliberately
    not offered: a disabled account is re-created under review, or its
    password reset by an admin who then re-enables it in the database.
    """
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UnknownUser(f"no account {name!r}")
    if not user.active:
        raise AccountError(f"account {name!r} is already disabled")
    user.active = False
    user.session_epoch += 1
    session.flush()
    audit.append(session, actor=actor, source=source, action="user.disabled", object_type="user",
                 object_id=user.name, before={"active": True}, after={"active": False}, reason=reason)
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
    # One round trip on every request: the account and its units together.
    rows = session.execute(
        select(User.id, User.name, User.role, User.display_name, User.active, User.session_epoch, Unit.id, Unit.name)
        .outerjoin(UserUnit, UserUnit.user_id == User.id).outerjoin(Unit, Unit.id == UserUnit.unit_id)
        .where(User.id == user_id).order_by(Unit.id)).all()
    if not rows:
        return None
    uid, name, role, display_name, active, session_epoch = rows[0][:6]
    if not active or session_epoch != epoch:
        return None
    units = [(r[6], r[7]) for r in rows if r[6] is not None]
    return Principal(id=uid, name=name, role=Role(role), display_name=display_name,
                     unit_ids=frozenset(u for u, _ in units), unit_names=tuple(n for _, n in units))


# --------------------------------------------------------------------------- login and throttling


@dataclass(frozen=True, kw_only=True, slots=True)
class LoginResult:
    """``reason``: ok | bad (wrong name or password) | account_locked (this address, this account) |
    client_locked (this address) | backoff (the account is being guessed: wait ``retry_after``)."""

    reason: str
    user_id: int | None = None
    epoch: int = 0
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


# A real Argon2 hash of a random password: verifying an unknown account costs the same
# time as a known one, so response times do not reveal which names exist.
_DUMMY_HASH: str | None = None
_LOGIN_LOCK = 4242002  # PostgreSQL advisory lock key of the throttle (the audit chain uses 4242001)


def _dummy_hash(hasher: PasswordHasher) -> str:
    global _DUMMY_HASH  # cached immutable data (a constant computed once)
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def _failures(session: Session, *, now: dt.datetime, exclude: int, name: str | None = None,
              client: str | None = None) -> tuple[int, dt.datetime | None]:
    """Failures in the window (since the last success of the same name/client pair) and the newest one."""
    since = now - WINDOW
    conds = [LoginAttempt.at > since, LoginAttempt.id != exclude]
    if name is not None:
        conds.append(LoginAttempt.name == name)
    if client is not None:
        conds.append(LoginAttempt.client == client)
    if name is not None:
        last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(*conds, LoginAttempt.ok.is_(True)))
        if last_ok is not None:
            conds.append(LoginAttempt.at > last_ok)
    n, newest = session.execute(select(func.count(), func.max(LoginAttempt.at))
                                .where(*conds, LoginAttempt.ok.is_(False))).one()
    return int(n or 0), newest


def _throttle(session: Session, *, name: str, client: str, now: dt.datetime, exclude: int) -> LoginResult | None:
    """The refusal for this attempt, or None when it may go on to the password check."""
    if _failures(session, now=now, exclude=exclude, client=client)[0] >= CLIENT_LIMIT:
        return LoginResult(reason="client_locked", retry_after=int(WINDOW.total_seconds()))
    if _failures(session, now=now, exclude=exclude, name=name, client=client)[0] >= PAIR_LIMIT:
        return LoginResult(reason="account_locked", retry_after=int(WINDOW.total_seconds()))
    n, newest = _failures(session, now=now, exclude=exclude, name=name)
    if n >= PAIR_LIMIT and newest is not None:
        trusted = session.scalar(select(LoginAttempt.id).where(
            LoginAttempt.name == name, LoginAttempt.client == client, LoginAttempt.ok.is_(True),
            LoginAttempt.at > now - TRUSTED_FOR).limit(1))
        wait = min(BACKOFF_CAP, dt.timedelta(seconds=2 ** min(n - PAIR_LIMIT, 16)))
        if trusted is None and now - newest < wait:
            return LoginResult(reason="backoff", retry_after=max(1, int((newest + wait - now).total_seconds())))
    return None


def _reserve(session: Session, *, name: str, client: str, now: dt.datetime) -> tuple[LoginResult | None, int]:
    """Take the throttle's lock, prune, and reserve this attempt as a failure (or refuse it).

    The reservation is written *first*: on SQLite that insert takes the
    database's write lock, so the count below cannot race another login; on
    PostgreSQL the advisory lock does it. A refusal rolls everything back.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOGIN_LOCK})
    attempt = LoginAttempt(name=name, client=client, at=now, ok=False)
    session.add(attempt)
    session.flush()
    session.execute(delete(LoginAttempt).where(
        ((LoginAttempt.ok.is_(False)) & (LoginAttempt.at <= now - WINDOW)) | (LoginAttempt.at <= now - TRUSTED_FOR)))
    return _throttle(session, name=name, client=client, now=now, exclude=attempt.id), attempt.id


def authenticate(sessions: Callable[[], Session], *, name: str, password: str, client: str,
                 hasher: PasswordHasher, now: dt.datetime | None = None) -> LoginResult:
    """Check a login, throttled atomically (see the module docstring); commits its own transactions.

    A refused attempt is decided before any password is checked, so a
    guesser learns nothing once a limit is reached, and leaves no row.
    """
    now = now or utcnow()
    name = name.strip()[:100]
    client = client[:100]
    with sessions() as db:
        refusal, attempt_id = _reserve(db, name=name, client=client, now=now)
        if refusal is not None:
            db.rollback()
            return refusal
        user = db.scalar(select(User).where(User.name == name))
        stored = user.password_hash if user is not None and user.active else None
        db.commit()
    ok = False
    try:
        ok = hasher.verify(stored or _dummy_hash(hasher), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        return LoginResult(reason="bad")
    with sessions() as db, db.begin():
        db.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(ok=True))
        fresh = db.get(User, user.id)
        if fresh is None or not fresh.active:  # disabled while the password was being checked
            return LoginResult(reason="bad")
        if hasher.check_needs_rehash(fresh.password_hash):
            fresh.password_hash = hasher.hash(password)
        return LoginResult(reason="ok", user_id=fresh.id, epoch=fresh.session_epoch)


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

