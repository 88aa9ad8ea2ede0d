"""Scoring the phrase compiler against the hand-labelled corpus (tests/fixtures/phrases/).

One module, shared by ``tests/test_phrase_corpus.py`` and ``bench/phrases.py``, so the
figures a benchmark prints and the thresholds a test holds are the same computation.

A compiled spec is **correct** when it means the same as the label: the same kind;
fixed — the same due and start; recurring — the same freq and the same due dates when
both are projected over the plan year; ongoing — the same until; triggered and relative —
the same offset (a triggered spec's description is free text); composite — the same parts
as a multiset. Where the label says ``ambiguous``, the compiler must flag it too: a
confident reading of an ambiguous phrase is not correct. **flagged**: the compiler says
ambiguous and the spec differs (or the label expects a refusal: a person still checks it).
**refused**: a PhraseError (correct when the label is null). **wrong**: a different meaning
with no flag, a confident reading of a phrase the label calls ambiguous, or an unflagged
spec where a refusal was expected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.projection import PlanContext, project
from duban.engine.deadlines.spec import spec_from_json
from duban.errors import DubanError, PhraseError

FIXTURES = Path(__file__).parent / "fixtures" / "phrases"
OUTCOMES = ("correct", "flagged", "refused", "wrong")

Compiler = Callable[..., Any]


def load_corpus(name: str = "corpus.jsonl") -> list[dict[str, Any]]:
    """The rows of a corpus file (one JSON object a line)."""
    with open(FIXTURES / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _published(row: dict[str, Any]) -> dt.date | None:
    return dt.date.fromisoformat(row["published"]) if row.get("published") else None


def _projected(data: dict[str, Any], plan_year: int) -> frozenset[dt.date] | None:
    """The due dates of a recurring spec over its plan year (None when it cannot be projected)."""
    try:
        spec = spec_from_json(data)
        dues = project(spec, PlanContext(plan_year=plan_year), WorkingCalendar.default())
    except DubanError:
        return None
    return frozenset(d.due for d in dues)


def same_meaning(got: dict[str, Any], want: dict[str, Any], plan_year: int) -> bool:
    """Whether two leaf or composite specs (JSON) mean the same deadline (see the module docstring)."""
    kind = want.get("kind")
    if got.get("kind") != kind:
        return False
    if kind == "fixed":
        return got.get("due") == want.get("due") and got.get("start") == want.get("start")
    if kind == "ongoing":
        return got.get("until") == want.get("until")
    if kind in ("triggered", "relative"):
        return got.get("offset") == want.get("offset")
    if kind == "recurring":
        if got.get("freq") != want.get("freq"):
            return False
        a, b = _projected(_leaf(got), plan_year), _projected(_leaf(want), plan_year)
        if a is None or b is None:
            return _leaf(got) == _leaf(want)
        return a == b and got.get("interval", 1) == want.get("interval", 1)
    if kind == "composite":
        return _same_parts(got.get("parts", []), want.get("parts", []), plan_year)
    return False


def _leaf(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("ambiguous", "note")}


def _same_parts(got: list[dict[str, Any]], want: list[dict[str, Any]], plan_year: int) -> bool:
    """The parts as a multiset: every wanted part matched by a distinct compiled part."""
    if len(got) != len(want):
        return False
    free = list(got)
    for w in want:
        match = next((g for g in free if same_meaning(g, w, plan_year)), None)
        if match is None:
            return False
        free.remove(match)
    return True


def _flagged(data: dict[str, Any]) -> bool:
    return bool(data.get("ambiguous")) or any(p.get("ambiguous") for p in data.get("parts", []))


@dataclass(frozen=True, slots=True)
class Verdict:
    """One corpus row's outcome, with what the compiler said."""

    id: str
    phrase: str
    outcome: str
    got: dict[str, Any] | None
    want: dict[str, Any] | None
    reason: str = ""


def judge(row: dict[str, Any], compile_: Compiler) -> Verdict:
    """Compile one row in its context (plan year, publication date) and score it."""
    want = row["expect"]
    try:
        got = compile_(row["phrase"], plan_year=row.get("plan_year"), published=_published(row)).to_json()
    except PhraseError as exc:
        return Verdict(row["id"], row["phrase"], "correct" if want is None else "refused", None, want,
                       f"{exc.code}: {exc}".splitlines()[0])
    flagged = _flagged(got)
    if want is None:
        if flagged:
            return Verdict(row["id"], row["phrase"], "flagged", got, want, "flagged; a refusal was expected")
        return Verdict(row["id"], row["phrase"], "wrong", got, want, "a spec where a refusal was expected")
    if same_meaning(got, want, row["plan_year"]):
        if row.get("ambiguous") and not flagged:
            return Verdict(row["id"], row["phrase"], "wrong", got, want,
                           "a confident reading of a phrase the label calls ambiguous")
        return Verdict(row["id"], row["phrase"], "correct", got, want)
    if flagged:
        return Verdict(row["id"], row["phrase"], "flagged", got, want, "flagged, another reading")
    return Verdict(row["id"], row["phrase"], "wrong", got, want, "a different meaning with no flag")


@dataclass(frozen=True, slots=True)
class Score:
    """The corpus figures: counts and shares per outcome, and every verdict."""

    verdicts: tuple[Verdict, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.verdicts)

    def share(self, outcome: str) -> float:
        return self.counts.get(outcome, 0) / self.total if self.total else 0.0

    def summary(self) -> dict[str, Any]:
        return {o: {"n": self.counts.get(o, 0), "share": round(self.share(o), 4)} for o in OUTCOMES}


def score(rows: Iterable[dict[str, Any]], compile_: Compiler) -> Score:
    """Judge every row with ``compile_`` (``compile_phrase`` or a stand-in with its signature)."""
    verdicts = tuple(judge(row, compile_) for row in rows)
    return Score(verdicts=verdicts, counts=dict(Counter(v.outcome for v in verdicts)))


# --------------------------------------------------------------------------- texts

@dataclass(frozen=True, slots=True)
class TextScore:
    """In-text extraction: labelled deadlines found, missed, and phrases found where none is labelled."""

    expected: int
    found: int
    missed: tuple[tuple[str, str], ...]
    spurious: tuple[tuple[str, str], ...]


def score_texts(rows: Iterable[dict[str, Any]], extract: Callable[[str], list[Any]]) -> TextScore:
    """A labelled deadline is found when an extracted phrase overlaps it in the text."""
    expected = found = 0
    missed: list[tuple[str, str]] = []
    spurious: list[tuple[str, str]] = []
    for row in rows:
        text = row["text"]
        spans = []
        for d in row["deadlines"]:
            at = text.find(d["phrase"])
            spans.append((at, at + len(d["phrase"])) if at >= 0 else (-1, -1))
        got = extract(text)
        for (a, b), d in zip(spans, row["deadlines"]):
            expected += 1
            if any(td.span[0] < b and a < td.span[1] for td in got):
                found += 1
            else:
                missed.append((row["id"], d["phrase"]))
        for td in got:
            if not any(td.span[0] < b and a < td.span[1] for a, b in spans):
                spurious.append((row["id"], td.phrase))
    return TextScore(expected=expected, found=found, missed=tuple(missed), spurious=tuple(spurious))


def split_of(row_id: str) -> str:
    """A held-out row's half, fixed by its id alone: sha256(id)'s first byte even → "tune", odd → "blind"."""
    return "tune" if hashlib.sha256(row_id.encode()).digest()[0] % 2 == 0 else "blind"


def score_halves(rows: list[dict[str, Any]], compile_: Compiler) -> dict[str, Score]:
    """The score of each half ("tune", "blind") of a split held-out corpus."""
    return {half: score([r for r in rows if r["split"] == half], compile_) for half in ("tune", "blind")}


HELDOUT_KEYS = frozenset({"id", "phrase", "context", "plan_year", "published", "expect", "ambiguous", "note",
                          "source", "split"})
KINDS = frozenset({"fixed", "recurring", "ongoing", "triggered", "relative", "composite"})


def check_heldout_row(row: dict[str, Any], *, expected_id: str) -> None:
    """Assert one held-out corpus row is well formed: its keys, id, split, context, year, source and dates."""
    assert set(row) == HELDOUT_KEYS, (expected_id, sorted(set(row) ^ HELDOUT_KEYS))
    assert row["id"] == expected_id, row["id"]
    assert row["split"] in ("blind", split_of(row["id"])), row["id"]
    assert isinstance(row["phrase"], str) and row["phrase"].strip(), row["id"]
    assert row["context"] in {"cell", "clause"}, row["id"]
    assert isinstance(row["plan_year"], int) and 2015 <= row["plan_year"] <= 2025, row["id"]
    if row["published"] is not None:
        dt.date.fromisoformat(row["published"])
    assert isinstance(row["ambiguous"], bool), row["id"]
    assert set(row["source"]) == {"title", "issuer", "url", "date"}, row["id"]
    assert row["source"]["title"] and row["source"]["issuer"], row["id"]
    expect = row["expect"]
    if expect is not None:
        assert expect["kind"] in KINDS, row["id"]
        for part in expect.get("parts", [expect]):
            for key in ("due", "start", "until"):
                if part.get(key):
                    dt.date.fromisoformat(part[key])
