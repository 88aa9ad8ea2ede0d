"""``duban deadline ...``: compile 完成时限 phrases to deadline specs."""

from __future__ import annotations

import click


@click.group()
def deadline() -> None:
    """Deadline phrases (完成时限) and their compiled specs."""
