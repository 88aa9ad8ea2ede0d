"""Drafting plan files from a notice's extracted text (起草方案文件): ``duban plan draft``.

Every year a city issues a new work plan (工作方案) and every county copies
it down; typing 29 tasks, ~90 requirements, their lead units and deadlines
into a plan file by hand takes days and invites mistakes. The notices arrive
as PDF or web text, with the noise of extraction: spaces inside words,
half- and full-width punctuation mixed, the table's header repeated on every
page, a task continued on the next page under its number and title again,
merged cells that come out blank, several numbered items in one cell, rows
shifted by a line. This module reads such text and writes one draft plan
file per notice, in the format of ``docs/plan-format.md``.

The drafter is honest about confidence: it never hides an inference. Every
value it did not read literally (a unit or deadline taken from a blank
merged cell, a requirement moved to another task because its subject says
so, a cell shared by several requirements, a deadline found inside a
requirement's text, an ambiguous phrase, a garbled unit name) carries a
review note (``status: open``) tagged like the hand-encoded seed plans
(【继承】【错位】【拆分】【正文时限】【待核】【原文疑误】【标题异文】, see
``docs/seed-decisions.md``; plus 【正文未列】 for body sentences that read like
duties but carry no deadline). So ``duban plan validate`` passes with warnings,
``--strict`` fails until a person has confirmed every note, and a draft can
be imported to look at.

Two choices keep a draft importable without guessing who owes a duty:

* a units-cell name that is not in the units directory is left out of
  ``units:`` and kept, with a "did you mean", in a review note; only when
  *no* name of a cell resolves is the raw cell written, so that validation
  fails (``unknown-unit``) until the unit is added to the directory;
* a deadline phrase the compiler cannot read is kept verbatim with an
  explicit placeholder spec (open-ended ongoing work) and a review note
  asking for the real reading.

The pipeline has three layers, each testable alone, one module each (this
module holds the public entry points and re-exports the values):

1. :func:`read_notices` (:mod:`.tabtext`) — text to :class:`NoticeText`
   records (head, body sentences, table rows with broken cells joined,
   annex), no inference;
2. :func:`draft_plans` — records to :class:`DraftPlan` values
   (:mod:`.values`): :mod:`.drafter` matches units against a
   :class:`UnitDirectory` and compiles phrases with
   :func:`duban.engine.deadlines.phrases.compile_phrase`, :mod:`.table_rows`
   turns the table into tasks and requirements, :mod:`.notice_text` adds the
   body's duties, deadlines found in the text by
   :func:`~duban.engine.deadlines.phrases.extract_text_deadlines`, triggers
   and the plan's head;
3. :func:`render_yaml` / :func:`write_drafts` (:mod:`.yamlout`) — the plan
   file text.

Notices in other layouts and formats (HTML, Word, Excel, outlines) are read
by :mod:`.formats` and :mod:`.layout` and drafted by :mod:`.notice` into the
same values.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import DubanError
from ..deadlines.phrases import WorkdayCounter
from ..plans.units import UnitDirectory
from .notice_text import NoticeDrafter
from .tabtext import NoticeText, TableRow, read_notices
from .textutil import key as _key, split_items, tidy
from .values import (
    SUBJECTS,
    DraftDeadline,
    DraftOutputError,
    DraftPlan,
    DraftRequirement,
    DraftSummary,
    DraftTask,
    NoticeReadError,
    ReviewNote,
)
from .yamlout import render_yaml, write_drafts

__all__ = [
    "DraftDeadline",
    "DraftOutputError",
    "DraftPlan",
    "DraftRequirement",
    "DraftSummary",
    "DraftTask",
    "NoticeReadError",
    "NoticeText",
    "ReviewNote",
    "SUBJECTS",
    "TableRow",
    "choose_directory",
    "draft_plans",
    "read_notices",
    "render_yaml",
    "split_items",
    "tidy",
    "write_drafts",
]


def draft_plans(text: str, *, directory: UnitDirectory, source: str = "<text>",
                calendar: WorkdayCounter | None = None) -> tuple[tuple[DraftPlan, ...], tuple[str, ...]]:
    """Draft one plan per notice in ``text``; returns the plans and warnings.

    ``directory`` is the units directory the plans name (``plan.units``);
    ``calendar`` counts working days for relative deadlines (default: the
    shipped calendar). Raises :class:`NoticeReadError` when the text holds
    no notice, or no notice with anything to draft (no table and no body
    sentence with a deadline).
    """
    notices, warnings = read_notices(text, source=source)
    plans: list[DraftPlan] = []
    problems: list[str] = list(warnings)
    used: set[str] = set()
    for notice in notices:
        plan = NoticeDrafter(notice, directory, calendar).draft(directory_id=directory.id, used_ids=used,
                                                                 source=source)
        if plan is None:
            problems.append(f"the notice dated {notice.published.isoformat()} (lines {notice.first_line}–"
                            f"{notice.last_line}) has no table (header '序号 工作任务 具体要求 牵头落实单位 完成时限') "
                            "and no body sentence with a deadline: nothing to draft")
        else:
            plans.append(plan)
    if not plans:
        raise NoticeReadError(source, "; ".join(problems))
    return tuple(plans), tuple(problems)


def choose_directory(candidates: Sequence[UnitDirectory], text: str, *, wanted: str | None = None) -> UnitDirectory:
    """The units directory a notice text belongs to.

    ``wanted`` (``--units``) picks by id. Otherwise a single candidate is
    used; with several, the one whose ``name`` (揭阳市) the text mentions
    most. Raises :class:`LookupError` (a :class:`DubanError`) naming the
    candidates when the choice is not clear.
    """
    ids = [d.id for d in candidates]
    if wanted is not None:
        for directory in candidates:
            if directory.id == wanted:
                return directory
        raise _DirectoryChoiceError(f"units directory {wanted!r} not found; known: {', '.join(ids) or '(none)'}")
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise _DirectoryChoiceError("no units directory found (rules/units/<id>.yaml); pass --units-dir")
    key = _key(text)
    counts = sorted(((key.count(_key(d.name)) if d.name else 0, d.id) for d in candidates), reverse=True)
    if counts[0][0] > 0 and counts[0][0] > counts[1][0]:
        return next(d for d in candidates if d.id == counts[0][1])
    raise _DirectoryChoiceError(f"cannot tell which units directory the notice belongs to ({', '.join(ids)}); "
                                "pass --units ID")


class _DirectoryChoiceError(DubanError, LookupError):
    """No units directory, or several and the notice does not say which."""


