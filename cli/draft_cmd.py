"""``duban plan draft NOTICE.txt [-o DIR]``: draft plan files from a notice's extracted text.

Attached to the ``plan`` group by :func:`plan_draft_command` (as
``store_cmd.plan_import_command`` attaches ``import``). Exit codes follow the
CLI contract: 0 drafts written (a summary on stdout, warnings on stderr),
1 the text holds no readable notice, the units directory is unclear, or a
draft would overwrite a file (nothing is written), 2 usage error.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from ..engine.drafting.draft import DraftPlan, DraftSummary, choose_directory, draft_plans, write_drafts
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
        """Draft plan files from a notice's extracted text (起草), one per notice found.

        Reads title, 文号, body and signature date of each notice, then its table
        (序号 工作任务 具体要求 牵头落实单位 完成时限): repeated header rows, continuation
        rows, blank merged cells, numbered items in one cell, rows shifted by the
        extraction. Units are matched against the units directory, deadline
        phrases compiled, deadlines inside requirement texts extracted. Every
        inferred value gets an open review note: `duban plan validate` warns until
        they are confirmed, `--strict` fails. Workflow: docs/drafting.md.
        """
        try:
            text = notice.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            _fail(f"{str(notice)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                  "convert the extracted text to UTF-8 first", as_json)
            return
        application = app()
        folders = list(units_dirs) or list(application.settings.units_dirs)
        directories, problems = _directories(folders)
        try:
            calendar = application.calendar
            directory = choose_directory(directories, text, wanted=units_id)
            plans, warnings = draft_plans(text, directory=directory, source=source_label or str(notice),
                                          calendar=calendar)
            paths = write_drafts(plans, out_dir, force=force)
        except DubanError as exc:
            for problem in problems:
                click.echo(f"warning: {problem}", err=True)
            _fail(str(exc), as_json)
            return
        for message in (*problems, *warnings):
            click.echo(f"warning: {message}", err=True)
        summaries = [plan.summary() for plan in plans]
        if as_json:
            click.echo(json.dumps({
                "ok": True,
                "units_directory": directory.id,
                "plans": [_plan_json(plan, path, summary)
                          for plan, path, summary in zip(plans, paths, summaries, strict=True)],
                "totals": _totals(summaries),
                "warnings": [*problems, *warnings],
            }, ensure_ascii=False, indent=2))
            return
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
