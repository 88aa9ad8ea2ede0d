"""The phrase compiler against the hand-labelled corpus of real government phrases (issue 12).

The thresholds are a ratchet at the figures reached (``bench/phrases.py`` prints the same
numbers from the same scorer, :mod:`phrase_scoring`): 96.4 % correct, 0.2 % wrong, 51 of 51
in-text deadlines found with 2 spurious (third pass). The issue's target is ≥ 97 % correct
and ≤ 1 % wrong (the second is reached, the first not yet). Raise them as the grammar grows;
never lower them.
"""

from __future__ import annotations

import pytest
from duban.engine.deadlines.phrases import compile_phrase, extract_text_deadlines
from duban.errors import PhraseError
from hypothesis import given, settings
from hypothesis import strategies as st

import phrase_scoring as ps

CORPUS = ps.load_corpus()
TEXTS = ps.load_corpus("texts.jsonl")


@pytest.fixture(scope="module")
def score() -> ps.Score:
    return ps.score(CORPUS, compile_phrase)


def test_the_corpus_is_what_sources_md_says() -> None:
    assert len(CORPUS) == 478
    assert len({r["phrase"] for r in CORPUS}) == len(CORPUS)


def test_corpus_accuracy_does_not_regress(score: ps.Score) -> None:
    assert score.share("correct") >= 0.96, score.summary()
    assert score.share("wrong") <= 0.01, score.summary()


def test_every_refusal_says_why(score: ps.Score) -> None:
    for v in score.verdicts:
        if v.got is None:
            assert v.reason, v


def test_in_text_deadlines_are_found(score: ps.Score) -> None:
    result = ps.score_texts(TEXTS, extract_text_deadlines)
    assert result.found == result.expected, result.missed
    assert len(result.spurious) <= 2, result.spurious


def test_scorer_judges_composites_as_multisets() -> None:
    a = {"kind": "fixed", "due": "2016-01-01"}
    b = {"kind": "recurring", "freq": "weekly", "weekday": 1}
    assert ps.same_meaning({"kind": "composite", "parts": [a, b]}, {"kind": "composite", "parts": [b, a]}, 2016)
    assert not ps.same_meaning({"kind": "composite", "parts": [a, a]}, {"kind": "composite", "parts": [a, b]}, 2016)


def test_scorer_compares_rhythms_by_their_due_dates() -> None:
    plain = {"kind": "recurring", "freq": "quarterly"}
    explicit = {"kind": "recurring", "freq": "quarterly", "months": [3, 6, 9, 12], "day": "last"}
    assert ps.same_meaning(plain, explicit, 2016)
    assert not ps.same_meaning(plain, {"kind": "recurring", "freq": "quarterly", "day": 20}, 2016)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789年月日至到-每周季度后前内起之自收到个工作天小时次月底初中下旬"
                                             "一二三四五六七八九十两、,;()：（）施行生效元人延长间隔超过即初为《》分钟立即共周二半累计以上")),
                 max_size=30),
       st.sampled_from([None, 2016]))
def test_no_exception_but_phrase_error(phrase: str, plan_year: int | None) -> None:
    """Fuzzing in the grammar's own alphabet: a spec, or a PhraseError — nothing else."""
    try:
        compile_phrase(phrase, plan_year=plan_year)
    except PhraseError:
        pass
