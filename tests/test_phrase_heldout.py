"""The phrase compiler against a held-out corpus it was never developed on.

``tests/fixtures/phrases/heldout/`` holds 153 real phrases from 71 government documents that are
not in the development corpus (``tests/fixtures/phrases/corpus.jsonl``): other provinces, counties
and bureaus, 2015–2025. The labels were written *before* the compiler was run on them
(``heldout/SOURCES.md``). The scorer is the shared one (:mod:`phrase_scoring`), so these figures
mean the same as the development corpus's.

Measured when the corpus was made: correct 102 (66.7 %), flagged 8 (5.2 %), refused 30 (19.6 %),
wrong 13 (8.5 %). The floors below are those figures rounded (correct down, wrong up to the next
whole percent): a ratchet, raise them as the grammar generalises; never lower them. The issue's
bound of at most 3 % wrong is *not* met on held-out phrases; that check is an expected failure
(strict), so it turns into a failure to notice — and the floor to raise — once it is met.

Do not tune the grammar to single rows of this corpus: fix the families listed in
``heldout/SOURCES.md`` and re-measure, or the corpus stops measuring generalisation.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import pytest
from duban.engine.deadlines.phrases import compile_phrase

import phrase_scoring as ps

HELDOUT = "heldout/corpus.jsonl"
ROWS = ps.load_corpus(HELDOUT)
DEVELOPMENT = ps.load_corpus()

MEASURED_CORRECT = 102 / 153  # 66.7 %
MEASURED_WRONG = 13 / 153  # 8.5 %
CORRECT_FLOOR = math.floor(MEASURED_CORRECT * 100) / 100  # 0.66
WRONG_CEILING = math.ceil(MEASURED_WRONG * 100) / 100  # 0.09
WRONG_TARGET = 0.03

KEYS = {"id", "phrase", "context", "plan_year", "published", "expect", "ambiguous", "note", "source"}
KINDS = {"fixed", "recurring", "ongoing", "triggered", "relative", "composite"}


@pytest.fixture(scope="module")
def score() -> ps.Score:
    return ps.score(ROWS, compile_phrase)


def test_every_line_parses() -> None:
    path = ps.FIXTURES / HELDOUT
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == len(ROWS) == 153
    for n, line in enumerate(lines, 1):
        row = json.loads(line)
        assert set(row) == KEYS, (n, sorted(set(row) ^ KEYS))
        assert row["id"] == f"h{n:04d}", row["id"]
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


def test_no_phrase_also_in_the_development_corpus() -> None:
    phrases = [row["phrase"] for row in ROWS]
    assert len(set(phrases)) == len(phrases)
    assert set(phrases).isdisjoint({row["phrase"] for row in DEVELOPMENT})


def test_documents_are_not_those_of_the_development_corpus() -> None:
    sources = (ps.FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    used = set(re.findall(r"https?://\S+?(?=\s*\|)", sources))
    assert {row["source"]["url"] for row in ROWS if row["source"]["url"]}.isdisjoint(used)
    assert len({row["source"]["title"] for row in ROWS}) >= 40


def test_heldout_accuracy_does_not_regress(score: ps.Score) -> None:
    assert score.total == 153
    assert score.share("correct") >= CORRECT_FLOOR, score.summary()
    assert score.share("wrong") <= WRONG_CEILING, score.summary()


@pytest.mark.xfail(strict=True, reason="8.5 % wrong on held-out phrases (13 of 153); the issue's bound is 3 %")
def test_heldout_wrong_within_the_issue_bound(score: ps.Score) -> None:
    assert score.share("wrong") <= WRONG_TARGET, score.summary()


def test_every_refusal_says_why(score: ps.Score) -> None:
    for verdict in score.verdicts:
        if verdict.got is None:
            assert verdict.reason, verdict
