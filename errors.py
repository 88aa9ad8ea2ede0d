"""One error root for duban, with subclasses a caller would catch by category.

Every error carries the identifiers a person needs to find the problem (the
phrase, the year, the file and line) in its message, quoted with ``!r``.
"""

from __future__ import annotations


class DubanError(Exception):
    """Root of every error duban raises on purpose."""


class CalendarYearMissing(DubanError, LookupError):
    """A working-day computation needs a year the calendar table does not cover.

    duban never falls back to plain weekdays: the official calendar for a year
    is only known once the State Council publishes its holiday notice.
    """

    def __init__(self, year: int, covered: tuple[int, int] | None = None) -> None:
        self.year = year
        self.covered = covered
        span = f" (covered: {covered[0]}–{covered[1]})" if covered else ""
        super().__init__(
            f"the working-day calendar has no data for year {year}{span}; "
            f"add rules/calendars/cn/{year}.yaml from the State Council's holiday notice "
            f"for {year} (see docs/calendar.md, 'Adding a year')"
        )


class CalendarDataError(DubanError, ValueError):
    """A calendar data file is malformed (bad date, overlapping entries, ...)."""


class SpecError(DubanError, ValueError):
    """A deadline spec (JSON/YAML form) is malformed.

    ``path`` is the dotted location inside the spec, e.g. ``parts[1].offset``.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class PhraseError(DubanError, ValueError):
    """A deadline phrase could not be read, or names an impossible date.

    ``code`` is stable (``unknown-phrase``, ``impossible-date``, ...) so tools
    and tests can match on it; ``known_forms`` lists what the compiler reads.
    """

    def __init__(self, phrase: str, message: str, *, code: str = "unknown-phrase",
                 known_forms: tuple[str, ...] = ()) -> None:
        self.phrase = phrase
        self.code = code
        self.known_forms = known_forms
        text = f"cannot read deadline phrase {phrase!r}: {message}"
        if known_forms:
            text += "\nknown forms:\n" + "\n".join(f"  - {form}" for form in known_forms)
        super().__init__(text)
