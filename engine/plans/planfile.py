"""Plan files (工作方案): the strict loader and validator behind ``duban plan validate``.

A plan file is a hand-encoded notice: tasks (工作任务), their requirements
(具体要求), the lead units cell (牵头落实单位) and the deadline phrases
(完成时限). Encoding one is error-prone (merged cells, misaligned rows,
extraction noise), and a mistake that loads silently becomes a reminder to
the wrong bureau or a missed deadline. So the loader:

* reads YAML strictly (:mod:`duban.engine.common.strictyaml`): every scalar is text;
* checks every field, compiles every deadline phrase
  (:func:`duban.engine.deadlines.phrases.compile_phrase`) with the plan's year and
  publication date, checks relative deadlines against the working-day
  calendar, and expands every units cell against the unit directory
  (:mod:`duban.engine.plans.units`);
* reports **every** problem of **every** file at once, each as
  ``FILE:LINE: CODE path: message`` with the offending value and the
  expected form, and a "did you mean" where one helps;
* yields typed, frozen values only for files without errors, so nothing
  half-valid is ever imported.

The codes are stable; the table is in ``docs/plan-format.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from collections.abc import Iterator, Sequence

from ..deadlines.offsets import OffsetRangeError, add_offset
from ..deadlines.spec import Composite, DeadlineSpec, Fixed, Offset, Relative, Spec, Triggered, spec_from_json
from ...errors import CalendarDataError, CalendarYearMissing, DubanError, PhraseError, SpecError
from ..common.strictyaml import (
    Diagnostic,
    NodeReader,
    YamlNode,
    YamlScalar,
    did_you_mean,
    join_path,
    node_at,
    read_yaml,
    to_plain,
)
from .units import DirectoryLoad, UnitDirectory, load_directory
from .plan_model import (  # the values live in plan_model; re-exported for existing importers
    DEADLINE_REVIEW_FIELDS,
    DEADLINE_SOURCES,
    INHERITABLE,
    REQUIREMENT_ROLES,
    REVIEW_STATUSES,
    DeadlineEntry,
    DeadlineSource,
    LoadResult,
    Plan,
    PlanFileError,
    Requirement,
    RequirementRole,
    ReviewNote,
    ReviewStatus,
    Task,
    Trigger,
)

_PLAN_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_SNAKE = re.compile(r"[a-z][a-z0-9_]*")
_FIELD_NAME = re.compile(r"[a-z][a-z_]*")
_NUMBER = re.compile(r"0|[1-9][0-9]*")
_YEAR = re.compile(r"[0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# --------------------------------------------------------------------------- loading

class _Calendar(Protocol):
    """What validation needs of :class:`duban.engine.deadlines.calendar.WorkingCalendar`."""

    def add_workdays(self, start: dt.date, n: int) -> dt.date: ...

    def is_workday(self, d: dt.date) -> bool: ...


def _phrase_message(exc: PhraseError) -> str:
    """The compiler's first line (it names the phrase); the list of forms is one command away."""
    message = str(exc).splitlines()[0]
    if exc.known_forms:
        message += f" ({len(exc.known_forms)} known forms: see `duban deadline forms`)"
    return message


class _Session:
    """State of one :func:`load_plans` call: caches and cross-file checks.

    The caches hold immutable results only (specs, exceptions, directory
    loads) and die with the call.
    """

    def __init__(self, units_dirs: Sequence[Path], calendar: Any) -> None:
        self.units_dirs = tuple(units_dirs)
        self.calendar = calendar
        self.phrases: dict[tuple[str, int, dt.date], DeadlineSpec | DubanError] = {}
        self.directories: dict[str, DirectoryLoad | None] = {}
        self.relative_dues: dict[tuple[dt.date, str, int], dt.date | DubanError] = {}

    # ----------------------------------------------------------------- shared lookups

    def compile(self, phrase: str, plan_year: int, published: dt.date) -> DeadlineSpec | DubanError:
        key = (phrase, plan_year, published)
        if key not in self.phrases:
            from ..deadlines.phrases import compile_phrase

            result: DeadlineSpec | DubanError
            try:
                result = compile_phrase(phrase, plan_year=plan_year, published=published, calendar=self.calendar)
            except (PhraseError, CalendarYearMissing, SpecError) as exc:
                result = exc
            self.phrases[key] = result
        return self.phrases[key]

    def get_calendar(self) -> Any:
        if self.calendar is None:
            from ..deadlines.calendar import WorkingCalendar

            self.calendar = WorkingCalendar.default()
        return self.calendar

    def workday_problem(self, day: dt.date) -> DubanError | None:
        """Why ``day`` cannot be placed on the working-day calendar, or None."""
        try:
            self.get_calendar().is_workday(day)
        except (CalendarYearMissing, CalendarDataError) as exc:
            return exc
        return None

    def relative_due(self, anchor: dt.date, unit: str, amount: int) -> dt.date | DubanError:
        """The due date of ``anchor + amount unit``; working days use the official calendar."""
        key = (anchor, unit, amount)
        if key not in self.relative_dues:
            result: dt.date | DubanError
            try:
                result = add_offset(anchor, Offset(unit=unit, amount=amount), self.get_calendar())  # type: ignore[arg-type]
            except (CalendarYearMissing, CalendarDataError, OffsetRangeError) as exc:
                result = exc
            self.relative_dues[key] = result
        return self.relative_dues[key]

    def directory(self, directory_id: str) -> DirectoryLoad | None:
        if directory_id not in self.directories:
            found = None
            for folder in self.units_dirs:
                candidate = folder / f"{directory_id}.yaml"
                if candidate.is_file():
                    found = load_directory(candidate)
                    break
            self.directories[directory_id] = found
        return self.directories[directory_id]

    def directory_ids(self) -> list[str]:
        ids: list[str] = []
        for folder in self.units_dirs:
            if folder.is_dir():
                ids.extend(sorted(p.stem for p in folder.glob("*.yaml")))
        return ids


class _PlanReader:
    """Validates one plan file's node tree and builds its :class:`Plan`."""

    def __init__(self, session: _Session, file: str, *, yaml_errors: Sequence[Diagnostic] = ()) -> None:
        self.session = session
        self.file = file
        self.r = NodeReader(file, explained=yaml_errors)
        self.plan_year: int | None = None
        self.published: dt.date | None = None
        self.directory: UnitDirectory | None = None
        self.triggers: dict[str, Trigger] = {}
        self.used_triggers: set[str] = set()

    # ----------------------------------------------------------------- header

    def read(self, root: YamlNode) -> tuple[Plan | None, str | None, YamlNode | None]:
        """Returns the plan (None on any error), its id and the id node (for duplicate checks)."""
        top = self.r.mapping(root, "", required=("plan", "tasks"), optional=("triggers",),
                             what="a plan file (plan, triggers, tasks)")
        if top is None:
            return None, None, None
        head = self.r.mapping(top.get("plan"), "plan",
                              required=("id", "title", "issuer", "published", "plan_year", "units"),
                              optional=("doc_number", "source"),
                              what="the plan header (id, title, issuer, published, plan_year, units)") or {}
        id_node = head.get("id")
        plan_id = self.r.matching(id_node, "plan.id", _PLAN_ID, code="bad-id",
                                  what="a plan id: lower-case letters, digits and '-' ([a-z0-9][a-z0-9-]*)")
        title = self.r.text(head.get("title"), "plan.title")
        issuer = self.r.text(head.get("issuer"), "plan.issuer")
        doc_number = self.r.text(head.get("doc_number"), "plan.doc_number")
        source = self.r.text(head.get("source"), "plan.source")
        self.published = self.date(head.get("published"), "plan.published")
        year = self.r.matching(head.get("plan_year"), "plan.plan_year", _YEAR, code="bad-number",
                               what="a four-digit year such as '2016'")
        self.plan_year = int(year) if year is not None else None
        units_id = self.units_directory(head.get("units"))

        self.read_triggers(top.get("triggers"))
        tasks = self.read_tasks(top.get("tasks"))
        for key, trigger in self.triggers.items():
            if key not in self.used_triggers:
                self.r.warn(trigger.line, "unused-trigger", "triggers",
                            f"trigger {key!r} is bound to no deadline entry (add `trigger: {key}` to its entry, "
                            "or remove it)")
        if (self.r.errors or plan_id is None or title is None or issuer is None or self.published is None
                or self.plan_year is None or units_id is None or tasks is None):
            return None, plan_id, id_node
        plan = Plan(id=plan_id, title=title, issuer=issuer, published=self.published, plan_year=self.plan_year,
                    units_id=units_id, triggers=tuple(self.triggers.values()), tasks=tasks,
                    doc_number=doc_number, source=source, file=self.file, line=root.line)
        return plan, plan_id, id_node

    def date(self, node: YamlNode | None, path: str) -> dt.date | None:
        value = self.r.matching(node, path, _DATE, code="bad-date", what="a date YYYY-MM-DD such as '2016-06-23'")
        if value is None or node is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            self.r.error(node.line, "impossible-date", path, f"{value!r} is not a real date ({exc})")
            return None

    def units_directory(self, node: YamlNode | None) -> str | None:
        units_id = self.r.matching(node, "plan.units", _PLAN_ID, code="bad-id",
                                   what="a units directory id ([a-z0-9][a-z0-9-]*)")
        if units_id is None or node is None:
            return None
        load = self.session.directory(units_id)
        if load is None:
            known = self.session.directory_ids()
            where = ", ".join(str(d) for d in self.session.units_dirs) or "(no units directories)"
            self.r.error(node.line, "unknown-directory", "plan.units",
                         f"no units directory {units_id!r} ({units_id}.yaml) in {where}"
                         f"{did_you_mean(units_id, known)}")
            return None
        self.directory = load.directory  # None when the units file itself is unreadable (reported there)
        return units_id

    # ----------------------------------------------------------------- triggers

    def read_triggers(self, node: YamlNode | None) -> None:
        items = self.r.sequence(node, "triggers", what="a list of triggers", empty_code=None) or ()
        for i, item in enumerate(items):
            path = join_path("triggers", i)
            fields = self.r.mapping(item, path, required=("key", "event", "description"),
                                    what="a trigger (key, event, description)")
            if fields is None:
                continue
            key_node = fields.get("key")
            key = self.r.matching(key_node, join_path(path, "key"), _SNAKE, code="bad-id",
                                  what="a snake_case trigger key such as 'gd_negative_list_doc'")
            event = self.r.matching(fields.get("event"), join_path(path, "event"), _SNAKE, code="bad-id",
                                    what="a snake_case event kind such as 'provincial_document_issued'")
            description = self.r.text(fields.get("description"), join_path(path, "description"))
            if key is None or key_node is None:
                continue
            if key in self.triggers:
                self.r.error(key_node.line, "duplicate-trigger", join_path(path, "key"),
                             f"trigger key {key!r} is used again (first at line {self.triggers[key].line})")
                continue
            if event is not None and description is not None:
                self.triggers[key] = Trigger(key=key, event=event, description=description, line=item.line)

    # ----------------------------------------------------------------- tasks

    def number(self, node: YamlNode | None, path: str, *, minimum: int) -> int | None:
        value = self.r.matching(node, path, _NUMBER, code="bad-number",
                                what=f"an integer ≥ {minimum} without leading zeros")
        if value is None or node is None:
            return None
        if int(value) < minimum:
            self.r.error(node.line, "bad-number", path, f"{value!r} is below the minimum {minimum}")
            return None
        return int(value)

    def read_tasks(self, node: YamlNode | None) -> tuple[Task, ...] | None:
        items = self.r.sequence(node, "tasks", what="a list of tasks")
        if items is None:
            return None
        tasks: list[Task] = []
        seen: dict[int, int] = {}
        for i, item in enumerate(items):
            path = join_path("tasks", i)
            fields = self.r.mapping(item, path, required=("no", "title", "requirements"),
                                    what="a task (no, title, requirements)")
            if fields is None:
                continue
            no_node = fields.get("no")
            no = self.number(no_node, join_path(path, "no"), minimum=0)
            if no is not None and no_node is not None:
                if no in seen:
                    self.r.error(no_node.line, "duplicate-number", join_path(path, "no"),
                                 f"task number {no!r} is used again (first at line {seen[no]}); a task continued "
                                 "on the next page is one task: merge its requirements into the first")
                else:
                    seen[no] = no_node.line
            title = self.r.text(fields.get("title"), join_path(path, "title"))
            requirements = self.read_requirements(fields.get("requirements"), join_path(path, "requirements"))
            if no is not None and title is not None and requirements is not None:
                tasks.append(Task(no=no, title=title, requirements=requirements, line=item.line))
        return tuple(tasks)

    def read_requirements(self, node: YamlNode | None, path: str) -> tuple[Requirement, ...] | None:
        items = self.r.sequence(node, path, what="a list of requirements")
        if items is None:
            return None
        out: list[Requirement] = []
        seen: dict[int, int] = {}
        for i, item in enumerate(items):
            requirement = self.read_requirement(item, join_path(path, i), seen)
            if requirement is not None:
                out.append(requirement)
        return tuple(out)

    def read_requirement(self, node: YamlNode, path: str, seen: dict[int, int]) -> Requirement | None:
        fields = self.r.mapping(node, path, required=("no", "text", "units", "deadlines"),
                                optional=("role", "inherited", "review", "co_units"),
                                what="a requirement (no, text, units, deadlines)")
        if fields is None:
            return None
        no_node = fields.get("no")
        no = self.number(no_node, join_path(path, "no"), minimum=1)
        if no is not None and no_node is not None:
            if no in seen:
                self.r.error(no_node.line, "duplicate-number", join_path(path, "no"),
                             f"requirement number {no!r} is used again in this task (first at line {seen[no]})")
            else:
                seen[no] = no_node.line
        text = self.r.text(fields.get("text"), join_path(path, "text"), what="the requirement text (具体要求)")
        role = "lead"
        if "role" in fields:
            role = self.r.choice(fields["role"], join_path(path, "role"), REQUIREMENT_ROLES) or "lead"
        inherited = self.read_inherited(fields.get("inherited"), join_path(path, "inherited"))
        review = self.read_review(fields.get("review"), join_path(path, "review"))
        units_cell, unit_names, units = self.read_units(fields.get("units"), join_path(path, "units"))
        co_cell, co_names, co_units = (self.read_units(fields["co_units"], join_path(path, "co_units"))
                                       if "co_units" in fields else ("", (), ()))
        if units and co_units and set(units) & set(co_units):
            self.r.warn(node.line, "co-unit-is-lead", join_path(path, "co_units"),
                        f"{sorted(set(units) & set(co_units))!r} both lead and co-operate; a unit is one or the other")
        reviewed_deadline = any(note.field in DEADLINE_REVIEW_FIELDS for note in review)
        deadlines = self.read_deadlines(fields.get("deadlines"), join_path(path, "deadlines"), reviewed_deadline)
        if deadlines is not None:
            has_inherited = any(entry.source == "inherited" for entry in deadlines)
            if has_inherited != ("deadline" in inherited):
                self.r.warn(node.line, "inherited-mismatch", join_path(path, "inherited"),
                            "a deadline entry has source 'inherited' but 'deadline' is not listed in `inherited`"
                            if has_inherited else
                            "`inherited` lists 'deadline' but no deadline entry has source 'inherited'")
        if no is None or text is None or units is None or deadlines is None:
            return None
        return Requirement(no=no, text=text, units_cell=units_cell or "", unit_names=unit_names, units=units,
                           deadlines=deadlines, role=role,  # type: ignore[arg-type]
                           inherited=inherited, review=review, line=node.line, co_units_cell=co_cell or "",
                           co_unit_names=co_names, co_units=tuple(u for u in (co_units or ()) if u not in units))

    def read_inherited(self, node: YamlNode | None, path: str) -> tuple[str, ...]:
        items = self.r.sequence(node, path, what="a list of units/deadline", empty_code=None) or ()
        out: list[str] = []
        for i, item in enumerate(items):
            value = self.r.choice(item, join_path(path, i), INHERITABLE)
            if value is not None and value not in out:
                out.append(value)
        return tuple(out)

    def read_review(self, node: YamlNode | None, path: str) -> tuple[ReviewNote, ...]:
        items = self.r.sequence(node, path, what="a list of review notes", empty_code=None) or ()
        notes: list[ReviewNote] = []
        for i, item in enumerate(items):
            item_path = join_path(path, i)
            fields = self.r.mapping(item, item_path, required=("field", "note", "status"),
                                    what="a review note (field, note, status)")
            if fields is None:
                continue
            field_name = self.r.matching(fields.get("field"), join_path(item_path, "field"), _FIELD_NAME,
                                         code="bad-choice",
                                         what="a field name such as units, deadline, task or text")
            note = self.r.text(fields.get("note"), join_path(item_path, "note"))
            status = self.r.choice(fields.get("status"), join_path(item_path, "status"), REVIEW_STATUSES)
            if field_name is None or note is None or status is None:
                continue
            review = ReviewNote(field=field_name, note=note, status=status, line=item.line)  # type: ignore[arg-type]
            notes.append(review)
            if review.is_open:
                self.r.warn(item.line, "review-open", item_path,
                            f"open review note on {field_name!r}: {note!r} (confirm it: status: confirmed)")
        return tuple(notes)

    def read_units(self, node: YamlNode | None,
                   path: str) -> tuple[str | None, tuple[str, ...], tuple[str, ...] | None]:
        if node is None:
            return None, (), None
        if isinstance(node, YamlScalar) and not node.value.strip():
            self.r.error(node.line, "empty-units", path,
                         f"the units cell is empty ({node.value!r}); a blank merged cell continues the one "
                         "above: copy it and add `inherited: [units]` with a review note")
            return None, (), None
        cell = self.r.text(node, path, what="the 牵头落实单位 cell as text, e.g. '市编办，市财政局'")
        if cell is None:
            return None, (), None
        directory = self.directory
        if directory is None:  # the directory's own problem is reported elsewhere
            return cell, (), None
        resolution = directory.resolve_cell(cell)
        ok = True
        if resolution.empty_pieces:
            self.r.error(node.line, "bad-units", path,
                         f"{cell!r} has an empty name between separators (，、,)")
            ok = False
        for name in resolution.unknown:
            hints = directory.suggest(name)
            hint = f" (did you mean {' or '.join(repr(h) for h in hints)}?)" if hints else ""
            self.r.error(node.line, "unknown-unit", path,
                         f"{name!r} is not a unit, alias or group of directory {directory.id!r}{hint}; "
                         f"add it (or an alias) to {directory.file or directory.id}")
            ok = False
        return cell, resolution.written, resolution.units if ok else None

    # ----------------------------------------------------------------- deadlines

    def read_deadlines(self, node: YamlNode | None, path: str, reviewed: bool) -> tuple[DeadlineEntry, ...] | None:
        items = self.r.sequence(node, path, what="a list of deadline entries (phrase, source)")
        if items is None:
            return None
        entries: list[DeadlineEntry] = []
        failed = False
        for i, item in enumerate(items):
            entry = self.read_deadline(item, join_path(path, i), reviewed)
            if entry is None:
                failed = True
            else:
                entries.append(entry)
        return None if failed or not entries else tuple(entries)

    def read_deadline(self, node: YamlNode, path: str, reviewed: bool) -> DeadlineEntry | None:
        fields = self.r.mapping(node, path, required=("phrase", "source"), optional=("spec", "trigger"),
                                what="a deadline entry (phrase, source, spec, trigger)")
        if fields is None:
            return None
        phrase_node = fields.get("phrase")
        phrase = self.r.text(phrase_node, join_path(path, "phrase"), what="the deadline phrase (完成时限)")
        source = self.r.choice(fields.get("source"), join_path(path, "source"), DEADLINE_SOURCES)
        trigger_node = fields.get("trigger")
        trigger = self.r.text(trigger_node, join_path(path, "trigger"), what="a trigger key")
        spec_node = fields.get("spec")
        spec: DeadlineSpec | None = None
        if spec_node is not None:
            spec = self.read_spec_override(spec_node, join_path(path, "spec"), reviewed)
        elif phrase is not None and phrase_node is not None and self.plan_year is not None and self.published:
            spec = self.compile(phrase, phrase_node, join_path(path, "phrase"), self.plan_year, self.published)
        if spec is None:
            return None
        spec = self.fill_relative(spec, spec_node or phrase_node or node,
                                  join_path(path, "spec" if spec_node is not None else "phrase"))
        if spec is None:
            return None
        if not reviewed and spec_node is None and any(leaf.ambiguous for leaf in (spec, *spec.leaves())):
            note = next((leaf.note for leaf in (spec, *spec.leaves()) if leaf.note), None)
            self.r.warn(node.line, "ambiguous-unreviewed", path,
                        f"{phrase!r} compiles to an ambiguous spec{f' ({note})' if note else ''}; "
                        "add a review note with field: deadline saying how it was read")
        if not self.check_trigger(spec, trigger, trigger_node, node, path):
            return None
        if phrase is None or source is None:
            return None
        return DeadlineEntry(phrase=phrase, source=source, spec=spec,  # type: ignore[arg-type]
                             overridden=spec_node is not None, trigger=trigger, line=node.line)

    def compile(self, phrase: str, node: YamlNode, path: str, plan_year: int,
                published: dt.date) -> DeadlineSpec | None:
        result = self.session.compile(phrase, plan_year, published)
        if isinstance(result, PhraseError):
            self.r.error(node.line, result.code, path, _phrase_message(result))
            return None
        if isinstance(result, CalendarYearMissing):
            self.r.error(node.line, "calendar-year-missing", path, f"{phrase!r}: {result}")
            return None
        if isinstance(result, DubanError):
            self.r.error(node.line, "bad-spec", path, f"{phrase!r} compiled to an invalid spec: {result}")
            return None
        return result

    def read_spec_override(self, node: YamlNode, path: str, reviewed: bool) -> DeadlineSpec | None:
        try:
            spec = spec_from_json(to_plain(node, nulls=True))
        except SpecError as exc:
            at = node_at(node, exc.path) if exc.path else node
            full = join_path(path, exc.path) if exc.path and not exc.path.startswith("[") else path + exc.path
            message = str(exc).removeprefix(f"{exc.path}: ") if exc.path else str(exc)
            self.r.error((at or node).line, "bad-spec", full,
                         f"{message} (the JSON form of docs/deadlines.md, e.g. {{kind: fixed, due: '2016-12-31'}})")
            return None
        if not reviewed:
            self.r.error(node.line, "spec-needs-review", path,
                         f"an explicit spec ({spec.to_json()!r}) overrides the phrase; add a review note with "
                         "field: deadline saying why")
        return spec

    def fill_relative(self, spec: DeadlineSpec, node: YamlNode, path: str) -> DeadlineSpec | None:
        """Check every calendar-bound part and fill in relative due dates.

        A relative part ("本方案公布后30个工作日内") gets its due date from the
        publication date; a fixed part that rolls to the next working day
        needs its year's calendar too. Doing it here means a deadline whose
        year the calendar lacks fails validation now, not at the first tick.
        """
        if self.published is None:
            return spec
        leaves = spec.leaves()
        if not any(isinstance(leaf, Relative) or (isinstance(leaf, Fixed) and leaf.roll != "as_written")
                   for leaf in leaves):
            return spec
        filled: list[Spec] = []
        for leaf in leaves:
            if isinstance(leaf, Relative):
                due = self.session.relative_due(self.published, leaf.offset.unit, leaf.offset.amount)
                if isinstance(due, DubanError):
                    self.calendar_error(due, node, path,
                                        f"{leaf.offset.amount} {leaf.offset.unit} after the publication date "
                                        f"{self.published.isoformat()}")
                    return None
                if leaf.due is None:
                    leaf = dataclasses.replace(leaf, due=due)
            elif isinstance(leaf, Fixed) and leaf.roll != "as_written":
                problem = self.session.workday_problem(leaf.due)
                if problem is not None:
                    self.calendar_error(problem, node, path, f"rolling {leaf.due.isoformat()} to a working day")
                    return None
            filled.append(leaf)
        if isinstance(spec, Composite):
            return dataclasses.replace(spec, parts=tuple(filled))
        return filled[0]  # type: ignore[return-value]

    def calendar_error(self, problem: DubanError, node: YamlNode, path: str, what: str) -> None:
        if isinstance(problem, CalendarYearMissing):
            self.r.error(node.line, "calendar-year-missing", path, f"{what} needs year {problem.year}: {problem}")
        else:
            self.r.error(node.line, "calendar-data", path, f"{what}: the working-day calendar is unusable: "
                         f"{str(problem).splitlines()[0]}")

    def check_trigger(self, spec: DeadlineSpec, trigger: str | None, trigger_node: YamlNode | None,
                      node: YamlNode, path: str) -> bool:
        events = [leaf.event for leaf in spec.leaves() if isinstance(leaf, Triggered)]
        trigger_path = join_path(path, "trigger")
        if not events:
            if trigger is not None and trigger_node is not None:
                self.r.error(trigger_node.line, "unexpected-trigger", trigger_path,
                             f"trigger {trigger!r} is given but the spec ({spec.kind}) waits for no event")
                return False
            return True
        if trigger is None:
            if trigger_node is not None:
                return False  # its form was already reported
            keys = [t.key for t in self.triggers.values() if t.event in events]
            hint = f"; this plan's triggers for {events[0]!r}: {', '.join(keys)}" if keys else \
                f"; declare one under `triggers:` with event: {events[0]}"
            self.r.error(node.line, "trigger-required", path,
                         f"the spec waits for event {events[0]!r} but the entry has no `trigger:` key{hint}")
            return False
        line = trigger_node.line if trigger_node is not None else node.line
        self.used_triggers.add(trigger)
        bound = self.triggers.get(trigger)
        if bound is None:
            self.r.error(line, "unknown-trigger", trigger_path,
                         f"{trigger!r} is not a key of this plan's triggers"
                         f"{did_you_mean(trigger, self.triggers)}; known: {', '.join(self.triggers) or '(none)'}")
            return False
        wrong = [event for event in events if event != bound.event]
        if wrong:
            self.r.error(line, "trigger-event-mismatch", trigger_path,
                         f"trigger {trigger!r} is event {bound.event!r} but the spec waits for {wrong[0]!r}")
            return False
        return True


def _expand_paths(paths: Sequence[Path], errors: list[Diagnostic]) -> Iterator[Path]:
    """Files first-seen order: a directory means its ``*.yaml``/``*.yml`` (sorted, not recursive).

    A file named twice (directly and through its folder) is read once; a
    folder without plan files is an error, so a mistyped path cannot pass
    validation by validating nothing.
    """
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                errors.append(Diagnostic(file=str(path), line=1, code="no-plan-files", path="",
                                         message=f"the folder {str(path)!r} holds no *.yaml plan files"))
        else:
            found = [path]
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield file


def load_plans(paths: Sequence[Path], *, units_dirs: Sequence[Path] | None = None,
               calendar: _Calendar | None = None) -> LoadResult:
    """Load and validate plan files (or directories of ``*.yaml``) together.

    A plan's ``units:`` id names ``<id>.yaml`` in the first of ``units_dirs``
    (default: the shipped ``rules/units``) that has it; each directory is
    loaded and checked once. ``calendar`` defaults to
    ``WorkingCalendar.default()`` and is only consulted when a relative
    deadline needs working days. Content problems never raise: they are
    collected in :attr:`LoadResult.errors` (plan ids must also be unique
    across all files loaded together).
    """
    if units_dirs is None:
        from ...rules import UNITS_DIR

        units_dirs = (UNITS_DIR,)
    session = _Session(units_dirs, calendar)
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    plans: list[Plan] = []
    seen_ids: dict[str, tuple[str, int]] = {}
    for path in _expand_paths(paths, errors):
        file = str(path)
        root, yaml_errors = read_yaml(path, display=file)
        if root is None:
            errors.extend(yaml_errors)
            continue
        reader = _PlanReader(session, file, yaml_errors=yaml_errors)
        plan, plan_id, id_node = reader.read(root)
        if plan_id is not None and id_node is not None:
            if plan_id in seen_ids:
                first_file, first_line = seen_ids[plan_id]
                reader.r.error(id_node.line, "duplicate-id", "plan.id",
                               f"plan id {plan_id!r} is already used by {first_file}:{first_line}; "
                               "plan ids are unique across all plan files")
                plan = None
            else:
                seen_ids[plan_id] = (file, id_node.line)
        errors.extend(sorted((*yaml_errors, *reader.r.errors), key=lambda d: d.line))
        warnings.extend(sorted(reader.r.warnings, key=lambda d: d.line))
        if plan is not None and not yaml_errors:
            load = session.directory(plan.units_id)
            if load is not None and load.directory is not None and not load.errors:
                plans.append(plan)
    directories: dict[str, UnitDirectory] = {}
    for directory_id, load in session.directories.items():
        if load is None:
            continue
        errors.extend(load.errors)
        warnings.extend(load.warnings)
        if load.directory is not None and not load.errors:
            directories[directory_id] = load.directory
    return LoadResult(plans=tuple(plans), directories=MappingProxyType(directories), errors=tuple(errors),
                      warnings=tuple(warnings))


def load_plan(path: Path, *, units_dirs: Sequence[Path] | None = None, calendar: _Calendar | None = None) -> Plan:
    """One plan file, or :class:`PlanFileError` listing every problem."""
    result = load_plans([path], units_dirs=units_dirs, calendar=calendar)
    result.raise_for_errors()
    if len(result.plans) != 1:
        raise PlanFileError([Diagnostic(file=str(path), line=1, code="not-a-plan", path="",
                                        message="the file holds no plan")])
    return result.plans[0]
