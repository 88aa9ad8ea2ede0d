"""Deadline specs: the typed, declarative form of a 完成时限 (deadline) phrase.

A phrase such as "2016年12月底前完成" or "本方案公布后30个工作日内" compiles
(:mod:`duban.engine.deadlines.phrases`) to one of the frozen value objects below. Specs
are pure data: they say *what* the deadline is, never compute dates from the
clock. :mod:`duban.engine.deadlines.projection` turns a spec into concrete due dates.

The JSON form is a fixed contract (scripts outside the repo read it)::

    {"kind": "fixed", "due": "YYYY-MM-DD", "start": date}
    {"kind": "recurring", "freq": "daily|weekly|monthly|quarterly|semiannual|annual",
     "interval": N, "months": [..], "day": N|"last", "weekday": 1..7,
     "lag": {offset}, "start": date, "until": date}
    {"kind": "ongoing", "until": date|null, "start": date}
    {"kind": "triggered", "event": "snake_case_name", "description": "the event's own words",
     "offset": {"working_days"|"days"|"hours"|"months"|"years": N}|null}
    {"kind": "relative", "anchor": "plan_published", "offset": {...}}
    {"kind": "composite", "parts": [spec, ...]}

Absent keys are omitted; any spec may add ``"ambiguous": true, "note": "..."``.
duban adds three optional keys of its own, each omitted at its default:
``"roll": "next_workday"`` on fixed specs (a due date on a rest day moves to
the next working day; the default keeps it as written), ``"per_event": true``
on triggered specs (every event opens a new occurrence, e.g. each emergency),
and ``"due"`` on relative specs once the anchor date is known.

The extended fields (issue 12), each omitted at its default: ``start`` on fixed
specs (a window "3月1日至4月30日": one duty with a start and a due date) and on
ongoing ones; ``interval`` (每两个月: every 2nd period), ``weekday`` (每周一:
ISO 1–7, weekly only) and ``lag`` (每季度结束后10日内, 次月5日前: an offset from
each period's end, instead of a ``day``) on recurring specs; ``description`` on
triggered specs (the event as the text words it; ``event`` stays the stable
snake_case name plan files bind triggers by). Offsets never run backwards: a
duty due *before* an event ("听证的七日前") has no anchor the engine can know in
time, so the compiler flags it instead of writing a negative amount.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, TypeAlias, get_args

from ...errors import SpecError

OffsetUnit: TypeAlias = Literal["working_days", "days", "hours", "months", "years"]
Freq: TypeAlias = Literal["daily", "weekly", "monthly", "quarterly", "semiannual", "annual"]
Roll: TypeAlias = Literal["as_written", "next_workday"]
Anchor: TypeAlias = Literal["plan_published"]

OFFSET_UNITS: tuple[str, ...] = get_args(OffsetUnit)
FREQS: tuple[str, ...] = get_args(Freq)
ROLLS: tuple[str, ...] = get_args(Roll)
ANCHORS: tuple[str, ...] = get_args(Anchor)
KINDS = ("fixed", "recurring", "ongoing", "triggered", "relative", "composite")

_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Offset:
    """A distance from an anchor: ``{"working_days": 30}``, ``{"hours": 24}``.

    Working days are counted strictly after the anchor on the official
    calendar (:class:`duban.engine.deadlines.calendar.WorkingCalendar`).
    """

    unit: OffsetUnit
    amount: int

    def __post_init__(self) -> None:
        if self.unit not in OFFSET_UNITS:
            raise SpecError(f"unknown offset unit {self.unit!r}; expected one of {OFFSET_UNITS}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise SpecError(f"offset amount must be a non-negative integer, got {self.amount!r}")

    def to_json(self) -> dict[str, int]:
        return {self.unit: self.amount}


@dataclass(frozen=True, kw_only=True, slots=True)
class Spec:
    """Common base: every spec may be flagged ambiguous with a note for review."""

    ambiguous: bool = False
    note: str | None = None

    kind: str = field(init=False, default="", repr=False)

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON form (see the module docstring)."""
        out: dict[str, Any] = {"kind": self.kind}
        out.update(self._body())
        if self.ambiguous:
            out["ambiguous"] = True
        if self.note:
            out["note"] = self.note
        return out

    def _body(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def leaves(self) -> tuple["Spec", ...]:
        """The leaf specs: a composite's parts, or the spec itself."""
        return (self,)


@dataclass(frozen=True, kw_only=True, slots=True)
class Fixed(Spec):
    """One last allowed date (e.g. "2016年12月底前" → 2016-12-31).

    ``start`` opens a window ("2023年3月1日至4月30日", "10月上旬至11月中旬"): the
    work runs from ``start`` to ``due``, one duty, not two deadlines.
    """

    due: dt.date
    roll: Roll = "as_written"
    start: dt.date | None = None
    kind: str = field(init=False, default="fixed", repr=False)

    def __post_init__(self) -> None:
        if self.roll not in ROLLS:
            raise SpecError(f"unknown roll {self.roll!r}; expected one of {ROLLS}", path="roll")
        if self.start is not None and self.start > self.due:
            raise SpecError(f"start {self.start} is after due {self.due}", path="start")

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"due": self.due.isoformat()}
        if self.start is not None:
            body["start"] = self.start.isoformat()
        if self.roll != "as_written":
            body["roll"] = self.roll
        return body


@dataclass(frozen=True, kw_only=True, slots=True)
class Recurring(Spec):
    """A rhythm of occurrences ("每季度", "流行季节（4-10月）每月", "中考3月高考11月").

    ``months`` restricts the months that carry an occurrence (``None``: the
    rhythm's natural months). ``day`` is the day of month an occurrence falls
    due, or ``"last"`` (the end of the period, the default reading of 每月/每季度).
    ``interval`` keeps every N-th period (每两个月, 每两年); ``weekday`` is the
    ISO day a weekly rhythm falls on (每周一 → 1; default: the week's end);
    ``lag`` dates each occurrence an offset after its period's end (次月5日前 →
    monthly, 5 days; 每季度结束后10日内 → quarterly, 10 days).
    """

    freq: Freq
    months: tuple[int, ...] | None = None
    day: int | Literal["last"] | None = None
    start: dt.date | None = None
    until: dt.date | None = None
    interval: int = 1
    weekday: int | None = None
    lag: Offset | None = None
    kind: str = field(init=False, default="recurring", repr=False)

    def __post_init__(self) -> None:
        if self.freq not in FREQS:
            raise SpecError(f"unknown freq {self.freq!r}; expected one of {FREQS}", path="freq")
        if self.months is not None:
            if not self.months or any(isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12
                                      for m in self.months):
                raise SpecError(f"months must be a non-empty list of 1..12, got {self.months!r}", path="months")
        if self.day is not None and self.day != "last":
            if isinstance(self.day, bool) or not isinstance(self.day, int) or not 1 <= self.day <= 31:
                raise SpecError(f"day must be 1..31 or 'last', got {self.day!r}", path="day")
        if self.start and self.until and self.start > self.until:
            raise SpecError(f"start {self.start} is after until {self.until}", path="start")
        if isinstance(self.interval, bool) or not isinstance(self.interval, int) or not 1 <= self.interval <= 1000:
            raise SpecError(f"interval must be an integer 1..1000, got {self.interval!r}", path="interval")
        self._check_day_fields()

    def _check_day_fields(self) -> None:
        """``day`` belongs to monthly and longer rhythms, ``weekday`` to weekly; ``lag`` excludes ``day``."""
        if self.weekday is not None:
            if isinstance(self.weekday, bool) or not isinstance(self.weekday, int) or not 1 <= self.weekday <= 7:
                raise SpecError(f"weekday must be 1..7 (ISO, Monday = 1), got {self.weekday!r}", path="weekday")
            if self.freq != "weekly":
                raise SpecError(f"weekday only reads with freq 'weekly', not {self.freq!r}", path="weekday")
        if self.day is not None and self.freq in ("daily", "weekly"):
            raise SpecError(f"day (of the month) does not read with freq {self.freq!r}", path="day")
        if self.lag is not None:
            if not isinstance(self.lag, Offset):
                raise SpecError(f"lag must be an offset, got {self.lag!r}", path="lag")
            if self.day is not None:
                raise SpecError("a rhythm gives either a day or a lag after the period's end, not both", path="lag")

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"freq": self.freq}
        if self.interval != 1:
            body["interval"] = self.interval
        if self.months is not None:
            body["months"] = list(self.months)
        if self.day is not None:
            body["day"] = self.day
        if self.weekday is not None:
            body["weekday"] = self.weekday
        if self.lag is not None:
            body["lag"] = self.lag.to_json()
        if self.start is not None:
            body["start"] = self.start.isoformat()
        if self.until is not None:
            body["until"] = self.until.isoformat()
        return body


@dataclass(frozen=True, kw_only=True, slots=True)
class Ongoing(Spec):
    """Work that runs through a period ("全年工作", "长期坚持"); no single due date.

    ``until`` bounds it (the plan year's end for "全年工作"); ``None`` means
    open-ended. Supervisors still want check-ins (configured, not in the spec).
    """

    until: dt.date | None = None
    start: dt.date | None = None
    kind: str = field(init=False, default="ongoing", repr=False)

    def __post_init__(self) -> None:
        if self.start is not None and self.until is not None and self.start > self.until:
            raise SpecError(f"start {self.start} is after until {self.until}", path="start")

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"until": self.until.isoformat() if self.until else None}
        if self.start is not None:
            body["start"] = self.start.isoformat()
        return body


@dataclass(frozen=True, kw_only=True, slots=True)
class Triggered(Spec):
    """Dormant until an external event ("待省文件出台后", "收到…后", "24小时内").

    ``event`` names the kind of event in snake_case; a plan file binds it to a
    concrete trigger key. ``offset`` is the window after the event; ``None``
    when the text gives none ("及时", or nothing), in which case the configured
    default applies. ``per_event`` marks duties that recur with every event.
    ``description`` keeps the event as the text words it ("收到交办件", "受理行政许可
    申请"): any wording is accepted; ``event`` is the stable name a plan binds.
    """

    event: str
    offset: Offset | None = None
    per_event: bool = False
    description: str | None = None
    kind: str = field(init=False, default="triggered", repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.event, str) or not _EVENT_NAME.match(self.event):
            raise SpecError(f"event must be a snake_case name, got {self.event!r}", path="event")
        if self.description is not None and (not isinstance(self.description, str) or not self.description):
            raise SpecError(f"description must be non-empty text, got {self.description!r}", path="description")

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"event": self.event}
        if self.description is not None:
            body["description"] = self.description
        body["offset"] = self.offset.to_json() if self.offset else None
        if self.per_event:
            body["per_event"] = True
        return body


@dataclass(frozen=True, kw_only=True, slots=True)
class Relative(Spec):
    """A window counted from a known anchor ("本方案公布后30个工作日内").

    ``due`` is filled in once the anchor's date is known (the plan's
    publication date), so a reader sees the concrete date next to the rule.
    """

    anchor: Anchor
    offset: Offset
    due: dt.date | None = None
    kind: str = field(init=False, default="relative", repr=False)

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            raise SpecError(f"unknown anchor {self.anchor!r}; expected one of {ANCHORS}", path="anchor")

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"anchor": self.anchor, "offset": self.offset.to_json()}
        if self.due is not None:
            body["due"] = self.due.isoformat()
        return body


@dataclass(frozen=True, kw_only=True, slots=True)
class Composite(Spec):
    """Several deadlines in one cell or requirement; each part is its own duty."""

    parts: tuple[Spec, ...]
    kind: str = field(init=False, default="composite", repr=False)

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            raise SpecError("a composite needs at least two parts", path="parts")
        if any(isinstance(p, Composite) for p in self.parts):
            raise SpecError("composites do not nest; flatten the parts", path="parts")

    def _body(self) -> dict[str, Any]:
        return {"parts": [p.to_json() for p in self.parts]}

    def leaves(self) -> tuple[Spec, ...]:
        return self.parts


DeadlineSpec: TypeAlias = Fixed | Recurring | Ongoing | Triggered | Relative | Composite


# --------------------------------------------------------------------------- JSON in

def parse_iso_date(value: Any, path: str) -> dt.date:
    """A strict ``YYYY-MM-DD`` date; impossible dates (2016-02-30) are errors."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise SpecError(f"expected a date YYYY-MM-DD, got {value!r}", path=path)
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise SpecError(f"impossible date {value!r} ({exc})", path=path) from None


def _offset_from_json(value: Any, path: str) -> Offset:
    if not isinstance(value, Mapping) or len(value) != 1:
        raise SpecError(f"expected one of {{{', '.join(OFFSET_UNITS)}: N}}, got {value!r}", path=path)
    ((unit, amount),) = value.items()
    if unit not in OFFSET_UNITS:
        raise SpecError(f"unknown offset unit {unit!r}; expected one of {OFFSET_UNITS}", path=path)
    if isinstance(amount, str) and amount.isdigit():
        amount = int(amount)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise SpecError(f"offset amount must be a non-negative integer, got {amount!r}", path=f"{path}.{unit}")
    return Offset(unit=unit, amount=amount)


_ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "fixed": frozenset({"due", "roll", "start"}),
    "recurring": frozenset({"freq", "months", "day", "start", "until", "interval", "weekday", "lag"}),
    "ongoing": frozenset({"until", "start"}),
    "triggered": frozenset({"event", "offset", "per_event", "description"}),
    "relative": frozenset({"anchor", "offset", "due"}),
    "composite": frozenset({"parts"}),
}
_COMMON_KEYS = frozenset({"kind", "ambiguous", "note"})


def _as_int(value: Any, path: str) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"expected an integer, got {value!r}", path=path)
    return value


def _as_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise SpecError(f"expected true or false, got {value!r}", path=path)


def spec_from_json(data: Any, path: str = "") -> DeadlineSpec:
    """Build a spec from its JSON (or YAML-as-strings) form, strictly.

    Unknown keys, unknown kinds and impossible dates raise :class:`SpecError`
    naming the path inside the spec. Scalars may arrive as strings (plan files
    load every scalar as a string), so integers and booleans are cast here.
    """

    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    if not isinstance(data, Mapping):
        raise SpecError(f"expected a mapping with a 'kind', got {data!r}", path=path)
    kind = data.get("kind")
    if kind not in KINDS:
        raise SpecError(f"unknown kind {kind!r}; expected one of {KINDS}", path=at("kind"))
    unknown = set(data) - _COMMON_KEYS - _ALLOWED_KEYS[kind]
    if unknown:
        raise SpecError(
            f"unknown key(s) {sorted(unknown)} for kind {kind!r}; allowed: {sorted(_ALLOWED_KEYS[kind] | _COMMON_KEYS)}",
            path=path,
        )
    flags: dict[str, Any] = {}
    if "ambiguous" in data:
        flags["ambiguous"] = _as_bool(data["ambiguous"], at("ambiguous"))
    if data.get("note") is not None:
        if not isinstance(data["note"], str):
            raise SpecError(f"note must be text, got {data['note']!r}", path=at("note"))
        flags["note"] = data["note"]

    def opt_date(key: str) -> dt.date | None:
        return parse_iso_date(data[key], at(key)) if data.get(key) is not None else None

    def required(key: str) -> Any:
        if key not in data or data[key] is None:
            raise SpecError(f"missing required key {key!r} for kind {kind!r}", path=at(key))
        return data[key]

    try:
        if kind == "fixed":
            roll = data.get("roll", "as_written")
            if roll not in ROLLS:
                raise SpecError(f"unknown roll {roll!r}; expected one of {ROLLS}", path=at("roll"))
            return Fixed(due=parse_iso_date(required("due"), at("due")), roll=roll, start=opt_date("start"), **flags)
        if kind == "recurring":
            return _recurring_from_json(data, at, required("freq"), opt_date("start"), opt_date("until"), flags)
        if kind == "ongoing":
            return Ongoing(until=opt_date("until"), start=opt_date("start"), **flags)
        if kind == "triggered":
            offset = data.get("offset")
            description = data.get("description")
            if description is not None and not isinstance(description, str):
                raise SpecError(f"description must be text, got {description!r}", path=at("description"))
            return Triggered(
                event=required("event"),
                offset=_offset_from_json(offset, at("offset")) if offset is not None else None,
                per_event=_as_bool(data.get("per_event", False), at("per_event")),
                description=description,
                **flags,
            )
        if kind == "relative":
            return Relative(anchor=required("anchor"), offset=_offset_from_json(required("offset"), at("offset")),
                            due=opt_date("due"), **flags)
        parts = required("parts")
        if not isinstance(parts, (list, tuple)):
            raise SpecError(f"parts must be a list, got {parts!r}", path=at("parts"))
        return Composite(parts=tuple(spec_from_json(p, f"{at('parts')}[{i}]") for i, p in enumerate(parts)),
                         **flags)
    except SpecError as exc:
        # Paths from at() are already absolute; a constructor's (e.g. "freq") is relative to this spec.
        if not path or exc.path == path or exc.path.startswith(f"{path}."):
            raise
        message = str(exc)[len(exc.path) + 2:] if exc.path else str(exc)
        raise SpecError(message, path=f"{path}.{exc.path}" if exc.path else path) from None


def _recurring_from_json(data: Mapping[str, Any], at: Any, freq: Any, start: dt.date | None,
                         until: dt.date | None, flags: dict[str, Any]) -> Recurring:
    """The recurring branch of :func:`spec_from_json` (months, day, interval, weekday, lag cast here)."""
    months = data.get("months")
    if months is not None:
        if not isinstance(months, (list, tuple)):
            raise SpecError(f"months must be a list, got {months!r}", path=at("months"))
        months = tuple(_as_int(m, f"{at('months')}[{i}]") for i, m in enumerate(months))
    day = data.get("day")
    if day is not None and day != "last":
        day = _as_int(day, at("day"))
    return Recurring(freq=freq, months=months, day=day, start=start, until=until,
                     interval=_as_int(data.get("interval", 1), at("interval")),
                     weekday=_as_int(data["weekday"], at("weekday")) if data.get("weekday") is not None else None,
                     lag=_offset_from_json(data["lag"], at("lag")) if data.get("lag") is not None else None,
                     **flags)
