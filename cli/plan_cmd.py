"""``duban plan ...``: plan files (工作方案). ``validate`` lives here; ``import`` is attached by store_cmd.

``duban plan validate FILE|DIR ... [--strict] [--notes] [--json]`` checks
plan files exactly as an import would, without touching the store. Exit
codes follow the CLI contract: 0 valid (warnings on stderr), 1 invalid (every
error, one per line on stderr as ``FILE:LINE: CODE path: message``), 2 usage
error. Open review notes (复核意见) are many in a fresh draft (the seed plans
hold over a hundred): both ``validate`` and ``import`` print one line counting
them by field, and ``validate --notes`` lists each.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import click

from ..errors import DubanError
from ..engine.plans.planfile import LoadResult, load_plans
from ..engine.common.strictyaml import Diagnostic
from .context import app

#: Options shared by every command that reads plan files (validate, and later import).
_PATHS = click.argument("paths", nargs=-1, required=True,
                        type=click.Path(exists=True, path_type=Path))
_UNITS_DIRS = click.option("--units-dir", "units_dirs", multiple=True,
                           type=click.Path(exists=True, file_okay=False, path_type=Path),
                           help="Folder of units directories (<id>.yaml); repeatable. "
                                "Default: the configured plans.units_dirs (rules/units).")


@click.group()
def plan() -> None:
    """Plan files (rules/plans/*.yaml): tasks, units and 完成时限 deadlines."""


def load_from_cli(paths: Sequence[Path], units_dirs: Sequence[Path]) -> LoadResult:
    """Load plans with the configuration an import would use, so validate and import agree.

    Without ``--units-dir`` the configured units folders apply (``plans.units_dirs``,
    default ``rules/units``); the working-day calendar is the configured one
    (with an operator's extra calendar years).
    """
    application = app()
    try:
        calendar = application.calendar
    except DubanError as exc:  # broken calendar data: say so, as an invalid input
        click.echo(f"the working-day calendar cannot be loaded: {exc}", err=True)
        click.get_current_context().exit(1)
    folders = list(units_dirs) or list(application.settings.units_dirs)
    return load_plans(list(paths), units_dirs=folders, calendar=calendar)


#: The warning code of an open review note (engine/plans/planfile.py).
REVIEW_OPEN = "review-open"


def open_notes_by_field(result: LoadResult) -> Counter[str]:
    """Open review notes of the loaded plans, counted by the field they are about (units, deadline...)."""
    return Counter(note.field for plan in result.plans for _task, req in plan.requirements()
                   for note in req.open_reviews)


def echo_warnings(result: LoadResult, warnings: Sequence[Diagnostic], *, notes: bool, paths: Sequence[Path]) -> None:
    """Warnings on stderr: each one, except open review notes, which are one summary line unless ``notes``."""
    reviews = [w for w in warnings if w.code == REVIEW_OPEN]
    for warning in warnings:
        if notes or warning.code != REVIEW_OPEN:
            click.echo(f"warning: {warning.format()}", err=True)
    if reviews and not notes:
        counts = open_notes_by_field(result) or Counter({"(unread plans)": len(reviews)})
        by_field = ", ".join(f"{field} {n}" for field, n in counts.most_common())
        where = " ".join(str(p) for p in paths) or "PATHS"
        click.echo(f"warning: {len(reviews)} open review note{'s' if len(reviews) != 1 else ''} ({by_field}); "
                   f"list them: duban plan validate --notes {where}", err=True)


def summary_line(summary: dict[str, int]) -> str:
    return (f"{summary['plans']} plans, {summary['tasks']} tasks, {summary['requirements']} requirements, "
            f"{summary['deadline_entries']} deadline entries, {summary['obligations']} obligations, "
            f"{summary['open_reviews']} open review notes")


@plan.command("validate")
@_PATHS
@_UNITS_DIRS
@click.option("--strict", is_flag=True, help="Treat warnings (open review notes, ...) as errors.")
@click.option("--notes", is_flag=True, help="List every open review note (default: one line counting them by field).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout (every warning included).")
def validate(paths: tuple[Path, ...], units_dirs: tuple[Path, ...], strict: bool, notes: bool, as_json: bool) -> None:
    """Check plan files and their units directories; report every problem at once.

    Exit 0 when valid (a summary on stdout: plans, tasks, requirements,
    deadline entries, obligations that would be materialised, open review
    notes), 1 with all errors otherwise. Open review notes are counted by
    field on one line; --notes lists each. --strict fails on warnings too.
    """
    result = load_from_cli(paths, units_dirs)
    errors: list[Diagnostic] = list(result.errors)
    warnings: list[Diagnostic] = list(result.warnings)
    if strict:
        errors.extend(warnings)
        warnings = []
    ok = not errors
    summary = result.summary()
    if as_json:
        document = {
            "ok": ok,
            "errors": [error.to_json() for error in errors],
            "warnings": [warning.to_json() for warning in warnings],
            "summary": summary,
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for error in errors:
            click.echo(error.format(), err=True)
        echo_warnings(result, warnings, notes=notes, paths=paths)
        if ok:
            click.echo(summary_line(summary))
        else:
            files = len({error.file for error in errors})
            click.echo(f"{len(errors)} error{'s' if len(errors) != 1 else ''} in {files} "
                       f"file{'s' if files != 1 else ''}; nothing is valid until all are fixed", err=True)
    if not ok:
        click.get_current_context().exit(1)
