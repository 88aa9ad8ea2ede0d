"""The ``duban`` command: one click group, one module per command family.

Exit codes are part of the contract: 0 success, 1 invalid input (all errors
listed), 2 usage error or unreadable deadline phrase, 3 a calendar year that
the working-day table does not cover.
"""

from __future__ import annotations

import click

from .. import __version__
from .calendar_cmd import calendar
from .config_cmd import config
from .context import data_dir_option
from .deadline_cmd import deadline
from .draft_cmd import plan_draft_command
from .engine_cmd import notifications, run_cmd, simulate_cmd, tick
from .plan_cmd import plan
from .store_cmd import db, obligations, plan_import_command, units
from .web_cmd import serve_cmd, user
from .events_cmd import complete_cmd, event, extend, triggers, waive_cmd
from .progress_cmd import progress
from .inbox_cmd import inbox
from .audit_cmd import audit_group
from .report_cmd import calendar_feed_cmd, report_cmd, scores_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="duban")
@data_dir_option
def cli() -> None:
    """duban（督办）— 工作方案完成时限督办: deadline compliance for government work plans.

    A plan file (rules/plans/*.yaml) lists tasks, requirements, lead units and
    完成时限 phrases; duban compiles the phrases to deadline specs, stores the
    obligations in SQL and, on a schedule, sends reminder digests and
    escalations. Start with `duban deadline explain "2016年12月底前完成"`.
    """


cli.add_command(deadline)
cli.add_command(calendar)
cli.add_command(config)
plan_import_command(plan)
plan_draft_command(plan)
cli.add_command(plan)
cli.add_command(db)
cli.add_command(obligations)
cli.add_command(units)
cli.add_command(tick)
cli.add_command(run_cmd)
cli.add_command(simulate_cmd)
cli.add_command(notifications)
cli.add_command(triggers)
cli.add_command(event)
cli.add_command(complete_cmd)
cli.add_command(waive_cmd)
cli.add_command(progress)
cli.add_command(extend)
cli.add_command(audit_group)
cli.add_command(report_cmd)
cli.add_command(scores_cmd)
cli.add_command(calendar_feed_cmd)
cli.add_command(serve_cmd)
cli.add_command(user)
cli.add_command(inbox)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="duban")


if __name__ == "__main__":  # pragma: no cover
    main()
