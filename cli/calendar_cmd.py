"""``duban calendar ...``: China's official working-day calendar."""

from __future__ import annotations

import click


@click.group()
def calendar() -> None:
    """The official working-day calendar (holidays and 调休 make-up workdays)."""
