"""Attack tests on the audit log (issue 14, rows 6, 10, 11; issue 17, rows 9 and 11), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from duban.store import audit
from duban.store.models import AuditRecord
from helpers import run
from sqlalchemy import func, insert, select

KEY = "k" * 40


def _append(store, i: int) -> None:  # type: ignore[no-untyped-def]
    with store.sessions() as s, s.begin():
        audit.append(s, actor=f"t{i % 8}", source="web", action="web.denied", object_type="route",
                     object_id="/audit", after={"i": i}, reason="role 'viewer' may not audit.view")


def test_concurrent_appends_never_fork_or_fail(store) -> None:  # type: ignore[no-untyped-def]
    """Row 6: 8 threads × 15 refusals gave 33 × 500 (UNIQUE seq) and 63 unaudited refusals on SQLite."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: _append(store, i), range(120)))  # any exception re-raises here
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == 120
        assert audit.verify(s).ok


def _forge(store, *, keyed_first: bool, monkeypatch) -> audit.VerifyResult:  # type: ignore[no-untyped-def]
    """Append genuine rows (with or without the key), then one forged row with a recomputed hash."""
    if keyed_first:
        monkeypatch.setenv(audit.KEY_ENV, KEY)
    for i in range(3):
        _append(store, i)
    with store.sessions() as s, s.begin():
        head = audit.head(s)
        assert head is not None
        rec = s.get(AuditRecord, head.seq)
        at = rec.at
        digest = audit.record_hash(seq=head.seq + 1, at=at, actor="督查室", source="cli", action="obligation.waived",
                                   object_type="obligation", object_id="12", before=None, after={"state": "waived"},
                                   reason="forged", prev_hash=head.hash)
        s.execute(insert(AuditRecord.__table__).values(
            seq=head.seq + 1, at=at, actor="督查室", source="cli", action="obligation.waived", object_type="obligation",
            object_id="12", before=None, after={"state": "waived"}, reason="forged", prev_hash=head.hash,
            hash=digest))
    with store.sessions() as s:
        assert audit.verify(s).ok  # the keyless chain alone cannot tell (the documented gap)
        return audit.verify(s, key=KEY.encode())


def test_an_appended_forged_row_is_detected_with_the_key(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Row 11: a row appended with a recomputed hash passed `audit verify`."""
    result = _forge(store, keyed_first=True, monkeypatch=monkeypatch)
    assert not result.ok and result.first_bad_seq == 4 and "MAC" in (result.problem or "")


def test_a_forged_mac_is_detected_and_verify_says_when_it_has_no_key(store, env_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    for i in range(2):
        _append(store, i)
    with store.sessions() as s:
        rows = [tuple(r) for r in s.execute(select(*[getattr(AuditRecord, c) for c in audit.EXPORT_COLUMNS])
                                           .order_by(AuditRecord.seq))]
    assert audit.verify_rows(rows, key=KEY.encode()).ok
    rows[1] = (*rows[1][:12], audit.record_mac(b"x" * 40, rows[1][11]))
    assert audit.verify_rows(rows, key=KEY.encode()).first_bad_seq == 2
    code, out, err = run(env_for(store), "audit", "verify")
    assert code == 0 and "MACs checked" in out
    monkeypatch.delenv(audit.KEY_ENV)
    code, out, err = run(env_for(store), "audit", "verify")
    assert code == 0 and "DUBAN_AUDIT_KEY is not set" in err and "NOT checked" in out


def test_an_overlong_object_id_is_refused_not_stored(store) -> None:  # type: ignore[no-untyped-def]
    """Row 11: a 4,025-character object_id was stored into String(200) on SQLite."""
    with store.sessions() as s, s.begin(), pytest.raises(audit.AuditError, match="object_id"):
        audit.append(s, actor="x", source="web", action="web.denied", object_type="route", object_id="/" + "a" * 4024)
    clipped = audit.clip_id("/" + "a" * 4024)
    assert len(clipped) == 200 and clipped != audit.clip_id("/" + "a" * 4023)
    with store.sessions() as s, s.begin():
        audit.append(s, actor="x", source="web", action="web.denied", object_type="route", object_id=clipped)
    with store.sessions() as s:
        assert s.scalar(select(AuditRecord.object_id)) == clipped


def test_csv_export_neutralises_formulas_and_takes_the_list_filters(store, env_for, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Row 10: a reason like =HYPERLINK(...) was exported raw; issue 17 rows 9 and 11: --object TYPE, --limit."""
    with store.sessions() as s, s.begin():
        for i in range(3):
            audit.append(s, actor="=cmd|' /C calc'!A0", source="cli", action="user.created", object_type="user",
                         object_id=f"u{i}", reason='=HYPERLINK("http://evil.example","点此")')
        audit.append(s, actor="cli", source="cli", action="plan.created", object_type="plan", object_id="user")
    env = env_for(store)
    code, out, _ = run(env, "audit", "list", "--object", "user", "--json")
    assert code == 0 and [r["object_id"] for r in json.loads(out)] == ["u0", "u1", "u2", "user"]
    code, out, _ = run(env, "audit", "list", "--object", "user:u1", "--json")
    assert [r["object_id"] for r in json.loads(out)] == ["u1"]
    target = tmp_path / "a.csv"
    code, _, err = run(env, "audit", "export", "--format", "csv", "--object", "user", "--action", "user.*",
                       "--limit", "2", "-o", str(target))
    assert code == 0 and "2 record(s) exported" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["object_id"] for r in rows] == ["u1", "u2"]
    assert all(r["reason"].startswith("'=") and r["actor"].startswith("'=") for r in rows)
    code, out, _ = run(env, "audit", "export", "--format", "jsonl", "--limit", "1")
    assert [json.loads(line)["object_id"] for line in out.splitlines()] == ["user"]
