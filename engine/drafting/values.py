"""The values of a draft (起草的方案): what :mod:`.draft` produces and :mod:`.yamlout` writes.

Kept apart from the readers and drafters so that every layer (the tab-text
reader, the generic notice reader in :mod:`.notice`, the YAML writer, the CLI)
shares one vocabulary without importing each other's machinery: review notes
and their tags, deadline entries with how they compiled, requirements, tasks,
plans and their summary, the subject words used to place shifted rows, and
the short Chinese reading of a spec that review notes quote.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from ...errors import DubanError
from ..deadlines.spec import Composite, DeadlineSpec, Fixed, Ongoing, Recurring, Relative, Spec, Triggered
from ..plans.planfile import Trigger  # the same ``triggers:`` entry the loader reads
from .textutil import key as _key

DeadlineSource: TypeAlias = Literal["cell", "text", "inherited"]
DeadlineStatus: TypeAlias = Literal["compiled", "ambiguous", "unreadable"]

#: The review-note tags, as in docs/seed-decisions.md (a note starts with one of them).
TAGS: tuple[str, ...] = ("【继承】", "【错位】", "【拆分】", "【正文时限】", "【待核】", "【原文疑误】",
                         "【标题异文】", "【正文未列】")

#: The placeholder written for a phrase the compiler cannot read: open-ended ongoing work
#: (check-ins only, no due date to miss) until a person writes the real reading.
PLACEHOLDER_SPEC: Mapping[str, Any] = MappingProxyType({"kind": "ongoing", "until": None})


class NoticeReadError(DubanError, ValueError):
    """The text holds no notice the drafter can read; the message says what was expected."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"cannot draft a plan from {source!r}: {reason}")


class DraftOutputError(DubanError, FileExistsError):
    """A draft would overwrite a file (perhaps one a person has already reviewed)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        names = ", ".join(repr(str(p)) for p in self.paths)
        super().__init__(f"refusing to overwrite {names}: a reviewed draft would be lost; "
                         "choose another output folder or pass --force")




# =========================================================================== subjects

#: Subject words (主题词): what a task title, a requirement text or a unit name is about.
#: The drafter uses them for one decision only, never to rewrite a value: a row whose
#: subject belongs to the neighbouring task and not its own (rows shifted by the
#: extraction) is moved there, with a 【错位】 note, and a unit inherited from a blank
#: cell whose subject contradicts the requirement's gets a louder note.
#: Matching is on NFKC text without spaces; extend the table when a new plan needs it.
SUBJECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("教育", ("教育", "中考", "高考", "学校", "招生", "随迁子女", "学生", "教师")),
    ("卫生", ("卫生", "医疗", "医院", "院务", "疾病", "传染病", "疫情", "登革热", "计生")),
    ("食品药品", ("食品药品", "药品", "食品安全")),
    ("环境", ("环境", "环保", "饮用水", "环评", "污染", "水质", "生态")),
    ("国企", ("国有企业", "国有资本", "国有资产", "国资", "国企", "央企", "市属企业")),
    ("财税", ("税", "收费", "政府性基金", "财政", "预算", "决算")),
    ("住房", ("住房", "棚户区", "危房")),
    ("旅游", ("旅游", "旅行社", "景区")),
    ("安全生产", ("安全生产", "安监", "事故")),
    ("扶贫", ("扶贫", "贫困", "脱贫")),
    ("救助", ("救助", "低保", "特困", "灾情")),
    ("就业", ("就业", "创业", "人力资源", "社会保障")),
    ("知识产权", ("专利", "知识产权")),
    ("质监", ("质监", "质量技术监督", "生产许可证", "食品相关产品")),
    ("审计", ("审计",)),
    ("信用", ("信用",)),
    ("公共资源", ("公共资源",)),
    ("审批", ("编办", "行政审批")),
)


@lru_cache(maxsize=4096)
def subjects_of(text: str) -> frozenset[str]:
    """The subjects (keys of :data:`SUBJECTS`) a text mentions."""
    key = _key(text)
    return frozenset(name for name, words in SUBJECTS if any(word in key for word in words))


# =========================================================================== layer 2: values

@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewNote:
    """A value the drafter inferred, for a person to confirm (written with ``status: open``).

    ``field`` is ``units``, ``deadline``, ``task`` or ``text``; ``note``
    starts with a tag from :data:`TAGS`.
    """

    field: str
    note: str

    @property
    def tag(self) -> str:
        m = re.match(r"【[^】]+】", self.note)
        return m.group() if m else ""


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftDeadline:
    """A deadline entry: the phrase as written, where it came from, how it compiled.

    ``status`` is ``compiled``, ``ambiguous`` (compiled, but the compiler
    flags its reading) or ``unreadable`` (``spec`` is None; the file gets
    :data:`PLACEHOLDER_SPEC` and ``error`` says why).
    """

    phrase: str
    source: DeadlineSource
    spec: DeadlineSpec | None
    status: DeadlineStatus
    trigger: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftRequirement:
    """A 具体要求 as drafted: ``units`` is the cell written to the file.

    ``unit_names`` are the cell's names that the directory knows,
    ``unknown_units`` the names it does not (kept in a review note, out of
    ``units`` unless nothing resolved). ``line`` is the source line.
    """

    no: int
    text: str
    units: str
    unit_names: tuple[str, ...]
    unknown_units: tuple[str, ...]
    deadlines: tuple[DraftDeadline, ...]
    inherited: tuple[str, ...] = ()
    review: tuple[ReviewNote, ...] = ()
    repaired_units: tuple[str, ...] = ()
    line: int = 0
    #: 配合单位 as written to ``co_units:`` (empty: none) and its names
    co_units: str = ""
    co_unit_names: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftTask:
    """A 工作任务 (task 0: the duties written in the notice's body)."""

    no: int
    title: str
    requirements: tuple[DraftRequirement, ...]
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftSummary:
    """How much of a draft was read literally and how much is inference (the CLI's summary).

    The deadline buckets are disjoint: ``compiled`` (clean), ``ambiguous``
    (compiled, flagged by the compiler) and ``unreadable`` (placeholder).
    ``blocking`` lists what will make ``duban plan validate`` fail.
    """

    tasks: int
    requirements: int
    units_matched: tuple[str, ...]
    units_unknown: tuple[str, ...]
    units_repaired: tuple[str, ...]
    deadlines_compiled: int
    deadlines_ambiguous: int
    deadlines_unreadable: int
    deadlines_from_text: int
    deadlines_inherited: int
    review_notes: int
    review_tags: Mapping[str, int]
    blocking: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "requirements": self.requirements,
            "units": {"matched": len(self.units_matched), "unknown": list(self.units_unknown),
                      "repaired": list(self.units_repaired)},
            "deadlines": {"compiled": self.deadlines_compiled, "ambiguous": self.deadlines_ambiguous,
                          "unreadable": self.deadlines_unreadable, "from_text": self.deadlines_from_text,
                          "inherited": self.deadlines_inherited},
            "review_notes": self.review_notes,
            "review_tags": dict(self.review_tags),
            "blocking": list(self.blocking),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftPlan:
    """One notice drafted as a plan: the values of a plan file plus where they came from."""

    id: str
    title: str
    issuer: str
    published: dt.date
    plan_year: int
    units_id: str
    tasks: tuple[DraftTask, ...]
    triggers: tuple[Trigger, ...] = ()
    doc_number: str | None = None
    source: str | None = None
    first_line: int = 0
    last_line: int = 0
    #: notes on the plan's own fields (a date or year the notice does not show), written as comments
    notes: tuple[str, ...] = ()

    def requirements(self) -> Iterable[tuple[DraftTask, DraftRequirement]]:
        for task in self.tasks:
            for requirement in task.requirements:
                yield task, requirement

    def summary(self) -> DraftSummary:
        reqs = [req for _task, req in self.requirements()]
        entries = [entry for req in reqs for entry in req.deadlines]
        notes = [note for req in reqs for note in req.review]
        matched = dict.fromkeys(name for req in reqs for name in req.unit_names)
        unknown = dict.fromkeys(name for req in reqs for name in req.unknown_units)
        blocking: list[str] = []
        if not reqs:
            blocking.append("no requirement was found in the notice: add its tasks and requirements by hand "
                            "(validate reports the empty task list)")
        for task, req in self.requirements():
            if not req.unit_names:
                blocking.append(f"{task.no}.{req.no}: no unit of {req.units!r} is in the units directory "
                                f"{self.units_id!r} (validate reports unknown-unit)")
            for entry in req.deadlines:
                for leaf in (entry.spec.leaves() if entry.spec is not None else ()):
                    if isinstance(leaf, Relative) and leaf.due is None:
                        blocking.append(f"{task.no}.{req.no}: {entry.phrase!r} needs a working-day calendar year "
                                        "the calendar lacks (validate reports calendar-year-missing)")
        return DraftSummary(
            tasks=len(self.tasks), requirements=len(reqs),
            units_matched=tuple(matched), units_unknown=tuple(unknown),
            units_repaired=tuple(dict.fromkeys(n for req in reqs for n in req.repaired_units)),
            deadlines_compiled=sum(entry.status == "compiled" for entry in entries),
            deadlines_ambiguous=sum(entry.status == "ambiguous" for entry in entries),
            deadlines_unreadable=sum(entry.status == "unreadable" for entry in entries),
            deadlines_from_text=sum(entry.source == "text" for entry in entries),
            deadlines_inherited=sum(entry.source == "inherited" for entry in entries),
            review_notes=len(notes),
            review_tags=MappingProxyType(dict(Counter(note.tag or "(untagged)" for note in notes))),
            blocking=tuple(blocking),
        )



# =========================================================================== layer 2: drafting

def quote_short(text: str) -> str:
    """A short quotation for notes: the text itself, cut at 40 characters."""
    return text if len(text) <= 40 else text[:39] + "…"


_FREQ = {"monthly": "每月", "quarterly": "每季度", "semiannual": "每半年", "annual": "每年"}
_UNIT_CN = {"working_days": "个工作日", "days": "日", "hours": "小时", "months": "个月", "years": "年"}


def describe(spec: DeadlineSpec | Spec) -> str:
    """A short Chinese reading of a spec for review notes ("固定期限2016-12-31", "每季度")."""
    if isinstance(spec, Composite):
        return "＋".join(describe(part) for part in spec.parts)
    if isinstance(spec, Fixed):
        return f"固定期限{spec.due.isoformat()}"
    if isinstance(spec, Recurring):
        months = f"（{'、'.join(f'{m}月' for m in spec.months)}）" if spec.months else ""
        start = f"自{spec.start.isoformat()}起" if spec.start else ""
        return f"{start}{_FREQ.get(spec.freq, spec.freq)}{months}的节律"
    if isinstance(spec, Ongoing):
        return f"持续工作（至{spec.until.isoformat()}）" if spec.until else "不定期的持续工作"
    if isinstance(spec, Triggered):
        offset = f"{spec.offset.amount}{_UNIT_CN[spec.offset.unit]}内" if spec.offset else "默认期限"
        every = "，每次事件一次" if spec.per_event else ""
        return f"触发（事件 {spec.event}，{offset}{every}）"
    if isinstance(spec, Relative):
        due = f"，即{spec.due.isoformat()}" if spec.due else ""
        return f"公布后{spec.offset.amount}{_UNIT_CN[spec.offset.unit]}内{due}"
    return spec.kind  # pragma: no cover - every kind is handled above


def plain_spec(spec: DeadlineSpec | Spec) -> Any:
    """A spec's JSON without notes: what two readings must agree on to be the same deadline."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "note"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(spec.to_json())


def events_of(spec: DeadlineSpec | None) -> tuple[str, ...]:
    if spec is None:
        return ()
    return tuple(dict.fromkeys(leaf.event for leaf in spec.leaves() if isinstance(leaf, Triggered)))


