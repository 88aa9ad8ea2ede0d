"""The phrase compiler against a third blind corpus, the judge of the last pass of this session.

``tests/fixtures/phrases/heldout3/`` holds real phrases from documents no earlier corpus used:
``c.jsonl`` (the 完成时限 cells of county, district and city task tables — the column duban reads
most) and ``d.jsonl`` (the deadline clauses of notices that ask units to act and report), each
gathered by a different person with the ``search`` tool and labelled before the compiler was run
on any of them (``SOURCES-c.md``, ``SOURCES-d.md``). The engineer changing the grammar never
opened this folder. It was scored as a whole, as the judge:

| grammar | correct | flagged | refused | wrong |
|---|---|---|---|---|
| after the tune half of heldout2 was studied (fourth pass) | 19 (61.3 %) | 4 | 5 | 3 (9.7 %) |
| after all of heldout2 was studied (fifth pass; 0 wrong left there), scored once | 19 (61.3 %) | 4 | 5 | 3 (9.7 %) |

Only 31 rows (the stored pages gave the two gatherers little that no earlier corpus used), so
one row is 3 points; but the fifth pass, which took heldout2 from 8 wrong to 0, changed none of
these readings: what is fixed by studying one sample does not reach the next.

The floors are the last figures rounded (correct down, wrong up): a ratchet. Issue 12's bound of at
most 1 % wrong is checked as a strict expected failure while it is not met.

Never tune the grammar to this corpus while it is the judge: split it by a hash of the id and
gather a fresh blind set before claiming new figures.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from duban.engine.deadlines.phrases import compile_phrase

import phrase_scoring as ps

FOLDER = ps.FIXTURES / "heldout3"
FILES = ("c.jsonl", "d.jsonl")
ROWS = [row for name in FILES for row in ps.load_corpus(f"heldout3/{name}")]
EARLIER = (ps.load_corpus() + ps.load_corpus("heldout/corpus.jsonl") + ps.load_corpus("heldout2/a.jsonl")
           + ps.load_corpus("heldout2/b.jsonl"))
EARLIER_SOURCES = ("SOURCES.md", "heldout/SOURCES.md", "heldout2/SOURCES-a.md", "heldout2/SOURCES-b.md")

# (correct, wrong, total) as last measured (see the module docstring).
MEASURED = (19, 3, 31)
CORRECT_FLOOR = math.floor(MEASURED[0] * 100 / MEASURED[2]) / 100
WRONG_CEILING = math.ceil(MEASURED[1] * 100 / MEASURED[2]) / 100
WRONG_TARGET = 0.01


@pytest.fixture(scope="module")
def score() -> ps.Score:
    return ps.score(ROWS, compile_phrase)


@pytest.mark.parametrize("name", FILES)
def test_every_line_parses(name: str) -> None:
    lines = [line for line in (FOLDER / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) >= 10
    for n, line in enumerate(lines, 1):
        row = json.loads(line)
        ps.check_heldout_row(row, expected_id=f"{name[0]}{n:04d}")
        assert row["split"] == "blind", row["id"]


def test_no_phrase_seen_before() -> None:
    phrases = [row["phrase"] for row in ROWS]
    assert len(set(phrases)) == len(phrases)
    assert set(phrases).isdisjoint({row["phrase"] for row in EARLIER})


def test_documents_are_new() -> None:
    listed = "".join((ps.FIXTURES / p).read_text(encoding="utf-8") for p in EARLIER_SOURCES)
    urls = set(re.findall(r"https?://[^\s|)]+", listed))
    mine = {row["source"]["url"] for row in ROWS if row["source"]["url"]}
    assert mine.isdisjoint(urls)
    assert mine.isdisjoint({row["source"]["url"] for row in EARLIER if row["source"].get("url")})
    titles = [row["source"]["title"] for row in ROWS]
    assert max(titles.count(t) for t in set(titles)) <= 6


def test_accuracy_does_not_regress(score: ps.Score) -> None:
    assert score.total == MEASURED[2]
    assert score.share("correct") >= CORRECT_FLOOR, score.summary()
    assert score.share("wrong") <= WRONG_CEILING, score.summary()


@pytest.mark.xfail(strict=True, reason="the wrong share on unseen documents is above issue 12's 1 % bound")
def test_wrong_within_the_issue_bound(score: ps.Score) -> None:
    assert score.share("wrong") <= WRONG_TARGET, score.summary()


def test_every_refusal_says_why(score: ps.Score) -> None:
    for verdict in score.verdicts:
        if verdict.got is None:
            assert verdict.reason, verdict
