"""The CLI reference (docs/cli-reference.md), generated from the commands' own ``--help``.

The reference is never written by hand: ``python -m duban.cli.reference > docs/cli-reference.md``
regenerates it, and ``tests/test_cli_reference.py`` fails when the file and the commands
disagree, so a new option or command cannot land undocumented.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from .main import cli

HEADER = """# The `duban` command: reference

Generated from each command's `--help` by `python -m duban.cli.reference > docs/cli-reference.md`; a test
keeps this file equal to the commands. Exit codes are part of the contract: 0 success, 1 invalid
input (every error listed), 2 a usage error or an unreadable deadline phrase, 3 a calendar year the
working-day table does not cover. The README shows the commands in the order a clerk meets them;
[cli.md](cli.md) documents the JSON outputs scripts rely on.
"""


def _walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(click.Context(command))):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, (*path, name))


def render() -> str:
    """The whole reference as Markdown: one section per command, its help text verbatim."""
    parts = [HEADER]
    for path, command in _walk(cli, ("duban",)):
        # The group's own settings (-h, --help), given explicitly: click caches a command's help option
        # on first use, so the page must not depend on which context happened to ask first.
        ctx = click.Context(command, info_name=" ".join(path), max_content_width=100, terminal_width=100,
                            help_option_names=cli.context_settings.get("help_option_names", ["--help"]))
        title = " ".join(path)
        parts.append(f"\n## `{title}`\n\n```text\n{command.get_help(ctx).rstrip()}\n```\n")
    return "".join(parts)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
