"""Poison in the units register fails alone (issue 14, row 5), on SQLite and PostgreSQL.

Import refuses an official whose name or address cannot go into a header
(tests/test_security_recipients.py), so these stores are poisoned directly in
SQL, as an old store or a hand edit would be. The tick must still write every
other digest, tell the supervising office who was left out and why, and
`duban tick --dry-run` must show the same problem.
"""

from __future__ import annotations

import datetime as dt
import json

from duban.engine.runtime.build import build_runtime
from duban.engine.runtime.settings import load_settings
from duban.store.models import Notification, Official, Unit
from helpers import run
from sqlalchemy import select, update

DAY = dt.date(2016, 7, 25)  # a working day with mail for many units
POISON = "市法制局督办联络员\r\nBcc: everyone@evil.example"


def _dry_run(env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    code, out, err = run(env, "tick", "--as-of", DAY.isoformat(), "--dry-run", "--json")
    assert code == 0, err
    return json.loads(out)


def _a_clerk_with_mail(preview: dict) -> tuple[str, str]:  # type: ignore[type-arg]
    """A clerk's address that gets a digest today and the unit it serves."""
    for digest in preview["would_send"]:
        if digest["role"] == "clerk" and digest["items"]:
            return digest["recipient"], digest["items"][0]["unit"]
    raise AssertionError("no clerk gets mail on the test day")


def test_an_official_whose_name_cannot_be_encoded_fails_alone_and_is_reported(seeded, env_for, tmp_path):
    env = env_for(seeded)
    clean = _dry_run(env)
    address, unit = _a_clerk_with_mail(clean)
    with seeded.sessions() as s, s.begin():
        s.execute(update(Official).where(Official.email == address).values(name=POISON))

    preview = _dry_run(env)
    [problem] = [p for p in preview["problems"] if address in p]
    assert unit in problem and "\\r\\n" in problem and "\r" not in problem  # shown escaped, never raw
    supervisors = [d for d in preview["would_send"] if d["role"] == "supervisor" and problem in d["notes"]]
    assert supervisors, "the dry run shows the supervising office's note too"
    assert address not in {d["recipient"] for d in preview["would_send"]}
    # Nothing of the clerk's is lost: today's changes go to the supervising office instead.
    clerk_items = {i["obligation_id"] for d in clean["would_send"] if d["recipient"] == address for i in d["items"]}
    assert clerk_items <= {i["obligation_id"] for d in supervisors for i in d["items"]}

    rt = build_runtime(load_settings(environ=env), engine=seeded.engine)
    result, report = rt.run_tick(DAY)
    assert result.problems == preview["problems"]
    with seeded.sessions() as s:
        rows = s.scalars(select(Notification).where(Notification.scheduled_for == DAY)).all()
    sent_to = {n.recipient for n in rows}
    expected = {d["recipient"] for d in clean["would_send"]} - {address}
    assert sent_to == expected and len(rows) == len(expected)  # everyone else's digest, once
    assert report is not None and report.statuses == {"sent": len(rows)}
    notes = [n for n in rows if n.recipient_role == "supervisor" and "无法写入邮件" in n.body_text]
    assert notes and all("\r\nBcc" not in n.body_text for n in notes)


def test_a_digest_that_cannot_be_rendered_fails_alone_and_is_rerouted(seeded, env_for):
    """A unit name with a line break breaks that clerk's subject header: only that email fails."""
    env = env_for(seeded)
    clean = _dry_run(env)
    address, unit = _a_clerk_with_mail(clean)
    with seeded.sessions() as s, s.begin():
        s.execute(update(Unit).where(Unit.name == unit).values(name=unit + "\nX-Evil: 1"))
        [unit_id] = s.scalars(select(Unit.id).where(Unit.name == unit + "\nX-Evil: 1")).all()
        addresses = set(s.scalars(select(Official.email).where(Official.unit_id == unit_id)))

    preview = _dry_run(env)
    assert any(address in p for p in preview["problems"])
    assert not addresses & {d["recipient"] for d in preview["would_send"]}

    rt = build_runtime(load_settings(environ=env), engine=seeded.engine)
    result, _report = rt.run_tick(DAY)
    assert result.problems and any(address in p for p in result.problems)
    with seeded.sessions() as s:
        rows = s.scalars(select(Notification).where(Notification.scheduled_for == DAY)).all()
    assert {n.recipient for n in rows} == {d["recipient"] for d in clean["would_send"]} - addresses
    assert any("无法生成" in n.body_text for n in rows if n.recipient_role == "supervisor")
