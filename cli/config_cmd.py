"""``duban config ...``: the configuration schema and a check of the file in use.

``schema --markdown`` prints the reference tables that docs/configuration.md
and docs/notifications.md carry (a test keeps the docs equal to this output);
``check`` loads the configuration exactly as every command does and says
where it came from, or lists every problem (exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..engine.runtime.schema import SCHEMA, markdown_table
from ..engine.runtime.settings import ConfigError, load_settings
from .context import EXIT_INVALID


@click.group()
def config() -> None:
    """The configuration (config.yaml, $DUBAN_CONFIG, DUBAN_* variables): its schema and a check."""


@config.command("schema")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the reference table (docs/configuration.md).")
@click.option("--prefix", default="", metavar="KEY.",
              help="Only keys starting with this text, shown without its complete sections "
                   "(e.g. notifier.smtp. for docs/notifications.md).")
def schema(as_markdown: bool, prefix: str) -> None:
    """Every key: type, default, allowed values, environment variable, meaning (JSON unless --markdown)."""
    if as_markdown:
        click.echo(markdown_table(prefix), nl=False)
        return
    rows = [{"key": k.path, "type": k.kind, "default": k.default, "choices": list(k.choices),
             "aliases": dict(k.aliases), "minimum": k.minimum, "maximum": k.maximum, "env": k.env,
             "description": k.description} for k in SCHEMA if k.path.startswith(prefix)]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))


@config.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(path: Path | None) -> None:
    """Load PATH (default: $DUBAN_CONFIG or the embedded config.yaml) as every command would.

    Exit 0 with the file's name, or 1 with every problem as FILE:LINE: CODE key: message.
    """
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(EXIT_INVALID) from None
    click.echo(f"configuration OK: {settings.source} (notifier {settings.notifier['kind']}, "
               f"database {settings.database_url.split(':', 1)[0]})")
