"""Deadline specs (:mod:`duban.engine.deadlines.spec`): the JSON contract, round trips and validation.

The JSON form is read by scripts outside the repo and written by people in
plan files (as YAML, every scalar a string), so both directions are pinned:
every spec survives ``to_json`` → ``spec_from_json`` unchanged, with real
JSON types or with strings, and every malformed spec is refused with the path
of the offending value.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from duban.engine.deadlines.spec import (
    FREQS,
    KINDS,
    OFFSET_UNITS,
    Composite,
    Fixed,
    Offset,
    Ongoing,
    Recurring,
    Relative,
    Spec,
    Triggered,
    spec_from_json,
)
from duban.errors import DubanError, SpecError
from hypothesis import given
from hypothesis import strategies as st

D = dt.date

# ------------------------------------------------------------------------- the documented forms

CONTRACT: list[dict[str, Any]] = [
    {"kind": "fixed", "due": "2016-12-31"},
    {"kind": "fixed", "due": "2016-10-01", "roll": "next_workday"},
    {"kind": "recurring", "freq": "quarterly"},
    {"kind": "recurring", "freq": "monthly", "months": [4, 5, 6, 7, 8, 9, 10], "day": 10,
     "start": "2016-01-01", "until": "2016-12-31"},
    {"kind": "recurring", "freq": "annual", "months": [3, 11], "day": "last"},
    {"kind": "ongoing", "until": "2016-12-31"},
    {"kind": "ongoing", "until": None},
    {"kind": "triggered", "event": "provincial_document_issued", "offset": None},
    {"kind": "triggered", "event": "major_emergency", "offset": {"hours": 24}, "per_event": True},
    {"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}},
    {"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}, "due": "2016-08-04"},
    {"kind": "composite", "parts": [
        {"kind": "triggered", "event": "budget_approved", "offset": {"days": 20}, "ambiguous": True,
         "note": "按预算法规定"},
        {"kind": "fixed", "due": "2016-12-31"}]},
    {"kind": "ongoing", "until": None, "ambiguous": True, "note": "定期：未写明频次"},
]


@pytest.mark.parametrize("data", CONTRACT, ids=[json.dumps(d, ensure_ascii=False)[:60] for d in CONTRACT])
def test_documented_json_round_trips_exactly(data: dict[str, Any]) -> None:
    spec = spec_from_json(data)
    assert spec.to_json() == data
    assert spec_from_json(json.loads(json.dumps(spec.to_json()))) == spec


def test_values_build_the_documented_json() -> None:
    assert Fixed(due=D(2016, 12, 31)).to_json() == {"kind": "fixed", "due": "2016-12-31"}
    assert Recurring(freq="annual", months=(3, 11)).to_json() == {"kind": "recurring", "freq": "annual",
                                                                  "months": [3, 11]}
    assert Ongoing().to_json() == {"kind": "ongoing", "until": None}
    assert Triggered(event="x_happened", offset=Offset(unit="days", amount=20)).to_json() == {
        "kind": "triggered", "event": "x_happened", "offset": {"days": 20}}
    assert Relative(anchor="plan_published", offset=Offset(unit="working_days", amount=30),
                    due=D(2016, 8, 4)).to_json()["due"] == "2016-08-04"


def test_defaults_are_omitted() -> None:
    assert spec_from_json({"kind": "fixed", "due": "2016-12-31", "roll": "as_written",
                           "ambiguous": False}).to_json() == {"kind": "fixed", "due": "2016-12-31"}
    assert spec_from_json({"kind": "triggered", "event": "e", "per_event": False}).to_json() == {
        "kind": "triggered", "event": "e", "offset": None}


def test_leaves_are_a_composites_parts_or_the_spec_itself() -> None:
    fixed = Fixed(due=D(2016, 12, 31))
    whole = Ongoing(until=D(2016, 12, 31))
    assert fixed.leaves() == (fixed,)
    assert Composite(parts=(whole, fixed)).leaves() == (whole, fixed)


def test_specs_are_frozen_values() -> None:
    spec = Fixed(due=D(2016, 12, 31))
    assert spec == Fixed(due=D(2016, 12, 31)) and hash(spec) == hash(Fixed(due=D(2016, 12, 31)))
    with pytest.raises(AttributeError):
        spec.due = D(2017, 1, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Fixed(D(2016, 12, 31))  # type: ignore[call-arg, arg-type]  # keyword-only


# ------------------------------------------------------------------------- YAML: every scalar a string

def test_plan_files_give_strings_and_they_are_cast() -> None:
    data = {"kind": "recurring", "freq": "monthly", "months": ["4", "5"], "day": "10", "ambiguous": "true",
            "note": "每月10日前"}
    assert spec_from_json(data) == Recurring(freq="monthly", months=(4, 5), day=10, ambiguous=True,
                                             note="每月10日前")
    assert spec_from_json({"kind": "triggered", "event": "e", "offset": {"working_days": "3"},
                           "per_event": "true"}) == Triggered(event="e", offset=Offset(unit="working_days",
                                                                                         amount=3), per_event=True)


def _as_strings(value: Any) -> Any:
    """What a plan file loader hands over: every scalar as text (null stays null)."""
    if isinstance(value, dict):
        return {k: _as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_strings(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value


# ------------------------------------------------------------------------- properties

_dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2100, 12, 31))
_notes = st.one_of(st.none(), st.text(min_size=1, max_size=20))
_offsets = st.builds(Offset, unit=st.sampled_from(OFFSET_UNITS), amount=st.integers(0, 10_000))
_events = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)


@st.composite
def _recurring(draw: st.DrawFn) -> Recurring:
    start = draw(st.one_of(st.none(), _dates))
    until = draw(st.one_of(st.none(), _dates.filter(lambda d: start is None or d >= start)))
    freq = draw(st.sampled_from(FREQS))
    # day (of the month) reads with monthly and longer rhythms, weekday with weekly; lag excludes day.
    lag = draw(st.one_of(st.none(), _offsets))
    day = None if freq in ("daily", "weekly") or lag is not None else draw(
        st.one_of(st.none(), st.just("last"), st.integers(1, 31)))
    return Recurring(
        freq=freq,
        months=draw(st.one_of(st.none(), st.lists(st.integers(1, 12), min_size=1, max_size=12, unique=True)
                              .map(lambda ms: tuple(sorted(ms))))),
        day=day, interval=draw(st.integers(1, 12)),
        weekday=draw(st.one_of(st.none(), st.integers(1, 7))) if freq == "weekly" else None, lag=lag,
        start=start, until=until, ambiguous=draw(st.booleans()), note=draw(_notes))


_leaves = st.one_of(
    st.builds(Fixed, due=_dates, roll=st.sampled_from(["as_written", "next_workday"]), ambiguous=st.booleans(),
              note=_notes).flatmap(lambda f: st.one_of(st.just(f), _dates.filter(lambda d: d <= f.due).map(
                  lambda d: Fixed(due=f.due, start=d, roll=f.roll, ambiguous=f.ambiguous, note=f.note)))),
    _recurring(),
    st.builds(Ongoing, until=st.one_of(st.none(), _dates), ambiguous=st.booleans(), note=_notes),
    st.builds(Triggered, event=_events, offset=st.one_of(st.none(), _offsets), per_event=st.booleans(),
              description=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
              ambiguous=st.booleans(), note=_notes),
    st.builds(Relative, anchor=st.just("plan_published"), offset=_offsets, due=st.one_of(st.none(), _dates),
              ambiguous=st.booleans(), note=_notes),
)
_specs = st.one_of(_leaves, st.builds(Composite, parts=st.lists(_leaves, min_size=2, max_size=4).map(tuple),
                                      ambiguous=st.booleans(), note=_notes))


@given(_specs)
def test_every_spec_round_trips_through_json(spec: Spec) -> None:
    text = json.dumps(spec.to_json(), ensure_ascii=False)
    assert spec_from_json(json.loads(text)) == spec


@given(_specs)
def test_every_spec_round_trips_through_yaml_strings(spec: Spec) -> None:
    assert spec_from_json(_as_strings(spec.to_json())) == spec


@given(_specs)
def test_json_keys_are_the_contracts(spec: Spec) -> None:
    allowed = {
        "fixed": {"due", "roll", "start"},
        "recurring": {"freq", "months", "day", "start", "until", "interval", "weekday", "lag"},
        "ongoing": {"until", "start"},
        "triggered": {"event", "offset", "per_event", "description"}, "relative": {"anchor", "offset", "due"},
        "composite": {"parts"},
    }
    for data in [spec.to_json(), *spec.to_json().get("parts", [])]:
        assert data["kind"] in KINDS
        assert set(data) - {"kind", "ambiguous", "note"} <= allowed[data["kind"]]
        assert data.get("ambiguous", True) is True  # present only when true


# ------------------------------------------------------------------------- validation, with paths

BAD: list[tuple[Any, str, str]] = [
    ("2016-12-31", "", "expected a mapping"),
    ({"due": "2016-12-31"}, "kind", "unknown kind None"),
    ({"kind": "deadline"}, "kind", "unknown kind 'deadline'"),
    ({"kind": "fixed", "due": "2016-12-31", "when": "x"}, "", "unknown key(s) ['when']"),
    ({"kind": "fixed"}, "due", "missing required key 'due'"),
    ({"kind": "fixed", "due": "2016-02-30"}, "due", "impossible date '2016-02-30'"),
    ({"kind": "fixed", "due": "2016/12/31"}, "due", "expected a date YYYY-MM-DD"),
    ({"kind": "fixed", "due": "2016-12-31", "roll": "previous_workday"}, "roll", "unknown roll"),
    ({"kind": "fixed", "due": "2016-12-31", "note": 5}, "note", "note must be text"),
    ({"kind": "fixed", "due": "2016-12-31", "ambiguous": "yes"}, "ambiguous", "expected true or false"),
    ({"kind": "recurring", "freq": "hourly"}, "freq", "unknown freq 'hourly'"),
    ({"kind": "recurring", "freq": "monthly", "weekday": 1}, "weekday", "only reads with freq 'weekly'"),
    ({"kind": "recurring", "freq": "weekly", "weekday": 8}, "weekday", "weekday must be 1..7"),
    ({"kind": "recurring", "freq": "weekly", "day": 3}, "day", "does not read with freq 'weekly'"),
    ({"kind": "recurring", "freq": "monthly", "interval": 0}, "interval", "interval must be"),
    ({"kind": "recurring", "freq": "monthly", "day": 5, "lag": {"days": 5}}, "lag", "either a day or a lag"),
    ({"kind": "recurring", "freq": "monthly", "lag": {"days": -5}}, "lag.days", "non-negative"),
    ({"kind": "fixed", "due": "2016-03-01", "start": "2016-04-01"}, "start", "is after due"),
    ({"kind": "ongoing", "until": "2016-03-01", "start": "2016-04-01"}, "start", "is after until"),
    ({"kind": "triggered", "event": "x", "description": 3}, "description", "must be text"),
    ({"kind": "recurring", "freq": "monthly", "months": []}, "months", "non-empty list of 1..12"),
    ({"kind": "recurring", "freq": "monthly", "months": [0]}, "months", "non-empty list of 1..12"),
    ({"kind": "recurring", "freq": "monthly", "months": [True]}, "months[0]", "expected an integer"),
    ({"kind": "recurring", "freq": "monthly", "months": "4-10"}, "months", "months must be a list"),
    ({"kind": "recurring", "freq": "monthly", "day": 32}, "day", "day must be 1..31 or 'last'"),
    ({"kind": "recurring", "freq": "monthly", "day": "first"}, "day", "expected an integer"),
    ({"kind": "recurring", "freq": "monthly", "start": "2017-01-01", "until": "2016-12-31"}, "start",
     "is after until"),
    ({"kind": "triggered", "event": "Provincial Document"}, "event", "snake_case"),
    ({"kind": "triggered", "event": "e", "offset": {"days": 1, "hours": 2}}, "offset", "expected one of"),
    ({"kind": "triggered", "event": "e", "offset": {"weeks": 2}}, "offset", "unknown offset unit 'weeks'"),
    ({"kind": "triggered", "event": "e", "offset": {"days": -1}}, "offset.days", "non-negative integer"),
    ({"kind": "triggered", "event": "e", "offset": {"days": True}}, "offset.days", "non-negative integer"),
    ({"kind": "triggered", "event": "e", "per_event": "yes"}, "per_event", "expected true or false"),
    ({"kind": "relative", "anchor": "plan_published"}, "offset", "missing required key 'offset'"),
    ({"kind": "relative", "anchor": "notice_received", "offset": {"days": 1}}, "anchor", "unknown anchor"),
    ({"kind": "composite", "parts": [{"kind": "fixed", "due": "2016-12-31"}]}, "parts", "at least two parts"),
    ({"kind": "composite", "parts": {"kind": "fixed"}}, "parts", "parts must be a list"),
    # Inside a composite, the path leads to the part.
    ({"kind": "composite", "parts": [{"kind": "ongoing"}, {"kind": "fixed", "due": "2016-13-01"}]},
     "parts[1].due", "impossible date"),
    ({"kind": "composite", "parts": [{"kind": "ongoing"}, {"kind": "recurring", "freq": "hourly"}]},
     "parts[1].freq", "unknown freq 'hourly'"),
    ({"kind": "composite", "parts": [{"kind": "ongoing"}, {"kind": "triggered", "event": "Bad"}]},
     "parts[1].event", "snake_case"),
    ({"kind": "composite", "parts": [{"kind": "ongoing"}, {"kind": "recurring", "freq": "monthly",
                                                            "months": [13]}]},
     "parts[1].months", "non-empty list of 1..12"),
    ({"kind": "composite", "parts": [{"kind": "ongoing"}, {"kind": "composite", "parts": [
        {"kind": "ongoing"}, {"kind": "ongoing"}]}]}, "parts", "composites do not nest"),
    ({"kind": "composite", "parts": [{"kind": "ongoing"}, {"kind": "relative", "anchor": "plan_published",
                                                            "offset": {"days": "x"}}]},
     "parts[1].offset.days", "non-negative integer"),
]


@pytest.mark.parametrize(("data", "path", "message"), BAD, ids=[f"{p or 'root'}:{m}" for _, p, m in BAD])
def test_malformed_specs_are_refused_with_the_path(data: Any, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_json(data)
    assert info.value.path == path
    assert message in str(info.value)
    if path:
        assert str(info.value).startswith(f"{path}: ")
        assert str(info.value).count(f"{path}:") == 1  # the path is not repeated


def test_spec_error_is_a_value_error_and_a_duban_error() -> None:
    with pytest.raises(ValueError):
        spec_from_json({"kind": "nope"})
    assert issubclass(SpecError, DubanError)


@pytest.mark.parametrize("build", [
    lambda: Offset(unit="weeks", amount=1),  # type: ignore[arg-type]
    lambda: Offset(unit="days", amount=-1),
    lambda: Offset(unit="days", amount=True),
    lambda: Fixed(due=D(2016, 12, 31), roll="previous_workday"),  # type: ignore[arg-type]
    lambda: Recurring(freq="monthly", months=(True,)),
    lambda: Recurring(freq="monthly", day=0),
    lambda: Recurring(freq="hourly"),  # type: ignore[arg-type]
    lambda: Recurring(freq="monthly", weekday=1),
    lambda: Fixed(due=D(2016, 3, 1), start=D(2016, 3, 2)),
    lambda: Triggered(event="9lives"),
    lambda: Relative(anchor="today", offset=Offset(unit="days", amount=1)),  # type: ignore[arg-type]
    lambda: Composite(parts=(Ongoing(),)),
    lambda: Composite(parts=(Ongoing(), Composite(parts=(Ongoing(), Ongoing())))),
])
def test_values_refuse_what_their_json_would_refuse(build: Any) -> None:
    with pytest.raises(SpecError):
        build()
