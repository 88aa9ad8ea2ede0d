"""The phrase compiler against a second blind corpus, gathered and labelled this session.

``tests/fixtures/phrases/heldout2/`` holds real phrases from government documents used by neither
the development corpus nor the first held-out corpus: ``a.jsonl`` (economy, agriculture,
environment, housing, transport, energy, water, commerce, culture) and ``b.jsonl`` (supervision and
督办 rules, 人大建议/政协提案 handling, business environment, education, health, civil affairs,
emergency management, market regulation, finance, statistics), each gathered by a different person
with the ``search`` tool. Every label was written before the compiler was run on any of them
(``heldout2/SOURCES-a.md``, ``SOURCES-b.md``); the engineer changing the grammar never opened this
folder.

It was scored as a whole, as the judge, against two grammars: the one that landed at the end of
the previous session, and the one after this session's study of the development and first
held-out corpora (a helper's test run printed the failing floor line once, nothing more):

| grammar | correct | flagged | refused | wrong |
|---|---|---|---|---|
| previous session (stop 18) | 144 (62.9 %) | 21 | 44 | 20 (8.7 %) |
| after the first-corpora families | 147 (64.2 %) | 23 | 40 | 19 (8.3 %) |

The families learnt from the first corpora barely moved it: accuracy on documents never seen is
the product's real figure, and it is far from issue 12's bound. Then each row got a ``split``
fixed by a stable hash of its id (the first byte of sha256(id) even → "tune", odd → "blind"):
grammar work may read the **tune** half's misses; the **blind** half is scored only to report.

| half | grammar | correct | flagged | refused | wrong |
|---|---|---|---|---|---|
| tune (116) | after the first-corpora families | 72 | 16 | 17 | 11 |
| blind (113) | after the first-corpora families | 75 | 7 | 23 | 8 |
| tune (116) | after the tune half's families | 99 | 15 | 2 | 0 |
| blind (113) | after the tune half's families (scored once) | 77 (68.1 %) | 9 | 19 | 8 (7.1 %) |
| tune (116) | after the whole of heldout2 was studied | 99 | 15 | 2 | 0 |
| blind (113) | after the whole of heldout2 was studied | 90 (79.6 %) | 10 | 13 | 0 |
| all (229) | after the whole of heldout2 was studied | 189 (82.5 %) | 25 | 15 | 0 |

Studying the tune half took it from 62 % to 85 % correct and cleared its wrong readings; on the
blind half it moved two rows. The families learnt are real but the space of phrasings is wider
than any sample read so far: the next round needs more documents, not more rules.

The floors below are the latest figures rounded (correct down, wrong up to the next whole percent):
a ratchet. The blind wrong share is held within issue 12's 1 % (once a strict expected failure).

After the blind half was scored and reported (the row "scored once" above), the whole of heldout2,
both halves, became study material: the fifth pass read its misses by family (a reading covering
only part of a clause's time words, a date in a condition, 次月 after an event, a bare rhythm or
open-ended work beside a target year: flagged; every 3/6 months, 半年 rhythms, report lags, campaign
spans from a dated start, 今年 targets, baseline years and trends: read). Its figures are no longer
blind: the fresh set ``heldout3/`` is the judge, and only its figures speak for unseen documents.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from duban.engine.deadlines.phrases import compile_phrase

import phrase_scoring as ps

FOLDER = ps.FIXTURES / "heldout2"
FILES = ("a.jsonl", "b.jsonl")
ROWS = [row for name in FILES for row in ps.load_corpus(f"heldout2/{name}")]
EARLIER = ps.load_corpus() + ps.load_corpus("heldout/corpus.jsonl")

# (correct, wrong, total) per half, as last measured (see the module docstring).
MEASURED = {"tune": (99, 0, 116), "blind": (90, 0, 113), "all": (189, 0, 229)}
FLOORS = {half: (math.floor(c * 100 / n) / 100, math.ceil(w * 100 / n) / 100) for half, (c, w, n) in MEASURED.items()}
WRONG_TARGET = 0.01


@pytest.fixture(scope="module")
def score() -> ps.Score:
    return ps.score(ROWS, compile_phrase)


@pytest.fixture(scope="module")
def halves() -> dict[str, ps.Score]:
    return ps.score_halves(ROWS, compile_phrase)


@pytest.mark.parametrize("name", FILES)
def test_every_line_parses(name: str) -> None:
    lines = [line for line in (FOLDER / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) >= 100
    for n, line in enumerate(lines, 1):
        row = json.loads(line)
        ps.check_heldout_row(row, expected_id=f"{name[0]}{n:04d}")
        assert row["split"] == ps.split_of(row["id"]), row["id"]


def test_no_phrase_seen_before() -> None:
    phrases = [row["phrase"] for row in ROWS]
    assert len(set(phrases)) == len(phrases)
    assert set(phrases).isdisjoint({row["phrase"] for row in EARLIER})


def test_documents_are_new() -> None:
    """No URL or title of the earlier corpora; many documents, at most a handful of rows each."""
    listed = "".join((ps.FIXTURES / p).read_text(encoding="utf-8") for p in ("SOURCES.md", "heldout/SOURCES.md"))
    urls = set(re.findall(r"https?://[^\s|)]+", listed))
    mine = {row["source"]["url"] for row in ROWS if row["source"]["url"]}
    assert mine.isdisjoint(urls)
    assert mine.isdisjoint({row["source"]["url"] for row in EARLIER if row["source"].get("url")})
    titles = [row["source"]["title"] for row in ROWS]
    assert len(set(titles)) >= 100
    assert max(titles.count(t) for t in set(titles)) <= 6


def test_the_folder_holds_only_the_listed_files() -> None:
    assert sorted(p.name for p in FOLDER.glob("*.jsonl")) == sorted(FILES)
    assert (FOLDER / "SOURCES-a.md").is_file() and (FOLDER / "SOURCES-b.md").is_file()


def test_accuracy_does_not_regress(score: ps.Score, halves: dict[str, ps.Score]) -> None:
    assert score.total == MEASURED["all"][2]
    for half, result in (("all", score), *halves.items()):
        correct, wrong = FLOORS[half]
        assert result.total == MEASURED[half][2], half
        assert result.share("correct") >= correct, (half, result.summary())
        assert result.share("wrong") <= wrong, (half, result.summary())


def test_blind_wrong_within_the_issue_bound(halves: dict[str, ps.Score]) -> None:
    """Held since the fifth pass studied the blind half: a bound on study material, not a blind figure."""
    assert halves["blind"].share("wrong") <= WRONG_TARGET, halves["blind"].summary()


def test_every_refusal_says_why(score: ps.Score) -> None:
    for verdict in score.verdicts:
        if verdict.got is None:
            assert verdict.reason, verdict

