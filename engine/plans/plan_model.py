"""Plan values: what a validated plan file is, as typed, frozen dataclasses.

Split from :mod:`.planfile` (the strict loader) so that readers of plans (the
importer, the inbox, the drafting room) depend on the values, not on the
validator's machinery. :mod:`.planfile` re-exports every name here, so
``from duban.engine.plans.planfile import Plan`` keeps working.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, TypeAlias
from collections.abc import Iterator, Mapping, Sequence

from ...errors import DubanError
from ..common.strictyaml import Diagnostic
from ..deadlines.spec import DeadlineSpec, Spec
from .units import UnitDirectory

DeadlineSource: TypeAlias = Literal["cell", "text", "inherited"]
RequirementRole: TypeAlias = Literal["lead", "cooperating"]
ReviewStatus: TypeAlias = Literal["open", "confirmed"]

DEADLINE_SOURCES: tuple[str, ...] = ("cell", "text", "inherited")
REQUIREMENT_ROLES: tuple[str, ...] = ("lead", "cooperating")
REVIEW_STATUSES: tuple[str, ...] = ("open", "confirmed")
INHERITABLE: tuple[str, ...] = ("units", "deadline")
#: Review-note fields that count as "a person looked at this deadline".
DEADLINE_REVIEW_FIELDS: tuple[str, ...] = ("deadline", "spec")



class PlanFileError(DubanError, ValueError):
    """Plan or units files failed validation; carries every problem found.

    :func:`load_plans` never raises for content problems; a caller that
    wants an exception (an importer, a test) calls
    :meth:`LoadResult.raise_for_errors`.
    """

    def __init__(self, errors: Sequence[Diagnostic]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        lines = "\n".join(error.format() for error in self.errors)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in plan files:\n{lines}")


# --------------------------------------------------------------------------- values

@dataclass(frozen=True, kw_only=True, slots=True)
class Trigger:
    """An outside event the plan waits for (待省文件出台后...), bound by key."""

    key: str
    event: str
    description: str
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewNote:
    """A human decision or doubt about an encoded value (复核意见)."""

    field: str
    note: str
    status: ReviewStatus
    line: int = 0

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, kw_only=True, slots=True)
class DeadlineEntry:
    """One deadline phrase as written, with the spec it compiled to.

    ``overridden`` is True when the file gave an explicit ``spec`` (the
    compiled phrase is then not used); ``trigger`` binds a triggered spec
    to one of the plan's triggers.
    """

    phrase: str
    source: DeadlineSource
    spec: DeadlineSpec
    overridden: bool = False
    trigger: str | None = None
    line: int = 0

    @property
    def parts(self) -> tuple[Spec, ...]:
        """The leaf specs: each is its own duty (a composite contributes several)."""
        return self.spec.leaves()


@dataclass(frozen=True, kw_only=True, slots=True)
class Requirement:
    """A 具体要求: one duty text, the units that owe it and its deadlines.

    ``units_cell`` is the cell verbatim, ``unit_names`` its names as split,
    ``units`` the unit names after group expansion (what obligations are
    created for). ``inherited`` lists the values taken from a merged cell
    above (an inference a person should confirm).
    """

    no: int
    text: str
    units_cell: str
    unit_names: tuple[str, ...]
    units: tuple[str, ...]
    deadlines: tuple[DeadlineEntry, ...]
    role: RequirementRole = "lead"
    inherited: tuple[str, ...] = ()
    review: tuple[ReviewNote, ...] = ()
    line: int = 0
    #: 配合单位: copied on the lead's reminders, listed on their own 配合事项 page; no obligation of their own
    co_units_cell: str = ""
    co_unit_names: tuple[str, ...] = ()
    co_units: tuple[str, ...] = ()

    @property
    def obligation_count(self) -> int:
        """Obligations this requirement materialises: unit × deadline part."""
        return len(self.units) * sum(len(entry.parts) for entry in self.deadlines)

    @property
    def open_reviews(self) -> tuple[ReviewNote, ...]:
        return tuple(note for note in self.review if note.is_open)


@dataclass(frozen=True, kw_only=True, slots=True)
class Task:
    """A 工作任务 row group (序号); task 0 holds the notice body's own duties."""

    no: int
    title: str
    requirements: tuple[Requirement, ...]
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """One notice's work plan, validated and compiled."""

    id: str
    title: str
    issuer: str
    published: dt.date
    plan_year: int
    units_id: str
    triggers: tuple[Trigger, ...]
    tasks: tuple[Task, ...]
    doc_number: str | None = None
    source: str | None = None
    file: str = ""
    line: int = 0

    def requirements(self) -> Iterator[tuple[Task, Requirement]]:
        """Every (task, requirement) pair in file order."""
        for task in self.tasks:
            for requirement in task.requirements:
                yield task, requirement

    def trigger(self, key: str) -> Trigger:
        for trigger in self.triggers:
            if trigger.key == key:
                return trigger
        raise KeyError(key)

    @property
    def obligation_count(self) -> int:
        return sum(requirement.obligation_count for _task, requirement in self.requirements())


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadResult:
    """Everything one load found: valid plans, their directories, all problems.

    ``plans`` holds only plans whose file (and units directory) had no
    error; when ``errors`` is non-empty a caller must apply nothing.
    """

    plans: tuple[Plan, ...]
    directories: Mapping[str, UnitDirectory]
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`PlanFileError` listing every error, if there is any."""
        if self.errors:
            raise PlanFileError(self.errors)

    def summary(self) -> dict[str, int]:
        """Counts for the ``plan validate`` summary line and its JSON."""
        requirements = [req for plan in self.plans for _task, req in plan.requirements()]
        return {
            "plans": len(self.plans),
            "tasks": sum(len(plan.tasks) for plan in self.plans),
            "requirements": len(requirements),
            "deadline_entries": sum(len(req.deadlines) for req in requirements),
            "obligations": sum(req.obligation_count for req in requirements),
            "open_reviews": sum(len(req.open_reviews) for req in requirements),
        }
