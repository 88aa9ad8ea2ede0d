"""The unit directory (单位名录): who a 牵头落实单位 cell names, and how to reach them.

A plan names its lead units briefly and several to a cell
("市编办，各县（市、区）人民政府（管委会）"). Some names are collective: a
*group* such as "各县（市、区）人民政府（管委会）" stands for every county-level
government plus the economic zones' management committees, and
"市有关单位" for the annex list. Which units a group means is local
knowledge that changes (a new zone, a merged bureau), so it lives in an
editable YAML directory (``rules/units/<id>.yaml``), never in code.

Matching is forgiving about width and spacing only: names are compared after
Unicode NFKC normalisation with all whitespace removed, so
``市科技局(市知识产权局)`` and ``市科技局（市知识产权局）`` are one name, and
``李 宇``-style extraction spaces do not matter. Anything else must be
written as a unit name, an alias or a group; an unknown name is an error with
a "did you mean", never a guess.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias
from collections.abc import Iterable, Mapping, Sequence

from ...errors import DubanError
from ..common.strictyaml import Diagnostic, NodeReader, YamlMap, YamlNode, YamlScalar, YamlSeq, join_path, read_yaml

OfficialRole: TypeAlias = Literal["clerk", "leader", "member", "contact"]
OFFICIAL_ROLES: tuple[str, ...] = ("clerk", "leader", "member", "contact")

#: Separators between names in a cell; inside brackets they belong to the name
#: ("各县（市、区）人民政府" is one name).
SEPARATORS = frozenset("，、,")
_OPENING = "（(【《"
_CLOSING = "）)】》"

#: Reserved example domains (RFC 2606 / RFC 6761): demo contacts must use them.
_RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost")
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")

_DIRECTORY_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
#: What must never reach a mail header from directory data (issue 14, row 5): CR/LF and other control
#: characters, and RFC 2047 encoded-words, which a mail reader would decode into anything.
_UNSAFE_HEADER = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]|=\?[^?]*\?[bBqQ]\?")


class UnknownUnit(DubanError, LookupError):
    """A name matches no unit, alias or group of the directory."""

    def __init__(self, name: str, directory: str, suggestions: tuple[str, ...] = ()) -> None:
        self.name = name
        self.directory = directory
        self.suggestions = suggestions
        hint = f" (did you mean {' or '.join(repr(s) for s in suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown unit {name!r} in directory {directory!r}{hint}")


def normalise_name(name: str) -> str:
    """The matching key of a unit name: NFKC, all whitespace removed.

    NFKC folds full-width brackets and letters to their ASCII forms
    (（→(, ＰＰＰ→PPP) and the ideographic space to a space, which is then
    dropped with the rest.
    """
    return "".join(unicodedata.normalize("NFKC", name).split())


def split_cell(cell: str) -> tuple[str, ...]:
    """Split a 牵头落实单位 cell into names, keeping bracketed separators.

    Separators are "，", "、" and "," at bracket depth zero; brackets are
    （）()【】《》 in any mix (extraction often pairs "（" with ")"). Each
    name is stripped; an empty piece (",," or a trailing comma) is kept as
    "" so a caller can report it instead of silently dropping it. A cell of
    only whitespace gives ``()``.
    """
    if not cell.strip():
        return ()
    names: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(cell):
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
        elif char in SEPARATORS and depth == 0:
            names.append(cell[start:i].strip())
            start = i + 1
    names.append(cell[start:].strip())
    return tuple(names)


# --------------------------------------------------------------------------- values

@dataclass(frozen=True, kw_only=True, slots=True)
class Official:
    """A person reminders go to: the unit's leader (领导) or contact clerk (联络员)."""

    name: str
    role: OfficialRole
    email: str
    post: str | None = None
    phone: str | None = None
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Unit:
    """One unit (单位) that can owe obligations: a bureau, a county government."""

    name: str
    full_name: str | None = None
    aliases: tuple[str, ...] = ()
    officials: tuple[Official, ...] = ()
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitGroup:
    """A collective name ("各县（市、区）人民政府（管委会）", "市有关单位").

    ``members`` are written as in the file (units, aliases or other groups);
    the directory expands them recursively to unit names.
    """

    name: str
    members: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    note: str | None = None
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class CellResolution:
    """What a units cell means: the names as written and the units they expand to.

    ``units`` is de-duplicated in first-seen order (a unit named directly
    and again through a group owes the duty once). ``unknown`` holds the
    names that matched nothing; ``empty_pieces`` counts blank names between
    separators.
    """

    written: tuple[str, ...]
    units: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    empty_pieces: int = 0


_Target: TypeAlias = tuple[Literal["unit", "group"], str]


def _expand_groups(units: Iterable[Unit], groups: Iterable[UnitGroup],
                   index: dict[str, _Target]) -> tuple[dict[str, tuple[str, ...]], list[tuple[UnitGroup, str, str]]]:
    """Expand every group to unit names; also list problems as (group, kind, detail).

    kind is ``unknown`` (a member names nothing) or ``cycle`` (detail is the
    cycle, "A → B → A"). A cycle is cut where it closes, so expansion always
    terminates.
    """
    by_name = {group.name: group for group in groups}
    expanded: dict[str, tuple[str, ...]] = {}
    problems: list[tuple[UnitGroup, str, str]] = []

    def expand(group: UnitGroup, stack: tuple[str, ...]) -> tuple[str, ...]:
        if group.name in expanded:
            return expanded[group.name]
        out: dict[str, None] = {}
        for member in group.members:
            target = index.get(normalise_name(member))
            if target is None:
                if not stack:
                    problems.append((group, "unknown", member))
                continue
            kind, name = target
            if kind == "unit":
                out[name] = None
            elif name in stack or name == group.name:
                if not stack or name == stack[0]:
                    problems.append((group, "cycle", " → ".join((*stack, group.name, name))))
            else:
                out.update(dict.fromkeys(expand(by_name[name], (*stack, group.name))))
        result = tuple(out)
        if not stack:
            expanded[group.name] = result
        return result

    for group in by_name.values():
        expand(group, ())
    return expanded, problems


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitDirectory:
    """The units of one jurisdiction, their officials, groups and supervisor (督查).

    Built once per load and read-only afterwards; the lookup index and the
    per-cell resolution cache are derived data kept on the instance.
    """

    id: str
    name: str
    supervisor: str
    units: tuple[Unit, ...]
    groups: tuple[UnitGroup, ...] = ()
    demo_contacts: bool = False
    file: str = ""
    _index: dict[str, _Target] = field(default_factory=dict, init=False, compare=False, repr=False)
    _expanded: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False, compare=False, repr=False)
    _units: dict[str, Unit] = field(default_factory=dict, init=False, compare=False, repr=False)
    _cells: dict[str, CellResolution] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for unit in self.units:
            self._units.setdefault(unit.name, unit)
            for written in (unit.name, *unit.aliases, *((unit.full_name,) if unit.full_name else ())):
                self._index.setdefault(normalise_name(written), ("unit", unit.name))
        for group in self.groups:
            for written in (group.name, *group.aliases):
                self._index.setdefault(normalise_name(written), ("group", group.name))
        expanded, _problems = _expand_groups(self.units, self.groups, self._index)
        self._expanded.update(expanded)

    # ----------------------------------------------------------------- lookups

    def unit(self, name: str) -> Unit:
        """The unit a single name (name, alias, full name) stands for; groups are refused."""
        target = self._index.get(normalise_name(name))
        if target is None or target[0] != "unit":
            raise UnknownUnit(name, self.id, self.suggest(name))
        return self._units[target[1]]

    def lookup(self, name: str) -> tuple[str, ...] | None:
        """The unit names one written name stands for (a group expands), or None."""
        target = self._index.get(normalise_name(name))
        if target is None:
            return None
        kind, canonical = target
        return (canonical,) if kind == "unit" else self._expanded.get(canonical, ())

    def expand(self, name: str) -> tuple[str, ...]:
        """Like :meth:`lookup` but raising :class:`UnknownUnit` with suggestions."""
        found = self.lookup(name)
        if found is None:
            raise UnknownUnit(name, self.id, self.suggest(name))
        return found

    def is_group(self, name: str) -> bool:
        target = self._index.get(normalise_name(name))
        return target is not None and target[0] == "group"

    def known_names(self) -> tuple[str, ...]:
        """Every name a plan may write: units, aliases, full names and groups."""
        names: list[str] = []
        for unit in self.units:
            names.extend((unit.name, *unit.aliases, *((unit.full_name,) if unit.full_name else ())))
        for group in self.groups:
            names.extend((group.name, *group.aliases))
        return tuple(dict.fromkeys(names))

    def suggest(self, name: str, *, n: int = 3) -> tuple[str, ...]:
        """The closest known names (difflib on normalised names), best first."""
        key = normalise_name(name)
        by_key: dict[str, str] = {}
        for known in self.known_names():
            by_key.setdefault(normalise_name(known), known)
        close = difflib.get_close_matches(key, list(by_key), n=n, cutoff=0.5)
        if not close and key:
            close = [k for k in by_key if key in k or k in key][:n]
        return tuple(by_key[k] for k in close)

    def resolve_cell(self, cell: str) -> CellResolution:
        """Split a cell, expand every name; cached per cell text."""
        cached = self._cells.get(cell)
        if cached is not None:
            return cached
        written = split_cell(cell)
        units: dict[str, None] = {}
        unknown: list[str] = []
        empty = 0
        for name in written:
            if not name:
                empty += 1
                continue
            found = self.lookup(name)
            if found is None:
                unknown.append(name)
            else:
                units.update(dict.fromkeys(found))
        result = CellResolution(written=tuple(n for n in written if n), units=tuple(units),
                                unknown=tuple(unknown), empty_pieces=empty)
        self._cells[cell] = result
        return result


# --------------------------------------------------------------------------- loading

def _reserved_domain(email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return domain.endswith(_RESERVED_SUFFIXES) or any(
        domain == d or domain.endswith("." + d) for d in _RESERVED_DOMAINS)


def _names(reader: NodeReader, node: YamlNode | None, path: str) -> tuple[str, ...]:
    items = reader.sequence(node, path, what="a list of names", empty_code=None)
    if items is None:
        return ()
    out = []
    for i, item in enumerate(items):
        value = reader.text(item, join_path(path, i), what="a name")
        if value is not None:
            out.append(value.strip())
    return tuple(out)


def _read_official(reader: NodeReader, node: YamlNode, path: str, demo: bool | None) -> Official | None:
    fields = reader.mapping(node, path, required=("name", "role", "email"), optional=("post", "phone"),
                            what="an official (name, role, email)")
    if fields is None:
        return None
    name = reader.text(fields.get("name"), join_path(path, "name"))
    role = reader.choice(fields.get("role"), join_path(path, "role"), OFFICIAL_ROLES)
    email_node = fields.get("email")
    email = reader.matching(email_node, join_path(path, "email"), _EMAIL, code="bad-email",
                            what="an email address like clerk@unit.example")
    if email is not None and email_node is not None and demo and not _reserved_domain(email):
        reader.error(email_node.line, "demo-email", join_path(path, "email"),
                     f"{email!r} is not on a reserved example domain, but the directory says "
                     "demo_contacts: true; use e.g. name@unit.city.example (RFC 2606)")
    for key, value in (("name", name), ("email", email)):
        if value is not None and _UNSAFE_HEADER.search(value):
            bad = fields.get(key)
            reader.error(bad.line if bad is not None else node.line, "unsafe-recipient", join_path(path, key),
                         f"{value!r} holds a line break, a control character or an encoded-word (=?...?=); "
                         "it would break every email header it enters: write it plainly")
            value = None
    post = reader.text(fields.get("post"), join_path(path, "post"), allow_empty=True)
    phone = reader.text(fields.get("phone"), join_path(path, "phone"), allow_empty=True)
    if name is None or role is None or email is None:
        return None
    return Official(name=name, role=role, email=email, post=post or None, phone=phone or None,  # type: ignore[arg-type]
                    line=node.line)


def _read_unit(reader: NodeReader, node: YamlNode, path: str, demo: bool | None) -> Unit | None:
    fields = reader.mapping(node, path, required=("name",), optional=("full_name", "aliases", "officials"),
                            what="a unit (name, full_name, aliases, officials)")
    if fields is None:
        return None
    name = reader.text(fields.get("name"), join_path(path, "name"), what="a unit name")
    full_name = reader.text(fields.get("full_name"), join_path(path, "full_name"), allow_empty=True)
    aliases = _names(reader, fields.get("aliases"), join_path(path, "aliases"))
    officials: list[Official] = []
    items = reader.sequence(fields.get("officials"), join_path(path, "officials"), empty_code=None)
    for i, item in enumerate(items or ()):
        official = _read_official(reader, item, join_path(join_path(path, "officials"), i), demo)
        if official is not None:
            officials.append(official)
    if name is None:
        return None
    return Unit(name=name.strip(), full_name=full_name.strip() if full_name else None, aliases=aliases,
                officials=tuple(officials), line=node.line)


def _read_group(reader: NodeReader, node: YamlNode, path: str) -> UnitGroup | None:
    fields = reader.mapping(node, path, required=("name", "members"), optional=("aliases", "note"),
                            what="a group (name, members, aliases, note)")
    if fields is None:
        return None
    name = reader.text(fields.get("name"), join_path(path, "name"), what="a group name")
    members_node = fields.get("members")
    members = _names(reader, members_node, join_path(path, "members"))
    if isinstance(members_node, YamlSeq) and not members_node.items:
        reader.error(members_node.line, "empty-units", join_path(path, "members"),
                     "a group needs at least one member, got []")
    aliases = _names(reader, fields.get("aliases"), join_path(path, "aliases"))
    note = reader.text(fields.get("note"), join_path(path, "note"), allow_empty=True)
    if name is None:
        return None
    return UnitGroup(name=name.strip(), members=members, aliases=aliases, note=note or None, line=node.line)


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectoryLoad:
    """The outcome of reading one units file: the directory (when usable) and its problems."""

    directory: UnitDirectory | None
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...] = ()


def _member_line(group_node: YamlNode | None, member: str, default: int) -> int:
    if isinstance(group_node, YamlMap):
        members = group_node.get("members")
        if isinstance(members, YamlSeq):
            for item in members.items:
                if isinstance(item, YamlScalar) and item.value.strip() == member:
                    return item.line
    return default


def load_directory(path: Path, *, display: str | None = None) -> DirectoryLoad:
    """Read a units file strictly and check it whole; never raises for bad content.

    Checked beyond the field forms: the directory id equals the file name
    (``<id>.yaml``, which is how plans find it), no two units/aliases/groups
    share a normalised name, every group member is known, groups do not form
    a cycle, the supervisor is a unit, and with ``demo_contacts: true`` every
    address is on a reserved example domain.
    """
    file = display if display is not None else str(path)
    root, yaml_errors = read_yaml(path, display=file)
    reader = NodeReader(file)
    reader.errors.extend(yaml_errors)
    if root is None:
        return DirectoryLoad(directory=None, errors=tuple(reader.errors))
    top = reader.mapping(root, "", required=("directory", "supervisor", "units"), optional=("groups",),
                         what="a units directory (directory, supervisor, units, groups)")
    if top is None:
        return DirectoryLoad(directory=None, errors=tuple(reader.errors))
    head = reader.mapping(top.get("directory"), "directory", required=("id", "name"),
                          optional=("demo_contacts",), what="the directory header (id, name, demo_contacts)")
    head = head or {}
    dir_id_node = head.get("id")
    dir_id = reader.matching(dir_id_node, "directory.id", _DIRECTORY_ID, code="bad-id",
                             what="a directory id ([a-z0-9][a-z0-9-]*)")
    if dir_id is not None and dir_id_node is not None and dir_id != path.stem:
        reader.error(dir_id_node.line, "id-mismatch", "directory.id",
                     f"directory id {dir_id!r} differs from the file name {path.name!r}; plans find a "
                     f"directory by its file, so name the file {dir_id + '.yaml'!r} or the id {path.stem!r}")
    name = reader.text(head.get("name"), "directory.name")
    demo = reader.boolean(head.get("demo_contacts"), "directory.demo_contacts") if "demo_contacts" in head else False
    supervisor_node = top.get("supervisor")
    supervisor = reader.text(supervisor_node, "supervisor", what="the supervising unit's name")

    units: list[Unit] = []
    unit_nodes = reader.sequence(top.get("units"), "units", what="a list of units") or ()
    for i, node in enumerate(unit_nodes):
        unit = _read_unit(reader, node, join_path("units", i), demo)
        if unit is not None:
            units.append(unit)
    groups: list[UnitGroup] = []
    group_nodes = reader.sequence(top.get("groups"), "groups", what="a list of groups", empty_code=None) or ()
    group_node_of: dict[str, tuple[int, YamlNode | None]] = {}
    for i, node in enumerate(group_nodes):
        group = _read_group(reader, node, join_path("groups", i))
        if group is not None:
            groups.append(group)
            group_node_of.setdefault(group.name, (i, node))

    _check_unique_names(reader, units, groups)
    directory = UnitDirectory(id=dir_id or path.stem, name=name or "", supervisor=(supervisor or "").strip(),
                              units=tuple(units), groups=tuple(groups), demo_contacts=bool(demo), file=file)
    _check_references(reader, directory, group_node_of, supervisor, supervisor_node)
    return DirectoryLoad(directory=directory, errors=tuple(sorted(reader.errors, key=lambda d: d.line)),
                         warnings=tuple(sorted(reader.warnings, key=lambda d: d.line)))


def _check_unique_names(reader: NodeReader, units: Sequence[Unit], groups: Sequence[UnitGroup]) -> None:
    """Names must be unambiguous after normalisation, across units, aliases, full names and groups."""
    seen: dict[str, tuple[str, str, str, int]] = {}
    named: tuple[tuple[str, Sequence[Unit | UnitGroup]], ...] = (("units", units), ("groups", groups))
    for kind, items in named:
        for i, item in enumerate(items):
            spellings = [(item.name, "name"), *((a, "alias") for a in item.aliases)]
            if isinstance(item, Unit) and item.full_name:
                spellings.append((item.full_name, "full name"))
            for written, role in spellings:
                key = normalise_name(written)
                first = seen.get(key)
                if first is not None and first[0] != item.name:
                    owner, first_written, first_role, first_line = first
                    reader.error(item.line, "duplicate-name", join_path(kind, i),
                                 f"{written!r} ({role} of {item.name!r}) is the same name as {first_written!r} "
                                 f"({first_role} of {owner!r}, line {first_line}) after width and space "
                                 "normalisation; every name, alias and full name must be unique")
                elif first is None:
                    seen[key] = (item.name, written, role, item.line)


def _check_references(reader: NodeReader, directory: UnitDirectory,
                      group_node_of: Mapping[str, tuple[int, YamlNode | None]], supervisor: str | None,
                      supervisor_node: YamlNode | None) -> None:
    """Every group member is known, groups expand to units, and the supervisor is one unit."""
    _expanded, problems = _expand_groups(directory.units, directory.groups, directory._index)
    for group, kind, detail in problems:
        index, group_node = group_node_of.get(group.name, (0, None))
        members_path = join_path(join_path("groups", index), "members")
        if kind == "unknown":
            hint = directory.suggest(detail)
            reader.error(_member_line(group_node, detail, group.line), "unknown-unit", members_path,
                         f"member {detail!r} of group {group.name!r} is not a unit, alias or group"
                         + (f" (did you mean {' or '.join(repr(h) for h in hint)}?)" if hint else ""))
        else:
            reader.error(group.line, "group-cycle", members_path,
                         f"group {group.name!r} contains itself: {detail}; groups must expand to units")
    if supervisor and supervisor_node is not None:
        target = directory._index.get(normalise_name(supervisor))
        if target is None or target[0] != "unit":
            hint = directory.suggest(supervisor)
            what = "a group" if target else "not a unit of this directory"
            reader.error(supervisor_node.line, "unknown-unit", "supervisor",
                         f"supervisor {supervisor!r} is {what}; it must name one unit (it receives escalations)"
                         + (f" (did you mean {' or '.join(repr(h) for h in hint)}?)" if hint else ""))
