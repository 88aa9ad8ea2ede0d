"""Attack tests (issue 14, rows 2, 3, 11): login throttling, lockout, pruning, sessions, disabled accounts.

Each test reproduces an attack seen against the old code and asserts the
invariant, on SQLite and PostgreSQL (the ``store`` fixture). See
docs/security.md for the threat model.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from duban.store.models import AuditRecord, LoginAttempt, User
from duban.web.auth import (
    BACKOFF_CAP,
    CLIENT_LIMIT,
    PAIR_LIMIT,
    TRUSTED_FOR,
    AccountError,
    add_user,
    authenticate,
    disable_user,
    load_principal,
)
from helpers import run
from sqlalchemy import func, select

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.timezone.utc)
RIGHT = "the-right-password-1"


class CountingHasher(PasswordHasher):
    """A cheap Argon2 hasher that counts how many passwords it checked (thread-safe)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checked = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's own name
        with self._lock:
            self.checked += 1
        return super().verify(hash, password)


@pytest.fixture
def owner(store):  # type: ignore[no-untyped-def]
    hasher = CountingHasher()
    with store.sessions() as s, s.begin():
        add_user(s, name="owner", role="viewer", password=RIGHT, actor="test", hasher=hasher)
    hasher.checked = 0
    return store, hasher


def _login(store, hasher, password: str, *, client: str = "10.0.0.1", name: str = "owner",  # type: ignore[no-untyped-def]
           now: dt.datetime = NOW) -> str:
    return authenticate(store.sessions, name=name, password=password, client=client, hasher=hasher, now=now).reason


def test_simultaneous_guesses_check_at_most_the_limit(owner) -> None:  # type: ignore[no-untyped-def]
    """Row 2: 30 simultaneous guesses from one address used to check 21 passwords and let the right one in."""
    store, hasher = owner
    guesses = [f"wrong-guess-{i:04d}" for i in range(29)] + [RIGHT]
    with ThreadPoolExecutor(max_workers=30) as pool:
        reasons = list(pool.map(lambda pw: _login(store, hasher, pw), guesses))
    assert hasher.checked <= PAIR_LIMIT
    assert sum(r in ("ok", "bad") for r in reasons) <= PAIR_LIMIT
    assert reasons.count("account_locked") >= 30 - PAIR_LIMIT
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) <= PAIR_LIMIT


def test_a_stranger_cannot_lock_the_owner_out(owner) -> None:  # type: ignore[no-untyped-def]
    """Row 3: five bad tries used to make the owner's right password answer 429."""
    store, hasher = owner
    assert _login(store, hasher, RIGHT, client="192.0.2.10", now=NOW - dt.timedelta(days=1)) == "ok"  # owner's desk
    for i in range(PAIR_LIMIT):
        assert _login(store, hasher, f"guess-{i}-xxxxxxx", client="203.0.113.5") == "bad"
    assert _login(store, hasher, RIGHT, client="203.0.113.5") == "account_locked"  # the guesser's pair is locked
    later = NOW + dt.timedelta(seconds=1)
    assert _login(store, hasher, RIGHT, client="192.0.2.10", now=later) == "ok"  # the owner's usual address
    for i in range(PAIR_LIMIT + 1):  # then a distributed guesser: one try from each of many addresses
        at = later + dt.timedelta(seconds=20 * (i + 1))
        assert _login(store, hasher, f"spread-{i}-xxxxxxx", client=f"198.51.100.{i}", now=at) == "bad"
    newest = later + dt.timedelta(seconds=20 * (PAIR_LIMIT + 1))
    assert _login(store, hasher, RIGHT, client="192.0.2.10", now=newest) == "ok"  # a trusted address is never slowed
    for i in range(PAIR_LIMIT + 1):
        _login(store, hasher, f"again-{i}-xxxxxxx", client=f"198.51.100.{50 + i}", now=newest + dt.timedelta(seconds=i))
    newest += dt.timedelta(seconds=PAIR_LIMIT)
    # From a new address the owner waits a short backoff at most, never the whole window.
    assert _login(store, hasher, RIGHT, client="192.0.2.99", now=newest) == "backoff"
    assert _login(store, hasher, RIGHT, client="192.0.2.99", now=newest + BACKOFF_CAP) == "ok"


def test_a_blocked_address_adds_nothing_and_the_table_prunes_itself(owner) -> None:  # type: ignore[no-untyped-def]
    """Row 3: a blocked address still added failures against other accounts, and rows were never pruned."""
    store, hasher = owner
    with store.sessions() as s, s.begin():
        s.add_all([LoginAttempt(name="old", client="x", at=NOW - dt.timedelta(hours=2), ok=False),
                   LoginAttempt(name="old", client="x", at=NOW - TRUSTED_FOR - dt.timedelta(days=1), ok=True)])
    for i in range(CLIENT_LIMIT):
        _login(store, hasher, "nope-nope-nope", name=f"victim-{i % 4}", client="203.0.113.66")
    with store.sessions() as s:
        before = s.scalar(select(func.count()).select_from(LoginAttempt))
        assert s.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.name == "old")) == 0
    assert _login(store, hasher, "nope-nope-nope", name="victim-9", client="203.0.113.66") == "client_locked"
    assert _login(store, hasher, RIGHT, client="203.0.113.66") == "client_locked"
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == before
        assert s.scalar(select(func.count()).select_from(LoginAttempt)
                        .where(LoginAttempt.name == "victim-9")) == 0
    assert _login(store, hasher, RIGHT, client="192.0.2.1") == "ok"  # the owner elsewhere is untouched


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(owner, env_for) -> None:  # type: ignore[no-untyped-def]
    """Row 11: there was no way to disable an account."""
    store, hasher = owner
    with store.sessions() as s:
        user = s.scalar(select(User).where(User.name == "owner"))
        assert load_principal(s, user.id, user.session_epoch) is not None
        uid, epoch = user.id, user.session_epoch
    code, out, err = run(env_for(store), "user", "disable", "owner", "--reason", "left the office", "--actor", "admin")
    assert code == 0, err
    assert _login(store, hasher, RIGHT) == "bad"
    with store.sessions() as s:
        assert load_principal(s, uid, epoch) is None
        rec = s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()
        assert (rec.action, rec.object_id, rec.reason) == ("user.disabled", "owner", "left the office")
        with pytest.raises(AccountError):
            disable_user(s, "owner", actor="admin")


def test_account_names_accept_chinese(store, env_for) -> None:  # type: ignore[no-untyped-def]
    """Issue 17, row 4: `duban user add 张三 --role viewer` used to exit 1 (ASCII names only)."""
    code, out, err = CliInput.run(env_for(store), "user", "add", "张三", "--role", "viewer", "--password-stdin",
                                  stdin="zhang-san-password\n")
    assert code == 0, err
    with store.sessions() as s:
        assert s.scalar(select(User.name).where(User.name == "张三")) == "张三"
    for bad in ("张 三", "_x", "a\nb", "x" * 65):
        with store.sessions() as s, pytest.raises(AccountError):
            add_user(s, name=bad, role="viewer", password="long-enough-pw", actor="t")


class CliInput:
    """``duban`` in-process with text on stdin."""

    @staticmethod
    def run(env: dict[str, str], *args: str, stdin: str) -> tuple[int, str, str]:
        from click.testing import CliRunner
        from duban.cli.main import cli

        result = CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr
