"""Scoring found requirements against a hand-checked key (``*.key.json``, tests/fixtures/notices/corpus).

A key lists, per notice, each requirement's ``start`` (its first characters as
written), ``lead_units``, ``co_units`` and ``deadline`` phrase (or null). The
score is what the corpus test asserts and ``bench/draft.py`` prints:

* found — a drafted requirement whose text (or task title + text, for tables
  whose task cell begins the key's start) begins with the start, outline
  markers and whitespace ignored;
* lead / co right — the same names as a set (whitespace and NFKC ignored);
* deadline right — no phrase where the key has none; where it has one, a
  drafted phrase that lies inside the key's phrase or holds it;
* invented — a drafted requirement whose text is not in the notice.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KeyScore", "Drafted", "load_key", "score"]

_MARK = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十]{1,3}[）)]|[0-9]{1,2}[.．、](?![0-9])"
                   r"|[（(][0-9]{1,2}[）)])")


def squash(text: str) -> str:
    """Comparison form: NFKC, no whitespace, no ``|`` cell separators."""
    return re.sub(r"[\s|｜]", "", unicodedata.normalize("NFKC", text))


def _unmark(text: str) -> str:
    return _MARK.sub("", squash(text), count=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class Drafted:
    """A drafted requirement reduced to what a key checks."""

    task_title: str | None
    text: str
    lead: tuple[str, ...]
    co: tuple[str, ...]
    deadlines: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyScore:
    expected: int
    found: int
    lead_right: int
    co_right: int
    deadline_right: int
    all_right: int
    drafted: int
    invented: tuple[str, ...]
    misses: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"expected": self.expected, "found": self.found, "lead_right": self.lead_right,
                "co_right": self.co_right, "deadline_right": self.deadline_right, "all_right": self.all_right,
                "drafted": self.drafted, "invented": len(self.invented)}


def load_key(path: Path) -> Mapping[str, Any]:
    data: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _match(start: str, drafted: Sequence[Drafted]) -> Drafted | None:
    want = _unmark(start)
    for d in drafted:
        text = _unmark(d.text)
        if text.startswith(want) or (d.task_title and (squash(d.task_title) + text).startswith(want)):
            return d
    for d in drafted:  # a key start that keeps a marker the draft dropped, or a start mid-text
        if want and want in _unmark(d.text)[:len(want) + 40]:
            return d
    return None


def _names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(squash(n) for n in names)


def _deadline_ok(key: str | None, phrases: Sequence[str]) -> bool:
    if key is None:
        return not phrases
    k = squash(key)
    return any(p and (squash(p) in k or k in squash(p)) for p in phrases)


def score(key: Mapping[str, Any], drafted: Sequence[Drafted], notice_text: str) -> KeyScore:
    found = lead = co = deadline = every = 0
    misses: list[str] = []
    for req in key["requirements"]:
        d = _match(req["start"], drafted)
        if d is None:
            misses.append(f"not found: {req['start']}")
            continue
        found += 1
        ok_lead = _names(d.lead) == _names(req["lead_units"])
        ok_co = _names(d.co) == _names(req["co_units"])
        ok_deadline = _deadline_ok(req["deadline"], d.deadlines)
        lead += ok_lead
        co += ok_co
        deadline += ok_deadline
        every += ok_lead and ok_deadline
        if not (ok_lead and ok_co and ok_deadline):
            misses.append(f"{req['start']}: lead {list(d.lead)} want {req['lead_units']}; co {list(d.co)} want "
                          f"{req['co_units']}; deadline {list(d.deadlines)} want {req['deadline']!r}")
    text = squash(notice_text)
    invented = tuple(d.text for d in drafted if squash(d.text) not in text)
    return KeyScore(expected=len(key["requirements"]), found=found, lead_right=lead, co_right=co,
                    deadline_right=deadline, all_right=every, drafted=len(drafted), invented=invented,
                    misses=tuple(misses))
