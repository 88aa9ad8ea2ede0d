"""The outbox folder notifier: atomic, idempotent .eml files with safe names; the factory."""

from __future__ import annotations

import dataclasses
import email.policy
import os
import re
import stat
from datetime import datetime, timezone
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from duban.notifiers.abc import Notifier, NotifierConfigError, OutgoingMessage
from duban.notifiers.factory import KINDS, build_notifier
from duban.notifiers.outbox import OutboxNotifier, outbox_file_name
from duban.notifiers.render import SAMPLE_SENDER, render_digest, sample_digest
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = datetime(2016, 8, 1, 1, 0, tzinfo=timezone.utc)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*--[0-9a-f]{16}\.eml$|^digest--[0-9a-f]{16}\.eml$")


def message(key: str = "2016-08-01:clerk:linyu", **changes: object) -> OutgoingMessage:
    digest = dataclasses.replace(sample_digest(), key=key)
    rendered = render_digest(digest, sender=SAMPLE_SENDER, message_id_domain="duban.example", now=NOW)
    return dataclasses.replace(rendered, **changes)  # type: ignore[arg-type]


def read_eml(path: Path) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_message_is_written_as_an_eml_that_parses_back(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path / "outbox")
    assert isinstance(outbox, Notifier)
    msg = message()
    [result] = outbox.send_batch([msg])
    assert result.status == "sent" and result.key == msg.key
    path = outbox.path_for(msg.key)
    assert result.detail == str(path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # names and addresses: owner only
    parsed = read_eml(path)
    assert parsed["Subject"] == "【督办】市地税局完成时限提醒（3项，其中已逾期1项）"
    assert parsed["To"].addresses[0].addr_spec == "linyu@dishui.jieyang.example"
    assert parsed["Message-ID"] == msg.message_id
    assert parsed["X-Duban-Key"] == msg.key
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text is not None and "林瑜同志" in text.get_content()
    # The HTML part is the phone-first card layout (one card, with its colour bar, per item), not a wide table.
    assert html is not None and html.get_content().count("border-left: 4px solid") == len(sample_digest().items)


def test_writing_the_same_key_twice_leaves_one_identical_file(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    msg = message()
    outbox.send_batch([msg])
    first = outbox.path_for(msg.key).read_bytes()
    results = outbox.send_batch([msg, msg])
    assert [r.status for r in results] == ["sent", "sent"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [outbox_file_name(msg.key)]
    assert outbox.path_for(msg.key).read_bytes() == first


def test_a_batch_of_keys_gives_one_file_each(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    keys = [f"2016-08-01:clerk:{n}" for n in range(5)] + ["2016-08-01/clerk/0", "2016-08-01 clerk 0"]
    results = outbox.send_batch([message(k) for k in keys])
    assert [r.status for r in results] == ["sent"] * len(keys)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(outbox_file_name(k) for k in keys)
    assert len(set(outbox_file_name(k) for k in keys)) == len(keys)


def test_a_failed_write_leaves_the_previous_file_whole_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = OutboxNotifier(tmp_path)
    old = message()
    outbox.send_batch([old])
    before = outbox.path_for(old.key).read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    [result] = outbox.send_batch([message(subject="【督办】新的主题")])
    monkeypatch.undo()
    assert result.status == "retry" and result.retry_after == 300.0
    assert "No space left" in result.detail
    assert [p.name for p in tmp_path.iterdir()] == [outbox_file_name(old.key)]
    assert outbox.path_for(old.key).read_bytes() == before


def test_an_unsafe_header_fails_that_message_only(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    bad = message("bad", recipient="spy@evil.example\r\nBcc: x@evil.example")
    good = message("good")
    results = outbox.send_batch([bad, good])
    assert [r.status for r in results] == ["failed", "sent"]
    assert "recipient" in results[0].detail
    assert [p.name for p in tmp_path.iterdir()] == [outbox_file_name("good")]


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/abs/path", "..", ".hidden", "督办:2016-08-01:林瑜", "a" * 500, "con", "x\\y:z*?"]
)
def test_hostile_keys_stay_inside_the_folder(tmp_path: Path, key: str) -> None:
    outbox = OutboxNotifier(tmp_path / "outbox")
    [result] = outbox.send_batch([message(key)])
    assert result.status == "sent"
    [written] = list((tmp_path / "outbox").iterdir())
    assert written.name == outbox_file_name(key)
    assert SAFE_NAME.match(written.name)
    assert read_eml(written)["X-Duban-Key"] == key


@given(st.text(min_size=1, max_size=300))
@settings(max_examples=200)
def test_file_names_are_safe_for_any_key(key: str) -> None:
    name = outbox_file_name(key)
    assert SAFE_NAME.match(name), name
    assert len(name) <= 100
    assert name == outbox_file_name(key)


@given(st.text(max_size=40), st.text(max_size=40))
def test_distinct_keys_get_distinct_file_names(a: str, b: str) -> None:
    if a != b:
        assert outbox_file_name(a) != outbox_file_name(b)


def test_readable_prefix_of_the_key_is_kept() -> None:
    assert outbox_file_name("2016-08-01:clerk:42").startswith("2016-08-01_clerk_42--")
    assert outbox_file_name("督办").startswith("digest--")


# --------------------------------------------------------------------------- factory


def test_factory_builds_the_outbox(tmp_path: Path) -> None:
    notifier = build_notifier({"kind": "outbox", "folder": str(tmp_path / "o"), "retry_after": "60"})
    assert isinstance(notifier, OutboxNotifier)
    assert notifier.name == "outbox" and notifier.retry_after == 60.0
    assert (tmp_path / "o").is_dir()
    notifier.close()


def test_factory_refuses_an_unknown_kind_listing_the_kinds() -> None:
    with pytest.raises(NotifierConfigError) as caught:
        build_notifier({"kind": "pigeon"})
    for kind in KINDS:
        assert kind in str(caught.value)
    assert "'pigeon'" in str(caught.value)
    with pytest.raises(NotifierConfigError, match="None"):
        build_notifier({})


def test_factory_reports_every_problem_at_once(tmp_path: Path) -> None:
    with pytest.raises(NotifierConfigError) as caught:
        build_notifier({"kind": "outbox", "foldr": str(tmp_path), "retry_after": "soon"})
    problems = caught.value.problems
    assert len(problems) == 2
    assert any("did you mean 'folder'" in p for p in problems)
    assert any("retry_after" in p and "'soon'" in p for p in problems)
