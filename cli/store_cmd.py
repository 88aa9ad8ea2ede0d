"""Store-backed commands: ``db upgrade``, ``db summary``, ``plan import/list/show``, ``obligations``, ``units``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..engine.services import queries
from ..engine.deadlines.spec import Offset
from ..engine.plans.importer import import_result
from ..engine.plans.planfile import load_plans
from ..store import summary
from ..store.db import current_revision, upgrade
from .context import EXIT_INVALID, app, echo_json, handle_errors, parse_day
from .plan_cmd import echo_warnings


@click.group()
def db() -> None:
    """The SQL store (SQLite by default; PostgreSQL via DUBAN_DATABASE_URL)."""


@db.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Create the database or migrate it to the latest schema (safe to repeat)."""
    a = app()
    upgrade(a.engine)
    click.echo(f"database at revision {current_revision(a.engine)}: {a.engine.url.render_as_string()}")


@db.command("summary")
@click.option("--repair", is_flag=True, help="Rebuild the summary from the obligations (after reporting).")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: {"ok", "mismatches": [{plan, task_id, unit_id, settled, next_due, '
                   'next_deadline, stored, actual}], "rebuilt_rows"}.')
@handle_errors
def db_summary(repair: bool, as_json: bool) -> None:
    """Check the dashboard's obligation summary against the obligations: exit 0 when it agrees, 1 if not.

    The summary (obligation_summary) counts live obligations by plan, task,
    unit and next due dates; every duban write keeps it right. A change made
    outside duban (manual SQL, a bulk load) can leave it wrong: this command
    recomputes it and lists every difference; --repair then rebuilds it.
    """
    with app().sessions() as session, session.begin():
        mismatches = summary.verify(session)
        rebuilt = summary.rebuild(session) if repair else None
    if as_json:
        echo_json({"ok": not mismatches or rebuilt is not None, "mismatches": [m.to_json() for m in mismatches],
                   "rebuilt_rows": rebuilt})
    else:
        for m in mismatches[:50]:
            click.echo(f"{m.plan_id} task {m.task_id} unit {m.unit_id} "
                       f"{m.settled or f'next due {m.next_due}, next deadline {m.next_deadline}'}: "
                       f"stored {m.stored}, actual {m.actual}")
        if len(mismatches) > 50:
            click.echo(f"… and {len(mismatches) - 50} more")
        click.echo(f"summary {'agrees with' if not mismatches else 'DIFFERS from'} the obligations"
                   f"{f' ({len(mismatches)} key(s))' if mismatches else ''}"
                   + (f"; rebuilt: {rebuilt} row(s)" if rebuilt is not None else ""))
    if mismatches and rebuilt is None:
        sys.exit(EXIT_INVALID)


def plan_import_command(plan: click.Group) -> None:
    """Attach ``import``, ``list`` and ``show`` to the ``plan`` group."""

    @plan.command("import")
    @click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
    @click.option("--actor", default="cli", show_default=True, help="Who imports (recorded in the audit log).")
    @click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
    @handle_errors
    def plan_import(paths: tuple[Path, ...], actor: str, as_json: bool) -> None:
        """Validate plan files, then write them to the store in one transaction.

        With no PATHS, imports the configured plan folders (rules/plans). Nothing
        is written if any file has an error (exit 1, every error listed). Open
        review notes are counted on one line; `plan validate --notes` lists them.
        Re-importing an unchanged plan changes nothing; a changed plan updates
        rows in place and the audit log records what changed.
        """
        a = app()
        targets = list(paths) or list(a.settings.plan_dirs)
        result = load_plans(targets, units_dirs=list(a.settings.units_dirs), calendar=a.calendar)
        echo_warnings(result, result.warnings, notes=False, paths=targets)
        if result.errors:
            for error in result.errors:
                click.echo(error.format(), err=True)
            click.echo(f"{len(result.errors)} error(s); nothing was imported", err=True)
            sys.exit(EXIT_INVALID)
        with a.transaction() as session:
            report = import_result(
                session, result, calendar=a.calendar, actor=actor, source="cli",
                default_offset=Offset(unit="working_days", amount=a.settings.trigger_default_offset_working_days),
                checkins=a.settings.ongoing_checkins,
            )
        if a.engine.dialect.name == "postgresql" and any(p.status != "unchanged" for p in report.plans):
            # Fresh statistics after a bulk load, or PostgreSQL plans the next queries badly.
            with a.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE obligations, occurrences, assignments, requirements")
        if as_json:
            echo_json(report.to_json())
            return
        for name, status in report.directories.items():
            click.echo(f"units directory {name}: {status}")
        for change in report.plans:
            detail = ""
            if change.status != "unchanged":
                detail = (f" (+{change.obligations_added} obligations, {change.obligations_updated} updated, "
                          f"{change.obligations_retired} retired; +{change.occurrences_added} due instances, "
                          f"{change.occurrences_moved} moved, {change.occurrences_cancelled} cancelled)")
            click.echo(f"plan {change.plan_id}: {change.status}{detail}")

    @plan.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @handle_errors
    def plan_list(as_json: bool) -> None:
        """The plans in the store."""
        with app().sessions() as session:
            plans = queries.list_plans(session)
        if as_json:
            echo_json(plans)
            return
        for p in plans:
            click.echo(f"{p['id']}\t{p['doc_number'] or '-'}\t{p['published']}\t{p['tasks']} tasks\t"
                       f"{p['obligations']} obligations\t{p['title']}")

    @plan.command("show")
    @click.argument("plan_id")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON (the documented contract).")
    @handle_errors
    def plan_show(plan_id: str, as_json: bool) -> None:
        """One plan: tasks, requirements, units (groups expanded) and compiled deadlines."""
        with app().sessions() as session:
            doc = queries.show_plan(session, plan_id)
        if as_json:
            echo_json(doc)
            return
        click.echo(f"{doc['title']}  {doc['doc_number'] or ''}  (published {doc['published']})")
        for task in doc["tasks"]:
            click.echo(f"{task['no']:>3}. {task['title']}")
            for req in task["requirements"]:
                phrases = "；".join(d["phrase"] for d in req["deadlines"])
                click.echo(f"     {req['no']}. {req['text'][:60]}…  [{req['units_as_written']}]  {phrases}")


@click.group()
def obligations() -> None:
    """Obligations: what each unit owes, per requirement and deadline part."""


@obligations.command("list")
@click.option("--plan", help="Only this plan id.")
@click.option("--unit", help="Only this unit (its short name, e.g. 市编办).")
@click.option("--task", type=int, help="Only this task number.")
@click.option("--status", "statuses", multiple=True, type=click.Choice(queries.STATUSES),
              help="Only these statuses (repeatable).")
@click.option("--as-of", "as_of", help="Status as of this day (YYYY-MM-DD); default today in the configured time zone.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: [{id, plan, task, requirement, unit, kind, due, status}].")
@handle_errors
def obligations_list(plan: str | None, unit: str | None, task: int | None, statuses: tuple[str, ...],
                     as_of: str | None, as_json: bool) -> None:
    """Obligations with their status as of a day: dormant, open, due_soon, overdue, done, waived."""
    a = app()
    day = parse_day(as_of, "--as-of") or a.today()
    with a.sessions() as session:
        rows = queries.list_obligations(session, calendar=a.calendar, due_soon_within=a.due_soon_within, as_of=day, plan=plan, unit=unit, task=task,
                                        statuses=statuses or None)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    for r in rows:
        click.echo(f"{r.id}\t{r.plan}\t{r.task}.{r.requirement}\t{r.unit}\t{r.kind}\t{r.due or '-'}\t{r.status}")
    click.echo(f"{len(rows)} obligation(s) as of {day}", err=True)


@click.group()
def units() -> None:
    """The units directory in the store (units, groups, officials)."""


@units.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
def units_list(as_json: bool) -> None:
    """Units and groups with their officials (demo addresses are marked)."""
    with app().sessions() as session:
        rows = queries.list_units(session)
    if as_json:
        echo_json(rows)
        return
    for u in rows:
        people = ", ".join(f"{o['name']}<{o['email']}>{'(demo)' if o['demo'] else ''}" for o in u["officials"])
        click.echo(f"{u['name']}\t{u['kind']}\t{u['obligations']} obligations\t{people}")
