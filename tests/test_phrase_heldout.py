"""The phrase compiler against a held-out corpus it was not developed on at first.

``tests/fixtures/phrases/heldout/`` holds 153 real phrases from 71 government documents that are
not in the development corpus (``tests/fixtures/phrases/corpus.jsonl``): other provinces, counties
and bureaus, 2015–2025. The labels were written *before* the compiler was run on them
(``heldout/SOURCES.md``). The scorer is the shared one (:mod:`phrase_scoring`), so these figures
mean the same as the development corpus's.

Each row has a ``split`` fixed by a stable hash of its id (the first byte of sha256(id) even →
"tune", odd → "blind"), written before any miss was studied. In the second pass grammar work read
only the **tune** half's misses and the blind half was scored once, at the end. **From the third
pass on the whole corpus is study material** (both halves' misses were read and their families
fixed); the blind judge of generalisation is now ``tests/fixtures/phrases/heldout2/``, gathered by
others and never read while the grammar is developed. The split field and its test stay, so the
earlier figures remain comparable.

| | correct | flagged | refused | wrong |
|---|---|---|---|---|
| tune (78), before the held-out families | 55 (70.5 %) | 2 | 17 | 4 (5.1 %) |
| tune, after the second pass | 75 (96.2 %) | 1 | 1 | 1 (1.3 %) |
| tune, after the third pass | 76 (97.4 %) | 2 | 0 | 0 |
| blind (75), before | 47 (62.7 %) | 6 | 13 | 9 (12.0 %) |
| blind, after the second pass (scored once, blind) | 60 (80.0 %) | 8 | 4 | 3 (4.0 %) |
| blind, after the third pass (study material) | 71 (94.7 %) | 3 | 1 | 0 |
| all (153), before → second pass → third pass | 102 → 135 → 147 | 8 → 9 → 5 | 30 → 5 → 1 | 13 → 4 → 0 |

The floors below are the last figures rounded (correct down, wrong up to the next whole percent):
a ratchet, raise them as the grammar generalises; never lower them. Since the whole corpus is now
studied, these figures say the families are read; they are no longer an estimate for unseen
documents (``heldout2`` is).

Fix families (``heldout/SOURCES.md``), never single rows, and re-measure.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from duban.engine.deadlines.phrases import compile_phrase

import phrase_scoring as ps

HELDOUT = "heldout/corpus.jsonl"
ROWS = ps.load_corpus(HELDOUT)
DEVELOPMENT = ps.load_corpus()

# (correct, wrong, rows) measured after the third pass (see the module docstring).
MEASURED = {"tune": (76, 0, 78), "blind": (71, 0, 75), "all": (147, 0, 153)}
FLOORS = {half: (math.floor(c * 100 / n) / 100, math.ceil(w * 100 / n) / 100) for half, (c, w, n) in MEASURED.items()}
WRONG_TARGET = 0.01


@pytest.fixture(scope="module")
def score() -> ps.Score:
    return ps.score(ROWS, compile_phrase)


@pytest.fixture(scope="module")
def halves() -> dict[str, ps.Score]:
    return ps.score_halves(ROWS, compile_phrase)


def test_the_split_is_the_hash_of_the_id() -> None:
    assert all(row["split"] == ps.split_of(row["id"]) for row in ROWS)
    assert {half: sum(r["split"] == half for r in ROWS) for half in ("tune", "blind")} == {"tune": 78, "blind": 75}


def test_every_line_parses() -> None:
    path = ps.FIXTURES / HELDOUT
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == len(ROWS) == 153
    for n, line in enumerate(lines, 1):
        row = json.loads(line)
        ps.check_heldout_row(row, expected_id=f"h{n:04d}")
        assert row["split"] == ps.split_of(row["id"]), row["id"]


def test_no_phrase_also_in_the_development_corpus() -> None:
    phrases = [row["phrase"] for row in ROWS]
    assert len(set(phrases)) == len(phrases)
    assert set(phrases).isdisjoint({row["phrase"] for row in DEVELOPMENT})


def test_documents_are_not_those_of_the_development_corpus() -> None:
    sources = (ps.FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    used = set(re.findall(r"https?://\S+?(?=\s*\|)", sources))
    assert {row["source"]["url"] for row in ROWS if row["source"]["url"]}.isdisjoint(used)
    assert len({row["source"]["title"] for row in ROWS}) >= 40


def test_heldout_accuracy_does_not_regress(score: ps.Score, halves: dict[str, ps.Score]) -> None:
    assert score.total == 153
    for half, result in (("all", score), *halves.items()):
        correct, wrong = FLOORS[half]
        assert result.share("correct") >= correct, (half, result.summary())
        assert result.share("wrong") <= wrong, (half, result.summary())


def test_heldout_wrong_within_the_issue_bound(score: ps.Score, halves: dict[str, ps.Score]) -> None:
    assert score.share("wrong") <= WRONG_TARGET, score.summary()
    assert halves["blind"].share("wrong") <= WRONG_TARGET, halves["blind"].summary()


def test_every_refusal_says_why(score: ps.Score) -> None:
    for verdict in score.verdicts:
        if verdict.got is None:
            assert verdict.reason, verdict
