"""A strict YAML reader for declarative data (plan files, unit directories).

Plain ``yaml.safe_load`` is the wrong tool for hand-written government data:
YAML 1.1 turns ``NO`` into ``False`` and ``010`` into ``8``, reads
``2016-06-23`` as a date object, and silently keeps the *last* of two
duplicate keys. A clerk who types ``no: 010`` or a unit named ``NO`` gets a
file that loads and means something else.

So this module never constructs Python objects from YAML. It reads the
parser's *event stream* and builds its own small node tree in which every
scalar is the text as written, and every node keeps its line and column.
Everything YAML offers beyond plain data is refused with a stable code:

=====================  ====================================================
``yaml-syntax``        the text is not YAML (with the parser's line)
``yaml-encoding``      the file is not UTF-8
``yaml-empty``         the file holds no document
``yaml-multi-document`` more than one ``---`` document
``yaml-tag``           an explicit tag (``!!int``, ``!!python/object``, ``!x``)
``yaml-alias``         an anchor (``&a``) or an alias (``*a``)
``duplicate-key``      a key written twice in one mapping
``non-string-key``     a mapping or sequence used as a key
``yaml-too-deep``      nesting deeper than :data:`MAX_DEPTH` levels
``yaml-too-large``     a file over :data:`MAX_BYTES` bytes
=====================  ====================================================

Hostile files cost nothing (issue 14, row 9): an alias is refused *before*
expansion (it stands for an empty scalar in the tree, never for the anchored
node, so nested aliases cannot multiply), nesting is counted while reading
events (the subtree past the limit is skipped without recursion, so no
``RecursionError``), and a file over the size limit is not parsed at all.

Schema checks (types, required and unknown fields with a "did you mean")
are done by :class:`NodeReader`, which callers drive field by field so that
every problem of a file is collected, not just the first.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias
from collections.abc import Iterable, Iterator, Sequence

import yaml

# libyaml's parser is ~10x faster; both give the same events and marks.
_BaseLoader: type = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

#: The deepest nesting a data file may use: plan files need about 8 levels.
MAX_DEPTH = 64
#: The largest data file read: the seed plan is ~60 KB.
MAX_BYTES = 8 * 1024 * 1024
_OPENERS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSERS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


# --------------------------------------------------------------------------- diagnostics

@dataclass(frozen=True, kw_only=True, slots=True)
class Diagnostic:
    """One problem found in a data file: where, a stable code, and what to do.

    ``line`` is 1-based; ``path`` is the location inside the document
    (``tasks[2].requirements[0].units``), empty for file-level problems.
    """

    file: str
    line: int
    code: str
    path: str
    message: str

    def format(self) -> str:
        """The one-line form ``FILE:LINE: CODE path: message`` that editors can jump to."""
        where = f"{self.code} {self.path}" if self.path else self.code
        return f"{self.file}:{self.line}: {where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "code": self.code, "path": self.path,
                "message": self.message}

    def __str__(self) -> str:
        return self.format()


# --------------------------------------------------------------------------- nodes

@dataclass(frozen=True, kw_only=True, slots=True)
class YamlScalar:
    """A scalar exactly as written; ``plain`` is False for quoted and block scalars."""

    value: str
    line: int
    column: int
    plain: bool = True

    kind_name = "text"


@dataclass(frozen=True, kw_only=True, slots=True)
class YamlSeq:
    """A sequence of nodes."""

    items: tuple[YamlNode, ...]
    line: int
    column: int

    kind_name = "list"


@dataclass(frozen=True, kw_only=True, slots=True)
class YamlMap:
    """A mapping with string keys, in file order; duplicate keys keep the first."""

    entries: tuple[tuple[YamlScalar, YamlNode], ...]
    line: int
    column: int
    index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    kind_name = "mapping"

    def __post_init__(self) -> None:
        if not self.index:
            for i, (key, _value) in enumerate(self.entries):
                self.index.setdefault(key.value, i)

    def get(self, key: str) -> YamlNode | None:
        """The value under ``key`` (the first one if it was duplicated)."""
        i = self.index.get(key)
        return None if i is None else self.entries[i][1]

    def key_node(self, key: str) -> YamlScalar | None:
        i = self.index.get(key)
        return None if i is None else self.entries[i][0]

    def keys(self) -> Iterator[str]:
        return (key.value for key, _ in self.entries)


YamlNode: TypeAlias = YamlScalar | YamlSeq | YamlMap

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


def to_plain(node: YamlNode, *, nulls: bool = False) -> Any:
    """The node as plain ``dict``/``list``/``str`` values.

    With ``nulls``, an unquoted ``null``/``~``/empty scalar becomes ``None``:
    used for embedded JSON-shaped data (a spec override) whose contract has
    ``null``. Nothing else is ever coerced.
    """
    if isinstance(node, YamlScalar):
        if nulls and node.plain and node.value in _NULLS:
            return None
        return node.value
    if isinstance(node, YamlSeq):
        return [to_plain(item, nulls=nulls) for item in node.items]
    return {key.value: to_plain(value, nulls=nulls) for key, value in node.entries}


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def node_at(node: YamlNode, path: str) -> YamlNode | None:
    """The node at a relative path such as ``parts[1].offset``, or None."""
    current: YamlNode | None = node
    for match in _PATH_PART.finditer(path):
        if current is None:
            return None
        key, index = match.group(1), match.group(2)
        if key is not None:
            current = current.get(key) if isinstance(current, YamlMap) else None
        else:
            i = int(index)
            current = current.items[i] if isinstance(current, YamlSeq) and i < len(current.items) else None
    return current


def join_path(base: str, key: str | int) -> str:
    """``plan`` + ``id`` → ``plan.id``; ``tasks`` + 3 → ``tasks[3]``."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


# --------------------------------------------------------------------------- loading

class _Composer:
    """Builds the node tree from parser events, collecting every refusal."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.depth = 0

    def report(self, mark: Any, code: str, path: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(file=self.file, line=mark.line + 1, code=code, path=path,
                                           message=message))

    def check_props(self, event: Any, path: str) -> None:
        tag = getattr(event, "tag", None)
        if tag is not None:
            if tag.startswith("tag:yaml.org,2002:"):
                tag = "!!" + tag.removeprefix("tag:yaml.org,2002:")
            self.report(event.start_mark, "yaml-tag", path,
                        f"explicit tag {tag!r} is not allowed; write the plain value (every scalar is read as text)")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.report(event.start_mark, "yaml-alias", path,
                        f"anchor &{anchor} is not allowed; write the value out in full")

    def compose(self, path: str) -> YamlNode:
        event = self.loader.get_event()
        mark = event.start_mark
        line, column = mark.line + 1, mark.column + 1
        if isinstance(event, yaml.AliasEvent):
            # Never expanded: an empty scalar stands in (one error, no cascade, no billion laughs).
            self.report(mark, "yaml-alias", path,
                        f"alias *{event.anchor} is not allowed; write the value out in full")
            return YamlScalar(value="", line=line, column=column)
        self.check_props(event, path)
        if isinstance(event, yaml.ScalarEvent):
            return YamlScalar(value=event.value, line=line, column=column, plain=not event.style)
        if self.depth >= MAX_DEPTH:
            self.report(mark, "yaml-too-deep", path,
                        f"nesting deeper than {MAX_DEPTH} levels; a data file never needs this many")
            self.skip_subtree()
            return YamlScalar(value="", line=line, column=column)
        self.depth += 1
        try:
            if isinstance(event, yaml.SequenceStartEvent):
                items: list[YamlNode] = []
                while not self.loader.check_event(yaml.SequenceEndEvent):
                    items.append(self.compose(join_path(path, len(items))))
                self.loader.get_event()
                return YamlSeq(items=tuple(items), line=line, column=column)
            return self.compose_mapping(event, path)
        finally:
            self.depth -= 1

    def skip_subtree(self) -> None:
        """Consume the events of a collection whose start was just read, iteratively."""
        open_ = 1
        while open_:
            event = self.loader.get_event()
            if isinstance(event, _OPENERS):
                open_ += 1
            elif isinstance(event, _CLOSERS):
                open_ -= 1

    def compose_mapping(self, event: Any, path: str) -> YamlMap:
        mark = event.start_mark
        entries: list[tuple[YamlScalar, YamlNode]] = []
        seen: dict[str, int] = {}
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_event = self.loader.peek_event()
            key = self.compose(join_path(path, "?"))
            if not isinstance(key, YamlScalar):
                self.report(key_event.start_mark, "non-string-key", path,
                            f"a {key.kind_name} is used as a key ({to_plain(key)!r}); keys must be plain text")
                self.compose(path)
                continue
            value = self.compose(join_path(path, key.value))
            if key.value in seen:
                self.report(key_event.start_mark, "duplicate-key", join_path(path, key.value),
                            f"key {key.value!r} is written twice (first at line {seen[key.value]}); "
                            "remove one (YAML loaders would silently keep the last)")
                continue
            seen[key.value] = key.line
            entries.append((key, value))
        self.loader.get_event()
        return YamlMap(entries=tuple(entries), line=mark.line + 1, column=mark.column + 1)


def parse_yaml(text: str, *, file: str) -> tuple[YamlNode | None, tuple[Diagnostic, ...]]:
    """Parse one YAML document strictly; never raises for bad content.

    Returns the root node (None when the text cannot be read as one
    document) and every refusal found. A node tree is returned even with
    refusals (tags, anchors, duplicate keys), so callers can go on checking
    the rest of the file and report everything at once.
    """
    if len(text) > MAX_BYTES:
        return None, (Diagnostic(file=file, line=1, code="yaml-too-large", path="",
                                 message=f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB; "
                                         f"a data file is never this large"),)
    loader = _BaseLoader(text)
    composer = _Composer(loader, file)
    root: YamlNode | None = None
    try:
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            composer.diagnostics.append(Diagnostic(file=file, line=1, code="yaml-empty", path="",
                                                   message="the file holds no YAML document"))
            return None, tuple(composer.diagnostics)
        loader.get_event()  # DocumentStart
        root = composer.compose("")
        loader.get_event()  # DocumentEnd
        if loader.check_event(yaml.DocumentStartEvent):
            extra = loader.peek_event()
            composer.report(extra.start_mark, "yaml-multi-document", "",
                            "a second YAML document starts here; a data file holds exactly one "
                            "(remove the '---' and merge, or split the file)")
            while not loader.check_event(yaml.StreamEndEvent):
                loader.get_event()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        context = exc.context
        if context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            context += f" (started at line {exc.context_mark.line + 1})"
        problem = "; ".join(part for part in (context, exc.problem) if part)
        diag = Diagnostic(file=file, line=line, code="yaml-syntax", path="",
                          message=f"not valid YAML: {problem or exc}")
        return None, (*composer.diagnostics, diag)
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        mark = getattr(exc, "position", None)
        line = text.count("\n", 0, mark) + 1 if isinstance(mark, int) else 1
        return None, (*composer.diagnostics,
                      Diagnostic(file=file, line=line, code="yaml-syntax", path="", message=f"not valid YAML: {exc}"))
    finally:
        loader.dispose()
    return root, tuple(composer.diagnostics)


def read_yaml(path: Path, *, display: str | None = None) -> tuple[YamlNode | None, tuple[Diagnostic, ...]]:
    """Read and parse a file strictly (UTF-8, an optional BOM tolerated)."""
    name = display if display is not None else str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            return None, (Diagnostic(file=name, line=1, code="yaml-too-large", path="",
                                     message=f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB; "
                                             f"a data file is never this large"),)
        raw = path.read_bytes()
    except OSError as exc:
        return None, (Diagnostic(file=name, line=1, code="unreadable", path="",
                                 message=f"cannot read the file: {exc.strerror or exc}"),)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, (Diagnostic(file=name, line=line, code="yaml-encoding", path="",
                                 message=f"the file is not UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                                 "save it as UTF-8"),)
    return parse_yaml(text, file=name)


# --------------------------------------------------------------------------- schema helpers

def did_you_mean(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the closest candidates, or an empty string."""
    pool = list(dict.fromkeys(candidates))
    close = difflib.get_close_matches(word, pool, n=3, cutoff=cutoff)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def describe(node: YamlNode, limit: int = 60) -> str:
    """A short ``!r`` rendering of a node's value for messages."""
    text = repr(to_plain(node))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class NodeReader:
    """Reads typed values out of a node tree, collecting every problem.

    Each accessor returns ``None`` after reporting when the node does not
    have the expected form, so callers go on with the next field instead
    of stopping at the first problem (the Terraform/pydantic habit).
    """

    def __init__(self, file: str, *, explained: Iterable[Diagnostic] = ()) -> None:
        self.file = file
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        # Places the YAML layer already reported (a refused alias stands in as an empty
        # scalar): no second error there, so one defect gives one message, not a cascade.
        self.explained = frozenset((d.line, d.path) for d in explained)

    def error(self, line: int, code: str, path: str, message: str) -> None:
        if (line, path) in self.explained:
            return
        self.errors.append(Diagnostic(file=self.file, line=line, code=code, path=path, message=message))

    def warn(self, line: int, code: str, path: str, message: str) -> None:
        self.warnings.append(Diagnostic(file=self.file, line=line, code=code, path=path, message=message))

    def wrong_type(self, node: YamlNode, path: str, expected: str) -> None:
        self.error(node.line, "wrong-type", path, f"expected {expected}, got a {node.kind_name}: {describe(node)}")

    def mapping(self, node: YamlNode | None, path: str, *, required: Sequence[str] = (),
                optional: Sequence[str] = (), what: str = "a mapping") -> dict[str, YamlNode] | None:
        """Check a mapping's keys: every required key present, no unknown key.

        Returns the known fields present (unknown ones are reported and
        dropped), or None when the node is not a mapping at all.
        """
        if node is None:
            return None
        if not isinstance(node, YamlMap):
            self.wrong_type(node, path, what)
            return None
        allowed = (*required, *optional)
        out: dict[str, YamlNode] = {}
        misspelt: set[str] = set()
        for key, value in node.entries:
            if key.value in allowed:
                out[key.value] = value
            else:
                close = difflib.get_close_matches(key.value, allowed, n=1, cutoff=0.6)
                misspelt.update(close)
                self.error(key.line, "unknown-field", join_path(path, key.value),
                           f"unknown field {key.value!r}{did_you_mean(key.value, allowed)}; "
                           f"allowed here: {', '.join(allowed)}")
        for name in required:
            # A misspelt key ("titel") already says what is missing: one defect, one error.
            if name not in out and name not in misspelt:
                self.error(node.line, "missing-field", join_path(path, name),
                           f"required field {name!r} is missing")
        return out

    def sequence(self, node: YamlNode | None, path: str, *, what: str = "a list",
                 empty_code: str | None = "empty-list") -> tuple[YamlNode, ...] | None:
        """A list node's items; an empty list is reported with ``empty_code`` unless None."""
        if node is None:
            return None
        if not isinstance(node, YamlSeq):
            self.wrong_type(node, path, what)
            return None
        if not node.items and empty_code is not None:
            self.error(node.line, empty_code, path, f"expected {what} with at least one item, got []")
        return node.items

    def text(self, node: YamlNode | None, path: str, *, allow_empty: bool = False,
             what: str = "text") -> str | None:
        """A text scalar; an empty one is ``empty-value`` unless allowed."""
        if node is None:
            return None
        if not isinstance(node, YamlScalar):
            self.wrong_type(node, path, what)
            return None
        if not allow_empty and not node.value.strip():
            self.error(node.line, "empty-value", path, f"expected {what}, got an empty value {node.value!r}")
            return None
        return node.value

    def matching(self, node: YamlNode | None, path: str, pattern: re.Pattern[str], *, code: str,
                 what: str) -> str | None:
        """A text scalar that must fully match ``pattern`` (ids, numbers, dates)."""
        value = self.text(node, path, what=what)
        if value is None or node is None:
            return None
        if not pattern.fullmatch(value):
            self.error(node.line, code, path, f"{value!r} is not {what}")
            return None
        return value

    def choice(self, node: YamlNode | None, path: str, choices: Sequence[str]) -> str | None:
        """One of a fixed set of words (``cell``/``text``/``inherited``...)."""
        value = self.text(node, path, what=f"one of {', '.join(choices)}")
        if value is None or node is None:
            return None
        if value not in choices:
            self.error(node.line, "bad-choice", path,
                       f"{value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices, cutoff=0.5)}")
            return None
        return value

    def boolean(self, node: YamlNode | None, path: str) -> bool | None:
        """Only ``true``/``false``: YAML 1.1's yes/no/on/off are refused, not guessed."""
        value = self.text(node, path, what="true or false")
        if value is None or node is None:
            return None
        if value not in ("true", "false"):
            self.error(node.line, "bad-bool", path,
                       f"{value!r} is not true or false (yes/no/on/off are not accepted: write true or false)")
            return None
        return value == "true"
