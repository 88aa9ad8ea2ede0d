"""``duban inbox``: scan the sources for arriving documents, list the proposals, accept or reject one.

Accepting runs the same service as ``duban event record`` (one event, its
audit record, the duties waiting on the trigger started), with the document's
date, 文号, title and link as provenance. The CLI acts as the trusted operator
and records ``--actor``, as the events commands do.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..engine.inbox.config import load_inbox_config
from ..engine.inbox.service import accept, list_proposals, reject, scan
from ..engine.inbox.sources import read_folder, read_source
from .context import app, echo_json, handle_errors, parse_day
from .events_cmd import projection


@click.group()
def inbox() -> None:
    """收文 inbox: documents arriving from folders, mailboxes and feeds, proposed as trigger events."""


@inbox.command("scan")
@click.argument("sources", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the new documents' proposals as JSON.")
@click.option("--actor", default="inbox", show_default=True, help="Who runs the scan (audit log).")
@handle_errors
def inbox_scan(sources: tuple[str, ...], as_json: bool, actor: str) -> None:
    """Read SOURCES (names from rules/inbox.yaml, or folder paths; default: every configured source).

    New documents are stored once and matched against every pending trigger;
    a match becomes a proposal for a person to accept or reject — never an event.
    """
    cfg = load_inbox_config()
    docs = []
    for name in sources or tuple(s.name for s in cfg.sources):
        if Path(name).is_dir() and name not in {s.name for s in cfg.sources}:
            docs.extend(read_folder(Path(name)))
        else:
            docs.extend(read_source(cfg.source(name)))
    with app().transaction() as session:
        result = scan(session, docs, cfg, actor=actor, source="cli")
        out = result.to_json()
    if as_json:
        echo_json(out)
        return
    click.echo(f"{result.new} new document(s), {result.known} already known, {len(result.proposals)} proposal(s)")
    for p in result.proposals:
        click.echo(f"  {p.id}\t{p.trigger} ({p.plan})\t{p.score:.2f}\t{p.title}")


@inbox.command("list")
@click.option("--status", type=click.Choice(["proposed", "accepted", "rejected"]), help="Only this status.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id","document","trigger","plan","score","reasons","status",...}].')
@handle_errors
def inbox_list(status: str | None, as_json: bool) -> None:
    """Every proposal: id, document, trigger, plan, score, reasons, status."""
    with app().sessions() as session:
        rows = list_proposals(session, status=status)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    for r in rows:
        number = f" {r.doc_number}" if r.doc_number else ""
        click.echo(f"{r.id}\t{r.status}\t{r.trigger} ({r.plan})\t{r.score:.2f}\t{r.title}{number}"
                   f"\t{r.date or '日期不明'}\t{'；'.join(r.reasons)}")


@inbox.command("accept")
@click.argument("proposal_id", type=int)
@click.option("--actor", required=True, help="Who confirms it (kept in the audit log).")
@click.option("--date", "date_", help="The event's date when the document carries none (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the event and what it activated as JSON.")
@handle_errors
def inbox_accept(proposal_id: int, actor: str, date_: str | None, as_json: bool) -> None:
    """Accept a proposal: record its event exactly as `duban event record` does."""
    a = app()
    with a.transaction() as session:
        ev, stats = accept(session, proposal_id, actor=actor, proj=projection(a), on=parse_day(date_, "--date"),
                           source="cli")
        result = {"proposal": proposal_id, "event_id": ev.id, "trigger": ev.trigger.key, "plan": ev.trigger.plan_id,
                  "date": ev.occurred_on.isoformat(), "doc_number": ev.doc_number, "activated": stats.added,
                  "moved": stats.moved}
    if as_json:
        echo_json(result)
        return
    click.echo(f"proposal {proposal_id} accepted: event {result['event_id']}: {result['trigger']} ({result['plan']}) "
               f"on {result['date']}: {stats.added} due instance(s) activated")


@inbox.command("reject")
@click.argument("proposal_id", type=int)
@click.option("--actor", required=True, help="Who turns it down (kept in the audit log).")
@click.option("--reason", required=True, help="Why: kept, and the document is not proposed for it again.")
@handle_errors
def inbox_reject(proposal_id: int, actor: str, reason: str) -> None:
    """Reject a proposal; the same document is never proposed for that trigger again."""
    with app().transaction() as session:
        row = reject(session, proposal_id, actor=actor, reason=reason, source="cli")
    click.echo(f"proposal {row.id} rejected: {row.title} is not {row.trigger} ({row.plan})")
