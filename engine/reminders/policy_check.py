"""Reading plain policy data strictly: every problem collected, with file, line and field path.

Split from :mod:`.policy` (which defines what a policy *is*): the checker
knows only diagnostics and value shapes, so both the policy file reader and
the deployment overrides use it without knowing each other.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import DubanError
from ..common.strictyaml import Diagnostic, YamlNode, node_at

#: Upper bound for every day count in a policy: about four working years.
#: It keeps the rule arithmetic (repeat index × interval) far from overflow
#: in the rules engine's C integers, and a larger number is a typo anyway.
MAX_DAYS = 1000

_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class PolicyError(DubanError, ValueError):
    """The policy file or its overrides are invalid; lists every problem.

    ``diagnostics`` holds one :class:`~duban.engine.common.strictyaml.Diagnostic`
    per problem (file, line, stable code, field path, message naming the
    stage), so a CLI can print them and a test can match codes.
    """

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("invalid reminder policy:\n" + "\n".join(d.format() for d in self.diagnostics))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.diagnostics)


class Checker:
    """Collects diagnostics while reading plain data (text from YAML, or native values)."""

    def __init__(self, file: str, root: YamlNode | None) -> None:
        self.file = file
        self.root = root
        self.problems: list[Diagnostic] = []

    def line(self, path: str) -> int:
        if self.root is None:
            return 1
        parts = path.split(".")
        while parts:
            node = node_at(self.root, ".".join(parts))
            if node is not None:
                return node.line
            parts.pop()
        return self.root.line

    def error(self, path: str, code: str, message: str, *, stage: str | None = None) -> None:
        if stage is not None:
            message = f"stage {stage!r}: {message}"
        self.problems.append(Diagnostic(file=self.file, line=self.line(path), code=code, path=path,
                                        message=message))

    def mapping(self, value: Any, path: str, allowed: Sequence[str], required: Sequence[str] = (),
                *, stage: str | None = None) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.error(path, "wrong-type", f"expected a mapping, got {value!r}", stage=stage)
            return None
        misspelt: set[str] = set()
        for key in value:
            if key not in allowed:
                misspelt.update(difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6))
                self.error(f"{path}.{key}" if path else str(key), "unknown-field",
                           f"unknown field {key!r}{did_you_mean(str(key), allowed)}; "
                           f"allowed here: {', '.join(allowed)}", stage=stage)
        for key in required:
            if key not in value and key not in misspelt:
                self.error(f"{path}.{key}" if path else key, "missing-field",
                           f"required field {key!r} is missing", stage=stage)
        return {key: value[key] for key in allowed if key in value}

    def integer(self, value: Any, path: str, *, low: int, high: int = MAX_DAYS,
                stage: str | None = None, what: str = "a whole number of working days") -> int | None:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.error(path, "bad-int", f"expected {what}, got {value!r}", stage=stage)
            return None
        if isinstance(value, str):
            if not _DECIMAL.fullmatch(value.strip()):
                hint = " (no leading zeros: YAML 1.1 would read 010 as 8)" if re.fullmatch(r"0[0-9]+", value) else ""
                self.error(path, "bad-int", f"expected {what}, got {value!r}{hint}",
                           stage=stage)
                return None
            number = int(value)
        else:
            number = value
        if not low <= number <= high:
            self.error(path, "out-of-range", f"expected {what} in {low}..{high}, got {value!r}", stage=stage)
            return None
        return number

    def boolean(self, value: Any, path: str, *, stage: str | None = None) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        self.error(path, "bad-bool", f"expected true or false, got {value!r} "
                   "(yes/no/on/off are not accepted)", stage=stage)
        return None

    def choice(self, value: Any, path: str, choices: Sequence[str], *, stage: str | None = None) -> str | None:
        if isinstance(value, str) and value in choices:
            return value
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        self.error(path, "bad-choice", f"{value!r} is not one of {', '.join(choices)}{hint}", stage=stage)
        return None

    def text(self, value: Any, path: str, *, stage: str | None = None) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.error(path, "empty-value" if isinstance(value, str) else "wrong-type",
                   f"expected non-empty text, got {value!r}", stage=stage)
        return None


def did_you_mean(word: str, candidates: Sequence[str] | Any) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=2, cutoff=0.6)
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)" if close else ""
