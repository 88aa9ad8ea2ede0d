"""``duban plan draft NOTICE [-o DIR]``: draft plan files from a notice (.txt, .html, .docx, .xlsx).

Attached to the ``plan`` group by :func:`plan_draft_command` (as
``store_cmd.plan_import_command`` attaches ``import``). Exit codes follow the
CLI contract: 0 drafts written (a summary on stdout, warnings on stderr),
1 the file holds no readable notice (the message names the line and what was
expected), the format is not read (.doc/.pdf: the message says what to export
to), or a draft would overwrite a file (nothing is written), 2 usage error.

Two readers: the seed's tab table (序号 工作任务 具体要求 牵头落实单位 完成时限) with a
units directory goes through :func:`~duban.engine.drafting.draft.draft_plans`;
every other layout and format through
:func:`~duban.engine.drafting.notice.draft_document`. When no units directory
fits the notice (a new government), a units directory is drafted beside the plan
(``units/<id>.yaml``) and the plan names it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from ..engine.drafting.draft import (
    DraftOutputError,
    DraftPlan,
    DraftSummary,
    NoticeReadError,
    choose_directory,
    draft_plans,
    write_drafts,
)
from ..engine.drafting.formats import read_document
from ..engine.drafting.notice import draft_document, draft_units, render_units_yaml
from ..errors import DubanError
from ..engine.plans.units import UnitDirectory, load_directory
from .context import EXIT_INVALID, app


def _directories(folders: list[Path]) -> tuple[list[UnitDirectory], list[str]]:
    """Every usable units directory in ``folders``, and why the others are not usable."""
    found: list[UnitDirectory] = []
    problems: list[str] = []
    seen: set[str] = set()
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            load = load_directory(path)
            if load.directory is None or load.errors:
                problems.append(f"units directory {str(path)!r} has {len(load.errors)} error(s) "
                                "(`duban plan validate` lists them); not used")
            elif load.directory.id not in seen:
                seen.add(load.directory.id)
                found.append(load.directory)
    return found, problems


def _line(summary: DraftSummary) -> str:
    return (f"{summary.tasks} task(s), {summary.requirements} requirement(s); units: "
            f"{len(summary.units_matched)} matched, {len(summary.units_unknown)} unknown"
            f"{f' ({len(summary.units_repaired)} garbled name(s) read)' if summary.units_repaired else ''}; "
            f"deadlines: {summary.deadlines_compiled} compiled, {summary.deadlines_ambiguous} ambiguous, "
            f"{summary.deadlines_unreadable} unreadable ({summary.deadlines_from_text} from requirement texts, "
            f"{summary.deadlines_inherited} inherited from merged cells); {summary.review_notes} review note(s)")


def _totals(summaries: list[DraftSummary]) -> dict[str, Any]:
    tags: Counter[str] = Counter()
    for s in summaries:
        tags.update(s.review_tags)
    return {
        "plans": len(summaries),
        "tasks": sum(s.tasks for s in summaries),
        "requirements": sum(s.requirements for s in summaries),
        "units": {"matched": len({n for s in summaries for n in s.units_matched}),
                  "unknown": sorted({n for s in summaries for n in s.units_unknown})},
        "deadlines": {key: sum(s.to_json()["deadlines"][key] for s in summaries)
                      for key in ("compiled", "ambiguous", "unreadable", "from_text", "inherited")},
        "review_notes": sum(s.review_notes for s in summaries),
        "review_tags": dict(sorted(tags.items())),
        "blocking": [b for s in summaries for b in s.blocking],
    }


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message}, ensure_ascii=False, indent=2))
    click.echo(f"error: {message}", err=True)
    click.get_current_context().exit(EXIT_INVALID)


def plan_draft_command(plan: click.Group) -> None:
    """Attach ``draft`` to the ``plan`` group."""

    @plan.command("draft")
    @click.argument("notice", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                  show_default=True, help="Folder for the drafts (<plan id>.yaml); created if missing.")
    @click.option("--units", "units_id", help="Units directory id (default: the one whose name the notice uses).")
    @click.option("--units-dir", "units_dirs", multiple=True,
                  type=click.Path(exists=True, file_okay=False, path_type=Path),
                  help="Folder of units directories; repeatable. Default: the configured plans.units_dirs.")
    @click.option("--source", "source_label", help="The plan's `source:` (default: NOTICE as given).")
    @click.option("--force", is_flag=True, help="Overwrite existing drafts (a reviewed draft would be lost).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
    def draft(notice: Path, out_dir: Path, units_id: str | None, units_dirs: tuple[Path, ...],
              source_label: str | None, force: bool, as_json: bool) -> None:
        """Draft plan files from a notice (起草): .txt, .html, .docx or .xlsx.

        Finds the plan by its structure: a table whose header names the columns in
        any common wording and order (工作任务/重点任务, 具体要求/工作内容, 牵头单位/责任单位/
        责任科室, 配合单位/协办单位, 完成时限/时间要求…; merged cells read from the file),
        an outline (一、（一）1.（1）) with units inline or on 牵头单位：/责任单位： lines,
        and duties in the covering text. Lead units go to `units:`, 配合单位 to
        `co_units:`; deadline phrases are compiled. A notice from a government with no
        units directory gets one drafted too (units/<id>.yaml: every unit named, groups
        awaiting members). Every inference carries an open review note: `duban plan
        validate` warns until confirmed, `--strict` fails. A .doc/.pdf is refused with
        the format to export to. Workflow: docs/drafting.md.
        """
        application = app()
        folders = list(units_dirs) or list(application.settings.units_dirs)
        directories, problems = _directories(folders)
        units_file: Path | None = None
        try:
            calendar = application.calendar
            source = source_label or str(notice)
            document = read_document(notice, source=source)
            plans, warnings, directory_id, units_file = _draft(document, directories, units_id, calendar,
                                                               out_dir, force)
            paths = write_drafts(plans, out_dir, force=force)
            if units_file is not None:
                units_file.parent.mkdir(parents=True, exist_ok=True)
                units_file.write_text(render_units_yaml(draft_units(plans, directory_id=directory_id,
                                                                    name=plans[0].issuer)), encoding="utf-8")
        except DubanError as exc:
            for problem in problems:
                click.echo(f"warning: {problem}", err=True)
            _fail(str(exc), as_json)
            return
        except OSError as exc:
            _fail(f"cannot read {str(notice)!r}: {exc.strerror}", as_json)
            return
        directory = _Named(directory_id)
        for message in (*problems, *warnings):
            click.echo(f"warning: {message}", err=True)
        summaries = [plan.summary() for plan in plans]
        if as_json:
            click.echo(json.dumps({
                "ok": True,
                "units_directory": directory.id,
                "units_file": str(units_file) if units_file else None,
                "plans": [_plan_json(plan, path, summary)
                          for plan, path, summary in zip(plans, paths, summaries, strict=True)],
                "totals": _totals(summaries),
                "warnings": [*problems, *warnings],
            }, ensure_ascii=False, indent=2))
            return
        _print_report(plans, paths, summaries, units_file, out_dir)


def _print_report(plans: tuple[DraftPlan, ...], paths: tuple[Path, ...], summaries: list[DraftSummary],
                  units_file: Path | None, out_dir: Path) -> None:
    """The human-readable outcome of ``plan draft``: what was written, what blocks an import, what next."""
    if units_file is not None:
        click.echo(f"wrote {units_file}: units directory draft (no directory fitted the notice); "
                   "fill in group members and addresses, then move it to rules/units/")
    for plan, path, summary in zip(plans, paths, summaries, strict=True):
        click.echo(f"wrote {path}: {plan.published.isoformat()} {plan.doc_number or '(no 文号)'} {plan.title}")
        click.echo(f"  {_line(summary)}")
        for reason in summary.blocking:
            click.echo(f"  must fix before import: {reason}")
    totals = _totals(summaries)
    tags = ", ".join(f"{tag} {n}" for tag, n in totals["review_tags"].items())
    click.echo(f"{totals['plans']} plan(s) drafted: {totals['requirements']} requirements, "
               f"{totals['review_notes']} open review notes ({tags})")
    click.echo(f"next: confirm every `status: open` note against the notice, then "
               f"`duban plan validate {out_dir} --strict` and `duban plan import {out_dir}`")


def _plan_json(plan: DraftPlan, path: Path, summary: DraftSummary) -> dict[str, Any]:
    return {
        "file": str(path),
        "id": plan.id,
        "title": plan.title,
        "doc_number": plan.doc_number,
        "issuer": plan.issuer,
        "published": plan.published.isoformat(),
        "plan_year": plan.plan_year,
        "lines": [plan.first_line, plan.last_line],
        "summary": summary.to_json(),
    }


class _Named:
    """The id of the units directory the drafts name (a loaded one, or the one drafted)."""

    def __init__(self, directory_id: str) -> None:
        self.id = directory_id


def _draft(document: Any, directories: list[UnitDirectory], units_id: str | None, calendar: Any, out_dir: Path,
           force: bool) -> tuple[tuple[DraftPlan, ...], tuple[str, ...], str, Path | None]:
    """The plans, warnings, units directory id and the units file to write (None: an existing directory)."""
    text = document.text
    directory: UnitDirectory | None = None
    try:
        directory = choose_directory(directories, text, wanted=units_id)
    except DubanError:
        if units_id is not None:
            raise
    if directory is not None and units_id is None and directory.name and directory.name not in text:
        directory = None  # the only directory known belongs to another government
    if directory is not None and document.kind == "txt":
        try:
            plans, warnings = draft_plans(text, directory=directory, source=document.source, calendar=calendar)
            return plans, warnings, directory.id, None
        except NoticeReadError:
            pass
    plan = draft_document(document, directory=directory, units_id=units_id, calendar=calendar)
    if directory is not None:
        return (plan,), (), directory.id, None
    units_file = out_dir / "units" / f"{plan.units_id}.yaml"
    if units_file.exists() and not force:
        raise DraftOutputError([units_file])
    return (plan,), (), plan.units_id, units_file
