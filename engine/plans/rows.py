"""The rows a plan becomes, as tuples in fixed column orders (no store access here).

The importer writes these with :func:`duban.store.bulk.insert_tuples`: a
province is hundreds of thousands of rows, so none of them is a dict or an
ORM object. Both import paths — a plan new to the store
(:mod:`duban.engine.plans.fresh`) and a changed plan (the importer's diff) —
build their rows here, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .plan_model import DeadlineEntry as EntryData
from .plan_model import Plan as PlanData
from .plan_model import Requirement as RequirementData
from .units import UnitDirectory

#: The columns of each row kind, in the order the builders below fill them.
UNIT_COLUMNS = ("name", "directory", "full_name", "is_group", "aliases", "note", "is_supervisor")
TASK_COLUMNS = ("plan_id", "no", "title")
REQUIREMENT_COLUMNS = ("task_id", "no", "text", "units_as_written", "co_units_as_written", "role", "inherited",
                       "review")
DEADLINE_COLUMNS = ("requirement_id", "ordinal", "phrase", "source", "spec", "spec_overridden", "trigger_key")
ASSIGNMENT_COLUMNS = ("requirement_id", "unit_id", "role", "inherited", "via_group")
OBLIGATION_COLUMNS = ("okey", "plan_id", "requirement_id", "deadline_id", "unit_id", "part", "kind", "spec",
                      "trigger_key")
#: Positions in an obligation row of its leaf spec and trigger key.
SPEC_AT, TRIGGER_AT = OBLIGATION_COLUMNS.index("spec"), OBLIGATION_COLUMNS.index("trigger_key")


def unit_values(directory: UnitDirectory) -> dict[str, dict[str, Any]]:
    """The unit rows of a directory (units, then groups), by name: every column but the name and directory."""
    wanted: dict[str, dict[str, Any]] = {}
    for unit in directory.units:
        wanted[unit.name] = {"full_name": unit.full_name, "is_group": False, "aliases": list(unit.aliases),
                             "note": None, "is_supervisor": unit.name == directory.supervisor}
    for group in directory.groups:
        wanted[group.name] = {"full_name": None, "is_group": True, "aliases": list(group.aliases),
                              "note": group.note, "is_supervisor": False}
    return wanted


def requirement_row(task_id: int, req: RequirementData) -> tuple[Any, ...]:
    return (task_id, req.no, req.text, req.units_cell, req.co_units_cell or None, req.role, list(req.inherited),
            [{"field": n.field, "note": n.note, "status": n.status} for n in req.review])


def deadline_row(requirement_id: int, ordinal: int, entry: EntryData) -> tuple[Any, ...]:
    return (requirement_id, ordinal, entry.phrase, entry.source, entry.spec.to_json(), entry.overridden,
            entry.trigger)


class Units:
    """Unit ids by (directory, name), and the written unit cells of requirements resolved to them.

    The directory look-up of each written name is remembered: a province's
    requirements write the same few names thousands of times.
    """

    def __init__(self, directories: Mapping[str, UnitDirectory], ids: Mapping[tuple[str, str], int]) -> None:
        self.directories = directories
        self.ids = ids
        self._lookups: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {}

    def expanded(self, directory_id: str, written: Sequence[str],
                 units: Sequence[str]) -> list[tuple[int, str | None]]:
        """``units`` (already expanded) as ids, each with the group name it came through, or None if named itself."""
        via: dict[str, str | None] = {}
        for name in written:
            hit = self._lookups.get((directory_id, name))
            if hit is None:
                directory = self.directories[directory_id]
                hit = self._lookups[(directory_id, name)] = (directory.lookup(name) or (), directory.is_group(name))
            members, is_group = hit
            for unit in members:
                via.setdefault(unit, name if is_group else None)
        return [(self.ids[(directory_id, unit)], via.get(unit)) for unit in units]

    def assignments(self, requirement_id: int, req: RequirementData, directory_id: str) -> list[tuple[Any, ...]]:
        """One row per lead unit, then one ``co`` row per co-unit (配合单位) that is not also a lead.

        ``via_group`` keeps the collective name a unit was written as. The
        plan loader already drops co-units that lead; the check here keeps the
        (requirement, unit) key unique whatever the caller passes.
        """
        inherited = "units" in req.inherited
        rows = [(requirement_id, unit_id, req.role, inherited, via)
                for unit_id, via in self.expanded(directory_id, req.unit_names, req.units)]
        leads = {self.ids[(directory_id, u)] for u in req.units}
        rows.extend((requirement_id, unit_id, "co", False, via)
                    for unit_id, via in self.expanded(directory_id, req.co_unit_names, req.co_units)
                    if unit_id not in leads)
        return rows

    def obligations(self, data: PlanData, requirement_ids: Mapping[tuple[int, int], int],
                    deadline_ids: Mapping[tuple[int, int, int], int]) -> dict[str, tuple[Any, ...]]:
        """The plan's obligations as rows of :data:`OBLIGATION_COLUMNS`, by natural key, in file order.

        One per requirement × lead unit (groups expanded) × deadline part. The
        leaf spec's JSON is built once per deadline part and shared by every
        unit's row (the bulk insert and the projection key on the object).
        """
        wanted: dict[str, tuple[Any, ...]] = {}
        for task, req in data.requirements():
            rid = requirement_ids[(task.no, req.no)]
            units = [(unit, self.ids[(data.units_id, unit)]) for unit in req.units]
            prefix = f"{data.id}/{task.no}/{req.no}/"
            for ordinal, entry in enumerate(req.deadlines, 1):
                did = deadline_ids[(task.no, req.no, ordinal)]
                for part, leaf in enumerate(entry.spec.leaves()):
                    spec, kind = leaf.to_json(), leaf.kind
                    for unit, unit_id in units:
                        okey = f"{prefix}{unit}/{ordinal}/{part}"
                        wanted[okey] = (okey, data.id, rid, did, unit_id, part, kind, spec, entry.trigger)
        return wanted
