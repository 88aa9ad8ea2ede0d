"""The audit log's commands: ``audit list``, ``audit export``, ``audit verify``, ``audit checkpoint``.

``verify`` exits 0 when the chain is intact and 1 otherwise, naming the first
bad sequence number; with ``--checkpoint`` (a file written by ``audit
checkpoint`` and kept off the database host) it also catches a cut tail.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from ..store import audit
from .context import EXIT_INVALID, app, echo_json, handle_errors, parse_day


def _filter(since: str | None, actor: str | None, obj: str | None, action: str | None) -> audit.AuditFilter:
    day = parse_day(since, "--since")
    start = audit.start_of_day(day, app().calendar.tz) if day else None
    return audit.AuditFilter(since=start, actor=actor, object=obj, action=action)


_FILTERS = [
    click.option("--since", help="Only records from this day on (YYYY-MM-DD, 00:00 in the configured time zone)."),
    click.option("--actor", help="Only this actor."),
    click.option("--object", "obj", help="TYPE:ID (obligation:12, user:lin-yu), or a type (user) or an id alone."),
    click.option("--action", help="An action (obligation.completed) or a prefix with * (event.*)."),
    click.option("--limit", type=click.IntRange(min=1), help="Only the newest N matching records."),
]


def _with_filters(fn):  # type: ignore[no-untyped-def]
    for option in reversed(_FILTERS):
        fn = option(fn)
    return fn


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log (审计日志): who changed what, when, and whether the chain is intact."""


@audit_group.command("list")
@_with_filters
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"seq","at","actor","source","action","object_type","object_id","before","after",'
                   '"reason","prev_hash","hash"}] (at in UTC).')
@handle_errors
def audit_list(since: str | None, actor: str | None, obj: str | None, action: str | None, limit: int | None,
               as_json: bool) -> None:
    """Audit records, oldest first (times shown in the configured time zone, 北京时间 by default)."""
    f = _filter(since, actor, obj, action)
    with app().sessions() as session:
        found = audit.records(session, f) if limit is None else audit.latest(session, f, n=limit)
        rows = [audit.record_json(r) for r in found]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        local = dt.datetime.fromisoformat(r["at"]).astimezone(app().calendar.tz).strftime("%Y-%m-%d %H:%M:%S")
        summary = _summary(r)
        click.echo(f"{r['seq']}\t{local}\t{r['actor']}\t{r['source']}\t{r['action']}\t"
                   f"{r['object_type']}:{r['object_id']}" + (f"\t{summary}" if summary else "")
                   + (f"\treason: {r['reason']}" if r["reason"] else ""))
    click.echo(f"{len(rows)} record(s)", err=True)


def _summary(r: dict) -> str:  # type: ignore[type-arg]
    """A short human line from before/after for the text listing (the JSON has everything)."""
    after = r["after"] if isinstance(r["after"], dict) else {}
    before = r["before"] if isinstance(r["before"], dict) else {}
    keys = ("occurrence", "state", "due", "completed_on", "evidence", "late_by_working_days", "occurred_on",
            "doc_number", "activated", "moved", "cancelled", "until", "status")
    parts = []
    for k in keys:
        if k in after:
            old = before.get(k)
            parts.append(f"{k}={old}→{after[k]}" if k in before and old != after[k] else f"{k}={after[k]}")
    return ", ".join(parts)


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), required=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default stdout).")
@_with_filters
@handle_errors
def audit_export(fmt: str, output: Path | None, since: str | None, actor: str | None, obj: str | None,
                 action: str | None, limit: int | None) -> None:
    """Export records with their hashes and MACs (CSV: before/after as canonical JSON, formulas neutralised;
    JSONL: one record a line, values exact). Takes the same filters as `audit list`."""
    f = _filter(since, actor, obj, action)
    with app().sessions() as session:
        if output is None:
            n = audit.export(session, click.get_text_stream("stdout"), fmt, f, limit=limit)  # type: ignore[arg-type]
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                n = audit.export(session, out, fmt, f, limit=limit)  # type: ignore[arg-type]
    click.echo(f"{n} record(s) exported" + (f" to {output}" if output else ""), err=True)


@audit_group.command("verify")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path),
              help="A checkpoint file from `duban audit checkpoint`: also detects a truncated tail.")
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"ok","checked","first_bad_seq","problem","head"}.')
@handle_errors
def audit_verify(checkpoint: Path | None, as_json: bool) -> None:
    """Walk the hash chain: exit 0 when intact, 1 naming the first bad sequence number.

    With $DUBAN_AUDIT_KEY set, every record's MAC is checked too, so a row
    appended with a recomputed hash is caught; without it, the command says
    that such a row cannot be detected.
    """
    cp = audit.Checkpoint.load(checkpoint) if checkpoint else None
    key = audit.audit_key()
    with app().sessions() as session:
        result = audit.verify(session, cp, key=key)
    if key is None:
        click.echo(f"warning: ${audit.KEY_ENV} is not set: MACs are not checked, so a record appended with a "
                   f"recomputed hash cannot be detected (set the key every duban process writes with; "
                   f"docs/security.md)", err=True)
    elif result.unkeyed:
        click.echo(f"note: the first {result.unkeyed} record(s) were written without ${audit.KEY_ENV}; "
                   f"they are covered by the chain and checkpoints only", err=True)
    if as_json:
        echo_json(result.to_json())
    elif result.ok:
        head = result.head
        click.echo(f"audit log intact: {result.checked} record(s)"
                   + (f", head seq {head.seq} hash {head.hash}" if head else "")
                   + (f"; matches checkpoint seq {cp.seq}" if cp else "")
                   + ("; MACs checked" if key is not None else "; MACs NOT checked (no key)"))
    else:
        click.echo(f"audit log BROKEN at seq {result.first_bad_seq}: {result.problem} "
                   f"({result.checked} record(s) verified before it)", err=True)
    if not result.ok:
        sys.exit(EXIT_INVALID)


@audit_group.command("checkpoint")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write it to FILE (keep it off the database host).")
@handle_errors
def audit_checkpoint(output: Path | None) -> None:
    """Print the chain's head {"seq","hash"} for safekeeping outside the database."""
    with app().sessions() as session:
        cp = audit.head(session) or audit.EMPTY
    text = json.dumps(cp.to_json())
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    click.echo(text)
